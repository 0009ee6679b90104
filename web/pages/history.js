// The history of a document, from its authenticated changes: who changed what and when, for a
// draft (with each Party's own record on it), a meeting or a working group. The Party and the
// node of each change are proven by signatures; the officer's name is what that Party's node
// wrote in the change (its statement). Shared by the editor, the meeting and the group pages.
//
//   const hist = historyPanel({ path: `/api/drafts/${id}/history`, provisions: () => [[id, label]] });
//   parent.append(hist.el); ... hist.poke() on a live event ... hist.stop() on leaving.
//
// Each entry shows what it did to the texts it wrote (a provision in one language, a meeting's
// field, a message) as track changes: `trackChanges(diff)` draws the node's word diff
// ({op: equal|insert|delete, text}) with <ins> and <del>; the editor's suggestions and version
// comparisons use it too.
//
// The panel is a <details>: it loads when opened (a history reads every change of the
// document, so it is not fetched for nothing), and reloads on live events only while open.

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { h, fill, select, showError, fmtDateTime, fmtTime, shortPeer, table, badge } from '/pages/ui.js';
import { partyName } from '/pages/ui.js';

register({
  en: {
    'hist.title': 'History',
    'hist.intro': 'Who changed what, and when, from the authenticated changes. The Party and its node are proven by their signatures; the officer’s name is that Party’s own statement.',
    'hist.loading': 'Loading the history…',
    'hist.none': 'No changes to show.',
    'hist.caption': 'Changes, newest first',
    'hist.c-when': 'When',
    'hist.c-officer': 'Officer (as the Party states)',
    'hist.c-party': 'Party (proven)',
    'hist.c-node': 'Node',
    'hist.c-proof': 'How it is known',
    'hist.c-what': 'What changed',
    'hist.changes': '{n} changes',
    'hist.proof.node': 'proven',
    'hist.proof.node-title': 'The Party and its node are proven by signatures',
    'hist.proof.genesis': 'the document’s fixed first change',
    'hist.proof.before-authentication': 'before authentication (sealed by {party})',
    'hist.proof.unverified': 'unverified',
    'hist.unknown': '—',
    'hist.record-of': 'in {party}’s own record',
    'hist.about': '({list})',
    'hist.filter': 'Show',
    'hist.filter.all': 'the whole draft',
    'hist.filter.current': 'the provision I am in ({label})',
    'hist.filter.current-none': 'the provision I am in (none yet)',
    'hist.more': 'Show older changes',
    'hist.refresh': 'Refresh',
    'hist.w.created': 'created',
    'hist.w.touched': 'last-change stamp',
    'hist.w.text': 'text of {p} ({lang})',
    'hist.w.stale': 'stale marks of {p}',
    'hist.w.removed': 'removed {p}',
    'hist.w.provision': 'provision {p}',
    'hist.w.order': 'order of provisions',
    'hist.w.revision': 'revision',
    'hist.w.workflow': 'workflow',
    'hist.w.version': 'named version',
    'hist.w.legacy': '{what} (before authentication)',
    'hist.w.approvals': 'approvals',
    'hist.w.signatures': 'signatures',
    'hist.w.suggestions': 'suggestions',
    'hist.w.approval': 'approval',
    'hist.w.signature': 'execution signature',
    'hist.w.comment': 'comment',
    'hist.w.suggestion': 'suggestion',
    'hist.w.decision': 'decision on a suggestion',
    'hist.w.message': 'message',
    'hist.w.assigned': 'assigned an officer ({x})',
    'hist.w.ended': 'ended an officer’s assignment ({x})',
    'hist.w.mandate': 'recorded mandate {x}',
    'hist.w.mandate-amended': 'recorded or amended mandate {x}',
    'hist.w.mandate-withdrawn': 'withdrew mandate {x}',
    'hist.w.document': 'document',
    'hist.w.title': 'title',
    'hist.w.meeting kind': 'kind',
    'hist.w.starts': 'start',
    'hist.w.ends': 'end',
    'hist.w.venue': 'venue',
    'hist.w.sidelines of': 'on the sidelines of',
    'hist.w.status': 'status',
    'hist.w.agenda': 'agenda',
    'hist.w.participants': 'participants',
    'hist.w.minutes': 'minutes',
    'hist.w.name': 'name',
    'hist.w.mandate-field': 'mandate',
    'hist.w.mandate ref': 'mandate cited',
    'hist.w.members': 'members',
    'hist.lang.en': 'English',
    'hist.lang.ru': 'Russian',
    'hist.w.subject': 'subject',
    'hist.ins': 'inserted:',
    'hist.del': 'deleted:',
    'hist.ins-end': 'end of insertion',
    'hist.del-end': 'end of deletion',
    'hist.no-change': 'No differences.',
    'hist.message-key': 'message {id}',
    'hist.filter.lang': 'Language',
    'hist.filter.lang-all': 'all languages',
  },
  ru: {
    'hist.title': 'История изменений',
    'hist.intro': 'Кто, что и когда изменил — по заверенным изменениям. Сторона и её узел подтверждены их подписями; имя сотрудника указано самой Стороной.',
    'hist.loading': 'Загрузка истории…',
    'hist.none': 'Изменений нет.',
    'hist.caption': 'Изменения, сначала новые',
    'hist.c-when': 'Когда',
    'hist.c-officer': 'Сотрудник (со слов Стороны)',
    'hist.c-party': 'Сторона (подтверждена)',
    'hist.c-node': 'Узел',
    'hist.c-proof': 'Чем подтверждено',
    'hist.c-what': 'Что изменено',
    'hist.changes': 'изменений: {n}',
    'hist.proof.node': 'подтверждено',
    'hist.proof.node-title': 'Сторона и её узел подтверждены подписями',
    'hist.proof.genesis': 'исходное изменение документа',
    'hist.proof.before-authentication': 'до введения аутентификации (заверено Стороной {party})',
    'hist.proof.unverified': 'не подтверждено',
    'hist.unknown': '—',
    'hist.record-of': 'в собственной записи Стороны {party}',
    'hist.about': '({list})',
    'hist.filter': 'Показать',
    'hist.filter.all': 'весь проект',
    'hist.filter.current': 'положение, в котором я нахожусь ({label})',
    'hist.filter.current-none': 'положение, в котором я нахожусь (пока нет)',
    'hist.more': 'Показать более ранние изменения',
    'hist.refresh': 'Обновить',
    'hist.w.created': 'создание',
    'hist.w.touched': 'отметка о последнем изменении',
    'hist.w.text': 'текст: {p} ({lang})',
    'hist.w.stale': 'отметки о расхождении: {p}',
    'hist.w.removed': 'удалено: {p}',
    'hist.w.provision': 'положение {p}',
    'hist.w.order': 'порядок положений',
    'hist.w.revision': 'редакция',
    'hist.w.workflow': 'порядок работы',
    'hist.w.version': 'именованная версия',
    'hist.w.legacy': '{what} (до введения аутентификации)',
    'hist.w.approvals': 'одобрения',
    'hist.w.signatures': 'подписи',
    'hist.w.suggestions': 'предложения',
    'hist.w.approval': 'одобрение',
    'hist.w.signature': 'подпись',
    'hist.w.comment': 'комментарий',
    'hist.w.suggestion': 'предложение',
    'hist.w.decision': 'решение по предложению',
    'hist.w.message': 'сообщение',
    'hist.w.assigned': 'назначен офицер ({x})',
    'hist.w.ended': 'завершено назначение офицера ({x})',
    'hist.w.mandate': 'зарегистрирован мандат {x}',
    'hist.w.mandate-amended': 'зарегистрирован или изменён мандат {x}',
    'hist.w.mandate-withdrawn': 'отозван мандат {x}',
    'hist.w.document': 'документ',
    'hist.w.title': 'название',
    'hist.w.meeting kind': 'вид',
    'hist.w.starts': 'начало',
    'hist.w.ends': 'окончание',
    'hist.w.venue': 'место проведения',
    'hist.w.sidelines of': 'на полях мероприятия',
    'hist.w.status': 'статус',
    'hist.w.agenda': 'повестка дня',
    'hist.w.participants': 'участники',
    'hist.w.minutes': 'протокол',
    'hist.w.name': 'название',
    'hist.w.mandate-field': 'мандат',
    'hist.w.mandate ref': 'ссылка на мандат',
    'hist.w.members': 'участники',
    'hist.lang.en': 'английский',
    'hist.lang.ru': 'русский',
    'hist.w.subject': 'тема',
    'hist.ins': 'вставлено:',
    'hist.del': 'удалено:',
    'hist.ins-end': 'конец вставки',
    'hist.del-end': 'конец удаления',
    'hist.no-change': 'Различий нет.',
    'hist.message-key': 'сообщение {id}',
    'hist.filter.lang': 'Язык',
    'hist.filter.lang-all': 'все языки',
  },
});

