// Joint working meetings and consultations: a month calendar and a list, a new meeting, and one
// meeting with its details, agenda, participants and minutes (all editable by members).

import { api, apiPage } from '/api.js';
import { register, t, lang } from '/i18n.js';
import {
  h, fill, field, select, toast, showError, busy, can, fmtDateTime, fmtTime, fmtMonth, toLocalInput, fromLocalInput,
  pageHeading, table, live, badge, bilingualTitle, titleIn, fmtInZone, toZoneInput, ownZone,
} from '/pages/ui.js';
import { partyName } from '/pages/ui.js';
import { knownParties } from '/pages/groups.js';
import { historyPanel } from '/pages/history.js';
import { liveEntries, mergeEntries } from '/pages/entries.js';
import { byStart, byStartDesc, inWindow } from '/pages/order.js';
import { meetingAttachments } from '/pages/attachments.js';

const KINDS = ['working-meeting', 'consultation'];
const STATUSES = ['proposed', 'confirmed', 'held', 'cancelled'];

register({
  en: {
    'meetings.title': 'Meetings',
    'meetings.new': 'Propose a meeting',
    'meetings.f-title': 'Title',
    'meetings.f-title-other': 'Title in Russian',
    'meetings.f-tz': 'Time zone',
    'meetings.f-tz-hint': 'Where it is held (Asia/Almaty, Asia/Tashkent); times are entered and shown in it.',
    'meetings.ics': 'Download for a calendar (.ics)',
    'meetings.calendar': 'Calendar',
    'meetings.f-kind': 'Kind',
    'meetings.f-starts': 'Starts',
    'meetings.f-ends': 'Ends',
    'meetings.f-venue': 'Venue',
    'meetings.f-sidelines': 'On the sidelines of',
    'meetings.f-sidelines-hint': 'The other organisation’s event, if any',
    'meetings.f-status': 'Status',
    'meetings.create': 'Propose',
    'meetings.created': 'Meeting proposed.',
    'meetings.need': 'A meeting needs a title and a start.',
    'meetings.calendar': 'Calendar',
    'meetings.list': 'Meetings by date',
    'meetings.upcoming': 'From today on',
    'meetings.past': 'Earlier',
    'meetings.none-upcoming': 'No meetings from today on.',
    'meetings.none-past': 'No earlier meetings.',
    'meetings.showing': 'Meetings 1–{shown} of {total}.',
    'meetings.more': 'Show {n} more',
    'meetings.cal-more': 'The calendar shows {shown} of this month’s {total} meetings; the list below has them all.',
    'meetings.prev': 'Previous month',
    'meetings.next': 'Next month',
    'meetings.today': 'This month',
    'meetings.c-title': 'Title',
    'meetings.c-kind': 'Kind',
    'meetings.c-when': 'When',
    'meetings.c-venue': 'Venue',
    'meetings.c-status': 'Status',
    'meetings.day-count': '{n} meeting(s)',
    'meetings.back': 'All meetings',
    'meetings.details': 'Details',
    'meetings.edit': 'Edit the details',
    'meetings.save': 'Save',
    'meetings.agenda': 'Agenda',
    'meetings.no-agenda': 'No agenda items yet.',
    'meetings.agenda-add': 'Add agenda item',
    'meetings.agenda-text': 'New agenda item',
    'meetings.remove': 'Remove',
    'meetings.remove-x': 'Remove “{x}”',
    'meetings.participants': 'Participants',
    'meetings.no-participants': 'No participants yet.',
    'meetings.p-name': 'Name',
    'meetings.p-party': 'Party or organisation',
    'meetings.p-role': 'Role',
    'meetings.p-role-hint': 'For example: head of delegation',
    'meetings.p-add': 'Add participant',
    'meetings.minutes': 'Minutes',
    'meetings.minutes-save': 'Save the minutes',
    'meetings.minutes-hint': 'Edits by officers of both Parties are merged.',
    'meetings.last-change': 'Last change',
    'meetings.history': 'History of the meeting',
    'kind.working-meeting': 'working meeting',
    'kind.consultation': 'consultation',
    'status.proposed': 'proposed',
    'status.confirmed': 'confirmed',
    'status.held': 'held',
    'status.cancelled': 'cancelled',
  },
  ru: {
    'meetings.title': 'Встречи',
    'meetings.new': 'Предложить встречу',
    'meetings.f-title': 'Название',
    'meetings.f-title-other': 'Название на английском',
    'meetings.f-tz': 'Часовой пояс',
    'meetings.f-tz-hint': 'Где проходит встреча (Asia/Almaty, Asia/Tashkent); время вводится и показывается в нём.',
    'meetings.ics': 'Скачать для календаря (.ics)',
    'meetings.calendar': 'Календарь',
    'meetings.f-kind': 'Вид',
    'meetings.f-starts': 'Начало',
    'meetings.f-ends': 'Окончание',
    'meetings.f-venue': 'Место проведения',
    'meetings.f-sidelines': 'На полях мероприятия',
    'meetings.f-sidelines-hint': 'Мероприятие другой организации, если встреча проводится на его полях',
    'meetings.f-status': 'Статус',
    'meetings.create': 'Предложить',
    'meetings.created': 'Встреча предложена.',
    'meetings.need': 'Укажите название и время начала встречи.',
    'meetings.calendar': 'Календарь',
    'meetings.list': 'Встречи по датам',
    'meetings.upcoming': 'С сегодняшнего дня',
    'meetings.past': 'Прошедшие',
    'meetings.none-upcoming': 'С сегодняшнего дня встреч нет.',
    'meetings.none-past': 'Прошедших встреч нет.',
    'meetings.showing': 'Встречи 1–{shown} из {total}.',
    'meetings.more': 'Показать ещё {n}',
    'meetings.cal-more': 'В календаре {shown} из {total} встреч этого месяца; в списке ниже — все.',
    'meetings.prev': 'Предыдущий месяц',
    'meetings.next': 'Следующий месяц',
    'meetings.today': 'Текущий месяц',
    'meetings.c-title': 'Название',
    'meetings.c-kind': 'Вид',
    'meetings.c-when': 'Когда',
    'meetings.c-venue': 'Место',
    'meetings.c-status': 'Статус',
    'meetings.day-count': 'встреч: {n}',
    'meetings.back': 'Все встречи',
    'meetings.details': 'Сведения',
    'meetings.edit': 'Изменить сведения',
    'meetings.save': 'Сохранить',
    'meetings.agenda': 'Повестка дня',
    'meetings.no-agenda': 'Пунктов повестки пока нет.',
    'meetings.agenda-add': 'Добавить пункт',
    'meetings.agenda-text': 'Новый пункт повестки',
    'meetings.remove': 'Удалить',
    'meetings.remove-x': 'Удалить «{x}»',
    'meetings.participants': 'Участники',
    'meetings.no-participants': 'Участников пока нет.',
    'meetings.p-name': 'Имя',
    'meetings.p-party': 'Сторона или организация',
    'meetings.p-role': 'Роль',
    'meetings.p-role-hint': 'Например: глава делегации',
    'meetings.p-add': 'Добавить участника',
    'meetings.minutes': 'Протокол',
    'meetings.minutes-save': 'Сохранить протокол',
    'meetings.minutes-hint': 'Правки офицеров обеих Сторон объединяются.',
    'meetings.last-change': 'Последнее изменение',
    'meetings.history': 'История встречи',
    'kind.working-meeting': 'рабочая встреча',
    'kind.consultation': 'консультации',
    'status.proposed': 'предложена',
    'status.confirmed': 'подтверждена',
    'status.held': 'состоялась',
    'status.cancelled': 'отменена',
  },
});

