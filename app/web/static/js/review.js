// Admins' review: the queue, one item side by side with its decision, and an identity's history
// with undo, manual merge and split.

import { api, query, seg } from "./api.js";
import { contributionsTable, edgeSection } from "./explain.js";
import { announce, fill, h, label, loadMore, percent, problemBox, recordsTable, saveFile, show, table, when } from "./ui.js";

const plural = (n) => (n === 1 ? "" : "s");
const KINDS = { possible_match: "Possible match", conflict: "Conflict", generic_value: "Generic value" };
const DECISIONS = [["merge", "Merge", "must-link: one person from now on"], ["keep_apart", "Keep apart", "cannot-link: never merged again"], ["dismiss", "Dismiss", "no decision about the pair"]];
const customerLink = (id) => (id ? h("a", { href: `/console/customers/${seg(id)}` }, h("span", { class: "id" }, id)) : h("span", { class: "muted" }, "—"));

/** One side of an item: who (name, e-mail), which department, the record and its customer. */
function recordCell(side) {
  if (!side) return "—";
  return h("div", { class: "who" },
    h("strong", {}, side.name || "(no name)"), side.email ? h("div", {}, side.email) : null,
    h("div", { class: "muted" }, h("span", { class: "department" }, side.source), " · ", h("code", {}, side.reference), side.live ? null : h("span", { class: "bad" }, " (deleted)")),
    customerLink(side.identity));
}

function select(id, text, options, value) {
  return h("div", { class: "field" }, h("label", { for: id }, text),
    h("select", { id, name: id }, options.map(([optionValue, optionText]) => h("option", { value: optionValue, selected: optionValue === value }, optionText))));
}

/** The queue, most consequential first, with filters in the address; recent changes below. */
export async function renderQueue({ main, url, signal, setTitle, navigate }) {
  const params = url.searchParams;
  const filters = { kind: params.get("kind") || "", source: params.get("source") || "", status: params.get("status") || "open" };
  const fetchPage = (cursor) => api(`/api/v1/review/items${query({ ...filters, limit: 25, cursor })}`, { signal });
  let page = await fetchPage(null);
  setTitle("Review");
  const form = h("form", { class: "queue-filters", "aria-label": "Filter the queue" },
    select("kind", "Kind", [["", "Any"], ...Object.entries(KINDS)], filters.kind),
    select("status", "Status", [["open", "Open"], ["decided", "Decided"], ["obsolete", "Obsolete"]], filters.status),
    h("div", { class: "field" }, h("label", { for: "source" }, "Department"), h("input", { id: "source", name: "source", value: filters.source, size: 12 })),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams([...new FormData(form)].filter(([, value]) => String(value).trim()));
    navigate(`/console/review${next.toString() ? `?${next}` : ""}`);
  });
  const rows = (items) => items.map((item) => [
    item.status === "open" && item.kind !== "generic_value"
      ? h("input", { type: "checkbox", name: "item", value: item.id, "aria-label": `Select item ${item.id}` }) : "",
    h("a", { href: `/console/review/${item.id}` }, `${KINDS[item.kind] || item.kind} #${item.id}`),
    item.kind === "generic_value" ? h("code", {}, item.detail?.key) : recordCell(item.left),
    item.kind === "generic_value" ? `${item.detail?.records ?? "?"} records` : recordCell(item.right),
    item.probability === null ? "—" : percent(item.probability, 1),
    item.priority === null ? "—" : item.priority.toFixed(2),
    item.claimed_by ? h("span", { class: "warn" }, item.claimed_by) : h("span", { class: "muted" }, "—"),
    [item.status, item.decision ? ` (${label(item.decision)})` : "", item.detail?.closed ? h("div", { class: "hint" }, item.detail.closed) : null],
  ]);
  const wrap = table("Review items", ["", "Item", "One side", "Other side", "Probability", "Priority", "Claimed by", "Status"], rows(page.data));
  const more = page.next_cursor ? loadMore("Load more items", async (button) => {
    page = await fetchPage(page.next_cursor);
    const body = wrap.querySelector("tbody");
    for (const cells of rows(page.data)) body.append(h("tr", {}, h("th", { scope: "row" }, cells[0]), cells.slice(1).map((cell) => h("td", {}, cell))));
    if (!page.next_cursor) button.remove();
  }) : null;
  const recent = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const notice = queueNotice;
  queueNotice = null;
  fill(main,
    h("h1", {}, "Review queue"),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    h("p", { class: "hint" }, "What the matcher is unsure about, the decisions that matter most first (closeness to the threshold, size of the identities)."),
    form,
    page.data.length ? [bulkForm(wrap, signal, () => navigate(location.pathname + location.search)), wrap, more] : h("p", {}, "Nothing to review with these filters."),
    h("section", { "aria-labelledby": "recent-title" }, h("h2", { id: "recent-title" }, "Recent merges, splits and decisions"),
      h("button", { type: "button", class: "quiet", onclick: async () => saveFile("audit.csv", await api("/api/v1/audit/export", { signal }), "text/csv") }, "Download the audit (CSV)"), recent));
  // New records' identities (create, attach) would drown the merges, splits and decisions.
  api("/api/v1/audit?limit=100", { signal }).then((audit) => {
    fill(recent, changeList(audit.data.filter((entry) => !["create", "attach"].includes(entry.action)).slice(0, 10), signal));
  }).catch((error) => {
    if (error.name !== "AbortError") fill(recent, problemBox(error));
  });
}

