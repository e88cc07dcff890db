// client.iam.userGroups.{create,get,list,update,delete}: /accounts/{a}/iam/user_groups[/{id}]
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import {
  assertNoDuplicateIds,
  assertOrderedBy,
  assertResultInfo,
  assertSameInstant,
  collect,
  expectApiError,
  localGroupId,
  randomId,
  uniq,
} from './lib/expect.mjs';
import { PG, assertPolicies, assertUserGroup, scopeOf, sleep, zoneKey } from './lib/iam.mjs';

const SUPER_ADMIN_NAME = 'Super Administrator - All Privileges';

describe('iam.userGroups', () => {
  let srv;
  let account_id;
  let c;
  let rgAll; // objects: [*]
  let rgZones; // two zone objects
  let rgZone2; // one zone object
  const catalog = new Map();
  const rgById = new Map();
  const names = new Map([[PG.ZONE_READ, 'Zone Read']]);

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
    c = srv.adminToken;
    rgAll = await c.iam.resourceGroups.create({ account_id, name: 'UG all', scope: scopeOf(account_id, ['*']) });
    rgZones = await c.iam.resourceGroups.create({
      account_id,
      name: 'UG zones',
      scope: scopeOf(account_id, [zoneKey(), zoneKey()]),
    });
    rgZone2 = await c.iam.resourceGroups.create({ account_id, name: 'UG zone 2', scope: scopeOf(account_id, [zoneKey()]) });
    for (const rg of [rgAll, rgZones, rgZone2]) rgById.set(rg.id, await c.iam.resourceGroups.get(rg.id, { account_id }));
    for (const id of [PG.SUPER_ADMIN, PG.ADMIN, PG.ADMIN_RO, PG.DOMAIN_ADMIN, PG.DNS]) {
      catalog.set(id, await c.iam.permissionGroups.get(id, { account_id }));
    }
  });
  after(async () => {
    await srv?.stop();
  });

  it('the Super Administrator local group id is sha256("portcullis:permission_group:<name>")[:32]', async () => {
    const id = createHash('sha256').update(`portcullis:permission_group:${SUPER_ADMIN_NAME}`).digest('hex').slice(0, 32);
    assert.equal(PG.SUPER_ADMIN, id);
    assert.equal(catalog.get(id).name, SUPER_ADMIN_NAME);
  });

  it('creates a user group without policies; get returns the same', async () => {
    const name = uniq('No policies');
    const rec = recordingFetch({ bodies: true });
    const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    const g = await rc.iam.userGroups.create({ account_id, name });
    assert.deepEqual(JSON.parse(rec.calls[0].requestBody), { name }, 'policies omitted on the wire');
    assertUserGroup(g, { name });
    assert.deepEqual(g.policies, []);
    assertSameInstant(g.modified_on, g.created_on, 'modified_on == created_on at creation');
    assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), g);
  });

  it('creates a user group with policies: groups expanded, order as written, stable on every read', async () => {
    const written = [
      {
        access: 'allow',
        permission_groups: [{ id: PG.DNS }, { id: PG.ADMIN }, { id: PG.DOMAIN_ADMIN }],
        resource_groups: [{ id: rgAll.id }],
      },
      {
        access: 'deny',
        permission_groups: [{ id: PG.ZONE_READ }, { id: PG.DOMAIN_ADMIN }],
        resource_groups: [{ id: rgZones.id }, { id: rgZone2.id }, { id: rgAll.id }],
      },
      { access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ id: rgAll.id }] },
    ];
    const name = uniq('With policies');
    const g = await c.iam.userGroups.create({ account_id, name, policies: written });
    assertUserGroup(g, { name });
    assertPolicies(g.policies, written, { catalog, rgById, names });

    const got = await c.iam.userGroups.get(g.id, { account_id });
    assert.deepEqual(got, g, 'get equals the create answer (policy order and ids)');
    const listed = await c.iam.userGroups.list({ account_id, id: g.id });
    assert.deepEqual(listed.result, [g], 'list equals the create answer');
    const again = await c.iam.userGroups.get(g.id, { account_id });
    assert.deepEqual(again, g);
  });

  describe('update (PUT, partial)', () => {
    let g;
    const written = () => [
      { access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] },
      { access: 'deny', permission_groups: [{ id: PG.ZONE_READ }], resource_groups: [{ id: rgZones.id }] },
    ];

    before(async () => {
      g = await c.iam.userGroups.create({ account_id, name: uniq('Upd'), policies: written() });
    });

    it('name only: policies (and their ids) unchanged, modified_on moves, created_on stays', async () => {
      await sleep(5);
      const name = uniq('Renamed');
      const rec = recordingFetch({ bodies: true });
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const u = await rc.iam.userGroups.update(g.id, { account_id, name });
      assert.equal(rec.calls[0].method, 'PUT');
      assert.deepEqual(JSON.parse(rec.calls[0].requestBody), { name });
      assertUserGroup(u, { name });
      assert.equal(u.id, g.id);
      assert.deepEqual(u.policies, g.policies);
      assert.equal(u.created_on, g.created_on);
      assert.ok(Date.parse(u.modified_on) > Date.parse(g.modified_on), `modified_on ${g.modified_on} -> ${u.modified_on}`);
      assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), u);
      g = u;
    });

    it('renaming to a different case of its own name is not a conflict', async () => {
      const u = await c.iam.userGroups.update(g.id, { account_id, name: g.name.toUpperCase() });
      assert.equal(u.name, g.name.toUpperCase());
      g = u;
    });

    it('policies replace the set: an entry with an existing id keeps it, one without gets a new id', async () => {
      await sleep(5);
      const [p0, p1] = g.policies;
      const next = [
        { access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ id: rgAll.id }] },
        { id: p1.id, access: 'allow', permission_groups: [{ id: PG.DOMAIN_ADMIN }], resource_groups: [{ id: rgZone2.id }] },
      ];
      const u = await c.iam.userGroups.update(g.id, { account_id, policies: next });
      assertUserGroup(u, { name: g.name });
      assertPolicies(u.policies, next, { catalog, rgById, names });
      assert.equal(u.policies[1].id, p1.id, 'kept id');
      assert.notEqual(u.policies[0].id, p0.id, 'a new policy does not reuse the dropped one');
      assert.notEqual(u.policies[0].id, p1.id);
      assert.ok(Date.parse(u.modified_on) > Date.parse(g.modified_on), 'modified_on moves');
      assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), u);
      g = u;
    });

    it('an unknown policy id is 400/1001 and changes nothing', async () => {
      const err = await expectApiError(
        c.iam.userGroups.update(g.id, {
          account_id,
          policies: [
            { id: g.policies[0].id, access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] },
            { id: randomId(), access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] },
          ],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      assert.equal(err.errors[0].source?.pointer, '/policies/1/id', JSON.stringify(err.errors));
      assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), g);
    });

    it('a policy id of another group is refused (400/1001)', async () => {
      const other = await c.iam.userGroups.create({
        account_id,
        name: uniq('Other'),
        policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] }],
      });
      await expectApiError(
        c.iam.userGroups.update(g.id, {
          account_id,
          policies: [
            { id: other.policies[0].id, access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] },
          ],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), g);
      assert.deepEqual(await c.iam.userGroups.get(other.id, { account_id }), other);
    });

    it('`{}` changes neither name nor policies', async () => {
      const u = await c.iam.userGroups.update(g.id, { account_id });
      assert.equal(u.id, g.id);
      assert.equal(u.name, g.name);
      assert.deepEqual(u.policies, g.policies);
      assert.equal(u.created_on, g.created_on);
      g = await c.iam.userGroups.get(g.id, { account_id });
      assert.deepEqual(u, g);
    });

    it('`policies: []` removes every policy', async () => {
      const u = await c.iam.userGroups.update(g.id, { account_id, policies: [] });
      assert.deepEqual(u.policies, []);
      assert.equal(u.name, g.name);
      assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), u);
    });
  });

  it('a duplicate name (any case) is a 409/1002 ConflictError, not retried (x-should-retry: false)', async () => {
    const name = uniq('Platform Team');
    const first = await c.iam.userGroups.create({ account_id, name });
    const rec = recordingFetch();
    const retrying = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch, maxRetries: 2 });

    let err = await expectApiError(retrying.iam.userGroups.create({ account_id, name }), Cloudflare.ConflictError, {
      status: 409,
      code: 1002,
    });
    assert.equal(rec.calls.length, 1, `the SDK must not retry: ${rec.calls.length} requests`);
    assert.equal(err.headers.get('x-should-retry'), 'false');

    rec.calls.length = 0;
    err = await expectApiError(
      retrying.iam.userGroups.create({ account_id, name: name.toUpperCase() }),
      Cloudflare.ConflictError,
      { status: 409, code: 1002 },
    );
    assert.equal(rec.calls.length, 1, `upper-case duplicate: ${rec.calls.length} requests`);
    assert.equal(err.headers.get('x-should-retry'), 'false');

    // renaming another group onto it (PUT) clashes too
    const second = await c.iam.userGroups.create({ account_id, name: uniq('Second') });
    rec.calls.length = 0;
    err = await expectApiError(
      retrying.iam.userGroups.update(second.id, { account_id, name: name.toLowerCase() }),
      Cloudflare.ConflictError,
      { status: 409, code: 1002 },
    );
    assert.equal(rec.calls.length, 1, `rename clash: ${rec.calls.length} requests`);
    assert.equal(err.headers.get('x-should-retry'), 'false');

    const listed = await collect(c.iam.userGroups.list({ account_id, name }));
    assert.deepEqual(
      listed.map((g) => g.id),
      [first.id],
      'only the first group has that name',
    );
    assert.equal((await c.iam.userGroups.get(second.id, { account_id })).name, second.name);
  });

  it('concurrent creates with one name: exactly one succeeds, the rest are 409/1002', async () => {
    const name = uniq('Race');
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => c.iam.userGroups.create({ account_id, name: i % 2 ? name.toUpperCase() : name })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    assert.equal(ok.length, 1, `exactly one created: ${failed.map((e) => e.message).join(' | ')}`);
    for (const e of failed) {
      assert.ok(e instanceof Cloudflare.ConflictError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.errors[0].code, 1002);
    }
    const listed = await collect(c.iam.userGroups.list({ account_id, name }));
    assert.equal(listed.length, 1);
  });

  describe('policy validation', () => {
    it('an account-scoped permission group on a zones-only resource group is 400/1006 (pointer /policies/N)', async () => {
      const name = uniq('Bad scope');
      const err = await expectApiError(
        c.iam.userGroups.create({
          account_id,
          name,
          policies: [
            { access: 'allow', permission_groups: [{ id: PG.DOMAIN_ADMIN }], resource_groups: [{ id: rgZones.id }] },
            { access: 'allow', permission_groups: [{ id: PG.SUPER_ADMIN }], resource_groups: [{ id: rgZones.id }] },
          ],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1006 },
      );
      assert.equal(err.errors[0].source?.pointer, '/policies/1', JSON.stringify(err.errors));
      const msg = err.errors[0].message;
      assert.ok(
        msg.includes(SUPER_ADMIN_NAME) || msg.includes(PG.SUPER_ADMIN),
        `message names the permission group: ${msg}`,
      );
      assert.ok(msg.includes(rgZones.name) || msg.includes(rgZones.id), `message names the resource group: ${msg}`);
      const listed = await collect(c.iam.userGroups.list({ account_id, name }));
      assert.deepEqual(listed, [], 'nothing created');
    });

    it('the same incompatibility on update is 400/1006 and changes nothing', async () => {
      const g = await c.iam.userGroups.create({ account_id, name: uniq('Scope upd') });
      await expectApiError(
        c.iam.userGroups.update(g.id, {
          account_id,
          policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgZone2.id }] }],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1006 },
      );
      assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), g);
    });

    it('zone-scoped groups accept zone objects or `*`; account-scoped accept `*`', async () => {
      const policies = [
        { access: 'allow', permission_groups: [{ id: PG.ZONE_READ }, { id: PG.DOMAIN_ADMIN }], resource_groups: [{ id: rgZones.id }] },
        { access: 'allow', permission_groups: [{ id: PG.DOMAIN_ADMIN }], resource_groups: [{ id: rgAll.id }] },
        { access: 'allow', permission_groups: [{ id: PG.SUPER_ADMIN }], resource_groups: [{ id: rgAll.id }] },
      ];
      const g = await c.iam.userGroups.create({ account_id, name: uniq('Scopes ok'), policies });
      assertPolicies(g.policies, policies, { catalog, rgById, names });
    });

    it('an account-scoped group accepts a resource group holding the account key itself', async () => {
      const rgAcct = await c.iam.resourceGroups.create({
        account_id,
        name: uniq('acct key'),
        scope: scopeOf(account_id, [`com.cloudflare.api.account.${account_id}`]),
      });
      const policies = [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAcct.id }] }];
      const g = await c.iam.userGroups.create({ account_id, name: uniq('Acct key ok'), policies });
      assertPolicies(g.policies, policies, { catalog });
      assert.deepEqual(g.policies[0].resource_groups[0], rgAcct);
    });

    it('an account-scoped group on a `com.cloudflare.api.account.zone.*` resource group is 400/1006', async () => {
      const rgAllZones = await c.iam.resourceGroups.create({
        account_id,
        name: uniq('all zones'),
        scope: scopeOf(account_id, ['com.cloudflare.api.account.zone.*']),
      });
      const err = await expectApiError(
        c.iam.userGroups.create({
          account_id,
          name: uniq('Zones wildcard'),
          policies: [{ access: 'allow', permission_groups: [{ id: PG.DNS }], resource_groups: [{ id: rgAllZones.id }] }],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1006 },
      );
      assert.equal(err.errors[0].source?.pointer, '/policies/0', JSON.stringify(err.errors));
    });

    it('an account-scoped token permission group (Workers Scripts Read) on zones is 400/1006', async () => {
      await expectApiError(
        c.iam.userGroups.create({
          account_id,
          name: uniq('Token acct scope'),
          policies: [
            { access: 'allow', permission_groups: [{ id: '1a71c399035b4950a1bd1466bbe4f420' }], resource_groups: [{ id: rgZones.id }] },
          ],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1006 },
      );
    });

    it('a user-scoped token permission group is refused in an account (400/1006)', async () => {
      await expectApiError(
        c.iam.userGroups.create({
          account_id,
          name: uniq('User scoped'),
          policies: [{ access: 'allow', permission_groups: [{ id: PG.MEMBERSHIPS_READ }], resource_groups: [{ id: rgAll.id }] }],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1006 },
      );
    });

    const invalid = [
      ['unknown permission group', () => [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }, { id: randomId() }], resource_groups: [{ id: rgAll.id }] }], '/policies/0/permission_groups/1/id'],
      ['unknown resource group', () => [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: randomId() }] }], '/policies/0/resource_groups/0/id'],
      ['unknown access value', () => [{ access: 'maybe', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] }], '/policies/0/access'],
      ['no permission groups', () => [{ access: 'allow', permission_groups: [], resource_groups: [{ id: rgAll.id }] }], '/policies/0/permission_groups'],
      ['no resource groups', () => [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [] }], '/policies/0/resource_groups'],
      ['missing access', () => [{ permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] }], '/policies/0/access'],
    ];
    for (const [what, policies, pointer] of invalid) {
      it(`${what} → 400/1001 ${pointer}`, async () => {
        const name = uniq('Invalid');
        const err = await expectApiError(
          c.iam.userGroups.create({ account_id, name, policies: policies() }),
          Cloudflare.BadRequestError,
          { status: 400, code: 1001 },
        );
        assert.equal(err.errors[0].source?.pointer, pointer, JSON.stringify(err.errors));
        assert.deepEqual(await collect(c.iam.userGroups.list({ account_id, name })), [], 'nothing created');
      });
    }

    it('a repeated permission group in one policy is refused (400/1001)', async () => {
      await expectApiError(
        c.iam.userGroups.create({
          account_id,
          name: uniq('Repeat'),
          policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }, { id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] }],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
    });

    it('a resource group of another account is unknown here (400/1001)', async () => {
      const other = await srv.adminKey.accounts.create({ name: uniq('Other') });
      try {
        const theirs = await srv.adminKey.iam.resourceGroups.create({
          account_id: other.id,
          name: 'theirs',
          scope: scopeOf(other.id, ['*']),
        });
        const err = await expectApiError(
          c.iam.userGroups.create({
            account_id,
            name: uniq('Foreign rg'),
            policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: theirs.id }] }],
          }),
          Cloudflare.BadRequestError,
          { status: 400, code: 1001 },
        );
        assert.equal(err.errors[0].source?.pointer, '/policies/0/resource_groups/0/id', JSON.stringify(err.errors));
      } finally {
        await srv.adminKey.accounts.delete({ account_id: other.id });
      }
    });

    const badNames = [
      ['missing name', {}],
      ['empty name', { name: '' }],
      ['blank name', { name: '  ' }],
      ['name of 256 characters', { name: 'g'.repeat(256) }],
    ];
    for (const [what, body] of badNames) {
      it(`${what} → 400/1001 /name`, async () => {
        const err = await expectApiError(c.iam.userGroups.create({ account_id, ...body }), Cloudflare.BadRequestError, {
          status: 400,
          code: 1001,
        });
        assert.equal(err.errors[0].source?.pointer, '/name', JSON.stringify(err.errors));
      });
    }

    it('a 255-character name is accepted', async () => {
      const name = 'g'.repeat(255);
      const g = await c.iam.userGroups.create({ account_id, name });
      assert.equal(g.name, name);
      await c.iam.userGroups.delete(g.id, { account_id });
    });
  });

  describe('list', () => {
    const made = [];
    let tag;
    let all;

    before(async () => {
      tag = `Pg${Math.random().toString(36).slice(2, 8)}`;
      // 12 groups sharing a tag, mixed case so that the case-insensitive order matters.
      const labels = ['alpha', 'Bravo', 'charlie', 'Delta', 'echo', 'Foxtrot', 'golf', 'Hotel', 'india', 'Juliett', 'kilo', 'Lima'];
      for (const l of labels) {
        made.push(await c.iam.userGroups.create({ account_id, name: `${l} ${tag}` }));
      }
      made.push(await c.iam.userGroups.create({ account_id, name: `Find Me ${tag}` }));
    });

    it('walks every page with `for await` (per_page 5, 3+ pages), by name (case-insensitive) then id', async () => {
      const rec = recordingFetch();
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const first = await rc.iam.userGroups.list({ account_id, per_page: 5 });
      const total = first.result_info.total_count;
      assert.ok(total >= 13, `total_count ${total}`);
      assertResultInfo(first.result_info, { page: 1, perPage: 5, count: 5, totalCount: total });

      rec.calls.length = 0;
      all = [];
      for await (const g of rc.iam.userGroups.list({ account_id, per_page: 5 })) all.push(g);
      const pages = Math.ceil(total / 5);
      assert.ok(pages >= 3);
      assert.equal(rec.calls.length, pages + 1, 'N pages + the empty one');
      const pagesSeen = rec.calls.map((x) => new URL(x.url).searchParams.get('page'));
      assert.deepEqual(pagesSeen, [null, ...Array.from({ length: pages }, (_, i) => String(i + 2))]);
      for (const x of rec.calls) assert.equal(new URL(x.url).searchParams.get('per_page'), '5');

      assert.equal(all.length, total);
      assertNoDuplicateIds(all, 'user groups');
      for (const g of all) assertUserGroup(g);
      for (const m of made) assert.ok(all.some((g) => g.id === m.id), `${m.name} listed`);
      assertOrderedBy(all, [[(g) => g.name.toLowerCase(), 'asc'], [(g) => g.id, 'asc']], {
        what: 'user groups by name (case-insensitive), then id',
      });

      const last = await c.iam.userGroups.list({ account_id, per_page: 5, page: pages });
      assertResultInfo(last.result_info, { page: pages, perPage: 5, count: total - 5 * (pages - 1), totalCount: total });
      const past = await c.iam.userGroups.list({ account_id, per_page: 5, page: pages + 1 });
      assert.deepEqual(past.result, []);
    });

    it('direction=desc reverses the order', async () => {
      assert.ok(all, 'needs the previous test');
      const desc = await collect(c.iam.userGroups.list({ account_id, per_page: 5, direction: 'desc' }));
      assert.deepEqual(
        desc.map((g) => g.id),
        [...all].reverse().map((g) => g.id),
      );
      const asc = await collect(c.iam.userGroups.list({ account_id, per_page: 5, direction: 'asc' }));
      assert.deepEqual(
        asc.map((g) => g.id),
        all.map((g) => g.id),
      );
    });

    it('fuzzyName: camelCase on the wire, case-insensitive substring', async () => {
      const rec = recordingFetch();
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const needle = tag.toUpperCase();
      const found = await collect(rc.iam.userGroups.list({ account_id, fuzzyName: needle, per_page: 5 }));
      const url = new URL(rec.calls[0].url);
      assert.equal(url.searchParams.get('fuzzyName'), needle, `wire: ${rec.calls[0].url}`);
      assert.deepEqual(
        found.map((g) => g.id),
        [...made].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1)).map((g) => g.id),
      );
      const page = await c.iam.userGroups.list({ account_id, fuzzyName: `ND ME ${tag.toLowerCase()}` });
      assert.deepEqual(
        page.result.map((g) => g.id),
        [made[12].id],
      );
      assertResultInfo(page.result_info, { page: 1, count: 1, totalCount: 1 });
      const none = await c.iam.userGroups.list({ account_id, fuzzyName: `${tag}-nothing` });
      assert.deepEqual(none.result, []);
      assertResultInfo(none.result_info, { count: 0, totalCount: 0 });
    });

    it('fuzzyName with direction=desc', async () => {
      const found = await collect(c.iam.userGroups.list({ account_id, fuzzyName: tag, direction: 'desc', per_page: 5 }));
      assert.deepEqual(
        found.map((g) => g.id),
        [...made].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? 1 : -1)).map((g) => g.id),
      );
    });

    it('name: exact, case-insensitive; a space is sent as %20', async () => {
      const rec = recordingFetch();
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const target = made[12]; // "Find Me <tag>"
      const page = await rc.iam.userGroups.list({ account_id, name: target.name.toLowerCase() });
      assert.ok(rec.calls[0].url.includes(`name=find%20me%20${tag.toLowerCase()}`), `wire: ${rec.calls[0].url}`);
      assert.deepEqual(
        page.result.map((g) => g.id),
        [target.id],
      );
      const partial = await c.iam.userGroups.list({ account_id, name: `Find Me` });
      assert.deepEqual(partial.result, [], 'name is exact');
    });

    it('a `+` for a space (as Python sends it) is decoded too', async () => {
      const target = made[12];
      const res = await fetch(
        `${srv.baseURL}/accounts/${account_id}/iam/user_groups?name=${target.name.replace(/ /g, '+')}`,
        { headers: { authorization: `Bearer ${srv.boot.api_token}` } },
      );
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.deepEqual(
        body.result.map((g) => g.id),
        [target.id],
      );
    });

    it('id filter', async () => {
      const page = await c.iam.userGroups.list({ account_id, id: made[3].id });
      assert.deepEqual(page.result, [made[3]]);
      const none = await c.iam.userGroups.list({ account_id, id: randomId() });
      assert.deepEqual(none.result, []);
    });

    it('per_page defaults to 100 and is clamped to 1..500; page 0 is 400/1001', async () => {
      const def = await c.iam.userGroups.list({ account_id });
      assert.equal(def.result_info.per_page, 100);
      assert.equal(def.result_info.page, 1);
      const big = await c.iam.userGroups.list({ account_id, per_page: 1000 });
      assert.equal(big.result_info.per_page, 500);
      const small = await c.iam.userGroups.list({ account_id, per_page: 0 });
      assert.equal(small.result_info.per_page, 1);
      assert.equal(small.result.length, 1);
      await expectApiError(c.iam.userGroups.list({ account_id, page: 0 }), Cloudflare.BadRequestError, {
        status: 400,
        code: 1001,
      });
    });
  });

  describe('names and filters: edge cases', () => {
    it('names are trimmed; the trimmed name is what clashes (409/1002)', async () => {
      const core = uniq('Trimmed');
      const g = await c.iam.userGroups.create({ account_id, name: `  ${core}  ` });
      assert.equal(g.name, core, 'stored trimmed');
      await expectApiError(c.iam.userGroups.create({ account_id, name: ` ${core.toLowerCase()}\t` }), Cloudflare.ConflictError, {
        status: 409,
        code: 1002,
      });
    });

    it('length limits count characters, not bytes (255 × "é" is accepted, 256 is not)', async () => {
      const name = 'é'.repeat(255);
      const g = await c.iam.userGroups.create({ account_id, name });
      assert.equal(g.name, name);
      assert.deepEqual(await c.iam.userGroups.get(g.id, { account_id }), g);
      const err = await expectApiError(c.iam.userGroups.create({ account_id, name: 'ü'.repeat(256) }), Cloudflare.BadRequestError, {
        status: 400,
        code: 1001,
      });
      assert.equal(err.errors[0].source?.pointer, '/name');
    });

    it('the same name in another account is not a clash', async () => {
      const name = uniq('Shared name');
      await c.iam.userGroups.create({ account_id, name });
      const other = await srv.adminKey.accounts.create({ name: uniq('Other') });
      try {
        const theirs = await srv.adminKey.iam.userGroups.create({ account_id: other.id, name });
        assert.equal(theirs.name, name);
        const mine = await collect(c.iam.userGroups.list({ account_id, id: theirs.id }));
        assert.deepEqual(mine, [], 'not visible from this account');
        await expectApiError(c.iam.userGroups.get(theirs.id, { account_id }), Cloudflare.NotFoundError, {
          status: 404,
          code: 1003,
        });
      } finally {
        await srv.adminKey.accounts.delete({ account_id: other.id });
      }
    });

    it('fuzzyName treats % and _ literally (no SQL LIKE wildcards)', async () => {
      const t = Math.random().toString(36).slice(2, 8);
      const pct = await c.iam.userGroups.create({ account_id, name: `100% ${t}` });
      const und = await c.iam.userGroups.create({ account_id, name: `snake_case ${t}` });
      await c.iam.userGroups.create({ account_id, name: `snakeXcase ${t}` });
      const byPct = await collect(c.iam.userGroups.list({ account_id, fuzzyName: '%' }));
      assert.deepEqual(
        byPct.map((g) => g.id),
        [pct.id],
        `fuzzyName=% matched ${JSON.stringify(byPct.map((g) => g.name))}`,
      );
      const byUnd = await collect(c.iam.userGroups.list({ account_id, fuzzyName: `e_c` }));
      assert.deepEqual(
        byUnd.map((g) => g.id),
        [und.id],
        `fuzzyName=e_c matched ${JSON.stringify(byUnd.map((g) => g.name))}`,
      );
      const exact = await collect(c.iam.userGroups.list({ account_id, name: `snake_case ${t}` }));
      assert.deepEqual(
        exact.map((g) => g.id),
        [und.id],
        'name=snake_case matches only itself',
      );
    });

    it('page=2.0 (as Python sends it) is accepted', async () => {
      const res = await fetch(`${srv.baseURL}/accounts/${account_id}/iam/user_groups?per_page=1&page=2.0`, {
        headers: { authorization: `Bearer ${srv.boot.api_token}` },
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.result_info.page, 2);
      assert.equal(body.result.length, 1);
    });

    it('policies of the wrong type is 400/1001 /policies', async () => {
      const err = await expectApiError(
        c.iam.userGroups.create({ account_id, name: uniq('wrong'), policies: { access: 'allow' } }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      assert.equal(err.errors[0].source?.pointer, '/policies', JSON.stringify(err.errors));
    });
  });

  it('delete: 200 {id}; then get is a NotFoundError (404/1003), and it is gone from lists', async () => {
    const g = await c.iam.userGroups.create({
      account_id,
      name: uniq('Doomed'),
      policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] }],
    });
    assert.deepEqual(await c.iam.userGroups.delete(g.id, { account_id }), { id: g.id });
    await expectApiError(c.iam.userGroups.get(g.id, { account_id }), Cloudflare.NotFoundError, { status: 404, code: 1003 });
    await expectApiError(c.iam.userGroups.update(g.id, { account_id, name: 'x' }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(c.iam.userGroups.delete(g.id, { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    const page = await c.iam.userGroups.list({ account_id, id: g.id });
    assert.deepEqual(page.result, []);
    // its name is free again
    const again = await c.iam.userGroups.create({ account_id, name: g.name });
    assert.notEqual(again.id, g.id);
  });

  it('unknown id is 404/1003, malformed id is 400/7003', async () => {
    await expectApiError(c.iam.userGroups.get(randomId(), { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(c.iam.userGroups.get('nope', { account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 7003,
    });
  });

  it('the bootstrap user via email+key manages user groups too', async () => {
    const k = srv.adminKey;
    const g = await k.iam.userGroups.create({ account_id, name: uniq('via key') });
    assertUserGroup(g);
    assert.deepEqual(await k.iam.userGroups.get(g.id, { account_id }), g);
    assert.deepEqual(await k.iam.userGroups.delete(g.id, { account_id }), { id: g.id });
  });

  it('localGroupId helper matches the documented rule', () => {
    assert.equal(localGroupId(SUPER_ADMIN_NAME), PG.SUPER_ADMIN);
  });
});
