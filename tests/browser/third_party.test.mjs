// A third party's node in the web app: CICA, SCO RATS and un-oct. The third party's officer sees
// the items granted to the UN office with their state and nothing of the Parties' workflow (no
// dashboard, meetings, drafts, providing form or consent to answer); when CICA revokes the grant,
// the item's page, open at the time, says it was revoked, by whom and when, rather than
// "Loading…" for ever.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withHarness, eventually, lastLine, WAIT_MS } from './harness.mjs';

const TITLE = 'Designated entities, annex 4';

async function items(node) {
  return (await node.json(['item', 'list', '--json'])) || [];
}

test("a third party's node shows the items granted to it, their state, and a revoked item's page", { timeout: 170_000 }, async () => {
  await withHarness('third-party', async (h) => {
    const [cica, rats, unoct] = await h.partiesAndThirdParty();
    const accT = await h.account(unoct, 'u.analyst', 'liaison');
    const file = join(cica.scratch, 'annex-4.txt');
    writeFileSync(file, 'annex 4\n');
    const item = lastLine(await cica.run(['item', 'share', '--title', TITLE, '--file', file, '--tlp', 'amber+strict', '--officer', 'A. Karimov']));
    await eventually('the item at SCO RATS', async () => (await items(rats)).some((i) => i.id === item));
    const req = lastLine(await rats.run(['consent', 'request', item, '--third-party', 'un-oct', '--purpose', 'threat assessment', '--officer', 'I. Petrov']));
    await eventually('the request at CICA', async () => ((await cica.json(['consent', 'list', '--json'])) || []).some((c) => c.request === req));
    const grant = lastLine(await cica.run(['consent', 'grant', req, '--officer', 'A. Karimov']));
    await eventually('the item at un-oct', async () => (await items(unoct)).some((i) => i.id === item));

    // The third party's officer lands on the items granted to it, not on the Parties' dashboard.
    const page = await h.login(unoct, accT);
    await page.waitForFunction(() => window.location.hash === '#/items');
    const row = page.locator(`[data-grant="${grant}"][data-item="${item}"][data-state="granted"]`);
    await row.waitFor({ timeout: WAIT_MS });
    assert.ok((await row.textContent()).includes(TITLE), 'the granted item by its title');
    assert.equal(await row.locator('[data-tlp="TLP:AMBER+STRICT"]').count(), 1);
    // Nothing of the Parties' workflow.
    for (const nav of ['dashboard', 'meetings', 'groups', 'officers', 'messages']) {
      assert.equal(await page.locator(`#nav a[data-nav="${nav}"]`).isVisible(), false, `nav ${nav} is hidden on a third party's node`);
    }
    // Nor a search of the Parties' workspace, which a third party does not hold.
    assert.equal(await page.locator('#search-box').isVisible(), false, 'no search box on a third party’s node');
    assert.equal(await page.locator('#item-title, #item-submit, [data-action="grant"], #consent-submit').count(), 0, 'no providing form, no consent to answer');
    assert.ok(!(await page.locator('main').textContent()).includes('Provide an item'), 'no "Provide an item"');
    // A Parties' page asked for by address leads back to the granted items.
    await page.evaluate(() => {
      window.location.hash = '#/meetings';
    });
    await page.waitForFunction(() => window.location.hash === '#/items');

    // The item's page is open when CICA revokes the grant: it says so.
    await h.route(page, `#/items/${item}`);
    await page.locator('h1', { hasText: TITLE }).waitFor();
    assert.equal(await page.locator('#consent-submit').count(), 0, 'a third party asks no consent');
    await cica.run(['consent', 'revoke', grant, '--officer', 'A. Karimov']);
    const gone = page.locator('[data-gone="revoked"]');
    await gone.waitFor({ timeout: WAIT_MS });
    const said = await gone.textContent();
    assert.ok(said.includes('A. Karimov') && said.includes('cica') && /revoked/.test(said), `the page says who revoked it: ${said}`);
    assert.ok(!(await page.locator('main').textContent()).includes('Loading'), 'nothing stays "Loading…"');
    await h.screenshot(page, '-revoked');
    await h.route(page, '#/items');
    await page.locator(`[data-grant="${grant}"][data-state="revoked"]`).waitFor();
    await h.screenshot(page);
  });
});
