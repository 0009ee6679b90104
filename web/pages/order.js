// The order meetings are listed in, apart from the page so that it can be tested without a
// browser (tests/web_unit/order.test.mjs).

/**
 * Compares two meetings by when they start, then by title. A start is stored as text with its
 * UTC offset ("2027-03-01T10:00:00+05:00"), so the text's order is not the order in time: 10:00
 * in Almaty comes before 09:00 in Moscow. A start that does not read as a time sorts after
 * those that do, by its text.
 */
export function byStart(a, b) {
  const ta = Date.parse(a.starts);
  const tb = Date.parse(b.starts);
  const timed = Number.isNaN(ta) - Number.isNaN(tb);
  if (timed) return timed;
  if (!Number.isNaN(ta) && ta !== tb) return ta - tb;
  return String(a.starts).localeCompare(String(b.starts)) || String(a.title).localeCompare(String(b.title));
}

/** As `byStart`, the latest first; a start that does not read still sorts last. */
export function byStartDesc(a, b) {
  const timed = Number.isNaN(Date.parse(a.starts)) - Number.isNaN(Date.parse(b.starts));
  return timed || byStart(b, a);
}

/**
 * Whether meeting `m` is one the node answers for `?from=FROM&to=TO` (Dates, either may be
 * null): not ended before `from` (its start if it has no end), not starting at or after `to`. A
 * time that does not read hides nothing. A changed meeting is kept in a page's window, or
 * dropped from it, by this.
 */
export function inWindow(m, from, to) {
  const start = Date.parse(m.starts);
  const end = m.ends ? Date.parse(m.ends) : start;
  if (from && !Number.isNaN(end) && end < from.getTime()) return false;
  if (to && !Number.isNaN(start) && start >= to.getTime()) return false;
  return true;
}
