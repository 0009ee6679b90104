// The web shell's rough edges (issue 12): a refusal said in Russian from its code, with the Party
// by name and no CLI command or flag; error messages between the header and the page (covering
// nothing), fading (later while hovered), cleared on navigation; "session ended" gone after the
// next login; the connection line saying the node and its peers apart; the audit log naming
// nodes; the editor's dates in the app's one format.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness, createGroup, createDraft, eventually } from './harness.mjs';

const ALERT = '#toasts .toast-error';

test('refusals in Russian, toasts that fade and stay out of the way, the session and connection lines, nodes by name', { timeout: 170_000 }, async () => {
  await withHarness('polish', async (h) => {
    const [a, b] = await h.parties();
    const acc = await h.account(a, 'l.officer', 'liaison');
    const page = await h.login(a, acc);
    // The page's timers run on a clock the test moves: fading is checked without waiting.
    await page.clock.install();

    // ---- The connection line: this node, and its peers, said apart.
    const conn = page.locator('#conn');
    await page.waitForFunction(() => /Connected to this node/.test(document.getElementById('conn').textContent));
    await page.waitForFunction(() => /1 of 1 connected/.test(document.getElementById('conn').textContent));
    assert.doesNotMatch(await conn.textContent(), /Reconnecting|retrying/);

    // ---- A refusal in Russian: a mandate that is not recorded.
    await page.locator('select#lang-select').selectOption('ru');
    await page.waitForFunction(() => document.documentElement.lang === 'ru');
    await h.route(page, '#/groups');
    await page.locator('input#group-name').fill('Группа');
    await page.locator('input#group-mandate').fill('Предложения');
    await page.locator('input#group-mandate-ref').fill('MS-404');
    await page.locator('button#group-create').click();
    const alert = page.locator(ALERT);
    await alert.waitFor();
    const said = (await alert.locator('span').textContent()).trim();
    assert.match(said, /[\u0400-\u04FF]/, `the refusal is in Russian: ${said}`);
    assert.match(said, /MS-404/, said);
    assert.match(said, /CICA Secretariat/, `the Party by name: ${said}`);
    assert.doesNotMatch(said, /liaison |--|`/, `no CLI command or flag: ${said}`);

    // It sits between the header and the page: nothing of the page is under it.
    const box = await alert.boundingBox();
    const heading = await page.locator('main h1').boundingBox();
    const header = await page.locator('header#top').boundingBox();
    assert.ok(box.y >= header.y + header.height - 1, `below the header: ${JSON.stringify({ box, header })}`);
    assert.ok(box.y + box.height <= heading.y, `above the page's heading: ${JSON.stringify({ box, heading })}`);

    // It fades, but not while the pointer is on it; and it can be closed.
    await alert.hover();
    await page.clock.runFor(30_000);
    assert.equal(await alert.count(), 1, 'an error stays while hovered');
    await page.mouse.move(5, 800);
    await page.clock.runFor(11_000);
    await alert.waitFor({ state: 'detached' });
    await page.locator('button#group-create').click();
    await alert.waitFor();
    await alert.locator('button.toast-close').click();
    await alert.waitFor({ state: 'detached' });

    // An error does not follow the officer to another page.
    await page.locator('button#group-create').click();
    await alert.waitFor();
    await h.route(page, '#/meetings');
    await alert.waitFor({ state: 'detached' });

    // ---- The audit log names nodes: SCO RATS's node (pinned at A), the peer id in the tooltip.
    await h.route(page, '#/audit');
    const cell = page.locator(`td[data-who="${b.peerId}"]`).first();
    await cell.waitFor();
    const name = page.locator(`td[data-who="${b.peerId}"] .node-name`).first();
    assert.equal(await name.getAttribute('title'), b.peerId);
    const shown = (await cell.textContent()).trim();
    assert.ok(!shown.includes(b.peerId.slice(-8)), `no peer id in the cell: ${shown}`);
    assert.match(shown, /sco-rats|SCO RATS/, shown);

    // ---- The editor's dates are the app's (ru: "2 янв. 2026 г., 10:00"), not the browser's default.
    const group = await createGroup(a, 'WG');
    const draft = await createDraft(a, group, 'Statement', 'Article 1. Scope.');
    await h.route(page, `#/drafts/${draft}`);
    const meta = page.locator('p.ed-meta');
    await meta.waitFor();
    await page.waitForFunction(() => /\d/.test(document.querySelector('p.ed-meta').textContent));
    const expected = await page.evaluate(async (id) => {
      const ui = await import('/pages/ui.js');
      const d = await (await fetch(`/api/drafts/${id}`)).json();
      return ui.fmtDateTime(d.updated_at);
    }, draft);
    assert.ok((await meta.textContent()).includes(expected), `${await meta.textContent()} has ${expected}`);
    assert.equal(await page.getByText('Согласовать', { exact: true }).count(), 0);

    // ---- "Session ended" after the session is gone, and not after the next login.
    await page.evaluate(async () => {
      const s = await (await fetch('/api/session')).json();
      await fetch('/api/session', { method: 'DELETE', headers: { 'X-CSRF-Token': s.csrf } });
    });
    await h.route(page, '#/meetings');
    await alert.waitFor();
    assert.match(await alert.textContent(), /Сеанс завершён/);
    await page.locator('input#login-name').fill(acc.name);
    await page.locator('input#login-password').fill(acc.password);
    await page.locator('button#login-submit').click();
    await page.locator('#whoami').filter({ hasText: acc.name }).waitFor();
    assert.equal(await page.locator(ALERT).count(), 0, 'no "session ended" after the login');

    // ---- The browser loses this node: the line says so, and no stale peer count beside it.
    await h.screenshot(page);
    await a.stop();
    await eventually('the connection line says the node is lost', async () => {
      const text = await conn.textContent();
      if (!/Связь с этим узлом потеряна/.test(text)) throw new Error(text);
      return text;
    });
    assert.doesNotMatch(await conn.textContent(), /из 1/, 'no peer count while this node is lost');
  });
});
