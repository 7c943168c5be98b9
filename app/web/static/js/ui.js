// Small DOM helpers shared by every page. Text always goes in as text nodes, never as HTML, so
// whatever a department's system sent cannot become markup.

/**
 * Build an element: h("a", {href: "/x", class: "link"}, "text", child).
 * Attributes: `on<event>` functions become listeners, true/false toggle boolean attributes,
 * null/undefined are skipped. Children: nodes, strings, numbers, arrays, null (skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const two = (n) => String(n).padStart(2, "0");

/** Every date of the console in one format, the one departments' dates are read into and
 * masks keep: 1988-02-14 (a timestamp's day in the reader's zone; a calendar day as is). */
export function dayText(iso) {
  if (DAY.test(iso)) return iso;
  const parsed = new Date(iso);
  if (Number.isNaN(parsed.getTime())) return iso;
  return `${parsed.getFullYear()}-${two(parsed.getMonth() + 1)}-${two(parsed.getDate())}`;
}

/** A <time> for an ISO timestamp (its day and minute in the reader's zone) or day. */
export function when(iso, { date = false } = {}) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const parsed = new Date(iso);
  if (Number.isNaN(parsed.getTime())) return h("span", {}, iso);
  const time = date || DAY.test(iso) ? "" : ` ${two(parsed.getHours())}:${two(parsed.getMinutes())}`;
  return h("time", { datetime: iso, title: iso }, dayText(iso) + time);
}

/** A number as a percentage: 0.873 -> "87%". */
export function percent(fraction, digits = 0) {
  if (fraction === null || fraction === undefined) return "—";
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** "first_name" -> "First name" (known attributes get their proper labels). */
export function label(name) {
  const known = {
    emails: "E-mails", phones: "Phones", addresses: "Addresses", email: "E-mail",
    birth_date: "Birth date", postcode: "Postcode", address_line1: "Address",
    address_line2: "Address (2)", full_name: "Full name",
  };
  if (known[name]) return known[name];
  const words = String(name).replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** An address object as one line. */
export function addressLine(address) {
  if (!address || typeof address !== "object") return address ?? "";
  const order = ["address_line1", "address_line2", "postcode", "city", "region", "country"];
  return order.map((key) => address[key]).filter(Boolean).join(", ");
}

/** Any attribute value as text. */
export function show(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "object") return addressLine(value);
  return String(value);
}

/** The problem document of an error, as an alert: title, detail and each offending field. */
export function problemBox(error) {
  const problem = error?.problem || { title: "Something went wrong", detail: String(error?.message || error) };
  const fields = problem.errors && typeof problem.errors === "object"
    ? Object.entries(problem.errors).map(([field, messages]) =>
      h("li", {}, h("code", {}, field), ": ", [].concat(messages).map(show).join(" ")))
    : [];
  return h("div", { class: "problem", role: "alert" },
    h("strong", {}, problem.title || "Error"),
    problem.detail ? h("p", {}, problem.detail) : null,
    fields.length ? h("ul", {}, fields) : null);
}

/** Say something to screen readers without moving focus. */
export function announce(message) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // A fresh text node after a tick makes screen readers read a repeated message again.
  setTimeout(() => { region.textContent = message; }, 50);
}

/** A table from a header list and rows of cells (cells are anything h() accepts). */
export function table(caption, headers, rows, attributes = {}) {
  return h("div", { class: "table-wrap" },
    h("table", attributes,
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, index) =>
        index === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))));
}

/** A bar with its value as text, for percentages (affinities, weights). */
export function bar(fraction, text, className = "") {
  const fillBar = h("span", { class: "bar-fill" });
  fillBar.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return h("span", { class: `bar ${className}` }, h("span", { class: "bar-track", "aria-hidden": "true" }, fillBar), h("span", { class: "bar-text" }, text));
}

/** The customer's name as the golden record has it, whichever shape (verbose or not). */
export function customerName(golden, fallback) {
  const value = (entry) => (entry && typeof entry === "object" && "value" in entry ? entry.value : entry);
  const full = value(golden?.full_name);
  const parts = [value(golden?.first_name), value(golden?.last_name)].filter(Boolean).join(" ");
  const email = value(golden?.emails?.[0]);
  return full || parts || email || fallback;
}

/** A "Load more" button that calls `load` and removes itself when nothing follows. */
export function loadMore(labelText, load) {
  const button = h("button", { type: "button", class: "more" }, labelText);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await load(button);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Records side by side: one column per record, grouped by department, one row per attribute. */
// A value kept as written that cannot be compared (a birth date of 1955-11-92): marked, with why.
function flag(problem) {
  if (!problem) return null;
  return h("span", { class: "flag", title: `kept as written: ${problem}` }, " ⚠",
    h("span", { class: "visually-hidden" }, ` (kept as written: ${problem})`));
}

export function recordsTable(columns, caption) {
  const names = [...new Set(columns.flatMap((column) => Object.keys(column.attributes || {})))].sort();
  const groups = [];
  for (const column of columns) {
    const last = groups.at(-1);
    if (last && last.source === column.source) last.span += 1;
    else groups.push({ source: column.source, span: 1 });
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "side-by-side" },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {},
      h("tr", {}, h("td", {}), groups.map((group) => h("th", { scope: "colgroup", colspan: group.span, class: "department" }, group.source))),
      h("tr", {}, h("th", { scope: "col" }, "Attribute"), columns.map((column) => h("th", { scope: "col", class: "record-id" },
        column.link ? h("a", { href: column.link, target: "_blank", rel: "noopener noreferrer", title: `Open in ${column.source}'s system` }, column.id) : column.id)))),
    h("tbody", {},
      names.map((name) => {
        const differs = new Set(columns.map((column) => show(column.attributes?.[name]).trim().toLowerCase()).filter((text) => text !== "—")).size > 1;
        return h("tr", { class: differs ? "differs" : null },
          h("th", { scope: "row" }, label(name), differs ? h("span", { class: "differs-mark", title: "the records disagree" }, " ≠", h("span", { class: "visually-hidden" }, " (records disagree)")) : null),
          columns.map((column) => h("td", {}, show(column.attributes?.[name]), flag(column.problems?.[name]))));
      }),
      columns.some((column) => column.updated) ? h("tr", { class: "muted" }, h("th", { scope: "row" }, "Updated at source"),
        columns.map((column) => h("td", {}, when(column.updated, { date: true })))) : null)));
}

/** Save text (a CSV, a JSON document) as a file the browser downloads. */
export function saveFile(filename, text, type) {
  const link = h("a", { href: URL.createObjectURL(new Blob([text], { type })), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
