// Helpers for the policy-enforcement tests (enforcement.test.mjs).
//
// Portcullis enforces every `/accounts/{a}/...` route's permission key (crates/portcullis-api/src/
// routes.rs) with the policy engine; a denied request answers 403 with errors[0] = {code 10000,
// message "Authentication error", error_chain: [{code 10000, message "Actor '<actor>' requires
// permission '<key>' to <action>: <reason>"}]}. The decision API (`POST /accounts/{a}/iam/authorize`,
// `GET /accounts/{a}/members/{m}/effective_policies`) is a Portcullis extension the SDK does not
// know: it is called with fetch here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Cloudflare from 'cloudflare';
import { REPO_ROOT } from './server.mjs';
import { expectApiError, localGroupId, uniq } from './expect.mjs';

/** Permission keys (crates/portcullis-core/data/permission_keys.json). */
export const K = {
  ACCOUNT_READ: 'com.cloudflare.api.account.read',
  ORG_READ: '#organization:read',
  ORG_EDIT: '#organization:edit',
  MEMBER_LIST: 'com.cloudflare.api.account.member.list',
  MEMBER_READ: 'com.cloudflare.api.account.member.read',
  MEMBER_CREATE: 'com.cloudflare.api.account.member.create',
  MEMBER_UPDATE: 'com.cloudflare.api.account.member.update',
  PG_LIST: 'com.cloudflare.api.iam.permission-group.list',
  RG_LIST: 'com.cloudflare.api.iam.resource-group.list',
  RG_CREATE: 'com.cloudflare.api.iam.resource-group.create',
  TOKEN_LIST: 'com.cloudflare.api.account.token.list',
  TOKEN_CREATE: 'com.cloudflare.api.account.token.create',
  SSO_READ: '#sso_connector:read',
  SSO_EDIT: '#sso_connector:edit',
  AUTHORIZE: 'com.cloudflare.api.iam.authorize',
};

/** Grants by permission-group name, straight from the catalog data the server embeds. */
export const GRANTS = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'crates', 'portcullis-core', 'data', 'permission_keys.json'), 'utf8'),
).grants;

/** Local (role-derived) member groups and token-catalog groups (crates/portcullis-core/data/permission_groups.json). */
export const PGX = {
  MINIMAL: localGroupId('Minimal Account Access'),
  ADMIN_RO: localGroupId('Administrator Read Only'),
  ADMIN: localGroupId('Administrator'),
  SUPER: localGroupId('Super Administrator - All Privileges'),
  SETTINGS_READ: 'c1fde68c7bcc44588cbb6ddbc16d6480',
  SETTINGS_WRITE: '1af1fa2adc104452b74a9a3364202f20',
  SSO_READ: '1d80f6f165ea47f2b55d4a393fd697de',
  TOKENS_READ: 'eb56a6953c034b9d97dd838155666f06',
};

/** Legacy roles (crates/portcullis-core/data/account_roles.json). */
export const ROLES = {
  SUPER_ADMIN: '33666b9c79b9a5273fc7344ff42f953d',
  ADMINISTRATOR: '05784afa30c1afe1440e79d9351c7430',
  ADMIN_RO: 'f2b20eaa1a5d4af42b53ac16238c99c7',
};

export const accountKey = (a) => `com.cloudflare.api.account.${a}`;
export const userActor = (userId) => `com.cloudflare.api.user.${userId}`;
export const tokenActor = (tokenId) => `com.cloudflare.api.token.${tokenId}`;
/** A token policy on the whole account. */
export const accountPolicy = (a, groups, effect = 'allow') => ({
  effect,
  permission_groups: groups.map((id) => ({ id })),
  resources: { [accountKey(a)]: '*' },
});

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `promise` must fail with PermissionDeniedError 403 / 10000 "Authentication error" whose
 * error_chain[0] reads "Actor '<actor>' requires permission '<key>' to <action>: <reason>"
 * (`reason`, when given, must be part of it). Returns that message.
 */
