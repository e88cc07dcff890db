// Shared assertions for the contract (Cloudflare's v4 envelope, docs/api-decisions.md).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Cloudflare from 'cloudflare';

export const ID_RE = /^[0-9a-f]{32}$/;
/** RFC 3339, UTC, `Z`, microseconds (spec §1). */
export const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
/** API tokens: 40 characters of [A-Za-z0-9_-] (api-decisions.md). */
export const TOKEN_VALUE_RE = /^[A-Za-z0-9_-]{40}$/;

export function assertId(v, what = 'id') {
  assert.equal(typeof v, 'string', `${what} should be a string, got ${JSON.stringify(v)}`);
  assert.match(v, ID_RE, `${what} should be 32 lowercase hex chars`);
}

export function assertTimestamp(v, what = 'timestamp') {
  assert.equal(typeof v, 'string', `${what} should be a string, got ${JSON.stringify(v)}`);
  assert.match(v, TS_RE, `${what} should be RFC 3339 UTC with Z and microseconds`);
  assert.ok(!Number.isNaN(Date.parse(v)), `${what} should parse as a date`);
}

/** Optional timestamp: null/undefined or a proper timestamp. */
export function assertOptTimestamp(v, what) {
  if (v === null || v === undefined) return;
  assertTimestamp(v, what);
}

/** Same instant, whatever the textual precision. */
export function assertSameInstant(actual, expected, what = 'timestamp') {
  assert.equal(Date.parse(actual), Date.parse(expected), `${what}: ${actual} vs ${expected}`);
}

/** Id of a local (role-derived) permission group: sha256("portcullis:permission_group:" + name)[:32]. */
export function localGroupId(name) {
  return createHash('sha256').update(`portcullis:permission_group:${name}`).digest('hex').slice(0, 32);
}

/**
 * Await a promise that must fail with an SDK error class, a status and (optionally) a first error code.
 * Also checks the failure envelope. Returns the error.
 */
