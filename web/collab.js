// Live editing of a draft's provision texts, one <textarea> per provision and language.
//
// Design: the server merges. Each textarea ("field") remembers `base`, the text the server had at
// version `baseVersion`. On input, if nothing is in flight for that field, the one contiguous
// change between `base` and the textarea's value is sent as a splice against `baseVersion`
// (positions in Unicode code points). The answer's `version` is the version whose text is exactly
// base + that splice, so it becomes the next base. Typing that happens while a splice is in flight
// is coalesced into the next splice, sent as soon as the answer comes. A field with nothing unsent
// and nothing in flight takes the server's text on refresh (doc-changed event, presence tick, or
// after our own ack when the answer shows other changes), keeping the caret where it belongs. A
// field with unsent text is never overwritten: its refresh waits for the ack.
//
// Hooks for tests and the bench (`window.__liaisonEditor`, set by the editor while it is open):
//   pending()    number of fields with an unsent or in-flight change (0 = all saved)
//   lastApplied  Date.now() when a remote change last replaced a textarea's text (0 = never)
//   lastAck      Date.now() of the last acknowledged splice (0 = never)
//   lastAppliedMonoNs  the server's `applied_mono_ns` of that splice
//   refreshes    number of draft refreshes done
//   state()      'saved' | 'pending' | 'offline'

import { api, ApiError } from './api.js';

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

/**
 * The single contiguous change that turns `a` into `b` (common prefix and suffix), in UTF-16
 * indexes that never split a surrogate pair: `a[start, oldEnd)` became `b[start, newEnd)`.
 */
