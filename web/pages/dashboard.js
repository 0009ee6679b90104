// The dashboard: what needs an officer's attention first. The peers and their sync state,
// consent requests waiting for an answer, the next meetings, and drafts with stale provisions.

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { h, fill, showError, fmtDateTime, pageHeading, shortPeer, table, live, badge, peerRole, bilingualTitle } from '/pages/ui.js';
import { partyName, notePeers } from '/pages/ui.js';
import { consentSection } from '/pages/items.js';
import { liveEntries, mergeEntries } from '/pages/entries.js';

register({
  en: {
    'dash.title': 'Dashboard',
    'dash.peers': 'Peers',
    'dash.no-peers': 'No peers are pinned. An administrator adds them under Administration.',
    'dash.c-party': 'Party',
    'dash.c-peer': 'Node',
    'dash.c-role': 'Role',
    'dash.c-conn': 'Connection',
    'dash.c-sync': 'Documents in sync',
    'dash.c-last': 'Last exchange',
    'dash.connected': 'connected',
    'dash.disconnected': 'not connected',
    'dash.sync': '{in}/{all}',
    'dash.behind': '{n} behind',
    'dash.never': 'never',
    'dash.consent': 'Consent requests awaiting an answer',
    'dash.meetings': 'Upcoming meetings',
    'dash.no-meetings': 'No meetings ahead.',
    'dash.all-meetings': 'All meetings',
    'dash.stale': 'Drafts with stale provisions',
    'dash.stale-intro': 'A provision edited in one language is stale in the others until an officer aligns them.',
    'dash.no-stale': 'Every draft’s languages agree.',
    'dash.stale-n': '{n} stale',
    'dash.node': 'This node: {party} · {docs} documents',
  },
  ru: {
    'dash.title': 'Обзор',
    'dash.peers': 'Узлы',
    'dash.no-peers': 'Закреплённых узлов нет. Администратор добавляет их в разделе «Администрирование».',
    'dash.c-party': 'Сторона',
    'dash.c-peer': 'Узел',
    'dash.c-role': 'Роль',
    'dash.c-conn': 'Соединение',
    'dash.c-sync': 'Документов синхронизировано',
    'dash.c-last': 'Последний обмен',
    'dash.connected': 'на связи',
    'dash.disconnected': 'нет связи',
    'dash.sync': '{in} из {all}',
    'dash.behind': 'отстаёт: {n}',
    'dash.never': 'не было',
    'dash.consent': 'Запросы согласия, ожидающие ответа',
    'dash.meetings': 'Ближайшие встречи',
    'dash.no-meetings': 'Предстоящих встреч нет.',
    'dash.all-meetings': 'Все встречи',
    'dash.stale': 'Проекты с несогласованными положениями',
    'dash.stale-intro': 'Положение, изменённое на одном языке, считается несогласованным на других, пока офицер не приведёт тексты в соответствие.',
    'dash.no-stale': 'Языковые версии всех проектов согласованы.',
    'dash.stale-n': 'несогласованных: {n}',
    'dash.node': 'Этот узел: {party} · документов: {docs}',
  },
});

