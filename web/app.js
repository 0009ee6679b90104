// The shell: login, navigation, language switch, the connection indicator and the hash router.
// Pages are loaded on demand and render into main#main; each may return a cleanup function,
// which the router calls before the next page renders (or the same page re-renders).

import { api, setCsrf, closeEvents, onConnection, onEvent } from '/api.js';
import { register, t, lang, setLang, onLang } from '/i18n.js';
import { h, fill, field, showError, pageHeading, toast, errorText } from '/pages/ui.js';
import { clearToasts, resetParties, loadParties, notePeers, partyName } from '/pages/ui.js';
import { mountSearchBox, hideSearchBox } from '/pages/search.js';

register({
  en: {
    'app.skip': 'Skip to content',
    'nav.label': 'Main',
    'nav.dashboard': 'Dashboard',
    'nav.inbox': 'Inbox',
    'nav.meetings': 'Meetings',
    'nav.groups': 'Working groups',
    'nav.items': 'Provided information',
    'nav.officers': 'Liaison officers',
    'nav.messages': 'Communications',
    'nav.audit': 'Audit log',
    'nav.admin': 'Administration',
    'app.lang': 'Language',
    'app.logout': 'Log out',
    'app.account': 'Password',
    'app.whoami': '{name} ({role}), {party}',
    'conn.live': 'Connected to this node',
    'conn.down': 'Connection to this node lost, retrying…',
    'conn.peers': 'its peers: {up} of {all} connected',
    'conn.title': 'Your browser’s connection to this node, and this node’s connections to its pinned peers',
    'login.title': 'Log in',
    'login.intro': 'Liaison officers of the CICA Secretariat and the SCO RATS log in to their own Party’s node.',
    'login.name': 'Account name',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.wrong': 'Wrong account name or password.',
    'login.throttled': 'Too many failed attempts: {msg}',
    'pwc.title': 'Choose a new password',
    'pwc.intro': 'You logged in with a one-time password. Choose your own password to go on; the one-time password then stops working.',
    'pwc.current': 'One-time password',
    'pwc.new': 'New password',
    'pwc.repeat': 'New password again',
    'pwc.hint': 'At least 12 characters, not the one-time password; a phrase of several words is easiest to remember.',
    'pwc.mismatch': 'The two new passwords differ.',
    'pwc.same': 'The new password must differ from the one-time password.',
    'pwc.wrong': 'The one-time password is wrong.',
    'pwc.submit': 'Set the password and go on',
    'pwc.cancel': 'Log out',
    'pwc.done': 'Password set.',
    'app.notfound': 'Page not found',
    'app.notfound-text': 'There is no page at this address.',
    'app.editor-missing': 'The draft editor is not available: {msg}',
    'app.draft': 'Draft',
    'app.page-failed': 'This page could not be shown',
  },
  ru: {
    'app.skip': 'Перейти к содержанию',
    'nav.label': 'Основное меню',
    'nav.dashboard': 'Обзор',
    'nav.inbox': 'Входящие',
    'nav.meetings': 'Встречи',
    'nav.groups': 'Рабочие группы',
    'nav.items': 'Предоставленная информация',
    'nav.officers': 'Офицеры связи',
    'nav.messages': 'Переписка',
    'nav.audit': 'Журнал аудита',
    'nav.admin': 'Администрирование',
    'app.lang': 'Язык',
    'app.logout': 'Выйти',
    'app.account': 'Пароль',
    'app.whoami': '{name} ({role}), {party}',
    'conn.live': 'Связь с узлом есть',
    'conn.down': 'Связь с этим узлом потеряна, повторное подключение…',
    'conn.peers': 'его закреплённые узлы на связи: {up} из {all}',
    'conn.title': 'Связь вашего браузера с этим узлом и связь этого узла с закреплёнными узлами',
    'login.title': 'Вход',
    'login.intro': 'Офицеры связи Секретариата СВМДА и РАТС ШОС входят на узел своей Стороны.',
    'login.name': 'Учётная запись',
    'login.password': 'Пароль',
    'login.submit': 'Войти',
    'login.wrong': 'Неверное имя учётной записи или пароль.',
    'login.throttled': 'Слишком много неудачных попыток: {msg}',
    'pwc.title': 'Выберите новый пароль',
    'pwc.intro': 'Вы вошли с одноразовым паролем. Чтобы продолжить, выберите собственный пароль; одноразовый пароль после этого перестанет действовать.',
    'pwc.current': 'Одноразовый пароль',
    'pwc.new': 'Новый пароль',
    'pwc.repeat': 'Новый пароль ещё раз',
    'pwc.hint': 'Не менее 12 символов, не одноразовый пароль; проще всего запомнить фразу из нескольких слов.',
    'pwc.mismatch': 'Новые пароли не совпадают.',
    'pwc.same': 'Новый пароль должен отличаться от одноразового.',
    'pwc.wrong': 'Одноразовый пароль неверен.',
    'pwc.submit': 'Установить пароль и продолжить',
    'pwc.cancel': 'Выйти',
    'pwc.done': 'Пароль установлен.',
    'app.notfound': 'Страница не найдена',
    'app.notfound-text': 'По этому адресу страницы нет.',
    'app.editor-missing': 'Редактор проектов недоступен: {msg}',
    'app.draft': 'Проект',
    'app.page-failed': 'Не удалось показать страницу',
  },
});

