// Audit log and change feed through the official SDK (cloudflare@7.3.0).
//
// Contract (session 8, "Audit log and change feed"):
//  - every successful write through the API or CLI records exactly one entry; a request refused
//    with 403 records one entry with result failure; a write that fails otherwise (400/404/409)
//    records nothing;
//  - v1 `GET /accounts/{a}/audit_logs` (`client.auditLogs.list`, V4 page pagination) and v2
//    `GET /accounts/{a}/logs/audit` (`client.accounts.logs.audit.list`, cursor pagination on
//    `result_info.cursors.after`; `since` and `before` required) show the same entries;
//  - `GET /accounts/{a}/iam/changes` (no SDK method: `client.get`) is the ascending feed of
//    successful writes, resumable with `result_info.cursor`;
//  - all three need `com.cloudflare.api.account.audit-log.read`; accounts never see each other's.
//
// The SDK sends nested params with dots and arrays repeated (`action.type=create`,
// `action_type.not=delete`). It types v2 filters only as `{not: [...]}`: positive filters
// (`actor_email=x`) go in the request options' `query` (which replaces the method's query, so the
// helpers below repeat `since`/`before` there).
//
// One server per test file: this file's server sees only its own writes. Counting tests use their
// own time window (`since`/`before` from the local clock, the server's clock too).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import { assertId, assertTimestamp, expectApiError, localGroupId, uniq } from './lib/expect.mjs';
import { expectDenied, tokenActor, userActor } from './lib/enforcement.mjs';

const K_AUDIT = 'com.cloudflare.api.account.audit-log.read';
const K_MEMBER_CREATE = 'com.cloudflare.api.account.member.create';
const K_SSO_READ = '#sso_connector:read';
const PG_ADMIN_RO = localGroupId('Administrator Read Only');
const TPG_SETTINGS_READ = 'c1fde68c7bcc44588cbb6ddbc16d6480'; // Account Settings Read
const TPG_TOKENS_READ = 'eb56a6953c034b9d97dd838155666f06'; // Account API Tokens Read
const ROLE_ADMIN_RO = 'f2b20eaa1a5d4af42b53ac16238c99c7';
const ROLE_AUDIT_LOGS_VIEWER = '9dfa4d1b73034f70ad896bf1c26d78f3';
const ROLE_MINIMAL = '5c35d2bf3a545e6b7560b826c0d23c39';
const LOCALHOST = '127.0.0.1';
const EPOCH_DAY = '2000-01-01';
const ACTION_TYPES = ['create', 'update', 'delete'];
const RESOURCE_TYPES = [
  'account', 'member', 'membership', 'user_group', 'user_group_members', 'resource_group', 'token',
  'sso_connector', 'oauth_client', 'user',
];
const SECRET_KEYS = new Set(['value', 'secret', 'client_secret', 'api_key', 'token_value']);

// --- time ------------------------------------------------------------------------------------------

/** Now as RFC 3339 (milliseconds; the server writes microseconds). */
const nowIso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();
const farFuture = () => nowIso(86_400_000);
/** Audit entry ids are UUID-shaped, like Cloudflare's. */
function assertEntryId(value, what) {
  assert.match(String(value), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${what} is not UUID-shaped: ${value}`);
}

/** Microseconds since the epoch of a `...T..:..:..ffffffZ` timestamp. */
function micros(ts) {
  assertTimestamp(ts);
  return BigInt(Date.parse(`${ts.slice(0, 19)}Z`)) * 1_000n + BigInt(ts.slice(20, 26));
}
function fromMicros(us) {
  const secs = us / 1_000_000n;
  const frac = (us % 1_000_000n).toString().padStart(6, '0');
  return `${new Date(Number(secs) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}
function midpoint(a, b) {
  const ua = micros(a);
  const ub = micros(b);
  assert.ok(ub - ua >= 2n, `entries too close to split: ${a} ${b}`);
  return fromMicros(ua + (ub - ua) / 2n);
}
const utcDay = (offsetDays) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

// --- shapes ----------------------------------------------------------------------------------------

const compact = (o) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== null && v !== undefined));
const isNullish = (v) => v === null || v === undefined;

function checkNoSecrets(v, path = '') {
  if (Array.isArray(v)) v.forEach((x, i) => checkNoSecrets(x, `${path}/${i}`));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      assert.ok(!SECRET_KEYS.has(k) && !k.toLowerCase().includes('hash'), `secret-like field ${path}/${k} in a stored snapshot`);
      checkNoSecrets(x, `${path}/${k}`);
    }
  }
}

function checkV2Actor(actor) {
  assert.ok(actor && typeof actor === 'object', JSON.stringify(actor));
  assert.ok(['user', 'account', 'system'].includes(actor.type), JSON.stringify(actor));
  if (actor.type === 'user') {
    assertId(actor.id, 'actor.id');
    assert.ok(typeof actor.email === 'string' && actor.email.includes('@'), JSON.stringify(actor));
    assert.ok(['api_key', 'api_token'].includes(actor.context), JSON.stringify(actor));
  }
  if (actor.type === 'account') {
    assertId(actor.id, 'actor.id');
    assert.equal(actor.context, 'api_token', JSON.stringify(actor));
    assert.equal(actor.token_id, actor.id, JSON.stringify(actor));
  }
  if (actor.type === 'system') assert.ok(isNullish(actor.context), `the CLI has no credential context: ${JSON.stringify(actor)}`);
  if (actor.context === 'api_token') {
    assertId(actor.token_id, 'actor.token_id');
    assert.ok(typeof actor.token_name === 'string' && actor.token_name, JSON.stringify(actor));
  } else {
    assert.ok(isNullish(actor.token_id) && isNullish(actor.token_name), JSON.stringify(actor));
  }
}

function checkV2Shape(e, a) {
  const j = JSON.stringify(e);
  assertEntryId(e.id, 'entry.id');
  assert.equal(e.account?.id, a, j);
  assert.ok(typeof e.account.name === 'string' && e.account.name, j);
  assert.ok(['success', 'failure'].includes(e.action?.result), j);
  assertTimestamp(e.action.time, 'action.time');
  assert.ok(typeof e.action.description === 'string' && e.action.description, j);
  assert.ok((e.action.result === 'success' ? ACTION_TYPES : [...ACTION_TYPES, 'view']).includes(e.action.type), j);
  checkV2Actor(e.actor);
  if (e.actor.type !== 'system') {
    assert.ok(typeof e.raw?.cf_ray_id === 'string' && e.raw.cf_ray_id, j);
    assert.ok(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(e.raw.method), j);
    assert.equal(typeof e.raw.status_code, 'number', j);
    assert.ok(typeof e.raw.uri === 'string' && e.raw.uri.startsWith('/'), j);
    assert.equal(typeof e.raw.user_agent, 'string', j);
  }
  assert.equal(e.resource?.product, 'iam', j);
  assert.ok(['accounts', 'memberships'].includes(e.resource.scope), j);
  assert.ok(isNullish(e.resource.request), j);
  const value = e.resource.value;
  assert.ok(value && typeof value === 'object', j);
  assert.deepEqual(Object.keys(value).sort(), ['after', 'before'], j);
  assert.deepEqual(e.resource.response ?? null, value.after ?? null, 'resource.response is the after value');
  if (e.action.result === 'success') {
    assert.ok(RESOURCE_TYPES.includes(e.resource.type), j);
    assert.ok(typeof e.resource.id === 'string' && e.resource.id, j);
  }
  assert.ok(isNullish(e.zone), j);
  checkNoSecrets(value);
}

