// Small DOM helpers every page shares. Text from the API only ever reaches the page through
// textContent (h() turns string children into text nodes), never through innerHTML.

import { api, onEvent, setParamWords } from '/api.js';
import { register, t, lang } from '/i18n.js';

register({
  en: {
    'ui.close': 'Close',
    'ui.confirm': 'Confirm',
    'ui.cancel': 'Cancel',
    'ui.loading': 'Loading…',
    'ui.none': 'Nothing yet.',
    'ui.error': 'Error: {msg}',
    'ui.saved': 'Saved.',
    'ui.your-time': 'your time {time}',
    'ui.yes': 'yes',
    'ui.no': 'no',
    'ui.offline': 'The node cannot be reached: {msg}',
    'ui.session-ended': 'Your session has ended. Please log in again.',
    'ui.dismiss': 'Dismiss this message',
    'ui.this-node': 'this node',
    'ui.node-of': 'node of {party}',
    'role.viewer': 'viewer',
    'role.member': 'member',
    'role.liaison': 'liaison officer',
    'role.admin': 'administrator',
    'peer-role.party': 'party',
    'peer-role.third-party': 'third party',
    'peer-role.provider': 'provider',
    'unit.B': 'B',
    'unit.KiB': 'KiB',
    'unit.MiB': 'MiB',
    'unit.GiB': 'GiB',
  },
  ru: {
    'ui.close': 'Закрыть',
    'ui.confirm': 'Подтвердить',
    'ui.cancel': 'Отмена',
    'ui.loading': 'Загрузка…',
    'ui.none': 'Пока ничего нет.',
    'ui.error': 'Ошибка: {msg}',
    'ui.saved': 'Сохранено.',
    'ui.your-time': 'у вас {time}',
    'ui.yes': 'да',
    'ui.no': 'нет',
    'ui.offline': 'Узел недоступен: {msg}',
    'ui.session-ended': 'Сеанс завершён. Войдите снова.',
    'ui.dismiss': 'Закрыть сообщение',
    'ui.this-node': 'этот узел',
    'ui.node-of': 'узел {party}',
    'role.viewer': 'наблюдатель',
    'role.member': 'участник',
    'role.liaison': 'офицер связи',
    'role.admin': 'администратор',
    'peer-role.party': 'сторона',
    'peer-role.third-party': 'третья сторона',
    'peer-role.provider': 'предоставляющая сторона',
    'unit.B': 'Б',
    'unit.KiB': 'КиБ',
    'unit.MiB': 'МиБ',
    'unit.GiB': 'ГиБ',
  },
});

/**
 * Creates an element. `attrs`: `class`, `for`, `data-*`, `aria-*`, `on<event>` (a function),
 * boolean properties (`disabled`, `checked`, ...), anything else as an attribute. Children:
 * strings (as text), nodes, arrays of them; null, undefined and false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k === 'value') el.value = v;
    else if (v === true) {
      if (k in el) el[k] = true;
      else el.setAttribute(k, '');
    } else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces an element's content with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let fieldSeq = 0;

/**
 * A labelled form field: `field(t('x'), h('input', {id: 'x'}))`. Gives the control an id if it
 * has none, so that the label is always tied to it.
 */
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++fieldSeq}`;
  let hintEl = null;
  if (hint) {
    hintEl = h('span', { class: 'hint', id: `${control.id}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A `<select>` from `[value, label]` pairs. */
export function select(attrs, options, selected) {
  const el = h('select', attrs, options.map(([v, l]) => h('option', { value: v }, l)));
  if (selected !== undefined) el.value = selected;
  return el;
}

/** Reads a form's controls by name into an object of trimmed strings. */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (el.name && el.type !== 'file') out[el.name] = typeof el.value === 'string' ? el.value.trim() : el.value;
  }
  return out;
}

// How long a message stays, in ms: errors longer (there is more to read), and neither while the
// pointer is over it or the keyboard focus is in it (so it can be read, or its close button
// reached, without a race).
const TOAST_MS = { ok: 5000, error: 10000 };