const PAGE = 50; // entries asked for at first, and added by "Show older changes"
const THROTTLE_MS = 2000; // at most one reload this often on live events (typing sends many)

let seq = 0;

function has(key) {
  return t(key) !== key;
}

function langWord(code) {
  return has(`hist.lang.${code}`) ? t(`hist.lang.${code}`) : code;
}

/**
 * A word diff from the node (`[{op: 'equal'|'insert'|'delete', text}]`) as track changes:
 * insertions in <ins>, deletions in <del>, each announced to screen readers in the interface
 * language (they do not say <ins>/<del> by themselves). `lang` is the text's language.
 */
export function trackChanges(diff, lang) {
  const el = h('div', { class: 'track-changes', 'data-track-changes': '' });
  if (lang) el.lang = lang;
  const pieces = Array.isArray(diff) ? diff : [];
  if (!pieces.some((p) => p.op !== 'equal')) {
    el.append(h('span', { class: 'muted', lang: document.documentElement.lang }, t('hist.no-change')));
    return el;
  }
  const sr = (key) => h('span', { class: 'sr-only', lang: document.documentElement.lang }, ` ${t(key)} `);
  for (const p of pieces) {
    if (p.op === 'insert') el.append(h('ins', {}, sr('hist.ins'), p.text, sr('hist.ins-end')));
    else if (p.op === 'delete') el.append(h('del', {}, sr('hist.del'), p.text, sr('hist.del-end')));
    else el.append(document.createTextNode(p.text));
  }
  return el;
}

