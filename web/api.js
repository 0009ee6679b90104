// The web app's one way to the node's API. Same origin, session cookie (HttpOnly, so script
// never sees it), and the CSRF token the login answer gave, on every request that changes state.

let csrf = '';

/** An API answer that was not 2xx: `status` is the HTTP status, `message` the node's words. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Remembers the CSRF token of the current session (from POST or GET /api/session). */
export function setCsrf(token) {
  csrf = token || '';
}

/**
 * Calls the API: `api('GET', '/api/meetings')`, `api('POST', '/api/meetings', {...})`.
 * Resolves to the parsed JSON (or null for an empty answer); rejects with ApiError, or with a
 * TypeError when the network is down (callers that must survive a drop check for that).
 */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const msg = data && typeof data === 'object' && data.error ? data.error : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg);
  }
  return data;
}

/** The CSRF token, for requests made without `api` (an upload through XMLHttpRequest). */
export function csrfToken() {
  return csrf;
}

// One EventSource for the whole app; pages subscribe and unsubscribe.
let source = null;
const listeners = new Set();
const stateListeners = new Set();

function open() {
  source = new EventSource('/api/events', { withCredentials: true });
  source.onmessage = (e) => {
    let ev;
    try {
      ev = JSON.parse(e.data);
    } catch {
      return;
    }
    for (const fn of listeners) fn(ev);
  };
  // A slow reader missed events: every page reloads what it shows.
  source.addEventListener('lagged', () => {
    for (const fn of listeners) fn({ event: 'lagged' });
  });
  source.onopen = () => {
    for (const fn of stateListeners) fn(true);
  };
  source.onerror = () => {
    for (const fn of stateListeners) fn(false);
  };
}

/**
 * Subscribes to the node's live events (SSE /api/events): `{event: 'doc-changed', doc, kind,
 * origin, heads}`, `{event: 'peer', peer, connected}`, `{event: 'presence', ...}` and
 * `{event: 'lagged'}`. Returns the unsubscribe function.
 */
export function onEvent(fn) {
  if (!source) open();
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Subscribes to the event stream's connection state (true when open). Returns unsubscribe. */
export function onConnection(fn) {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

/** Closes the event stream (on logout). */
export function closeEvents() {
  if (source) source.close();
  source = null;
}
