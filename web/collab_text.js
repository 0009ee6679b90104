// The pure text arithmetic of live editing (web/collab.js): the one contiguous change between
// two texts, splices counted in Unicode code points of the server's text (CRs included) from
// what a <textarea> shows (line breaks normalised), and putting a local edit on top of a remote
// one. No browser API here, so node's test runner checks it (tests/web_unit/).

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

/** What a <textarea> shows for `text`: its API value has every CR LF and lone CR as LF. */
export function normLines(text) {
  return text.indexOf('\r') < 0 ? text : text.replace(/\r\n?/g, '\n');
}

/**
 * Where the UTF-16 index `i` of `normLines(raw)` is in `raw`: the start of the raw line break or
 * character that normalised character `i` came from (`raw.length` at the end).
 */
function rawIndex(raw, i) {
  let r = 0;
  let k = 0;
  while (k < i && r < raw.length) {
    if (raw.charCodeAt(r) === 13 && raw.charCodeAt(r + 1) === 10) r += 2;
    else r += 1;
    k++;
  }
  return r;
}

/**
 * The splice that turns the server's text `base` into what the textarea shows (`value`), or null
 * when the textarea shows `base` as it is. Computed on the text as the textarea shows it (line
 * breaks normalised) and mapped back onto `base`, so `pos` and `delete` count code points of
 * `base` itself, CRs included. `result` is the server's text once the splice is applied.
 */
export function spliceFor(base, value) {
  const shown = normLines(base);
  if (shown === value) return null;
  const c = changeBetween(shown, value);
  let insert = value.slice(c.start, c.newEnd);
  let start = shown === base ? c.start : rawIndex(base, c.start);
  const end = shown === base ? c.oldEnd : rawIndex(base, c.oldEnd);
  // A lone CR just before the splice would pair with an LF just after it into one line break the
  // textarea does not show: replace such CRs by the LFs they stand for.
  while (start > 0 && base.charCodeAt(start - 1) === 13 && (insert ? insert.charCodeAt(0) : base.charCodeAt(end)) === 10) {
    start--;
    insert = '\n' + insert;
  }
  return {
    pos: codePoints(base, 0, start),
    delete: codePoints(base, start, end),
    insert,
    result: base.slice(0, start) + insert + base.slice(end),
  };
}

/** The splice (code points of `base`) that turns `base` into `value`, or null when none is needed. */
export function spliceBetween(base, value) {
  const sp = spliceFor(base, value);
  return sp && { pos: sp.pos, delete: sp.delete, insert: sp.insert };
}

/** Moves a UTF-16 position of `old` to where it belongs in `text` after the change between them. */
export function mapThrough(x, c) {
  if (x <= c.start) return x;
  if (x >= c.oldEnd) return x + (c.newEnd - c.oldEnd);
  return c.newEnd;
}

/**
 * Puts the local change (base → local) on top of the remote one (base → remote) when they do not
 * overlap; when they do, the local text wins in that field (the user's typing is not lost).
 */
export function rebase(base, local, remote) {
  const l = changeBetween(base, local);
  const r = changeBetween(base, remote);
  const ins = local.slice(l.start, l.newEnd);
  if (local === remote) return local; // the same change (an insertion would otherwise double)
  if (l.oldEnd <= r.start) {
    return remote.slice(0, l.start) + ins + remote.slice(l.oldEnd);
  }
  if (r.oldEnd <= l.start) {
    const shift = r.newEnd - r.oldEnd;
    return remote.slice(0, l.start + shift) + ins + remote.slice(l.oldEnd + shift);
  }
  return local;
}
