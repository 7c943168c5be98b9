// Sources: each department, its last syncs and rejects, and (admins) its controls. The page
// waits for the source list; runs follow per source.

import { api, query, seg } from "./api.js";
import { announce, fill, h, loadMore, problemBox, table, when } from "./ui.js";

const RUNNING = new Set(["queued", "running"]);
const muted = (tag, text) => h(tag, { class: "muted" }, text);
const btn = (attrs, ...kids) => h("button", { type: "button", ...attrs }, ...kids);
const COUNT_ORDER = ["created", "updated", "deleted", "unchanged", "rejected", "events", "identities_created", "merges", "splits"];
const COUNT_LABEL = { created: "new", identities_created: "new identities" };

function status(run) {
  if (!run) return muted("span", "never synced");
  return h("span", { class: `status status-${run.status}` }, run.status);
}

function counts(run) {
  if (!run?.counts) return "";
  return COUNT_ORDER.filter((key) => run.counts[key]).map((key) => `${run.counts[key]} ${COUNT_LABEL[key] || key}`).join(" · ") || "no changes";
}

function duration(run) {
  return run?.duration_seconds === null || run?.duration_seconds === undefined ? "" : ` in ${run.duration_seconds.toFixed(1)} s`;
}

function lastRunCell(run) {
  if (!run) return [status(null)];
  return [status(run), " ", when(run.started_at), duration(run),
    run.error ? h("div", { class: "bad" }, run.error) : null];
}

function runsTable(runs) {
  return table(null, ["Run", "Status", "Started", "Took", "Changes"], runs.map((run) => [
    `#${run.id}${run.full ? " (full)" : ""}`, status(run), when(run.started_at), duration(run).replace(" in ", ""),
    [counts(run), run.error ? h("div", { class: "bad" }, run.error) : null],
  ]));
}

function rejectsPanel(name, signal) {
  const body = h("div", {}, muted("p", "Loading…"));
  const panel = h("details", { class: "panel" }, h("summary", {}, "Rejects"), body);
  let loaded = false;
  panel.addEventListener("toggle", async () => {
    if (!panel.open || loaded) return;
    loaded = true;
    const fetchPage = (cursor) => api(`/api/v1/sources/${seg(name)}/rejects${query({ limit: 25, cursor })}`, { signal });
    try {
      let page = await fetchPage(null);
      if (!page.data.length) {
        fill(body, muted("p", "Nothing rejected: every record and event was ingested."));
        return;
      }
      const rows = (items) => items.map((item) => [item.position || "—", item.stream, item.reason, when(item.created_at)]);
      const wrap = table(`What ${name} sent that could not be ingested`, ["Where", "Stream", "Why", "When"], rows(page.data));
      const more = page.next_cursor ? loadMore("Load more rejects", async (button) => {
        page = await fetchPage(page.next_cursor);
        const tbody = wrap.querySelector("tbody");
        for (const cells of rows(page.data)) tbody.append(h("tr", {}, h("th", { scope: "row" }, cells[0]), cells.slice(1).map((cell) => h("td", {}, cell))));
        if (!page.next_cursor) button.remove();
      }) : null;
      fill(body, wrap, more);
    } catch (error) {
      if (error.name !== "AbortError") fill(body, problemBox(error));
    }
  });
  return panel;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); reject(new DOMException("aborted", "AbortError")); }, { once: true });
  });
}

// A removal answers the job the workers run: wait for it.
async function finished(job, signal) {
  while (RUNNING.has(job?.status)) {
    await sleep(500, signal);
    job = await api(`/api/v1/admin/jobs/${job.id}`, { signal });
  }
  if (job?.error) throw { problem: job.error };
}

function sourceRow(source, { admin, signal }) {
  const last = h("td", { class: "last-run" }, muted("span", admin ? "…" : "admins see syncs"));
  const changes = h("td", {});
  const history = h("div", {});
  const message = h("div", { class: "status-line", "aria-live": "polite" });
  const show = (runs) => {
    fill(last, lastRunCell(runs[0]));
    fill(changes, counts(runs[0]));
    fill(history, runs.length ? runsTable(runs) : muted("p", "No sync yet."));
  };
  const refresh = async () => {
    const page = await api(`/api/v1/sources/${seg(source.name)}/runs?limit=10`, { signal });
    show(page.data);
    return page.data;
  };
  const sync = async (full, button) => {
    const hold = (on) => { for (const each of button.parentElement.querySelectorAll("button")) each.disabled = on; };
    hold(true);
    fill(message, muted("span", `Starting a ${full ? "full " : ""}sync of ${source.name}…`));
    try {
      const run = await api(`/api/v1/sources/${seg(source.name)}/sync`, { method: "POST", body: { full }, signal });
      let latest = run;
      for (let waited = 0; RUNNING.has(latest.status) && waited < 600; waited += 1) {
        fill(message, muted("span", `Sync #${run.id} ${latest.status}…`));
        await sleep(1000, signal);
        latest = (await refresh()).find((each) => each.id === run.id) || latest;
      }
      await refresh();
      const text = `Sync #${run.id} of ${source.name} ${latest.status}${duration(latest)}: ${counts(latest)}`;
      fill(message, h("span", { class: latest.status === "succeeded" ? "ok" : "bad" }, text));
      announce(text);
    } catch (error) {
      if (error.name !== "AbortError") fill(message, problemBox(error));
    } finally {
      hold(false);
    }
  };
  // A push source has nothing to pull; a paused one waits to be resumed.
  const pulled = source.kind !== "push" && !source.paused;
  const actions = admin ? h("td", { class: "actions" },
    pulled ? btn({ "aria-label": `Sync ${source.name}`, onclick: (event) => sync(false, event.currentTarget) }, "Sync") : null,
    pulled ? btn({ class: "quiet", "aria-label": `Full sync of ${source.name}`, title: "read everything again, not only what changed", onclick: (event) => sync(true, event.currentTarget) }, "Full sync") : null,
    adminControls(source, signal, message), message) : null;
  const row = h("tr", { dataset: { source: source.name } },
    h("th", { scope: "row" }, source.name, source.paused ? h("span", { class: "chip shared" }, "paused") : null), h("td", {}, source.kind), h("td", {}, String(source.priority)), last, changes, actions);
  const details = admin ? h("div", { "aria-labelledby": `source-${source.name}` },
    h("h3", { id: `source-${source.name}` }, source.name),
    h("details", { class: "panel" }, h("summary", {}, "Recent syncs"), history),
    rejectsPanel(source.name, signal)) : null;
  return { row, details, refresh, last };
}

