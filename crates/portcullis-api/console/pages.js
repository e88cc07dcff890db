// The console's pages. Each takes the route context `ctx` (`account`, `id`, `params`, `href`,
// `withParams`, `rerender`) and resolves the nodes of `main`; every read and write is one API
// call with the signed-in credentials.

import * as api from './api.js';
import { describePolicy, policyBuilder } from './policy.js';
import {
  button, checkbox, confirm, copy, failure, field, fill, h, nextId, notify, onSubmit, pager, select, table, when,
} from './ui.js';

const PER_PAGE = 20;
/** The API path of the page's account. */
export const A = (ctx) => `/accounts/${encodeURIComponent(ctx.account)}`;
const pageOf = (ctx) => Math.max(1, parseInt(ctx.params.get('page') || '1', 10) || 1);

// ---------------------------------------------------------------------------------------------
// Catalogs (read afresh for each page view: they are small, and may have changed).

export const catalogs = {
  memberGroups: (ctx) => api.all(`${A(ctx)}/iam/permission_groups`),
  tokenGroups: async (ctx, user) => (await api.get(user ? '/user/tokens/permission_groups' : `${A(ctx)}/tokens/permission_groups`)).result,
  roles: async (ctx) => (await api.get(`${A(ctx)}/roles`, { per_page: 500 })).result,
  resourceGroups: async (ctx) => (await api.get(`${A(ctx)}/iam/resource_groups`)).result,
  members: (ctx) => api.all(`${A(ctx)}/members`),
};

function section(title, ...children) {
  const id = nextId('s');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), children);
}

/** A form inside a section: `h2` title, fields, a submit button. */
function formSection(title, submitText, fields, action, done) {
  const form = h('form', { novalidate: true }, fields, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, submitText)));
  onSubmit(form, action, done);
  return section(title, form);
}

/** A search box that puts its text in the address (`q`), where the page reads it for the API's filter. */
function searchForm(ctx, label, value) {
  const input = h('input', { type: 'search', value, autocomplete: 'off' });
  return h('form', {
    role: 'search',
    class: 'toolbar',
    onsubmit: (e) => { e.preventDefault(); ctx.withParams({ q: input.value.trim(), page: undefined }); },
  }, field(label, input), h('button', { type: 'submit' }, 'Search'));
}

/** Runs a row action; shows its error in an alert in `anchor` (above the table). */
async function act(ctx, anchor, action, success) {
  try {
    await action();
    if (success) notify(success);
    await ctx.rerender();
  } catch (e) {
    const box = failure(e);
    anchor.replaceChildren(box);
    box.setAttribute('tabindex', '-1');
    box.focus();
  }
}

const scopeText = (rg) => (Array.isArray(rg.scope) ? rg.scope : [rg.scope])
  .map((s) => `${s.key}: ${s.objects.map((o) => o.key).join(', ')}`).join('; ');

function accessOf(m) {
  if (m.policies && m.policies.length) return `${m.policies.length} ${m.policies.length === 1 ? 'policy' : 'policies'}`;
  if (m.roles && m.roles.length) return m.roles.map((r) => r.name).join(', ');
  return 'No direct access (user groups only)';
}

// ---------------------------------------------------------------------------------------------
// Accounts

async function accountsPage(ctx) {
  // An account-owned token cannot list accounts (Cloudflare's rule); it sees the one it names.
  const env = ctx.session.accountToken
    ? { result: ctx.session.accounts, result_info: { page: 1, per_page: 1, total_pages: 1, total_count: 1 } }
    : await api.get('/accounts', { page: pageOf(ctx), per_page: PER_PAGE });
  const list = table({
    caption: 'Accounts your credentials can see',
    columns: [
      { title: 'Name', cell: (a) => h('a', { href: ctx.href('members', a.id) }, a.name) },
      { title: 'Id', cell: (a) => h('code', {}, a.id) },
      { title: 'Created', cell: (a) => when(a.created_on) },
    ],
    rows: env.result,
    empty: 'No accounts yet. An operator creates one below (or runs portcullis bootstrap).',
  });
  const name = h('input', { type: 'text', required: true, maxlength: 100 });
  const create = formSection('Create an account', 'Create account', [
    h('p', { class: 'muted' }, 'Operators only, signed in with their global API key; you become its Super Administrator.'),
    field('Account name', name, { pointer: '/name' }),
  ], () => api.post('/accounts', { name: name.value.trim() }), async (env2) => {
    notify(`Account ${env2.result.name} created.`);
    ctx.session.accounts = await api.all('/accounts');
    location.hash = ctx.href('members', env2.result.id);
  });
  const out = [h('h1', {}, 'Accounts'), list, pager(env.result_info, (p) => ctx.withParams({ page: p }))];
  if (ctx.session.user) out.push(await invitationsSection(ctx));
  out.push(create);
  return out;
}

/** The signed-in user's pending invitations (`GET /memberships?status=pending`), to accept or decline. */
async function invitationsSection(ctx) {
  const pending = await api.all('/memberships', { status: 'pending' }).catch((e) => e);
  if (pending instanceof Error) return section('Your invitations', failure(pending));
  const anchor = h('div', {});
  const decide = (m, status) => act(ctx, anchor, async () => {
    await api.put(`/memberships/${m.id}`, { status });
    ctx.session.accounts = await api.all('/accounts');
  }, `Invitation to ${m.account.name} ${status}.`);
  return section('Your invitations', anchor, table({
    caption: 'Accounts that invited you; accepting gives you the access the invitation names',
    columns: [
      { title: 'Account', cell: (m) => m.account.name },
      { title: 'Roles', cell: (m) => (m.roles || []).join(', ') || '—' },
      {
        title: 'Actions',
        cell: (m) => h('div', { class: 'row-actions' },
          button('Accept', () => decide(m, 'accepted')),
          button('Decline', async () => {
            if (await confirm('Decline invitation', `Decline the invitation to ${m.account.name}?`)) await decide(m, 'rejected');
          })),
      },
    ],
    rows: pending,
    empty: 'No pending invitations.',
  }));
}

