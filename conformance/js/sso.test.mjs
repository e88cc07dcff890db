// client.iam.sso.{create,get,list,update,delete,beginVerification}: /accounts/{a}/sso_connectors[/{id}]
// with real DNS TXT verification (docs/api-decisions.md "SSO connectors", spec/api.md §5 SSO,
// spec/sdk-clients.md: list is a SinglePage, update is PATCH, beginVerification is a body-less POST
// answered with the whole envelope). The server runs against a portcullis-dns-fixture with
// `--sso-check-interval 1 --sso-verification-window 4`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { domainToASCII } from 'node:url';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import { expectApiError, uniq } from './lib/expect.mjs';
import {
  DnsFixture,
  POLL_TIMEOUT_MS,
  SSO_CODE_RE,
  WINDOW,
  assertBeginEnvelope,
  assertConnector,
  serveOn,
  sleep,
  stopProcess,
  uniqueDomain,
  waitStatus,
  without,
} from './lib/sso.mjs';

const pointerOf = (err) => err.errors[0]?.source?.pointer;

describe('iam.sso', () => {
  let dir;
  let dns;
  let srv;
  let account_id;
  let c;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-js-dns-'));
    dns = await new DnsFixture(dir).start();
    srv = await startServer({ serveArgs: dns.serverArgs() });
    account_id = srv.boot.account_id;
    c = srv.adminKey; // the bootstrap user: operator, Super Administrator of the bootstrap account
  });
  after(async () => {
    await srv?.stop();
    await dns?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Publishes the connector's code and begins verification: verified at once. */
  async function verifyNow(client, acct, conn) {
    dns.publish(conn.email_domain, conn.verification.code);
    const resp = await client.iam.sso.beginVerification(conn.id, { account_id: acct });
    assert.equal(assertBeginEnvelope(resp, conn.id).verification.status, 'verified');
  }

  describe('create, shape, get', () => {
    it('create without begin_verification begins at once: pending when no record exists', async () => {
      const domain = uniqueDomain('pending'); // NXDOMAIN
      const rec = recordingFetch({ bodies: true });
      const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
      const conn = await rc.iam.sso.create({ account_id, email_domain: domain });
      assertConnector(conn, { domain, status: 'pending', enabled: false, fedramp: false });
      assert.equal(rec.calls.length, 1);
      assert.equal(rec.calls[0].method, 'POST');
      assert.ok(rec.calls[0].url.endsWith(`/accounts/${account_id}/sso_connectors`), rec.calls[0].url);
      assert.deepEqual(JSON.parse(rec.calls[0].requestBody), { email_domain: domain });
      assert.equal(rec.calls[0].body.success, true);
      assert.deepEqual(rec.calls[0].body.errors, []);

      const got = await c.iam.sso.get(conn.id, { account_id });
      assertConnector(got, { domain, status: 'pending' });
      // A background check may touch updated_on while pending; nothing else changes.
      assert.deepEqual(without(got, 'updated_on'), without(conn, 'updated_on'));
    });

    it('begin_verification: false leaves it awaiting, and the background verifier never checks it', async () => {
      const domain = uniqueDomain('awaiting');
      const conn = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
      assertConnector(conn, { domain, status: 'awaiting', enabled: false, fedramp: false });
      dns.set(domain, [conn.verification.code]);
      await sleep(2_500);
      assert.deepEqual(await c.iam.sso.get(conn.id, { account_id }), conn, 'an awaiting connector must not change by itself');
    });

    it('every connector gets its own code', async () => {
      const codes = new Set();
      for (let i = 0; i < 3; i++) {
        const conn = await c.iam.sso.create({ account_id, email_domain: uniqueDomain('code'), begin_verification: false });
        assert.match(conn.verification.code, SSO_CODE_RE);
        codes.add(conn.verification.code);
      }
      assert.equal(codes.size, 3);
    });

    it('use_fedramp_language at create; PATCH changes it; PATCH {} changes nothing', async () => {
      const domain = uniqueDomain('fedramp');
      const conn = await c.iam.sso.create({
        account_id,
        email_domain: domain,
        begin_verification: false,
        use_fedramp_language: true,
      });
      assertConnector(conn, { domain, status: 'awaiting', fedramp: true, enabled: false });
      assert.deepEqual(await c.iam.sso.get(conn.id, { account_id }), conn);

      const rec = recordingFetch({ bodies: true });
      const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
      const upd = await rc.iam.sso.update(conn.id, { account_id, use_fedramp_language: false });
      assert.equal(rec.calls[0].method, 'PATCH');
      assert.ok(rec.calls[0].url.endsWith(`/accounts/${account_id}/sso_connectors/${conn.id}`));
      assertConnector(upd, { domain, status: 'awaiting', fedramp: false, enabled: false });
      assert.ok(upd.updated_on >= conn.updated_on);
      assert.deepEqual(without(upd, 'updated_on', 'use_fedramp_language'), without(conn, 'updated_on', 'use_fedramp_language'));

      const same = await rc.iam.sso.update(conn.id, { account_id });
      assert.equal(rec.calls[1].method, 'PATCH');
      assert.deepEqual(same, upd, '{} changes nothing');
      assert.deepEqual(await c.iam.sso.get(conn.id, { account_id }), upd);
    });

    it('get of an unknown id is a 404/1003 NotFoundError', async () => {
      await expectApiError(c.iam.sso.get('0'.repeat(32), { account_id }), Cloudflare.NotFoundError, { status: 404, code: 1003 });
    });
  });

  describe('email_domain normalization and validation', () => {
    it('is trimmed, lower-cased, and a trailing dot is dropped', async () => {
      const base = uniqueDomain('mixed');
      const conn = await c.iam.sso.create({ account_id, email_domain: `  ${base.toUpperCase()}.  `, begin_verification: false });
      assert.equal(conn.email_domain, base);
    });

    it('IDNA names are stored as punycode and collide with their punycode form', async () => {
      const sub = uniqueDomain('idna');
      const conn = await c.iam.sso.create({ account_id, email_domain: `bücher.${sub}`, begin_verification: false });
      assert.equal(conn.email_domain, `xn--bcher-kva.${sub}`);
      assert.equal(conn.email_domain, domainToASCII(`bücher.${sub}`));
      assert.equal((await c.iam.sso.get(conn.id, { account_id })).email_domain, `xn--bcher-kva.${sub}`);
      for (const again of [`Bücher.${sub}`, `xn--bcher-kva.${sub}`]) {
        await expectApiError(
          c.iam.sso.create({ account_id, email_domain: again, begin_verification: false }),
          Cloudflare.ConflictError,
          { status: 409, code: 1002 },
        );
      }
    });

    it('`bücher.example` becomes `xn--bcher-kva.example` (in a fresh account)', async () => {
      const acct = await c.accounts.create({ name: uniq('SSO IDNA') });
      try {
        const conn = await c.iam.sso.create({ account_id: acct.id, email_domain: 'Bücher.example', begin_verification: false });
        assert.equal(conn.email_domain, 'xn--bcher-kva.example');
      } finally {
        await c.accounts.delete({ account_id: acct.id });
      }
    });

    it('accepts 63-character labels, 253-character names and numeric inner labels', async () => {
      const head = uniqueDomain('len').split('.')[0];
      const label63 = head + 'a'.repeat(63 - head.length);
      let conn = await c.iam.sso.create({ account_id, email_domain: `${label63}.example`, begin_verification: false });
      assert.equal(conn.email_domain, `${label63}.example`);
      let name = [label63.replace(/^len/, 'lnn'), 'b'.repeat(63), 'c'.repeat(63)].join('.');
      name = `${name}.${'d'.repeat(253 - name.length - 1)}`;
      assert.equal(name.length, 253);
      conn = await c.iam.sso.create({ account_id, email_domain: name, begin_verification: false });
      assert.equal(conn.email_domain, name);
      const numeric = `123.${uniqueDomain('x-y')}`;
      conn = await c.iam.sso.create({ account_id, email_domain: numeric, begin_verification: false });
      assert.equal(conn.email_domain, numeric);
    });

    const invalid = [
      '',
      '   ',
      'localhost',
      '-lead.example',
      'trail-.example',
      'a..example',
      '.example',
      'under_score.example',
      'space in.example',
      'example.123',
      '1.2.3.4',
      `${'a'.repeat(64)}.example`,
      Array(4).fill('a'.repeat(63)).join('.'),
      'http://x.example',
      'x.example/path',
      '*.example',
      'user@x.example',
    ];
    for (const domain of invalid) {
      it(`rejects ${JSON.stringify(domain.length > 40 ? `${domain.slice(0, 20)}…(${domain.length})` : domain)} with 400/1001 pointer /email_domain`, async () => {
        const err = await expectApiError(
          c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false }),
          Cloudflare.BadRequestError,
          { status: 400, code: 1001 },
        );
        assert.equal(pointerOf(err), '/email_domain', JSON.stringify(err.errors));
      });
    }
  });

  it('the same domain twice in one account is a 409/1002 ConflictError, not retried, checked before DNS', async () => {
    const domain = uniqueDomain('dup');
    const first = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
    dns.set(domain, 'TIMEOUT'); // a lookup would now hang until the resolver's timeout
    const rec = recordingFetch();
    const retrying = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch, maxRetries: 2 });
    for (const again of [domain, ` ${domain.toUpperCase()}. `]) {
      rec.calls.length = 0;
      const started = Date.now();
      const err = await expectApiError(
        retrying.iam.sso.create({ account_id, email_domain: again }),
        Cloudflare.ConflictError,
        { status: 409, code: 1002 },
      );
      const elapsed = Date.now() - started;
      assert.equal(rec.calls.length, 1, `the SDK must not retry: ${rec.calls.length} requests`);
      assert.equal(err.headers.get('x-should-retry'), 'false');
      assert.ok(elapsed < 1_000, `took ${elapsed} ms: the duplicate check must come before any DNS lookup`);
    }
    assert.equal((await c.iam.sso.get(first.id, { account_id })).verification.status, 'awaiting');
  });

  it('list: one request (SinglePage, no page params), every connector, ordered by domain', async () => {
    const acct = await c.accounts.create({ name: uniq('SSO list') });
    try {
      const a = acct.id;
      assert.deepEqual((await c.iam.sso.list({ account_id: a })).result, []);
      const stem = uniqueDomain('list').split('.')[0];
      const names = ['m', 'b', 'z', 'bücher', 'a'].map((l) => `${l}.${stem}.example`).concat([`${stem}.example`]);
      const made = [];
      for (const n of names) made.push(await c.iam.sso.create({ account_id: a, email_domain: n, begin_verification: false }));
      const expected = made.map((m) => m.email_domain).sort();

      const rec = recordingFetch({ bodies: true });
      const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
      const page = await rc.iam.sso.list({ account_id: a });
      const items = [];
      for await (const item of page) items.push(item);
      assert.equal(rec.calls.length, 1, `exactly one request: ${rec.calls.map((x) => x.url)}`);
      const url = new URL(rec.calls[0].url);
      assert.equal(rec.calls[0].method, 'GET');
      assert.ok(url.pathname.endsWith(`/accounts/${a}/sso_connectors`), url.pathname);
      assert.equal(url.searchParams.get('page'), null);
      assert.equal(url.searchParams.get('per_page'), null);
      assert.ok(Array.isArray(rec.calls[0].body.result), 'result is an array');
      assert.deepEqual(items.map((x) => x.email_domain), expected);
      assert.deepEqual(page.result.map((x) => x.email_domain), expected);
      assert.deepEqual(items.map((x) => x.id).sort(), made.map((m) => m.id).sort());
      for (const x of items) {
        assertConnector(x, { status: 'awaiting' });
        assert.deepEqual(x, await c.iam.sso.get(x.id, { account_id: a }), 'list and get show the same connector');
      }
      const here = new Set((await c.iam.sso.list({ account_id })).result.map((x) => x.id));
      assert.ok(made.every((m) => !here.has(m.id)), "another account's connectors are not listed");
    } finally {
      await c.accounts.delete({ account_id: acct.id });
    }
  });

  it('the bootstrap account token can list and get', async () => {
    const conn = await c.iam.sso.create({ account_id, email_domain: uniqueDomain('tok'), begin_verification: false });
    const tc = srv.adminToken;
    assert.ok((await tc.iam.sso.list({ account_id })).result.some((x) => x.id === conn.id));
    assert.equal((await tc.iam.sso.get(conn.id, { account_id })).email_domain, conn.email_domain);
  });

  it('PATCH enabled: true before verification is 400/1001 pointer /enabled naming the state; disabling is allowed', async () => {
    const awaiting = await c.iam.sso.create({ account_id, email_domain: uniqueDomain('en-await'), begin_verification: false });
    const pending = await c.iam.sso.create({ account_id, email_domain: uniqueDomain('en-pend') });
    assert.equal(pending.verification.status, 'pending');
    for (const [conn, state] of [[awaiting, 'awaiting'], [pending, 'pending']]) {
      const err = await expectApiError(
        c.iam.sso.update(conn.id, { account_id, enabled: true }),
        Cloudflare.BadRequestError,
        { status: 400, code: 1001, messageIncludes: state },
      );
      assert.equal(pointerOf(err), '/enabled', JSON.stringify(err.errors));
      const got = await c.iam.sso.get(conn.id, { account_id });
      assertConnector(got, { status: state, enabled: false });
      const off = await c.iam.sso.update(conn.id, { account_id, enabled: false });
      assertConnector(off, { status: state, enabled: false });
    }
  });

  it('awaiting → beginVerification (pending) → TXT published → verified in the background → enable', async () => {
    const domain = uniqueDomain('story');
    const conn = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
    assertConnector(conn, { status: 'awaiting' });
    const code = conn.verification.code;

    const rec = recordingFetch({ bodies: true });
    const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
    const resp = await rc.iam.sso.beginVerification(conn.id, { account_id });
    // The whole envelope, not unwrapped.
    const result = assertBeginEnvelope(resp, conn.id);
    assertConnector(result, { domain, status: 'pending', enabled: false });
    assert.equal(rec.calls.length, 1);
    assert.equal(rec.calls[0].method, 'POST');
    assert.ok(rec.calls[0].url.endsWith(`/accounts/${account_id}/sso_connectors/${conn.id}/begin_verification`));
    assert.ok(!rec.calls[0].requestBody, `no body: ${JSON.stringify(rec.calls[0].requestBody)}`);
    const pending = await c.iam.sso.get(conn.id, { account_id });
    assertConnector(pending, { status: 'pending' });
    assert.equal(pending.verification.code, code, 'beginning keeps the code');

    dns.set(domain, ['v=spf1 -all', code]);
    const started = Date.now();
    const verified = await waitStatus(c, account_id, conn.id, 'verified');
    assert.ok(Date.now() - started < POLL_TIMEOUT_MS);
    assertConnector(verified, { domain, status: 'verified', enabled: false });
    assert.equal(verified.verification.code, code);

    const on = await c.iam.sso.update(conn.id, { account_id, enabled: true });
    assertConnector(on, { status: 'verified', enabled: true });
    assert.ok(on.updated_on >= verified.updated_on);
    assert.deepEqual(await c.iam.sso.get(conn.id, { account_id }), on);

    // beginVerification on a verified connector keeps it verified (and enabled) ...
    assertConnector(assertBeginEnvelope(await c.iam.sso.beginVerification(conn.id, { account_id }), conn.id), {
      status: 'verified',
      enabled: true,
    });
    // ... even when the record is gone.
    dns.remove(domain);
    assertConnector(assertBeginEnvelope(await c.iam.sso.beginVerification(conn.id, { account_id }), conn.id), {
      status: 'verified',
      enabled: true,
    });
    assertConnector(await c.iam.sso.get(conn.id, { account_id }), { status: 'verified', enabled: true });
    assertConnector(await c.iam.sso.update(conn.id, { account_id, enabled: false }), { status: 'verified', enabled: false });
  });

  it('beginVerification finds an already published record at once (surrounding white space ignored)', async () => {
    const domain = uniqueDomain('atonce');
    const conn = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
    dns.set(domain, [`  ${conn.verification.code} `]);
    const resp = await c.iam.sso.beginVerification(conn.id, { account_id });
    assertConnector(assertBeginEnvelope(resp, conn.id), { status: 'verified' });
    assertConnector(await c.iam.sso.get(conn.id, { account_id }), { status: 'verified' });
  });

  it('a record on a subdomain, or another code, does not verify', async () => {
    const domain = uniqueDomain('sub');
    const conn = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
    const other = await c.iam.sso.create({ account_id, email_domain: uniqueDomain('other'), begin_verification: false });
    dns.set(`_cf-sso.${domain}`, [conn.verification.code]);
    dns.set(domain, [other.verification.code, `${conn.verification.code}x`]);
    const resp = await c.iam.sso.beginVerification(conn.id, { account_id });
    assertConnector(assertBeginEnvelope(resp, conn.id), { status: 'pending' });
  });

  it('a record that never appears fails after the window; SERVFAIL/REFUSED stay pending', async () => {
    const nx = uniqueDomain('nx');
    const wrong = uniqueDomain('wrong');
    const servfail = uniqueDomain('servfail');
    const refused = uniqueDomain('refused');
    dns.set(wrong, [`cloudflare_dashboard_sso=${'0'.repeat(32)}`, 'hello']);
    dns.set(servfail, 'SERVFAIL');
    dns.set(refused, 'REFUSED');

    const started = Date.now();
    const made = {};
    for (const d of [nx, wrong, servfail, refused]) {
      made[d] = await c.iam.sso.create({ account_id, email_domain: d });
      assertConnector(made[d], { status: 'pending' });
    }
    for (const d of [nx, wrong]) {
      const failed = await waitStatus(c, account_id, made[d].id, 'failed', WINDOW * 1000 + POLL_TIMEOUT_MS);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= WINDOW * 1000 - 300, `${d} failed after ${elapsed} ms, before the ${WINDOW} s window was over`);
      assert.equal(failed.enabled, false);
    }
    await sleep(Math.max(0, started + WINDOW * 1000 + 2_500 - Date.now()));
    for (const d of [servfail, refused]) {
      const got = await c.iam.sso.get(made[d].id, { account_id });
      assert.equal(got.verification.status, 'pending', `${d} after the window`);
    }

    const err = await expectApiError(
      c.iam.sso.update(made[nx].id, { account_id, enabled: true }),
      Cloudflare.BadRequestError,
      { status: 400, code: 1001, messageIncludes: 'failed' },
    );
    assert.equal(pointerOf(err), '/enabled');

    // Beginning again: pending with a new window; publishing then verifies it in the background.
    assertConnector(assertBeginEnvelope(await c.iam.sso.beginVerification(made[nx].id, { account_id }), made[nx].id), {
      status: 'pending',
    });
    const restarted = Date.now();
    await sleep(1_500);
    assert.equal((await c.iam.sso.get(made[nx].id, { account_id })).verification.status, 'pending');
    dns.set(nx, [made[nx].verification.code]);
    await waitStatus(c, account_id, made[nx].id, 'verified');
    assert.ok(Date.now() - restarted < WINDOW * 1000 + POLL_TIMEOUT_MS);

    // The SERVFAIL domain recovers: beginVerification finds the record at once.
    dns.set(servfail, [made[servfail].verification.code]);
    const resp = await c.iam.sso.beginVerification(made[servfail].id, { account_id });
    assertConnector(assertBeginEnvelope(resp, made[servfail].id), { status: 'verified' });
  });

  it('a domain enabled in one account cannot be enabled in another (409/1002, not retried)', async () => {
    const domain = uniqueDomain('shared');
    const other = await c.accounts.create({ name: uniq('SSO second') });
    let ca;
    try {
      const b = other.id;
      ca = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
      const cb = await c.iam.sso.create({ account_id: b, email_domain: domain, begin_verification: false });
      assert.notEqual(ca.verification.code, cb.verification.code);
      await expectApiError(c.iam.sso.get(ca.id, { account_id: b }), Cloudflare.NotFoundError, { status: 404, code: 1003 });
      await verifyNow(c, account_id, ca);
      await verifyNow(c, b, cb);
      assert.equal((await c.iam.sso.update(ca.id, { account_id, enabled: true })).enabled, true);

      const rec = recordingFetch();
      const retrying = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch, maxRetries: 2 });
      const err = await expectApiError(
        retrying.iam.sso.update(cb.id, { account_id: b, enabled: true }),
        Cloudflare.ConflictError,
        { status: 409, code: 1002 },
      );
      assert.equal(rec.calls.length, 1, `the SDK must not retry: ${rec.calls.length} requests`);
      assert.equal(err.headers.get('x-should-retry'), 'false');
      assert.equal((await c.iam.sso.get(cb.id, { account_id: b })).enabled, false);

      assert.equal((await c.iam.sso.update(ca.id, { account_id, enabled: false })).enabled, false);
      assert.equal((await c.iam.sso.update(cb.id, { account_id: b, enabled: true })).enabled, true);
      await expectApiError(c.iam.sso.update(ca.id, { account_id, enabled: true }), Cloudflare.ConflictError, {
        status: 409,
        code: 1002,
      });
      assert.equal((await c.iam.sso.update(cb.id, { account_id: b, enabled: true })).enabled, true);
    } finally {
      await c.accounts.delete({ account_id: other.id });
    }
    // The second account is gone with its connector: the domain can be enabled here again.
    assert.equal((await c.iam.sso.update(ca.id, { account_id, enabled: true })).enabled, true);
  });

  it('delete answers {id}; afterwards get/update/delete/beginVerification are 404 and the domain is free', async () => {
    const domain = uniqueDomain('del');
    const conn = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
    const rec = recordingFetch({ bodies: true });
    const rc = srv.keyClient(srv.boot.email, srv.boot.api_key, { fetch: rec.fetch });
    assert.deepEqual(await rc.iam.sso.delete(conn.id, { account_id }), { id: conn.id });
    assert.equal(rec.calls[0].method, 'DELETE');
    assert.equal(rec.calls[0].body.success, true);
    const nf = { status: 404, code: 1003 };
    await expectApiError(c.iam.sso.get(conn.id, { account_id }), Cloudflare.NotFoundError, nf);
    await expectApiError(c.iam.sso.delete(conn.id, { account_id }), Cloudflare.NotFoundError, nf);
    await expectApiError(c.iam.sso.update(conn.id, { account_id, enabled: false }), Cloudflare.NotFoundError, nf);
    await expectApiError(c.iam.sso.beginVerification(conn.id, { account_id }), Cloudflare.NotFoundError, nf);
    assert.ok(!(await c.iam.sso.list({ account_id })).result.some((x) => x.id === conn.id));
    const again = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
    assert.notEqual(again.id, conn.id);
    assert.notEqual(again.verification.code, conn.verification.code);
  });

  it('deleting an enabled connector frees the domain for other accounts', async () => {
    const domain = uniqueDomain('del-en');
    const other = await c.accounts.create({ name: uniq('SSO del') });
    try {
      const ca = await c.iam.sso.create({ account_id, email_domain: domain, begin_verification: false });
      const cb = await c.iam.sso.create({ account_id: other.id, email_domain: domain, begin_verification: false });
      await verifyNow(c, account_id, ca);
      await verifyNow(c, other.id, cb);
      await c.iam.sso.update(ca.id, { account_id, enabled: true });
      assert.deepEqual(await c.iam.sso.delete(ca.id, { account_id }), { id: ca.id });
      assert.equal((await c.iam.sso.update(cb.id, { account_id: other.id, enabled: true })).enabled, true);
    } finally {
      await c.accounts.delete({ account_id: other.id });
    }
  });

  it('a restart keeps connectors, and pending ones are still checked by the new process', async () => {
    const args = dns.serverArgs({ window: 600 });
    const own = await startServer({ serveArgs: args });
    let second;
    try {
      const a = own.boot.account_id;
      const c1 = own.adminKey;
      const awaiting = await c1.iam.sso.create({
        account_id: a,
        email_domain: uniqueDomain('r-await'),
        begin_verification: false,
        use_fedramp_language: true,
      });
      const enabled = await c1.iam.sso.create({ account_id: a, email_domain: uniqueDomain('r-on'), begin_verification: false });
      await verifyNow(c1, a, enabled);
      await c1.iam.sso.update(enabled.id, { account_id: a, enabled: true });
      const pending = await c1.iam.sso.create({ account_id: a, email_domain: uniqueDomain('r-pend') });
      assert.equal(pending.verification.status, 'pending');
      const stable = [];
      for (const x of [awaiting, enabled]) stable.push(await c1.iam.sso.get(x.id, { account_id: a }));
      const pendingBefore = await c1.iam.sso.get(pending.id, { account_id: a });
      const listedBefore = (await c1.iam.sso.list({ account_id: a })).result.map((x) => x.id);

      const code = await stopProcess(own);
      assert.equal(code, 0, `server exit code after SIGTERM: ${code}`);
      // Published while the server is down: found by the restarted server's verifier.
      dns.set(pending.email_domain, [pending.verification.code]);
      second = await serveOn(own.database, args);
      const c2 = second.keyClient(own.boot.email, own.boot.api_key);
      for (const before of stable) assert.deepEqual(await c2.iam.sso.get(before.id, { account_id: a }), before);
      assert.deepEqual((await c2.iam.sso.list({ account_id: a })).result.map((x) => x.id), listedBefore);
      const verified = await waitStatus(c2, a, pending.id, 'verified');
      assert.deepEqual(
        without(verified, 'updated_on', 'verification'),
        without(pendingBefore, 'updated_on', 'verification'),
      );
      assert.equal(verified.verification.code, pendingBefore.verification.code);
      const err = await expectApiError(
        c2.iam.sso.create({ account_id: a, email_domain: enabled.email_domain }),
        Cloudflare.ConflictError,
        { status: 409, code: 1002 },
      );
      assert.equal(err.headers.get('x-should-retry'), 'false');
    } finally {
      await second?.stop();
      await own.stop();
    }
  });
});
