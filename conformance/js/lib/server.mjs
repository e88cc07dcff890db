// Test harness: bootstraps a fresh Portcullis database, starts `portcullis serve` on a free port and
// builds official-SDK clients pointed at it. One server per test file (node --test runs each file in
// its own process).
//
// Database backend: PORTCULLIS_TEST_BACKEND = `sqlite` (default: a SQLite file in a temp dir) or
// `postgres`, which needs PORTCULLIS_TEST_POSTGRES_URL (postgres://USER@HOST:PORT/DB): each server
// then gets a fresh schema `pt_<16 hex>` (`?options=-c%20search_path%3D<schema>`), dropped by stop()
// with psql (best effort; also when startup fails and, as a last resort, when the process exits).
import { spawn, execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import Cloudflare from 'cloudflare';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Repository root: conformance/js/lib -> ../../.. */
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const BIN = process.env.PORTCULLIS_BIN || path.join(REPO_ROOT, 'target', 'debug', 'portcullis');

const START_TIMEOUT_MS = 30_000;

function runCli(args) {
  return new Promise((resolve, reject) => {
    execFile(BIN, args, { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`portcullis ${args.join(' ')} failed: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

/** The CLI prints exactly one JSON object on stdout. */
function parseJsonObject(stdout, what) {
  const text = stdout.trim();
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    /* fall through */
  }
  throw new Error(`${what}: expected one JSON object on stdout, got: ${JSON.stringify(stdout)}`);
}

export const BACKEND_ENV = 'PORTCULLIS_TEST_BACKEND';
export const POSTGRES_URL_ENV = 'PORTCULLIS_TEST_POSTGRES_URL';

let backendCache = null;

/**
 * The selected backend: `{ kind: 'sqlite' }` or `{ kind: 'postgres', url }`. Throws (never falls
 * back to SQLite) when postgres is selected but the URL is unset or the server is unreachable.
 */
export function backend() {
  if (backendCache) return backendCache;
  const name = (process.env[BACKEND_ENV] || '').trim() || 'sqlite';
  if (name === 'sqlite') {
    backendCache = { kind: 'sqlite' };
    return backendCache;
  }
  if (name !== 'postgres') {
    throw new Error(`${BACKEND_ENV}=${JSON.stringify(name)}: expected \`sqlite\` or \`postgres\``);
  }
  const url = (process.env[POSTGRES_URL_ENV] || '').trim();
  if (!url) {
    throw new Error(
      `${BACKEND_ENV}=postgres but ${POSTGRES_URL_ENV} is not set (e.g. postgres://postgres@127.0.0.1:5432/test)`,
    );
  }
  let out;
  try {
    out = execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-Atc', 'select 1'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } catch (e) {
    throw new Error(`PostgreSQL at ${url} is unusable: ${e.stderr || e.message}`);
  }
  if (out.trim() !== '1') throw new Error(`PostgreSQL at ${url}: \`select 1\` answered ${JSON.stringify(out)}`);
  backendCache = { kind: 'postgres', url };
  return backendCache;
}

/** `base` + `options=-c search_path=<schema>` (with `?` or `&` as the URL needs). */
export function postgresUrlWithSchema(base, schema) {
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}options=-c%20search_path%3D${schema}`;
}

/** Schemas handed out and not dropped yet; dropped synchronously on process exit as a last resort. */
const liveSchemas = new Set();

/** Best effort `drop schema if exists <schema> cascade`. */
export function dropSchema(schema) {
  const b = backendCache;
  if (!schema || !b || b.kind !== 'postgres' || !/^pt_[0-9a-f]{16}$/.test(schema)) return;
  try {
    execFileSync('psql', [b.url, '-v', 'ON_ERROR_STOP=1', '-Atc', `drop schema if exists ${schema} cascade`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
    });
  } catch (e) {
    process.stderr.write(`warning: could not drop schema ${schema}: ${e.stderr || e.message}\n`);
  }
  liveSchemas.delete(schema);
}

process.on('exit', () => {
  for (const schema of [...liveSchemas]) dropSchema(schema);
});

/**
 * A fresh database for one server instance: `{ database, schema }` where `schema` is null on SQLite.
 * `dir` is the instance's temp dir (the SQLite file lives there).
 */
export function freshDatabase(dir) {
  const b = backend();
  if (b.kind === 'sqlite') return { database: `sqlite://${path.join(dir, 'p.db')}`, schema: null };
  const schema = `pt_${randomBytes(8).toString('hex')}`;
  liveSchemas.add(schema);
  return { database: postgresUrlWithSchema(b.url, schema), schema };
}

/** Strip CLOUDFLARE_* variables so the SDK never picks up credentials or a base URL from the env. */
const SDK_ENV_NULLS = { apiToken: null, apiKey: null, apiEmail: null, userServiceKey: null };

/**
 * Start a server on a fresh database. `serveArgs`: extra `portcullis serve` flags (the SSO tests pass
 * `--dns-server … --sso-check-interval 1 --sso-verification-window 4`).
 * @returns {Promise<Server>}
 */
export async function startServer({ serveArgs = [] } = {}) {
  if (!existsSync(BIN)) {
    throw new Error(
      `portcullis binary not found at ${BIN}; build it with \`cargo build -p portcullis\` or set PORTCULLIS_BIN`,
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-js-'));
  let database;
  let schema;
  try {
    ({ database, schema } = freshDatabase(dir));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  try {
    return await startOn(dir, database, schema, serveArgs);
  } catch (e) {
    dropSchema(schema);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function startOn(dir, database, schema, serveArgs = []) {
  const { stdout } = await runCli([
    'bootstrap',
    '--database', database,
    '--account-name', 'Conformance',
    '--email', 'admin@example.com',
  ]);
  const boot = parseJsonObject(stdout, 'bootstrap');
  for (const k of ['account_id', 'user_id', 'member_id', 'email', 'api_key', 'api_token', 'api_token_id']) {
    if (typeof boot[k] !== 'string' || boot[k] === '') {
      throw new Error(`bootstrap output lacks string field ${k}: ${stdout}`);
    }
  }

  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--database', database, ...serveArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr += b.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const addr = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not print "listening on" within ${START_TIMEOUT_MS} ms\nstderr: ${stderr}`));
    }, START_TIMEOUT_MS);
    const onExit = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal})\nstderr: ${stderr}`));
    };
    child.once('exit', onExit);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    rl.on('line', (line) => {
      const m = /listening on http:\/\/(\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(m[1]);
      }
    });
  });
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout.resume();

  const origin = `http://${addr}`;
  const baseURL = `${origin}/client/v4`;

  const server = {
    dir,
    database,
    /** The PostgreSQL schema of this server (null on SQLite). */
    schema,
    origin,
    baseURL,
    boot,
    child,
    stderr: () => stderr,

    /** Client authenticated with an API token (Bearer). */
    tokenClient(apiToken, extra = {}) {
      return new Cloudflare({ ...SDK_ENV_NULLS, apiToken, baseURL, maxRetries: 0, ...extra });
    },
    /** Client authenticated with X-Auth-Email + X-Auth-Key (no token, since Bearer wins). */
    keyClient(apiEmail, apiKey, extra = {}) {
      return new Cloudflare({ ...SDK_ENV_NULLS, apiEmail, apiKey, baseURL, maxRetries: 0, ...extra });
    },
    /** Client built from raw options (credentials default to none). */
    client(opts = {}) {
      return new Cloudflare({ ...SDK_ENV_NULLS, baseURL, maxRetries: 0, ...opts });
    },
    /** The bootstrap account-owned token. */
    get adminToken() {
      return this.tokenClient(boot.api_token);
    },
    /** The bootstrap user (an operator, Super Administrator of the bootstrap account) via email+key. */
    get adminKey() {
      return this.keyClient(boot.email, boot.api_key);
    },

    /** `portcullis user-key`: creates a user (no memberships) and returns {user_id, email, api_key}. */
    async userKey(email, { operator = false } = {}) {
      const args = ['user-key', '--database', database, '--email', email];
      if (operator) args.push('--operator');
      const { stdout: out } = await runCli(args);
      const u = parseJsonObject(out, 'user-key');
      for (const k of ['user_id', 'email', 'api_key']) {
        if (typeof u[k] !== 'string' || u[k] === '') throw new Error(`user-key output lacks ${k}: ${out}`);
      }
      return u;
    },

    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      dropSchema(schema);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * A fetch wrapper that records every request (method, URL, headers) and the response status.
 * Pass as `fetch` in the client options. With `{bodies: true}` it also keeps the request body
 * (`requestBody`, a string) and the raw response body (`body`, parsed JSON when possible).
 */
export function recordingFetch({ bodies = false } = {}) {
  const calls = [];
  const fetchImpl = async (url, init = {}) => {
    const entry = { method: (init.method || 'GET').toUpperCase(), url: String(url), headers: new Headers(init.headers) };
    if (bodies) entry.requestBody = typeof init.body === 'string' ? init.body : undefined;
    calls.push(entry);
    const res = await fetch(url, init);
    entry.status = res.status;
    if (bodies) {
      // The raw response body, as parsed JSON (or text), read from a clone so the SDK still gets it.
      const text = await res.clone().text();
      try {
        entry.body = JSON.parse(text);
      } catch {
        entry.body = text;
      }
    }
    return res;
  };
  return { fetch: fetchImpl, calls };
}
