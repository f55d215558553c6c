// The console's building blocks: elements, calls to the admin API, the one
// way a refusal is shown (each problem under its field), tables and buttons.
// Text only ever enters the page as text (no innerHTML), and every change
// carries the session's CSRF token.

const csrf = document.body.dataset.csrf;

/** Draws the current page again: the page router sets how (`onRedraw`). */
let redrawPage = async () => {};
export function onRedraw(draw) { redrawPage = draw; }
export const redraw = () => redrawPage();

/** An element: `h('td', { class: 'x' }, 'text', child)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body.error_description || `The broker answered HTTP ${status}.`);
    this.status = status;
    this.fields = body.fields || [];
  }
}

/** Calls the admin API: the JSON answer, or an ApiError with what to fix. */
export async function api(method, path, body, type = 'application/json') {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = type;
  const response = await fetch(`api/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
    credentials: 'same-origin',
  });
  if (response.status === 401) {
    location.reload();
    throw new ApiError(401, { error_description: 'Your console session ended: sign in again.' });
  }
  const text = await response.text();
  const parsed = text && (response.headers.get('content-type') || '').startsWith('application/json') ? JSON.parse(text) : text;
  if (!response.ok) throw new ApiError(response.status, typeof parsed === 'object' ? parsed : {});
  return parsed;
}

/** A message box: an error (with each field problem) or a confirmation. */
export function message(kind, text, fields = []) {
  return h('div', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    text,
    fields.length ? h('ul', {}, fields.map((f) => h('li', {}, f.path ? `${f.path}: ${f.message}` : f.message))) : null);
}

/** Appends what is given to `root`, leaving out what is not there. */
export function put(root, ...children) {
  root.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function errorBox(error) {
  return message('error', error.message, error.fields);
}

/** The form control a problem's path names: `origins[1]` and `embeds.link_paths[0]` are about `origins` and `link_paths`. */
function controlOf(form, path) {
  const name = String(path || '').split('.').pop().replace(/\[\d+\]$/, '');
  // A control of a disabled fieldset (a provider kind not chosen) is not the one meant.
  return name ? form.querySelector(`[name="${CSS.escape(name)}"]:not(:disabled)`) : null;
}

/** Takes the problems a form showed away. */
function clearProblems(form) {
  for (const shown of form.querySelectorAll('.field-error')) shown.remove();
  for (const control of form.querySelectorAll('[aria-invalid]')) {
    control.removeAttribute('aria-invalid');
    control.removeAttribute('aria-describedby');
  }
}

/**
 * The one way a refusal is shown: each field problem under the field it is
 * about (announced with it), whatever names no field in `out`.
 */
export function showError(form, error, out) {
  clearProblems(form);
  const elsewhere = [];
  for (const problem of error.fields || []) {
    const control = controlOf(form, problem.path);
    if (!control) { elsewhere.push(problem); continue; }
    const id = `${form.id || 'form'}-${control.name}-problem`;
    const known = form.querySelector(`#${CSS.escape(id)}`);
    if (known) { known.textContent += `; ${problem.message}`; continue; }
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', id);
    (control.closest('label') || control.parentElement).append(h('span', { class: 'field-error', id }, problem.message));
  }
  const placed = (error.fields || []).length - elsewhere.length;
  out.replaceChildren(message('error', placed ? 'Not saved: fix the fields marked below.' : error.message, elsewhere));
  form.querySelector('[aria-invalid]')?.focus();
}

/** Runs `action` for a form's submit: its button waits, the outcome lands in `out`. */
export function onSubmit(action, out) {
  return async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    out.replaceChildren();
    clearProblems(form);
    try {
      const shown = await action(new FormData(form), form);
      if (shown instanceof Node) out.replaceChildren(shown);
    } catch (error) {
      showError(form, error, out);
    } finally {
      if (button) button.disabled = false;
    }
  };
}

/** What `next` adds to and takes from `before`. */
export const delta = (before, next) => ({ add: next.filter((v) => !before.includes(v)), remove: before.filter((v) => !next.includes(v)) });
/** A row's "Edit" button: opens `form` in a full-width row under it, and closes it again. */
export function editor(label, form) {
  const button = h('button', {
    type: 'button', 'aria-expanded': 'false', 'aria-controls': `${form.id}-row`,
    onclick: () => {
      const row = button.closest('tr');
      const open = document.getElementById(`${form.id}-row`);
      if (open) {
        open.remove();
        button.setAttribute('aria-expanded', 'false');
        return;
      }
      row.after(h('tr', { class: 'edit-row', id: `${form.id}-row` }, h('td', { colspan: row.children.length }, form)));
      button.setAttribute('aria-expanded', 'true');
      form.querySelector('input:not([type=hidden]), textarea, select')?.focus();
    },
  }, label);
  return button;
}

export const field = (label, input) => h('label', {}, label, input);
export const text = (name, attrs = {}) => h('input', { name, type: 'text', autocomplete: 'off', ...attrs });
export const list = (value) => String(value || '').split(/[\s,]+/).map((v) => v.trim()).filter(Boolean);
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export const badge = (status) => h('span', { class: `status ${status}` }, status);

export function table(headings, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, headings.map((x) => h('th', { scope: 'col', class: x.optional ? 'optional' : null }, x.label ?? x)))),
    h('tbody', {}, rows)));
}

export function secretShown(what, secret) {
  return h('div', { class: 'secret', role: 'status' },
    h('strong', {}, `${what}: shown this once. Copy it now; the broker keeps only its hash.`),
    h('code', { id: 'secret' }, secret));
}

/** A row button that confirms, calls, then redraws the page. */
export function actionButton(label, question, call, out, kind = 'danger') {
  return h('button', {
    type: 'button', class: kind,
    onclick: async () => {
      if (question && !window.confirm(question)) return;
      try {
        const shown = await call();
        await redraw();
        if (shown instanceof Node) document.getElementById('out')?.replaceChildren(shown);
      } catch (error) {
        out.replaceChildren(errorBox(error));
      }
    },
  }, label);
}

/** Saves `done` as the page's news once the page is drawn again. */
export async function redrawSaying(done) {
  await redraw();
  document.getElementById('out')?.replaceChildren(message('ok', done));
}
