// The README's screenshots of the draft editor, docs/editor.png, and of a provision's history
// with its changes as track changes, docs/history.png.
//
// Two nodes (CICA and SCO RATS, pinned and connected), an officer logged in at each, a joint draft
// with English and Russian texts, one provision whose Russian is stale (its English was edited
// after the Russian was set), one comment (on that article). Both officers work in the same article at the same
// time, so each sees the other there; once both screens agree, CICA's screen is saved.
//
//   cd tests/browser && npm run screenshot        # LIAISON_BIN=... to use another binary

import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withHarness, eventually, createDraft, waitForDraft, showDraft, waitForBoxText, editorBox, lastLine } from './harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = resolve(HERE, '..', '..', 'docs', 'editor.png');
const OUT_HISTORY = resolve(HERE, '..', '..', 'docs', 'history.png');
const VIEWPORT = { width: 1400, height: 900 };

const KARIMOV = 'A. Karimov';
const PETROV = 'I. Petrov';

const GROUP = 'Joint working group on countering the financing of terrorism';
const MANDATE =
  'To prepare joint proposals of the CICA Secretariat and the SCO RATS Executive Committee on countering the financing of terrorism';
const TITLE = 'Joint proposals on the exchange of information';

// The articles, English and Russian. Article 1's English is edited after its Russian was set, so
// its Russian is stale; both officers then type into Article 1's English.
const ARTICLES = [
  {
    en:
      'Article 1. Exchange of information\n' +
      'The Parties shall exchange information on persons, groups and organisations involved in the ' +
      'financing of terrorism, within their respective mandates.',
    ru:
      'Статья 1. Обмен информацией\n' +
      'Стороны обмениваются информацией о лицах, группах и организациях, причастных к финансированию ' +
      'терроризма, в пределах своих мандатов.',
  },
  {
    en:
      'Article 2. Channels of communication\n' +
      'Each Party shall designate a contact point for the purposes of these proposals and shall ' +
      'notify the other Party of it in writing.',
    ru:
      'Статья 2. Каналы связи\n' +
      'Каждая Сторона назначает контактное лицо для целей настоящих предложений и письменно ' +
      'уведомляет об этом другую Сторону.',
  },
  {
    en:
      'Article 3. Confidentiality\n' +
      'Information received under these proposals shall not be disclosed to a third party without ' +
      'the prior written consent of the Party that provided it.',
    ru:
      'Статья 3. Конфиденциальность\n' +
      'Информация, полученная в рамках настоящих предложений, не передаётся третьей стороне без ' +
      'предварительного письменного согласия предоставившей её Стороны.',
  },
  {
    en:
      'Article 4. Expenses\n' +
      'Each Party shall bear its own expenses arising from the implementation of these proposals, ' +
      'unless the Parties agree otherwise in each particular case.',
    ru:
      'Статья 4. Расходы\n' +
      'Каждая Сторона самостоятельно несёт расходы, связанные с реализацией настоящих предложений, ' +
      'если Стороны в каждом конкретном случае не договорятся об ином.',
  },
];

// Article 1's English, edited at CICA after SCO RATS set the Russian: the Russian is then stale.
const ARTICLE_1_EDITED =
  'Article 1. Exchange of information\n' +
  'The Parties shall exchange information on persons, groups and organisations involved in the ' +
  'financing of terrorism and on the sources and channels of such financing, within their respective mandates.';

// What each officer types into Article 1's English, and after which words.
const KARIMOV_AFTER = 'exchange information';
const KARIMOV_TYPES = ', on a regular basis,';
const PETROV_AFTER = 'respective mandates';
const PETROV_TYPES = ' and national legislation';

const COMMENT =
  'The SCO RATS Executive Committee proposes to specify the time limits for a reply to a request for information.';

/** Puts the caret of `page`'s Article textarea right after `after`, focusing it. */
async function caretAfter(page, provision, after) {
  const box = editorBox(page, provision);
  await box.focus();
  await box.evaluate((el, after) => {
    const i = el.value.indexOf(after);
    if (i < 0) throw new Error(`${JSON.stringify(after)} not in ${JSON.stringify(el.value)}`);
    el.setSelectionRange(i + after.length, i + after.length);
  }, after);
}

async function screenState(page, provision) {
  return page.evaluate((prov) => {
    const box = document.querySelector(`[data-provision="${prov}"] textarea[data-lang="en"]`);
    const sync = document.querySelector('#sync-state');
    return { text: box ? box.value : null, sync: sync ? sync.getAttribute('data-state') : null };
  }, provision);
}

