// Joint working groups: the list and a new group; one group with its members and its drafts,
// and a new draft in it (the draft itself opens in the editor, #/drafts/{id}).

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { h, fill, field, select, toast, showError, busy, can, fmtDateTime, pageHeading, table, live, badge, bilingualTitle } from '/pages/ui.js';
import { partyName } from '/pages/ui.js';
import { historyPanel } from '/pages/history.js';
import { liveEntries, mergeEntries } from '/pages/entries.js';

register({
  en: {
    'groups.title': 'Working groups',
    'groups.new': 'Set up a working group',
    'groups.name': 'Name',
    'groups.mandate': 'Mandate (what the group develops proposals on)',
    'groups.mandate-ref': 'Member-State mandate cited',
    'groups.mandate-ref-hint': 'The reference of a recorded mandate, if the node requires one',
    'groups.mandate-ref-by': 'Member-State mandate cited by {party}: {ref}',
    'groups.mandate-ref-ours': 'Our Party’s Member-State mandate for this group',
    'groups.mandate-ref-ours-hint': 'Each Party cites its own recorded mandate; leave empty to cite none',
    'groups.create': 'Set up',
    'groups.created': 'Working group set up.',
    'groups.none': 'No working groups yet.',
    'groups.c-name': 'Name',
    'groups.c-mandate': 'Mandate',
    'groups.c-members': 'Members',
    'groups.c-updated': 'Last change',
    'groups.back': 'All working groups',
    'groups.members': 'Members',
    'groups.no-members': 'No members yet.',
    'groups.m-name': 'Name',
    'groups.m-party': 'Party',
    'groups.m-role': 'Role in the group',
    'groups.m-role-hint': 'For example: co-chair',
    'groups.m-add': 'Add member',
    'groups.m-remove': 'Remove {name}',
    'groups.m-added': 'Member added.',
    'groups.m-removed': 'Member removed.',
    'groups.drafts': 'Drafts',
    'groups.no-drafts': 'No drafts in this group yet.',
    'groups.d-title': 'Title',
    'groups.d-lang': 'Language of the first text',
    'groups.d-text': 'First text (optional; paragraphs separated by a blank line become provisions)',
    'groups.d-create': 'Start a draft',
    'groups.d-new': 'New draft',
    'groups.d-created': 'Draft started.',
    'groups.d-state': 'State',
    'groups.d-provisions': 'Provisions',
    'groups.d-stale': 'Stale provisions',
    'groups.d-languages': 'Languages',
    'groups.edit': 'Edit the group',
    'groups.history': 'History of the group',
    'groups.save': 'Save',
    'groups.created-by': 'Set up by {who} on {at}',
    'draft-state.draft': 'drafting',
    'draft-state.under-review': 'under review',
    'draft-state.agreed': 'agreed',
    'draft-state.executed': 'executed',
    'draft-state.withdrawn': 'withdrawn',
    'lang.en': 'English',
    'lang.ru': 'Russian',
  },
  ru: {
    'groups.title': 'Рабочие группы',
    'groups.new': 'Создать рабочую группу',
    'groups.name': 'Название',
    'groups.mandate': 'Мандат (по каким вопросам группа готовит предложения)',
    'groups.mandate-ref': 'Ссылка на мандат государств-членов',
    'groups.mandate-ref-hint': 'Номер зарегистрированного мандата, если узел его требует',
    'groups.mandate-ref-by': 'Мандат государств-членов, на который ссылается {party}: {ref}',
    'groups.mandate-ref-ours': 'Мандат государств-членов нашей Стороны для этой группы',
    'groups.mandate-ref-ours-hint': 'Каждая Сторона ссылается на свой зарегистрированный мандат; оставьте пустым, чтобы не ссылаться',
    'groups.create': 'Создать',
    'groups.created': 'Рабочая группа создана.',
    'groups.none': 'Рабочих групп пока нет.',
    'groups.c-name': 'Название',
    'groups.c-mandate': 'Мандат',
    'groups.c-members': 'Члены',
    'groups.c-updated': 'Последнее изменение',
    'groups.back': 'Все рабочие группы',
    'groups.members': 'Члены группы',
    'groups.no-members': 'Членов пока нет.',
    'groups.m-name': 'Имя',
    'groups.m-party': 'Сторона',
    'groups.m-role': 'Роль в группе',
    'groups.m-role-hint': 'Например: сопредседатель',
    'groups.m-add': 'Добавить члена',
    'groups.m-remove': 'Исключить: {name}',
    'groups.m-added': 'Член группы добавлен.',
    'groups.m-removed': 'Член группы исключён.',
    'groups.drafts': 'Проекты',
    'groups.no-drafts': 'В этой группе проектов пока нет.',
    'groups.d-title': 'Название',
    'groups.d-lang': 'Язык первоначального текста',
    'groups.d-text': 'Первоначальный текст (необязательно; абзацы, разделённые пустой строкой, станут положениями)',
    'groups.d-create': 'Начать проект',
    'groups.d-new': 'Новый проект',
    'groups.d-created': 'Проект создан.',
    'groups.d-state': 'Стадия',
    'groups.d-provisions': 'Положений',
    'groups.d-stale': 'Несогласованных положений',
    'groups.d-languages': 'Языки',
    'groups.edit': 'Изменить группу',
    'groups.history': 'История группы',
    'groups.save': 'Сохранить',
    'groups.created-by': 'Создана: {who}, {at}',
    'draft-state.draft': 'на подготовке',
    'draft-state.under-review': 'на рассмотрении',
    'draft-state.agreed': 'согласован',
    'draft-state.executed': 'подписан',
    'draft-state.withdrawn': 'отозван',
    'lang.en': 'английский',
    'lang.ru': 'русский',
  },
});

