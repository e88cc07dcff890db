// `serve --rate-limit N/SECONDS` (docs/api-decisions.md "Rate limiting"): past the limit a
// principal gets 429/971 with Retry-After and Cloudflare's Ratelimit headers; the official SDK's
// own retry (it honours Retry-After) then succeeds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import { expectApiError } from './lib/expect.mjs';

describe('rate limiting', () => {
  let srv;

  before(async () => {
    srv = await startServer({ serveArgs: ['--rate-limit', '3/2'] });
  });
  after(async () => {
    await srv?.stop();
  });

  it('refuses the request past the limit, and the SDK retry succeeds', async () => {
    const account_id = srv.boot.account_id;
    const rec = recordingFetch({ bodies: true });
    const impatient = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    for (let i = 0; i < 3; i += 1) await impatient.accounts.get({ account_id });
    assert.deepEqual(rec.calls.map((c) => c.status), [200, 200, 200]);

    await expectApiError(impatient.accounts.get({ account_id }), Cloudflare.RateLimitError, { status: 429, code: 971 });
    assert.equal(rec.calls[3].status, 429);
    const raw = await fetch(`${srv.baseURL}/accounts/${account_id}`, {
      headers: { Authorization: `Bearer ${srv.boot.api_token}` },
    });
    assert.equal(raw.status, 429);
    const retryAfter = Number(raw.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `retry-after ${retryAfter}`);
    assert.match(raw.headers.get('ratelimit'), /^"default";r=0;t=[12]$/);
    assert.equal(raw.headers.get('ratelimit-policy'), '"default";q=3;w=2');

    rec.calls.length = 0;
    const patient = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch, maxRetries: 3 });
    const started = Date.now();
    const account = await patient.accounts.get({ account_id });
    assert.equal(account.id, account_id);
    const statuses = rec.calls.map((c) => c.status);
    assert.equal(statuses[0], 429, JSON.stringify(statuses));
    assert.equal(statuses.at(-1), 200, JSON.stringify(statuses));
    assert.ok(Date.now() - started >= 500, 'the SDK waited as Retry-After said');
  });
});