export function render(main, ctx, id) {
  return id ? renderMeeting(main, ctx, id) : renderList(main, ctx);
}

const statusKind = (s) => ({ confirmed: 'ok', held: 'plain', cancelled: 'bad', proposed: 'warn' })[s] || 'plain';

// Zones offered in the time-zone field (any IANA name is accepted).
const ZONES = ['Asia/Almaty', 'Asia/Tashkent', 'Asia/Bishkek', 'Asia/Dushanbe', 'Asia/Ashgabat', 'Asia/Baku',
  'Asia/Shanghai', 'Europe/Moscow', 'Asia/Tehran', 'Asia/Karachi', 'Asia/Kolkata', 'Europe/Istanbul', 'Europe/Geneva',
  'America/New_York', 'UTC'];

/** The time-zone field: a text input with the usual zones offered. */
function tzInput(id, value) {
  const list = h('datalist', { id: `${id}-zones` }, ...ZONES.map((z) => h('option', { value: z })));
  const input = h('input', { id, list: `${id}-zones`, value: value || '', autocomplete: 'off', spellcheck: 'false' });
  return [input, h('span', {}, input, list)];
}

/** The two-language title fields' values as the API takes them: the officer's language first. */
function titleBody(own, other) {
  const body = { title: own, [`title_${lang()}`]: own };
  if (other) body[`title_${lang() === 'ru' ? 'en' : 'ru'}`] = other;
  return body;
}

