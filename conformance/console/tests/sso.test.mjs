// SSO connectors: add one, publish the TXT record it asks for (in the DNS fixture the server
// resolves through), watch the page turn "verified" by itself, enable it, delete it.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  acct,
  confirmDialog,
  ctest,
  expectCount,
  expectText,
  expectVisible,
  open,
  ready,
  screenshot,
  signedInPage,
  useConsole,
} from '../lib/browser.mjs';
import { ok } from '../lib/api.mjs';
import { startDnsFixture } from '../lib/server.mjs';

const DOMAIN = 'acme-sso.example';
const OTHER = 'never-published.example';
/** --sso-verification-window, seconds. */
const WINDOW = 6;

describe('SSO connectors', () => {
  const h = useConsole({
    beforeStart: async (h) => {
      h.dns = await startDnsFixture();
      h.extra.stop = () => h.dns.stop();
    },
    // A short window, so that the second test sees a connector fail.
    serveArgs: (h) => ['--dns-server', h.dns.addr, '--sso-check-interval', '1', '--sso-verification-window', String(WINDOW)],
  });

  const connectors = () => ok(h.server, 'GET', `/accounts/${h.server.boot.account_id}/sso_connectors`);

  ctest(h, 'add a connector, publish its record, and the page shows it verified by itself; enable; delete', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'sso'), 'SSO connectors');
    const begin = page.getByLabel('Begin verification now', { exact: true });
    assert.equal(await begin.isChecked(), true, '"Begin verification now" is checked by default');
    await page.getByLabel('Email domain', { exact: true }).fill(DOMAIN);
    await page.getByRole('button', { name: 'Add connector', exact: true }).click();

    const row = page.getByRole('row', { name: /acme-sso\.example/ });
    await expectVisible(row);
    await expectText(row, /\bpending\b/);
    const [conn] = await connectors();
    assert.ok(conn, 'the API lists the connector');
    assert.equal(conn.verification.status, 'pending');
    const record = `${DOMAIN}. 300 IN TXT "${conn.verification.code}"`;
    assert.equal((await row.locator('code').innerText()).trim(), record, 'the exact TXT record to publish');
    await expectCount(row.getByRole('button', { name: 'Enable', exact: true }), 0);
    await ready(page, 'SSO connectors');
    await screenshot(page, 'sso');

    // Publish the record: no click, no reload; the page refreshes while the connector is pending.
    const before = page.url();
    h.dns.publish(DOMAIN, conn.verification.code);
    await expectText(row, /\bverified\b/, { timeout: 12_000 });
    assert.equal(page.url(), before);
    assert.equal((await connectors())[0].verification.status, 'verified');

    await row.getByRole('button', { name: 'Enable', exact: true }).click();
    await expectText(row, /Enabled/);
    await expectVisible(row.getByRole('button', { name: 'Disable', exact: true }));
    assert.equal((await connectors())[0].enabled, true);

    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    await confirmDialog(page);
    await expectCount(page.getByRole('row', { name: /acme-sso\.example/ }), 0);
    assert.deepEqual(await connectors(), []);
  });
  ctest(h, 'awaiting until begun; pending, then failed when the window closes; typing survives the refresh', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'sso'), 'SSO connectors');
    await page.getByLabel('Email domain', { exact: true }).fill(OTHER);
    await page.getByLabel('Begin verification now', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Add connector', exact: true }).click();
    const row = page.getByRole('row', { name: /never-published\.example/ });
    await expectText(row, /\bawaiting\b/);

    // Half a domain typed into the form is not lost while the page refreshes itself.
    const field = page.getByLabel('Email domain', { exact: true });
    await row.getByRole('button', { name: 'Begin verification', exact: true }).click();
    await expectText(row, /\bpending\b/);
    await field.fill('half-typed');
    await page.waitForTimeout(2500);
    assert.equal(await field.inputValue(), 'half-typed', 'the refresh replaced the form');

    // Nothing published: the window closes and the page shows it by itself.
    await expectText(row, /\bfailed\b/, { timeout: (WINDOW + 8) * 1000 });
    assert.equal(await field.inputValue(), 'half-typed');
    const failed = (await connectors()).find((c) => c.email_domain === OTHER);
    assert.equal(failed.verification.status, 'failed');
    // A failed connector can begin again.
    await row.getByRole('button', { name: 'Begin verification', exact: true }).click();
    await expectText(row, /\bpending\b/);
    await expectVisible(page.getByRole('status').filter({ hasText: /\S/ }));
  });
});
