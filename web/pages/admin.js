// Administration: the pinned peers (add from another node's `liaison id --json`, remove) and the
// officers' accounts (add, showing the initial password once; disable). Admins only: the page
// says so to others, and the server refuses them anyway.

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import {
  h, fill, field, select, toast, showError, busy, can, fmtDateTime, pageHeading, shortPeer, table, live, badge,
  confirmDialog, peerRole,
} from '/pages/ui.js';

const PEER_ROLES = ['party', 'third-party', 'provider'];
const ROLES = ['viewer', 'member', 'liaison', 'admin'];

register({
  en: {
    'admin.title': 'Administration',
    'admin.only': 'Only administrators manage peers and accounts.',
    'admin.peers': 'Pinned peers',
    'admin.peers-intro': 'Only pinned nodes may connect. Removing a peer disconnects it at once.',
    'admin.no-peers': 'No peers are pinned.',
    'admin.c-party': 'Party or organisation',
    'admin.c-peer': 'Peer id',
    'admin.c-role': 'Role',
    'admin.c-conn': 'Connection',
    'admin.c-last': 'Last exchange',
    'admin.connected': 'connected',
    'admin.disconnected': 'not connected',
    'admin.remove': 'Remove',
    'admin.remove-x': 'Remove peer {party}',
    'admin.remove-confirm': 'Unpin the node of {party} ({peer})? It is disconnected at once and may no longer connect.',
    'admin.removed': 'Peer removed.',
    'admin.add-peer': 'Pin a peer',
    'admin.peer-json': 'The other node’s identity (paste the output of “liaison id --json”)',
    'admin.peer-role': 'Role',
    'admin.peer-add': 'Pin',
    'admin.peer-added': 'Peer pinned: {n} peers now.',
    'admin.peer-bad-json': 'That is not the JSON “liaison id --json” prints: {msg}',
    'admin.role.party': 'party (the other Party, or our own other node)',
    'admin.role.third-party': 'third party (gets nothing without consent)',
    'admin.role.provider': 'provider (on a third party’s node)',
    'admin.accounts': 'Accounts',
    'admin.no-accounts': 'No accounts.',
    'admin.c-name': 'Name',
    'admin.c-created': 'Created',
    'admin.c-login': 'Last login',
    'admin.c-state': 'State',
    'admin.active': 'active',
    'admin.disabled': 'disabled',
    'admin.disable': 'Disable',
    'admin.disable-x': 'Disable {name}',
    'admin.disable-confirm': 'Disable the account {name}? It can no longer log in, and its sessions end now.',
    'admin.disabled-ok': 'Account {name} disabled.',
    'admin.add-account': 'Add an account',
    'admin.account-name': 'Name (also the officer name changes are attributed to)',
    'admin.account-role': 'Role',
    'admin.account-add': 'Add',
    'admin.password-once': 'Initial password for {name}: give it to the officer now. It is shown only this once.',
    'admin.never': 'never',
  },
  ru: {
    'admin.title': 'Администрирование',
    'admin.only': 'Узлами и учётными записями управляют только администраторы.',
    'admin.peers': 'Закреплённые узлы',
    'admin.peers-intro': 'Подключаться могут только закреплённые узлы. Удалённый узел отключается немедленно.',
    'admin.no-peers': 'Закреплённых узлов нет.',
    'admin.c-party': 'Сторона или организация',
    'admin.c-peer': 'Идентификатор узла',
    'admin.c-role': 'Роль',
    'admin.c-conn': 'Соединение',
    'admin.c-last': 'Последний обмен',
    'admin.connected': 'на связи',
    'admin.disconnected': 'нет связи',
    'admin.remove': 'Удалить',
    'admin.remove-x': 'Удалить узел {party}',
    'admin.remove-confirm': 'Открепить узел {party} ({peer})? Он будет немедленно отключён и больше не сможет подключаться.',
    'admin.removed': 'Узел удалён.',
    'admin.add-peer': 'Закрепить узел',
    'admin.peer-json': 'Идентификация другого узла (вставьте вывод команды «liaison id --json»)',
    'admin.peer-role': 'Роль',
    'admin.peer-add': 'Закрепить',
    'admin.peer-added': 'Узел закреплён; всего узлов: {n}.',
    'admin.peer-bad-json': 'Это не JSON, который выводит «liaison id --json»: {msg}',
    'admin.role.party': 'сторона (другая Сторона или наш второй узел)',
    'admin.role.third-party': 'третья сторона (без согласия ничего не получает)',
    'admin.role.provider': 'предоставляющая сторона (на узле третьей стороны)',
    'admin.accounts': 'Учётные записи',
    'admin.no-accounts': 'Учётных записей нет.',
    'admin.c-name': 'Имя',
    'admin.c-created': 'Создана',
    'admin.c-login': 'Последний вход',
    'admin.c-state': 'Состояние',
    'admin.active': 'действует',
    'admin.disabled': 'отключена',
    'admin.disable': 'Отключить',
    'admin.disable-x': 'Отключить {name}',
    'admin.disable-confirm': 'Отключить учётную запись {name}? Войти с ней будет нельзя, её сеансы завершатся сейчас же.',
    'admin.disabled-ok': 'Учётная запись {name} отключена.',
    'admin.add-account': 'Добавить учётную запись',
    'admin.account-name': 'Имя (под ним записываются изменения офицера)',
    'admin.account-role': 'Роль',
    'admin.account-add': 'Добавить',
    'admin.password-once': 'Первоначальный пароль учётной записи {name}: передайте его офицеру сейчас. Он показывается только один раз.',
    'admin.never': 'не было',
  },
});

