// One customer: golden record with provenance, every department's records side by side,
// consents, traits and affinities, and the timeline. One API call draws the page; the timeline
// follows.

import { api, query, seg } from "./api.js";
import { announce, bar, customerName, dayText, fill, h, label, loadMore, percent, problemBox, recordsTable, saveFile, show, table, when } from "./ui.js";

const TIMELINE_PAGE = 25;

const RULES = {
  only_value: "the only value any record holds",
  source_priority: "the department with the highest priority",
  most_recent: "the value observed last",
  most_frequent: "the value most records agree on",
  most_complete: "the fullest value",
  first_seen: "every rule tied: the record seen first",
};

function provenanceText(entry) {
  const parts = [`from ${entry.source} ${entry.external_id}`, `rule: ${entry.rule} (${RULES[entry.rule] || "see survivorship.toml"})`];
  if (entry.observed_at) parts.push(`observed ${dayText(entry.observed_at)}`);
  if (entry.records > 1) parts.push(`held by ${entry.records} records`);
  return parts.join(" · ");
}

// The purposes whose withdrawal is flagged beside a kind of value.
const FLAGS = { emails: ["email_marketing", "no marketing e-mail"], phones: ["sms_marketing", "no marketing texts"] };

function goldenRows(golden, values, withdrawn = []) {
  return Object.entries(golden).map(([name, chosen]) => {
    const entries = Array.isArray(chosen) ? chosen : [chosen];
    const others = (values?.[name] || []).filter((candidate) => !candidate.chosen);
    const flag = FLAGS[name] && withdrawn.includes(FLAGS[name][0]) ? h("span", { class: "flag" }, FLAGS[name][1]) : null;
    return h("tr", {},
      h("th", { scope: "row" }, label(name)),
      h("td", {}, entries.length ? h("ul", { class: "values" }, entries.map((entry) =>
        h("li", { title: provenanceText(entry) }, show(entry.value),
          entry.shared ? h("span", { class: "chip shared", title: "many customers hold it: ranked last" }, "shared") : null))) : h("span", { class: "muted" }, "—"), flag),
      h("td", { class: "provenance" }, h("ul", { class: "values" }, entries.map((entry) =>
        h("li", {}, h("span", { class: "chip" }, entry.source), " ", entry.external_id)))),
      h("td", { class: "provenance" }, h("ul", { class: "values" }, entries.map((entry) =>
        h("li", {}, h("abbr", { title: RULES[entry.rule] || entry.rule }, entry.rule.replaceAll("_", " ")))))),
      h("td", { class: "provenance" }, h("ul", { class: "values" }, entries.map((entry) => h("li", {}, when(entry.observed_at, { date: true }))))),
      h("td", { class: "provenance" }, others.length
        ? h("ul", { class: "values muted" }, others.map((other) => h("li", {}, `${show(other.value)} (${other.source} ${other.external_id})`)))
        : h("span", { class: "muted" }, "—")));
  });
}

function goldenSection(profile) {
  const tableElement = h("table", { class: "golden hide-provenance" },
    h("caption", { class: "visually-hidden" }, "Golden record"),
    h("thead", {}, h("tr", {},
      ["Attribute", "Value"].map((text) => h("th", { scope: "col" }, text)),
      ["Source", "Rule", "Observed", "Other values"].map((text) => h("th", { scope: "col", class: "provenance" }, text)))),
    h("tbody", {}, goldenRows(profile.golden || {}, profile.values, profile.withdrawn)));
  const toggle = h("button", { type: "button", class: "quiet", "aria-pressed": "false", "aria-controls": "golden-table" }, "Show provenance");
  tableElement.id = "golden-table";
  toggle.addEventListener("click", () => {
    const showing = tableElement.classList.toggle("hide-provenance") === false;
    toggle.setAttribute("aria-pressed", String(showing));
  });
  return h("section", { "aria-labelledby": "golden-title" },
    h("div", { class: "section-head" }, h("h2", { id: "golden-title" }, "Golden record"), toggle),
    h("p", { class: "hint" }, "Hover a value for where it came from, or show the provenance of every value."),
    h("div", { class: "table-wrap" }, tableElement));
}