export function render(main, ctx, id) {
  return id ? renderGroup(main, ctx, id) : renderList(main, ctx);
}

/** Parties an officer may pick for a member or participant: ours and the pinned ones. */
export async function knownParties(ctx) {
  const out = new Set([ctx.session.party_id]);
  try {
    const st = await api('GET', '/api/status');
    for (const p of st.peers || []) if (p.role !== 'third-party') out.add(p.party_id);
  } catch {
    // the field stays free text
  }
  return [...out];
}

function renderList(main, ctx) {
  const box = h('div', {}, t('ui.loading'));
  fill(
    main,
    pageHeading(t('groups.title')),
    h('section', { 'aria-labelledby': 'groups-h' }, h('h2', { id: 'groups-h', class: 'sr-only' }, t('groups.title')), box),
    can(ctx, 'member') ? newGroupForm() : null,
  );
  let groups = [];
  const load = async () => {
    try {
      groups = await api('GET', '/api/groups');
      show();
    } catch (e) {
      showError(e, box);
    }
  };
  const show = () => {
    try {
      if (!groups.length) return fill(box, h('p', { class: 'muted' }, t('groups.none')));
      fill(
        box,
        table(
          [t('groups.c-name'), t('groups.c-mandate'), t('groups.c-members'), t('groups.c-updated')],
          groups.map((g) =>
            h(
              'tr',
              { 'data-group': g.id },
              h('td', {}, h('a', { href: `#/groups/${encodeURIComponent(g.id)}` }, bilingualTitle(g))),
              h('td', {}, g.mandate),
              h('td', { class: 'num' }, String(g.members.length)),
              h('td', {}, fmtDateTime(g.updated_at)),
            ),
          ),
        ),
      );
    } catch (e) {
      showError(e, box);
    }
  };
  load();
  // A change refreshes only the group it names (pages/entries.js).
  return liveEntries('group', '/api/groups', (got) => {
    groups = mergeEntries(groups, got);
    show();
  }, load);
}

function newGroupForm() {
  const name = h('input', { id: 'group-name', name: 'name', required: true });
  const mandate = h('input', { id: 'group-mandate', name: 'mandate', required: true });
  const ref = h('input', { id: 'group-mandate-ref', name: 'mandate_ref' });
  const submit = h('button', { id: 'group-create', type: 'submit', class: 'primary' }, t('groups.create'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-group-h' },
    h('h2', { id: 'new-group-h' }, t('groups.new')),
    h('div', { class: 'grid2' },
      field(t('groups.name'), name),
      field(t('groups.mandate'), mandate),
      field(t('groups.mandate-ref'), ref, t('groups.mandate-ref-hint')),
    ),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const body = { name: name.value.trim(), mandate: mandate.value.trim() };
      if (ref.value.trim()) body.mandate_ref = ref.value.trim();
      const { id } = await api('POST', '/api/groups', body);
      toast(t('groups.created'));
      location.hash = `#/groups/${encodeURIComponent(id)}`;
    });
  });
  return form;
}

