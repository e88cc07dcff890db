// client.accounts.members.{list,get,create,update,delete}: /accounts/{a}/members[/{id}]
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import {
  assertId,
  assertNoDuplicateIds,
  assertOrderedBy,
  assertResultInfo,
  assertSortedBy,
  collect,
  expectApiError,
  localGroupId,
  orderViolation,
  randomId,
  uniq,
} from './lib/expect.mjs';
import { ACCOUNT_ROLES } from './lib/catalog.mjs';

const SUPER_ADMIN = '33666b9c79b9a5273fc7344ff42f953d';
const ADMIN = '05784afa30c1afe1440e79d9351c7430';
const ADMIN_RO = 'f2b20eaa1a5d4af42b53ac16238c99c7';
const BILLING = '298ce8e7a2ba08b9d18ce0a32bb458ee';

function assertMemberShape(m, { email, status } = {}) {
  assertId(m.id, 'member id');
  assert.equal(typeof m.email, 'string', 'member email');
  if (email) assert.equal(m.email, email);
  assert.ok(['accepted', 'pending'].includes(m.status), `status ${m.status}`);
  if (status) assert.equal(m.status, status);
  assert.ok(m.user && typeof m.user === 'object', 'user object');
  assertId(m.user.id, 'member user.id');
  assert.equal(m.user.email, m.email, 'user.email == email');
  for (const k of ['first_name', 'last_name', 'two_factor_authentication_enabled']) {
    assert.ok(k in m.user, `user.${k} present`);
  }
  assert.equal(typeof m.user.two_factor_authentication_enabled, 'boolean');
  assert.ok(Array.isArray(m.roles), 'roles array');
  for (const r of m.roles) {
    assertId(r.id, 'role id');
    assert.equal(r.name, ACCOUNT_ROLES[r.id], `role ${r.id} name`);
    assert.equal(typeof r.description, 'string', 'role description');
    assert.ok(r.permissions && typeof r.permissions === 'object', 'role permissions object');
  }
  assert.ok(Array.isArray(m.policies), 'policies array');
}

