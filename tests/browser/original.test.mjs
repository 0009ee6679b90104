// The signed originals, from the web app: a three-article draft in English and Russian is taken to
// execution at CICA and SCO RATS (through the CLI, as in the other tests' set-up); a liaison
// officer at SCO RATS opens the draft in the web app, where the "Signed originals (PDF)" line now
// offers one link per language, downloads both, and each PDF, read back with pdftotext (Debian's
// poppler-utils), names both Parties in full in its own language (CICA's Russian name as CICA
// publishes it), carries every article, both signature blocks and the content hash. Before
// execution the line is not offered and the route refuses with the code `not-executed`.
// `GET /api/parties` answers the agreed contract.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  withHarness,
  eventually,
  createDraft,
  createGroup,
  waitForDraft,
  showDraft,
  Node,
  SETUP_OFFICER,
} from './harness.mjs';

const CICA = ['CICA Secretariat', 'Секретариат Совещания по взаимодействию и мерам доверия в Азии (СВМДА)'];
const RATS = [
  'SCO RATS Executive Committee',
  'Исполнительный комитет Региональной антитеррористической структуры Шанхайской организации сотрудничества (ИК РАТС ШОС)',
];
const EN = [
  'Article 1. The Parties shall exchange information on issues of mutual interest.',
  'Article 2. The Parties may hold joint working meetings and consultations.',
  'Article 3. Information received shall not be transmitted to third parties without prior consent.',
];
const RU = [
  'Статья 1. Стороны обмениваются информацией по вопросам, представляющим взаимный интерес.',
  'Статья 2. Стороны могут проводить совместные рабочие встречи и консультации.',
  'Статья 3. Полученная информация не передаётся третьим сторонам без предварительного согласия.',
];

/** A node whose config names its Party in Russian too (`[party] name_ru`), started. */
async function namedNode(h, id, [en, ru]) {
  const n = new Node(h, id, id, en);
  h.nodes.push(n);
  await n.init();
  const f = join(n.dir, 'node.toml');
  const line = `name = "${en}"\n`;
  const toml = readFileSync(f, 'utf8');
  assert.ok(toml.includes(line), toml);
  writeFileSync(f, toml.replace(line, `${line}name_ru = "${ru}"\n`));
  await n.start();
  return n;
}

/** The text pdftotext reads from a PDF, white space made single spaces. */
function pdfText(file) {
  return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' }).split(/\s+/).join(' ');
}

