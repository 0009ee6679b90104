// Search from the header's box, in Russian and in English: a Russian provision typed at SCO RATS
// is found at CICA by another form of the word («терроризма» finds «Терроризм»), highlighted,
// with a link to the draft; the page speaks Russian when the app does; "meetings" finds a
// meeting made at SCO RATS, and its link opens the meeting. A viewer searches: an item's title
// it may not read is not among the hits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness, eventually, createGroup, createDraft, waitForDraft, showDraft, lastLine, SETUP_OFFICER } from './harness.mjs';

async function searchFor(page, q) {
  const box = page.locator('form#search-box input#search-q');
  await box.fill(q);
  await box.press('Enter');
  await page.waitForFunction((want) => decodeURIComponent(location.hash) === `#/search/${want}`, q);
}

test('search in Russian and English from the header finds the other node’s words in any form', { timeout: 170_000 }, async () => {
  await withHarness('search', async (h) => {
    const [cica, rats] = await h.parties();
    const group = await createGroup(cica, 'Joint working group on CFT');
    const draft = await createDraft(cica, group, 'Joint proposals on CFT', 'Article 1. The Parties shall exchange information on the financing of terrorism.');
    await waitForDraft(rats, draft);
    const p1 = (await showDraft(rats, draft)).provisions[0].id;
    const ru = rats.file('ru.txt', 'Статья 1. Терроризм во всех его формах осуждается Сторонами.');
    await rats.run(['draft', 'text', draft, '--provision', p1, '--lang', 'ru', '--text-file', ru, '--officer', SETUP_OFFICER]);
    const meeting = lastLine(await rats.run(['meeting', 'create', '--title', 'Joint working meeting in Tashkent', '--starts', '2099-03-01T10:00:00Z', '--officer', SETUP_OFFICER]));
    const body = cica.file('report.bin', 'contents');
    await cica.run(['item', 'share', '--title', 'Joint meeting shipment report', '--file', body, '--officer', SETUP_OFFICER]);
    await eventually('CICA to hold the Russian text and the meeting', async () => {
      const d = await showDraft(cica, draft);
      const m = await cica.json(['meeting', 'list', '--json']);
      return d.provisions[0].texts.ru.includes('Терроризм') && m.some((x) => x.id === meeting);
    });

    const acc = await h.account(cica, 'v.observer', 'viewer');
    const page = await h.login(cica, acc);
    await page.locator('select#lang-select').selectOption('ru');
    await page.waitForFunction(() => document.documentElement.lang === 'ru');

    // Russian: another case of the word finds the provision; the word is marked; the link opens the draft.
    await searchFor(page, 'терроризма');
    const hit = page.locator(`#search-results li[data-kind="draft"][data-doc="${draft}"]`);
    await hit.first().waitFor();
    assert.equal((await hit.first().locator('mark').first().textContent()), 'Терроризм');
    assert.match(await hit.first().textContent(), /русский/, 'the language is named in Russian');
    assert.equal(await hit.first().locator('a').getAttribute('href'), `#/drafts/${draft}`);
    assert.match(await page.locator('main h1').textContent(), /Поиск/);

    // English: "meetings" finds the meeting made at SCO RATS; the item's title is not shown to a viewer.
    await page.locator('select#lang-select').selectOption('en');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    await searchFor(page, 'meetings');
    const m = page.locator(`#search-results li[data-kind="meeting"][data-doc="${meeting}"]`);
    await m.waitFor();
    assert.equal(await m.locator('mark').first().textContent(), 'meeting');
    assert.equal(await page.locator('#search-results li[data-kind="item"]').count(), 0, 'a viewer sees no item title');
    assert.doesNotMatch(await page.locator('main').textContent(), /shipment/);
    await h.screenshot(page);
    await m.locator('a').click();
    await page.waitForFunction((id) => location.hash === `#/meetings/${id}`, meeting);
    await page.locator('main', { hasText: 'Joint working meeting in Tashkent' }).first().waitFor();

    // Nothing found is said so.
    await searchFor(page, 'zzzqqq');
    await page.locator('#search-none').waitFor();
  });
});