export function render(main, ctx) {
  if (!can(ctx, 'admin')) {
    fill(main, pageHeading(t('admin.title')), h('p', { class: 'muted' }, t('admin.only')));
    return undefined;
  }
  const peers = h('div', {}, t('ui.loading'));
  const accounts = h('div', {}, t('ui.loading'));
  const passwordBox = h('div', { id: 'account-password-box', 'aria-live': 'polite' });
  fill(
    main,
    pageHeading(t('admin.title')),
    h('section', { 'aria-labelledby': 'peers-h' },
      h('h2', { id: 'peers-h' }, t('admin.peers')),
      h('p', { class: 'muted' }, t('admin.peers-intro')),
      peers,
      peerForm(() => loadPeers()),
    ),
    h('section', { 'aria-labelledby': 'accounts-h' },
      h('h2', { id: 'accounts-h' }, t('admin.accounts')),
      accounts,
      accountForm(passwordBox, () => loadAccounts()),
      passwordBox,
    ),
  );

  const loadPeers = async () => {
    try {
      const st = await api('GET', '/api/status');
      fill(peers, peersTable(st.peers || [], loadPeers));
    } catch (e) {
      showError(e, peers);
    }
  };
  const loadAccounts = async () => {
    try {
      fill(accounts, accountsTable(await api('GET', '/api/accounts'), ctx, loadAccounts));
    } catch (e) {
      showError(e, accounts);
    }
  };
  loadPeers();
  loadAccounts();
  const off = live((ev) => ev.event === 'peer', loadPeers);
  // Last-exchange times move without events.
  const timer = setInterval(loadPeers, 10000);
  return () => {
    off();
    clearInterval(timer);
  };
}

function peersTable(list, reload) {
  if (!list.length) return h('p', { class: 'muted' }, t('admin.no-peers'));
  return table(
    [t('admin.c-party'), t('admin.c-peer'), t('admin.c-role'), t('admin.c-conn'), t('admin.c-last'), ''],
    list.map((p) => {
      const rm = h('button', { type: 'button', class: 'danger small', 'data-action': 'remove', 'aria-label': t('admin.remove-x', { party: p.party_id }) }, t('admin.remove'));
      rm.addEventListener('click', async () => {
        if (!(await confirmDialog(t('admin.remove-confirm', { party: p.party_id, peer: p.peer_id })))) return;
        await busy(rm, async () => {
          await api('DELETE', `/api/peers/${encodeURIComponent(p.peer_id)}`);
          toast(t('admin.removed'));
          await reload();
        });
      });
      return h(
        'tr',
        { 'data-peer': p.peer_id },
        h('td', {}, p.party_id),
        h('td', {}, shortPeer(p.peer_id)),
        h('td', {}, peerRole(p.role)),
        h('td', {}, p.connected ? badge(t('admin.connected'), 'ok') : badge(t('admin.disconnected'), 'bad')),
        h('td', {}, p.last_sync ? fmtDateTime(p.last_sync) : t('admin.never')),
        h('td', {}, rm),
      );
    }),
  );
}

