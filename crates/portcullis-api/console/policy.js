// The policy builder: one fieldset per policy (effect, permission groups with a filter,
// resources). Two modes:
// - 'member' (members and user groups): `{access, permission_groups: [{id}], resource_groups: [{id} | {scope}]}`;
// - 'token' (API tokens): `{effect, permission_groups: [{id}], resources: {key: '*'}}`.
// Every control names the JSON pointer it answers for, so the API's validation messages land
// beside it.

import { accountKey } from './api.js';
import { button, checkbox, few, field, h, nextId, select } from './ui.js';

const WHOLE = '__whole_account__';

const SCOPE_NAMES = {
  'com.cloudflare.api.account': 'account',
  'com.cloudflare.api.account.zone': 'zones',
  'com.cloudflare.api.user': 'user',
  'com.cloudflare.edge.r2.bucket': 'R2 buckets',
};

/** A permission group's scope in a word ("account", "zones"). */
function scopeName(g) {
  const scopes = g.scopes || (g.meta && g.meta.scopes ? [g.meta.scopes] : []);
  return scopes.map((s) => SCOPE_NAMES[s] || s.replace(/^com\.cloudflare\.(api\.)?/, '')).join(', ') || g.id.slice(0, 8);
}

/** Whether a resource group covers the whole account (its scope is the account with `*`). */
function isWholeAccount(rg, account) {
  const scopes = Array.isArray(rg.scope) ? rg.scope : [rg.scope];
  return scopes.length === 1 && scopes[0] && scopes[0].key === accountKey(account) &&
    scopes[0].objects.length === 1 && scopes[0].objects[0].key === '*';
}

/**
 * A builder. `groups`: the permission groups to offer (`[{id, name}]`); `resourceGroups`:
 * (member mode) the account's resource groups; `scopes` (token mode): `[[value, text, resources]]`.
 * `initial`: policies as the API returns them. Returns `{element, value()}`.
 */
