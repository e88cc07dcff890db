// SSO connector test support: the DNS fixture process, polling, connector shapes, restarts.
//
// `portcullis-dns-fixture --listen 127.0.0.1:0 --records FILE` prints `listening on udp://IP:PORT` and
// answers TXT queries from FILE (JSON, re-read on every query): `{"a.example": ["txt1", "txt2"]}` or a
// string value "SERVFAIL" / "REFUSED" / "TIMEOUT"; names absent from the file answer NXDOMAIN.
// The SSO server runs with `--dns-server IP:PORT --sso-check-interval 1 --sso-verification-window W`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import Cloudflare from 'cloudflare';
import { BIN, REPO_ROOT } from './server.mjs';
import { assertId, assertTimestamp } from './expect.mjs';

export const FIXTURE_BIN =
  process.env.PORTCULLIS_DNS_FIXTURE_BIN || path.join(REPO_ROOT, 'target', 'debug', 'portcullis-dns-fixture');

/** docs/api-decisions.md "SSO connectors": `cloudflare_dashboard_sso=<32 hex>`. */
export const SSO_CODE_RE = /^cloudflare_dashboard_sso=[0-9a-f]{32}$/;
export const SSO_STATES = ['awaiting', 'pending', 'failed', 'verified'];
/** Server flags (seconds): short, so `failed` can be observed. */
export const CHECK_INTERVAL = 1;
export const WINDOW = 4;
/** How long a test polls for the background verifier (ms). */
export const POLL_TIMEOUT_MS = 10_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits for a `listening on <scheme>://ADDR` line on the child's stdout; resolves ADDR. */
function waitListening(child, scheme, what, stderrOf) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not print "listening on ${scheme}://" in time\nstderr: ${stderrOf()}`));
    }, 30_000);
    const onExit = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early (code ${code}, signal ${signal})\nstderr: ${stderrOf()}`));
    };
    child.once('exit', onExit);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const re = new RegExp(`listening on ${scheme}://(\\S+)`);
    rl.on('line', (line) => {
      const m = re.exec(line);
      if (m) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(m[1]);
      }
    });
  });
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** One `portcullis-dns-fixture` process and its records file (in `dir`). */
export class DnsFixture {
  constructor(dir) {
    this.recordsPath = path.join(dir, 'dns-records.json');
    this.records = {};
    this.write();
  }

