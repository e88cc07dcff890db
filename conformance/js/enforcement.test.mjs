// End-to-end policy enforcement through the official SDK (cloudflare@7.3.0).
//
// Every account route requires a permission key (crates/portcullis-api/src/routes.rs); the caller's
// effective policies decide (crates/portcullis-core/src/service/authorize.rs):
//  - a member: own policies or roles (a role = the member permission group of the same name on the
//    whole account) + the policies of every user group they are in; only accepted members count;
//  - an account-owned token: its own policies; a user-owned token: its policies AND its user's;
//  - default deny; a matching deny beats every allow;
//  - denied: 403, errors[0] = {10000, "Authentication error"}, error_chain[0].message =
//    "Actor '<actor>' requires permission '<key>' to <action>: <reason>".
// The decision API (`/iam/authorize`, `/members/{m}/effective_policies`) must agree.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer } from './lib/server.mjs';
import { collect, expectApiError, uniq } from './lib/expect.mjs';
import {
  GRANTS,
  K,
  PGX,
  ROLES,
  accountKey,
  accountPolicy,
  assertDecisionShape,
  decidedByView,
  enforced,
  expectDenied,
  expectNotInAccount,
  makeWorld,
  probes,
  tokenActor,
} from './lib/enforcement.mjs';

const ids = (items) => items.map((x) => x.id);