function peerForm(onDone) {
  const json = h('textarea', { id: 'peer-json', rows: '7', spellcheck: 'false', required: true, class: 'mono' });
  const role = select({ id: 'peer-role' }, PEER_ROLES.map((r) => [r, t(`admin.role.${r}`)]));
  const submit = h('button', { type: 'submit', id: 'peer-add', class: 'primary' }, t('admin.peer-add'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'peer-add-h', novalidate: true },
    h('h3', { id: 'peer-add-h' }, t('admin.add-peer')),
    field(t('admin.peer-json'), json),
    field(t('admin.peer-role'), role),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    let id;
    try {
      id = JSON.parse(json.value);
      if (!id || typeof id !== 'object' || Array.isArray(id)) throw new Error('not an object');
    } catch (err) {
      toast(t('admin.peer-bad-json', { msg: err.message }), 'error');
      json.focus();
      return;
    }
    busy(submit, async () => {
      const r = await api('POST', '/api/peers', { ...id, role: role.value });
      toast(t('admin.peer-added', { n: r && r.peers !== undefined ? r.peers : '?' }));
      json.value = '';
      await onDone();
    });
  });
  return form;
}

function accountsTable(list, ctx, reload) {
  if (!list.length) return h('p', { class: 'muted' }, t('admin.no-accounts'));
  return table(
    [t('admin.c-name'), t('admin.account-role'), t('admin.c-created'), t('admin.c-login'), t('admin.c-state'), ''],
    list.map((a) => {
      let off = null;
      // Disabling oneself would end this very session; the CLI is there for that.
      if (!a.disabled && a.name !== ctx.session.name) {
        off = h('button', { type: 'button', class: 'danger small', 'data-action': 'disable', 'aria-label': t('admin.disable-x', { name: a.name }) }, t('admin.disable'));
        off.addEventListener('click', async () => {
          if (!(await confirmDialog(t('admin.disable-confirm', { name: a.name })))) return;
          await busy(off, async () => {
            await api('POST', `/api/accounts/${encodeURIComponent(a.name)}/disable`);
            toast(t('admin.disabled-ok', { name: a.name }));
            await reload();
          });
        });
      }
      return h(
        'tr',
        { 'data-account': a.name, 'data-disabled': String(a.disabled) },
        h('td', {}, a.name),
        h('td', {}, t(`role.${a.role}`)),
        h('td', {}, fmtDateTime(a.created_at)),
        h('td', {}, a.last_login ? fmtDateTime(a.last_login) : t('admin.never')),
        h('td', {}, a.disabled ? badge(t('admin.disabled'), 'bad') : badge(t('admin.active'), 'ok')),
        h('td', {}, off),
      );
    }),
  );
}

function accountForm(passwordBox, onDone) {
  const name = h('input', { id: 'account-name', required: true, autocomplete: 'off' });
  const role = select({ id: 'account-role' }, ROLES.map((r) => [r, t(`role.${r}`)]), 'member');
  const submit = h('button', { type: 'submit', id: 'account-add', class: 'primary' }, t('admin.account-add'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'account-add-h', novalidate: true },
    h('h3', { id: 'account-add-h' }, t('admin.add-account')),
    h('div', { class: 'grid2' }, field(t('admin.account-name'), name), field(t('admin.account-role'), role)),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const r = await api('POST', '/api/accounts', { name: name.value.trim(), role: role.value });
      // Shown once: it lives only in this element, which the next page render discards.
      fill(
        passwordBox,
        h('div', { class: 'card', role: 'alert' },
          h('p', {}, t('admin.password-once', { name: r.name })),
          h('output', { id: 'account-password', class: 'password-once' }, r.password),
        ),
      );
      name.value = '';
      await onDone();
    });
  });
  return form;
}
