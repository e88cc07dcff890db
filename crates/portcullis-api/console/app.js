// The console's shell: sign-in, the header (account picker, who is signed in), the section
// navigation and the hash router. Pages live in pages.js and why.js.

import * as api from './api.js';
import { button, failure, field, fill, h, onSubmit, select } from './ui.js';
import { pages } from './pages.js';
import { whyPage } from './why.js';

const main = document.getElementById('main');
const header = document.getElementById('top');
const nav = document.getElementById('nav');

/** Who is signed in, read once per sign-in: `{label, accounts, user}`. */
let session = null;

/** The current route: `{section, account, id, params}` from `#/a/{account}/{section}/{id}?k=v`. */
export function route() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const params = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'a' && parts[1]) {
    return { section: parts[2] || 'members', account: parts[1], id: parts[3], params };
  }
  if (parts[0] === 'user' && parts[1] === 'tokens') return { section: 'user-tokens', params };
  return { section: parts[0] || 'accounts', params };
}

/** The hash of a page: `href('members', account)`, `href('user-groups', account, id)`. */
export function href(section, account, id, params) {
  let path;
  if (section === 'accounts' || section === 'signin') path = `#/${section}`;
  else if (section === 'user-tokens') path = '#/user/tokens';
  else path = `#/a/${encodeURIComponent(account)}/${section}${id ? `/${encodeURIComponent(id)}` : ''}`;
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString() : '';
  return q ? `${path}?${q}` : path;
}

/** Moves to `hash` with new query parameters merged in (pagination, filters). */
export function withParams(changes) {
  const r = route();
  const params = new URLSearchParams(r.params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '') params.delete(k);
    else params.set(k, String(v));
  }
  const base = location.hash.split('?')[0];
  const q = params.toString();
  location.hash = q ? `${base}?${q}` : base;
}

export function currentSession() {
  return session;
}

const SECTIONS = [
  ['accounts', 'Accounts'],
  ['members', 'Members'],
  ['user-groups', 'User groups'],
  ['resource-groups', 'Resource groups'],
  ['permission-groups', 'Permission groups'],
  ['tokens', 'Account tokens'],
  ['user-tokens', 'User tokens'],
  ['sso', 'SSO'],
  ['oauth-clients', 'OAuth clients'],
  ['audit', 'Audit log'],
  ['why', 'Why?'],
];

/** Reads who the credentials are: the accounts they see and, for a user, the user. */
/**
 * Reads who the credentials are: the accounts they see and, for a user, the user. An
 * account-owned token cannot list accounts (Cloudflare's rule): it names its account at sign-in
 * and is checked with that account's verify endpoint.
 */
async function whoAmI() {
  const c = api.credentials();
  if (c.kind === 'token' && c.account) {
    const path = `/accounts/${encodeURIComponent(c.account)}`;
    const verified = (await api.get(`${path}/tokens/verify`)).result;
    const [account, name] = await Promise.all([
      api.get(path).then((e) => e.result).catch(() => ({ id: c.account, name: c.account })),
      // The token's name, when it may read tokens; its id otherwise.
      api.get(`${path}/tokens/${verified.id}`).then((e) => e.result.name).catch(() => null),
    ]);
    const label = name ? `the account token "${name}"` : `account token ${verified.id.slice(0, 8)}…`;
    return { accounts: [account], user: null, label, accountToken: true, tokenId: verified.id };
  }
  let accounts;
  try {
    accounts = await api.all('/accounts');
  } catch (e) {
    if (c.kind === 'token' && e.errors && e.errors.some((x) => /account owned tokens/i.test(x.message))) {
      throw new api.ApiError(e.status, [{
        code: e.errors[0].code,
        message: 'This is an account-owned token: enter its account\'s ID as well (portcullis bootstrap printed it as account_id).',
        source: { pointer: '/account' },
      }]);
    }
    throw e;
  }
  let user = null;
  try {
    user = (await api.get('/user')).result;
  } catch {
    user = null;
  }
  const label = user ? (c.kind === 'token' ? `${user.email} (API token)` : user.email) : 'an API token';
  const tokenId = c.kind === 'token' ? await api.get('/user/tokens/verify').then((e) => e.result.id).catch(() => null) : null;
  return { accounts, user, label, tokenId };
}

function pickAccount(r) {
  if (r.account) return r.account;
  const remembered = sessionStorage.getItem('portcullis.account');
  if (remembered && session.accounts.some((a) => a.id === remembered)) return remembered;
  return session.accounts[0] ? session.accounts[0].id : null;
}

function renderShell(r) {
  const account = pickAccount(r);
  if (account) sessionStorage.setItem('portcullis.account', account);
  const picker = select(session.accounts.map((a) => [a.id, a.name]), account);
  picker.addEventListener('change', () => {
    sessionStorage.setItem('portcullis.account', picker.value);
    const cur = route();
    const section = cur.account ? cur.section : 'members';
    location.hash = href(section, picker.value);
  });
  header.hidden = false;
  fill(header,
    h('a', { class: 'brand', href: '#/accounts' }, h('img', { src: 'favicon.svg', alt: '', width: 24, height: 24 }), 'Portcullis'),
    session.accounts.length ? field('Account', picker) : h('span', { class: 'muted' }, 'No accounts'),
    h('span', { class: 'who' }, `Signed in as ${session.label}`),
    button('Sign out', signOut));
  nav.hidden = false;
  fill(nav, h('ul', {}, SECTIONS.map(([section, text]) => {
    const needsAccount = section !== 'accounts' && section !== 'user-tokens';
    const target = needsAccount ? (account ? href(section, account) : null) : href(section);
    const current = r.section === section || (section === 'members' && r.section === 'member');
    return h('li', {}, target
      ? h('a', { href: target, 'aria-current': current ? 'page' : null }, text)
      : h('span', { class: 'muted' }, text));
  })));
  return account;
}

