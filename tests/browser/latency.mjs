// Keystroke latency between two nodes, through the web app: a measurement, not a test.
//
//   npm run latency                      text
//   npm run latency -- --json            JSON
//   npm run latency -- --keys 300 --warmup 10
//   npm run latency -- --same-node       the baseline: both pages on node A (no libp2p hop, no
//                                        second node), to quote the cross-node figure against
//
// Two nodes (CICA, SCO RATS), one member logged in at each, both in the editor of the same draft,
// on the same provision. Page A types single characters at the end of the provision's English
// text, one at a time. For each keystroke:
//
//   start: the keydown in page A, taken by a capturing listener injected into page A
//          (performance.timeOrigin + performance.now());
//   end:   the first moment page B's textarea holds that character, taken in page B by hooks on
//          the textarea's value setter and setRangeText (the exact moment the editor puts the
//          text in), backed by a requestAnimationFrame poll and a 4 ms interval poll (in case the
//          editor changes the text some other way), each stamping timeOrigin + now.
//
// Both pages run on this machine, so the two clocks are the same clock. The next key is pressed
// only once page B shows the previous one (no pacing, no matching by position): each figure is
// one keystroke's own trip (page A → node A → libp2p → node B → page B), without queueing
// behind earlier keystrokes. The first --warmup keystrokes (default 5) are not counted.

import { Harness, createGroup, createDraft, waitForDraft, showDraft, waitForBoxText, editorBox } from './harness.mjs';

function parseArgs(argv) {
  const o = { json: false, keys: 200, warmup: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') o.json = true;
    else if (a === '--keys') o.keys = Number(argv[++i]);
    else if (a === '--warmup') o.warmup = Number(argv[++i]);
    else if (a === '--same-node') o.sameNode = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node latency.mjs [--json] [--keys N (200)] [--warmup N (5)] [--same-node]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!(o.keys >= 1) || !(o.warmup >= 0)) {
    console.error('--keys must be >= 1 and --warmup >= 0');
    process.exit(2);
  }
  return o;
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted, p) {
  const i = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.min(i, sorted.length - 1)];
}

const round = (x) => Math.round(x * 10) / 10;

// Injected into page A: the time of every keydown.
function recordKeydowns() {
  window.__keydowns = [];
  window.addEventListener(
    'keydown',
    (e) => {
      window.__keydowns.push({ t: performance.timeOrigin + performance.now(), key: e.key });
    },
    true,
  );
}

