// The inbox: what needs this officer (new messages, consent requests to answer, drafts to approve
// or sign, meetings changed, stale provisions in drafts they edit), and the unread count beside
// "Inbox" in the header on every page.
//
// One copy of the inbox is kept here for the whole shell (`startInbox`, called at login): it is
// fetched again when the node's event stream says something changed, so the count follows a
// change from the other node within a second; the page renders from it. It is one page of the
// inbox (the counts are the whole inbox's): the first few entries for the header and its
// notifications, more while the inbox page is open, and every entry about the document on screen
// (`?about=`), wherever it falls. Opening a thread, a
// meeting, a draft or an item marks its entries read (the officer is looking at it), also while
// it stays open and more arrives. The browser's notifications are used only once the officer
// asks for them with the button on this page, never on load.

import { api, onEvent } from '/api.js';
import { register, t, onLang } from '/i18n.js';
import { h, fill, pageHeading, fmtDateTime, shortId, table, badge, busy, showError } from '/pages/ui.js';
import { partyName } from '/pages/ui.js';

register({
  en: {
    'inbox.title': 'Inbox',
    'inbox.intro': 'What needs you: new messages and meetings changed until you open them; consent requests, approvals, signatures and stale provisions while they wait for you.',
    'inbox.empty': 'Nothing needs you now.',
    'inbox.unread-n': '{n} unread',
    'inbox.badge-label': '{n} unread in the inbox',
    'inbox.all': 'Show what was read too',
    'inbox.mark-all': 'Mark all read',
    'inbox.mark': 'Mark read',
    'inbox.showing': 'Entries 1–{shown} of {total}',
    'inbox.more': 'Show {n} more',
    'inbox.notify': 'Notify me of new entries',
    'inbox.notify-on': 'Notifications are on for this browser.',
    'inbox.notify-denied': 'This browser blocks notifications from this site; its settings can allow them.',
    'inbox.c-kind': 'What',
    'inbox.c-title': 'Title',
    'inbox.c-why': 'Why',
    'inbox.c-by': 'By',
    'inbox.c-when': 'When',
    'inbox.c-actions': 'Actions',
    'inbox.new': 'new',
    'inbox.kind.message': 'Message',
    'inbox.kind.consent': 'Consent request',
    'inbox.kind.approval': 'Approval',
    'inbox.kind.signature': 'Signature',
    'inbox.kind.meeting': 'Meeting',
    'inbox.kind.stale': 'Stale provisions',
    'inbox.why.new-messages': '{count} new messages',
    'inbox.why.new-messages-one': 'A new message',
    'inbox.why.read': 'Read',
    'inbox.why.new-meeting': 'A meeting you have not seen',
    'inbox.why.meeting-changed': 'Changed since you saw it',
    'inbox.why.consent-to-answer': '{requester} asks to pass an item to {third_party}; your Party answers',
    'inbox.why.awaiting-approval': 'Under review: your Party has not approved this text',
    'inbox.why.awaiting-signature': 'Agreed: your Party has not signed it',
    'inbox.why.stale-provisions': 'Stale in a language: {provisions}',
    'inbox.count-kinds': 'Messages {message} · consent {consent} · approvals {approval} · signatures {signature} · meetings {meeting} · stale {stale}',
    'inbox.notification': 'liaison: {kind}',
  },
  ru: {
    'inbox.title': 'Входящие',
    'inbox.intro': 'Что требует вашего внимания: новые сообщения и изменённые встречи — пока вы их не откроете; запросы согласия, одобрения, подписи и несогласованные положения — пока они ждут вас.',
    'inbox.empty': 'Сейчас ничего не требует вашего внимания.',
    'inbox.unread-n': 'непрочитанных: {n}',
    'inbox.badge-label': 'непрочитанных во входящих: {n}',
    'inbox.all': 'Показать и прочитанное',
    'inbox.mark-all': 'Отметить всё как прочитанное',
    'inbox.mark': 'Прочитано',
    'inbox.showing': 'Записи 1–{shown} из {total}',
    'inbox.more': 'Показать ещё {n}',
    'inbox.notify': 'Уведомлять о новом',
    'inbox.notify-on': 'Уведомления в этом браузере включены.',
    'inbox.notify-denied': 'Браузер запрещает уведомления этого сайта; их можно разрешить в его настройках.',
    'inbox.c-kind': 'Что',
    'inbox.c-title': 'Название',
    'inbox.c-why': 'Почему',
    'inbox.c-by': 'Кто',
    'inbox.c-when': 'Когда',
    'inbox.c-actions': 'Действия',
    'inbox.new': 'новое',
    'inbox.kind.message': 'Сообщение',
    'inbox.kind.consent': 'Запрос согласия',
    'inbox.kind.approval': 'Одобрение',
    'inbox.kind.signature': 'Подпись',
    'inbox.kind.meeting': 'Встреча',
    'inbox.kind.stale': 'Несогласованные положения',
    'inbox.why.new-messages': 'новых сообщений: {count}',
    'inbox.why.new-messages-one': 'Новое сообщение',
    'inbox.why.read': 'Прочитано',
    'inbox.why.new-meeting': 'Встреча, которую вы ещё не видели',
    'inbox.why.meeting-changed': 'Изменена после вашего просмотра',
    'inbox.why.consent-to-answer': '{requester} просит разрешения передать материал третьей стороне ({third_party}); отвечает ваша Сторона',
    'inbox.why.awaiting-approval': 'На рассмотрении: ваша Сторона не одобрила этот текст',
    'inbox.why.awaiting-signature': 'Согласован: ваша Сторона его ещё не подписала',
    'inbox.why.stale-provisions': 'Не согласованы на одном из языков: {provisions}',
    'inbox.count-kinds': 'Сообщения {message} · согласие {consent} · одобрения {approval} · подписи {signature} · встречи {meeting} · несогласованные {stale}',
    'inbox.notification': 'liaison: {kind}',
  },
});

