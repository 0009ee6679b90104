// Provided information: provide an item (streamed upload with progress), the items this node
// holds, one item (its content, consent requests for it, and where it went), and the consent
// requests with their grant / deny / revoke actions (also used by the dashboard).

import { api, ApiError, csrfToken } from '/api.js';
import { register, t } from '/i18n.js';
import {
  h, fill, field, select, toast, showError, busy, can, fmtDateTime, fmtBytes, fromLocalInput, pageHeading,
  shortId, shortPeer, table, live, badge, errorText, peerRole, confirmDialog,
} from '/pages/ui.js';
import { partyName } from '/pages/ui.js';
import { auditTable } from '/pages/audit.js';
// The explain answer's reason by its code (its `reason` text is the CLI's, naming CLI commands).
import { refusalText } from '/api.js';
import { TLP, markingBadge, citationsSection, grantedTable, goneNotice } from '/pages/attachments.js';

register({
  en: {
    'items.title': 'Provided information',
    'items.provide': 'Provide an item',
    'items.provide-intro': 'The file is encrypted on this node as it arrives and shared with the other Party. It goes to no third party without your Party’s consent.',
    'items.f-title': 'Title',
    'items.f-file': 'File',
    'items.f-marking': 'Handling marking',
    'items.f-marking-hint': 'RESTRICTED if left empty',
    'items.f-mandate': 'Mandate cited',
    'items.f-mandate-hint': 'The reference of a recorded Member-State mandate, if one applies',
    'items.submit': 'Provide',
    'items.progress': 'Upload progress',
    'items.need-title': 'Give the item a title.',
    'items.need-file': 'Choose a file.',
    'items.provided': 'Item “{title}” provided.',
    'items.uploading': 'Uploading “{name}” ({size})…',
    'items.upload-failed': 'The upload failed.',
    'items.list': 'Items held by this node',
    'items.none': 'No items yet.',
    'items.c-title': 'Title',
    'items.c-provider': 'Provider',
    'items.c-marking': 'Marking',
    'items.c-size': 'Size',
    'items.c-created': 'Provided',
    'items.c-signature': 'Signature',
    'items.untitled': '(restricted item: no title for your role, or no key on this node)',
    'items.sig-ok': 'valid',
    'items.sig-bad': 'INVALID',
    'items.item': 'Item',
    'items.not-found': 'No such item on this node.',
    'items.id': 'Id',
    'items.content-hash': 'Content hash',
    'items.from-peer': 'Received from',
    'items.mandate': 'Mandate',
    'items.readable': 'Readable here',
    'items.sig-warning': 'The provider’s signature does not verify: the stored item was altered, or the provider’s key is not pinned.',
    'items.content': 'Content',
    'items.open': 'Decrypt and show',
    'items.open-hint': 'Each decryption is recorded in the audit log under your name.',
    'items.download': 'Save “{name}”',
    'items.binary': 'This item is not text; save it to open it.',
    'items.back': 'All items',
    'consent.title': 'Consent requests',
    'consent.none': 'No consent requests.',
    'consent.request': 'Ask for consent to pass this item to a third party',
    'consent.third-party': 'Third party',
    'consent.no-third-party': 'No third party is pinned on this node',
    'consent.purpose': 'Purpose',
    'consent.submit': 'Ask for consent',
    'consent.requested': 'Consent requested.',
    'consent.c-item': 'Item',
    'consent.c-parties': 'Provider → requester → third party',
    'consent.c-purpose': 'Purpose',
    'consent.c-asked': 'Asked',
    'consent.c-state': 'State',
    'consent.c-actions': 'Actions',
    'consent.expires': 'Expires (optional)',
    'consent.expires-at': 'until {at}',
    'consent.grant': 'Grant',
    'consent.deny': 'Deny',
    'consent.revoke': 'Revoke',
    'consent.granted': 'Consent granted.',
    'consent.denied': 'Consent denied.',
    'consent.revoked': 'Consent revoked: the third party must destroy the key.',
    'consent.grant-confirm': 'Let “{item}” go to {third} for “{purpose}”? It is sent at once.',
    'consent.deny-confirm': 'Refuse to let “{item}” go to {third}?',
    'consent.revoke-confirm': 'Revoke the consent for “{item}” to go to {third}? The third party must destroy it; this cannot be undone.',
    'consent.transmitted': 'transmitted',
    'consent.key-destroyed': 'key destroyed (confirmed)',
    'consent.awaiting': 'awaiting the provider',
    'state.pending': 'pending',
    'state.granted': 'granted',
    'state.denied': 'denied',
    'state.revoked': 'revoked',
    'state.expired': 'expired',
    'where.title': 'Where it went',
    'where.intro': 'For each pinned peer: may the item go there now, and if not, why.',
    'where.c-peer': 'Peer',
    'where.c-role': 'Role',
    'where.c-allowed': 'May it go there?',
    'where.c-reason': 'Grant or reason',
    'where.allowed': 'yes',
    'where.refused': 'no',
    'where.no-peers': 'No peers are pinned.',
    'where.audit': 'Audit entries for this item',
    'mandates.title': 'Member-State mandates',
    'mandates.intro': 'Consents of Member States, recorded once per Party and cited when providing items, setting up groups and assigning officers.',
    'mandates.none': 'No mandates recorded.',
    'mandates.ref': 'Reference',
    'mandates.party': 'Party',
    'mandates.date': 'Date',
    'mandates.scope': 'Scope',
    'mandates.by': 'Recorded by',
    'mandates.add': 'Record mandate',
    'mandates.added': 'Mandate recorded.',
    'mandates.own-only': 'This node records, amends and withdraws mandates of its own Party ({party}) only.',
    'mandates.state': 'State',
    'mandates.actions': 'Actions',
    'mandates.in-force': 'in force',
    'mandates.not-yet': 'not yet in force',
    'mandates.withdrawn': 'withdrawn {at}',
    'mandates.amended': 'amended {at}',
    'mandates.migrated': 'migrated from before authentication',
    'mandates.withdraw': 'Withdraw',
    'mandates.withdraw-x': 'Withdraw mandate {ref}',
    'mandates.withdraw-confirm': 'Withdraw mandate {ref}? From now on it is not in force; this cannot be undone.',
    'mandates.withdrawn-ok': 'Mandate withdrawn.',
    'mandates.amend': 'Amend',
    'mandates.amend-x': 'Amend the scope of mandate {ref}',
    'mandates.new-scope': 'New scope of {ref}',
    'mandates.amend-save': 'Save scope',
    'mandates.amended-ok': 'Mandate amended.',
    'fetch.title': 'Ask the providers for a granted item',
    'fetch.intro': 'On a third party’s node: if an item granted to you has not arrived, ask the providing nodes for it by its id.',
    'fetch.id': 'Item id (32 hex digits)',
    'fetch.submit': 'Ask',
    'fetch.asked': 'Asked {n} providing node(s).',
  },
  ru: {
    'items.title': 'Предоставленная информация',
    'items.provide': 'Предоставить материал',
    'items.provide-intro': 'Файл шифруется на этом узле по мере поступления и передаётся другой Стороне. Третьим сторонам он не передаётся без согласия вашей Стороны.',
    'items.f-title': 'Название',
    'items.f-file': 'Файл',
    'items.f-marking': 'Гриф',
    'items.f-marking-hint': 'Если не указан — RESTRICTED',
    'items.f-mandate': 'Ссылка на мандат',
    'items.f-mandate-hint': 'Номер зарегистрированного мандата государств-членов, если он требуется',
    'items.submit': 'Предоставить',
    'items.progress': 'Ход загрузки',
    'items.need-title': 'Укажите название материала.',
    'items.need-file': 'Выберите файл.',
    'items.provided': 'Материал «{title}» предоставлен.',
    'items.uploading': 'Загружается «{name}» ({size})…',
    'items.upload-failed': 'Загрузить не удалось.',
    'items.list': 'Материалы на этом узле',
    'items.none': 'Материалов пока нет.',
    'items.c-title': 'Название',
    'items.c-provider': 'Предоставившая сторона',
    'items.c-marking': 'Гриф',
    'items.c-size': 'Размер',
    'items.c-created': 'Предоставлен',
    'items.c-signature': 'Подпись',
    'items.untitled': '(материал ограниченного доступа: название недоступно вашей роли или на этом узле нет ключа)',
    'items.sig-ok': 'верна',
    'items.sig-bad': 'НЕВЕРНА',
    'items.item': 'Материал',
    'items.not-found': 'На этом узле такого материала нет.',
    'items.id': 'Идентификатор',
    'items.content-hash': 'Хеш содержимого',
    'items.from-peer': 'Получен от',
    'items.mandate': 'Мандат',
    'items.readable': 'Читается здесь',
    'items.sig-warning': 'Подпись предоставившей стороны не проходит проверку: материал был изменён или её ключ не закреплён.',
    'items.content': 'Содержание',
    'items.open': 'Расшифровать и показать',
    'items.open-hint': 'Каждая расшифровка записывается в журнал аудита под вашим именем.',
    'items.download': 'Сохранить «{name}»',
    'items.binary': 'Это не текст; сохраните файл, чтобы открыть его.',
    'items.back': 'Все материалы',
    'consent.title': 'Запросы согласия',
    'consent.none': 'Запросов согласия нет.',
    'consent.request': 'Запросить согласие на передачу материала третьей стороне',
    'consent.third-party': 'Третья сторона',
    'consent.no-third-party': 'На этом узле не закреплено ни одной третьей стороны',
    'consent.purpose': 'Цель',
    'consent.submit': 'Запросить согласие',
    'consent.requested': 'Согласие запрошено.',
    'consent.c-item': 'Материал',
    'consent.c-parties': 'Предоставившая → запрашивающая → третья сторона',
    'consent.c-purpose': 'Цель',
    'consent.c-asked': 'Запрошено',
    'consent.c-state': 'Состояние',
    'consent.c-actions': 'Действия',
    'consent.expires': 'Срок действия (необязательно)',
    'consent.expires-at': 'до {at}',
    'consent.grant': 'Дать согласие',
    'consent.deny': 'Отказать',
    'consent.revoke': 'Отозвать',
    'consent.granted': 'Согласие дано.',
    'consent.denied': 'В согласии отказано.',
    'consent.revoked': 'Согласие отозвано: третья сторона обязана уничтожить ключ.',
    'consent.grant-confirm': 'Разрешить передачу «{item}» третьей стороне {third} с целью «{purpose}»? Материал будет отправлен сразу.',
    'consent.deny-confirm': 'Отказать в передаче «{item}» третьей стороне {third}?',
    'consent.revoke-confirm': 'Отозвать согласие на передачу «{item}» третьей стороне {third}? Третья сторона обязана уничтожить материал; отменить это нельзя.',
    'consent.transmitted': 'передан',
    'consent.key-destroyed': 'ключ уничтожен (подтверждено)',
    'consent.awaiting': 'ожидает ответа предоставившей стороны',
    'state.pending': 'ожидает решения',
    'state.granted': 'согласие дано',
    'state.denied': 'отказано',
    'state.revoked': 'отозвано',
    'state.expired': 'истекло',
    'where.title': 'Куда передан материал',
    'where.intro': 'Для каждого закреплённого узла: можно ли передать материал туда сейчас, а если нет, то почему.',
    'where.c-peer': 'Узел',
    'where.c-role': 'Роль',
    'where.c-allowed': 'Можно передать?',
    'where.c-reason': 'Согласие или причина',
    'where.allowed': 'да',
    'where.refused': 'нет',
    'where.no-peers': 'Закреплённых узлов нет.',
    'where.audit': 'Записи журнала аудита по этому материалу',
    'mandates.title': 'Мандаты государств-членов',
    'mandates.intro': 'Согласия государств-членов; регистрируются один раз каждой Стороной и указываются при предоставлении материалов, создании групп и назначении офицеров.',
    'mandates.none': 'Мандаты не зарегистрированы.',
    'mandates.ref': 'Номер',
    'mandates.party': 'Сторона',
    'mandates.date': 'Дата',
    'mandates.scope': 'Содержание',
    'mandates.by': 'Зарегистрировал',
    'mandates.add': 'Зарегистрировать мандат',
    'mandates.added': 'Мандат зарегистрирован.',
    'mandates.own-only': 'Этот узел регистрирует, изменяет и отзывает мандаты только своей Стороны ({party}).',
    'mandates.state': 'Состояние',
    'mandates.actions': 'Действия',
    'mandates.in-force': 'действует',
    'mandates.not-yet': 'ещё не вступил в силу',
    'mandates.withdrawn': 'отозван {at}',
    'mandates.amended': 'изменён {at}',
    'mandates.migrated': 'перенесено из записей до введения аутентификации',
    'mandates.withdraw': 'Отозвать',
    'mandates.withdraw-x': 'Отозвать мандат {ref}',
    'mandates.withdraw-confirm': 'Отозвать мандат {ref}? С этого момента он не действует; отменить это нельзя.',
    'mandates.withdrawn-ok': 'Мандат отозван.',
    'mandates.amend': 'Изменить',
    'mandates.amend-x': 'Изменить содержание мандата {ref}',
    'mandates.new-scope': 'Новое содержание мандата {ref}',
    'mandates.amend-save': 'Сохранить',
    'mandates.amended-ok': 'Мандат изменён.',
    'fetch.title': 'Запросить у предоставивших сторон материал, на который дано согласие',
    'fetch.intro': 'На узле третьей стороны: если материал, на передачу которого дано согласие, не поступил, запросите его у предоставивших узлов по идентификатору.',
    'fetch.id': 'Идентификатор материала (32 шестнадцатеричные цифры)',
    'fetch.submit': 'Запросить',
    'fetch.asked': 'Запрос направлен узлам: {n}.',
  },
});

