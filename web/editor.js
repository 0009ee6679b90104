// The draft editor (#/drafts/{id}): every language side by side, provision by provision, edited
// live by officers of both Parties (collab.js), with stale marks, comments (and replies),
// suggestions, versions, the workflow up to signature, who else is here, and the draft's history
// (pages/history.js).

import { api, ApiError, onConnection, onEvent } from './api.js';
import { register, t, onLang, lang as uiLang } from './i18n.js';
import { createCollab } from './collab.js';
import { historyPanel, trackChanges } from './pages/history.js';
import { fmtDateTime, partyName as nameOfParty } from './pages/ui.js';

register({
  en: {
    'ed.loading': 'Loading the draft…',
    'ed.notfound': 'This draft could not be opened: {msg}',
    'ed.refused': 'The node refused: {msg}',
    'ed.sync.saved': 'saved',
    'ed.sync.pending': 'saving…',
    'ed.sync.offline': 'offline, will retry',
    'ed.state.draft': 'drafting',
    'ed.state.under-review': 'under review',
    'ed.state.agreed': 'agreed',
    'ed.state.executed': 'executed',
    'ed.state.withdrawn': 'withdrawn',
    'ed.state.label': 'State',
    'ed.meta': 'Revision {rev} · last change {at} by {by}',
    'ed.here': 'Also here:',
    'ed.here.none': 'No one else is here.',
    'ed.here.at': '{officer} ({party}) — {where}',
    'ed.here.draft': 'the draft',
    'ed.here.cell': '{officer} ({party}) is here',
    'ed.lang.en': 'English',
    'ed.lang.ru': 'Russian',
    'ed.langin.en': 'English',
    'ed.langin.ru': 'Russian',
    'ed.text.label': '{label}, {lang} text',
    'ed.provision': 'Provision',
    'ed.kind.preamble': 'preamble paragraph',
    'ed.kind.article': 'article',
    'ed.kind.item': 'sub-item',
    'ed.stale': '{lang} may no longer say what {other} says ({other} changed by {by}, {at})',
    'ed.align': 'Align',
    'ed.align.label': 'Mark the languages of {label} as aligned',
    'ed.up': 'Move up',
    'ed.down': 'Move down',
    'ed.remove': 'Remove',
    'ed.remove.confirm': 'Remove {label} in every language?',
    'ed.addafter': 'Add after',
    'ed.up.label': 'Move {label} up',
    'ed.down.label': 'Move {label} down',
    'ed.remove.label': 'Remove {label}',
    'ed.addafter.label': 'Add a provision after {label}',
    'ed.add': 'Add provision',
    'ed.add.kind': 'Kind of the new provision',
    'ed.review.summary': 'Comments ({c}) · Suggestions ({s})',
    'ed.comments': 'Comments',
    'ed.comments.none': 'No comments.',
    'ed.comment.add': 'Add comment',
    'ed.comment.label': 'Comment on {label}',
    'ed.reply': 'Reply',
    'ed.reply.label': 'Reply to the comment of {by}',
    'ed.reply.to': 'Replying to {by}: “{text}”',
    'ed.reply.cancel': 'Cancel reply',
    'ed.reply.text-label': 'Reply to {by} on {label}',
    'ed.reply.send': 'Send reply',
    'ed.comments.closed': 'The draft is executed: no more comments.',
    'ed.history': 'History of the draft',
    'ed.history.provision': 'History',
    'ed.history.provision-label': 'History of {label}: who changed its text, and how',
    'ed.suggestions': 'Suggestions',
    'ed.suggestions.none': 'No open suggestions.',
    'ed.suggest': 'Suggest',
    'ed.suggest.label': 'Suggested text for {label}',
    'ed.suggest.lang': 'Language of the suggestion',
    'ed.suggestion.by': '{by}, {at}, {lang}:',
    'ed.accept': 'Accept',
    'ed.reject': 'Reject',
    'ed.accept.label': 'Accept the suggestion of {by}',
    'ed.reject.label': 'Reject the suggestion of {by}',
    'ed.workflow': 'Workflow',
    'ed.act.review': 'Put to review',
    'ed.act.approve': 'Approve',
    'ed.act.sign': 'Sign',
    'ed.act.withdraw': 'Withdraw',
    'ed.withdraw.confirm': 'Withdraw this draft? This cannot be undone.',
    'ed.sign.confirm': 'Sign this text for your Party with the Party key?',
    'ed.verify': 'Verify',
    'ed.verify.ok': 'Verified: the signatures and the text agree.',
    'ed.verify.bad': 'Verification found problems:',
    'ed.verify.sig': '{party} ({fingerprint}): {valid}',
    'ed.valid': 'valid',
    'ed.invalid': 'INVALID',
    'ed.approvals': 'Approvals',
    'ed.approvals.none': 'No approvals yet.',
    'ed.approval': '{party}: {by}, {at} — {holds}',
    'ed.signatures': 'Signatures',
    'ed.signatures.none': 'No signatures yet.',
    'ed.signature': '{party}: {by}, {at}, key {fingerprint} — {holds}',
    'ed.holds': 'holds',
    'ed.void': 'void: the text changed since',
    'ed.export': 'Export:',
    'ed.export.html': 'HTML',
    'ed.export.md': 'Markdown',
    'ed.original': 'Signed originals (PDF):',
    'ed.original.en': 'English',
    'ed.original.ru': 'Russian',
    'ed.versions': 'Versions',
    'ed.versions.none': 'No named versions.',
    'ed.version.item': '{name} — {by}, {at}',
    'ed.version.name': 'Name of the current version',
    'ed.version.add': 'Name this version',
    'ed.diff': 'Compare',
    'ed.diff.lang': 'Language',
    'ed.diff.from': 'From',
    'ed.diff.to': 'To',
    'ed.diff.last': 'last named version',
    'ed.diff.current': 'current text',
    'ed.diff.show': 'Show differences',
    'ed.diff.empty': 'No differences.',
    'ed.readonly': 'You can read this draft; your role does not allow changes.',
    'ed.frozen': 'This draft is {state}: its text can no longer change.',
    'ed.unknown': 'unknown',
    'ed.label.article': 'Article {n}',
    'ed.label.preamble': 'Preamble {n}',
  },
  ru: {
    'ed.loading': 'Загрузка проекта…',
    'ed.notfound': 'Не удалось открыть проект: {msg}',
    'ed.refused': 'Узел отказал: {msg}',
    'ed.sync.saved': 'сохранено',
    'ed.sync.pending': 'сохранение…',
    'ed.sync.offline': 'нет связи, повтор попытки',
    'ed.state.draft': 'на подготовке',
    'ed.state.under-review': 'на рассмотрении',
    'ed.state.agreed': 'согласован',
    'ed.state.executed': 'подписан',
    'ed.state.withdrawn': 'отозван',
    'ed.state.label': 'Состояние',
    'ed.meta': 'Редакция {rev} · последнее изменение {at}, {by}',
    'ed.here': 'Также здесь:',
    'ed.here.none': 'Больше никого нет.',
    'ed.here.at': '{officer} ({party}) — {where}',
    'ed.here.draft': 'проект',
    'ed.here.cell': '{officer} ({party}) здесь',
    'ed.lang.en': 'Английский',
    'ed.lang.ru': 'Русский',
    'ed.langin.en': 'на английском языке',
    'ed.langin.ru': 'на русском языке',
    'ed.text.label': '{label}, текст {lang}',
    'ed.provision': 'Положение',
    'ed.kind.preamble': 'абзац преамбулы',
    'ed.kind.article': 'статья',
    'ed.kind.item': 'подпункт',
    'ed.stale': 'Текст {lang} может расходиться с текстом {other}: текст {other} изменён ({by}, {at})',
    'ed.align': 'Тексты сверены',
    'ed.align.label': '{label}: отметить, что тексты на всех языках сверены и совпадают',
    'ed.up': 'Выше',
    'ed.down': 'Ниже',
    'ed.remove': 'Удалить',
    'ed.remove.confirm': '{label}: удалить на всех языках?',
    'ed.addafter': 'Добавить после',
    'ed.up.label': '{label}: переместить выше',
    'ed.down.label': '{label}: переместить ниже',
    'ed.remove.label': '{label}: удалить',
    'ed.addafter.label': '{label}: добавить следующее положение',
    'ed.add': 'Добавить положение',
    'ed.add.kind': 'Вид нового положения',
    'ed.review.summary': 'Комментарии ({c}) · Предложения ({s})',
    'ed.comments': 'Комментарии',
    'ed.comments.none': 'Комментариев нет.',
    'ed.comment.add': 'Добавить комментарий',
    'ed.comment.label': '{label}: комментарий',
    'ed.reply': 'Ответить',
    'ed.reply.label': 'Ответить на комментарий: {by}',
    'ed.reply.to': 'Ответ на комментарий {by}: «{text}»',
    'ed.reply.cancel': 'Не отвечать',
    'ed.reply.text-label': '{label}: ответ на комментарий {by}',
    'ed.reply.send': 'Отправить ответ',
    'ed.comments.closed': 'Проект подписан: комментарии больше не принимаются.',
    'ed.history': 'История проекта',
    'ed.history.provision': 'История',
    'ed.history.provision-label': 'История положения «{label}»: кто и как менял его текст',
    'ed.suggestions': 'Предложения',
    'ed.suggestions.none': 'Открытых предложений нет.',
    'ed.suggest': 'Предложить',
    'ed.suggest.label': '{label}: предлагаемый текст',
    'ed.suggest.lang': 'Язык предложения',
    'ed.suggestion.by': '{by}, {at}, {lang}:',
    'ed.accept': 'Принять',
    'ed.reject': 'Отклонить',
    'ed.accept.label': 'Принять предложение: {by}',
    'ed.reject.label': 'Отклонить предложение: {by}',
    'ed.workflow': 'Порядок работы',
    'ed.act.review': 'Передать на рассмотрение',
    'ed.act.approve': 'Одобрить',
    'ed.act.sign': 'Подписать',
    'ed.act.withdraw': 'Отозвать',
    'ed.withdraw.confirm': 'Отозвать этот проект? Это действие необратимо.',
    'ed.sign.confirm': 'Подписать этот текст ключом вашей Стороны?',
    'ed.verify': 'Проверить',
    'ed.verify.ok': 'Проверено: подписи и текст совпадают.',
    'ed.verify.bad': 'Проверка выявила проблемы:',
    'ed.verify.sig': '{party} ({fingerprint}): {valid}',
    'ed.valid': 'действительна',
    'ed.invalid': 'НЕДЕЙСТВИТЕЛЬНА',
    'ed.approvals': 'Одобрения',
    'ed.approvals.none': 'Одобрений пока нет.',
    'ed.approval': '{party}: {by}, {at} — {holds}',
    'ed.signatures': 'Подписи',
    'ed.signatures.none': 'Подписей пока нет.',
    'ed.signature': '{party}: {by}, {at}, ключ {fingerprint} — {holds}',
    'ed.holds': 'в силе',
    'ed.void': 'утратило силу: текст с тех пор изменился',
    'ed.export': 'Экспорт:',
    'ed.export.html': 'HTML',
    'ed.export.md': 'Markdown',
    'ed.original': 'Подписанные подлинники (PDF):',
    'ed.original.en': 'на английском',
    'ed.original.ru': 'на русском',
    'ed.versions': 'Версии',
    'ed.versions.none': 'Именованных версий нет.',
    'ed.version.item': '{name} — {by}, {at}',
    'ed.version.name': 'Название текущей версии',
    'ed.version.add': 'Назвать эту версию',
    'ed.diff': 'Сравнение',
    'ed.diff.lang': 'Язык',
    'ed.diff.from': 'С',
    'ed.diff.to': 'По',
    'ed.diff.last': 'последняя именованная версия',
    'ed.diff.current': 'текущий текст',
    'ed.diff.show': 'Показать различия',
    'ed.diff.empty': 'Различий нет.',
    'ed.readonly': 'Вы можете читать этот проект; ваша роль не позволяет вносить изменения.',
    'ed.frozen': 'Проект {state}: его текст больше не может меняться.',
    'ed.unknown': 'неизвестно',
    'ed.label.article': 'Статья {n}',
    'ed.label.preamble': 'Преамбула {n}',
  },
});

