// The headline scenario: bob joins with no access of his own; a user group gives him read access;
// Why? explains the decision before and after, and his member page shows where his access comes
// from. Each test prepares what it needs through the API when an earlier step did not (so one
// failure does not hide the rest), then asserts on what the console shows and on the API.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  acct,
  confirmDialog,
  ctest,
  eventually,
  expectCount,
  expectHidden,
  expectText,
  expectVisible,
  literal,
  open,
  ready,
  screenshot,
  selectOptionContaining,
  signedInPage,
  useConsole,
} from '../lib/browser.mjs';
import {
  ensureInGroup,
  ensureMember,
  ensureUserGroup,
  findMember,
  findUserGroup,
  groupMembers,
  ok,
  permissionGroup,
} from '../lib/api.mjs';

const BOB = 'bob@acme.example';
const PERMISSION = 'com.cloudflare.api.account.member.read';

/** Asks Why? about `email` and `PERMISSION`; answers the Decision region. */
async function decide(page, h, email) {
  if (email) await selectOptionContaining(page.getByLabel('Principal', { exact: true }), email);
  await page.getByLabel('Permission', { exact: true }).fill(PERMISSION);
  assert.equal(
    await page.getByLabel('Resource', { exact: true }).inputValue(),
    `com.cloudflare.api.account.${h.server.boot.account_id}`,
    'Resource defaults to the account',
  );
  await page.getByRole('button', { name: 'Decide', exact: true }).click();
  const decision = page.getByRole('region', { name: 'Decision' });
  await expectVisible(decision);
  await page.locator('main[aria-busy="false"]').waitFor({ state: 'attached' });
  return decision;
}