function checkV1Shape(e, a) {
  const j = JSON.stringify(e);
  assertEntryId(e.id, 'v1 entry.id');
  assert.equal(typeof e.action?.result, 'boolean', j);
  assert.ok([...ACTION_TYPES, 'view'].includes(e.action.type), j);
  assert.ok(['API', 'CLI'].includes(e.interface), j);
  if (e.interface === 'API') {
    assert.ok(['user', 'admin'].includes(e.actor?.type), j);
    assert.equal(e.actor.ip, LOCALHOST, j);
  }
  assert.ok(e.metadata && typeof e.metadata === 'object', j);
  assert.deepEqual(e.owner, { id: a }, j);
  assert.ok(e.resource && 'type' in e.resource, j);
  assertTimestamp(e.when, 'when');
  for (const k of ['oldValue', 'newValue']) {
    if (!isNullish(e[k])) {
      assert.equal(typeof e[k], 'string', `${k} is JSON text: ${j}`);
      const v = JSON.parse(e[k]);
      assert.ok(v && typeof v === 'object' && !Array.isArray(v), j);
    }
  }
}

function checkChangeShape(c) {
  const j = JSON.stringify(c);
  assert.ok(typeof c.cursor === 'string' && c.cursor, j);
  assertEntryId(c.id, 'change.id');
  assertTimestamp(c.time, 'change.time');
  assert.ok(ACTION_TYPES.includes(c.action), j);
  assert.ok(RESOURCE_TYPES.includes(c.resource?.type) && typeof c.resource.id === 'string', j);
  checkV2Actor(c.actor);
  assert.ok('before' in c && 'after' in c, j);
  if (c.action === 'create') assert.ok(c.before === null && c.after && typeof c.after === 'object', j);
  if (c.action === 'delete') assert.ok(c.before && typeof c.before === 'object' && c.after === null, j);
}

const v1Values = (e) => [isNullish(e.oldValue) ? null : JSON.parse(e.oldValue), isNullish(e.newValue) ? null : JSON.parse(e.newValue)];

// --- calls -----------------------------------------------------------------------------------------

/**
 * One v2 page (the SDK's method). `params`: typed params (since/before/limit/cursor/direction and
 * `{not: [...]}` filters); `extra`: positive filters, sent through the options' `query`.
 */
async function v2Page(c, a, params, extra) {
  const opts = extra ? { query: { ...params, ...extra } } : undefined;
  const page = await c.accounts.logs.audit.list({ account_id: a, ...params }, opts);
  assert.ok(Array.isArray(page.result), JSON.stringify(page.result));
  const ri = page.result_info;
  assert.ok(ri && typeof ri === 'object', `result_info: ${JSON.stringify(ri)}`);
  assert.equal(ri.count, page.result.length, JSON.stringify(ri));
  assert.equal(typeof ri.cursor, 'string', `result_info.cursor: ${JSON.stringify(ri)}`);
  assert.ok(ri.cursors && typeof ri.cursors === 'object', `result_info.cursors: ${JSON.stringify(ri)}`);
  if (ri.cursors.after) assert.equal(ri.cursor, ri.cursors.after, JSON.stringify(ri));
  else assert.equal(ri.cursor, '', `the last page's cursor is empty: ${JSON.stringify(ri)}`);
  return page;
}

/** Every v2 entry of a window in one page (limit 1000). */
async function v2All(c, a, params, extra) {
  const page = await v2Page(c, a, { limit: 1000, ...params }, extra);
  assert.ok(!page.result_info.cursors.after, 'expected one page');
  for (const e of page.result) checkV2Shape(e, a);
  return page.result;
}
const v2Ids = async (c, a, params, extra) => (await v2All(c, a, params, extra)).map((e) => e.id);

async function v1Page(c, a, params = {}) {
  const page = await c.auditLogs.list({ account_id: a, ...params });
  assert.ok(Array.isArray(page.result));
  const ri = page.result_info;
  assert.ok(ri && typeof ri === 'object', JSON.stringify(ri));
  for (const k of ['page', 'per_page', 'count', 'total_count', 'total_pages']) assert.ok(k in ri, `result_info.${k}: ${JSON.stringify(ri)}`);
  assert.equal(ri.count, page.result.length);
  return page;
}
async function v1All(c, a, params = {}) {
  const page = await v1Page(c, a, { per_page: 1000, ...params });
  assert.equal(page.result_info.total_count, page.result.length, 'expected one page');
  for (const e of page.result) checkV1Shape(e, a);
  return page.result;
}
const v1Ids = async (c, a, params) => (await v1All(c, a, params)).map((e) => e.id);

/** GET /accounts/{a}/iam/changes through the SDK's raw `get`: the whole envelope. */
async function changes(c, a, { cursor, limit } = {}) {
  const query = {};
  if (cursor !== undefined) query.cursor = cursor;
  if (limit !== undefined) query.limit = limit;
  const body = await c.get(`/accounts/${a}/iam/changes`, { query });
  assert.equal(body?.success, true, JSON.stringify(body));
  assert.deepEqual(body.errors, []);
  assert.ok(Array.isArray(body.result), JSON.stringify(body));
  const ri = body.result_info;
  assert.equal(ri?.count, body.result.length, JSON.stringify(ri));
  assert.ok(typeof ri.cursor === 'string' && ri.cursor, `result_info.cursor: ${JSON.stringify(ri)}`);
  assert.equal(typeof ri.has_more, 'boolean', JSON.stringify(ri));
  for (const item of body.result) checkChangeShape(item);
  return body;
}
async function changesAll(c, a, { cursor, limit = 1000 } = {}) {
  const items = [];
  for (let i = 0; i < 1000; i++) {
    const body = await changes(c, a, { cursor, limit });
    items.push(...body.result);
    cursor = body.result_info.cursor;
    if (!body.result_info.has_more) return { items, cursor };
    assert.ok(body.result.length > 0, 'has_more with an empty page');
  }
  assert.fail('the change feed did not end');
}

// --- snapshots expected from write responses -------------------------------------------------------

const ugSnapshot = (g) => ({
  id: g.id,
  name: g.name,
  policies: g.policies.map((p) => ({
    id: p.id,
    access: p.access,
    permission_groups: p.permission_groups.map((x) => x.id),
    resource_groups: p.resource_groups.map((x) => x.id),
  })),
});
const rgSnapshot = (rg) => ({ id: rg.id, name: rg.name, scope: { key: rg.scope.key, objects: rg.scope.objects } });
/**
 * A scope's objects as keys: the spec writes `objects: [...]` without saying whether the snapshot
 * keeps `{key}` objects (the API's shape) or bare keys; both are accepted.
 */
const objectKeys = (objects) => {
  assert.ok(Array.isArray(objects), JSON.stringify(objects));
  return objects.map((o) => (o && typeof o === 'object' && Object.keys(o).join() === 'key' ? o.key : o));
};
function checkRgSnapshot(snap, expected) {
  assert.ok(snap && typeof snap === 'object', JSON.stringify(snap));
  assert.deepEqual(Object.keys(snap).sort(), ['id', 'name', 'scope'], JSON.stringify(snap));
  assert.equal(snap.id, expected.id);
  assert.equal(snap.name, expected.name);
  assert.deepEqual(Object.keys(snap.scope).sort(), ['key', 'objects'], JSON.stringify(snap));
  assert.equal(snap.scope.key, expected.scope.key);
  assert.deepEqual(objectKeys(snap.scope.objects), objectKeys(expected.scope.objects), JSON.stringify(snap));
}
const tokenSnapshot = (t) => ({
  id: t.id,
  name: t.name,
  status: t.status,
  not_before: t.not_before ?? null,
  expires_on: t.expires_on ?? null,
  condition: t.condition ?? null,
  policies: t.policies.map((p) => ({
    id: p.id,
    effect: p.effect,
    permission_groups: p.permission_groups.map((x) => x.id),
    resources: p.resources,
  })),
});
function checkMemberSnapshot(snap, m) {
  assert.ok(snap && typeof snap === 'object', JSON.stringify(snap));
  assert.equal(snap.id, m.id);
  assert.equal(snap.email, m.email);
  assert.equal(snap.user_id, m.user.id);
  assert.equal(snap.status, m.status);
  assert.deepEqual(snap.roles, m.roles.map((r) => r.id));
  assert.ok(isNullish(snap.policies) || (Array.isArray(snap.policies) && snap.policies.length === 0), `a member with roles has no policies: ${JSON.stringify(snap)}`);
}
const accountPolicy = (a, groups) => ({
  effect: 'allow',
  permission_groups: groups.map((id) => ({ id })),
  resources: { [`com.cloudflare.api.account.${a}`]: '*' },
});
const wholeAccount = (a) => ({ key: `com.cloudflare.api.account.${a}`, objects: [{ key: '*' }] });