function when(m) {
  if (m.tz) return m.ends ? `${fmtInZone(m.starts, m.tz)} – ${fmtInZone(m.ends, m.tz)}` : fmtInZone(m.starts, m.tz);
  if (!m.ends) return fmtDateTime(m.starts);
  const same = new Date(m.starts).toDateString() === new Date(m.ends).toDateString();
  return `${fmtDateTime(m.starts)} – ${same ? fmtTime(m.ends) : fmtDateTime(m.ends)}`;
}

// ---- list and calendar ----

/** How many meetings the list asks for at a time, and the most a month's calendar shows. */
const PAGE = 100;
const CAL_MAX = 1000;

/** Midnight today, local time: where "from today on" starts and "earlier" ends. */
function today() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
}

/** The first day a month's grid shows (the Monday on or before the 1st) and the day after its last. */
function gridRange(month) {
  const first = new Date(month.getFullYear(), month.getMonth(), 1);
  const start = new Date(first);
  start.setDate(1 - ((first.getDay() + 6) % 7));
  const end = new Date(start);
  end.setDate(start.getDate() + 42);
  return [start, end];
}

/** `/api/meetings` with `?from`, `?to` (Dates or null) and the other parameters given. */
function meetingsPath(from, to, more) {
  const q = [];
  if (from) q.push(`from=${encodeURIComponent(from.toISOString())}`);
  if (to) q.push(`to=${encodeURIComponent(to.toISOString())}`);
  for (const [k, v] of Object.entries(more)) q.push(`${k}=${encodeURIComponent(v)}`);
  return `/api/meetings?${q.join('&')}`;
}

/**
 * The calendar asks for the month it shows, and the list for a hundred meetings at a time, from
 * today on or (earlier) the latest first: a workspace of years holds thousands of meetings, and
 * neither page needs them all.
 */