export async function expectApiError(promise, ErrorClass, { status, code, messageIncludes } = {}) {
  let err;
  try {
    const v = await promise;
    assert.fail(`expected ${ErrorClass.name} but the call succeeded with ${JSON.stringify(v)?.slice(0, 500)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.ok(
    err instanceof ErrorClass,
    `expected ${ErrorClass.name}, got ${err?.constructor?.name}: ${err?.message?.slice(0, 500)}`,
  );
  if (status !== undefined) assert.equal(err.status, status, `HTTP status (${err.message?.slice(0, 300)})`);
  assertFailureEnvelope(err);
  if (code !== undefined) {
    assert.equal(err.errors[0].code, code, `errors[0].code in ${JSON.stringify(err.errors)}`);
  }
  if (messageIncludes !== undefined) {
    const all = err.errors.map((e) => e.message).join(' | ');
    assert.ok(all.includes(messageIncludes), `error messages ${JSON.stringify(all)} should include ${JSON.stringify(messageIncludes)}`);
  }
  return err;
}

/** `{success:false, errors:[{code>=1000? , message}], messages:[], result:null}` with JSON content type. */
export function assertFailureEnvelope(err) {
  assert.ok(err instanceof Cloudflare.APIError, `not an APIError: ${err}`);
  const body = err.error;
  assert.ok(body && typeof body === 'object', `error body should be a JSON object, got ${JSON.stringify(body)}`);
  assert.equal(body.success, false, 'success should be false');
  assert.equal(body.result, null, 'result should be null on failure');
  assert.ok(Array.isArray(body.errors) && body.errors.length >= 1, 'errors should be a non-empty array');
  assert.ok(Array.isArray(body.messages), 'messages should be an array');
  for (const e of body.errors) {
    assert.equal(typeof e.code, 'number', `error code should be a number: ${JSON.stringify(e)}`);
    assert.equal(typeof e.message, 'string', `error message should be a string: ${JSON.stringify(e)}`);
  }
  const ct = err.headers?.get?.('content-type') ?? '';
  assert.ok(ct.includes('application/json'), `content-type should be application/json, got ${ct}`);
}

/**
 * Collect every item of an auto-paginated list (the SDK's own walk: next page until an empty one).
 * Guarded: a server that never returns an empty page (e.g. clamps `page`) would loop forever.
 */
export async function collect(pager, { maxPages = 200 } = {}) {
  const out = [];
  let pages = 0;
  for await (const page of (await pager).iterPages()) {
    pages++;
    assert.ok(pages <= maxPages, `pagination did not stop after ${maxPages} pages (is a page past the end empty?)`);
    out.push(...page.getPaginatedItems());
  }
  return out;
}

export function assertNoDuplicateIds(items, what = 'items') {
  const ids = items.map((x) => x.id);
  assert.equal(new Set(ids).size, ids.length, `${what}: duplicate ids in ${JSON.stringify(ids)}`);
}

/** Asserts `items` are sorted by keyFn (string compare) then id. */
export function assertSortedBy(items, keyFn, { desc = false, what = 'items' } = {}) {
  for (let i = 1; i < items.length; i++) {
    const a = items[i - 1];
    const b = items[i];
    const ka = keyFn(a);
    const kb = keyFn(b);
    let cmp = ka < kb ? -1 : ka > kb ? 1 : 0;
    if (desc) cmp = -cmp;
    if (cmp === 0) {
      // ties are broken by id (ascending, whatever the direction: we accept either for ties under desc)
      if (!desc) cmp = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
      else cmp = -1;
    }
    assert.ok(
      cmp < 0,
      `${what} not sorted at ${i}: ${JSON.stringify(ka)} (${a.id}) then ${JSON.stringify(kb)} (${b.id})`,
    );
  }
}

/** result_info of one page. */
export function assertResultInfo(ri, { page, perPage, count, totalCount }) {
  assert.ok(ri && typeof ri === 'object', `result_info missing: ${JSON.stringify(ri)}`);
  if (page !== undefined) assert.equal(ri.page, page, 'result_info.page');
  if (perPage !== undefined) assert.equal(ri.per_page, perPage, 'result_info.per_page');
  if (count !== undefined) assert.equal(ri.count, count, 'result_info.count');
  if (totalCount !== undefined) assert.equal(ri.total_count, totalCount, 'result_info.total_count');
  if (ri.per_page && ri.total_count !== undefined) {
    assert.equal(ri.total_pages, Math.ceil(ri.total_count / ri.per_page), 'result_info.total_pages');
  }
}

/** Random suffix for unique names/emails inside one test run. */
export function uniq(prefix = 'x') {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** 32-hex id that (almost surely) matches nothing. */
export function randomId() {
  return createHash('md5').update(String(Math.random())).digest('hex');
}

/**
 * Asserts `items` are in lexicographic order of several keys, e.g.
 * `[[(m) => m.status, 'asc'], [(m) => m.email, 'asc'], [(m) => m.id, 'asc']]`.
 * Keys are compared as strings (code-unit order). Adjacent items must differ on some key.
 */
export function assertOrderedBy(items, keys, { what = 'items' } = {}) {
  const ord = orderViolation(items, keys);
  assert.equal(ord, null, `${what}: ${ord}`);
}

/** null when `items` follow `keys` (see assertOrderedBy), else a description of the first violation. */
export function orderViolation(items, keys) {
  for (let i = 1; i < items.length; i++) {
    const a = items[i - 1];
    const b = items[i];
    let cmp = 0;
    for (const [fn, dir] of keys) {
      const ka = fn(a);
      const kb = fn(b);
      cmp = ka < kb ? -1 : ka > kb ? 1 : 0;
      if (dir === 'desc') cmp = -cmp;
      if (cmp !== 0) break;
    }
    if (cmp >= 0) {
      const ka = keys.map(([fn]) => fn(a));
      const kb = keys.map(([fn]) => fn(b));
      return `not ordered at ${i}: ${JSON.stringify(ka)} then ${JSON.stringify(kb)}`;
    }
  }
  return null;
}
