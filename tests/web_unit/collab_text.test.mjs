// The editor's text arithmetic (web/collab_text.js), without a browser: splices count code points
// of the server's text, CRs included, while the textarea shows every CR LF and lone CR as LF;
// a local edit goes on top of a concurrent remote one. Run: node --test tests/web_unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeBetween, codePoints, normLines, rebase, spliceFor } from '../../web/collab_text.js';

/** Applies a splice (positions in code points) to `text`, as the node does. */
function applyCodePoints(text, sp) {
  const cps = [...text];
  cps.splice(sp.pos, sp.delete, ...sp.insert);
  return cps.join('');
}

/** Checks the two promises of a splice: the node's text becomes `result`, which shows as `value`. */
function checkSplice(base, value) {
  const sp = spliceFor(base, value);
  if (normLines(base) === value) {
    assert.equal(sp, null, `no splice for ${JSON.stringify(base)} shown as it is`);
    return null;
  }
  assert.equal(applyCodePoints(base, sp), sp.result, `code points of ${JSON.stringify(base)} → ${JSON.stringify(value)}`);
  assert.equal(normLines(sp.result), value, `shown ${JSON.stringify(sp.result)}`);
  return sp;
}

test('inserts and deletes at the start, in the middle and at the end', () => {
  assert.deepEqual(spliceFor('bc', 'abc'), { pos: 0, delete: 0, insert: 'a', result: 'abc' });
  assert.deepEqual(spliceFor('ac', 'abc'), { pos: 1, delete: 0, insert: 'b', result: 'abc' });
  assert.deepEqual(spliceFor('ab', 'abc'), { pos: 2, delete: 0, insert: 'c', result: 'abc' });
  assert.deepEqual(spliceFor('abc', 'bc'), { pos: 0, delete: 1, insert: '', result: 'bc' });
  assert.deepEqual(spliceFor('abc', 'ab'), { pos: 2, delete: 1, insert: '', result: 'ab' });
  assert.deepEqual(spliceFor('abc', ''), { pos: 0, delete: 3, insert: '', result: '' });
  assert.deepEqual(spliceFor('', 'x'), { pos: 0, delete: 0, insert: 'x', result: 'x' });
  assert.equal(spliceFor('same', 'same'), null);
});

test('positions count code points: astral characters are one, never split', () => {
  assert.equal(codePoints('😀'), 1);
  assert.equal(codePoints('a😀b'), 3);
  assert.deepEqual(spliceFor('a😀b', 'a😀xb'), { pos: 2, delete: 0, insert: 'x', result: 'a😀xb' });
  // 😀 and 😁 share their high surrogate: the change is the whole character, not half of it.
  assert.deepEqual(spliceFor('a😀b', 'a😁b'), { pos: 1, delete: 1, insert: '😁', result: 'a😁b' });
  // …and their low one differs only: same again from the other side.
  const c = changeBetween('😀x', '😁x');
  assert.deepEqual(c, { start: 0, oldEnd: 2, newEnd: 2 });
  assert.deepEqual(spliceFor('𝔸𝔹', '𝔸'), { pos: 1, delete: 1, insert: '', result: '𝔸' });
});

test('combining marks are code points of their own', () => {
  const e = 'cafe\u0301'; // é as e + combining acute
  assert.equal(codePoints(e), 5);
  assert.deepEqual(spliceFor(e, e + '!'), { pos: 5, delete: 0, insert: '!', result: e + '!' });
  // Removing only the accent deletes one code point.
  assert.deepEqual(spliceFor(e, 'cafe'), { pos: 4, delete: 1, insert: '', result: 'cafe' });
  checkSplice('й', 'и\u0306'); // precomposed → decomposed: a change, not equal text
});

test('Cyrillic text', () => {
  assert.deepEqual(spliceFor('Привет', 'Привет, мир'), { pos: 6, delete: 0, insert: ', мир', result: 'Привет, мир' });
  assert.deepEqual(spliceFor('Статья 1. Стороны', 'Статья 2. Стороны'), { pos: 7, delete: 1, insert: '2', result: 'Статья 2. Стороны' });
});

