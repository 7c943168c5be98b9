// The console's entry point: sign-in, the header, and a router that draws a page per address.

import { api, ApiError, currentSession, forgetSession, saveSession, whenUnauthorized } from "./api.js";
import { fill, h, problemBox } from "./ui.js";
import * as search from "./search.js";
import * as customer from "./customer.js";
import * as explain from "./explain.js";
import * as sources from "./sources.js";
import * as review from "./review.js";
import * as tokens from "./tokens.js";

const main = document.getElementById("main");

// [pattern, page, roles allowed (none: any signed-in role)]
const ROUTES = [
  [/^\/(console\/?)?$/, search.render],
  [/^\/console\/customers\/([^/]+)$/, customer.render],
  [/^\/console\/customers\/([^/]+)\/explain$/, explain.render],
  [/^\/console\/sources$/, sources.render],
  [/^\/console\/tokens$/, tokens.render, ["admin"]],
  [/^\/console\/review$/, review.renderQueue, ["admin"]],
  [/^\/console\/review\/(\d+)$/, review.renderItem, ["admin"]],
  [/^\/console\/customers\/([^/]+)\/history$/, review.renderHistory, ["admin"]],
];

let current = null; // the AbortController of the page on screen
let signInNotice = null;

/** Go to a console address, as a link would. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

function setTitle(text) {
  document.title = text ? `${text} · Huella` : "Huella";
}

function showHeader(session) {
  document.getElementById("nav").hidden = !session;
  document.getElementById("who").hidden = !session;
  if (!session) return;
  document.getElementById("who-name").textContent = `${session.name} (${session.role})`;
  for (const item of document.querySelectorAll("[data-role]")) {
    item.hidden = item.dataset.role !== session.role;
  }
  for (const link of document.querySelectorAll("#nav a")) {
    const path = new URL(link.href).pathname;
    const here = location.pathname === path || (path !== "/" && location.pathname.startsWith(path));
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function renderSignIn() {
  showHeader(null);
  setTitle("Sign in");
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const status = h("div", { class: "status" });
  const form = h("form", { class: "card narrow", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    signInNotice ? h("p", { class: "notice", role: "status" }, signInNotice) : null,
    h("label", { for: "token" }, "API token"),
    input,
    h("p", { class: "hint" }, "An agent or admin token, as ", h("code", {}, "huella token create"), " or ", h("code", {}, "make run"),
      " printed it. It is kept in this tab only and forgotten when you sign out or close the tab."),
    h("button", { type: "submit" }, "Sign in"),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    fill(status, h("p", { class: "muted" }, "Checking the token…"));
    try {
      const me = await api("/api/v1/me", { token });
      if (me.role === "connector") {
        throw new ApiError(403, { title: "Not a console token", detail: "this token lets a department's system push data; sign in with an agent or admin token" });
      }
      saveSession({ token, name: me.name, role: me.role });
      signInNotice = null;
      route();
    } catch (error) {
      fill(status, problemBox(error));
      input.focus();
    }
  });
  fill(main, form);
  input.focus();
}

function notFound() {
  setTitle("Not found");
  fill(main, h("h1", {}, "Page not found"), h("p", {}, "Nothing lives at this address. ", h("a", { href: "/" }, "Search for a customer"), "."));
}

function forbidden() {
  setTitle("Not allowed");
  fill(main, h("h1", {}, "Admins only"), h("p", {}, "This page is for admins; your token is an agent's."));
}

/** Draw the page for the current address. */
export async function route() {
  current?.abort();
  const session = currentSession();
  if (!session) {
    renderSignIn();
    return;
  }
  showHeader(session);
  const controller = new AbortController();
  current = controller;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const found = ROUTES.map(([pattern, page, roles]) => [pattern.exec(path), page, roles]).find(([match]) => match);
  if (!found) return notFound();
  const [match, page, roles] = found;
  if (roles && !roles.includes(session.role)) return forbidden();
  fill(main, h("p", { class: "muted loading" }, "Loading…"));
  try {
    await page({
      main,
      params: match.slice(1).map(decodeURIComponent),
      url: new URL(location.href),
      signal: controller.signal,
      session,
      navigate,
      setTitle,
    });
    // The page shows its data now (what follows, like a timeline, loads on its own).
    performance.mark("huella:page", { detail: path });
  } catch (error) {
    if (error.name === "AbortError" || controller.signal.aborted) return;
    if (error instanceof ApiError && error.status === 401) return; // sign-in took over
    setTitle("Error");
    fill(main, h("h1", {}, "Could not load this page"), problemBox(error));
  }
}

function followLinks(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download") || link.origin !== location.origin) return;
  const path = link.pathname;
  if (path !== "/" && !path.startsWith("/console/")) return;
  if (path.startsWith("/console/assets/")) return;
  event.preventDefault();
  navigate(path + link.search);
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function signOut(message) {
  forgetSession();
  signInNotice = message;
  current?.abort();
  renderSignIn();
}

whenUnauthorized((error) => signOut(`Please sign in again: ${error.problem.detail || error.problem.title}.`));
document.getElementById("sign-out").addEventListener("click", () => signOut("You have signed out; the token is forgotten."));
document.addEventListener("click", followLinks);
window.addEventListener("popstate", route);
route();
