// My account: the officer changes the one-time password the sysadmin gave them (or any later one).

import { api } from '/api.js';
import { register, t } from '/i18n.js';
import { h, fill, field, pageHeading, toast, errorText } from '/pages/ui.js';
import { calendarFeedCard } from '/pages/calendar_feed.js';

register({
  en: {
    'account.title': 'My account',
    'account.who': 'Logged in as {name} ({role}) at {party}.',
    'account.change': 'Change password',
    'account.current': 'Current password',
    'account.new': 'New password',
    'account.repeat': 'New password again',
    'account.hint': 'At least 12 characters; a phrase of several words is easiest to remember.',
    'account.mismatch': 'The two new passwords differ.',
    'account.save': 'Change password',
    'account.done': 'Password changed.',
  },
  ru: {
    'account.title': 'Моя учётная запись',
    'account.who': 'Вы вошли как {name} ({role}), {party}.',
    'account.change': 'Смена пароля',
    'account.current': 'Текущий пароль',
    'account.new': 'Новый пароль',
    'account.repeat': 'Новый пароль ещё раз',
    'account.hint': 'Не менее 12 символов; проще всего запомнить фразу из нескольких слов.',
    'account.mismatch': 'Новые пароли не совпадают.',
    'account.save': 'Сменить пароль',
    'account.done': 'Пароль изменён.',
  },
});

export function render(main, ctx) {
  const s = ctx.session;
  const current = h('input', { id: 'pw-current', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'pw-new', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' });
  const again = h('input', { id: 'pw-again', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' });
  const msg = h('p', { id: 'pw-message', role: 'status' });
  const submit = h('button', { type: 'submit', id: 'pw-submit' }, t('account.save'));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'pw-h' },
    h('h2', { id: 'pw-h' }, t('account.change')),
    field(t('account.current'), current),
    field(t('account.new'), next, t('account.hint')),
    field(t('account.repeat'), again),
    submit,
    msg,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (next.value !== again.value) {
      msg.textContent = t('account.mismatch');
      again.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api('POST', '/api/session/password', { current: current.value, new: next.value });
      form.reset();
      msg.textContent = t('account.done');
      toast(t('account.done'));
    } catch (err) {
      msg.textContent = errorText(err.message);
    } finally {
      submit.disabled = false;
    }
  });
  document.title = `${t('account.title')} · liaison`;
  fill(
    main,
    pageHeading(t('account.title')),
    h('p', {}, t('account.who', { name: s.name, role: t(`role.${s.role}`), party: s.party_name || s.party_id })),
    form,
    calendarFeedCard(),
  );
}
