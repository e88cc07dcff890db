// Browser side of the harness: Debian's Chromium through playwright-core (which never downloads a
// browser), one server and one browser per test file, one browser context (so a fresh
// sessionStorage) per test. Every page is guarded: a console error, an uncaught exception, a
// Content-Security-Policy violation, a request to any host but the server's, a 5xx, or a 404 for a
// console asset fails the test that caused it.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { fileWatchdog, startServer } from './server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SCREENSHOT_DIR = process.env.PORTCULLIS_CONSOLE_SCREENSHOTS || path.resolve(HERE, '..', 'screenshots');
export const CHROMIUM = process.env.PORTCULLIS_CHROMIUM || '/usr/bin/chromium';

/** Default wait for any one element or state (ms). */
export const WAIT_MS = 10_000;

/** The navigation's links and the heading of the page each opens, in the navigation's order. */
export const SECTIONS = [
  ['Accounts', 'Accounts'],
  ['Members', 'Members'],
  ['User groups', 'User groups'],
  ['Resource groups', 'Resource groups'],
  ['Permission groups', 'Permission groups'],
  ['Account tokens', 'Account tokens'],
  ['User tokens', 'User tokens'],
  ['SSO', 'SSO connectors'],
  ['OAuth clients', 'OAuth clients'],
  ['Audit log', 'Audit log'],
  ['Why?', 'Why?'],
];

/** The sections from a signed-in start (on Accounts): every other one, then Accounts again. */
export const SECTIONS_FROM_ACCOUNTS = [...SECTIONS.slice(1), SECTIONS[0]];

/** The account's pages: route under `#/a/{account}/` and heading. */
export const ACCOUNT_PAGES = [
  ['members', 'Members'],
  ['user-groups', 'User groups'],
  ['resource-groups', 'Resource groups'],
  ['permission-groups', 'Permission groups'],
  ['tokens', 'Account tokens'],
  ['sso', 'SSO connectors'],
  ['oauth-clients', 'OAuth clients'],
  ['audit', 'Audit log'],
  ['why', 'Why?'],
];
export const DESKTOP = { width: 1280, height: 800 };
export const NARROW = { width: 390, height: 844 };

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // No internet here: without the networking flags Chromium keeps trying to reach Google.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 20_000,
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` (which throws until satisfied) for up to `timeout` ms; rethrows its last error. */
export async function eventually(fn, { timeout = WAIT_MS, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
    }
    await sleep(interval);
  }
}

/** Waits until the locator's visible text matches `re` (a RegExp or a substring). */
export async function expectText(locator, re, { timeout = WAIT_MS } = {}) {
  let last = '(not found)';
  try {
    await eventually(
      async () => {
        last = await locator.innerText({ timeout: Math.min(1_000, timeout) });
        if (typeof re === 'string' ? !last.includes(re) : !re.test(last)) throw new Error('no match');
      },
      { timeout },
    );
  } catch {
    assert.fail(`expected ${locator} to show ${re}; it shows: ${JSON.stringify(last.slice(0, 2_000))}`);
  }
  return last;
}

/** Waits until the locator matches exactly `n` elements. */
export async function expectCount(locator, n, { timeout = WAIT_MS } = {}) {
  let last;
  try {
    await eventually(
      async () => {
        last = await locator.count();
        if (last !== n) throw new Error('count');
      },
      { timeout },
    );
  } catch {
    assert.fail(`expected ${n} of ${locator}, found ${last}`);
  }
}

export async function expectVisible(locator, { timeout = WAIT_MS } = {}) {
  await locator.waitFor({ state: 'visible', timeout });
}

export async function expectHidden(locator, { timeout = WAIT_MS } = {}) {
  await locator.waitFor({ state: 'hidden', timeout });
}

/**
 * Waits for the page to show `heading` (its one `<h1>`, exact text or RegExp) with its data loaded:
 * `<main aria-busy="false">`.
 */
export async function ready(page, heading, { timeout = WAIT_MS } = {}) {
  if (heading !== undefined) {
    await expectVisible(page.getByRole('heading', { level: 1, name: heading, exact: typeof heading === 'string' }), { timeout });
  }
  await page.locator('main[aria-busy="false"]').waitFor({ state: 'attached', timeout });
  await expectCount(page.locator('h1'), 1, { timeout });
}

/**
 * Saves a screenshot of the viewport to screenshots/<name>.png: from the top of the page (a form
 * submitted lower down leaves it scrolled), or with `at` (a locator) at the top of the viewport.
 */
export async function screenshot(page, name, { at } = {}) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.evaluate(() => {
    window.scrollTo(0, 0);
    document.activeElement?.blur?.();
  });
  if (at) await at.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), timeout: 10_000 });
}

/** Fails when the page is wider than its viewport (a horizontal scroll bar). */
export async function assertNoHorizontalScroll(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${what}: the page is ${scrollWidth}px wide in a ${innerWidth}px viewport`);
}

