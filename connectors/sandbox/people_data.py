"""Hand-written tables behind the synthetic people generator: names, places, phone plans.

Every name here is a common given name or surname, never a real person; streets and cities
are generic. In a list, earlier entries are drawn more often (Zipf-like), so the first given
name and the first surname of a culture make its most common full name. ``A|B|C`` lists
spellings of one name (transliterations, regional forms); the first is the usual one.
``M/F`` gives a surname's masculine and feminine forms (Slavic, Icelandic).
"""

from __future__ import annotations

from dataclasses import dataclass


def _split(text: str) -> tuple[str, ...]:
    """A comma-separated table cell as a tuple, so long lists stay readable."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Culture:
    """How people of one naming tradition are named and where they live."""

    key: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    countries: tuple[tuple[str, float], ...]
    nicknames: dict[str, tuple[str, ...]]
    family_name_first: bool = False
    two_surnames: bool = False
    middle_male: tuple[str, ...] = ()
    middle_female: tuple[str, ...] = ()
    western_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class City:
    """A city with its region, postcode patterns and landline prefixes with their lengths."""

    name: str
    region: str
    postcodes: tuple[str, ...]
    area_codes: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Country:
    """A country's spellings, phone plan, address style and cities."""

    code: str
    names: tuple[str, ...]
    calling_code: str
    trunk: str
    mobile: tuple[str, ...]
    nsn_length: int
    groups: tuple[int, ...]
    street_style: str
    streets: tuple[str, ...]
    providers: tuple[str, ...]
    company_suffixes: tuple[str, ...]
    currency: str
    cities: tuple[City, ...]
    landline_length: int = 0