// ---- the shell's copy of the inbox ----

let inbox = null; // the last answer of GET /api/inbox
let inboxAbout = null; // the document or item that answer's `about` is about
/** Entries the header asks for: enough to notify of what is new (the newest unread come first). */
const HEADER_PAGE = 20;
/** Entries one more page of the inbox page adds. */
export const PAGE = 100;
let shown = HEADER_PAGE; // entries the shell's copy holds
let seen = null; // keys of the unread entries already known (null before the first answer)
const subscribers = new Set();
let inFlight = false;
let again = false;
let marking = new Set(); // documents being marked read

/** Where an entry leads. */
export function linkOf(e) {
  switch (e.kind) {
    case 'message':
      return `#/messages/${encodeURIComponent(e.doc)}`;
    case 'meeting':
      return `#/meetings/${encodeURIComponent(e.doc)}`;
    case 'consent':
      return `#/items/${encodeURIComponent(e.why.item)}`;
    default:
      return `#/drafts/${encodeURIComponent(e.doc)}`;
  }
}

/** Why an entry needs the officer, in the officer's language. */
export function whyText(e) {
  const w = e.why || {};
  // A message or meeting listed among what was read: seen, nothing more to say.
  if (!e.unread && (e.kind === 'message' || e.kind === 'meeting')) return t('inbox.why.read');
  switch (w.code) {
    case 'new-messages':
      if (!w.count) return t('inbox.why.read');
      return w.count === 1 ? t('inbox.why.new-messages-one') : t('inbox.why.new-messages', { count: w.count });
    case 'stale-provisions':
      return t('inbox.why.stale-provisions', { provisions: (w.provisions || []).join(', ') });
    case 'consent-to-answer':
      return t('inbox.why.consent-to-answer', { requester: w.requester, third_party: w.third_party });
    default:
      return t(`inbox.why.${w.code}`);
  }
}

/** The document the page on screen shows, and whether it is an item (consent entries lead there). */
function openedDoc() {
  const m = location.hash.match(/^#\/(messages|meetings|drafts|items)\/([^/?]+)/);
  if (!m) return null;
  try {
    return { page: m[1], id: decodeURIComponent(m[2]) };
  } catch {
    return null;
  }
}

/** The query of the shell's copy: its page, and what is on screen. */
function query() {
  const o = openedDoc();
  return `?limit=${shown}` + (o ? `&about=${encodeURIComponent(o.id)}` : '');
}

/** The unread entries about what is on screen. */
function onScreen() {
  const o = openedDoc();
  // The copy answered for another page: the refresh on navigation brings this one's.
  if (!o || !inbox || inboxAbout !== o.id || document.visibilityState === 'hidden') return [];
  return (inbox.about || []).filter((e) => {
    if (!e.unread) return false;
    if (o.page === 'items') return e.kind === 'consent' && e.why.item === o.id;
    return e.kind !== 'consent' && e.doc === o.id;
  });
}

/** Marks what is on screen read: the officer is looking at it. */
async function markOnScreen() {
  const docs = [...new Set(onScreen().map((e) => e.doc))].filter((d) => !marking.has(d));
  for (const doc of docs) {
    marking.add(doc);
    try {
      await adoptFrom('POST', '/api/inbox/read', { doc });
    } catch (e) {
      if (e.status === 401) showError(e);
      else console.warn('inbox: marking read failed:', e.message);
    } finally {
      marking.delete(doc);
    }
  }
}

/** Asks for the shell's copy (or marks read, which answers it) and adopts the answer. */
async function adoptFrom(method, path, body) {
  const about = openedDoc()?.id ?? null;
  const next = await api(method, path + query(), body);
  adopt(next, about);
}

function adopt(next, about) {
  const before = seen;
  inbox = next;
  inboxAbout = about;
  seen = new Set(next.entries.filter((e) => e.unread).map((e) => e.key));
  renderBadge();
  for (const fn of subscribers) fn(inbox);
  if (before) notify(next.entries.filter((e) => e.unread && !before.has(e.key)));
}

/** Fetches the inbox; a change arriving meanwhile fetches it once more after. */
async function refresh() {
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  try {
    await adoptFrom('GET', '/api/inbox');
    await markOnScreen();
  } catch (e) {
    if (e.status === 401) showError(e);
    else console.warn('inbox: refresh failed:', e.message);
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      // A burst (an officer typing in a draft) refreshes a few times a second, not per keystroke.
      setTimeout(refresh, 150);
    }
  }
}