await withHarness(
  'readme-editor',
  async (h) => {
    const [cica, rats] = await h.parties();
    const [accA, accB] = await Promise.all([h.account(cica, KARIMOV, 'member'), h.account(rats, PETROV, 'member')]);

    // The group and the draft, made at CICA by A. Karimov.
    const group = lastLine(
      await cica.run(['group', 'create', '--name', GROUP, '--mandate', MANDATE, '--officer', KARIMOV]),
    );
    const f = cica.file('draft-en.txt', ARTICLES.map((a) => a.en).join('\n\n'));
    const draft = lastLine(
      await cica.run(['draft', 'create', '--group', group, '--title', TITLE, '--text-file', f, '--officer', KARIMOV]),
    );
    await waitForDraft(rats, draft);
    const provisions = (await showDraft(rats, draft)).provisions.map((p) => p.id);
    if (provisions.length !== ARTICLES.length) throw new Error(`draft has ${provisions.length} provisions, not ${ARTICLES.length}`);

    // The Russian text of every article, set at SCO RATS by I. Petrov.
    for (const [i, a] of ARTICLES.entries()) {
      const tf = rats.file(`ru-${i}.txt`, a.ru);
      await rats.run(['draft', 'text', draft, '--provision', provisions[i], '--lang', 'ru', '--text-file', tf, '--officer', PETROV]);
      // The English text made the Russian stale when the draft was created; now the languages say
      // the same again.
      await rats.run(['draft', 'align', draft, '--provision', provisions[i], '--officer', PETROV]);
    }
    // CICA has the Russian, aligned, before it edits the English (so only Article 1 goes stale).
    await eventually('CICA to hold every Russian text, with no stale mark', async () => {
      const d = await showDraft(cica, draft);
      return d.provisions.every((p, i) => p.texts.ru === ARTICLES[i].ru && Object.keys(p.stale || {}).length === 0);
    });

    // Article 1's English, edited at CICA: its Russian is stale.
    const ef = cica.file('en-0-edited.txt', ARTICLE_1_EDITED);
    await cica.run(['draft', 'text', draft, '--provision', provisions[0], '--lang', 'en', '--text-file', ef, '--officer', KARIMOV]);

    // One comment, from SCO RATS, on Article 1.
    await rats.run(['draft', 'comment', draft, '--provision', provisions[0], '--text', COMMENT, '--officer', PETROV]);

    // Both nodes agree on the stale mark and the comment before anyone opens the editor.
    for (const n of [cica, rats]) {
      await eventually(`${n.name}: Article 1's Russian stale (and no other), the comment on Article 1`, async () => {
        const d = await showDraft(n, draft);
        const [p1, ...rest] = d.provisions;
        return (
          p1.texts.en === ARTICLE_1_EDITED &&
          p1.stale &&
          p1.stale.ru &&
          (p1.comments || []).length === 1 &&
          rest.every((p) => Object.keys(p.stale || {}).length === 0)
        );
      });
    }

    // The officers, one browser page each.
    const [pageA, pageB] = await Promise.all([h.login(cica, accA), h.login(rats, accB)]);
    for (const p of [pageA, pageB]) {
      await p.setViewportSize(VIEWPORT);
      await h.route(p, `#/drafts/${draft}`);
      await waitForBoxText(p, provisions[0], ARTICLE_1_EDITED);
    }

    // Both in Article 1's English: each sees the other there.
    await caretAfter(pageA, provisions[0], KARIMOV_AFTER);
    await caretAfter(pageB, provisions[0], PETROV_AFTER);
    const othersHere = (page) =>
      page.waitForFunction(
        (prov) => {
          const el = document.querySelector(`[data-provision="${prov}"] textarea[data-lang="en"]`);
          const cell = el && el.closest('.ed-others');
          return cell && cell.querySelector('.ed-who');
        },
        provisions[0],
        { timeout: 30_000 },
      );
    await Promise.all([othersHere(pageA), othersHere(pageB)]);

    // A few words each, at the same time.
    await Promise.all([
      pageA.keyboard.type(KARIMOV_TYPES, { delay: 40 }),
      pageB.keyboard.type(PETROV_TYPES, { delay: 40 }),
    ]);
    const want = ARTICLE_1_EDITED.replace(KARIMOV_AFTER, KARIMOV_AFTER + KARIMOV_TYPES).replace(
      PETROV_AFTER,
      PETROV_AFTER + PETROV_TYPES,
    );
    await eventually(
      'both screens to show the same text, saved',
      async () => {
        const [a, b] = await Promise.all([screenState(pageA, provisions[0]), screenState(pageB, provisions[0])]);
        if (a.text !== want || b.text !== want) {
          throw new Error(`CICA shows ${JSON.stringify(a.text)}, SCO RATS ${JSON.stringify(b.text)}`);
        }
        if (a.sync !== 'saved' || b.sync !== 'saved') throw new Error(`#sync-state: CICA ${a.sync}, SCO RATS ${b.sync}`);
        return true;
      },
      { timeout: 30_000 },
    );
    // Still each in the other's view (presence is refreshed every few seconds while focused).
    await Promise.all([othersHere(pageA), othersHere(pageB)]);
    await pageA.evaluate(() => window.scrollTo(0, 0));

    mkdirSync(dirname(OUT), { recursive: true });
    await pageA.screenshot({ path: OUT, fullPage: false });
    await h.screenshot(pageB, '-sco-rats');
    console.log(`saved ${OUT} (${statSync(OUT).size} bytes)`);

    // Article 1's history at CICA, opened from its History button: SCO RATS's Russian, CICA's
    // English edit and both officers' typing, each as track changes.
    await pageA.locator(`button[data-provision-history="${provisions[0]}"]`).click();
    const panel = pageA.locator('#draft-history');
    await eventually('Article 1’s history with both Parties’ typing', async () => {
      const parties = await panel.locator('tbody tr[data-party]').evaluateAll((rows) => rows.map((r) => r.dataset.party));
      return parties.includes('sco-rats') && parties.includes('cica') && (await panel.locator('ins').count()) > 2;
    });
    await panel.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await pageA.screenshot({ path: OUT_HISTORY, fullPage: false });
    console.log(`saved ${OUT_HISTORY} (${statSync(OUT_HISTORY).size} bytes)`);
  },
  { deadline: 180_000 },
);