/**
 * Shows a short message in the toast area (a live region between the header and the page, so it
 * pushes the page down instead of covering it). `kind`: 'ok' or 'error'. It fades after a few
 * seconds, has a close button, and is cleared on navigation (`clearToasts`).
 */
export function toast(message, kind = 'ok') {
  const area = document.getElementById('toasts');
  if (!area) return;
  // A poll failing again with the same words (while the first is still on screen) adds nothing:
  // the one shown starts its time again.
  for (const old of area.children) {
    if (old.dataset.kind === kind && old.firstChild && old.firstChild.textContent === message) {
      if (old.restart) old.restart();
      return;
    }
  }
  let timer = null;
  let held = 0; // hover and focus, each holds it
  const close = () => {
    clearTimeout(timer);
    el.remove();
  };
  const el = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-kind': kind },
    h('span', {}, message),
    h('button', { type: 'button', class: 'toast-close', onclick: close, 'aria-label': t('ui.dismiss'), title: t('ui.close') }, '×'),
  );
  const start = () => {
    clearTimeout(timer);
    if (!held) timer = setTimeout(close, TOAST_MS[kind] ?? TOAST_MS.ok);
  };
  const hold = () => {
    held++;
    clearTimeout(timer);
  };
  const release = () => {
    held = Math.max(0, held - 1);
    start();
  };
  el.restart = start;
  el.addEventListener('mouseenter', hold);
  el.addEventListener('mouseleave', release);
  el.addEventListener('focusin', hold);
  el.addEventListener('focusout', release);
  area.appendChild(el);
  start();
}

/**
 * Removes the messages about what went before: on navigation the errors (a "Saved." of the
 * action that led here stays its few seconds), after a login all of them (`all`).
 */
export function clearToasts(all = false) {
  const area = document.getElementById('toasts');
  if (!area) return;
  for (const el of [...area.children]) if (all || el.dataset.kind === 'error') el.remove();
}

/**
 * The server's message (English, as it is) prefixed with a translated "Error:", unless it
 * already starts with one.
 */
export function errorText(msg) {
  const m = String(msg ?? '');
  const prefix = t('ui.error', { msg: '' }).trim();
  if (/^error\b/i.test(m) || /^ошибка\b/i.test(m) || (prefix && m.startsWith(prefix))) return m;
  return t('ui.error', { msg: m });
}

/** A peer's role (`party`, `third-party`, `provider`) in the current language. */
export function peerRole(role) {
  return role ? t(`peer-role.${role}`) : '';
}

/**
 * Shows a failed request: always the server's own message. A 401 means the session is gone:
 * the shell is told (it shows the login page).
 */
export function showError(err, target) {
  const msg = err && err.message ? err.message : String(err);
  if (err && err.status === 401) {
    window.dispatchEvent(new CustomEvent('liaison:unauthorized'));
    return;
  }
  const text = err instanceof TypeError ? t('ui.offline', { msg }) : errorText(msg);
  if (target) fill(target, text);
  toast(text, 'error');
}