/** The language of a text a history entry changed ("text of p (ru)"), if it says. */
function textLang(what) {
  const m = /^text of \S+ \(([^)]+)\)$/.exec(what);
  return m ? m[1] : undefined;
}

/**
 * One of the node's English labels of what a change did, in the interface language, and the
 * provisions it names. `label(id)` gives a provision's label for its id.
 */
export function whatText(what, label = (p) => p) {
  const named = [];
  const p = (id) => {
    named.push(id);
    return label(id);
  };
  let m;
  let s;
  if ((m = /^text of (\S+) \(([^)]+)\)$/.exec(what))) s = t('hist.w.text', { p: p(m[1]), lang: langWord(m[2]) });
  else if ((m = /^stale marks of (\S+)$/.exec(what))) s = t('hist.w.stale', { p: p(m[1]) });
  else if ((m = /^removed (\S+)$/.exec(what))) s = t('hist.w.removed', { p: p(m[1]) });
  else if ((m = /^provision (\S+)$/.exec(what))) s = t('hist.w.provision', { p: p(m[1]) });
  else if ((m = /^(approvals|signatures|suggestions) \(before authentication\)$/.exec(what))) {
    s = t('hist.w.legacy', { what: t(`hist.w.${m[1]}`) });
  } else if ((m = /^assigned an officer \((.*)\)$/.exec(what))) s = t('hist.w.assigned', { x: m[1] });
  else if ((m = /^ended an officer's assignment \((.*)\)$/.exec(what))) s = t('hist.w.ended', { x: m[1] });
  else if ((m = /^withdrew mandate (.*)$/.exec(what))) s = t('hist.w.mandate-withdrawn', { x: m[1] });
  else if ((m = /^recorded or amended mandate (.*)$/.exec(what))) s = t('hist.w.mandate-amended', { x: m[1] });
  else if ((m = /^recorded mandate (.*)$/.exec(what))) s = t('hist.w.mandate', { x: m[1] });
  else {
    const fixed = {
      created: 'created',
      touched: 'touched',
      'order of provisions': 'order',
      revision: 'revision',
      workflow: 'workflow',
      'named version': 'version',
      approval: 'approval',
      'execution signature': 'signature',
      comment: 'comment',
      suggestion: 'suggestion',
      'decision on a suggestion': 'decision',
      message: 'message',
      document: 'document',
      mandate: 'mandate-field',
    }[what];
    const key = `hist.w.${fixed || what}`;
    s = has(key) ? t(key) : what; // a label this app does not know: the node's words
  }
  return { text: s, named };
}

// Labels that come with most changes and say little next to the others.
const SECONDARY = new Set(['touched', 'revision']);

/**
 * The labels of an entry worth showing: a document's creation says "created" (not every field
 * it set up); the bookkeeping labels only when there is nothing else.
 */
function shownWhat(e) {
  const all = e.what || [];
  if (e.proof === 'genesis' || all.includes('created')) return ['created'];
  const main = all.filter((w) => !SECONDARY.has(w));
  return main.length ? main : all;
}

/** "from – to" of an entry, short when both are on one day. */
function range(e) {
  if (!e.to || e.to === e.from) return fmtDateTime(e.from);
  const a = new Date(e.from);
  const b = new Date(e.to);
  if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime())) return `${e.from} – ${e.to}`;
  return a.toDateString() === b.toDateString() ? `${fmtDateTime(e.from)} – ${fmtTime(e.to)}` : `${fmtDateTime(e.from)} – ${fmtDateTime(e.to)}`;
}

