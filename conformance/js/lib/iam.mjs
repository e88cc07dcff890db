// Shared helpers for resource groups, user groups, user-group members and member policies
// (docs/api-decisions.md "Resource groups", "Policies", "User groups").
import assert from 'node:assert/strict';
import { assertId, assertTimestamp, localGroupId, randomId } from './expect.mjs';

/** Ids used across the IAM tests. */
export const PG = {
  /** local (role-derived), account-scoped */
  SUPER_ADMIN: localGroupId('Super Administrator - All Privileges'),
  ADMIN: localGroupId('Administrator'),
  ADMIN_RO: localGroupId('Administrator Read Only'),
  /** member catalog, zone-scoped */
  DOMAIN_ADMIN: 'a5e5061418ea445fbba04aac57f359a8',
  /** member catalog, account-scoped */
  DNS: '49ce85367bae433b9f0717ed4fea5c74',
  /** token catalog, zone-scoped (the seed's own example) */
  ZONE_READ: 'c8fed203ed3043cba015a93ad1616f1f',
  /** token catalog, user-scoped (refused in accounts) */
  MEMBERSHIPS_READ: '3518d0f75557482e952c6762d3e64903',
};

/** Legacy account-role ids (crates/portcullis-core/data/account_roles.json). */
export const ROLE = {
  ADMIN: '05784afa30c1afe1440e79d9351c7430',
  ADMIN_RO: 'f2b20eaa1a5d4af42b53ac16238c99c7',
};

export const accountKey = (accountId) => `com.cloudflare.api.account.${accountId}`;
export const zoneKey = (zoneId = randomId()) => `com.cloudflare.api.account.zone.${zoneId}`;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Scope body for create/update: `{key, objects: [{key}]}`. */
export function scopeOf(accountId, objectKeys) {
  return { key: accountKey(accountId), objects: objectKeys.map((key) => ({ key })) };
}

/**
 * A resource group as answered: `{id, name, scope: [{key, objects: [{key}]}], meta}`; scope is a
 * one-element list (api.md §5 / decisions); meta `{key: "editable", value: "true"}` (decisions).
 * `objects` (when given) must come back exactly, in the order written (docs/api-decisions.md).
 */
export function assertResourceGroup(rg, { name, accountId, objects } = {}) {
  assert.ok(rg && typeof rg === 'object', `resource group: ${JSON.stringify(rg)}`);
  assertId(rg.id, 'resource group id');
  assert.equal(typeof rg.name, 'string', 'resource group name');
  if (name !== undefined) assert.equal(rg.name, name, 'resource group name');
  // npm cloudflare 7.1+ declares `scope` as one object; the server answers this SDK in that shape
  // (docs/api-decisions.md, "Scope shape").
  assert.ok(
    rg.scope && typeof rg.scope === 'object' && !Array.isArray(rg.scope),
    `scope must be one object for cloudflare@7.3.0, got ${JSON.stringify(rg.scope)}`,
  );
  const scope = rg.scope;
  assert.equal(typeof scope.key, 'string', 'scope.key');
  if (accountId !== undefined) assert.equal(scope.key, accountKey(accountId), 'scope.key');
  assert.ok(Array.isArray(scope.objects) && scope.objects.length >= 1, `scope.objects: ${JSON.stringify(scope.objects)}`);
  for (const o of scope.objects) {
    assert.equal(typeof o.key, 'string', `scope object key: ${JSON.stringify(o)}`);
  }
  if (objects !== undefined) {
    // docs/api-decisions.md: scope objects come back in the order written.
    assert.deepEqual(
      scope.objects,
      objects.map((key) => ({ key })),
      'scope.objects: the keys written, in the order written',
    );
  }
  assert.deepEqual(rg.meta, { key: 'editable', value: 'true' }, 'resource group meta');
}

