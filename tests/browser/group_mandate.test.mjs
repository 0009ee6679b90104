// The group edit page cites the editing Party's own Member-State mandate, as `group update
// --mandate-ref` does: CICA sets a group up under its mandate; SCO RATS's member cites SCO
// RATS's mandate on the group's edit page, and both nodes show each Party's citation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness, eventually, lastLine } from './harness.mjs';

test("the other Party cites its own mandate on the group's edit page", { timeout: 150_000 }, async () => {
  await withHarness('group-mandate', async (h) => {
    const [cica, rats] = await h.parties();
    await cica.run(['mandate', 'add', '--ref', 'CICA-MS-2026/1', '--date', '2026-01-10', '--scope', 'working group', '--officer', 'A. Karimov']);
    await rats.run(['mandate', 'add', '--ref', 'RATS-MS-2026/4', '--date', '2026-02-01', '--scope', 'working group', '--officer', 'I. Petrov']);
    const group = lastLine(await cica.run(['group', 'create', '--name', 'WG on financing', '--mandate', 'Proposals on CFT', '--mandate-ref', 'CICA-MS-2026/1', '--officer', 'A. Karimov']));
    await eventually('the group at SCO RATS', async () => (await rats.json(['group', 'list', '--json'])).some((g) => g.id === group));
    const acc = await h.account(rats, 'i.petrov', 'member');
    const page = await h.login(rats, acc);
    await h.route(page, `#/groups/${group}`);
    await page.locator('details.card summary').filter({ hasText: /Edit/ }).first().click();
    const ref = page.locator('input#group-edit-mandate-ref');
    await ref.fill('RATS-MS-2026/4');
    await ref.evaluate((el) => el.form.requestSubmit());
    await page.locator('[data-mandate-ref="sco-rats"]').filter({ hasText: 'RATS-MS-2026/4' }).waitFor();
    await eventually("CICA's node has SCO RATS's citation", async () => {
      const g = await cica.json(['group', 'show', group, '--json']);
      return g.mandate_refs['sco-rats'] === 'RATS-MS-2026/4' && g.mandate_ref === 'CICA-MS-2026/1';
    });
    // Citing the other Party's mandate is refused, and says so.
    await ref.fill('CICA-MS-2026/1');
    await ref.evaluate((el) => el.form.requestSubmit());
    await eventually('a refusal shown', async () => (await page.locator('body').textContent()).includes('CICA-MS-2026/1'));
    const g = await rats.json(['group', 'show', group, '--json']);
    assert.equal(g.mandate_refs['sco-rats'], 'RATS-MS-2026/4', 'the refused citation changed nothing');
  });
});
