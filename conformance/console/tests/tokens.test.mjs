// API tokens: create (the value is shown once and works), roll (a new value; the old one stops
// working), disable / enable, delete; and a user token from the User tokens page.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  acct,
  confirmDialog,
  ctest,
  expectCount,
  expectHidden,
  expectText,
  expectVisible,
  open,
  ready,
  screenshot,
  signedInPage,
  signedInWithKey,
  useConsole,
} from '../lib/browser.mjs';
import { accountTokens, ok, tokenPermissionGroup, verifyAccountToken, verifyUserToken, globalKey } from '../lib/api.mjs';

const NAME = 'CI reader';

/** Fills the "Create a token" form: one policy of `permission` over `resources`. */
async function fillTokenForm(page, name, permission, resources) {
  await page.getByLabel('Name', { exact: true }).fill(name);
  const policy = page.getByRole('group', { name: 'Policy 1' });
  await expectVisible(policy);
  await policy.getByLabel('Effect', { exact: true }).selectOption({ label: 'Allow' });
  await policy.getByLabel('Filter permission groups', { exact: true }).fill(permission);
  await policy.getByRole('checkbox', { name: permission, exact: true }).check();
  await policy.getByLabel('Resources', { exact: true }).selectOption({ label: resources });
}

/** The value in the "New token value" region (checked: shown once, with Copy). */
async function shownValue(page) {
  const region = page.getByRole('region', { name: 'New token value' });
  await expectVisible(region);
  await expectText(region, /shown only once/i);
  await expectVisible(region.getByRole('button', { name: 'Copy', exact: true }));
  const value = (await region.locator('code').innerText()).trim();
  assert.match(value, /^\S{40,}$/, `a token value of 40+ characters: ${JSON.stringify(value)}`);
  return value;
}

async function dismissValue(page) {
  const region = page.getByRole('region', { name: 'New token value' });
  await region.getByRole('button', { name: 'Done', exact: true }).click();
  await expectHidden(region);
}

