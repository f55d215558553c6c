// A tenant's keys panel: its signing keys (a public JWK pasted, or a pair made
// here whose private key is shown once), its third-party login providers
// (providers.js) and its API keys.
import {
  h, api, message, errorBox, onSubmit, field, text, when, badge, table, secretShown, ApiError,
} from './ui.js';
import { providersPanel } from './providers.js';

const OPERATIONS = ['mint_tokens', 'logout', 'update_users', 'debug', 'create_embeds', 'manage_resources', 'manage_registrations', 'create_links', 'exchange_sso_codes'];

/** A tenant's signing keys and API keys, with "create an API key" (shown once). */
export async function showKeys(tenant) {
  const box = document.getElementById('keys');
  const out = h('div', { id: 'keys-out' });
  const path = `tenants/${encodeURIComponent(tenant)}`;
  const [keys, apiKeys, providers, tenants] = await Promise.all([
    api('GET', `${path}/keys`), api('GET', `${path}/api-keys`), api('GET', `${path}/providers`), api('GET', 'tenants'),
  ]);
  const hostOrigin = tenants.find((t) => t.tenant_id === tenant)?.sso?.host_origin;
  const redraw = async (shown) => {
    await showKeys(tenant);
    if (shown) document.getElementById('keys-out').replaceChildren(shown);
  };
  const revoke = (label, question, call) => h('button', {
    type: 'button', class: 'danger',
    onclick: async () => {
      if (!window.confirm(question)) return;
      try { await call(); await redraw(); } catch (error) { out.replaceChildren(errorBox(error)); }
    },
  }, label);
  const create = h('form', { class: 'inline', id: 'create-api-key' },
    h('fieldset', {}, h('legend', {}, 'May call'),
      OPERATIONS.map((op) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'operations', value: op }), op))),
    field('Lifetime (days, empty: until revoked)', h('input', { name: 'days', type: 'number', min: 1, max: 3650 })),
    h('button', { type: 'submit', class: 'primary' }, 'Create API key'));
  create.addEventListener('submit', onSubmit(async (f) => {
    const body = { operations: f.getAll('operations') };
    if (f.get('days')) body.expires_in_days = Number(f.get('days'));
    const made = await api('POST', `${path}/api-keys`, body);
    await redraw(secretShown(`API key ${made.key_id}`, made.credential));
    return null;
  }, out));
  const addKey = h('form', { class: 'inline', id: 'add-signing-key' },
    field('Key ID (kid)', text('kid', { required: true, placeholder: 'host-2026' })),
    field('Public JWK (EC P-256 or Ed25519; empty: make a pair here)', h('textarea', { name: 'jwk', placeholder: '{"kty":"EC","crv":"P-256","x":"…","y":"…"}' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'for_subtenants' }), 'May sign for sub-tenants that grant it'),
    h('button', { type: 'submit', class: 'primary' }, 'Add signing key'));
  addKey.addEventListener('submit', onSubmit(async (f) => {
    const body = { kid: f.get('kid').trim(), for_subtenants: f.get('for_subtenants') === 'on' };
    const pasted = String(f.get('jwk') || '').trim();
    if (pasted) {
      try { body.jwk = JSON.parse(pasted); } catch {
        throw new ApiError(422, { error_description: 'Not saved.', fields: [{ path: 'jwk', message: 'not JSON: paste the public key as a JSON object' }] });
      }
    } else {
      body.generate = true;
    }
    const made = await api('POST', `${path}/keys`, body);
    await redraw(made.private_jwk
      ? secretShown(`The private key of ${made.kid} (give it to the host's backend)`, JSON.stringify(made.private_jwk))
      : message('ok', `Added signing key ${made.kid}.`));
    return null;
  }, out));
  box.replaceChildren(h('section', { class: 'panel', id: `keys-of-${tenant}` },
    h('h2', {}, `Keys of ${tenant}`), out,
    h('h3', {}, 'Signing keys (host tokens)'),
    table(['Key ID', { label: 'Algorithm', optional: true }, { label: 'Added', optional: true }, 'Status', ''], keys.map((k) => h('tr', {},
      h('td', {}, h('code', {}, k.kid)), h('td', { class: 'optional' }, k.alg), h('td', { class: 'optional' }, when(k.created_at)),
      h('td', {}, badge(k.revoked_at ? 'revoked' : 'active')),
      h('td', { class: 'actions' }, k.revoked_at ? null : revoke('Revoke', `Revoke key ${k.kid}? Tokens it signed stop verifying.`, () => api('DELETE', `${path}/keys/${encodeURIComponent(k.kid)}`))))), 'No signing key: add one below, or publish a JWKS URL (Edit).'),
    h('h3', {}, 'Add a signing key'), addKey,
    providersPanel(tenant, providers, hostOrigin, out, redraw),
    h('h3', {}, 'API keys (the host backend)'),
    table(['Key', 'May call', { label: 'Ends', optional: true }, { label: 'Last used', optional: true }, 'Status', ''], apiKeys.map((k) => h('tr', {},
      h('td', {}, h('code', {}, k.key_id)), h('td', {}, k.operations.join(', ')), h('td', { class: 'optional' }, when(k.expires_at)),
      h('td', { class: 'optional' }, when(k.last_used_at)),
      h('td', {}, badge(k.revoked_at ? 'revoked' : 'active')),
      h('td', { class: 'actions' }, k.revoked_at ? null : revoke('Revoke', `Revoke API key ${k.key_id}? The backend's calls with it stop at once.`, () => api('DELETE', `${path}/api-keys/${encodeURIComponent(k.key_id)}`))))), 'No API key yet.'),
    h('h3', {}, 'Create an API key'), create));
}