function notify(fresh) {
  if (!fresh.length || !('Notification' in window) || Notification.permission !== 'granted') return;
  for (const e of fresh) {
    // The page in front already shows it.
    if (document.visibilityState === 'visible' && location.hash === linkOf(e)) continue;
    try {
      const n = new Notification(t('inbox.notification', { kind: t(`inbox.kind.${e.kind}`) }), {
        body: `${e.title}\n${whyText(e)}`,
        tag: e.key,
      });
      n.onclick = () => {
        window.focus();
        location.hash = linkOf(e);
        n.close();
      };
    } catch (err) {
      // Some browsers allow notifications from a service worker only: the badge still tells.
      console.warn('inbox: notification failed:', err.message);
      return;
    }
  }
}

/** The count beside "Inbox" in the header. */
function renderBadge() {
  const a = document.querySelector('#nav a[data-nav="inbox"]');
  if (!a) return;
  let b = a.querySelector('.inbox-count');
  const n = inbox ? inbox.unread : 0;
  if (!b) {
    b = h('span', { class: 'inbox-count', id: 'inbox-count' });
    a.appendChild(b);
  }
  const text = n > 99 ? '99+' : String(n);
  if (b.textContent !== text) b.textContent = text;
  b.hidden = n === 0;
  b.setAttribute('aria-label', t('inbox.badge-label', { n }));
  a.dataset.unread = String(n);
}

/**
 * Starts the shell's inbox for a logged-in session: the header's count, kept live. Returns the
 * function that stops it (at logout).
 */
export function startInbox() {
  inbox = null;
  seen = null;
  const offEvents = onEvent((ev) => {
    // A message, a meeting, a draft, a consent record: anything but presence and peers may
    // change the inbox.
    if (ev.event === 'doc-changed' || ev.event === 'vault-changed' || ev.event === 'lagged') refresh();
  });
  const offLang = onLang(() => renderBadge());
  // Another page on screen: the copy's `about` must be about it.
  const onRoute = () => refresh();
  const onVisible = () => {
    if (document.visibilityState === 'visible') markOnScreen();
  };
  window.addEventListener('hashchange', onRoute);
  document.addEventListener('visibilitychange', onVisible);
  refresh();
  return () => {
    offEvents();
    offLang();
    shown = HEADER_PAGE;
    window.removeEventListener('hashchange', onRoute);
    document.removeEventListener('visibilitychange', onVisible);
    inbox = null;
    inboxAbout = null;
    seen = null;
    subscribers.clear();
  };
}

// ---- the page ----

/** How many entries the shell's copy holds: more while the inbox page shows them. */
function setShown(n) {
  if (n === shown) return;
  shown = n;
  refresh();
}