CULTURES: tuple[Culture, ...] = (
    Culture(
        key="anglo",
        male=_split(
            "John, James, Robert, Michael, William, David, Richard, Joseph, Thomas, Charles,"
            "Christopher, Daniel, Matthew, Anthony, Mark, Steven, Andrew, Joshua, Kenneth, Kevin,"
            "Brian, George, Edward, Ronald, Timothy, Jason, Jeffrey, Ryan, Jacob, Gary, Nicholas,"
            "Eric, Jonathan, Stephen, Patrick, Benjamin, Samuel, Gregory, Alexander, Liam, Sean"
        ),
        female=_split(
            "Mary, Patricia, Jennifer, Linda, Elizabeth, Barbara, Susan, Jessica, Sarah, Karen,"
            "Nancy, Lisa, Margaret, Sandra, Ashley, Katherine, Emily, Donna, Michelle, Dorothy,"
            "Rebecca, Deborah, Stephanie, Laura, Amanda, Victoria, Rachel, Catherine, Christine,"
            "Samantha, Abigail, Siobhan, Megan, Olivia, Charlotte, Emma, Hannah, Alexandra"
        ),
        surnames=_split(
            "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor,"
            "Thomas, Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis, Robinson,"
            "Walker, Young, Allen, King, Wright, Scott, Green, Baker, Adams, Nelson, Hill,"
            "Campbell, Mitchell, Roberts, Carter, Phillips, Evans, Turner, O'Brien, O'Connor,"
            "McDonald|MacDonald|Mcdonald, MacLeod|McLeod, Fitzgerald, Murphy, Kelly, Sullivan,"
            "Byrne, Hughes, Price, Bennett, Ward, Cooper, Morgan-Jones, St. John|Saint John"
        ),
        countries=(("US", 0.6), ("GB", 0.3), ("IE", 0.1)),
        nicknames={
            "Robert": ("Bob", "Rob", "Bobby", "Robbie"),
            "William": ("Bill", "Will", "Billy", "Liam"),
            "Richard": ("Rick", "Dick", "Rich", "Richie"),
            "James": ("Jim", "Jimmy", "Jamie"),
            "John": ("Jack", "Johnny"),
            "Michael": ("Mike", "Mick", "Mikey"),
            "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie", "Libby"),
            "Margaret": ("Peggy", "Maggie", "Meg"),
            "Katherine": ("Kate", "Kathy", "Katie"),
            "Catherine": ("Cathy", "Cat", "Kate"),
            "Jennifer": ("Jen", "Jenny"),
            "Patricia": ("Pat", "Patty", "Trish"),
            "Christopher": ("Chris", "Kit"),
            "Daniel": ("Dan", "Danny"),
            "Matthew": ("Matt",),
            "Anthony": ("Tony",),
            "Steven": ("Steve",),
            "Stephen": ("Steve",),
            "Andrew": ("Andy", "Drew"),
            "Joshua": ("Josh",),
            "Kenneth": ("Ken", "Kenny"),
            "Edward": ("Ed", "Eddie", "Ted"),
            "Ronald": ("Ron", "Ronnie"),
            "Timothy": ("Tim",),
            "Jeffrey": ("Jeff",),
            "Nicholas": ("Nick", "Nicky"),
            "Jonathan": ("Jon",),
            "Benjamin": ("Ben",),
            "Samuel": ("Sam",),
            "Gregory": ("Greg",),
            "Alexander": ("Alex", "Sandy"),
            "Thomas": ("Tom", "Tommy"),
            "Charles": ("Charlie", "Chuck"),
            "Joseph": ("Joe", "Joey"),
            "David": ("Dave",),
            "Rebecca": ("Becky", "Becca"),
            "Deborah": ("Debbie", "Deb"),
            "Stephanie": ("Steph",),
            "Victoria": ("Vicky", "Tori"),
            "Samantha": ("Sam",),
            "Abigail": ("Abby",),
            "Alexandra": ("Alex", "Sasha"),
            "Susan": ("Sue", "Suzy"),
            "Barbara": ("Barb",),
            "Dorothy": ("Dot",),
            "Christine": ("Chris", "Chrissy"),
            "Amanda": ("Mandy",),
            "Jessica": ("Jess",),
            "Olivia": ("Liv",),
            "Charlotte": ("Charlie", "Lottie"),
            "Mary": ("Molly", "Polly"),
            "Sandra": ("Sandy",),
        },
        middle_male=_split("James, Michael, Lee, Edward, Thomas, Joseph, Allen, Ray, Paul"),
        middle_female=_split("Ann, Marie, Lynn, Elizabeth, Jane, Louise, Rose, Grace, May"),
    ),
    Culture(
        key="hispanic",
        male=_split(
            "José, Juan, Luis, Carlos, Javier, Antonio, Miguel, Francisco, Jorge, Alejandro,"
            "Manuel, Pedro, Rafael, José Luis, Diego, Fernando, Sergio, Pablo, Juan Carlos,"
            "Andrés, Ignacio, Enrique, Jesús, Ramón, Guillermo, Joaquín, José María, Álvaro,"
            "Raúl, Iván, Rubén, Óscar, Víctor, Eduardo, Santiago, Mateo"
        ),
        female=_split(
            "María, Ana, Carmen, Laura, Lucía, Isabel, Sofía, María José, Marta, Elena, Cristina,"
            "Patricia, Rosa, Pilar, María Teresa, Teresa, Paula, Guadalupe, Dolores, Beatriz,"
            "Raquel, Silvia, Verónica, Mónica, Inés, Concepción, Rosario, Mercedes, María Isabel,"
            "Alicia, Nuria, Begoña, Ximena, Valentina, Camila, Julia, Ana Belén, María del Carmen"
        ),
        surnames=_split(
            "García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez,"
            "Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Navarro,"
            "Torres, Domínguez, Vázquez|Vásquez, Ramos, Gil, Serrano, Castillo, Ortega, Delgado,"
            "Cruz, de la Cruz, del Río, de la Fuente, de los Santos, Ibáñez, Peña, Núñez, Ortiz,"
            "Rubio, Medina, Vega, San Martín, de León, Echeverría|Etxeberria,"
            "Goicoechea|Goikoetxea,"
            "Villaseñor"
        ),
        countries=(("ES", 0.45), ("MX", 0.35), ("US", 0.2)),
        nicknames={
            "José": ("Pepe", "Pepito"),
            "Francisco": ("Paco", "Pancho", "Curro"),
            "Ignacio": ("Nacho",),
            "Guadalupe": ("Lupe", "Lupita"),
            "Jesús": ("Chucho", "Chus"),
            "Enrique": ("Quique",),
            "José María": ("Chema",),
            "María Teresa": ("Maite",),
            "Dolores": ("Lola",),
            "Concepción": ("Concha", "Conchi"),
            "Antonio": ("Toño", "Toni"),
            "Alejandro": ("Álex", "Alex"),
            "Manuel": ("Manolo", "Manu"),
            "Rosario": ("Charo",),
            "Isabel": ("Isa", "Chabela"),
            "María Isabel": ("Maribel",),
            "Guillermo": ("Memo", "Guille"),
            "Ramón": ("Moncho",),
            "Mercedes": ("Merche",),
            "Eduardo": ("Lalo", "Edu"),
            "Santiago": ("Santi",),
            "María del Carmen": ("Mari Carmen", "Maricarmen"),
            "Cristina": ("Cris",),
            "Javier": ("Javi",),
        },
        two_surnames=True,
    ),
    Culture(
        key="german",
        male=_split(
            "Thomas, Michael, Andreas, Stefan, Christian, Peter, Wolfgang, Klaus, Jürgen, Frank,"
            "Uwe, Matthias, Markus, Sebastian, Jan, Tobias, Florian, Johannes, Lukas, Maximilian,"
            "Jörg, Günter, Dieter, Bernd, Ralf, Sören, Björn, Kai, Hans-Peter, Karl-Heinz"
        ),
        female=_split(
            "Sabine, Petra, Monika, Andrea, Claudia, Susanne, Birgit, Katharina, Anna, Julia,"
            "Lena, Sarah, Stefanie, Ursula, Renate, Jutta, Brigitte, Gisela, Anja, Franziska,"
            "Jana, Leonie, Hannelore, Bärbel, Dörte, Käthe, Anne-Marie"
        ),
        surnames=_split(
            "Müller, Schmidt, Schneider, Fischer, Weber, Meyer|Meier|Maier|Mayer, Wagner, Becker,"
            "Schulz, Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann,"
            "Schwarz, Zimmermann, Braun, Krüger, Hofmann, Hartmann, Lange, Schmitt, Werner,"
            "Krause, Lehmann, Köhler, Weiß, Groß, Jäger, von Berg, von der Heide, Schmidt-Weber"
        ),
        countries=(("DE", 0.7), ("AT", 0.15), ("CH", 0.15)),
        nicknames={
            "Johannes": ("Hannes", "Jo"),
            "Katharina": ("Kathi", "Katja"),
            "Wolfgang": ("Wolf", "Wolfi"),
            "Maximilian": ("Max",),
            "Matthias": ("Matze",),
            "Sebastian": ("Basti",),
            "Tobias": ("Tobi",),
            "Andreas": ("Andi",),
            "Michael": ("Michi",),
            "Christian": ("Chris",),
            "Franziska": ("Franzi",),
            "Susanne": ("Susi", "Sanne"),
            "Stefanie": ("Steffi",),
            "Ursula": ("Uschi", "Ulla"),
            "Hans-Peter": ("Hansi",),
            "Karl-Heinz": ("Kalle",),
        },
        middle_male=_split("Georg, Friedrich, Wilhelm, Karl, Josef"),
        middle_female=_split("Maria, Luise, Sophie, Charlotte"),
    ),
    Culture(
        key="slavic",
        male=_split(
            "Piotr, Krzysztof, Andrzej, Tomasz, Paweł, Michał, Marcin, Łukasz, Jakub, Wojciech,"
            "Jan, Marek, Grzegorz, Jiří, Petr, Tomáš, Josef, Pavel,"
            "Oleksandr|Aleksandr|Alexander|Oleksander, Dmytro|Dmitri|Dmitry,"
            "Serhiy|Sergei|Sergey|Serhii, Mykola|Nikolai|Nikolay, Volodymyr|Vladimir, Yuriy|Yuri,"
            "Ivan, Mikhail|Mykhailo|Michail"
        ),
        female=_split(
            "Anna, Katarzyna, Małgorzata, Agnieszka, Barbara, Ewa, Magdalena, Joanna, Aleksandra,"
            "Monika, Zofia, Jana, Lenka, Kateřina, Petra, Lucie, Olena|Elena|Yelena|Alena,"
            "Yulia|Julia|Yuliya|Iuliia, Natalia|Natalya|Nataliya, Tetiana|Tatiana|Tatyana,"
            "Iryna|Irina, Svitlana|Svetlana"
        ),
        surnames=_split(
            "Nowak, Kowalski/Kowalska, Wiśniewski/Wiśniewska, Wójcik, Kowalczyk,"
            "Kamiński/Kamińska, Lewandowski/Lewandowska, Zieliński/Zielińska,"
            "Szymański/Szymańska, Woźniak, Dąbrowski/Dąbrowska, Kozłowski/Kozłowska, Mazur,"
            "Krawczyk, Novák/Nováková, Svoboda/Svobodová, Novotný/Novotná, Dvořák/Dvořáková,"
            "Černý/Černá, Procházka/Procházková, Kučera/Kučerová,"
            "Shevchenko|Ševčenko|Schewtschenko, Kovalenko, Bondarenko, Tkachenko,"
            "Ivanov/Ivanova, Petrov/Petrova, Smirnov/Smirnova, Kuznetsov/Kuznetsova"
        ),
        countries=(("PL", 0.55), ("CZ", 0.25), ("DE", 0.1), ("GB", 0.1)),
        nicknames={
            "Oleksandr": ("Sasha", "Sanya"),
            "Aleksandr": ("Sasha", "Sanya"),
            "Alexander": ("Sasha", "Alex"),
            "Dmytro": ("Dima",),
            "Dmitri": ("Dima",),
            "Dmitry": ("Dima",),
            "Mikhail": ("Misha",),
            "Katarzyna": ("Kasia", "Kaśka"),
            "Małgorzata": ("Gosia", "Małgosia"),
            "Agnieszka": ("Aga",),
            "Aleksandra": ("Ola",),
            "Magdalena": ("Magda",),
            "Wojciech": ("Wojtek",),
            "Tomasz": ("Tomek",),
            "Jakub": ("Kuba",),
            "Grzegorz": ("Grzesiek",),
            "Jiří": ("Jirka",),
            "Natalia": ("Natasha",),
            "Tatiana": ("Tanya",),
            "Tetiana": ("Tanya",),
            "Olena": ("Lena",),
            "Elena": ("Lena",),
            "Svetlana": ("Sveta",),
            "Ivan": ("Vanya",),
            "Volodymyr": ("Volodya", "Vova"),
            "Vladimir": ("Vova", "Volodya"),
            "Yuriy": ("Yura",),
            "Anna": ("Ania", "Anya"),
        },
    ),
    Culture(
        key="chinese",
        male=_split(
            "Wei, Lei, Yang, Jun, Qiang, Tao, Ping, Bo, Kai, Jianguo|Jian Guo|Jian-Guo,"
            "Xiaoming|Xiao Ming|Xiao-Ming, Haoran|Hao Ran, Zhiwei|Zhi Wei|Chi Wai, Yiming|Yi Ming,"
            "Hao, Gang, Jie, Peng, Chao, Ming"
        ),
        female=_split(
            "Fang, Min, Jing, Li, Na, Hui, Mei, Ying, Xiu, Lan, Yuxuan|Yu Xuan,"
            "Zihan|Zi Han, Xinyi|Xin Yi, Jiahui|Jia Hui, Shu, Yan, Hong, Xue"
        ),
        surnames=_split(
            "Wang|Wong, Li|Lee, Zhang|Cheung, Liu|Lau, Chen|Chan, Yang|Yeung, Huang|Wong,"
            "Zhao|Chiu, Wu|Ng, Zhou|Chow, Xu|Hsu, Sun, Ma, Zhu, Hu, Guo|Kwok, He|Ho, Lin|Lam,"
            "Luo|Law, Gao|Ko, Liang|Leung, Zheng|Cheng, Xie|Tse, Tang|Tong, Ouyang, Situ|Szeto"
        ),
        countries=(("CN", 0.6), ("SG", 0.2), ("US", 0.2)),
        nicknames={},
        family_name_first=True,
        western_names=_split(
            "Kevin, Jason, Jenny, Vivian, Eric, Tony, Grace, Alice, Michael, Annie, Sandy,"
            "Tiffany, Ivy, Coco, Leo, Daniel, Cindy, Amy"
        ),
    ),
    Culture(
        key="vietnamese",
        male=_split(
            "An, Bình, Cường, Dũng, Hải, Hùng, Huy, Khoa, Long, Minh, Nam, Phong, Quân, Sơn,"
            "Thắng, Tuấn, Việt, Trung, Đạt, Khánh"
        ),
        female=_split(
            "Anh, Chi, Hà, Hạnh, Hoa, Hương, Lan, Linh, Mai, Ngọc, Nhung, Phương, Quỳnh, Thảo,"
            "Trang, Tuyết, Vy, Yến, Hằng, Thủy"
        ),
        surnames=_split(
            "Nguyễn, Trần, Lê, Phạm, Hoàng|Huỳnh, Phan, Vũ|Võ, Đặng, Bùi, Đỗ, Hồ, Ngô, Dương, Lý"
        ),
        countries=(("VN", 0.6), ("US", 0.25), ("FR", 0.15)),
        nicknames={},
        family_name_first=True,
        middle_male=_split("Văn, Đức, Minh, Quang, Hữu, Công"),
        middle_female=_split("Thị, Ngọc, Thanh, Thu, Kim"),
        western_names=_split("Tony, Kevin, Vivian, Linda, Peter, Anna, Henry, Lily"),
    ),
    Culture(
        key="indian",
        male=_split(
            "Rahul, Amit, Rajesh, Sanjay, Vikram, Arjun, Rohan, Anil, Suresh, Ramesh, Venkatesh,"
            "Srinivas|Srinivasa|Shrinivas, Aditya, Karthik|Kartik|Karthick, Prakash, Manoj,"
            "Deepak, Harish, Ganesh, Sai, Abhishek, Nikhil, Gurpreet, Siddharth|Siddarth"
        ),
        female=_split(
            "Priya, Anjali, Pooja|Puja, Neha, Sunita, Kavita|Kavitha, Lakshmi|Laxmi, Deepa, Divya,"
            "Shreya|Shriya, Ananya, Meera|Mira, Swati|Swathi, Aishwarya, Padma, Radha, Sneha,"
            "Nandini, Harpreet, Simran"
        ),
        surnames=_split(
            "Sharma, Patel, Singh, Kumar, Reddy, Iyer, Nair, Gupta, Das, Rao, Mehta, Joshi, Shah,"
            "Verma, Agarwal|Aggarwal|Agrawal, Mukherjee|Mukherji, Banerjee|Banerji, Chatterjee,"
            "Pillai, Menon, Krishnan, Subramanian|Subramaniam, Venkataraman,"
            "Chowdhury|Choudhury|Chaudhary, Desai, Kapoor, Malhotra, Bhat|Bhatt"
        ),
        countries=(("IN", 0.65), ("GB", 0.2), ("US", 0.15)),
        nicknames={
            "Venkatesh": ("Venkat",),
            "Srinivas": ("Srini",),
            "Srinivasa": ("Srini",),
            "Karthik": ("Karthi",),
            "Siddharth": ("Sid",),
            "Abhishek": ("Abhi",),
            "Aditya": ("Adi",),
            "Nikhil": ("Nik",),
            "Rajesh": ("Raj",),
            "Vikram": ("Vicky", "Vik"),
            "Aishwarya": ("Ash", "Aishu"),
            "Ananya": ("Anu",),
            "Gurpreet": ("Gary", "Preet"),
        },
    ),
    Culture(
        key="arabic",
        male=_split(
            "Mohammed|Muhammad|Mohamed|Mohammad|Mohamad, Ahmed|Ahmad, Ali, Omar|Umar,"
            "Youssef|Yousef|Yusuf, Khaled|Khalid, Hassan|Hasan, Hussein|Hussain|Husein,"
            "Ibrahim|Ebrahim, Abdullah|Abdallah,"
            "Abdul Rahman|Abdulrahman|Abd al-Rahman|Abdelrahman,"
            "Mahmoud|Mahmud, Mustafa|Mostafa, Karim|Kareem, Tariq|Tarek|Tareq, Samir|Sameer, Nabil,"
            "Rashid|Rachid, Walid|Waleed, Amir|Ameer, Hamza, Bilal, Said|Saeed|Saïd"
        ),
        female=_split(
            "Fatima|Fatma|Fatimah, Aisha|Aicha|Ayesha, Mariam|Maryam|Meriem, Nour|Noor|Nur,"
            "Layla|Leila|Laila, Sara|Sarah, Yasmin|Yasmine|Jasmin, Huda|Hoda, Amira|Ameera, Salma,"
            "Rania, Zainab|Zeinab|Zaynab, Hana|Hanaa, Khadija|Khadidja, Nadia, Samira|Sameera,"
            "Dina, Lina, Mona|Muna, Iman|Imane"
        ),
        surnames=_split(
            "Al-Hassan|Al Hassan|Alhassan|El-Hassan|El Hassan, Haddad, Khoury|Khouri|El Khoury,"
            "Mansour|Mansur, Nasser|Nasir, Saleh|Salih, Abdallah|Abdullah, Ibrahim, Hamdan,"
            "Farouk|Farouq|Faruk, El-Sayed|Elsayed|Al-Sayed|El Sayed, Benali|Ben Ali, Bennani,"
            "Alaoui|El Alaoui, Tazi, Hussein|Hussain, Othman|Osman|Uthman, Rahman, Aziz, Karimi,"
            "Al-Amin|Al Amin|Alamin, Mahmoud|Mahmud, Youssef|Yousef, Zaki"
        ),
        countries=(("EG", 0.3), ("MA", 0.25), ("AE", 0.25), ("FR", 0.2)),
        nicknames={
            "Mohammed": ("Mo", "Hamoudi"),
            "Muhammad": ("Mo",),
            "Mohamed": ("Mo", "Momo"),
            "Abdullah": ("Abdu",),
            "Fatima": ("Fati", "Tima"),
            "Khadija": ("Dija",),
            "Youssef": ("Joe",),
        },
    ),
    Culture(
        key="nordic",
        male=_split(
            "Lars, Anders, Johan, Erik, Per, Nils, Björn|Bjørn|Bjorn, Magnus, Mikael, Jens,"
            "Søren|Sören, Henrik, Ole, Mats, Jukka, Mikko, Matti, Juha, Jón, Kristian, Gustav,"
            "Oskar, Axel, Mads, Rasmus"
        ),
        female=_split(
            "Anna, Maria, Karin, Kristina|Christina, Sofia, Ingrid, Astrid, Sigrid, Åsa,"
            "Linnéa|Linnea, Elin, Ida, Freja|Freya, Maja, Sanna, Johanna, Liisa, Aino,"
            "Guðrún|Gudrun, Birgitta, Mette, Camilla, Hanne, Signe, Tove, Katarina, Elisabet"
        ),
        surnames=_split(
            "Johansson, Andersson, Karlsson, Nilsson, Eriksson, Larsson, Olsson, Persson,"
            "Svensson, Gustafsson, Hansen, Johansen, Olsen, Larsen, Andersen, Pedersen, Nielsen,"
            "Jensen, Christensen, Rasmussen, Sørensen|Sorensen|Soerensen, Jørgensen|Jorgensen,"
            "Virtanen, Korhonen, Mäkinen, Nieminen, Mäkelä, Hämäläinen, Lindqvist|Lindquist,"
            "Bergström|Bergstrom, Lindström, Sjöberg, Åberg, Ødegaard|Odegaard, Haugen, Berg,"
            "Dahl, Lund, Holm, Strand, Jónsson/Jónsdóttir, Sigurðsson/Sigurðardóttir"
        ),
        countries=(("SE", 0.35), ("NO", 0.25), ("DK", 0.25), ("FI", 0.15)),
        nicknames={
            "Kristina": ("Kicki", "Stina"),
            "Magnus": ("Mange",),
            "Johanna": ("Hanna",),
            "Mikael": ("Micke",),
            "Birgitta": ("Gittan", "Bitte"),
            "Katarina": ("Kajsa",),
            "Elisabet": ("Lisa", "Lisbeth"),
            "Rasmus": ("Rasse",),
        },
    ),
    Culture(
        key="french",
        male=_split(
            "Jean, Pierre, Michel, Philippe, Alain, Nicolas, Christophe, François, Laurent,"
            "Julien, Sébastien, Jean-Pierre, Jean-Luc, Jean-Marc, Thierry, Olivier, Stéphane,"
            "Mathieu, Antoine, Guillaume, Hugo, Théo, Benoît, Rémi, Jérôme, Frédéric"
        ),
        female=_split(
            "Marie, Nathalie, Isabelle, Sylvie, Catherine, Françoise, Sophie, Céline, Julie,"
            "Camille, Léa, Chloé, Manon, Émilie, Hélène, Marie-Claire, Anne-Sophie,"
            "Marie-Christine, Élodie, Aurélie, Valérie, Véronique, Inès, Zoé"
        ),
        surnames=_split(
            "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau,"
            "Simon, Laurent, Lefèvre|Lefebvre, Michel, David, Bertrand, Roux, Vincent, Fournier,"
            "Morel, Girard, André, Mercier, Dupont, Lambert, Bonnet, Rousseau, Guérin, Le Gall,"
            "Le Roux, de Villiers, Da Silva, Rivière, Lacroix"
        ),
        countries=(("FR", 0.85), ("CH", 0.15)),
        nicknames={
            "Jean-Pierre": ("JP",),
            "Stéphane": ("Steph",),
            "Christophe": ("Chris",),
            "Nicolas": ("Nico",),
            "Sébastien": ("Seb",),
            "Frédéric": ("Fred",),
            "Catherine": ("Cathy",),
            "Isabelle": ("Isa",),
            "Valérie": ("Val",),
            "Guillaume": ("Guigui",),
        },
        middle_male=_split("Marie, Louis, Paul"),
        middle_female=_split("Marie, Louise, Anne"),
    ),
)

