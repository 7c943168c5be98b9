// Why these records belong together: the identity's records and the scored edges between them,
// each attribute's comparison level and the weight it added to (or took from) the match.

import { api, seg } from "./api.js";
import { bar, fill, h, label, percent, recordsTable } from "./ui.js";

/** Contributions as a table: attribute, both values, level, weight; "missing" ones summed up. */
export function contributionsTable(contributions, caption) {
  const compared = contributions.filter((item) => item.level !== "missing");
  const missing = contributions.filter((item) => item.level === "missing");
  const largest = Math.max(1, ...compared.map((item) => Math.abs(item.weight)));
  return [
    h("div", { class: "table-wrap" }, h("table", { class: "contributions" },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ["Attribute", "One side", "Other side", "Level", "Weight"].map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, compared.map((item) => h("tr", {},
        h("th", { scope: "row" }, label(item.attribute)),
        h("td", {}, item.left ?? "—"),
        h("td", {}, item.right ?? "—"),
        h("td", {}, h("span", { class: `level level-${item.level.replace(/[^a-z_]/g, "")}`, title: item.level }, item.described || item.level)),
        h("td", { class: "weight" }, bar(Math.abs(item.weight) / largest, `${item.weight >= 0 ? "+" : ""}${item.weight.toFixed(1)}`, item.weight >= 0 ? "for" : "against"))))))),
    missing.length ? h("p", { class: "hint" }, "Not compared (missing on a side): ", missing.map((item) => label(item.attribute)).join(", "), ".") : null,
  ];
}

/** One scored edge: the pair, its weight and probability, and how each attribute scored. */
export function edgeSection(edge, index) {
  const id = `edge-${index}`;
  return h("section", { class: "edge card", "aria-labelledby": id },
    h("h3", { id }, h("code", {}, edge.left), " ↔ ", h("code", {}, edge.right)),
    h("p", {},
      h("strong", {}, `match weight ${edge.weight.toFixed(1)}`), ` · probability ${percent(edge.probability, 2)} · `,
      edge.joins ? h("span", { class: "ok" }, "joins them (at or above the auto-match threshold)") : h("span", { class: "warn" }, "below the auto-match threshold")),
    contributionsTable(edge.contributions || [], `How each attribute scored between ${edge.left} and ${edge.right}`));
}

/** The explain page. */
export async function render({ main, params: [id], signal, setTitle }) {
  const explanation = await api(`/api/v1/identities/${seg(id)}/explain`, { signal });
  setTitle(`Why: ${explanation.identity}`);
  const columns = explanation.records.map((record) => {
    const [source, ...rest] = record.reference.split(":");
    return { source, id: rest.join(":"), attributes: record.attributes };
  }).sort((a, b) => a.source.localeCompare(b.source));
  const edges = [...explanation.edges].sort((a, b) => b.weight - a.weight);
  fill(main,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Why these records belong together"), h("p", { class: "muted id" }, explanation.identity)),
      h("nav", { class: "actions", "aria-label": "About this customer" }, h("a", { href: `/console/customers/${seg(explanation.identity)}` }, "Back to the profile"))),
    h("section", { "aria-labelledby": "explain-records" },
      h("h2", { id: "explain-records" }, `${columns.length} record${columns.length === 1 ? "" : "s"}`),
      recordsTable(columns, "The identity's records")),
    h("section", { "aria-labelledby": "explain-edges" },
      h("h2", { id: "explain-edges" }, "The evidence"),
      edges.length
        ? [h("p", { class: "hint" }, "Each pair of records the matcher compared, strongest first. Weights add up: agreement pushes the score up, disagreement down."),
          edges.map(edgeSection)]
        : h("p", {}, columns.length > 1 ? "No stored edges: these records were joined by a decision or a shared identifier." : "A single record: nothing to explain.")));
}