let queueNotice = null; // what the last bulk decision did, shown above the queue

/** Decide the selected items the same way, with one note. */
function bulkForm(wrap, signal, redraw) {
  const count = h("span", {}, "No item selected.");
  const result = h("div", { "aria-live": "polite" });
  const selected = () => [...wrap.querySelectorAll("input[name=item]:checked")].map((box) => Number(box.value));
  const form = h("form", { class: "decide", "aria-label": "Decide the selected items" },
    h("p", {}, count),
    noteField("bulk-note", "One note for every selected item"),
    h("div", { class: "buttons" }, DECISIONS.map(([value, text]) => h("button", { type: "submit", value, class: value === "keep_apart" ? null : "quiet", disabled: true }, text))),
    result);
  const update = () => {
    const n = selected().length;
    count.textContent = n ? `${n} item${plural(n)} selected.` : "No item selected.";
    for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = !n;
  };
  wrap.addEventListener("change", update);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter?.value;
    const items = selected();
    try {
      const outcome = await api("/api/v1/review/decisions", { method: "POST", body: { items, decision, note: form.note.value }, signal });
      const n = outcome.decided.length;
      announce(`${n} decided`);
      queueNotice = [`${label(decision)}: ${n} item${plural(n)} decided.`,
        outcome.refused.map((refusal) => h("div", { class: "warn" }, `Item ${refusal.item} not decided: ${refusal.detail}`))];
      redraw();
    } catch (error) {
      if (error.name !== "AbortError") fill(result, problemBox(error));
    }
  });
  return form;
}

function membersText(members) {
  return Object.entries(members || {}).map(([id, references]) => `${id} (${references.length} record${plural(references.length)})`).join(", ");
}

/** Audit entries, each with what it changed and, when it can be undone, an Undo button. */
function changeList(entries, signal) {
  if (!entries.length) return h("p", { class: "muted" }, "No change yet.");
  return h("ol", { class: "changes" }, entries.map((entry) => changeItem(entry, signal)));
}

