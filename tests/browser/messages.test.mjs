// Liaison communications and the officers' registry through the web app, across the two nodes:
// a CICA liaison officer registers an officer and starts a thread; the SCO RATS liaison officer
// sees both arrive and replies; the reply reaches CICA's screen. Text that looks like markup stays
// text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness } from './harness.mjs';

test('officers and messages are shared live between the two nodes, as text', { timeout: 170_000 }, async () => {
  await withHarness('messages', async (h) => {
    const [cica, rats] = await h.parties();
    const [accA, accB] = await Promise.all([h.account(cica, 'a.karimov', 'liaison'), h.account(rats, 'i.petrov', 'liaison')]);
    const [pageA, pageB] = await Promise.all([h.login(cica, accA), h.login(rats, accB)]);

    await h.route(pageA, '#/officers');
    await pageA.locator('#officer-name').fill('A. Karimov');
    await pageA.locator('#officer-contact').fill('liaison@cica.example');
    await pageA.locator('#officer-assign').click();
    await h.route(pageB, '#/officers');
    await pageB.locator('[data-officer]', { hasText: 'A. Karimov' }).waitFor();

    const subject = 'Dates of the consultations <b>not bold</b>';
    await h.route(pageA, '#/messages');
    await pageA.locator('#thread-subject').fill(subject);
    await pageA.locator('#thread-text').fill('We propose 8 December.\n<script>window.__pwned = 1</script>');
    await pageA.locator('#thread-start').click();

    await h.route(pageB, '#/messages');
    const link = pageB.locator('a[data-thread]', { hasText: 'Dates of the consultations' });
    await link.waitFor();
    assert.equal((await link.textContent()).trim(), subject, 'the subject is shown as typed, not as markup');
    await link.click();
    await pageB.locator('[data-message]', { hasText: '<script>window.__pwned = 1</script>' }).waitFor();
    assert.equal(await pageB.evaluate(() => window.__pwned), undefined, 'no script ran from a message');
    await pageB.locator('#reply-text').fill('8 December suits us.');
    await pageB.locator('#reply-send').click();

    // CICA's open thread shows the reply without a reload.
    await pageA.locator('[data-message]', { hasText: '8 December suits us.' }).waitFor();
    assert.equal(await pageA.locator('[data-message]').count(), 2);
    await h.screenshot(pageA);
  });
});
