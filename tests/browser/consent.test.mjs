// Provided information and consent through the web app, with three nodes: CICA and SCO RATS
// (the Parties) and un-oct (a third party, pinned as third-party by both Parties, pinning both
// as provider). A CICA liaison officer provides an item on the Items page; a SCO RATS liaison
// officer sees it arrive, opens it and asks for consent to pass it to un-oct; the CICA officer
// sees the request and grants it; both screens show it granted, and un-oct's node then holds
// the item, which it did not before the grant.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { withHarness, eventually, WAIT_MS } from './harness.mjs';

const TITLE = 'Designated entities, annex 3';
const MANDATE = 'CICA-MS-2026/7';
const PURPOSE = 'threat assessment for the Security Council';

/** `item list --json` of a node. */
async function items(node) {
  const v = await node.json(['item', 'list', '--json']);
  assert.ok(Array.isArray(v), `${node.name}: item list --json is an array: ${JSON.stringify(v)}`);
  return v;
}

/**
 * Watches every progress#item-progress the page shows from now on, and remembers whether one
 * ever reached its max (a MutationObserver sees each change of its value, even if the page
 * removes the bar right after it completes).
 */
function watchProgress(page) {
  return page.evaluate(() => {
    window.__progress = { done: false, seen: [] };
    const check = (el) => {
      if (!el || el.id !== 'item-progress') return;
      const max = Number(el.max || el.getAttribute('max') || 1);
      const value = el.hasAttribute('value') ? Number(el.value) : NaN;
      window.__progress.seen.push(value);
      if (max > 0 && value >= max) window.__progress.done = true;
    };
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'attributes') check(r.target);
        for (const n of r.addedNodes || []) {
          if (n.nodeType !== 1) continue;
          check(n);
          n.querySelectorAll && n.querySelectorAll('#item-progress').forEach(check);
        }
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'max'] });
    // A bar already on screen, and frames in between (a value set as a property only).
    check(document.getElementById('item-progress'));
    const frame = () => {
      check(document.getElementById('item-progress'));
      if (!window.__progress.done) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
}

/** Waits for the consent row of `request` on `page` to be in `state`. */
async function waitConsentState(page, request, state, timeout = WAIT_MS) {
  const row = page.locator(`[data-consent="${request}"]`);
  try {
    await page.locator(`[data-consent="${request}"][data-state="${state}"]`).first().waitFor({ timeout });
  } catch (e) {
    const now = await row.first().getAttribute('data-state', { timeout: 500 }).catch(() => '(no row)');
    throw new Error(`${page.label}: the consent row ${request} never showed data-state="${state}" (it shows ${now}; url ${page.url()})`);
  }
}