export async function expectDenied(promise, key, { actor, reason } = {}) {
  const err = await expectApiError(promise, Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
  const first = err.errors[0];
  assert.equal(first.message, 'Authentication error', JSON.stringify(err.errors));
  assert.ok(Array.isArray(first.error_chain) && first.error_chain.length >= 1, `a denial must explain itself in error_chain: ${JSON.stringify(err.errors)}`);
  assert.equal(first.error_chain[0].code, 10000, JSON.stringify(first.error_chain));
  const msg = first.error_chain[0].message;
  const who = actor === undefined ? "[^']+" : escapeRe(actor);
  const re = new RegExp(`^Actor '${who}' requires permission '${escapeRe(key)}' to \\S[\\s\\S]*: \\S[\\s\\S]*$`);
  assert.match(msg, re, 'error_chain[0].message');
  if (reason !== undefined) assert.ok(msg.includes(reason), `${JSON.stringify(reason)} not in ${JSON.stringify(msg)}`);
  return msg;
}

/** 403 / 10000 for a caller that is no (accepted) member of the account. */
export async function expectNotInAccount(promise, { actor } = {}) {
  const err = await expectApiError(promise, Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
  assert.equal(err.errors[0].message, 'Authentication error');
  if (actor !== undefined) {
    const chain = JSON.stringify(err.errors[0].error_chain ?? []);
    assert.ok(chain.includes(actor), `${actor} not named in ${JSON.stringify(err.errors)}`);
  }
  return err;
}

/**
 * key -> (client) => promise of an SDK call whose route requires exactly that key in account `a`.
 * Writes make uniquely named objects (harmless when allowed).
 */
export function probes(a) {
  return {
    [K.ACCOUNT_READ]: (c) => c.accounts.get({ account_id: a }),
    [K.ORG_READ]: (c) => c.accounts.members.list({ account_id: a }),
    [K.ORG_EDIT]: (c) => c.accounts.members.create({ account_id: a, email: `${uniq('probe')}@example.com`, roles: [ROLES.ADMIN_RO] }),
    [K.MEMBER_LIST]: (c) => c.iam.userGroups.list({ account_id: a }),
    [K.MEMBER_CREATE]: (c) => c.iam.userGroups.create({ account_id: a, name: uniq('probe') }),
    [K.PG_LIST]: (c) => c.iam.permissionGroups.list({ account_id: a }),
    [K.RG_LIST]: (c) => c.iam.resourceGroups.list({ account_id: a }),
    [K.RG_CREATE]: (c) =>
      c.iam.resourceGroups.create({ account_id: a, name: uniq('probe'), scope: { key: accountKey(a), objects: [{ key: '*' }] } }),
    [K.TOKEN_LIST]: (c) => c.accounts.tokens.list({ account_id: a }),
    [K.TOKEN_CREATE]: (c) =>
      c.accounts.tokens.create({ account_id: a, name: uniq('probe'), policies: [accountPolicy(a, [PGX.SETTINGS_READ])] }),
    [K.SSO_READ]: (c) => c.iam.sso.list({ account_id: a }),
    [K.SSO_EDIT]: (c) => c.iam.sso.create({ account_id: a, email_domain: `${uniq('probe')}.example.com`, begin_verification: false }),
  };
}

/** true when the probe for `key` succeeds, false when it is denied naming `key`. */
export async function enforced(client, a, key, { actor } = {}) {
  const probe = probes(a)[key];
  try {
    await probe(client);
    return true;
  } catch (e) {
    if (!(e instanceof Cloudflare.PermissionDeniedError)) throw e;
    await expectDenied(probe(client), key, { actor });
    return false;
  }
}

/** Sorted [policy id, access, source kind, user group / role / token id]. */
export function decidedByView(d) {
  return d.decided_by
    .map((b) => [b.policy_id, b.access, b.source.kind, b.source.user_group?.id ?? b.source.role?.id ?? b.source.token_id ?? null])
    .sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
}

export function assertDecisionShape(d) {
  assert.deepEqual(Object.keys(d).sort(), ['allowed', 'decided_by', 'permission', 'reason', 'resource'], JSON.stringify(d));
  assert.equal(typeof d.allowed, 'boolean');
  assert.ok(typeof d.reason === 'string' && d.reason.length > 0, 'reason');
  assert.ok(Array.isArray(d.decided_by));
  for (const b of d.decided_by) {
    assert.deepEqual(Object.keys(b).sort(), ['access', 'policy_id', 'source'], JSON.stringify(b));
    // the policies named are those that decided: allows when allowed, denies when denied
    assert.equal(b.access === 'allow', d.allowed, JSON.stringify(d));
    assert.ok(['member', 'user_group', 'role', 'token'].includes(b.source.kind), JSON.stringify(b));
    if (b.source.kind === 'user_group') assert.deepEqual(Object.keys(b.source.user_group).sort(), ['id', 'name']);
    if (b.source.kind === 'role') assert.deepEqual(Object.keys(b.source.role).sort(), ['id', 'name']);
    if (b.source.kind === 'token') assert.equal(typeof b.source.token_id, 'string');
  }
}

/**
 * The world of one test file: its server, the operator (bootstrap account token), a whole-account
 * resource group, and helpers to make people, groups and tokens.
 */
export async function makeWorld(srv) {
  const a = srv.boot.account_id;
  const op = srv.adminToken;
  const rgAll = (
    await op.iam.resourceGroups.create({ account_id: a, name: uniq('whole-account'), scope: { key: accountKey(a), objects: [{ key: '*' }] } })
  ).id;

  const w = {
    a,
    op,
    rgAll,
    allow: (...pgs) => ({ access: 'allow', permission_groups: pgs.map((id) => ({ id })), resource_groups: [{ id: rgAll }] }),
    deny: (...pgs) => ({ access: 'deny', permission_groups: pgs.map((id) => ({ id })), resource_groups: [{ id: rgAll }] }),

    /** A second user (`portcullis user-key`) made a member; `{info, client, member, actor}`. */
    async person({ policies, roles, status = 'accepted', member = true } = {}) {
      const info = await srv.userKey(`${uniq('enf')}@example.com`);
      const p = { info, client: srv.keyClient(info.email, info.api_key), actor: userActor(info.user_id), member: null };
      if (member) {
        const body = { account_id: a, email: info.email, status };
        if (roles) body.roles = roles;
        else body.policies = policies ?? [w.allow(PGX.MINIMAL)];
        p.member = await op.accounts.members.create(body);
        assert.equal(p.member.status, status);
        assert.equal(p.member.user.id, info.user_id, 'members.create must attach the existing user');
      }
      return p;
    },
    async group(prefix, policies, people = []) {
      const g = await op.iam.userGroups.create({ account_id: a, name: uniq(prefix), policies });
      if (people.length) await w.join(g.id, ...people);
      return g;
    },
    async join(groupId, ...people) {
      await op.iam.userGroups.members.create(groupId, { account_id: a, members: people.map((p) => ({ id: p.member.id })) });
    },
    async leave(groupId, person) {
      await op.iam.userGroups.members.delete(person.member.id, { account_id: a, user_group_id: groupId });
    },
    /** An account-owned token made by the operator: `{token, client, actor}`. */
    async accountToken(pgs, { extraPolicies = [] } = {}) {
      const token = await op.accounts.tokens.create({ account_id: a, name: uniq('enf-token'), policies: [accountPolicy(a, pgs), ...extraPolicies] });
      return { token, client: srv.tokenClient(token.value), actor: tokenActor(token.id) };
    },

    /** Raw decision API call; `{status, body}`. */
    async authorizeRaw(principal, checks, { token = srv.boot.api_token } = {}) {
      const r = await fetch(`${srv.baseURL}/accounts/${a}/iam/authorize`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ principal, checks }),
      });
      return { status: r.status, body: await r.json() };
    },
    async authorize(principal, checks) {
      const { status, body } = await w.authorizeRaw(principal, checks);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.success, true, JSON.stringify(body));
      assert.ok(Array.isArray(body.result) && body.result.length === checks.length, JSON.stringify(body));
      return body.result;
    },
    async decide(principal, permission, resource) {
      const check = resource === undefined ? { permission } : { permission, resource };
      const [d] = await w.authorize(principal, [check]);
      assertDecisionShape(d);
      assert.equal(d.permission, permission);
      assert.equal(d.resource, resource ?? accountKey(a));
      return d;
    },
    async effectivePoliciesRaw(memberId, { token = srv.boot.api_token } = {}) {
      const r = await fetch(`${srv.baseURL}/accounts/${a}/members/${memberId}/effective_policies`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: r.status, body: await r.json() };
    },
    async effectivePolicies(memberId) {
      const { status, body } = await w.effectivePoliciesRaw(memberId);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.success, true);
      return body.result;
    },
  };
  return w;
}
