// Accessibility: axe-core (pinned) checks every main page against WCAG 2.1 A and AA rules, with
// data in the lists, at a wide and a narrow window. axe runs through Playwright's evaluate, which
// is not subject to the page's Content-Security-Policy; the console itself never loads it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe } from 'node:test';
import { ACCOUNT_PAGES, SECTIONS_FROM_ACCOUNTS, acct, ctest, open, signedInPage, useConsole } from '../lib/browser.mjs';
import { ensureMember, ensureUserGroup, ok } from '../lib/api.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe's violations on the page (WCAG 2.0/2.1 A and AA), as readable lines. */
async function violations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return result.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join('; ')})`);
}

describe('accessibility (axe-core, WCAG 2.1 A and AA)', () => {
  const h = useConsole();

  ctest(h, 'every main page, wide and narrow, has no violation', async () => {
    const a = h.server.boot.account_id;
    const bob = await ensureMember(h.server, 'bob@acme.example');
    const group = await ensureUserGroup(h.server, 'Engineers');
    await ok(h.server, 'POST', `/accounts/${a}/sso_connectors`, { body: { email_domain: 'a11y.example', begin_verification: false } });
    const pages = [
      ['accounts', 'Accounts', '#/accounts'],
      ['members', 'Members'],
      [`members/${bob.id}`, 'bob@acme.example'],
      [`user-groups/${group.id}`, 'User group: Engineers'],
      [`why?member=${bob.id}`, 'Why?'],
      ...ACCOUNT_PAGES.filter(([route]) => route !== 'members' && route !== 'why'),
    ];
    const found = [];
    for (const viewport of [undefined, { width: 390, height: 844 }]) {
      const page = await signedInPage(h, { viewport });
      for (const [route, heading, hash] of pages) {
        await open(h, page, hash || acct(h, route), heading);
        for (const v of await violations(page)) found.push(`${viewport ? 'narrow ' : ''}${heading}: ${v}`);
      }
      // The sign-in page and a confirmation dialog too.
      const fresh = await h.page({ viewport });
      await open(h, fresh, '#/signin', 'Sign in to Portcullis');
      for (const v of await violations(fresh)) found.push(`sign-in: ${v}`);
    }
    assert.deepEqual(found, [], `axe found:\n${found.join('\n')}`);
  }, { timeout: 110_000 });

  ctest(h, 'no layout shift while pages load (Cumulative Layout Shift, as Chromium measures it)', async () => {
    const page = await signedInPage(h);
    await page.evaluate(() => {
      window.__shift = 0;
      window.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (!e.hadRecentInput) {
            window.__shift += e.value;
            window.__shifts.push(`${e.value.toFixed(4)} ${(e.sources || []).map((x) => x.node?.nodeName).join(',')}`);
          }
        }
      }).observe({ type: 'layout-shift', buffered: true });
    });
    const nav = page.getByRole('navigation', { name: 'Sections' });
    for (const [link, heading] of SECTIONS_FROM_ACCOUNTS) {
      await nav.getByRole('link', { name: link, exact: true }).click();
      await page.locator('main[aria-busy="false"]').waitFor();
      await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
      await page.waitForTimeout(200);
    }
    const [total, shifts] = await page.evaluate(() => [window.__shift, window.__shifts]);
    // 0.1 is the "good" threshold of Web Vitals; the console aims at none at all.
    assert.ok(total < 0.01, `layout shifted by ${total}: ${shifts.join('; ')}`);
  });
});