export function render(main, ctx) {
  const node = h('p', { class: 'muted' });
  const peers = h('div', {}, t('ui.loading'));
  const consent = h('div', {}, t('ui.loading'));
  const meetings = h('div', {}, t('ui.loading'));
  const stale = h('div', {}, t('ui.loading'));
  const card = (id, title, ...body) =>
    h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
  fill(
    main,
    pageHeading(t('dash.title')),
    node,
    card('dash-peers', t('dash.peers'), peers),
    h(
      'div',
      { class: 'tiles' },
      card('dash-meetings', t('dash.meetings'), meetings, h('p', {}, h('a', { href: '#/meetings' }, t('dash.all-meetings')))),
      card('dash-stale', t('dash.stale'), h('p', { class: 'muted small' }, t('dash.stale-intro')), stale),
    ),
    card('dash-consent', t('dash.consent'), consent),
  );

  const loadStatus = async () => {
    try {
      const st = await api('GET', '/api/status');
      // A peer pinned since the session began is named from now on (audit log included).
      notePeers(st);
      node.textContent = t('dash.node', { party: partyName(st.party_id) || st.party_name, docs: st.documents_total });
      fill(peers, peersTable(st.peers || []));
    } catch (e) {
      showError(e, peers);
    }
  };
  // The lists as last fetched: an event refreshes only the entry it names (pages/entries.js).
  let allMeetings = [];
  let allDrafts = [];
  const showMeetings = () => {
    const now = Date.now();
    const list = allMeetings
      .filter((m) => new Date(m.ends || m.starts).getTime() >= now && m.status !== 'cancelled')
      .sort((a, b) => String(a.starts).localeCompare(String(b.starts)) || String(a.title).localeCompare(String(b.title)))
      .slice(0, 6);
    fill(
      meetings,
      list.length
        ? h('ul', { class: 'plain' }, list.map((m) =>
            h('li', { 'data-meeting': m.id },
              h('a', { href: `#/meetings/${encodeURIComponent(m.id)}` }, bilingualTitle(m)),
              h('div', { class: 'muted small' }, [fmtDateTime(m.starts), m.venue].filter(Boolean).join(' · ')),
            )))
        : h('p', { class: 'muted' }, t('dash.no-meetings')),
    );
  };
  // Only the next few, not every meeting ever held (a workspace of years holds thousands). A few
  // more than are shown, so that one cancelled after this read leaves no gap.
  const loadMeetings = async () => {
    try {
      const from = encodeURIComponent(new Date().toISOString());
      allMeetings = await api('GET', `/api/meetings?from=${from}&status=proposed,confirmed,held&limit=12`);
      showMeetings();
    } catch (e) {
      showError(e, meetings);
    }
  };
  const showStale = () => {
    const list = allDrafts.filter((d) => d.stale > 0);
    fill(
      stale,
      list.length
        ? h('ul', { class: 'plain' }, list.map((d) =>
            h('li', {},
              h('a', { href: `#/drafts/${encodeURIComponent(d.id)}`, 'data-draft': d.id }, bilingualTitle(d)),
              ' ',
              badge(t('dash.stale-n', { n: d.stale }), 'warn'),
            )))
        : h('p', { class: 'muted' }, t('dash.no-stale')),
    );
  };
  const loadStale = async () => {
    try {
      allDrafts = await api('GET', '/api/drafts');
      showStale();
    } catch (e) {
      showError(e, stale);
    }
  };

  // Requests this Party must answer, and our own still waiting on the provider.
  const pending = consentSection(consent, ctx, (c) => c.state === 'pending');
  loadStatus();
  loadMeetings();
  loadStale();
  const off = live(
    (ev) => ev.event === 'peer' || ev.event === 'vault-changed',
    () => {
      pending.reload();
      loadStatus();
    },
  );
  const offMeetings = liveEntries('meeting', '/api/meetings', (got) => {
    allMeetings = mergeEntries(allMeetings, got);
    showMeetings();
  }, loadMeetings);
  const offDrafts = liveEntries('draft', '/api/drafts', (got) => {
    allDrafts = mergeEntries(allDrafts, got);
    showStale();
  }, loadStale);
  // Sync counts move without events of their own: poll them.
  const timer = setInterval(() => {
    loadStatus();
    pending.reload();
  }, 5000);
  // Meetings end, and those after the twelve fetched have no event to bring them in: ask again
  // now and then (twelve entries, cheap).
  const meetingsTimer = setInterval(loadMeetings, 60_000);
  return () => {
    off();
    offMeetings();
    offDrafts();
    clearInterval(timer);
    clearInterval(meetingsTimer);
  };
}

function peersTable(peers) {
  if (!peers.length) return h('p', { class: 'muted' }, t('dash.no-peers'));
  return table(
    [t('dash.c-party'), t('dash.c-peer'), t('dash.c-role'), t('dash.c-conn'), t('dash.c-sync'), t('dash.c-last')],
    peers.map((p) =>
      h(
        'tr',
        { 'data-peer': p.peer_id, 'data-connected': String(p.connected) },
        h('td', { title: p.party_id }, partyName(p.party_id)),
        h('td', {}, shortPeer(p.peer_id)),
        h('td', {}, peerRole(p.role)),
        h('td', {}, p.connected ? badge(t('dash.connected'), 'ok') : badge(t('dash.disconnected'), 'bad')),
        h(
          'td',
          {},
          t('dash.sync', { in: p.in_sync, all: p.shared }),
          p.behind ? [' ', badge(t('dash.behind', { n: p.behind }), 'warn')] : null,
        ),
        h('td', {}, p.last_sync ? fmtDateTime(p.last_sync) : t('dash.never')),
      ),
    ),
  );
}