export function changeBetween(a, b) {
  const min = Math.min(a.length, b.length);
  let p = 0;
  while (p < min && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  if (p > 0 && isHigh(a.charCodeAt(p - 1))) p--;
  let s = 0;
  while (s < min - p && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
  if (s > 0 && isLow(a.charCodeAt(a.length - s))) s--;
  return { start: p, oldEnd: a.length - s, newEnd: b.length - s };
}

/** Number of Unicode code points in `str[from, to)` (UTF-16 indexes on pair boundaries). */
export function codePoints(str, from = 0, to = str.length) {
  let n = 0;
  for (let i = from; i < to; i++) {
    if (!(isLow(str.charCodeAt(i)) && i > from && isHigh(str.charCodeAt(i - 1)))) n++;
  }
  return n;
}

/** The splice (code points) that turns `base` into `value`, or null when they are equal. */
export function spliceBetween(base, value) {
  if (base === value) return null;
  const c = changeBetween(base, value);
  return {
    pos: codePoints(base, 0, c.start),
    delete: codePoints(base, c.start, c.oldEnd),
    insert: value.slice(c.start, c.newEnd),
  };
}

/** Moves a UTF-16 position of `old` to where it belongs in `text` after the change between them. */
function mapThrough(x, c) {
  if (x <= c.start) return x;
  if (x >= c.oldEnd) return x + (c.newEnd - c.oldEnd);
  return c.newEnd;
}

/**
 * Puts the local change (base → local) on top of the remote one (base → remote) when they do not
 * overlap; when they do, the local text wins in that field (the user's typing is not lost).
 */
function rebase(base, local, remote) {
  const l = changeBetween(base, local);
  const r = changeBetween(base, remote);
  const ins = local.slice(l.start, l.newEnd);
  if (l.oldEnd <= r.start) {
    return remote.slice(0, l.start) + ins + remote.slice(l.oldEnd);
  }
  if (r.oldEnd <= l.start) {
    const shift = r.newEnd - r.oldEnd;
    return remote.slice(0, l.start + shift) + ins + remote.slice(l.oldEnd + shift);
  }
  return local;
}

function sortedHeads(heads) {
  return Array.isArray(heads) ? [...heads].sort().join(',') : '';
}

const isNetwork = (e) => !(e instanceof ApiError) || e.status >= 500;

/**
 * Creates the engine for one draft.
 *   opts.draftId        the draft's full id
 *   opts.onDraft(d)     called with every draft fetched, before texts are applied (the editor
 *                       updates everything else and attaches fields of new provisions)
 *   opts.onState(s)     'saved' | 'pending' | 'offline', on every change
 *   opts.onError(msg)   the server refused a change (its words)
 *   opts.onRemote(el)   a remote change replaced this textarea's text
 */
export function createCollab(opts) {
  const fields = new Map(); // textarea -> field
  const enc = encodeURIComponent(opts.draftId);
  let destroyed = false;
  let refreshing = false;
  let refreshAgain = false;
  let refreshRetry = null;
  let refreshBackoff = 0;
  let fetchOffline = false;
  let lastState = '';
  // Versions this editor has seen (acks, fetches): a doc-changed event with one of them as its
  // heads is the echo of something already shown, and needs no fetch.
  const known = [];
  const remember = (v) => {
    if (!v || known.includes(v)) return;
    known.push(v);
    if (known.length > 64) known.shift();
  };
  const hooks = {
    pending: () => pendingCount(),
    state: () => lastState,
    lastApplied: 0,
    lastAck: 0,
    lastAppliedMonoNs: 0,
    refreshes: 0,
  };

  function isDirty(f) {
    return f.inflight !== null || f.el.value !== f.shown;
  }
  function pendingCount() {
    let n = 0;
    for (const f of fields.values()) if (isDirty(f)) n++;
    return n;
  }
  function report() {
    if (destroyed) return;
    let s = 'saved';
    if (fetchOffline) s = 'offline';
    for (const f of fields.values()) {
      if (f.offline) s = 'offline';
      else if (s === 'saved' && isDirty(f)) s = 'pending';
    }
    if (s !== lastState) {
      lastState = s;
      if (opts.onState) opts.onState(s);
    }
  }

  /** Starts managing a textarea holding `text` as of `version`. */
  function attach(el, provision, lang, text, version) {
    el.value = text;
    const f = {
      el,
      provision,
      lang,
      base: text,
      baseVersion: version,
      shown: el.value, // what the textarea showed for `base` (line breaks normalised)
      inflight: null,
      retryTimer: null,
      backoff: 0,
      offline: false,
      gen: 0,
      composing: false,
      deferred: false,
      rebased: false,
      closedRetries: 0,
    };
    f.onInput = () => {
      report();
      if (!f.composing) send(f);
    };
    f.onCompStart = () => {
      f.composing = true;
    };
    f.onCompEnd = () => {
      f.composing = false;
      send(f);
    };
    el.addEventListener('input', f.onInput);
    el.addEventListener('compositionstart', f.onCompStart);
    el.addEventListener('compositionend', f.onCompEnd);
    fields.set(el, f);
    return f;
  }

  /** Stops managing a textarea (its provision is gone, or the editor closes). */
  function detach(el) {
    const f = fields.get(el);
    if (!f) return;
    el.removeEventListener('input', f.onInput);
    el.removeEventListener('compositionstart', f.onCompStart);
    el.removeEventListener('compositionend', f.onCompEnd);
    clearTimeout(f.retryTimer);
    fields.delete(el);
    report();
  }

  function send(f) {
    if (f.inflight !== null || f.retryTimer || !fields.has(f.el)) return;
    const value = f.el.value;
    if (destroyed && value === f.shown) {
      fields.delete(f.el); // flushed after the editor closed
      return;
    }
    if (value === f.shown) {
      if (f.deferred) refresh();
      report();
      return;
    }
    const sp = spliceBetween(f.base, value);
    if (!sp) {
      // Only a line-break normalisation differs: nothing to send.
      f.shown = value;
      report();
      return;
    }
    f.inflight = value;
    report();
    const body = { provision: f.provision, lang: f.lang, ...sp, base: f.baseVersion };
    api('POST', `/api/drafts/${enc}/splice`, body).then(
      (ans) => {
        f.inflight = null;
        f.backoff = 0;
        f.offline = false;
        f.rebased = false;
        const heads = sortedHeads(ans && ans.heads);
        f.base = value;
        f.shown = value;
        f.baseVersion = (ans && ans.version) || heads;
        f.gen++;
        remember(heads);
        hooks.lastAck = Date.now();
        if (ans && ans.applied_mono_ns) hooks.lastAppliedMonoNs = ans.applied_mono_ns;
        if (destroyed) {
          send(f); // the editor closed: send what is left, then forget the field
          return;
        }
        if (heads && heads !== f.baseVersion) f.deferred = true; // someone else changed the draft
        if (f.el.value !== f.shown && !f.composing) send(f);
        else if (f.deferred) refresh();
        report();
      },
      (err) => {
        f.inflight = null;
        if (destroyed) {
          // The editor closed with this change unsent: keep trying a while on a network error.
          if (isNetwork(err) && ++f.closedRetries <= 20) {
            f.retryTimer = setTimeout(() => {
              f.retryTimer = null;
              send(f);
            }, 1000);
          } else fields.delete(f.el);
          return;
        }
        if (isNetwork(err) || err.status === 401) {
          // Keep the change; it is against a version, so it merges whenever it gets through.
          f.offline = isNetwork(err);
          f.backoff = err.status === 401 ? 4000 : f.backoff ? Math.min(f.backoff * 2, 4000) : 250;
          if (err.status === 401 && opts.onError) opts.onError(err.message);
          f.retryTimer = setTimeout(() => {
            f.retryTimer = null;
            send(f);
          }, f.backoff);
          report();
          return;
        }
        f.offline = false;
        f.backoff = 0;
        if ((err.status === 409 || err.status === 422) && !f.rebased) {
          // The server could not apply it to that base: take its text, put ours on top, retry.
          f.rebased = true;
          resync(f, true);
        } else {
          // Refused: the server is the authority. Say why and show its text.
          f.rebased = false;
          if (opts.onError) opts.onError(err.message);
          resync(f, false);
        }
        report();
      },
    );
  }

  /** Replaces a textarea's text with `text`, moving the selection through the change. */
  function applyText(f, text) {
    const el = f.el;
    const old = el.value;
    if (old === text) return;
    const c = changeBetween(old, text);
    const ss = mapThrough(el.selectionStart, c);
    const se = mapThrough(el.selectionEnd, c);
    const dir = el.selectionDirection;
    const top = el.scrollTop;
    el.setRangeText(text.slice(c.start, c.newEnd), c.start, c.oldEnd, 'preserve');
    if (el.value !== text) el.value = text; // line-break normalisation
    el.setSelectionRange(ss, se, dir);
    el.scrollTop = top;
    hooks.lastApplied = Date.now();
    if (opts.onRemote) opts.onRemote(el);
  }

  /**
   * Fetches the draft for one field after a refused splice. With `keepLocal`, the local change is
   * put on top of the server's text and sent again; without, the server's text replaces it.
   */
  function resync(f, keepLocal) {
    f.inflight = ''; // holds the field while fetching
    api('GET', `/api/drafts/${enc}`).then(
      (d) => {
        f.inflight = null;
        if (destroyed || !fields.has(f.el)) return;
        const p = d.provisions.find((x) => x.id === f.provision);
        if (!p) {
          refresh();
          return;
        }
        const server = p.texts[f.lang] ?? '';
        const merged = keepLocal ? rebase(f.base, f.el.value, server) : server;
        applyText(f, server);
        f.base = server;
        f.shown = f.el.value;
        f.baseVersion = d.version;
        f.gen++;
        if (merged !== server) {
          applyText(f, merged);
          send(f);
        } else f.rebased = false;
        report();
        refresh();
      },
      () => {
        f.inflight = null;
        f.retryTimer = setTimeout(() => {
          f.retryTimer = null;
          resync(f, keepLocal);
        }, 1000);
      },
    );
  }

  /**
   * Fetches the draft and shows the server's text in every field that has nothing unsent; the
   * others get it once their changes are acknowledged. Coalesced: one fetch at a time.
   */
  function refresh() {
    if (destroyed) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    clearTimeout(refreshRetry);
    refreshRetry = null;
    const gens = new Map();
    for (const f of fields.values()) gens.set(f, f.gen);
    api('GET', `/api/drafts/${enc}`).then(
      (d) => {
        refreshing = false;
        refreshBackoff = 0;
        if (destroyed) return;
        fetchOffline = false;
        hooks.refreshes++;
        remember(d.version);
        if (opts.onDraft) opts.onDraft(d);
        const byId = new Map(d.provisions.map((p) => [p.id, p]));
        for (const f of fields.values()) {
          if (!gens.has(f)) continue; // attached from this very draft
          const p = byId.get(f.provision);
          if (!p) continue;
          if (isDirty(f) || f.retryTimer || f.composing) {
            f.deferred = true;
            continue;
          }
          if (f.gen !== gens.get(f)) {
            // Acknowledged while we fetched: this draft may predate our own change.
            f.deferred = true;
            refreshAgain = true;
            continue;
          }
          f.deferred = false;
          const text = p.texts[f.lang] ?? '';
          applyText(f, text);
          f.base = text;
          f.shown = f.el.value;
          f.baseVersion = d.version;
        }
        report();
        if (refreshAgain) {
          refreshAgain = false;
          refresh();
        }
      },
      (err) => {
        refreshing = false;
        if (destroyed) return;
        if (isNetwork(err)) {
          fetchOffline = true;
          refreshBackoff = refreshBackoff ? Math.min(refreshBackoff * 2, 4000) : 250;
          refreshRetry = setTimeout(refresh, refreshBackoff);
        } else if (opts.onError) opts.onError(err.message);
        report();
      },
    );
  }

  /** A doc-changed event for this draft: fetch unless it is the echo of what we already show. */
  function onDocChanged(ev) {
    if (ev && Array.isArray(ev.heads) && known.includes(sortedHeads(ev.heads))) return;
    refresh();
  }

  /**
   * Closes the engine (the editor is left). Fields with a change not yet acknowledged keep
   * sending it (the detached textarea still holds the text) until it is through; nothing is
   * fetched or shown any more.
   */
  function destroy() {
    destroyed = true;
    clearTimeout(refreshRetry);
    for (const [el, f] of [...fields]) {
      el.removeEventListener('input', f.onInput);
      el.removeEventListener('compositionstart', f.onCompStart);
      el.removeEventListener('compositionend', f.onCompEnd);
      f.composing = false;
      if (f.inflight !== null) continue; // its answer sends the rest
      clearTimeout(f.retryTimer);
      f.retryTimer = null;
      if (f.el.value === f.shown) fields.delete(el);
      else send(f);
    }
  }

  report();
  return { attach, detach, refresh, onDocChanged, destroy, pending: pendingCount, hooks, field: (el) => fields.get(el) };
}