/** Pause or resume, edit the settings, remove. */
function adminControls(source, signal, message) {
  const { name, paused } = source;
  const base = `/api/v1/sources/${seg(name)}`;
  const act = async (request, done) => {
    try {
      await finished(await request(), signal);
      announce(done);
      navigateHere();
    } catch (error) {
      if (error.name !== "AbortError") fill(message, problemBox(error));
    }
  };
  const settings = h("textarea", { name: "settings", rows: 4, "aria-label": `Settings of ${name}` }, JSON.stringify(source.settings || {}, null, 1));
  const edit = h("form", { class: "decide", hidden: true }, settings,
    h("div", { class: "buttons" }, h("button", { type: "submit" }, `Save ${name}`)));
  edit.addEventListener("submit", (event) => {
    event.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(settings.value);
    } catch (error) {
      fill(message, h("p", { class: "bad", role: "alert" }, `Not JSON: ${error.message}`));
      return;
    }
    const gone = Object.keys(source.settings || {}).filter((key) => !(key in parsed));
    const body = { settings: { ...parsed, ...Object.fromEntries(gone.map((key) => [key, null])) } };
    act(() => api(base, { method: "PATCH", body, signal }), `${name} saved`);
  });
  const remove = btn({ class: "danger", hidden: true, onclick: () => act(() => api(base, { method: "DELETE", signal }), `${name} removed`) },
    `Remove ${name} and its records`);
  return h("span", { class: "source-admin" },
    btn({ class: "quiet", onclick: () => act(() => api(`${base}/${paused ? "resume" : "pause"}`, { method: "POST", signal }), `${name} ${paused ? "resumed" : "paused"}`) },
      paused ? `Resume ${name}` : `Pause ${name}`),
    btn({ class: "quiet", onclick: () => { edit.hidden = !edit.hidden; } }, "Settings…"),
    btn({ class: "quiet", onclick: () => { remove.hidden = !remove.hidden; } }, "Remove…"),
    remove, edit);
}

let navigateHere = () => {};

function genericValuesPanel(signal) {
  const body = h("div", {}, muted("p", "Loading…"));
  const panel = h("details", { class: "panel" }, h("summary", {}, "Values too common to match on"), body);
  panel.addEventListener("toggle", async () => {
    if (!panel.open) return;
    try {
      const generic = await api("/api/v1/admin/generic-values", { signal });
      fill(body,
        h("p", { class: "hint" }, `A blocking value shared by more than ${generic.cap} records (a shared office phone, test@example.com) finds no candidates.`),
        generic.data.length
          ? table("Generic values", ["Value", "Records"], generic.data.map((item) => [item.key, String(item.records)]))
          : muted("p", "None."));
    } catch (error) {
      if (error.name !== "AbortError") fill(body, problemBox(error));
    }
  });
  return h("section", { class: "card", "aria-labelledby": "generic-title" }, h("h2", { id: "generic-title" }, "Matching"), panel);
}

/** Every source, page after page (the list is cursor-paged like every list). */
async function allSources(signal) {
  const sources = [];
  let cursor = null;
  do {
    const page = await api(`/api/v1/sources${query({ limit: 200, cursor })}`, { signal });
    sources.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return sources;
}

/** The sources page. */
export async function render({ main, signal, setTitle, session, navigate }) {
  const admin = session.role === "admin";
  navigateHere = () => navigate(location.pathname, { replace: true });
  const data = await allSources(signal);
  setTitle("Sources");
  const rows = data.map((source) => sourceRow(source, { admin, signal }));
  const headers = ["Source", "Kind", "Priority", "Last sync", "Changes"].concat(admin ? ["Actions"] : []);
  fill(main,
    h("h1", {}, "Sources"),
    h("p", { class: "hint" }, admin ? "Every connected department system. Sync pulls what changed since the last sync; a full sync reads everything again." : "Every connected department system."),
    data.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "sources" },
        h("caption", { class: "visually-hidden" }, "Sources"),
        h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
        h("tbody", {}, rows.map((each) => each.row))))
      : h("p", {}, "No source is connected yet (", h("code", {}, "huella source add"), ")."),
    admin && rows.length ? h("section", { class: "card", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "History and rejects"),
      h("div", { class: "source-panels" }, rows.map((each) => each.details))) : null,
    admin ? genericValuesPanel(signal) : null);
  if (!admin) return;
  // The runs fill in after the list is on screen, one request per source, in parallel.
  for (const each of rows) {
    each.refresh().catch((error) => {
      if (error.name !== "AbortError") fill(each.last, problemBox(error));
    });
  }
}