const PRESENCE_EVERY_MS = 5000;
const PRESENCE_TTL_MS = 15000;

/** Creates an element: h('button', {type: 'button', class: 'x'}, 'text', child). Text only. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

function langName(code) {
  const k = `ed.lang.${code}`;
  const s = t(k);
  return s === k ? code.toUpperCase() : s;
}

/** "in English" as it fits after "text" ("English" / «на английском языке»). */
function langIn(code) {
  const k = `ed.langin.${code}`;
  const s = t(k);
  return s === k ? langName(code) : s;
}

/** Sets a text or an attribute only when it differs: no needless change for screen readers. */
function setText(el, s) {
  if (el.textContent !== s) el.textContent = s;
}
function setAttr(el, name, v) {
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}

const built = new WeakMap(); // element -> key of the data its content was last built from

/**
 * Rebuilds `el`'s content with `build()` only when `key` (a JSON of the data it shows, and the
 * interface language) changed. If the focus was inside, it goes back to the new element with the
 * same `data-focus`, or, when that is gone, to `el` itself.
 */
function rebuild(el, key, build) {
  if (built.get(el) === key) return false;
  built.set(el, key);
  const a = document.activeElement;
  const had = a && a !== el && el.contains(a) ? a.getAttribute('data-focus') || '' : null;
  clear(el);
  build();
  if (had !== null) {
    const back = had ? el.querySelector(`[data-focus="${CSS.escape(had)}"]`) : null;
    if (back && !back.disabled) back.focus();
    else {
      if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
      el.focus();
    }
  }
  return true;
}

