// client.accounts.{list,get,update,create,delete}: /accounts[/{id}]
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import {
  assertId,
  assertNoDuplicateIds,
  assertResultInfo,
  assertTimestamp,
  collect,
  expectApiError,
  randomId,
  uniq,
} from './lib/expect.mjs';

function assertAccountShape(a, { id, name } = {}) {
  assertId(a.id, 'account id');
  if (id) assert.equal(a.id, id);
  assert.equal(typeof a.name, 'string');
  if (name) assert.equal(a.name, name);
  assert.ok(['standard', 'enterprise'].includes(a.type), `type ${a.type}`);
  assertTimestamp(a.created_on, 'account created_on');
  assert.ok(a.settings && typeof a.settings === 'object', 'settings object');
  assert.equal(typeof a.settings.enforce_twofactor, 'boolean', 'settings.enforce_twofactor');
  assert.ok('abuse_contact_email' in a.settings, 'settings.abuse_contact_email present');
}

describe('accounts', () => {
  let srv;
  let account_id;
  /** operator (bootstrap user) via email + key */
  let op;

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
    op = srv.adminKey;
  });
  after(async () => {
    await srv?.stop();
  });

  it('lists the bootstrap account for its user', async () => {
    const page = await op.accounts.list();
    const mine = page.result.find((a) => a.id === account_id);
    assert.ok(mine, `bootstrap account ${account_id} in ${JSON.stringify(page.result)}`);
    assertAccountShape(mine, { id: account_id, name: 'Conformance' });
    assertResultInfo(page.result_info, { page: 1, perPage: 20, count: page.result.length });
  });

  it('filters by name', async () => {
    const hit = await op.accounts.list({ name: 'Conformance' });
    assert.deepEqual(
      hit.result.map((a) => a.id),
      [account_id],
    );
    const miss = await op.accounts.list({ name: 'No Such Account Name' });
    assert.deepEqual(miss.result, []);
    assert.equal(miss.result_info.total_count, 0);
  });

  it('gets an account (user key and account-owned token alike)', async () => {
    const a = await op.accounts.get({ account_id });
    assertAccountShape(a, { id: account_id, name: 'Conformance' });
    const b = await srv.adminToken.accounts.get({ account_id });
    assert.deepEqual(b, a);
  });

  it('updates an account (PUT) and the change is visible on read', async () => {
    const updated = await op.accounts.update({
      account_id,
      id: account_id,
      name: 'Conformance Renamed',
      type: 'standard',
      settings: { enforce_twofactor: false },
    });
    assertAccountShape(updated, { id: account_id, name: 'Conformance Renamed' });
    const got = await op.accounts.get({ account_id });
    assert.equal(got.name, 'Conformance Renamed');
    assert.equal(got.created_on, updated.created_on);

    const back = await srv.adminToken.accounts.update({
      account_id,
      id: account_id,
      name: 'Conformance',
      type: 'standard',
    });
    assert.equal(back.name, 'Conformance');
  });

  it('rejects an invalid account name on update with 400/1001', async () => {
    await expectApiError(
      op.accounts.update({ account_id, id: account_id, name: 'x'.repeat(101), type: 'standard' }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
    await expectApiError(
      op.accounts.update({ account_id, id: account_id, name: '', type: 'standard' }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001 },
    );
  });

  it('an operator creates and deletes an account; the creator becomes its Super Administrator', async () => {
    const name = uniq('Created');
    const created = await op.accounts.create({ name, type: 'standard' });
    assertAccountShape(created, { name });
    assert.notEqual(created.id, account_id);

    const got = await op.accounts.get({ account_id: created.id });
    assert.deepEqual(got, created);

    const members = await op.accounts.members.list({ account_id: created.id });
    assert.equal(members.result.length, 1);
    const m = members.result[0];
    assert.equal(m.email, 'admin@example.com');
    assert.equal(m.user.email, 'admin@example.com');
    assert.equal(m.user.id, srv.boot.user_id);
    assert.equal(m.status, 'accepted');
    assert.ok(
      m.roles.some((r) => r.name === 'Super Administrator - All Privileges'),
      `roles: ${JSON.stringify(m.roles)}`,
    );

    const listed = await op.accounts.list({ name });
    assert.deepEqual(
      listed.result.map((a) => a.id),
      [created.id],
    );

    const del = await op.accounts.delete({ account_id: created.id });
    assert.deepEqual(del, { id: created.id });

    // Gone: the former member can no longer act in it (existence is not revealed: 403/10000).
    await expectApiError(op.accounts.get({ account_id: created.id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });
    const after = await op.accounts.list({ name });
    assert.deepEqual(after.result, []);
  });

  it('deleting an account removes its tokens', async () => {
    const acct = await op.accounts.create({ name: uniq('WithToken') });
    const groups = await op.accounts.tokens.permissionGroups.list({
      account_id: acct.id,
      name: 'Account Settings Read',
    });
    const tok = await op.accounts.tokens.create({
      account_id: acct.id,
      name: 'doomed',
      policies: [
        {
          effect: 'allow',
          permission_groups: [{ id: groups.result[0].id }],
          resources: { [`com.cloudflare.api.account.${acct.id}`]: '*' },
        },
      ],
    });
    const tc = srv.tokenClient(tok.value);
    const v = await tc.accounts.tokens.verify({ account_id: acct.id });
    assert.equal(v.id, tok.id);
    await op.accounts.delete({ account_id: acct.id });
    await expectApiError(tc.accounts.tokens.verify({ account_id: acct.id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 9109,
    });
  });

  it('paginates accounts by name (case-insensitive) then id', async () => {
    const before = (await op.accounts.list()).result_info.total_count;
    const names = ['Pag 03', 'Pag 01', 'pag 05', 'Pag 02', 'Pag 06', 'Pag 04'];
    const ids = [];
    for (const name of names) ids.push((await op.accounts.create({ name })).id);

    const rec = recordingFetch();
    const c = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
    const first = await c.accounts.list({ per_page: 5 });
    const total = first.result_info.total_count;
    assert.equal(total, before + 6);
    assert.ok(total >= 7);
    rec.calls.length = 0;
    const all = await collect(c.accounts.list({ per_page: 5 }));
    assert.equal(rec.calls.length, Math.ceil(total / 5) + 1, 'every page + the empty one');
    assertNoDuplicateIds(all);
    assert.equal(all.length, total);
    const sorted = [...all].sort((a, b) => {
      const na = a.name.toLowerCase();
      const nb = b.name.toLowerCase();
      if (na !== nb) return na < nb ? -1 : 1;
      return a.id < b.id ? -1 : 1;
    });
    assert.deepEqual(
      all.map((a) => a.id),
      sorted.map((a) => a.id),
      'order: name (case-insensitive), then id',
    );
    assert.deepEqual(
      all.filter((a) => ids.includes(a.id)).map((a) => a.name),
      ['Pag 01', 'Pag 02', 'Pag 03', 'Pag 04', 'pag 05', 'Pag 06'],
    );
    const past = await op.accounts.list({ per_page: 5, page: Math.ceil(total / 5) + 1 });
    assert.deepEqual(past.result, []);
    assert.equal(past.response.status, 200);

    for (const id of ids) await op.accounts.delete({ account_id: id });
  });

  it('rejects an invalid name on create with 400/1001', async () => {
    await expectApiError(op.accounts.create({ name: '' }), Cloudflare.BadRequestError, {
      status: 400,
      code: 1001,
    });
  });

  it('a non-operator cannot create or delete accounts (403/10000)', async () => {
    const u = await srv.userKey('not-an-operator@example.com');
    const c = srv.keyClient(u.email, u.api_key);
    await expectApiError(c.accounts.create({ name: 'Nope' }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });
    await expectApiError(c.accounts.delete({ account_id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });
    // A user with no memberships lists no accounts.
    const page = await c.accounts.list();
    assert.deepEqual(page.result, []);
  });

  it('an account-owned token cannot create or delete accounts (403/10000)', async () => {
    await expectApiError(srv.adminToken.accounts.create({ name: 'Nope' }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });
    await expectApiError(srv.adminToken.accounts.delete({ account_id }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });
    // still there
    const a = await op.accounts.get({ account_id });
    assert.equal(a.id, account_id);
  });

  it('an account-owned token cannot list accounts (400/1001)', async () => {
    await expectApiError(srv.adminToken.accounts.list(), Cloudflare.BadRequestError, {
      status: 400,
      code: 1001,
      messageIncludes: 'List accounts endpoint does not support account owned tokens.',
    });
  });

  it('an account-owned token cannot act in another account (403/10000)', async () => {
    const other = await op.accounts.create({ name: uniq('Other') });
    await expectApiError(
      srv.adminToken.accounts.get({ account_id: other.id }),
      Cloudflare.PermissionDeniedError,
      { status: 403, code: 10000 },
    );
    await expectApiError(
      srv.adminToken.accounts.members.list({ account_id: other.id }),
      Cloudflare.PermissionDeniedError,
      { status: 403, code: 10000 },
    );
    await op.accounts.delete({ account_id: other.id });
  });

  it('an unknown account id answers 403/10000 (existence not revealed)', async () => {
    await expectApiError(op.accounts.get({ account_id: randomId() }), Cloudflare.PermissionDeniedError, {
      status: 403,
      code: 10000,
    });
  });

  it('a malformed account id answers 400/7003', async () => {
    await expectApiError(op.accounts.get({ account_id: 'nope' }), Cloudflare.BadRequestError, {
      status: 400,
      code: 7003,
    });
  });
});