const PAGES = {
  dashboard: () => import('/pages/dashboard.js'),
  inbox: () => import('/pages/inbox.js'),
  meetings: () => import('/pages/meetings.js'),
  groups: () => import('/pages/groups.js'),
  items: () => import('/pages/items.js'),
  officers: () => import('/pages/officers.js'),
  messages: () => import('/pages/messages.js'),
  audit: () => import('/pages/audit.js'),
  admin: () => import('/pages/admin.js'),
  account: () => import('/pages/account.js'),
  search: () => import('/pages/search.js'),
  // The draft editor is written separately; loaded only when a draft is opened.
  drafts: () => import('/editor.js'),
};

const $ = (id) => document.getElementById(id);

let session = null; // the answer of GET/POST /api/session, or null when logged out
let cleanup = null; // the current page's cleanup
let seq = 0; // bumps on every render, so a slow page that lost the race is cleaned up at once
let afterLogin = '#/dashboard';
// A session that logged in with a one-time password: it may only choose a new one, so the app
// shows nothing else until it has. `{ info, oneTime }`, where `oneTime` is the password just
// typed at the login (kept in memory only, so the officer need not type it twice), or null after
// a reload.
let mustChange = null;
let shellOff = []; // listeners of the logged-in shell

// A third party's node (it pins providers, no Party) shows what a third party does: the items
// granted to it (items.js), the audit log and the account; nothing of the Parties' workflow.
// Asked once per session.
let thirdParty = null;
const THIRD_PARTY_PAGES = ['items', 'audit', 'account', 'admin'];

function markThirdParty() {
  document.body.dataset.node = thirdParty ? 'third-party' : 'party';
  for (const a of document.querySelectorAll('#nav a[data-nav]')) {
    if (!THIRD_PARTY_PAGES.includes(a.dataset.nav)) a.parentElement.hidden = !!thirdParty;
  }
  // A third party holds none of the Parties' workspace: nothing for it to search.
  if (thirdParty) hideSearchBox();
}

function ctx() {
  return { session, thirdParty: !!thirdParty };
}

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  return parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
}

function stopPage() {
  const c = cleanup;
  cleanup = null;
  if (c) {
    try {
      c();
    } catch (e) {
      console.error('page cleanup failed', e);
    }
  }
}

