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
    assert.equal(cells[2], 'CICA Secretariat', 'the Party, by its name');
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
    const meeting = lastLine(await cica.run(['meeting', 'create', '--title', 'Consultations on CFT', '--starts', '2099-02-01T10:00:00Z', '--officer', SETUP_OFFICER]));
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

// A provision edited from both nodes, read as track changes: CICA's officer changes "may" to
// "shall" in Article 2 at CICA's node, SCO RATS's officer then inserts "regular" at SCO RATS's;
// at CICA, Article 2's own History button shows both edits, newest first, each with its own
// words in <ins>/<del> (and not the other's). A suggestion made at SCO RATS shows at CICA as
// track changes, and a version comparison too; in Russian as well, and no unified diff
// ("\ No newline at end of file", "@@") anywhere.
test('a provision’s history from both nodes and a suggestion, as track changes in both languages', { timeout: 170_000 }, async () => {
  await withHarness('history-track-changes', async (h) => {
    const [cica, rats] = await h.parties();
    const [accA, accB] = await Promise.all([h.account(cica, 'a.karimov', 'member'), h.account(rats, 'i.petrov', 'member')]);
    const group = await createGroup(cica, 'Joint working group on CFT');
    const draft = await createDraft(cica, group, 'Joint proposals', DRAFT);
    await waitForDraft(rats, draft);
    const d = await showDraft(cica, draft);
    const [p1, p2] = d.provisions.map((p) => p.id);
    const [pageA, pageB] = await Promise.all([h.login(cica, accA), h.login(rats, accB)]);
    await Promise.all([h.route(pageA, `#/drafts/${draft}`), h.route(pageB, `#/drafts/${draft}`)]);
    await Promise.all([waitForBoxText(pageA, p2, d.provisions[1].texts.en), waitForBoxText(pageB, p2, d.provisions[1].texts.en)]);

    const byCica = 'Article 2. The Parties shall hold joint working meetings and consultations.';
    await editorBox(pageA, p2).fill(byCica);
    await waitForBoxText(pageB, p2, byCica);
    await eventually('SCO RATS to store CICA’s edit', async () => (await storedText(rats, draft, p2)) === byCica);
    const byRats = 'Article 2. The Parties shall hold regular joint working meetings and consultations.';
    await editorBox(pageB, p2).fill(byRats);
    await eventually('CICA to store SCO RATS’s edit', async () => (await storedText(cica, draft, p2)) === byRats);

    // At CICA: Article 2's History button opens the draft's history on Article 2.
    await pageA.locator(`button[data-provision-history="${p2}"]`).click();
    const panel = pageA.locator('#draft-history');
    assert.equal(await panel.getAttribute('open'), '', 'the panel is open');
    assert.equal(await panel.locator('select[data-history-filter]').inputValue(), p2, 'on Article 2');
    const text = `[data-text-change="text of ${p2} (en)"]`;
    const ratsEdit = panel.locator(`tr[data-party="sco-rats"]:has(${text})`);
    const cicaEdit = panel.locator(`tr[data-party="cica"][data-officer="${accA.name}"]:has(${text})`);
    await eventually('both edits with their words', async () => (await ratsEdit.count()) === 1 && (await cicaEdit.count()) === 1);
    // The words of each <ins> or <del>, without what it says to screen readers.
    const words = (row, tag) =>
      row.locator(`${text} ${tag}`).evaluateAll((els) => els.map((e) => [...e.childNodes].filter((c) => !(c.classList && c.classList.contains('sr-only'))).map((c) => c.textContent).join('')));
    assert.deepEqual(await words(ratsEdit, 'ins'), ['regular '], 'SCO RATS inserted "regular "');
    assert.deepEqual(await words(ratsEdit, 'del'), [], 'SCO RATS deleted nothing');
    assert.deepEqual(await words(cicaEdit, 'del'), ['may'], 'CICA deleted "may"');
    assert.deepEqual(await words(cicaEdit, 'ins'), ['shall'], 'CICA inserted "shall"');
    // Newest first: SCO RATS's edit, CICA's, and the text Article 2 was created with.
    const order = await panel.locator(`tbody tr:has(${text})`).evaluateAll((rows) => rows.map((r) => `${r.dataset.party} ${r.dataset.officer}`));
    assert.deepEqual(order, [`sco-rats ${accB.name}`, `cica ${accA.name}`, `cica ${SETUP_OFFICER}`], 'newest first');
    const created = panel.locator(`tr[data-officer="${SETUP_OFFICER}"]:has(${text})`);
    assert.deepEqual(await words(created, 'ins'), [d.provisions[1].texts.en], 'created with its text');
    // The text around them: the unchanged words and the insertions read as the text after the edit.
    const after = (el) =>
      [...el.childNodes]
        .filter((n) => n.nodeName !== 'DEL')
        .map((n) => (n.nodeName === 'INS' ? [...n.childNodes].filter((c) => !(c.classList && c.classList.contains('sr-only'))).map((c) => c.textContent).join('') : n.textContent))
        .join('');
    assert.equal(await ratsEdit.locator(`${text} .track-changes`).evaluate(after), byRats);

    // A suggestion at SCO RATS on Article 1, seen at CICA as track changes.
    const row1 = (page) => page.locator(`[data-provision="${p1}"]`);
    await row1(pageB).locator('details.ed-review > summary').click();
    const suggested = 'Article 1. The Parties shall exchange information on issues of mutual interest without delay.';
    await row1(pageB).locator('textarea.ed-sugg-text').fill(suggested);
    await row1(pageB).locator('form.ed-sugg-form button[type="submit"]').click();
    const sugg = row1(pageA).locator('li[data-suggestion] .track-changes');
    await eventually('the suggestion at CICA', async () => (await sugg.count()) === 1);
    assert.match(await sugg.locator('ins').textContent(), /without delay/);
    assert.equal(await sugg.locator('del').count(), 0);

    // A version comparison (from the beginning): every word inserted, as track changes.
    await pageA.locator('form.ed-dform button[type="submit"]').click();
    const cmp = pageA.locator('[data-compare] .track-changes');
    await cmp.locator('ins').first().waitFor();
    assert.match(await cmp.textContent(), /regular joint working meetings/);

    // In Russian: the same track changes, announced in Russian, and no unified diff anywhere.
    await pageA.locator('select#lang-select').selectOption('ru');
    await pageA.waitForFunction(() => document.documentElement.lang === 'ru');
    await pageA.locator(`button[data-provision-history="${p2}"]`).click();
    await eventually('the history again, in Russian', async () => (await ratsEdit.count()) === 1);
    assert.match(await ratsEdit.locator(`${text} ins`).textContent(), /вставлено:.*regular/s);
    assert.match(await cicaEdit.locator(`${text} del`).textContent(), /удалено:.*may/s);
    assert.match(await row1(pageA).locator('li[data-suggestion] .track-changes ins').textContent(), /вставлено:.*without delay/s);
    await pageA.locator('form.ed-dform button[type="submit"]').click();
    await pageA.locator('[data-compare] .track-changes ins').first().waitFor();
    for (const page of [pageA, pageB]) {
      const body = await page.locator('body').textContent();
      for (const bad of ['No newline', '@@ ', '+++ ', '--- current']) assert.ok(!body.includes(bad), `${page.label} shows ${JSON.stringify(bad)}`);
    }
    await panel.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await h.screenshot(pageA, '-ru');
  });
});
