// client.iam.userGroups.members.{create,update,list,get,delete}:
// /accounts/{a}/iam/user_groups/{ug}/members[/{member_id}]
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startServer, recordingFetch } from './lib/server.mjs';
import {
  assertNoDuplicateIds,
  assertOrderedBy,
  assertResultInfo,
  assertTimestamp,
  collect,
  expectApiError,
  randomId,
  uniq,
} from './lib/expect.mjs';
import { ROLE, asGroupMember, assertGroupMember, assertUserGroup, byEmailThenId, sleep } from './lib/iam.mjs';

describe('iam.userGroups.members', () => {
  let srv;
  let account_id;
  let c;
  /** 12 account members: ugm-01 .. ugm-12 (odd accepted, even pending). */
  const people = [];
  let tag;

  const newGroup = (name = uniq('Members')) => c.iam.userGroups.create({ account_id, name });
  const membersOf = (ug, extra = {}) => collect(c.iam.userGroups.members.list(ug.id, { account_id, per_page: 5, ...extra }));

  before(async () => {
    srv = await startServer();
    account_id = srv.boot.account_id;
    c = srv.adminToken;
    tag = Math.random().toString(36).slice(2, 8);
    // created out of email order on purpose
    const order = [7, 2, 11, 4, 9, 1, 12, 6, 3, 10, 5, 8];
    for (const i of order) {
      const m = await c.accounts.members.create({
        account_id,
        email: `ugm-${String(i).padStart(2, '0')}-${tag}@example.com`,
        roles: [ROLE.ADMIN_RO],
        status: i % 2 ? 'accepted' : 'pending',
      });
      people[i - 1] = m;
    }
  });
  after(async () => {
    await srv?.stop();
  });

  it('the 7.3.0 SDK sends `members` as a bare JSON array and returns a SinglePage', async () => {
    const ug = await newGroup();
    const rec = recordingFetch({ bodies: true });
    const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    const page = await rc.iam.userGroups.members.create(ug.id, {
      account_id,
      members: [{ id: people[2].id }, { id: people[0].id }],
    });
    assert.equal(rec.calls.length, 1);
    assert.equal(rec.calls[0].method, 'POST');
    assert.equal(new URL(rec.calls[0].url).pathname, `/client/v4/accounts/${account_id}/iam/user_groups/${ug.id}/members`);
    assert.deepEqual(JSON.parse(rec.calls[0].requestBody), [{ id: people[2].id }, { id: people[0].id }]);
    assert.ok(Array.isArray(rec.calls[0].body.result), 'result is an array');
    assert.equal(typeof page.getPaginatedItems, 'function', 'a page object');
    // the members named in the body, by email then id
    assert.deepEqual(page.result, [asGroupMember(people[0]), asGroupMember(people[2])]);
    for (const m of page.getPaginatedItems()) assertGroupMember(m);
    assert.equal(page.hasNextPage(), false);
  });

  it('adds members (accepted and pending); list shows them by email then id', async () => {
    const ug = await newGroup();
    const chosen = [people[5], people[1], people[8]];
    const page = await c.iam.userGroups.members.create(ug.id, { account_id, members: chosen.map((m) => ({ id: m.id })) });
    const expected = chosen.map(asGroupMember).sort(byEmailThenId);
    assert.deepEqual(page.result, expected);
    assert.ok(page.result.some((m) => m.status === 'pending'), 'pending members may be added');
    assert.deepEqual(await membersOf(ug), expected);
  });

  it('re-adding a member is not an error; repeated ids count once', async () => {
    const ug = await newGroup();
    await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: people[0].id }, { id: people[1].id }] });

    const rec = recordingFetch();
    const retrying = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch, maxRetries: 2 });
    const again = await retrying.iam.userGroups.members.create(ug.id, {
      account_id,
      members: [{ id: people[1].id }, { id: people[2].id }],
    });
    assert.equal(rec.calls.length, 1);
    assert.equal(rec.calls[0].status, 200);
    assert.deepEqual(again.result, [asGroupMember(people[1]), asGroupMember(people[2])]);

    const rep = await c.iam.userGroups.members.create(ug.id, {
      account_id,
      members: [{ id: people[3].id }, { id: people[3].id }],
    });
    assert.deepEqual(rep.result, [asGroupMember(people[3])]);

    const all = await membersOf(ug);
    assertNoDuplicateIds(all, 'group members');
    assert.deepEqual(all, [people[0], people[1], people[2], people[3]].map(asGroupMember));
  });

  it('all-or-nothing: one unknown id is a NotFoundError (404/1003 naming it) and nothing is added', async () => {
    const ug = await newGroup();
    await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: people[0].id }] });
    const unknown = randomId();
    const err = await expectApiError(
      c.iam.userGroups.members.create(ug.id, {
        account_id,
        members: [{ id: people[4].id }, { id: unknown }, { id: people[5].id }],
      }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    const msgs = err.errors.map((e) => e.message).join(' | ');
    assert.ok(msgs.includes(unknown), `the error names ${unknown}: ${msgs}`);
    assert.deepEqual(await membersOf(ug), [asGroupMember(people[0])], 'nothing was added');

    // same on replace: the set is unchanged
    await expectApiError(
      c.iam.userGroups.members.update(ug.id, { account_id, members: [{ id: people[6].id }, { id: unknown }] }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    assert.deepEqual(await membersOf(ug), [asGroupMember(people[0])], 'replace refused: unchanged');
  });

  it('a member of another account is not a member here (404/1003, nothing added)', async () => {
    const other = await srv.adminKey.accounts.create({ name: uniq('Other') });
    try {
      const theirs = await srv.adminKey.accounts.members.create({
        account_id: other.id,
        email: `${uniq('foreign')}@example.com`,
        roles: [ROLE.ADMIN],
      });
      const ug = await newGroup();
      await expectApiError(
        c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: people[0].id }, { id: theirs.id }] }),
        Cloudflare.NotFoundError,
        { status: 404, code: 1003 },
      );
      assert.deepEqual(await membersOf(ug), []);
    } finally {
      await srv.adminKey.accounts.delete({ account_id: other.id });
    }
  });

  it('update replaces the set (answers the new full set); `[]` empties the group', async () => {
    const ug = await newGroup();
    await c.iam.userGroups.members.create(ug.id, {
      account_id,
      members: [{ id: people[0].id }, { id: people[1].id }, { id: people[2].id }],
    });
    const rec = recordingFetch({ bodies: true });
    const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
    const replaced = await rc.iam.userGroups.members.update(ug.id, {
      account_id,
      members: [{ id: people[9].id }, { id: people[2].id }],
    });
    assert.equal(rec.calls[0].method, 'PUT');
    assert.deepEqual(JSON.parse(rec.calls[0].requestBody), [{ id: people[9].id }, { id: people[2].id }]);
    const expected = [people[2], people[9]].map(asGroupMember);
    assert.deepEqual(replaced.result, expected);
    assert.deepEqual(await membersOf(ug), expected);

    const emptied = await rc.iam.userGroups.members.update(ug.id, { account_id, members: [] });
    assert.equal(rec.calls[1].requestBody, '[]', 'the SDK sends a bare []');
    assert.deepEqual(rec.calls[1].body.result, [], 'result is [] (not null)');
    assert.deepEqual(emptied.result, []);
    const page = await c.iam.userGroups.members.list(ug.id, { account_id });
    assert.deepEqual(page.result, []);
    assertResultInfo(page.result_info, { page: 1, count: 0, totalCount: 0 });
  });

  it('get returns the detailed shape {id, email, status, created_at, user{id, email, first_name, last_name}}', async () => {
    const ug = await newGroup();
    const m = people[3]; // pending
    const before = Date.now();
    await sleep(2);
    await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: m.id }] });
    await sleep(2);
    const after = Date.now();

    const got = await c.iam.userGroups.members.get(m.id, { account_id, user_group_id: ug.id });
    assert.equal(got.id, m.id);
    assert.equal(got.email, m.email);
    assert.equal(got.status, m.status);
    assertTimestamp(got.created_at, 'created_at');
    const t = Date.parse(got.created_at);
    assert.ok(t >= before - 1000 && t <= after + 1000, `created_at ${got.created_at} is when the member was added`);
    assert.ok(got.user && typeof got.user === 'object', 'user object');
    assert.equal(got.user.id, m.user.id);
    assert.equal(got.user.email, m.email);
    assert.ok('first_name' in got.user, 'user.first_name present');
    assert.ok('last_name' in got.user, 'user.last_name present');
    assert.equal(got.user.first_name, m.user.first_name);
    assert.equal(got.user.last_name, m.user.last_name);

    // re-adding does not move created_at
    await sleep(5);
    await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: m.id }] });
    const again = await c.iam.userGroups.members.get(m.id, { account_id, user_group_id: ug.id });
    assert.deepEqual(again, got);

    // an account member that is not in the group
    await expectApiError(
      c.iam.userGroups.members.get(people[4].id, { account_id, user_group_id: ug.id }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
  });

  describe('list: pagination, fuzzyEmail, direction', () => {
    let ug;
    let all;

    before(async () => {
      ug = await newGroup(uniq('Everyone'));
      // add in two batches, out of order
      await c.iam.userGroups.members.create(ug.id, { account_id, members: people.slice(6).reverse().map((m) => ({ id: m.id })) });
      await c.iam.userGroups.members.create(ug.id, { account_id, members: people.slice(0, 6).map((m) => ({ id: m.id })) });
    });

    it('walks every page with `for await` (per_page 5, 3+ pages), by email then id', async () => {
      const rec = recordingFetch();
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const first = await rc.iam.userGroups.members.list(ug.id, { account_id, per_page: 5 });
      assertResultInfo(first.result_info, { page: 1, perPage: 5, count: 5, totalCount: 12 });
      assert.equal(first.result_info.total_pages, 3);

      rec.calls.length = 0;
      all = [];
      for await (const m of rc.iam.userGroups.members.list(ug.id, { account_id, per_page: 5 })) all.push(m);
      assert.equal(rec.calls.length, 4, '3 pages + the empty one');
      assert.deepEqual(
        rec.calls.map((x) => new URL(x.url).searchParams.get('page')),
        [null, '2', '3', '4'],
      );
      assert.equal(all.length, 12);
      assertNoDuplicateIds(all, 'group members');
      assert.deepEqual(all, [...people].map(asGroupMember).sort(byEmailThenId));
      assertOrderedBy(all, [[(m) => m.email, 'asc'], [(m) => m.id, 'asc']], { what: 'group members' });

      const p3 = await c.iam.userGroups.members.list(ug.id, { account_id, per_page: 5, page: 3 });
      assertResultInfo(p3.result_info, { page: 3, perPage: 5, count: 2, totalCount: 12 });
      const past = await c.iam.userGroups.members.list(ug.id, { account_id, per_page: 5, page: 4 });
      assert.deepEqual(past.result, []);
    });

    it('per_page defaults to 100 (and is clamped to 1..500)', async () => {
      const def = await c.iam.userGroups.members.list(ug.id, { account_id });
      assertResultInfo(def.result_info, { page: 1, perPage: 100, count: 12, totalCount: 12 });
      assert.deepEqual(def.result, all);
      const big = await c.iam.userGroups.members.list(ug.id, { account_id, per_page: 9999 });
      assert.equal(big.result_info.per_page, 500);
      const small = await c.iam.userGroups.members.list(ug.id, { account_id, per_page: 0 });
      assert.equal(small.result_info.per_page, 1);
      assert.deepEqual(small.result, [all[0]]);
    });

    it('direction=desc reverses the order', async () => {
      assert.ok(all, 'needs the first list test');
      const desc = await collect(c.iam.userGroups.members.list(ug.id, { account_id, per_page: 5, direction: 'desc' }));
      assert.deepEqual(desc, [...all].reverse());
      const asc = await collect(c.iam.userGroups.members.list(ug.id, { account_id, per_page: 5, direction: 'asc' }));
      assert.deepEqual(asc, all);
    });

    it('fuzzyEmail: camelCase on the wire, substring match', async () => {
      const rec = recordingFetch();
      const rc = srv.tokenClient(srv.boot.api_token, { fetch: rec.fetch });
      const ones = await collect(rc.iam.userGroups.members.list(ug.id, { account_id, fuzzyEmail: 'ugm-1', per_page: 5 }));
      assert.equal(new URL(rec.calls[0].url).searchParams.get('fuzzyEmail'), 'ugm-1', `wire: ${rec.calls[0].url}`);
      // ugm-10, ugm-11, ugm-12
      assert.deepEqual(ones, [people[9], people[10], people[11]].map(asGroupMember));

      const one = await c.iam.userGroups.members.list(ug.id, { account_id, fuzzyEmail: `07-${tag}@exa` });
      assert.deepEqual(one.result, [asGroupMember(people[6])]);
      assertResultInfo(one.result_info, { count: 1, totalCount: 1 });

      const desc = await collect(
        c.iam.userGroups.members.list(ug.id, { account_id, fuzzyEmail: 'ugm-1', direction: 'desc', per_page: 5 }),
      );
      assert.deepEqual(desc, [...ones].reverse());

      const none = await c.iam.userGroups.members.list(ug.id, { account_id, fuzzyEmail: 'nobody-here' });
      assert.deepEqual(none.result, []);
      assertResultInfo(none.result_info, { count: 0, totalCount: 0 });
    });

    it('fuzzyEmail is case-insensitive (emails are stored lower-case)', async () => {
      const upper = await collect(c.iam.userGroups.members.list(ug.id, { account_id, fuzzyEmail: `UGM-0`, per_page: 5 }));
      assert.deepEqual(upper, people.slice(0, 9).map(asGroupMember));
    });
  });

  it('a member\'s status change in the account shows in the group (list, get, delete answer)', async () => {
    const m = await c.accounts.members.create({
      account_id,
      email: `${uniq('promoted')}@example.com`,
      roles: [ROLE.ADMIN_RO],
    });
    assert.equal(m.status, 'pending');
    const ug = await newGroup();
    const added = await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: m.id }] });
    assert.deepEqual(added.result, [asGroupMember(m)]);

    const accepted = await c.accounts.members.update(m.id, { account_id, status: 'accepted' });
    assert.equal(accepted.status, 'accepted');
    assert.deepEqual(await membersOf(ug), [asGroupMember(accepted)], 'list shows the current status');
    const got = await c.iam.userGroups.members.get(m.id, { account_id, user_group_id: ug.id });
    assert.equal(got.status, 'accepted', 'get shows the current status');
    const again = await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: m.id }] });
    assert.deepEqual(again.result, [asGroupMember(accepted)], 'add answer shows the current status');
    const removed = await c.iam.userGroups.members.delete(m.id, { account_id, user_group_id: ug.id });
    assert.deepEqual(removed, asGroupMember(accepted), 'delete answer shows the current status');
  });

  it('fuzzyEmail treats % and _ literally (no SQL LIKE wildcards)', async () => {
    const ug = await newGroup();
    await c.iam.userGroups.members.create(ug.id, { account_id, members: people.map((m) => ({ id: m.id })) });
    const pct = await c.iam.userGroups.members.list(ug.id, { account_id, fuzzyEmail: '%' });
    assert.deepEqual(pct.result, [], `fuzzyEmail=% matched ${JSON.stringify(pct.result.map((m) => m.email))}`);
    const und = await c.iam.userGroups.members.list(ug.id, { account_id, fuzzyEmail: 'ugm_0' });
    assert.deepEqual(und.result, [], `fuzzyEmail=ugm_0 matched ${JSON.stringify(und.result.map((m) => m.email))}`);
  });

  it('concurrent adds of the same members all succeed and count once', async () => {
    const ug = await newGroup();
    const body = [{ id: people[0].id }, { id: people[1].id }];
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => c.iam.userGroups.members.create(ug.id, { account_id, members: body })),
    );
    for (const a of answers) assert.deepEqual(a.result, [people[0], people[1]].map(asGroupMember));
    assert.deepEqual(await membersOf(ug), [people[0], people[1]].map(asGroupMember));
  });

  it('delete removes one member and answers it {id, email, status}; then 404/1003', async () => {
    const ug = await newGroup();
    await c.iam.userGroups.members.create(ug.id, { account_id, members: [{ id: people[0].id }, { id: people[1].id }] });
    const removed = await c.iam.userGroups.members.delete(people[1].id, { account_id, user_group_id: ug.id });
    assert.deepEqual(removed, asGroupMember(people[1]));
    assert.deepEqual(await membersOf(ug), [asGroupMember(people[0])]);
    await expectApiError(
      c.iam.userGroups.members.get(people[1].id, { account_id, user_group_id: ug.id }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    await expectApiError(
      c.iam.userGroups.members.delete(people[1].id, { account_id, user_group_id: ug.id }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    // still an account member
    const m = await c.accounts.members.get(people[1].id, { account_id });
    assert.equal(m.id, people[1].id);
  });

  it('the group modified_on moves on add, replace and remove (not created_on)', async () => {
    let g = await newGroup();
    const seen = [g.modified_on];
    const step = async (what, fn) => {
      await sleep(5);
      await fn();
      const now = await c.iam.userGroups.get(g.id, { account_id });
      assertUserGroup(now);
      assert.equal(now.created_on, g.created_on, `${what}: created_on unchanged`);
      assert.ok(
        Date.parse(now.modified_on) > Date.parse(seen.at(-1)),
        `${what}: modified_on ${seen.at(-1)} -> ${now.modified_on}`,
      );
      seen.push(now.modified_on);
      g = now;
    };
    await step('add', () => c.iam.userGroups.members.create(g.id, { account_id, members: [{ id: people[0].id }] }));
    await step('replace', () =>
      c.iam.userGroups.members.update(g.id, { account_id, members: [{ id: people[1].id }, { id: people[2].id }] }),
    );
    await step('remove', () => c.iam.userGroups.members.delete(people[1].id, { account_id, user_group_id: g.id }));
    await step('empty', () => c.iam.userGroups.members.update(g.id, { account_id, members: [] }));
  });

  it('deleting an account member removes it from every group (and moves their modified_on)', async () => {
    const m = await c.accounts.members.create({
      account_id,
      email: `${uniq('leaver')}@example.com`,
      roles: [ROLE.ADMIN_RO],
      status: 'accepted',
    });
    const g1 = await newGroup();
    const g2 = await newGroup();
    await c.iam.userGroups.members.create(g1.id, { account_id, members: [{ id: m.id }, { id: people[0].id }] });
    await c.iam.userGroups.members.create(g2.id, { account_id, members: [{ id: m.id }] });
    const before1 = await c.iam.userGroups.get(g1.id, { account_id });
    const before2 = await c.iam.userGroups.get(g2.id, { account_id });
    await sleep(5);

    assert.deepEqual(await c.accounts.members.delete(m.id, { account_id }), { id: m.id });

    assert.deepEqual(await membersOf(g1), [asGroupMember(people[0])]);
    assert.deepEqual(await membersOf(g2), []);
    await expectApiError(
      c.iam.userGroups.members.get(m.id, { account_id, user_group_id: g1.id }),
      Cloudflare.NotFoundError,
      { status: 404, code: 1003 },
    );
    const after1 = await c.iam.userGroups.get(g1.id, { account_id });
    const after2 = await c.iam.userGroups.get(g2.id, { account_id });
    assert.ok(Date.parse(after1.modified_on) > Date.parse(before1.modified_on), 'g1 modified_on moves');
    assert.ok(Date.parse(after2.modified_on) > Date.parse(before2.modified_on), 'g2 modified_on moves');
  });

  it('deleting a user group with members leaves the account members alone', async () => {
    const g = await newGroup();
    await c.iam.userGroups.members.create(g.id, { account_id, members: [{ id: people[0].id }] });
    assert.deepEqual(await c.iam.userGroups.delete(g.id, { account_id }), { id: g.id });
    await expectApiError(c.iam.userGroups.members.list(g.id, { account_id }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    assert.equal((await c.accounts.members.get(people[0].id, { account_id })).id, people[0].id);
  });

  it('unknown group is 404/1003 on every members method; malformed ids are 400/7003', async () => {
    const g = randomId();
    const m = people[0].id;
    await expectApiError(c.iam.userGroups.members.list(g, { account_id }), Cloudflare.NotFoundError, { status: 404, code: 1003 });
    await expectApiError(c.iam.userGroups.members.create(g, { account_id, members: [{ id: m }] }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(c.iam.userGroups.members.update(g, { account_id, members: [] }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(c.iam.userGroups.members.get(m, { account_id, user_group_id: g }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    await expectApiError(c.iam.userGroups.members.delete(m, { account_id, user_group_id: g }), Cloudflare.NotFoundError, {
      status: 404,
      code: 1003,
    });
    const ug = await newGroup();
    await expectApiError(c.iam.userGroups.members.get('bad', { account_id, user_group_id: ug.id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 7003,
    });
    await expectApiError(c.iam.userGroups.members.list('bad', { account_id }), Cloudflare.BadRequestError, {
      status: 400,
      code: 7003,
    });
  });

  it('a body that is not an array of {id} is 400/1001', async () => {
    const ug = await newGroup();
    const res = await fetch(`${srv.baseURL}/accounts/${account_id}/iam/user_groups/${ug.id}/members`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.boot.api_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ members: [{ id: people[0].id }] }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.success, false);
    assert.equal(body.errors[0].code, 1001);
    assert.deepEqual(await membersOf(ug), []);
  });
});
