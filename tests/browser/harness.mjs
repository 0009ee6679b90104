// The browser tests' harness: real `liaison` nodes (the binary, as separate processes on
// loopback, each with its own temporary data dir) and a headless Chromium driven by
// playwright-core. Builds nothing: it uses LIAISON_BIN, or target/debug/liaison of this repo.
//
//   await withHarness('test-name', async (h) => {
//     const [a, b] = await h.parties();                  // cica + sco-rats, pinned and connected
//     const acc = await h.account(a, 'a.karimov', 'member');
//     const page = await h.login(a, acc);
//     ...
//     await h.screenshot(page);                          // screenshots/test-name.png
//   });
//
// Every node is killed and every dir removed at the end, pass or fail (KEEP=1 keeps the dirs).
// On a failure the serve processes' logs are printed and every open page is screenshotted.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');

/** The liaison binary: LIAISON_BIN, or this repo's debug build. */
export const BIN = process.env.LIAISON_BIN || join(REPO, 'target', 'debug', 'liaison');
/** The browser: CHROMIUM (an override), or Debian's chromium package. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** Where tests save their final screens. */
export const SCREENSHOTS = join(HERE, 'screenshots');

/** How long one wait for a condition may take by default. */
export const WAIT_MS = Number(process.env.LIAISON_WAIT_MS || 30_000);
const POLL_MS = 100;

// Every serve process and temporary dir of this module, so that even a crash of the test process,
// an interrupt, or a test that times out and is abandoned leaves no node and no dir behind.
const live = new Set();
const roots = new Set();
function reap() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (process.env.KEEP !== '1') for (const r of roots) rmSync(r, { recursive: true, force: true });
}
process.on('exit', reap);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    reap();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[sig]);
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers.
// ---------------------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns a value other than undefined/false/null without throwing; returns
 * that value. On timeout throws an Error naming `what` and the last failure.
 */
export async function eventually(what, fn, { timeout = WAIT_MS, interval = POLL_MS } = {}) {
  const start = Date.now();
  let last = 'never returned a value';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false && v !== null) return v;
      last = `returned ${JSON.stringify(v)}`;
    } catch (e) {
      last = e && e.message ? e.message : String(e);
    }
    if (Date.now() - start > timeout) {
      throw new Error(`timed out after ${timeout} ms waiting for: ${what}\n  last: ${last}`);
    }
    await sleep(interval);
  }
}

/** The environment for the binary: ours, less what would point it elsewhere, plus `extra`. */
function cleanEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const k of ['LIAISON_DATA_DIR', 'LIAISON_LOG_FORMAT', 'LIAISON_OFFICER']) delete env[k];
  return env;
}

/** Runs the binary; resolves to stdout, rejects with an Error carrying the command and stderr. */
export function liaison(args, { env = {}, timeout = 30_000 } = {}) {
  return new Promise((resolveRun, reject) => {
    execFile(
      BIN,
      args,
      {
        timeout,
        maxBuffer: 64 << 20,
        env: cleanEnv(env),
      },
      (err, stdout, stderr) => {
        if (err) {
          const e = new Error(
            `\`liaison ${args.join(' ')}\` failed (${err.code ?? err.signal ?? err.message})\n` +
              `  stdout: ${String(stdout).trim()}\n  stderr: ${String(stderr).trim()}`,
          );
          e.stdout = stdout;
          e.stderr = stderr;
          reject(e);
        } else {
          resolveRun(String(stdout));
        }
      },
    );
  });
}

/** Runs the binary with `--json` output and parses it. */
export async function liaisonJson(args, opts) {
  const out = await liaison(args, opts);
  try {
    return JSON.parse(out);
  } catch {
    throw new Error(`\`liaison ${args.join(' ')}\` printed no JSON:\n${out}`);
  }
}

/** The last non-empty line of a command's output (the id the `create` commands print). */
export function lastLine(out) {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] || '';
}

// ---------------------------------------------------------------------------------------------
// A node.
// ---------------------------------------------------------------------------------------------

export class Node {
  constructor(h, name, partyId, partyName) {
    this.h = h;
    this.name = name;
    this.partyId = partyId;
    this.partyName = partyName;
    this.dir = join(h.root, name, 'data');
    this.scratch = join(h.root, name);
    this.log = join(h.root, name, 'serve.log');
    this.proc = null;
    this.exit = null;
    this.url = null;
    this.peerId = null;
    this.card = null;
    this.configLock = Promise.resolve();
  }

  /** `liaison ARGS --data-dir DIR`. */
  run(args, opts) {
    return liaison([...args, '--data-dir', this.dir], opts);
  }

  /** `liaison ARGS --data-dir DIR`, parsed as JSON (pass `--json` in ARGS). */
  json(args, opts) {
    return liaisonJson([...args, '--data-dir', this.dir], opts);
  }

