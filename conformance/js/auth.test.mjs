// Authentication and basic access rules, and wire basics every SDK call depends on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer } from './lib/server.mjs';
import { expectApiError, uniq } from './lib/expect.mjs';

const ADMIN = '05784afa30c1afe1440e79d9351c7430';
const BAD_KEY = '0123456789abcdef0123456789abcdef01234'; // well-formed (37 hex), unknown

function chainCodes(err) {
  const chain = err.errors[0].error_chain;
  assert.ok(Array.isArray(chain) && chain.length >= 1, `error_chain: ${JSON.stringify(err.errors)}`);
  for (const c of chain) {
    assert.equal(typeof c.code, 'number');
    assert.equal(typeof c.message, 'string');
  }
  return chain.map((c) => c.code);
}

describe('authentication', () => {
  let srv;
  let account_id;

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
  });
  after(async () => {
    await srv?.stop();
  });

  it('an unknown Bearer token is 403/9109 "Invalid access token"', async () => {
    const c = srv.tokenClient('A'.repeat(40));
    await expectApiError(c.accounts.get({ account_id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 9109,
      messageIncludes: 'Invalid access token',
    });
    await expectApiError(c.user.tokens.verify(), Cloudflare.PermissionDeniedError, { status: 403, code: 9109 });
    await expectApiError(c.accounts.tokens.verify({ account_id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 9109,
    });
    await expectApiError(
      c.iam.permissionGroups.list({ account_id }),
      Cloudflare.PermissionDeniedError,
      { status: 403, code: 9109 },
    );
  });

  it('a wrong key or unknown email is 403/9103 "Unknown X-Auth-Key or X-Auth-Email"', async () => {
    await expectApiError(
      srv.keyClient(srv.boot.email, BAD_KEY).user.get(),
      Cloudflare.PermissionDeniedError,
      { status: 403, code: 9103, messageIncludes: 'Unknown X-Auth-Key or X-Auth-Email' },
    );
    await expectApiError(
      srv.keyClient('nobody@example.com', srv.boot.api_key).accounts.get({ account_id }),
      Cloudflare.PermissionDeniedError,
      { status: 403, code: 9103 },
    );
  });

  it('no credentials at all (the TS SDK sends the request anyway) is 400/6003', async () => {
    const c = srv.client();
    const err = await expectApiError(c.accounts.get({ account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 6003,
      messageIncludes: 'Invalid request headers',
    });
    chainCodes(err);
    await expectApiError(c.user.get(), Cloudflare.BadRequestError, { status: 400, code: 6003 });
  });

  it('a key without an email is 400/6003 with 6100; an email without a key with 6101', async () => {
    const keyOnly = srv.client({ apiKey: srv.boot.api_key });
    const e1 = await expectApiError(keyOnly.user.get(), Cloudflare.BadRequestError, { status: 400, code: 6003 });
    assert.ok(chainCodes(e1).includes(6100), JSON.stringify(e1.errors));

    const emailOnly = srv.client({ apiEmail: srv.boot.email });
    const e2 = await expectApiError(emailOnly.user.get(), Cloudflare.BadRequestError, { status: 400, code: 6003 });
    assert.ok(chainCodes(e2).includes(6101), JSON.stringify(e2.errors));
  });

  it('a malformed X-Auth-Key is 400/6003 with 6103', async () => {
    const c = srv.keyClient(srv.boot.email, 'not a key!');
    const err = await expectApiError(c.user.get(), Cloudflare.BadRequestError, { status: 400, code: 6003 });
    assert.ok(chainCodes(err).includes(6103), JSON.stringify(err.errors));
  });

  it('a malformed Authorization header is 400/6003 with 6111', async () => {
    const c = srv.client({ defaultHeaders: { Authorization: 'Basic Zm9vOmJhcg==' } });
    const err = await expectApiError(c.accounts.get({ account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 6003,
    });
    assert.ok(chainCodes(err).includes(6111), JSON.stringify(err.errors));
  });

  it('when a token and email+key are all sent (as the TS SDK does), Bearer wins', async () => {
    // valid token + wrong key: succeeds as the token
    const good = srv.client({ apiToken: srv.boot.api_token, apiEmail: srv.boot.email, apiKey: BAD_KEY });
    const v = await good.accounts.tokens.verify({ account_id });
    assert.equal(v.id, srv.boot.api_token_id);
    // account-owned token semantics apply, not the user's: listing accounts is refused
    await expectApiError(good.accounts.list(), Cloudflare.BadRequestError, { status: 400, code: 1001 });

    // bad token + valid email/key: the token is judged
    const bad = srv.client({ apiToken: 'B'.repeat(40), apiEmail: srv.boot.email, apiKey: srv.boot.api_key });
    await expectApiError(bad.user.get(), Cloudflare.PermissionDeniedError, { status: 403, code: 9109 });
  });

  it('a user who is not a member cannot act in the account (403/10000)', async () => {
    const u = await srv.userKey(`${uniq('outsider')}@example.com`);
    const c = srv.keyClient(u.email, u.api_key);
    const denied = { status: 403, code: 10000 };
    await expectApiError(c.accounts.get({ account_id }), Cloudflare.PermissionDeniedError, denied);
    await expectApiError(c.accounts.members.list({ account_id }), Cloudflare.PermissionDeniedError, denied);
    await expectApiError(
      c.accounts.members.create({ account_id, email: 'x@example.com', roles: [ADMIN] }),
      Cloudflare.PermissionDeniedError,
      denied,
    );
    await expectApiError(c.iam.permissionGroups.list({ account_id }), Cloudflare.PermissionDeniedError, denied);
    await expectApiError(c.accounts.tokens.list({ account_id }), Cloudflare.PermissionDeniedError, denied);
    await expectApiError(
      c.accounts.tokens.permissionGroups.list({ account_id }),
      Cloudflare.PermissionDeniedError,
      denied,
    );
    await expectApiError(
      c.accounts.update({ account_id, id: account_id, name: 'Hijacked', type: 'standard' }),
      Cloudflare.PermissionDeniedError,
      denied,
    );
    const a = await srv.adminKey.accounts.get({ account_id });
    assert.equal(a.name, 'Conformance');
  });

  it('a pending member is denied (403/10000) until accepted', async () => {
    const u = await srv.userKey(`${uniq('invitee')}@example.com`);
    const c = srv.keyClient(u.email, u.api_key);
    const m = await srv.adminToken.accounts.members.create({ account_id, email: u.email, roles: [ADMIN] });
    assert.equal(m.status, 'pending');
    assert.equal(m.user.id, u.user_id, 'the member is the existing user');
    await expectApiError(c.accounts.get({ account_id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });

    await srv.adminToken.accounts.members.update(m.id, { account_id, status: 'accepted' });
    const a = await c.accounts.get({ account_id });
    assert.equal(a.id, account_id);
    const listed = await c.accounts.list();
    assert.deepEqual(
      listed.result.map((x) => x.id),
      [account_id],
    );

    // Removing the membership removes the access again.
    await srv.adminToken.accounts.members.delete(m.id, { account_id });
    await expectApiError(c.accounts.get({ account_id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });
  });

  it('an account-owned token is refused on /user (403/9109, as Cloudflare answers)', async () => {
    await expectApiError(srv.adminToken.user.get(), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 9109,
    });
  });
});

describe('wire basics', () => {
  let srv;

  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  const authed = () => ({ authorization: `Bearer ${srv.boot.api_token}` });

  it('GET /healthz answers the envelope with status ok', async () => {
    const res = await fetch(`${srv.origin}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json();
    assert.equal(body.success, true);
    assert.deepEqual(body.result, { status: 'ok' });
  });

  it('an unknown route is 404/7000 with the envelope', async () => {
    const res = await fetch(`${srv.baseURL}/no/such/route`, { headers: authed() });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json();
    assert.equal(body.success, false);
    assert.equal(body.result, null);
    assert.equal(body.errors[0].code, 7000);
  });

  it('a known path with the wrong method is 405/7001', async () => {
    const res = await fetch(`${srv.baseURL}/accounts/${srv.boot.account_id}/members`, {
      method: 'PATCH',
      headers: { ...authed(), 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 405);
    const body = await res.json();
    assert.equal(body.errors[0].code, 7001);
  });

  it('malformed JSON is 400/6007', async () => {
    const res = await fetch(`${srv.baseURL}/accounts/${srv.boot.account_id}/members`, {
      method: 'POST',
      headers: { ...authed(), 'content-type': 'application/json' },
      body: '{"email": ',
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.success, false);
    assert.equal(body.errors[0].code, 6007);
  });

  it('a wrong field type is 400/1001 with a JSON pointer', async () => {
    const c = srv.adminToken;
    const err = await expectApiError(
      c.accounts.members.create({ account_id: srv.boot.account_id, email: 42, roles: [ADMIN] }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    assert.equal(err.errors[0].source?.pointer, '/email', JSON.stringify(err.errors));
  });

  it('unknown query parameters are ignored; page=2.0 is accepted', async () => {
    const url = `${srv.baseURL}/accounts/${srv.boot.account_id}/iam/permission_groups?per_page=5&page=2.0&bogus=1`;
    const res = await fetch(url, { headers: authed() });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.result_info.page, 2);
    assert.equal(body.result.length, 5);
  });

  it('the name filter decodes + as a space too', async () => {
    const url = `${srv.baseURL}/accounts/${srv.boot.account_id}/iam/permission_groups?name=Cloudflare+Zero+Trust`;
    const res = await fetch(url, { headers: authed() });
    const body = await res.json();
    assert.deepEqual(
      body.result.map((g) => g.name),
      ['Cloudflare Zero Trust'],
    );
  });
});