// ---------------------------------------------------------------------------------------------
// Members

async function membersPage(ctx) {
  const status = ctx.params.get('status') || '';
  const order = ctx.params.get('order') || 'user.email';
  const [env, roles] = await Promise.all([
    api.get(`${A(ctx)}/members`, { page: pageOf(ctx), per_page: PER_PAGE, status: status || undefined, order }),
    catalogs.roles(ctx).catch(() => []),
  ]);
  const filter = select([['', 'All'], ['accepted', 'Accepted'], ['pending', 'Pending']], status);
  filter.addEventListener('change', () => ctx.withParams({ status: filter.value, page: undefined }));
  const sort = select([['user.email', 'Email'], ['status', 'Status'], ['user.first_name', 'First name'], ['user.last_name', 'Last name']], order);
  sort.addEventListener('change', () => ctx.withParams({ order: sort.value === 'user.email' ? undefined : sort.value, page: undefined }));
  const anchor = h('div', {});
  const list = table({
    caption: 'Members of this account',
    columns: [
      { title: 'Email', cell: (m) => h('a', { href: ctx.href('members', ctx.account, m.id) }, m.user?.email || m.email) },
      { title: 'Status', cell: (m) => h('span', { class: `badge ${m.status}` }, m.status) },
      { title: 'Access', cell: (m) => accessOf(m) },
      {
        title: 'Actions',
        cell: (m) => h('div', { class: 'row-actions' },
          h('a', { href: ctx.href('why', ctx.account, undefined, { member: m.id }), class: 'button' }, 'Why?'),
          button('Remove', async () => {
            if (!await confirm('Remove member', `Remove ${m.user?.email || m.email} from this account? Their API access to it ends at once.`)) return;
            await act(ctx, anchor, () => api.del(`${A(ctx)}/members/${m.id}`), `${m.user?.email || m.email} removed.`);
          })),
      },
    ],
    rows: env.result,
    empty: status ? `No ${status} members. Choose "All" to see everyone.` : 'No members yet: invite someone below.',
  });
  const email = h('input', { type: 'email', required: true, autocomplete: 'off' });
  const invStatus = select([['pending', 'Pending'], ['accepted', 'Accepted']], 'pending');
  const roleBoxes = roles.map((r) => checkbox(r.name, { value: r.id }));
  // A member gets either legacy roles or policies (the API takes one of the two).
  const kind = select([['roles', 'Roles'], ['policies', 'Policies']], 'roles');
  const rolesBox = h('fieldset', { class: 'choices', dataset: { pointer: '/roles' } }, h('legend', {}, 'Roles'),
    h('p', { class: 'muted' }, 'Leave all unchecked to give access through user groups only.'),
    h('div', { class: 'scroll short' }, roleBoxes));
  // The policy builder's catalogs are read only when "Policies" is chosen (most invitations
  // give roles, and this is the console's busiest page).
  let builder = null;
  const policiesBox = h('div', { hidden: true });
  kind.addEventListener('change', async () => {
    rolesBox.hidden = kind.value !== 'roles';
    policiesBox.hidden = kind.value !== 'policies';
    if (kind.value === 'policies' && !builder) {
      const [groups, rgs] = await Promise.all([
        catalogs.memberGroups(ctx).catch(() => []),
        catalogs.resourceGroups(ctx).catch(() => []),
      ]);
      builder = policyBuilder({ mode: 'member', account: ctx.account, groups, resourceGroups: rgs });
      policiesBox.append(builder.element);
    }
  });
  const invite = formSection('Invite a member', 'Invite', [
    field('Email', email, { pointer: '/email' }),
    field('Status', invStatus, { pointer: '/status', hint: 'Pending: the user accepts it under their memberships. Accepted: access starts now.' }),
    field('Access by', kind),
    rolesBox,
    policiesBox,
  ], () => {
    const body = { email: email.value.trim(), status: invStatus.value };
    if (kind.value === 'policies') {
      if (!builder) throw new api.ApiError(0, [{ code: 0, message: 'The policy builder is still loading; try again in a moment.' }]);
      body.policies = builder.value();
    }
    else body.roles = roleBoxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    return api.post(`${A(ctx)}/members`, body);
  }, async (r) => { notify(`${r.result.email} invited (${r.result.status}).`); await ctx.rerender(); });
  return [
    h('h1', {}, 'Members'),
    h('div', { class: 'toolbar' }, field('Show', filter), field('Sort by', sort)),
    anchor, list, pager(env.result_info, (p) => ctx.withParams({ page: p })), invite,
  ];
}

export function sourceText(source) {
  if (!source) return '';
  switch (source.kind) {
    case 'member': return 'own policy';
    case 'role': return `role: ${source.role?.name || source.role?.id || ''}`;
    case 'user_group': return `user group: ${source.user_group?.name || source.user_group?.id || ''}`;
    case 'token': return 'token policy';
    default: return source.kind;
  }
}