test('CR LF and lone CR: the textarea shows LF, the splice counts the server text', () => {
  // Typing after a CR LF: positions count both characters of the break.
  assert.deepEqual(spliceFor('a\r\nb', 'a\nxb'), { pos: 3, delete: 0, insert: 'x', result: 'a\r\nxb' });
  assert.deepEqual(spliceFor('a\rb', 'a\nb!'), { pos: 3, delete: 0, insert: '!', result: 'a\rb!' });
  // Deleting a CR LF break deletes both.
  assert.deepEqual(spliceFor('a\r\nb', 'ab'), { pos: 1, delete: 2, insert: '', result: 'ab' });
  // Text that only normalises differently needs no splice.
  assert.equal(spliceFor('a\r\nb\rc', 'a\nb\nc'), null);
  // A line break typed right after a lone CR would pair with it into one break the textarea did
  // not show: the CR is replaced by the LF it stands for.
  const sp = checkSplice('x\ry', 'x\n\ny');
  assert.equal(sp.result, 'x\n\ny');
  // Breaks in the server text before the edit shift the position by one per CR LF.
  assert.equal(spliceFor('1\r\n2\r\n3', '1\n2\n3!').pos, 7);
});

test('every splice keeps both promises (seeded random texts)', () => {
  let seed = 13;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const alphabet = ['a', 'b', 'Я', 'ж', '\r', '\n', '\r\n', '😀', '😁', 'e\u0301', ' '];
  const word = (n) => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join('');
  for (let i = 0; i < 2000; i++) {
    const base = word(rnd(8));
    const shown = [...normLines(base)];
    // An edit of what the textarea shows: a cut and an insert somewhere.
    const at = rnd(shown.length + 1);
    const del = rnd(Math.min(3, shown.length - at) + 1);
    const ins = normLines(word(rnd(3)));
    const value = [...shown.slice(0, at), ...ins, ...shown.slice(at + del)].join('');
    checkSplice(base, value);
  }
});

test('rebase: a local edit goes on top of a remote one that does not overlap', () => {
  // Remote after local.
  assert.equal(rebase('abc def', 'abcX def', 'abc defY'), 'abcX defY');
  // Remote before local: the local edit shifts with it.
  assert.equal(rebase('hello world', 'hello worldX', 'Zhello world'), 'Zhello worldX');
  // Deletions on both sides.
  assert.equal(rebase('abcdefgh', 'abefgh', 'abcdefg'), 'abefg');
  // Cyrillic and astral characters.
  assert.equal(rebase('Стороны 😀 сотрудничают', 'Стороны 😀😀 сотрудничают', 'Стороны 😀 сотрудничают.'), 'Стороны 😀😀 сотрудничают.');
  assert.equal(rebase('😀😀', '😀A😀', '😀😀B'), '😀A😀B');
});

test('rebase: at the edges and when both sides made the same edit', () => {
  assert.equal(rebase('', 'a', 'b'), 'ab'); // both insert into empty text: local first, nothing lost
  assert.equal(rebase('mid', 'Xmid', 'midY'), 'XmidY');
  assert.equal(rebase('mid', 'midX', 'Ymid'), 'YmidX');
  assert.equal(rebase('ab', 'aXb', 'aXb'), 'aXb'); // the same insertion is not doubled
  assert.equal(rebase('ab', 'aXb', 'aYb'), 'aXYb'); // same place, different text: both kept
});

test('rebase: overlapping edits keep the local text (the typing is not lost)', () => {
  assert.equal(rebase('abcdef', 'abXef', 'abcYf'), 'abXef');
  assert.equal(rebase('Привет мир', 'Привет друг', 'Привет мор'), 'Привет друг');
});

test('normLines', () => {
  assert.equal(normLines('a\r\nb\rc\nd'), 'a\nb\nc\nd');
  const s = 'no breaks';
  assert.equal(normLines(s), s);
});