describe('API tokens', () => {
  const h = useConsole();
  const state = { value: null };

  /** The test token (made through the API when the create test did not make it). */
  async function ensureToken() {
    const found = (await accountTokens(h.server)).find((t) => t.name === NAME);
    if (found) return found;
    const pg = await tokenPermissionGroup(h.server, 'Account Settings Read');
    const t = await ok(h.server, 'POST', `/accounts/${h.server.boot.account_id}/tokens`, {
      body: { name: NAME, policies: [{ effect: 'allow', permission_groups: [{ id: pg.id }], resources: { [`com.cloudflare.api.account.${h.server.boot.account_id}`]: '*' } }] },
    });
    state.value = t.value;
    return t;
  }

  ctest(h, 'create an account token: the value is shown once and works', async () => {
    const page = await signedInPage(h);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.server.origin });
    await open(h, page, acct(h, 'tokens'), 'Account tokens');
    for (const column of ['Name', 'Status', 'Expires', 'Last used']) {
      await expectVisible(page.getByRole('columnheader', { name: column, exact: true }));
    }
    await expectVisible(page.getByLabel('Expires on', { exact: true }));
    await fillTokenForm(page, NAME, 'Account Settings Read', 'This account');
    await page.getByRole('button', { name: 'Create token', exact: true }).click();
    const value = await shownValue(page);
    await ready(page, 'Account tokens');
    await screenshot(page, 'token-created');

    const v = await verifyAccountToken(h.server, value);
    assert.equal(v.status, 200, `the new token verifies: ${JSON.stringify(v.body)}`);
    assert.equal(v.body.result.status, 'active');
    state.value = value;

    const region = page.getByRole('region', { name: 'New token value' });
    await region.getByRole('button', { name: 'Copy', exact: true }).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, value, 'Copy puts the value on the clipboard');

    await dismissValue(page);
    await expectCount(page.getByText(value), 0);
    const row = page.getByRole('row', { name: /CI reader/ });
    await expectVisible(row);
    await expectText(row, /active/i);
    await screenshot(page, 'tokens');

    const [made] = (await accountTokens(h.server)).filter((t) => t.name === NAME);
    assert.ok(made, 'the token is listed by the API');
    const pg = await tokenPermissionGroup(h.server, 'Account Settings Read');
    assert.deepEqual(made.policies.map((p) => [p.effect, p.permission_groups.map((g) => g.id)]), [['allow', [pg.id]]]);
    assert.deepEqual(Object.keys(made.policies[0].resources), [`com.cloudflare.api.account.${h.server.boot.account_id}`]);
  });

  ctest(h, 'Roll: a new value; the old one stops working', async () => {
    await ensureToken();
    const old = state.value;
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'tokens'), 'Account tokens');
    await page.getByRole('row', { name: /CI reader/ }).getByRole('button', { name: 'Roll', exact: true }).click();
    await confirmDialog(page);
    const value = await shownValue(page);
    assert.notEqual(value, old, 'a new value');
    const fresh = await verifyAccountToken(h.server, value);
    assert.equal(fresh.status, 200, `the new value verifies: ${JSON.stringify(fresh.body)}`);
    if (old) {
      const stale = await verifyAccountToken(h.server, old);
      assert.ok(stale.status >= 400, `the old value no longer verifies: ${stale.status} ${JSON.stringify(stale.body)}`);
    }
    state.value = value;
    await dismissValue(page);
  });

  ctest(h, 'Disable, then Enable', async () => {
    const token = await ensureToken();
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'tokens'), 'Account tokens');
    const row = page.getByRole('row', { name: /CI reader/ });
    await row.getByRole('button', { name: 'Disable', exact: true }).click();
    await expectText(row, /disabled/i);
    await expectVisible(row.getByRole('button', { name: 'Enable', exact: true }));
    let listed = (await accountTokens(h.server)).find((t) => t.id === token.id);
    assert.equal(listed.status, 'disabled');
    if (state.value) assert.ok((await verifyAccountToken(h.server, state.value)).status >= 400, 'a disabled token does not verify');

    await row.getByRole('button', { name: 'Enable', exact: true }).click();
    await expectVisible(row.getByRole('button', { name: 'Disable', exact: true }));
    await expectText(row, /active/i);
    listed = (await accountTokens(h.server)).find((t) => t.id === token.id);
    assert.equal(listed.status, 'active');
  });

  ctest(h, 'Delete (confirmed) removes the token', async () => {
    const token = await ensureToken();
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'tokens'), 'Account tokens');
    await page.getByRole('row', { name: /CI reader/ }).getByRole('button', { name: 'Delete', exact: true }).click();
    await confirmDialog(page);
    await expectCount(page.getByRole('row', { name: /CI reader/ }), 0);
    await ready(page, 'Account tokens');
    assert.ok(!(await accountTokens(h.server)).some((t) => t.id === token.id), 'the API no longer lists it');
    // The bootstrap token (the one signed in) is still there.
    await expectVisible(page.getByRole('row', { name: /Portcullis bootstrap/ }));
  });

  ctest(h, 'User tokens: create one for the signed-in user', async () => {
    const page = await signedInWithKey(h);
    await open(h, page, '#/user/tokens', 'User tokens');
    const resources = page.getByRole('group', { name: 'Policy 1' }).getByLabel('Resources', { exact: true });
    await expectVisible(resources);
    const options = await resources.locator('option').allInnerTexts();
    assert.ok(options.some((o) => o.trim() === 'All accounts'), `user tokens offer "All accounts": ${JSON.stringify(options)}`);
    await fillTokenForm(page, 'laptop', 'Account Settings Read', 'This account');
    await page.getByRole('button', { name: 'Create token', exact: true }).click();
    const value = await shownValue(page);
    const v = await verifyUserToken(h.server, value);
    assert.equal(v.status, 200, `the user token verifies: ${JSON.stringify(v.body)}`);
    await dismissValue(page);
    await expectVisible(page.getByRole('row', { name: /laptop/ }));
    const mine = await ok(h.server, 'GET', '/user/tokens', { auth: globalKey(h.server) });
    assert.ok(mine.some((t) => t.name === 'laptop'), 'the API lists the user token');
  });

  ctest(h, 'Edit: rename, change the policies, set and clear the expiry', async () => {
    const a = h.server.boot.account_id;
    const pg = await tokenPermissionGroup(h.server, 'Account Settings Read');
    const made = await ok(h.server, 'POST', `/accounts/${a}/tokens`, {
      body: { name: 'To edit', policies: [{ effect: 'allow', permission_groups: [{ id: pg.id }], resources: { [`com.cloudflare.api.account.${a}`]: '*' } }] },
    });
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'tokens'), 'Account tokens');
    await page.getByRole('row', { name: /To edit/ }).getByRole('link', { name: 'Edit', exact: true }).click();
    await ready(page, 'Account tokens');
    const form = page.getByRole('region', { name: 'Edit To edit' });
    await expectVisible(form);
    assert.equal(await form.getByLabel('Name', { exact: true }).inputValue(), 'To edit');
    const policy = form.getByRole('group', { name: 'Policy 1' });
    assert.equal(await policy.getByRole('checkbox', { name: 'Account Settings Read', exact: true }).isChecked(), true, 'the policy is prefilled');
    await form.getByLabel('Name', { exact: true }).fill('Edited');
    await policy.getByLabel('Effect', { exact: true }).selectOption({ label: 'Deny' });
    await form.getByLabel('Expires on', { exact: true }).fill('2031-01-02T03:04');
    await form.getByRole('button', { name: 'Save token', exact: true }).click();
    await expectVisible(page.getByRole('row', { name: /Edited/ }));
    let stored = await ok(h.server, 'GET', `/accounts/${a}/tokens/${made.id}`);
    assert.equal(stored.name, 'Edited');
    assert.equal(stored.policies[0].effect, 'deny');
    assert.match(stored.expires_on, /^2031-01-02T03:04:00/);

    // Emptying "Expires on" clears the expiry.
    await page.getByRole('row', { name: /Edited/ }).getByRole('link', { name: 'Edit', exact: true }).click();
    await ready(page, 'Account tokens');
    const again = page.getByRole('region', { name: 'Edit Edited' });
    assert.match(await again.getByLabel('Expires on', { exact: true }).inputValue(), /^2031-01-02T03:04/);
    await again.getByLabel('Expires on', { exact: true }).fill('');
    await again.getByRole('button', { name: 'Save token', exact: true }).click();
    await expectCount(page.getByRole('region', { name: 'Edit Edited' }), 0);
    stored = await ok(h.server, 'GET', `/accounts/${a}/tokens/${made.id}`);
    assert.equal(stored.expires_on ?? null, null, JSON.stringify(stored));
  });
});

