// Items in the rest of the app: TLP 2.0 markings as labels, the attachments of meetings and
// messages (a link for an officer who may read the item, "restricted item" with no title for
// one who may not: the node decides, per role, and sends no title to the latter), the form that
// attaches an item, the meetings and messages that cite an item, and a third party's view of
// the items granted to it.

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { h, fill, badge, busy, select, field, shortId, fmtDateTime, table, showError, toast } from '/pages/ui.js';
import { partyName } from '/pages/ui.js';

register({
  en: {
    'att.title': 'Attached items',
    'att.none': 'No item attached.',
    'att.restricted': 'Restricted item',
    'att.restricted-hint': 'Your role does not read provided items, or this Party holds no key to it.',
    'att.missing': 'Item not held here',
    'att.by': 'attached by {officer} ({party}), {when}',
    'att.choose': 'Item to attach',
    'att.no-items': 'No item this node can read.',
    'att.attach': 'Attach',
    'att.attached': 'Item attached.',
    'att.detach': 'Remove',
    'att.detached': 'Attachment removed.',
    'att.optional': '(none)',
    'cite.title': 'Cited in',
    'cite.none': 'No meeting or message attaches this item.',
    'cite.meeting': 'Meeting: {title}',
    'cite.message': 'Message in “{subject}”, {when}',
    'tlp.hint': 'Traffic Light Protocol 2.0',
    'granted.title': 'Items granted to us',
    'granted.intro': 'This is a third party’s node: it receives the items a provider grants to this organisation, and keeps each one only while the grant stands.',
    'granted.none': 'No item has been granted to this organisation yet.',
    'granted.c-item': 'Item',
    'granted.c-provider': 'Provider',
    'granted.c-purpose': 'Purpose',
    'granted.c-state': 'State',
    'granted.c-since': 'Since',
    'granted.state.granted': 'granted',
    'granted.state.revoked': 'revoked',
    'granted.state.expired': 'expired',
    'granted.not-held': 'not received yet',
    'granted.revoked-by': 'revoked by {officer} ({party}) on {when}',
    'granted.expired-at': 'expired on {when}',
    'granted.expires': 'until {when}',
    'item.revoked': 'This item was granted to this organisation and the grant was revoked by {officer} ({party}) on {when}; its key was destroyed here.',
    'item.expired': 'The grant of this item expired on {when}; its key was destroyed here.',
    'item.gone': 'This item is not held here (it was deleted by its provider, or never arrived).',
  },
  ru: {
    'att.title': 'Приложенные материалы',
    'att.none': 'Материалы не приложены.',
    'att.restricted': 'Материал ограниченного доступа',
    'att.restricted-hint': 'Ваша роль не даёт доступа к предоставленным материалам, или у этой Стороны нет ключа к нему.',
    'att.missing': 'Материала нет на этом узле',
    'att.by': 'приложил(а) {officer} ({party}), {when}',
    'att.choose': 'Материал для приложения',
    'att.no-items': 'Нет материалов, доступных на этом узле.',
    'att.attach': 'Приложить',
    'att.attached': 'Материал приложен.',
    'att.detach': 'Убрать',
    'att.detached': 'Материал убран.',
    'att.optional': '(нет)',
    'cite.title': 'Упоминается в',
    'cite.none': 'Ни одна встреча и ни одно сообщение не прикладывает этот материал.',
    'cite.meeting': 'Встреча: {title}',
    'cite.message': 'Сообщение в «{subject}», {when}',
    'tlp.hint': 'Протокол светофора (TLP 2.0)',
    'granted.title': 'Материалы, предоставленные нам',
    'granted.intro': 'Это узел третьей стороны: он получает материалы, на передачу которых предоставившая Сторона дала согласие, и хранит каждый, пока согласие действует.',
    'granted.none': 'Этой организации пока не предоставлено ни одного материала.',
    'granted.c-item': 'Материал',
    'granted.c-provider': 'Предоставившая Сторона',
    'granted.c-purpose': 'Цель',
    'granted.c-state': 'Состояние',
    'granted.c-since': 'С',
    'granted.state.granted': 'предоставлен',
    'granted.state.revoked': 'согласие отозвано',
    'granted.state.expired': 'срок истёк',
    'granted.not-held': 'ещё не получен',
    'granted.revoked-by': 'отозвал(а) {officer} ({party}) {when}',
    'granted.expired-at': 'срок истёк {when}',
    'granted.expires': 'до {when}',
    'item.revoked': 'Этот материал был предоставлен этой организации, и согласие отозвал(а) {officer} ({party}) {when}; ключ к нему здесь уничтожен.',
    'item.expired': 'Срок согласия на этот материал истёк {when}; ключ к нему здесь уничтожен.',
    'item.gone': 'Этого материала нет на этом узле (его удалила предоставившая Сторона, или он не поступал).',
  },
});

