// The audit log: the verification result first (it is what an officer must see), then the
// entries, filtered by item (on the server), action, officer and free text (here).

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { h, fill, field, select, showError, busy, fmtDateTime, pageHeading, shortId, shortPeer, table, live } from '/pages/ui.js';
import { nodeName, isKnownNode, partyName } from '/pages/ui.js';

const KINDS = [
  'item-provided', 'item-received', 'item-decrypted', 'transmitted', 'transmission-refused', 'receive-refused',
  'consent', 'key-destroyed', 'log-started', 'peer-config', 'backup-taken',
];

register({
  en: {
    'audit.title': 'Audit log',
    'audit.verify': 'Verification',
    'audit.ok': 'The log is intact: {n} entries verified (hash chain, signatures and signed head).',
    'audit.bad': 'The log FAILED verification: {error}',
    'audit.first-bad': 'First bad entry: #{seq}.',
    'audit.reverify': 'Verify again',
    'audit.filters': 'Filter',
    'audit.f-item': 'Item id',
    'audit.f-action': 'Action',
    'audit.f-officer': 'Officer or peer',
    'audit.f-text': 'Text',
    'audit.all': 'All actions',
    'audit.apply': 'Apply',
    'audit.count': '{shown} of {all} entries',
    'audit.none': 'No entries.',
    'audit.c-seq': '#',
    'audit.c-at': 'When',
    'audit.c-action': 'Action',
    'audit.c-item': 'Item',
    'audit.c-who': 'Officer or peer',
    'audit.c-details': 'Details',
    'audit.k.item-provided': 'item provided',
    'audit.k.item-received': 'item received',
    'audit.k.item-decrypted': 'item decrypted',
    'audit.k.transmitted': 'transmitted',
    'audit.k.transmission-refused': 'transmission refused',
    'audit.k.receive-refused': 'receipt refused',
    'audit.k.consent': 'consent record',
    'audit.k.key-destroyed': 'key destroyed',
    'audit.k.log-started': 'log started',
    'audit.k.peer-config': 'peer configuration',
    'audit.k.backup-taken': 'backup taken',
  },
  ru: {
    'audit.title': 'Журнал аудита',
    'audit.verify': 'Проверка',
    'audit.ok': 'Журнал не нарушен: проверено записей — {n} (цепочка хешей, подписи и подписанная вершина).',
    'audit.bad': 'Журнал НЕ ПРОШЁЛ проверку: {error}',
    'audit.first-bad': 'Первая повреждённая запись: №{seq}.',
    'audit.reverify': 'Проверить снова',
    'audit.filters': 'Отбор',
    'audit.f-item': 'Идентификатор материала',
    'audit.f-action': 'Действие',
    'audit.f-officer': 'Офицер или узел',
    'audit.f-text': 'Текст',
    'audit.all': 'Все действия',
    'audit.apply': 'Применить',
    'audit.count': 'Показано записей: {shown} из {all}',
    'audit.none': 'Записей нет.',
    'audit.c-seq': '№',
    'audit.c-at': 'Когда',
    'audit.c-action': 'Действие',
    'audit.c-item': 'Материал',
    'audit.c-who': 'Офицер или узел',
    'audit.c-details': 'Подробности',
    'audit.k.item-provided': 'материал предоставлен',
    'audit.k.item-received': 'материал получен',
    'audit.k.item-decrypted': 'материал расшифрован',
    'audit.k.transmitted': 'передача',
    'audit.k.transmission-refused': 'в передаче отказано',
    'audit.k.receive-refused': 'в приёме отказано',
    'audit.k.consent': 'запись о согласии',
    'audit.k.key-destroyed': 'ключ уничтожен',
    'audit.k.log-started': 'журнал начат',
    'audit.k.peer-config': 'изменение закреплённых узлов',
    'audit.k.backup-taken': 'создана резервная копия',
  },
});

/** An entry's event as `{kind, item, who, details}` (the event is externally tagged). */
export function describe(event) {
  const kind = typeof event === 'string' ? event : Object.keys(event || {})[0] || '?';
  const body = (event && typeof event === 'object' && event[kind]) || {};
  const who = body.officer ?? body.by ?? body.from_peer ?? body.to_peer ?? body.peer ?? body.node ?? '';
  const details = Object.entries(body)
    .filter(([k, v]) => k !== 'item' && v !== null && v !== undefined && !(k === 'officer' || k === 'by'))
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : detailWords(k, v)}`)
    .join('; ');
  return { kind, item: body.item || '', who: String(who), details };
}

/** A detail's value in words: a pinned node or a Party by name (ids stay searchable in the entry). */
function detailWords(k, v) {
  if (typeof v === 'string' && isKnownNode(v)) {
    const n = nodeName(v);
    return `${n.textContent} (…${v.slice(-8)})`;
  }
  if ((k === 'party' || k === 'provider' || k === 'third_party' || k === 'holder') && typeof v === 'string') return partyName(v);
  return v;
}

/** Who did it: an officer as named, a node by its name (the peer id in the tooltip). */
function whoCell(who) {
  if (isKnownNode(who)) return nodeName(who);
  return who.length > 40 ? shortPeer(who) : who;
}

/** A table of audit entries; `firstBad` marks the entry verification named. */
export function auditTable(entries, firstBad) {
  if (!entries.length) return h('p', { class: 'muted' }, t('audit.none'));
  return table(
    [t('audit.c-seq'), t('audit.c-at'), t('audit.c-action'), t('audit.c-item'), t('audit.c-who'), t('audit.c-details')],
    entries.map((e) => {
      const d = describe(e.entry.event);
      const bad = firstBad !== null && firstBad !== undefined && e.entry.seq === firstBad;
      return h(
        'tr',
        { 'data-seq': e.entry.seq, class: bad ? 'bad-row' : null },
        h('td', { class: 'num' }, String(e.entry.seq)),
        h('td', {}, fmtDateTime(e.entry.at)),
        h('td', {}, t(`audit.k.${d.kind}`)),
        h('td', {}, d.item ? h('a', { href: `#/items/${encodeURIComponent(d.item)}` }, shortId(d.item)) : ''),
        h('td', { 'data-who': d.who }, whoCell(d.who)),
        h('td', { class: 'details' }, d.details),
      );
    }),
  );
}

