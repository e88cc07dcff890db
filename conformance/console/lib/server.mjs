// Test harness: a fresh Portcullis server per test file. `portcullis bootstrap` on a temporary
// SQLite database (account "Acme", admin@acme.example), then `portcullis serve --listen 127.0.0.1:0`,
// whose chosen address is read from its `listening on http://ADDR` line. Also: the DNS fixture for
// the SSO test, and a small fetch helper for checking what the console did through the public API.
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Repository root: conformance/console/lib -> ../../.. */
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const BIN = process.env.PORTCULLIS_BIN || path.join(REPO_ROOT, 'target', 'debug', 'portcullis');
export const FIXTURE_BIN =
  process.env.PORTCULLIS_DNS_FIXTURE_BIN || path.join(path.dirname(BIN), 'portcullis-dns-fixture');

export const ACCOUNT_NAME = 'Acme';
export const ADMIN_EMAIL = 'admin@acme.example';

const START_TIMEOUT_MS = 20_000;

/** Child processes still running; killed when this test process exits, whatever the reason. */
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * A watchdog for a whole test file: if the file has not finished after `ms`, print why and exit
 * non-zero (the exit handler above kills the servers; playwright kills the browser it launched).
 */
export function fileWatchdog(ms = 150_000) {
  const timer = setTimeout(() => {
    process.stderr.write(`\nconsole test file did not finish within ${ms} ms; aborting\n`);
    process.exit(1);
  }, ms);
  timer.unref();
  return timer;
}

function runCli(args) {
  return new Promise((resolve, reject) => {
    execFile(BIN, args, { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`portcullis ${args.join(' ')} failed: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

/** Waits for `listening on <scheme>://ADDR` on the child's stdout; resolves ADDR. */
function waitListening(child, scheme, what, stderrOf) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not print "listening on ${scheme}://" within ${START_TIMEOUT_MS} ms\nstderr: ${stderrOf()}`));
    }, START_TIMEOUT_MS);
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
        rl.close();
        resolve(m[1]);
      }
    });
  });
}

function spawnTracked(bin, args) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr = (stderr + b.toString()).slice(-100_000);
  });
  return { child, stderrOf: () => stderr };
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Bootstraps a fresh database and starts `portcullis serve` on it. `serveArgs`: extra flags.
 * @returns {Promise<Server>} `{ origin, base, boot, api(), stop() }`; `boot` is the bootstrap JSON
 *   (account_id, user_id, member_id, email, api_key, api_token, api_token_id).
 */
export async function startServer({ serveArgs = [] } = {}) {
  if (!existsSync(BIN)) {
    throw new Error(`portcullis binary not found at ${BIN}; build it with \`cargo build -p portcullis\` or set PORTCULLIS_BIN`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-console-'));
  const database = `sqlite://${path.join(dir, 'db.sqlite')}`;
  try {
    const { stdout } = await runCli([
      'bootstrap',
      '--database', database,
      '--account-name', ACCOUNT_NAME,
      '--email', ADMIN_EMAIL,
    ]);
    const boot = JSON.parse(stdout.trim());
    for (const k of ['account_id', 'user_id', 'member_id', 'email', 'api_key', 'api_token', 'api_token_id']) {
      if (typeof boot[k] !== 'string' || boot[k] === '') throw new Error(`bootstrap output lacks ${k}: ${stdout}`);
    }
    const { child, stderrOf } = spawnTracked(BIN, ['serve', '--listen', '127.0.0.1:0', '--database', database, ...serveArgs]);
    const addr = await waitListening(child, 'http', 'portcullis serve', stderrOf);
    child.stdout.resume();
    const origin = `http://${addr}`;
    const base = `${origin}/client/v4`;
    return {
      dir,
      database,
      addr,
      origin,
      base,
      boot,
      stderr: stderrOf,
      /** The console's entry URL (optionally at a hash route, e.g. `#/accounts`). */
      consoleUrl(hash = '') {
        return `${origin}/console/${hash}`;
      },
      /**
       * Calls the public API with node's fetch. `auth`: `{ token }`, `{ email, key }` or null
       * (default: the bootstrap token). Answers `{ status, headers, body }` (body parsed as JSON
       * when it is JSON).
       */
      async api(method, pathname, { auth = { token: boot.api_token }, body } = {}) {
        const headers = {};
        if (auth?.token) headers.Authorization = `Bearer ${auth.token}`;
        if (auth?.email) headers['X-Auth-Email'] = auth.email;
        if (auth?.key) headers['X-Auth-Key'] = auth.key;
        if (body !== undefined) headers['Content-Type'] = 'application/json';
        const res = await fetch(`${base}${pathname}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        return { status: res.status, headers: res.headers, body: parsed };
      },
      async stop() {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * `portcullis-dns-fixture --listen 127.0.0.1:0 --records FILE`: answers TXT queries from FILE
 * (JSON `{"name": ["txt", ...]}`, re-read on every query; absent names answer NXDOMAIN).
 */
export async function startDnsFixture() {
  if (!existsSync(FIXTURE_BIN)) {
    throw new Error(`portcullis-dns-fixture not found at ${FIXTURE_BIN}; build it with \`cargo build -p portcullis-dns\``);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-console-dns-'));
  const recordsPath = path.join(dir, 'records.json');
  const records = {};
  const write = () => {
    // Atomic replace: the fixture re-reads the file on every query.
    const tmp = `${recordsPath}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(records));
    renameSync(tmp, recordsPath);
  };
  write();
  const { child, stderrOf } = spawnTracked(FIXTURE_BIN, ['--listen', '127.0.0.1:0', '--records', recordsPath]);
  const addr = await waitListening(child, 'udp', 'portcullis-dns-fixture', stderrOf);
  child.stdout.resume();
  return {
    addr,
    /** Publishes TXT strings at `name` (added to those already there). */
    publish(name, ...texts) {
      records[name] = [...(Array.isArray(records[name]) ? records[name] : []), ...texts];
      write();
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