CULTURE_WEIGHTS: dict[str, float] = {
    "anglo": 0.24,
    "hispanic": 0.18,
    "german": 0.1,
    "slavic": 0.08,
    "chinese": 0.08,
    "vietnamese": 0.05,
    "indian": 0.09,
    "arabic": 0.08,
    "nordic": 0.05,
    "french": 0.05,
}
"""How often each naming tradition occurs in the population."""


def _city(name: str, region: str, postcodes: str, area_codes: str) -> City:
    """A city row; an area code ``755:11`` overrides the country's landline length."""
    prefixes = []
    for code in _split(area_codes):
        prefix, _, length = code.partition(":")
        prefixes.append((prefix, int(length or 0)))
    return City(name, region, _split(postcodes), tuple(prefixes))


# Postcode patterns: '#' a digit, '@' a letter, '&' a letter or digit.
# Area codes are landline prefixes of the national significant number (without trunk 0),
# chosen so that numbers drawn after them are valid in the national numbering plan.
COUNTRIES: tuple[Country, ...] = (
    Country(
        code="US",
        names=_split("US, USA, United States, United States of America, U.S.A."),
        calling_code="1",
        trunk="",
        mobile=(),
        nsn_length=10,
        groups=(3, 3, 4),
        street_style="number_first",
        streets=_split(
            "Main St, Oak St, Maple Ave, Washington Ave, Park Ave, Elm St, Cedar Ln, Lake Dr,"
            "Hill Rd, Pine St, 2nd St, 3rd Ave, Sunset Blvd, Jefferson St, Lincoln Ave, River Rd"
        ),
        providers=_split("gmail.com, yahoo.com, hotmail.com, outlook.com, icloud.com, aol.com"),
        company_suffixes=_split("Inc., LLC, Corp., Co."),
        currency="USD",
        cities=(
            _city(
                "New York|NYC|New York City", "NY|New York", "100##, 101##, 112##", "212, 646, 718"
            ),
            _city("Los Angeles|LA", "CA|California", "900##", "213, 310, 323"),
            _city("Chicago", "IL|Illinois", "606##", "312, 773"),
            _city("Houston", "TX|Texas", "770##", "713, 832"),
            _city("Miami", "FL|Florida", "331##", "305, 786"),
            _city("San Francisco|SF", "CA|California", "941##", "415"),
            _city("Boston", "MA|Massachusetts", "021##", "617"),
            _city("Seattle", "WA|Washington", "981##", "206"),
        ),
    ),
    Country(
        code="GB",
        names=_split("GB, UK, United Kingdom, Great Britain, England"),
        calling_code="44",
        trunk="0",
        mobile=_split("74, 75, 78, 773, 776, 779, 795, 797"),
        nsn_length=10,
        groups=(4, 6),
        street_style="number_first",
        streets=_split(
            "High Street, Church Road, Station Road, Victoria Road, Mill Lane, Park Road,"
            "Queen's Road, King Street, The Crescent, Manor Close, Green Lane, York Road"
        ),
        providers=_split("gmail.com, hotmail.co.uk, yahoo.co.uk, outlook.com, btinternet.com"),
        company_suffixes=_split("Ltd, Limited, plc, LLP"),
        currency="GBP",
        cities=(
            _city(
                "London",
                "England|Greater London",
                "SW# #@@, E# #@@, N# #@@, SE## #@@",
                "203, 207, 208",
            ),
            _city("Manchester", "England|Greater Manchester", "M# #@@, M## #@@", "161"),
            _city("Birmingham", "England|West Midlands", "B# #@@, B## #@@", "1214, 1216, 1217"),
            _city("Leeds", "England|West Yorkshire", "LS# #@@", "1132, 1133, 1134"),
            _city("Glasgow", "Scotland", "G# #@@, G## #@@", "141"),
            _city("Edinburgh", "Scotland", "EH# #@@", "1312, 1314, 1316"),
            _city("Cardiff|Caerdydd", "Wales", "CF## #@@", "292"),
        ),
    ),
    Country(
        code="IE",
        names=_split("IE, Ireland, Éire, Republic of Ireland"),
        calling_code="353",
        trunk="0",
        mobile=_split("83, 85, 86, 87, 89"),
        nsn_length=9,
        groups=(2, 3, 4),
        street_style="number_first",
        streets=_split("Main Street, Church Road, Strand Road, Abbey Street, Castle Avenue"),
        providers=_split("gmail.com, eircom.net, hotmail.com, yahoo.ie, outlook.ie"),
        company_suffixes=_split("Ltd, Limited, DAC"),
        currency="EUR",
        cities=(
            _city("Dublin|Baile Átha Cliath", "Co. Dublin|County Dublin|Dublin", "D0# &&&&", "1:8"),
            _city("Cork", "Co. Cork|County Cork", "T12 &&&&", "21:8"),
            _city("Galway", "Co. Galway|County Galway", "H91 &&&&", "91:8"),
        ),
    ),
    Country(
        code="ES",
        names=_split("ES, Spain, España, Espana, ESP"),
        calling_code="34",
        trunk="",
        mobile=_split("6, 71, 72"),
        nsn_length=9,
        groups=(3, 3, 3),
        street_style="street_first",
        streets=_split(
            "Calle Mayor, Calle Real, Gran Vía, Calle de Alcalá, Paseo del Prado,"
            "Calle San Juan, Calle de la Paz, Avenida de la Constitución, Calle Nueva,"
            "Plaza de España, Calle Santa Ana, Avenida de América, Calle del Sol"
        ),
        providers=_split("gmail.com, hotmail.es, yahoo.es, telefonica.net, outlook.es"),
        company_suffixes=_split("S.L., S.A., SL, SA"),
        currency="EUR",
        cities=(
            _city("Madrid", "Comunidad de Madrid|Madrid", "280##", "91"),
            _city("Barcelona", "Cataluña|Catalunya|Cataluna", "080##", "93"),
            _city("Valencia|València", "Comunitat Valenciana|Comunidad Valenciana", "460##", "96"),
            _city("Sevilla|Seville", "Andalucía|Andalucia", "410##", "95"),
            _city("Bilbao", "País Vasco|Euskadi", "480##", "94"),
            _city("Zaragoza", "Aragón|Aragon", "500##", "976"),
            _city("Málaga|Malaga", "Andalucía|Andalucia", "290##", "952"),
        ),
    ),
    Country(
        code="MX",
        names=_split("MX, Mexico, México, MEX"),
        calling_code="52",
        trunk="",
        mobile=(),
        nsn_length=10,
        groups=(2, 4, 4),
        street_style="street_first",
        streets=_split(
            "Av. Insurgentes Sur, Calle Hidalgo, Av. Juárez, Calle Morelos, Av. Reforma,"
            "Calle 5 de Mayo, Av. Revolución, Calle Allende, Calle Zaragoza"
        ),
        providers=_split("gmail.com, hotmail.com, yahoo.com.mx, outlook.com, prodigy.net.mx"),
        company_suffixes=_split("S.A. de C.V., S. de R.L."),
        currency="MXN",
        cities=(
            _city(
                "Ciudad de México|CDMX|Mexico City|México D.F.",
                "CDMX|Ciudad de México",
                "06###, 03###, 11###",
                "55",
            ),
            _city("Guadalajara", "Jalisco|Jal.", "44###", "33"),
            _city("Monterrey", "Nuevo León|N.L.", "64###", "81"),
            _city("Puebla", "Puebla|Pue.", "72###", "222"),
        ),
    ),
    Country(
        code="DE",
        names=_split("DE, Germany, Deutschland, DEU"),
        calling_code="49",
        trunk="0",
        mobile=_split("151, 152, 157, 160, 170, 171, 172, 175, 176, 177, 178, 179"),
        nsn_length=11,
        groups=(3, 8),
        street_style="street_first",
        streets=_split(
            "Hauptstraße, Bahnhofstraße, Gartenstraße, Schulstraße, Lindenstraße, Kirchweg,"
            "Bergstraße, Waldweg, Am Markt, Ringstraße, Mühlenweg, Goethestraße, Schillerplatz"
        ),
        providers=_split("gmx.de, web.de, t-online.de, gmail.com, freenet.de, outlook.de"),
        company_suffixes=_split("GmbH, AG, GmbH & Co. KG, e.K."),
        currency="EUR",
        cities=(
            _city("Berlin", "Berlin", "10###, 12###, 13###", "30"),
            _city("München|Munich|Muenchen", "Bayern|Bavaria", "80###, 81###", "89"),
            _city("Hamburg", "Hamburg", "20###, 22###", "40"),
            _city("Köln|Koeln|Cologne", "Nordrhein-Westfalen|NRW", "50###, 51###", "221"),
            _city("Frankfurt am Main|Frankfurt", "Hessen|Hesse", "60###", "69"),
            _city("Stuttgart", "Baden-Württemberg|BW", "70###", "711"),
        ),
        landline_length=10,
    ),
    Country(
        code="AT",
        names=_split("AT, Austria, Österreich, Oesterreich, AUT"),
        calling_code="43",
        trunk="0",
        mobile=_split("650, 660, 664, 676, 680, 699"),
        nsn_length=10,
        groups=(3, 7),
        street_style="street_first",
        streets=_split("Hauptstraße, Bahnhofstraße, Kirchengasse, Schulgasse, Lindengasse"),
        providers=_split("gmx.at, aon.at, gmail.com, chello.at, outlook.com"),
        company_suffixes=_split("GmbH, AG, KG"),
        currency="EUR",
        cities=(
            _city("Wien|Vienna", "Wien|Vienna", "1##0", "1"),
            _city("Graz", "Steiermark|Styria", "80##", "316"),
            _city("Linz", "Oberösterreich|Upper Austria", "40##", "732"),
            _city("Salzburg", "Salzburg", "50##", "662"),
        ),
    ),
    Country(
        code="CH",
        names=_split("CH, Switzerland, Schweiz, Suisse, CHE"),
        calling_code="41",
        trunk="0",
        mobile=_split("76, 77, 78, 79"),
        nsn_length=9,
        groups=(2, 3, 2, 2),
        street_style="street_first",
        streets=_split("Bahnhofstrasse, Dorfstrasse, Rue du Lac, Kirchgasse, Seestrasse"),
        providers=_split("bluewin.ch, gmail.com, gmx.ch, hotmail.com, sunrise.ch"),
        company_suffixes=_split("AG, GmbH, SA, Sàrl"),
        currency="CHF",
        cities=(
            _city("Zürich|Zurich|Zuerich", "ZH|Zürich", "80##", "44"),
            _city("Genève|Geneva|Genf", "GE|Genève", "12##", "22"),
            _city("Basel|Bâle", "BS|Basel-Stadt", "40##", "61"),
            _city("Bern|Berne", "BE|Bern", "30##", "31"),
            _city("Lausanne", "VD|Vaud", "10##", "21"),
        ),
    ),
    Country(
        code="PL",
        names=_split("PL, Poland, Polska, POL"),
        calling_code="48",
        trunk="",
        mobile=_split("50, 51, 53, 57, 60, 66, 69, 72, 78, 79, 88"),
        nsn_length=9,
        groups=(3, 3, 3),
        street_style="street_first",
        streets=_split(
            "ul. Polna, ul. Leśna, ul. Słoneczna, ul. Krótka, ul. Szkolna, ul. Ogrodowa,"
            "ul. Lipowa, ul. Kwiatowa, ul. Mickiewicza, al. Jana Pawła II"
        ),
        providers=_split("wp.pl, onet.pl, interia.pl, gmail.com, o2.pl"),
        company_suffixes=_split("Sp. z o.o., S.A., sp.j."),
        currency="PLN",
        cities=(
            _city("Warszawa|Warsaw", "mazowieckie|Masovian", "00-###, 01-###, 02-###", "22"),
            _city("Kraków|Krakow|Cracow", "małopolskie|Lesser Poland", "30-###, 31-###", "12"),
            _city("Wrocław|Wroclaw", "dolnośląskie|Lower Silesian", "50-###, 53-###", "71"),
            _city("Gdańsk|Gdansk", "pomorskie|Pomeranian", "80-###", "58"),
            _city("Poznań|Poznan", "wielkopolskie|Greater Poland", "60-###, 61-###", "61"),
            _city("Łódź|Lodz", "łódzkie|Łódź", "90-###, 91-###", "42"),
        ),
    ),
    Country(
        code="CZ",
        names=_split("CZ, Czech Republic, Czechia, Česko, CZE"),
        calling_code="420",
        trunk="",
        mobile=_split("601, 602, 603, 604, 605, 606, 607, 608, 72, 73, 77"),
        nsn_length=9,
        groups=(3, 3, 3),
        street_style="street_first",
        streets=_split("Nádražní, Školní, Husova, Palackého, Masarykova, Zahradní, Krátká"),
        providers=_split("seznam.cz, email.cz, centrum.cz, gmail.com, post.cz"),
        company_suffixes=_split("s.r.o., a.s."),
        currency="CZK",
        cities=(
            _city("Praha|Prague|Prag", "Hlavní město Praha|Praha", "1## ##", "2"),
            _city("Brno", "Jihomoravský kraj", "6## ##", "54"),
            _city("Ostrava", "Moravskoslezský kraj", "7## ##", "59"),
        ),
    ),
    Country(
        code="CN",
        names=_split("CN, China, PRC, People's Republic of China, 中国"),
        calling_code="86",
        trunk="0",
        mobile=_split("135, 136, 138, 139, 150, 151, 158, 159, 186, 187, 188"),
        nsn_length=11,
        groups=(3, 4, 4),
        street_style="number_first",
        streets=_split(
            "Jianguo Road, Nanjing West Road, Huaihai Road, Zhongshan Road, Renmin Road,"
            "Jiefang Avenue, Changan Street, Heping Road"
        ),
        providers=_split("qq.com, 163.com, 126.com, sina.com, gmail.com"),
        company_suffixes=_split("Co., Ltd., Ltd."),
        currency="CNY",
        cities=(
            _city("Beijing|Peking|北京", "Beijing", "100###", "103, 105, 106"),
            _city("Shanghai|上海", "Shanghai", "200###", "212, 213, 215, 216"),
            _city("Guangzhou|Canton", "Guangdong", "510###", "20"),
            _city("Shenzhen", "Guangdong", "518###", "755:11"),
            _city("Chengdu", "Sichuan", "610###", "28"),
            _city("Hangzhou", "Zhejiang", "310###", "571:11"),
        ),
        landline_length=10,
    ),
    Country(
        code="SG",
        names=_split("SG, Singapore, SGP, Republic of Singapore"),
        calling_code="65",
        trunk="",
        mobile=_split("83, 86, 87, 88, 91, 92, 93, 94, 96, 97, 98"),
        nsn_length=8,
        groups=(4, 4),
        street_style="number_first",
        streets=_split(
            "Ang Mo Kio Avenue 3, Tampines Street 21, Orchard Road, Bedok North Road,"
            "Jurong West Street 42, Toa Payoh Lorong 1, Clementi Avenue 2"
        ),
        providers=_split("gmail.com, singnet.com.sg, yahoo.com.sg, hotmail.com"),
        company_suffixes=_split("Pte Ltd, Pte. Ltd."),
        currency="SGD",
        cities=(
            _city("Singapore", "Singapore", "1#####, 4#####, 5#####, 6#####", "62, 63, 64, 65, 67"),
        ),
    ),
    Country(
        code="VN",
        names=_split("VN, Vietnam, Viet Nam, Việt Nam, VNM"),
        calling_code="84",
        trunk="0",
        mobile=_split("32, 33, 35, 70, 77, 86, 88, 90, 91, 93, 94, 96, 97, 98"),
        nsn_length=9,
        groups=(2, 3, 4),
        street_style="number_first",
        streets=_split(
            "Lê Lợi, Nguyễn Huệ, Trần Hưng Đạo, Hai Bà Trưng, Lý Thường Kiệt, Điện Biên Phủ,"
            "Phan Chu Trinh, Hoàng Diệu"
        ),
        providers=_split("gmail.com, yahoo.com.vn, hotmail.com, outlook.com"),
        company_suffixes=_split("Co., Ltd., JSC, TNHH"),
        currency="VND",
        cities=(
            _city("Hà Nội|Ha Noi|Hanoi", "Hà Nội|Hanoi", "1#####", "243, 246, 247"),
            _city(
                "Hồ Chí Minh|Ho Chi Minh City|TP.HCM|Saigon",
                "Hồ Chí Minh|HCMC",
                "7#####",
                "283, 286, 287",
            ),
            _city("Đà Nẵng|Da Nang", "Đà Nẵng|Da Nang", "55####", "236"),
            _city("Hải Phòng|Hai Phong", "Hải Phòng|Hai Phong", "18####", "225"),
        ),
        landline_length=10,
    ),
    Country(
        code="FR",
        names=_split("FR, France, FRA, République française"),
        calling_code="33",
        trunk="0",
        mobile=_split("61, 62, 64, 65, 66, 67, 68, 75, 76, 77, 78"),
        nsn_length=9,
        groups=(1, 2, 2, 2, 2),
        street_style="number_first",
        streets=_split(
            "rue de la République, rue Victor Hugo, rue des Lilas, rue du Moulin, rue de la Gare,"
            "avenue Jean Jaurès, boulevard Voltaire, place de l'Église, rue Pasteur, allée des Pins"
        ),
        providers=_split("orange.fr, free.fr, laposte.net, gmail.com, sfr.fr, wanadoo.fr"),
        company_suffixes=_split("SAS, SARL, SA, EURL"),
        currency="EUR",
        cities=(
            _city("Paris", "Île-de-France|Ile-de-France|IDF", "750##", "14"),
            _city("Lyon", "Auvergne-Rhône-Alpes", "6900#", "47"),
            _city("Marseille", "Provence-Alpes-Côte d'Azur|PACA", "130##", "49"),
            _city("Toulouse", "Occitanie", "310##", "56"),
            _city("Lille", "Hauts-de-France", "590##", "32"),
            _city("Nantes", "Pays de la Loire", "440##", "24"),
        ),
    ),
    Country(
        code="IN",
        names=_split("IN, India, IND, Bharat"),
        calling_code="91",
        trunk="0",
        mobile=_split("98, 99, 97, 96, 95, 94, 93, 90, 89, 88, 87, 70, 73, 81"),
        nsn_length=10,
        groups=(5, 5),
        street_style="number_comma",
        streets=_split(
            "MG Road, Gandhi Road, Nehru Nagar, Station Road, Park Street, Brigade Road,"
            "Anna Salai, Linking Road, Sector 15, Banjara Hills Road No. 2"
        ),
        providers=_split("gmail.com, yahoo.co.in, rediffmail.com, hotmail.com, outlook.com"),
        company_suffixes=_split("Pvt Ltd, Pvt. Ltd., Private Limited, Ltd"),
        currency="INR",
        cities=(
            _city("New Delhi|Delhi", "Delhi|NCT of Delhi", "110###", "114, 115, 116"),
            _city("Mumbai|Bombay", "Maharashtra|MH", "400###", "224, 225, 226"),
            _city("Bengaluru|Bangalore", "Karnataka|KA", "560###", "80"),
            _city("Chennai|Madras", "Tamil Nadu|TN", "600###", "442, 443, 444"),
            _city("Hyderabad", "Telangana|TS", "500###", "402, 403, 404"),
            _city("Kolkata|Calcutta", "West Bengal|WB", "700###", "332, 334, 335"),
            _city("Pune|Poona", "Maharashtra|MH", "411###", "202, 203, 206"),
        ),
    ),
    Country(
        code="EG",
        names=_split("EG, Egypt, EGY, مصر"),
        calling_code="20",
        trunk="0",
        mobile=_split("10, 11, 12, 15"),
        nsn_length=10,
        groups=(3, 3, 4),
        street_style="number_first",
        streets=_split(
            "El Tahrir Street, Al Nasr Road, Talaat Harb Street, El Horreya Avenue,"
            "Gameat El Dowal Street, El Haram Street"
        ),
        providers=_split("gmail.com, yahoo.com, hotmail.com, outlook.com"),
        company_suffixes=_split("S.A.E., LLC"),
        currency="EGP",
        cities=(
            _city("Cairo|Al Qahirah|Le Caire", "Cairo Governorate|Cairo", "11###", "2"),
            _city("Alexandria|Alexandrie", "Alexandria Governorate|Alexandria", "21###", "3:8"),
            _city("Giza|Al Jizah", "Giza Governorate|Giza", "12###", "2"),
        ),
        landline_length=9,
    ),
    Country(
        code="MA",
        names=_split("MA, Morocco, Maroc, MAR"),
        calling_code="212",
        trunk="0",
        mobile=_split("61, 66, 67, 70"),
        nsn_length=9,
        groups=(3, 2, 2, 2),
        street_style="number_first",
        streets=_split(
            "Avenue Mohammed V, Boulevard Zerktouni, Rue Ibn Batouta, Avenue Hassan II,"
            "Boulevard d'Anfa, Rue de Fès"
        ),
        providers=_split("gmail.com, hotmail.fr, yahoo.fr, menara.ma, outlook.fr"),
        company_suffixes=_split("SARL, SA, SARL AU"),
        currency="MAD",
        cities=(
            _city("Casablanca|Casa", "Casablanca-Settat", "20###", "522"),
            _city("Rabat", "Rabat-Salé-Kénitra", "10###", "537"),
            _city("Marrakech|Marrakesh", "Marrakech-Safi", "40###", "5243, 5244"),
            _city("Fès|Fes|Fez", "Fès-Meknès", "30###", "535"),
            _city("Tanger|Tangier", "Tanger-Tétouan-Al Hoceïma", "90###", "5393, 5394"),
        ),
    ),
    Country(
        code="AE",
        names=_split("AE, UAE, United Arab Emirates, U.A.E."),
        calling_code="971",
        trunk="0",
        mobile=_split("50, 52, 54, 55, 56, 58"),
        nsn_length=9,
        groups=(2, 3, 4),
        street_style="number_first",
        streets=_split(
            "Al Wasl Road, Sheikh Zayed Road, Jumeirah Beach Road, Al Khaleej Road,"
            "Hamdan Street, Al Muroor Road"
        ),
        providers=_split("gmail.com, hotmail.com, yahoo.com, emirates.net.ae, outlook.com"),
        company_suffixes=_split("LLC, FZE, FZ-LLC"),
        currency="AED",
        # The Emirates have no postcodes: forms get blanks or made-up zeros.
        cities=(
            _city("Dubai|Dubayy", "Dubai", "", "42, 43, 44, 45"),
            _city("Abu Dhabi|Abu Zaby", "Abu Dhabi", "", "24, 25, 26"),
            _city("Sharjah|Al Sharjah", "Sharjah", "", "65, 67"),
        ),
        landline_length=8,
    ),
    Country(
        code="SE",
        names=_split("SE, Sweden, Sverige, SWE"),
        calling_code="46",
        trunk="0",
        mobile=_split("70, 72, 73, 76, 79"),
        nsn_length=9,
        groups=(2, 3, 2, 2),
        street_style="street_first",
        streets=_split(
            "Storgatan, Kungsgatan, Drottninggatan, Skolvägen, Kyrkogatan, Björkvägen,"
            "Järnvägsgatan, Södra Vägen"
        ),
        providers=_split("gmail.com, hotmail.se, telia.com, outlook.com, yahoo.se"),
        company_suffixes=_split("AB, HB"),
        currency="SEK",
        cities=(
            _city("Stockholm", "Stockholms län|Stockholm", "1## ##", "8"),
            _city("Göteborg|Gothenburg|Goteborg", "Västra Götaland", "4## ##", "31"),
            _city("Malmö|Malmo", "Skåne|Skane", "2## ##", "40"),
            _city("Uppsala", "Uppsala län", "75# ##", "18"),
        ),
    ),
    Country(
        code="NO",
        names=_split("NO, Norway, Norge, NOR"),
        calling_code="47",
        trunk="",
        mobile=_split("40, 41, 46, 47, 48, 9"),
        nsn_length=8,
        groups=(3, 2, 3),
        street_style="street_first",
        streets=_split("Storgata, Kirkeveien, Skoleveien, Strandgata, Bjørkeveien, Kongens gate"),
        providers=_split("gmail.com, online.no, hotmail.com, outlook.com, yahoo.no"),
        company_suffixes=_split("AS, ASA"),
        currency="NOK",
        cities=(
            _city("Oslo", "Oslo", "0###", "21, 22, 23"),
            _city("Bergen", "Vestland", "50##", "55, 56"),
            _city("Trondheim", "Trøndelag", "70##", "72, 73"),
            _city("Stavanger", "Rogaland", "40##", "51, 52"),
        ),
    ),
    Country(
        code="DK",
        names=_split("DK, Denmark, Danmark, DNK"),
        calling_code="45",
        trunk="",
        mobile=_split("20, 21, 22, 26, 28, 30, 40, 50, 60, 61"),
        nsn_length=8,
        groups=(2, 2, 2, 2),
        street_style="street_first",
        streets=_split("Østergade, Vestergade, Nørregade, Søndergade, Skolevej, Kirkevej"),
        providers=_split("gmail.com, hotmail.com, mail.dk, outlook.dk, yahoo.dk"),
        company_suffixes=_split("A/S, ApS, I/S"),
        currency="DKK",
        cities=(
            _city(
                "København|Copenhagen|Kobenhavn",
                "Hovedstaden|Capital Region",
                "1###, 2###",
                "33, 35, 38",
            ),
            _city("Aarhus|Århus", "Midtjylland|Central Denmark", "8###", "86, 87"),
            _city("Odense", "Syddanmark|Southern Denmark", "5###", "66"),
            _city("Aalborg|Ålborg", "Nordjylland|North Denmark", "9###", "98"),
        ),
    ),
    Country(
        code="FI",
        names=_split("FI, Finland, Suomi, FIN"),
        calling_code="358",
        trunk="0",
        mobile=_split("40, 44, 45, 50"),
        nsn_length=9,
        groups=(2, 3, 4),
        street_style="street_first",
        streets=_split("Mannerheimintie, Hämeentie, Aleksanterinkatu, Koulukatu, Kirkkokatu"),
        providers=_split("gmail.com, hotmail.com, luukku.com, outlook.com, kolumbus.fi"),
        company_suffixes=_split("Oy, Oyj, Ab"),
        currency="EUR",
        cities=(
            _city("Helsinki|Helsingfors", "Uusimaa|Nyland", "00###", "93, 95, 96"),
            _city("Tampere|Tammerfors", "Pirkanmaa", "33###", "3"),
            _city("Turku|Åbo", "Varsinais-Suomi", "20###", "2"),
            _city("Oulu|Uleåborg", "Pohjois-Pohjanmaa", "90###", "81, 85, 88"),
        ),
    ),
)

