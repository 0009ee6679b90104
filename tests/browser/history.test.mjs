// The history of a draft and of a meeting, at the other Party's node: an officer of CICA edits a
// provision at CICA's node; the SCO RATS officer, in the same draft's editor at the SCO RATS
// node, opens the History panel and sees that edit with its Party (cica, proven by the node's
// signature), the officer's name as CICA gives it, and what it changed; the provision filter
// keeps it for its provision and leaves it out for another; a later edit shows up in the open
// panel by itself. A meeting made at CICA shows in its history at SCO RATS as CICA's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withHarness,
  eventually,
  createDraft,
  createGroup,
  waitForDraft,
  showDraft,
  storedText,
  editorBox,
  waitForBoxText,
  lastLine,
  SETUP_OFFICER,
} from './harness.mjs';

const DRAFT = [
  'Article 1. The Parties shall exchange information on issues of mutual interest.',
  'Article 2. The Parties may hold joint working meetings and consultations.',
].join('\n\n');

test('the history at the other node shows who changed a draft and a meeting, with the proven Party', { timeout: 170_000 }, async () => {
  await withHarness('history', async (h) => {
    const [cica, rats] = await h.parties();
    const [accA, accB] = await Promise.all([h.account(cica, 'a.karimov', 'member'), h.account(rats, 'i.petrov', 'member')]);
    const group = await createGroup(cica, 'Joint working group on CFT');
    const draft = await createDraft(cica, group, 'Joint proposals', DRAFT);
    await waitForDraft(rats, draft);
    const d = await showDraft(cica, draft);
    const [p1, p2] = d.provisions.map((p) => p.id);

    const [pageA, pageB] = await Promise.all([h.login(cica, accA), h.login(rats, accB)]);
    await h.route(pageA, `#/drafts/${draft}`);
    await waitForBoxText(pageA, p2, d.provisions[1].texts.en);

    // CICA's officer writes the Russian text of Article 2 at CICA's node.
    const ru = 'Статья 2. Стороны могут проводить совместные рабочие встречи.';
    await editorBox(pageA, p2, 'ru').fill(ru);
    await eventually('SCO RATS to store the Russian text typed at CICA', async () => (await storedText(rats, draft, p2, 'ru')) === ru);

    // At SCO RATS: the draft's history panel shows that edit as CICA's.
    await h.route(pageB, `#/drafts/${draft}`);
    await waitForBoxText(pageB, p2, ru, 'ru');
    const panel = pageB.locator('#draft-history');
    await panel.locator('summary').focus();
    await pageB.keyboard.press('Enter'); // keyboard alone opens it
    const edit = panel.locator(`tr[data-officer="${accA.name}"][data-what*="text of ${p2} (ru)"]`);
    await edit.first().waitFor();
    assert.equal(await edit.count(), 1, 'one entry for the edit');
    assert.equal(await edit.getAttribute('data-party'), 'cica', 'the edit is CICA’s');
    assert.equal(await edit.getAttribute('data-proof'), 'node', 'proven by the node’s signature');
    const cells = await edit.locator('td').allTextContents();
    assert.equal(cells[1], accA.name, 'the officer CICA names');
    assert.equal(cells[2], 'cica', 'the Party');
    assert.ok(cells[3].startsWith('…') && cica.peerId.endsWith(cells[3].slice(1)), `CICA's node, shortened: ${cells[3]}`);
    assert.match(cells[4], /proven/);
    assert.match(cells[5], /text of Article 2 \(Russian\)/, `what changed, with the provision's label: ${cells[5]}`);
    const intro = await panel.locator('p').first().textContent();
    assert.match(intro, /Party and its node are proven/);
    assert.match(intro, /officer’s name is that Party’s own statement/);
    // The draft's creation at CICA (through the CLI) is there too, as CICA's.
    assert.equal(await panel.locator(`tr[data-officer="${SETUP_OFFICER}"][data-party="cica"]`).count(), 1, 'the creation, by CICA');

    // The filter: Article 2 keeps the edit, Article 1 does not have it.
    const filter = panel.locator('select[data-history-filter]');
    await filter.selectOption(p2);
    await eventually('the Article 2 history', async () => (await panel.locator('tbody tr').count()) > 0 && (await edit.count()) === 1);
    await filter.selectOption(p1);
    await eventually('the Article 1 history without the Article 2 edit', async () => (await edit.count()) === 0 && (await panel.locator(`tr[data-officer="${SETUP_OFFICER}"]`).count()) === 1);
    // "The provision I am in": after the officer was in Article 2's text, it is Article 2's.
    await editorBox(pageB, p2, 'en').focus();
    await filter.selectOption('@current');
    await edit.first().waitFor();

    // A later edit at CICA (Article 2 again) shows up in the open panel without a click.
    await editorBox(pageA, p2, 'en').fill('Article 2. The Parties may hold joint working meetings.');
    await eventually('the second CICA edit in the open panel at SCO RATS', async () => {
      const n = await panel.locator(`tr[data-officer="${accA.name}"][data-party="cica"]`).count();
      return n >= 2;
    });
    await panel.scrollIntoViewIfNeeded();
    await h.screenshotSideBySide([pageA, pageB], '-draft');

    // A meeting made at CICA: its history at SCO RATS names CICA.
    const meeting = lastLine(await cica.run(['meeting', 'create', '--title', 'Consultations on CFT', '--starts', '2027-02-01T10:00:00Z', '--officer', SETUP_OFFICER]));
    await h.route(pageB, `#/meetings/${meeting}`);
    await pageB.locator('h1', { hasText: 'Consultations on CFT' }).waitFor();
    const mh = pageB.locator('#meeting-history');
    await mh.locator('summary').click();
    const created = mh.locator(`tr[data-officer="${SETUP_OFFICER}"][data-party="cica"][data-proof="node"]`);
    await created.first().waitFor();
    await mh.scrollIntoViewIfNeeded();
    await h.screenshot(pageB, '-meeting');
  });
});
