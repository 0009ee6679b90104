// Liaison communications and the officers' registry through the web app, across the two nodes:
// a CICA liaison officer registers an officer and starts a thread; the SCO RATS liaison officer
// sees both arrive and replies; the reply reaches CICA's screen. Text that looks like markup stays
// text. Each Party keeps its own registry: the SCO RATS officer's page offers no way to assign an
// officer for CICA or to end CICA's officer (only their own), and the node's refusal of a
// hand-made attempt is said from its code, in the officer's language.

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
    const cicaRow = pageB.locator('[data-officer]', { hasText: 'A. Karimov' });
    await cicaRow.waitFor();

    // SCO RATS's page: the assignment is SCO RATS's own, said in the form; no Party to choose.
    const form = pageB.locator('form', { has: pageB.locator('#officer-assign') });
    assert.equal(await pageB.locator('#officer-for').getAttribute('data-party'), 'sco-rats');
    assert.match(await pageB.locator('#officer-for').textContent(), /Assigned by SCO RATS Executive Committee/);
    assert.equal(await form.locator('select').count(), 0, 'no Party select in the form');
    assert.equal(await pageB.locator('#officer-party').count(), 0);
    assert.equal(await pageB.locator('#main option[value="cica"]').count(), 0, 'nothing on the page offers CICA as a choice');
    // CICA's officer: no End button at SCO RATS; SCO RATS's own officer gets one.
    assert.equal(await cicaRow.getAttribute('data-party'), 'cica');
    assert.equal(await cicaRow.locator('button').count(), 0, 'no button on CICA’s officer at SCO RATS');
    assert.match(await cicaRow.textContent(), /only CICA Secretariat can end it/);
    await pageB.locator('#officer-name').fill('I. Petrov');
    await pageB.locator('#officer-contact').fill('liaison@ecsco.example');
    await pageB.locator('#officer-assign').click();
    const ratsRow = pageB.locator('[data-officer][data-party="sco-rats"]', { hasText: 'I. Petrov' });
    await ratsRow.locator('button[data-end]').waitFor();
    // At CICA, it is the other way round.
    await pageA.locator('[data-officer][data-party="sco-rats"]', { hasText: 'I. Petrov' }).waitFor();
    assert.equal(await pageA.locator('[data-officer][data-party="sco-rats"] button').count(), 0);
    assert.equal(await pageA.locator('[data-officer][data-party="cica"] button[data-end]').count(), 1);

    // A hand-made end of CICA's officer from SCO RATS's page: 403, said from the refusal's code.
    const cicaId = await cicaRow.getAttribute('data-officer');
    const tryEnd = (lang) => pageB.evaluate(async ([id, l]) => {
      const i18n = await import('/i18n.js');
      const { api } = await import('/api.js');
      const before = i18n.lang();
      i18n.setLang(l);
      try {
        await api('POST', `/api/officers/${encodeURIComponent(id)}/end`);
        return { status: 200 };
      } catch (e) {
        return { status: e.status, message: e.message, code: e.refusal && e.refusal.code, server: e.serverMessage };
      } finally {
        i18n.setLang(before);
      }
    }, [cicaId, lang]);
    const en = await tryEnd('en');
    assert.equal(en.status, 403);
    assert.equal(en.code, 'not-its-party');
    // Parties by name (ui.js partyName): the id where the name is not known to this node.
    const CICA = '(cica|CICA Secretariat)';
    const SCO = '(sco-rats|SCO RATS Executive Committee)';
    assert.match(en.message, new RegExp(`^The liaison officers’ registry of ${CICA} can be written by ${CICA} only; this node acts for ${SCO}\\.$`));
    const ru = await tryEnd('ru');
    assert.equal(ru.status, 403);
    assert.match(ru.message, new RegExp(`^Реестр офицеров связи Стороны ${CICA} вправе изменять только ${CICA}; этот узел действует от имени ${SCO}\\.$`));
    await h.route(pageB, '#/officers');
    await pageB.locator('#officer-for').waitFor();
    await cicaRow.waitFor();
    assert.match(await cicaRow.textContent(), /active/, 'CICA’s officer is still active');

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
