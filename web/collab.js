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
// field with unsent text is never overwritten: its refresh waits for the ack. An event that names
// only provisions (its `changed`, see src/engine/changes.rs) fetches those provisions alone;
// any other change (structure, title, state ...) fetches the whole draft.
//
// Every splice carries a unique `edit` id. After a network error or a 5xx it may or may not have
// been applied, so the very same request (same body, same id) is sent again, and only after it
// is acknowledged is the next splice computed; the node applies an id once. After 5 answers 5xx
// in a row the field takes the server's text with the local text on top, and says so. A 401
// tells the app once (`liaison:unauthorized` on window), keeps the text, and waits for a request
// to succeed again (the reopened editor's) before sending.
//
// Line breaks: `base` is the server's text exactly; a textarea shows every CR LF and CR as LF.
// Splices are computed on what the textarea shows and mapped onto the server's text, so `pos` and
// `delete` count the code points of the server's text, CRs included.
//
// Hooks for tests and the bench (`window.__liaisonEditor`, set by the editor while it is open):
//   pending()    number of fields with an unsent or in-flight change (0 = all saved)
//   lastApplied  Date.now() when a remote change last replaced a textarea's text (0 = never)
//   lastAck      Date.now() of the last acknowledged splice (0 = never)
//   lastAppliedMonoNs  the server's `applied_mono_ns` of that splice
//   refreshes    number of draft refreshes done (whole draft fetched)
//   provisionFetches  number of provisions fetched alone (an event named them)
//   state()      'saved' | 'pending' | 'offline'

import { api, ApiError } from './api.js';

import { changeBetween, mapThrough, normLines, rebase, spliceFor } from './collab_text.js';

export { changeBetween, codePoints, normLines, rebase, spliceBetween, spliceFor } from './collab_text.js';

function sortedHeads(heads) {
  return Array.isArray(heads) ? [...heads].sort().join(',') : '';
}


const isNetwork = (e) => !(e instanceof ApiError) || e.status >= 500;

/** 5xx answers in a row to the same splice before the field resyncs from the server instead. */
const MAX_5XX = 5;
/** Network retries a field gets after the editor closed. */
const CLOSED_RETRIES = 20;

