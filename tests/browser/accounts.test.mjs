// An officer's first login with the one-time password from `liaison account add`: the app shows
// "choose a new password" and nothing else, refuses the one-time password as the new one, then
// goes on. An unsent reply in a thread survives the session ending (and a reload), and goes once
// sent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness } from './harness.mjs';

test('a one-time password must be replaced, and an unsent reply outlives the session', { timeout: 170_000 }, async () => {
  await withHarness('accounts', async (h) => {
    const node = await h.node('cica', 'cica', 'CICA Secretariat');
    const acc = await h.account(node, 'l.officer', 'liaison');
    const oneTime = acc.password;
    const page = await h.newPage('cica:l.officer');
    await page.goto(`${node.url}/#/messages`);
    await page.locator('input#login-name').fill(acc.name);
    await page.locator('input#login-password').fill(oneTime);
    await page.locator('button#login-submit').click();

    // Only the new-password page: no navigation, the one-time password not asked again.
    await page.locator('input#pwc-new').waitFor();
    assert.equal((await page.locator('#main h1').textContent()).trim(), 'Choose a new password');
    assert.equal(await page.locator('nav#nav').isVisible(), false);
    assert.equal(await page.locator('input#pwc-current').count(), 0);
    await page.locator('input#pwc-new').fill(oneTime);
    await page.locator('input#pwc-again').fill(oneTime);
    await page.locator('button#pwc-submit').click();
    await page.locator('#pwc-error').filter({ hasText: 'differ' }).waitFor();
    const chosen = 'a phrase of several words';
    await page.locator('input#pwc-new').fill(chosen);
    await page.locator('input#pwc-again').fill(chosen);
    await page.locator('button#pwc-submit').click();
    await page.locator('#whoami').filter({ hasText: acc.name }).waitFor();
    // It went where the officer was going.
    await page.waitForFunction(() => location.hash === '#/messages');

    const thread = await page.evaluate(async () => {
      const { api } = await import('/api.js');
      return api('POST', '/api/threads', { subject: 'Draft test', text: 'First message.' });
    });
    await h.route(page, `#/messages/${thread.id}`);
    const reply = 'An unsent reply, typed before the session ended.';
    await page.locator('textarea#reply-text').fill(reply);

    // The session ends behind the app's back (as an expiry would); the page reloads.
    await page.evaluate(async () => {
      const { csrfToken } = await import('/api.js');
      await fetch('/api/session', { method: 'DELETE', headers: { 'X-CSRF-Token': csrfToken() } });
    });
    await page.reload();
    await page.locator('input#login-name').fill(acc.name);
    await page.locator('input#login-password').fill(chosen);
    await page.locator('button#login-submit').click();
    const text = page.locator('textarea#reply-text');
    await text.waitFor();
    await page.waitForFunction((r) => document.querySelector('textarea#reply-text')?.value === r, reply);

    // Sent: the draft goes.
    await page.locator('button#reply-send').click();
    await page.locator('.message-text', { hasText: reply }).waitFor();
    await page.reload();
    await page.locator('.message-text', { hasText: reply }).waitFor();
    assert.equal(await text.inputValue(), '');
  });
});