export function render(main, ctx) {
  let all = false;
  setShown(PAGE);
  let full = null; // the answer with ?all=true, while "show what was read" is on
  const status = h('p', { id: 'inbox-status', class: 'muted', role: 'status' });
  const kinds = h('p', { id: 'inbox-kinds', class: 'muted' });
  const list = h('div', { id: 'inbox-list' });
  const showAll = h('input', { id: 'inbox-all', type: 'checkbox' });
  const markAll = h('button', { id: 'inbox-mark-all', type: 'button' }, t('inbox.mark-all'));
  const notifyBox = h('p', { id: 'inbox-notify' });
  const pager = h('p', { id: 'inbox-pager', class: 'muted' });

  const draw = () => {
    const data = all ? full : inbox;
    if (!data) {
      fill(status, t('ui.loading'));
      return;
    }
    const unread = inbox ? inbox.unread : data.unread;
    fill(status, t('inbox.unread-n', { n: unread }));
    fill(kinds, t('inbox.count-kinds', (inbox || data).counts));
    markAll.disabled = unread === 0;
    drawPager(data);
    if (!data.entries.length) {
      fill(list, h('p', { id: 'inbox-empty' }, t('inbox.empty')));
      return;
    }
    const rows = data.entries.map((e) =>
      h(
        'tr',
        { class: e.unread ? 'inbox-unread' : 'inbox-read', 'data-key': e.key, 'data-kind': e.kind, 'data-doc': e.doc },
        h('td', {}, t(`inbox.kind.${e.kind}`), e.unread ? [' ', badge(t('inbox.new'), 'warn')] : null),
        h('td', {}, h('a', { href: linkOf(e), class: 'inbox-link' }, e.title || shortId(e.doc))),
        h('td', {}, whyText(e)),
        h('td', {}, e.by ? `${e.by.officer} (${partyName(e.by.party)})` : ''),
        h('td', {}, fmtDateTime(e.at)),
        h(
          'td',
          {},
          e.unread
            ? h('button', { type: 'button', class: 'link inbox-mark', onclick: (ev) => mark(ev.target, { doc: e.doc }) }, t('inbox.mark'))
            : null,
        ),
      ),
    );
    fill(
      list,
      table(
        [t('inbox.c-kind'), t('inbox.c-title'), t('inbox.c-why'), t('inbox.c-by'), t('inbox.c-when'), t('inbox.c-actions')],
        rows,
      ),
    );
  };

  // "Entries 1–100 of 10,000" and a button for the next hundred, when there are more.
  const drawPager = (data) => {
    const total = data.total ?? data.entries.length;
    const left = total - data.entries.length;
    if (left <= 0) {
      fill(pager);
      return;
    }
    // The copy on screen was asked for a smaller page (the header's twenty) and the larger one is
    // on its way: a button now would count from the wrong page and ask for the one already coming.
    if (data.entries.length < Math.min(shown, total)) {
      fill(pager, t('inbox.showing', { shown: data.entries.length, total }), ' ', t('ui.loading'));
      return;
    }
    const more = h('button', { id: 'inbox-more', type: 'button', class: 'link' }, t('inbox.more', { n: Math.min(left, PAGE) }));
    more.addEventListener('click', () => {
      setShown(shown + PAGE);
      loadFull();
    });
    fill(pager, t('inbox.showing', { shown: data.entries.length, total }), ' ', more);
  };

  const loadFull = async () => {
    if (!all) return;
    try {
      full = await api('GET', `/api/inbox?all=true&limit=${shown}`);
      draw();
    } catch (e) {
      showError(e);
    }
  };

  const mark = (button, what) =>
    busy(button, async () => {
      await adoptFrom('POST', '/api/inbox/read', what);
      await loadFull();
    });

  const drawNotify = () => {
    if (!('Notification' in window)) {
      fill(notifyBox);
      return;
    }
    if (Notification.permission === 'granted') fill(notifyBox, h('span', { class: 'muted' }, t('inbox.notify-on')));
    else if (Notification.permission === 'denied') fill(notifyBox, h('span', { class: 'muted' }, t('inbox.notify-denied')));
    else {
      const b = h('button', { id: 'inbox-notify-ask', type: 'button' }, t('inbox.notify'));
      // Asked only when the officer presses the button.
      b.addEventListener('click', async () => {
        try {
          await Notification.requestPermission();
        } finally {
          drawNotify();
        }
      });
      fill(notifyBox, b);
    }
  };

  showAll.addEventListener('change', async () => {
    all = showAll.checked;
    full = null;
    draw();
    await loadFull();
  });
  markAll.addEventListener('click', () => mark(markAll, { all: true }));

  const onChange = () => {
    if (all) loadFull();
    else draw();
  };
  subscribers.add(onChange);

  fill(
    main,
    pageHeading(t('inbox.title')),
    h('p', { class: 'muted' }, t('inbox.intro')),
    status,
    kinds,
    h('div', { class: 'actions' }, markAll, h('label', { for: 'inbox-all', class: 'inline' }, showAll, ' ', t('inbox.all'))),
    notifyBox,
    list,
    pager,
  );
  drawNotify();
  draw();
  if (!inbox) refresh();
  return () => {
    subscribers.delete(onChange);
    // The next refresh asks for the header's page again; no request of its own (this may be a
    // logout).
    shown = HEADER_PAGE;
  };
}
