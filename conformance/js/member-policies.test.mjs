// client.accounts.members with `policies` (the same policy shape as user groups):
// create/update/get/list answer expanded policies; resource groups in use by them cannot be deleted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import { collect, expectApiError, localGroupId, randomId, uniq } from './lib/expect.mjs';
import { PG, assertPolicies, assertResourceGroup, scopeOf, zoneKey } from './lib/iam.mjs';

describe('accounts.members with policies', () => {
  let srv;
  let account_id;
  let c;
  let rgAll;
  let rgZones;
  const catalog = new Map();
  const rgById = new Map();
  const names = new Map([[PG.ZONE_READ, 'Zone Read']]);

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
    c = srv.adminToken;
    rgAll = await c.iam.resourceGroups.create({ account_id, name: 'MP all', scope: scopeOf(account_id, ['*']) });
    rgZones = await c.iam.resourceGroups.create({ account_id, name: 'MP zones', scope: scopeOf(account_id, [zoneKey()]) });
    for (const rg of [rgAll, rgZones]) rgById.set(rg.id, await c.iam.resourceGroups.get(rg.id, { account_id }));
    for (const id of [PG.ADMIN, PG.ADMIN_RO, PG.DOMAIN_ADMIN, PG.SUPER_ADMIN]) {
      catalog.set(id, await c.iam.permissionGroups.get(id, { account_id }));
    }
  });
  after(async () => {
    await srv?.stop();
  });

  it('Administrator (local group, sha256 rule) on a [{"key":"*"}] resource group comes back expanded', async () => {
    assert.equal(catalog.get(localGroupId('Administrator')).name, 'Administrator');
    const email = `${uniq('pol')}@example.com`;
    const written = [
      { access: 'allow', permission_groups: [{ id: localGroupId('Administrator') }], resource_groups: [{ id: rgAll.id }] },
    ];
    const rec = recordingFetch({ bodies: true });
    const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    const m = await rc.accounts.members.create({ account_id, email, policies: written });
    assert.deepEqual(JSON.parse(rec.calls[0].requestBody), { email, policies: written });
    assert.equal(m.email, email);
    assert.equal(m.status, 'pending');
    assertPolicies(m.policies, written, { catalog, rgById });
    assert.ok(Array.isArray(m.roles), 'roles is a list');

    const got = await c.accounts.members.get(m.id, { account_id });
    assert.deepEqual(got, m, 'get equals the create answer (policy ids and order)');
    const listed = await collect(c.accounts.members.list({ account_id, per_page: 50 }));
    assert.deepEqual(
      listed.find((x) => x.id === m.id),
      m,
    );
  });

  it('several policies keep their order; update replaces them keeping an existing policy id', async () => {
    const written = [
      { access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }, { id: PG.DOMAIN_ADMIN }], resource_groups: [{ id: rgAll.id }] },
      { access: 'deny', permission_groups: [{ id: PG.ZONE_READ }], resource_groups: [{ id: rgZones.id }, { id: rgAll.id }] },
    ];
    const m = await c.accounts.members.create({
      account_id,
      email: `${uniq('multi')}@example.com`,
      policies: written,
      status: 'accepted',
    });
    assertPolicies(m.policies, written, { catalog, rgById, names });
    assert.deepEqual(await c.accounts.members.get(m.id, { account_id }), m);

    const next = [
      { access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] },
      { id: m.policies[0].id, access: 'deny', permission_groups: [{ id: PG.DOMAIN_ADMIN }], resource_groups: [{ id: rgZones.id }] },
    ];
    const u = await c.accounts.members.update(m.id, { account_id, policies: next });
    assertPolicies(u.policies, next, { catalog, rgById, names });
    assert.equal(u.policies[1].id, m.policies[0].id, 'kept id');
    assert.ok(![m.policies[0].id, m.policies[1].id].includes(u.policies[0].id), 'new policy gets a new id');
    assert.deepEqual(await c.accounts.members.get(m.id, { account_id }), u);

    await expectApiError(
      c.accounts.members.update(m.id, {
        account_id,
        policies: [{ id: randomId(), access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rgAll.id }] }],
      }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    assert.deepEqual(await c.accounts.members.get(m.id, { account_id }), u, 'unchanged after the refused update');
  });

  it('scope incompatibility is 400/1006 on member create too; nothing is created', async () => {
    const email = `${uniq('bad')}@example.com`;
    const err = await expectApiError(
      c.accounts.members.create({
        account_id,
        email,
        policies: [{ access: 'allow', permission_groups: [{ id: PG.SUPER_ADMIN }], resource_groups: [{ id: rgZones.id }] }],
      }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1006 },
    );
    assert.equal(err.errors[0].source?.pointer, '/policies/0', JSON.stringify(err.errors));
    const all = await collect(c.accounts.members.list({ account_id, per_page: 50 }));
    assert.ok(!all.some((x) => x.email === email));
  });

  it('an unknown resource group in a member policy is 400/1001 with the pointer of the id', async () => {
    const err = await expectApiError(
      c.accounts.members.create({
        account_id,
        email: `${uniq('unk')}@example.com`,
        policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: randomId() }] }],
      }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    assert.equal(err.errors[0].source?.pointer, '/policies/0/resource_groups/0/id', JSON.stringify(err.errors));
  });

  it('`policies: []` on create is a member with no direct grants; access comes from user groups', async () => {
    const email = `${uniq('empty')}@example.com`;
    const m = await c.accounts.members.create({ account_id, email, policies: [] });
    assert.deepEqual(m.policies, []);
    assert.deepEqual(m.roles, []);
    const got = await c.accounts.members.get(m.id, { account_id });
    assert.deepEqual(got, m, 'create then read agree');
  });

  it('a policy may give a resource group inline as `scope`: an unnamed group is made for it', async () => {
    const email = `${uniq('inline')}@example.com`;
    const zone = zoneKey();
    const m = await c.accounts.members.create({
      account_id,
      email,
      policies: [{
        access: 'allow',
        permission_groups: [{ id: PG.ADMIN_RO }],
        resource_groups: [{ scope: scopeOf(account_id, ['*']) }],
      }],
    });
    const [rg] = m.policies[0].resource_groups;
    assertResourceGroup(rg, { accountId: account_id, objects: ['*'] });
    assert.equal(rg.name, 'Inline scope: *');
    const listed = await c.iam.resourceGroups.get(rg.id, { account_id });
    assert.deepEqual(listed, rg, 'the made group is a resource group of the account');
    await expectApiError(
      c.accounts.members.create({
        account_id,
        email: `${uniq('inline-bad')}@example.com`,
        policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ scope: scopeOf('0'.repeat(32), [zone]) }] }],
      }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
  });

  it('a resource group used by a member policy cannot be deleted (400/1001 naming the member)', async () => {
    const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('member-used'), scope: scopeOf(account_id, ['*']) });
    const email = `${uniq('holder')}@example.com`;
    const m = await c.accounts.members.create({
      account_id,
      email,
      policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ id: rg.id }] }],
    });
    const err = await expectApiError(c.iam.resourceGroups.delete(rg.id, { account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 1001,
    });
    const msgs = err.errors.map((e) => e.message).join(' | ');
    assert.ok(msgs.includes(email), `message names the member ${email}: ${msgs}`);
    assert.ok(msgs.includes(m.id), `message names the member id ${m.id}: ${msgs}`);

    // removing the member frees the resource group
    await c.accounts.members.delete(m.id, { account_id });
    assert.deepEqual(await c.iam.resourceGroups.delete(rg.id, { account_id }), { id: rg.id });
  });

  it('a resource group used by a user group and a member: the refusal names both', async () => {
    const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('both-used'), scope: scopeOf(account_id, ['*']) });
    const policies = [{ access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ id: rg.id }] }];
    const email = `${uniq('both')}@example.com`;
    const m = await c.accounts.members.create({ account_id, email, policies });
    const gname = uniq('Both users');
    const ug = await c.iam.userGroups.create({ account_id, name: gname, policies });
    const err = await expectApiError(c.iam.resourceGroups.delete(rg.id, { account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 1001,
    });
    const msgs = err.errors.map((e) => e.message).join(' | ');
    for (const s of [email, m.id, gname, ug.id]) assert.ok(msgs.includes(s), `message names ${s}: ${msgs}`);
  });

  it('renaming a resource group shows in the expanded policies that use it', async () => {
    const rg = await c.iam.resourceGroups.create({ account_id, name: uniq('before'), scope: scopeOf(account_id, ['*']) });
    const m = await c.accounts.members.create({
      account_id,
      email: `${uniq('ren')}@example.com`,
      policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN }], resource_groups: [{ id: rg.id }] }],
    });
    const renamed = await c.iam.resourceGroups.update(rg.id, { account_id, name: uniq('after') });
    const got = await c.accounts.members.get(m.id, { account_id });
    assert.deepEqual(got.policies[0].resource_groups[0], renamed);
    assert.equal(got.policies[0].id, m.policies[0].id);
  });

  it('a member created with policies can join a user group', async () => {
    const m = await c.accounts.members.create({
      account_id,
      email: `${uniq('joiner')}@example.com`,
      policies: [{ access: 'allow', permission_groups: [{ id: PG.ADMIN_RO }], resource_groups: [{ id: rgAll.id }] }],
    });
    const ug = await c.iam.userGroups.create({ account_id, name: uniq('Joined') });
    const page = await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: m.id }] });
    assert.deepEqual(page.result, [{ id: m.id, email: m.email, status: m.status }]);
  });
});