COMPANY_WORDS: tuple[str, ...] = _split(
    "Alder, Blue Harbor, Cresta, Granite, Helix, Lumen, Meridian, Nimbus, Orchard, Pinecone,"
    "Quanta, Riverbend, Solace, Tandem, Vireo, Willow, Northgate, Copperleaf, Brightwater,"
    "Silverline, Redwood, Kestrel, Ironbark, Saffron, Tidewater, Juniper, Halcyon, Everline"
)
COMPANY_TRADES: tuple[str, ...] = _split(
    "Logistics, Foods, Software, Analytics, Textiles, Energy, Dental, Consulting, Media,"
    "Robotics, Insurance, Travel, Pharma, Construction, Design, Labs, Systems, Trading"
)
"""Company names are a word and a trade, plus the country's legal suffix."""

BIG_EMPLOYERS: tuple[tuple[str, str], ...] = (
    ("Meridian Logistics", "US"),
    ("Granite Insurance", "GB"),
    ("Helix Pharma", "DE"),
    ("Solace Travel", "ES"),
    ("Quanta Systems", "IN"),
    ("Nimbus Software", "FR"),
    ("Kestrel Energy", "SE"),
    ("Copperleaf Foods", "MX"),
)
"""Large employers: their people share one switchboard number, the generic-phone trap."""