/** The five TLP 2.0 labels, in order of restriction. */
export const TLP = ['TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED'];

/**
 * A marking as a label: a TLP 2.0 label in its official colours (on black, with its text, so
 * that colour is never the only cue); any other marking as before.
 */
export function markingBadge(marking) {
  if (TLP.includes(marking)) {
    const kind = marking.slice(4).toLowerCase().replace('+', '-');
    return h('span', { class: `badge tlp tlp-${kind}`, 'data-tlp': marking, title: t('tlp.hint') }, marking);
  }
  return badge(marking, 'marking');
}

/** One attachment: a link with the title, or "restricted item" with no title. */
function attachmentEntry(a, onDetach) {
  let what;
  if (a.readable && a.title) what = h('a', { href: `#/items/${encodeURIComponent(a.item)}`, 'data-item-link': a.item }, a.title);
  else if (a.held) what = h('span', { class: 'restricted', title: t('att.restricted-hint') }, t('att.restricted'));
  else what = h('span', { class: 'muted' }, t('att.missing'));
  const by = a.by ? t('att.by', { officer: a.by.officer, party: partyName(a.by.party), when: fmtDateTime(a.at) }) : '';
  let remove = null;
  if (onDetach) {
    remove = h('button', { type: 'button', class: 'link small', 'data-action': 'detach' }, t('att.detach'));
    remove.addEventListener('click', () => busy(remove, () => onDetach(a.item)));
  }
  return h(
    'li',
    { 'data-attachment': a.item, 'data-readable': String(!!a.readable) },
    what,
    a.marking ? [' ', markingBadge(a.marking)] : null,
    ' ',
    h('code', { class: 'muted small' }, shortId(a.item)),
    by ? h('span', { class: 'muted small' }, ` · ${by}`) : null,
    remove ? [' ', remove] : null,
  );
}

/** The attachments of a meeting or a message. */
export function attachmentList(list, onDetach) {
  if (!list || !list.length) return null;
  return h('ul', { class: 'attachments' }, list.map((a) => attachmentEntry(a, onDetach)));
}

/** A select of the items this officer can read here, for attaching; `null` when none. */
export async function itemSelect(id, optional) {
  const items = ((await api('GET', '/api/items')) || []).filter((i) => i.readable && i.title);
  if (!items.length && !optional) return null;
  const options = items.map((i) => [i.id, `${i.title} (${i.marking})`]);
  return select({ id, name: 'item' }, optional ? [['', t('att.optional')], ...options] : options);
}

/**
 * A meeting's attachments section: the list, and for a liaison officer a form to attach one.
 * `patch` sends a change of the meeting.
 */