/** The effective-policies table of a member (`decided`: policy ids to mark). */
export function effectiveTable(effective, decided = new Set()) {
  return table({
    caption: `Every policy that applies to ${effective.email}${effective.status !== 'accepted' ? ` (none applies while the membership is ${effective.status})` : ''}`,
    columns: [
      { title: 'Source', cell: (p) => sourceText(p.source) },
      { title: 'Effect', cell: (p) => h('span', { class: `badge ${p.access}` }, p.access) },
      { title: 'Permission groups', cell: (p) => p.permission_groups.map((g) => g.name).join(', ') },
      { title: 'Resources', cell: (p) => (p.resource_groups.length ? p.resource_groups.map((g) => g.name).join(', ') : p.resources.join(', ')) },
      decided.size ? { title: 'Decided', cell: (p) => (decided.has(p.id) ? h('strong', {}, 'decided this') : '') } : null,
    ].filter(Boolean),
    rows: effective.policies,
    empty: 'No policy applies: this member can do nothing in the account. Give them a role, a policy, or put them in a user group.',
  });
}

async function memberPage(ctx) {
  const [m, roles, effective] = await Promise.all([
    api.get(`${A(ctx)}/members/${encodeURIComponent(ctx.id)}`).then((e) => e.result),
    catalogs.roles(ctx).catch(() => []),
    api.get(`${A(ctx)}/members/${encodeURIComponent(ctx.id)}/effective_policies`).then((e) => e.result).catch((e) => e),
  ]);
  const email = m.user?.email || m.email;
  const out = [h('h1', {}, email), h('p', {}, h('span', { class: `badge ${m.status}` }, m.status), ' ',
    h('a', { href: ctx.href('why', ctx.account, undefined, { member: m.id }) }, 'Ask "Why?" for this member'))];
  if (m.status === 'pending') {
    const anchor = h('div', {});
    out.push(anchor, button('Mark accepted', () => act(ctx, anchor, () => api.put(`${A(ctx)}/members/${m.id}`, { status: 'accepted' }), `${email} accepted.`)));
  }
  if (effective instanceof Error) {
    out.push(section('User groups', failure(effective)), section('Effective policies', failure(effective)));
  } else {
    const groupsOf = new Map();
    for (const p of effective.policies) if (p.source.kind === 'user_group') groupsOf.set(p.source.user_group.id, p.source.user_group.name);
    out.push(section('User groups', groupsOf.size
      ? h('ul', {}, [...groupsOf].map(([id, name]) => h('li', {}, h('a', { href: ctx.href('user-groups', ctx.account, id) }, name))))
      : h('p', { class: 'empty' }, 'In no user group that grants anything. Add the member from a user group\'s page.')));
    out.push(section('Effective policies', effectiveTable(effective)));
  }
  const have = new Set((m.roles || []).map((r) => r.id));
  const roleBoxes = roles.map((r) => checkbox(r.name, { value: r.id, checked: have.has(r.id) }));
  if (!(m.policies && m.policies.length)) {
    out.push(formSection('Roles', 'Save roles', [
      h('fieldset', { class: 'choices', dataset: { pointer: '/roles' } }, h('legend', {}, 'Legacy roles'), h('div', { class: 'scroll' }, roleBoxes)),
    ], () => api.put(`${A(ctx)}/members/${m.id}`, {
      roles: roleBoxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => ({ id: i.value })),
    }), async () => { notify('Roles saved.'); await ctx.rerender(); }));
  } else {
    out.push(section('Roles', h('p', { class: 'muted' }, 'This member holds policies instead of roles.')));
  }
  const [groups, rgs] = await Promise.all([catalogs.memberGroups(ctx), catalogs.resourceGroups(ctx)]);
  const builder = policyBuilder({ mode: 'member', account: ctx.account, groups, resourceGroups: rgs, initial: m.policies || [] });
  out.push(formSection('Policies', 'Save policies', [
    h('p', { class: 'muted' }, m.policies && m.policies.length
      ? 'The member\'s own policies. Saving replaces the set.'
      : 'Saving policies replaces the member\'s roles with these policies.'),
    builder.element,
  ], () => api.put(`${A(ctx)}/members/${m.id}`, { policies: builder.value() }), async () => { notify('Policies saved.'); await ctx.rerender(); }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// User groups

async function userGroupsPage(ctx) {
  if (ctx.id) return userGroupPage(ctx);
  const q = ctx.params.get('q') || '';
  const [env, groups, rgs] = await Promise.all([
    api.get(`${A(ctx)}/iam/user_groups`, { page: pageOf(ctx), per_page: PER_PAGE, fuzzyName: q || undefined }),
    catalogs.memberGroups(ctx),
    catalogs.resourceGroups(ctx),
  ]);
  const list = table({
    caption: 'User groups: members of a group hold its policies',
    columns: [
      { title: 'Name', cell: (g) => h('a', { href: ctx.href('user-groups', ctx.account, g.id) }, g.name) },
      { title: 'Members', cell: (g) => String(g.members_count ?? g.members?.length ?? '') },
      { title: 'Policies', cell: (g) => String(g.policies?.length ?? 0) },
      { title: 'Modified', cell: (g) => when(g.modified_on) },
    ],
    rows: env.result,
    empty: q ? `No user group name contains "${q}".` : 'No user groups yet. Create one below, then add members to it.',
  });
  const name = h('input', { type: 'text', required: true, maxlength: 255 });
  const builder = policyBuilder({ mode: 'member', account: ctx.account, groups, resourceGroups: rgs });
  const create = formSection('New user group', 'Create user group', [field('Name', name, { pointer: '/name' }), builder.element],
    () => api.post(`${A(ctx)}/iam/user_groups`, { name: name.value.trim(), policies: builder.value() }),
    async (r) => { notify(`User group ${r.result.name} created.`); await ctx.rerender(); });
  return [h('h1', {}, 'User groups'), searchForm(ctx, 'Search user groups', q), list, pager(env.result_info, (p) => ctx.withParams({ page: p })), create];
}

async function userGroupPage(ctx) {
  const base = `${A(ctx)}/iam/user_groups/${encodeURIComponent(ctx.id)}`;
  const [group, env, everyone, groups, rgs] = await Promise.all([
    api.get(base).then((e) => e.result),
    api.get(`${base}/members`, { page: pageOf(ctx), per_page: 50, fuzzyEmail: ctx.params.get('q') || undefined }),
    catalogs.members(ctx),
    catalogs.memberGroups(ctx),
    catalogs.resourceGroups(ctx),
  ]);
  const anchor = h('div', {});
  const selected = new Set();
  const members = table({
    caption: `Members of ${group.name}`,
    columns: [
      { title: 'Email', cell: (m) => h('a', { href: ctx.href('members', ctx.account, m.id) }, m.email) },
      { title: 'Status', cell: (m) => h('span', { class: `badge ${m.status}` }, m.status) },
      {
        title: 'Select',
        cell: (m) => checkbox(`Select ${m.email}`, { onchange: (e) => (e.target.checked ? selected.add(m.id) : selected.delete(m.id)) }),
      },
    ],
    rows: env.result,
    empty: ctx.params.get('q') ? `No member of this group has an email containing "${ctx.params.get('q')}".` : 'Nobody is in this group yet: add members below.',
  });
  const removeSelected = button('Remove selected', async () => {
    if (!selected.size) {
      anchor.replaceChildren(failure({ message: 'Select the members to remove first.' }));
      return;
    }
    if (!await confirm('Remove members', `Remove ${selected.size} member(s) from ${group.name}? They lose its policies at once.`)) return;
    // One DELETE per member (each its own change, each in the audit log). Should one fail, the
    // message says how many went before it, and the page then shows the group as it is.
    const count = selected.size;
    await act(ctx, anchor, async () => {
      let done = 0;
      for (const id of selected) {
        try {
          await api.del(`${base}/members/${id}`);
        } catch (e) {
          if (done) e.errors = [{ code: 0, message: `Removed ${done} of ${count}; then:` }, ...e.errors];
          throw e;
        }
        done += 1;
      }
    }, `${count} member(s) removed.`);
  }, { disabled: !env.result.length });
  const inGroup = new Set(env.result.map((m) => m.id));
  const candidates = everyone.filter((m) => !inGroup.has(m.id));
  const addBoxes = candidates.map((m) => checkbox(m.user?.email || m.email, { value: m.id }));
  const add = formSection('Add members', 'Add selected', [
    candidates.length ? h('div', { class: 'scroll', dataset: { pointer: '/' } }, addBoxes)
      : h('p', { class: 'empty' }, 'Every member of the account is in this group. Invite more people on the Members page.'),
  ], () => {
    const ids = addBoxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => ({ id: i.value }));
    if (!ids.length) throw new api.ApiError(400, [{ code: 1001, message: 'Select at least one member to add.' }]);
    return api.post(`${base}/members`, ids);
  }, async (r) => { notify(`${r.result.length} member(s) added.`); await ctx.rerender(); });
  const builder = policyBuilder({ mode: 'member', account: ctx.account, groups, resourceGroups: rgs, initial: group.policies || [] });
  const policies = formSection('Policies', 'Save policies', [
    h('ul', { class: 'summary' }, (group.policies || []).map((p) => h('li', {}, describePolicy(p, ctx.account)))),
    builder.element,
  ], () => api.put(base, { policies: builder.value() }), async () => { notify('Policies saved.'); await ctx.rerender(); });
  const nameInput = h('input', { type: 'text', value: group.name, maxlength: 255 });
  const rename = formSection('Name', 'Rename', [field('Name', nameInput, { pointer: '/name' })],
    () => api.put(base, { name: nameInput.value.trim() }), async () => { notify('Renamed.'); await ctx.rerender(); });
  const delAnchor = h('div', {});
  const remove = button('Delete user group', async () => {
    if (!await confirm('Delete user group', `Delete ${group.name}? Its members lose its policies at once.`)) return;
    try {
      await api.del(base);
      notify(`${group.name} deleted.`);
      location.hash = ctx.href('user-groups', ctx.account);
    } catch (e) {
      delAnchor.replaceChildren(failure(e));
    }
  }, { class: 'danger' });
  return [
    h('h1', {}, `User group: ${group.name}`),
    h('p', { class: 'muted' }, 'Modified ', when(group.modified_on), ' · ', h('a', { href: ctx.href('user-groups', ctx.account) }, 'All user groups')),
    section('Members', searchForm(ctx, 'Filter members by email', ctx.params.get('q') || ''), anchor, members, pager(env.result_info, (p) => ctx.withParams({ page: p })), h('div', { class: 'actions' }, removeSelected)),
    add, policies, rename, delAnchor, remove,
  ];
}

// ---------------------------------------------------------------------------------------------
// Resource groups

function scopeEditor(ctx, rg) {
  const objects = rg ? (Array.isArray(rg.scope) ? rg.scope[0] : rg.scope).objects.map((o) => o.key).join('\n') : '*';
  const textarea = h('textarea', { rows: 3, spellcheck: 'false', value: objects });
  const read = () => ({
    key: api.accountKey(ctx.account),
    objects: textarea.value.split('\n').map((s) => s.trim()).filter(Boolean).map((key) => ({ key })),
  });
  return {
    element: field('Scope objects', textarea, { pointer: '/scope', hint: 'One key per line: * for the whole account, or keys such as com.cloudflare.api.account.zone.<zone id>.' }),
    read,
  };
}

async function resourceGroupsPage(ctx) {
  const env = await api.get(`${A(ctx)}/iam/resource_groups`);
  const anchor = h('div', {});
  const editing = ctx.params.get('edit');
  const list = table({
    caption: 'Resource groups: what a policy applies to',
    columns: [
      { title: 'Name', cell: (g) => g.name },
      { title: 'Scope', cell: (g) => h('code', {}, scopeText(g)) },
      {
        title: 'Actions',
        cell: (g) => h('div', { class: 'row-actions' },
          h('a', { class: 'button', href: ctx.href('resource-groups', ctx.account, undefined, { edit: g.id }) }, 'Edit'),
          button('Delete', async () => {
            if (!await confirm('Delete resource group', `Delete ${g.name}?`)) return;
            await act(ctx, anchor, () => api.del(`${A(ctx)}/iam/resource_groups/${g.id}`), `${g.name} deleted.`);
          })),
      },
    ],
    rows: env.result,
    empty: 'No resource groups yet. Create one below (* covers the whole account), or choose "The whole account" in a policy.',
  });
  const out = [h('h1', {}, 'Resource groups'), anchor, list];
  const target = editing && env.result.find((g) => g.id === editing);
  if (target) {
    const name = h('input', { type: 'text', value: target.name, maxlength: 120 });
    const scope = scopeEditor(ctx, target);
    out.push(formSection(`Edit ${target.name}`, 'Save resource group', [field('Name', name, { pointer: '/name' }), scope.element],
      () => api.put(`${A(ctx)}/iam/resource_groups/${target.id}`, { name: name.value.trim(), scope: scope.read() }),
      () => { notify('Resource group saved.'); ctx.withParams({ edit: undefined }); }));
  }
  const name = h('input', { type: 'text', required: true, maxlength: 120 });
  const scope = scopeEditor(ctx);
  out.push(formSection('New resource group', 'Create resource group', [field('Name', name, { pointer: '/name' }), scope.element],
    () => api.post(`${A(ctx)}/iam/resource_groups`, { name: name.value.trim(), scope: scope.read() }),
    async (r) => { notify(`Resource group ${r.result.name} created.`); await ctx.rerender(); }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Permission groups

async function permissionGroupsPage(ctx) {
  const q = (ctx.params.get('q') || '').trim();
  const search = h('input', { type: 'search', value: q, autocomplete: 'off', placeholder: 'e.g. Read' });
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctx.withParams({ q: search.value.trim(), page: undefined }), 250);
  });
  let rows;
  let info;
  if (q) {
    // The API filters by exact name only; a search reads the catalog (a few pages) and filters here.
    const everything = await catalogs.memberGroups(ctx);
    const matches = everything.filter((g) => g.name.toLowerCase().includes(q.toLowerCase()));
    const page = pageOf(ctx);
    rows = matches.slice((page - 1) * PER_PAGE, page * PER_PAGE);
    info = { page, per_page: PER_PAGE, total_count: matches.length, total_pages: Math.max(1, Math.ceil(matches.length / PER_PAGE)) };
  } else {
    const env = await api.get(`${A(ctx)}/iam/permission_groups`, { page: pageOf(ctx), per_page: PER_PAGE });
    rows = env.result;
    info = env.result_info;
  }
  const list = table({
    caption: 'The permission groups members and user groups can be given',
    columns: [
      { title: 'Name', cell: (g) => g.name },
      { title: 'Scopes', cell: (g) => g.meta?.scopes || '' },
      { title: 'Description', cell: (g) => g.meta?.description || '' },
      { title: 'Id', cell: (g) => h('code', {}, g.id) },
    ],
    rows,
    empty: `No permission group matches "${q}". Try a shorter word, such as "Read".`,
  });
  const form = h('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); ctx.withParams({ q: search.value.trim(), page: undefined }); } },
    field('Search', search));
  return [h('h1', {}, 'Permission groups'), form, list, pager(info, (p) => ctx.withParams({ page: p }))];
}

// ---------------------------------------------------------------------------------------------
// Tokens (account-owned and user-owned)

function secretPanel(value, what, region) {
  const code = h('code', { class: 'secret' }, value);
  const status = h('span', { 'aria-live': 'polite' });
  const panel = h('section', { class: 'secret-panel', 'aria-label': region },
    h('h2', {}, what),
    h('p', {}, 'Copy it now: it is shown only once and stored only as a hash.'),
    code,
    h('div', { class: 'actions' },
      button('Copy', async () => { status.textContent = (await copy(value, code)) ? ' Copied.' : ' Selected: press Ctrl+C.'; }),
      status,
      button('Done', () => panel.remove())));
  return panel;
}

/**
 * A secret to show once, on the next render of the page that made it (a created or rolled
 * token, a new OAuth client secret): the write re-renders the page, then the page shows it.
 */
let revealNext = null;

/** Puts the pending secret (if any) in `anchor`, in a region named `region`, and forgets it. */
function showPendingSecret(anchor, region) {
  if (!revealNext) return;
  const { value, what } = revealNext;
  revealNext = null;
  const panel = secretPanel(value, what, region);
  anchor.replaceChildren(panel);
  requestAnimationFrame(() => panel.querySelector('button').focus());
}

function tokensPage(user) {
  return async (ctx) => {
    const base = user ? '/user/tokens' : `${A(ctx)}/tokens`;
    const title = user ? 'User tokens' : 'Account tokens';
    if (user && ctx.session.accountToken) {
      return [h('h1', {}, title), h('p', { class: 'empty' },
        'You are signed in with an account-owned token, which has no user. Sign in with a user\'s API token or email and global API key to manage their tokens.')];
    }
    const [env, groups] = await Promise.all([
      api.get(base, { page: pageOf(ctx), per_page: PER_PAGE }),
      catalogs.tokenGroups(ctx, user),
    ]);
    const anchor = h('div', {});
    const list = table({
      caption: user ? 'Your own API tokens (they act for you in every account you are a member of)' : 'Tokens owned by this account',
      columns: [
        { title: 'Name', cell: (t) => t.name },
        { title: 'Status', cell: (t) => h('span', { class: `badge ${t.status}` }, t.status) },
        { title: 'Policies', cell: (t) => t.policies.map((p) => describePolicy(p, ctx.account)).join('; ') },
        { title: 'Expires', cell: (t) => when(t.expires_on) },
        { title: 'Last used', cell: (t) => when(t.last_used_on) },
        {
          title: 'Actions',
          cell: (t) => h('div', { class: 'row-actions' },
            h('a', { class: 'button', href: ctx.href(user ? 'user-tokens' : 'tokens', ctx.account, undefined, { edit: t.id }) }, 'Edit'),
            button('Roll', async () => {
              if (!await confirm('Roll token', `Roll ${t.name}? Its current value stops working at once.`)) return;
              try {
                const r = await api.put(`${base}/${t.id}/value`, {});
                // Rolling the token this console is signed in with: carry on with the new value.
                const c = api.credentials();
                if (t.id === ctx.session.tokenId && c && c.kind === 'token') api.remember({ ...c, token: r.result });
                revealNext = { value: r.result, what: `New value of ${t.name}` };
                await ctx.rerender();
              } catch (e) {
                anchor.replaceChildren(failure(e));
              }
            }),
            t.status === 'disabled'
              ? button('Enable', () => act(ctx, anchor, () => api.put(`${base}/${t.id}`, { status: 'active' }), `${t.name} enabled.`))
              : button('Disable', () => act(ctx, anchor, () => api.put(`${base}/${t.id}`, { status: 'disabled' }), `${t.name} disabled.`)),
            button('Delete', async () => {
              const own = t.id === ctx.session.tokenId ? ' This is the token you are signed in with: you will be signed out.' : '';
              if (!await confirm('Delete token', `Delete ${t.name}? Anything using it stops working at once.${own}`)) return;
              await act(ctx, anchor, () => api.del(`${base}/${t.id}`), `${t.name} deleted.`);
            })),
        },
      ],
      rows: env.result,
      empty: 'No tokens yet. Create one below: pick what it may do and where.',
    });
    const account = ctx.account ? api.accountKey(ctx.account) : null;
    const scopes = [];
    if (account) {
      scopes.push(['account', 'This account', { [account]: '*' }]);
      scopes.push(['zones', 'All zones of this account', { [account]: { 'com.cloudflare.api.account.zone.*': '*' } }]);
    }
    if (user) scopes.push(['all', 'All accounts', { 'com.cloudflare.api.account.*': '*' }]);
    // The token form, for a new token or (`token`) to edit one: name, policies, expiry.
    const tokenForm = (token) => {
      const name = h('input', { type: 'text', required: true, maxlength: 120, value: token ? token.name : '' });
      const expires = h('input', { type: 'datetime-local', value: token && token.expires_on ? token.expires_on.slice(0, 16) : '' });
      const builder = policyBuilder({ mode: 'token', account: ctx.account, groups, scopes, initial: token ? token.policies : [] });
      const fields = [
        field('Name', name, { pointer: '/name' }),
        builder.element,
        field('Expires on', expires, { pointer: '/expires_on', hint: 'Optional (UTC). Leave empty for a token that does not expire.' }),
      ];
      const body = () => {
        const b = { name: name.value.trim(), policies: builder.value() };
        if (expires.value) b.expires_on = `${expires.value.length === 16 ? `${expires.value}:00` : expires.value}Z`;
        else if (token && token.expires_on) b.expires_on = null;
        return b;
      };
      return { fields, body };
    };
    const editing = ctx.params.get('edit') && env.result.find((t) => t.id === ctx.params.get('edit'));
    let edit = null;
    if (editing) {
      const f = tokenForm(editing);
      edit = formSection(`Edit ${editing.name}`, 'Save token', f.fields,
        () => api.put(`${base}/${editing.id}`, f.body()),
        () => { notify(`${editing.name} saved.`); ctx.withParams({ edit: undefined }); });
    }
    const fresh = tokenForm(null);
    const create = formSection('Create a token', 'Create token', fresh.fields, () => api.post(base, fresh.body()), async (r) => {
      revealNext = { value: r.result.value, what: `Token ${r.result.name} created` };
      await ctx.rerender();
    });
    showPendingSecret(anchor, 'New token value');
    return [h('h1', {}, title), anchor, list, pager(env.result_info, (p) => ctx.withParams({ page: p })), edit, create];
  };
}

// ---------------------------------------------------------------------------------------------
// SSO connectors

async function ssoPage(ctx) {
  const env = await api.get(`${A(ctx)}/sso_connectors`);
  const anchor = h('div', {});
  const record = (c) => `${c.email_domain}. 300 IN TXT "${c.verification?.code || ''}"`;
  const listOf = (connectors) => table({
    caption: 'SSO connectors: each proves this account owns an email domain',
    columns: [
      { title: 'Domain', cell: (c) => c.email_domain },
      { title: 'Verification', cell: (c) => h('span', { class: `badge ${c.verification?.status}` }, c.verification?.status || 'unknown') },
      { title: 'State', cell: (c) => (c.enabled ? 'Enabled' : 'Disabled') },
      {
        title: 'TXT record to publish',
        cell: (c) => h('div', {}, h('code', { class: 'record' }, record(c)),
          button('Copy record', (e) => copy(record(c), e.target.previousSibling))),
      },
      {
        title: 'Actions',
        cell: (c) => h('div', { class: 'row-actions' },
          c.verification?.status === 'verified' ? null
            : button('Begin verification', () => act(ctx, anchor, async () => {
              const r = await api.post(`${A(ctx)}/sso_connectors/${c.id}/begin_verification`);
              const m = (r.messages || [])[0];
              if (m) notify(m.message);
            })),
          c.enabled
            ? button('Disable', () => act(ctx, anchor, () => api.patch(`${A(ctx)}/sso_connectors/${c.id}`, { enabled: false }), `${c.email_domain} disabled.`))
            : (c.verification?.status === 'verified'
              ? button('Enable', () => act(ctx, anchor, () => api.patch(`${A(ctx)}/sso_connectors/${c.id}`, { enabled: true }), `${c.email_domain} enabled.`))
              : null),
          button('Delete', async () => {
            if (!await confirm('Delete connector', `Delete the connector for ${c.email_domain}?`)) return;
            await act(ctx, anchor, () => api.del(`${A(ctx)}/sso_connectors/${c.id}`), `${c.email_domain} deleted.`);
          })),
      },
    ],
    rows: connectors,
    empty: 'No SSO connectors yet. Add the email domain your people sign in with below; then publish the TXT record it shows.',
  });
  const holder = h('div', {});
  const refreshing = h('p', { class: 'muted', 'aria-live': 'polite' });
  const hash = location.hash;
  let shown = '';
  // The background verifier moves pending connectors along: while any is pending, read the list
  // again every 2 s and replace the table only (a half-typed domain in the form stays) when it
  // changed, for as long as this page is the one shown.
  const show = (connectors) => {
    const text = JSON.stringify(connectors);
    if (text !== shown) {
      shown = text;
      fill(holder, listOf(connectors));
    }
    const pending = connectors.some((c) => c.verification?.status === 'pending');
    refreshing.textContent = pending ? 'Refreshing every 2 seconds while a connector is pending.' : '';
    if (pending) setTimeout(poll, 2000);
  };
  const poll = async () => {
    if (location.hash !== hash || ctx.stale()) return;
    if (document.querySelector('dialog[open]')) {
      setTimeout(poll, 2000);
      return;
    }
    try {
      show((await api.get(`${A(ctx)}/sso_connectors`)).result);
    } catch {
      setTimeout(poll, 4000);
    }
  };
  show(env.result);
  const domain = h('input', { type: 'text', required: true, autocomplete: 'off', placeholder: 'acme.example' });
  const begin = checkbox('Begin verification now', { checked: true });
  const create = formSection('Add a connector', 'Add connector', [
    field('Email domain', domain, { pointer: '/email_domain' }),
    begin,
  ], () => api.post(`${A(ctx)}/sso_connectors`, { email_domain: domain.value.trim(), begin_verification: begin.querySelector('input').checked }),
  async (r) => { notify(`Connector for ${r.result.email_domain} added: publish its TXT record.`); await ctx.rerender(); });
  return [
    h('h1', {}, 'SSO connectors'),
    h('p', { class: 'lede' }, 'Publish each connector\'s TXT record on the domain itself. Portcullis looks it up at once, then every minute until it is found (verified) or the window closes (failed). Only a verified connector can be enabled.'),
    refreshing, anchor, holder, create,
  ];
}

// ---------------------------------------------------------------------------------------------
// OAuth clients

const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);

