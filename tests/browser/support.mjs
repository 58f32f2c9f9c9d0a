// What the browser tests share: a real telmail-local process on 127.0.0.1 with a fresh data
// folder, Debian's Chromium driven by Playwright, and the outbox read the way a resident reads
// their mail (emails parsed as MIME, SMS from sms.jsonl).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import PostalMime from 'postal-mime';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

/** The binary under test: TELMAIL_BIN (relative to the repository), or the workspace's debug build. */
export const telmailBin = process.env.TELMAIL_BIN
  ? resolve(repo, process.env.TELMAIL_BIN)
  : join(resolve(repo, process.env.CARGO_TARGET_DIR ?? 'target'), 'debug', 'telmail-local');

/** The browser: CHROMIUM, or Debian's. */
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A password every test staff account shares (never a real one). */
export const STAFF_PASSWORD = 'mot de passe de test très solide';

/** The window sizes each journey runs at: a desktop screen and a phone. */
export const viewports = [
  { name: 'ordinateur', options: { viewport: { width: 1280, height: 900 } } },
  {
    name: 'téléphone',
    options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 },
  },
];

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function waitFor(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates a staff account with the binary's own command, as the README says. */
export function addStaff(dataDir, username, roles, more = []) {
  const result = spawnSync(telmailBin, ['--data-dir', dataDir, 'staff', 'add', username, '--roles', roles, ...more], {
    env: { ...process.env, TELMAIL_PASSWORD: STAFF_PASSWORD },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`staff add ${username}: ${result.stderr}`);
}

/**
 * Starts telmail-local on a free port of 127.0.0.1 with a fresh data folder (and, when asked,
 * staff accounts `redac`, `cabinet`, `admin`, `accueil` and the culture department's `culture`,
 * and with extra environment variables);
 * resolves once /healthz answers.
 */
export async function startServer({ staff = false, env = {} } = {}) {
  if (!existsSync(telmailBin)) {
    throw new Error(`${telmailBin} is missing: build it with cargo build -p telmail-local`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'telmail-browser-'));
  if (staff) {
    addStaff(dataDir, 'redac', 'redaction');
    addStaff(dataDir, 'cabinet', 'cabinet');
    addStaff(dataDir, 'admin', 'admin');
    addStaff(dataDir, 'accueil', 'accueil');
    addStaff(dataDir, 'culture', 'service', ['--department', 'Culture', '--email', 'culture@mairie.example']);
  }
  const port = await freePort();
  const child = spawn(
    telmailBin,
    ['--bind', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--rate-limit-per-minute', '10000'],
    // SMS go at any hour of any day unless a test gives its own window: what a test checks must
    // not depend on when it runs.
    { env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', TELMAIL_SMS_WINDOW: '24h/24', ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the server to answer /healthz', async () => {
    if (child.exitCode !== null) throw new Error(`telmail-local exited with ${child.exitCode}`);
    try {
      return (await fetch(`${base}/healthz`)).ok;
    } catch {
      return false;
    }
  });
  return {
    base,
    dataDir,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with nothing that calls out to the internet. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

async function parsedEmails(dataDir) {
  const folder = join(dataDir, 'outbox', 'email');
  const names = existsSync(folder) ? readdirSync(folder).filter((n) => n.endsWith('.eml')) : [];
  return Promise.all(
    names.map(async (name) => {
      const raw = readFileSync(join(folder, name));
      const email = await PostalMime.parse(raw);
      return { ...email, name };
    }),
  );
}

/** Every email sent to `to` so far. */
export async function emailsTo(dataDir, to) {
  return (await parsedEmails(dataDir)).filter((e) => e.to?.some((a) => a.address === to));
}

/** Waits for the `count`-th email to `to` and returns it. */
export async function waitForEmail(dataDir, to, count = 1) {
  const emails = await waitFor(`email #${count} to ${to}`, async () => {
    const found = await emailsTo(dataDir, to);
    return found.length >= count ? found : null;
  });
  emails.sort((a, b) => (a.date ?? '').localeCompare(b.date ?? '') || a.name.localeCompare(b.name));
  return emails[count - 1];
}

/** Every SMS sent to `to` (E.164) so far. */
export function smsTo(dataDir, to) {
  const file = join(dataDir, 'outbox', 'sms.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((sms) => sms.to === to);
}

/** Waits for an SMS to `to` and returns the last one. */
export async function waitForSms(dataDir, to) {
  const all = await waitFor(`an SMS to ${to}`, () => {
    const found = smsTo(dataDir, to);
    return found.length ? found : null;
  });
  return all[all.length - 1];
}

/** The value of a header of a parsed email. */
export function headerOf(email, name) {
  return email.headers.find((h) => h.key === name.toLowerCase())?.value;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The accessibility violations axe-core finds on the page (WCAG 2.1 A and AA), one line each.
 * The page's context must bypass CSP (axe is injected as an inline script). */
export async function axeViolations(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`,
  );
}

/** Waits until `check()` is true (an outbox or the server catching up). */
export { waitFor };

/** Logs a staff member in on the JSON API of the server at `base`; returns a caller
 * `(method, path, body)` that resolves to the answer's JSON and fails the test on an error. */
export async function staffApiAt(base, username) {
  const login = await fetch(`${base}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: STAFF_PASSWORD }),
  });
  assert.equal(login.status, 200, `login ${username}`);
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  const { csrf_token: csrf } = await login.json();
  return async (method, path, body) => {
    const resp = await fetch(`${base}${path}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await resp.json();
    assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** Signs a staff member in at `${base}/admin` in `page`; resolves once the page shows who. */
export async function signInAt(page, base, username) {
  await page.goto(`${base}/admin`);
  await page.getByLabel('Identifiant').fill(username);
  await page.getByLabel('Mot de passe').fill(STAFF_PASSWORD);
  await Promise.all([page.waitForURL(/\/admin(\/\w+)?$/), page.getByRole('button', { name: 'Se connecter' }).click()]);
  await page.locator('#who:not([hidden])').waitFor();
}

/** A fresh context of `browser` at a window size, in French, with its script errors collected. */
export async function openContext(browser, size) {
  const context = await browser.newContext({ ...size, locale: 'fr-FR', bypassCSP: true, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}