// Injected into page B: the first moment each new text of the watched textarea is in it.
function recordArrivals(selector) {
  const seen = []; // {t, value, how}
  const waiters = [];
  let last = null;
  const note = (how) => {
    const el = document.querySelector(selector);
    if (!el) return;
    const v = el.value;
    if (v === last) return;
    last = v;
    seen.push({ t: performance.timeOrigin + performance.now(), value: v, how });
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].want === v) {
        waiters[i].resolve(seen.length - 1);
        waiters.splice(i, 1);
      }
    }
  };
  // The editor putting text in: exact.
  const proto = HTMLTextAreaElement.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, 'value');
  Object.defineProperty(proto, 'value', {
    configurable: true,
    enumerable: desc.enumerable,
    get() {
      return desc.get.call(this);
    },
    set(v) {
      desc.set.call(this, v);
      if (this.matches(selector)) note('setter');
    },
  });
  const srt = proto.setRangeText;
  proto.setRangeText = function (...args) {
    const r = srt.apply(this, args);
    if (this.matches(selector)) note('setRangeText');
    return r;
  };
  // Anything else: polls.
  const frame = () => {
    note('raf');
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  setInterval(() => note('interval'), 4);
  note('initial');
  window.__arrivals = seen;
  /** Resolves to the index in __arrivals of the first record holding `want`. */
  window.__waitFor = (want, ms) =>
    new Promise((resolve, reject) => {
      const i = seen.findIndex((s) => s.value === want);
      if (i >= 0) return resolve(i);
      const w = { want, resolve };
      waiters.push(w);
      setTimeout(() => {
        const k = waiters.indexOf(w);
        if (k >= 0) {
          waiters.splice(k, 1);
          reject(new Error(`page B never showed ${JSON.stringify(want)}; it shows ${JSON.stringify(last)}`));
        }
      }, ms);
    });
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const h = new Harness('latency');
  const log = (s) => {
    if (!opt.json) console.error(s);
  };
  try {
    log('starting two nodes (CICA, SCO RATS)...');
    const [cica, rats] = await h.parties();
    // The baseline puts page B on node A too, with a second officer there.
    const nodeB = opt.sameNode ? cica : rats;
    const [accA, accB] = await Promise.all([h.account(cica, 'a.karimov', 'member'), h.account(nodeB, 'i.petrov', 'member')]);
    const group = await createGroup(cica, 'Joint working group on CFT');
    const draft = await createDraft(cica, group, 'Joint proposals', 'Article 1. The Parties shall exchange information.');
    await waitForDraft(rats, draft);
    const d = await showDraft(cica, draft);
    const prov = d.provisions[0].id;
    const original = d.provisions[0].texts.en;

    const [pageA, pageB] = await Promise.all([h.login(cica, accA), h.login(nodeB, accB)]);
    for (const p of [pageA, pageB]) {
      await h.route(p, `#/drafts/${draft}`);
      await waitForBoxText(p, prov, original);
    }
    const selector = `[data-provision="${prov}"] textarea[data-lang="en"]`;
    await pageA.evaluate(recordKeydowns);
    await pageB.evaluate(recordArrivals, selector);
    const box = editorBox(pageA, prov);
    await box.focus();
    await pageA.keyboard.press('Control+End');
    await pageA.evaluate(() => {
      window.__keydowns.length = 0;
    });

    const total = opt.warmup + opt.keys;
    log(`typing ${total} keys (${opt.warmup} warm-up) on CICA, waiting for each on SCO RATS...`);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz';
    let text = original;
    const samples = [];
    const how = {};
    for (let i = 0; i < total; i++) {
      const ch = alphabet[i % alphabet.length];
      text += ch;
      await pageA.keyboard.press(ch);
      const idx = await pageB.evaluate(([want, ms]) => window.__waitFor(want, ms), [text, 15_000]);
      const [down] = await pageA.evaluate((k) => [window.__keydowns[k]], i);
      if (!down || down.key !== ch) throw new Error(`keydown ${i} in page A is ${JSON.stringify(down)}, not ${ch}`);
      const arrival = await pageB.evaluate((k) => {
        const a = window.__arrivals[k];
        return { t: a.t, how: a.how };
      }, idx);
      if (i >= opt.warmup) {
        samples.push(arrival.t - down.t);
        how[arrival.how] = (how[arrival.how] || 0) + 1;
      }
    }

    const sorted = [...samples].sort((x, y) => x - y);
    const result = {
      what: opt.sameNode
        ? 'baseline: keydown in page A to the character in page B\'s textarea, both on node A, same provision, ms'
        : 'keydown in page A (node A) to the character in page B\'s textarea (node B), same provision, ms',
      count: sorted.length,
      warmup: opt.warmup,
      median: round(pct(sorted, 50)),
      p90: round(pct(sorted, 90)),
      p99: round(pct(sorted, 99)),
      max: round(sorted[sorted.length - 1]),
      min: round(sorted[0]),
      mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
      seen_by: how,
      pacing: 'each key pressed after the previous one showed in page B',
    };
    if (opt.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      console.log(
        opt.sameNode
          ? 'keystroke latency baseline, page A -> page B, both on the CICA node, same provision'
          : 'keystroke latency, page A (CICA node) -> page B (SCO RATS node), same provision',
      );
      console.log(`  count   ${result.count} (after ${result.warmup} warm-up keys)`);
      console.log(`  median  ${result.median} ms`);
      console.log(`  p90     ${result.p90} ms`);
      console.log(`  p99     ${result.p99} ms`);
      console.log(`  max     ${result.max} ms`);
      console.log(`  (min ${result.min} ms, mean ${result.mean} ms; seen by ${JSON.stringify(how)})`);
    }
  } catch (e) {
    await h.report(e);
    process.exitCode = 1;
  } finally {
    await h.cleanup();
  }
}

await main();
