// DOM building blocks. Text always goes in as text nodes (never innerHTML), so nothing the API
// returns can become markup.

let uid = 0;
/** A fresh element id. */
export const nextId = (prefix = 'f') => `${prefix}-${++uid}`;

/**
 * `h('button', {type: 'button', onclick: f}, 'Save')`. Attributes starting with `on` become
 * listeners; `class`, `for`, booleans and `dataset` are handled; `null`/`false` children are
 * skipped; arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled field: `{label, input, pointer?, hint?}`; the wrapper names the JSON pointer the field answers for. */
export function field(label, input, { pointer, hint } = {}) {
  if (!input.id) input.id = nextId();
  const hintEl = hint ? h('p', { class: 'hint', id: nextId('hint') }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field', dataset: pointer ? { pointer } : {} },
    h('label', { for: input.id }, label), input, hintEl);
}

/** A checkbox with its label. */
export function checkbox(label, { checked, value, name, onchange, pointer } = {}) {
  const input = h('input', { type: 'checkbox', id: nextId('c'), value, name, checked, onchange });
  return h('div', { class: 'check', dataset: pointer ? { pointer } : {} },
    input, h('label', { for: input.id }, label));
}

/** A `<select>` of `[value, text]` pairs. */
export function select(options, value) {
  return h('select', {}, options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
}

/** A button. */
export const button = (text, onclick, attrs = {}) => h('button', { type: 'button', onclick, ...attrs }, text);

/** The first `max` items joined by `sep`, and a count of the rest: "a, b, c and 2 more". */
export function few(items, { max = 3, sep = ', ', last = ' and ' } = {}) {
  if (items.length <= max) return items.join(sep);
  return `${items.slice(0, max).join(sep)}${last}${items.length - max} more`;
}

/** Short readable date-time (UTC, as the API gives it). */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h('time', { datetime: iso }, d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC'));
}

/**
 * A table. `columns`: `[{title, cell: (row) => node|text}]`; `empty`: what to show with no rows
 * (a sentence saying what to do next).
 */
export function table({ caption, columns, rows, empty, rowLabel }) {
  if (!rows.length) {
    return h('p', { class: 'empty' }, empty);
  }
  // The frame scrolls sideways on a narrow window: it is focusable (and named) so that a
  // keyboard can scroll it.
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption || 'Table' },
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.title)))),
      h('tbody', {}, rows.map((r) =>
        h('tr', { 'aria-label': rowLabel ? rowLabel(r) : null },
          columns.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c.cell(r)) : h('td', {}, c.cell(r)))))))));
}

/** Page controls for a `result_info` ({page, per_page, total_pages}); `go(n)` moves. */
export function pager(info, go) {
  if (!info || !info.total_count) return null;
  const page = info.page || 1;
  const pages = Math.max(1, info.total_pages ?? Math.ceil((info.total_count || 0) / (info.per_page || 20)));
  return h('nav', { class: 'pager', 'aria-label': 'Pagination' },
    button('Previous page', () => go(page - 1), { disabled: page <= 1 }),
    h('span', { 'aria-live': 'polite' }, `Page ${page} of ${pages}`),
    info.total_count !== undefined ? h('span', { class: 'muted' }, ` · ${info.total_count} in all`) : null,
    button('Next page', () => go(page + 1), { disabled: page >= pages }));
}

/** Asks before a destructive action; resolves true on "Confirm". */
export function confirm(title, text) {
  return new Promise((resolve) => {
    const titleId = nextId('dlg');
    const dialog = h('dialog', { 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      h('p', {}, text),
      h('div', { class: 'actions' },
        button('Cancel', () => dialog.close('cancel')),
        button('Confirm', () => dialog.close('confirm'), { class: 'danger' })));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A success notice at the top of `main` (role=status, announced). */
export function notify(text) {
  const region = document.getElementById('notice');
  if (!region) return;
  fill(region, text);
  region.dataset.at = String(Date.now());
  region.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { region.hidden = true; }, 6000);
}

/** Removes the error messages a previous submit left in `form`. */
export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error, .form-error')) e.remove();
  for (const e of form.querySelectorAll('[aria-invalid]')) {
    e.removeAttribute('aria-invalid');
    const described = (e.getAttribute('aria-describedby') || '').split(' ').filter((id) => !id.startsWith('err-'));
    if (described.length) e.setAttribute('aria-describedby', described.join(' '));
    else e.removeAttribute('aria-describedby');
  }
}

/**
 * Shows an API error in `form`: each message whose `source.pointer` names a field (the field
 * whose `data-pointer` is the longest prefix of it) goes right after that field, which becomes
 * `aria-invalid`; the rest go in a role=alert box at the top of the form. Focus moves to the
 * first problem.
 */
export function showErrors(form, error) {
  clearErrors(form);
  const errors = error && error.errors ? error.errors : [{ message: String(error && error.message || error) }];
  const fields = [...form.querySelectorAll('[data-pointer]')];
  const general = [];
  let first = null;
  for (const e of errors) {
    const text = messageOf(e);
    const pointer = e.source && e.source.pointer;
    const target = pointer ? bestField(fields, pointer) : null;
    if (!target) {
      general.push(text);
      continue;
    }
    const control = target.querySelector('input, select, textarea') || target;
    const msg = h('p', { class: 'field-error', id: nextId('err') }, text);
    target.append(msg);
    control.setAttribute('aria-invalid', 'true');
    const described = control.getAttribute('aria-describedby');
    control.setAttribute('aria-describedby', described ? `${described} ${msg.id}` : msg.id);
    first = first || control;
  }
  if (general.length) {
    const box = h('div', { class: 'form-error', role: 'alert' }, general.map((t) => h('p', {}, t)));
    form.prepend(box);
    if (!first) box.setAttribute('tabindex', '-1');
    first = first || box;
  }
  if (first) first.focus();
}

/** An error's message with its innermost cause (Cloudflare's `error_chain`) when it adds detail. */
export function messageOf(e) {
  const chain = (e.error_chain || []).map((c) => c.message).filter((m) => m && m !== e.message);
  return chain.length ? `${e.message}: ${chain.join('; ')}` : e.message;
}

function bestField(fields, pointer) {
  let best = null;
  for (const f of fields) {
    const p = f.dataset.pointer;
    if ((pointer === p || pointer.startsWith(`${p}/`)) && (!best || p.length > best.dataset.pointer.length)) best = f;
  }
  return best;
}

/** An error box for a page that could not load (role=alert). */
export function failure(error) {
  const errors = error && error.errors ? error.errors : [{ message: String(error && error.message || error) }];
  return h('div', { class: 'form-error', role: 'alert' }, errors.map((e) => h('p', {}, messageOf(e))));
}

/**
 * Wires a form: on submit, clears old errors, disables the submit button while `action(form)`
 * runs, shows its API error next to the fields, or calls `done(result)`.
 */
export function onSubmit(form, action, done) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const submit = form.querySelector('button[type="submit"]');
    if (submit) submit.disabled = true;
    try {
      const result = await action(form);
      if (done) await done(result);
    } catch (e) {
      showErrors(form, e);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
  return form;
}

/** Copies text to the clipboard (falls back to selecting it). */
export async function copy(text, node) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    return false;
  }
}
