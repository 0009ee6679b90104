// Liaison communications: threads of messages between the officers of the two Parties. The list
// of threads, one thread with its messages, a new thread and a reply (liaison officers and
// administrators). Message text is shown as text (pre-wrap), never as markup.

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { historyPanel } from '/pages/history.js';
import { liveEntries, mergeEntries } from '/pages/entries.js';
import { h, fill, field, toast, showError, busy, can, fmtDateTime, pageHeading, table, live, bilingualTitle, titleIn } from '/pages/ui.js';
import { partyName } from '/pages/ui.js';
import { attachmentList, itemSelect } from '/pages/attachments.js';

register({
  en: {
    'messages.title': 'Communications',
    'messages.intro': 'Correspondence between the liaison officers of the Parties.',
    'messages.threads': 'Threads',
    'messages.none': 'No threads yet.',
    'messages.c-subject': 'Subject',
    'messages.c-count': 'Messages',
    'messages.c-last': 'Last message',
    'messages.last': '{when}, {officer} ({party})',
    'messages.new': 'Start a thread',
    'messages.f-subject': 'Subject',
    'messages.f-text': 'Message',
    'messages.start': 'Send',
    'messages.started': 'Thread started.',
    'messages.need-start': 'A thread needs a subject and a message.',
    'messages.back': 'All threads',
    'messages.thread': 'Thread',
    'messages.list': 'Messages',
    'messages.history': 'History of the thread',
    'messages.no-messages': 'No messages in this thread.',
    'messages.from': '{officer} ({party})',
    'messages.unknown': 'unknown sender',
    'messages.reply': 'Reply',
    'messages.reply-text': 'Your reply',
    'messages.send': 'Send the reply',
    'messages.sent': 'Reply sent.',
    'messages.need-reply': 'The reply is empty.',
    'messages.readonly': 'Only liaison officers send messages.',
  },
  ru: {
    'messages.title': 'Переписка',
    'messages.intro': 'Переписка офицеров связи Сторон.',
    'messages.threads': 'Темы',
    'messages.none': 'Тем пока нет.',
    'messages.c-subject': 'Тема',
    'messages.c-count': 'Сообщений',
    'messages.c-last': 'Последнее сообщение',
    'messages.last': '{when}, {officer} ({party})',
    'messages.new': 'Новая тема',
    'messages.f-subject': 'Тема',
    'messages.f-text': 'Сообщение',
    'messages.start': 'Отправить',
    'messages.started': 'Тема создана.',
    'messages.need-start': 'Укажите тему и текст сообщения.',
    'messages.back': 'Все темы',
    'messages.thread': 'Тема',
    'messages.list': 'Сообщения',
    'messages.history': 'История переписки',
    'messages.no-messages': 'В этой теме нет сообщений.',
    'messages.from': '{officer} ({party})',
    'messages.unknown': 'отправитель неизвестен',
    'messages.reply': 'Ответ',
    'messages.reply-text': 'Ваш ответ',
    'messages.send': 'Отправить ответ',
    'messages.sent': 'Ответ отправлен.',
    'messages.need-reply': 'Ответ пуст.',
    'messages.readonly': 'Отправлять сообщения могут только офицеры связи.',
  },
});

export function render(main, ctx, id) {
  return id ? renderThread(main, ctx, id) : renderList(main, ctx);
}

const from = (a) => (a ? t('messages.from', { officer: a.officer, party: partyName(a.party) }) : t('messages.unknown'));

// ---- the list of threads ----

function renderList(main, ctx) {
  const box = h('div', {}, t('ui.loading'));
  fill(
    main,
    pageHeading(t('messages.title')),
    h('p', { class: 'muted' }, t('messages.intro')),
    h('section', { 'aria-labelledby': 'threads-h' }, h('h2', { id: 'threads-h' }, t('messages.threads')), box),
    can(ctx, 'liaison') ? newThreadForm() : null,
  );
  let threads = [];
  const load = async () => {
    try {
      threads = await api('GET', '/api/threads');
    } catch (e) {
      showError(e, box);
      return;
    }
    show();
  };
  const show = () => {
    if (!threads.length) {
      fill(box, h('p', { class: 'muted' }, t('messages.none')));
      return;
    }
    fill(
      box,
      table(
        [t('messages.c-subject'), t('messages.c-count'), t('messages.c-last')],
        threads.map((th) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: `#/messages/${encodeURIComponent(th.id)}`, 'data-thread': th.id }, bilingualTitle(th))),
            h('td', { class: 'num' }, String(th.messages)),
            h('td', {}, th.last_at
              ? (th.last_by
                ? t('messages.last', { when: fmtDateTime(th.last_at), officer: th.last_by.officer, party: partyName(th.last_by.party) })
                : fmtDateTime(th.last_at))
              : ''),
          ),
        ),
      ),
    );
  };
  load();
  // Each Party's messages are in its own record on the thread (kind annex), which the event does
  // not tie to its thread: any of them may be news here.
  const offAnnex = live((ev) => ev.event === 'doc-changed' && ev.kind === 'annex', load);
  // A thread's own change (its subject) refreshes only that thread (pages/entries.js); newest first.
  const offThreads = liveEntries('thread', '/api/threads', (got) => {
    threads = mergeEntries(threads, got).sort((a, b) => String(b.last_at ?? '').localeCompare(String(a.last_at ?? '')));
    show();
  }, load);
  return () => {
    offAnnex();
    offThreads();
  };
}

