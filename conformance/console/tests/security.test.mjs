// What the console is served with: the redirect from `/`, a strict Content-Security-Policy and
// the other security headers on every console file; the page runs under that policy without a
// violation or error, loads nothing from elsewhere, and never puts a credential in a URL.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { SECTIONS_FROM_ACCOUNTS, ctest, expectVisible, open, ready, signedInWithKey, useConsole } from '../lib/browser.mjs';

/** `directive -> [sources]` of a Content-Security-Policy header. */
function parseCsp(header) {
  const out = new Map();
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

function assertSecurityHeaders(headers, what) {
  const csp = headers.get('content-security-policy');
  assert.ok(csp, `${what}: a Content-Security-Policy`);
  const d = parseCsp(csp);
  const scriptSrc = d.get('script-src') ?? d.get('default-src');
  assert.ok(scriptSrc, `${what}: the CSP restricts scripts (script-src or default-src): ${csp}`);
  for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", '*', 'http:', 'https:', 'data:']) {
    assert.ok(!scriptSrc.includes(unsafe), `${what}: script-src allows ${unsafe}: ${csp}`);
  }
  assert.deepEqual(d.get('frame-ancestors'), ["'none'"], `${what}: frame-ancestors 'none': ${csp}`);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(headers.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
}

describe('security', () => {
  const h = useConsole();

  ctest(h, '`/` redirects to /console/', async () => {
    for (const path of ['/', '/console']) {
      const res = await fetch(`${h.server.origin}${path}`, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      assert.ok([301, 302, 303, 307, 308].includes(res.status), `${path}: a redirect, got ${res.status}`);
      assert.equal(new URL(res.headers.get('location'), h.server.origin).href, `${h.server.origin}/console/`, path);
    }
  });

  ctest(h, '/console/ is served with a strict CSP, no-referrer and nosniff', async () => {
    const res = await fetch(h.server.consoleUrl(), { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assertSecurityHeaders(res.headers, '/console/');
    const html = await res.text();
    assert.match(html, /<script[^>]+src=/, 'scripts come from files');
  });

  ctest(h, 'every console file the browser loads carries the headers and the right type', async () => {
    const page = await h.page();
    const files = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/console/')) files.push(r);
    });
    await open(h, page, '#/signin', 'Sign in to Portcullis');
    assert.ok(files.some((r) => /\.js$/.test(new URL(r.url()).pathname)), 'the page loads its scripts from /console/');
    for (const r of files) {
      const headers = new Headers(await r.allHeaders());
      const path = new URL(r.url()).pathname;
      assert.equal(r.status(), 200, path);
      assertSecurityHeaders(headers, path);
      if (path.endsWith('.js')) assert.match(headers.get('content-type'), /^(text|application)\/javascript/, path);
      if (path.endsWith('.css')) assert.match(headers.get('content-type'), /^text\/css/, path);
    }
  });

  ctest(h, 'a whole session runs under the policy with no error, no foreign request and no credential in a URL', async () => {
    const page = await signedInWithKey(h);
    const apiCalls = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/client/v4/')) apiCalls.push(r);
    });
    const nav = page.getByRole('navigation', { name: 'Sections' });
    for (const [link, heading] of SECTIONS_FROM_ACCOUNTS) {
      await nav.getByRole('link', { name: link, exact: true }).click();
      await ready(page, heading);
    }
    await expectVisible(page.getByRole('row', { name: /Acme/ }));
    assert.ok(apiCalls.length > 0, 'the console called the API');
    // Credentials travel in headers only. The public OpenAPI document needs none.
    const PUBLIC = new Set(['/client/v4/openapi.json']);
    for (const r of apiCalls) {
      assert.ok(!r.url().includes(h.server.boot.api_key), `the key is not in a URL: ${r.url()}`);
      assert.ok(!r.url().includes(h.server.boot.email), `the email is not in a URL: ${r.url()}`);
      if (PUBLIC.has(new URL(r.url()).pathname)) continue;
      const headers = await r.allHeaders();
      assert.equal(headers['x-auth-email'], h.server.boot.email, `${r.method()} ${r.url()} authenticates`);
      assert.equal(headers['x-auth-key'], h.server.boot.api_key);
    }
    // The key is not in any URL the page shows either.
    assert.ok(!page.url().includes(h.server.boot.api_key));
    h.check(); // (also checked after every test) no console error, CSP violation or foreign request
  });

  ctest(h, 'the page enforces its policy: no inline script runs, no string reaches an HTML sink (Trusted Types)', async () => {
    const page = await h.page();
    await open(h, page, '#/signin', 'Sign in to Portcullis');
    const outcome = await page.evaluate(() => {
      const out = {};
      try {
        document.body.insertAdjacentHTML('beforeend', '<b id="injected">x</b>');
        out.html = document.getElementById('injected') ? 'inserted' : 'not inserted';
      } catch (e) {
        out.html = e.name;
      }
      window.__ran = false;
      const s = document.createElement('script');
      try {
        s.textContent = 'window.__ran = true';
        document.body.append(s);
      } catch (e) {
        out.script = e.name;
      }
      out.ran = window.__ran;
      return out;
    });
    assert.equal(outcome.html, 'TypeError', `an HTML string is refused: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.ran, false, `an inline script does not run: ${JSON.stringify(outcome)}`);
    // The refusals were reported as violations, which is what the guard flags: expected here.
    await page.waitForTimeout(200);
    const seen = h.problems.splice(0);
    assert.ok(seen.some((p) => /CSP violation/.test(p)), `violations reported: ${JSON.stringify(seen)}`);
    assert.ok(seen.every((p) => /CSP violation|Content Security Policy|Trusted Type|TrustedHTML|TrustedScript/i.test(p)), JSON.stringify(seen));
  });
});

