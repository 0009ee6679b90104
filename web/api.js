// The web app's one way to the node's API. Same origin, session cookie (HttpOnly, so script
// never sees it), and the CSRF token the login answer gave, on every request that changes state.

import { register, t } from './i18n.js';
import './refusals.js';

let csrf = '';

// A refusal by the rule of who may write what (HTTP 403 with `refusal: {code, ...}`), said in
// the officer's language from its code and parameters. Other errors keep the node's words.
register({
  en: {
    'refusal.not-its-party': '{kind} of {owner} can be written by {owner} only; this node acts for {writer}.',
    'refusal.frozen': 'The draft is executed (both Parties signed it): nothing of it may change any more.',
    'refusal.sealed': 'This record ({kind}) was written before authentication and is kept read-only.',
    'refusal.legacy-in-party-records': 'A change written before authentication cannot be part of a Party’s own records ({kind}).',
    'doc-kind.registry': 'the liaison officers’ registry',
    'doc-kind.mandates': 'the Member-State mandates',
    'doc-kind.annex': 'the Party’s own record (approval, signature, comments, messages)',
    'doc-kind.meeting': 'the meeting',
    'doc-kind.group': 'the working group',
    'doc-kind.draft': 'the draft',
    'doc-kind.thread': 'the thread',
  },
  ru: {
    'refusal.not-its-party': '{kind} Стороны {owner} вправе изменять только {owner}; этот узел действует от имени {writer}.',
    'refusal.frozen': 'Проект подписан обеими Сторонами: в нём больше ничего нельзя изменить.',
    'refusal.sealed': 'Эта запись ({kind}) внесена до введения аутентификации и доступна только для чтения.',
    'refusal.legacy-in-party-records': 'Изменение, внесённое до введения аутентификации, не может входить в собственные записи Стороны ({kind}).',
    'doc-kind.registry': 'реестр офицеров связи',
    'doc-kind.mandates': 'мандаты государств-членов',
    'doc-kind.annex': 'собственные записи (одобрение, подпись, комментарии, сообщения)',
    'doc-kind.meeting': 'встреча',
    'doc-kind.group': 'рабочая группа',
    'doc-kind.draft': 'проект',
    'doc-kind.thread': 'переписка',
  },
});

/** A document kind (`registry`, `annex` ...) in the interface language; unknown ones as they are. */
export function docKindName(kind) {
  const k = `doc-kind.${kind}`;
  const s = t(k);
  return s === k ? String(kind ?? '') : s;
}

// Says one parameter of a refusal in the officer's words (a Party by name, a role, a state), or
// undefined for the value as it is; set by pages/ui.js, which knows the names.
let paramWords = () => undefined;

/** Sets how a refusal's parameters are said: `fn(name, value)` → words or undefined. */
export function setParamWords(fn) {
  paramWords = fn;
}

/**
 * The officer's-language sentence for a refusal `{code, ...params}`, or null for a code this
 * app does not know (the node's own words are shown then).
 */
export function refusalText(refusal) {
  if (!refusal || typeof refusal.code !== 'string') return null;
  const key = `refusal.${refusal.code}`;
  if (t(key) === key) return null;
  const vars = {};
  for (const [k, v] of Object.entries(refusal)) vars[k] = k === 'kind' ? docKindName(v) : (paramWords(k, v) ?? String(v ?? ''));
  const s = t(key, vars);
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * An API answer that was not 2xx: `status` is the HTTP status, `message` what to show (the
 * node's words, or a refusal said in the officer's language); `refusal` is the refusal's code
 * and parameters when the node gave them, `serverMessage` the node's own words.
 */
export class ApiError extends Error {
  constructor(status, message, refusal = null, serverMessage = message) {
    super(message);
    this.status = status;
    this.refusal = refusal;
    this.serverMessage = serverMessage;
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
  return (await call(method, path, body)).data;
}

/**
 * A page of a list: `GET path`, resolving to `{ items, total }`, `total` being how many match in
 * all (the answer's `x-total-count`, else the page's length). Rejects as `api` does.
 */
export async function apiPage(path) {
  const { data, res } = await call('GET', path);
  const items = Array.isArray(data) ? data : [];
  const total = Number.parseInt(res.headers.get('x-total-count') ?? '', 10);
  return { items, total: Number.isNaN(total) ? items.length : total };
}

async function call(method, path, body) {
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
    const refusal = data && typeof data === 'object' && data.refusal && typeof data.refusal === 'object' ? data.refusal : null;
    throw new ApiError(res.status, refusalText(refusal) || msg, refusal, msg);
  }
  return { data, res };
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