function renderList(main, ctx) {
  const calBox = h('div');
  const calNote = h('p', { id: 'meetings-cal-more', class: 'muted' });
  const listBox = h('div', {}, t('ui.loading'));
  const pager = h('p', { id: 'meetings-pager', class: 'muted' });
  let view = 'upcoming';
  const tabs = {};
  for (const v of ['upcoming', 'past']) {
    tabs[v] = h('button', { type: 'button', id: `meetings-${v}`, 'aria-pressed': String(v === view) }, t(`meetings.${v}`));
    tabs[v].addEventListener('click', () => {
      if (view === v) return;
      view = v;
      for (const [w, b] of Object.entries(tabs)) b.setAttribute('aria-pressed', String(w === view));
      listed = [];
      loadList(PAGE);
    });
  }
  fill(
    main,
    pageHeading(t('meetings.title')),
    can(ctx, 'member') ? newMeetingForm(() => load()) : null,
    h('section', { 'aria-labelledby': 'cal-h' }, h('h2', { id: 'cal-h' }, t('meetings.calendar')), calBox, calNote),
    h(
      'section',
      { 'aria-labelledby': 'list-h' },
      h('h2', { id: 'list-h' }, t('meetings.list')),
      h('div', { class: 'tabs', role: 'group', 'aria-labelledby': 'list-h' }, tabs.upcoming, tabs.past),
      listBox,
      pager,
    ),
  );
  const now = new Date();
  let month = new Date(now.getFullYear(), now.getMonth(), 1);
  // The month's meetings and how many it has; the list's meetings and how many match its view.
  let monthMeetings = [];
  let monthTotal = 0;
  let listed = [];
  let total = 0;
  // A later answer wins over an earlier one still on its way (the month changed meanwhile).
  let calAsked = 0;
  let listAsked = 0;
  const listRange = () => (view === 'upcoming' ? [today(), null] : [null, today()]);
  const listOrder = () => (view === 'upcoming' ? byStart : byStartDesc);

  const showCal = (focusSel) => {
    fill(calBox, calendar(month, monthMeetings, (delta) => {
      month = delta === 0 ? new Date(now.getFullYear(), now.getMonth(), 1) : new Date(month.getFullYear(), month.getMonth() + delta, 1);
      const focusSel = `[data-cal="${delta < 0 ? 'prev' : delta > 0 ? 'next' : 'today'}"]`;
      monthMeetings = [];
      monthTotal = 0;
      showCal(focusSel);
      loadCal(focusSel);
    }));
    fill(calNote, monthTotal > monthMeetings.length ? t('meetings.cal-more', { shown: monthMeetings.length, total: monthTotal }) : null);
    if (focusSel) calBox.querySelector(focusSel)?.focus();
  };
  const loadCal = async (focusSel) => {
    const asked = ++calAsked;
    const [from, to] = gridRange(month);
    let page;
    try {
      page = await apiPage(meetingsPath(from, to, { limit: CAL_MAX }));
    } catch (e) {
      if (asked === calAsked) showError(e, calBox);
      return;
    }
    if (asked !== calAsked) return;
    monthMeetings = page.items;
    monthTotal = page.total;
    showCal(focusSel);
  };
  // The first `count` of the view, or with `more` the next hundred after those shown.
  const loadList = async (count, more = false) => {
    const asked = ++listAsked;
    const [from, to] = listRange();
    const params = { limit: count, offset: more ? listed.length : 0 };
    if (view === 'past') params.order = 'desc';
    let page;
    try {
      page = await apiPage(meetingsPath(from, to, params));
    } catch (e) {
      if (asked === listAsked) showError(e, listBox);
      return;
    }
    if (asked !== listAsked) return;
    listed = more ? listed.concat(page.items) : page.items;
    total = page.total;
    showList();
  };
  const load = () => {
    loadCal();
    loadList(Math.max(PAGE, listed.length));
  };
  const showList = () => {
    fill(
      listBox,
      listed.length
        ? table(
            [t('meetings.c-title'), t('meetings.c-kind'), t('meetings.c-when'), t('meetings.c-venue'), t('meetings.c-status')],
            listed.map((m) =>
              h(
                'tr',
                { 'data-meeting': m.id },
                h('td', {}, h('a', { href: `#/meetings/${encodeURIComponent(m.id)}` }, bilingualTitle(m))),
                h('td', {}, t(`kind.${m.kind}`)),
                h('td', {}, when(m)),
                h('td', {}, [m.venue, m.sidelines_of].filter(Boolean).join(' · ')),
                h('td', {}, badge(t(`status.${m.status}`), statusKind(m.status))),
              ),
            ),
          )
        : h('p', { class: 'muted' }, t(view === 'upcoming' ? 'meetings.none-upcoming' : 'meetings.none-past')),
    );
    const left = total - listed.length;
    if (left <= 0) {
      fill(pager, listed.length > PAGE ? t('meetings.showing', { shown: listed.length, total }) : null);
      return;
    }
    const more = h('button', { id: 'meetings-more', type: 'button', class: 'link' }, t('meetings.more', { n: Math.min(left, PAGE) }));
    more.addEventListener('click', () => busy(more, () => loadList(PAGE, true)));
    fill(pager, t('meetings.showing', { shown: listed.length, total }), ' ', more);
  };

  // A changed meeting is put in place, or taken out of a view it left (and the count with it).
  // While more are to come, one that now sorts after the last meeting shown waits for "show
  // more": shown there, and counted already if it was in the view before.
  const merge = (list, got, from, to, order, complete) => {
    const last = list[list.length - 1];
    const before = new Set(list.map((m) => m.id));
    const inView = mergeEntries(list, got).filter((m) => inWindow(m, from, to));
    const still = new Set(inView.map((m) => m.id));
    const fits = (m) => complete || !last || order(m, last) <= 0;
    const joined = inView.filter((m) => !before.has(m.id) && fits(m)).length;
    const left = [...before].filter((id) => !still.has(id)).length;
    return [inView.filter(fits).sort(order), joined - left];
  };
  showCal();
  load();
  // A change refreshes only the meeting it names (pages/entries.js).
  return liveEntries('meeting', '/api/meetings', (got) => {
    const [cf, ct] = gridRange(month);
    let delta;
    [monthMeetings, delta] = merge(monthMeetings, got, cf, ct, byStart, monthTotal <= monthMeetings.length);
    monthTotal += delta;
    const [lf, lt] = listRange();
    [listed, delta] = merge(listed, got, lf, lt, listOrder(), total <= listed.length);
    total += delta;
    showCal();
    showList();
  }, load);
}

/**
 * A month as a table, weeks from Monday. Each meeting is a link in its day's cell, so Tab walks
 * through them; the arrow keys move between days (each day cell is focusable only through
 * them, with one cell in the tab order).
 */