function signOut() {
  api.forget();
  document.getElementById('notice').hidden = true;
  session = null;
  location.hash = '#/signin';
  render();
}

function signInPage(message) {
  header.hidden = true;
  nav.hidden = true;
  const token = h('input', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const accountId = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', pattern: '[0-9a-f]{32}' });
  const tokenForm = onSubmit(
    h('form', {},
      h('h2', { id: 'signin-token' }, 'With an API token'),
      field('API token', token, { pointer: '/token', hint: 'A user or account API token, e.g. the api_token that portcullis bootstrap printed.' }),
      field('Account ID', accountId, { pointer: '/account', hint: 'For an account-owned token only (the bootstrap token is one): its account, e.g. the account_id that portcullis bootstrap printed.' }),
      h('button', { type: 'submit', class: 'primary' }, 'Sign in with token')),
    () => signIn({ kind: 'token', token: token.value.trim(), account: accountId.value.trim() || undefined }));
  const email = h('input', { type: 'email', autocomplete: 'username', required: true });
  const key = h('input', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const keyForm = onSubmit(
    h('form', {},
      h('h2', { id: 'signin-key' }, 'With email and global API key'),
      field('Email', email),
      field('Global API key', key, { hint: 'The api_key that portcullis bootstrap or portcullis user-key printed.' }),
      h('button', { type: 'submit', class: 'primary' }, 'Sign in with key')),
    () => signIn({ kind: 'key', email: email.value.trim(), key: key.value.trim() }));
  fill(main,
    h('p', { class: 'brand-line' }, h('img', { src: 'favicon.svg', alt: '', width: 32, height: 32 }), 'Portcullis'),
    h('h1', {}, 'Sign in to Portcullis'),
    message ? h('div', { class: 'form-error', role: 'alert' }, message) : null,
    h('p', { class: 'lede' }, 'The console is a client of this server\'s API: what you may see and change here is what your credentials allow, and every change is in the audit log. Credentials stay in this browser tab only.'),
    h('div', { class: 'signin' }, tokenForm, keyForm));
  main.setAttribute('aria-busy', 'false');
  token.focus();
}

async function signIn(c) {
  api.remember(c);
  try {
    session = await whoAmI();
  } catch (e) {
    api.forget();
    throw e;
  }
  location.hash = '#/accounts';
  await render();
}

/** Counts renders: a page whose render is not the latest drops its result. */
let renders = 0;

/**
 * After a page failed: whether the credentials themselves are refused now (answers the API's
 * error then, or null while they still verify).
 */
async function credentialsRefused() {
  const c = api.credentials();
  if (!c) return null;
  let path = '/user';
  if (c.kind === 'token') path = c.account ? `/accounts/${encodeURIComponent(c.account)}/tokens/verify` : '/user/tokens/verify';
  try {
    await api.get(path);
    return null;
  } catch (e) {
    return e.status === 0 ? null : e;
  }
}

/** Renders the page the hash names. */
export async function render() {
  const r = route();
  if (!api.credentials()) {
    if (r.section !== 'signin') history.replaceState(null, '', '#/signin');
    signInPage();
    return;
  }
  if (r.section === 'signin') {
    history.replaceState(null, '', '#/accounts');
    return render();
  }
  main.setAttribute('aria-busy', 'true');
  if (!session) {
    try {
      session = await whoAmI();
    } catch (e) {
      api.forget();
      signInPage(e.message);
      return;
    }
  }
  const account = renderShell(r);
  const page = r.section === 'why' ? whyPage : pages[r.section];
  const token = ++renders;
  if (!page) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No console page here. '), h('a', { href: '#/accounts' }, 'Go to accounts'));
    main.setAttribute('aria-busy', 'false');
    return;
  }
  const ctx = { ...r, account: r.account || account, session, href, withParams, rerender: render, stale: () => token !== renders };
  try {
    const nodes = await page(ctx);
    if (ctx.stale()) return;
    fill(main, nodes);
  } catch (e) {
    if (ctx.stale()) return;
    const gone = await credentialsRefused();
    if (ctx.stale()) return;
    if (gone) {
      // The token was rolled, disabled or deleted (perhaps from this console) or the key replaced.
      api.forget();
      session = null;
      history.replaceState(null, '', '#/signin');
      signInPage(`Your credentials no longer work: ${gone.message}`);
      return;
    }
    fill(main, h('h1', {}, SECTIONS.find(([s]) => s === r.section)?.[1] || 'Error'), failure(e));
  }
  main.setAttribute('aria-busy', 'false');
  // After a move through the navigation (or with focus lost with the old page), focus goes to
  // the new page's heading, so a screen reader announces it and Tab continues from there.
  const h1 = main.querySelector('h1');
  const active = document.activeElement;
  if (h1 && (!active || active === document.body || nav.contains(active))) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => {
  // A notice belongs to the page it was given on (and the render that follows its action).
  const notice = document.getElementById('notice');
  if (notice && Date.now() - (notice.dataset.at || 0) > 1500) notice.hidden = true;
  render();
});
render();