PLACEHOLDER_EMAILS: tuple[str, ...] = _split(
    "test@test.com, noemail@noemail.com, none@none.com, na@na.com, x@x.com, no@email.com,"
    "customer@example.com, unknown@unknown.com"
)
PLACEHOLDER_PHONES: tuple[str, ...] = _split(
    "0000000, 000-000-0000, 1234567890, 0000000000, 999999999, 123456, n/a, 1111111111"
)
PLACEHOLDER_TEXT: tuple[str, ...] = _split("n/a, N/A, none, -, ., unknown, test, xxx, TBD, ?")
PLACEHOLDER_DATES: tuple[str, ...] = _split("1900-01-01, 01/01/1900, 1970-01-01, 01.01.1900")

KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "q": "wa",
    "w": "qesa",
    "e": "wrds",
    "r": "etfd",
    "t": "rygf",
    "y": "tuhg",
    "u": "yijh",
    "i": "uokj",
    "o": "iplk",
    "p": "ol",
    "a": "qwsz",
    "s": "awedxz",
    "d": "serfcx",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "z": "asx",
    "x": "zsdc",
    "c": "xdfv",
    "v": "cfgb",
    "b": "vghn",
    "n": "bhjm",
    "m": "njk",
}
"""QWERTY keys next to each key, for typos a hurried hand makes."""

