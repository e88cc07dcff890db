// client.memberships.{list,get,update,delete}: /memberships[/{id}] (the caller's member rows in every
// account) and client.user.edit: PATCH /user.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import { assertId, collect, expectApiError, uniq } from './lib/expect.mjs';
import { PG, ROLE, accountKey, assertResourceGroup, scopeOf } from './lib/iam.mjs';

const SUPER_ADMIN = '33666b9c79b9a5273fc7344ff42f953d';
const SUPER_ADMIN_NAME = 'Super Administrator - All Privileges';
const READ_ONLY = 'Administrator Read Only';
/** Token catalog: Account Settings Read (account scope). */
const TPG_ACCOUNT_SETTINGS_READ = 'c1fde68c7bcc44588cbb6ddbc16d6480';

const NOT_FOUND = { status: 404, code: 1003 };
const VALIDATION = { status: 400, code: 1001 };
const NOT_PERMITTED = { status: 403, code: 10000 };

const PROFILE = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  country: 'GB',
  telephone: '+44 20 7946 0000',
  zipcode: 'SW1A 1AA',
};
const profileOf = (u) => Object.fromEntries(Object.keys(PROFILE).map((k) => [k, u[k] ?? null]));

/** The `source.pointer` of the first error with `code`. */
function errorPointer(err, code) {
  const e = err.errors.find((x) => x.code === code);
  assert.ok(e, `no error ${code} in ${JSON.stringify(err.errors)}`);
  return e.source?.pointer;
}

function assertMembershipShape(m, { withPolicies = false } = {}) {
  assert.ok(m && typeof m === 'object', `membership: ${JSON.stringify(m)}`);
  assertId(m.id, 'membership id');
  assert.ok(['accepted', 'pending'].includes(m.status), `status ${m.status}`);
  assert.ok(m.account && typeof m.account === 'object', `account: ${JSON.stringify(m)}`);
  assertId(m.account.id, 'membership account.id');
  assert.equal(typeof m.account.name, 'string', 'membership account.name');
  assert.ok(Array.isArray(m.roles), `roles: ${JSON.stringify(m.roles)}`);
  for (const r of m.roles) assert.equal(typeof r, 'string', `roles are names: ${JSON.stringify(m.roles)}`);
  const org = m.permissions?.organization;
  assert.ok(org && typeof org === 'object', `permissions.organization: ${JSON.stringify(m.permissions)}`);
  assert.equal(typeof org.read, 'boolean', 'organization.read');
  assert.equal(typeof org.write, 'boolean', 'organization.write');
  if (withPolicies) assert.ok(Array.isArray(m.policies), `policies: ${JSON.stringify(m)}`);
}