function newThreadForm() {
  const subject = h('input', { id: 'thread-subject', required: true, autocomplete: 'off' });
  const text = h('textarea', { id: 'thread-text', rows: '6', required: true });
  const submit = h('button', { id: 'thread-start', type: 'submit', class: 'primary' }, t('messages.start'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-thread-h', novalidate: true },
    h('h2', { id: 'new-thread-h' }, t('messages.new')),
    field(t('messages.f-subject'), subject),
    field(t('messages.f-text'), text),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!subject.value.trim() || !text.value.trim()) {
      toast(t('messages.need-start'), 'error');
      (subject.value.trim() ? text : subject).focus();
      return;
    }
    busy(submit, async () => {
      const created = await api('POST', '/api/threads', { subject: subject.value.trim(), text: text.value });
      toast(t('messages.started'));
      form.reset();
      location.hash = `#/messages/${encodeURIComponent(created.id)}`;
    });
  });
  return form;
}

// ---- one thread ----

// An unsent reply is kept in the tab's sessionStorage, per account and thread, until it is sent:
// a session that ends (the login page shows, then this thread again) or a page reload does not
// lose it. sessionStorage, not localStorage: it goes when the tab closes, so a communication's
// unsent text does not stay on a shared computer.
function draftKey(ctx, id) {
  const s = ctx.session || {};
  return `liaison.reply.${s.party_id || ''}.${s.name || ''}.${id}`;
}

function loadDraft(key) {
  try {
    return sessionStorage.getItem(key) || '';
  } catch {
    return '';
  }
}

function saveDraft(key, text) {
  try {
    if (text) sessionStorage.setItem(key, text);
    else sessionStorage.removeItem(key);
  } catch {
    // Storage full or refused: the reply is still in the text area.
  }
}

function renderThread(main, ctx, id) {
  const heading = pageHeading(t('messages.thread'));
  const meta = h('p', { class: 'muted' });
  const box = h('div', {}, t('ui.loading'));
  const editable = can(ctx, 'liaison');
  let thread = null;
  const history = historyPanel({ path: `/api/threads/${encodeURIComponent(id)}/history`, id: 'thread-history' });

  const show = (th) => {
    thread = th;
    fill(heading, bilingualTitle(th));
    document.title = `${titleIn(th)} · liaison`;
    fill(meta, th.created_at ? `${from(th.created_by)}, ${fmtDateTime(th.created_at)}` : '');
    if (!th.messages.length) {
      fill(box, h('p', { class: 'muted' }, t('messages.no-messages')));
      return;
    }
    fill(
      box,
      h(
        'ol',
        { class: 'messages' },
        th.messages.map((m) =>
          h(
            'li',
            { 'data-message': m.id, class: 'message card' },
            h(
              'p',
              { class: 'message-meta' },
              h('strong', {}, from(m.author)),
              ' · ',
              h('time', { datetime: m.at }, fmtDateTime(m.at)),
            ),
            h('div', { class: 'message-text' }, m.text),
            attachmentList(m.attachments),
          ),
        ),
      ),
    );
  };

  const load = async () => {
    try {
      show(await api('GET', `/api/threads/${encodeURIComponent(id)}`));
    } catch (e) {
      showError(e, box);
    }
  };

  let replyForm = null;
  if (editable) {
    const text = h('textarea', { id: 'reply-text', rows: '5', required: true });
    const key = draftKey(ctx, id);
    text.value = loadDraft(key);
    text.addEventListener('input', () => saveDraft(key, text.value));
    const submit = h('button', { id: 'reply-send', type: 'submit', class: 'primary' }, t('messages.send'));
    // An item to attach: only items this officer can read here are offered.
    const attachBox = h('div');
    let attach = null;
    itemSelect('reply-attach', true)
      .then((sel) => {
        attach = sel;
        if (sel) fill(attachBox, field(t('att.choose'), sel));
      })
      .catch(() => {});
    replyForm = h(
      'form',
      { class: 'card', 'aria-labelledby': 'reply-h', novalidate: true },
      h('h2', { id: 'reply-h' }, t('messages.reply')),
      field(t('messages.reply-text'), text),
      attachBox,
      h('div', { class: 'actions' }, submit),
    );
    replyForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!text.value.trim()) {
        toast(t('messages.need-reply'), 'error');
        text.focus();
        return;
      }
      busy(submit, async () => {
        const body = { text: text.value };
        if (attach && attach.value) body.attach = [attach.value];
        show(await api('POST', `/api/threads/${encodeURIComponent(id)}/messages`, body));
        if (attach) attach.value = '';
        text.value = '';
        saveDraft(key, '');
        toast(t('messages.sent'));
        text.focus();
      });
    });
  }

  fill(
    main,
    h('p', {}, h('a', { href: '#/messages' }, `← ${t('messages.back')}`)),
    heading,
    meta,
    h('section', { 'aria-labelledby': 'messages-h' }, h('h2', { id: 'messages-h' }, t('messages.list')), box),
    replyForm || h('p', { class: 'muted' }, t('messages.readonly')),
    h('section', { 'aria-label': t('messages.history') }, history.el),
  );
  load();
  // A reply is in its Party's own record on the thread (kind annex), a document of its own that
  // the event does not tie to this thread: reload on any, as well as on the thread itself.
  const off = live(
    (ev) => ev.event === 'doc-changed' && (ev.kind === 'annex' || (ev.kind === 'thread' && (ev.doc === id || (thread && ev.doc === thread.id)))),
    () => {
      load();
      history.poke();
    },
  );
  return () => {
    off();
    history.stop();
  };
}
