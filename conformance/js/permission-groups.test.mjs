// client.iam.permissionGroups.{list,get}: GET /accounts/{a}/iam/permission_groups[/{id}]
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import {
  assertId,
  assertNoDuplicateIds,
  assertResultInfo,
  collect,
  expectApiError,
  localGroupId,
  randomId,
} from './lib/expect.mjs';
import { ACCOUNT_MEMBER_GROUPS, LOCAL_ROLE_GROUP_NAMES } from './lib/catalog.mjs';

const lc = (s) => s.toLowerCase();
/** Contract order: name (case-insensitive), then id. */
function byNameThenId(a, b) {
  const na = lc(a.name);
  const nb = lc(b.name);
  if (na !== nb) return na < nb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The default catalog: account_member entries + one local group per remaining legacy role. */
const EXPECTED = [
  ...ACCOUNT_MEMBER_GROUPS.map((g) => ({ id: g.id, name: g.name })),
  ...LOCAL_ROLE_GROUP_NAMES.map((name) => ({ id: localGroupId(name), name })),
].sort(byNameThenId);

describe('iam.permissionGroups', () => {
  let srv;
  let client;
  let account_id;

  before(async () => {
    srv = await startServer();
    client = srv.adminToken;
    account_id = srv.boot.account_id;
  });
  after(async () => {
    await srv?.stop();
  });

  it('auto-paginates over every page with per_page 5: no duplicates, total_count items, sorted by name', async () => {
    const rec = recordingFetch();
    const c = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });

    const first = await c.iam.permissionGroups.list({ account_id, per_page: 5 });
    const total = first.result_info.total_count;
    assert.equal(typeof total, 'number');
    assert.ok(total >= 15, `need at least 3 pages of 5, total_count=${total}`);
    assertResultInfo(first.result_info, { page: 1, perPage: 5, count: 5, totalCount: total });
    assert.equal(first.result.length, 5);

    rec.calls.length = 0;
    // The SDK's item-level auto-pagination, exactly as users write it.
    const items = [];
    for await (const g of c.iam.permissionGroups.list({ account_id, per_page: 5 })) {
      items.push(g);
      assert.ok(items.length <= total + 5, 'auto-pagination must stop (an empty page past the end)');
    }
    assertNoDuplicateIds(items, 'permission groups');
    assert.equal(items.length, total, 'items walked == result_info.total_count of page 1');
    const sorted = [...items].sort(byNameThenId);
    assert.deepEqual(
      items.map((g) => g.id),
      sorted.map((g) => g.id),
      'permission groups must come sorted by name (case-insensitive) then id',
    );
    // N pages + the empty page that stops the SDK.
    const pages = Math.ceil(total / 5);
    assert.ok(pages >= 3);
    assert.equal(rec.calls.length, pages + 1, `requests: ${rec.calls.map((r) => r.url).join(', ')}`);
    assert.ok(rec.calls.every((r) => r.status === 200));
    for (const g of items) {
      assertId(g.id, `permission group id (${g.name})`);
      assert.equal(typeof g.name, 'string');
    }
  });

  it('serves exactly the default catalog (account_member entries + legacy roles with derived ids)', async () => {
    const items = await collect(client.iam.permissionGroups.list({ account_id, per_page: 50 }));
    assert.deepEqual(
      items.map((g) => ({ id: g.id, name: g.name })),
      EXPECTED,
    );
  });

  it('reports result_info on every page and an empty page past the end', async () => {
    const page1 = await client.iam.permissionGroups.list({ account_id, per_page: 5 });
    const total = page1.result_info.total_count;
    const lastPage = Math.ceil(total / 5);
    let page = page1;
    let n = 1;
    const seen = [];
    for await (const p of page1.iterPages()) {
      page = p;
      if (p.result.length === 0) break;
      assertResultInfo(p.result_info, {
        page: n,
        perPage: 5,
        count: p.result.length,
        totalCount: total,
      });
      seen.push(...p.result);
      n++;
    }
    assert.equal(n - 1, lastPage);
    assert.equal(seen.length, total);
    assert.deepEqual(page.result, [], 'the page after the last one is empty');

    const past = await client.iam.permissionGroups.list({ account_id, per_page: 5, page: lastPage + 5 });
    assert.deepEqual(past.result, []);
    assert.equal(past.response.status, 200);
  });

  it('defaults per_page to 20 and clamps it to 5..50', async () => {
    const def = await client.iam.permissionGroups.list({ account_id });
    assert.equal(def.result_info.per_page, 20);
    assert.equal(def.result.length, Math.min(20, def.result_info.total_count));

    const big = await client.iam.permissionGroups.list({ account_id, per_page: 1000 });
    assert.equal(big.result_info.per_page, 50);
    assert.equal(big.result.length, Math.min(50, big.result_info.total_count));

    const small = await client.iam.permissionGroups.list({ account_id, per_page: 1 });
    assert.equal(small.result_info.per_page, 5);
    assert.equal(small.result.length, 5);
  });

  it('rejects page 0 with 400/1001', async () => {
    await expectApiError(
      client.iam.permissionGroups.list({ account_id, page: 0 }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
  });

  it('filters by id', async () => {
    const target = ACCOUNT_MEMBER_GROUPS.find((g) => g.name === 'DNS');
    const page = await client.iam.permissionGroups.list({ account_id, id: target.id });
    assert.equal(page.result.length, 1);
    assert.equal(page.result[0].id, target.id);
    assert.equal(page.result[0].name, 'DNS');
    assert.equal(page.result_info.total_count, 1);

    const none = await client.iam.permissionGroups.list({ account_id, id: randomId() });
    assert.deepEqual(none.result, []);
  });

  it('filters by an exact name containing spaces (sent as %20), case-insensitively', async () => {
    const rec = recordingFetch();
    const c = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    const page = await c.iam.permissionGroups.list({ account_id, name: 'Cloudflare Zero Trust' });
    assert.ok(
      rec.calls[0].url.includes('name=Cloudflare%20Zero%20Trust'),
      `SDK should send %20: ${rec.calls[0].url}`,
    );
    // exact match: "Cloudflare Zero Trust PII" must not be returned
    assert.deepEqual(
      page.result.map((g) => g.name),
      ['Cloudflare Zero Trust'],
    );
    assert.equal(page.result[0].id, '5ac2b0d9b54d4ff78e99342191cb7114');

    const lower = await client.iam.permissionGroups.list({ account_id, name: 'cloudflare zero trust' });
    assert.deepEqual(
      lower.result.map((g) => g.id),
      ['5ac2b0d9b54d4ff78e99342191cb7114'],
    );

    const local = await client.iam.permissionGroups.list({
      account_id,
      name: 'Super Administrator - All Privileges',
    });
    assert.deepEqual(
      local.result.map((g) => g.id),
      [localGroupId('Super Administrator - All Privileges')],
    );
  });

  it('filters by label (exact)', async () => {
    const page = await client.iam.permissionGroups.list({ account_id, label: 'teams_admin' });
    assert.deepEqual(
      page.result.map((g) => g.name),
      ['Cloudflare Zero Trust'],
    );
    const none = await client.iam.permissionGroups.list({ account_id, label: 'teams' });
    assert.deepEqual(none.result, []);
  });

  it('gets one catalog group with its meta', async () => {
    const g = await client.iam.permissionGroups.get('5ac2b0d9b54d4ff78e99342191cb7114', { account_id });
    assert.equal(g.id, '5ac2b0d9b54d4ff78e99342191cb7114');
    assert.equal(g.name, 'Cloudflare Zero Trust');
    assert.ok(g.meta && typeof g.meta === 'object', 'meta object');
    assert.equal(g.meta.key, 'label');
    assert.equal(g.meta.value, 'teams_admin');
    assert.equal(g.meta.label, 'teams_admin');
    assert.equal(g.meta.scopes, 'com.cloudflare.api.account');
    assert.equal(g.meta.description, 'Can edit Cloudflare Zero Trust.');
    assert.equal(g.meta.editable, 'false');
  });

  it('gets a local (role-derived) group with meta.local = "true"', async () => {
    const name = 'Super Administrator - All Privileges';
    const id = localGroupId(name);
    const g = await client.iam.permissionGroups.get(id, { account_id });
    assert.equal(g.id, id);
    assert.equal(g.name, name);
    assert.equal(g.meta.local, 'true');
    assert.equal(g.meta.key, 'label');
  });

  it('get and list agree', async () => {
    const page = await client.iam.permissionGroups.list({ account_id, per_page: 5, page: 2 });
    for (const item of page.result) {
      const g = await client.iam.permissionGroups.get(item.id, { account_id });
      assert.deepEqual(g, item);
    }
  });

  it('unknown id -> NotFoundError (404/1003)', async () => {
    await expectApiError(
      client.iam.permissionGroups.get(randomId(), { account_id }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
  });

  it('malformed id -> BadRequestError (400/7003)', async () => {
    await expectApiError(
      client.iam.permissionGroups.get('not-an-id', { account_id }),
      Cloudflare.BadRequestError,
      { status: 400, code: 7003 },
    );
  });

  it('works for the bootstrap user via email+key too', async () => {
    const page = await srv.adminKey.iam.permissionGroups.list({ account_id, per_page: 5 });
    assert.equal(page.result.length, 5);
  });
});