export function policyBuilder({ mode, account, groups, resourceGroups = [], scopes = [], initial = [] }) {
  const list = h('div', { class: 'policies' });
  const addButton = button('Add policy', () => { add(); renumber(); });
  const element = h('div', { class: 'policy-builder', dataset: { pointer: '/policies' } }, list, addButton);
  const entries = [];
  // Token catalogs repeat names across scopes ("Access: Apps and Policies Read" for the account
  // and for zones): a repeated name is told apart by its scope.
  const counts = new Map();
  for (const g of groups) counts.set(g.name, (counts.get(g.name) || 0) + 1);
  const labelOf = (g) => (counts.get(g.name) > 1 ? `${g.name} (${scopeName(g)})` : g.name);

  function renumber() {
    entries.forEach((e, i) => {
      e.legend.textContent = `Policy ${i + 1}`;
      e.fieldset.dataset.pointer = `/policies/${i}`;
      e.groupsBox.dataset.pointer = `/policies/${i}/permission_groups`;
      e.resourcesBox.dataset.pointer = mode === 'token' ? `/policies/${i}/resources` : `/policies/${i}/resource_groups`;
      e.effectField.dataset.pointer = mode === 'token' ? `/policies/${i}/effect` : `/policies/${i}/access`;
      e.remove.disabled = entries.length === 1;
    });
  }

  function add(policy) {
    const legend = h('legend', {});
    const effect = select([['allow', 'Allow'], ['deny', 'Deny']], policy ? (policy.access || policy.effect) : 'allow');
    const effectField = field('Effect', effect);
    const chosen = new Set((policy ? policy.permission_groups : []).map((g) => g.id));
    const filter = h('input', { type: 'search', autocomplete: 'off', placeholder: 'e.g. Read' });
    const checks = groups.map((g) => {
      const c = checkbox(labelOf(g), { value: g.id, checked: chosen.has(g.id) });
      c.dataset.name = g.name.toLowerCase();
      return c;
    });
    const count = h('p', { class: 'muted', 'aria-live': 'polite' });
    const showCount = () => {
      const n = checks.filter((c) => c.querySelector('input').checked).length;
      count.textContent = `${n} selected`;
    };
    checks.forEach((c) => c.querySelector('input').addEventListener('change', showCount));
    showCount();
    filter.addEventListener('input', () => {
      const q = filter.value.trim().toLowerCase();
      for (const c of checks) c.hidden = Boolean(q) && !c.dataset.name.includes(q);
    });
    const groupsBox = h('fieldset', { class: 'choices' },
      h('legend', {}, 'Permission groups'),
      field('Filter permission groups', filter),
      count,
      h('div', { class: 'scroll' }, checks));

    let resourcesBox;
    let resourcesValue;
    if (mode === 'token') {
      let current = 'account';
      const existing = policy && policy.resources ? Object.keys(policy.resources) : [];
      const options = scopes.map(([v, t]) => [v, t]);
      if (existing.length) {
        const match = scopes.find(([, , r]) => JSON.stringify(r) === JSON.stringify(policy.resources));
        if (match) current = match[0];
        else { options.push(['existing', `As stored: ${existing.join(', ')}`]); current = 'existing'; }
      }
      const resourcesSelect = select(options, current);
      resourcesBox = field('Resources', resourcesSelect);
      resourcesValue = () => {
        if (resourcesSelect.value === 'existing') return policy.resources;
        const s = scopes.find(([v]) => v === resourcesSelect.value);
        return s ? s[2] : {};
      };
    } else {
      const have = new Set((policy ? policy.resource_groups : []).map((g) => g.id));
      const whole = checkbox('The whole account', { value: WHOLE, checked: !policy });
      const rgs = resourceGroups.map((rg) => checkbox(rg.name, { value: rg.id, checked: have.has(rg.id) }));
      resourcesBox = h('fieldset', { class: 'choices' }, h('legend', {}, 'Resource groups'),
        whole, h('div', { class: 'scroll short' }, rgs));
      resourcesValue = () => {
        const out = [];
        if (whole.querySelector('input').checked) {
          const existing = resourceGroups.find((rg) => isWholeAccount(rg, account));
          out.push(existing ? { id: existing.id } : { scope: { key: accountKey(account), objects: [{ key: '*' }] } });
        }
        for (const c of rgs) {
          const input = c.querySelector('input');
          if (input.checked && !out.some((r) => r.id === input.value)) out.push({ id: input.value });
        }
        return out;
      };
    }

    const remove = button('Remove policy', () => {
      const i = entries.indexOf(entry);
      entries.splice(i, 1);
      fieldset.remove();
      renumber();
    });
    const fieldset = h('fieldset', { class: 'policy', id: nextId('policy') },
      legend, effectField, groupsBox, resourcesBox, h('div', { class: 'actions' }, remove));
    const entry = {
      fieldset, legend, effectField, groupsBox, resourcesBox, remove, policy,
      value() {
        const ids = checks.map((c) => c.querySelector('input')).filter((i) => i.checked).map((i) => ({ id: i.value }));
        if (mode === 'token') {
          return { effect: effect.value, permission_groups: ids, resources: resourcesValue() };
        }
        const out = { access: effect.value, permission_groups: ids, resource_groups: resourcesValue() };
        if (policy && policy.id) out.id = policy.id;
        return out;
      },
    };
    entries.push(entry);
    list.append(fieldset);
    return entry;
  }

  if (initial.length) initial.forEach((p) => add(p));
  else add();
  renumber();
  return { element, value: () => entries.map((e) => e.value()) };
}

/** A resource key in words where it has a plain name. */
function resourceName(key, account) {
  if (account && key === accountKey(account)) return 'this account';
  if (key === 'com.cloudflare.api.account.*') return 'all accounts';
  return key;
}

/** A policy's permission groups and resources, as one line of text (`account`: the current one). */
export function describePolicy(p, account) {
  const effect = p.access || p.effect;
  const groups = few((p.permission_groups || []).map((g) => g.name || g.id));
  let resources;
  if (p.resource_groups) resources = few(p.resource_groups.map((r) => r.name || r.id));
  else if (p.resources) {
    resources = few(Object.entries(p.resources).map(([k, v]) => (v && typeof v === 'object'
      ? `${Object.keys(v).map((n) => (n === 'com.cloudflare.api.account.zone.*' ? 'all zones' : n)).join(', ')} of ${resourceName(k, account)}`
      : resourceName(k, account))));
  }
  return `${effect === 'deny' ? 'Deny' : 'Allow'} ${groups || '(no permission groups)'} on ${resources || '(nothing)'}`;
}
