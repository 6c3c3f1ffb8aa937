// The hub's console API (docs/console.md): the live view over Server-Sent Events, the
// session (login, CSRF token) and the actions.

const SECTIONS = ["hall", "queue", "counters", "devices", "ratings", "ops"];

/** Opens /api/events and calls `onState(state)` with the whole view on every `state`
 * message, `onSection(name, data)` on each section message and `onLink(up)` when the stream
 * opens or drops. EventSource reconnects by itself, and the server sends `state` again then. */
export function follow({ onState, onSection, onLink }) {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => onLink(true));
  source.addEventListener("error", () => onLink(false));
  source.addEventListener("state", (msg) => onState(JSON.parse(msg.data)));
  for (const name of SECTIONS) {
    source.addEventListener(name, (msg) => onSection(name, JSON.parse(msg.data)));
  }
  return source;
}

let csrf = null;

/** The current session {name, csrf} or null. */
export async function session() {
  const res = await fetch("/api/session", { credentials: "same-origin" });
  if (!res.ok) {
    csrf = null;
    return null;
  }
  const body = await res.json();
  csrf = body.csrf;
  return body;
}

/** Logs in: {ok: true, name} or {ok: false, status, error, retryAfter}. */
export async function login(name, password) {
  const res = await fetch("/api/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, password }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    return { ok: false, status: res.status, error: body.error, retryAfter: body.retry_after_s };
  }
  csrf = body.csrf;
  return { ok: true, name: body.name };
}

export async function logout() {
  await post("/api/logout");
  csrf = null;
}

/** POSTs an action with the session's CSRF token: {ok, status, body}. */
export async function post(path, payload = null) {
  const headers = { "X-CSRF-Token": csrf ?? "" };
  if (payload !== null) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers,
    body: payload === null ? undefined : JSON.stringify(payload),
  });
  const body = await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, body };
}
