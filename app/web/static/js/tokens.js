// Admins' tokens: list, create (the secret shown once), revoke.

import { api, query, seg } from "./api.js";
import { announce, fill, h, loadMore, problemBox, table, when } from "./ui.js";

const ROLES = [["agent", "Agent"], ["admin", "Admin"], ["connector", "Connector (one source)"]];

function field(id, text, control) {
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}

function createForm(signal, redraw) {
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "decide", "aria-labelledby": "new-token-title" },
    h("h2", { id: "new-token-title" }, "New token"),
    field("token-name", "Name", h("input", { id: "token-name", name: "name", required: true, maxlength: 200 })),
    field("token-role", "Role", h("select", { id: "token-role", name: "role" }, ROLES.map(([value, text]) => h("option", { value }, text)))),
    field("token-source", "Source (connectors)", h("input", { id: "token-source", name: "source" })),
    field("token-expiry", "Expires in (90d, 12h, never)", h("input", { id: "token-expiry", name: "expires_in", size: 8 })),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, "Create token")),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = Object.fromEntries([...new FormData(form)].map(([key, value]) => [key, String(value).trim() || null]));
    try {
      const created = await api("/api/v1/tokens", { method: "POST", body, signal });
      form.reset();
      await redraw();
      fill(result, h("div", { class: "notice", role: "status" },
        h("p", {}, `${created.token.name} created. Copy its secret now: it is shown once.`),
        h("code", { class: "secret" }, created.secret)));
      announce("Token created");
    } catch (error) {
      if (error.name !== "AbortError") fill(result, problemBox(error));
    }
  });
  return form;
}

function revokeButton(token, signal, redraw) {
  if (token.state !== "active") return "";
  return h("button", { type: "button", class: "danger", "aria-label": `Revoke ${token.name}`, onclick: async (event) => {
    event.currentTarget.disabled = true;
    try {
      await api(`/api/v1/tokens/${seg(String(token.id))}`, { method: "DELETE", signal });
      announce(`${token.name} revoked`);
      await redraw();
    } catch (error) {
      if (error.name !== "AbortError") event.target.after(problemBox(error));
    }
  } }, "Revoke");
}

/** The tokens page. */
export async function render({ main, signal, setTitle }) {
  const list = h("div", {});
  const draw = async () => {
    const fetchPage = (cursor) => api(`/api/v1/tokens${query({ limit: 50, cursor })}`, { signal });
    let page = await fetchPage(null);
    const rows = (items) => items.map((token) => [token.name, token.role + (token.source ? ` (${token.source})` : ""),
      h("span", { class: `status status-${token.state}` }, token.state), when(token.last_used_at), when(token.expires_at), revokeButton(token, signal, draw)]);
    const wrap = table("Tokens", ["Name", "Role", "State", "Last used", "Expires", ""], rows(page.data));
    const more = page.next_cursor ? loadMore("Load more tokens", async (button) => {
      page = await fetchPage(page.next_cursor);
      const body = wrap.querySelector("tbody");
      for (const cells of rows(page.data)) body.append(h("tr", {}, h("th", { scope: "row" }, cells[0]), cells.slice(1).map((cell) => h("td", {}, cell))));
      if (!page.next_cursor) button.remove();
    }) : null;
    fill(list, wrap, more);
  };
  await draw();
  setTitle("Tokens");
  fill(main, h("h1", {}, "Tokens"),
    h("p", { class: "hint" }, "A token's secret is shown once, when it is created; only its hash is kept."),
    list, createForm(signal, draw));
}