function recordsSection(profile) {
  const columns = Object.entries(profile.records || {}).flatMap(([source, records]) =>
    records.map((record) => ({ source, id: record.external_id, link: record.link, attributes: record.attributes, problems: record.problems, updated: record.source_updated_at || record.updated_at })));
  const count = Object.keys(profile.records || {}).length;
  return h("section", { "aria-labelledby": "records-title" },
    h("h2", { id: "records-title" }, `Departments' records`),
    h("p", { class: "hint" }, `${columns.length} record${columns.length === 1 ? "" : "s"} from ${count} department${count === 1 ? "" : "s"}.`),
    columns.length ? recordsTable(columns, "Every department's records, side by side") : h("p", {}, "No live records."));
}

function consentSection(consents) {
  const entries = Object.entries(consents || {});
  const state = (granted) => h("span", { class: granted ? "ok" : "bad" }, granted ? "granted" : "withdrawn");
  return h("section", { "aria-labelledby": "consent-title" },
    h("h2", { id: "consent-title" }, "Consents"),
    h("p", { class: "hint" }, "When departments disagree, the most restrictive choice is in force."),
    entries.length
      ? table("Consents per purpose", ["Purpose", "In force", "Since", "Per department"], entries.map(([purpose, consent]) => [
        h("span", { title: consent.description || "" }, label(purpose)),
        h("span", {}, state(consent.granted),
          consent.recorded ? null : h("span", { class: "muted" }, " (no department asked: default)"),
          consent.disagreement ? h("span", { class: "flag" }, "departments disagree") : null),
        consent.observed_at ? when(consent.observed_at, { date: true }) : "—",
        h("ul", { class: "values" }, (consent.sources || []).map((each) =>
          h("li", {}, `${each.source} ${each.external_id}: `, state(each.granted), " ", when(each.observed_at, { date: true })))),
      ]))
      : h("p", { class: "muted" }, "No purposes are configured."));
}

function stat(title, ...value) {
  return h("div", { class: "stat" }, h("dt", {}, title), h("dd", {}, ...value));
}

function money(values) {
  const entries = Object.entries(values || {});
  if (!entries.length) return "—";
  return entries.map(([currency, amount]) => {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
    } catch {
      return `${amount} ${currency}`;
    }
  }).join(" + ");
}

function traitsSection(traits) {
  if (!traits) return h("section", {}, h("h2", {}, "Traits"), h("p", { class: "muted" }, "Not computed yet."));
  const { orders = {}, tickets = {}, email = {} } = traits;
  const affinities = traits.affinities || [];
  return h("section", { "aria-labelledby": "traits-title" },
    h("h2", { id: "traits-title" }, "Traits"),
    h("dl", { class: "stats" },
      stat("First seen", when(traits.first_seen, { date: true })),
      stat("Last seen", when(traits.last_seen, { date: true })),
      stat("Events", String(traits.events ?? 0)),
      stat("Orders", `${orders.count ?? 0}`, orders.count ? h("small", {}, ` · ${money(orders.lifetime_value)} lifetime`) : null),
      stat("Last order", when(orders.last_order_at, { date: true })),
      stat("Tickets", `${tickets.total ?? 0}`, tickets.total ? h("small", {}, ` · ${tickets.open} open`) : null),
      tickets.last ? stat("Last ticket", tickets.last.subject || tickets.last.external_id || "", h("small", {}, ` ${tickets.last.status || ""} `), when(tickets.last.occurred_at, { date: true })) : null,
      stat(`E-mail, last ${email.window_days ?? 90} days`, `${email.sent ?? 0} sent · ${email.opened ?? 0} opened · ${email.clicked ?? 0} clicked`,
        email.open_rate !== null && email.open_rate !== undefined ? h("small", {}, ` (${percent(email.open_rate)} open, ${percent(email.click_rate)} click)`) : null),
      stat("Last e-mail open", when(email.last_opened_at, { date: true }))),
    h("h3", {}, "Affinities"),
    traits.profiling === false
      ? h("p", { class: "muted" }, "None computed: the customer has not granted profiling.")
      : affinities.length
      ? h("ul", { class: "affinities" }, affinities.map((affinity) =>
        h("li", {}, h("span", { class: "affinity-name" }, affinity.category),
          bar(affinity.percent / 100, `${affinity.percent}%`), h("span", { class: "visually-hidden" }, ` affinity with ${affinity.category}`))))
      : h("p", { class: "muted" }, "No interest shown yet (views, searches, likes, reviews and purchases build affinities)."),
    h("p", { class: "hint" }, "As of ", when(traits.as_of), "."));
}