describe('accounts.members', () => {
  let srv;
  let account_id;
  let c;

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
    c = srv.adminToken;
  });
  after(async () => {
    await srv?.stop();
  });

  it('lists the bootstrap member: accepted Super Administrator', async () => {
    const page = await c.accounts.members.list({ account_id });
    assertResultInfo(page.result_info, { page: 1, perPage: 20, count: page.result.length });
    const m = page.result.find((x) => x.id === srv.boot.member_id);
    assert.ok(m, `bootstrap member ${srv.boot.member_id} in ${JSON.stringify(page.result)}`);
    assertMemberShape(m, { email: 'admin@example.com', status: 'accepted' });
    assert.equal(m.user.id, srv.boot.user_id);
    assert.deepEqual(
      m.roles.map((r) => r.id),
      [SUPER_ADMIN],
    );
    assert.equal(m.roles[0].name, 'Super Administrator - All Privileges');
  });

  it('creates a member with a legacy role (pending by default, email lower-cased), gets it back', async () => {
    const email = `${uniq('Alice')}@Example.COM`;
    const m = await c.accounts.members.create({ account_id, email, roles: [ADMIN] });
    assertMemberShape(m, { email: email.toLowerCase(), status: 'pending' });
    assert.deepEqual(
      m.roles.map((r) => r.id),
      [ADMIN],
    );
    assert.equal(m.roles[0].name, 'Administrator');

    const got = await c.accounts.members.get(m.id, { account_id });
    assert.deepEqual(got, m, 'get returns what create returned');

    const listed = await collect(c.accounts.members.list({ account_id, per_page: 50 }));
    assert.deepEqual(
      listed.find((x) => x.id === m.id),
      m,
    );
  });

  it('creates an accepted member with several roles', async () => {
    const email = `${uniq('bob')}@example.com`;
    const m = await c.accounts.members.create({ account_id, email, roles: [BILLING, ADMIN_RO], status: 'accepted' });
    assertMemberShape(m, { email, status: 'accepted' });
    assert.deepEqual(
      [...m.roles.map((r) => r.id)].sort(),
      [ADMIN_RO, BILLING].sort(),
    );
    const got = await c.accounts.members.get(m.id, { account_id });
    assert.deepEqual(
      got.roles.map((r) => r.id),
      m.roles.map((r) => r.id),
      'role order stable between write and read',
    );
  });

  it('a duplicate email is a 409/1002 ConflictError that is not retried (x-should-retry: false)', async () => {
    const email = `${uniq('dup')}@example.com`;
    await c.accounts.members.create({ account_id, email, roles: [ADMIN] });

    const rec = recordingFetch();
    const retrying = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch, maxRetries: 2 });
    const err = await expectApiError(
      retrying.accounts.members.create({ account_id, email, roles: [ADMIN] }),
      Cloudflare.ConflictError,
      { status: 409, code: 1002 },
    );
    assert.equal(rec.calls.length, 1, `the SDK must not retry: ${rec.calls.length} requests`);
    assert.equal(err.headers.get('x-should-retry'), 'false');

    // Same email, different case: still the same user.
    rec.calls.length = 0;
    await expectApiError(
      retrying.accounts.members.create({ account_id, email: email.toUpperCase(), roles: [ADMIN_RO] }),
      Cloudflare.ConflictError,
      { status: 409, code: 1002 },
    );
    assert.equal(rec.calls.length, 1);
  });

  it('create requires exactly one of roles and policies (400/1001)', async () => {
    const email = `${uniq('both')}@example.com`;
    await expectApiError(
      c.accounts.members.create({
        account_id,
        email,
        roles: [ADMIN],
        policies: [
          {
            access: 'allow',
            permission_groups: [{ id: localGroupId('Administrator') }],
            resource_groups: [{ id: randomId() }],
          },
        ],
      }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    await expectApiError(c.accounts.members.create({ account_id, email }), Cloudflare.BadRequestError, {
      status: 400,
      code: 1001,
    });
    // nothing was created
    const all = await collect(c.accounts.members.list({ account_id, per_page: 50 }));
    assert.ok(!all.some((m) => m.email === email));
  });

  it('an unknown role id is 400/1001 with pointer /roles/N', async () => {
    const err = await expectApiError(
      c.accounts.members.create({ account_id, email: `${uniq('r')}@example.com`, roles: [ADMIN, randomId()] }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    assert.equal(err.errors[0].source?.pointer, '/roles/1', JSON.stringify(err.errors));
  });

  it('an unknown status value is 400/1001', async () => {
    await expectApiError(
      c.accounts.members.create({ account_id, email: `${uniq('s')}@example.com`, roles: [ADMIN], status: 'bogus' }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
  });

  it('updates roles (objects or strings) and status; absent fields are unchanged', async () => {
    const email = `${uniq('upd')}@example.com`;
    const m = await c.accounts.members.create({ account_id, email, roles: [ADMIN] });

    const u1 = await c.accounts.members.update(m.id, { account_id, roles: [{ id: ADMIN_RO }] });
    assertMemberShape(u1, { email, status: 'pending' });
    assert.equal(u1.id, m.id);
    assert.deepEqual(
      u1.roles.map((r) => r.id),
      [ADMIN_RO],
    );

    const u2 = await c.accounts.members.update(m.id, { account_id, roles: [BILLING] });
    assert.deepEqual(
      u2.roles.map((r) => r.id),
      [BILLING],
    );

    const u3 = await c.accounts.members.update(m.id, { account_id, status: 'accepted' });
    assert.equal(u3.status, 'accepted');
    assert.deepEqual(
      u3.roles.map((r) => r.id),
      [BILLING],
      'roles unchanged when absent',
    );

    const u4 = await c.accounts.members.update(m.id, { account_id });
    assert.deepEqual(u4, u3, 'an empty PUT changes nothing');

    const got = await c.accounts.members.get(m.id, { account_id });
    assert.deepEqual(got, u3);
  });

  it('update with both roles and policies is 400/1001', async () => {
    const m = await c.accounts.members.create({ account_id, email: `${uniq('ub')}@example.com`, roles: [ADMIN] });
    await expectApiError(
      c.accounts.members.update(m.id, {
        account_id,
        roles: [{ id: ADMIN_RO }],
        policies: [
          {
            access: 'allow',
            permission_groups: [{ id: localGroupId('Administrator') }],
            resource_groups: [{ id: randomId() }],
          },
        ],
      }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    const got = await c.accounts.members.get(m.id, { account_id });
    assert.deepEqual(
      got.roles.map((r) => r.id),
      [ADMIN],
    );
  });

  it('the last accepted Super Administrator cannot be demoted or removed (400/1001)', async () => {
    await expectApiError(
      c.accounts.members.update(srv.boot.member_id, { account_id, roles: [{ id: ADMIN }] }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    await expectApiError(
      c.accounts.members.delete(srv.boot.member_id, { account_id }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    const still = await c.accounts.members.get(srv.boot.member_id, { account_id });
    assert.deepEqual(
      still.roles.map((r) => r.id),
      [SUPER_ADMIN],
    );
  });

  it('deletes a member: 200 {id}, then 404/1003', async () => {
    const m = await c.accounts.members.create({ account_id, email: `${uniq('del')}@example.com`, roles: [ADMIN] });
    const del = await c.accounts.members.delete(m.id, { account_id });
    assert.deepEqual(del, { id: m.id });
    await expectApiError(c.accounts.members.get(m.id, { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(c.accounts.members.delete(m.id, { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    const all = await collect(c.accounts.members.list({ account_id, per_page: 50 }));
    assert.ok(!all.some((x) => x.id === m.id));
  });

  it('unknown member id is 404/1003, malformed is 400/7003', async () => {
    await expectApiError(c.accounts.members.get(randomId(), { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(
      c.accounts.members.update(randomId(), { account_id, roles: [{ id: ADMIN }] }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    await expectApiError(c.accounts.members.get('zzz', { account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 7003,
    });
  });

  describe('list: pagination, status filter, order, direction', () => {
    let all;
    let total;

    before(async () => {
      for (let i = 1; i <= 6; i++) {
        await c.accounts.members.create({
          account_id,
          email: `page-${String(i).padStart(2, '0')}@example.com`,
          roles: [ADMIN_RO],
          status: i % 2 ? 'accepted' : 'pending',
        });
      }
    });

    it('walks every page (per_page 5) in the default order user.email asc, then id', async () => {
      const rec = recordingFetch();
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const first = await rc.accounts.members.list({ account_id, per_page: 5 });
      total = first.result_info.total_count;
      assert.ok(total >= 7, `total_count ${total}`);
      assertResultInfo(first.result_info, { page: 1, perPage: 5, count: 5, totalCount: total });

      rec.calls.length = 0;
      all = await collect(rc.accounts.members.list({ account_id, per_page: 5 }));
      assert.equal(rec.calls.length, Math.ceil(total / 5) + 1);
      assertNoDuplicateIds(all, 'members');
      assert.equal(all.length, total);
      assertSortedBy(all, (m) => m.user.email, { what: 'default order (user.email asc)' });

      const byEmail = await collect(c.accounts.members.list({ account_id, per_page: 5, order: 'user.email' }));
      assert.deepEqual(
        byEmail.map((m) => m.id),
        all.map((m) => m.id),
      );

      const past = await c.accounts.members.list({ account_id, per_page: 5, page: Math.ceil(total / 5) + 1 });
      assert.deepEqual(past.result, []);
    });

    it('direction=desc reverses the order', async () => {
      assert.ok(all, 'needs the previous test');
      const desc = await collect(c.accounts.members.list({ account_id, per_page: 5, direction: 'desc' }));
      assert.equal(desc.length, total);
      assertSortedBy(desc, (m) => m.user.email, { desc: true, what: 'user.email desc' });
      assert.deepEqual(
        desc.map((m) => m.id),
        [...all].reverse().map((m) => m.id),
      );
    });

    it('status filter', async () => {
      assert.ok(all, 'needs the first list test');
      const pending = await collect(c.accounts.members.list({ account_id, per_page: 5, status: 'pending' }));
      assert.ok(pending.length >= 3);
      assert.ok(pending.every((m) => m.status === 'pending'));
      assert.equal(pending.length, all.filter((m) => m.status === 'pending').length);
      const accepted = await c.accounts.members.list({ account_id, per_page: 50, status: 'accepted' });
      assert.equal(accepted.result_info.total_count, all.filter((m) => m.status === 'accepted').length);
      assert.ok(accepted.result.every((m) => m.status === 'accepted'));
    });

    it('order=status (asc and desc), ties broken by email, then id', async () => {
      const byStatus = await collect(c.accounts.members.list({ account_id, per_page: 5, order: 'status' }));
      assert.equal(byStatus.length, total);
      assertNoDuplicateIds(byStatus);
      // docs/api-decisions.md: ties broken by email, then id (each status listed alphabetically).
      assertOrderedBy(byStatus, [[(m) => m.status, 'asc'], [(m) => m.email, 'asc'], [(m) => m.id, 'asc']], {
        what: 'order=status asc',
      });
      assert.ok(new Set(byStatus.map((m) => m.status)).size >= 2, 'fixture has both statuses');
      const byStatusDesc = await collect(
        c.accounts.members.list({ account_id, per_page: 5, order: 'status', direction: 'desc' }),
      );
      assert.equal(byStatusDesc.length, total);
      assertNoDuplicateIds(byStatusDesc);
      // Status descending; the tie-break (email, then id) may follow the direction or stay ascending,
      // but must be one of the two for the whole list.
      const tiesAsc = orderViolation(byStatusDesc, [
        [(m) => m.status, 'desc'],
        [(m) => m.email, 'asc'],
        [(m) => m.id, 'asc'],
      ]);
      const tiesDesc = orderViolation(byStatusDesc, [
        [(m) => m.status, 'desc'],
        [(m) => m.email, 'desc'],
        [(m) => m.id, 'desc'],
      ]);
      assert.ok(
        tiesAsc === null || tiesDesc === null,
        `order=status desc: not (status desc, email, id): ${tiesAsc} / ${tiesDesc}`,
      );
    });

    it('order=user.first_name and order=user.last_name, ties broken by email, then id', async () => {
      const byFirst = await collect(c.accounts.members.list({ account_id, per_page: 5, order: 'user.first_name' }));
      assert.equal(byFirst.length, total);
      assertNoDuplicateIds(byFirst);
      assertOrderedBy(
        byFirst,
        [[(m) => m.user.first_name ?? '', 'asc'], [(m) => m.email, 'asc'], [(m) => m.id, 'asc']],
        { what: 'order=user.first_name' },
      );
      const byLast = await collect(c.accounts.members.list({ account_id, per_page: 5, order: 'user.last_name' }));
      assert.equal(byLast.length, total);
      assertNoDuplicateIds(byLast);
      assertOrderedBy(
        byLast,
        [[(m) => m.user.last_name ?? '', 'asc'], [(m) => m.email, 'asc'], [(m) => m.id, 'asc']],
        { what: 'order=user.last_name' },
      );
    });
  });

  it('the same email in two accounts is one user with two memberships', async () => {
    const other = await srv.adminKey.accounts.create({ name: uniq('Second') });
    const email = `${uniq('shared')}@example.com`;
    const m1 = await c.accounts.members.create({ account_id, email, roles: [ADMIN] });
    const m2 = await srv.adminKey.accounts.members.create({ account_id: other.id, email, roles: [ADMIN_RO] });
    assert.notEqual(m1.id, m2.id);
    assert.equal(m1.user.id, m2.user.id);
    await srv.adminKey.accounts.delete({ account_id: other.id });
    // the membership in the first account is untouched
    const got = await c.accounts.members.get(m1.id, { account_id });
    assert.equal(got.user.id, m1.user.id);
  });

  it('the bootstrap user via email+key manages members too', async () => {
    const k = srv.adminKey;
    const email = `${uniq('viakey')}@example.com`;
    const m = await k.accounts.members.create({ account_id, email, roles: [ADMIN] });
    assertMemberShape(m, { email, status: 'pending' });
    const del = await k.accounts.members.delete(m.id, { account_id });
    assert.deepEqual(del, { id: m.id });
  });
});
