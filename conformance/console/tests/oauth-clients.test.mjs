// OAuth clients: register one (the secret shown once), the API's message beside a refused
// redirect URI, rotate the secret (shown once; the previous one kept), the API's refusal of a
// second rotation, delete the previous secret, delete the client.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { acct, confirmDialog, ctest, expectCount, expectText, expectVisible, open, ready, screenshot, signedInPage, useConsole } from '../lib/browser.mjs';
import { ok } from '../lib/api.mjs';

describe('OAuth clients', () => {
  const h = useConsole();
  const clients = () => ok(h.server, 'GET', `/accounts/${h.server.boot.account_id}/oauth_clients`);

  ctest(h, 'register, rotate, refuse a second rotation, delete the previous secret, delete', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'oauth-clients'), 'OAuth clients');
    await expectText(page.getByRole('main'), /No OAuth clients yet/);

    // A redirect URI the API refuses: its message beside the field.
    await page.getByLabel('Client name', { exact: true }).fill('Dashboard app');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('http://app.example/cb');
    await page.getByRole('checkbox', { name: 'openid', exact: true }).check();
    await page.getByRole('button', { name: 'Create OAuth client', exact: true }).click();
    const redirects = page.getByLabel('Redirect URIs', { exact: true });
    await expectVisible(page.locator('.field-error'));
    assert.equal(await redirects.getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await clients(), []);

    await redirects.fill('https://app.example/cb\nhttp://127.0.0.1:8080/cb');
    await page.getByRole('button', { name: 'Create OAuth client', exact: true }).click();
    const secret = page.getByRole('region', { name: 'New client secret' });
    await expectText(secret, /shown only once/i);
    const first = (await secret.locator('code').innerText()).trim();
    assert.ok(first.length >= 32, first);
    await ready(page, 'OAuth clients');
    await screenshot(page, 'oauth-clients');
    const [client] = await clients();
    assert.equal(client.client_name, 'Dashboard app');
    assert.deepEqual(client.redirect_uris, ['https://app.example/cb', 'http://127.0.0.1:8080/cb']);
    assert.deepEqual(client.scopes, ['openid']);
    assert.deepEqual(client.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal(JSON.stringify(client).includes(first), false, 'the secret is not in the client');

    const row = page.getByRole('row', { name: /Dashboard app/ });
    await row.getByRole('button', { name: 'Rotate secret', exact: true }).click();
    await confirmDialog(page);
    await expectText(page.getByRole('region', { name: 'New client secret' }), /New secret of Dashboard app/);
    const second = (await page.getByRole('region', { name: 'New client secret' }).locator('code').innerText()).trim();
    assert.notEqual(second, first);
    await expectText(row, /current and previous/);
    assert.equal((await clients())[0].has_rotated_secret, true);

    // A second rotation while the previous secret is kept: the API's refusal, shown.
    await row.getByRole('button', { name: 'Rotate secret', exact: true }).click();
    await confirmDialog(page);
    await expectText(page.getByRole('alert'), /before rotating again/);

    await row.getByRole('button', { name: 'Delete previous secret', exact: true }).click();
    await confirmDialog(page);
    await expectCount(row.getByRole('button', { name: 'Delete previous secret', exact: true }), 0);
    assert.equal((await clients())[0].has_rotated_secret, false);

    await page.getByRole('row', { name: /Dashboard app/ }).getByRole('button', { name: 'Delete', exact: true }).click();
    await confirmDialog(page);
    await expectCount(page.getByRole('row', { name: /Dashboard app/ }), 0);
    assert.deepEqual(await clients(), []);
  });
});