// ---- one group ----

function renderGroup(main, ctx, id) {
  const heading = pageHeading(t('groups.title'));
  const info = h('div', {}, t('ui.loading'));
  const members = h('div');
  const memberFormBox = h('div');
  const drafts = h('div', {}, t('ui.loading'));
  const editBox = h('div');
  const history = historyPanel({ path: `/api/groups/${encodeURIComponent(id)}/history`, id: 'group-history' });
  fill(
    main,
    h('p', {}, h('a', { href: '#/groups' }, `← ${t('groups.back')}`)),
    heading,
    info,
    h('section', { 'aria-labelledby': 'drafts-h' }, h('h2', { id: 'drafts-h' }, t('groups.drafts')), drafts, can(ctx, 'member') ? newDraftForm(id, () => loadDrafts()) : null),
    h('section', { 'aria-labelledby': 'members-h' }, h('h2', { id: 'members-h' }, t('groups.members')), members, memberFormBox),
    editBox,
    h('section', { 'aria-label': t('groups.history') }, history.el),
  );
  let group = null;
  let first = true;

  const load = async () => {
    try {
      group = await api('GET', `/api/groups/${encodeURIComponent(id)}`);
    } catch (e) {
      showError(e, info);
      return;
    }
    heading.textContent = group.name;
    document.title = `${group.name} · liaison`;
    fill(
      info,
      h('p', { class: 'lead' }, group.mandate),
      group.mandate_ref ? h('p', { class: 'muted' }, `${t('groups.mandate-ref')}: ${group.mandate_ref}`) : null,
      Object.entries(group.mandate_refs || {}).map(([party, ref]) => h('p', { class: 'muted', 'data-mandate-ref': party }, t('groups.mandate-ref-by', { party, ref }))),
      group.created_by
        ? h('p', { class: 'muted small' }, t('groups.created-by', { who: `${group.created_by.officer} (${partyName(group.created_by.party)})`, at: fmtDateTime(group.created_at) }))
        : null,
    );
    fill(members, membersTable(group, ctx, load));
    if (first && can(ctx, 'member')) {
      first = false;
      fill(memberFormBox, await addMemberForm(group, ctx, load));
      fill(editBox, editGroupForm(group, load, ctx));
    }
  };

  const loadDrafts = async () => {
    try {
      const list = await api('GET', `/api/drafts?group=${encodeURIComponent(id)}`);
      fill(drafts, draftsTable(list));
    } catch (e) {
      showError(e, drafts);
    }
  };

  load();
  loadDrafts();
  const off = live(
    (ev) => ev.event === 'doc-changed' && (ev.kind === 'group' || ev.kind === 'draft'),
    () => {
      load();
      loadDrafts();
    },
  );
  const offHistory = live((ev) => ev.event === 'doc-changed' && (ev.doc === id || (group && ev.doc === group.id)), () => history.poke());
  return () => {
    off();
    offHistory();
    history.stop();
  };
}

/** A table of drafts (also the dashboard's): each title links to the editor. */
export function draftsTable(list) {
  if (!list.length) return h('p', { class: 'muted' }, t('groups.no-drafts'));
  return table(
    [t('groups.d-title'), t('groups.d-state'), t('groups.d-languages'), t('groups.d-provisions'), t('groups.d-stale'), t('groups.c-updated')],
    list.map((d) =>
      h(
        'tr',
        {},
        h('td', {}, h('a', { href: `#/drafts/${encodeURIComponent(d.id)}`, 'data-draft': d.id }, bilingualTitle(d))),
        h('td', {}, badge(t(`draft-state.${d.state}`), d.state === 'executed' || d.state === 'agreed' ? 'ok' : 'plain')),
        h('td', {}, d.languages.join(', ')),
        h('td', { class: 'num' }, String(d.provisions)),
        h('td', { class: 'num' }, d.stale ? badge(String(d.stale), 'warn') : '0'),
        h('td', {}, fmtDateTime(d.updated_at)),
      ),
    ),
  );
}