  async start() {
    if (!existsSync(FIXTURE_BIN)) {
      throw new Error(
        `portcullis-dns-fixture not found at ${FIXTURE_BIN}; build it with \`cargo build -p portcullis -p portcullis-dns\``,
      );
    }
    let stderr = '';
    this.child = spawn(FIXTURE_BIN, ['--listen', '127.0.0.1:0', '--records', this.recordsPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (b) => {
      stderr = (stderr + b.toString()).slice(-20_000);
    });
    this.addr = await waitListening(this.child, 'udp', 'portcullis-dns-fixture', () => stderr);
    this.child.stdout.resume();
    return this;
  }

  /** `portcullis serve` flags pointing at this fixture. */
  serverArgs({ window = WINDOW, interval = CHECK_INTERVAL } = {}) {
    return ['--dns-server', this.addr, '--sso-check-interval', String(interval), '--sso-verification-window', String(window)];
  }

  write() {
    // Atomic replace: the fixture re-reads the file on every query.
    const tmp = `${this.recordsPath}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.records));
    renameSync(tmp, this.recordsPath);
  }

  /** TXT strings (array) or "SERVFAIL" / "REFUSED" / "TIMEOUT". */
  set(name, value) {
    this.records[name] = value;
    this.write();
  }

  /** Adds TXT strings to `name`, keeping those already there. */
  publish(name, ...texts) {
    const cur = Array.isArray(this.records[name]) ? this.records[name] : [];
    this.records[name] = [...cur, ...texts];
    this.write();
  }

  /** `name` answers NXDOMAIN from now on. */
  remove(name) {
    delete this.records[name];
    this.write();
  }

  async stop() {
    if (this.child) await stopChild(this.child);
  }
}

/**
 * Another `portcullis serve` on an existing database (a restart). Returns
 * `{ baseURL, keyClient(email, key), stop() }`; stop() only ends this process.
 */
export async function serveOn(database, serveArgs = []) {
  let stderr = '';
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--database', database, ...serveArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (b) => {
    stderr = (stderr + b.toString()).slice(-100_000);
  });
  const addr = await waitListening(child, 'http', 'portcullis serve', () => stderr);
  child.stdout.resume();
  const baseURL = `http://${addr}/client/v4`;
  return {
    child,
    baseURL,
    stderr: () => stderr,
    keyClient(apiEmail, apiKey, extra = {}) {
      return new Cloudflare({ apiToken: null, userServiceKey: null, apiEmail, apiKey, baseURL, maxRetries: 0, ...extra });
    },
    stop: () => stopChild(child),
  };
}

/** Ends the server process started by startServer() without removing its database (for restarts). */
export function stopProcess(srv) {
  return stopChild(srv.child);
}

export function uniqueDomain(label = 'sso') {
  return `${label}-${randomBytes(6).toString('hex')}.example`;
}

/** One connector as answered (seed "# SSO", docs/api-decisions.md). */
export function assertConnector(c, { domain, status, enabled, fedramp } = {}) {
  assert.ok(c && typeof c === 'object', `connector: ${JSON.stringify(c)}`);
  assertId(c.id, 'sso.id');
  assertTimestamp(c.created_on, 'sso.created_on');
  assertTimestamp(c.updated_on, 'sso.updated_on');
  assert.ok(c.updated_on >= c.created_on, `updated_on >= created_on: ${JSON.stringify(c)}`);
  assert.equal(typeof c.email_domain, 'string');
  assert.equal(typeof c.enabled, 'boolean', 'enabled');
  assert.equal(typeof c.use_fedramp_language, 'boolean', 'use_fedramp_language');
  assert.ok(c.verification && typeof c.verification === 'object', `verification: ${JSON.stringify(c)}`);
  assert.match(c.verification.code, SSO_CODE_RE, 'verification.code');
  assert.ok(SSO_STATES.includes(c.verification.status), `verification.status: ${c.verification.status}`);
  if (domain !== undefined) assert.equal(c.email_domain, domain, 'email_domain');
  if (status !== undefined) assert.equal(c.verification.status, status, `status of ${c.email_domain}`);
  if (enabled !== undefined) assert.equal(c.enabled, enabled, 'enabled');
  if (fedramp !== undefined) assert.equal(c.use_fedramp_language, fedramp, 'use_fedramp_language');
}

/**
 * begin_verification answers the whole envelope (the SDK does not unwrap it): success true, no
 * errors, one message (code 1000) and the connector as `result` (docs/api-decisions.md).
 */
export function assertBeginEnvelope(resp, id) {
  assert.ok(resp && typeof resp === 'object', `envelope: ${JSON.stringify(resp)}`);
  assert.equal(resp.success, true, 'success');
  assert.deepEqual(resp.errors, [], 'errors');
  assert.ok(Array.isArray(resp.messages) && resp.messages.length === 1, `one message: ${JSON.stringify(resp.messages)}`);
  assert.equal(resp.messages[0].code, 1000, 'message code');
  assert.ok(typeof resp.messages[0].message === 'string' && resp.messages[0].message.length > 0, 'message text');
  assertConnector(resp.result);
  if (id !== undefined) assert.equal(resp.result.id, id, 'result.id');
  return resp.result;
}

/** Polls get() until verification.status === status; returns the connector. */
export async function waitStatus(client, account_id, id, status, timeoutMs = POLL_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await client.iam.sso.get(id, { account_id });
    if (last.verification?.status === status) return last;
    if (Date.now() >= deadline) {
      assert.fail(`connector ${id} did not become ${status} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    }
    await sleep(200);
  }
}

/** Everything but the given keys. */
export function without(obj, ...keys) {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}