function calendar(month, meetings, go) {
  const first = new Date(month.getFullYear(), month.getMonth(), 1);
  const [start] = gridRange(month); // back to Monday
  const todayKey = new Date().toDateString();
  const byDay = new Map();
  for (const m of meetings) {
    const k = new Date(m.starts).toDateString();
    if (!byDay.has(k)) byDay.set(k, []);
    byDay.get(k).push(m);
  }
  // Weekday names in the interface language, from a known Monday.
  const weekdays = [...Array(7)].map((_, i) => {
    const d = new Date(2024, 0, 1 + i);
    return { short: fmtMonthDay(d, 'short'), long: fmtMonthDay(d, 'long') };
  });
  const cells = [];
  const rows = [];
  const d = new Date(start);
  for (let w = 0; w < 6; w++) {
    const tds = [];
    for (let i = 0; i < 7; i++) {
      const day = new Date(d);
      const list = byDay.get(day.toDateString()) || [];
      const inMonth = day.getMonth() === month.getMonth();
      const td = h(
        'td',
        {
          class: [inMonth ? '' : 'other', day.toDateString() === todayKey ? 'today' : ''].join(' ').trim() || null,
          tabindex: '-1',
          'aria-label': `${day.toLocaleDateString(document.documentElement.lang === 'ru' ? 'ru-RU' : 'en-GB', { dateStyle: 'full' })}${list.length ? `, ${t('meetings.day-count', { n: list.length })}` : ''}`,
        },
        h('span', { class: 'day', 'aria-hidden': 'true' }, String(day.getDate())),
        list.length
          ? h('ul', {}, list.map((m) =>
              h('li', {}, h('a', {
                href: `#/meetings/${encodeURIComponent(m.id)}`,
                class: m.status === 'cancelled' ? 'cancelled' : null,
                title: `${fmtTime(m.starts)} ${titleIn(m)}`,
              }, `${fmtTime(m.starts)} ${titleIn(m)}`))))
          : null,
      );
      cells.push(td);
      tds.push(td);
      d.setDate(d.getDate() + 1);
    }
    rows.push(h('tr', {}, tds));
    if (d.getMonth() !== month.getMonth() && d > first) break;
  }
  // One day cell is in the tab order: today, else the first of the month.
  const startCell = cells.find((c) => c.classList.contains('today')) || cells.find((c) => !c.classList.contains('other'));
  if (startCell) startCell.tabIndex = 0;
  const tbl = h(
    'table',
    { class: 'calendar' },
    h('caption', { class: 'sr-only' }, fmtMonth(month)),
    h('thead', {}, h('tr', {}, weekdays.map((w) => h('th', { scope: 'col', abbr: w.long }, w.short)))),
    h('tbody', {}, rows),
  );
  tbl.addEventListener('keydown', (e) => {
    const td = e.target.closest('td');
    if (!td || e.target !== td) return;
    const i = cells.indexOf(td);
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7, Home: -(i % 7), End: 6 - (i % 7) }[e.key];
    if (step === undefined) return;
    const next = cells[i + step];
    if (!next) return;
    e.preventDefault();
    td.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'cal-nav' },
      h('button', { type: 'button', 'data-cal': 'prev', 'aria-label': t('meetings.prev'), onclick: () => go(-1) }, '‹'),
      h('h3', { 'aria-live': 'polite' }, fmtMonth(month)),
      h('button', { type: 'button', 'data-cal': 'next', 'aria-label': t('meetings.next'), onclick: () => go(1) }, '›'),
      h('button', { type: 'button', 'data-cal': 'today', onclick: () => go(0) }, t('meetings.today')),
    ),
    tbl,
  );
}

function fmtMonthDay(d, style) {
  return d.toLocaleDateString(document.documentElement.lang === 'ru' ? 'ru-RU' : 'en-GB', { weekday: style });
}