export function render(main) {
  const verifyBox = h('div', { class: 'verify', role: 'status', 'aria-live': 'polite' }, t('ui.loading'));
  const reverify = h('button', { type: 'button', id: 'audit-reverify' }, t('audit.reverify'));
  const item = h('input', { id: 'audit-item', name: 'item', spellcheck: 'false' });
  const action = select({ id: 'audit-action', name: 'action' }, [['', t('audit.all')], ...KINDS.map((k) => [k, t(`audit.k.${k}`)])]);
  const officer = h('input', { id: 'audit-officer', name: 'officer' });
  const text = h('input', { id: 'audit-text', name: 'text', type: 'search' });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const list = h('div', {}, t('ui.loading'));
  const form = h(
    'form',
    { class: 'card filters', 'aria-labelledby': 'filters-h' },
    h('h2', { id: 'filters-h' }, t('audit.filters')),
    h('div', { class: 'grid4' },
      field(t('audit.f-item'), item),
      field(t('audit.f-action'), action),
      field(t('audit.f-officer'), officer),
      field(t('audit.f-text'), text),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('audit.apply'))),
  );
  fill(
    main,
    pageHeading(t('audit.title')),
    h('section', { 'aria-labelledby': 'verify-h' }, h('h2', { id: 'verify-h' }, t('audit.verify')), verifyBox, reverify),
    form,
    count,
    list,
  );

  let entries = [];
  let firstBad = null;
  let loadedFor = null;

  const show = () => {
    const a = action.value;
    const o = officer.value.trim().toLowerCase();
    const q = text.value.trim().toLowerCase();
    const shown = entries.filter((e) => {
      const d = describe(e.entry.event);
      if (a && d.kind !== a) return false;
      if (o && !d.who.toLowerCase().includes(o) && !(isKnownNode(d.who) && nodeName(d.who).textContent.toLowerCase().includes(o))) return false;
      if (q && !JSON.stringify(e.entry).toLowerCase().includes(q)) return false;
      return true;
    });
    // Newest first: what an officer usually looks for.
    shown.sort((x, y) => y.entry.seq - x.entry.seq);
    // A live region: only touched when the count changed.
    const said = t('audit.count', { shown: shown.length, all: entries.length });
    if (count.textContent !== said) count.textContent = said;
    fill(list, auditTable(shown, firstBad));
  };

  // `force`: an officer asked (announce the result even if it is the same as before).
  let lastVerify = '';
  const verify = async (force = false) => {
    try {
      const r = await api('GET', '/api/audit/verify');
      firstBad = r.ok ? null : r.first_bad;
      // The box is a live region: a poll that finds the same result leaves it alone.
      const key = JSON.stringify(r);
      if (!force && key === lastVerify) {
        if (loadedFor !== null) show();
        return;
      }
      lastVerify = key;
      verifyBox.className = `verify ${r.ok ? 'verify-ok' : 'verify-bad'}`;
      verifyBox.dataset.ok = String(r.ok);
      fill(
        verifyBox,
        r.ok
          ? h('strong', {}, `✔ ${t('audit.ok', { n: r.entries })}`)
          : [
              h('strong', {}, `✘ ${t('audit.bad', { error: r.error || '' })}`),
              r.first_bad !== null && r.first_bad !== undefined ? h('p', {}, t('audit.first-bad', { seq: r.first_bad })) : null,
            ],
      );
      if (loadedFor !== null) show();
    } catch (e) {
      lastVerify = '';
      showError(e, verifyBox);
    }
  };

  const load = async () => {
    const it = item.value.trim();
    try {
      const got = await api('GET', it ? `/api/audit?item=${encodeURIComponent(it)}` : '/api/audit');
      // A poll that finds nothing new leaves the table (and the reader's place) alone.
      if (loadedFor === it && got.length === entries.length) return;
      entries = got || [];
      loadedFor = it;
      show();
    } catch (e) {
      showError(e, list);
    }
  };

  reverify.addEventListener('click', () => busy(reverify, async () => {
    await verify(true);
    loadedFor = null;
    await load();
  }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (item.value.trim() !== loadedFor) load();
    else show();
  });
  action.addEventListener('change', show);
  text.addEventListener('input', show);
  officer.addEventListener('input', show);

  verify().then(load);
  // New entries are announced by `vault-changed`; a slow poll covers a missed event.
  const refresh = async () => {
    const before = entries.length;
    await load();
    if (entries.length !== before) verify();
  };
  const timer = setInterval(refresh, 15000);
  const off = live((ev) => ev.event === 'vault-changed' || ev.event === 'lagged', refresh);
  return () => {
    clearInterval(timer);
    off();
  };
}