function changeItem(entry, signal) {
  const undoable = ["merge", "split", "keep_apart", "dismiss"].includes(entry.action) && !entry.undone_by;
  const before = membersText(entry.before?.members);
  const after = membersText(entry.after?.members);
  const item = h("li", { class: "change" },
    h("div", {}, when(entry.at), " ", h("strong", {}, label(entry.action)), ` by ${entry.actor}`, entry.reason ? h("span", {}, ` — “${entry.reason}”`) : null,
      entry.undone_by ? h("span", { class: "muted" }, ` (undone by change #${entry.undone_by})`) : null),
    before || after ? h("div", { class: "hint" }, before ? `Before: ${before}. ` : "", after ? `After: ${after}.` : "")
      : h("div", { class: "hint" }, (entry.identities || []).join(", ")),
    undoable ? undoForm(entry, signal) : null);
  return item;
}

function noteField(id, text = "Note (kept in the audit trail)") {
  return [h("label", { for: id }, text), h("textarea", { id, name: "note", maxlength: 2000, rows: 2 })];
}

function undoForm(entry, signal) {
  const id = `undo-note-${entry.id}`;
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "decide", hidden: true }, noteField(id, `Why undo change #${entry.id}?`),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "danger" }, `Undo change #${entry.id}`), h("button", { type: "button", class: "quiet", onclick: () => { form.hidden = true; open.hidden = false; open.focus(); } }, "Cancel")));
  const open = h("button", { type: "button", class: "quiet" }, "Undo…");
  open.addEventListener("click", () => { open.hidden = true; form.hidden = false; form.querySelector("textarea").focus(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const change = await api("/api/v1/review/undos", { method: "POST", body: { change: entry.id, note: form.note.value }, signal });
      form.hidden = true;
      fill(result, h("p", { class: "ok" }, `Undone (change #${change.id}): now ${membersText(change.after?.members) || (change.identities || []).join(", ")}.`));
      announce(`Change #${entry.id} undone`);
    } catch (error) {
      if (error.name !== "AbortError") fill(result, problemBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return h("div", {}, open, form, result);
}

function goldenPreview(golden) {
  const rows = Object.entries(golden || {}).map(([name, chosen]) => {
    const entries = Array.isArray(chosen) ? chosen : [chosen];
    return [label(name), entries.map((entry) => h("div", {}, show(entry.value))), entries.map((entry) => h("div", {}, `${entry.source} ${entry.external_id} · ${entry.rule.replaceAll("_", " ")}`))];
  });
  return table("The merged golden record", ["Attribute", "Value", "From · rule"], rows);
}

function previewSection(preview) {
  if (!preview) return null;
  return h("section", { "aria-labelledby": "preview-title" },
    h("h2", { id: "preview-title" }, "If merged (dry run)"),
    h("p", {}, `${preview.identities.join(" + ")} become `, customerLink(preview.survivor), `, holding ${preview.records.length} records: `,
      preview.records.map((reference, index) => [index ? ", " : "", h("code", {}, reference)]), "."),
    preview.golden ? goldenPreview(preview.golden) : null);
}

function sideSection(title, side) {
  if (!side) return null;
  const columns = side.identity_records.map((record) => {
    const [source, ...rest] = record.reference.split(":");
    return { source, id: rest.join(":"), attributes: record.attributes };
  });
  return h("section", { "aria-label": title },
    h("h3", {}, title, ": ", customerLink(side.identity), side.live ? "" : " (record deleted)"),
    h("p", { class: "hint" }, `The record `, h("code", {}, side.reference), `; its identity holds ${columns.length} record${plural(columns.length)}.`),
    columns.length ? recordsTable(columns, `${title}: the identity's records`) : null);
}

function sidesSection({ left, right }) {
  if (!left && !right) return null;
  if (left?.identity && left.identity === right?.identity) {
    return h("div", {}, sideSection("Both records, one customer", left));
  }
  return h("div", { class: "sides" }, sideSection("One side", left), sideSection("Other side", right));
}

function claimControls(item, signal, refresh) {
  if (item.status !== "open") return null;
  const status = h("span", {}, item.claimed_by ? [`Claimed by ${item.claimed_by} until `, when(item.claim_expires_at)] : "Not claimed.");
  const act = async (method) => {
    try {
      await api(`/api/v1/review/items/${item.id}/claim`, { method, signal });
      await refresh();
    } catch (error) {
      if (error.name !== "AbortError") status.after(problemBox(error));
    }
  };
  return h("p", { class: "actions" }, status,
    h("button", { type: "button", class: "quiet", onclick: () => act("POST") }, item.claimed_by ? "Renew claim" : "Claim"),
    item.claimed_by ? h("button", { type: "button", class: "quiet", onclick: () => act("DELETE") }, "Release") : null);
}

function decisionForm(item, signal, refresh) {
  const result = h("div", { "aria-live": "polite" });
  const allowed = item.kind === "generic_value" ? DECISIONS.filter(([value]) => value === "dismiss") : DECISIONS;
  const form = h("form", { class: "decide", "aria-labelledby": "decide-title" },
    h("h2", { id: "decide-title" }, "Decide"),
    noteField("decision-note"),
    h("div", { class: "buttons" }, allowed.map(([value, text, hint]) =>
      h("button", { type: "submit", name: "decision", value, title: hint, class: value === "merge" ? null : "quiet" }, text))),
    h("p", { class: "hint" }, allowed.map(([, text, hint]) => `${text}: ${hint}.`).join(" ")),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter?.value;
    const buttons = form.querySelectorAll("button");
    for (const button of buttons) button.disabled = true;
    try {
      const outcome = await api(`/api/v1/review/items/${item.id}/decision`, { method: "POST", body: { decision, note: form.note.value }, signal });
      announce(`Item ${item.id}: ${label(decision)}`);
      await refresh(`Item #${item.id}: ${label(decision)} (change #${outcome.change.id}).`);
    } catch (error) {
      if (error.name === "AbortError") return;
      fill(result, problemBox(error));
      for (const button of buttons) button.disabled = false;
    }
  });
  return form;
}

function decidedSection(item, signal) {
  const undo = item.change ? h("div", {}) : null;
  if (undo) {
    api(`/api/v1/audit/${item.change}`, { signal }).then((entry) => fill(undo, changeList([entry], signal))).catch((error) => {
      if (error.name !== "AbortError") fill(undo, problemBox(error));
    });
  }
  return h("section", { "aria-labelledby": "decided-title" },
    h("h2", { id: "decided-title" }, "Decision"),
    h("p", {}, item.decision ? [h("strong", {}, label(item.decision)), ` by ${item.decided_by} on `, when(item.decided_at)] : `This item is ${item.status}.`),
    undo);
}

let itemNotice = null; // what the decision just made did, shown on the next item

/** Open the item after this one in the queue (or before it); the queue when none is left. */
async function openNext(item, { navigate, signal, backwards = false }) {
  const { item: next } = await api(`/api/v1/review/items/next${query({ after: item.id, backwards: backwards || null })}`, { signal });
  if (next) navigate(`/console/review/${next.id}`);
  else if (backwards) announce("The first item");
  else {
    queueNotice = [itemNotice || "", " Nothing left to review."];
    itemNotice = null;
    navigate("/console/review");
  }
}

// Keys for the common moves (never while typing in a field).
const KEYS = { j: "next", n: "next", k: "previous", p: "previous", m: "merge", a: "keep_apart" };

function keyHandler(item, context) {
  return (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest?.("input, textarea, select")) return;
    const move = KEYS[event.key];
    if (!move) return;
    event.preventDefault();
    if (move === "next" || move === "previous") {
      openNext(item, { ...context, backwards: move === "previous" }).catch((error) => {
        if (error.name !== "AbortError") announce(error.message);
      });
      return;
    }
    const button = document.querySelector(`form.decide button[name=decision][value=${move}]`);
    if (button && !button.disabled) button.form.requestSubmit(button);
  };
}

/** One item side by side: the pair's attributes with level and weight, both identities, the
 * evidence, a dry run of the merge, and the decision; after it, the next item opens. */
export async function renderItem({ main, params: [id], signal, setTitle, navigate }) {
  const draw = async (message) => {
    const comparison = await api(`/api/v1/review/items/${seg(id)}`, { signal });
    const { item, score } = comparison;
    const title = `${KINDS[item.kind] || item.kind} #${item.id}`;
    const decided = async (text) => {
      itemNotice = text;
      await openNext(item, { navigate, signal });
    };
    setTitle(title);
    fill(main,
      h("div", { class: "page-head" },
        h("div", {}, h("h1", {}, title), h("p", { class: "muted" }, `${item.status}`, item.priority === null ? "" : ` · priority ${item.priority.toFixed(2)}`, " · opened ", when(item.created_at))),
        h("nav", { class: "actions", "aria-label": "Review" },
          h("button", { type: "button", class: "quiet", onclick: () => openNext(item, { navigate, signal, backwards: true }) }, "← Previous"),
          h("button", { type: "button", class: "quiet", onclick: () => openNext(item, { navigate, signal }) }, "Next →"),
          h("a", { href: "/console/review" }, "Back to the queue"))),
      message ? h("p", { class: "notice", role: "status", tabindex: "-1" }, message) : null,
      h("p", { class: "hint" }, "Keys: j next · k previous · m merge · a keep apart"),
      claimControls(item, signal, () => draw()),
      score ? h("section", { "aria-labelledby": "score-title" },
        h("h2", { id: "score-title" }, "How the pair compares"),
        h("p", {}, h("strong", {}, `match weight ${score.weight.toFixed(1)}`), ` · probability ${percent(score.probability, 1)} · verdict: ${score.verdict}`, score.stored ? "" : " (scored now: no stored edge)"),
        contributionsTable(score.contributions || [], "Each attribute's level and weight")) : null,
      sidesSection(comparison),
      item.kind === "generic_value" ? h("section", {}, h("h2", {}, "Records holding ", h("code", {}, item.detail?.key)),
        table("Holders", ["Record", "Customer"], (comparison.holders || []).map((holder) => [h("code", {}, holder.reference), customerLink(holder.identity)]))) : null,
      previewSection(comparison.preview),
      item.status === "open" ? decisionForm(item, signal, decided) : decidedSection(item, signal),
      comparison.edges?.length ? h("section", { "aria-labelledby": "edges-title" }, h("h2", { id: "edges-title" }, "Evidence among these records"), comparison.edges.map(edgeSection)) : null);
    main.querySelector(".notice")?.focus();
    return item;
  };
  const message = itemNotice;
  itemNotice = null;
  const item = await draw(message);
  document.addEventListener("keydown", keyHandler(item, { navigate, signal }), { signal });
}

function mergeTool(id, signal) {
  const other = h("input", { id: "merge-with", name: "other", required: true, spellcheck: "false", placeholder: "cus_…" });
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "decide" },
    h("label", { for: "merge-with" }, "Merge with customer"), other, noteField("merge-note"),
    h("div", { class: "buttons" }, h("button", { type: "submit", value: "preview", class: "quiet" }, "Preview"), h("button", { type: "submit", value: "merge" }, "Merge")), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const dry = event.submitter?.value === "preview";
    const body = { identities: [id, other.value.trim()], note: form.note.value };
    try {
      if (dry) fill(result, previewSection(await api("/api/v1/review/merges/preview", { method: "POST", body, signal })));
      else {
        const change = await api("/api/v1/review/merges", { method: "POST", body, signal });
        fill(result, h("p", { class: "ok" }, `Merged (change #${change.id}): `, customerLink(change.after?.identity || change.identities?.[0]), "."));
      }
    } catch (error) {
      if (error.name !== "AbortError") fill(result, problemBox(error));
    }
  });
  return h("section", { "aria-labelledby": "merge-title" }, h("h2", { id: "merge-title" }, "Merge"), h("p", { class: "hint" }, "The oldest id survives; the other redirects to it and they stay one."), form);
}