function newMeetingForm(onDone) {
  const title = h('input', { id: 'meeting-title', required: true });
  const titleOther = h('input', { id: 'meeting-title-other' });
  const [tz, tzField] = tzInput('meeting-tz', ownZone());
  const kind = select({ id: 'meeting-kind' }, KINDS.map((k) => [k, t(`kind.${k}`)]));
  const starts = h('input', { id: 'meeting-starts', type: 'datetime-local', required: true });
  const ends = h('input', { id: 'meeting-ends', type: 'datetime-local' });
  const venue = h('input', { id: 'meeting-venue' });
  const sidelines = h('input', { id: 'meeting-sidelines' });
  const submit = h('button', { id: 'meeting-create', type: 'submit', class: 'primary' }, t('meetings.create'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-meeting-h', novalidate: true },
    h('h2', { id: 'new-meeting-h' }, t('meetings.new')),
    h('div', { class: 'grid2' },
      field(t('meetings.f-title'), title),
      field(t('meetings.f-title-other'), titleOther),
      field(t('meetings.f-kind'), kind),
      field(t('meetings.f-tz'), tzField, t('meetings.f-tz-hint')),
      field(t('meetings.f-starts'), starts),
      field(t('meetings.f-ends'), ends),
      field(t('meetings.f-venue'), venue),
      field(t('meetings.f-sidelines'), sidelines, t('meetings.f-sidelines-hint')),
    ),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!title.value.trim() || !starts.value) {
      toast(t('meetings.need'), 'error');
      return;
    }
    busy(submit, async () => {
      // With a zone, the times go as typed: the node reads them in that zone.
      const zone = tz.value.trim();
      const at = (v) => (zone ? v : fromLocalInput(v));
      const body = { ...titleBody(title.value.trim(), titleOther.value.trim()), kind: kind.value, starts: at(starts.value) };
      if (zone) body.tz = zone;
      if (ends.value) body.ends = at(ends.value);
      if (venue.value.trim()) body.venue = venue.value.trim();
      if (sidelines.value.trim()) body.sidelines_of = sidelines.value.trim();
      await api('POST', '/api/meetings', body);
      toast(t('meetings.created'));
      form.reset();
      await onDone();
    });
  });
  return form;
}

// ---- one meeting ----

function renderMeeting(main, ctx, id) {
  const heading = pageHeading(t('meetings.title'));
  const details = h('div', {}, t('ui.loading'));
  const editBox = h('div');
  const agenda = h('div');
  const agendaFormBox = h('div');
  const participants = h('div');
  const participantFormBox = h('div');
  const minutesBox = h('div');
  const attachBox = h('div');
  const history = historyPanel({ path: `/api/meetings/${encodeURIComponent(id)}/history`, id: 'meeting-history' });
  fill(
    main,
    h('p', {}, h('a', { href: '#/meetings' }, `← ${t('meetings.back')}`)),
    heading,
    h('section', { 'aria-labelledby': 'details-h' }, h('h2', { id: 'details-h' }, t('meetings.details')), details, editBox),
    h('section', { 'aria-labelledby': 'agenda-h' }, h('h2', { id: 'agenda-h' }, t('meetings.agenda')), agenda, agendaFormBox),
    h('section', { 'aria-labelledby': 'participants-h' }, h('h2', { id: 'participants-h' }, t('meetings.participants')), participants, participantFormBox),
    h('section', { 'aria-labelledby': 'minutes-h' }, h('h2', { id: 'minutes-h' }, t('meetings.minutes')), minutesBox),
    h('section', { 'aria-labelledby': 'attachments-h', id: 'meeting-attachments' }, h('h2', { id: 'attachments-h' }, t('att.title')), attachBox),
    h('section', { 'aria-label': t('meetings.history') }, history.el),
  );
  const editable = can(ctx, 'member');
  let m = null;
  let minutes = null; // the textarea, kept across reloads so typing is not lost
  let minutesDirty = false;
  let built = false;
  let partyList = [];
  const patch = (body) => api('PATCH', `/api/meetings/${encodeURIComponent(id)}`, body);

  const show = () => {
    fill(heading, bilingualTitle(m));
    document.title = `${titleIn(m)} · liaison`;
    const row = (k, v) => (v ? [h('dt', {}, k), h('dd', {}, v)] : null);
    fill(
      details,
      h(
        'dl',
        { class: 'meta' },
        row(t('meetings.f-kind'), t(`kind.${m.kind}`)),
        row(t('meetings.c-when'), when(m)),
        row(t('meetings.f-venue'), m.venue),
        row(t('meetings.calendar'), h('a', {
          id: 'meeting-ics', href: `/api/meetings/${encodeURIComponent(m.id)}/ics`, download: `meeting-${m.id.slice(0, 8)}.ics`,
        }, t('meetings.ics'))),
        row(t('meetings.f-sidelines'), m.sidelines_of),
        row(t('meetings.f-status'), badge(t(`status.${m.status}`), statusKind(m.status))),
        m.updated_by ? row(t('meetings.last-change'), `${m.updated_by.officer} (${partyName(m.updated_by.party)}), ${fmtDateTime(m.updated_at)}`) : null,
      ),
    );
    fill(agenda, agendaList(m, editable, patch, load));
    fill(participants, participantsTable(m, editable, patch, load));
    meetingAttachments(attachBox, m, can(ctx, 'liaison'), patch, load);
    // The forms are built once, so that a live reload does not wipe what is being typed.
    if (!built) {
      built = true;
      if (editable) {
        fill(editBox, editForm(m, patch, load));
        fill(agendaFormBox, agendaForm(patch, load));
        fill(participantFormBox, participantForm(partyList, patch, load));
      }
      minutes = h('textarea', { id: 'meeting-minutes', rows: '10', readonly: !editable });
      minutes.addEventListener('input', () => {
        minutesDirty = true;
      });
      const save = h('button', { type: 'button', id: 'minutes-save', class: 'primary' }, t('meetings.minutes-save'));
      save.addEventListener('click', () =>
        busy(save, async () => {
          await patch({ minutes: minutes.value });
          minutesDirty = false;
          toast(t('ui.saved'));
          await load();
        }),
      );
      fill(
        minutesBox,
        field(t('meetings.minutes'), minutes, editable ? t('meetings.minutes-hint') : null),
        editable ? h('div', { class: 'actions' }, save) : null,
      );
    }
    // Another officer's edit shows at once, unless this officer is in the middle of one.
    if (!minutesDirty) minutes.value = m.minutes;
  };

  const load = async () => {
    try {
      m = await api('GET', `/api/meetings/${encodeURIComponent(id)}`);
    } catch (e) {
      showError(e, details);
      return;
    }
    show();
  };

  (async () => {
    if (editable) partyList = await knownParties(ctx);
    await load();
  })();
  const off = live((ev) => ev.event === 'doc-changed' && (ev.doc === id || (m && ev.doc === m.id)), () => {
    load();
    history.poke();
  });
  return () => {
    off();
    history.stop();
  };
}

