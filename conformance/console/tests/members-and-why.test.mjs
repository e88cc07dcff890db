// Members beyond the headline story: an invitation accepted by the invited user in their own
// console, roles saved on a member's page, "Why?" for a token and for a permission group, the
// API's list filters (user-group search, member status), editing a resource group, and an
// operator creating an account.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe } from 'node:test';
import {
  acct,
  ctest,
  dataRows,
  expectCount,
  expectText,
  expectVisible,
  open,
  ready,
  selectOptionContaining,
  signedInPage,
  signedInWithKey,
  useConsole,
} from '../lib/browser.mjs';
import { findMember, ok, permissionGroup, tokenPermissionGroup } from '../lib/api.mjs';
import { BIN } from '../lib/server.mjs';

const CAROL = 'carol@acme.example';

/** `portcullis user-key --email EMAIL` on the server's database: `{user_id, email, api_key}`. */
async function userKey(server, email) {
  const { stdout } = await promisify(execFile)(BIN, ['user-key', '--database', server.database, '--email', email], { timeout: 30_000 });
  return JSON.parse(stdout.trim());
}

describe('members, invitations, Why? for tokens and permission groups, filters', () => {
  const h = useConsole();

  ctest(h, 'an invitation: pending in the list, accepted by the invited user in their console', async () => {
    const carol = await userKey(h.server, CAROL);
    const admin = await signedInPage(h);
    await open(h, admin, acct(h, 'members'), 'Members');
    await admin.getByLabel('Email', { exact: true }).fill(CAROL);
    await admin.getByRole('button', { name: 'Invite', exact: true }).click();
    await expectText(admin.getByRole('row', { name: /carol@acme\.example/ }), /\bpending\b/);
    // The API's status filter.
    await admin.getByLabel('Show', { exact: true }).selectOption({ label: 'Pending' });
    await ready(admin, 'Members');
    assert.match(admin.url(), /status=pending/);
    const rows = await dataRows(admin).allInnerTexts();
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.match(rows[0], /carol@acme\.example/);

    const page = await signedInWithKey(h, { email: CAROL, key: carol.api_key });
    const invitations = page.getByRole('region', { name: 'Your invitations' });
    const row = invitations.getByRole('row', { name: /Acme/ });
    await expectVisible(row);
    await row.getByRole('button', { name: 'Accept', exact: true }).click();
    await expectVisible(page.getByRole('status').filter({ hasText: /accepted/ }));
    await expectVisible(page.getByRole('main').getByRole('link', { name: 'Acme', exact: true }));
    await expectText(page.getByLabel('Account', { exact: true }), /Acme/);
    assert.equal((await findMember(h.server, CAROL)).status, 'accepted');
  });

  ctest(h, 'roles saved on a member\'s page show up in their effective policies', async () => {
    let carol = await findMember(h.server, CAROL);
    if (!carol) {
      await userKey(h.server, CAROL);
      await ok(h.server, 'POST', `/accounts/${h.server.boot.account_id}/members`, { body: { email: CAROL, roles: [], status: 'accepted' } });
      carol = await findMember(h.server, CAROL);
    }
    const page = await signedInPage(h);
    await open(h, page, acct(h, `members/${carol.id}`), CAROL);
    const roles = page.getByRole('group', { name: 'Legacy roles' });
    await roles.getByRole('checkbox', { name: 'Administrator Read Only', exact: true }).check();
    await page.getByRole('button', { name: 'Save roles', exact: true }).click();
    await expectVisible(page.getByRole('status').filter({ hasText: /Roles saved/ }));
    const effective = page.getByRole('region', { name: 'Effective policies' });
    await expectText(effective, /role: Administrator Read Only/);
    const member = await findMember(h.server, CAROL);
    assert.deepEqual(member.roles.map((r) => r.name), ['Administrator Read Only']);
  });

  ctest(h, 'Why? for a token, and for a permission group', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'why'), 'Why?');
    await selectOptionContaining(page.getByLabel('Principal', { exact: true }), 'Portcullis bootstrap');
    await page.getByLabel('Permission', { exact: true }).fill('com.cloudflare.api.account.token.create');
    await page.getByRole('button', { name: 'Decide', exact: true }).click();
    const decision = page.getByRole('region', { name: 'Decision' });
    await expectVisible(decision.getByRole('heading', { name: 'Allowed', exact: true }));
    await expectText(decision, /token policy/);
    const policies = page.getByRole('region', { name: 'Token policies' });
    await expectText(policies, /decided this/);

    // A permission group (by id) for a member who holds nothing: denied, by default.
    await ok(h.server, 'POST', `/accounts/${h.server.boot.account_id}/members`, { body: { email: 'dave@acme.example', roles: [], status: 'accepted' } })
      .catch(() => {});
    await page.reload();
    await ready(page, 'Why?');
    const group = await permissionGroup(h.server, 'Administrator Read Only');
    await selectOptionContaining(page.getByLabel('Principal', { exact: true }), 'dave@acme.example');
    await page.getByLabel('Permission', { exact: true }).fill(group.id);
    await page.getByRole('button', { name: 'Decide', exact: true }).click();
    await expectVisible(decision.getByRole('heading', { name: 'Denied', exact: true }));
    await expectText(decision, /Administrator Read Only/);
    await expectText(decision, /denies by default/);
    // The question is in the address: reloading asks it again.
    assert.match(page.url(), /permission=/);
    await page.reload();
    await ready(page, 'Why?');
    await expectVisible(page.getByRole('region', { name: 'Decision' }).getByRole('heading', { name: 'Denied', exact: true }));
  });

  ctest(h, 'user groups: the search uses the API\'s fuzzyName filter', async () => {
    const a = h.server.boot.account_id;
    for (const name of ['Alpha team', 'Beta team']) {
      await ok(h.server, 'POST', `/accounts/${a}/iam/user_groups`, { body: { name, policies: [] } }).catch(() => {});
    }
    const page = await signedInPage(h);
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await open(h, page, acct(h, 'user-groups'), 'User groups');
    await page.getByLabel('Search user groups', { exact: true }).fill('alp');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await ready(page, 'User groups');
    await expectCount(page.getByRole('row', { name: /Beta team/ }), 0);
    await expectVisible(page.getByRole('row', { name: /Alpha team/ }));
    assert.ok(requests.some((u) => /iam\/user_groups\?.*fuzzyName=alp/.test(u)), requests.join('\n'));
    await page.getByLabel('Search user groups', { exact: true }).fill('no such group');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await ready(page, 'User groups');
    await expectText(page.getByRole('main'), /No user group name contains "no such group"/);
  });

  ctest(h, 'a resource group is edited in place', async () => {
    const a = h.server.boot.account_id;
    const rg = await ok(h.server, 'POST', `/accounts/${a}/iam/resource_groups`, {
      body: { name: 'Zones A', scope: { key: `com.cloudflare.api.account.${a}`, objects: [{ key: '*' }] } },
    });
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'resource-groups'), 'Resource groups');
    await page.getByRole('row', { name: /Zones A/ }).getByRole('link', { name: 'Edit', exact: true }).click();
    await ready(page, 'Resource groups');
    const form = page.getByRole('region', { name: 'Edit Zones A' });
    await form.getByLabel('Name', { exact: true }).fill('Zones B');
    await form.getByLabel('Scope objects', { exact: true }).fill('com.cloudflare.api.account.zone.0123456789abcdef0123456789abcdef');
    await form.getByRole('button', { name: 'Save resource group', exact: true }).click();
    await ready(page, 'Resource groups');
    await expectVisible(page.getByRole('row', { name: /Zones B/ }));
    const stored = await ok(h.server, 'GET', `/accounts/${a}/iam/resource_groups/${rg.id}`);
    assert.equal(stored.name, 'Zones B');
    const scope = Array.isArray(stored.scope) ? stored.scope[0] : stored.scope;
    assert.deepEqual(scope.objects.map((o) => o.key), ['com.cloudflare.api.account.zone.0123456789abcdef0123456789abcdef']);
  });

  ctest(h, 'an operator creates an account and lands in it', async () => {
    const page = await signedInWithKey(h);
    await page.getByLabel('Account name', { exact: true }).fill('Second Acme');
    await page.getByRole('button', { name: 'Create account', exact: true }).click();
    await ready(page, 'Members');
    await expectText(page.getByLabel('Account', { exact: true }), /Second Acme/);
    assert.match(await page.getByLabel('Account', { exact: true }).locator('option:checked').innerText(), /Second Acme/);
    await expectVisible(page.getByRole('row', { name: /admin@acme\.example/ }));
  });

  ctest(h, 'a narrow token sees what it may and the API\'s refusal for the rest', async () => {
    const a = h.server.boot.account_id;
    // SSO Connector Read grants '#sso_connector:read' only: not the member list, not even the
    // account's name (so the console shows the account by its id).
    const pg = await tokenPermissionGroup(h.server, 'SSO Connector Read');
    const token = await ok(h.server, 'POST', `/accounts/${a}/tokens`, {
      body: { name: 'SSO reader', policies: [{ effect: 'allow', permission_groups: [{ id: pg.id }], resources: { [`com.cloudflare.api.account.${a}`]: '*' } }] },
    });
    const page = await h.page();
    await page.goto(h.server.consoleUrl('#/signin'));
    await ready(page, 'Sign in to Portcullis');
    await page.getByLabel('API token', { exact: true }).fill(token.value);
    await page.getByLabel('Account ID', { exact: true }).fill(a);
    await page.getByRole('button', { name: 'Sign in with token' }).click();
    await ready(page, 'Accounts');
    await expectVisible(page.getByRole('main').getByRole('link', { name: a, exact: true }));
    await open(h, page, acct(h, 'sso'), 'SSO connectors');
    await expectText(page.getByRole('main'), /No SSO connectors yet|TXT record/);
    await expectCount(page.getByRole('alert'), 0);
    await open(h, page, acct(h, 'members'), 'Members');
    const alert = page.getByRole('alert');
    await expectText(alert, /requires permission '#organization:read'/);
    // Still signed in: the refusal is about this page, not the credentials.
    await expectVisible(page.getByRole('button', { name: 'Sign out', exact: true }));
  });

  ctest(h, 'invite with a policy instead of roles', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'members'), 'Members');
    await page.getByLabel('Email', { exact: true }).fill('erin@acme.example');
    await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Accepted' });
    await page.getByLabel('Access by', { exact: true }).selectOption({ label: 'Policies' });
    await expectCount(page.getByRole('group', { name: 'Roles' }), 0);
    const policy = page.getByRole('group', { name: 'Policy 1' });
    await policy.getByLabel('Filter permission groups', { exact: true }).fill('Audit');
    await policy.getByRole('checkbox', { name: 'Audit Logs Viewer', exact: true }).check();
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await expectText(page.getByRole('row', { name: /erin@acme\.example/ }), /1 policy/);
    const erin = await findMember(h.server, 'erin@acme.example');
    assert.equal(erin.policies.length, 1, JSON.stringify(erin));
    assert.deepEqual(erin.policies[0].permission_groups.map((g) => g.name), ['Audit Logs Viewer']);
    assert.deepEqual(erin.roles, []);
  });

  ctest(h, 'Why? "Check every permission": the administrator holds all, a member with nothing holds none', async () => {
    await ok(h.server, 'POST', `/accounts/${h.server.boot.account_id}/members`, { body: { email: 'frank@acme.example', roles: [], status: 'accepted' } })
      .catch(() => {});
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'why'), 'Why?');
    const overview = page.getByRole('region', { name: 'Every permission' });
    await selectOptionContaining(page.getByLabel('Principal', { exact: true }), 'admin@acme.example');
    await page.getByRole('button', { name: 'Check every permission', exact: true }).click();
    const all = await expectText(overview, /(\d+) of (\d+) permissions this server checks are allowed/);
    const [, allowed, total] = all.match(/(\d+) of (\d+) permissions/);
    assert.ok(Number(total) >= 20, `every route key is checked: ${total}`);
    assert.equal(allowed, total, 'the Super Administrator holds every permission');
    await expectText(overview, /com\.cloudflare\.api\.account\.member\.read/);
    await expectText(overview, /role: Super Administrator/);

    await selectOptionContaining(page.getByLabel('Principal', { exact: true }), 'frank@acme.example');
    await expectCount(overview.getByRole('table'), 0);
    await page.getByRole('button', { name: 'Check every permission', exact: true }).click();
    await expectText(overview, new RegExp(`^[\\s\\S]*\\b0 of ${total} permissions`));
    await expectText(overview, /default deny/);
  });
});