describe('memberships and user.edit', () => {
  let srv;
  let account_id;
  let accountName;
  /** the bootstrap operator (email + key): a user, Super Administrator of the bootstrap account */
  let admin;
  /** a second account, created by the operator */
  let sandbox;

  /** A fresh user with a global key: {info, client}. */
  async function newUser(prefix = 'ms') {
    const info = await srv.userKey(`${uniq(prefix)}@example.com`);
    return { info, client: srv.keyClient(info.email, info.api_key) };
  }

  /** An invitation (pending by default) of `email` to `accountId` as Administrator Read Only. */
  function invite(accountId, email, extra = {}) {
    const body = { account_id: accountId, email, ...extra };
    if (!('policies' in extra) && !('roles' in extra)) body.roles = [ROLE.ADMIN_RO];
    return admin.accounts.members.create(body);
  }

  /** A fresh user invited to `accountId`: {info, client, member}. */
  async function invitedUser(accountId, extra = {}) {
    const email = `${uniq('ms')}@example.com`;
    const member = await invite(accountId, email, extra);
    const info = await srv.userKey(email);
    assert.equal(info.user_id, member.user.id, 'user-key gives the invited user a key');
    return { info, client: srv.keyClient(info.email, info.api_key), member };
  }

  const ids = async (client, params = {}) => (await collect(client.memberships.list(params))).map((m) => m.id);

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
    admin = srv.adminKey;
    accountName = (await admin.accounts.get({ account_id })).name;
    const acct = await admin.accounts.create({ name: uniq('Memberships Sandbox'), type: 'standard' });
    sandbox = { id: acct.id, name: acct.name };
  });
  after(async () => {
    await srv?.stop();
  });

  // --- list / get --------------------------------------------------------------------------------

  it('a pending invitation is visible to the invited user (roles as names, no permissions)', async () => {
    const { info, client: user, member } = await invitedUser(account_id);
    assert.equal(member.status, 'pending');

    const rec = recordingFetch({ bodies: true });
    const recorded = srv.keyClient(info.email, info.api_key, { fetch: rec.fetch });
    const page = await recorded.memberships.list();
    assert.equal(rec.calls.length, 1);
    assert.equal(rec.calls[0].body.success, true);
    assert.equal(rec.calls[0].body.result_info.total_count, 1);
    assert.deepEqual(
      page.result.map((m) => m.id),
      [member.id],
      'membership id == member id; only the caller’s rows',
    );
    const m = page.result[0];
    assertMembershipShape(m);
    assert.equal(m.status, 'pending');
    assert.equal(m.account.id, account_id);
    assert.equal(m.account.name, accountName);
    assert.deepEqual(m.roles, [READ_ONLY]);
    assert.deepEqual(m.permissions.organization, { read: false, write: false }, 'pending holds nothing');

    const got = await user.memberships.get(member.id);
    assertMembershipShape(got, { withPolicies: true });
    assert.equal(got.id, member.id);
    assert.equal(got.status, 'pending');
    assert.equal(got.account.id, account_id);
    assert.equal(got.account.name, accountName);
    assert.deepEqual(got.roles, [READ_ONLY]);
    assert.deepEqual(got.permissions.organization, { read: false, write: false });
    const { policies: _p, ...gotRest } = got;
    assert.deepEqual(gotRest, m, 'get (minus policies) equals the list entry');

    // A pending member cannot read the account yet.
    await expectApiError(user.accounts.get({ account_id }), Cloudflare.PermissionDeniedError, NOT_PERMITTED);
    await admin.accounts.members.delete(member.id, { account_id });
  });

  it('the bootstrap admin sees their accepted Super Administrator membership', async () => {
    const got = await admin.memberships.get(srv.boot.member_id);
    assertMembershipShape(got, { withPolicies: true });
    assert.equal(got.status, 'accepted');
    assert.equal(got.account.id, account_id);
    assert.equal(got.account.name, accountName);
    assert.deepEqual(got.roles, [SUPER_ADMIN_NAME]);
    assert.deepEqual(got.permissions.organization, { read: true, write: true });
    const mine = await ids(admin, { account: { name: accountName }, per_page: 50 });
    assert.ok(mine.includes(srv.boot.member_id), JSON.stringify(mine));
  });

  it('a policy member sees its expanded policies; resource-group scope is one object', async () => {
    const rg = await admin.iam.resourceGroups.create({
      account_id,
      name: uniq('ms-rg'),
      scope: scopeOf(account_id, ['*']),
    });
    try {
      const { client: user, member } = await invitedUser(account_id, {
        policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ id: rg.id }] }],
      });
      const got = await user.memberships.get(member.id);
      assertMembershipShape(got, { withPolicies: true });
      assert.equal(got.policies.length, 1, JSON.stringify(got.policies));
      const p = got.policies[0];
      assertId(p.id, 'policy id');
      assert.equal(p.access, 'allow');
      assert.deepEqual(
        p.permission_groups.map((g) => g.id),
        [PG.ADMIN_RO],
      );
      assert.equal(p.permission_groups[0].name, READ_ONLY);
      assert.deepEqual(
        p.resource_groups.map((g) => g.id),
        [rg.id],
      );
      assertResourceGroup(p.resource_groups[0], { accountId: account_id, objects: ['*'] });
      assert.equal(p.resource_groups[0].scope.key, accountKey(account_id));
      assert.deepEqual(p.resource_groups[0], await admin.iam.resourceGroups.get(rg.id, { account_id }));
      await admin.accounts.members.delete(member.id, { account_id });
    } finally {
      await admin.iam.resourceGroups.delete(rg.id, { account_id });
    }
  });

  it('list filters (status, account.name, name) and order/direction; pagination', async () => {
    const { info, client: user, member: pending } = await invitedUser(account_id);
    const accepted = await invite(sandbox.id, info.email, { status: 'accepted' });
    assert.equal(accepted.status, 'accepted');
    const both = [pending.id, accepted.id];

    const everything = await collect(user.memberships.list());
    assert.deepEqual(everything.map((m) => m.id).sort(), [...both].sort());
    for (const m of everything) assertMembershipShape(m);
    const acc = everything.find((m) => m.id === accepted.id);
    assert.equal(acc.status, 'accepted');
    assert.equal(acc.account.id, sandbox.id);
    assert.equal(acc.account.name, sandbox.name);
    assert.deepEqual(acc.permissions.organization, { read: true, write: false });

    // status
    assert.deepEqual(await ids(user, { status: 'accepted' }), [accepted.id]);
    assert.deepEqual(await ids(user, { status: 'pending' }), [pending.id]);
    const rejected = await user.memberships.list({ status: 'rejected' });
    assert.deepEqual(rejected.result, []);
    assert.equal(rejected.result_info.total_count, 0);

    // account name: the SDK sends `account.name`
    const rec = recordingFetch();
    const recorded = srv.keyClient(info.email, info.api_key, { fetch: rec.fetch });
    const byAccount = await recorded.memberships.list({ account: { name: sandbox.name } });
    assert.deepEqual(
      byAccount.result.map((m) => m.id),
      [accepted.id],
    );
    assert.equal(new URL(rec.calls[0].url).searchParams.get('account.name'), sandbox.name, rec.calls[0].url);
    assert.deepEqual(await ids(user, { account: { name: accountName } }), [pending.id]);
    assert.deepEqual(await ids(user, { account: { name: uniq('No Such Account') } }), []);
    assert.deepEqual(await ids(user, { name: sandbox.name }), [accepted.id]);

    // order / direction
    const statuses = async (params) => (await collect(user.memberships.list(params))).map((m) => m.status);
    assert.deepEqual(await statuses({ order: 'status' }), ['accepted', 'pending']);
    assert.deepEqual(await statuses({ order: 'status', direction: 'desc' }), ['pending', 'accepted']);
    assert.deepEqual(await ids(user, { order: 'id' }), [...both].sort());
    assert.deepEqual(await ids(user, { order: 'id', direction: 'desc' }), [...both].sort().reverse());
    const names = async (params) => (await collect(user.memberships.list(params))).map((m) => m.account.name);
    const asc = await names({ order: 'account.name' });
    assert.deepEqual(asc, [...asc].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    assert.deepEqual(await names({ order: 'account.name', direction: 'desc' }), [...asc].reverse());
    assert.deepEqual(await names({ direction: 'asc' }), asc, 'account.name is the default order');

    // pagination: per_page is clamped to 5..50; a page past the end is empty
    const first = await user.memberships.list({ per_page: 1 });
    assert.equal(first.result_info.per_page, 5);
    assert.equal(first.result_info.total_count, 2);
    assert.equal(first.result.length, 2);
    const walked = await collect(user.memberships.list({ per_page: 5 }));
    assert.deepEqual(walked.map((m) => m.id).sort(), [...both].sort());
    const past = await user.memberships.list({ per_page: 5, page: 2 });
    assert.deepEqual(past.result, []);
    assert.equal(past.result_info.total_count, 2);

    await admin.accounts.members.delete(accepted.id, { account_id: sandbox.id });
    await admin.accounts.members.delete(pending.id, { account_id });
  });

  it('an invalid order is 400/1001 pointing at /query/order', async () => {
    const { client: user } = await newUser();
    const err = await expectApiError(user.memberships.list({ order: 'bogus' }), Cloudflare.BadRequestError, VALIDATION);
    assert.equal(errorPointer(err, 1001), '/query/order', JSON.stringify(err.errors));
  });

  it('a fresh user has no memberships', async () => {
    const { client: user } = await newUser();
    const page = await user.memberships.list();
    assert.deepEqual(page.result, []);
    assert.equal(page.result_info.total_count, 0);
  });

  // --- accept / reject / leave -------------------------------------------------------------------

  it('accepting an invitation gives access to the account (idempotent)', async () => {
    const { client: user, member } = await invitedUser(account_id);
    const m = await user.memberships.update(member.id, { status: 'accepted' });
    assertMembershipShape(m);
    assert.equal(m.id, member.id);
    assert.equal(m.status, 'accepted');
    assert.equal(m.account.id, account_id);
    assert.deepEqual(m.roles, [READ_ONLY]);
    assert.deepEqual(m.permissions.organization, { read: true, write: false });

    const a = await user.accounts.get({ account_id });
    assert.equal(a.id, account_id);
    const got = await user.memberships.get(member.id);
    assert.equal(got.status, 'accepted');
    assert.deepEqual(got.permissions.organization, { read: true, write: false });
    assert.equal((await admin.accounts.members.get(member.id, { account_id })).status, 'accepted');

    const again = await user.memberships.update(member.id, { status: 'accepted' });
    assert.equal(again.id, member.id);
    assert.equal(again.status, 'accepted');
    assert.equal((await user.memberships.get(member.id)).status, 'accepted');
    assert.equal((await user.accounts.get({ account_id })).id, account_id);

    await admin.accounts.members.delete(member.id, { account_id });
  });

  it('rejecting an invitation answers status "rejected" and removes the member', async () => {
    const { info, client: user, member: first } = await invitedUser(account_id);
    const second = await invite(sandbox.id, info.email);
    assert.equal(second.status, 'pending');

    const m = await user.memberships.update(second.id, { status: 'rejected' });
    assert.equal(m.id, second.id);
    assert.equal(m.status, 'rejected');
    assert.equal(m.account?.id, sandbox.id);

    const adminView = await collect(admin.accounts.members.list({ account_id: sandbox.id, per_page: 50 }));
    assert.ok(!adminView.some((x) => x.id === second.id), 'the member is gone');
    await expectApiError(
      admin.accounts.members.get(second.id, { account_id: sandbox.id }),
      Cloudflare.NotFoundError,
      NOT_FOUND,
    );
    await expectApiError(user.memberships.get(second.id), Cloudflare.NotFoundError, NOT_FOUND);
    assert.deepEqual(await ids(user), [first.id], 'the other invitation is untouched');
    await expectApiError(user.accounts.get({ account_id: sandbox.id }), Cloudflare.PermissionDeniedError, NOT_PERMITTED);

    await admin.accounts.members.delete(first.id, { account_id });
  });

  it('an accepted membership cannot be rejected (400/1001)', async () => {
    const { client: user, member } = await invitedUser(account_id, { status: 'accepted' });
    assert.equal(member.status, 'accepted');
    await expectApiError(
      user.memberships.update(member.id, { status: 'rejected' }),
      Cloudflare.BadRequestError,
      VALIDATION,
    );
    assert.equal((await user.memberships.get(member.id)).status, 'accepted');
    assert.equal((await admin.accounts.members.get(member.id, { account_id })).status, 'accepted');
    await admin.accounts.members.delete(member.id, { account_id });
  });

  it('delete leaves the account: 200 {id}, then 404 and no access', async () => {
    const { client: user, member } = await invitedUser(account_id);
    await user.memberships.update(member.id, { status: 'accepted' });
    assert.equal((await user.accounts.get({ account_id })).id, account_id);

    const del = await user.memberships.delete(member.id);
    assert.deepEqual(del, { id: member.id });
    await expectApiError(user.memberships.get(member.id), Cloudflare.NotFoundError, NOT_FOUND);
    await expectApiError(user.memberships.delete(member.id), Cloudflare.NotFoundError, NOT_FOUND);
    const adminView = await collect(admin.accounts.members.list({ account_id, per_page: 50 }));
    assert.ok(!adminView.some((x) => x.id === member.id));
    assert.deepEqual(await ids(user), []);
    await expectApiError(user.accounts.get({ account_id }), Cloudflare.PermissionDeniedError, NOT_PERMITTED);
  });

  it("another user's membership is 404/1003 (get, update, delete)", async () => {
    const { client: owner, member } = await invitedUser(account_id);
    const { client: stranger } = await newUser('stranger');
    const calls = [
      () => stranger.memberships.get(member.id),
      () => stranger.memberships.update(member.id, { status: 'accepted' }),
      () => stranger.memberships.update(member.id, { status: 'rejected' }),
      () => stranger.memberships.delete(member.id),
      () => stranger.memberships.get(srv.boot.member_id),
      () => stranger.memberships.delete(srv.boot.member_id),
    ];
    for (const call of calls) await expectApiError(call(), Cloudflare.NotFoundError, NOT_FOUND);
    assert.equal((await owner.memberships.get(member.id)).status, 'pending');
    assert.equal((await admin.accounts.members.get(member.id, { account_id })).status, 'pending');
    await admin.accounts.members.delete(member.id, { account_id });
  });

  it('an unknown membership id is 404/1003', async () => {
    const id = 'a'.repeat(32);
    await expectApiError(admin.memberships.get(id), Cloudflare.NotFoundError, NOT_FOUND);
    await expectApiError(admin.memberships.update(id, { status: 'accepted' }), Cloudflare.NotFoundError, NOT_FOUND);
    await expectApiError(admin.memberships.delete(id), Cloudflare.NotFoundError, NOT_FOUND);
  });

  it('the last Super Administrator cannot leave (400/1001)', async () => {
    const supers = (await collect(admin.accounts.members.list({ account_id, status: 'accepted', per_page: 50 }))).filter(
      (m) => m.roles.some((r) => r.id === SUPER_ADMIN),
    );
    assert.deepEqual(
      supers.map((m) => m.id),
      [srv.boot.member_id],
      'precondition: the bootstrap admin is the only Super Administrator',
    );
    await expectApiError(admin.memberships.delete(srv.boot.member_id), Cloudflare.BadRequestError, VALIDATION);
    assert.equal((await admin.memberships.get(srv.boot.member_id)).status, 'accepted');
    assert.equal((await admin.accounts.get({ account_id })).id, account_id);

    // The same in an account the operator just created.
    const acct = await admin.accounts.create({ name: uniq('Ms Last SA'), type: 'standard' });
    try {
      const mine = await ids(admin, { account: { name: acct.name } });
      assert.equal(mine.length, 1, JSON.stringify(mine));
      await expectApiError(admin.memberships.delete(mine[0]), Cloudflare.BadRequestError, VALIDATION);
      assert.equal((await admin.memberships.get(mine[0])).status, 'accepted');
    } finally {
      await admin.accounts.delete({ account_id: acct.id });
    }
  });

  // --- account-owned tokens have no user -----------------------------------------------------------

  it('an account-owned token: memberships 400/9106, user.get / user.edit 403/9109', async () => {
    const t = await admin.accounts.tokens.create({
      account_id,
      name: uniq('ms-account-token'),
      policies: [
        {
          effect: 'allow',
          permission_groups: [{ id: TPG_ACCOUNT_SETTINGS_READ }],
          resources: { [accountKey(account_id)]: '*' },
        },
      ],
    });
    try {
      for (const tc of [srv.tokenClient(t.value), srv.adminToken]) {
        await expectApiError(tc.memberships.list(), Cloudflare.BadRequestError, { status: 400, code: 9106 });
        await expectApiError(tc.user.get(), Cloudflare.PermissionDeniedError, { status: 403, code: 9109 });
        await expectApiError(tc.user.edit({ first_name: 'Nobody' }), Cloudflare.PermissionDeniedError, {
          status: 403,
          code: 9109,
        });
      }
    } finally {
      await admin.accounts.tokens.delete(t.id, { account_id });
    }
  });

  // --- user.edit ------------------------------------------------------------------------------------

  it('user.edit round trip; a partial edit leaves the other fields alone', async () => {
    const { info, client: user } = await newUser('edit');
    const u = await user.user.edit({ ...PROFILE });
    assert.equal(u.id, info.user_id);
    assert.equal(u.email, info.email);
    assert.deepEqual(profileOf(u), PROFILE);
    const got = await user.user.get();
    assert.equal(got.id, info.user_id);
    assert.deepEqual(profileOf(got), PROFILE);

    const u2 = await user.user.edit({ first_name: 'Augusta' });
    assert.deepEqual(profileOf(u2), { ...PROFILE, first_name: 'Augusta' });
    assert.deepEqual(profileOf(await user.user.get()), { ...PROFILE, first_name: 'Augusta' });
  });

  it('user.edit accepts the maximum lengths', async () => {
    const { client: user } = await newUser('edit-max');
    const longest = {
      first_name: 'f'.repeat(60),
      last_name: 'l'.repeat(60),
      country: 'c'.repeat(30),
      telephone: '1'.repeat(20),
      zipcode: 'z'.repeat(20),
    };
    const u = await user.user.edit(longest);
    assert.deepEqual(profileOf(u), longest);
  });

  for (const [field, length] of [
    ['first_name', 61],
    ['last_name', 61],
    ['country', 31],
    ['telephone', 21],
    ['zipcode', 21],
  ]) {
    it(`user.edit rejects a too-long ${field} (400/1001, source.pointer /${field}); nothing is written`, async () => {
      const { client: user } = await newUser('edit-long');
      await user.user.edit({ ...PROFILE });
      const err = await expectApiError(
        user.user.edit({ first_name: 'Grace', [field]: '9'.repeat(length) }),
        Cloudflare.BadRequestError,
        VALIDATION,
      );
      assert.equal(errorPointer(err, 1001), `/${field}`, JSON.stringify(err.errors));
      assert.deepEqual(profileOf(await user.user.get()), PROFILE, 'nothing is written');
    });
  }

  it('user.edit with null clears a field (the SDK sends the nulls)', async () => {
    const { info } = await newUser('edit-null');
    const rec = recordingFetch({ bodies: true });
    const user = srv.keyClient(info.email, info.api_key, { fetch: rec.fetch });
    await user.user.edit({ ...PROFILE });
    rec.calls.length = 0;
    const u = await user.user.edit({ first_name: null, zipcode: null });
    assert.deepEqual(JSON.parse(rec.calls[0].requestBody), { first_name: null, zipcode: null });
    assert.equal(rec.calls[0].method, 'PATCH');
    assert.equal(u.first_name ?? null, null);
    assert.equal(u.zipcode ?? null, null);
    const expected = { ...PROFILE, first_name: null, zipcode: null };
    assert.deepEqual(profileOf(u), expected);
    assert.deepEqual(profileOf(await user.user.get()), expected);
  });
});