function editForm(m, patch, reload) {
  const other = lang() === 'ru' ? 'en' : 'ru';
  const title = h('input', { id: 'meeting-edit-title', value: titleIn(m), required: true });
  const titleOther = h('input', { id: 'meeting-edit-title-other', value: m[`title_${other}`] || '' });
  const [tz, tzField] = tzInput('meeting-edit-tz', m.tz);
  const kind = select({ id: 'meeting-edit-kind' }, KINDS.map((k) => [k, t(`kind.${k}`)]), m.kind);
  const status = select({ id: 'meeting-status' }, STATUSES.map((s) => [s, t(`status.${s}`)]), m.status);
  const starts = h('input', { id: 'meeting-edit-starts', type: 'datetime-local', value: toZoneInput(m.starts, m.tz), required: true });
  const ends = h('input', { id: 'meeting-edit-ends', type: 'datetime-local', value: toZoneInput(m.ends, m.tz) });
  const venue = h('input', { id: 'meeting-edit-venue', value: m.venue || '' });
  const sidelines = h('input', { id: 'meeting-edit-sidelines', value: m.sidelines_of || '' });
  const submit = h('button', { type: 'submit', id: 'meeting-save', class: 'primary' }, t('meetings.save'));
  // What the form was filled from: only fields the officer changed are sent, so a concurrent
  // change by someone else to another field is not overwritten.
  const orig = {
    title: titleIn(m), title_other: m[`title_${other}`] || '', tz: m.tz || '', kind: m.kind, status: m.status,
    starts: toZoneInput(m.starts, m.tz), ends: toZoneInput(m.ends, m.tz), venue: m.venue || '', sidelines_of: m.sidelines_of || '',
  };
  const form = h(
    'form',
    { novalidate: true },
    h('div', { class: 'grid2' },
      field(t('meetings.f-title'), title),
      field(t('meetings.f-title-other'), titleOther),
      field(t('meetings.f-kind'), kind),
      field(t('meetings.f-status'), status),
      field(t('meetings.f-tz'), tzField, t('meetings.f-tz-hint')),
      field(t('meetings.f-starts'), starts),
      field(t('meetings.f-ends'), ends),
      field(t('meetings.f-venue'), venue),
      field(t('meetings.f-sidelines'), sidelines),
    ),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, async () => {
      const now = {
        title: title.value.trim(), title_other: titleOther.value.trim(), tz: tz.value.trim(), kind: kind.value,
        status: status.value, starts: starts.value, ends: ends.value, venue: venue.value.trim(),
        sidelines_of: sidelines.value.trim(),
      };
      const body = {};
      for (const k of Object.keys(now)) if (now[k] !== orig[k]) body[k] = now[k];
      // The title goes in the officer's language (the node keeps the one first written in step).
      if ('title' in body) body[`title_${lang()}`] = body.title;
      if ('title' in body && !m[`title_${lang()}`]) delete body[`title_${lang()}`];
      if ('title' in body && m[`title_${lang()}`]) delete body.title;
      if ('title_other' in body) body[`title_${other}`] = body.title_other;
      delete body.title_other;
      // A changed zone moves the typed times with it: they are sent again, read in the new zone.
      if ('tz' in body && now.tz) Object.assign(body, { starts: now.starts, ...(now.ends ? { ends: now.ends } : {}) });
      const at = (v) => (now.tz ? v : fromLocalInput(v));
      if ('starts' in body) body.starts = at(body.starts);
      if ('ends' in body) body.ends = body.ends ? at(body.ends) : ''; // '' clears it
      if (!Object.keys(body).length) return;
      await patch(body);
      Object.assign(orig, now);
      toast(t('ui.saved'));
      await reload();
    });
  });
  return h('details', { class: 'card' }, h('summary', {}, t('meetings.edit')), form);
}