/** Renders the page the hash names. `moveFocus`: after a navigation, not a re-render. */
async function route(moveFocus = true) {
  const mine = ++seq;
  if (stopRestore) stopRestore();
  stopPage();
  const main = $('main');
  const [page = 'dashboard', ...params] = parseRoute();
  if (mustChange) {
    if (page !== 'login') afterLogin = location.hash || '#/dashboard';
    renderChoosePassword(main);
    return;
  }
  if (!session) {
    if (page !== 'login') afterLogin = location.hash || '#/dashboard';
    renderLogin(main);
    return;
  }
  if (page === 'login' || !location.hash) {
    location.replace('#/dashboard');
    return;
  }
  if (thirdParty === null) {
    thirdParty = await api('GET', '/api/granted').then((g) => !!g.third_party_node).catch(() => false);
    if (mine !== seq) return;
    markThirdParty();
  }
  if (thirdParty && !THIRD_PARTY_PAGES.includes(page)) {
    location.replace('#/items');
    return;
  }
  markNav(page);
  fill(main);
  // Parties and nodes are named on every page: their names are loaded once per session.
  await loadParties();
  if (mine !== seq) return;
  let result;
  try {
    const load = PAGES[page];
    if (!load || (page === 'drafts' && !params[0])) {
      fill(main, pageHeading(t('app.notfound')), h('p', {}, t('app.notfound-text')));
    } else {
      let mod;
      try {
        mod = await load();
      } catch (e) {
        if (page !== 'drafts') throw e;
        // The rest of the app works without the editor.
        fill(main, pageHeading(t('app.draft')), h('p', { class: 'error' }, t('app.editor-missing', { msg: e.message })));
        return;
      }
      if (mine !== seq) return;
      result = await mod.render(main, ctx(), ...params);
    }
  } catch (e) {
    if (mine !== seq) return;
    fill(main, pageHeading(t('app.page-failed')));
    const p = h('p', { class: 'error', role: 'alert' });
    main.appendChild(p);
    showError(e, p);
    return;
  }
  if (mine !== seq) {
    if (typeof result === 'function') result();
    return;
  }
  cleanup = typeof result === 'function' ? result : null;
  if (moveFocus) {
    const h1 = main.querySelector('h1');
    if (h1) h1.focus({ preventScroll: false });
  }
}

// ---- keeping typed input across a language switch ----

let stopRestore = null; // ends the watch for fields a page adds after it rendered

/** Whether a control's value is carried over a re-render. */
function keepable(el) {
  if (!el.id || el.type === 'file' || el.type === 'password' || el.type === 'hidden') return false;
  // The editor's provision texts belong to its collaboration engine, which reloads them from the
  // node after its cleanup has sent what was unsent.
  if (el.tagName === 'TEXTAREA' && el.hasAttribute('data-lang')) return false;
  return true;
}

/** The values of the id'd controls in `root`, and the focused element there. */
function keepForm(root) {
  const fields = new Map();
  for (const el of root.querySelectorAll('input[id], textarea[id], select[id]')) {
    if (!keepable(el)) continue;
    if (el.type === 'checkbox' || el.type === 'radio') fields.set(el.id, { checked: el.checked });
    else if (el.tagName === 'SELECT' && el.multiple) fields.set(el.id, { selected: [...el.selectedOptions].map((o) => o.value) });
    else fields.set(el.id, { value: el.value });
  }
  let focus = null;
  const a = document.activeElement;
  if (a && a !== root && root.contains(a)) {
    focus = { id: a.id || null, start: null, end: null };
    try {
      if (typeof a.selectionStart === 'number') {
        focus.start = a.selectionStart;
        focus.end = a.selectionEnd;
      }
    } catch {
      // not a text control
    }
  }
  return { fields, focus };
}