const SUMMARY_KEYS = ["subject", "status", "category", "title", "name", "query", "url", "campaign_id", "channel"];

function eventSummary(properties) {
  const parts = [];
  if (properties.amount !== undefined) parts.push(money({ [properties.currency || "EUR"]: Number(properties.amount) }));
  for (const key of SUMMARY_KEYS) if (properties[key] !== undefined && properties[key] !== null) parts.push(`${label(key)}: ${show(properties[key])}`);
  const rest = Object.keys(properties).filter((key) => !SUMMARY_KEYS.includes(key) && key !== "amount" && key !== "currency");
  return [parts.join(" · "), rest.length ? h("span", { class: "muted" }, `${parts.length ? " · " : ""}${rest.length} more`) : null];
}

function eventItem(event) {
  return h("li", { class: "event" },
    when(event.occurred_at),
    h("span", { class: `type type-${event.type.replace(/[^a-z0-9_]/g, "")}` }, label(event.type)),
    h("span", { class: "chip" }, event.source || event.via || "—"),
    h("span", { class: "event-summary", title: JSON.stringify(event.properties || {}) }, eventSummary(event.properties || {})));
}

function checkboxes(legendText, name, options) {
  return h("fieldset", { class: "checks" }, h("legend", {}, legendText),
    options.map(([value, count]) => h("label", {}, h("input", { type: "checkbox", name, value }), ` ${label(value)}`, count ? h("span", { class: "muted" }, ` (${count})`) : null)));
}

function timelineSection(profile, signal) {
  const traits = profile.traits || {};
  const types = Object.entries(traits.event_types || {});
  const sources = [...new Set([...Object.keys(traits.sources || {}), ...Object.keys(profile.records || {})])].sort()
    .map((source) => [source, traits.sources?.[source]?.events]);
  const filters = h("form", { class: "timeline-filters", "aria-label": "Timeline filters" },
    types.length ? checkboxes("Type", "type", types) : null,
    sources.length ? checkboxes("Department", "source", sources) : null);
  const body = h("div", { "aria-live": "polite", "aria-busy": "true" });
  const section = h("section", { "aria-labelledby": "timeline-title" },
    h("h2", { id: "timeline-title" }, "Timeline"),
    h("p", { class: "hint" }, "Newest first. Tick types or departments to see only those."), filters, body);
  let latest = null;
  const load = () => {
    // A newer choice of filters cancels the answer to the older one.
    latest?.abort();
    latest = new AbortController();
    signal.addEventListener("abort", () => latest.abort(), { once: true });
    return loadTimeline({ id: profile.id, filters, body, signal: latest.signal });
  };
  filters.addEventListener("change", load);
  filters.addEventListener("submit", (event) => event.preventDefault());
  return { section, load };
}

async function loadTimeline({ id, filters, body, signal }) {
  const data = new FormData(filters);
  const params = { type: data.getAll("type"), source: data.getAll("source"), limit: TIMELINE_PAGE };
  const fetchPage = (cursor) => api(`/api/v1/customers/${seg(id)}/timeline${query({ ...params, cursor })}`, { signal });
  body.setAttribute("aria-busy", "true");
  let page;
  try {
    page = await fetchPage(null);
  } catch (error) {
    if (error.name === "AbortError") return;
    fill(body, problemBox(error));
    return;
  } finally {
    body.setAttribute("aria-busy", "false");
  }
  const list = h("ol", { class: "events" }, page.data.map(eventItem));
  const more = page.next_cursor ? loadMore("Load more events", async (button) => {
    try {
      page = await fetchPage(page.next_cursor);
    } catch (error) {
      if (error.name !== "AbortError") button.after(problemBox(error));
      return;
    }
    list.append(...page.data.map(eventItem));
    announce(`${page.data.length} more events`);
    if (!page.next_cursor) {
      button.remove();
      list.lastElementChild?.setAttribute("tabindex", "-1");
      list.lastElementChild?.focus();
    }
  }) : null;
  fill(body, page.data.length ? list : h("p", { class: "muted" }, "No events match."), more);
}

/** "Who holds what": which department holds which attribute, since when, in which record,
 * under which consents. Fetched when first opened. */
