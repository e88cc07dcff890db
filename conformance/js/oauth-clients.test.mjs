// client.iam.oauthClients.{create,get,list,update,delete,rotateSecret,deleteRotatedSecret} and
// client.iam.oauthScopes.list (docs/api-decisions.md "OAuth clients and OAuth scopes"): the secret
// is shown once, rotation keeps the previous one until deleteRotatedSecret, field rules are
// 400/1001 with the field's pointer, accounts are isolated, a read-only member cannot write.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import { assertId, expectApiError, uniq } from './lib/expect.mjs';
import { ROLE } from './lib/iam.mjs';

const pointerOf = (err) => err.errors[0]?.source?.pointer;

const base = () => ({
  client_name: uniq('My OAuth App'),
  grant_types: ['authorization_code', 'refresh_token'],
  redirect_uris: ['https://example.com/callback'],
  response_types: ['code'],
  scopes: ['account.read', 'account.write'],
  token_endpoint_auth_method: 'client_secret_basic',
  allowed_cors_origins: ['https://example.com'],
  client_uri: 'https://example.com',
  logo_uri: 'https://example.com/logo.png',
  optional_scopes: ['account.write'],
  policy_uri: 'https://example.com/privacy',
  post_logout_redirect_uris: ['https://example.com/logout'],
  tos_uri: 'https://example.com/tos',
});

