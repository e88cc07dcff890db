// The API-token contract, shared by account-owned tokens (/accounts/{a}/tokens) and user-owned tokens
// (/user/tokens). Each test file supplies an adapter that maps the operations onto the SDK.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './server.mjs';
import {
  assertId,
  assertNoDuplicateIds,
  assertOptTimestamp,
  assertResultInfo,
  assertSameInstant,
  assertTimestamp,
  collect,
  expectApiError,
  randomId,
  TOKEN_VALUE_RE,
  uniq,
} from './expect.mjs';
import { TOKEN_GROUPS } from './catalog.mjs';

/**
 * @typedef {object} Adapter
 * @property {string} title
 * @property {(srv) => Cloudflare} owner            client that manages these tokens
 * @property {(client, srv) => object} ops          { create, list, get, update, delete, roll, verify, pg }
 * @property {(srv) => string} resourceKey          resource key for a policy
 * @property {string} groupName                     token permission group used in policies
 * @property {string} otherGroupName                 a second one, for updates
 * @property {(srv, value) => Promise} verifyElsewhere  verify the token at the other kind's endpoint
 * @property {(ids: Set<string>) => void} assertCatalog checks the permission-group id set served
 */

function assertTokenShape(t, { name, status } = {}) {
  assertId(t.id, 'token id');
  assert.equal(typeof t.name, 'string');
  if (name !== undefined) assert.equal(t.name, name);
  assert.ok(['active', 'disabled', 'expired'].includes(t.status), `status ${t.status}`);
  if (status !== undefined) assert.equal(t.status, status);
  assertTimestamp(t.issued_on, 'issued_on');
  assertTimestamp(t.modified_on, 'modified_on');
  assertOptTimestamp(t.last_used_on, 'last_used_on');
  assertOptTimestamp(t.not_before, 'not_before');
  assertOptTimestamp(t.expires_on, 'expires_on');
  assert.ok(Array.isArray(t.policies) && t.policies.length >= 1, 'policies non-empty array');
  for (const p of t.policies) {
    assertId(p.id, 'policy id');
    assert.ok(['allow', 'deny'].includes(p.effect), `effect ${p.effect}`);
    assert.ok(Array.isArray(p.permission_groups) && p.permission_groups.length >= 1);
    for (const g of p.permission_groups) assertId(g.id, 'policy permission group id');
    assert.ok(p.resources && typeof p.resources === 'object' && Object.keys(p.resources).length >= 1);
  }
}

/** condition.request_ip echoes the lists given (an absent list may be omitted or empty). */
function assertCondition(cond, { in: inList, not_in: notIn }) {
  assert.ok(cond && cond.request_ip, `condition.request_ip: ${JSON.stringify(cond)}`);
  for (const [k, want] of [['in', inList], ['not_in', notIn]]) {
    const got = cond.request_ip[k];
    if (want) assert.deepEqual(got, want, `condition.request_ip.${k}`);
    else assert.ok(got == null || (Array.isArray(got) && got.length === 0), `condition.request_ip.${k}: ${JSON.stringify(got)}`);
  }
}

/** Policies as sent, for comparison with what the server echoes (ids are server-assigned). */
function stripPolicy(p) {
  return {
    effect: p.effect,
    permission_groups: p.permission_groups.map((g) => g.id),
    resources: p.resources,
  };
}