/** A unique id for one splice: the node applies a splice with a given `edit` id at most once. */
function newEditId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// The session is gone (a 401): the app is told once (it shows the login page, then reopens the
// draft), and fields with unsent text wait, keeping it, until a request succeeds again, in this
// engine or in the one the reopened editor makes; then they send it.
let authLost = false;
const authWaiters = new Set();
function unauthorized() {
  if (authLost) return;
  authLost = true;
  if (typeof window !== 'undefined') window.dispatchEvent(new Event('liaison:unauthorized'));
}
function authorized() {
  if (!authLost) return;
  authLost = false;
  const wake = [...authWaiters];
  authWaiters.clear();
  for (const fn of wake) fn();
}

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
  // Doc-changed events that came while a splice was in flight, by their heads (see onDocChanged).
  const lateHeads = new Map();
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
    provisionFetches: 0,
  };

  function isDirty(f) {
    return f.inflight !== null || f.pending !== null || f.resyncNeeded !== null || f.el.value !== f.shown;
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
      base: text, // the server's text at `baseVersion`, exactly (CRs included)
      baseVersion: version,
      shown: el.value, // what the textarea showed for `base` (line breaks normalised)
      // The splice sent and not acknowledged: {body, value, result}. After a network error or a
      // 5xx it may have been applied, so the very same body (same `edit` id) goes again first.
      pending: null,
      inflight: null,
      retryTimer: null,
      backoff: 0,
      fails: 0, // 5xx answers in a row to `pending`
      offline: false,
      gen: 0,
      composing: false,
      deferred: false,
      rebased: false,
      resyncNeeded: null, // {keepLocal, maybe}: a resync still to do (after a composition, a retry)
      authWait: false,
      closedRetries: 0,
    };
    f.wake = () => {
      f.authWait = false;
      send(f);
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

  /** Forgets a field for good. */
  function drop(f) {
    clearTimeout(f.retryTimer);
    f.retryTimer = null;
    authWaiters.delete(f.wake);
    fields.delete(f.el);
  }

  /** Stops managing a textarea (its provision is gone, or the editor closes). */
  function detach(el) {
    const f = fields.get(el);
    if (!f) return;
    el.removeEventListener('input', f.onInput);
    el.removeEventListener('compositionstart', f.onCompStart);
    el.removeEventListener('compositionend', f.onCompEnd);
    drop(f);
    report();
  }

  function waitAuth(f) {
    f.authWait = true;
    authWaiters.add(f.wake);
  }

  function retryLater(f, ms) {
    f.retryTimer = setTimeout(() => {
      f.retryTimer = null;
      send(f);
    }, ms);
  }

  /**
   * Sends what the field has to send: a resync still to do, else the pending splice again
   * (verbatim), else the change between `base` and the textarea as a new splice.
   */
  function send(f) {
    if (f.inflight !== null || f.retryTimer || f.authWait || !fields.has(f.el)) return;
    if (f.resyncNeeded) {
      if (f.composing) return; // compositionend comes back here
      const r = f.resyncNeeded;
      f.resyncNeeded = null;
      resync(f, r.keepLocal, r.maybe);
      return;
    }
    if (!f.pending) {
      const value = f.el.value;
      if (value === f.shown) {
        if (destroyed) drop(f); // flushed after the editor closed
        else {
          if (f.deferred) catchUp(f);
          report();
        }
        return;
      }
      const sp = spliceFor(f.base, value);
      if (!sp) {
        // Only a line-break normalisation differs: nothing to send.
        f.shown = value;
        if (destroyed) drop(f);
        else report();
        return;
      }
      f.fails = 0;
      f.pending = {
        body: { provision: f.provision, lang: f.lang, pos: sp.pos, delete: sp.delete, insert: sp.insert, base: f.baseVersion, edit: newEditId() },
        value,
        result: sp.result,
      };
    }
    if (authLost) {
      waitAuth(f);
      report();
      return;
    }
    const pend = f.pending;
    f.inflight = pend.value;
    report();
    api('POST', `/api/drafts/${enc}/splice`, pend.body).then(
      (ans) => {
        f.inflight = null;
        f.pending = null;
        f.fails = 0;
        f.backoff = 0;
        f.offline = false;
        f.rebased = false;
        f.closedRetries = 0;
        authorized();
        const heads = sortedHeads(ans && ans.heads);
        f.base = pend.result;
        f.shown = pend.value;
        f.baseVersion = (ans && ans.version) || heads;
        f.gen++;
        // Only a version that is exactly our splice is an echo; heads that hold other changes too
        // (merged in the same round) are news, whose event names what else to fetch.
        if (heads === f.baseVersion) remember(heads);
        hooks.lastAck = Date.now();
        if (ans && ans.applied_mono_ns) hooks.lastAppliedMonoNs = ans.applied_mono_ns;
        if (destroyed) {
          send(f); // the editor closed: send what is left, then forget the field
          return;
        }
        if (heads && heads !== f.baseVersion) f.deferred = true; // someone else changed the draft
        if (f.el.value !== f.shown && !f.composing) send(f);
        else if (f.deferred) catchUp(f);
        settleLate();
        report();
      },
      (err) => {
        f.inflight = null;
        settleLate();
        if (!fields.has(f.el)) return;
        const status = err instanceof ApiError ? err.status : 0;
        if (status === 401) {
          // Not applied. Keep it (and the text) until the officer has logged in again.
          f.offline = false;
          unauthorized();
          waitAuth(f);
          report();
          return;
        }
        if (isNetwork(err)) {
          // It may or may not have been applied: the same body goes again, and the node applies
          // an `edit` id only once.
          if (destroyed && ++f.closedRetries > CLOSED_RETRIES) {
            drop(f);
            return;
          }
          if (status >= 500 && ++f.fails >= MAX_5XX) {
            // The node keeps failing on it: take its text, put ours on top, say so.
            const maybe = f.pending;
            f.pending = null;
            f.fails = 0;
            f.offline = false;
            f.backoff = 0;
            if (!destroyed && opts.onError) opts.onError(err.message);
            resync(f, true, maybe);
            report();
            return;
          }
          f.offline = true;
          f.backoff = destroyed ? 1000 : f.backoff ? Math.min(f.backoff * 2, 4000) : 250;
          retryLater(f, f.backoff);
          report();
          return;
        }
        // Refused: not applied.
        f.pending = null;
        f.fails = 0;
        f.offline = false;
        f.backoff = 0;
        if ((status === 409 || status === 422) && !f.rebased) {
          // The server could not apply it to that base: take its text, put ours on top, retry.
          f.rebased = true;
          resync(f, true);
        } else if (destroyed) {
          drop(f);
          return;
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
    text = normLines(text);
    if (old === text) return;
    const c = changeBetween(old, text);
    const ss = mapThrough(el.selectionStart, c);
    const se = mapThrough(el.selectionEnd, c);
    const dir = el.selectionDirection;
    const top = el.scrollTop;
    el.setRangeText(text.slice(c.start, c.newEnd), c.start, c.oldEnd, 'preserve');
    if (el.value !== text) el.value = text;
    el.setSelectionRange(ss, se, dir);
    el.scrollTop = top;
    hooks.lastApplied = Date.now();
    if (opts.onRemote) opts.onRemote(el);
  }

  /**
   * Fetches the draft for one field after a refused splice. With `keepLocal`, the local change is
   * put on top of the server's text and sent again; without, the server's text replaces it.
   * `maybe` is a pending splice whose fate is unknown: when the server's text is exactly its
   * result, it was applied. After the editor closed, the merged text is still sent.
   */
  function resync(f, keepLocal, maybe = null) {
    f.inflight = ''; // holds the field while fetching
    api('GET', `/api/drafts/${enc}`).then(
      (d) => {
        f.inflight = null;
        if (!fields.has(f.el)) return;
        authorized();
        if (f.composing) {
          // Never change the text under an IME composition: again once it ends.
          f.resyncNeeded = { keepLocal, maybe };
          report();
          return;
        }
        const p = d.provisions.find((x) => x.id === f.provision);
        if (!p) {
          if (destroyed) drop(f);
          else refresh();
          return;
        }
        const server = p.texts[f.lang] ?? '';
        const shownServer = normLines(server);
        const from = maybe && normLines(maybe.result) === shownServer ? maybe.result : f.base;
        const merged = keepLocal ? rebase(normLines(from), f.el.value, shownServer) : shownServer;
        if (destroyed) f.el.value = merged; // detached: nothing to show
        else applyText(f, merged);
        f.base = server;
        f.shown = shownServer;
        f.baseVersion = d.version;
        f.gen++;
        remember(d.version);
        if (f.el.value !== f.shown) send(f);
        else {
          f.rebased = false;
          if (destroyed) drop(f);
        }
        report();
        if (!destroyed) refresh();
      },
      (err) => {
        f.inflight = null;
        if (!fields.has(f.el)) return;
        f.resyncNeeded = { keepLocal, maybe };
        if (err instanceof ApiError && err.status === 401) {
          unauthorized();
          waitAuth(f);
        } else if (destroyed && ++f.closedRetries > CLOSED_RETRIES) drop(f);
        else retryLater(f, 1000);
        report();
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
        authorized();
        hooks.refreshes++;
        remember(d.version);
        if (opts.onDraft) opts.onDraft(d);
        const byId = new Map(d.provisions.map((p) => [p.id, p]));
        for (const f of fields.values()) {
          if (!gens.has(f)) continue; // attached from this very draft
          const p = byId.get(f.provision);
          if (!p) continue;
          if (isDirty(f) || f.retryTimer || f.authWait || f.composing) {
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
        if (err instanceof ApiError && err.status === 401) {
          unauthorized(); // the app shows the login page; the next tick tries again, quietly
        } else if (isNetwork(err)) {
          fetchOffline = true;
          refreshBackoff = refreshBackoff ? Math.min(refreshBackoff * 2, 4000) : 250;
          refreshRetry = setTimeout(refresh, refreshBackoff);
        } else if (opts.onError) opts.onError(err.message);
        report();
      },
    );
  }

  // Provisions to fetch alone (an event named them), and whether such a fetch is under way:
  // one batch at a time, the ids named meanwhile go in the next (bursts coalesce).
  const provQueue = new Set();
  let provFetching = false;

  /**
   * Fetches provisions `ids` alone (`GET /api/drafts/{id}/provisions/{pid}`) and shows each one's
   * texts in its fields that have nothing unsent, as `refresh` does for the whole draft. The
   * version they were read at becomes those fields' base; it is not remembered as seen (see
   * `known`), since it may hold changes to other provisions whose events are still to come.
   */
  function refreshProvisions(ids) {
    if (destroyed) return;
    for (const id of ids) provQueue.add(id);
    if (provFetching || !provQueue.size) return;
    provFetching = true;
    const batch = [...provQueue];
    provQueue.clear();
    const gens = new Map();
    for (const f of fields.values()) gens.set(f, f.gen);
    const one = (pid) => api('GET', `/api/drafts/${enc}/provisions/${encodeURIComponent(pid)}`);
    Promise.all(batch.map(one)).then(
      (ps) => {
        provFetching = false;
        if (destroyed) return;
        fetchOffline = false;
        authorized();
        hooks.provisionFetches += ps.length;
        for (const p of ps) {
          for (const f of fields.values()) {
            if (f.provision !== p.id || !gens.has(f) || !(f.lang in p.texts)) continue;
            if (isDirty(f) || f.retryTimer || f.authWait || f.composing) {
              f.deferred = true;
              continue;
            }
            if (f.gen !== gens.get(f)) {
              // Acknowledged while we fetched: this text may predate our own change.
              f.deferred = true;
              provQueue.add(p.id);
              continue;
            }
            f.deferred = false;
            const text = p.texts[f.lang] ?? '';
            applyText(f, text);
            f.base = text;
            f.shown = f.el.value;
            f.baseVersion = p.version;
          }
        }
        report();
        refreshProvisions([]);
      },
      (err) => {
        provFetching = false;
        if (destroyed) return;
        if (err instanceof ApiError && err.status === 401) {
          unauthorized();
          return;
        }
        // Gone (removed, or the draft changed shape), or the network: the whole draft says
        // what stands, with its own retries.
        refresh();
      },
    );
  }

  /** A field whose refresh waited for its own change: its provision alone, now. */
  function catchUp(f) {
    refreshProvisions([f.provision]);
  }

  /**
   * The provisions an event's `changed` names, when it names nothing else; null when the whole
   * draft must be read (its structure, title, state, versions ..., `any`, or an older node's
   * event without `changed`).
   */
  function provisionsOnly(changed) {
    if (!Array.isArray(changed) || !changed.length) return null;
    const ids = new Set();
    for (const c of changed) {
      if (!c || typeof c.provision !== 'string') return null;
      ids.add(c.provision);
    }
    return ids;
  }

  /** Fetches what an event says changed: its provisions alone, or the whole draft. */
  function fetchFor(ev) {
    const ids = provisionsOnly(ev && ev.changed);
    if (ids) refreshProvisions(ids);
    else refresh();
  }

  /**
   * A doc-changed event for this draft: fetch what it names (see `fetchFor`) unless it is the
   * echo of what we already show.
   */
  function onDocChanged(ev) {
    const heads = ev && Array.isArray(ev.heads) ? sortedHeads(ev.heads) : '';
    if (heads && known.includes(heads)) return;
    // The node announces a change when it commits, a moment before it answers the splice that
    // made it: while a splice is in flight, wait for its answer before deciding this is news.
    if (heads && [...fields.values()].some((f) => f.inflight !== null)) {
      lateHeads.set(heads, ev);
      return;
    }
    fetchFor(ev);
  }

  /** After a splice's answer: fetch what the events that came meanwhile name, unless echoes. */
  function settleLate() {
    if (!lateHeads.size) return;
    const news = [...lateHeads].filter(([h]) => !known.includes(h)).map(([, ev]) => ev);
    lateHeads.clear();
    if (!news.length) return;
    const ids = new Set();
    for (const ev of news) {
      const some = provisionsOnly(ev && ev.changed);
      if (!some) {
        refresh();
        return;
      }
      for (const id of some) ids.add(id);
    }
    refreshProvisions(ids);
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
      if (f.inflight !== null || f.authWait) continue; // its answer, or a new login, sends the rest
      clearTimeout(f.retryTimer);
      f.retryTimer = null;
      if (!isDirty(f)) drop(f);
      else send(f);
    }
  }

  // The editor fetched this draft just before making the engine: the session is good again.
  authorized();
  report();
  return { attach, detach, refresh, onDocChanged, destroy, pending: pendingCount, hooks, field: (el) => fields.get(el) };
}
