// The meetings page's order (web/pages/order.js), without a browser. Run: node --test tests/web_unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byStart, byStartDesc, inWindow } from '../../web/pages/order.js';

test('meetings are ordered by the instant they start, not by the text of their start', () => {
  const meetings = [
    { title: 'Moscow 09:00', starts: '2099-03-01T09:00:00+03:00' }, // 06:00 UTC
    { title: 'Almaty 10:00', starts: '2099-03-01T10:00:00+05:00' }, // 05:00 UTC
    { title: 'UTC 05:30', starts: '2099-03-01T05:30:00Z' },
    { title: 'no time', starts: 'soon' },
    { title: 'B same', starts: '2099-03-01T06:00:00Z' },
    { title: 'A same', starts: '2099-03-01T06:00:00Z' },
  ];
  const got = [...meetings].sort(byStart).map((m) => m.title);
  // The text's order would put Almaty 10:00 after Moscow 09:00.
  assert.deepEqual(got, ['Almaty 10:00', 'UTC 05:30', 'A same', 'B same', 'Moscow 09:00', 'no time']);
});

test('the latest first still puts a start that does not read last', () => {
  const meetings = [
    { title: 'no time', starts: 'soon' },
    { title: 'early', starts: '2099-03-01T05:00:00Z' },
    { title: 'late', starts: '2099-03-01T09:00:00+03:00' },
  ];
  assert.deepEqual([...meetings].sort(byStartDesc).map((m) => m.title), ['late', 'early', 'no time']);
});

test('a meeting is in a window as the node filters: not ended before from, not started at or after to', () => {
  const from = new Date('2099-03-02T00:00:00Z');
  const to = new Date('2099-03-03T00:00:00Z');
  const m = (starts, ends) => ({ starts, ends });
  // Started the day before, ends within: in. Ended before from: out. One without an end is its start.
  assert.equal(inWindow(m('2099-03-01T22:00:00Z', '2099-03-02T01:00:00Z'), from, to), true);
  assert.equal(inWindow(m('2099-03-01T22:00:00Z', '2099-03-01T23:00:00Z'), from, to), false);
  assert.equal(inWindow(m('2099-03-01T23:00:00Z', null), from, to), false);
  // Starting at to is out; in another zone, 02:00+03:00 is 23:00 the day before: in.
  assert.equal(inWindow(m('2099-03-03T00:00:00Z', null), from, to), false);
  assert.equal(inWindow(m('2099-03-03T02:00:00+03:00', null), from, to), true);
  // No bound; a time that does not read hides nothing.
  assert.equal(inWindow(m('2000-01-01T00:00:00Z', null), null, null), true);
  assert.equal(inWindow(m('soon', 'later'), from, to), true);
});