describe('user groups give a member access; Why? explains it', () => {
  const h = useConsole();

  ctest(h, 'invite bob with no roles', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'members'), 'Members');
    await expectVisible(page.getByRole('row', { name: literal(h.server.boot.email) }));
    for (const column of ['Email', 'Status', 'Access']) {
      await expectVisible(page.getByRole('columnheader', { name: column, exact: true }));
    }

    await page.getByLabel('Email', { exact: true }).fill(BOB);
    await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Accepted' });
    const roles = page.getByRole('group', { name: 'Roles' });
    await expectVisible(roles.getByRole('checkbox', { name: 'Administrator Read Only', exact: true }));
    for (const box of await roles.getByRole('checkbox').all()) assert.equal(await box.isChecked(), false, 'no role is checked by default');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();

    const row = page.getByRole('row', { name: /bob@acme\.example/ });
    await expectVisible(row);
    await expectVisible(row.getByRole('link', { name: 'Why?' }));
    await expectVisible(row.getByRole('button', { name: 'Remove' }));
    await expectVisible(page.getByRole('status').filter({ hasText: /\S/ }));
    await ready(page, 'Members');
    await screenshot(page, 'members');

    const bob = await findMember(h.server, BOB);
    assert.ok(bob, 'bob is a member');
    assert.equal(bob.status, 'accepted');
    assert.deepEqual(bob.roles, [], 'bob has no roles');
    assert.deepEqual(bob.policies ?? [], [], 'bob has no policies');
  });

  ctest(h, 'Why? denies bob before he is in any group', async () => {
    await ensureMember(h.server, BOB);
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'why'), 'Why?');
    const principals = await page.getByLabel('Principal', { exact: true }).locator('option').allInnerTexts();
    assert.ok(principals.some((o) => o.includes('Portcullis bootstrap')), `tokens are principals too (by name): ${JSON.stringify(principals)}`);
    const decision = await decide(page, h, BOB);
    await expectVisible(decision.getByRole('heading', { name: 'Denied', exact: true }));
    await expectCount(decision.getByRole('heading', { name: 'Allowed', exact: true }), 0);
  });

  ctest(h, 'create the user group Engineers with Administrator Read Only over the whole account', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'user-groups'), 'User groups');
    await page.getByLabel('Name', { exact: true }).fill('Engineers');
    const policy = page.getByRole('group', { name: 'Policy 1' });
    await expectVisible(policy);
    await policy.getByLabel('Effect', { exact: true }).selectOption({ label: 'Allow' });
    // The filter narrows the permission groups shown.
    await policy.getByLabel('Filter permission groups', { exact: true }).fill('Read Only');
    await expectVisible(policy.getByRole('checkbox', { name: 'Administrator Read Only', exact: true }));
    await expectHidden(policy.getByRole('checkbox', { name: 'Analytics', exact: true }));
    await policy.getByRole('checkbox', { name: 'Administrator Read Only', exact: true }).check();
    await policy.getByLabel('Filter permission groups', { exact: true }).fill('');
    await policy.getByRole('group', { name: 'Resource groups' }).getByRole('checkbox', { name: 'The whole account', exact: true }).check();
    await page.getByRole('button', { name: 'Create user group', exact: true }).click();

    await expectVisible(page.getByRole('row', { name: /Engineers/ }).getByRole('link', { name: 'Engineers', exact: true }));
    await ready(page, 'User groups');
    await screenshot(page, 'user-groups');

    const group = await findUserGroup(h.server, 'Engineers');
    assert.ok(group, 'the group exists');
    const ro = await permissionGroup(h.server, 'Administrator Read Only');
    assert.equal(group.policies.length, 1, JSON.stringify(group.policies));
    const [p] = group.policies;
    assert.equal(p.access, 'allow');
    assert.deepEqual(p.permission_groups.map((g) => g.id), [ro.id]);
    assert.equal(p.resource_groups.length, 1, 'one resource group: the whole account');
    // The audit log records the console's change with interface UI (Cloudflare's for its dashboard).
    const log = await ok(h.server, 'GET', `/accounts/${h.server.boot.account_id}/audit_logs?action.type=create&per_page=50`);
    const entry = log.find((e) => e.resource.type === 'user_group' && e.resource.id === group.id);
    assert.ok(entry, 'the creation is in the audit log');
    assert.equal(entry.interface, 'UI');
    assert.match(entry.metadata.user_agent, /Chrome/);
  });

  ctest(h, 'add bob to Engineers with "Add selected"', async () => {
    const bob = await ensureMember(h.server, BOB);
    const group = await ensureUserGroup(h.server, 'Engineers');
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'user-groups'), 'User groups');
    await page.getByRole('link', { name: 'Engineers', exact: true }).click();
    await ready(page, 'User group: Engineers');
    assert.ok(page.url().endsWith(acct(h, `user-groups/${group.id}`)), page.url());
    await expectVisible(page.getByRole('heading', { name: 'Members', exact: true }));
    await expectVisible(page.getByRole('heading', { name: 'Add members', exact: true }));
    await expectVisible(page.getByRole('heading', { name: 'Policies', exact: true }));
    // The policy builder is prefilled with the group's policy.
    const policy = page.getByRole('group', { name: 'Policy 1' });
    await expectVisible(policy.getByRole('checkbox', { name: 'Administrator Read Only', exact: true }));
    assert.equal(await policy.getByRole('checkbox', { name: 'Administrator Read Only', exact: true }).isChecked(), true);
    await expectVisible(page.getByRole('button', { name: 'Save policies' }));
    await expectVisible(page.getByRole('button', { name: 'Delete user group' }));

    await page.getByRole('checkbox', { name: BOB, exact: true }).check();
    await page.getByRole('button', { name: 'Add selected', exact: true }).click();
    await expectVisible(page.getByRole('checkbox', { name: `Select ${BOB}`, exact: true }));
    await ready(page, 'User group: Engineers');
    await screenshot(page, 'user-group');
    assert.deepEqual((await groupMembers(h.server, group.id)).map((m) => m.id), [bob.id]);
  });

  ctest(h, 'Why? (from bob\'s row) allows him through the user group', async () => {
    const bob = await ensureMember(h.server, BOB);
    const group = await ensureUserGroup(h.server, 'Engineers');
    await ensureInGroup(h.server, group.id, bob.id);
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'members'), 'Members');
    await page.getByRole('row', { name: /bob@acme\.example/ }).getByRole('link', { name: 'Why?' }).click();
    await ready(page, 'Why?');
    assert.ok(page.url().endsWith(acct(h, `why?member=${bob.id}`)), `the row's link names bob: ${page.url()}`);
    const principal = page.getByLabel('Principal', { exact: true });
    const chosen = await principal.evaluate((s) => s.options[s.selectedIndex]?.text ?? '');
    assert.ok(chosen.includes(BOB), `bob is preselected (${JSON.stringify(chosen)})`);

    const decision = await decide(page, h, null);
    await expectVisible(decision.getByRole('heading', { name: 'Allowed', exact: true }));
    await expectText(decision, 'user group: Engineers');
    await expectVisible(page.getByRole('heading', { name: 'Effective policies', exact: true }));
    await screenshot(page, 'why-allowed');
    // The deciding policy links to the group it comes from.
    await expectVisible(decision.getByRole('link', { name: 'user group: Engineers', exact: true }));

    // Everything bob may do: reads through Engineers, and nothing else.
    await page.getByRole('button', { name: 'Check every permission', exact: true }).click();
    const overview = page.getByRole('region', { name: 'Every permission' });
    await expectText(overview, /\d+ of \d+ permissions this server checks are allowed/);
    const allowedRow = overview.getByRole('row', { name: /com\.cloudflare\.api\.account\.member\.read\b/ });
    await expectText(allowedRow, /allowed/);
    await expectText(allowedRow, /user group: Engineers/);
    const deniedRow = overview.getByRole('row', { name: /com\.cloudflare\.api\.account\.member\.create\b/ });
    await expectText(deniedRow, /denied/);
    await expectText(deniedRow, /default deny/);
    await screenshot(page, 'why-everything', { at: overview });
  });

  ctest(h, 'bob\'s member page shows his access coming from Engineers', async () => {
    const bob = await ensureMember(h.server, BOB);
    const group = await ensureUserGroup(h.server, 'Engineers');
    await ensureInGroup(h.server, group.id, bob.id);
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'members'), 'Members');
    await page.getByRole('link', { name: BOB, exact: true }).click();
    await ready(page, BOB);
    assert.ok(page.url().endsWith(acct(h, `members/${bob.id}`)), page.url());
    for (const section of ['Roles', 'Policies', 'User groups', 'Effective policies']) {
      await expectVisible(page.getByRole('heading', { name: section, exact: true }));
    }
    await expectVisible(page.getByRole('row', { name: /user group: Engineers/ }));
    await screenshot(page, 'member', { at: page.getByRole('heading', { name: 'User groups', exact: true }) });
  });

  ctest(h, 'remove bob from Engineers with "Remove selected" (Cancel keeps him, Confirm removes him)', async () => {
    const bob = await ensureMember(h.server, BOB);
    const group = await ensureUserGroup(h.server, 'Engineers');
    await ensureInGroup(h.server, group.id, bob.id);
    const page = await signedInPage(h);
    await open(h, page, acct(h, `user-groups/${group.id}`), 'User group: Engineers');
    const select = page.getByRole('checkbox', { name: `Select ${BOB}`, exact: true });
    await select.check();
    await page.getByRole('button', { name: 'Remove selected', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await expectVisible(dialog);
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await expectHidden(dialog);
    assert.equal((await groupMembers(h.server, group.id)).length, 1, 'Cancel removes nobody');

    if (!(await select.isChecked())) await select.check();
    await page.getByRole('button', { name: 'Remove selected', exact: true }).click();
    await confirmDialog(page);
    await expectHidden(page.getByRole('checkbox', { name: `Select ${BOB}`, exact: true }));
    await ready(page, 'User group: Engineers');
    assert.deepEqual(await groupMembers(h.server, group.id), [], 'bob left the group');
    // He can be added again: he is offered under "Add members".
    await expectVisible(page.getByRole('checkbox', { name: BOB, exact: true }));
  });
  ctest(h, 'the policy builder: Add policy, Save policies, Remove policy, then Delete user group', async () => {
    const group = await ensureUserGroup(h.server, 'Builders');
    const analytics = await permissionGroup(h.server, 'Analytics');
    const page = await signedInPage(h);
    await open(h, page, acct(h, `user-groups/${group.id}`), 'User group: Builders');
    await expectVisible(page.getByRole('group', { name: 'Policy 1' }));
    await expectCount(page.getByRole('group', { name: 'Policy 2' }), 0);
    await page.getByRole('button', { name: 'Add policy', exact: true }).click();
    const second = page.getByRole('group', { name: 'Policy 2' });
    await expectVisible(second);
    await second.getByLabel('Effect', { exact: true }).selectOption({ label: 'Deny' });
    await second.getByLabel('Filter permission groups', { exact: true }).fill('Analytics');
    await second.getByRole('checkbox', { name: 'Analytics', exact: true }).check();
    await second.getByRole('group', { name: 'Resource groups' }).getByRole('checkbox', { name: 'The whole account', exact: true }).check();
    await page.getByRole('button', { name: 'Save policies', exact: true }).click();
    await expectVisible(page.getByRole('status').filter({ hasText: /\S/ }));
    await eventually(async () => {
      const saved = await findUserGroup(h.server, 'Builders');
      assert.deepEqual(
        saved.policies.map((p) => [p.access, p.permission_groups.map((g) => g.id)]).sort(),
        [['allow', saved.policies.find((p) => p.access === 'allow').permission_groups.map((g) => g.id)], ['deny', [analytics.id]]].sort(),
      );
    });

    await ready(page, 'User group: Builders');
    await page.getByRole('group', { name: 'Policy 2' }).getByRole('button', { name: 'Remove policy', exact: true }).click();
    if (await page.getByRole('dialog').isVisible()) await confirmDialog(page);
    await expectCount(page.getByRole('group', { name: 'Policy 2' }), 0);
    await page.getByRole('button', { name: 'Save policies', exact: true }).click();
    await eventually(async () => {
      const saved = await findUserGroup(h.server, 'Builders');
      assert.deepEqual(saved.policies.map((p) => p.access), ['allow']);
    });

    await ready(page, 'User group: Builders');
    await page.getByRole('button', { name: 'Delete user group', exact: true }).click();
    await confirmDialog(page);
    await ready(page, 'User groups');
    await expectCount(page.getByRole('link', { name: 'Builders', exact: true }), 0);
    assert.equal(await findUserGroup(h.server, 'Builders'), undefined, 'the group is gone');
  });

  ctest(h, 'Remove a member from the account (confirmed)', async () => {
    const carol = await ensureMember(h.server, 'carol@acme.example');
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'members'), 'Members');
    const row = page.getByRole('row', { name: /carol@acme\.example/ });
    await row.getByRole('button', { name: 'Remove', exact: true }).click();
    await confirmDialog(page);
    await expectCount(page.getByRole('row', { name: /carol@acme\.example/ }), 0);
    assert.equal(await findMember(h.server, 'carol@acme.example'), undefined, `member ${carol.id} is gone`);
  });
});