function guardPage(page, origin, problems) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Chromium logs every non-2xx fetch as "Failed to load resource"; the API's 4xx answers are
    // expected in the error tests and 5xx / missing assets are caught from the responses below.
    if (/^Failed to load resource: the server responded with a status of [45]\d\d/.test(text)) return;
    problems.push(`console error: ${text} (${msg.location()?.url || 'no location'})`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.stack || err.message || err}`));
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (url.origin !== origin) return;
    if (res.status() >= 500) problems.push(`HTTP ${res.status()} from ${res.request().method()} ${res.url()}`);
    if (res.status() === 404 && !url.pathname.startsWith('/client/v4/') && url.pathname !== '/favicon.ico') {
      problems.push(`HTTP 404 for ${res.url()}`);
    }
  });
}

function isForeign(url, origin) {
  const u = new URL(url);
  if (['data:', 'blob:', 'about:'].includes(u.protocol)) return false;
  return u.origin !== origin;
}

/**
 * Starts a server (and a browser) for the test file and registers the hooks that check and close
 * every page a test opened. Call inside `describe()`. Returns the harness:
 * `{ server, browser, page(opts), check() }` (`server` and `browser` are set once `before` ran).
 */
export function useConsole({ serveArgs, beforeStart } = {}) {
  fileWatchdog(Number(process.env.PORTCULLIS_CONSOLE_FILE_TIMEOUT_MS) || 150_000);
  const h = {
    server: null,
    browser: null,
    contexts: [],
    problems: [],
    extra: {},
    /**
     * A new guarded page in a fresh browser context (fresh sessionStorage). `viewport` defaults
     * to 1280x800.
     */
    async page({ viewport = DESKTOP } = {}) {
      const origin = h.server.origin;
      const context = await h.browser.newContext({ viewport, serviceWorkers: 'block' });
      // Report Content-Security-Policy violations the page sees (Chromium also logs them).
      await context.exposeBinding('__portcullisCspViolation', (_source, v) => h.problems.push(`CSP violation: ${v}`));
      await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) =>
          window.__portcullisCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`),
        );
      });
      await context.route(
        (url) => isForeign(url.href, origin),
        (route) => {
          h.problems.push(`request to a foreign host: ${route.request().method()} ${route.request().url()}`);
          return route.abort('blockedbyclient');
        },
      );
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.setDefaultNavigationTimeout(10_000);
      guardPage(page, origin, h.problems);
      h.contexts.push(context);
      h.lastPage = page;
      return page;
    },
    /** Fails (and clears the list) when any guarded page saw a problem so far. */
    check() {
      const problems = h.problems.splice(0);
      assert.deepEqual(problems, [], `the console misbehaved in the browser:\n${problems.join('\n')}`);
    },
  };

  before(async () => {
    if (beforeStart) await beforeStart(h);
    h.server = await startServer({ serveArgs: typeof serveArgs === 'function' ? serveArgs(h) : serveArgs });
    h.browser = await launchBrowser();
  });

  afterEach(async () => {
    const contexts = h.contexts.splice(0);
    h.lastPage = null;
    for (const c of contexts) await c.close().catch(() => {});
    h.check();
  });

  after(async () => {
    if (h.browser) await h.browser.close().catch(() => {});
    if (h.server) await h.server.stop();
    if (h.extra.stop) await h.extra.stop();
  });

  return h;
}

/**
 * A test whose failure message also says what the page showed (its h1, alerts and the start of
 * `<main>`) and saves screenshots/failures/<name>.png.
 */
export function ctest(h, name, fn, { timeout = 60_000 } = {}) {
  return test(name, { timeout }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const page = h.lastPage;
      if (page && !page.isClosed()) {
        const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
        let shown = '';
        try {
          mkdirSync(path.join(SCREENSHOT_DIR, 'failures'), { recursive: true });
          await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'failures', `${slug}.png`), timeout: 5_000 });
          shown = await page.evaluate(() => {
            const h1 = [...document.querySelectorAll('h1')].map((x) => x.innerText).join(' | ');
            const alerts = [...document.querySelectorAll('[role=alert],[role=status]')].map((x) => x.innerText).join(' | ');
            const main = (document.querySelector('main') || document.body)?.innerText || '';
            return `url: ${location.href}\nh1: ${h1}\nalerts/status: ${alerts}\nmain busy=${document.querySelector('main')?.getAttribute('aria-busy')}: ${main.slice(0, 1_500)}`;
          });
        } catch (inner) {
          shown = `(could not read the page: ${inner.message})`;
        }
        e.message = `${e.message}\n--- the page showed ---\n${shown}\n(screenshot: screenshots/failures/${slug}.png)`;
      }
      throw e;
    }
  });
}

