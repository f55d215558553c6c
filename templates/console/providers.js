// A tenant's third-party login providers (Auth0, Gigya, Piano, any OpenID
// provider): add or change one with its kind's fields, set a Piano provider's
// secrets, test the connection, remove one. Each change writes the tenant
// through the admin API, which checks it as it checks any tenant.
import { h, api, message, errorBox, onSubmit, field, text, table, badge } from './ui.js';

/** Each kind's fields: name, label, placeholder, required. */
const KINDS = {
  auth0: ['Auth0', [['domain', 'Auth0 domain', 'example.eu.auth0.com', true], ['audience', 'Audience (aud)', 'the application\'s client ID', true],
    ['claim_namespace', 'Claim namespace (optional)', 'https://example.com/'], ['base_url', 'Keys fetched from (optional)', '']]],
  gigya: ['Gigya (SAP Customer Data Cloud)', [['api_key', 'Site API key', '', true], ['data_center', 'Data center', 'eu1', true], ['base_url', 'Keys fetched from (optional)', '']]],
  piano: ['Piano', [['application_id', 'Application ID (aid)', '', true], ['base_url', 'User API at (optional)', '']]],
  oidc: ['Any OpenID provider', [['issuer', 'Issuer (exactly as its tokens say)', 'https://login.example.com', true], ['audience', 'Audience (aud)', '', true], ['base_url', 'Discovery from (optional)', '']]],
};

/** The tenant as the admin API shows it, for writing it back whole. */
async function tenantInput(id) {
  const found = (await api('GET', 'tenants')).find((t) => t.tenant_id === id);
  if (!found) throw new Error(`Tenant ${id} no longer exists.`);
  const { tenant_id: _, ...input } = found;
  input.sso = { host_origin: input.sso?.host_origin ?? null, providers: input.sso?.providers ?? [] };
  return input;
}

/** The form that adds a provider or changes the one of the same name. */
function providerForm(id, path, hostOrigin, out, redraw) {
  const groups = Object.entries(KINDS).map(([kind, [, fields]]) => h('fieldset', { 'data-kind': kind, hidden: kind !== 'auth0', disabled: kind !== 'auth0' },
    h('legend', {}, `${KINDS[kind][0]} settings`),
    fields.map(([name, label, placeholder, required]) => field(label, text(name, { placeholder, required })))));
  const kind = h('select', { name: 'kind' }, Object.entries(KINDS).map(([value, [label]]) => h('option', { value }, label)));
  // Only the chosen kind's fields are shown and sent (a disabled fieldset's are neither).
  kind.addEventListener('change', () => {
    for (const group of groups) {
      const on = group.dataset.kind === kind.value;
      group.hidden = !on;
      group.disabled = !on;
    }
  });
  const form = h('form', { class: 'inline', id: 'put-provider' },
    field('Host page\'s origin (where the app is embedded)', text('host_origin', { value: hostOrigin ?? '', placeholder: 'https://news.example' })),
    field('Name', text('name', { required: true, placeholder: 'auth0' })),
    field('Kind', kind),
    groups,
    h('button', { type: 'submit', class: 'primary' }, 'Save provider'));
  form.addEventListener('submit', onSubmit(async (f) => {
    const input = await tenantInput(id);
    const provider = { name: f.get('name').trim(), kind: f.get('kind') };
    for (const [name, , , required] of KINDS[provider.kind][1]) {
      const value = String(f.get(name) ?? '').trim();
      if (value || required) provider[name] = value;
    }
    const others = input.sso.providers.filter((p) => p.name !== provider.name);
    input.sso = { host_origin: f.get('host_origin').trim() || null, providers: [...others, provider] };
    await api('PUT', path, input);
    await redraw(message('ok', `Saved provider ${provider.name}.`));
    return null;
  }, out));
  return form;
}

/** The secrets of a provider that needs them (Piano): written, never shown. */
function secretsForm(path, name, redraw) {
  const said = h('div', { class: 'said' });
  const form = h('form', { class: 'inline', id: `secrets-${name}` }, said,
    field('API token', h('input', { name: 'api_token', type: 'password', required: true, autocomplete: 'new-password' })),
    field('Signing key', h('input', { name: 'signing_key', type: 'password', required: true, autocomplete: 'new-password' })),
    h('button', { type: 'submit', class: 'primary' }, 'Set secrets'));
  form.addEventListener('submit', onSubmit(async (f) => {
    await api('PUT', `${path}/providers/${encodeURIComponent(name)}/secrets`, { api_token: f.get('api_token'), signing_key: f.get('signing_key') });
    await redraw(message('ok', `Set the secrets of ${name}.`));
    return null;
  }, said));
  return form;
}

/** The providers of tenant `id`: a table with test, secrets and remove, then the form. */
export function providersPanel(id, providers, hostOrigin, out, redraw) {
  const path = `tenants/${encodeURIComponent(id)}`;
  const test = (name) => h('button', {
    type: 'button',
    onclick: async () => {
      try {
        const report = await api('POST', `${path}/providers/${encodeURIComponent(name)}/test`);
        out.replaceChildren(message(report.ok ? 'ok' : 'error', `${name}: ${report.detail}`));
      } catch (error) { out.replaceChildren(errorBox(error)); }
    },
  }, 'Test connection');
  const remove = (name) => h('button', {
    type: 'button', class: 'danger',
    onclick: async () => {
      if (!window.confirm(`Remove provider ${name}? Logins handed over from it are refused from then on.`)) return;
      try {
        const input = await tenantInput(id);
        input.sso.providers = input.sso.providers.filter((p) => p.name !== name);
        await api('PUT', path, input);
        await redraw(message('ok', `Removed provider ${name}.`));
      } catch (error) { out.replaceChildren(errorBox(error)); }
    },
  }, 'Remove');
  return [
    h('h3', {}, 'Third-party login providers'),
    table(['Provider', 'Kind', 'Secrets', ''], providers.map((p) => h('tr', {},
      h('td', {}, h('code', {}, p.name)), h('td', {}, p.kind),
      h('td', {}, p.needs_secrets ? badge(p.secrets_set ? 'set' : 'missing') : 'none needed'),
      h('td', { class: 'actions' },
        test(p.name), ' ',
        p.needs_secrets ? h('details', {}, h('summary', {}, 'Secrets'), secretsForm(path, p.name, redraw)) : null, ' ',
        remove(p.name)))), 'No third-party provider yet.'),
    h('h3', {}, 'Add or change a provider'),
    providerForm(id, path, hostOrigin, out, redraw),
  ];
}