async function oauthClientsPage(ctx) {
  const base = `${A(ctx)}/oauth_clients`;
  const [env, scopes] = await Promise.all([
    api.get(base),
    api.get('/oauth/scopes').then((e) => e.result).catch(() => []),
  ]);
  const anchor = h('div', {});
  const list = table({
    caption: 'OAuth clients: applications that may ask people for access to this account',
    columns: [
      { title: 'Name', cell: (c) => c.client_name },
      { title: 'Client id', cell: (c) => h('code', {}, c.client_id) },
      { title: 'Redirect URIs', cell: (c) => c.redirect_uris.join(', ') },
      { title: 'Scopes', cell: (c) => c.scopes.join(', ') },
      { title: 'Secrets', cell: (c) => (c.has_rotated_secret ? 'current and previous' : 'current') },
      {
        title: 'Actions',
        cell: (c) => h('div', { class: 'row-actions' },
          button('Rotate secret', async () => {
            if (!await confirm('Rotate secret', `Give ${c.client_name} a new secret? The current one is kept as the previous secret until you delete it.`)) return;
            try {
              const r = await api.post(`${base}/${c.client_id}/rotate_secret`);
              revealNext = { value: r.result.client_secret, what: `New secret of ${c.client_name}` };
              await ctx.rerender();
            } catch (e) {
              anchor.replaceChildren(failure(e));
            }
          }),
          c.has_rotated_secret ? button('Delete previous secret', async () => {
            if (!await confirm('Delete previous secret', `Forget the previous secret of ${c.client_name}? Anything still using it stops working.`)) return;
            await act(ctx, anchor, () => api.del(`${base}/${c.client_id}/rotate_secret`), `Previous secret of ${c.client_name} deleted.`);
          }) : null,
          button('Delete', async () => {
            if (!await confirm('Delete OAuth client', `Delete ${c.client_name}?`)) return;
            await act(ctx, anchor, () => api.del(`${base}/${c.client_id}`), `${c.client_name} deleted.`);
          })),
      },
    ],
    rows: env.result,
    empty: 'No OAuth clients yet. Register an application below; its secret is shown once.',
  });
  const name = h('input', { type: 'text', required: true, maxlength: 255 });
  const redirects = h('textarea', { rows: 2, spellcheck: 'false', placeholder: 'https://app.example/callback' });
  const scopeBoxes = scopes.map((sc) => checkbox(`${sc.name} (${sc.id})`, { value: sc.id }));
  const identity = ['openid', 'email', 'profile', 'offline_access'].map((id) => checkbox(id, { value: id }));
  const refresh = checkbox('Refresh tokens (refresh_token grant)', { checked: true });
  const auth = select([['client_secret_basic', 'client_secret_basic'], ['client_secret_post', 'client_secret_post'], ['none', 'none (public client)']], 'client_secret_basic');
  const checked = (boxes) => boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
  const create = formSection('Register an OAuth client', 'Create OAuth client', [
    field('Client name', name, { pointer: '/client_name' }),
    field('Redirect URIs', redirects, { pointer: '/redirect_uris', hint: 'One per line: https, or http on a loopback host.' }),
    h('fieldset', { class: 'choices', dataset: { pointer: '/scopes' } }, h('legend', {}, 'Scopes'),
      h('div', { class: 'scroll short' }, identity, scopeBoxes)),
    refresh,
    field('Token endpoint authentication', auth, { pointer: '/token_endpoint_auth_method' }),
  ], () => api.post(base, {
    client_name: name.value.trim(),
    redirect_uris: lines(redirects.value),
    scopes: [...checked(identity), ...checked(scopeBoxes)],
    grant_types: refresh.querySelector('input').checked ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: auth.value,
  }), async (r) => {
    revealNext = { value: r.result.client_secret, what: `OAuth client ${r.result.client_name} created` };
    await ctx.rerender();
  });
  showPendingSecret(anchor, 'New client secret');
  return [h('h1', {}, 'OAuth clients'), anchor, list, create];
}