/** The node's label of a provision ("Article 2", "Preamble 1", "(b)") in the interface language. */
function labelOf(label) {
  const m = /^(Article|Preamble) (\d+)$/.exec(label || '');
  return m ? t(`ed.label.${m[1].toLowerCase()}`, { n: m[2] }) : label;
}

function who(a) {
  if (!a) return t('ed.unknown');
  return a.party ? `${a.officer} (${nameOfParty(a.party)})` : a.officer;
}

function when(s) {
  if (!s) return t('ed.unknown');
  // The app's one date format.
  return fmtDateTime(s);
}

let cssAdded = false;
function addCss() {
  if (cssAdded || document.querySelector('link[href="/editor.css"]')) return;
  cssAdded = true;
  document.head.append(h('link', { rel: 'stylesheet', href: '/editor.css' }));
}

let uid = 0;

/** Renders the editor for one draft into `main`; returns the cleanup function. */
export function render(main, ctx, draftId) {
  addCss();
  const session = (ctx && ctx.session) || {};
  const role = session.role || 'viewer';
  const canEdit = role !== 'viewer';
  const canSign = role === 'liaison' || role === 'admin';
  const n = ++uid;

  let draft = null;
  let collab = null;
  let disposed = false;
  const cleanups = [];
  const rows = new Map(); // provision id -> row object
  const presence = new Map(); // "officer\u0000party" -> {officer, party, provision, lang, at}
  let focusAt = { provision: null, lang: null };
  let presenceOff = false;
  let lastProvision = null; // the provision whose text the officer was last in (history filter)
  let hist = null; // the history panel, once the draft is loaded

  clear(main);
  const status = h('p', { class: 'ed-loading', role: 'status', text: t('ed.loading') });
  main.append(status);

  // ---- the page's fixed parts (built once, relabelled on language change) ----
  const labels = []; // [el, key, prop, vars?]
  const lab = (el, key, prop = 'textContent') => {
    labels.push([el, key, prop]);
    el[prop] = t(key);
    return el;
  };
  const relabel = () => {
    for (const [el, key, prop] of labels) {
      if (prop === 'textContent') el.textContent = t(key);
      else el.setAttribute(prop, t(key));
    }
  };

  const titleEl = h('h1', { class: 'ed-title', id: `ed-title-${n}` });
  const badge = h('span', { class: 'ed-badge' });
  // Visible sync state, not a live region (it would speak on every keystroke); only going
  // offline is announced, through `syncSr`.
  const syncEl = h('span', { id: 'sync-state', class: 'ed-sync', 'data-state': 'saved' });
  const syncSr = h('span', { class: 'sr-only', role: 'status' });
  const metaEl = h('p', { class: 'ed-meta' });
  const noticeEl = h('p', { class: 'ed-notice', hidden: true });
  const errorEl = h('p', { class: 'ed-error', role: 'alert', hidden: true });
  const hereList = h('ul', { class: 'ed-here-list' });
  const hereBox = h('div', { class: 'ed-presence', 'aria-live': 'polite' }, lab(h('span', { class: 'ed-here-title' }), 'ed.here'), hereList);

  // Workflow.
  const actBtn = (key, action, confirmKey) =>
    lab(
      h('button', {
        type: 'button',
        class: 'ed-act',
        'data-action': action,
        onclick: () => {
          if (confirmKey && !window.confirm(t(confirmKey))) return;
          act({ action });
        },
      }),
      key,
    );
  const bReview = actBtn('ed.act.review', 'review');
  const bApprove = actBtn('ed.act.approve', 'approve');
  const bSign = actBtn('ed.act.sign', 'sign', 'ed.sign.confirm');
  const bWithdraw = actBtn('ed.act.withdraw', 'withdraw', 'ed.withdraw.confirm');
  const verifyOut = h('div', { class: 'ed-verify', 'aria-live': 'polite' });
  const bVerify = lab(h('button', { type: 'button', class: 'ed-verify-btn', onclick: () => verify() }), 'ed.verify');
  const exportHtml = lab(h('a', { class: 'ed-export', target: '_blank', rel: 'noopener' }), 'ed.export.html');
  const exportMd = lab(h('a', { class: 'ed-export', download: '' }), 'ed.export.md');
  // One signed original per language, once the draft is executed (made by the node as a PDF).
  const originals = h('span', { class: 'ed-originals' });
  const originalsLine = h('p', { class: 'ed-exports', hidden: true }, lab(h('span', {}), 'ed.original'), ' ', originals);
  const approvalsList = h('ul', { class: 'ed-approvals' });
  const signaturesList = h('ul', { class: 'ed-signatures' });
  const workflow = h(
    'section',
    { class: 'ed-workflow', 'aria-labelledby': `ed-wf-${n}` },
    lab(h('h2', { id: `ed-wf-${n}` }), 'ed.workflow'),
    h('div', { class: 'ed-actions' }, bReview, bApprove, bSign, bWithdraw, bVerify),
    verifyOut,
    h('div', { class: 'ed-cols' },
      h('div', {}, lab(h('h3', {}), 'ed.approvals'), approvalsList),
      h('div', {}, lab(h('h3', {}), 'ed.signatures'), signaturesList),
    ),
    h('p', { class: 'ed-exports' }, lab(h('span', {}), 'ed.export'), ' ', exportHtml, ' ', exportMd),
    originalsLine,
  );

  // The provisions.
  const grid = h('div', { class: 'ed-grid' });
  const gridHead = h('div', { class: 'ed-grid-head', 'aria-hidden': 'true' });
  grid.append(gridHead);
  const addKind = h('select', { id: `ed-addkind-${n}` });
  const addBox = h(
    'div',
    { class: 'ed-add' },
    lab(h('label', { for: `ed-addkind-${n}` }), 'ed.add.kind'),
    addKind,
    lab(h('button', { type: 'button', onclick: () => act({ action: 'add-provision', kind: addKind.value }) }), 'ed.add'),
  );
  const kinds = ['article', 'item', 'preamble'];
  const fillKinds = (sel) => {
    const v = sel.value;
    clear(sel);
    for (const k of kinds) sel.append(h('option', { value: k, text: t(`ed.kind.${k}`) }));
    if (v) sel.value = v;
  };

  // Versions and diff.
  const versionsList = h('ul', { class: 'ed-versions' });
  const versionName = h('input', { id: `ed-vname-${n}`, type: 'text', autocomplete: 'off' });
  const versionForm = h(
    'form',
    {
      class: 'ed-vform',
      onsubmit: (e) => {
        e.preventDefault();
        const name = versionName.value.trim();
        if (!name) return;
        act({ action: 'version', name }).then((ok) => {
          if (ok) versionName.value = '';
        });
      },
    },
    lab(h('label', { for: `ed-vname-${n}` }), 'ed.version.name'),
    versionName,
    lab(h('button', { type: 'submit' }), 'ed.version.add'),
  );
  const diffLang = h('select', { id: `ed-dlang-${n}` });
  const diffFrom = h('select', { id: `ed-dfrom-${n}` });
  const diffTo = h('select', { id: `ed-dto-${n}` });
  const diffOut = h('div', { class: 'ed-diff', 'data-compare': '', tabindex: '0', hidden: true });
  const diffForm = h(
    'form',
    {
      class: 'ed-dform',
      onsubmit: (e) => {
        e.preventDefault();
        showDiff();
      },
    },
    lab(h('label', { for: `ed-dlang-${n}` }), 'ed.diff.lang'),
    diffLang,
    lab(h('label', { for: `ed-dfrom-${n}` }), 'ed.diff.from'),
    diffFrom,
    lab(h('label', { for: `ed-dto-${n}` }), 'ed.diff.to'),
    diffTo,
    lab(h('button', { type: 'submit' }), 'ed.diff.show'),
  );
  const versions = h(
    'section',
    { class: 'ed-versions-box', 'aria-labelledby': `ed-v-${n}` },
    lab(h('h2', { id: `ed-v-${n}` }), 'ed.versions'),
    versionsList,
    versionForm,
    lab(h('h3', {}), 'ed.diff'),
    diffForm,
    diffOut,
  );

  const root = h(
    'div',
    { class: 'ed', 'data-draft': draftId },
    h('header', { class: 'ed-head' }, h('div', { class: 'ed-titlebar' }, titleEl, badge, syncEl, syncSr), metaEl, hereBox, noticeEl, errorEl),
    workflow,
    grid,
    addBox,
    versions,
  );

  // ---- helpers ----

  function showError(msg) {
    errorEl.textContent = t('ed.refused', { msg });
    errorEl.hidden = false;
  }
  function clearError() {
    errorEl.hidden = true;
    errorEl.textContent = '';
  }

  const frozen = () => !!draft && (draft.state === 'executed' || draft.state === 'withdrawn');
  const textLocked = () => !canEdit || frozen();

  /** Runs a draft action; refreshes after. Resolves true when the node accepted it. */
  async function act(body) {
    clearError();
    try {
      await api('POST', `/api/drafts/${encodeURIComponent(draft.id)}/actions`, body);
      collab.refresh();
      return true;
    } catch (e) {
      showError(e.message);
      return false;
    }
  }

  async function decide(sid, accept) {
    clearError();
    try {
      await api('POST', `/api/suggestions/${encodeURIComponent(sid)}`, { accept });
      collab.refresh();
    } catch (e) {
      showError(e.message);
    }
  }

  async function verify() {
    clear(verifyOut);
    try {
      const v = await api('GET', `/api/drafts/${encodeURIComponent(draft.id)}/verify`);
      const ok = h('p', { class: v.ok ? 'ed-ok' : 'ed-bad', text: t(v.ok ? 'ed.verify.ok' : 'ed.verify.bad') });
      verifyOut.append(ok);
      const ul = h('ul', {});
      for (const s of v.signatures || []) {
        ul.append(h('li', { text: t('ed.verify.sig', { party: nameOfParty(s.party), fingerprint: s.fingerprint, valid: t(s.valid ? 'ed.valid' : 'ed.invalid') }) }));
      }
      for (const p of v.problems || []) ul.append(h('li', { class: 'ed-bad', text: p }));
      if (ul.firstChild) verifyOut.append(ul);
      verifyOut.append(h('p', { class: 'ed-hash', text: v.hash }));
    } catch (e) {
      verifyOut.append(h('p', { class: 'ed-bad', text: t('ed.refused', { msg: e.message }) }));
    }
  }

  async function showDiff() {
    const q = new URLSearchParams();
    q.set('lang', diffLang.value);
    if (diffFrom.value) q.set('from', diffFrom.value);
    if (diffTo.value) q.set('to', diffTo.value);
    try {
      const d = await api('GET', `/api/drafts/${encodeURIComponent(draft.id)}/diff?${q}`);
      diffOut.replaceChildren(trackChanges(d && d.diff, d && d.lang));
      diffOut.hidden = false;
    } catch (e) {
      showError(e.message);
    }
  }

  // ---- presence ----

  function sendPresence() {
    if (presenceOff || !draft || disposed) return;
    api('POST', '/api/presence', { doc: draft.id, provision: focusAt.provision, lang: focusAt.lang }).catch((e) => {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) presenceOff = true;
    });
  }

  /** Our own Party's name for its id; the other Party's id as it is. */
  function partyName(id) {
    return nameOfParty(id);
  }

  let presenceKey = '';
  /** Shows who else is here; repaints only when that changed (it runs every second). */
  function paintPresence() {
    const now = Date.now();
    for (const [k, p] of presence) if (now - p.at > PRESENCE_TTL_MS) presence.delete(k);
    const entries = [];
    for (const p of presence.values()) {
      const row = p.provision ? rows.get(p.provision) : null;
      const party = partyName(p.party);
      const where = row ? (p.lang ? `${row.label} · ${langName(p.lang)}` : row.label) : t('ed.here.draft');
      const cell = row && p.lang && row.cells.has(p.lang) ? [p.provision, p.lang] : null;
      entries.push({
        line: t('ed.here.at', { officer: p.officer, party, where }),
        cell,
        cellText: t('ed.here.cell', { officer: p.officer, party }),
      });
    }
    entries.sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
    const key = JSON.stringify([uiLang(), entries]);
    if (key === presenceKey) return;
    presenceKey = key;
    clear(hereList);
    for (const row of rows.values()) {
      for (const cell of row.cells.values()) {
        clear(cell.here);
        cell.box.classList.remove('ed-others');
      }
    }
    if (!entries.length) hereList.append(h('li', { class: 'ed-none', text: t('ed.here.none') }));
    for (const e of entries) {
      hereList.append(h('li', { text: e.line }));
      const cell = e.cell ? rows.get(e.cell[0]).cells.get(e.cell[1]) : null;
      if (cell) {
        cell.box.classList.add('ed-others');
        cell.here.append(h('span', { class: 'ed-who', text: e.cellText }));
      }
    }
  }

  function onPresence(ev) {
    if (!draft || ev.doc !== draft.id) return;
    if (ev.officer === session.name && ev.party === session.party_id) return;
    presence.set(`${ev.officer}\u0000${ev.party}`, {
      officer: ev.officer,
      party: ev.party,
      provision: ev.provision || null,
      lang: ev.lang || null,
      at: Date.now(),
    });
    paintPresence();
  }

  // ---- rows ----

  function makeRow(p) {
    const row = { id: p.id, label: labelOf(p.label), cells: new Map() };
    const base = `ed-${n}-${p.id}`;
    row.el = h('div', { class: 'ed-row', 'data-provision': p.id, role: 'group', 'aria-labelledby': `${base}-label` });
    row.labelEl = h('h2', { class: 'ed-label', id: `${base}-label`, tabindex: '-1' });
    row.kindEl = h('span', { class: 'ed-kind' });
    row.staleEl = h('div', { class: 'ed-stale-box' });
    row.alignBtn = h('button', { type: 'button', class: 'ed-align', onclick: () => act({ action: 'align', provision: p.id }) });
    row.upBtn = h('button', { type: 'button', class: 'ed-up', onclick: () => move(row, -1) });
    row.downBtn = h('button', { type: 'button', class: 'ed-down', onclick: () => move(row, 1) });
    row.addBtn = h('button', {
      type: 'button',
      class: 'ed-addafter',
      onclick: () => act({ action: 'add-provision', after: row.id, kind: row.kind === 'preamble' ? 'preamble' : 'article' }),
    });
    row.removeBtn = h('button', {
      type: 'button',
      class: 'ed-remove',
      onclick: () => {
        if (window.confirm(t('ed.remove.confirm', { label: row.label }))) act({ action: 'remove-provision', provision: row.id });
      },
    });
    row.tools = h('div', { class: 'ed-tools' }, row.upBtn, row.downBtn, row.addBtn, row.removeBtn);
    // The provision's own history (the draft's history panel, on this provision), for every role.
    row.histBtn = h('button', { type: 'button', class: 'ed-history-btn small', 'data-provision-history': p.id, onclick: () => hist && hist.show(row.id) });
    const side = h('div', { class: 'ed-side' }, row.labelEl, row.kindEl, row.staleEl, row.histBtn, canEdit ? row.alignBtn : null, canEdit ? row.tools : null);
    row.el.append(side);
    for (const l of draft.languages) {
      const id = `${base}-${l}`;
      const labelEl = h('label', { for: id, class: 'ed-lang' });
      const ta = h('textarea', { id, 'data-lang': l, lang: l, spellcheck: 'true', rows: '3' });
      ta.addEventListener('focus', () => {
        focusAt = { provision: row.id, lang: l };
        if (lastProvision !== row.id) {
          lastProvision = row.id;
          if (hist) hist.refreshFilter();
        }
        sendPresence();
      });
      ta.addEventListener('blur', () => {
        // Only a move outside any textarea says "not in a provision any more".
        setTimeout(() => {
          if (disposed) return;
          const a = document.activeElement;
          if (!a || a.tagName !== 'TEXTAREA' || !a.dataset.lang) {
            focusAt = { provision: null, lang: null };
            sendPresence();
          }
        }, 0);
      });
      const here = h('div', { class: 'ed-here' });
      const box = h('div', { class: 'ed-cell', 'data-lang': l }, labelEl, ta, here);
      row.cells.set(l, { box, ta, labelEl, here });
      row.el.append(box);
      collab.attach(ta, p.id, l, p.texts[l] ?? '', draft.version);
    }
    // Review: comments and suggestions (the forms persist across refreshes).
    row.commentsList = h('ul', { class: 'ed-comments' });
    row.suggList = h('ul', { class: 'ed-suggestions' });
    row.commentText = h('textarea', { id: `${base}-comment`, rows: '2', class: 'ed-comment-text' });
    row.commentLabel = h('label', { for: `${base}-comment` });
    row.commentBtn = h('button', { type: 'submit' });
    // Replying to a comment: which one, said above the text, with a way back to a new comment.
    row.replyTo = null;
    row.replyText = h('span', { class: 'ed-reply-text' });
    row.replyCancel = h('button', {
      type: 'button',
      class: 'ed-reply-cancel',
      onclick: () => {
        setReply(row, null);
        row.commentText.focus();
      },
    });
    row.replyNote = h('p', { class: 'ed-reply-note', hidden: true }, row.replyText, ' ', row.replyCancel);
    row.commentForm = h(
      'form',
      {
        class: 'ed-comment-form',
        onsubmit: (e) => {
          e.preventDefault();
          const text = row.commentText.value.trim();
          if (!text) return;
          const body = { action: 'comment', provision: row.id, text };
          if (row.replyTo) body.reply_to = row.replyTo.id;
          act(body).then((ok) => {
            if (!ok) return;
            row.commentText.value = '';
            setReply(row, null);
          });
        },
        onkeydown: (e) => {
          if (e.key === 'Escape' && row.replyTo) {
            e.preventDefault();
            setReply(row, null);
            row.commentText.focus();
          }
        },
      },
      row.replyNote,
      row.commentLabel,
      row.commentText,
      row.commentBtn,
    );
    row.commentsClosed = h('p', { class: 'ed-none', hidden: true });
    row.suggLang = h('select', { id: `${base}-slang` });
    row.suggLangLabel = h('label', { for: `${base}-slang` });
    row.suggText = h('textarea', { id: `${base}-sugg`, rows: '2', class: 'ed-sugg-text' });
    row.suggLabel = h('label', { for: `${base}-sugg` });
    row.suggBtn = h('button', { type: 'submit' });
    row.suggForm = h(
      'form',
      {
        class: 'ed-sugg-form',
        onsubmit: (e) => {
          e.preventDefault();
          const text = row.suggText.value;
          if (!text.trim()) return;
          act({ action: 'suggest', provision: row.id, lang: row.suggLang.value, text }).then((ok) => {
            if (ok) row.suggText.value = '';
          });
        },
      },
      row.suggLangLabel,
      row.suggLang,
      row.suggLabel,
      row.suggText,
      row.suggBtn,
    );
    row.summary = h('summary', {});
    row.commentsTitle = h('h3', {});
    row.suggTitle = h('h3', {});
    row.review = h(
      'details',
      { class: 'ed-review' },
      row.summary,
      h('div', { class: 'ed-review-body' },
        // A viewer gets no form at all: nothing in a provision's row that could change it.
        h('div', {}, row.commentsTitle, row.commentsList, canEdit ? row.commentForm : null, canEdit ? row.commentsClosed : null),
        h('div', {}, row.suggTitle, row.suggList, canEdit ? row.suggForm : null),
      ),
    );
    row.el.append(row.review);
    return row;
  }

  function updateRow(row, p) {
    const L = uiLang();
    row.label = labelOf(p.label);
    row.kind = p.kind;
    setText(row.labelEl, row.label);
    setText(row.kindEl, t(`ed.kind.${p.kind}`));
    setText(row.histBtn, t('ed.history.provision'));
    setAttr(row.histBtn, 'aria-label', t('ed.history.provision-label', { label: row.label }));
    if (row.el.dataset.kind !== p.kind) row.el.dataset.kind = p.kind;
    const locked = textLocked();
    for (const [l, cell] of row.cells) {
      setText(cell.labelEl, langName(l));
      setAttr(cell.ta, 'aria-label', t('ed.text.label', { label: row.label, lang: langIn(l) }));
      if (cell.ta.readOnly !== locked) cell.ta.readOnly = locked;
      const st = p.stale && p.stale[l];
      cell.box.classList.toggle('ed-is-stale', !!st);
      if (st) setAttr(cell.ta, 'aria-describedby', `ed-${n}-${p.id}-stale-${l}`);
      else cell.ta.removeAttribute('aria-describedby');
    }
    const stale = Object.entries(p.stale || {});
    rebuild(row.staleEl, JSON.stringify([L, stale]), () => {
      for (const [l, s] of stale) {
        row.staleEl.append(
          h('p', {
            class: 'ed-stale',
            id: `ed-${n}-${p.id}-stale-${l}`,
            'data-lang': l,
            text: t('ed.stale', { lang: langIn(l), other: langIn(s.changed_lang), by: who(s.by), at: when(s.at) }),
          }),
        );
      }
    });
    row.el.classList.toggle('ed-row-stale', stale.length > 0);
    setText(row.alignBtn, t('ed.align'));
    setAttr(row.alignBtn, 'aria-label', t('ed.align.label', { label: row.label }));
    row.alignBtn.hidden = !stale.length || locked;
    row.tools.hidden = locked;
    // Disabled as well as hidden: a viewer's page holds no usable control that changes the draft.
    const idx = draft.provisions.findIndex((x) => x.id === p.id);
    const off = new Map([row.alignBtn, row.upBtn, row.downBtn, row.addBtn, row.removeBtn, row.commentBtn, row.suggBtn].map((b) => [b, locked]));
    if (idx === 0) off.set(row.upBtn, true);
    if (idx === draft.provisions.length - 1) off.set(row.downBtn, true);
    // Comments stay open on a withdrawn draft; an executed one takes nothing more.
    const commentsOpen = canEdit && draft.state !== 'executed';
    off.set(row.commentBtn, !commentsOpen);
    for (const [b, v] of off) if (b.disabled !== v) b.disabled = v;
    setText(row.upBtn, t('ed.up'));
    setAttr(row.upBtn, 'aria-label', t('ed.up.label', { label: row.label }));
    setText(row.downBtn, t('ed.down'));
    setAttr(row.downBtn, 'aria-label', t('ed.down.label', { label: row.label }));
    setText(row.addBtn, t('ed.addafter'));
    setAttr(row.addBtn, 'aria-label', t('ed.addafter.label', { label: row.label }));
    setText(row.removeBtn, t('ed.remove'));
    setAttr(row.removeBtn, 'aria-label', t('ed.remove.label', { label: row.label }));

    // Comments.
    const comments = p.comments || [];
    const suggs = (draft.open_suggestions || []).filter((s) => s.provision === p.id);
    setText(row.summary, t('ed.review.summary', { c: comments.length, s: suggs.length }));
    setText(row.commentsTitle, t('ed.comments'));
    rebuild(row.commentsList, JSON.stringify([L, commentsOpen, comments]), () => {
      if (!comments.length) row.commentsList.append(h('li', { class: 'ed-none', text: t('ed.comments.none') }));
      // Replies under the comment they answer (one whose comment is not here stays on top).
      const ids = new Set(comments.map((c) => c.id));
      const replies = new Map();
      for (const c of comments) {
        if (c.reply_to && ids.has(c.reply_to) && c.reply_to !== c.id) {
          if (!replies.has(c.reply_to)) replies.set(c.reply_to, []);
          replies.get(c.reply_to).push(c);
        }
      }
      const seen = new Set();
      const item = (c) => {
        seen.add(c.id);
        const li = h('li', { 'data-comment': c.id }, h('span', { class: 'ed-by', text: `${who(c.author)}, ${when(c.at)}: ` }), h('span', { text: c.text }));
        if (commentsOpen) {
          li.append(
            ' ',
            h('button', {
              type: 'button',
              class: 'ed-reply',
              'data-focus': `reply:${c.id}`,
              'aria-label': t('ed.reply.label', { by: who(c.author) }),
              text: t('ed.reply'),
              onclick: () => {
                setReply(row, c);
                row.commentText.focus();
              },
            }),
          );
        }
        const kids = (replies.get(c.id) || []).filter((k) => !seen.has(k.id));
        if (kids.length) li.append(h('ul', { class: 'ed-replies' }, ...kids.map(item)));
        return li;
      };
      for (const c of comments) {
        if (!(c.reply_to && ids.has(c.reply_to) && c.reply_to !== c.id)) row.commentsList.append(item(c));
      }
      // A loop of replies (it cannot be made here, but data is data): shown flat.
      for (const c of comments) if (!seen.has(c.id)) row.commentsList.append(item(c));
    });
    if (row.replyTo && !comments.some((c) => c.id === row.replyTo.id)) row.replyTo = null;
    if (!commentsOpen) row.replyTo = null;
    paintReply(row);
    row.commentForm.hidden = !commentsOpen;
    setText(row.commentsClosed, t('ed.comments.closed'));
    row.commentsClosed.hidden = commentsOpen || !canEdit;

    // Suggestions.
    setText(row.suggTitle, t('ed.suggestions'));
    const decidable = canEdit && !frozen();
    rebuild(row.suggList, JSON.stringify([L, decidable, suggs]), () => {
      if (!suggs.length) row.suggList.append(h('li', { class: 'ed-none', text: t('ed.suggestions.none') }));
      for (const s of suggs) {
        const li = h(
          'li',
          { 'data-suggestion': s.id },
          h('p', { class: 'ed-by', text: t('ed.suggestion.by', { by: who(s.author), at: when(s.at), lang: langIn(s.lang) }) }),
          h('p', { class: 'ed-sugg', lang: s.lang, text: s.text }),
        );
        if (s.diff) li.append(h('div', { class: 'ed-diff' }, trackChanges(s.diff, s.lang)));
        if (decidable) {
          li.append(
            h('button', { type: 'button', class: 'ed-accept', 'data-focus': `accept:${s.id}`, 'aria-label': t('ed.accept.label', { by: who(s.author) }), text: t('ed.accept'), onclick: () => decide(s.id, true) }),
            ' ',
            h('button', { type: 'button', class: 'ed-reject', 'data-focus': `reject:${s.id}`, 'aria-label': t('ed.reject.label', { by: who(s.author) }), text: t('ed.reject'), onclick: () => decide(s.id, false) }),
          );
        }
        row.suggList.append(li);
      }
    });
    const v = row.suggLang.value;
    if (rebuild(row.suggLang, JSON.stringify([L, draft.languages]), () => {
      for (const l of draft.languages) row.suggLang.append(h('option', { value: l, text: langName(l) }));
    }) && v) row.suggLang.value = v;
    setText(row.suggLangLabel, t('ed.suggest.lang'));
    setText(row.suggLabel, t('ed.suggest.label', { label: row.label }));
    setText(row.suggBtn, t('ed.suggest'));
    row.suggForm.hidden = locked;
    row.suggText.readOnly = locked;
  }

  /** Replies to comment `c` (or, with null, writes a new comment) in `row`'s comment form. */
  function setReply(row, c) {
    row.replyTo = c;
    paintReply(row);
  }

  function paintReply(row) {
    const c = row.replyTo;
    row.replyNote.hidden = !c;
    if (c) {
      const text = c.text.length > 80 ? `${c.text.slice(0, 80)}…` : c.text;
      setText(row.replyText, t('ed.reply.to', { by: who(c.author), text }));
      setText(row.replyCancel, t('ed.reply.cancel'));
      setText(row.commentLabel, t('ed.reply.text-label', { by: who(c.author), label: row.label }));
      setText(row.commentBtn, t('ed.reply.send'));
      row.review.open = true;
    } else {
      setText(row.commentLabel, t('ed.comment.label', { label: row.label }));
      setText(row.commentBtn, t('ed.comment.add'));
    }
  }

  function move(row, delta) {
    const ids = draft.provisions.map((p) => p.id);
    const i = ids.indexOf(row.id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= ids.length) return;
    const focusBtn = delta < 0 ? row.upBtn : row.downBtn;
    const body = { action: 'move-provision', provision: row.id };
    if (delta < 0) {
      if (j === 0) body.first = true;
      else body.after = ids[j - 1];
    } else body.after = ids[j];
    act(body).then(() => focusBtn.focus());
  }

  /** What has the focus, and its selection, so that it can be put back after a reorder. */
  function saveFocus() {
    const el = document.activeElement;
    if (!el || el === document.body || !grid.contains(el)) return null;
    const f = { el, rowEl: el.closest('.ed-row'), order: [...rows.values()].map((r) => r.el) };
    try {
      if (typeof el.selectionStart === 'number') {
        f.sel = [el.selectionStart, el.selectionEnd, el.selectionDirection];
        f.scroll = el.scrollTop;
      }
    } catch {
      // not a text control
    }
    return f;
  }

  /** Puts the focus back where saveFocus found it (moving a node in the DOM drops its focus). */
  function restoreFocus(f) {
    if (!f) return;
    let el = f.el;
    if (el.isConnected && el.disabled) {
      // "Move up" of what became the first provision: its "Move down", and the other way round.
      const row = [...rows.values()].find((r) => r.upBtn === el || r.downBtn === el);
      if (row) el = el === row.upBtn ? row.downBtn : row.upBtn;
      if (el.disabled) el = row ? row.labelEl : null;
    }
    if (!el || !el.isConnected) {
      // Its provision is gone: the one that followed it, else the one before.
      const i = f.order.indexOf(f.rowEl);
      const next = f.order.slice(i + 1).concat(f.order.slice(0, i).reverse()).find((r) => r.isConnected);
      el = next ? next.querySelector('.ed-label') : null;
      if (!el) return;
    }
    if (document.activeElement === el) return;
    el.focus();
    if (el === f.el && f.sel) {
      el.setSelectionRange(f.sel[0], f.sel[1], f.sel[2]);
      el.scrollTop = f.scroll;
    }
  }

  /** Brings everything but the texts of existing textareas up to `d`. */
  function update(d) {
    const L = uiLang();
    draft = d;
    if (root.dataset.draft !== d.id) root.dataset.draft = d.id;
    // The title in the officer's language, the other language's beside it.
    const mine = d[`title_${L}`] || d.title;
    const other = d[`title_${L === 'ru' ? 'en' : 'ru'}`];
    setText(titleEl, other && other !== mine ? `${mine} / ${other}` : mine);
    if (document.title !== mine) document.title = mine;
    setText(badge, t(`ed.state.${d.state}`));
    if (badge.dataset.state !== d.state) badge.dataset.state = d.state;
    setAttr(badge, 'aria-label', `${t('ed.state.label')}: ${t(`ed.state.${d.state}`)}`);
    setText(metaEl, t('ed.meta', { rev: d.rev, at: when(d.updated_at), by: who(d.updated_by) }));
    if (!canEdit) {
      setText(noticeEl, t('ed.readonly'));
      noticeEl.hidden = false;
    } else if (frozen()) {
      setText(noticeEl, t('ed.frozen', { state: t(`ed.state.${d.state}`) }));
      noticeEl.hidden = false;
    } else noticeEl.hidden = true;

    // Workflow buttons: what the role and state allow (the node decides in the end).
    bReview.hidden = !canEdit || d.state !== 'draft';
    bApprove.hidden = !canEdit || !(d.state === 'under-review' || d.state === 'agreed');
    bSign.hidden = !canSign || d.state !== 'agreed';
    bWithdraw.hidden = !canSign || frozen(); // withdrawing cannot be undone: liaison officers only
    const enc = encodeURIComponent(d.id);
    setAttr(exportHtml, 'href', `/api/drafts/${enc}/export?format=html`);
    setAttr(exportMd, 'href', `/api/drafts/${enc}/export?format=md`);
    originalsLine.hidden = d.state !== 'executed';
    rebuild(originals, JSON.stringify([L, d.state, d.languages]), () => {
      if (d.state !== 'executed') return;
      for (const lang of d.languages) {
        const key = `ed.original.${lang}`;
        const label = t(key) === key ? lang.toUpperCase() : t(key);
        originals.append(
          h('a', { class: 'ed-original', 'data-lang': lang, download: '', href: `/api/drafts/${enc}/original?lang=${encodeURIComponent(lang)}&format=pdf`, text: label }),
          ' ',
        );
      }
    });
    rebuild(approvalsList, JSON.stringify([L, d.approvals]), () => {
      if (!d.approvals.length) approvalsList.append(h('li', { class: 'ed-none', text: t('ed.approvals.none') }));
      for (const a of d.approvals) {
        approvalsList.append(
          h('li', { class: a.valid ? 'ed-ok' : 'ed-bad', 'data-party': a.party, 'data-holds': String(!!a.valid), text: t('ed.approval', { party: nameOfParty(a.party), by: who(a.officer), at: when(a.at), holds: t(a.valid ? 'ed.holds' : 'ed.void') }) }),
        );
      }
    });
    rebuild(signaturesList, JSON.stringify([L, d.signatures]), () => {
      if (!d.signatures.length) signaturesList.append(h('li', { class: 'ed-none', text: t('ed.signatures.none') }));
      for (const s of d.signatures) {
        signaturesList.append(
          h('li', { class: s.matches ? 'ed-ok' : 'ed-bad', 'data-party': s.party, 'data-holds': String(!!s.matches), text: t('ed.signature', { party: nameOfParty(s.party), by: who(s.officer), at: when(s.at), fingerprint: s.fingerprint, holds: t(s.matches ? 'ed.holds' : 'ed.void') }) }),
        );
      }
    });

    // Grid header.
    rebuild(gridHead, JSON.stringify([L, d.languages]), () => {
      gridHead.append(h('span', { text: t('ed.provision') }));
      for (const l of d.languages) gridHead.append(h('span', { lang: l, text: langName(l) }));
    });
    grid.style.setProperty('--ed-langs', String(d.languages.length));

    // Rows: keep the existing ones (and their textareas), add new, drop removed, reorder.
    const focus = saveFocus();
    const seen = new Set();
    let prev = gridHead;
    for (const p of d.provisions) {
      seen.add(p.id);
      let row = rows.get(p.id);
      if (!row) {
        row = makeRow(p);
        rows.set(p.id, row);
      }
      updateRow(row, p);
      // Move only what is out of place; the focus is put back below if it was in a moved row.
      if (prev.nextSibling !== row.el) prev.after(row.el);
      prev = row.el;
    }
    for (const [id, row] of rows) {
      if (seen.has(id)) continue;
      for (const cell of row.cells.values()) collab.detach(cell.ta);
      row.el.remove();
      rows.delete(id);
    }
    restoreFocus(focus);
    addBox.hidden = textLocked();

    // Versions.
    rebuild(versionsList, JSON.stringify([L, d.versions]), () => {
      if (!d.versions.length) versionsList.append(h('li', { class: 'ed-none', text: t('ed.versions.none') }));
      for (const v of d.versions) {
        versionsList.append(h('li', { text: t('ed.version.item', { name: v.name, by: who(v.by), at: when(v.at) }) }));
      }
    });
    versionForm.hidden = !canEdit;
    const names = d.versions.map((v) => v.name);
    const dl = diffLang.value;
    if (rebuild(diffLang, JSON.stringify([L, d.languages]), () => {
      for (const l of d.languages) diffLang.append(h('option', { value: l, text: langName(l) }));
    }) && dl) diffLang.value = dl;
    for (const [sel, key] of [[diffFrom, 'ed.diff.last'], [diffTo, 'ed.diff.current']]) {
      const v = sel.value;
      if (rebuild(sel, JSON.stringify([L, names]), () => {
        sel.append(h('option', { value: '', text: t(key) }));
        for (const name of names) sel.append(h('option', { value: name, text: name }));
      })) {
        sel.value = v;
        if (sel.selectedIndex < 0) sel.value = '';
      }
    }
    if (built.get(addKind) !== L) {
      built.set(addKind, L);
      fillKinds(addKind);
    }
    if (hist) hist.refreshFilter();
    paintPresence();
  }

  function paintSync(s) {
    syncEl.dataset.state = s;
    setText(syncEl, t(`ed.sync.${s}`));
    // Announced: going offline only (an error has its own alert).
    setText(syncSr, s === 'offline' ? t('ed.sync.offline') : '');
  }

  // ---- start ----

  api('GET', `/api/drafts/${encodeURIComponent(draftId)}`).then(
    (d) => {
      if (disposed) return;
      draft = d;
      collab = createCollab({
        draftId: d.id,
        onDraft: (nd) => {
          if (!disposed) update(nd);
        },
        onState: paintSync,
        onError: showError,
        onRemote: (el) => {
          const box = el.closest('.ed-cell');
          if (!box) return;
          box.classList.remove('ed-flash');
          void box.offsetWidth;
          box.classList.add('ed-flash');
        },
      });
      window.__liaisonEditor = collab.hooks;
      const provisionLabel = (pid) => {
        const row = rows.get(pid);
        return row ? row.label : pid;
      };
      hist = historyPanel({
        path: `/api/drafts/${encodeURIComponent(d.id)}/history`,
        id: 'draft-history',
        provisions: () => (draft ? draft.provisions.map((p) => [p.id, provisionLabel(p.id)]) : []),
        label: provisionLabel,
        languages: () => (draft ? draft.languages : []),
        current: () => (lastProvision && rows.has(lastProvision) ? lastProvision : null),
      });
      cleanups.push(() => hist.stop());
      root.append(h('section', { class: 'ed-history-box', 'aria-label': t('ed.history') }, hist.el));
      clear(main);
      main.append(root);
      update(d);
      relabel();
      paintSync(collab.hooks.state() || 'saved');

      cleanups.push(
        onEvent((ev) => {
          if (!ev || disposed) return;
          if (ev.event === 'doc-changed' && ev.doc === draft.id) {
            collab.onDocChanged(ev);
            hist.poke();
          } else if (ev.event === 'doc-changed' && ev.kind === 'annex') {
            // A Party's own record (approval, signature, comments ...) is a document of its own,
            // and the event does not say whose draft it is on: refresh, it may be this one's.
            collab.refresh();
            hist.poke();
          } else if (ev.event === 'lagged') {
            collab.refresh();
            hist.poke();
          } else if (ev.event === 'presence') onPresence(ev);
        }),
      );
      cleanups.push(
        onLang(() => {
          relabel();
          update(draft);
          paintSync(collab.hooks.state() || 'saved');
        }),
      );
      // The events name every change while the stream is open; the tick reads the whole draft
      // only as a safety net after the stream was down (events may have been missed then), and
      // a reopened stream reads it at once.
      let streamDown = false;
      cleanups.push(
        onConnection((open) => {
          if (!open) streamDown = true;
          else if (streamDown) {
            streamDown = false;
            collab.refresh();
          }
        }),
      );
      const tick = setInterval(() => {
        sendPresence();
        if (streamDown) collab.refresh();
      }, PRESENCE_EVERY_MS);
      const sweep = setInterval(paintPresence, 1000);
      cleanups.push(() => clearInterval(tick), () => clearInterval(sweep));
      const beforeUnload = (e) => {
        if (collab.pending() > 0) e.preventDefault();
      };
      window.addEventListener('beforeunload', beforeUnload);
      cleanups.push(() => window.removeEventListener('beforeunload', beforeUnload));
      sendPresence();
    },
    (e) => {
      if (disposed) return;
      status.textContent = t('ed.notfound', { msg: e.message });
      status.setAttribute('role', 'alert');
    },
  );

  return () => {
    disposed = true;
    for (const c of cleanups) c();
    if (collab) collab.destroy();
    if (window.__liaisonEditor && collab && window.__liaisonEditor === collab.hooks) delete window.__liaisonEditor;
  };
}