// Consent records and items are not workspace documents: the node announces their changes with
// a `vault-changed` event. Pages also poll, slowly, for what no event covers (a grant expiring).
const POLL_MS = 15000;

export function render(main, ctx, id) {
  return id ? renderItem(main, ctx, id) : renderList(main, ctx);
}

// ---- the list ----

function renderList(main, ctx) {
  if (ctx.thirdParty) return renderGranted(main, ctx);
  const mandates = mandatesSection(ctx);
  const itemsBox = h('div', { 'aria-busy': 'true' }, t('ui.loading'));
  const consentBox = h('div', {}, t('ui.loading'));
  const fetchBox = h('div');
  fill(
    main,
    pageHeading(t('items.title')),
    can(ctx, 'liaison') ? provideForm(() => load()) : null,
    h('section', { 'aria-labelledby': 'items-list-h' }, h('h2', { id: 'items-list-h' }, t('items.list')), itemsBox),
    h('section', { 'aria-labelledby': 'consent-h' }, h('h2', { id: 'consent-h' }, t('consent.title')), consentBox),
    fetchBox,
    mandates.el,
  );
  // Only a third party's node has provider peers to ask.
  if (can(ctx, 'liaison')) {
    api('GET', '/api/status')
      .then((st) => {
        if ((st.peers || []).some((p) => p.role === 'provider')) fill(fetchBox, fetchForm(() => load()));
      })
      .catch(() => {});
  }
  let lastItems = '';
  const load = async () => {
    try {
      const items = await api('GET', '/api/items');
      const key = JSON.stringify(items);
      if (key !== lastItems) {
        lastItems = key;
        fill(itemsBox, itemsTable(items));
      }
      itemsBox.removeAttribute('aria-busy');
    } catch (e) {
      showError(e, itemsBox);
    }
  };
  const consent = consentSection(consentBox, ctx, () => true);
  load();
  const timer = setInterval(() => {
    load();
    consent.reload();
  }, POLL_MS);
  const off = live((ev) => ev.event === 'peer' || ev.event === 'vault-changed', () => {
    load();
    consent.reload();
  });
  return () => {
    clearInterval(timer);
    off();
    mandates.stop();
  };
}