function splitTool(id, references, signal) {
  const parts = Math.max(2, Math.min(references.length, 4));
  const choices = references.map((reference, index) => h("tr", {},
    h("th", { scope: "row" }, h("code", {}, reference)),
    h("td", {}, h("select", { name: `part-${index}`, "aria-label": `Part of ${reference}` },
      Array.from({ length: parts }, (_, part) => h("option", { value: part, selected: part === 0 }, `Part ${part + 1}`))))));
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "decide" },
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Record"), h("th", { scope: "col" }, "Goes to"))), h("tbody", {}, choices))),
    noteField("split-note"),
    h("div", { class: "buttons" }, h("button", { type: "submit", value: "preview", class: "quiet" }, "Preview"), h("button", { type: "submit", value: "split", class: "danger" }, "Split")), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const groups = Array.from({ length: parts }, () => []);
    references.forEach((reference, index) => groups[Number(form[`part-${index}`].value)].push(reference));
    const body = { identity: id, parts: groups.filter((group) => group.length), note: form.note.value };
    try {
      if (event.submitter?.value === "preview") {
        const preview = await api("/api/v1/review/splits/preview", { method: "POST", body, signal });
        fill(result, h("ul", {}, preview.parts.map((part) => h("li", {}, part.identity ? ["keeps ", customerLink(part.identity)] : "a new customer", ": ", part.records.join(", ")))));
      } else {
        const change = await api("/api/v1/review/splits", { method: "POST", body, signal });
        fill(result, h("p", { class: "ok" }, `Split (change #${change.id}): ${membersText(change.after?.members) || change.identities.join(", ")}.`));
      }
    } catch (error) {
      if (error.name !== "AbortError") fill(result, problemBox(error));
    }
  });
  return h("section", { "aria-labelledby": "split-title" }, h("h2", { id: "split-title" }, "Split"),
    h("p", { class: "hint" }, "Choose where each record goes; the largest part keeps the id and the parts stay apart."),
    references.length > 1 ? form : h("p", { class: "muted" }, "A single record cannot be split."));
}