function agendaList(m, editable, patch, reload) {
  const items = m.agenda.length
    ? h('ol', { class: 'agenda' }, m.agenda.map((a) => {
        let rm = null;
        if (editable) {
          rm = h('button', { type: 'button', class: 'small', 'aria-label': t('meetings.remove-x', { x: a.text }) }, t('meetings.remove'));
          rm.addEventListener('click', () => busy(rm, async () => {
            await patch({ remove_agenda: [a.id] });
            await reload();
          }));
        }
        return h('li', { 'data-agenda': a.id }, a.text, ' ', rm);
      }))
    : h('p', { class: 'muted' }, t('meetings.no-agenda'));
  return items;
}

function agendaForm(patch, reload) {
  const text = h('input', { id: 'agenda-text', required: true });
  const add = h('button', { type: 'submit', id: 'agenda-add' }, t('meetings.agenda-add'));
  const form = h('form', { class: 'inline-form' }, field(t('meetings.agenda-text'), text), add);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    busy(add, async () => {
      await patch({ add_agenda: [text.value.trim()] });
      text.value = '';
      await reload();
      text.focus();
    });
  });
  return form;
}

function participantsTable(m, editable, patch, reload) {
  if (!m.participants.length) return h('p', { class: 'muted' }, t('meetings.no-participants'));
  return table(
    [t('meetings.p-name'), t('meetings.p-party'), t('meetings.p-role'), ''],
    m.participants.map((p) => {
      let rm = null;
      if (editable) {
        rm = h('button', { type: 'button', class: 'small', 'aria-label': t('meetings.remove-x', { x: p.name }) }, t('meetings.remove'));
        rm.addEventListener('click', () => busy(rm, async () => {
          await patch({ remove_participants: [p.id] });
          await reload();
        }));
      }
      return h('tr', { 'data-participant': p.id }, h('td', {}, p.name), h('td', {}, partyName(p.party)), h('td', {}, p.role || ''), h('td', {}, rm));
    }),
  );
}

function participantForm(parties, patch, reload) {
  const name = h('input', { id: 'participant-name', required: true });
  // A guest organisation may take part too: free text, with the known Parties suggested.
  const party = h('input', { id: 'participant-party', required: true, list: 'party-ids', value: parties[0] || '' });
  const list = h('datalist', { id: 'party-ids' }, parties.map((p) => h('option', { value: p })));
  const role = h('input', { id: 'participant-role' });
  const add = h('button', { type: 'submit', id: 'participant-add' }, t('meetings.p-add'));
  const form = h(
    'form',
    { class: 'inline-form' },
    field(t('meetings.p-name'), name),
    field(t('meetings.p-party'), party),
    list,
    field(t('meetings.p-role'), role, t('meetings.p-role-hint')),
    add,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!name.value.trim() || !party.value.trim()) return;
    busy(add, async () => {
      const p = { name: name.value.trim(), party: party.value.trim() };
      if (role.value.trim()) p.role = role.value.trim();
      await patch({ add_participants: [p] });
      name.value = '';
      role.value = '';
      await reload();
      name.focus();
    });
  });
  return form;
}