describe('audit log and change feed', () => {
  let srv;
  let a;
  let op; // the bootstrap account-owned token
  let key; // the bootstrap user (operator) by email + global key
  let accountName;
  let tokenName;
  // the scripted sequence
  let since;
  let beforeTs;
  const writes = [];
  let groupId;
  let tokenValue;

  /** A recording client: each call's request (method, url, user agent) is known. */
  const rec = recordingFetch();
  let recOp;
  let recKey;

  async function write(label, by, action, rtype, promise, { rid } = {}) {
    const { data, response } = await promise.withResponse();
    assert.equal(response.status, 200, label);
    const ray = response.headers.get('cf-ray');
    assert.ok(ray, `${label}: no cf-ray`);
    assert.equal(response.headers.get('x-request-id'), ray, label);
    const call = rec.calls[rec.calls.length - 1];
    const url = new URL(call.url);
    const w = {
      label, by, action, rtype, ray, result: data, status: response.status,
      method: call.method, uri: url.pathname + url.search, userAgent: call.headers.get('user-agent'),
      rid: rid ?? data.id, before: null, after: null, check: null,
    };
    writes.push(w);
    return w;
  }

  const newToken = async (groups) => {
    const t = await op.accounts.tokens.create({ account_id: a, name: uniq('audit-token'), policies: [accountPolicy(a, groups)] });
    return { token: t, client: srv.tokenClient(t.value) };
  };
  const newMember = async (roles) => {
    const info = await srv.userKey(`${uniq('audit')}@example.com`);
    const member = await op.accounts.members.create({ account_id: a, email: info.email, roles, status: 'accepted' });
    return { info, client: srv.keyClient(info.email, info.api_key), member };
  };

  before(async () => {
    srv = await startServer();
    a = srv.boot.account_id;
    op = srv.adminToken;
    key = srv.adminKey;
    recOp = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    recKey = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
    accountName = (await op.accounts.get({ account_id: a })).name;
    tokenName = (await op.accounts.tokens.get(srv.boot.api_token_id, { account_id: a })).name;
    const memberUser = await srv.userKey(`${uniq('audit-member')}@example.com`); // user-level: no account's log

    since = nowIso();
    let w = await write('rg create', 'key', 'create', 'resource_group',
      recKey.iam.resourceGroups.create({ account_id: a, name: uniq('audit-rg'), scope: wholeAccount(a) }));
    {
      const expected = rgSnapshot(w.result);
      w.check = (b, aft) => {
        assert.equal(b, null, "create's before is null");
        checkRgSnapshot(aft, expected);
      };
    }
    const rgId = w.result.id;

    w = await write('group create', 'token', 'create', 'user_group',
      recOp.iam.userGroups.create({
        account_id: a, name: uniq('audit-group'),
        policies: [{ access: 'allow', permission_groups: [{ id: PG_ADMIN_RO }], resource_groups: [{ id: rgId }] }],
      }));
    w.after = ugSnapshot(w.result);
    assert.deepEqual(w.after.policies[0].permission_groups, [PG_ADMIN_RO]);
    groupId = w.result.id;
    const createdGroup = w.after;

    w = await write('group rename', 'token', 'update', 'user_group',
      recOp.iam.userGroups.update(groupId, { account_id: a, name: uniq('audit-renamed') }));
    w.before = createdGroup;
    w.after = ugSnapshot(w.result);
    assert.deepEqual(w.after.policies, createdGroup.policies);
    const renamedGroup = w.after;

    w = await write('member create', 'key', 'create', 'member',
      recKey.accounts.members.create({ account_id: a, email: memberUser.email, roles: [ROLE_ADMIN_RO], status: 'accepted' }));
    const member = w.result;
    assert.equal(member.user.id, memberUser.user_id);
    w.check = (b, aft) => {
      assert.equal(b, null, "create's before is null");
      checkMemberSnapshot(aft, member);
    };

    // POST /user_groups/{g}/members answers a bare array (SinglePage): the resource id is the group
    w = await write('group members add', 'token', 'update', 'user_group_members',
      recOp.iam.userGroups.members.create(groupId, { account_id: a, members: [{ id: member.id }] }), { rid: groupId });
    w.check = (b, aft) => {
      assert.deepEqual(aft, { id: groupId, members: [member.id] });
      assert.ok(b === null || JSON.stringify(b) === JSON.stringify({ id: groupId, members: [] }), JSON.stringify(b));
    };

    const condition = { request_ip: { in: ['10.0.0.0/8'], not_in: ['10.1.0.0/16'] } };
    w = await write('token create', 'token', 'create', 'token',
      recOp.accounts.tokens.create({ account_id: a, name: uniq('audit-made'), policies: [accountPolicy(a, [TPG_SETTINGS_READ])], condition }));
    tokenValue = w.result.value;
    w.after = tokenSnapshot(w.result);
    assert.deepEqual(w.after.condition, condition);
    const tokenId = w.result.id;
    const createdToken = w.after;

    w = await write('token update', 'key', 'update', 'token',
      recKey.accounts.tokens.update(tokenId, { account_id: a, name: uniq('audit-updated'), policies: [accountPolicy(a, [TPG_SETTINGS_READ])], status: 'disabled' }));
    w.before = createdToken;
    w.after = tokenSnapshot(w.result);
    assert.equal(w.after.status, 'disabled');
    const updatedToken = w.after;

    w = await write('token delete', 'token', 'delete', 'token', recOp.accounts.tokens.delete(tokenId, { account_id: a }), { rid: tokenId });
    w.before = updatedToken;

    w = await write('group delete', 'key', 'delete', 'user_group', recKey.iam.userGroups.delete(groupId, { account_id: a }), { rid: groupId });
    w.before = renamedGroup;

    beforeTs = nowIso(2);
    assert.equal(new Set(writes.map((x) => x.ray)).size, writes.length, 'each request has its own id');
  });
  after(async () => {
    await srv?.stop();
  });

  const win = () => ({ since, before: beforeTs });
  const forever = () => ({ since: EPOCH_DAY, before: farFuture() });
  const byRay = (entries) => {
    const out = new Map();
    for (const e of entries) {
      assert.ok(!out.has(e.raw.cf_ray_id), `two entries for one request: ${JSON.stringify(e)}`);
      out.set(e.raw.cf_ray_id, e);
    }
    return out;
  };
  const checkValues = (w, b, aft) => {
    if (w.check) return w.check(b, aft);
    assert.deepEqual(b, w.before, `${w.label}: before`);
    assert.deepEqual(aft, w.after, `${w.label}: after`);
  };

  // --- 1. the scripted writes in both APIs -------------------------------------------------------

  it('v2 lists every scripted write once, with actor, request and before/after', async () => {
    const entries = await v2All(key, a, win());
    const got = byRay(entries);
    assert.deepEqual([...got.keys()].sort(), writes.map((w) => w.ray).sort(), 'exactly one entry per scripted write');
    for (const w of writes) {
      const e = got.get(w.ray);
      const j = `${w.label}: ${JSON.stringify(e)}`;
      assert.deepEqual(e.account, { id: a, name: accountName }, j);
      assert.ok(e.action.type === w.action || (w.rtype === 'user_group_members' && e.action.type === 'create'), j);
      assert.equal(e.action.result, 'success', j);
      assert.equal(e.resource.type, w.rtype, j);
      assert.equal(e.resource.id, w.rid, j);
      assert.equal(e.resource.scope, 'accounts', j);
      assert.equal(e.raw.method, w.method, j);
      assert.equal(e.raw.status_code, w.status, j);
      assert.ok([w.uri, w.uri.replace(/^\/client\/v4/, '')].includes(e.raw.uri), `${j} (sent ${w.uri})`);
      assert.equal(e.raw.user_agent, w.userAgent, j);
      assert.equal(e.actor.ip_address, LOCALHOST, j);
      if (w.by === 'token') {
        assert.equal(e.actor.type, 'account', j);
        assert.equal(e.actor.id, srv.boot.api_token_id, j);
        assert.equal(e.actor.token_id, srv.boot.api_token_id, j);
        assert.equal(e.actor.token_name, tokenName, j);
        assert.equal(e.actor.context, 'api_token', j);
        assert.ok(isNullish(e.actor.email), j);
      } else {
        assert.equal(e.actor.type, 'user', j);
        assert.equal(e.actor.id, srv.boot.user_id, j);
        assert.equal(e.actor.email, srv.boot.email, j);
        assert.equal(e.actor.context, 'api_key', j);
        assert.ok(isNullish(e.actor.token_id) && isNullish(e.actor.token_name), j);
      }
      checkValues(w, e.resource.value.before, e.resource.value.after);
      assert.deepEqual(e.resource.response, e.resource.value.after, j);
      if (w.action === 'create') assert.equal(e.resource.value.before, null, j);
      if (w.action === 'delete') assert.equal(e.resource.value.after, null, j);
      if (w.rtype === 'token') {
        for (const snap of [e.resource.value.before, e.resource.value.after]) {
          if (snap) assert.deepEqual(Object.keys(snap).sort(), ['condition', 'expires_on', 'id', 'name', 'not_before', 'policies', 'status'], j);
        }
      }
    }
    assert.ok(!JSON.stringify(entries).includes(tokenValue), "the token's value never reaches the log");
    const times = writes.map((w) => micros(got.get(w.ray).action.time));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] < times[i], 'entries in the order written');
    assert.deepEqual(entries.map((e) => e.id), [...writes].reverse().map((w) => got.get(w.ray).id), 'desc by default');
  });

  it('v1 lists the same entries: actor, JSON-text oldValue/newValue, request id in metadata', async () => {
    const v2 = new Map((await v2All(key, a, win())).map((e) => [e.id, e]));
    const v1 = await v1All(op, a, win());
    assert.deepEqual(v1.map((e) => e.id).sort(), [...v2.keys()].sort(), 'v1 and v2 show the same stored entries');
    const idByRay = new Map([...v2.values()].map((e) => [e.raw.cf_ray_id, e.id]));
    const byId = new Map(v1.map((e) => [e.id, e]));
    for (const w of writes) {
      const e = byId.get(idByRay.get(w.ray));
      const e2 = v2.get(e.id);
      const j = `${w.label}: ${JSON.stringify(e)}`;
      assert.deepEqual(e.action, { type: e2.action.type, result: true }, j);
      assert.deepEqual(e.resource, { id: w.rid, type: w.rtype }, j);
      assert.equal(e.interface, 'API', j);
      assert.deepEqual(e.owner, { id: a }, j);
      assert.equal(e.when, e2.action.time, j);
      const meta = JSON.stringify(e.metadata);
      assert.ok(meta.includes(w.ray), `${w.label}: v1 metadata names the request id: ${meta}`);
      assert.equal(e.actor.ip, LOCALHOST, j);
      if (w.by === 'token') {
        assert.equal(e.actor.id, srv.boot.api_token_id, j);
        assert.ok(['user', 'admin'].includes(e.actor.type), j);
        assert.ok(isNullish(e.actor.email), j);
        assert.ok(meta.includes(srv.boot.api_token_id) && meta.includes(tokenName), `${w.label}: metadata names the token: ${meta}`);
      } else {
        assert.equal(e.actor.id, srv.boot.user_id, j);
        assert.equal(e.actor.email, srv.boot.email, j);
        assert.equal(e.actor.type, 'user', j);
      }
      const [old, neu] = v1Values(e);
      checkValues(w, old, neu);
      assert.deepEqual([old, neu], [e2.resource.value.before, e2.resource.value.after], j);
      if (w.action === 'create') assert.ok(isNullish(e.oldValue), j);
      if (w.action === 'delete') assert.ok(isNullish(e.newValue), j);
    }
    assert.ok(!JSON.stringify(v1).includes(tokenValue));
  });

  it('CLI writes (bootstrap) are recorded as the system, interface CLI', async () => {
    const system = await v2All(key, a, forever(), { actor_type: 'system' });
    assert.ok(system.length > 0, "bootstrap's writes are in the account's log");
    for (const e of system) {
      assert.equal(e.actor.type, 'system', JSON.stringify(e));
      assert.ok(isNullish(e.actor.context) && isNullish(e.actor.email), JSON.stringify(e));
    }
    const made = system.filter((e) => e.resource.type === 'account' && e.resource.id === a);
    assert.equal(made.length, 1, JSON.stringify(system));
    assert.equal(made[0].action.type, 'create');
    assert.equal(made[0].resource.value.after.id, a);
    assert.equal(made[0].resource.value.after.name, accountName);
    const v1 = new Map((await v1All(key, a, forever())).map((e) => [e.id, e]));
    for (const e of system) assert.equal(v1.get(e.id).interface, 'CLI', JSON.stringify(v1.get(e.id)));
    const systemIds = new Set(system.map((e) => e.id));
    const api = [...v1.values()].filter((e) => !systemIds.has(e.id));
    assert.ok(api.length > 0 && api.every((e) => e.interface === 'API'));
  });

  // --- 2. failed writes record nothing -----------------------------------------------------------

  it('a write that fails (400/404/409) leaves no entry', async () => {
    const existing = await op.iam.userGroups.create({ account_id: a, name: uniq('audit-dup') });
    const rg = await op.iam.resourceGroups.create({ account_id: a, name: uniq('audit-fail-rg'), scope: wholeAccount(a) });
    const { cursor: start } = await changesAll(op, a);
    const t0 = nowIso();

    const errs = [
      await expectApiError(
        op.iam.userGroups.create({
          account_id: a, name: uniq('audit-bad-pg'),
          policies: [{ access: 'allow', permission_groups: [{ id: 'f'.repeat(32) }], resource_groups: [{ id: rg.id }] }],
        }),
        Cloudflare.BadRequestError, { status: 400, code: 1001 },
      ),
      await expectApiError(op.iam.userGroups.create({ account_id: a, name: existing.name }), Cloudflare.ConflictError, { status: 409, code: 1002 }),
      await expectApiError(
        op.accounts.tokens.update('e'.repeat(32), { account_id: a, name: 'x', policies: [accountPolicy(a, [TPG_SETTINGS_READ])] }),
        Cloudflare.NotFoundError, { status: 404, code: 1003 },
      ),
      await expectApiError(op.iam.userGroups.delete('d'.repeat(32), { account_id: a }), Cloudflare.NotFoundError, { status: 404, code: 1003 }),
      await expectApiError(op.iam.resourceGroups.create({ account_id: a, name: '', scope: wholeAccount(a) }), Cloudflare.BadRequestError, { status: 400 }),
    ];
    const rays = errs.map((e) => e.headers.get('cf-ray'));
    assert.ok(rays.every(Boolean) && new Set(rays).size === rays.length, JSON.stringify(rays));
    const t1 = farFuture();

    assert.deepEqual(await v2All(op, a, { since: t0, before: t1 }), [], 'no entry for a failed write');
    assert.deepEqual(await v1All(op, a, { since: t0, before: t1 }), []);
    for (const ray of rays) assert.deepEqual(await v2All(op, a, { since: EPOCH_DAY, before: t1 }, { raw_cf_ray_id: ray }), [], ray);
    assert.deepEqual(
      await v2All(op, a, { since: EPOCH_DAY, before: t1 }, { raw_status_code: [400, 404, 409] }),
      [],
      'no entry with a 400/404/409 status',
    );
    assert.deepEqual((await changes(op, a, { cursor: start })).result, []);

    // positive control: the next successful write is the window's one entry
    const { data, response } = await op.iam.userGroups.create({ account_id: a, name: uniq('audit-ok') }).withResponse();
    const entries = await v2All(op, a, { since: t0, before: farFuture() });
    assert.equal(entries.length, 1, JSON.stringify(entries));
    assert.equal(entries[0].raw.cf_ray_id, response.headers.get('cf-ray'));
    assert.equal(entries[0].resource.id, data.id);
    assert.deepEqual(await v1Ids(op, a, { since: t0, before: farFuture() }), [entries[0].id]);
    assert.deepEqual((await changes(op, a, { cursor: start })).result.map((x) => x.id), [entries[0].id]);
  });

  // --- 3. refused requests are recorded as failures ----------------------------------------------

  it('a refused request (403) is recorded with result failure', async () => {
    const { token: readerT, client: reader } = await newToken([TPG_TOKENS_READ]);
    const person = await newMember([ROLE_ADMIN_RO]);
    const { cursor: start } = await changesAll(op, a);
    const t0 = nowIso();

    const name = uniq('audit-refused');
    await expectDenied(reader.iam.userGroups.create({ account_id: a, name }), K_MEMBER_CREATE, { actor: tokenActor(readerT.id) });
    await expectDenied(reader.iam.sso.list({ account_id: a }), K_SSO_READ, { actor: tokenActor(readerT.id) });
    await expectDenied(person.client.iam.userGroups.create({ account_id: a, name }), K_MEMBER_CREATE, { actor: userActor(person.info.user_id) });
    const t1 = farFuture();

    const entries = await v2All(op, a, { since: t0, before: t1 });
    assert.equal(entries.length, 3, JSON.stringify(entries));
    for (const e of entries) {
      assert.equal(e.action.result, 'failure', JSON.stringify(e));
      assert.equal(e.raw.status_code, 403, JSON.stringify(e));
      assert.deepEqual(e.resource.value, { before: null, after: null }, JSON.stringify(e));
      assert.ok(isNullish(e.resource.response), JSON.stringify(e));
    }
    const [createU, viewT, createT] = entries; // desc
    assert.equal(createT.action.type, 'create');
    assert.equal(createT.raw.method, 'POST');
    assert.equal(createT.resource.type, 'user_group');
    assert.equal(viewT.action.type, 'view');
    assert.equal(viewT.raw.method, 'GET');
    assert.equal(viewT.resource.type, 'sso_connector');
    for (const e of [createT, viewT]) {
      assert.equal(e.actor.type, 'account', JSON.stringify(e));
      assert.equal(e.actor.id, readerT.id);
      assert.equal(e.actor.token_id, readerT.id);
      assert.equal(e.actor.token_name, readerT.name);
      assert.equal(e.actor.context, 'api_token');
    }
    assert.equal(createU.action.type, 'create');
    assert.equal(createU.actor.type, 'user');
    assert.equal(createU.actor.id, person.info.user_id);
    assert.equal(createU.actor.email, person.info.email);
    assert.equal(createU.actor.context, 'api_key');

    const ids = entries.map((e) => e.id).sort();
    assert.deepEqual((await v2Ids(op, a, { since: t0, before: t1, action_result: { not: ['success'] } })).sort(), ids);
    assert.deepEqual(await v2Ids(op, a, { since: t0, before: t1, action_result: { not: ['failure'] } }), []);
    assert.deepEqual((await v2Ids(op, a, { since: t0, before: t1 }, { action_result: 'failure' })).sort(), ids);
    assert.deepEqual(await v2Ids(op, a, { since: t0, before: t1 }, { action_result: 'success' }), []);

    const v1 = new Map((await v1All(op, a, { since: t0, before: t1 })).map((e) => [e.id, e]));
    assert.deepEqual([...v1.keys()].sort(), ids);
    assert.deepEqual(v1.get(createT.id).action, { type: 'create', result: false });
    assert.deepEqual(v1.get(viewT.id).action, { type: 'view', result: false });
    assert.deepEqual(v1.get(createU.id).action, { type: 'create', result: false });
    assert.equal(v1.get(createU.id).actor.email, person.info.email);
    for (const e of v1.values()) assert.ok(isNullish(e.oldValue) && isNullish(e.newValue), JSON.stringify(e));

    assert.deepEqual((await changes(op, a, { cursor: start })).result, [], 'the change feed has successful writes only');
  });

  // --- 4. filters and paging ---------------------------------------------------------------------

  it('v1 filters: actor.email, action.type, actor.ip, id, zone.name, since/before, direction, export', async () => {
    const everything = await v1All(key, a, win());
    assert.equal(everything.length, writes.length);
    const idByRay = new Map((await v2All(key, a, win())).map((e) => [e.raw.cf_ray_id, e.id]));
    const idsOf = (pred) => writes.filter(pred).map((w) => idByRay.get(w.ray)).sort();
    const sorted = (xs) => [...xs].sort();

    const r = recordingFetch();
    const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: r.fetch });
    assert.deepEqual(sorted(await v1Ids(rc, a, { ...win(), actor: { email: srv.boot.email } })), idsOf((w) => w.by === 'key'));
    assert.ok(decodeURIComponent(r.calls.at(-1).url).includes(`actor.email=${srv.boot.email}`), r.calls.at(-1).url);
    assert.deepEqual(await v1Ids(key, a, { ...win(), actor: { email: 'nobody@example.com' } }), []);
    const deletes = await v1Ids(rc, a, { ...win(), action: { type: 'delete' } });
    assert.ok(r.calls.at(-1).url.includes('action.type=delete'), r.calls.at(-1).url);
    assert.deepEqual(sorted(deletes), idsOf((w) => w.action === 'delete'));
    assert.equal(deletes.length, 2);
    assert.deepEqual(
      sorted(await v1Ids(key, a, { ...win(), action: { type: 'create' } })),
      sorted(everything.filter((e) => e.action.type === 'create').map((e) => e.id)),
    );
    assert.equal((await v1Ids(key, a, { ...win(), actor: { ip: LOCALHOST } })).length, everything.length);
    assert.equal((await v1Ids(key, a, { ...win(), actor: { ip: '127.0.0.0/8' } })).length, everything.length);
    assert.deepEqual(await v1Ids(key, a, { ...win(), actor: { ip: '10.0.0.0/8' } }), []);
    assert.deepEqual(await v1Ids(key, a, { ...win(), id: everything[3].id }), [everything[3].id]);
    assert.deepEqual(await v1Ids(key, a, { ...win(), zone: { name: 'example.com' } }), []);

    const when = new Map(everything.map((e) => [e.id, e.when]));
    const seq = writes.map((w) => idByRay.get(w.ray));
    const lo = midpoint(when.get(seq[2]), when.get(seq[3]));
    const hi = midpoint(when.get(seq[5]), when.get(seq[6]));
    assert.deepEqual(await v1Ids(key, a, { since: lo, before: hi }), seq.slice(3, 6).reverse());
    assert.deepEqual(await v1Ids(key, a, { since: lo, before: hi, direction: 'asc' }), seq.slice(3, 6));
    assert.deepEqual(everything.map((e) => e.id), [...seq].reverse(), 'desc by default');
    assert.deepEqual(await v1Ids(key, a, { ...win(), direction: 'desc' }), [...seq].reverse());
    assert.deepEqual(await v1Ids(key, a, { ...win(), direction: 'asc' }), seq);
    const days = await v1Ids(key, a, { since: utcDay(-1), before: utcDay(1) });
    assert.ok(seq.every((id) => days.includes(id)), 'dates are accepted');
    assert.deepEqual(await v1Ids(key, a, { ...win(), hide_user_logs: false }), [...seq].reverse());
    assert.deepEqual(await v1Ids(key, a, { ...win(), export: false }), [...seq].reverse());
    // export is accepted either way and answers the same JSON page (CSV is not served).
    assert.deepEqual(await v1Ids(key, a, { ...win(), export: true }), [...seq].reverse());
    await expectApiError(key.auditLogs.list({ account_id: a, since: 'yesterday' }), Cloudflare.BadRequestError, { status: 400 });
  });

  it('v1 page pagination: result_info, a page past the end, the SDK walk', async () => {
    const n = writes.length;
    const desc = await v1Ids(key, a, win());
    let ri = (await v1Page(key, a, win())).result_info;
    assert.deepEqual([ri.page, ri.per_page, ri.count, ri.total_count, ri.total_pages], [1, 100, n, n, 1], 'per_page 100 by default');
    ri = (await v1Page(key, a, { ...win(), page: 2, per_page: 2 })).result_info;
    assert.deepEqual([ri.page, ri.per_page, ri.count, ri.total_count, ri.total_pages], [2, 2, 2, n, Math.ceil(n / 2)]);
    const past = await v1Page(key, a, { ...win(), page: Math.ceil(n / 2) + 1, per_page: 2 });
    assert.deepEqual(past.result, []);

    const r = recordingFetch();
    const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: r.fetch });
    const walked = [];
    for await (const e of rc.auditLogs.list({ account_id: a, ...win(), per_page: 2 })) walked.push(e.id);
    assert.deepEqual(walked, desc, 'auto-pagination walks every entry once, in order');
    assert.equal(r.calls.length, Math.ceil(n / 2) + 1, r.calls.map((c) => c.url).join('\n'));
    const asc = [];
    for await (const e of rc.auditLogs.list({ account_id: a, ...win(), per_page: 4, direction: 'asc' })) asc.push(e.id);
    assert.deepEqual(asc, [...desc].reverse());
  });

  it('v2: since and before are required (400 envelope, BadRequestError); dates are accepted', async () => {
    const { since: s, before: b } = win();
    for (const params of [{}, { since: s }, { before: b }, { since: 'not a date', before: b }, { since: s, before: '2026-13-45' }]) {
      const err = await expectApiError(key.accounts.logs.audit.list({ account_id: a, ...params }), Cloudflare.BadRequestError, { status: 400 });
      assert.equal(err.error.success, false);
    }
    const days = await v2Ids(key, a, { since: utcDay(-1), before: utcDay(1) });
    const scripted = await v2Ids(key, a, win());
    assert.ok(scripted.every((id) => days.includes(id)));
  });

  it('v2 cursor pagination (limit, cursors.after) and direction', async () => {
    const n = writes.length;
    const desc = await v2Ids(key, a, win());
    assert.equal(desc.length, n);
    const asc = await v2Ids(key, a, { ...win(), direction: 'asc' });
    assert.deepEqual(asc, [...desc].reverse());
    assert.deepEqual(await v2Ids(key, a, { ...win(), direction: 'desc' }), desc);
    const dflt = await v2Page(key, a, win());
    assert.deepEqual(dflt.result.map((e) => e.id), desc, 'limit 100 by default');
    assert.ok(!dflt.result_info.cursors.after);

    // by hand
    const seen = [];
    let cursor;
    let pages = 0;
    for (;;) {
      const page = await v2Page(key, a, { ...win(), limit: 2, ...(cursor ? { cursor } : {}) });
      pages++;
      assert.ok(page.result.length >= 1 && page.result.length <= 2, JSON.stringify(page.result_info));
      seen.push(...page.result.map((e) => e.id));
      cursor = page.result_info.cursors.after;
      if (!cursor) break;
      assert.equal(page.result.length, 2);
    }
    assert.deepEqual(seen, desc);
    assert.equal(pages, Math.ceil(n / 2));

    // the SDK's auto-pagination, both directions
    for (const [direction, expected] of [['desc', desc], ['asc', asc]]) {
      const r = recordingFetch();
      const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: r.fetch });
      const walked = [];
      for await (const e of rc.accounts.logs.audit.list({ account_id: a, ...win(), limit: 2, direction })) walked.push(e.id);
      assert.deepEqual(walked, expected, direction);
      assert.equal(r.calls.length, Math.ceil(n / 2), r.calls.map((c) => c.url).join('\n'));
      assert.ok(r.calls.slice(1).every((c) => new URL(c.url).searchParams.has('cursor')));
      const sizes = [];
      for await (const page of (await rc.accounts.logs.audit.list({ account_id: a, ...win(), limit: 3, direction })).iterPages()) {
        sizes.push(page.getPaginatedItems().length);
      }
      assert.deepEqual(sizes, [...Array(Math.floor(n / 3)).fill(3), ...(n % 3 ? [n % 3] : [])]);
    }
  });

  it('v2 filters: typed `.not` params and positive filters through query options', async () => {
    const entries = await v2All(op, a, win());
    const idByRay = new Map(entries.map((e) => [e.raw.cf_ray_id, e.id]));
    const idsOf = (pred) => writes.filter(pred).map((w) => idByRay.get(w.ray)).sort();
    const all = entries.map((e) => e.id).sort();
    const byType = (...types) => entries.filter((e) => types.includes(e.action.type)).map((e) => e.id).sort();
    const ids = async (params, extra) => (await v2Ids(op, a, { ...win(), ...params }, extra)).sort();

    const r = recordingFetch();
    const rc = srv.tokenClient(srv.boot.api_token, { fetch: r.fetch });
    assert.deepEqual((await v2Ids(rc, a, { ...win(), action_type: { not: ['delete'] } })).sort(), idsOf((w) => w.action !== 'delete'));
    assert.ok(r.calls.at(-1).url.includes('action_type.not=delete'), r.calls.at(-1).url);
    assert.deepEqual((await v2Ids(rc, a, { ...win(), action_type: { not: ['delete', 'update'] } })).sort(), byType('create'));
    assert.equal(new URL(r.calls.at(-1).url).searchParams.getAll('action_type.not').length, 2, r.calls.at(-1).url);
    assert.deepEqual(await ids({ actor_type: { not: ['account'] } }), idsOf((w) => w.by === 'key'));
    assert.deepEqual(await ids({ resource_type: { not: ['token', 'user_group'] } }), idsOf((w) => !['token', 'user_group'].includes(w.rtype)));
    const first = idByRay.get(writes[0].ray);
    assert.deepEqual(await ids({ id: { not: [first] } }), all.filter((x) => x !== first));
    assert.deepEqual(await ids({ raw_cf_ray_id: { not: [writes[0].ray] } }), all.filter((x) => x !== first));
    assert.deepEqual(await ids({ zone_name: { not: ['example.com'] } }), all);
    assert.deepEqual(await ids({ actor_context: { not: ['api_token'] } }), idsOf((w) => w.by === 'key'));

    const q = (extra) => ids({}, extra);
    assert.deepEqual(await q({ actor_email: srv.boot.email }), idsOf((w) => w.by === 'key'));
    assert.deepEqual(await q({ actor_email: 'nobody@example.com' }), []);
    assert.deepEqual(await q({ action_type: ['create', 'delete'] }), byType('create', 'delete'));
    assert.deepEqual(await q({ resource_id: groupId }), idsOf((w) => w.rid === groupId));
    assert.equal((await q({ resource_id: groupId })).length, 4);
    assert.deepEqual(await q({ resource_type: 'token' }), idsOf((w) => w.rtype === 'token'));
    assert.deepEqual(await q({ actor_token_id: srv.boot.api_token_id }), idsOf((w) => w.by === 'token'));
    assert.deepEqual(await q({ actor_token_name: tokenName }), idsOf((w) => w.by === 'token'));
    assert.deepEqual(await q({ actor_id: srv.boot.user_id }), idsOf((w) => w.by === 'key'));
    assert.deepEqual(await q({ actor_type: 'account' }), idsOf((w) => w.by === 'token'));
    assert.deepEqual(await q({ actor_context: 'api_key' }), idsOf((w) => w.by === 'key'));
    assert.deepEqual(await q({ actor_ip_address: LOCALHOST }), all);
    assert.deepEqual(await q({ raw_method: 'DELETE' }), idsOf((w) => w.method === 'DELETE'));
    assert.deepEqual(await q({ raw_status_code: 200 }), all);
    assert.deepEqual(await q({ raw_cf_ray_id: writes[2].ray }), [idByRay.get(writes[2].ray)]);
    assert.deepEqual(await q({ raw_cf_ray_id: [writes[2].ray, writes[5].ray] }), [idByRay.get(writes[2].ray), idByRay.get(writes[5].ray)].sort());
    assert.deepEqual(await q({ id: first }), [first]);
    assert.deepEqual(await q({ audit_log_id: first }), [first]);
    assert.deepEqual(await q({ action_result: 'success' }), all);
    assert.deepEqual(await q({ resource_product: 'iam' }), all);
    assert.deepEqual(await q({ resource_scope: 'accounts' }), all);
    assert.deepEqual(await q({ account_name: accountName }), all);
    assert.deepEqual(await q({ account_name: 'Another' }), []);
    assert.deepEqual(await q({ zone_name: 'example.com' }), []);
    assert.deepEqual(await q({ zone_id: '0'.repeat(32) }), []);
    assert.deepEqual(await q({ resource_type: 'token', actor_email: srv.boot.email }), idsOf((w) => w.rtype === 'token' && w.by === 'key'));
    assert.deepEqual(await ids({ action_type: { not: ['update'] } }, { resource_type: 'token' }), idsOf((w) => w.rtype === 'token' && w.action !== 'update'));
  });

  it('a user accepting an invitation is a membership entry; v1 hide_user_logs hides it', async () => {
    const info = await srv.userKey(`${uniq('audit-invitee')}@example.com`);
    const person = srv.keyClient(info.email, info.api_key);
    const t0 = nowIso();
    const m = await op.accounts.members.create({ account_id: a, email: info.email, roles: [ROLE_ADMIN_RO] });
    assert.equal(m.status, 'pending');
    const { response } = await person.memberships.update(m.id, { status: 'accepted' }).withResponse();
    const t1 = farFuture();

    const entries = await v2All(op, a, { since: t0, before: t1 });
    assert.equal(entries.length, 2, JSON.stringify(entries));
    const [accepted, invited] = entries;
    assert.equal(invited.resource.type, 'member');
    assert.equal(invited.resource.id, m.id);
    assert.equal(accepted.raw.cf_ray_id, response.headers.get('cf-ray'));
    assert.equal(accepted.resource.type, 'membership', JSON.stringify(accepted));
    assert.equal(accepted.resource.id, m.id);
    assert.equal(accepted.resource.scope, 'memberships');
    assert.equal(accepted.action.type, 'update');
    assert.equal(accepted.actor.type, 'user');
    assert.equal(accepted.actor.id, info.user_id);
    assert.equal(accepted.actor.email, info.email);
    assert.equal(accepted.actor.context, 'api_key');
    assert.equal(accepted.resource.value.before.status, 'pending');
    assert.equal(accepted.resource.value.after.status, 'accepted');

    assert.deepEqual(await v1Ids(op, a, { since: t0, before: t1 }), [accepted.id, invited.id]);
    assert.deepEqual(await v1Ids(op, a, { since: t0, before: t1, hide_user_logs: true }), [invited.id]);
    assert.deepEqual(await v2Ids(op, a, { since: t0, before: t1, resource_scope: { not: ['memberships'] } }), [invited.id]);
  });

  // --- 5. the change feed ------------------------------------------------------------------------

  it('change feed: ascending, resumable by cursor, caught up = same cursor, new writes appear', async () => {
    const { items: everything, cursor: end } = await changesAll(op, a);
    assert.ok(everything.length > 0);
    const ids = everything.map((x) => x.id);
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < everything.length; i++) assert.ok(micros(everything[i - 1].time) <= micros(everything[i].time), 'ascending');

    const success = await v2All(op, a, { ...forever(), direction: 'asc' }, { action_result: 'success' });
    assert.deepEqual(ids, success.map((e) => e.id), 'the feed is the successful entries, oldest first');
    everything.forEach((x, i) => {
      const e = success[i];
      assert.equal(x.time, e.action.time);
      assert.equal(x.action, e.action.type);
      assert.deepEqual(x.resource, { type: e.resource.type, id: e.resource.id });
      assert.deepEqual(compact(x.actor), compact(e.actor));
      assert.deepEqual({ before: x.before, after: x.after }, e.resource.value);
    });
    const failures = await v2Ids(op, a, forever(), { action_result: 'failure' });
    assert.ok(!failures.some((id) => ids.includes(id)), 'refused requests are not changes');
    const idByRay = new Map(success.map((e) => [e.raw?.cf_ray_id, e.id]));
    const pos = writes.map((w) => ids.indexOf(idByRay.get(w.ray)));
    assert.ok(pos.every((p) => p >= 0));
    assert.deepEqual(pos, [...pos].sort((x, y) => x - y), 'the scripted writes, in order');

    let body = await changes(op, a, { cursor: end });
    assert.deepEqual(body.result, []);
    assert.equal(body.result_info.cursor, end, 'caught up: the same cursor back');
    assert.equal(body.result_info.has_more, false);

    const paged = [];
    let cursor;
    for (let i = 0; i < ids.length + 2; i++) {
      body = await changes(op, a, { cursor, limit: 2 });
      assert.ok(body.result.length <= 2);
      paged.push(...body.result.map((x) => x.id));
      cursor = body.result_info.cursor;
      if (!body.result_info.has_more) break;
      assert.equal(body.result.length, 2);
    }
    assert.deepEqual(paged, ids);
    assert.equal(cursor, end);

    assert.deepEqual((await changes(op, a, { cursor: everything.at(-2).cursor })).result.map((x) => x.id), [ids.at(-1)]);
    assert.deepEqual((await changes(op, a, { cursor: everything.at(-1).cursor })).result, []);

    const { data: rg, response } = await op.iam.resourceGroups.create({ account_id: a, name: uniq('audit-feed'), scope: wholeAccount(a) }).withResponse();
    body = await changes(op, a, { cursor: end });
    assert.equal(body.result.length, 1, JSON.stringify(body));
    const [item] = body.result;
    assert.equal(item.action, 'create');
    assert.deepEqual(item.resource, { type: 'resource_group', id: rg.id });
    assert.equal(item.before, null);
    checkRgSnapshot(item.after, rgSnapshot(rg));
    assert.equal(item.actor.type, 'account');
    assert.equal(item.actor.token_id, srv.boot.api_token_id);
    const [entry] = await v2All(op, a, forever(), { raw_cf_ray_id: response.headers.get('cf-ray') });
    assert.equal(item.id, entry.id);
    const newEnd = body.result_info.cursor;
    assert.notEqual(newEnd, end);
    assert.equal(body.result_info.has_more, false);
    body = await changes(op, a, { cursor: newEnd });
    assert.deepEqual(body.result, []);
    assert.equal(body.result_info.cursor, newEnd);

    body = await changes(op, a);
    assert.deepEqual(body.result.map((x) => x.id), [...ids, item.id].slice(0, 100), 'limit 100 by default');
    assert.equal(body.result_info.has_more, ids.length + 1 > 100);
  });

  // --- 6. permission -----------------------------------------------------------------------------

  it('reading the log needs the audit-log key', async () => {
    const expected = (await v2Ids(op, a, win())).sort();
    const { token: noT, client: no } = await newToken([TPG_TOKENS_READ]);
    const who = tokenActor(noT.id);
    await expectDenied(no.auditLogs.list({ account_id: a }), K_AUDIT, { actor: who });
    await expectDenied(no.accounts.logs.audit.list({ account_id: a, ...win() }), K_AUDIT, { actor: who });
    await expectDenied(no.get(`/accounts/${a}/iam/changes`), K_AUDIT, { actor: who });

    const { client: yes } = await newToken([TPG_SETTINGS_READ]);
    assert.deepEqual((await v1Ids(yes, a, win())).sort(), expected);
    assert.deepEqual((await v2Ids(yes, a, win())).sort(), expected);
    assert.ok((await changes(yes, a)).result.length > 0);

    const viewer = await newMember([ROLE_AUDIT_LOGS_VIEWER]);
    assert.deepEqual((await v1Ids(viewer.client, a, win())).sort(), expected);
    assert.deepEqual((await v2Ids(viewer.client, a, win())).sort(), expected);
    assert.ok((await changes(viewer.client, a)).result.length > 0);
    const ro = await newMember([ROLE_ADMIN_RO]);
    assert.deepEqual((await v2Ids(ro.client, a, win())).sort(), expected);
    const minimal = await newMember([ROLE_MINIMAL]);
    const mw = userActor(minimal.info.user_id);
    await expectDenied(minimal.client.auditLogs.list({ account_id: a }), K_AUDIT, { actor: mw });
    await expectDenied(minimal.client.accounts.logs.audit.list({ account_id: a, ...win() }), K_AUDIT, { actor: mw });
    await expectDenied(minimal.client.get(`/accounts/${a}/iam/changes`), K_AUDIT, { actor: mw });
  });

  // --- 7. isolation ------------------------------------------------------------------------------

  it("accounts never see each other's logs", async () => {
    const bInfo = await srv.userKey(`${uniq('audit-other')}@example.com`, { operator: true });
    const bUser = srv.keyClient(bInfo.email, bInfo.api_key);
    const b = (await bUser.accounts.create({ name: uniq('Audit Other') })).id;
    const { data: bGroup, response: bRes } = await bUser.iam.userGroups.create({ account_id: b, name: uniq('audit-b-group') }).withResponse();
    const bRay = bRes.headers.get('cf-ray');
    const { response: aRes } = await op.iam.userGroups.create({ account_id: a, name: uniq('audit-a-group') }).withResponse();
    const aRay = aRes.headers.get('cf-ray');

    const [inB] = await v2All(bUser, b, forever(), { raw_cf_ray_id: bRay });
    assert.equal(inB?.account.id, b);
    assert.equal(inB.resource.id, bGroup.id);
    assert.equal(inB.actor.email, bInfo.email);
    let bIds = new Set(await v2Ids(bUser, b, forever()));
    assert.ok(bIds.has(inB.id));
    assert.ok(!JSON.stringify(await v2All(bUser, b, forever())).includes(aRay));

    const aHoldsNothingOfB = async () => {
      const aV2 = await v2All(op, a, forever());
      const aIds = new Set(aV2.map((e) => e.id));
      assert.ok(aV2.some((e) => e.raw?.cf_ray_id === aRay));
      assert.ok(![...aIds].some((id) => bIds.has(id)), 'no entry is in both logs');
      assert.ok(aV2.every((e) => e.account.id === a));
      assert.deepEqual(await v2All(op, a, forever(), { raw_cf_ray_id: bRay }), []);
      assert.deepEqual(await v2All(op, a, forever(), { resource_id: [b, bGroup.id] }), []);
      assert.deepEqual((await v1Ids(op, a, forever())).sort(), [...aIds].sort());
      const { items } = await changesAll(op, a);
      assert.ok(!items.some((x) => bIds.has(x.id)));
      assert.ok(!(await v2Ids(bUser, b, forever())).some((id) => aIds.has(id)), "and A's entries never show in B's");
      assert.deepEqual(await v2All(bUser, b, forever(), { raw_cf_ray_id: aRay }), []);
      return aV2;
    };
    const aV2 = await aHoldsNothingOfB();
    const text = JSON.stringify(aV2);
    assert.ok(!text.includes(b) && !text.includes(bInfo.email) && !text.includes(bRay));
    assert.deepEqual(await v2All(op, a, forever(), { actor_email: bInfo.email }), []);
    assert.deepEqual(await v1All(op, a, { ...forever(), actor: { email: bInfo.email } }), []);

    const viewer = await newMember([ROLE_AUDIT_LOGS_VIEWER]);
    for (const c of [op, key, viewer.client]) {
      await expectApiError(c.auditLogs.list({ account_id: b }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
      await expectApiError(c.accounts.logs.audit.list({ account_id: b, ...forever() }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
      await expectApiError(c.get(`/accounts/${b}/iam/changes`), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
    }
    await expectApiError(bUser.auditLogs.list({ account_id: a }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
    await expectApiError(bUser.accounts.logs.audit.list({ account_id: a, ...forever() }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
    await expectApiError(bUser.get(`/accounts/${a}/iam/changes`), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });

    // still nothing of B's in A's (refused attempts on A's paths, if recorded, are A's entries)
    bIds = new Set(await v2Ids(bUser, b, forever()));
    await aHoldsNothingOfB();
    for (const e of await v2All(op, a, forever(), { actor_email: bInfo.email })) {
      assert.equal(e.action.result, 'failure', JSON.stringify(e));
      assert.ok(e.raw.uri.includes(`/accounts/${a}/`), JSON.stringify(e));
    }
  });

  // --- 8. the request id -------------------------------------------------------------------------

  it("a write's cf-ray is its entry's raw.cf_ray_id (also a caller's X-Request-Id, also when refused)", async () => {
    const { data: rg, response } = await op.iam.resourceGroups.create({ account_id: a, name: uniq('audit-ray'), scope: wholeAccount(a) }).withResponse();
    const ray = response.headers.get('cf-ray');
    assert.equal(response.headers.get('x-request-id'), ray);
    const [e] = await v2All(op, a, forever(), { raw_cf_ray_id: ray });
    assert.equal(e?.raw.cf_ray_id, ray);
    assert.equal(e.resource.id, rg.id);
    assert.equal(e.raw.method, 'POST');
    const [v1] = await v1All(op, a, { ...forever(), id: e.id });
    assert.ok(JSON.stringify(v1.metadata).includes(ray));

    const raw = await op.iam.resourceGroups.create({ account_id: a, name: uniq('audit-ray-raw'), scope: wholeAccount(a) }).asResponse();
    const rawRay = raw.headers.get('cf-ray');
    const made = (await raw.json()).result;
    const [e2] = await v2All(op, a, forever(), { raw_cf_ray_id: rawRay });
    assert.equal(e2?.resource.id, made.id);

    const mine = `audit-trace-${randomUUID()}`;
    const upd = await op.iam.resourceGroups.update(rg.id, { account_id: a, name: uniq('audit-ray2') }, { headers: { 'X-Request-Id': mine } }).withResponse();
    assert.equal(upd.response.headers.get('cf-ray'), mine);
    const [e3] = await v2All(op, a, forever(), { raw_cf_ray_id: mine });
    assert.equal(e3?.action.type, 'update');
    assert.equal(e3.resource.id, rg.id);
    assert.notEqual(e3.resource.value.before.name, e3.resource.value.after.name);

    const { client: no } = await newToken([TPG_TOKENS_READ]);
    const err = await expectApiError(no.iam.resourceGroups.delete(rg.id, { account_id: a }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
    const deniedRay = err.headers.get('cf-ray');
    const [d] = await v2All(op, a, forever(), { raw_cf_ray_id: deniedRay });
    assert.equal(d?.action.result, 'failure');
    assert.equal(d.action.type, 'delete');
    assert.equal(d.raw.status_code, 403);
    assert.equal(d.raw.method, 'DELETE');
  });
});