/** Opens the console at a hash route (full load) and waits for its heading and data. */
export async function open(h, page, hash, heading) {
  await page.goto(h.server.consoleUrl(hash));
  await ready(page, heading);
}

/** Signs in with an API token through the sign-in form and waits for the Accounts page. */
export async function signInWithToken(h, page, token = h.server.boot.api_token) {
  await page.goto(h.server.consoleUrl('#/signin'));
  await ready(page, 'Sign in to Portcullis');
  await page.getByLabel('API token', { exact: true }).fill(token);
  await fillAccountIdIfAsked(h, page, token);
  await page.getByRole('button', { name: 'Sign in with token' }).click();
  await ready(page, 'Accounts');
}

/**
 * An account-owned token (the bootstrap token is one) cannot list accounts, so the sign-in form
 * may ask for its account's ID in an optional "Account ID" field: filled when the form has one.
 */
export async function fillAccountIdIfAsked(h, page, token) {
  const field = page.getByLabel('Account ID', { exact: true });
  if (token === h.server.boot.api_token && (await field.count()) > 0 && (await field.isVisible())) {
    await field.fill(h.server.boot.account_id);
  }
}

/** A new page, signed in with the bootstrap token (unless `token` is given), on the Accounts page. */
export async function signedInPage(h, { token, viewport } = {}) {
  const page = await h.page({ viewport });
  await signInWithToken(h, page, token);
  return page;
}

/** `#/a/{account}/<rest>` for the bootstrap account. */
export function acct(h, rest) {
  return `#/a/${h.server.boot.account_id}/${rest}`;
}

/** Clicks the Confirm button of the open confirmation dialog. */
export async function confirmDialog(page) {
  const dialog = page.getByRole('dialog');
  await expectVisible(dialog);
  await dialog.getByRole('button', { name: 'Confirm', exact: true }).click();
  await expectHidden(dialog);
}

/**
 * Selects the option of `select` whose text contains `text` (e.g. a member's email, whatever
 * else the option says); fails listing the options when none does.
 */
export async function selectOptionContaining(select, text) {
  const labels = await eventually(async () => {
    const all = await select.locator('option').allInnerTexts();
    if (!all.some((l) => l.includes(text))) throw new Error('not yet');
    return all;
  }).catch(async () => select.locator('option').allInnerTexts().catch(() => []));
  const label = labels.find((l) => l.includes(text));
  assert.ok(label, `${select} has no option containing ${JSON.stringify(text)}; options: ${JSON.stringify(labels)}`);
  await select.selectOption({ label: label.trim() });
}

/** The data rows of the page's tables (rows with cells, not the header row). */
export function dataRows(scope) {
  const root = typeof scope.page === 'function' ? scope.page() : scope;
  return scope.getByRole('row').filter({ has: root.getByRole('cell') });
}

/** `s` as a RegExp matching it literally. */
export function literal(s, flags = '') {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags);
}

/**
 * A new page signed in with an email + global API key (the bootstrap user's unless given), on
 * the Accounts page.
 */
export async function signedInWithKey(h, { viewport, email = h.server.boot.email, key = h.server.boot.api_key } = {}) {
  const page = await h.page({ viewport });
  await page.goto(h.server.consoleUrl('#/signin'));
  await ready(page, 'Sign in to Portcullis');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Global API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in with key' }).click();
  await ready(page, 'Accounts');
  return page;
}

/**
 * Buttons, column headings and navigation links whose label is broken inside a word (more lines
 * than words: "Rem|ove", "N|a|m|e"), as `tag "label": N lines for M word(s)`.
 */
export function brokenLabels(page) {
  return page.evaluate(() => {
    const out = [];
    const els = document.querySelectorAll('main button, main th, header button, nav a, main [role=columnheader]');
    for (const el of els) {
      if (!el.getClientRects().length) continue; // not rendered
      const text = el.innerText.trim();
      if (!text) continue;
      const words = text.split(/\s+/).length;
      const tops = [];
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        for (const r of range.getClientRects()) if (r.width > 0) tops.push(r.top);
      }
      tops.sort((a, b) => a - b);
      let lines = 0;
      let last = -Infinity;
      for (const t of tops) {
        if (t - last > 4) lines++;
        last = t;
      }
      if (lines > words) out.push(`${el.tagName.toLowerCase()} "${text.replace(/\s+/g, ' ')}": ${lines} lines for ${words} word(s)`);
    }
    return out;
  });
}