/** Puts a kept value back into `el`; false if it cannot be yet (a select still lacking the option). */
function putBack(el, v) {
  if (!keepable(el)) return true;
  let changed = false;
  if ('checked' in v && (el.type === 'checkbox' || el.type === 'radio')) {
    if (el.checked !== v.checked) {
      el.checked = v.checked;
      changed = true;
    }
  } else if (v.selected && el.tagName === 'SELECT') {
    for (const o of el.options) {
      const want = v.selected.includes(o.value);
      if (o.selected !== want) {
        o.selected = want;
        changed = true;
      }
    }
  } else if ('value' in v) {
    if (el.value === v.value) return true;
    if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === v.value)) return false;
    el.value = v.value;
    changed = true;
  }
  // Tell the page, as typing would (a page may note "edited here, do not overwrite").
  if (changed) {
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }
  return true;
}

function refocus(el, focus) {
  el.focus({ preventScroll: true });
  if (focus.start !== null) {
    try {
      el.setSelectionRange(focus.start, focus.end);
    } catch {
      // not a text control any more
    }
  }
}

/**
 * Restores what `keepForm` kept, by id. Fields a page adds a little later (after its data
 * arrives) are watched for, for a few seconds, until the next navigation.
 */
function restoreForm(root, kept) {
  if (stopRestore) stopRestore();
  const pending = new Map(kept.fields);
  let focus = kept.focus;
  let placeholder = null; // the h1, focused while the element that had focus is not back yet
  const nobodyElse = () => {
    const a = document.activeElement;
    return !a || a === document.body || a === root || (placeholder !== null && a === placeholder);
  };
  const pass = () => {
    for (const [id, v] of pending) {
      const el = document.getElementById(id);
      if (el && root.contains(el) && putBack(el, v)) pending.delete(id);
    }
    if (focus && focus.id) {
      const el = document.getElementById(focus.id);
      if (el && root.contains(el)) {
        if (nobodyElse()) refocus(el, focus);
        focus = null;
      }
    }
    return pending.size === 0 && !(focus && focus.id);
  };
  const done = pass();
  // Focus was in the page but on nothing that came back yet: keep it in the page, not on <body>.
  if (kept.focus && nobodyElse()) {
    const h1 = root.querySelector('h1');
    if (h1) {
      h1.focus({ preventScroll: true });
      placeholder = h1;
    }
  }
  if (done) return;
  const obs = new MutationObserver(() => {
    if (pass()) stop();
  });
  const timer = setTimeout(() => stop(), 5000);
  const stop = () => {
    obs.disconnect();
    clearTimeout(timer);
    if (stopRestore === stop) stopRestore = null;
  };
  stopRestore = stop;
  obs.observe(root, { childList: true, subtree: true });
}