/** `{id, name, created_on, modified_on, policies: [...]}`. */
export function assertUserGroup(g, { name } = {}) {
  assert.ok(g && typeof g === 'object', `user group: ${JSON.stringify(g)}`);
  assertId(g.id, 'user group id');
  assert.equal(typeof g.name, 'string', 'user group name');
  if (name !== undefined) assert.equal(g.name, name, 'user group name');
  assertTimestamp(g.created_on, 'created_on');
  assertTimestamp(g.modified_on, 'modified_on');
  assert.ok(Date.parse(g.modified_on) >= Date.parse(g.created_on), 'modified_on >= created_on');
  assert.ok(Array.isArray(g.policies), `policies must be a list: ${JSON.stringify(g.policies)}`);
}

/**
 * Checks answered policies against what was written (same order: policies, their permission groups
 * and resource groups come back in the order written), with every group expanded:
 * permission groups `{id, name, meta}` (equal to the catalog entry when `catalog` has it),
 * resource groups `{id, name, scope, meta}` (equal to `resourceGroups.get`).
 *
 * @param policies   answered policies
 * @param written    [{access, permission_groups: [{id}], resource_groups: [{id}], id?}]
 * @param catalog    Map id -> permission group as served by iam.permissionGroups.get (optional entries)
 * @param rgById     Map id -> resource group as served by iam.resourceGroups.get
 * @param names      Map id -> expected permission-group name (for groups not in `catalog`)
 */
export function assertPolicies(policies, written, { catalog = new Map(), rgById = new Map(), names = new Map() } = {}) {
  assert.ok(Array.isArray(policies), `policies: ${JSON.stringify(policies)}`);
  assert.equal(policies.length, written.length, `policy count in ${JSON.stringify(policies)}`);
  const ids = new Set();
  policies.forEach((p, i) => {
    const w = written[i];
    assertId(p.id, `policies[${i}].id`);
    ids.add(p.id);
    if (w.id !== undefined) assert.equal(p.id, w.id, `policies[${i}] keeps id ${w.id}`);
    assert.equal(p.access, w.access, `policies[${i}].access`);
    assert.deepEqual(
      p.permission_groups.map((g) => g.id),
      w.permission_groups.map((g) => g.id),
      `policies[${i}].permission_groups in the order written`,
    );
    assert.deepEqual(
      p.resource_groups.map((g) => g.id),
      w.resource_groups.map((g) => g.id),
      `policies[${i}].resource_groups in the order written`,
    );
    p.permission_groups.forEach((g, j) => {
      const what = `policies[${i}].permission_groups[${j}]`;
      assert.deepEqual(Object.keys(g).sort(), ['id', 'meta', 'name'], `${what} is {id, name, meta}: ${JSON.stringify(g)}`);
      assert.equal(typeof g.name, 'string', `${what}.name`);
      assert.ok(g.meta && typeof g.meta === 'object', `${what}.meta`);
      if (catalog.has(g.id)) assert.deepEqual(g, catalog.get(g.id), `${what} equals the catalog entry`);
      if (names.has(g.id)) assert.equal(g.name, names.get(g.id), `${what}.name`);
    });
    p.resource_groups.forEach((g, j) => {
      const what = `policies[${i}].resource_groups[${j}]`;
      assert.deepEqual(
        Object.keys(g).sort(),
        ['id', 'meta', 'name', 'scope'],
        `${what} is {id, name, scope, meta}: ${JSON.stringify(g)}`,
      );
      assertResourceGroup(g);
      if (rgById.has(g.id)) assert.deepEqual(g, rgById.get(g.id), `${what} equals resourceGroups.get`);
    });
  });
  assert.equal(ids.size, policies.length, 'policy ids are distinct');
}

/** A user-group member entry `{id, email, status}`. */
export function assertGroupMember(m, expected) {
  assertId(m.id, 'group member id');
  assert.equal(typeof m.email, 'string', 'group member email');
  assert.ok(['accepted', 'pending'].includes(m.status), `group member status ${m.status}`);
  if (expected) {
    assert.equal(m.id, expected.id, 'group member id');
    assert.equal(m.email, expected.email, 'group member email');
    assert.equal(m.status, expected.status, 'group member status');
  }
}

/** `{id, email, status}` of an account member, as a user-group member entry. */
export const asGroupMember = (m) => ({ id: m.id, email: m.email, status: m.status });

/** Sort account-member-like objects by email, then id (the user-group member order). */
export function byEmailThenId(a, b) {
  if (a.email !== b.email) return a.email < b.email ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
