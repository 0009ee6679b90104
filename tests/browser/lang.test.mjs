// The language switch: Russian in select#lang-select puts the app in Russian (the navigation,
// html[lang]), the choice survives a reload, and English comes back the same way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness } from './harness.mjs';

const MEETINGS = 'nav#nav a[href="#/meetings"]';

async function inLang(page, lang) {
  await page.waitForFunction((l) => document.documentElement.lang === l, lang).catch(async () => {
    throw new Error(`${page.label}: html[lang] stays ${JSON.stringify(await page.evaluate(() => document.documentElement.lang))}, not ${lang}`);
  });
}

test('the language switch puts the app in Russian and back, across a reload', { timeout: 170_000 }, async () => {
  await withHarness('lang-switch', async (h) => {
    const node = await h.node('cica', 'cica', 'CICA Secretariat');
    const acc = await h.account(node, 'v.observer', 'viewer');
    const page = await h.login(node, acc);
    const link = page.locator(MEETINGS);
    await inLang(page, 'en');
    assert.equal((await link.textContent()).trim(), 'Meetings');

    await page.locator('select#lang-select').selectOption('ru');
    await inLang(page, 'ru');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.trim() !== 'Meetings', MEETINGS);
    const ru = (await link.textContent()).trim();
    assert.match(ru, /[\u0400-\u04FF]/, `the meetings link is in Russian: ${JSON.stringify(ru)}`);
    const navTexts = await page.locator('nav#nav a').allTextContents();
    for (const t of navTexts) assert.doesNotMatch(t, /^(Meetings|Groups|Items|Audit|Dashboard)$/, `nav text still English: ${JSON.stringify(navTexts)}`);

    await page.reload();
    await page.locator('#whoami').waitFor();
    await inLang(page, 'ru');
    assert.equal(await page.locator('select#lang-select').inputValue(), 'ru');
    assert.equal((await link.textContent()).trim(), ru, 'Russian after a reload');

    await page.locator('select#lang-select').selectOption('en');
    await inLang(page, 'en');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.trim() === 'Meetings', MEETINGS);

    await page.reload();
    await page.locator('#whoami').waitFor();
    await inLang(page, 'en');
    assert.equal((await link.textContent()).trim(), 'Meetings', 'English after a reload');

    // The final screen: in Russian, for the record.
    await page.locator('select#lang-select').selectOption('ru');
    await inLang(page, 'ru');
    await h.screenshot(page);
  });
});
