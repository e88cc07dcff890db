// client.accounts.roles.{list,get}: /accounts/{a}/roles[/{id}], the legacy account-role catalog
// (crates/portcullis-core/data/account_roles.json), the same in every account.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Cloudflare from 'cloudflare';
import { REPO_ROOT, startServer, recordingFetch } from './lib/server.mjs';
import { assertId, assertNoDuplicateIds, assertResultInfo, collect, expectApiError, uniq } from './lib/expect.mjs';

const SUPER_ADMIN = '33666b9c79b9a5273fc7344ff42f953d';
const SUPER_ADMIN_NAME = 'Super Administrator - All Privileges';
const ADMIN_RO = 'f2b20eaa1a5d4af42b53ac16238c99c7';

/** The catalog as served: {id, name, description} in file order; a missing description reads "". */
const CATALOG = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'crates', 'portcullis-core', 'data', 'account_roles.json'), 'utf8'),
).map((r) => ({ id: r.id, name: r.name, description: r.description || '' }));

const view = (r) => ({ id: r.id, name: r.name, description: r.description });

function assertRoleShape(r) {
  assert.ok(r && typeof r === 'object', `role: ${JSON.stringify(r)}`);
  assertId(r.id, 'role id');
  assert.equal(typeof r.name, 'string', `role name: ${JSON.stringify(r)}`);
  assert.ok(r.name.length > 0, 'role name non-empty');
  assert.equal(typeof r.description, 'string', `role description: ${JSON.stringify(r)}`);
  const org = r.permissions?.organization;
  assert.ok(org && typeof org === 'object', `permissions.organization: ${JSON.stringify(r.permissions)}`);
  assert.equal(typeof org.read, 'boolean', `organization.read of ${r.name}`);
  assert.equal(typeof org.write, 'boolean', `organization.write of ${r.name}`);
}

