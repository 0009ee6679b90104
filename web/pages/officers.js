// The liaison officers' registry: every officer either Party ever assigned, with how to reach
// them; liaison officers (and administrators) record a new assignment or end one. Ended entries
// stay, for the record. Each Party keeps its own registry: a node assigns and ends officers of
// its own Party only (the node refuses anything else), so this page offers nothing more.

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import {
  h, fill, field, toast, showError, busy, can, fmtDateTime, pageHeading, table, live, badge, confirmDialog,
} from '/pages/ui.js';
import { partyName } from '/pages/ui.js';

register({
  en: {
    'officers.title': 'Liaison officers',
    'officers.intro': 'The officers each Party has assigned to liaison, and how to reach them.',
    'officers.list': 'Registry',
    'officers.none': 'No officers are recorded yet.',
    'officers.show-ended': 'Show ended assignments',
    'officers.c-name': 'Name',
    'officers.c-party': 'Party',
    'officers.c-contact': 'Contact',
    'officers.c-since': 'Assigned',
    'officers.c-status': 'Status',
    'officers.c-mandate': 'Mandate',
    'officers.c-actions': 'Actions',
    'officers.active': 'active',
    'officers.ended': 'ended {when}',
    'officers.by': 'recorded by {officer} ({party})',
    'officers.ended-by': 'ended by {officer} ({party})',
    'officers.migrated': 'migrated from before authentication',
    'officers.theirs': 'only {party} can end it',
    'officers.new': 'Assign an officer',
    'officers.f-name': 'Name',
    'officers.for': 'Assigned by {party}: this node records and ends assignments of its own Party only. The other Party keeps its own officers.',
    'officers.f-contact': 'Contact',
    'officers.f-contact-hint': 'E-mail, phone or other channel',
    'officers.f-mandate': 'Mandate cited',
    'officers.f-mandate-hint': 'The reference of a recorded mandate, if the node requires one',
    'officers.assign': 'Assign',
    'officers.assigned': 'Officer assigned.',
    'officers.need': 'An assignment needs a name and a contact.',
    'officers.end': 'End assignment',
    'officers.end-x': 'End the assignment of {name}',
    'officers.end-confirm': 'End the assignment of {name} ({party})? The entry stays in the registry.',
    'officers.ended-ok': 'Assignment ended.',
  },
  ru: {
    'officers.title': 'Офицеры связи',
    'officers.intro': 'Офицеры, назначенные каждой Стороной для поддержания связи, и их контактные данные.',
    'officers.list': 'Реестр',
    'officers.none': 'Офицеры пока не зарегистрированы.',
    'officers.show-ended': 'Показывать завершённые назначения',
    'officers.c-name': 'Имя',
    'officers.c-party': 'Сторона',
    'officers.c-contact': 'Контакты',
    'officers.c-since': 'Назначен',
    'officers.c-status': 'Статус',
    'officers.c-mandate': 'Мандат',
    'officers.c-actions': 'Действия',
    'officers.active': 'действует',
    'officers.ended': 'завершено {when}',
    'officers.by': 'внёс(ла) {officer} ({party})',
    'officers.ended-by': 'завершил(а) {officer} ({party})',
    'officers.migrated': 'перенесено из записей до введения аутентификации',
    'officers.theirs': 'завершить может только {party}',
    'officers.new': 'Назначить офицера',
    'officers.f-name': 'Имя',
    'officers.for': 'Назначает {party}: этот узел регистрирует и завершает назначения только своей Стороны. Другая Сторона ведёт своих офицеров сама.',
    'officers.f-contact': 'Контакты',
    'officers.f-contact-hint': 'Электронная почта, телефон или иной канал связи',
    'officers.f-mandate': 'Ссылка на мандат',
    'officers.f-mandate-hint': 'Номер зарегистрированного мандата, если узел его требует',
    'officers.assign': 'Назначить',
    'officers.assigned': 'Офицер назначен.',
    'officers.need': 'Укажите имя и контактные данные офицера.',
    'officers.end': 'Завершить назначение',
    'officers.end-x': 'Завершить назначение: {name}',
    'officers.end-confirm': 'Завершить назначение {name} ({party})? Запись останется в реестре.',
    'officers.ended-ok': 'Назначение завершено.',
  },
});

