// The console's only way to the server: the public API under /client/v4, same origin, with the
// credentials the person signed in with (kept in this tab's sessionStorage only).

const BASE = '/client/v4';
const STORE = 'portcullis.credentials';

/** An API refusal: the HTTP status and the envelope's `errors` (each `{code, message, source?}`). */
export class ApiError extends Error {
  constructor(status, errors) {
    const first = errors[0];
    super(first ? first.message : `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

/** The stored credentials: `{kind: 'token', token}` or `{kind: 'key', email, key}`, or null. */
export function credentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORE) || 'null');
    return c && (c.kind === 'token' || c.kind === 'key') ? c : null;
  } catch {
    return null;
  }
}

export function remember(c) {
  sessionStorage.setItem(STORE, JSON.stringify(c));
}

export function forget() {
  sessionStorage.clear();
}

function authHeaders(c) {
  if (!c) return {};
  if (c.kind === 'token') return { Authorization: `Bearer ${c.token}` };
  return { 'X-Auth-Email': c.email, 'X-Auth-Key': c.key };
}

function queryString(query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * One API call; resolves the whole envelope (`result`, `result_info`, `messages`), rejects with
 * an ApiError carrying the envelope's errors. `as` overrides the stored credentials (sign-in).
 */
export async function call(method, path, { query, body, as } = {}) {
  // X-Portcullis-Client: the audit log records the console's changes with interface "UI".
  const headers = { Accept: 'application/json', 'X-Portcullis-Client': 'console', ...authHeaders(as || credentials()) };
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${BASE}${path}${queryString(query)}`, init);
  } catch (e) {
    throw new ApiError(0, [{ code: 0, message: `The server did not answer (${e.message}).` }]);
  }
  let envelope = null;
  try {
    envelope = await response.json();
  } catch {
    envelope = null;
  }
  if (!response.ok || !envelope || envelope.success === false) {
    const errors = envelope && Array.isArray(envelope.errors) && envelope.errors.length
      ? envelope.errors
      : [{ code: response.status, message: `HTTP ${response.status} ${response.statusText}` }];
    throw new ApiError(response.status, errors);
  }
  return envelope;
}

export const get = (path, query) => call('GET', path, { query });
export const post = (path, body) => call('POST', path, { body });
export const put = (path, body) => call('PUT', path, { body });
export const patch = (path, body) => call('PATCH', path, { body });
export const del = (path) => call('DELETE', path);

/** Every item of a page-numbered list, reading pages of `per_page` until the last. */
export async function all(path, query = {}, perPage = 50, maxPages = 200) {
  const items = [];
  for (let page = 1; page <= maxPages; page++) {
    const env = await get(path, { ...query, page, per_page: perPage });
    const result = env.result || [];
    items.push(...result);
    const info = env.result_info;
    if (!info || result.length === 0) break;
    const pages = info.total_pages ?? Math.ceil((info.total_count ?? 0) / (info.per_page || perPage));
    if (page >= pages) break;
  }
  return items;
}

export const accountKey = (account) => `com.cloudflare.api.account.${account}`;