/** Runs an async action from a button: disables it meanwhile, and shows any error. */
export async function busy(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---- Parties and nodes by name ----

let parties = new Map(); // party id → {name_en, name_ru}
let partiesLoad = null; // the one request of this session
let nodes = new Map(); // peer id → party id, of this node and its pinned peers
let ownPeer = '';

/**
 * Forgets the names of the last session and notes this node's own Party from the session (its
 * name is known even when `GET /api/parties` is not there). `info` null on logout.
 */
export function resetParties(info) {
  parties = new Map();
  partiesLoad = null;
  nodes = new Map();
  ownPeer = '';
  if (info && info.party_id && info.party_name) {
    parties.set(info.party_id, { name_en: info.party_name, name_ru: info.party_name });
  }
}

/**
 * Loads the Parties' names (`GET /api/parties`) and the pinned peers' Parties (`GET /api/status`)
 * once per session; the router awaits it before a page renders. A failure leaves the ids.
 */
export function loadParties() {
  if (!partiesLoad) {
    partiesLoad = Promise.all([
      api('GET', '/api/parties')
        .then((r) => {
          for (const p of (r && r.parties) || []) {
            if (p && p.id) parties.set(p.id, { name_en: p.name_en || p.id, name_ru: p.name_ru || p.name_en || p.id });
          }
        })
        .catch(() => {}),
      api('GET', '/api/status')
        .then((st) => notePeers(st))
        .catch(() => {}),
    ]);
  }
  return partiesLoad;
}

/** Notes which Party each pinned peer (and this node) is, from a `GET /api/status` answer. */
export function notePeers(st) {
  if (!st) return;
  if (st.peer_id) ownPeer = st.peer_id;
  if (st.peer_id && st.party_id) nodes.set(st.peer_id, st.party_id);
  for (const p of st.peers || []) if (p.peer_id && p.party_id) nodes.set(p.peer_id, p.party_id);
}

/** A Party's name in the interface language; its id when the name is not known. */
export function partyName(id) {
  if (!id) return '';
  const p = parties.get(String(id));
  if (!p) return String(id);
  return (lang() === 'ru' ? p.name_ru : p.name_en) || String(id);
}

/**
 * A node by name: "this node", or "node of SCO RATS" for a pinned peer (with the end of its id
 * when its Party has several nodes); the full peer id in the tooltip. An unknown peer stays an
 * id, shortened.
 */
export function nodeName(peerId) {
  const id = String(peerId ?? '');
  if (!id) return '';
  if (id === ownPeer) return h('span', { class: 'node-name', title: id }, t('ui.this-node'));
  const party = nodes.get(id);
  if (!party) return shortPeer(id);
  const several = [...nodes.values()].filter((p) => p === party).length > 1;
  const name = t('ui.node-of', { party: partyName(party) });
  return h('span', { class: 'node-name', title: id }, several ? `${name} (…${id.slice(-6)})` : name);
}

/** Whether `id` is a node this app can name (this one, or a pinned peer). */
export function isKnownNode(id) {
  return nodes.has(String(id ?? ''));
}

// Parameters of a refusal said in the officer's words: Parties by name, roles and states
// translated (api.js says the refusal; it asks this for each parameter).
const PARTY_PARAMS = new Set(['party', 'provider', 'owner', 'writer', 'third_party', 'by']);
setParamWords((k, v) => {
  if (PARTY_PARAMS.has(k)) return partyName(v);
  if (k === 'unapproved' && Array.isArray(v)) return v.length ? v.map(partyName).join(', ') : '—';
  if (k === 'on' || k === 'date') return fmtDate(v);
  if (k === 'need' || k === 'role') return t(`role.${v}`);
  const key = `refusal-${k}.${v}`;
  const s = t(key);
  return s === key ? undefined : s;
});

const RANK = { viewer: 0, member: 1, liaison: 2, admin: 3 };

/** Whether the logged-in role is at least `role` (the server decides anyway). */
export function can(ctx, role) {
  const mine = ctx && ctx.session ? ctx.session.role : 'viewer';
  return (RANK[mine] ?? 0) >= RANK[role];
}

function locale() {
  return lang() === 'ru' ? 'ru-RU' : 'en-GB';
}

/** A date and time in the officer's time zone and language; '' for nothing. */
export function fmtDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short' });
}

/** The title of a meeting, group, draft or thread in the officer's language (else as first
 * written): plain text, for headings and document titles. */
export function titleIn(obj) {
  const own = obj.title ?? obj.name ?? obj.subject ?? '';
  return obj[`title_${lang()}`] || own;
}

/** The title in the officer's language with the other language's beside it, when there is one
 * and it differs: `<span class="bi-title">Встреча <span lang="en" class="bi-other">Meeting</span></span>`. */
export function bilingualTitle(obj) {
  const mine = titleIn(obj);
  const otherLang = lang() === 'ru' ? 'en' : 'ru';
  const other = obj[`title_${otherLang}`];
  const el = h('span', { class: 'bi-title' }, mine);
  if (other && other !== mine) el.append(' ', h('span', { class: 'bi-other muted', lang: otherLang }, other));
  return el;
}

