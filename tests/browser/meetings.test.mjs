// The meetings page of a long-used workspace: it never asks the node for every meeting. The list
// shows a hundred from today on, with "Show N more" (a meeting moved past the page leaves it,
// not the count, and comes with the next); "Earlier" shows past meetings, the latest first; the
// calendar asks for the month it shows, and a month away is fetched when reached. A meeting made
// elsewhere while the page is open takes its place in the view it falls in, and not in the
// other. Another officer's inbox pages the same meetings: a hundred, then "Show 7 more". In
// Russian, the views' names. Screenshot: screenshots/meetings.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness, eventually, lastLine, SETUP_OFFICER } from './harness.mjs';

const DAY = 86_400_000;

test('the meetings page asks for a month and a hundred at a time, and shows earlier ones latest first', { timeout: 170_000 }, async () => {
  await withHarness('meetings', async (h) => {
    const node = await h.node('cica', 'cica', 'CICA Secretariat');
    const acc = await h.account(node, 'a.karimov', 'member');
    const page = await h.login(node, acc);
    const asked = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (r.method() === 'GET' && u.pathname === '/api/meetings') asked.push(u.search);
    });

    // 103 meetings from tomorrow on, one a day at noon; three before today, a day, ten days and
    // about a month and a half ago (the middle of the month before this one).
    const now = new Date();
    const noon = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 12);
    const monthBefore = new Date(now.getFullYear(), now.getMonth() - 1, 15, 12);
    const made = await page.evaluate(async ({ noon, monthBefore, DAY }) => {
      const { api } = await import('/api.js');
      const make = (title, at) => api('POST', '/api/meetings', { title, kind: 'working-meeting', starts: new Date(at).toISOString() });
      for (let i = 1; i <= 103; i++) await make(`Upcoming ${String(i).padStart(3, '0')}`, noon + i * DAY);
      const past = [];
      for (const [title, at] of [['Earlier: yesterday', noon - DAY], ['Earlier: ten days ago', noon - 10 * DAY], ['Earlier: month before', monthBefore]]) {
        past.push((await make(title, at)).id);
      }
      return past;
    }, { noon: noon.getTime(), monthBefore: monthBefore.getTime(), DAY });
    assert.equal(made.length, 3);

    await h.route(page, '#/meetings');
    const rows = page.locator('#list-h ~ div tr[data-meeting]');
    await page.locator('#meetings-more').waitFor();
    assert.equal(await rows.count(), 100);
    assert.match(await page.locator('#meetings-pager').textContent(), /Meetings 1–100 of 103\./);
    assert.equal((await page.locator('#meetings-more').textContent()).trim(), 'Show 3 more');
    assert.equal((await rows.first().textContent()).includes('Upcoming 001'), true);
    // Meeting 50 moves to a year later, past the page: it leaves the page, not the count, and
    // comes with the next page, last.
    const moved = await rows.filter({ hasText: 'Upcoming 050' }).getAttribute('data-meeting');
    await page.evaluate(async ({ id, at }) => {
      const { api } = await import('/api.js');
      await api('PATCH', `/api/meetings/${id}`, { starts: new Date(at).toISOString() });
    }, { id: moved, at: noon.getTime() + 365 * DAY });
    await page.waitForFunction(() => document.querySelectorAll('#list-h ~ div tr[data-meeting]').length === 99);
    assert.match(await page.locator('#meetings-pager').textContent(), /Meetings 1–99 of 103\./);
    assert.equal((await page.locator('#meetings-more').textContent()).trim(), 'Show 4 more');
    await page.locator('#meetings-more').click();
    await page.waitForFunction(() => document.querySelectorAll('#list-h ~ div tr[data-meeting]').length === 103);
    assert.equal(await page.locator('#meetings-more').count(), 0, 'nothing more to show');
    const titles = await rows.locator('a').allTextContents();
    assert.deepEqual(titles.slice(-3), ['Upcoming 102', 'Upcoming 103', 'Upcoming 050']);
    assert.equal(new Set(titles).size, 103, 'no meeting twice, none missing');
    assert.ok(!titles.some((t) => t.startsWith('Earlier')), 'no past meeting among those from today on');

    // Earlier: the latest first.
    await page.locator('#meetings-past').click();
    await page.waitForFunction(() => document.querySelector('#list-h ~ div tr[data-meeting] a')?.textContent.startsWith('Earlier'));
    assert.deepEqual(await rows.locator('a').allTextContents(), ['Earlier: yesterday', 'Earlier: ten days ago', 'Earlier: month before']);

    // A meeting made at the node (the CLI) five days ago joins this view in its place, live.
    const fiveDays = new Date(noon.getTime() - 5 * DAY).toISOString();
    lastLine(await node.run(['meeting', 'create', '--title', 'Earlier: five days ago', '--starts', fiveDays, '--officer', SETUP_OFFICER]));
    await eventually('the new meeting in the earlier view', async () => {
      const got = await rows.locator('a').allTextContents();
      if (got.length !== 4) throw new Error(JSON.stringify(got));
      return got;
    });
    assert.deepEqual(await rows.locator('a').allTextContents(),
      ['Earlier: yesterday', 'Earlier: five days ago', 'Earlier: ten days ago', 'Earlier: month before']);

    // The calendar: the month before, fetched when reached, shows its meeting.
    const cal = page.locator(`table.calendar a[href="#/meetings/${made[2]}"]`);
    assert.equal(await cal.count(), 0);
    await page.locator('button[data-cal="prev"]').click();
    await cal.waitFor();

    // Not once did the page ask for every meeting: each request had a limit, the calendar's a
    // month's window.
    assert.ok(asked.length >= 4, JSON.stringify(asked));
    for (const q of asked) {
      const p = new URLSearchParams(q);
      assert.ok(p.has('limit') || p.has('ids'), `a request without a limit: ${q}`);
      if (p.has('to') && p.has('from')) {
        const days = (Date.parse(p.get('to')) - Date.parse(p.get('from'))) / DAY;
        assert.ok(days <= 43, `the calendar asked for ${days} days`);
      }
    }

    // Another officer has all 107 meetings unread: the inbox page shows a hundred of them, then
    // the rest.
    const other = await h.account(node, 'o.nurlanov', 'member');
    const inbox = await h.login(node, other);
    await h.route(inbox, '#/inbox');
    const entries = inbox.locator('#inbox-list tr[data-kind="meeting"]');
    await inbox.locator('#inbox-more').waitFor();
    assert.equal(await entries.count(), 100);
    assert.match(await inbox.locator('#inbox-pager').textContent(), /Entries 1–100 of 107/);
    assert.equal((await inbox.locator('#inbox-more').textContent()).trim(), 'Show 7 more');
    await inbox.locator('#inbox-more').click();
    await inbox.waitForFunction(() => document.querySelectorAll('#inbox-list tr[data-kind="meeting"]').length === 107);
    assert.equal(await inbox.locator('#inbox-more').count(), 0, 'nothing more to show');
    assert.equal(new Set(await entries.evaluateAll((rs) => rs.map((r) => r.dataset.key))).size, 107, 'no entry twice');

    // In Russian.
    await page.locator('select#lang-select').selectOption('ru');
    await page.locator('#meetings-past', { hasText: 'Прошедшие' }).waitFor();
    await page.locator('#meetings-upcoming', { hasText: 'С сегодняшнего дня' }).waitFor();
    await h.screenshot(page);
  });
});
