// Attachments through the web app, with CICA and SCO RATS. A CICA liaison officer attaches a
// provided item (marked TLP:AMBER) to a meeting from the meeting's page; a message cites it too.
// At SCO RATS a liaison officer sees the attachment as a link with the item's title and follows
// it to the item, whose page lists the meeting and the message that cite it; a viewer sees
// "Restricted item" with neither title nor byte: the node sends no title to that role, and the
// item's content is refused to it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withHarness, eventually, lastLine, WAIT_MS } from './harness.mjs';

const TITLE = 'ATT-TITLE Список организаций';
const OFFICER = ['--officer', 'A. Karimov'];

async function items(node) {
  return (await node.json(['item', 'list', '--json'])) || [];
}

test('an attachment is a link for a liaison officer and a restricted item for a viewer', { timeout: 170_000 }, async () => {
  await withHarness('attachments', async (h) => {
    const [cica, rats] = await h.parties();
    const [accC, accR, accV] = await Promise.all([
      h.account(cica, 'a.karimov', 'liaison'),
      h.account(rats, 'i.petrov', 'liaison'),
      h.account(rats, 'v.viewer', 'viewer'),
    ]);
    const file = join(cica.scratch, 'Список организаций.txt');
    writeFileSync(file, 'ATT-BODY list of entities\n');
    const item = lastLine(await cica.run(['item', 'share', '--title', TITLE, '--file', file, '--tlp', 'amber', ...OFFICER]));
    assert.match(item, /^[0-9a-f]{32}$/, `item share printed an id: ${item}`);
    const meeting = lastLine(await cica.run(['meeting', 'create', '--title', 'Consultation in Astana', '--starts', '2099-02-10T10:00:00Z', ...OFFICER]));
    const msg = join(cica.scratch, 'msg.txt');
    writeFileSync(msg, 'Please see the attached list.');
    const thread = lastLine(await cica.run(['message', 'send', '--subject', 'Lists', '--text-file', msg, '--attach', item, ...OFFICER]));

    // 1. CICA's liaison officer attaches the item on the meeting's page.
    const pageC = await h.login(cica, accC);
    await h.route(pageC, `#/meetings/${meeting}`);
    const sel = pageC.locator('select#attach-item');
    await sel.waitFor();
    await sel.selectOption(item);
    await pageC.locator('button#attach-submit').click();
    await pageC.locator(`[data-attachment="${item}"][data-readable="true"] a[data-item-link]`).waitFor();
    assert.equal((await pageC.locator(`[data-attachment="${item}"] a[data-item-link]`).textContent()).trim(), TITLE);
    assert.equal(await pageC.locator(`[data-attachment="${item}"] [data-tlp="TLP:AMBER"]`).count(), 1, 'the marking is a TLP label');

    // 2. At SCO RATS, once the item and the meeting arrived.
    await eventually('the item at SCO RATS', async () => (await items(rats)).some((i) => i.id === item));
    await eventually('the attachment at SCO RATS', async () => {
      const m = await rats.json(['meeting', 'show', meeting, '--json']);
      return m.attachments.some((a) => a.item === item);
    });
    const [pageR, pageV] = await Promise.all([h.login(rats, accR), h.login(rats, accV)]);
    await Promise.all([h.route(pageR, `#/meetings/${meeting}`), h.route(pageV, `#/meetings/${meeting}`)]);

    // The liaison officer: a link with the title, to the item, whose page names who cites it.
    const link = pageR.locator(`[data-attachment="${item}"][data-readable="true"] a[data-item-link]`);
    await link.waitFor({ timeout: WAIT_MS });
    assert.equal((await link.textContent()).trim(), TITLE);
    await link.click();
    await pageR.waitForFunction((id) => window.location.hash === `#/items/${id}`, item);
    await pageR.locator(`#item-citations a[href="#/meetings/${meeting}"]`).waitFor();
    await pageR.locator(`#item-citations a[href="#/messages/${thread}"]`).waitFor();
    assert.equal(await pageR.locator('[data-tlp="TLP:AMBER"]').first().textContent(), 'TLP:AMBER', 'the label says its name, not only a colour');

    // The viewer: "Restricted item", no title on the page nor in what the node sent.
    const restricted = pageV.locator(`[data-attachment="${item}"][data-readable="false"]`);
    await restricted.waitFor({ timeout: WAIT_MS });
    assert.match(await restricted.textContent(), /Restricted item/);
    assert.equal(await pageV.locator(`[data-attachment="${item}"] a`).count(), 0, 'no link for the viewer');
    assert.ok(!(await pageV.locator('main').textContent()).includes('ATT-TITLE'), 'the viewer\'s meeting page shows no title');
    const seen = await pageV.evaluate(async ([m, t, i]) => {
      const get = async (p) => {
        const r = await fetch(p, { credentials: 'same-origin' });
        return { status: r.status, text: await r.text() };
      };
      return { meeting: await get(`/api/meetings/${m}`), thread: await get(`/api/threads/${t}`), items: await get('/api/items'), content: await get(`/api/items/${i}/content`) };
    }, [meeting, thread, item]);
    for (const k of ['meeting', 'thread', 'items']) {
      assert.equal(seen[k].status, 200, `${k}: ${seen[k].status}`);
      assert.ok(!seen[k].text.includes('ATT-TITLE'), `the node sent the viewer the title in ${k}: ${seen[k].text}`);
    }
    assert.equal(seen.content.status, 403, 'the item\'s content is refused to a viewer');
    assert.ok(!seen.content.text.includes('ATT-BODY'), 'no byte of the item');
    // The message's attachment reads the same way on the thread's page.
    await h.route(pageV, `#/messages/${thread}`);
    await pageV.locator(`[data-message] [data-attachment="${item}"][data-readable="false"]`).waitFor();
    await h.route(pageR, `#/messages/${thread}`);
    await pageR.locator(`[data-message] [data-attachment="${item}"] a[data-item-link]`).waitFor();
    await h.screenshotSideBySide([pageR, pageV]);
  });
});