describe('policy enforcement', () => {
  let srv;
  let w;
  let a;

  before(async () => {
    srv = await startServer();
    w = await makeWorld(srv);
    a = w.a;
  });
  after(async () => {
    await srv?.stop();
  });

  const wholeAccount = () => ({ key: accountKey(a), objects: [{ key: '*' }] });

  // --- 1. a member whose only real grant comes from a user group --------------------------------

  it('a member granted Administrator Read Only by a user group reads but cannot write', async () => {
    const p = await w.person({ policies: [w.allow(PGX.MINIMAL)] });
    const c = p.client;
    const actor = p.actor;

    // Minimal Account Access alone: the account itself and the permission groups, nothing else
    // (Cloudflare: "Can view account, and nothing else"): not even the member list.
    assert.equal((await c.accounts.get({ account_id: a })).id, a);
    await expectDenied(c.accounts.members.list({ account_id: a }), K.ORG_READ, { actor, reason: 'no policy' });
    await expectDenied(c.iam.userGroups.list({ account_id: a }), K.MEMBER_LIST, { actor, reason: 'no policy' });
    await expectDenied(c.iam.resourceGroups.list({ account_id: a }), K.RG_LIST, { actor });

    const readers = await w.group('readers', [w.allow(PGX.ADMIN_RO)], [p]);

    // reads: allowed through the group
    assert.ok(ids(await collect(c.accounts.members.list({ account_id: a }))).includes(p.member.id));
    assert.ok(ids(await collect(c.iam.userGroups.list({ account_id: a }))).includes(readers.id));
    assert.equal((await c.iam.userGroups.get(readers.id, { account_id: a })).id, readers.id);
    assert.ok(ids(await collect(c.iam.userGroups.members.list(readers.id, { account_id: a }))).includes(p.member.id));
    assert.ok(ids(await collect(c.iam.resourceGroups.list({ account_id: a }))).includes(w.rgAll));
    assert.ok(ids(await collect(c.iam.permissionGroups.list({ account_id: a }))).includes(PGX.ADMIN_RO));
    assert.ok(ids(await collect(c.accounts.tokens.list({ account_id: a }))).includes(srv.boot.api_token_id));
    await c.iam.sso.list({ account_id: a });
    assert.equal((await c.accounts.get({ account_id: a })).id, a);

    // writes: denied, naming the key, and nothing happens
    const name = uniq('not-made');
    await expectDenied(c.iam.userGroups.create({ account_id: a, name }), K.MEMBER_CREATE, { actor });
    assert.ok(!(await collect(w.op.iam.userGroups.list({ account_id: a }))).some((g) => g.name === name));
    await expectDenied(c.iam.resourceGroups.create({ account_id: a, name, scope: wholeAccount() }), K.RG_CREATE, { actor });
    assert.ok(!(await collect(w.op.iam.resourceGroups.list({ account_id: a }))).some((g) => g.name === name));
    await expectDenied(
      c.accounts.tokens.create({ account_id: a, name, policies: [accountPolicy(a, [PGX.SETTINGS_READ])] }),
      K.TOKEN_CREATE,
      { actor },
    );
    assert.ok(!(await collect(w.op.accounts.tokens.list({ account_id: a }))).some((t) => t.name === name));
    await expectDenied(
      c.iam.sso.create({ account_id: a, email_domain: `${name}.example.com`, begin_verification: false }),
      K.SSO_EDIT,
      { actor },
    );
    const victim = await w.person();
    await expectDenied(c.accounts.members.delete(victim.member.id, { account_id: a }), K.ORG_EDIT, { actor });
    assert.equal((await w.op.accounts.members.get(victim.member.id, { account_id: a })).id, victim.member.id);
    // no self-service escalation: joining a Super Administrator group is a member update
    const supers = await w.group('supers', [w.allow(PGX.SUPER)]);
    await expectDenied(
      c.iam.userGroups.members.create(supers.id, { account_id: a, members: [{ id: p.member.id }] }),
      K.MEMBER_UPDATE,
      { actor },
    );
    assert.deepEqual(await collect(w.op.iam.userGroups.members.list(supers.id, { account_id: a })), []);
  });

  it('roles grant the member permission group of the same name', async () => {
    const admin = await w.person({ roles: [ROLES.ADMINISTRATOR] });
    const rg = await admin.client.iam.resourceGroups.create({ account_id: a, name: uniq('by-admin'), scope: wholeAccount() });
    assert.ok(ids(await collect(w.op.iam.resourceGroups.list({ account_id: a }))).includes(rg.id));
    await admin.client.accounts.tokens.list({ account_id: a });
    // Administrator: everything but membership management
    await expectDenied(admin.client.iam.userGroups.create({ account_id: a, name: uniq('x') }), K.MEMBER_CREATE, { actor: admin.actor });
    await expectDenied(
      admin.client.accounts.members.create({ account_id: a, email: `${uniq('x')}@example.com`, roles: [ROLES.ADMIN_RO] }),
      K.ORG_EDIT,
      { actor: admin.actor },
    );

    const ro = await w.person({ roles: [ROLES.ADMIN_RO] });
    assert.ok(ids(await collect(ro.client.iam.resourceGroups.list({ account_id: a }))).includes(w.rgAll));
    await expectDenied(
      ro.client.iam.resourceGroups.create({ account_id: a, name: uniq('x'), scope: wholeAccount() }),
      K.RG_CREATE,
      { actor: ro.actor },
    );
  });

  // --- 2. deny beats allow ----------------------------------------------------------------------

  it('a group deny beats the group and own allows', async () => {
    const p = await w.person({ policies: [w.allow(PGX.MINIMAL)] });
    const c = p.client;
    const actor = p.actor;
    await w.group('readers', [w.allow(PGX.ADMIN_RO)], [p]);
    await c.accounts.tokens.list({ account_id: a });

    const noTokens = await w.group('no-token-reads', [w.deny(PGX.TOKENS_READ)], [p]);
    await expectDenied(c.accounts.tokens.list({ account_id: a }), K.TOKEN_LIST, { actor, reason: 'denied by' });
    // the rest of the read-only grant still applies
    await c.iam.userGroups.list({ account_id: a });
    await c.accounts.members.list({ account_id: a });

    // a deny of the whole read-only set also beats the member's own Minimal Account Access allow
    const noReads = await w.group('no-reads', [w.deny(PGX.ADMIN_RO)], [p]);
    await expectDenied(c.accounts.members.list({ account_id: a }), K.ORG_READ, { actor, reason: 'denied by' });
    await expectDenied(c.iam.userGroups.list({ account_id: a }), K.MEMBER_LIST, { actor, reason: 'denied by' });

    await w.leave(noReads.id, p);
    await c.accounts.members.list({ account_id: a });
    await expectDenied(c.accounts.tokens.list({ account_id: a }), K.TOKEN_LIST, { actor });
    await w.leave(noTokens.id, p);
    await c.accounts.tokens.list({ account_id: a });
  });

  it('a deny beats even a Super Administrator role', async () => {
    const boss = await w.person({ roles: [ROLES.SUPER_ADMIN] });
    await boss.client.accounts.tokens.list({ account_id: a });
    await w.group('boss-no-token-reads', [w.deny(PGX.TOKENS_READ)], [boss]);
    await expectDenied(boss.client.accounts.tokens.list({ account_id: a }), K.TOKEN_LIST, { actor: boss.actor, reason: 'denied by' });
    // keys outside the denied group stay allowed
    const t = await boss.client.accounts.tokens.create({ account_id: a, name: uniq('boss'), policies: [accountPolicy(a, [PGX.SETTINGS_READ])] });
    await w.op.accounts.tokens.delete(t.id, { account_id: a });
  });

  // --- 3. leaving a group revokes its grants at once --------------------------------------------

  it('removal from the group revokes its grants on the next request', async () => {
    const p = await w.person({ policies: [w.allow(PGX.MINIMAL)] });
    const c = p.client;
    const actor = p.actor;
    const readers = await w.group('readers', [w.allow(PGX.ADMIN_RO)], [p]);
    await c.iam.userGroups.list({ account_id: a });
    await c.iam.resourceGroups.list({ account_id: a });

    await w.leave(readers.id, p);
    await expectDenied(c.iam.userGroups.list({ account_id: a }), K.MEMBER_LIST, { actor });
    await expectDenied(c.iam.resourceGroups.list({ account_id: a }), K.RG_LIST, { actor });
    await expectDenied(c.accounts.tokens.list({ account_id: a }), K.TOKEN_LIST, { actor });
    // the member's own policy is untouched
    await c.accounts.get({ account_id: a });
    await expectDenied(c.accounts.members.list({ account_id: a }), K.ORG_READ, { actor });

    // back in: allowed again; the group deleted: gone again
    await w.join(readers.id, p);
    await c.iam.userGroups.list({ account_id: a });
    await w.op.iam.userGroups.delete(readers.id, { account_id: a });
    await expectDenied(c.iam.userGroups.list({ account_id: a }), K.MEMBER_LIST, { actor });

    // a group policy changed from allow to deny takes effect on the next request
    const g = await w.group('flip', [w.allow(PGX.ADMIN_RO)], [p]);
    await c.iam.resourceGroups.list({ account_id: a });
    await w.op.iam.userGroups.update(g.id, { account_id: a, name: g.name, policies: [w.deny(PGX.ADMIN_RO)] });
    await expectDenied(c.iam.resourceGroups.list({ account_id: a }), K.RG_LIST, { actor, reason: 'denied by' });
    await expectDenied(c.accounts.members.list({ account_id: a }), K.ORG_READ, { actor, reason: 'denied by' });
  });

  // --- 4. account-owned tokens ------------------------------------------------------------------

  it('an account-owned token holds exactly its permission groups', async () => {
    const sso = await w.accountToken([PGX.SSO_READ]);
    await sso.client.iam.sso.list({ account_id: a });
    await expectDenied(sso.client.accounts.members.list({ account_id: a }), K.ORG_READ, { actor: sso.actor, reason: "token's policies" });
    await expectDenied(sso.client.iam.userGroups.list({ account_id: a }), K.MEMBER_LIST, { actor: sso.actor });
    await expectDenied(
      sso.client.iam.sso.create({ account_id: a, email_domain: `${uniq('t')}.example.com`, begin_verification: false }),
      K.SSO_EDIT,
      { actor: sso.actor },
    );

    const rd = await w.accountToken([PGX.SETTINGS_READ]);
    const c = rd.client;
    assert.ok(ids(await collect(c.accounts.members.list({ account_id: a }))).includes(srv.boot.member_id));
    await c.iam.userGroups.list({ account_id: a });
    await c.iam.resourceGroups.list({ account_id: a });
    const email = `${uniq('nope')}@example.com`;
    await expectDenied(c.accounts.members.create({ account_id: a, email, roles: [ROLES.ADMIN_RO] }), K.ORG_EDIT, { actor: rd.actor });
    assert.ok(!(await collect(w.op.accounts.members.list({ account_id: a }))).some((m) => m.email === email));
    await expectDenied(c.iam.userGroups.create({ account_id: a, name: uniq('x') }), K.MEMBER_CREATE, { actor: rd.actor });
    await expectDenied(c.accounts.tokens.list({ account_id: a }), K.TOKEN_LIST, { actor: rd.actor });
    await expectDenied(c.iam.sso.list({ account_id: a }), K.SSO_READ, { actor: rd.actor });
  });

  it("an account-owned token's deny policy beats its allow", async () => {
    const t = await w.accountToken([PGX.SETTINGS_WRITE], { extraPolicies: [accountPolicy(a, [PGX.SETTINGS_READ], 'deny')] });
    await expectDenied(t.client.accounts.members.list({ account_id: a }), K.ORG_READ, { actor: t.actor, reason: 'denied by' });
    await expectDenied(t.client.iam.resourceGroups.list({ account_id: a }), K.RG_LIST, { actor: t.actor, reason: 'denied by' });
    // keys only the Write group grants are not denied
    await t.client.iam.resourceGroups.create({ account_id: a, name: uniq('tw'), scope: wholeAccount() });
  });

  // --- 5. user-owned tokens: the intersection of the token's and its user's permissions ---------

  it('a user-owned token is capped by its user', async () => {
    const p = await w.person({ policies: [w.allow(PGX.MINIMAL)] });
    await w.group('readers', [w.allow(PGX.ADMIN_RO)], [p]);
    const t = await p.client.user.tokens.create({ name: uniq('mine'), policies: [accountPolicy(a, [PGX.SETTINGS_WRITE])] });
    const tc = srv.tokenClient(t.value);
    const actor = tokenActor(t.id);

    // both allow
    await tc.accounts.members.list({ account_id: a });
    await tc.iam.userGroups.list({ account_id: a });
    // the token allows, the user does not
    await expectDenied(p.client.iam.userGroups.create({ account_id: a, name: uniq('x') }), K.MEMBER_CREATE, { actor: p.actor });
    await expectDenied(tc.iam.userGroups.create({ account_id: a, name: uniq('x') }), K.MEMBER_CREATE, { actor, reason: "member's policies" });
    await expectDenied(tc.iam.resourceGroups.create({ account_id: a, name: uniq('x'), scope: wholeAccount() }), K.RG_CREATE, { actor });
    // the user allows, the token does not
    await p.client.iam.sso.list({ account_id: a });
    await expectDenied(tc.iam.sso.list({ account_id: a }), K.SSO_READ, { actor, reason: "token's policies" });
    await p.client.accounts.tokens.list({ account_id: a });
    await expectDenied(tc.accounts.tokens.list({ account_id: a }), K.TOKEN_LIST, { actor });

    // the user becomes a super administrator (through a group): the token may now do what it allows
    await w.group('supers', [w.allow(PGX.SUPER)], [p]);
    const made = await tc.iam.userGroups.create({ account_id: a, name: uniq('by-user-token') });
    assert.ok(ids(await collect(w.op.iam.userGroups.list({ account_id: a }))).includes(made.id));
    // ... and still nothing beyond its own permission groups
    await expectDenied(tc.iam.sso.list({ account_id: a }), K.SSO_READ, { actor });
    await expectDenied(
      tc.accounts.tokens.create({ account_id: a, name: uniq('x'), policies: [accountPolicy(a, [PGX.SETTINGS_READ])] }),
      K.TOKEN_CREATE,
      { actor },
    );
  });

  // --- 6. the decision API agrees with enforcement and explains itself --------------------------

  async function decisionsMatchEnforcement(principal, client, actor, keys) {
    const out = {};
    for (const key of keys) {
      const d = await w.decide(principal, key);
      const got = await enforced(client, a, key, { actor });
      assert.equal(d.allowed, got, `${key}: decision ${JSON.stringify(d)} but enforcement ${got ? 'allowed' : 'denied'}`);
      out[key] = d;
    }
    return out;
  }

  it('decisions match enforcement and name the deciding policies (member)', async () => {
    const p = await w.person({ policies: [w.allow(PGX.MINIMAL)] });
    const ownPolicy = p.member.policies[0].id;
    const readers = await w.group('readers', [w.allow(PGX.ADMIN_RO)], [p]);
    const deniers = await w.group('deniers', [w.deny(PGX.TOKENS_READ)], [p]);
    const readersPolicy = readers.policies[0].id;
    const denyPolicy = deniers.policies[0].id;
    const principal = { member_id: p.member.id };

    let ds = await decisionsMatchEnforcement(principal, p.client, p.actor, Object.keys(probes(a)));
    assert.ok(ds[K.MEMBER_LIST].allowed && ds[K.RG_LIST].allowed && ds[K.SSO_READ].allowed);
    assert.ok(!ds[K.TOKEN_LIST].allowed && !ds[K.MEMBER_CREATE].allowed);

    // allowed only by the group
    let d = ds[K.MEMBER_LIST];
    assert.deepEqual(decidedByView(d), [[readersPolicy, 'allow', 'user_group', readers.id]], JSON.stringify(d));
    assert.deepEqual(d.decided_by[0].source.user_group, { id: readers.id, name: readers.name });
    // allowed by the member's own policy and by the group
    d = ds[K.ACCOUNT_READ];
    assert.deepEqual(
      decidedByView(d),
      [
        [ownPolicy, 'allow', 'member', null],
        [readersPolicy, 'allow', 'user_group', readers.id],
      ].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)),
      JSON.stringify(d),
    );
    // denied by the deny group (deny beats the readers' allow)
    d = ds[K.TOKEN_LIST];
    assert.deepEqual(decidedByView(d), [[denyPolicy, 'deny', 'user_group', deniers.id]], JSON.stringify(d));
    assert.deepEqual(d.decided_by[0].source.user_group, { id: deniers.id, name: deniers.name });
    assert.ok(d.reason.includes('denied'), d.reason);
    // default deny: nothing decided
    d = ds[K.MEMBER_CREATE];
    assert.deepEqual(d.decided_by, []);
    assert.ok(d.reason.includes('no policy'), d.reason);

    // a permission-group id: every key it grants must be allowed
    assert.equal((await w.decide(principal, PGX.MINIMAL)).allowed, true);
    assert.equal((await w.decide(principal, PGX.SSO_READ)).allowed, true);
    d = await w.decide(principal, PGX.ADMIN_RO);
    assert.equal(d.allowed, false);
    assert.ok(decidedByView(d).some((x) => x[0] === denyPolicy && x[1] === 'deny'), JSON.stringify(d));
    // the account itself, named explicitly
    assert.equal((await w.decide(principal, K.MEMBER_LIST, accountKey(a))).allowed, true);
    // several checks at once, answered in order
    const many = await w.authorize(principal, [{ permission: K.RG_LIST }, { permission: K.TOKEN_LIST }, { permission: K.ORG_EDIT }]);
    assert.deepEqual(
      many.map((x) => [x.permission, x.allowed]),
      [
        [K.RG_LIST, true],
        [K.TOKEN_LIST, false],
        [K.ORG_EDIT, false],
      ],
    );

    // leaving the deny group: the decision flips, and so does enforcement
    await w.leave(deniers.id, p);
    ds = await decisionsMatchEnforcement(principal, p.client, p.actor, [K.TOKEN_LIST]);
    assert.deepEqual(decidedByView(ds[K.TOKEN_LIST]), [[readersPolicy, 'allow', 'user_group', readers.id]]);
  });

  it('decisions match enforcement for account-owned and user-owned tokens', async () => {
    const t = await w.accountToken([PGX.SSO_READ]);
    let ds = await decisionsMatchEnforcement({ token_id: t.token.id }, t.client, t.actor, [K.SSO_READ, K.ORG_READ, K.SSO_EDIT]);
    assert.ok(ds[K.SSO_READ].allowed && !ds[K.ORG_READ].allowed && !ds[K.SSO_EDIT].allowed);
    assert.deepEqual(decidedByView(ds[K.SSO_READ]), [[t.token.policies[0].id, 'allow', 'token', t.token.id]]);
    assert.deepEqual(ds[K.ORG_READ].decided_by, []);

    // a user-owned token: both layers must allow, and both are named
    const p = await w.person({ policies: [w.allow(PGX.MINIMAL)] });
    const readers = await w.group('readers', [w.allow(PGX.ADMIN_RO)], [p]);
    const ut = await p.client.user.tokens.create({ name: uniq('mine'), policies: [accountPolicy(a, [PGX.SETTINGS_WRITE])] });
    const utc = srv.tokenClient(ut.value);
    ds = await decisionsMatchEnforcement({ token_id: ut.id }, utc, tokenActor(ut.id), [K.ORG_READ, K.MEMBER_LIST, K.MEMBER_CREATE, K.SSO_READ]);
    assert.ok(ds[K.ORG_READ].allowed && ds[K.MEMBER_LIST].allowed);
    assert.ok(!ds[K.MEMBER_CREATE].allowed && !ds[K.SSO_READ].allowed);
    const view = JSON.stringify(decidedByView(ds[K.MEMBER_LIST]));
    assert.ok(view.includes(JSON.stringify([readers.policies[0].id, 'allow', 'user_group', readers.id])), view);
    assert.ok(view.includes(JSON.stringify([ut.policies[0].id, 'allow', 'token', ut.id])), view);
    assert.ok(ds[K.MEMBER_CREATE].reason.includes("member's policies"), ds[K.MEMBER_CREATE].reason);
    assert.ok(ds[K.SSO_READ].reason.includes("token's policies"), ds[K.SSO_READ].reason);
  });

  it('the decision API requires the authorize key', async () => {
    const rd = await w.accountToken([PGX.SETTINGS_READ]);
    let r = await w.authorizeRaw({ member_id: srv.boot.member_id }, [{ permission: K.ORG_READ }], { token: rd.token.value });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.errors[0].code, 10000);
    assert.ok(
      r.body.errors[0].error_chain[0].message.startsWith(`Actor '${rd.actor}' requires permission '${K.AUTHORIZE}' to `),
      JSON.stringify(r.body),
    );
    const wr = await w.accountToken([PGX.SETTINGS_WRITE]);
    r = await w.authorizeRaw({ member_id: srv.boot.member_id }, [{ permission: K.ORG_READ }], { token: wr.token.value });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertDecisionShape(r.body.result[0]);
    assert.equal(r.body.result[0].allowed, true);
  });

  it('effective_policies lists own, role and group policies with their sources', async () => {
    const p = await w.person({ policies: [w.allow(PGX.MINIMAL)] });
    const readers = await w.group('readers', [w.allow(PGX.ADMIN_RO)], [p]);
    const deniers = await w.group('deniers', [w.deny(PGX.TOKENS_READ)], [p]);
    const rgName = (await w.op.iam.resourceGroups.get(w.rgAll, { account_id: a })).name;
    const sorted = (xs) => [...xs].sort();

    let ep = await w.effectivePolicies(p.member.id);
    assert.equal(ep.member_id, p.member.id);
    assert.equal(ep.email, p.info.email);
    assert.equal(ep.status, 'accepted');
    assert.equal(ep.policies.length, 3, JSON.stringify(ep.policies));
    const [own, ...groups] = ep.policies; // own first
    assert.equal(own.id, p.member.policies[0].id);
    assert.equal(own.access, 'allow');
    assert.deepEqual(own.source, { kind: 'member' });
    assert.deepEqual(own.permission_groups, [{ id: PGX.MINIMAL, name: 'Minimal Account Access' }]);
    assert.deepEqual(own.resource_groups, [{ id: w.rgAll, name: rgName }]);
    assert.deepEqual(sorted(own.permissions), sorted(GRANTS['Minimal Account Access']));
    assert.deepEqual(own.resources, ['*']);
    const byGroup = Object.fromEntries(groups.map((x) => [x.source.user_group?.id, x]));
    assert.deepEqual(Object.keys(byGroup).sort(), [readers.id, deniers.id].sort());
    const r = byGroup[readers.id];
    assert.equal(r.id, readers.policies[0].id);
    assert.equal(r.access, 'allow');
    assert.deepEqual(r.source, { kind: 'user_group', user_group: { id: readers.id, name: readers.name } });
    assert.deepEqual(r.permission_groups, [{ id: PGX.ADMIN_RO, name: 'Administrator Read Only' }]);
    assert.deepEqual(sorted(r.permissions), sorted(GRANTS['Administrator Read Only']));
    const d = byGroup[deniers.id];
    assert.equal(d.id, deniers.policies[0].id);
    assert.equal(d.access, 'deny');
    assert.deepEqual(d.permission_groups, [{ id: PGX.TOKENS_READ, name: 'Account API Tokens Read' }]);
    assert.deepEqual(sorted(d.permissions), sorted(GRANTS['Account API Tokens Read']));

    // a member with a role: the role is a policy of its own
    const q = await w.person({ roles: [ROLES.ADMIN_RO] });
    await w.join(readers.id, q);
    ep = await w.effectivePolicies(q.member.id);
    assert.equal(ep.policies.length, 2, JSON.stringify(ep.policies));
    const role = ep.policies[0];
    assert.equal(role.id, ROLES.ADMIN_RO);
    assert.equal(role.access, 'allow');
    assert.deepEqual(role.source, { kind: 'role', role: { id: ROLES.ADMIN_RO, name: 'Administrator Read Only' } });
    assert.deepEqual(role.permission_groups, [{ id: PGX.ADMIN_RO, name: 'Administrator Read Only' }]);
    assert.deepEqual(role.resource_groups, []);
    assert.deepEqual(role.resources, ['*']);
    assert.deepEqual(sorted(role.permissions), sorted(GRANTS['Administrator Read Only']));
    assert.equal(ep.policies[1].source.kind, 'user_group');
    assert.equal(ep.policies[1].source.user_group.id, readers.id);

    // leaving a group removes its policies from the list
    await w.leave(readers.id, q);
    assert.deepEqual((await w.effectivePolicies(q.member.id)).policies.map((x) => x.source.kind), ['role']);

    // reading effective policies requires member.read
    const sso = await w.accountToken([PGX.SSO_READ]);
    const res = await w.effectivePoliciesRaw(q.member.id, { token: sso.token.value });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.ok(res.body.errors[0].error_chain[0].message.includes(`requires permission '${K.MEMBER_READ}'`), JSON.stringify(res.body));
  });

  // --- 7. pending members hold nothing ----------------------------------------------------------

  it('a pending member is denied even as Super Administrator', async () => {
    const p = await w.person({ roles: [ROLES.SUPER_ADMIN], status: 'pending' });
    await w.group('pending-supers', [w.allow(PGX.SUPER)], [p]);
    const c = p.client;
    for (const call of [
      () => c.accounts.get({ account_id: a }),
      () => c.accounts.members.list({ account_id: a }),
      () => c.iam.userGroups.list({ account_id: a }),
      () => c.iam.userGroups.create({ account_id: a, name: uniq('x') }),
      () => c.accounts.tokens.list({ account_id: a }),
      () => c.iam.permissionGroups.list({ account_id: a }),
    ]) {
      await expectNotInAccount(call(), { actor: p.actor });
    }

    let d = await w.decide({ member_id: p.member.id }, K.ORG_READ);
    assert.equal(d.allowed, false);
    assert.deepEqual(d.decided_by, []);
    assert.ok(d.reason.includes('pending') || d.reason.includes('accepted'), d.reason);
    assert.equal((await w.decide({ member_id: p.member.id }, PGX.SUPER)).allowed, false);
    const ep = await w.effectivePolicies(p.member.id);
    assert.equal(ep.status, 'pending');
    assert.deepEqual(ep.policies.map((x) => x.source.kind), ['role', 'user_group']);

    // the pending user's own token is no better: naming the account is refused (a user-owned
    // token may name only accounts its user can act in) ...
    const refused = await expectApiError(
      c.user.tokens.create({ name: uniq('pending'), policies: [accountPolicy(a, [PGX.SETTINGS_READ])] }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001, messageIncludes: 'accepted member' },
    );
    assert.equal(refused.errors[0].source.pointer, `/policies/0/resources/com.cloudflare.api.account.${a}`);
    // ... and one over "all accounts" acts in none where the user is pending
    const allAccounts = accountPolicy(a, [PGX.SETTINGS_READ]);
    allAccounts.resources = { 'com.cloudflare.api.account.*': '*' };
    const t = await c.user.tokens.create({ name: uniq('pending'), policies: [allAccounts] });
    await expectNotInAccount(srv.tokenClient(t.value).accounts.members.list({ account_id: a }), { actor: tokenActor(t.id) });
    d = await w.decide({ token_id: t.id }, K.ORG_READ);
    assert.equal(d.allowed, false);
    assert.deepEqual(d.decided_by, []);
  });
});
