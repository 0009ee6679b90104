// Lists that follow changes entry by entry. A doc-changed event names one document; a list page
// fetches that entry alone (`GET /api/meetings?ids=ID`, likewise drafts, groups, threads) and
// puts it in place, instead of reloading the whole list on every change anywhere. Events are
// coalesced for 100 ms, so a burst (a peer's batch, someone typing) costs one fetch.
//
// The answer is searched for the ids asked for, so a node whose list route does not filter by
// `ids` (it answers the whole list) works the same; an id not in the answer is gone (or not of
// this list any more, e.g. a draft of another group).

import { api, onEvent } from '/api.js';

/** How long events are collected before the entries they name are fetched. */
export const COALESCE_MS = 100;

/**
 * Follows the documents of `kind` (`meeting`, `draft`, `group`, `thread`) listed from `path`
 * (`/api/meetings`, `/api/drafts?group=ID` ...). On events naming some of them, after
 * `COALESCE_MS`, calls `update(entries)` with a Map id → entry, or null for an entry gone. On a
 * lag marker (events were missed) calls `reload()`. Returns the unsubscribe function.
 */
export function liveEntries(kind, path, update, reload) {
  let ids = new Set();
  let timer = null;
  let stopped = false;
  const flush = async () => {
    timer = null;
    const asked = [...ids];
    ids = new Set();
    if (!asked.length || stopped) return;
    let list;
    try {
      const sep = path.includes('?') ? '&' : '?';
      list = await api('GET', `${path}${sep}ids=${asked.map(encodeURIComponent).join(',')}`);
    } catch {
      if (!stopped) reload(); // the whole list then, with its own error display
      return;
    }
    if (stopped || !Array.isArray(list)) return;
    const want = new Set(asked);
    const got = new Map(asked.map((id) => [id, null]));
    for (const e of list) if (e && want.has(e.id)) got.set(e.id, e);
    update(got);
  };
  const off = onEvent((ev) => {
    if (ev.event === 'lagged') {
      ids = new Set();
      clearTimeout(timer);
      timer = null;
      reload();
      return;
    }
    if (ev.event !== 'doc-changed' || ev.kind !== kind || typeof ev.doc !== 'string') return;
    ids.add(ev.doc);
    if (!timer) timer = setTimeout(flush, COALESCE_MS);
  });
  return () => {
    stopped = true;
    clearTimeout(timer);
    off();
  };
}

/** Puts `entries` (from `liveEntries`) into `list` by id: replaced, added at the end, removed. */
export function mergeEntries(list, entries) {
  const out = [];
  const seen = new Set();
  for (const e of list) {
    if (!entries.has(e.id)) out.push(e);
    else {
      seen.add(e.id);
      const n = entries.get(e.id);
      if (n) out.push(n);
    }
  }
  for (const [id, n] of entries) if (n && !seen.has(id)) out.push(n);
  return out;
}