function footprintSection(id, signal) {
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
  const details = h("details", { class: "footprint" },
    h("summary", {}, h("h2", { id: "footprint-title" }, "Who holds what")), body);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    let found;
    try {
      found = await api(`/api/v1/customers/${seg(id)}/footprint`, { signal });
    } catch (error) {
      loaded = false;
      if (error.name !== "AbortError") fill(body, problemBox(error));
      return;
    }
    const held = found.departments.flatMap((department) => department.records.map((record) => ({ source: department.source, ...record })));
    const heads = held.map((record) => `${record.source} ${record.external_id}`);
    const rows = Object.keys(found.attributes).map((attribute) => [
      label(attribute),
      ...held.map((record) => record.attributes.includes(attribute) ? h("span", {}, "since ", when(record.since, { date: true })) : h("span", { class: "muted" }, "—")),
    ]);
    rows.push([
      "Consents",
      ...held.map((record) => {
        const entries = Object.entries(record.consents);
        return entries.length
          ? h("ul", { class: "values" }, entries.map(([purpose, consent]) => h("li", {}, `${label(purpose)}: `, h("span", { class: consent.granted ? "ok" : "bad" }, consent.granted ? "granted" : "withdrawn"))))
          : h("span", { class: "muted" }, "none recorded");
      }),
    ]);
    fill(body,
      h("p", { class: "hint" }, "Each department's record of this customer: the attributes it holds, since when, and the consents it carries."),
      table("Which department holds which attribute", ["Attribute", ...heads], rows, { class: "footprint-table" }));
  });
  return h("section", { "aria-labelledby": "footprint-title" }, details);
}

/** For a role that sees masked values: why they are masked, and a form to reveal them with a
 * reason (which the audit trail records). */
function revealSection(profile, signal, onRevealed) {
  const reason = h("input", { id: "reveal-reason", name: "reason", required: "", maxlength: "2000", autocomplete: "off" });
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "reveal", "aria-label": "Reveal this customer's values" },
    h("p", {}, "E-mails, phones, birth years and streets are masked for your role. Say why you need them to reveal them; the audit trail records it."),
    h("label", { for: "reveal-reason" }, "Reason for revealing"), " ", reason, " ",
    h("button", { type: "submit" }, "Reveal"), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const shown = await api(`/api/v1/customers/${seg(profile.id)}/reveal`, { method: "POST", body: { reason: reason.value, verbose: true }, signal });
      onRevealed(shown, reason.value);
    } catch (error) {
      if (error.name !== "AbortError") fill(message, problemBox(error));
    }
  });
  return h("section", { class: "notice", "aria-labelledby": "masked-title" }, h("h2", { id: "masked-title" }, "Masked values"), form);
}

/** The customer page. */
export async function render({ main, params: [id], signal, setTitle, session }) {
  const profile = await api(`/api/v1/customers/${seg(id)}?verbose=true`, { signal });
  let notice = null;
  if (profile.id !== id) {
    // The API answered 308 for a merged-away id; show the survivor's address from now on.
    history.replaceState(null, "", `/console/customers/${seg(profile.id)}${location.search}`);
    notice = h("p", { class: "notice", role: "status" }, `${id} was merged into ${profile.id}; this is the customer it became.`);
  }
  const name = customerName(profile.golden, profile.id);
  setTitle(name);
  const timeline = timelineSection(profile, signal);
  const footprint = footprintSection(profile.id, signal);
  const draw = (shown, privacy) => fill(main,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, name), h("p", { class: "muted" }, h("span", { class: "id" }, shown.id), " · known since ", when(shown.created_at, { date: true }))),
      h("nav", { class: "actions", "aria-label": "About this customer" },
        h("a", { href: `/console/customers/${seg(shown.id)}/explain` }, "Why these records belong together"),
        session.role === "admin" ? h("a", { href: `/console/customers/${seg(shown.id)}/history` }, "History, merge and split") : null,
        h("button", { type: "button", class: "quiet", onclick: () => saveFile(`${shown.id}.json`, JSON.stringify(shown, null, 2), "application/json") }, "Download profile (JSON)"))),
    notice,
    privacy,
    h("div", { class: "columns" }, goldenSection(shown), traitsSection(shown.traits)),
    recordsSection(shown),
    consentSection(shown.consents),
    footprint,
    timeline.section);
  const revealed = (shown, why) => {
    draw(shown, h("p", { class: "notice", role: "status" }, `Values revealed (${why}); the audit trail records it.`));
    announce("Values revealed");
  };
  draw(profile, profile.masked ? revealSection(profile, signal, revealed) : null);
  timeline.load();
}