  /** `liaison init` with loopback addresses and port 0 for both. */
  async init() {
    mkdirSync(this.scratch, { recursive: true });
    await liaison([
      'init',
      '--data-dir',
      this.dir,
      '--party-id',
      this.partyId,
      '--party-name',
      this.partyName,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--api',
      '127.0.0.1:0',
    ]);
  }

  /** Starts `liaison serve`, waits for run.json (written by this process), notes the API URL. */
  async start() {
    const out = openSync(this.log, 'a');
    const p = spawn(BIN, ['serve', '--data-dir', this.dir], {
      stdio: ['ignore', out, out],
      env: cleanEnv({ LIAISON_LOG: process.env.LIAISON_LOG || 'info' }),
    });
    closeSync(out);
    this.proc = p;
    live.add(p);
    p.on('exit', (code, signal) => {
      this.exit = { code, signal };
      live.delete(p);
    });
    const info = await eventually(`${this.name}: run.json of \`liaison serve\``, () => {
      if (this.exit) {
        throw new Error(`\`liaison serve\` exited (${JSON.stringify(this.exit)}) before it was up\n${this.logs()}`);
      }
      const f = join(this.dir, 'run.json');
      if (!existsSync(f) || statSync(f).size === 0) return false;
      const v = JSON.parse(readFileSync(f, 'utf8'));
      return v.pid === p.pid ? v : false;
    });
    this.url = `https://${info.api_addr}`;
    this.peerId = info.peer_id;
    // The id card other nodes pin.
    this.card = join(this.scratch, 'id.json');
    writeFileSync(this.card, await this.run(['id', '--json']));
    return this;
  }

  /**
   * Pins `other` here (`peer add --from-id`), with a role when given. Pins of one node run one
   * after the other: `peer add` rewrites node.toml through a fixed node.toml.tmp, so two at once
   * on the same data dir can fail (or one edit be lost).
   */
  pin(other, role) {
    const args = ['peer', 'add', '--from-id', other.card];
    if (role) args.push('--role', role);
    const next = this.configLock.then(() => this.run(args));
    this.configLock = next.catch(() => {});
    return next;
  }

  /** Waits until this node's status shows `other` connected. */
  async waitConnected(other) {
    await eventually(`${this.name} connected to ${other.name}`, async () => {
      const s = await this.json(['status', '--json']);
      const p = (s.peers || []).find((e) => e.peer_id === other.peerId);
      if (!p) throw new Error(`peer ${other.peerId} not in status: ${JSON.stringify(s.peers)}`);
      if (p.connected !== true) throw new Error(`peer entry ${JSON.stringify(p)}`);
      return true;
    });
  }

  /** Writes a file in this node's scratch dir (beside the data dir); returns its path. */
  file(name, content) {
    const f = join(this.scratch, name);
    writeFileSync(f, content);
    return f;
  }

