// client.iam.resourceGroups.{create,get,list,update,delete}: /accounts/{a}/iam/resource_groups[/{id}]
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import { assertNoDuplicateIds, assertOrderedBy, expectApiError, randomId, uniq } from './lib/expect.mjs';
import { PG, accountKey, assertResourceGroup, scopeOf, zoneKey } from './lib/iam.mjs';

describe('iam.resourceGroups', () => {
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

  it('creates a resource group from a scope object; the answer shows scope as one object, as this SDK declares', async () => {
    const name = uniq('All zones');
    const rec = recordingFetch({ bodies: true });
    const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    const rg = await rc.iam.resourceGroups.create({ account_id, name, scope: scopeOf(account_id, ['*']) });
    assertResourceGroup(rg, { name, accountId: account_id, objects: ['*'] });

    // The SDK sent the scope as one object, and the raw envelope is a success with scope as one
    // object (npm 7.1+; older SDKs and other clients get the seed's one-element list).
    assert.equal(rec.calls.length, 1);
    const sent = JSON.parse(rec.calls[0].requestBody);
    assert.ok(!Array.isArray(sent.scope), 'the SDK sends scope as one object');
    assert.equal(rec.calls[0].status, 200);
    assert.equal(rec.calls[0].body.success, true);
    assert.deepEqual(rec.calls[0].body.errors, []);
    assert.ok(!Array.isArray(rec.calls[0].body.result.scope));
    assert.equal(rec.calls[0].body.result.scope.key, accountKey(account_id));

    const got = await c.iam.resourceGroups.get(rg.id, { account_id });
    assert.deepEqual(got, rg, 'get returns what create returned');
  });

  it('creates a zone resource group with several objects; they come back in the order written, on every read', async () => {
    const keys = [zoneKey(), zoneKey(), zoneKey()];
    const name = uniq('Three zones');
    const rg = await c.iam.resourceGroups.create({ account_id, name, scope: scopeOf(account_id, keys) });
    assertResourceGroup(rg, { name, accountId: account_id, objects: keys });
    const got = await c.iam.resourceGroups.get(rg.id, { account_id });
    assert.deepEqual(got, rg);
    const listed = await c.iam.resourceGroups.list({ account_id, id: rg.id });
    assert.deepEqual(listed.result, [rg]);
  });

  it('accepts scope as a one-element list in the request (api.md §5)', async () => {
    const name = uniq('as-list');
    const rg = await c.iam.resourceGroups.create({
      account_id,
      name,
      scope: [scopeOf(account_id, [zoneKey()])],
    });
    assertResourceGroup(rg, { name, accountId: account_id });
    assert.equal(rg.scope.objects.length, 1);
  });

  it('accepts the wildcard key forms `*`, `com.cloudflare.api.account.zone.*` and the account key itself', async () => {
    const keys = ['*', 'com.cloudflare.api.account.zone.*', accountKey(account_id)];
    const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('zone-wild'), scope: scopeOf(account_id, keys) });
    assertResourceGroup(rg, { objects: keys });
  });

  describe('list', () => {
    const made = [];
    let sharedName;

    before(async () => {
      sharedName = uniq('Same Name');
      for (let i = 0; i < 3; i++) {
        made.push(
          await c.iam.resourceGroups.create({
            account_id,
            name: `${sharedName}`,
            scope: scopeOf(account_id, [zoneKey()]),
          }),
        );
      }
      made.push(
        await c.iam.resourceGroups.create({ account_id, name: uniq('other'), scope: scopeOf(account_id, ['*']) }),
      );
      // mixed case, so that the case-insensitive order differs from a byte order
      for (const n of ['apple', 'Banana', 'cherry', 'Date']) {
        made.push(await c.iam.resourceGroups.create({ account_id, name: `${n} ${sharedName}`, scope: scopeOf(account_id, ['*']) }));
      }
    });

    it('returns the whole array in one request (SinglePage, no page params), by name (case-insensitive) then id', async () => {
      const rec = recordingFetch({ bodies: true });
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const page = await rc.iam.resourceGroups.list({ account_id });
      assert.equal(rec.calls.length, 1);
      const url = new URL(rec.calls[0].url);
      assert.equal(url.pathname, `/client/v4/accounts/${account_id}/iam/resource_groups`);
      assert.equal(url.searchParams.get('page'), null);
      assert.ok(Array.isArray(rec.calls[0].body.result), 'result is an array');

      const items = [];
      for await (const rg of rc.iam.resourceGroups.list({ account_id })) items.push(rg);
      assert.equal(rec.calls.length, 2, 'iterating a SinglePage makes exactly one request');

      assert.deepEqual(items, page.result);
      assert.ok(items.length >= made.length + 3, `all groups listed (${items.length})`);
      assertNoDuplicateIds(items, 'resource groups');
      for (const rg of items) assertResourceGroup(rg, { accountId: account_id });
      for (const m of made) {
        assert.deepEqual(
          items.find((x) => x.id === m.id),
          m,
          `listed ${m.id} equals the create answer`,
        );
      }
      assertOrderedBy(items, [[(x) => x.name.toLowerCase(), 'asc'], [(x) => x.id, 'asc']], {
        what: 'resource groups by name (case-insensitive, docs/api-decisions.md) then id',
      });
    });

    it('filters by id', async () => {
      const page = await c.iam.resourceGroups.list({ account_id, id: made[1].id });
      assert.deepEqual(page.result, [made[1]]);
      const none = await c.iam.resourceGroups.list({ account_id, id: randomId() });
      assert.deepEqual(none.result, []);
    });

    it('filters by name (exact; a name with spaces is sent as %20)', async () => {
      const rec = recordingFetch();
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const page = await rc.iam.resourceGroups.list({ account_id, name: sharedName });
      assert.ok(rec.calls[0].url.includes('name=Same%20Name-'), `wire: ${rec.calls[0].url}`);
      const expected = made.slice(0, 3).sort((a, b) => (a.id < b.id ? -1 : 1));
      assert.deepEqual(
        page.result.map((x) => x.id),
        expected.map((x) => x.id),
        'the three groups with that name, by id',
      );
      const prefix = await c.iam.resourceGroups.list({ account_id, name: sharedName.slice(0, 6) });
      assert.deepEqual(prefix.result, [], 'name is exact, not a prefix');
    });

    it('filters by id and name together', async () => {
      const both = await c.iam.resourceGroups.list({ account_id, id: made[0].id, name: sharedName });
      assert.deepEqual(both.result, [made[0]]);
      const clash = await c.iam.resourceGroups.list({ account_id, id: made[3].id, name: sharedName });
      assert.deepEqual(clash.result, []);
    });
  });

  describe('update (PUT, partial)', () => {
    let rg;
    before(async () => {
      rg = await c.iam.resourceGroups.create({ account_id, name: uniq('upd'), scope: scopeOf(account_id, [zoneKey()]) });
    });

    it('name only: scope unchanged', async () => {
      const name = uniq('renamed');
      const rec = recordingFetch({ bodies: true });
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const u = await rc.iam.resourceGroups.update(rg.id, { account_id, name });
      assert.equal(rec.calls[0].method, 'PUT');
      assert.deepEqual(JSON.parse(rec.calls[0].requestBody), { name }, 'the SDK sends only the name');
      assert.deepEqual(u, { ...rg, name });
      assert.deepEqual(await c.iam.resourceGroups.get(rg.id, { account_id }), u);
      rg = u;
    });

    it('scope only: name unchanged', async () => {
      const keys = [zoneKey(), zoneKey()];
      const u = await c.iam.resourceGroups.update(rg.id, { account_id, scope: scopeOf(account_id, keys) });
      assertResourceGroup(u, { name: rg.name, accountId: account_id, objects: keys });
      assert.equal(u.id, rg.id);
      assert.deepEqual(await c.iam.resourceGroups.get(rg.id, { account_id }), u);
      rg = u;
    });

    it('`{}` changes nothing and answers the group', async () => {
      const rec = recordingFetch({ bodies: true });
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const u = await rc.iam.resourceGroups.update(rg.id, { account_id });
      assert.equal(rec.calls[0].requestBody, '{}');
      assert.deepEqual(u, rg);
      assert.deepEqual(await c.iam.resourceGroups.get(rg.id, { account_id }), rg);
    });

    it('invalid updates are 400/1001 with the pointer and change nothing', async () => {
      let err = await expectApiError(
        c.iam.resourceGroups.update(rg.id, { account_id, name: '' }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      assert.equal(err.errors[0].source?.pointer, '/name', JSON.stringify(err.errors));
      err = await expectApiError(
        c.iam.resourceGroups.update(rg.id, { account_id, scope: { key: accountKey(account_id), objects: [] } }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      assert.equal(err.errors[0].source?.pointer, '/scope/objects', JSON.stringify(err.errors));
      assert.deepEqual(await c.iam.resourceGroups.get(rg.id, { account_id }), rg);
    });
  });

  describe('validation (400/1001 with source.pointer)', () => {
    const cases = [
      ['missing name', (a) => ({ scope: scopeOf(a, ['*']) }), '/name'],
      ['empty name', (a) => ({ name: '', scope: scopeOf(a, ['*']) }), '/name'],
      ['blank name', (a) => ({ name: '   ', scope: scopeOf(a, ['*']) }), '/name'],
      ['name of 121 characters', (a) => ({ name: 'n'.repeat(121), scope: scopeOf(a, ['*']) }), '/name'],
      ['name of the wrong type', (a) => ({ name: 42, scope: scopeOf(a, ['*']) }), '/name'],
      ['missing scope', () => ({ name: 'x' }), '/scope'],
      ['scope key of another account', () => ({ name: 'x', scope: { key: accountKey(randomId()), objects: [{ key: '*' }] } }), '/scope/key'],
      ['scope key that is not an account key', (a) => ({ name: 'x', scope: { key: zoneKey(a), objects: [{ key: '*' }] } }), '/scope/key'],
      ['no objects', (a) => ({ name: 'x', scope: { key: accountKey(a), objects: [] } }), '/scope/objects'],
      ['malformed object key', (a) => ({ name: 'x', scope: scopeOf(a, ['com.cloudflare.api.account.zone.not-hex']) }), '/scope/objects/0/key'],
      ['object key outside com.cloudflare.api', (a) => ({ name: 'x', scope: scopeOf(a, [zoneKey(), 'zone:abc']) }), '/scope/objects/1/key'],
      ['object naming another account', (a) => ({ name: 'x', scope: scopeOf(a, [accountKey(randomId())]) }), '/scope/objects/0/key'],
      ['1001 objects', (a) => ({ name: 'x', scope: scopeOf(a, Array.from({ length: 1001 }, () => zoneKey())) }), '/scope/objects'],
    ];
    for (const [what, body, pointer] of cases) {
      it(`${what} → ${pointer}`, async () => {
        const err = await expectApiError(
          c.iam.resourceGroups.create({ account_id, ...body(account_id) }),
          Cloudflare.BadRequestError,
          { status: 400, code: 1001 },
        );
        assert.equal(err.errors[0].source?.pointer, pointer, JSON.stringify(err.errors));
      });
    }

    it('scope as a two-element list is refused (/scope)', async () => {
      const err = await expectApiError(
        c.iam.resourceGroups.create({
          account_id,
          name: 'x',
          scope: [scopeOf(account_id, ['*']), scopeOf(account_id, [zoneKey()])],
        }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      const ptr = err.errors[0].source?.pointer ?? '';
      assert.ok(ptr.startsWith('/scope'), `pointer ${JSON.stringify(ptr)}`);
    });

    it('names are trimmed; length counts characters (120 × "€" accepted, 121 refused)', async () => {
      const core = uniq('padded');
      const rg = await c.iam.resourceGroups.create({ account_id, name: `  ${core}\t`, scope: scopeOf(account_id, ['*']) });
      assert.equal(rg.name, core);
      const wide = '€'.repeat(120);
      const rg2 = await c.iam.resourceGroups.create({ account_id, name: wide, scope: scopeOf(account_id, ['*']) });
      assert.equal(rg2.name, wide);
      const err = await expectApiError(
        c.iam.resourceGroups.create({ account_id, name: '€'.repeat(121), scope: scopeOf(account_id, ['*']) }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      assert.equal(err.errors[0].source?.pointer, '/name');
      await c.iam.resourceGroups.delete(rg.id, { account_id });
      await c.iam.resourceGroups.delete(rg2.id, { account_id });
    });

    it('update with a scope key of another account is refused (/scope/key)', async () => {
      const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('k'), scope: scopeOf(account_id, ['*']) });
      const err = await expectApiError(
        c.iam.resourceGroups.update(rg.id, { account_id, scope: { key: accountKey(randomId()), objects: [{ key: '*' }] } }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      assert.equal(err.errors[0].source?.pointer, '/scope/key', JSON.stringify(err.errors));
      assert.deepEqual(await c.iam.resourceGroups.get(rg.id, { account_id }), rg);
      await c.iam.resourceGroups.delete(rg.id, { account_id });
    });

    it('an object listed twice is refused (pointer into /scope/objects)', async () => {
      const z = zoneKey();
      const err = await expectApiError(
        c.iam.resourceGroups.create({ account_id, name: 'dup', scope: scopeOf(account_id, [z, z]) }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
      const ptr = err.errors[0].source?.pointer ?? '';
      assert.ok(ptr.startsWith('/scope/objects'), `pointer ${JSON.stringify(ptr)}`);
    });

    it('limits are inclusive: a 120-character name and 1000 objects are accepted', async () => {
      const name = 'n'.repeat(120);
      const keys = Array.from({ length: 1000 }, () => zoneKey());
      const rg = await c.iam.resourceGroups.create({ account_id, name, scope: scopeOf(account_id, keys) });
      assertResourceGroup(rg, { name, objects: keys });
      assert.deepEqual(await c.iam.resourceGroups.get(rg.id, { account_id }), rg);
      await c.iam.resourceGroups.delete(rg.id, { account_id });
    });

    it('nothing was created by the refused requests', async () => {
      const page = await c.iam.resourceGroups.list({ account_id, name: 'x' });
      assert.deepEqual(page.result, []);
      const dup = await c.iam.resourceGroups.list({ account_id, name: 'dup' });
      assert.deepEqual(dup.result, []);
    });

    it('malformed JSON is 400/6007', async () => {
      const res = await fetch(`${srv.baseURL}/accounts/${account_id}/iam/resource_groups`, {
        method: 'POST',
        headers: { authorization: `Bearer ${srv.boot.api_token}`, 'content-type': 'application/json' },
        body: '{"name": "x", "scope": ',
      });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.success, false);
      assert.equal(body.errors[0].code, 6007);
    });
  });

  describe('delete', () => {
    it('deletes: 200 {id}; then get/update/delete are 404/1003', async () => {
      const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('del'), scope: scopeOf(account_id, ['*']) });
      const del = await c.iam.resourceGroups.delete(rg.id, { account_id });
      assert.deepEqual(del, { id: rg.id });
      await expectApiError(c.iam.resourceGroups.get(rg.id, { account_id }), Cloudflare.NotFoundError, {
        status: 404,
        code: 1003,
      });
      await expectApiError(
        c.iam.resourceGroups.update(rg.id, { account_id, name: 'again' }),
        Cloudflare.NotFoundError,
        { status: 404, code: 1003 },
      );
      await expectApiError(c.iam.resourceGroups.delete(rg.id, { account_id }), Cloudflare.NotFoundError, {
        status: 404,
        code: 1003,
      });
      const listed = await c.iam.resourceGroups.list({ account_id, id: rg.id });
      assert.deepEqual(listed.result, []);
    });

    it('is refused (400/1001 naming the user group) while a user-group policy uses it', async () => {
      const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('used'), scope: scopeOf(account_id, ['*']) });
      const gname = uniq('Users of rg');
      const ug = await c.iam.userGroups.create({
        account_id,
        name: gname,
        policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ id: rg.id }] }],
      });
      const err = await expectApiError(c.iam.resourceGroups.delete(rg.id, { account_id }), Cloudflare.BadRequestError, {
        status: 400,
        code: 1001,
      });
      const all = err.errors.map((e) => e.message).join(' | ');
      assert.ok(all.includes(gname), `message names the user group ${gname}: ${all}`);
      assert.ok(all.includes(ug.id), `message names the user group id ${ug.id}: ${all}`);
      // still there, still used
      const still = await c.iam.resourceGroups.get(rg.id, { account_id });
      assert.equal(still.id, rg.id);
      const g = await c.iam.userGroups.get(ug.id, { account_id });
      assert.equal(g.policies[0].resource_groups[0].id, rg.id);

      // once no policy uses it, it can be deleted
      await c.iam.userGroups.update(ug.id, { account_id, policies: [] });
      assert.deepEqual(await c.iam.resourceGroups.delete(rg.id, { account_id }), { id: rg.id });
    });

    it('is allowed after the user group that used it is deleted', async () => {
      const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('used2'), scope: scopeOf(account_id, ['*']) });
      const ug = await c.iam.userGroups.create({
        account_id,
        name: uniq('Gone'),
        policies: [{ access: 'deny', permission_groups: [{ id: PG.DNS }], resource_groups: [{ id: rg.id }] }],
      });
      await expectApiError(c.iam.resourceGroups.delete(rg.id, { account_id }), Cloudflare.BadRequestError, {
        status: 400,
        code: 1001,
      });
      await c.iam.userGroups.delete(ug.id, { account_id });
      assert.deepEqual(await c.iam.resourceGroups.delete(rg.id, { account_id }), { id: rg.id });
    });
  });

  it('unknown id is 404/1003, malformed id is 400/7003', async () => {
    await expectApiError(c.iam.resourceGroups.get(randomId(), { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(
      c.iam.resourceGroups.update(randomId(), { account_id, name: 'x' }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    await expectApiError(c.iam.resourceGroups.delete(randomId(), { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(c.iam.resourceGroups.get('not-an-id', { account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 7003,
    });
  });

  it('resource groups of another account are not visible (404/1003 by id; absent from lists)', async () => {
    const other = await srv.adminKey.accounts.create({ name: uniq('Other') });
    try {
      const theirs = await srv.adminKey.iam.resourceGroups.create({
        account_id: other.id,
        name: uniq('theirs'),
        scope: scopeOf(other.id, ['*']),
      });
      assertResourceGroup(theirs, { accountId: other.id });
      await expectApiError(c.iam.resourceGroups.get(theirs.id, { account_id }), Cloudflare.NotFoundError, {
        status: 404,
        code: 1003,
      });
      const mine = await c.iam.resourceGroups.list({ account_id, id: theirs.id });
      assert.deepEqual(mine.result, []);
    } finally {
      await srv.adminKey.accounts.delete({ account_id: other.id });
    }
  });
});
