// The interface in English and Russian. Each module registers its own strings with `register`;
// `t(key, vars)` looks them up in the chosen language, falling back to English, then the key.

const dicts = { en: {}, ru: {} };
let current = localStorage.getItem('liaison.lang') === 'ru' ? 'ru' : 'en';
const listeners = new Set();

/** Adds strings: `register({ en: { 'nav.meetings': 'Meetings' }, ru: { ... } })`. */
export function register(more) {
  for (const lang of Object.keys(dicts)) Object.assign(dicts[lang], more[lang] || {});
}

/** The string for `key` in the current language; `{name}` in it is replaced from `vars`. */
export function t(key, vars) {
  let s = dicts[current][key] ?? dicts.en[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** The current interface language, 'en' or 'ru'. */
export function lang() {
  return current;
}

/** Switches the language, remembers it, and tells subscribers (who re-render). */
export function setLang(l) {
  current = l === 'ru' ? 'ru' : 'en';
  localStorage.setItem('liaison.lang', current);
  document.documentElement.lang = current;
  for (const fn of listeners) fn(current);
}

/** Subscribes to language changes. Returns unsubscribe. */
export function onLang(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

document.documentElement.lang = current;