/**
 * A third party's node: the items granted to this organisation with their state, and asking
 * for one; nothing of the Parties' workflow (no providing, no consent to answer, no mandates).
 */
function renderGranted(main, ctx) {
  const box = h('div', { 'aria-busy': 'true' }, t('ui.loading'));
  fill(
    main,
    pageHeading(t('granted.title')),
    h('p', { class: 'muted' }, t('granted.intro')),
    h('section', { 'aria-label': t('granted.title') }, box),
    can(ctx, 'liaison') ? fetchForm(() => load()) : null,
  );
  let last = '';
  const load = async () => {
    try {
      const g = await api('GET', '/api/granted');
      const key = JSON.stringify(g.grants);
      if (key !== last) {
        last = key;
        fill(box, grantedTable(g.grants || []));
      }
      box.removeAttribute('aria-busy');
    } catch (e) {
      showError(e, box);
    }
  };
  load();
  const timer = setInterval(load, POLL_MS);
  const off = live((ev) => ev.event === 'peer' || ev.event === 'vault-changed', load);
  return () => {
    clearInterval(timer);
    off();
  };
}

function fetchForm(onDone) {
  const id = h('input', { id: 'item-request-id', required: true, pattern: '[0-9a-fA-F]{32}', spellcheck: 'false' });
  const submit = h('button', { type: 'submit', id: 'item-request' }, t('fetch.submit'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'fetch-h', novalidate: true },
    h('h2', { id: 'fetch-h' }, t('fetch.title')),
    h('p', { class: 'muted' }, t('fetch.intro')),
    h('div', { class: 'inline-form' }, field(t('fetch.id'), id), submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const r = await api('POST', `/api/items/${encodeURIComponent(id.value.trim())}/request`);
      toast(t('fetch.asked', { n: r.asked }));
      setTimeout(onDone, 1500);
    });
  });
  return form;
}

