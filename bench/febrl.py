"""A FEBRL-like generator: original person records and corrupted duplicates, with ground truth.

Columns follow the FEBRL data sets (given_name, surname, street_number, address_1, address_2,
suburb, postcode, state, date_of_birth, soc_sec_id). Duplicates carry the corruptions those
data sets are known for: keyboard typos, dropped and inserted letters, transposed digits,
missing values, nicknames, swapped given name and surname, day and month swapped. Every value
is made up from syllables and small word lists; nothing here is a real person.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass

FEBRL_COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
# How the columns map onto Huella's canonical attributes; soc_sec_id is declared an identifier.
CANONICAL_MAP = {
    "given_name": "first_name",
    "surname": "last_name",
    "address_2": "address_line2",
    "suburb": "city",
    "postcode": "postcode",
    "state": "region",
    "date_of_birth": "birth_date",
    "soc_sec_id": "soc_sec_id",
}
EXTRA_TYPES = {"soc_sec_id": "identifier"}


def _words(text: str) -> tuple[str, ...]:
    """A word list written as one long string, so the tables stay compact."""
    return tuple(text.split())


_GIVEN = _words(
    "james john robert michael william david richard joseph thomas charles christopher daniel "
    "matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy "
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty "
    "margaret sandra ashley kimberly emily donna michelle carol amanda melissa deborah "
    "stephanie rebecca sharon laura cynthia kathleen amy angela shirley anna brenda pamela "
    "emma olivia chloe mia isabella ruby grace jack oliver lachlan liam noah ethan jacob "
    "samuel harrison hamish connor declan riley tahlia jade zoe madison kayla brooke"
)
_NICKNAMES = {
    "james": "jim",
    "john": "jack",
    "robert": "bob",
    "michael": "mike",
    "william": "bill",
    "richard": "dick",
    "joseph": "joe",
    "thomas": "tom",
    "charles": "charlie",
    "christopher": "chris",
    "daniel": "dan",
    "matthew": "matt",
    "anthony": "tony",
    "steven": "steve",
    "andrew": "andy",
    "kenneth": "ken",
    "elizabeth": "liz",
    "margaret": "maggie",
    "patricia": "pat",
    "jennifer": "jenny",
    "rebecca": "becky",
    "kimberly": "kim",
    "samuel": "sam",
    "deborah": "debbie",
    "timothy": "tim",
}
_SURNAMES = _words(
    "smith jones williams brown wilson taylor johnson white martin anderson thompson nguyen "
    "thomas walker harris lee ryan robinson kelly king davis wright evans roberts green hall "
    "wood jackson clarke patel khan lewis james phillips mitchell turner campbell murphy "
    "oconnor obrien mcdonald stewart scott edwards baker young morris hughes cook ward price"
)
_SYLLABLES = _words(
    "ar ber cal dan el fer gan har in jor kel lam mor nor ol pan quin ros sal ter ul van wil "
    "yar zel bro cha dre fle gri hol kra lun mac nel pet ric ste tho wen"
)
_STREETS = _words(
    "main high church station park victoria george king queen elizabeth william albert "
    "railway bridge mill hill forest river lake ocean sunset hope pine oak maple cedar"
)
_KINDS = ("street", "road", "avenue", "place", "crescent", "close", "drive", "court")
_SUBURBS = _words(
    "springfield riverton lakeside hillcrest fairview greenwood brookvale oakleigh "
    "kingston newport ashfield belmont clifton dalton eastwood glenhaven kelso marion "
    "northbridge parkville redcliffe southbank westmead yarralumla"
)
_STATES = ("nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt")
_COMPLEXES = ("", "", "", "", "rosedale", "the oaks", "village green", "flat 2", "unit 7")


@dataclass(frozen=True, slots=True)
class FebrlRecord:
    """One generated record: its id, the true person, and FEBRL-named columns."""

    record_id: int
    person_id: int
    columns: dict[str, str]

    def canonical(self) -> dict[str, str]:
        """Columns mapped onto Huella attributes (street number and street joined)."""
        out = {CANONICAL_MAP[k]: v for k, v in self.columns.items() if k in CANONICAL_MAP}
        street = " ".join(
            v for v in (self.columns["street_number"], self.columns["address_1"]) if v
        )
        out["address_line1"] = street
        return {k: v for k, v in out.items() if v}


def _zipf(rng: random.Random, items: list[str] | tuple[str, ...]) -> str:
    """Pick with a long tail: early items are common, late ones rare."""
    index = min(int(rng.paretovariate(1.2)) - 1, len(items) - 1)
    return items[index] if rng.random() < 0.7 else rng.choice(items)


def _surname(rng: random.Random) -> str:
    if rng.random() < 0.55:
        return _zipf(rng, _SURNAMES)
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))


def _original(rng: random.Random) -> dict[str, str]:
    year = rng.randint(1930, 2005)
    return {
        "given_name": _zipf(rng, _GIVEN),
        "surname": _surname(rng),
        "street_number": str(rng.randint(1, 400)),
        "address_1": f"{rng.choice(_STREETS)} {rng.choice(_KINDS)}",
        "address_2": rng.choice(_COMPLEXES),
        "suburb": rng.choice(_SUBURBS),
        "postcode": str(rng.randint(2000, 7999)),
        "state": rng.choice(_STATES),
        "date_of_birth": f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
        "soc_sec_id": str(rng.randint(1_000_000, 9_999_999)),
    }


def _typo(rng: random.Random, value: str) -> str:
    if len(value) < 2:
        return value
    i = rng.randrange(len(value))
    pool = string.digits if value.isdigit() else string.ascii_lowercase
    match rng.randrange(4):
        case 0:
            return value[:i] + rng.choice(pool) + value[i + 1 :]
        case 1:
            return value[:i] + value[i + 1 :]
        case 2:
            return value[:i] + rng.choice(pool) + value[i:]
        case _:
            j = min(i + 1, len(value) - 1)
            chars = list(value)
            chars[i], chars[j] = chars[j], chars[i]
            return "".join(chars)


def _corrupt(rng: random.Random, original: dict[str, str], edits: int) -> dict[str, str]:
    record = dict(original)
    for _ in range(edits):
        field = rng.choice(FEBRL_COLUMNS)
        roll = rng.random()
        if roll < 0.15:
            record[field] = ""
        elif field == "given_name" and roll < 0.35 and record[field] in _NICKNAMES:
            record[field] = _NICKNAMES[record[field]]
        elif field in ("given_name", "surname") and roll < 0.42:
            record["given_name"], record["surname"] = record["surname"], record["given_name"]
        elif field == "date_of_birth" and roll < 0.4 and record[field]:
            dob = record[field]
            record[field] = dob[:4] + dob[6:8] + dob[4:6] if int(dob[6:8]) <= 12 else dob
        elif field == "address_1" and roll < 0.4:
            record[field] = record[field].replace("street", "st").replace("road", "rd")
        else:
            record[field] = _typo(rng, record[field])
    return record


def generate(count: int, seed: int = 0, duplicate_share: float = 0.4) -> Iterator[FebrlRecord]:
    """Yield ``count`` records; about ``duplicate_share`` of them are corrupted duplicates."""
    rng = random.Random(seed)
    made = 0
    person = 0
    while made < count:
        original = _original(rng)
        yield FebrlRecord(made, person, original)
        made += 1
        copies = 0
        if rng.random() < duplicate_share * 1.6:
            copies = min(1 + int(rng.paretovariate(2.0)) - 1, 5)
        for _ in range(copies):
            if made >= count:
                break
            edits = rng.choice((1, 1, 2, 2, 3))
            yield FebrlRecord(made, person, _corrupt(rng, original, edits))
            made += 1
        person += 1