export function render(main, ctx) {
  const editable = can(ctx, 'liaison');
  const box = h('div', {}, t('ui.loading'));
  const formBox = h('div');
  const showEnded = h('input', { id: 'officers-show-ended', type: 'checkbox', checked: true });
  fill(
    main,
    pageHeading(t('officers.title')),
    h('p', { class: 'muted' }, t('officers.intro')),
    formBox,
    h(
      'section',
      { 'aria-labelledby': 'officers-h' },
      h('h2', { id: 'officers-h' }, t('officers.list')),
      h('p', {}, showEnded, ' ', h('label', { for: showEnded.id, class: 'inline' }, t('officers.show-ended'))),
      box,
    ),
  );
  let officers = null;

  const show = () => {
    if (!officers) return;
    const list = showEnded.checked ? officers : officers.filter((o) => !o.ended_at);
    if (!list.length) {
      fill(box, h('p', { class: 'muted' }, t('officers.none')));
      return;
    }
    // Keep the focus on the row's button across a reload, where the row is still there.
    const focused = document.activeElement && box.contains(document.activeElement)
      ? document.activeElement.closest('[data-officer]')?.dataset.officer
      : null;
    fill(
      box,
      table(
        [
          t('officers.c-name'), t('officers.c-party'), t('officers.c-contact'), t('officers.c-since'),
          t('officers.c-status'), t('officers.c-mandate'), editable ? t('officers.c-actions') : null,
        ].filter((x) => x !== null),
        list.map((o) => officerRow(o, editable, ctx.session.party_id, load)),
      ),
    );
    if (focused) {
      const again = box.querySelector(`[data-officer="${CSS.escape(focused)}"] button`);
      (again || main.querySelector('h1'))?.focus();
    }
  };

  const load = async () => {
    try {
      officers = await api('GET', '/api/officers');
    } catch (e) {
      showError(e, box);
      return;
    }
    show();
  };

  showEnded.addEventListener('change', show);

  if (editable) fill(formBox, assignForm(ctx, load));
  load();
  return live((ev) => ev.event === 'doc-changed' && ev.kind === 'registry', load);
}

function officerRow(o, editable, ownParty, reload) {
  const since = h('td', {}, fmtDateTime(o.assigned_at));
  if (o.assigned_by) {
    since.appendChild(h('br'));
    since.appendChild(h('span', { class: 'small muted' }, t('officers.by', { officer: o.assigned_by.officer, party: partyName(o.assigned_by.party) })));
  }
  if (o.migrated) {
    since.appendChild(h('br'));
    since.appendChild(h('span', { class: 'small muted', 'data-migrated': '' }, t('officers.migrated')));
  }
  const status = h('td', {}, o.ended_at
    ? badge(t('officers.ended', { when: fmtDateTime(o.ended_at) }), 'plain')
    : badge(t('officers.active'), 'ok'));
  if (o.ended_at && o.ended_by) {
    status.appendChild(h('br'));
    status.appendChild(h('span', { class: 'small muted' }, t('officers.ended-by', { officer: o.ended_by.officer, party: partyName(o.ended_by.party) })));
  }
  let actions = null;
  if (editable) {
    actions = h('td', { class: 'actions-cell' });
    // Only the Party that assigned an officer ends the assignment: no button for the other's.
    if (!o.ended_at && o.party !== ownParty) {
      actions.appendChild(h('span', { class: 'small muted' }, t('officers.theirs', { party: partyName(o.party) })));
    } else if (!o.ended_at) {
      const end = h(
        'button',
        { type: 'button', class: 'small danger', 'data-end': o.id, 'aria-label': t('officers.end-x', { name: o.name }) },
        t('officers.end'),
      );
      end.addEventListener('click', async () => {
        if (!(await confirmDialog(t('officers.end-confirm', { name: o.name, party: partyName(o.party) })))) return;
        await busy(end, async () => {
          await api('POST', `/api/officers/${encodeURIComponent(o.id)}/end`);
          toast(t('officers.ended-ok'));
          await reload();
        });
      });
      actions.appendChild(end);
    }
  }
  return h(
    'tr',
    { 'data-officer': o.id, 'data-party': o.party, class: o.ended_at ? 'ended-row' : null },
    h('td', {}, o.name),
    h('td', {}, partyName(o.party)),
    h('td', { class: 'wrap-any' }, o.contact),
    since,
    status,
    h('td', {}, o.mandate || ''),
    actions,
  );
}

/** The form for a new assignment: always for this node's own Party (it is not asked). */
function assignForm(ctx, onDone) {
  const own = ctx.session.party_name || ctx.session.party_id;
  const name = h('input', { id: 'officer-name', required: true, autocomplete: 'off' });
  const contact = h('input', { id: 'officer-contact', required: true, autocomplete: 'off' });
  const mandate = h('input', { id: 'officer-mandate', autocomplete: 'off' });
  const submit = h('button', { id: 'officer-assign', type: 'submit', class: 'primary' }, t('officers.assign'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-officer-h', 'aria-describedby': 'officer-for', novalidate: true },
    h('h2', { id: 'new-officer-h' }, t('officers.new')),
    h('p', { id: 'officer-for', class: 'muted', 'data-party': ctx.session.party_id }, t('officers.for', { party: own })),
    h(
      'div',
      { class: 'grid2' },
      field(t('officers.f-name'), name),
      field(t('officers.f-contact'), contact, t('officers.f-contact-hint')),
      field(t('officers.f-mandate'), mandate, t('officers.f-mandate-hint')),
    ),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!name.value.trim() || !contact.value.trim()) {
      toast(t('officers.need'), 'error');
      (name.value.trim() ? contact : name).focus();
      return;
    }
    busy(submit, async () => {
      const body = { name: name.value.trim(), contact: contact.value.trim() };
      if (mandate.value.trim()) body.mandate = mandate.value.trim();
      await api('POST', '/api/officers', body);
      toast(t('officers.assigned'));
      name.value = '';
      contact.value = '';
      mandate.value = '';
      name.focus();
      await onDone();
    });
  });
  return form;
}