export function tokenSuite(adapter) {
  describe(adapter.title, () => {
    let srv;
    let owner;
    let ops;
    let groupId;
    let otherGroupId;
    let policy;

    const opsFor = (client) => adapter.ops(client, srv);
    const mkPolicy = (gid, effect = 'allow') => ({
      effect,
      permission_groups: [{ id: gid }],
      resources: { [adapter.resourceKey(srv)]: '*' },
    });
    const create = (extra = {}) => ops.create({ name: uniq('tok'), policies: [policy], ...extra });

    before(async () => {
      srv = await startServer();
      owner = adapter.owner(srv);
      ops = opsFor(owner);
      const g1 = await ops.pg({ name: adapter.groupName });
      assert.equal(g1.result.length, 1, `permission group ${adapter.groupName}: ${JSON.stringify(g1.result)}`);
      groupId = g1.result[0].id;
      const g2 = await ops.pg({ name: adapter.otherGroupName });
      assert.equal(g2.result.length, 1, `permission group ${adapter.otherGroupName}`);
      otherGroupId = g2.result[0].id;
      policy = mkPolicy(groupId);
    });
    after(async () => {
      await srv?.stop();
    });

    it('permissionGroups.list: the token catalog, {id, name, scopes, description}', async () => {
      const page = await ops.pg({});
      const items = page.result;
      assert.ok(items.length > 100, `catalog size ${items.length}`);
      assertNoDuplicateIds(items, 'token permission groups');
      for (const g of items) {
        assertId(g.id, `token permission group id (${g.name})`);
        assert.equal(typeof g.name, 'string');
        assert.ok(Array.isArray(g.scopes) && g.scopes.length >= 1, `scopes of ${g.name}`);
        assert.ok('description' in g, `description of ${g.name}`);
      }
      adapter.assertCatalog(new Set(items.map((g) => g.id)));
      // Exactly one request: a SinglePage list.
      const rec = recordingFetch();
      const again = await collect(opsFor(adapter.owner(srv, { fetch: rec.fetch })).pg({}));
      assert.equal(again.length, items.length);
      assert.equal(rec.calls.length, 1);
    });

    it('permissionGroups.list filters by name (exact, case-insensitive) and scope', async () => {
      const byName = await ops.pg({ name: adapter.groupName.toUpperCase() });
      assert.deepEqual(
        byName.result.map((g) => g.name),
        [adapter.groupName],
      );
      const logs = await ops.pg({ name: 'Logs Read' });
      assert.ok(logs.result.length >= 1);
      assert.ok(logs.result.every((g) => g.name === 'Logs Read'));
      const none = await ops.pg({ name: 'Logs' });
      assert.deepEqual(none.result, []);

      const zone = await ops.pg({ scope: 'com.cloudflare.api.account.zone' });
      const expectedZone = TOKEN_GROUPS.filter(([, , s]) => s === 'com.cloudflare.api.account.zone').length;
      assert.equal(zone.result.length, expectedZone);
      assert.ok(zone.result.every((g) => g.scopes.includes('com.cloudflare.api.account.zone')));
      const zr = zone.result.find((g) => g.id === 'c8fed203ed3043cba015a93ad1616f1f');
      assert.equal(zr?.name, 'Zone Read');
    });

    it('create returns the token with its value once; the value verifies as Bearer', async () => {
      const name = uniq('created');
      const t = await ops.create({ name, policies: [policy] });
      assertTokenShape(t, { name, status: 'active' });
      assert.match(t.value, TOKEN_VALUE_RE, 'value: 40 chars of [A-Za-z0-9_-]');
      assert.deepEqual(t.policies.map(stripPolicy), [stripPolicy(policy)]);
      assert.ok(!t.not_before, 'no not_before');
      assert.ok(!t.expires_on, 'no expires_on');

      const bearer = srv.tokenClient(t.value);
      const v = await opsFor(bearer).verify();
      assert.equal(v.id, t.id);
      assert.equal(v.status, 'active');

      // The raw envelope carries the CF message.
      const res = await opsFor(bearer).verify().asResponse();
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const body = await res.json();
      assert.equal(body.success, true);
      assert.deepEqual(body.errors, []);
      assert.ok(
        body.messages.some((m) => m.code === 10000 && m.message === 'This API Token is valid and active'),
        JSON.stringify(body.messages),
      );

      const got = await ops.get(t.id);
      assert.ok(!('value' in got), 'get must not reveal the value');
      const { value: _v, last_used_on: _l1, ...createdRest } = t;
      const { last_used_on: _l2, ...gotRest } = got;
      assert.deepEqual(gotRest, createdRest, 'get returns what create returned (minus value)');
    });

    it('list: contains the tokens, never their values; paginates by name then id', async () => {
      const names = ['p-03', 'p-01', 'P-05', 'p-02', 'p-06', 'p-04'];
      const ids = [];
      for (const name of names) ids.push((await ops.create({ name, policies: [policy] })).id);

      const rec = recordingFetch();
      const rops = opsFor(adapter.owner(srv, { fetch: rec.fetch }));
      const first = await rops.list({ per_page: 5 });
      const total = first.result_info.total_count;
      assert.ok(total >= 6);
      assertResultInfo(first.result_info, { page: 1, perPage: 5, count: 5, totalCount: total });
      rec.calls.length = 0;
      const all = await collect(rops.list({ per_page: 5 }));
      assert.equal(rec.calls.length, Math.ceil(total / 5) + 1);
      assert.equal(all.length, total);
      assertNoDuplicateIds(all, 'tokens');
      for (const t of all) {
        assert.ok(!('value' in t), 'list must not reveal values');
        assertTokenShape(t);
      }
      const sorted = [...all].sort((a, b) => {
        const na = a.name.toLowerCase();
        const nb = b.name.toLowerCase();
        if (na !== nb) return na < nb ? -1 : 1;
        return a.id < b.id ? -1 : 1;
      });
      assert.deepEqual(
        all.map((t) => t.id),
        sorted.map((t) => t.id),
        'order: name (case-insensitive) then id',
      );
      assert.deepEqual(
        all.filter((t) => ids.includes(t.id)).map((t) => t.name),
        ['p-01', 'p-02', 'p-03', 'p-04', 'P-05', 'p-06'],
      );
      const past = await ops.list({ per_page: 5, page: Math.ceil(total / 5) + 1 });
      assert.deepEqual(past.result, []);
      for (const id of ids) await ops.delete(id);
    });

    it('update: name, policies and status; disabled tokens get 403/9109; absent fields unchanged', async () => {
      const t = await create();
      const bearer = opsFor(srv.tokenClient(t.value));

      const newPolicies = [mkPolicy(otherGroupId), mkPolicy(groupId, 'deny')];
      const u1 = await ops.update(t.id, { name: 'renamed', policies: newPolicies });
      assertTokenShape(u1, { name: 'renamed', status: 'active' });
      assert.equal(u1.id, t.id);
      assert.equal(u1.issued_on, t.issued_on);
      assert.ok(Date.parse(u1.modified_on) >= Date.parse(t.modified_on));
      assert.deepEqual(u1.policies.map(stripPolicy), newPolicies.map(stripPolicy));
      const got1 = await ops.get(t.id);
      assert.deepEqual(got1.policies, u1.policies, 'policy order and ids stable between write and read');

      const u2 = await ops.update(t.id, { name: 'renamed', policies: newPolicies, status: 'disabled' });
      assert.equal(u2.status, 'disabled');
      await expectApiError(bearer.verify(), Cloudflare.PermissionDeniedError, { status: 403, code: 9109 });

      // Partial body: only `status` (the SDK sends what it is given).
      const u3 = await ops.update(t.id, { status: 'active' });
      assert.equal(u3.status, 'active');
      assert.equal(u3.name, 'renamed', 'name unchanged when absent');
      assert.deepEqual(u3.policies.map(stripPolicy), newPolicies.map(stripPolicy), 'policies unchanged when absent');
      const v = await bearer.verify();
      assert.equal(v.status, 'active');

      const u4 = await ops.update(t.id, { name: 'renamed-again' });
      assert.equal(u4.name, 'renamed-again');
      assert.deepEqual(u4.policies, u3.policies);
    });

    it('update rejects invalid values with 400/1001 and changes nothing', async () => {
      const t = await create();
      await expectApiError(ops.update(t.id, { name: '' }), Cloudflare.BadRequestError, { status: 400, code: 1001 });
      await expectApiError(ops.update(t.id, { status: 'bogus' }), Cloudflare.BadRequestError, {
        status: 400,
        code: 1001,
      });
      await expectApiError(ops.update(t.id, { policies: [] }), Cloudflare.BadRequestError, {
        status: 400,
        code: 1001,
      });
      const got = await ops.get(t.id);
      assert.equal(got.name, t.name);
      assert.equal(got.status, 'active');
    });

    it('value.update rolls the secret: the new value works, the old one gets 403/9109', async () => {
      const t = await create();
      const oldOps = opsFor(srv.tokenClient(t.value));
      assert.equal((await oldOps.verify()).id, t.id);

      const newValue = await ops.roll(t.id);
      assert.equal(typeof newValue, 'string', `roll result should be the new value, got ${JSON.stringify(newValue)}`);
      assert.match(newValue, TOKEN_VALUE_RE);
      assert.notEqual(newValue, t.value);

      const v = await opsFor(srv.tokenClient(newValue)).verify();
      assert.equal(v.id, t.id);
      assert.equal(v.status, 'active');
      await expectApiError(oldOps.verify(), Cloudflare.PermissionDeniedError, { status: 403, code: 9109 });

      const got = await ops.get(t.id);
      assert.equal(got.id, t.id);
      assert.equal(got.name, t.name);
    });

    it('delete answers 200 {id}; the token is gone and its value stops working', async () => {
      const t = await create();
      const del = await ops.delete(t.id);
      assert.deepEqual(del, { id: t.id });
      await expectApiError(ops.get(t.id), Cloudflare.NotFoundError, { status: 404, code: 1003 });
      await expectApiError(ops.delete(t.id), Cloudflare.NotFoundError, { status: 404, code: 1003 });
      await expectApiError(opsFor(srv.tokenClient(t.value)).verify(), Cloudflare.PermissionDeniedError, {
        status: 403,
        code: 9109,
      });
      const all = await collect(ops.list({ per_page: 50 }));
      assert.ok(!all.some((x) => x.id === t.id));
    });

    it('unknown token id is 404/1003; a malformed one 400/7003', async () => {
      await expectApiError(ops.get(randomId()), Cloudflare.NotFoundError, { status: 404, code: 1003 });
      await expectApiError(ops.update(randomId(), { name: 'x' }), Cloudflare.NotFoundError, {
        status: 404,
        code: 1003,
      });
      await expectApiError(ops.roll(randomId()), Cloudflare.NotFoundError, { status: 404, code: 1003 });
      await expectApiError(ops.get('not-a-token-id'), Cloudflare.BadRequestError, { status: 400, code: 7003 });
    });

    it('create validates name, policies, effect, permission groups and resources (400/1001)', async () => {
      const bad = [
        { name: '', policies: [policy] },
        { name: 'x'.repeat(121), policies: [policy] },
        { name: 'no-policies', policies: [] },
        { name: 'bad-effect', policies: [{ ...policy, effect: 'maybe' }] },
        { name: 'no-groups', policies: [{ ...policy, permission_groups: [] }] },
        { name: 'unknown-group', policies: [mkPolicy(randomId())] },
        { name: 'no-resources', policies: [{ ...policy, resources: {} }] },
      ];
      for (const body of bad) {
        await expectApiError(ops.create(body), Cloudflare.BadRequestError, { status: 400, code: 1001 });
      }
      const all = await collect(ops.list({ per_page: 50 }));
      for (const body of bad) assert.ok(!all.some((t) => t.name === body.name), `${body.name} not created`);
    });

    it('a name of exactly 120 characters is accepted', async () => {
      const name = 'n'.repeat(120);
      const t = await ops.create({ name, policies: [policy] });
      assert.equal(t.name, name);
      await ops.delete(t.id);
    });

    it('not_before in the future: 403/9109 until then; verify reports not_before/expires_on', async () => {
      const notBefore = new Date(Date.now() + 86_400_000).toISOString();
      const t = await create({ not_before: notBefore });
      assertSameInstant(t.not_before, notBefore, 'not_before');
      await expectApiError(opsFor(srv.tokenClient(t.value)).verify(), Cloudflare.PermissionDeniedError, {
        status: 403,
        code: 9109,
      });

      const expiresOn = '2099-01-01T00:00:00Z';
      const t2 = await create({ expires_on: expiresOn });
      assertSameInstant(t2.expires_on, expiresOn, 'expires_on');
      const v = await opsFor(srv.tokenClient(t2.value)).verify();
      assert.equal(v.id, t2.id);
      assert.equal(v.status, 'active');
      assertSameInstant(v.expires_on, expiresOn, 'verify expires_on');
      assertTimestamp(v.expires_on, 'verify expires_on');

      // Clearing not_before with an explicit null makes the first token usable.
      const cleared = await ops.update(t.id, { not_before: null });
      assert.ok(!cleared.not_before, `not_before cleared: ${cleared.not_before}`);
      const v1 = await opsFor(srv.tokenClient(t.value)).verify();
      assert.equal(v1.id, t.id);
    });

    it('an expired token reads status "expired" and gets 403/9109', async () => {
      const expiresOn = new Date(Date.now() + 1500).toISOString();
      const t = await create({ expires_on: expiresOn });
      const bearer = opsFor(srv.tokenClient(t.value));
      await sleep(2500);
      await expectApiError(bearer.verify(), Cloudflare.PermissionDeniedError, { status: 403, code: 9109 });
      const got = await ops.get(t.id);
      assert.equal(got.status, 'expired');
    });

    it('condition.request_ip is enforced (in / not_in) and can be cleared with null', async () => {
      const outside = await create({ condition: { request_ip: { in: ['10.0.0.0/8'] } } });
      assertCondition(outside.condition, { in: ['10.0.0.0/8'] });
      await expectApiError(
        opsFor(srv.tokenClient(outside.value)).verify(),
        Cloudflare.PermissionDeniedError,
        { status: 403, code: 9109, messageIncludes: 'Cannot use the access token from location: 127.0.0.1' },
      );

      const excluded = await create({ condition: { request_ip: { not_in: ['127.0.0.0/8'] } } });
      await expectApiError(opsFor(srv.tokenClient(excluded.value)).verify(), Cloudflare.PermissionDeniedError, {
        status: 403,
        code: 9109,
      });

      const inside = await create({ condition: { request_ip: { in: ['127.0.0.1/32', '::1/128'] } } });
      const v = await opsFor(srv.tokenClient(inside.value)).verify();
      assert.equal(v.id, inside.id);
      const got = await ops.get(inside.id);
      assertCondition(got.condition, { in: ['127.0.0.1/32', '::1/128'] });

      const cleared = await ops.update(outside.id, { condition: null });
      assert.ok(
        cleared.condition == null || Object.keys(cleared.condition).length === 0 ||
          (cleared.condition.request_ip == null),
        `condition cleared: ${JSON.stringify(cleared.condition)}`,
      );
      const v2 = await opsFor(srv.tokenClient(outside.value)).verify();
      assert.equal(v2.id, outside.id);
    });

    it('an invalid CIDR in condition is 400/1001', async () => {
      await expectApiError(
        create({ condition: { request_ip: { in: ['not-a-cidr'] } } }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001 },
      );
    });

    it("verify at the other kind's endpoint is refused (403; 1000 for an account token at /user, else 9109)", async () => {
      const t = await create();
      await expectApiError(adapter.verifyElsewhere(srv, t.value), Cloudflare.PermissionDeniedError, {
        status: 403,
        code: adapter.verifyElsewhereCode ?? 9109,
      });
    });

    if (adapter.extraTests) adapter.extraTests(() => ({ srv, ops, policy, create, opsFor }));
  });
}