test('an item is provided, asked for and granted to a third party through the web app', { timeout: 170_000 }, async () => {
  await withHarness('consent-grant', async (h) => {
    const [cica, rats, unoct] = await h.partiesAndThirdParty();
    const [accCica, accRats] = await Promise.all([
      h.account(cica, 'a.karimov', 'liaison'),
      h.account(rats, 'i.petrov', 'liaison'),
    ]);
    // The Member-State mandate the item cites (scripts/demo-consent.sh records one the same way).
    await cica.run(['mandate', 'add', '--ref', MANDATE, '--date', '2026-10-15', '--scope', 'exchange of information with SCO RATS', '--officer', 'A. Karimov']);

    const [pageC, pageR] = await Promise.all([h.login(cica, accCica), h.login(rats, accRats)]);
    await Promise.all([h.route(pageC, '#/items'), h.route(pageR, '#/items')]);

    // 1. CICA provides the item: title and file, through the upload form; the bar reaches done.
    await pageC.locator('input#item-title').fill(TITLE);
    const body = Buffer.concat([Buffer.from('List of designated entities, annex 3.\n'), randomBytes(3 << 20)]);
    await pageC.locator('input#item-file').setInputFiles({ name: 'annex-3.bin', mimeType: 'application/octet-stream', buffer: body });
    if (await pageC.locator('input#item-marking').count()) await pageC.locator('input#item-marking').fill('RESTRICTED');
    if (await pageC.locator('input#item-mandate').count()) await pageC.locator('input#item-mandate').fill(MANDATE);
    await watchProgress(pageC);
    await pageC.locator('button#item-submit').click();
    try {
      await pageC.waitForFunction(() => window.__progress && window.__progress.done, null, { timeout: WAIT_MS, polling: 'raf' });
    } catch {
      const seen = await pageC.evaluate(() => window.__progress && window.__progress.seen.slice(-10));
      throw new Error(`progress#item-progress never reached its max; last values seen: ${JSON.stringify(seen)}`);
    }
    const rowC = pageC.locator('[data-item]').filter({ hasText: TITLE });
    await rowC.first().waitFor();
    const item = await rowC.first().getAttribute('data-item');
    const mine = (await items(cica)).find((i) => i.id === item);
    assert.ok(mine, `CICA's node lists the item ${item} the page shows`);
    assert.equal(mine.title, TITLE);
    assert.equal(mine.bytes, body.length, 'the whole file was provided');

    // 2. SCO RATS sees it arrive (no reload), and opens it.
    const rowR = pageR.locator(`[data-item="${item}"]`);
    await rowR.waitFor({ timeout: WAIT_MS }).catch(() => {
      throw new Error(`SCO RATS's Items page never showed [data-item="${item}"]`);
    });
    assert.ok((await rowR.textContent()).includes(TITLE), 'SCO RATS sees the title');
    const link = rowR.locator(`a[href="#/items/${item}"]`);
    await ((await link.count()) ? link.first() : rowR).click();
    await pageR.waitForFunction((id) => window.location.hash === `#/items/${id}`, item);

    // 3. SCO RATS asks for consent to pass it to un-oct.
    const select = pageR.locator('select#consent-third-party');
    await select.waitFor();
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => ({ value: o.value, text: o.textContent })));
    const target = options.find((o) => /un-oct|UN Office/i.test(`${o.value} ${o.text}`));
    assert.ok(target, `select#consent-third-party offers un-oct: ${JSON.stringify(options)}`);
    await select.selectOption(target.value);
    await pageR.locator('input#consent-purpose').fill(PURPOSE);
    await pageR.locator('button#consent-submit').click();
    const reqRow = pageR.locator('[data-consent]').filter({ hasText: PURPOSE });
    await reqRow.first().waitFor().catch(() => {
      throw new Error('SCO RATS: no [data-consent] row with the purpose appeared after button#consent-submit');
    });
    const request = await reqRow.first().getAttribute('data-consent');
    await waitConsentState(pageR, request, 'pending');

    // Before the grant the third party has no such item (nor any other).
    const before = await items(unoct);
    assert.ok(!before.some((i) => i.id === item), `un-oct must not hold ${item} before the grant: ${JSON.stringify(before)}`);
    assert.deepEqual(before, [], 'un-oct holds no item at all before the grant');

    // 4. CICA sees the request arrive on the Items page it is on (no reload), and grants it.
    assert.equal(await pageC.evaluate(() => window.location.hash), '#/items');
    const grant = pageC.locator(`[data-consent="${request}"] [data-action="grant"]`);
    await grant.waitFor({ timeout: WAIT_MS }).catch(() => {
      throw new Error(`CICA: no [data-consent="${request}"] [data-action="grant"] appeared on #/items`);
    });
    await waitConsentState(pageC, request, 'pending');
    // Granting asks first (the app's dialog): cancelled, nothing happens.
    await grant.click();
    await pageC.locator('dialog#confirm-dialog').waitFor();
    assert.match(await pageC.locator('#confirm-text').textContent(), new RegExp(TITLE), 'the question names the item by its title');
    await pageC.locator('button#confirm-cancel').click();
    await pageC.locator('dialog#confirm-dialog').waitFor({ state: 'detached' });
    await waitConsentState(pageC, request, 'pending');
    assert.ok(!(await cica.json(['consent', 'list', '--json'])).find((x) => x.request === request).grant, 'a cancelled grant grants nothing');
    // The request names the item by its title, not its id.
    assert.ok((await pageC.locator(`[data-consent="${request}"] a[data-item-link]`).textContent()).includes(TITLE));
    await grant.click();
    await pageC.locator('button#confirm-ok').click();

    // 5. Granted on both screens; un-oct's node then holds the item.
    await Promise.all([waitConsentState(pageC, request, 'granted'), waitConsentState(pageR, request, 'granted')]);
    await eventually(`un-oct to hold item ${item}`, async () => (await items(unoct)).some((i) => i.id === item));
    const views = await Promise.all([cica, rats].map((n) => n.json(['consent', 'list', '--json'])));
    for (const [i, v] of views.entries()) {
      const r = v.find((x) => x.request === request);
      assert.ok(r && r.state === 'granted', `${[cica, rats][i].name}: consent list shows ${request} granted: ${JSON.stringify(r)}`);
    }

    // The final screens, with the granted request in view on both.
    // (In one step in the page: the tables are re-rendered when new data comes.)
    for (const p of [pageC, pageR]) {
      await p.evaluate((sel) => document.querySelector(sel)?.scrollIntoView({ block: 'center' }), `[data-consent="${request}"]`);
    }
    await h.screenshotSideBySide([pageC, pageR]);

    // Revoking asks first too: cancelled, the grant stands; confirmed, it is revoked.
    const revoke = pageC.locator(`[data-consent="${request}"] [data-action="revoke"]`);
    await revoke.click();
    await pageC.locator('button#confirm-cancel').click();
    await waitConsentState(pageC, request, 'granted');
    await revoke.click();
    await pageC.locator('button#confirm-ok').click();
    await waitConsentState(pageC, request, 'revoked');
  });
});