describe('iam.oauthClients', () => {
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

  it('creates a client; the secret is shown once, get and list never show it; delete then get is 404', async () => {
    const body = base();
    const created = await c.iam.oauthClients.create({ account_id, ...body });
    assertId(created.client_id, 'client_id');
    assert.equal(typeof created.client_secret, 'string');
    assert.ok(created.client_secret.length >= 32);
    for (const [k, v] of Object.entries(body)) assert.deepEqual(created[k], v, k);
    assert.equal(created.visibility, 'private');
    assert.equal(created.has_rotated_secret, false);

    const rec = recordingFetch({ bodies: true });
    const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    const got = await rc.iam.oauthClients.get(created.client_id, { account_id });
    const { client_secret, ...withoutSecret } = created;
    assert.deepEqual(got, withoutSecret);
    const listed = [];
    for await (const x of rc.iam.oauthClients.list({ account_id })) listed.push(x);
    assert.ok(listed.some((x) => x.client_id === created.client_id));
    assert.equal(rec.calls.length, 2);
    for (const call of rec.calls) {
      assert.ok(!JSON.stringify(call.body).includes(client_secret), 'no read shows the secret');
    }

    const del = await c.iam.oauthClients.delete(created.client_id, { account_id });
    assert.deepEqual(del, { id: created.client_id });
    await expectApiError(c.iam.oauthClients.get(created.client_id, { account_id }), Cloudflare.NotFoundError, { status: 404, code: 1003 });
  });

  it('rotates: a new secret once, the previous one kept until deleteRotatedSecret', async () => {
    const created = await c.iam.oauthClients.create({ account_id, ...base() });
    const id = created.client_id;
    await expectApiError(c.iam.oauthClients.deleteRotatedSecret(id, { account_id }), Cloudflare.BadRequestError, { status: 400, code: 1001 });
    const r = await c.iam.oauthClients.rotateSecret(id, { account_id });
    assert.ok(r.client_secret && r.client_secret !== created.client_secret);
    assert.equal((await c.iam.oauthClients.get(id, { account_id })).has_rotated_secret, true);
    await expectApiError(c.iam.oauthClients.rotateSecret(id, { account_id }), Cloudflare.BadRequestError, { status: 400, code: 1001 });
    assert.deepEqual(await c.iam.oauthClients.deleteRotatedSecret(id, { account_id }), { id });
    assert.equal((await c.iam.oauthClients.get(id, { account_id })).has_rotated_secret, false);
  });

  it('updates with PATCH; absent fields are unchanged; promotion is refused', async () => {
    const created = await c.iam.oauthClients.create({ account_id, ...base() });
    const u = await c.iam.oauthClients.update(created.client_id, { account_id, client_name: 'Renamed', scopes: ['user-details.read'], optional_scopes: [] });
    assert.equal(u.client_name, 'Renamed');
    assert.deepEqual(u.scopes, ['user-details.read']);
    assert.deepEqual(u.redirect_uris, created.redirect_uris);
    const err = await expectApiError(c.iam.oauthClients.update(created.client_id, { account_id, visibility: 'public' }), Cloudflare.BadRequestError, { status: 400, code: 1001 });
    assert.equal(pointerOf(err), '/visibility');
  });

  for (const [label, override, pointer] of [
    ['grant types without authorization_code', { grant_types: ['refresh_token'] }, '/grant_types'],
    ['an unknown grant type', { grant_types: ['authorization_code', 'implicit'] }, '/grant_types/1'],
    ['an unknown auth method', { token_endpoint_auth_method: 'private_key_jwt' }, '/token_endpoint_auth_method'],
    ['http redirect to a public host', { redirect_uris: ['http://example.com/cb'] }, '/redirect_uris/0'],
    ['a redirect with a fragment', { redirect_uris: ['https://example.com/cb#x'] }, '/redirect_uris/0'],
    ['an unknown scope', { scopes: ['account.read', 'no.such.scope'] }, '/scopes/1'],
    ['an optional scope not in scopes', { optional_scopes: ['user-details.read'] }, '/optional_scopes/0'],
  ]) {
    it(`refuses ${label} with 400/1001 at ${pointer}`, async () => {
      const err = await expectApiError(c.iam.oauthClients.create({ account_id, ...base(), ...override }), Cloudflare.BadRequestError, { status: 400, code: 1001 });
      assert.equal(pointerOf(err), pointer, JSON.stringify(err.errors));
    });
  }

  it('isolates accounts and enforces permission keys', async () => {
    const created = await c.iam.oauthClients.create({ account_id, ...base() });
    const id = created.client_id;
    const key = srv.adminKey;
    const b = await key.accounts.create({ name: uniq('OAuth B') });
    try {
      await expectApiError(key.iam.oauthClients.get(id, { account_id: b.id }), Cloudflare.NotFoundError, { status: 404, code: 1003 });
      await expectApiError(key.iam.oauthClients.delete(id, { account_id: b.id }), Cloudflare.NotFoundError, { status: 404, code: 1003 });
      // The bootstrap token belongs to the first account: it cannot act in B at all.
      await expectApiError(srv.adminToken.iam.oauthClients.get(id, { account_id: b.id }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
    } finally {
      await key.accounts.delete({ account_id: b.id });
    }
    const u = await srv.userKey(`${uniq('ro')}@example.com`);
    await c.accounts.members.create({ account_id, email: u.email, roles: [ROLE.ADMIN_RO], status: 'accepted' });
    const ro = srv.keyClient(u.email, u.api_key);
    assert.equal((await ro.iam.oauthClients.get(id, { account_id })).client_id, id);
    await expectApiError(ro.iam.oauthClients.create({ account_id, ...base() }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
    await expectApiError(ro.iam.oauthClients.rotateSecret(id, { account_id }), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
    assert.equal((await c.iam.oauthClients.get(id, { account_id })).has_rotated_secret, false);
  });
});

describe('iam.oauthScopes', () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  it('lists the catalog for any authenticated caller', async () => {
    const items = [];
    for await (const s of srv.adminToken.iam.oauthScopes.list()) items.push(s);
    assert.ok(items.some((s) => s.id === 'account.read' && typeof s.name === 'string'));
    const u = await srv.userKey(`${uniq('nobody')}@example.com`);
    const nobody = [];
    for await (const s of srv.keyClient(u.email, u.api_key).iam.oauthScopes.list()) nobody.push(s.id);
    assert.deepEqual(nobody, items.map((s) => s.id));
  });
});
