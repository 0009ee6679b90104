// The officer's calendar feed, on the account page: a secret link a calendar program subscribes
// to (it shows every meeting, with its time zone). The node keeps only a hash of the link, so it
// is shown once, when made; making a new one stops the old one, and "Stop" ends it.

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { h, fill, busy, toast, showError } from '/pages/ui.js';

register({
  en: {
    'feed.title': 'Calendar feed',
    'feed.about': 'Subscribe to this link in Outlook, Google Calendar, Apple Calendar or Thunderbird to see the meetings there. Anyone with the link sees them: keep it to yourself.',
    'feed.active': 'Your calendar feed is on. Its link was shown when it was made; make a new one if you lost it.',
    'feed.none': 'You have no calendar feed.',
    'feed.new': 'Make a new calendar link',
    'feed.stop': 'Stop the calendar feed',
    'feed.made': 'Calendar link made (shown once; the previous one stopped):',
    'feed.stopped': 'The calendar feed is stopped.',
  },
  ru: {
    'feed.title': 'Календарь',
    'feed.about': 'Подпишитесь на эту ссылку в Outlook, Google Календаре, Календаре Apple или Thunderbird, чтобы видеть там встречи. Встречи видит любой, у кого есть ссылка: не передавайте её.',
    'feed.active': 'Ваш календарь включён. Ссылка была показана при создании; если она потеряна, создайте новую.',
    'feed.none': 'Календарь не включён.',
    'feed.new': 'Создать новую ссылку на календарь',
    'feed.stop': 'Отключить календарь',
    'feed.made': 'Ссылка на календарь создана (показывается один раз; прежняя больше не действует):',
    'feed.stopped': 'Календарь отключён.',
  },
});

/** The card: state, the link once made, and the two buttons. */
export function calendarFeedCard() {
  const state = h('p', { id: 'feed-state', role: 'status' }, t('ui.loading'));
  const made = h('div', { id: 'feed-made' });
  const make = h('button', { type: 'button', id: 'feed-new' }, t('feed.new'));
  const stop = h('button', { type: 'button', id: 'feed-stop' }, t('feed.stop'));
  const refresh = async () => {
    try {
      const s = await api('GET', '/api/session/calendar');
      state.textContent = s.active ? t('feed.active') : t('feed.none');
      stop.hidden = !s.active;
    } catch (e) {
      showError(e, state);
    }
  };
  make.addEventListener('click', () => busy(make, async () => {
    const f = await api('POST', '/api/session/calendar');
    const url = `${location.origin}${f.path}`;
    const input = h('input', { id: 'feed-url', readonly: true, value: url, size: '80', 'aria-label': t('feed.title') });
    fill(made, h('p', {}, t('feed.made')), input);
    input.select();
    await refresh();
  }));
  stop.addEventListener('click', () => busy(stop, async () => {
    await api('DELETE', '/api/session/calendar');
    fill(made);
    toast(t('feed.stopped'));
    await refresh();
  }));
  refresh();
  return h('section', { class: 'card', 'aria-labelledby': 'feed-h' },
    h('h2', { id: 'feed-h' }, t('feed.title')), h('p', { class: 'muted' }, t('feed.about')), state, made,
    h('div', { class: 'actions' }, make, stop));
}