/** Today as YYYY-MM-DD in the officer's time zone (a mandate's date is a plain date). */
function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * A mandate's state: in force from its date until withdrawn. `[word, badge kind, state]`.
 */
function mandateState(m) {
  if (m.withdrawn_at) return [t('mandates.withdrawn', { at: fmtDateTime(m.withdrawn_at) }), 'bad', 'withdrawn'];
  if (String(m.date) > today()) return [t('mandates.not-yet'), 'warn', 'not-yet'];
  return [t('mandates.in-force'), 'ok', 'in-force'];
}

/**
 * The Member-State mandates of both Parties, with their state; a liaison officer records new
 * ones, and amends or withdraws those of their own Party (the node refuses the other's).
 * Returns `{el, stop}`.
 */
function mandatesSection(ctx) {
  const box = h('div', {}, t('ui.loading'));
  const summary = h('summary', {}, t('mandates.title'));
  const editable = can(ctx, 'liaison');
  const own = ctx.session.party_id;
  const change = (m, body) => api('POST', `/api/mandates/${encodeURIComponent(m.reference)}`, body);
  let list = null;
  let amending = null; // the reference whose scope is being amended (its form survives reloads)
  const amendForms = new Map();

  const actionsFor = (m) => {
    const cell = h('td', { class: 'actions-cell' });
    if (m.party !== own || m.withdrawn_at) return cell;
    const withdraw = h('button', {
      type: 'button', class: 'small danger', 'data-withdraw': m.reference, 'aria-label': t('mandates.withdraw-x', { ref: m.reference }),
    }, t('mandates.withdraw'));
    withdraw.addEventListener('click', async () => {
      if (!(await confirmDialog(t('mandates.withdraw-confirm', { ref: m.reference })))) return;
      await busy(withdraw, async () => {
        list = await change(m, { action: 'withdraw' });
        toast(t('mandates.withdrawn-ok'));
        show(`[data-mandate="${CSS.escape(m.reference)}"] [data-amend]`);
      });
    });
    const amend = h('button', {
      type: 'button', class: 'small', 'data-amend': m.reference, 'aria-label': t('mandates.amend-x', { ref: m.reference }),
      'aria-expanded': amending === m.reference ? 'true' : 'false',
    }, t('mandates.amend'));
    amend.addEventListener('click', () => {
      amending = amending === m.reference ? null : m.reference;
      show(amending ? `[data-mandate="${CSS.escape(m.reference)}"] input` : `[data-mandate="${CSS.escape(m.reference)}"] [data-amend]`);
    });
    cell.appendChild(h('div', { class: 'actions' }, amend, withdraw));
    if (amending === m.reference) {
      let form = amendForms.get(m.reference);
      if (!form) {
        const scope = h('input', { id: `mandate-scope-${m.reference.replace(/[^A-Za-z0-9_-]/g, '_')}`, value: m.scope, required: true });
        const save = h('button', { type: 'submit', class: 'small primary' }, t('mandates.amend-save'));
        const cancel = h('button', { type: 'button', class: 'small' }, t('ui.cancel'));
        form = h('form', { class: 'inline-form', novalidate: true }, field(t('mandates.new-scope', { ref: m.reference }), scope), save, cancel);
        const close = () => {
          amending = null;
          amendForms.delete(m.reference);
          show(`[data-mandate="${CSS.escape(m.reference)}"] [data-amend]`);
        };
        cancel.addEventListener('click', close);
        form.addEventListener('keydown', (e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            close();
          }
        });
        form.addEventListener('submit', (e) => {
          e.preventDefault();
          if (!scope.value.trim()) return;
          busy(save, async () => {
            list = await change(m, { action: 'amend', scope: scope.value.trim() });
            toast(t('mandates.amended-ok'));
            close();
          });
        });
        amendForms.set(m.reference, form);
      }
      cell.appendChild(form);
    }
    return cell;
  };

  const show = (focusSel) => {
    if (!list) return;
    // Keep the focus where it was across a reload (the row and its control are rebuilt).
    const a = document.activeElement;
    const keep = !focusSel && a && box.contains(a) && a.closest('[data-mandate]') && a.tagName === 'BUTTON'
      ? `[data-mandate="${CSS.escape(a.closest('[data-mandate]').dataset.mandate)}"] [${a.hasAttribute('data-amend') ? 'data-amend' : 'data-withdraw'}]`
      : null;
    const keepForm = a && [...amendForms.values()].some((f) => f.contains(a));
    fill(
      box,
      list.length
        ? table(
            [t('mandates.ref'), t('mandates.party'), t('mandates.date'), t('mandates.scope'), t('mandates.state'), t('mandates.by'),
              editable ? t('mandates.actions') : null].filter((x) => x !== null),
            list.map((m) => {
              const [word, kind, state] = mandateState(m);
              const scope = h('td', {}, m.scope);
              if (m.amended_at) scope.append(h('br'), h('span', { class: 'small muted' }, t('mandates.amended', { at: fmtDateTime(m.amended_at) })));
              const by = h('td', {}, m.recorded_by ? `${m.recorded_by.officer}, ${fmtDateTime(m.recorded_at)}` : fmtDateTime(m.recorded_at));
              if (m.migrated) by.append(h('br'), h('span', { class: 'small muted', 'data-migrated': '' }, t('mandates.migrated')));
              return h('tr', { 'data-mandate': m.reference, 'data-party': m.party, 'data-state': state },
                h('td', {}, m.reference), h('td', {}, partyName(m.party)), h('td', {}, m.date), scope,
                h('td', {}, badge(word, kind)), by,
                editable ? actionsFor(m) : null);
            }),
          )
        : h('p', { class: 'muted' }, t('mandates.none')),
    );
    const sel = focusSel || keep;
    if (sel) (box.querySelector(sel) || summary).focus();
    else if (keepForm && a.isConnected) a.focus();
  };

  const load = async () => {
    try {
      list = (await api('GET', '/api/mandates')) || [];
    } catch (e) {
      showError(e, box);
      return;
    }
    show();
  };
  let form = null;
  if (editable) {
    const ref = h('input', { id: 'mandate-ref', required: true });
    const date = h('input', { id: 'mandate-date', type: 'date', required: true });
    const scope = h('input', { id: 'mandate-scope', required: true });
    const submit = h('button', { type: 'submit', id: 'mandate-add' }, t('mandates.add'));
    form = h('form', { class: 'inline-form', novalidate: true },
      field(t('mandates.ref'), ref), field(t('mandates.date'), date), field(t('mandates.scope'), scope), submit);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(submit, async () => {
        list = await api('POST', '/api/mandates', { reference: ref.value.trim(), date: date.value, scope: scope.value.trim() });
        toast(t('mandates.added'));
        form.reset();
        show();
      });
    });
  }
  load();
  const stop = live((ev) => ev.event === 'doc-changed' && ev.kind === 'mandates', load);
  const el = h('details', { class: 'card', id: 'mandates' },
    summary,
    h('p', { class: 'muted' }, t('mandates.intro')),
    editable ? h('p', { class: 'muted small' }, t('mandates.own-only', { party: ctx.session.party_name || own })) : null,
    box,
    form,
  );
  return { el, stop };
}

