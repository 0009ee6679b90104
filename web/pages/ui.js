// Small DOM helpers every page shares. Text from the API only ever reaches the page through
// textContent (h() turns string children into text nodes), never through innerHTML.

import { onEvent } from '/api.js';
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

/** Shows a short message in the aria-live toast area. `kind`: 'ok' or 'error'. */
export function toast(message, kind = 'ok') {
  const area = document.getElementById('toasts');
  if (!area) return;
  // The area is a live region, and errors stay: a poll failing again with the same words (while
  // the first is still on screen) adds nothing to it.
  if (kind === 'error') {
    for (const old of area.children) {
      if (old.classList.contains('toast-error') && old.firstChild && old.firstChild.textContent === message) return;
    }
  }
  const el = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', {}, message),
    h('button', { type: 'button', class: 'link', onclick: () => el.remove(), 'aria-label': t('ui.close') }, '×'),
  );
  area.appendChild(el);
  // Errors stay until dismissed (the officer must be able to read the server's words).
  if (kind !== 'error') setTimeout(() => el.remove(), 5000);
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
