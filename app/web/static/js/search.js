// Search: one box that understands an e-mail, a phone, SOURCE:ID or a name.

import { api, query, seg } from "./api.js";
import { announce, customerName, fill, h, label, loadMore, problemBox, saveFile, show } from "./ui.js";

const PAGE = 20;

/**
 * What the box holds: {kind: "lookup", reference, what} for an identifier, {kind: "search"}
 * for a name (or nothing, with filters).
 */
export function interpret(text) {
  const value = text.trim();
  const typed = /^([A-Za-z][\w-]*):\s*(\S.*)$/.exec(value);
  if (typed && !/\s/.test(typed[2].trim())) {
    const type = typed[1].toLowerCase();
    const what = { email: "e-mail", phone: "phone", anonymous: "anonymous id" }[type] || `${type} id`;
    return { kind: "lookup", reference: `${type}:${typed[2].trim()}`, what };
  }
  if (/^[^\s@]+@[^\s@]+$/.test(value)) return { kind: "lookup", reference: `email:${value}`, what: "e-mail" };
  if (/^\+?[\d\s().\/-]+$/.test(value) && value.replace(/\D/g, "").length >= 6) {
    return { kind: "lookup", reference: `phone:${value}`, what: "phone" };
  }
  return { kind: "search", q: value };
}

function field(id, text, attributes = {}) {
  return h("div", { class: "field" }, h("label", { for: id }, text), h("input", { id, name: id, ...attributes }));
}

function searchForm(params) {
  const form = h("form", { role: "search", class: "search", "aria-label": "Customers" },
    h("div", { class: "field wide" },
      h("label", { for: "q" }, "E-mail, phone, department id (", h("code", {}, "SOURCE:ID"), ") or name"),
      h("input", { id: "q", name: "q", type: "search", value: params.get("q") || "", autocomplete: "off", spellcheck: "false" })),
    h("fieldset", { class: "filters" },
      h("legend", {}, "Narrow a name search"),
      field("city", "City", { value: params.get("city") || "", autocomplete: "off" }),
      field("postcode", "Postcode", { value: params.get("postcode") || "", autocomplete: "off" }),
      field("birth_date", "Birth date", { type: "date", value: params.get("birth_date") || "" })),
    h("button", { type: "submit" }, "Search"));
  return form;
}

function departments(records) {
  return Object.entries(records || {}).map(([source, list]) =>
    h("span", { class: "chip" }, list.length > 1 ? `${source} ×${list.length}` : source));
}

function hitItem(hit, submitted) {
  const golden = hit.golden || {};
  const address = (golden.addresses || [])[0];
  return h("li", { class: "hit" },
    h("div", { class: "hit-head" },
      h("a", { href: `/console/customers/${seg(hit.id)}`, class: "hit-name" }, customerName(golden, hit.id)),
      hit.score !== undefined && hit.score !== null && submitted ? h("span", { class: "score", title: "how well the name matches, out of 100" }, `score ${Math.round(hit.score)}`) : null),
    h("div", { class: "hit-facts" },
      (golden.emails || []).slice(0, 2).map((email) => h("span", {}, email)),
      (hit.withdrawn || []).includes("email_marketing") ? h("span", { class: "flag" }, "no marketing e-mail") : null,
      (golden.phones || []).slice(0, 1).map((phone) => h("span", {}, phone)),
      address ? h("span", {}, show(address)) : null,
      golden.birth_date ? h("span", {}, `${label("birth_date")} ${golden.birth_date}`) : null),
    h("div", { class: "hit-sources" }, departments(hit.records), h("span", { class: "muted id" }, hit.id)));
}

/** The search page: the form, and the results of the address's query. */
export async function render({ main, url, signal, navigate, setTitle, session }) {
  const params = url.searchParams;
  const form = searchForm(params);
  const understood = h("p", { class: "hint", id: "understood" });
  const results = h("section", { "aria-labelledby": "results-title", class: "results" });
  const input = form.querySelector("#q");
  input.setAttribute("aria-describedby", "understood");
  const explainInput = () => {
    const reading = interpret(input.value);
    understood.textContent = reading.kind === "lookup"
      ? `Looking up by ${reading.what}: ${reading.reference}`
      : input.value.trim() ? "Searching names" : "Type an e-mail, a phone, SOURCE:ID or a name.";
  };
  input.addEventListener("input", explainInput);
  explainInput();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    for (const [name, value] of data) if (String(value).trim()) next.set(name, String(value).trim());
    navigate(`/${next.toString() ? `?${next}` : ""}`);
  });
  setTitle(params.get("q") ? `Search: ${params.get("q")}` : "Search");
  fill(main, h("h1", {}, "Find a customer"), form, understood, results);
  const submitted = [...params.keys()].length > 0;
  if (!submitted) {
    input.focus();
    return;
  }
  await showResults({ results, params, signal, input, admin: session.role === "admin" });
}

async function showResults({ results, params, signal, input, admin }) {
  const reading = interpret(params.get("q") || "");
  const list = h("ol", { class: "hits" });
  const heading = h("h2", { id: "results-title", tabindex: "-1" }, "Results");
  fill(results, heading, h("p", { class: "muted" }, "Searching…"));
  const fetchPage = async (cursor) => {
    if (reading.kind === "lookup") {
      return api(`/api/v1/customers/lookup/${seg(reading.reference)}${query({ limit: PAGE, cursor })}`, { signal });
    }
    return api(`/api/v1/customers${query({
      q: reading.q, city: params.get("city"), postcode: params.get("postcode"),
      birth_date: params.get("birth_date"), limit: PAGE, cursor,
    })}`, { signal });
  };
  let page;
  try {
    page = await fetchPage(null);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    fill(results, heading, problemBox(error));
    input.focus();
    return;
  }
  const ignored = reading.kind === "lookup" && ["city", "postcode", "birth_date"].some((name) => params.get(name));
  const count = h("p", { class: "count" });
  const setCount = () => {
    const shown = list.children.length;
    count.textContent = shown === 0 ? "No customer found." : `${shown}${page.next_cursor ? "+" : ""} customer${shown === 1 ? "" : "s"} found.`;
  };
  list.append(...page.data.map((hit) => hitItem(hit, reading.kind === "search" && reading.q)));
  const more = page.next_cursor ? loadMore("Load more results", async (button) => {
    page = await fetchPage(page.next_cursor);
    const items = page.data.map((hit) => hitItem(hit, reading.kind === "search" && reading.q));
    list.append(...items);
    setCount();
    if (!page.next_cursor) button.remove();
    items[0]?.querySelector("a").focus();
  }) : null;
  setCount();
  const exportButton = admin && reading.kind === "search" && list.children.length ? h("button", { type: "button", class: "quiet", onclick: async () => {
    const filters = { q: reading.q, city: params.get("city"), postcode: params.get("postcode"), birth_date: params.get("birth_date") };
    saveFile("customers.csv", await api(`/api/v1/customers/export${query(filters)}`, { signal }), "text/csv");
  } }, "Download results (CSV)") : null;
  fill(results, heading, count, exportButton,
    ignored ? h("p", { class: "hint" }, "City, postcode and birth date narrow a name search; an identifier lookup ignores them.") : null,
    list, more);
  announce(count.textContent);
  const first = list.querySelector("a");
  if (first) first.focus();
  else input.focus();
}