export function meetingAttachments(box, m, mayAttach, patch, reload) {
  const onDetach = mayAttach
    ? async (item) => {
      await patch({ detach: [item] });
      await reload();
    }
    : null;
  const list = attachmentList(m.attachments, onDetach) || h('p', { class: 'muted' }, t('att.none'));
  fill(box, list);
  if (!mayAttach) return;
  const formBox = h('div');
  box.appendChild(formBox);
  itemSelect('attach-item', false)
    .then((sel) => {
      if (!sel) return fill(formBox, h('p', { class: 'muted small' }, t('att.no-items')));
      const go = h('button', { type: 'button', id: 'attach-submit' }, t('att.attach'));
      go.addEventListener('click', () =>
        busy(go, async () => {
          await patch({ attach: [sel.value] });
          toast(t('att.attached'));
          await reload();
        }),
      );
      fill(formBox, h('div', { class: 'inline-form' }, field(t('att.choose'), sel), go));
    })
    .catch((e) => showError(e, formBox));
}

/** The meetings and messages that attach an item, as links. */
export async function citationsSection(box, itemId) {
  try {
    const c = await api('GET', `/api/items/${encodeURIComponent(itemId)}/citations`);
    const rows = [
      ...c.meetings.map((m) => h('li', { 'data-cite': 'meeting' }, h('a', { href: `#/meetings/${encodeURIComponent(m.id)}` }, t('cite.meeting', { title: m.title })))),
      ...c.messages.map((m) => h('li', { 'data-cite': 'message' }, h('a', { href: `#/messages/${encodeURIComponent(m.thread)}` }, t('cite.message', { subject: m.subject, when: fmtDateTime(m.at) })))),
    ];
    fill(box, rows.length ? h('ul', { class: 'citations' }, rows) : h('p', { class: 'muted' }, t('cite.none')));
  } catch (e) {
    showError(e, box);
  }
}

function grantState(g) {
  const word = t(`granted.state.${g.state}`);
  return badge(word, { granted: 'ok', revoked: 'bad', expired: 'plain' }[g.state] || 'plain');
}

function grantNote(g) {
  if (g.state === 'revoked') return t('granted.revoked-by', { officer: g.revoked_by || '', party: g.provider, when: fmtDateTime(g.revoked_at) });
  if (g.state === 'expired') return t('granted.expired-at', { when: fmtDateTime(g.expires) });
  if (!g.held) return t('granted.not-held');
  return g.expires ? t('granted.expires', { when: fmtDateTime(g.expires) }) : '';
}

/** A third party's list of the items granted to it, with their state. */
export function grantedTable(grants) {
  if (!grants.length) return h('p', { class: 'muted' }, t('granted.none'));
  return table(
    [t('granted.c-item'), t('granted.c-provider'), t('granted.c-purpose'), t('granted.c-state'), t('granted.c-since')],
    grants.map((g) =>
      h(
        'tr',
        { 'data-grant': g.grant, 'data-item': g.item, 'data-state': g.state },
        h(
          'td',
          {},
          g.held && g.title ? h('a', { href: `#/items/${encodeURIComponent(g.item)}` }, g.title) : h('code', {}, shortId(g.item)),
          g.marking ? [' ', markingBadge(g.marking)] : null,
        ),
        h('td', {}, g.provider),
        h('td', {}, g.purpose),
        h('td', {}, grantState(g), h('div', { class: 'muted small' }, grantNote(g))),
        h('td', {}, fmtDateTime(g.state === 'revoked' ? g.revoked_at : g.granted_at)),
      ),
    ),
  );
}

/** What an item page says of an item that is not (or no longer) here: why, if a grant says. */
export async function goneNotice(itemId) {
  let g = null;
  try {
    const r = await api('GET', '/api/granted');
    g = (r.grants || []).find((x) => x.item === itemId || x.item.startsWith(itemId));
  } catch {
    // Not a third party or no answer: the plain notice.
  }
  if (g && g.state === 'revoked') {
    return h('p', { class: 'notice', role: 'status', 'data-gone': 'revoked' }, t('item.revoked', { officer: g.revoked_by || '', party: g.provider, when: fmtDateTime(g.revoked_at) }));
  }
  if (g && g.state === 'expired') return h('p', { class: 'notice', role: 'status', 'data-gone': 'expired' }, t('item.expired', { when: fmtDateTime(g.expires) }));
  return h('p', { class: 'notice', role: 'status', 'data-gone': 'absent' }, t('item.gone'));
}