function itemsTable(items) {
  if (!items.length) return h('p', { class: 'muted' }, t('items.none'));
  items.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  return table(
    [t('items.c-title'), t('items.c-provider'), t('items.c-marking'), t('items.c-size'), t('items.c-created'), t('items.c-signature')],
    items.map((it) =>
      h(
        'tr',
        { 'data-item': it.id },
        h('td', {}, h('a', { href: `#/items/${encodeURIComponent(it.id)}` }, it.title ?? t('items.untitled'))),
        h('td', {}, it.provider),
        h('td', {}, markingBadge(it.marking)),
        h('td', { class: 'num' }, fmtBytes(it.bytes)),
        h('td', {}, fmtDateTime(it.created_at)),
        h('td', {}, it.signature_ok ? badge(t('items.sig-ok'), 'ok') : badge(t('items.sig-bad'), 'bad')),
      ),
    ),
  );
}

function provideForm(onDone) {
  const title = h('input', { id: 'item-title', name: 'title', required: true, maxlength: '1000' });
  const file = h('input', { id: 'item-file', name: 'file', type: 'file', required: true });
  // A TLP 2.0 label from the list, or free text (the node checks what looks like TLP).
  const marking = h('input', { id: 'item-marking', name: 'marking', placeholder: 'RESTRICTED', list: 'tlp-labels', autocomplete: 'off' });
  const tlpList = h('datalist', { id: 'tlp-labels' }, TLP.map((l) => h('option', { value: l })));
  const mandate = h('input', { id: 'item-mandate', name: 'mandate', list: 'mandate-refs' });
  const refs = h('datalist', { id: 'mandate-refs' });
  const progress = h('progress', { id: 'item-progress', max: '100', value: '0' });
  const status = h('span', { class: 'muted', 'aria-live': 'polite' });
  const submit = h('button', { id: 'item-submit', type: 'submit', class: 'primary' }, t('items.submit'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'provide-h', novalidate: true },
    h('h2', { id: 'provide-h' }, t('items.provide')),
    h('p', { class: 'muted' }, t('items.provide-intro')),
    h('div', { class: 'grid2' },
      field(t('items.f-title'), title),
      field(t('items.f-file'), file),
      field(t('items.f-marking'), marking, t('items.f-marking-hint')),
      field(t('items.f-mandate'), mandate, t('items.f-mandate-hint')),
    ),
    refs,
    tlpList,
    h('div', { class: 'actions' }, submit, h('label', { for: 'item-progress', class: 'inline' }, t('items.progress')), progress, status),
  );
  // The recorded mandates, as suggestions for the mandate field.
  api('GET', '/api/mandates')
    .then((list) => fill(refs, (list || []).map((m) => h('option', { value: m.reference }, `${m.reference} (${partyName(m.party)}): ${m.scope}`))))
    .catch(() => {});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!title.value.trim()) return toast(t('items.need-title'), 'error');
    if (!file.files.length) return toast(t('items.need-file'), 'error');
    submit.disabled = true;
    progress.value = 0;
    try {
      const q = { title: title.value.trim() };
      if (marking.value.trim()) q.marking = marking.value.trim();
      if (mandate.value.trim()) q.mandate = mandate.value.trim();
      const chosen = file.files[0];
      // Kept (encrypted with the title) so that the item is saved under its name again.
      q.file_name = chosen.name;
      // The live region is told only of the start, the end and a failure: the <progress>
      // element conveys the progress itself.
      status.textContent = t('items.uploading', { name: chosen.name, size: fmtBytes(chosen.size) });
      const item = await upload(chosen, q, (done, total) => {
        progress.max = total || 1;
        progress.value = done;
        progress.setAttribute('aria-valuetext', `${fmtBytes(done)} / ${fmtBytes(total)}`);
      });
      progress.max = 1;
      progress.value = 1;
      progress.removeAttribute('aria-valuetext');
      // Announced once, by the form's own live region (no toast saying it again).
      status.textContent = t('items.provided', { title: item.title ?? q.title });
      form.reset();
      onDone(item);
    } catch (err) {
      progress.removeAttribute('aria-valuetext');
      status.textContent = t('items.upload-failed');
      showError(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/**
 * Uploads a file as an item: the body is one line of JSON with the title, marking and mandate,
 * then the file itself (the node streams and encrypts it). Never the query string: access logs
 * keep URLs, and a title is content. XMLHttpRequest because fetch cannot report upload
 * progress.
 */
function upload(file, meta, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const head = new Blob([`${JSON.stringify(meta)}\n`]);
    xhr.open('POST', '/api/items');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      const sent = Math.max(0, e.loaded - head.size);
      onProgress(Math.min(sent, file.size), file.size);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, (data && data.error) || `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new TypeError('the upload broke off'));
    xhr.send(new Blob([head, file]));
  });
}

// ---- consent requests ----

/**
 * Fills `box` with the consent requests that `keep` accepts, with the actions this officer
 * may take; returns `{reload}`. Re-renders only when the data changed, so that an expiry being
 * typed is not wiped by a poll.
 */
export function consentSection(box, ctx, keep, onChange) {
  let last = '';
  const reload = async () => {
    try {
      const [all, items] = await Promise.all([api('GET', '/api/consent'), api('GET', '/api/items').catch(() => [])]);
      // Each request names its item by title when this officer may read it (the node sends
      // no title otherwise).
      const titles = new Map((items || []).filter((i) => i.title).map((i) => [i.id, i.title]));
      const list = (all || []).filter(keep).map((c) => ({ ...c, title: titles.get(c.item) || null }));
      const key = JSON.stringify(list);
      if (key === last) return;
      last = key;
      fill(box, consentTable(list, ctx, () => reload()));
      if (onChange) onChange(list);
    } catch (e) {
      showError(e, box);
    }
  };
  reload();
  return { reload };
}

function consentTable(list, ctx, reload) {
  if (!list.length) return h('p', { class: 'muted' }, t('consent.none'));
  return table(
    [t('consent.c-item'), t('consent.c-parties'), t('consent.c-purpose'), t('consent.c-asked'), t('consent.c-state'), t('consent.c-actions')],
    list.map((c) => consentRow(c, ctx, reload)),
  );
}

function stateKind(state) {
  return { pending: 'warn', granted: 'ok', denied: 'bad', revoked: 'bad', expired: 'plain' }[state] || 'plain';
}

function consentRow(c, ctx, reload) {
  const notes = [];
  if (c.expires) notes.push(t('consent.expires-at', { at: fmtDateTime(c.expires) }));
  if (c.transmitted) notes.push(t('consent.transmitted'));
  if (c.key_destroyed) notes.push(t('consent.key-destroyed'));
  if (c.state === 'pending' && !c.ours_to_answer) notes.push(t('consent.awaiting'));
  return h(
    'tr',
    { 'data-consent': c.request, 'data-state': c.state },
    h('td', {}, h('a', { href: `#/items/${encodeURIComponent(c.item)}`, 'data-item-link': c.item }, c.title || shortId(c.item))),
    h('td', {}, `${c.provider} → ${c.requester} → ${c.third_party}`),
    h('td', {}, c.purpose),
    h('td', {}, fmtDateTime(c.requested_at)),
    h('td', {}, badge(t(`state.${c.state}`), stateKind(c.state)), notes.length ? h('div', { class: 'muted small' }, notes.join('; ')) : null),
    h('td', { class: 'actions-cell' }, consentActions(c, ctx, reload)),
  );
}

function consentActions(c, ctx, reload) {
  // Only the provider answers and revokes; the server checks that and the role again.
  if (!c.ours_to_answer || !can(ctx, 'liaison')) return null;
  if (c.state === 'pending') {
    const expires = h('input', { type: 'datetime-local', id: `expires-${c.request}`, class: 'small-input' });
    const grant = h('button', { type: 'button', 'data-action': 'grant', class: 'primary' }, t('consent.grant'));
    const deny = h('button', { type: 'button', 'data-action': 'deny', class: 'danger' }, t('consent.deny'));
    const named = { item: c.title || shortId(c.item), third: c.third_party, purpose: c.purpose };
    grant.addEventListener('click', () =>
      busy(grant, async () => {
        if (!(await confirmDialog(t('consent.grant-confirm', named)))) return;
        const body = {};
        if (expires.value) body.expires = fromLocalInput(expires.value);
        await api('POST', `/api/consent/${encodeURIComponent(c.request)}/grant`, body);
        toast(t('consent.granted'));
        await reload();
      }),
    );
    deny.addEventListener('click', () =>
      busy(deny, async () => {
        if (!(await confirmDialog(t('consent.deny-confirm', named)))) return;
        await api('POST', `/api/consent/${encodeURIComponent(c.request)}/deny`);
        toast(t('consent.denied'));
        await reload();
      }),
    );
    return [
      h('div', { class: 'field compact' }, h('label', { for: expires.id }, t('consent.expires')), expires),
      h('div', { class: 'actions' }, grant, deny),
    ];
  }
  if (c.state === 'granted' && c.grant) {
    const revoke = h('button', { type: 'button', 'data-action': 'revoke', class: 'danger' }, t('consent.revoke'));
    revoke.addEventListener('click', () =>
      busy(revoke, async () => {
        const named = { item: c.title || shortId(c.item), third: c.third_party };
        if (!(await confirmDialog(t('consent.revoke-confirm', named)))) return;
        await api('POST', `/api/consent/${encodeURIComponent(c.grant)}/revoke`);
        toast(t('consent.revoked'));
        await reload();
      }),
    );
    return revoke;
  }
  return null;
}

// ---- one item ----

function renderItem(main, ctx, id) {
  const heading = pageHeading(t('items.item'));
  const meta = h('div', {}, t('ui.loading'));
  const content = h('div');
  const requestBox = h('div');
  const consentBox = h('div', {}, t('ui.loading'));
  const whereBox = h('div', {}, t('ui.loading'));
  const auditBox = h('div', {}, t('ui.loading'));
  const citeBox = h('div', {}, t('ui.loading'));
  fill(
    main,
    h('p', {}, h('a', { href: '#/items' }, `← ${t('items.back')}`)),
    heading,
    meta,
    content,
    ctx.thirdParty ? null : h('section', { 'aria-labelledby': 'cite-h', id: 'item-citations' }, h('h2', { id: 'cite-h' }, t('cite.title')), citeBox),
    requestBox,
    // A third party neither answers consent nor sends items on: its page has its audit only.
    ctx.thirdParty ? null : h('section', { 'aria-labelledby': 'consent-h' }, h('h2', { id: 'consent-h' }, t('consent.title')), consentBox),
    h('section', { 'aria-labelledby': 'where-h' },
      h('h2', { id: 'where-h' }, t(ctx.thirdParty ? 'where.audit' : 'where.title')),
      ctx.thirdParty ? null : [h('p', { class: 'muted' }, t('where.intro')), whereBox, h('h3', {}, t('where.audit'))],
      auditBox,
    ),
  );
  let blobUrl = null;
  let itemId = id;
  let lastMeta = '';
  let shown = null; // [item, peers] as last shown, for refreshing "where it went"
  // A consent answered or carried out changes where the item may go: refresh that too.
  const consent = consentSection(
    consentBox,
    ctx,
    (c) => c.item === itemId || c.item.startsWith(id),
    () => shown && loadWhere(...shown),
  );

  const loadMeta = async () => {
    let items;
    let status;
    try {
      [items, status] = await Promise.all([api('GET', '/api/items'), api('GET', '/api/status')]);
    } catch (e) {
      showError(e, meta);
      return;
    }
    const it = items.find((x) => x.id === id) || items.find((x) => x.id.startsWith(id));
    const key = JSON.stringify([it, status.peers]);
    if (key === lastMeta) return;
    const first = !lastMeta;
    lastMeta = key;
    if (!it) {
      // Not here (revoked, expired, deleted, or never came): say why, rather than wait; and
      // offer nothing that needs the item.
      heading.textContent = t('items.item');
      fill(meta, await goneNotice(id));
      fill(content);
      fill(requestBox);
      fill(whereBox, h('p', { class: 'muted' }, t('items.not-found')));
      fill(citeBox);
      try {
        const entries = await api('GET', `/api/audit?item=${encodeURIComponent(id)}`);
        fill(auditBox, auditTable(entries || []));
      } catch (e) {
        fill(auditBox, h('p', { class: 'error' }, errorText(e.message)));
      }
      return;
    }
    itemId = it.id;
    const title = it.title ?? t('items.untitled');
    heading.textContent = title;
    document.title = `${title} · liaison`;
    fill(meta, itemMeta(it));
    shown = [it, status.peers || []];
    if (!ctx.thirdParty) citationsSection(citeBox, it.id);
    if (first) {
      fill(content, contentSection(it, ctx, (u) => {
        if (blobUrl) URL.revokeObjectURL(blobUrl);
        blobUrl = u;
      }));
      // Consent is asked of the provider by the holder: not offered on the provider's own items.
      const holder = it.provider !== ctx.session.party_id;
      fill(requestBox, can(ctx, 'liaison') && holder && !ctx.thirdParty ? requestForm(it, status.peers || [], () => consent.reload()) : null);
    }
    loadWhere(it, status.peers || []);
  };

  const loadWhere = async (it, peers) => {
    if (!peers.length) fill(whereBox, h('p', { class: 'muted' }, t('where.no-peers')));
    else {
      const rows = await Promise.all(
        peers.map(async (p) => {
          let ex;
          try {
            ex = await api('GET', `/api/items/${encodeURIComponent(it.id)}/explain?to=${encodeURIComponent(p.peer_id)}`);
          } catch (e) {
            ex = { allowed: false, reason: e.message };
          }
          return h(
            'tr',
            { 'data-peer': p.peer_id },
            h('td', {}, partyName(p.party_id), ' ', shortPeer(p.peer_id)),
            h('td', {}, peerRole(p.role)),
            h('td', {}, ex.allowed ? badge(t('where.allowed'), 'ok') : badge(t('where.refused'), 'bad')),
            h('td', {}, ex.allowed ? (ex.grant ? shortId(ex.grant) : '') : refusalText(ex.refusal) || ex.reason || ''),
          );
        }),
      );
      fill(whereBox, table([t('where.c-peer'), t('where.c-role'), t('where.c-allowed'), t('where.c-reason')], rows));
    }
    try {
      const entries = await api('GET', `/api/audit?item=${encodeURIComponent(it.id)}`);
      fill(auditBox, auditTable(entries || []));
    } catch (e) {
      fill(auditBox, h('p', { class: 'error' }, errorText(e.message)));
    }
  };

  loadMeta();
  const timer = setInterval(() => {
    loadMeta();
    consent.reload();
  }, POLL_MS);
  // A peer coming or going changes what explain answers, though the item did not change.
  const off = live((ev) => ev.event === 'peer' || ev.event === 'vault-changed', () => {
    if (lastMeta) lastMeta += '~';
    loadMeta();
    consent.reload();
  });
  return () => {
    clearInterval(timer);
    off();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
  };
}

function itemMeta(it) {
  const row = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
  return h(
    'div',
    {},
    it.signature_ok ? null : h('p', { class: 'error', role: 'alert' }, t('items.sig-warning')),
    h(
      'dl',
      { class: 'meta' },
      row(t('items.id'), h('code', {}, it.id)),
      row(t('items.c-provider'), it.provider),
      row(t('items.c-marking'), markingBadge(it.marking)),
      row(t('items.c-size'), fmtBytes(it.bytes)),
      row(t('items.c-created'), fmtDateTime(it.created_at)),
      it.mandate ? row(t('items.mandate'), it.mandate) : null,
      it.from_peer ? row(t('items.from-peer'), h('code', { class: 'wrap' }, it.from_peer)) : null,
      row(t('items.readable'), it.readable ? t('ui.yes') : t('ui.no')),
      row(t('items.c-signature'), it.signature_ok ? t('items.sig-ok') : t('items.sig-bad')),
      row(t('items.content-hash'), h('code', { class: 'wrap' }, it.content_hash)),
    ),
  );
}

function contentSection(it, ctx, setBlob) {
  if (!it.readable || !can(ctx, 'liaison')) return null;
  const out = h('div', { class: 'content-box' });
  const open = h('button', { type: 'button', id: 'item-open' }, t('items.open'));
  open.addEventListener('click', () =>
    busy(open, async () => {
      const res = await fetch(`/api/items/${encodeURIComponent(it.id)}/content`, { credentials: 'same-origin' });
      if (!res.ok) {
        let msg = `${res.status} ${res.statusText}`;
        try {
          const j = await res.json();
          if (j && j.error) msg = j.error;
        } catch {
          // not JSON: keep the status line
        }
        throw new ApiError(res.status, msg);
      }
      const buf = await res.arrayBuffer();
      const name = it.file_name || it.title || it.id;
      const url = URL.createObjectURL(new Blob([buf], { type: 'application/octet-stream' }));
      setBlob(url);
      const text = asText(buf);
      fill(
        out,
        text === null ? h('p', { class: 'muted' }, t('items.binary')) : h('pre', { class: 'item-text', tabindex: '0' }, text),
        h('p', {}, h('a', { href: url, download: name, class: 'button' }, t('items.download', { name }))),
      );
    }),
  );
  return h(
    'section',
    { 'aria-labelledby': 'content-h' },
    h('h2', { id: 'content-h' }, t('items.content')),
    h('p', { class: 'muted' }, t('items.open-hint')),
    open,
    out,
  );
}

/** The bytes as text if they are valid UTF-8 without control bytes other than whitespace. */
function asText(buf) {
  try {
    const s = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000e-\u001f]/.test(s) ? null : s;
  } catch {
    return null;
  }
}

function requestForm(it, peers, onDone) {
  const thirds = peers.filter((p) => p.role === 'third-party');
  // One option per third party (a party may have several nodes).
  const parties = [...new Set(thirds.map((p) => p.party_id))];
  const sel = select(
    { id: 'consent-third-party', name: 'third_party', required: true, disabled: !parties.length },
    parties.length ? parties.map((p) => [p, p]) : [['', t('consent.no-third-party')]],
  );
  const purpose = h('input', { id: 'consent-purpose', name: 'purpose', required: true });
  const submit = h('button', { id: 'consent-submit', type: 'submit', class: 'primary' }, t('consent.submit'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'request-h', novalidate: true },
    h('h2', { id: 'request-h' }, t('consent.request')),
    h('div', { class: 'grid2' }, field(t('consent.third-party'), sel), field(t('consent.purpose'), purpose)),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      await api('POST', '/api/consent', { item: it.id, third_party: sel.value, purpose: purpose.value.trim() });
      toast(t('consent.requested'));
      purpose.value = '';
      onDone();
    });
  });
  return form;
}
