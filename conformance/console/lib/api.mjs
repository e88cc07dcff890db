// Setup and checks through the public API (node's fetch), so each browser test can assert what
// the console did and can prepare its own starting state when an earlier test failed.
import assert from 'node:assert/strict';

/** `result` of a successful call; fails with the API's answer otherwise. */
export async function ok(server, method, pathname, opts) {
  const r = await server.api(method, pathname, opts);
  assert.ok(r.status >= 200 && r.status < 300 && r.body?.success === true, `${method} ${pathname}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.result;
}

/** The first `errors[].message` of a refused call (which must be refused). */
export async function refusal(server, method, pathname, opts) {
  const r = await server.api(method, pathname, opts);
  assert.ok(r.status >= 400, `${method} ${pathname} should be refused: ${r.status} ${JSON.stringify(r.body)}`);
  const msg = r.body?.errors?.[0]?.message;
  assert.ok(typeof msg === 'string' && msg.length > 0, `no error message: ${JSON.stringify(r.body)}`);
  return msg;
}

export async function members(server) {
  return ok(server, 'GET', `/accounts/${server.boot.account_id}/members?per_page=50`);
}

export async function findMember(server, email) {
  return (await members(server)).find((m) => m.email === email || m.user?.email === email);
}

/** The member with `email` (accepted, no roles), created when missing. */
export async function ensureMember(server, email) {
  const found = await findMember(server, email);
  if (found) return found;
  return ok(server, 'POST', `/accounts/${server.boot.account_id}/members`, { body: { email, status: 'accepted', roles: [] } });
}

/** Account permission groups (user-group and member policies): `name -> group`. */
export async function permissionGroup(server, name) {
  const a = server.boot.account_id;
  for (let page = 1; page < 10; page++) {
    const r = await server.api('GET', `/accounts/${a}/iam/permission_groups?per_page=50&page=${page}`);
    const found = r.body.result.find((g) => g.name === name);
    if (found) return found;
    if (page >= (r.body.result_info?.total_pages ?? 1)) break;
  }
  assert.fail(`no permission group named ${name}`);
}

/** Token permission groups (`/accounts/{a}/tokens/permission_groups`). */
export async function tokenPermissionGroup(server, name) {
  const all = await ok(server, 'GET', `/accounts/${server.boot.account_id}/tokens/permission_groups`);
  const found = all.find((g) => g.name === name);
  assert.ok(found, `no token permission group named ${name}`);
  return found;
}

export async function userGroups(server) {
  return ok(server, 'GET', `/accounts/${server.boot.account_id}/iam/user_groups?per_page=50`);
}

export async function findUserGroup(server, name) {
  return (await userGroups(server)).find((g) => g.name === name);
}

/** An account-wide resource group (created when none exists). */
export async function accountResourceGroup(server) {
  const a = server.boot.account_id;
  const all = await ok(server, 'GET', `/accounts/${a}/iam/resource_groups?per_page=50`);
  const whole = all.find((g) => JSON.stringify(g.scope).includes(`"com.cloudflare.api.account.${a}"`) && JSON.stringify(g.scope).includes('"*"'));
  if (whole) return whole;
  return ok(server, 'POST', `/accounts/${a}/iam/resource_groups`, {
    body: { name: 'Whole account (test setup)', scope: { key: `com.cloudflare.api.account.${a}`, objects: [{ key: '*' }] } },
  });
}

/** The user group `name` with one Allow policy of `permission` over the whole account, created when missing. */
export async function ensureUserGroup(server, name, permission = 'Administrator Read Only') {
  const found = await findUserGroup(server, name);
  if (found) return found;
  const pg = await permissionGroup(server, permission);
  const rg = await accountResourceGroup(server);
  return ok(server, 'POST', `/accounts/${server.boot.account_id}/iam/user_groups`, {
    body: { name, policies: [{ access: 'allow', permission_groups: [{ id: pg.id }], resource_groups: [{ id: rg.id }] }] },
  });
}

export async function groupMembers(server, groupId) {
  return ok(server, 'GET', `/accounts/${server.boot.account_id}/iam/user_groups/${groupId}/members`);
}

export async function ensureInGroup(server, groupId, memberId) {
  const current = await groupMembers(server, groupId);
  if (current.some((m) => m.id === memberId)) return;
  await ok(server, 'POST', `/accounts/${server.boot.account_id}/iam/user_groups/${groupId}/members`, { body: [{ id: memberId }] });
}

export async function accountTokens(server) {
  return ok(server, 'GET', `/accounts/${server.boot.account_id}/tokens?per_page=50`);
}

/** Verifies an account token the way a client would: `{ status, body }`. */
export function verifyAccountToken(server, token) {
  return server.api('GET', `/accounts/${server.boot.account_id}/tokens/verify`, { auth: { token } });
}

export function verifyUserToken(server, token) {
  return server.api('GET', '/user/tokens/verify', { auth: { token } });
}

/** The bootstrap user's email + global key, as `auth` for server.api(). */
export function globalKey(server) {
  return { email: server.boot.email, key: server.boot.api_key };
}