TRANSLITERATIONS: dict[str, str] = {
    "ä": "ae",
    "ö": "oe",
    "ü": "ue",
    "Ä": "Ae",
    "Ö": "Oe",
    "Ü": "Ue",
    "ß": "ss",
    "å": "aa",
    "Å": "Aa",
    "ø": "oe",
    "Ø": "Oe",
    "æ": "ae",
    "Æ": "Ae",
}
"""German and Nordic letters as people type them on an English keyboard."""

STRIPPED_LETTERS: dict[str, str] = {
    "ß": "ss",
    "ø": "o",
    "Ø": "O",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "\u0131": "i",  # dotless i
}
"""Letters that Unicode decomposition does not reduce to ASCII."""

TICKET_SUBJECTS: tuple[str, ...] = (
    "Cannot log in to my account",
    "Order arrived damaged",
    "Refund not received",
    "Question about my invoice",
    "How do I change my address?",
    "Password reset e-mail never arrives",
    "Wrong item delivered",
    "Cancel my subscription",
    "App crashes on start",
    "Charged twice",
)
PRODUCT_CATEGORIES: tuple[str, ...] = _split(
    "electronics, books, home, garden, apparel, sports, toys, beauty, grocery, software"
)
CAMPAIGNS: tuple[str, ...] = _split(
    "spring-sale, newsletter-weekly, black-friday, welcome-series, product-launch,"
    "win-back, summer-clearance, loyalty-rewards"
)