/** A meeting's time in its own time zone, named, and the officer's own time beside it when it
 * differs ("1 Dec 2026, 09:00 (Asia/Almaty) · your time 05:00"). Without a zone, the officer's. */
export function fmtInZone(iso, tz) {
  if (!tz) return fmtDateTime(iso);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '';
  let there;
  try {
    there = d.toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: tz });
  } catch {
    return fmtDateTime(iso);
  }
  const here = fmtDateTime(iso);
  return here === there ? `${there} (${tz})` : `${there} (${tz}) · ${t('ui.your-time', { time: here })}`;
}

/** The value for a datetime-local input showing `iso` in the zone `tz` (the officer's without). */
export function toZoneInput(iso, tz) {
  if (!tz || !iso) return toLocalInput(iso);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  try {
    const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
      timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(d).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  } catch {
    return toLocalInput(iso);
  }
}

/** The officer's own IANA time zone, as the browser knows it. */
export function ownZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch {
    return '';
  }
}

/** A date alone. */
export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(locale(), { dateStyle: 'medium' });
}

/** A time alone. */
export function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(locale(), { timeStyle: 'short' });
}

/** A month name and year, for the calendar's caption. */
export function fmtMonth(d) {
  return d.toLocaleDateString(locale(), { month: 'long', year: 'numeric' });
}

/** A byte count, readable (binary units, in the current language). */
export function fmtBytes(n) {
  const num = (v, d) => v.toLocaleString(locale(), { maximumFractionDigits: d, minimumFractionDigits: d });
  if (n < 1024) return `${num(n, 0)} ${t('unit.B')}`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${num(v, v < 10 ? 1 : 0)} ${t(`unit.${units[u]}`)}`;
}

/** The value for a datetime-local input, from an RFC 3339 time (local time zone). */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** RFC 3339 (UTC) from a datetime-local input's value; '' for an empty one. */
export function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Sets the page title and builds the h1 (focusable, so the router can move focus to it). */
export function pageHeading(title) {
  document.title = `${title} · liaison`;
  return h('h1', { tabindex: '-1' }, title);
}

/** A short form of a long hex id, for tables (the full id is in the title attribute). */
export function shortId(id) {
  return h('code', { title: id }, String(id).slice(0, 8));
}

/** A peer id, short: they all start alike (12D3KooW...), so show the end. */
export function shortPeer(id) {
  const s = String(id);
  return h('code', { title: s }, s.length > 12 ? `…${s.slice(-8)}` : s);
}

/** A table from a header row and body rows (arrays of cells) with optional row attributes. */
export function table(headers, rows, caption) {
  return h(
    'table',
    {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows),
  );
}

/**
 * Calls `reload` (debounced, 200 ms) on live events that `relevant(ev)` accepts, and on a
 * lag marker (events were missed). Returns the unsubscribe function for the page's cleanup.
 */
export function live(relevant, reload) {
  let timer = null;
  const off = onEvent((ev) => {
    if (ev.event !== 'lagged' && !relevant(ev)) return;
    clearTimeout(timer);
    timer = setTimeout(reload, 200);
  });
  return () => {
    clearTimeout(timer);
    off();
  };
}

/**
 * Asks for confirmation in a modal <dialog> (#confirm-dialog, buttons #confirm-ok and
 * #confirm-cancel). Resolves true or false; focus goes back to where it was.
 */
export function confirmDialog(message) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const ok = h('button', { type: 'button', id: 'confirm-ok', class: 'danger' }, t('ui.confirm'));
    const cancel = h('button', { type: 'button', id: 'confirm-cancel' }, t('ui.cancel'));
    const dlg = h(
      'dialog',
      { id: 'confirm-dialog', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, message),
      h('div', { class: 'actions' }, ok, cancel),
    );
    const done = (v) => {
      dlg.close();
      dlg.remove();
      if (back && typeof back.focus === 'function') back.focus();
      resolve(v);
    };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

/** A status badge: a word in a pill, with a class for its colour. */
export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || 'plain'}` }, text);
}
