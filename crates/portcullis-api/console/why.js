// "Why?": pick a member or token, a permission (a key or a permission group) and a resource; see
// the decision `POST /iam/authorize` gives, the policies that decided it and where each comes
// from, and the member's effective policies (or the token's policies) with the deciding ones marked.

import * as api from './api.js';
import { A, catalogs, effectiveTable, sourceText } from './pages.js';
import { describePolicy } from './policy.js';
import { failure, few, field, fill, h, onSubmit, table } from './ui.js';


/** What each route of this server needs, from its OpenAPI document: permission key -> summaries. */
let served = null;
async function servedKeys() {
  if (served) return served;
  const response = await fetch('/client/v4/openapi.json', { credentials: 'omit' });
  const doc = await response.json();
  const keys = new Map();
  for (const item of Object.values(doc.paths || {})) {
    for (const op of Object.values(item)) {
      for (const k of op?.['x-cfPermissionsRequired']?.enum || []) {
        if (!keys.has(k)) keys.set(k, []);
        if (op.summary) keys.get(k).push(op.summary);
      }
    }
  }
  served = new Map([...keys].sort(([a], [b]) => a.localeCompare(b)));
  return served;
}

export async function whyPage(ctx) {
  const [members, tokens, userTokens, groups, routesByKey, resourceGroups] = await Promise.all([
    catalogs.members(ctx),
    api.all(`${A(ctx)}/tokens`).catch(() => []),
    // A user token of a member may be asked about too; the signed-in user's own are listable.
    ctx.session.user ? api.all('/user/tokens').catch(() => []) : [],
    catalogs.memberGroups(ctx).catch(() => []),
    servedKeys().catch(() => new Map()),
    catalogs.resourceGroups(ctx).catch(() => []),
  ]);
  // Resources worth asking about: the account, and every object the account's resource groups name.
  const resources = new Set([api.accountKey(ctx.account)]);
  for (const rg of resourceGroups) {
    for (const scope of Array.isArray(rg.scope) ? rg.scope : [rg.scope]) {
      for (const o of scope.objects) if (o.key !== '*') resources.add(o.key);
    }
  }
  const wanted = ctx.params;
  const principal = h('select', { required: true },
    h('optgroup', { label: 'Members' }, members.map((m) => h('option', {
      value: `member:${m.id}`, selected: wanted.get('member') === m.id,
    }, `${m.user?.email || m.email}${m.status === 'accepted' ? '' : ` (${m.status})`}`))),
    tokens.length ? h('optgroup', { label: 'Account tokens' }, tokens.map((t) => h('option', {
      value: `token:${t.id}`, selected: wanted.get('token') === t.id,
    }, `${t.name} (token)`))) : null,
    userTokens.length ? h('optgroup', { label: 'Your user tokens' }, userTokens.map((t) => h('option', {
      value: `token:${t.id}`, selected: wanted.get('token') === t.id,
    }, `${t.name} (your token)`))) : null);
  const listId = 'why-permissions';
  const permission = h('input', {
    type: 'text', required: true, list: listId, autocomplete: 'off', spellcheck: 'false',
    value: wanted.get('permission') || 'com.cloudflare.api.account.member.read',
  });
  const keys = [...routesByKey.keys()];
  const datalist = h('datalist', { id: listId },
    keys.map((k) => h('option', { value: k })),
    groups.map((g) => h('option', { value: g.id }, `${g.name} (permission group)`)));
  const resource = h('input', {
    type: 'text', spellcheck: 'false', autocomplete: 'off', list: 'why-resources',
    value: wanted.get('resource') || api.accountKey(ctx.account),
  });
  const resourceList = h('datalist', { id: 'why-resources' }, [...resources].map((r) => h('option', { value: r })));
  const result = h('section', { 'aria-label': 'Decision', class: 'decision', 'aria-live': 'polite' });
  const effective = h('div', {});

  // "Everything": one authorize call with every permission key this server's routes require,
  // on the chosen resource: what the principal may and may not do, each with what decided it.
  const overview = h('section', { 'aria-label': 'Every permission', class: 'overview' });
  const everything = h('button', { type: 'button' }, 'Check every permission');
  everything.addEventListener('click', async () => {
    everything.disabled = true;
    try {
      const [kind, id] = principal.value.split(':');
      const target = resource.value.trim() || undefined;
      const r = await api.post(`${A(ctx)}/iam/authorize`, {
        principal: kind === 'token' ? { token_id: id } : { member_id: id },
        checks: keys.map((k) => ({ permission: k, resource: target })),
      });
      const allowed = r.result.filter((d) => d.allowed).length;
      fill(overview,
        h('h2', {}, 'Every permission'),
        h('p', {}, `${allowed} of ${r.result.length} permissions this server checks are allowed on `, h('code', {}, r.result[0]?.resource || '')),
        table({
          caption: 'Each permission key a route of this server requires, decided for this principal',
          columns: [
            { title: 'Permission', cell: (d) => h('code', {}, d.permission) },
            { title: 'Decision', cell: (d) => h('span', { class: `badge ${d.allowed ? 'allow' : 'deny'}` }, d.allowed ? 'allowed' : 'denied') },
            { title: 'Decided by', cell: (d) => (d.decided_by.length ? d.decided_by.map((x) => sourceText(x.source)).join(', ') : 'default deny') },
            { title: 'Needed to', cell: (d) => few(routesByKey.get(d.permission) || [], { sep: '; ', last: '; and ' }) },
          ],
          rows: r.result,
          empty: 'This server reported no permission keys.',
        }));
    } catch (e) {
      fill(overview, failure(e));
    } finally {
      everything.disabled = false;
    }
  });

  principal.addEventListener('change', () => { fill(overview); fill(result); fill(effective); });

  const form = h('form', { novalidate: true, class: 'why-form' },
    field('Principal', principal, { pointer: '/principal' }),
    field('Permission', permission, { pointer: '/checks/0/permission', hint: 'A permission key, or a permission group (its id: all the keys it grants must be allowed).' }),
    datalist,
    field('Resource', resource, { pointer: '/checks/0/resource', hint: 'A resource key; the account itself by default.' }),
    resourceList,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Decide'), keys.length ? everything : null));

  const decide = async () => {
    const [kind, id] = principal.value.split(':');
    const body = {
      principal: kind === 'token' ? { token_id: id } : { member_id: id },
      checks: [{ permission: permission.value.trim(), resource: resource.value.trim() || undefined }],
    };
    const own = userTokens.some((t) => t.id === id);
    const [decision, context] = await Promise.all([
      api.post(`${A(ctx)}/iam/authorize`, body).then((e) => e.result[0]),
      kind === 'token'
        ? api.get(own ? `/user/tokens/${id}` : `${A(ctx)}/tokens/${id}`).then((e) => ({ token: e.result })).catch((e) => ({ error: e }))
        : api.get(`${A(ctx)}/members/${id}/effective_policies`).then((e) => ({ member: e.result })).catch((e) => ({ error: e })),
    ]);
    return { decision, context };
  };

  /** A policy's source, linked to the page where it can be changed. */
  const sourceLink = (source, who) => {
    const [kind, id] = who.split(':');
    let target = null;
    if (source.kind === 'user_group' && source.user_group) target = ctx.href('user-groups', ctx.account, source.user_group.id);
    else if ((source.kind === 'member' || source.kind === 'role') && kind === 'member') target = ctx.href('members', ctx.account, id);
    else if (source.kind === 'token') target = ctx.href(userTokens.some((t) => t.id === id) ? 'user-tokens' : 'tokens', ctx.account);
    return target ? h('a', { href: target }, sourceText(source)) : sourceText(source);
  };

  const show = ({ decision, context }) => {
    const groupName = groups.find((g) => g.id === decision.permission)?.name;
    const decided = new Set(decision.decided_by.map((d) => d.policy_id));
    fill(result,
      h('h2', { class: decision.allowed ? 'allowed' : 'denied' }, decision.allowed ? 'Allowed' : 'Denied'),
      h('p', {}, h('code', {}, decision.permission), groupName ? ` (${groupName})` : '', ' on ', h('code', {}, decision.resource)),
      h('p', { class: 'reason' }, decision.reason),
      decision.decided_by.length
        ? h('div', {}, h('h3', {}, 'Deciding policies'), h('ul', { class: 'deciding' }, decision.decided_by.map((d) => h('li', {},
          h('span', { class: `badge ${d.access}` }, d.access), ' ', sourceLink(d.source, principal.value), ' ', h('code', { class: 'muted' }, d.policy_id)))))
        : h('p', { class: 'muted' }, 'No policy matched: Portcullis denies by default.'));
    if (context.member) {
      fill(effective, h('section', { 'aria-labelledby': 'why-effective' },
        h('h2', { id: 'why-effective' }, 'Effective policies'),
        h('p', {}, h('a', { href: ctx.href('members', ctx.account, context.member.member_id) }, `Open ${context.member.email}`)),
        effectiveTable(context.member, decided)));
    } else if (context.token) {
      fill(effective, h('section', { 'aria-labelledby': 'why-effective' },
        h('h2', { id: 'why-effective' }, 'Token policies'),
        table({
          caption: `The policies of ${context.token.name} (${context.token.status})`,
          columns: [
            { title: 'Policy', cell: (p) => describePolicy(p, ctx.account) },
            { title: 'Decided', cell: (p) => (decided.has(p.id) ? h('strong', {}, 'decided this') : '') },
          ],
          rows: context.token.policies,
          empty: 'This token has no policies.',
        })));
    } else {
      fill(effective, failure(context.error));
    }
  };

  onSubmit(form, decide, (r) => {
    show(r);
    const [kind, id] = principal.value.split(':');
    history.replaceState(null, '', ctx.href('why', ctx.account, undefined, {
      [kind]: id, permission: permission.value.trim(), resource: resource.value.trim(),
    }));
  });

  if (!members.length && !tokens.length && !userTokens.length) {
    return [h('h1', {}, 'Why?'), h('p', { class: 'empty' }, 'Nobody to ask about yet: invite a member or create a token first.')];
  }
  // Asked from a member's row or a shared link: answer at once.
  if (wanted.get('member') || wanted.get('token')) {
    try {
      show(await decide());
    } catch (e) {
      fill(result, failure(e));
    }
  }
  return [
    h('h1', {}, 'Why?'),
    h('p', { class: 'lede' }, 'Ask whether a member or token may do something, and see which policies decide it and where each comes from: the member\'s own, a role, or a user group.'),
    form, result, overview, effective,
  ];
}
