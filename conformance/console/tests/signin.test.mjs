// Sign-in: an API token, email + global API key, a refused credential, signing out, and the
// keyboard alone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import {
  SECTIONS,
  ctest,
  expectText,
  expectVisible,
  fillAccountIdIfAsked,
  ready,
  screenshot,
  signedInWithKey,
  useConsole,
} from '../lib/browser.mjs';

describe('sign-in', () => {
  const h = useConsole();

  ctest(h, 'the console opens on the sign-in page, and the bootstrap token signs in to Acme', async () => {
    const page = await h.page();
    await page.goto(h.server.consoleUrl());
    await ready(page, 'Sign in to Portcullis');
    assert.match(page.url(), /#\/signin$/, 'an unsigned visitor is sent to #/signin');
    await expectVisible(page.getByLabel('API token', { exact: true }));
    await expectVisible(page.getByRole('button', { name: 'Sign in with token' }));
    await expectVisible(page.getByLabel('Email', { exact: true }));
    await expectVisible(page.getByLabel('Global API key', { exact: true }));
    await expectVisible(page.getByRole('button', { name: 'Sign in with key' }));
    await screenshot(page, 'signin');

    await page.getByLabel('API token', { exact: true }).fill(h.server.boot.api_token);
    await fillAccountIdIfAsked(h, page, h.server.boot.api_token);
    await page.getByRole('button', { name: 'Sign in with token' }).click();
    await ready(page, 'Accounts');
    assert.match(page.url(), /#\/accounts$/);
    const row = page.getByRole('row', { name: /Acme/ });
    await expectVisible(row);
    await expectVisible(row.getByRole('link', { name: 'Acme', exact: true }));

    // The header: the account picker, who is signed in, and the way out.
    const header = page.getByRole('banner');
    await expectVisible(header.getByLabel('Account', { exact: true }));
    await expectText(header, /Signed in as the account token "Portcullis bootstrap \(full access\)"/);
    await expectVisible(header.getByRole('button', { name: 'Sign out' }));
    const nav = page.getByRole('navigation', { name: 'Sections' });
    for (const [link] of SECTIONS) await expectVisible(nav.getByRole('link', { name: link, exact: true }));
    await screenshot(page, 'accounts');

    // The credential lives in sessionStorage only: no cookie, nothing in localStorage, not in the URL.
    const storage = await page.evaluate(() => ({
      session: Object.values(sessionStorage).join(' '),
      local: localStorage.length,
      cookie: document.cookie,
    }));
    assert.ok(storage.session.includes(h.server.boot.api_token), 'the token is kept in sessionStorage');
    assert.equal(storage.local, 0, 'nothing in localStorage');
    assert.equal(storage.cookie, '', 'no cookie');
    assert.ok(!page.url().includes(h.server.boot.api_token), 'the token is not in the URL');

    // The account name leads to its members.
    await row.getByRole('link', { name: 'Acme', exact: true }).click();
    await ready(page, 'Members');
    assert.ok(page.url().endsWith(`#/a/${h.server.boot.account_id}/members`), page.url());
  });

  ctest(h, 'every section link opens its page', async () => {
    // Email + key: a user's credential may open every section, user tokens included.
    const page = await signedInWithKey(h);
    const nav = page.getByRole('navigation', { name: 'Sections' });
    for (const [link, heading] of SECTIONS) {
      await nav.getByRole('link', { name: link, exact: true }).click();
      await ready(page, heading);
    }
  });

  ctest(h, 'a wrong token is refused with the API\'s own message', async () => {
    const wrong = randomBytes(30).toString('base64url');
    // What the API says to such a token (the console must show it, not a text of its own).
    const answers = [];
    for (const p of ['/accounts', '/user/tokens/verify', '/user', `/accounts/${h.server.boot.account_id}/tokens/verify`]) {
      const r = await h.server.api('GET', p, { auth: { token: wrong } });
      assert.ok(r.status >= 400, `${p} refuses a wrong token`);
      answers.push(r.body.errors[0].message);
    }
    const page = await h.page();
    await page.goto(h.server.consoleUrl('#/signin'));
    await ready(page, 'Sign in to Portcullis');
    await page.getByLabel('API token', { exact: true }).fill(wrong);
    await page.getByRole('button', { name: 'Sign in with token' }).click();
    const alert = page.getByRole('alert').filter({ hasText: /\S/ });
    const text = await expectText(alert, /\S/);
    assert.ok(
      answers.some((m) => text.includes(m)),
      `the alert shows the API's message (one of ${JSON.stringify([...new Set(answers)])}); it shows ${JSON.stringify(text)}`,
    );
    assert.doesNotMatch(text, /undefined|\[object|null/);
    await ready(page, 'Sign in to Portcullis');
    assert.match(page.url(), /#\/signin$/);
  });

  ctest(h, 'email + global API key signs in; Sign out clears the session', async () => {
    const page = await signedInWithKey(h);
    await expectVisible(page.getByRole('row', { name: /Acme/ }));
    await expectText(page.getByRole('banner'), `Signed in as ${h.server.boot.email}`);

    await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
    await ready(page, 'Sign in to Portcullis');
    assert.match(page.url(), /#\/signin$/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'sessionStorage is empty after signing out');
    // Nothing signed in any more: a section's address leads back to the sign-in page.
    await page.goto(h.server.consoleUrl('#/accounts'));
    await page.reload();
    await ready(page, 'Sign in to Portcullis');
  });

  ctest(h, 'a wrong global key is refused with the API\'s message', async () => {
    const wrongKey = randomBytes(19).toString('hex').slice(0, 37);
    const r = await h.server.api('GET', '/accounts', { auth: { email: h.server.boot.email, key: wrongKey } });
    const expected = r.body.errors[0].message;
    const page = await h.page();
    await page.goto(h.server.consoleUrl('#/signin'));
    await ready(page, 'Sign in to Portcullis');
    await page.getByLabel('Email', { exact: true }).fill(h.server.boot.email);
    await page.getByLabel('Global API key', { exact: true }).fill(wrongKey);
    await page.getByRole('button', { name: 'Sign in with key' }).click();
    await expectText(page.getByRole('alert').filter({ hasText: /\S/ }), expected);
  });

  ctest(h, 'signing in with the keyboard alone', async () => {
    const page = await h.page();
    await page.goto(h.server.consoleUrl('#/signin'));
    await ready(page, 'Sign in to Portcullis');
    await page.getByLabel('API token', { exact: true }).focus();
    await page.keyboard.type(h.server.boot.api_token);
    await page.keyboard.press('Tab');
    const focusedLabel = () =>
      page.evaluate(() => {
        const el = document.activeElement;
        return (el?.labels?.[0]?.innerText || el?.getAttribute('aria-label') || el?.textContent || '').trim();
      });
    // The optional account ID of an account-owned token, when the form asks for it.
    if ((await focusedLabel()) === 'Account ID') {
      await page.keyboard.type(h.server.boot.account_id);
      await page.keyboard.press('Tab');
    }
    // Tab reaches the form's button…
    assert.equal(await focusedLabel(), 'Sign in with token', 'Tab from the fields reaches "Sign in with token"');
    // …and Enter in a field submits the form.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await ready(page, 'Accounts');
    await expectVisible(page.getByRole('row', { name: /Acme/ }));
  });
});