/** An identity's story (newest first) with undo, and the manual merge and split tools. */
export async function renderHistory({ main, params: [id], signal, setTitle }) {
  const fetchPage = (cursor) => api(`/api/v1/identities/${seg(id)}/history${query({ limit: 25, cursor })}`, { signal });
  let page = await fetchPage(null);
  setTitle(`History of ${page.identity}`);
  const list = changeList(page.data, signal);
  const more = page.next_cursor ? loadMore("Load more changes", async (button) => {
    page = await fetchPage(page.next_cursor);
    list.append(...page.data.map((entry) => changeItem(entry, signal)));
    if (!page.next_cursor) button.remove();
  }) : null;
  const tools = h("div", {}, h("p", { class: "muted" }, "Loading the records…"));
  fill(main,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "History, merge and split"), h("p", { class: "muted" }, customerLink(page.identity), page.merged?.length ? ` · merged into it: ${page.merged.join(", ")}` : "")),
      h("nav", { class: "actions", "aria-label": "About this customer" }, h("a", { href: `/console/customers/${seg(page.identity)}` }, "Back to the profile"))),
    h("section", { "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "What happened, newest first"), list, more),
    tools);
  api(`/api/v1/customers/${seg(page.identity)}`, { signal }).then((profile) => {
    const references = Object.entries(profile.records || {}).flatMap(([source, records]) => records.map((record) => `${source}:${record.external_id}`));
    fill(tools, h("div", { class: "sides" }, mergeTool(page.identity, signal), splitTool(page.identity, references, signal)));
  }).catch((error) => {
    if (error.name !== "AbortError") fill(tools, problemBox(error));
  });
}
