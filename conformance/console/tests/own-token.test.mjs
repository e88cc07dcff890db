// The token the console is signed in with: rolling it from the console carries on with the new
// value (shown once, like any roll); deleting it signs the console out with the API's reason.
// Its own server: the bootstrap token changes here, so API checks use the global key.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { acct, confirmDialog, ctest, expectText, expectVisible, open, ready, signedInPage, useConsole } from '../lib/browser.mjs';
import { globalKey, ok, verifyAccountToken } from '../lib/api.mjs';

describe('the token the console is signed in with', () => {
  const h = useConsole();

  ctest(h, 'Roll it: the console keeps working with the new value; Delete it: signed out, saying why', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'tokens'), 'Account tokens');
    const row = page.getByRole('row', { name: /Portcullis bootstrap/ });
    await row.getByRole('button', { name: 'Roll', exact: true }).click();
    await confirmDialog(page);
    const region = page.getByRole('region', { name: 'New token value' });
    await expectVisible(region);
    const fresh = (await region.locator('code').innerText()).trim();
    assert.notEqual(fresh, h.server.boot.api_token);
    assert.equal((await verifyAccountToken(h.server, h.server.boot.api_token)).status >= 400, true, 'the old value is refused');
    assert.equal((await verifyAccountToken(h.server, fresh)).status, 200, 'the new value verifies');

    // Still signed in: another page loads with the new value.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Members', exact: true }).click();
    await ready(page, 'Members');
    await expectVisible(page.getByRole('row', { name: /admin@acme\.example/ }));

    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Account tokens', exact: true }).click();
    await ready(page, 'Account tokens');
    await page.getByRole('row', { name: /Portcullis bootstrap/ }).getByRole('button', { name: 'Delete', exact: true }).click();
    await expectText(page.getByRole('dialog'), /you are signed in with/);
    await confirmDialog(page);
    await ready(page, 'Sign in to Portcullis');
    await expectText(page.getByRole('alert'), /no longer work/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('portcullis.credentials')), null);
    const left = await ok(h.server, 'GET', `/accounts/${h.server.boot.account_id}/tokens`, { auth: globalKey(h.server) });
    assert.ok(!left.some((t) => t.name.startsWith('Portcullis bootstrap')), JSON.stringify(left));
  });
});