test('the signed originals download from the web app in English and Russian, with full names', { timeout: 200_000 }, async () => {
  await withHarness('original', async (h) => {
    const [cica, rats] = await Promise.all([namedNode(h, 'cica', CICA), namedNode(h, 'sco-rats', RATS)]);
    await Promise.all([cica.pin(rats), rats.pin(cica)]);
    await Promise.all([cica.waitConnected(rats), rats.waitConnected(cica)]);
    const acc = await h.account(rats, 'r.saidov', 'liaison');

    const group = await createGroup(cica, 'Joint working group on CFT');
    const draft = await createDraft(cica, group, 'Joint proposals on CFT', EN.join('\n\n'));
    await waitForDraft(rats, draft);
    const ids = (await showDraft(cica, draft)).provisions.map((p) => p.id);
    for (const [i, p] of ids.entries()) {
      await rats.run(['draft', 'text', draft, '--provision', p, '--lang', 'ru', '--text-file', rats.file(`ru-${i}.txt`, RU[i]), '--officer', SETUP_OFFICER]);
      await rats.run(['draft', 'align', draft, '--provision', p, '--officer', SETUP_OFFICER]);
    }
    await eventually('CICA holds the Russian text, aligned', async () => {
      const d = await showDraft(cica, draft);
      return d.provisions.every((p, i) => p.texts.ru === RU[i] && Object.keys(p.stale).length === 0);
    });
    await cica.run(['draft', 'review', draft, '--officer', SETUP_OFFICER]);
    await eventually('review at SCO RATS', async () => (await showDraft(rats, draft)).state === 'under-review');

    const page = await h.login(rats, acc);
    // The Parties by their full names in both languages, this node's own first.
    const parties = await page.evaluate(async () => (await fetch('/api/parties')).json());
    assert.deepEqual(parties.parties, [
      { id: 'sco-rats', name_en: RATS[0], name_ru: RATS[1], own: true },
      { id: 'cica', name_en: CICA[0], name_ru: CICA[1], own: false },
    ]);

    await h.route(page, `#/drafts/${draft}`);
    const line = page.locator('.ed-originals');
    await page.locator('.ed-export').first().waitFor();
    assert.equal(await page.locator('a.ed-original').count(), 0, 'no original offered before execution');
    const refused = await page.evaluate(async (id) => {
      const r = await fetch(`/api/drafts/${id}/original?lang=en&format=pdf`);
      return { status: r.status, body: await r.json() };
    }, draft);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'not-executed');

    await Promise.all([cica.run(['draft', 'approve', draft, '--officer', SETUP_OFFICER]), rats.run(['draft', 'approve', draft, '--officer', SETUP_OFFICER])]);
    await eventually('agreed on both', async () => (await showDraft(cica, draft)).state === 'agreed' && (await showDraft(rats, draft)).state === 'agreed');
    await cica.run(['draft', 'sign', draft, '--officer', 'A. Karimov']);
    await rats.run(['draft', 'sign', draft, '--officer', 'R. Saidov']);
    await eventually('executed at SCO RATS', async () => (await showDraft(rats, draft)).state === 'executed');
    const d = await showDraft(rats, draft);

    // The page follows by itself: the originals line appears with a link per language.
    for (const [lang, [cicaName, ratsName], texts, article, forWord] of [
      ['en', [CICA[0], RATS[0]], EN, 'Article', 'For'],
      ['ru', [CICA[1], RATS[1]], RU, 'Статья', 'За'],
    ]) {
      const link = line.locator(`a.ed-original[data-lang="${lang}"]`);
      await link.waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      assert.equal(download.suggestedFilename(), `${draft.slice(0, 8)}-original-${lang}.pdf`);
      const file = join(rats.scratch, `web-original-${lang}.pdf`);
      await download.saveAs(file);
      assert.equal(readFileSync(file).subarray(0, 5).toString(), '%PDF-');
      const text = pdfText(file);
      assert.ok(text.includes('Joint proposals on CFT'), `${lang}: the title in ${text}`);
      for (const name of [cicaName, ratsName]) {
        assert.ok(text.includes(`${forWord} ${name}`), `${lang}: the signature block of ${name} in ${text}`);
      }
      assert.ok(!/For cica|For sco-rats|За cica/.test(text), `${lang}: a Party by its id in ${text}`);
      texts.forEach((typed, i) => {
        const body = typed.replace(/^\S+ \d+\. /, '');
        assert.ok(text.includes(`${article} ${i + 1} ${body}`), `${lang}: article ${i + 1} in ${text}`);
      });
      assert.ok(text.includes('A. Karimov') && text.includes('R. Saidov'), `${lang}: who signed, in ${text}`);
      for (const s of d.signatures) assert.ok(text.includes(s.fingerprint), `${lang}: fingerprint ${s.fingerprint} in ${text}`);
      assert.ok(text.includes(d.content_hash), `${lang}: the content hash in ${text}`);
      assert.ok(text.includes(`liaison draft verify ${draft}`), `${lang}: how to verify, in ${text}`);
    }
    // In Russian the line's words are Russian.
    await page.locator('select#lang-select').selectOption('ru');
    await page.waitForFunction(() => document.documentElement.lang === 'ru');
    await eventually('the originals line in Russian', async () => (await line.locator('a[data-lang="ru"]').textContent()).trim() === 'на русском');
    await h.screenshot(page);
  });
});
