// Search: the box in the header (on every page once logged in) and the results page,
// #/search/{words}. The server stems English and Russian words and leaves out the titles of
// items this officer may not read; this page only shows what it answers.

import { api } from '/api.js';
import { register, t, onLang } from '/i18n.js';
import { h, fill, showError, pageHeading } from '/pages/ui.js';

// The server's bound on a query (src/search.rs MAX_QUERY_CHARS).
const MAX_CHARS = 200;
const LIMIT = 50;

register({
  en: {
    'search.label': 'Search',
    'search.placeholder': 'Search meetings, drafts, messages…',
    'search.go': 'Search',
    'search.title': 'Search',
    'search.results': 'Results for «{q}»',
    'search.none': 'Nothing found for «{q}».',
    'search.hint': 'Every word must be found; English and Russian words are found in any form.',
    'search.kind.meeting': 'Meeting',
    'search.kind.group': 'Working group',
    'search.kind.draft': 'Draft',
    'search.kind.thread': 'Communication',
    'search.kind.item': 'Provided information',
    'search.lang.en': 'English',
    'search.lang.ru': 'Russian',
  },
  ru: {
    'search.label': 'Поиск',
    'search.placeholder': 'Поиск по встречам, проектам, переписке…',
    'search.go': 'Найти',
    'search.title': 'Поиск',
    'search.results': 'Результаты по запросу «{q}»',
    'search.none': 'По запросу «{q}» ничего не найдено.',
    'search.hint': 'Ищутся все слова запроса; русские и английские слова находятся в любой форме.',
    'search.kind.meeting': 'Встреча',
    'search.kind.group': 'Рабочая группа',
    'search.kind.draft': 'Проект',
    'search.kind.thread': 'Переписка',
    'search.kind.item': 'Предоставленная информация',
    'search.lang.en': 'английский',
    'search.lang.ru': 'русский',
  },
});

let box = null;

/** Puts the search box in the header (once), or shows it again after a new login. */
export function mountSearchBox(header) {
  if (box) {
    box.hidden = false;
    return;
  }
  const input = h('input', { type: 'search', id: 'search-q', name: 'q', maxlength: String(MAX_CHARS), autocomplete: 'off' });
  const label = h('label', { for: 'search-q', class: 'sr-only' });
  const button = h('button', { type: 'submit' });
  box = h('form', { id: 'search-box', class: 'search-box', role: 'search' }, label, input, button);
  box.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
  });
  const words = () => {
    label.textContent = t('search.label');
    input.placeholder = t('search.placeholder');
    button.textContent = t('search.go');
    box.setAttribute('aria-label', t('search.label'));
  };
  words();
  onLang(words);
  const session = header.querySelector('.session');
  header.insertBefore(box, session);
}

/** Hides the box when the officer logs out. */
export function hideSearchBox() {
  if (box) box.hidden = true;
}

/** Where a hit leads. */
function hrefOf(hit) {
  const id = encodeURIComponent(hit.doc);
  switch (hit.kind) {
    case 'meeting': return `#/meetings/${id}`;
    case 'group': return `#/groups/${id}`;
    case 'draft': return `#/drafts/${id}`;
    case 'thread': return `#/messages/${id}`;
    case 'item': return `#/items/${id}`;
    default: return '#/dashboard';
  }
}

/** The snippet with the words found in <mark>, built as text nodes (never as HTML). */
function snippet(hit) {
  const chars = Array.from(hit.snippet || '');
  const out = [];
  let at = 0;
  for (const [start, end] of hit.highlights || []) {
    if (start < at || end < start || end > chars.length) continue;
    out.push(chars.slice(at, start).join(''));
    out.push(h('mark', {}, chars.slice(start, end).join('')));
    at = end;
  }
  out.push(chars.slice(at).join(''));
  return h('p', { class: 'search-snippet' }, ...out);
}

function where(hit) {
  const parts = [t(`search.kind.${hit.kind}`)];
  if (hit.label) parts.push(hit.label);
  if (hit.lang) parts.push(t(`search.lang.${hit.lang}`) || hit.lang);
  return parts.join(' · ');
}

export async function render(main, _ctx, q = '') {
  const input = document.getElementById('search-q');
  if (input && input.value !== q) input.value = q;
  fill(main, pageHeading(t('search.title')));
  if (!q.trim()) {
    main.appendChild(h('p', { class: 'muted' }, t('search.hint')));
    if (input) input.focus();
    return;
  }
  const status = h('p', { class: 'error', role: 'alert' });
  main.appendChild(status);
  let res;
  try {
    res = await api('GET', `/api/search?q=${encodeURIComponent(q.slice(0, MAX_CHARS))}&limit=${LIMIT}`);
  } catch (e) {
    showError(e, status);
    return;
  }
  status.remove();
  const hits = res.hits || [];
  if (!hits.length) {
    main.append(h('p', { id: 'search-none' }, t('search.none', { q })), h('p', { class: 'muted' }, t('search.hint')));
    return;
  }
  main.appendChild(h('h2', {}, t('search.results', { q })));
  main.appendChild(
    h(
      'ol',
      { class: 'search-results', id: 'search-results' },
      ...hits.map((hit) =>
        h(
          'li',
          { 'data-kind': hit.kind, 'data-doc': hit.doc },
          h('a', { href: hrefOf(hit) }, hit.title),
          h('span', { class: 'muted search-where' }, ` — ${where(hit)}`),
          snippet(hit),
        ),
      ),
    ),
  );
}
