// The one way the console talks to Huella: bearer token from sessionStorage, JSON in and out,
// every failure an ApiError carrying the problem document (RFC 9457) the API answered with.

const KEY = "huella.session";

/** The signed-in session ({token, name, role}), or null. */
export function currentSession() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

/** Remember the session for this tab only: closing the tab forgets the token. */
export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

/** Forget the token. */
export function forgetSession() {
  sessionStorage.removeItem(KEY);
}

/** An API call that failed; `problem` is the problem document (title, detail, errors...). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

let onUnauthorized = () => {};

/** What to do when the API says the token is no good (sign-in again). */
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

async function readBody(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.startsWith("text/csv")) return response.text();
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch (e) {
    if (e.name === "AbortError") throw e;
    return null;
  }
}

/**
 * Call the API and resolve to its JSON body. `token` overrides the session's (sign-in uses it).
 * A 401 forgets the session and hands over to sign-in, unless `token` was given.
 */
export async function api(path, { method = "GET", body, signal, token } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  const secret = token ?? currentSession()?.token;
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { title: "Huella is unreachable", detail: "the network request failed; is the server running?" });
  }
  const data = await readBody(response);
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : { title: response.statusText || `HTTP ${response.status}` };
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && token === undefined) {
      forgetSession();
      onUnauthorized(error);
    }
    throw error;
  }
  return data;
}

/** A query string from an object, leaving out empty values; arrays repeat the key. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "") search.append(name, item);
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A path segment, escaped. */
export const seg = encodeURIComponent;
