// Two officers of the two Parties, each logged in at their own node, type into the same
// provision of the same draft at the same time; both screens end with the same text, holding
// both officers' typing in full and every original character, and both nodes store that text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withHarness,
  eventually,
  createGroup,
  createDraft,
  waitForDraft,
  showDraft,
  storedText,
  editorBox,
  waitForBoxText,
} from './harness.mjs';

const DRAFT = [
  'Article 1. The Parties shall exchange information on issues of mutual interest.',
  'Article 2. The Parties may hold joint working meetings and consultations.',
].join('\n\n');

// Different words, typed at different places of the same provision: one at the start, one at
// the end.
const TYPED_AT_START = 'CICA-start-words ';
const TYPED_AT_END = ' and SCO-RATS-end-words';

/** True when `sub` is a subsequence of `s`: every character of it, in order. */
function isSubsequence(sub, s) {
  let i = 0;
  for (const c of s) if (i < sub.length && c === sub[i]) i++;
  return i === sub.length;
}

async function screenState(page, provision) {
  return page.evaluate((prov) => {
    const box = document.querySelector(`[data-provision="${prov}"] textarea[data-lang="en"]`);
    const sync = document.querySelector('#sync-state');
    return { text: box ? box.value : null, sync: sync ? sync.getAttribute('data-state') : null };
  }, provision);
}

test('two officers type into the same provision at once, on two nodes', { timeout: 170_000 }, async () => {
  await withHarness('collab-same-provision', async (h) => {
    const [cica, rats] = await h.parties();
    const [accA, accB] = await Promise.all([
      h.account(cica, 'a.karimov', 'member'),
      h.account(rats, 'i.petrov', 'member'),
    ]);

    const group = await createGroup(cica, 'Joint working group on CFT');
    const draft = await createDraft(cica, group, 'Joint proposals', DRAFT);
    await waitForDraft(rats, draft);
    const d = await showDraft(cica, draft);
    const prov = d.provisions[0].id;
    const original = d.provisions[0].texts.en;
    assert.ok(original && original.length > 20, `provision ${prov} has an English text: ${JSON.stringify(d.provisions[0])}`);

    const [pageA, pageB] = await Promise.all([h.login(cica, accA), h.login(rats, accB)]);
    for (const p of [pageA, pageB]) {
      await h.route(p, `#/drafts/${draft}`);
      await waitForBoxText(p, prov, original);
      assert.equal(await editorBox(p, prov).getAttribute('readonly'), null, `${p.label}: a member's editor is not readonly`);
    }

    // Carets: CICA's at the very start of the provision, SCO RATS's at the very end.
    const boxA = editorBox(pageA, prov);
    const boxB = editorBox(pageB, prov);
    await boxA.focus();
    await pageA.keyboard.press('Control+Home');
    await boxB.focus();
    await pageB.keyboard.press('Control+End');
    const caret = (box) => box.evaluate((el) => [el.selectionStart, el.selectionEnd]);
    assert.deepEqual(await caret(boxA), [0, 0], 'CICA caret at the start');
    assert.deepEqual(await caret(boxB), [original.length, original.length], 'SCO RATS caret at the end');

    // Both type at the same time, a key every 40 ms.
    await Promise.all([
      pageA.keyboard.type(TYPED_AT_START, { delay: 40 }),
      pageB.keyboard.type(TYPED_AT_END, { delay: 40 }),
    ]);

    // Both screens show the same text, and both say it is saved.
    const final = await eventually(
      'both screens to show the same text, saved',
      async () => {
        const [a, b] = await Promise.all([screenState(pageA, prov), screenState(pageB, prov)]);
        if (a.text !== b.text) throw new Error(`CICA shows ${JSON.stringify(a.text)}, SCO RATS shows ${JSON.stringify(b.text)}`);
        if (a.sync !== 'saved' || b.sync !== 'saved') throw new Error(`#sync-state: CICA ${a.sync}, SCO RATS ${b.sync}`);
        return a.text;
      },
      { timeout: 30_000 },
    );

    assert.ok(final.includes(TYPED_AT_START), `the screens hold CICA's typing ${JSON.stringify(TYPED_AT_START)} in full: ${JSON.stringify(final)}`);
    assert.ok(final.includes(TYPED_AT_END), `the screens hold SCO RATS's typing ${JSON.stringify(TYPED_AT_END)} in full: ${JSON.stringify(final)}`);
    assert.ok(isSubsequence(original, final), `the screens keep every original character, in order: ${JSON.stringify(final)}`);
    assert.equal(
      [...final].length,
      [...original].length + [...TYPED_AT_START].length + [...TYPED_AT_END].length,
      `no character lost or doubled: ${JSON.stringify(final)}`,
    );
    // With the carets where they were put, this is the one right result.
    assert.equal(final, TYPED_AT_START + original + TYPED_AT_END);

    // What each node stores is what the screens show.
    for (const n of [cica, rats]) {
      await eventually(`${n.name} to store the text the screens show`, async () => {
        const stored = await storedText(n, draft, prov);
        if (stored !== final) throw new Error(`${n.name} stores ${JSON.stringify(stored)}; the screens show ${JSON.stringify(final)}`);
        return true;
      }, { timeout: 10_000 });
    }
    // The other provision is untouched.
    for (const n of [cica, rats]) {
      assert.equal(await storedText(n, draft, d.provisions[1].id), d.provisions[1].texts.en, `${n.name}: the other provision is untouched`);
    }

    await h.screenshotSideBySide([pageA, pageB]);
  });
});
