// Calendars and two-language titles in the web app: a meeting held in Almaty shows its time
// there, named, with the officer's own time beside it; its page downloads an ICS that reads back
// with the zone, the instant, the title in both languages and the participants; titles show in
// the officer's language first with the other beside it, in English and in Russian; and the
// new-meeting form stores the zone and both titles.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withHarness, lastLine, eventually } from './harness.mjs';

/** A small RFC 5545 reader: unfolds lines and splits each into name, parameters and value. */
function parseIcs(text) {
  const lines = text.replace(/\r\n[ \t]/g, '').split(/\r\n/).filter(Boolean);
  return lines.map((l) => {
    // The value starts at the first ':' outside a quoted parameter value.
    let q = false;
    let i = 0;
    for (; i < l.length; i++) {
      if (l[i] === '"') q = !q;
      else if (l[i] === ':' && !q) break;
    }
    const [name, ...params] = l.slice(0, i).split(';');
    return { name, params: Object.fromEntries(params.map((p) => p.split('='))), value: l.slice(i + 1) };
  });
}

const unescape = (v) => v.replace(/\\n/gi, '\n').replace(/\\([,;\\])/g, '$1');

test('a meeting in its time zone: shown there, downloaded as ICS, titles in both languages', { timeout: 170_000 }, async () => {
  await withHarness('calendar-meeting', async (h) => {
    const node = await h.node('cica', 'cica', 'CICA Secretariat');
    const id = lastLine(await node.run([
      'meeting', 'create', '--title-en', 'Consultations on security', '--title-ru', 'Консультации по безопасности',
      '--starts', '2026-12-01T09:00', '--ends', '2026-12-01T11:00', '--tz', 'Asia/Almaty', '--venue', 'Astana',
    ]));
    await node.run(['meeting', 'update', id, '--add-participant', 'Ana Lima:cica', '--add-participant', 'Ivan Petrov:sco-rats']);
    const acc = await h.account(node, 'm.member', 'member');
    const page = await h.login(node, acc);
    await h.route(page, `#/meetings/${id}`);

    // English first, Russian beside it.
    const heading = page.locator('h1 .bi-title');
    await heading.waitFor();
    assert.equal((await heading.locator('.bi-other').textContent()).trim(), 'Консультации по безопасности');
    assert.match((await heading.textContent()).trim(), /^Consultations on security\s+Консультации/);
    // 09:00 in Almaty, named; the browser runs in UTC here, so its own time (04:00) is beside it.
    const details = page.locator('dl.meta');
    await eventually('the zone shown', async () => {
      const text = await details.textContent();
      if (!/09:00 \(Asia\/Almaty\)/.test(text) || !/your time .*04:00/.test(text)) throw new Error(text);
      return true;
    });

    // The ICS download.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a#meeting-ics').click()]);
    assert.equal(download.suggestedFilename(), `meeting-${id.slice(0, 8)}.ics`);
    const ics = parseIcs(readFileSync(await download.path(), 'utf8'));
    // The event's own properties (a VTIMEZONE before it has DTSTARTs of its own).
    const event = ics.slice(ics.findIndex((p) => p.name === 'BEGIN' && p.value === 'VEVENT'));
    const get = (n) => event.find((p) => p.name === n);
    assert.deepEqual([get('DTSTART').params.TZID, get('DTSTART').value], ['Asia/Almaty', '20261201T090000']);
    assert.equal(get('DTEND').value, '20261201T110000');
    assert.ok(ics.some((p) => p.name === 'BEGIN' && p.value === 'VTIMEZONE'), 'a VTIMEZONE');
    assert.ok(ics.some((p) => p.name === 'TZOFFSETTO' && p.value === '+0500'), 'Almaty is UTC+5');
    assert.equal(unescape(get('SUMMARY').value), 'Consultations on security / Консультации по безопасности');
    assert.equal(get('UID').value, `${id}@liaison`);
    const cns = ics.filter((p) => p.name === 'ATTENDEE').map((p) => p.params.CN.replace(/"/g, '')).sort();
    assert.deepEqual(cns, ['Ana Lima (cica)', 'Ivan Petrov (sco-rats)']);

    // In Russian: Russian first, English beside it, on the page and in the list.
    await page.locator('select#lang-select').selectOption('ru');
    await page.waitForFunction(() => document.querySelector('h1 .bi-title')?.firstChild?.textContent === 'Консультации по безопасности');
    assert.equal((await page.locator('h1 .bi-title .bi-other').textContent()).trim(), 'Consultations on security');
    await h.route(page, '#/meetings');
    // The list shows meetings from today on; on a later day this one is under "earlier".
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    if (Date.parse('2026-12-01T11:00:00+05:00') < midnight.getTime()) await page.locator('#meetings-past').click();
    const link = page.locator(`#list-h ~ div a[href="#/meetings/${id}"] .bi-title`).first();
    await link.waitFor();
    assert.match((await link.textContent()).trim(), /^Консультации по безопасности\s+Consultations on security$/);

    // The new-meeting form (in Russian): the title in Russian, the other in English, a zone.
    await page.locator('#meeting-title').fill('Встреча экспертов');
    await page.locator('#meeting-title-other').fill('Expert meeting');
    await page.locator('#meeting-tz').fill('Asia/Tashkent');
    await page.locator('#meeting-starts').fill('2026-12-02T10:00');
    await page.locator('#meeting-create').click();
    const made = await eventually('the form\'s meeting stored', async () => {
      const all = await node.json(['meeting', 'list', '--json']);
      const m = all.find((x) => x.title_ru === 'Встреча экспертов');
      if (!m) throw new Error(JSON.stringify(all));
      return m;
    });
    assert.deepEqual([made.title, made.title_en, made.tz, made.starts],
      ['Встреча экспертов', 'Expert meeting', 'Asia/Tashkent', '2026-12-02T10:00:00+05:00']);
    await h.screenshot(page);
  });
});