describe('accounts.roles', () => {
  let srv;
  let account_id;
  let c;

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
    c = srv.adminKey;
  });
  after(async () => {
    await srv?.stop();
  });

  it('the catalog file holds 40 roles', () => {
    assert.equal(CATALOG.length, 40);
  });

  it('list: the default page holds the whole catalog, in file order', async () => {
    const rec = recordingFetch({ bodies: true });
    const page = await srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch }).accounts.roles.list({
      account_id,
    });
    assert.equal(rec.calls.length, 1);
    assert.equal(rec.calls[0].status, 200);
    const body = rec.calls[0].body;
    assert.equal(body.success, true);
    assert.deepEqual(body.errors, []);
    assert.ok(Array.isArray(body.result), 'result is a list');
    assertResultInfo(body.result_info, { page: 1, count: 40, totalCount: 40 });

    assert.equal(page.result.length, 40);
    for (const r of page.result) assertRoleShape(r);
    assertNoDuplicateIds(page.result, 'roles');
    assert.deepEqual(page.result.map(view), CATALOG);
    assert.equal(page.result_info.total_count, 40);
  });

  it('auto-pagination walks all 40 roles in file order (default and per_page=7)', async () => {
    const all = await collect(c.accounts.roles.list({ account_id }));
    assert.deepEqual(
      all.map((r) => r.id),
      CATALOG.map((r) => r.id),
    );

    const rec = recordingFetch();
    const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
    const small = await collect(rc.accounts.roles.list({ account_id, per_page: 7 }));
    assertNoDuplicateIds(small, 'roles (per_page=7)');
    assert.deepEqual(
      small.map(view),
      CATALOG,
    );
    // 6 pages of roles (7*5 + 5), then the empty page that ends the SDK's walk.
    assert.equal(rec.calls.length, 7, rec.calls.map((x) => x.url).join('\n'));
    for (const call of rec.calls) {
      const u = new URL(call.url);
      assert.equal(u.searchParams.get('per_page'), '7', call.url);
      assert.equal(call.status, 200);
    }
    assert.deepEqual(
      rec.calls.map((x) => new URL(x.url).searchParams.get('page') ?? '1'),
      ['1', '2', '3', '4', '5', '6', '7'],
    );
  });

  it('per_page / page select a slice; result_info describes it', async () => {
    const page = await c.accounts.roles.list({ account_id, per_page: 5, page: 2 });
    assert.deepEqual(page.result.map(view), CATALOG.slice(5, 10));
    assertResultInfo(page.result_info, { page: 2, perPage: 5, count: 5, totalCount: 40 });
    assert.equal(page.result_info.total_pages, 8);

    const last = await c.accounts.roles.list({ account_id, per_page: 7, page: 6 });
    assert.deepEqual(last.result.map(view), CATALOG.slice(35, 40));
    assertResultInfo(last.result_info, { page: 6, perPage: 7, count: 5, totalCount: 40 });
  });

  it('a page past the end is empty (and reports the total)', async () => {
    const past = await c.accounts.roles.list({ account_id, page: 99 });
    assert.deepEqual(past.result, []);
    assertResultInfo(past.result_info, { page: 99, count: 0, totalCount: 40 });

    const past5 = await c.accounts.roles.list({ account_id, per_page: 5, page: 9 });
    assert.deepEqual(past5.result, []);
    assert.equal(past5.result_info.total_count, 40);
    assert.equal(past5.result_info.count, 0);
  });

  it('get: every role equals its list entry', async () => {
    const listed = new Map((await collect(c.accounts.roles.list({ account_id }))).map((r) => [r.id, r]));
    for (const entry of CATALOG) {
      const got = await c.accounts.roles.get(entry.id, { account_id });
      assertRoleShape(got);
      assert.deepEqual(view(got), entry);
      assert.deepEqual(got, listed.get(entry.id), `get(${entry.id}) equals the list entry`);
    }
  });

  it('permissions.organization: Super Administrator read+write, Administrator Read Only read only', async () => {
    const sa = await c.accounts.roles.get(SUPER_ADMIN, { account_id });
    assert.equal(sa.id, SUPER_ADMIN);
    assert.equal(sa.name, SUPER_ADMIN_NAME);
    assert.deepEqual(sa.permissions.organization, { read: true, write: true });

    const ro = await c.accounts.roles.get(ADMIN_RO, { account_id });
    assert.equal(ro.id, ADMIN_RO);
    assert.equal(ro.name, 'Administrator Read Only');
    assert.deepEqual(ro.permissions.organization, { read: true, write: false });

    // The account-owned token sees the same.
    const viaToken = await srv.adminToken.accounts.roles.get(SUPER_ADMIN, { account_id });
    assert.deepEqual(viaToken, sa);
  });

  it('the roles are the same in every account', async () => {
    const other = await c.accounts.create({ name: uniq('Roles Second'), type: 'standard' });
    try {
      const a = await collect(c.accounts.roles.list({ account_id }));
      const b = await collect(c.accounts.roles.list({ account_id: other.id }));
      assert.deepEqual(b, a);
    } finally {
      await c.accounts.delete({ account_id: other.id });
    }
  });

  it('an unknown role id is 404/1003 (NotFoundError)', async () => {
    const id = 'a'.repeat(32);
    await expectApiError(c.accounts.roles.get(id, { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
      messageIncludes: id,
    });
  });

  it('a malformed role id is 400/7003', async () => {
    await expectApiError(c.accounts.roles.get('xyz', { account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 7003,
    });
  });

  it('a non-member is refused (403/10000)', async () => {
    const u = await srv.userKey(`${uniq('roles-outsider')}@example.com`);
    const outsider = srv.keyClient(u.email, u.api_key);
    const denied = { status: 403, code: 10000 };
    await expectApiError(outsider.accounts.roles.list({ account_id }), Cloudflare.PermissionDeniedError, denied);
    await expectApiError(
      outsider.accounts.roles.get(SUPER_ADMIN, { account_id }),
      Cloudflare.PermissionDeniedError,
      denied,
    );
  });
});