function markNav(page) {
  for (const a of document.querySelectorAll('#nav a[data-nav]')) {
    if (a.dataset.nav === page || (page === 'drafts' && a.dataset.nav === 'groups')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function renderLogin(main) {
  markNav('');
  const name = h('input', { id: 'login-name', name: 'name', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', {
    id: 'login-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' });
  const submit = h('button', { id: 'login-submit', type: 'submit', class: 'primary' }, t('login.submit'));
  const form = h(
    'form',
    { class: 'login card', novalidate: true },
    field(t('login.name'), name),
    field(t('login.password'), password),
    submit,
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fill(error);
    if (!name.value.trim() || !password.value) {
      fill(error, t('login.wrong'));
      return;
    }
    submit.disabled = true;
    try {
      const info = await api('POST', '/api/session', { name: name.value.trim(), password: password.value });
      const typed = password.value;
      password.value = '';
      // "Your session has ended" and the like were about the session before this one.
      clearToasts(true);
      if (info.password_change_required) {
        mustChange = { info, oneTime: typed };
        setCsrf(info.csrf);
        route();
        return;
      }
      startSession(info);
      const target = afterLogin && !afterLogin.startsWith('#/login') ? afterLogin : '#/dashboard';
      if (location.hash === target) route();
      else location.hash = target;
    } catch (err) {
      if (err.status === 401) fill(error, t('login.wrong'));
      else if (err.status === 429) fill(error, t('login.throttled', { msg: err.message }));
      else fill(error, errorText(err.message));
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  fill(main, h('div', { class: 'login-page' }, pageHeading(t('login.title')), h('p', { class: 'muted' }, t('login.intro')), form));
  name.focus();
}

/** The "choose a new password" page, for a session that logged in with a one-time password. */
function renderChoosePassword(main) {
  markNav('');
  const { info, oneTime } = mustChange;
  document.title = `${t('pwc.title')} · liaison`;
  const current = h('input', { id: 'pwc-current', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'pwc-new', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' });
  const again = h('input', { id: 'pwc-again', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' });
  const error = h('p', { id: 'pwc-error', class: 'error', role: 'alert' });
  const submit = h('button', { id: 'pwc-submit', type: 'submit', class: 'primary' }, t('pwc.submit'));
  const cancel = h('button', { id: 'pwc-cancel', type: 'button' }, t('pwc.cancel'));
  // Named for the password manager, which may offer to save the new password for this name.
  const user = h('input', { type: 'text', autocomplete: 'username', value: info.name, hidden: true, readonly: true });
  const form = h(
    'form',
    { class: 'login card', novalidate: true },
    user,
    // The one-time password was just typed at the login: asked again only after a reload.
    oneTime ? null : field(t('pwc.current'), current),
    field(t('pwc.new'), next, t('pwc.hint')),
    field(t('pwc.repeat'), again),
    h('div', { class: 'actions' }, submit, cancel),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fill(error);
    const was = oneTime || current.value;
    if (next.value !== again.value) {
      fill(error, t('pwc.mismatch'));
      again.focus();
      return;
    }
    if (next.value === was) {
      fill(error, t('pwc.same'));
      next.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api('POST', '/api/session/password', { current: was, new: next.value });
      const fresh = await api('GET', '/api/session');
      mustChange = null;
      toast(t('pwc.done'));
      startSession(fresh);
      const target = afterLogin && !afterLogin.startsWith('#/login') ? afterLogin : '#/dashboard';
      if (location.hash === target) route();
      else location.hash = target;
    } catch (err) {
      if (err.status === 401) {
        // The session ended meanwhile (an admin reset the password again): log in anew.
        mustChange = null;
        setCsrf('');
        route();
      } else if (err.status === 403) {
        fill(error, t('pwc.wrong'));
      } else {
        fill(error, errorText(err.message));
      }
    } finally {
      submit.disabled = false;
    }
  });
  cancel.addEventListener('click', () => logout());
  fill(
    main,
    h('div', { class: 'login-page' }, pageHeading(t('pwc.title')), h('p', { class: 'muted' }, t('pwc.intro')), form),
  );
  (oneTime ? next : current).focus();
}

// ---- the logged-in shell ----

function startSession(info) {
  session = info;
  resetParties(info);
  setCsrf(info.csrf);
  $('nav').hidden = false;
  $('account').hidden = false;
  $('conn').hidden = false;
  mountSearchBox($('top'));
  renderShell();
  connState = null;
  shellOff.push(onConnection((up) => {
    connState = up;
    renderConn();
  }));
  // Peer events keep the peer count in the indicator current.
  shellOff.push(onEvent((ev) => {
    if (ev.event === 'peer' || ev.event === 'lagged') refreshPeers();
  }));
  refreshPeers();
  // The inbox's count beside its nav entry, live on every page.
  const mine = info;
  import('/pages/inbox.js')
    .then((m) => {
      if (session === mine) shellOff.push(m.startInbox());
    })
    .catch((e) => console.warn('inbox not available:', e.message));
}

function endSession() {
  for (const off of shellOff) off();
  shellOff = [];
  closeEvents();
  session = null;
  setCsrf('');
  peers = null;
  resetParties(null);
  thirdParty = null;
  markThirdParty();
  $('nav').hidden = true;
  $('account').hidden = true;
  $('conn').hidden = true;
  hideSearchBox();
}

let connState = null;
let peers = null;

async function refreshPeers() {
  try {
    const st = await api('GET', '/api/status');
    peers = st.peers || [];
    notePeers(st);
  } catch {
    peers = null;
  }
  renderConn();
}

function renderConn() {
  const el = $('conn');
  if (!session) return;
  // Two facts, said apart: the browser's connection to this node, and this node's to its peers.
  // While the first is lost the second is not known (the count is from before), so it is not said.
  const parts = [];
  if (connState === true) parts.push(t('conn.live'));
  if (connState === false) parts.push(t('conn.down'));
  if (peers && connState !== false) parts.push(t('conn.peers', { up: peers.filter((p) => p.connected).length, all: peers.length }));
  // A live region: touched only when what it says changed (reconnect attempts and peer events
  // call this over and over with the same state).
  const text = parts.join(' · ');
  if (el.textContent !== text) el.textContent = text;
  const title = t('conn.title');
  if (el.title !== title) el.title = title;
  const state = connState === false ? 'down' : 'up';
  if (el.dataset.state !== state) el.dataset.state = state;
}

/** Puts the shell's words in the current language. */
function renderShell() {
  $('skip-link').textContent = t('app.skip');
  $('nav').setAttribute('aria-label', t('nav.label'));
  for (const a of document.querySelectorAll('#nav a[data-nav]')) a.textContent = t(`nav.${a.dataset.nav}`);
  // Administration is for administrators only (the server refuses everyone else anyway).
  $('nav-admin').hidden = !(session && session.role === 'admin');
  $('lang-label').textContent = t('app.lang');
  $('lang-select').value = lang();
  $('logout').textContent = t('app.logout');
  $('my-account').textContent = t('app.account');
  if (session) {
    $('whoami').textContent = t('app.whoami', {
      name: session.name,
      role: t(`role.${session.role}`),
      party: partyName(session.party_id) || session.party_name || session.party_id,
    });
    $('party').textContent = partyName(session.party_id) || session.party_name || '';
  } else {
    $('whoami').textContent = '';
    $('party').textContent = '';
  }
  renderConn();
}

async function logout() {
  try {
    await api('DELETE', '/api/session');
  } catch (e) {
    // The session may be gone already; logging out locally is what matters.
    if (e.status !== 401) showError(e);
  }
  endSession();
  mustChange = null;
  stopPage();
  renderShell();
  afterLogin = '#/dashboard';
  if (location.hash === '#/login') route();
  else location.hash = '#/login';
}

async function boot() {
  renderShell();
  $('lang-select').addEventListener('change', (e) => setLang(e.target.value));
  $('logout').addEventListener('click', logout);
  // The skip link must not change the hash (the router owns it): it moves focus instead.
  $('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    const main = $('main');
    (main.querySelector('h1') || main).focus();
  });
  onLang(async () => {
    renderShell();
    // The page is rebuilt in the new language: what was typed into it, and where the focus was,
    // is carried over by element id. The old page's cleanup still runs first (the editor sends
    // its unsent text there).
    const kept = keepForm($('main'));
    const p = route(false);
    const mine = seq;
    await p;
    if (mine === seq && session) restoreForm($('main'), kept);
  });
  // A message is about the page it was shown on: it does not follow the officer elsewhere.
  window.addEventListener('hashchange', () => {
    clearToasts();
    route(true);
  });
  window.addEventListener('liaison:unauthorized', () => {
    if (!session) return;
    afterLogin = location.hash;
    endSession();
    renderShell();
    toast(t('ui.session-ended'), 'error');
    route(true);
  });
  try {
    const info = await api('GET', '/api/session');
    // The node's bearer token has no CSRF token and is not a browser session: log in instead.
    if (info && info.csrf && info.password_change_required) {
      mustChange = { info, oneTime: null };
      setCsrf(info.csrf);
    } else if (info && info.csrf) startSession(info);
  } catch (e) {
    if (e.status !== 401) console.warn('session check failed:', e.message);
  }
  route(true);
}

boot();
