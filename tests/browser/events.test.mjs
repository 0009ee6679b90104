// Change events name what changed, and the pages fetch only that. An officer at CICA types into
// a provision; the editor open at SCO RATS shows it, having fetched that provision alone
// (GET /api/drafts/{id}/provisions/{pid}) and never the whole draft. A meeting changed at CICA
// updates SCO RATS's dashboard by fetching that meeting's entry (`?ids=`), not every list.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness, eventually, createGroup, createDraft, waitForDraft, showDraft, editorBox, waitForBoxText, lastLine, SETUP_OFFICER } from './harness.mjs';

const DRAFT = [
  'Article 1. The Parties shall exchange information on issues of mutual interest.',
  'Article 2. The Parties may hold joint working meetings and consultations.',
].join('\n\n');

/** The API requests `page` makes from now on, as `GET /api/...?query` strings. */
function recordRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) seen.push(`${r.method()} ${u.pathname}${u.search}`);
  });
  return {
    since(mark) {
      return seen.slice(mark);
    },
    get mark() {
      return seen.length;
    },
  };
}

test('the other page fetches only the provision typed in, and the dashboard only the meeting changed', { timeout: 170_000 }, async () => {
  await withHarness('events-fetch-what-changed', async (h) => {
    const [cica, rats] = await h.parties();
    const [typist, watcher] = await Promise.all([h.account(cica, 'a.karimov', 'member'), h.account(rats, 'i.petrov', 'member')]);
    const group = await createGroup(cica, 'Joint working group on CFT');
    const draft = await createDraft(cica, group, 'Joint proposals', DRAFT);
    await waitForDraft(rats, draft);
    const d = await showDraft(cica, draft);
    const [p1, p2] = d.provisions;

    const [pageA, pageB] = await Promise.all([h.login(cica, typist), h.login(rats, watcher)]);
    const reqB = recordRequests(pageB);
    for (const p of [pageA, pageB]) {
      await h.route(p, `#/drafts/${draft}`);
      await waitForBoxText(p, p1.id, p1.texts.en);
    }

    // 1. CICA's officer types at the end of Article 1; SCO RATS's page shows it.
    const mark = reqB.mark;
    const box = editorBox(pageA, p1.id);
    await box.focus();
    await pageA.keyboard.press('Control+End');
    await pageA.keyboard.type(' Promptly.', { delay: 30 });
    await waitForBoxText(pageB, p1.id, `${p1.texts.en} Promptly.`);
    await eventually('CICA page saved', async () => {
      const n = await pageA.evaluate(() => window.__liaisonEditor.pending());
      if (n !== 0) throw new Error(`${n} field(s) unsaved`);
      return true;
    });
    await waitForBoxText(pageB, p1.id, `${p1.texts.en} Promptly.`);
    const asked = reqB.since(mark);
    const provisionFetches = asked.filter((r) => r.startsWith(`GET /api/drafts/${draft}/provisions/${p1.id}`));
    const wholeDraft = asked.filter((r) => r === `GET /api/drafts/${draft}` || r.startsWith(`GET /api/drafts/${draft}?`));
    assert.ok(provisionFetches.length > 0, `SCO RATS's page fetched the provision: ${JSON.stringify(asked)}`);
    assert.deepEqual(wholeDraft, [], `SCO RATS's page did not fetch the whole draft: ${JSON.stringify(asked)}`);
    assert.ok(
      !asked.some((r) => r.includes(`/provisions/${p2.id}`)),
      `the provision not typed in was not fetched: ${JSON.stringify(asked)}`,
    );
    assert.equal(await editorBox(pageB, p2.id).inputValue(), p2.texts.en, 'the other provision is as it was');

    // 2. A meeting changed at CICA: SCO RATS's dashboard fetches that entry alone.
    const meeting = lastLine(
      await cica.run(['meeting', 'create', '--title', 'Consultation in Astana', '--starts', '2099-02-10T10:00:00Z', '--officer', SETUP_OFFICER]),
    );
    await h.route(pageB, '#/dashboard');
    const entry = pageB.locator(`li[data-meeting="${meeting}"]`);
    await entry.waitFor({ timeout: 30_000 });
    // The dashboard's first load is done once the meeting shows; what follows is the event's.
    const mark2 = reqB.mark;
    await cica.run(['meeting', 'update', meeting, '--title', 'Consultation in Almaty', '--officer', SETUP_OFFICER]);
    await eventually('the dashboard to show the new title', async () => {
      const text = await entry.textContent();
      if (!text.includes('Consultation in Almaty')) throw new Error(`the entry shows ${JSON.stringify(text)}`);
      return true;
    });
    const asked2 = reqB.since(mark2);
    const lists = asked2.filter((r) => /^GET \/api\/(meetings|drafts|groups|threads)(\?|$)/.test(r));
    assert.ok(lists.length > 0, `the dashboard fetched the entry: ${JSON.stringify(asked2)}`);
    for (const r of lists) {
      assert.equal(r, `GET /api/meetings?ids=${meeting}`, `only the changed meeting's entry was fetched: ${JSON.stringify(asked2)}`);
    }
  });
});