  /** The serve process's log so far. */
  logs() {
    try {
      return readFileSync(this.log, 'utf8');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL after 5 s. */
  async stop() {
    const p = this.proc;
    if (!p || this.exit) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
}

// ---------------------------------------------------------------------------------------------
// The harness of one test.
// ---------------------------------------------------------------------------------------------

export class Harness {
  constructor(testName) {
    this.testName = testName;
    this.root = mkdtempSync(join(tmpdir(), `liaison-browser-${testName}-`));
    roots.add(this.root);
    this.nodes = [];
    this.browser = null;
    this.browserP = null;
    this.contexts = [];
    this.pages = [];
    this.consoleLines = [];
  }

  /** A fresh node: init + serve. */
  async node(name, partyId = name, partyName = name) {
    const n = new Node(this, name, partyId, partyName);
    this.nodes.push(n);
    await n.init();
    await n.start();
    return n;
  }

  /** The two Parties: CICA and SCO RATS, pinned to each other (role party) and connected. */
  async parties() {
    const [a, b] = await Promise.all([
      this.node('cica', 'cica', 'CICA Secretariat'),
      this.node('sco-rats', 'sco-rats', 'SCO RATS Executive Committee'),
    ]);
    await Promise.all([a.pin(b), b.pin(a)]);
    await Promise.all([a.waitConnected(b), b.waitConnected(a)]);
    return [a, b];
  }

  /**
   * The two Parties and a third party (un-oct): the Parties pin it as third-party, it pins both
   * as provider. Waits for the Parties to connect to each other.
   */
  async partiesAndThirdParty() {
    const [a, b, t] = await Promise.all([
      this.node('cica', 'cica', 'CICA Secretariat'),
      this.node('sco-rats', 'sco-rats', 'SCO RATS Executive Committee'),
      this.node('un-oct', 'un-oct', 'UN Office of Counter-Terrorism'),
    ]);
    await Promise.all([a.pin(b), b.pin(a)]);
    await Promise.all([a.pin(t, 'third-party'), b.pin(t, 'third-party'), t.pin(a, 'provider'), t.pin(b, 'provider')]);
    await Promise.all([a.waitConnected(b), b.waitConnected(a)]);
    return [a, b, t];
  }

  /** `liaison account add --name N --role R --json` → {name, role, password}. */
  async account(node, name, role) {
    const acc = await node.json(['account', 'add', '--name', name, '--role', role, '--json']);
    if (!acc || acc.name !== name || !acc.password) {
      throw new Error(`account add printed no {name, role, password}: ${JSON.stringify(acc)}`);
    }
    return acc;
  }

  /** The shared headless Chromium of this test (launched once, however many ask at once). */
  launch() {
    if (!this.browserP) {
      const args = [];
      // Chromium will not start as root with its sandbox on.
      if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
      this.browserP = chromium.launch({ executablePath: CHROMIUM, headless: true, args }).then((b) => {
        this.browser = b;
        return b;
      });
    }
    return this.browserP;
  }

  /** A fresh browser context (own cookies and storage) with a page, not logged in. */
  async newPage(label) {
    const browser = await this.launch();
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 860 },
      locale: 'en-GB',
    });
    this.contexts.push(context);
    const page = await context.newPage();
    page.label = label;
    this.pages.push(page);
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.consoleLines.push(`[${label}] console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.consoleLines.push(`[${label}] page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) this.consoleLines.push(`[${label}] HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    });
    return page;
  }

  /**
   * Logs a fresh browser context in at `node` through the login page; resolves to the page once
   * the app shows who is logged in.
   */
  async login(node, acc, label = `${node.name}:${acc.name}`) {
    const page = await this.newPage(label);
    await page.goto(`${node.url}/#/login`);
    await page.locator('input#login-name').fill(acc.name);
    await page.locator('input#login-password').fill(acc.password);
    await page.locator('button#login-submit').click();
    // An account's first login (a one-time password from `account add`) must choose a new
    // password first; the new one is kept in `acc` for later logins.
    const shell = page.locator('#whoami').filter({ hasText: acc.name });
    const choose = page.locator('input#pwc-new');
    await shell.or(choose).first().waitFor({ timeout: WAIT_MS }).catch(() => {});
    if (await choose.isVisible().catch(() => false)) {
      const chosen = `${acc.password} own`;
      await choose.fill(chosen);
      await page.locator('input#pwc-again').fill(chosen);
      await page.locator('button#pwc-submit').click();
      acc.password = chosen;
    }
    try {
      await shell.waitFor({ timeout: WAIT_MS });
    } catch (e) {
      const err = await page
        .locator('#login-error')
        .textContent({ timeout: 500 })
        .catch(() => null);
      throw new Error(
        `${label}: login did not show #whoami with "${acc.name}" (url ${page.url()}, #login-error: ${JSON.stringify(err)}): ${e.message}`,
      );
    }
    return page;
  }

  /** Goes to a hash route of the app (`#/drafts/ID`) without reloading. */
  async route(page, hash) {
    await page.evaluate((h) => {
      window.location.hash = h;
    }, hash);
    await page.waitForFunction((h) => window.location.hash === h, hash);
  }

  /** Saves `page` to screenshots/<test-name><suffix>.png; returns the path. */
  async screenshot(page, suffix = '') {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const path = join(SCREENSHOTS, `${this.testName}${suffix}.png`);
    await page.screenshot({ path, fullPage: false });
    return path;
  }

  /**
   * Saves several pages side by side in one picture, screenshots/<test-name>.png, each under a
   * caption: the final screen of a test with more than one browser.
   */
  async screenshotSideBySide(pages, suffix = '') {
    const shots = [];
    for (const p of pages) {
      shots.push({ label: p.label, png: (await p.screenshot()).toString('base64') });
    }
    const browser = await this.launch();
    const ctx = await browser.newContext({ viewport: { width: 1280 * pages.length + 40, height: 900 } });
    try {
      const page = await ctx.newPage();
      // setContent: a local page of ours, with the screenshots as data: URLs.
      const figures = shots
        .map(
          (s) =>
            `<figure style="margin:0 10px;flex:1"><figcaption style="font:bold 16px sans-serif;padding:6px 0">${escapeHtml(
              s.label,
            )}</figcaption><img style="width:100%;border:1px solid #888" src="data:image/png;base64,${s.png}"></figure>`,
        )
        .join('');
      await page.setContent(`<body style="margin:0;padding:8px;background:#ddd;display:flex">${figures}</body>`);
      await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
      mkdirSync(SCREENSHOTS, { recursive: true });
      const path = join(SCREENSHOTS, `${this.testName}${suffix}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    } finally {
      await ctx.close();
    }
  }

  /** What to print when the test failed: logs of every node, console errors of every page. */
  async report(err) {
    const parts = [`\n===== ${this.testName} FAILED: ${err && err.stack ? err.stack : err}`];
    for (const [i, p] of this.pages.entries()) {
      try {
        if (p.isClosed()) continue;
        mkdirSync(SCREENSHOTS, { recursive: true });
        const path = join(SCREENSHOTS, `${this.testName}-failure-${i}.png`);
        await p.screenshot({ path, timeout: 5000 });
        parts.push(`screen of ${p.label} (${p.url()}) saved to ${path}`);
      } catch (e) {
        parts.push(`could not screenshot ${p.label}: ${e.message}`);
      }
    }
    if (this.consoleLines.length) parts.push(`----- browser console\n${this.consoleLines.join('\n')}`);
    for (const n of this.nodes) {
      const log = n.logs();
      const lines = log.split('\n');
      const tail = lines.length > 120 ? `(${lines.length - 120} earlier lines cut)\n${lines.slice(-120).join('\n')}` : log;
      parts.push(`----- log of ${n.name} (${n.dir}), exit ${JSON.stringify(n.exit)}\n${tail}`);
    }
    console.error(parts.join('\n'));
  }

  /** Closes the browser, stops every node, removes every dir (unless KEEP=1). */
  async cleanup() {
    if (this.browserP) await this.browserP.then((b) => b.close()).catch(() => {});
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => {})));
    if (process.env.KEEP === '1') {
      console.error(`kept ${this.root}`);
    } else {
      rmSync(this.root, { recursive: true, force: true });
    }
    roots.delete(this.root);
  }
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Runs `fn(harness)` with a deadline; on failure prints the nodes' logs and saves every page's
 * screen; always stops the nodes and removes the dirs.
 */
export async function withHarness(testName, fn, { deadline = 150_000 } = {}) {
  const h = new Harness(testName);
  let timer;
  try {
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${testName}: did not finish within ${deadline} ms`)), deadline);
    });
    return await Promise.race([fn(h), timeout]);
  } catch (e) {
    await h.report(e);
    throw e;
  } finally {
    clearTimeout(timer);
    await h.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Workspace set-up through the CLI.
// ---------------------------------------------------------------------------------------------

/** An officer name the CLI attributes set-up changes to. */
export const SETUP_OFFICER = 'Test Set-up';

/** `group create` on `node`; resolves to the group id. */
export async function createGroup(node, name, mandate = 'Proposals on countering the financing of terrorism') {
  const out = await node.run(['group', 'create', '--name', name, '--mandate', mandate, '--officer', SETUP_OFFICER]);
  return lastLine(out);
}

/** `draft create` on `node` from `text` (paragraphs become provisions); resolves to the draft id. */
export async function createDraft(node, group, title, text) {
  const f = node.file(`draft-${Date.now()}-${Math.random().toString(16).slice(2)}.txt`, text);
  const out = await node.run(['draft', 'create', '--group', group, '--title', title, '--text-file', f, '--officer', SETUP_OFFICER]);
  return lastLine(out);
}

/** `draft show ID --json` on `node`. */
export function showDraft(node, id) {
  return node.json(['draft', 'show', id, '--json']);
}

/** The text of one provision in one language, as `node` stores it. */
export async function storedText(node, draft, provision, lang = 'en') {
  const d = await showDraft(node, draft);
  const p = (d.provisions || []).find((x) => x.id === provision);
  if (!p) throw new Error(`${node.name}: draft ${draft} has no provision ${provision}: ${JSON.stringify(d.provisions)}`);
  return p.texts[lang];
}

/** Waits until `node` has the draft (it was made on another node and syncs over). */
export function waitForDraft(node, id) {
  return eventually(`draft ${id} on ${node.name}`, () => showDraft(node, id));
}

/** The editor's textarea of one provision and language. */
export function editorBox(page, provision, lang = 'en') {
  return page.locator(`[data-provision="${provision}"] textarea[data-lang="${lang}"]`);
}

/** Waits until the editor on `page` shows `text` in the provision's textarea. */
export async function waitForBoxText(page, provision, text, lang = 'en', timeout = WAIT_MS) {
  try {
    await page.waitForFunction(
      ([sel, want]) => {
        const el = document.querySelector(sel);
        return el && el.value === want;
      },
      [`[data-provision="${provision}"] textarea[data-lang="${lang}"]`, text],
      { timeout },
    );
  } catch (e) {
    const now = await editorBox(page, provision, lang)
      .inputValue({ timeout: 500 })
      .catch(() => '(no such textarea)');
    throw new Error(`${page.label}: provision ${provision} [${lang}] never showed ${JSON.stringify(text)}; it shows ${JSON.stringify(now)}`);
  }
}