function proofBadge(e) {
  switch (e.proof) {
    case 'node': {
      const b = badge(t('hist.proof.node'), 'ok');
      b.title = t('hist.proof.node-title');
      return b;
    }
    case 'genesis':
      return badge(t('hist.proof.genesis'), 'plain');
    case 'before-authentication':
      return badge(t('hist.proof.before-authentication', { party: e.sealed_by || t('hist.unknown') }), 'warn');
    default:
      return badge(t('hist.proof.unverified'), 'bad');
  }
}

/**
 * A history panel. `opts`: `path` (the history endpoint), `id` (the element id, for tests and
 * links), optional `provisions()` → `[[id, label], ...]` for a draft (then a filter is offered),
 * `label(id)` a provision's label, and `current()` the provision the officer is in.
 * Returns `{el, poke, refreshFilter, stop}`.
 */
export function historyPanel(opts) {
  const n = ++seq;
  const uid = opts.id || `history-${n}`;
  const box = h('div', { class: 'history-body' });
  const more = h('button', { type: 'button', class: 'small', 'data-history-more': '', hidden: true }, t('hist.more'));
  const refresh = h('button', { type: 'button', class: 'small', 'data-history-refresh': '' }, t('hist.refresh'));
  const label = opts.label || ((p) => p);
  let filter = null;
  if (opts.provisions) {
    filter = select({ id: `${uid}-filter`, 'data-history-filter': '' }, []);
    filter.addEventListener('change', () => load());
  }
  // A draft's languages: its history may be read for one of them.
  let langFilter = null;
  if (opts.languages) {
    langFilter = select({ id: `${uid}-lang`, 'data-history-lang': '' }, []);
    langFilter.addEventListener('change', () => load());
  }
  const el = h(
    'details',
    { class: 'card history', id: uid, 'data-history': '' },
    h('summary', {}, t('hist.title')),
    h('p', { class: 'muted small', id: `${uid}-intro` }, t('hist.intro')),
    h(
      'div',
      { class: 'inline-form history-tools' },
      filter ? h('div', { class: 'field' }, h('label', { for: filter.id }, t('hist.filter')), filter) : null,
      langFilter ? h('div', { class: 'field' }, h('label', { for: langFilter.id }, t('hist.filter.lang')), langFilter) : null,
      refresh,
    ),
    box,
    h('div', { class: 'actions' }, more),
  );
  let limit = PAGE;
  let stopped = false;
  let loading = 0; // the sequence number of the request whose answer is wanted
  let timer = null;
  let lastKey = '';

  /** Rebuilds the filter's options (the provisions changed, or where the officer is). */
  const refreshFilter = () => {
    if (langFilter) {
      const lv = langFilter.value;
      const langs = [['', t('hist.filter.lang-all')], ...opts.languages().map((l) => [l, langWord(l)])];
      const lkey = JSON.stringify(langs);
      if (lkey !== langFilter.dataset.key) {
        langFilter.dataset.key = lkey;
        langFilter.replaceChildren(...langs.map(([val, text]) => h('option', { value: val }, text)));
        langFilter.value = [...langFilter.options].some((o) => o.value === lv) ? lv : '';
      }
    }
    if (!filter) return;
    const v = filter.value;
    const cur = opts.current ? opts.current() : null;
    const options = [['', t('hist.filter.all')]];
    options.push(['@current', cur ? t('hist.filter.current', { label: label(cur) }) : t('hist.filter.current-none')]);
    for (const [id, l] of opts.provisions()) options.push([id, l]);
    const key = JSON.stringify(options);
    if (key !== filter.dataset.key) {
      filter.dataset.key = key;
      filter.replaceChildren(...options.map(([val, text]) => h('option', { value: val }, text)));
      filter.value = [...filter.options].some((o) => o.value === v) ? v : '';
    }
    return cur;
  };

  let shownFor = null; // the provision the "I am in" filter showed last
  const wanted = () => {
    if (!filter) return null;
    if (filter.value === '@current') return opts.current ? opts.current() : null;
    return filter.value || null;
  };

  async function load() {
    if (stopped || !el.open) return;
    const mine = ++loading;
    const q = new URLSearchParams({ limit: String(limit) });
    const p = wanted();
    shownFor = p;
    if (filter && filter.value === '@current' && !p) {
      fill(box, h('p', { class: 'muted' }, t('hist.none')));
      more.hidden = true;
      return;
    }
    if (p) q.set('provision', p);
    if (langFilter && langFilter.value) q.set('lang', langFilter.value);
    if (!box.firstChild) fill(box, h('p', { class: 'muted' }, t('hist.loading')));
    let list;
    try {
      list = await api('GET', `${opts.path}?${q}`);
    } catch (e) {
      if (mine === loading) showError(e, box);
      return;
    }
    if (mine !== loading || stopped) return;
    list = Array.isArray(list) ? list : [];
    more.hidden = list.length < limit;
    const key = JSON.stringify([list, document.documentElement.lang]);
    if (key === lastKey && box.querySelector('table')) return;
    lastKey = key;
    if (!list.length) {
      fill(box, h('p', { class: 'muted' }, t('hist.none')));
      return;
    }
    const rows = list.slice().reverse().map((e) => {
      const whats = shownWhat(e);
      const named = new Set();
      const texts = whats.map((w) => {
        const r = whatText(w, label);
        for (const x of r.named) named.add(x);
        return r.text;
      });
      const about = (e.provisions || []).filter((x) => !named.has(x));
      const whatCell = h('td', {}, texts.join(', '));
      if (about.length) whatCell.append(' ', h('span', { class: 'muted' }, t('hist.about', { list: about.map(label).join(', ') })));
      if (e.record_of) whatCell.append(h('br'), h('span', { class: 'small muted' }, t('hist.record-of', { party: e.record_of })));
      for (const c of e.texts || []) {
        const name = c.key ? t('hist.message-key', { id: c.key }) : whatText(c.what, label).text;
        whatCell.append(
          h(
            'div',
            { class: 'history-change', 'data-text-change': c.what, 'data-key': c.key || '' },
            h('span', { class: 'small muted' }, `${name}:`),
            trackChanges(c.diff, textLang(c.what)),
          ),
        );
      }
      // A fixed first change is the same on every node and has no real time (it says 1970).
      const when = h('td', {}, e.proof === 'genesis' || /^1970-01-01T/.test(e.from || '') ? t('hist.unknown') : range(e));
      if (e.changes > 1) when.append(h('br'), h('span', { class: 'small muted' }, t('hist.changes', { n: e.changes })));
      return h(
        'tr',
        {
          'data-party': e.party || '',
          'data-proof': e.proof,
          'data-officer': e.officer || '',
          'data-what': (e.what || []).join('|'),
        },
        when,
        h('td', {}, e.officer || t('hist.unknown')),
        h('td', {}, e.party ? partyName(e.party) : t('hist.unknown')),
        h('td', {}, e.node ? shortPeer(e.node) : t('hist.unknown')),
        h('td', {}, proofBadge(e)),
        whatCell,
      );
    });
    fill(
      box,
      table(
        [t('hist.c-when'), t('hist.c-officer'), t('hist.c-party'), t('hist.c-node'), t('hist.c-proof'), t('hist.c-what')],
        rows,
        t('hist.caption'),
      ),
    );
  }

  el.addEventListener('toggle', () => {
    if (el.open) {
      refreshFilter();
      load();
    }
  });
  refresh.addEventListener('click', () => {
    lastKey = '';
    load();
  });
  more.addEventListener('click', () => {
    limit += PAGE;
    load();
  });

  return {
    el,
    /** Opens the panel on one provision's history (from the provision's own button). */
    show(provision) {
      if (!filter) return;
      refreshFilter();
      filter.value = provision;
      lastKey = '';
      if (el.open) load();
      else el.open = true; // the toggle event loads it
      el.scrollIntoView({ block: 'start' });
      filter.focus();
    },
    /** Something changed: reload (at most every few seconds), if open. */
    poke() {
      if (stopped || !el.open || timer) return;
      timer = setTimeout(() => {
        timer = null;
        load();
      }, THROTTLE_MS);
    },
    /** The provisions or the officer's place changed: update the filter (and reload if it follows). */
    refreshFilter() {
      if (!filter) return;
      const cur = refreshFilter();
      if (el.open && filter.value === '@current' && cur !== shownFor) load();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
