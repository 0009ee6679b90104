// A viewer logs in and reads a draft but cannot change it: the editor is read-only, and the
// node refuses a hand-made splice request from the viewer's own page (403), one without the
// CSRF token (403) and one without a session (401). A member's identical request is accepted,
// which shows the refusals are about who asks, not about the request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHarness, eventually, createGroup, createDraft, showDraft, storedText, waitForBoxText } from './harness.mjs';

const DRAFT = [
  'Article 1. The Parties shall exchange information on issues of mutual interest.',
  'Article 2. The Parties may hold joint working meetings and consultations.',
].join('\n\n');

/** Sends POST /api/drafts/{id}/splice from `page`: `csrf` (or none), `credentials`. */
function postSplice(page, draft, body, { csrf, credentials = 'same-origin' }) {
  return page.evaluate(
    async ([draftId, b, token, cred]) => {
      const headers = { 'Content-Type': 'application/json' };
      if (token !== null) headers['X-CSRF-Token'] = token;
      const res = await fetch(`/api/drafts/${draftId}/splice`, {
        method: 'POST',
        headers,
        credentials: cred,
        body: JSON.stringify(b),
      });
      return { status: res.status, body: await res.text() };
    },
    [draft, body, csrf ?? null, credentials],
  );
}

/** GET /api/session from `page`: the session (with its CSRF token). */
async function session(page) {
  const s = await page.evaluate(async () => {
    const res = await fetch('/api/session', { credentials: 'same-origin' });
    return { status: res.status, body: await res.json().catch(() => null) };
  });
  assert.equal(s.status, 200, `GET /api/session: ${JSON.stringify(s)}`);
  assert.ok(s.body && s.body.csrf, `GET /api/session gives a CSRF token: ${JSON.stringify(s.body)}`);
  return s.body;
}

test('a viewer reads a draft but cannot edit it', { timeout: 170_000 }, async () => {
  await withHarness('viewer-cannot-edit', async (h) => {
    const node = await h.node('cica', 'cica', 'CICA Secretariat');
    const [viewerAcc, memberAcc] = await Promise.all([
      h.account(node, 'v.observer', 'viewer'),
      h.account(node, 'm.drafter', 'member'),
    ]);
    const group = await createGroup(node, 'Joint working group on CFT');
    const draft = await createDraft(node, group, 'Joint proposals', DRAFT);
    const d = await showDraft(node, draft);
    const prov = d.provisions[0].id;
    const original = d.provisions[0].texts.en;

    const viewer = await h.login(node, viewerAcc);
    const s = await session(viewer);
    assert.equal(s.role, 'viewer', `the session's role: ${JSON.stringify(s)}`);

    // The viewer reads the draft: every provision's text, in a read-only editor.
    await h.route(viewer, `#/drafts/${draft}`);
    for (const p of d.provisions) await waitForBoxText(viewer, p.id, p.texts.en);
    const boxes = viewer.locator('[data-provision] textarea[data-lang]');
    const n = await boxes.count();
    assert.ok(n >= d.provisions.length * d.languages.length, `the editor shows a textarea per provision and language (${n})`);
    for (let i = 0; i < n; i++) {
      const box = boxes.nth(i);
      const ro = await box.evaluate((el) => el.readOnly || el.disabled);
      assert.ok(ro, `textarea[data-lang="${await box.getAttribute('data-lang')}"] ${i} is readonly for a viewer`);
    }
    // No control that changes the draft: every button in the provisions is disabled or hidden
    // (but a provision's History, which only reads).
    const buttons = viewer.locator('[data-provision] button:not([data-provision-history])');
    const usable = [];
    for (let i = 0; i < (await buttons.count()); i++) {
      const b = buttons.nth(i);
      if ((await b.isVisible()) && (await b.isEnabled())) usable.push((await b.textContent()).trim());
    }
    assert.deepEqual(usable, [], 'no usable edit button in the editor for a viewer');
    // Nor a workflow action (review, approve, sign, withdraw) on screen.
    const actions = viewer.locator('main#main button[data-action]');
    const shown = [];
    for (let i = 0; i < (await actions.count()); i++) {
      const b = actions.nth(i);
      if ((await b.isVisible()) && (await b.isEnabled())) shown.push(await b.getAttribute('data-action'));
    }
    assert.deepEqual(shown, [], 'no workflow action button (button[data-action]) shown to a viewer');
    // Typing into it changes nothing.
    await viewer.locator(`[data-provision="${prov}"] textarea[data-lang="en"]`).click();
    await viewer.keyboard.type('XYZ');
    assert.equal(await viewer.locator(`[data-provision="${prov}"] textarea[data-lang="en"]`).inputValue(), original);
    // The groups page offers no "new draft" to a viewer.
    await h.route(viewer, `#/groups/${group}`);
    await viewer.locator(`a[data-draft="${draft}"]`).waitFor();
    assert.equal(await viewer.locator('button#draft-create').count(), 0, 'no button#draft-create for a viewer');

    // Hand-made requests from the viewer's page.
    const body = { provision: prov, lang: 'en', pos: 0, delete: 0, insert: 'Amended: ', base: d.version };
    const withCsrf = await postSplice(viewer, draft, body, { csrf: s.csrf });
    assert.equal(withCsrf.status, 403, `a viewer's splice with the CSRF token is refused with 403: ${JSON.stringify(withCsrf)}`);
    const noCsrf = await postSplice(viewer, draft, body, { csrf: null });
    assert.equal(noCsrf.status, 403, `a splice without the CSRF token is refused with 403: ${JSON.stringify(noCsrf)}`);
    const noSession = await postSplice(viewer, draft, body, { csrf: s.csrf, credentials: 'omit' });
    assert.equal(noSession.status, 401, `a splice without a session is refused with 401: ${JSON.stringify(noSession)}`);
    assert.equal(await storedText(node, draft, prov), original, 'the stored text is unchanged after the refused requests');

    // The same request from a member (CSRF token included) goes through: the refusals were
    // about who asked. The viewer's screen follows.
    const member = await h.login(node, memberAcc);
    const ms = await session(member);
    const ok = await postSplice(member, draft, body, { csrf: ms.csrf });
    assert.equal(ok.status, 200, `a member's identical splice is accepted: ${JSON.stringify(ok)}`);
    await eventually('the member\'s splice to be stored', async () => (await storedText(node, draft, prov)) === `Amended: ${original}`);
    await h.route(viewer, `#/drafts/${draft}`);
    await waitForBoxText(viewer, prov, `Amended: ${original}`);
    await member.close();

    await h.screenshot(viewer);
  });
});