// ---------------------------------------------------------------------------------------------
// Audit log

/** The v1 log's `oldValue`/`newValue` are JSON text; shown as the values they hold. */
function parsed(text) {
  if (typeof text !== 'string') return text ?? undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function actorText(e) {
  const a = e.actor || {};
  if (a.email) return a.email;
  if (e.metadata && e.metadata.token_name) return `token ${e.metadata.token_name}`;
  const id = a.id && a.id.length > 12 ? `${a.id.slice(0, 8)}…` : (a.id || '');
  return `${a.type || 'unknown'} ${id}`.trim();
}

/** What an entry is about: its type and, from the values before or after, a name to know it by. */
function resourceText(e) {
  const r = e.resource || {};
  const value = parsed(e.newValue) || parsed(e.oldValue);
  const label = value && typeof value === 'object' ? (value.name || value.email || value.email_domain) : null;
  const id = r.id ? `${r.id.slice(0, 8)}…` : '';
  return [r.type, label ? `"${label}"` : null, label ? null : (id ? `(${id})` : null)].filter(Boolean).join(' ');
}

async function auditPage(ctx) {
  const action = ctx.params.get('action') || '';
  const actor = ctx.params.get('actor') || '';
  const since = ctx.params.get('since') || '';
  const env = await api.get(`${A(ctx)}/audit_logs`, {
    page: pageOf(ctx),
    per_page: PER_PAGE,
    direction: 'desc',
    'action.type': action || undefined,
    'actor.email': actor || undefined,
    since: since || undefined,
  });
  const filter = select([['', 'All'], ['create', 'create'], ['update', 'update'], ['delete', 'delete'], ['view', 'view']], action);
  const actorInput = h('input', { type: 'email', value: actor, autocomplete: 'off' });
  const sinceInput = h('input', { type: 'date', value: since });
  const filters = h('form', {
    role: 'search',
    class: 'toolbar',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      ctx.withParams({ action: filter.value, actor: actorInput.value.trim(), since: sinceInput.value, page: undefined });
    },
  }, field('Action', filter), field('Actor email', actorInput, { pointer: 'actor.email' }), field('Since', sinceInput, { pointer: 'since' }),
  h('button', { type: 'submit' }, 'Filter'));
  filter.addEventListener('change', () => filters.requestSubmit());
  const list = table({
    caption: 'Every change to this account, newest first',
    columns: [
      { title: 'When', cell: (e) => when(e.when) },
      { title: 'Actor', cell: actorText },
      { title: 'Action', cell: (e) => e.action?.type },
      { title: 'Resource', cell: resourceText },
      { title: 'Result', cell: (e) => h('span', { class: `badge ${e.action?.result ? 'allow' : 'deny'}` }, e.action?.result ? 'success' : 'refused') },
      {
        title: 'Details',
        cell: (e) => h('details', {}, h('summary', {}, 'Show'), h('pre', {}, JSON.stringify({
          before: parsed(e.oldValue), after: parsed(e.newValue), request: e.metadata, interface: e.interface,
        }, null, 2))),
      },
    ],
    rows: env.result,
    empty: action || actor || since ? 'No entry matches these filters. Clear them to see every entry.' : 'No entries yet: every change made through the API or the console appears here.',
  });
  return [h('h1', {}, 'Audit log'), filters, list, pager(env.result_info, (p) => ctx.withParams({ page: p }))];
}

export const pages = {
  accounts: accountsPage,
  members: (ctx) => (ctx.id ? memberPage(ctx) : membersPage(ctx)),
  'user-groups': userGroupsPage,
  'resource-groups': resourceGroupsPage,
  'permission-groups': permissionGroupsPage,
  tokens: tokensPage(false),
  'user-tokens': tokensPage(true),
  sso: ssoPage,
  'oauth-clients': oauthClientsPage,
  audit: auditPage,
};

