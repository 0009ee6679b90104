// The meetings page's order (web/pages/order.js), without a browser. Run: node --test tests/web_unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byStart } from '../../web/pages/order.js';

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
