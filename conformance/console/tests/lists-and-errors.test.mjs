// The API's errors shown where they belong, searching and paging lists, an empty list's guidance,
// the audit log, and every main page at a phone's width.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  ACCOUNT_PAGES,
  NARROW,
  acct,
  assertNoHorizontalScroll,
  brokenLabels,
  confirmDialog,
  ctest,
  dataRows,
  eventually,
  expectCount,
  expectText,
  expectVisible,
  open,
  ready,
  screenshot,
  signedInPage,
  useConsole,
} from '../lib/browser.mjs';
import { ensureMember, ok, refusal } from '../lib/api.mjs';

const BAD_OBJECT = 'com.cloudflare.api.nonsense';

/** The text of the elements an element's aria-describedby names. */
async function describedBy(locator) {
  return locator.evaluate((el) =>
    (el.getAttribute('aria-describedby') || '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.innerText ?? `(no element #${id})`)
      .join(' '),
  );
}

describe('errors, lists and narrow screens', () => {
  const h = useConsole();

  ctest(h, 'a bad scope object: the API\'s message beside "Scope objects"', async () => {
    const a = h.server.boot.account_id;
    const apiMessage = await refusal(h.server, 'POST', `/accounts/${a}/iam/resource_groups`, {
      body: { name: 'Bad', scope: { key: `com.cloudflare.api.account.${a}`, objects: [{ key: BAD_OBJECT }] } },
    });
    // The message without its JSON pointer prefix (`/scope/objects/0/key: `), which the console may drop.
    const expected = apiMessage.replace(/^\/\S*: /, '');

    const page = await signedInPage(h);
    await open(h, page, acct(h, 'resource-groups'), 'Resource groups');
    const objects = page.getByLabel('Scope objects', { exact: true });
    assert.equal((await objects.inputValue()).trim(), '*', 'Scope objects defaults to *');
    await page.getByLabel('Name', { exact: true }).fill('Bad');
    await objects.fill(BAD_OBJECT);
    await page.getByRole('button', { name: 'Create resource group', exact: true }).click();
    await eventually(async () => assert.equal(await objects.getAttribute('aria-invalid'), 'true'));
    const described = await describedBy(objects);
    assert.ok(described.includes(expected), `aria-describedby of "Scope objects" shows ${JSON.stringify(expected)}; it shows ${JSON.stringify(described)}`);
    // …rendered right after the field.
    const next = await objects.evaluate((el) => {
      const id = (el.getAttribute('aria-describedby') || '').split(/\s+/).find((i) => document.getElementById(i)?.innerText.includes('nonsense'));
      const msg = id && document.getElementById(id);
      return msg ? Boolean(el.compareDocumentPosition(msg) & Node.DOCUMENT_POSITION_FOLLOWING) : false;
    });
    assert.ok(next, 'the message follows the field');
    const groups = await ok(h.server, 'GET', `/accounts/${a}/iam/resource_groups`);
    assert.ok(!groups.some((g) => g.name === 'Bad'), 'nothing was created');

    // Corrected, it is created, and the field is no longer marked invalid.
    await objects.fill('*');
    await page.getByRole('button', { name: 'Create resource group', exact: true }).click();
    const row = page.getByRole('row', { name: /Bad/ });
    await expectVisible(row);
    // Edit opens the group's form (a button, or a link since it changes the address).
    await expectVisible(row.getByRole('button', { name: 'Edit', exact: true }).or(row.getByRole('link', { name: 'Edit', exact: true })));
    await expectVisible(row.getByRole('button', { name: 'Delete', exact: true }));
    assert.notEqual(await objects.getAttribute('aria-invalid'), 'true');
    await ready(page, 'Resource groups');
    await screenshot(page, 'resource-groups');

    // Delete asks first.
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    await confirmDialog(page);
    await expectCount(page.getByRole('row', { name: /Bad/ }), 0);
    const left = await ok(h.server, 'GET', `/accounts/${a}/iam/resource_groups`);
    assert.ok(!left.some((g) => g.name === 'Bad'), 'the API no longer lists it');
  });

  ctest(h, 'a user group name that is taken: the API\'s message', async () => {
    const a = h.server.boot.account_id;
    await ok(h.server, 'POST', `/accounts/${a}/iam/user_groups`, { body: { name: 'Engineers', policies: [] } });
    const expected = await refusal(h.server, 'POST', `/accounts/${a}/iam/user_groups`, { body: { name: 'Engineers', policies: [] } });

    const page = await signedInPage(h);
    await open(h, page, acct(h, 'user-groups'), 'User groups');
    await page.getByLabel('Name', { exact: true }).fill('Engineers');
    const policy = page.getByRole('group', { name: 'Policy 1' });
    if ((await policy.count()) > 0) {
      await policy.getByRole('checkbox', { name: 'Administrator Read Only', exact: true }).check();
      await policy.getByRole('group', { name: 'Resource groups' }).getByRole('checkbox', { name: 'The whole account', exact: true }).check();
    }
    await page.getByRole('button', { name: 'Create user group', exact: true }).click();
    // No field of the form is named by this error: the message is an alert at the top of the form
    // (or, if the console ties it to Name, the text described by the field).
    const shown = page.getByRole('alert').filter({ hasText: expected.slice(0, 40) });
    const name = page.getByLabel('Name', { exact: true });
    await eventually(async () => {
      if ((await shown.count()) > 0) return;
      assert.ok((await describedBy(name)).includes(expected), 'not shown yet');
    }).catch(async () => {
      const alerts = await page.getByRole('alert').allInnerTexts();
      assert.fail(`the API's message ${JSON.stringify(expected)} is not shown; alerts: ${JSON.stringify(alerts)}; Name described by: ${JSON.stringify(await describedBy(name))}`);
    });
    if ((await shown.count()) > 0) await expectText(shown.first(), expected);
    const groups = await ok(h.server, 'GET', `/accounts/${a}/iam/user_groups`);
    assert.equal(groups.filter((g) => g.name === 'Engineers').length, 1);
  });

  ctest(h, 'permission groups: search narrows the table; Next and Previous page', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'permission-groups'), 'Permission groups');
    const rows = dataRows(page);
    await expectVisible(rows.first());
    const pageText = page.getByText(/Page \d+ of \d+/);
    const first = await expectText(pageText, /Page 1 of \d+/);
    const pages = Number(/of (\d+)/.exec(first)[1]);
    assert.ok(pages >= 2, `the catalog (54 groups) needs more than one page; the console says ${JSON.stringify(first)}`);
    await screenshot(page, 'permission-groups');

    for (const column of ['Name', 'Scopes', 'Description']) {
      await expectVisible(page.getByRole('columnheader', { name: column, exact: true }));
    }
    const firstRow = await rows.first().innerText();
    await page.getByRole('button', { name: 'Next page', exact: true }).click();
    await expectText(pageText, `Page 2 of ${pages}`);
    await ready(page, 'Permission groups');
    assert.notEqual(await rows.first().innerText(), firstRow, 'page 2 shows other groups');
    await page.getByRole('button', { name: 'Previous page', exact: true }).click();
    await expectText(pageText, `Page 1 of ${pages}`);
    await eventually(async () => assert.equal(await rows.first().innerText(), firstRow));

    const all = await rows.count();
    await page.getByLabel('Search', { exact: true }).fill('Read');
    await eventually(async () => {
      const names = await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('td,th[scope=row]')?.innerText ?? ''));
      assert.ok(names.length > 0, 'some groups match "Read"');
      assert.ok(names.every((n) => /read/i.test(n)), `every name shown contains "Read": ${JSON.stringify(names)}`);
    });
    await expectCount(page.getByRole('row', { name: /^Analytics\b/ }), 0);
    assert.ok((await rows.count()) <= all);
    await expectVisible(page.getByRole('row', { name: /^Administrator Read Only\b/ }));
  });

  ctest(h, 'an empty list says what to do next', async () => {
    const page = await signedInPage(h);
    await open(h, page, acct(h, 'sso'), 'SSO connectors');
    await expectCount(page.getByRole('row', { name: /\.example/ }), 0);
    // The sentence is plain text in the table's area (not a status message).
    const guidance = page.locator('main').getByText(/\b(no|none|yet|first)\b/i).filter({ hasNot: page.getByRole('button') });
    await expectVisible(guidance.first());
    const text = await guidance.first().innerText();
    assert.match(text, /\w+\s+\w+\s+\w+/, `a sentence: ${JSON.stringify(text)}`);
    assert.notEqual(await guidance.first().getAttribute('role'), 'status');
  });

  ctest(h, 'narrow screens (390 px): no page scrolls sideways', async () => {
    await ensureMember(h.server, 'bob@acme.example');
    const page = await signedInPage(h, { viewport: NARROW });
    await assertNoHorizontalScroll(page, 'Accounts');
    const pages = ACCOUNT_PAGES;
    for (const [route, heading] of pages) {
      await open(h, page, acct(h, route), heading);
      await assertNoHorizontalScroll(page, heading);
      if (route === 'members') await screenshot(page, 'narrow-members');
    }
    const bob = (await ok(h.server, 'GET', `/accounts/${h.server.boot.account_id}/members`)).find((m) => m.email === 'bob@acme.example');
    await open(h, page, acct(h, `members/${bob.id}`), 'bob@acme.example');
    await assertNoHorizontalScroll(page, 'member page');
    const fresh = await h.page({ viewport: NARROW });
    await open(h, fresh, '#/signin', 'Sign in to Portcullis');
    await assertNoHorizontalScroll(fresh, 'Sign in');
  });

  ctest(h, 'no button or column heading breaks inside a word (1280 and 390 px)', async () => {
    const a = h.server.boot.account_id;
    // Rows in every list: a member, a user group, a resource group, a token, an SSO connector.
    await ensureMember(h.server, 'bob@acme.example');
    const groups = await ok(h.server, 'GET', `/accounts/${a}/iam/user_groups`);
    if (!groups.some((g) => g.name === 'Layout')) {
      await ok(h.server, 'POST', `/accounts/${a}/iam/user_groups`, { body: { name: 'Layout', policies: [] } });
    }
    const sso = await ok(h.server, 'GET', `/accounts/${a}/sso_connectors`);
    if (sso.length === 0) {
      await ok(h.server, 'POST', `/accounts/${a}/sso_connectors`, { body: { email_domain: 'layout.example', begin_verification: false } });
    }
    const routes = ACCOUNT_PAGES;
    const broken = [];
    for (const viewport of [undefined, NARROW]) {
      const page = await signedInPage(h, { viewport });
      const width = viewport ? viewport.width : 1280;
      broken.push(...(await brokenLabels(page)).map((b) => `${width}px Accounts: ${b}`));
      for (const [route, heading] of routes) {
        await open(h, page, acct(h, route), heading);
        broken.push(...(await brokenLabels(page)).map((b) => `${width}px ${heading}: ${b}`));
      }
    }
    assert.deepEqual(broken, [], `labels broken inside a word:\n${broken.join('\n')}`);
  });

  ctest(h, 'audit log: newest first, Next and Previous page', async () => {
    const a = h.server.boot.account_id;
    // 130 creates, then one delete: the delete is the newest entry, and the only one.
    const made = [];
    for (let i = 0; i < 130; i++) {
      made.push(await ok(h.server, 'POST', `/accounts/${a}/iam/user_groups`, { body: { name: `Audit filler ${i}`, policies: [] } }));
    }
    await ok(h.server, 'DELETE', `/accounts/${a}/iam/user_groups/${made[0].id}`);
    const [newest] = await ok(h.server, 'GET', `/accounts/${a}/audit_logs?per_page=1`);
    assert.equal(newest.action.type, 'delete');

    const page = await signedInPage(h);
    await open(h, page, acct(h, 'audit'), 'Audit log');
    for (const column of ['When', 'Actor', 'Action', 'Resource', 'Result']) {
      await expectVisible(page.getByRole('columnheader', { name: column, exact: true }));
    }
    const rows = dataRows(page);
    await expectVisible(rows.nth(1));
    await expectText(rows.first(), /delete/i);
    const deletes = await rows.filter({ hasText: /delete/i }).count();
    assert.equal(deletes, 1, 'only the newest row is the delete');
    await screenshot(page, 'audit-log');

    const firstRow = await rows.first().innerText();
    const next = page.getByRole('button', { name: 'Next page', exact: true });
    assert.equal(await next.isEnabled(), true, '131+ entries need a second page');
    await next.click();
    await eventually(async () => assert.notEqual(await rows.first().innerText(), firstRow, 'page 2 shows older entries'));
    await ready(page, 'Audit log');
    await expectCount(rows.filter({ hasText: /delete/i }), 0);
    await page.getByRole('button', { name: 'Previous page', exact: true }).click();
    await eventually(async () => assert.equal(await rows.first().innerText(), firstRow));

    // The API's filters: action.type, then actor.email.
    await page.getByLabel('Action', { exact: true }).selectOption({ label: 'delete' });
    await ready(page, 'Audit log');
    assert.match(page.url(), /action=delete/);
    const deletesInLog = await ok(h.server, 'GET', `/accounts/${a}/audit_logs?action.type=delete&per_page=20`);
    assert.ok(deletesInLog.length >= 1);
    await eventually(async () => assert.equal(await rows.count(), deletesInLog.length));
    for (const text of await rows.allInnerTexts()) assert.match(text, /\bdelete\b/);
    await page.getByLabel('Action', { exact: true }).selectOption({ label: 'All' });
    await eventually(async () => assert.doesNotMatch(page.url(), /action=/));
    await eventually(async () => assert.ok(await rows.count() > 1));
    await ready(page, 'Audit log');
    await page.getByLabel('Actor email', { exact: true }).fill('nobody@acme.example');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await ready(page, 'Audit log');
    await expectText(page.getByRole('main'), /No entry matches these filters/);
  });
});