function membersTable(group, ctx, reload) {
  if (!group.members.length) return h('p', { class: 'muted' }, t('groups.no-members'));
  return table(
    [t('groups.m-name'), t('groups.m-party'), t('groups.m-role'), ''],
    group.members.map((m) => {
      let remove = null;
      if (can(ctx, 'member')) {
        remove = h('button', { type: 'button', class: 'small', 'data-action': 'remove-member' }, t('groups.m-remove', { name: m.name }));
        remove.addEventListener('click', () =>
          busy(remove, async () => {
            await api('PATCH', `/api/groups/${encodeURIComponent(group.id)}`, { remove_members: [m.id] });
            toast(t('groups.m-removed'));
            await reload();
          }),
        );
      }
      return h('tr', { 'data-member': m.id }, h('td', {}, m.name), h('td', {}, partyName(m.party)), h('td', {}, m.role || ''), h('td', {}, remove));
    }),
  );
}

async function addMemberForm(group, ctx, reload) {
  const parties = await knownParties(ctx);
  const name = h('input', { id: 'member-name', required: true });
  const party = select({ id: 'member-party' }, parties.map((p) => [p, p]));
  const role = h('input', { id: 'member-role' });
  const submit = h('button', { type: 'submit', id: 'member-add' }, t('groups.m-add'));
  const form = h(
    'form',
    { class: 'inline-form' },
    field(t('groups.m-name'), name),
    field(t('groups.m-party'), party),
    field(t('groups.m-role'), role, t('groups.m-role-hint')),
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const m = { name: name.value.trim(), party: party.value };
      if (role.value.trim()) m.role = role.value.trim();
      await api('PATCH', `/api/groups/${encodeURIComponent(group.id)}`, { add_members: [m] });
      toast(t('groups.m-added'));
      name.value = '';
      role.value = '';
      name.focus();
      await reload();
    });
  });
  return form;
}

function editGroupForm(group, reload, ctx) {
  const name = h('input', { id: 'group-edit-name', value: group.name, required: true });
  const mandate = h('input', { id: 'group-edit-mandate', value: group.mandate, required: true });
  // This Party's own citation (as group create cites one): the node checks it is ours, in force.
  const us = ctx && ctx.session ? ctx.session.party_id : '';
  const cited = (group.mandate_refs || {})[us] || '';
  const ref = h('input', { id: 'group-edit-mandate-ref', value: cited, list: 'group-edit-mandate-refs' });
  const refs = h('datalist', { id: 'group-edit-mandate-refs' });
  api('GET', '/api/mandates')
    .then((list) => fill(refs, (list || []).filter((m) => m.party === us).map((m) => h('option', { value: m.reference }, `${m.reference}: ${m.scope}`))))
    .catch(() => {});
  const submit = h('button', { type: 'submit' }, t('groups.save'));
  const form = h(
    'form',
    {},
    h('div', { class: 'grid2' }, field(t('groups.name'), name), field(t('groups.mandate'), mandate), field(t('groups.mandate-ref-ours'), ref, t('groups.mandate-ref-ours-hint'))),
    refs,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const body = { name: name.value.trim(), mandate: mandate.value.trim() };
      if (ref.value.trim() !== cited) body.mandate_ref = ref.value.trim();
      await api('PATCH', `/api/groups/${encodeURIComponent(group.id)}`, body);
      toast(t('ui.saved'));
      await reload();
    });
  });
  return h('details', { class: 'card' }, h('summary', {}, t('groups.edit')), form);
}

function newDraftForm(groupId, onDone) {
  const title = h('input', { id: 'draft-title', name: 'title', required: true });
  const lang = select({ id: 'draft-lang' }, [['en', t('lang.en')], ['ru', t('lang.ru')]]);
  const text = h('textarea', { id: 'draft-text', rows: '4' });
  const submit = h('button', { id: 'draft-create', type: 'submit', class: 'primary' }, t('groups.d-create'));
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'new-draft-h' },
    h('h3', { id: 'new-draft-h' }, t('groups.d-new')),
    h('div', { class: 'grid2' }, field(t('groups.d-title'), title), field(t('groups.d-lang'), lang)),
    field(t('groups.d-text'), text),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const body = { group: groupId, title: title.value.trim(), lang: lang.value };
      if (text.value.trim()) body.text = text.value;
      await api('POST', '/api/drafts', body);
      toast(t('groups.d-created'));
      form.reset();
      await onDone();
    });
  });
  return form;
}
