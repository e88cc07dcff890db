// client.user.get(): GET /user, and isolation of user-owned tokens between users.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer } from './lib/server.mjs';
import { assertId, collect, expectApiError, uniq } from './lib/expect.mjs';

describe('user', () => {
  let srv;

  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  it('user.get() returns the bootstrap user for its email+key', async () => {
    const u = await srv.adminKey.user.get();
    assert.equal(u.id, srv.boot.user_id);
    assertId(u.id, 'user id');
    assert.equal(u.email, 'admin@example.com');
    assert.equal(srv.boot.email, 'admin@example.com');
  });

  it('user.get() works for a user created by `portcullis user-key` (no memberships needed)', async () => {
    const k = await srv.userKey(`${uniq('solo')}@example.com`);
    assertId(k.user_id, 'user-key user_id');
    assert.match(k.api_key, /^[0-9a-f]{37}$/, 'global API key: 37 lowercase hex');
    const u = await srv.keyClient(k.email, k.api_key).user.get();
    assert.equal(u.id, k.user_id);
    assert.equal(u.email, k.email);
  });

  it('an account-owned token cannot use /user (403/9109) nor /user/tokens (403/10000)', async () => {
    const c = srv.adminToken;
    await expectApiError(c.user.get(), Cloudflare.PermissionDeniedError, { status: 403, code: 9109 });
    await expectApiError(c.user.tokens.list(), Cloudflare.PermissionDeniedError, { status: 403, code: 10000 });
  });

  it('the bootstrap output is well-formed', () => {
    const b = srv.boot;
    assertId(b.account_id, 'account_id');
    assertId(b.user_id, 'user_id');
    assertId(b.member_id, 'member_id');
    assertId(b.api_token_id, 'api_token_id');
    assert.match(b.api_key, /^[0-9a-f]{37}$/, 'api_key: 37 lowercase hex');
    assert.match(b.api_token, /^[A-Za-z0-9_-]{40}$/, 'api_token: 40 chars');
  });

  it('the bootstrap token verifies as the bootstrap api_token_id', async () => {
    const v = await srv.adminToken.accounts.tokens.verify({ account_id: srv.boot.account_id });
    assert.equal(v.id, srv.boot.api_token_id);
    assert.equal(v.status, 'active');
  });

  it("a user's tokens are invisible to another user", async () => {
    const alice = await srv.userKey(`${uniq('alice')}@example.com`);
    const bob = await srv.userKey(`${uniq('bob')}@example.com`);
    const a = srv.keyClient(alice.email, alice.api_key);
    const b = srv.keyClient(bob.email, bob.api_key);

    const groups = await a.user.tokens.permissionGroups.list({ name: 'API Tokens Read' });
    assert.equal(groups.result.length, 1);
    const t = await a.user.tokens.create({
      name: 'alice-token',
      policies: [
        {
          effect: 'allow',
          permission_groups: [{ id: groups.result[0].id }],
          resources: { [`com.cloudflare.api.user.${alice.user_id}`]: '*' },
        },
      ],
    });

    const mine = await collect(a.user.tokens.list());
    assert.deepEqual(
      mine.map((x) => x.id),
      [t.id],
    );
    const theirs = await collect(b.user.tokens.list());
    assert.deepEqual(theirs, []);
    await expectApiError(b.user.tokens.get(t.id), Cloudflare.NotFoundError, { status: 404, code: 1003 });
    await expectApiError(b.user.tokens.delete(t.id), Cloudflare.NotFoundError, { status: 404, code: 1003 });
    await expectApiError(b.user.tokens.value.update(t.id), Cloudflare.NotFoundError, { status: 404, code: 1003 });

    // The token acts as Alice.
    const v = await srv.tokenClient(t.value).user.tokens.verify();
    assert.equal(v.id, t.id);
    assert.equal((await a.user.tokens.get(t.id)).id, t.id);
  });

  it('user-owned tokens are not listed among account-owned tokens', async () => {
    const k = srv.adminKey;
    const groups = await k.user.tokens.permissionGroups.list({ name: 'API Tokens Read' });
    const t = await k.user.tokens.create({
      name: 'user-owned',
      policies: [
        {
          effect: 'allow',
          permission_groups: [{ id: groups.result[0].id }],
          resources: { [`com.cloudflare.api.user.${srv.boot.user_id}`]: '*' },
        },
      ],
    });
    const acct = await collect(srv.adminToken.accounts.tokens.list({ account_id: srv.boot.account_id }));
    assert.ok(!acct.some((x) => x.id === t.id));
    assert.ok(acct.some((x) => x.id === srv.boot.api_token_id), 'the bootstrap token is account-owned');
    await expectApiError(
      srv.adminToken.accounts.tokens.get(t.id, { account_id: srv.boot.account_id }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    const mine = await collect(k.user.tokens.list());
    assert.ok(!mine.some((x) => x.id === srv.boot.api_token_id));
  });
});
