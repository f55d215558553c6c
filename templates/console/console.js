// authproxy administration: the console's pages, drawn from the admin API of
// the same origin (building blocks in ui.js, a tenant's keys in tenant_keys.js).
import {
  h, api, message, put, errorBox, onSubmit, delta, editor, field, text, list, when, badge, table,
  secretShown, actionButton, redrawSaying, onRedraw,
} from './ui.js';
import { showKeys } from './tenant_keys.js';

const main = () => document.getElementById('main');

// ---- Pages -------------------------------------------------------------------

const pages = {
  async overview(root) {
    const data = await api('GET', 'overview');
    const sum = (key) => data.logins.reduce((n, m) => n + (key === 'failed' ? Object.values(m.failed).reduce((a, b) => a + b, 0) : m[key]), 0);
    const failures = {};
    for (const minute of data.logins) for (const [code, n] of Object.entries(minute.failed)) failures[code] = (failures[code] || 0) + n;
    const peak = Math.max(1, ...data.logins.map((m) => m.completed + Object.values(m.failed).reduce((a, b) => a + b, 0)));
    put(root,
      h('h1', {}, 'Overview'),
      h('div', { class: 'cards' },
        h('div', { class: 'card-stat' }, h('div', { class: 'muted' }, 'Logins started, last hour'), h('div', { class: 'value', id: 'started' }, sum('started'))),
        h('div', { class: 'card-stat' }, h('div', { class: 'muted' }, 'Completed'), h('div', { class: 'value', id: 'completed' }, sum('completed'))),
        h('div', { class: 'card-stat' }, h('div', { class: 'muted' }, 'Failed'), h('div', { class: 'value', id: 'failed' }, sum('failed'))),
        h('div', { class: 'card-stat' }, h('div', { class: 'muted' }, 'Realms up'), h('div', { class: 'value' }, `${data.realms.filter((r) => r.status === 'up').length} / ${data.realms.length}`))),
      h('h2', {}, 'Logins per minute (this replica)'),
      h('div', { class: 'chart', role: 'img', 'aria-label': `Logins per minute over the last hour: ${sum('completed')} completed, ${sum('failed')} failed` },
        data.logins.map((m) => {
          const bad = Object.values(m.failed).reduce((a, b) => a + b, 0);
          return h('div', { class: 'bar', title: `${new Date(m.minute).toLocaleTimeString()}: ${m.completed} completed, ${bad} failed` },
            h('div', { class: 'ok', style: null, 'data-h': m.completed / peak }),
            h('div', { class: 'bad', 'data-h': bad / peak }));
        })),
      sum('started') + sum('completed') + sum('failed') ? null : h('p', { class: 'muted chart-empty' }, 'No login in the last hour.'),
      h('h2', {}, 'Failures by code'),
      table(['Code', 'Count'], Object.entries(failures).sort((a, b) => b[1] - a[1]).map(([code, n]) => h('tr', {}, h('td', {}, h('code', {}, code)), h('td', {}, n))), 'No failed login in the last hour.'),
      h('h2', {}, 'Realms'),
      realmHealthTable(data.realms));
    // Heights are set through the CSSOM (the CSP allows no inline style attribute).
    for (const bar of root.querySelectorAll('[data-h]')) bar.style.height = `${Math.round(Number(bar.dataset.h) * 100)}%`;
  },

  async clients(root) {
    const out = h('div', { id: 'out' });
    const clients = await api('GET', 'clients');
    let sync = null;
    try { sync = await api('POST', 'clients/sync?dry_run=true'); } catch (error) { sync = error; }
    // A dry run lists every client with its action: only a create or an update is a difference.
    const differs = (id) => Array.isArray(sync) && sync.some((c) => c.client_id === id && c.action !== 'unchanged');
    const syncCell = (id) => (Array.isArray(sync) ? badge(differs(id) ? 'differs' : 'in-sync') : h('span', { class: 'muted' }, 'not checked'));
    const add = h('form', { class: 'inline', id: 'add-client' },
      field('Client ID (the web app\'s host name)', text('client_id', { required: true, placeholder: 'crm.example.com' })),
      field('Origins (one per line)', h('textarea', { name: 'origins', required: true, placeholder: 'https://crm.example.com' })),
      field('Realms (comma-separated)', text('realms', { required: true, placeholder: 'tenant-a' })),
      field('Login window without its opener', h('select', { name: 'approval' },
        h('option', { value: 'ask' }, 'asks the user (needed behind COOP)'),
        h('option', { value: 'off' }, 'never asks'))),
      h('button', { type: 'submit', class: 'primary' }, 'Add client'));
    add.addEventListener('submit', onSubmit(async (f) => {
      await api('POST', 'clients', { client_id: f.get('client_id').trim(), origins: list(f.get('origins')), realms: list(f.get('realms')), approval: f.get('approval') });
      await route();
      return null;
    }, out));
    put(root,
      h('h1', {}, 'Clients'),
      out,
      Array.isArray(sync) ? null : message('error', `Keycloak sync status unknown: ${sync.message}`),
      table(['Client ID', 'Origins', 'Realms', { label: 'Approval', optional: true }, { label: 'Keycloak', optional: true }, ''], clients.map((c) => h('tr', {},
        h('td', {}, h('code', {}, c.client_id)),
        h('td', {}, c.origins.join(' ')),
        h('td', {}, c.realms.join(', ')),
        h('td', { class: 'optional approval' }, c.approval === 'off' ? 'off ' : 'ask ',
          c.approval === 'off'
            ? actionButton('Ask again', `Let a login window of ${c.client_id} that lost its page ask the user where the result goes?`, () => api('PATCH', `clients/${encodeURIComponent(c.client_id)}`, { approval: 'ask' }), out, 'secondary')
            : actionButton('Never ask', `Turn the approval off for ${c.client_id}? A login window that lost its page (COOP) then fails and says to start again.`, () => api('PATCH', `clients/${encodeURIComponent(c.client_id)}`, { approval: 'off' }), out, 'secondary')),
        h('td', { class: 'optional' }, syncCell(c.client_id)),
        h('td', { class: 'actions' },
          editor('Edit', clientForm(c)),
          ' ',
          actionButton('Remove', `Remove client ${c.client_id}? Logins from its pages are refused from then on; sessions its pages hold go on until they end.`, () => api('DELETE', `clients/${encodeURIComponent(c.client_id)}`), out)))), 'No client yet.'),
      h('p', {}, h('button', {
        type: 'button', id: 'sync-now',
        onclick: async () => {
          try {
            const changes = await api('POST', 'clients/sync');
            await route();
            document.getElementById('out').replaceChildren(message('ok', changes.length ? `Synced: ${changes.map((c) => `${c.action} ${c.client_id} in ${c.realm}`).join('; ')}.` : 'Every client was already in sync with Keycloak.'));
          } catch (error) { out.replaceChildren(errorBox(error)); }
        },
      }, 'Sync now with Keycloak')),
      h('section', { class: 'panel' }, h('h2', {}, 'Add a client'), add));
  },

  async realms(root) {
    const out = h('div', { id: 'out' });
    const [realms, overview] = await Promise.all([api('GET', 'realms'), api('GET', 'overview')]);
    const health = Object.fromEntries(overview.realms.map((r) => [r.name, r]));
    put(root, h('h1', {}, 'Realms'), out,
      table(['Realm', 'Authority', 'Metadata', ''], realms.map((r) => h('tr', {},
        h('td', {}, r.name),
        h('td', {}, h('code', { class: 'long' }, r.authority)),
        h('td', {}, badge(health[r.name]?.status || 'unchecked'), ' ', h('span', { class: 'muted' }, health[r.name]?.last_error || '')),
        h('td', { class: 'actions' },
          actionButton('Check now', null, async () => {
            const checked = await api('POST', `realms/${encodeURIComponent(r.name)}/check`);
            return checked.status === 'up' ? message('ok', `${r.name} answers: its metadata names the configured issuer.`) : message('error', `${r.name}: ${checked.last_error}`);
          }, out, ''),
          ' ',
          editor('Edit', realmForm(r)),
          ' ',
          actionButton('Remove', `Remove realm ${r.name}? A realm a client still uses is refused.`, () => api('DELETE', `realms/${encodeURIComponent(r.name)}`), out)))), 'No realm yet.'),
      h('section', { class: 'panel' }, h('h2', {}, 'Add a realm'),
        h('p', { class: 'muted' }, 'The broker reads the realm\'s metadata before saving: its issuer must be this URL exactly.'),
        realmForm(null)));
  },

  async directory(root) {
    const out = h('div', { id: 'out' });
    const lookup = h('form', { class: 'inline', id: 'lookup' },
      field('User name', text('user', { required: true, placeholder: 'alice@corp.example', type: 'text' })),
      h('button', { type: 'submit', class: 'primary' }, 'Look up'));
    const answer = h('div', { id: 'answer' });
    lookup.addEventListener('submit', onSubmit(async (f) => {
      const found = await api('POST', 'directory/lookup', { user: f.get('user').trim() });
      const words = {
        sso: `${found.user} logs in at realm ${found.realm}${found.idp_hint ? `, through ${found.idp_hint}` : ''}.`,
        not_migrated: `${found.user} is known but not enabled for single sign-on: they log in with a password.`,
        unknown: `No rule matches ${found.user}: discovery answers "unknown user".`,
        realm_not_configured: `${found.user} is assigned to realm ${found.realm}, which is not configured.`,
      };
      return h('p', {}, badge(found.outcome), ' ', words[found.outcome] || found.outcome);
    }, answer));
    const upload = h('form', { class: 'inline', id: 'import' },
      field('CSV file (kind,key,realm,idp_hint)', h('input', { type: 'file', name: 'file', accept: '.csv,text/csv', required: true })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'replace' }), 'Replace every rule'),
      h('button', { type: 'submit', class: 'primary' }, 'Import'));
    upload.addEventListener('submit', onSubmit(async (f) => {
      const csv = await f.get('file').text();
      const replace = Boolean(f.get('replace'));
      const result = await api('POST', `directory/import?replace=${replace}`, csv, 'text/csv');
      const rules = `${result.imported} rule${result.imported === 1 ? '' : 's'}`;
      return message('ok', replace ? `Imported ${rules}; they are now the whole directory.` : `Imported ${rules}; rules for the same users and domains were replaced, the others kept.`);
    }, out));
    const ruleOut = h('div', { id: 'rule-out' });
    const kinds = (withNotMigrated) => h('select', { name: 'kind' },
      h('option', { value: 'user' }, 'one user'), h('option', { value: 'domain' }, 'an email domain'),
      withNotMigrated ? h('option', { value: 'not_migrated' }, 'a user not enabled for SSO') : null,
      h('option', { value: 'default' }, 'everybody else (the default)'));
    const rule = h('form', { class: 'inline', id: 'put-rule' },
      field('Kind', kinds(true)),
      field('User name or domain (none for the default)', text('key', { placeholder: 'alice@corp.example' })),
      field('Realm', text('realm', { placeholder: 'tenant-a' })),
      field('External IdP alias (optional)', text('idp_hint', { placeholder: 'entra' })),
      h('button', { type: 'submit', class: 'primary' }, 'Save rule'));
    rule.addEventListener('submit', onSubmit(async (f) => {
      const body = { kind: f.get('kind'), key: f.get('key').trim(), realm: f.get('realm').trim() || null, idp_hint: f.get('idp_hint').trim() || null };
      await api('POST', 'directory/rules', body);
      const whom = body.kind === 'default' ? 'everybody without a rule' : body.key;
      return message('ok', body.kind === 'not_migrated' ? `Saved: ${whom} is known but not enabled for single sign-on.` : `Saved: ${whom} logs in at realm ${body.realm}${body.idp_hint ? `, through ${body.idp_hint}` : ''}.`);
    }, ruleOut));
    const unrule = h('form', { class: 'inline', id: 'remove-rule' },
      field('Kind', kinds(false)),
      field('User name or domain', text('key', { placeholder: 'alice@corp.example' })),
      h('button', { type: 'submit', class: 'danger' }, 'Remove rule'));
    unrule.addEventListener('submit', onSubmit(async (f) => {
      const body = { kind: f.get('kind'), key: f.get('key').trim() };
      const whom = body.kind === 'default' ? 'the default' : body.key;
      if (!window.confirm(`Remove the rule for ${whom}? Discovery then answers by the next rule that matches.`)) return null;
      await api('DELETE', 'directory/rules', body);
      return message('ok', `Removed the rule for ${whom}.`);
    }, ruleOut));
    put(root, h('h1', {}, 'Directory'),
      h('section', { class: 'panel' }, h('h2', {}, 'Where does a user go?'), lookup, answer),
      h('section', { class: 'panel' }, h('h2', {}, 'One rule'), rule, unrule, ruleOut),
      h('section', { class: 'panel' }, h('h2', {}, 'Import'), h('p', { class: 'muted' }, 'All or nothing: every bad row is listed and nothing is written.'), upload, out),
      h('section', { class: 'panel' }, h('h2', {}, 'Export'), h('a', { class: 'button', href: 'api/directory/export', download: 'directory.csv', id: 'export' }, 'Download every rule as CSV')));
  },

  async callers(root) {
    const out = h('div', { id: 'out' });
    const callers = await api('GET', 'callers');
    const policyForm = (id, policy = {}) => {
      const form = h('form', { class: 'inline' },
        id ? null : field('Caller ID', text('caller_id', { required: true, placeholder: 'crm-backend' })),
        field('Realms', text('realms', { value: (policy.realms || []).join(', '), required: true })),
        field('Email domains', text('domains', { value: (policy.domains || []).join(', ') })),
        field('Users', text('users', { value: (policy.users || []).join(', ') })),
        field('Audiences', text('audiences', { value: (policy.audiences || []).join(', ') })),
        field('Longest token (seconds)', h('input', { name: 'max_lifetime_secs', type: 'number', min: 1, value: policy.max_lifetime_secs ?? 300 })),
        h('button', { type: 'submit', class: 'primary' }, id ? 'Save policy' : 'Create caller'));
      form.addEventListener('submit', onSubmit(async (f) => {
        const next = {
          realms: list(f.get('realms')), domains: list(f.get('domains')), users: list(f.get('users')),
          audiences: list(f.get('audiences')), max_lifetime_secs: Number(f.get('max_lifetime_secs')),
        };
        if (id) {
          await api('PUT', `callers/${encodeURIComponent(id)}/policy`, { ...policy, ...next });
          await route();
          return null;
        }
        const made = await api('POST', 'callers', { caller_id: f.get('caller_id').trim(), policy: next });
        await route();
        document.getElementById('out').replaceChildren(secretShown(`The secret of ${made.caller_id}`, made.secret));
        return null;
      }, out));
      return form;
    };
    put(root, h('h1', {}, 'Impersonation callers'), out,
      table(['Caller', 'Realms', { label: 'May act as', optional: true }, ''], callers.map((c) => h('tr', {},
        h('td', {}, h('code', {}, c.caller_id)),
        h('td', {}, c.policy.realms.join(', ')),
        h('td', { class: 'optional' }, [...c.policy.domains.map((d) => `@${d}`), ...c.policy.users].join(', ') || '—'),
        h('td', { class: 'actions' },
          actionButton('Rotate secret', `Give ${c.caller_id} a new secret? The old one stops working at once.`, async () => {
            const rotated = await api('POST', `callers/${encodeURIComponent(c.caller_id)}/secret`);
            return secretShown(`The new secret of ${c.caller_id}`, rotated.secret);
          }, out, ''),
          ' ',
          h('details', {}, h('summary', {}, 'Policy'), policyForm(c.caller_id, c.policy)),
          ' ',
          actionButton('Revoke', `Revoke caller ${c.caller_id}?`, () => api('DELETE', `callers/${encodeURIComponent(c.caller_id)}`), out)))), 'No caller yet.'),
      h('section', { class: 'panel' }, h('h2', {}, 'Create a caller'), policyForm(null)));
  },

  async tokens(root) {
    const out = h('div', { id: 'out' });
    const tokens = await api('GET', 'tokens');
    const create = h('form', { class: 'inline', id: 'create-token' },
      field('Label', text('label', { required: true, placeholder: 'deploy' })),
      field('Lifetime (days, empty: no end)', h('input', { name: 'days', type: 'number', min: 1, max: 3650 })),
      h('button', { type: 'submit', class: 'primary' }, 'Create token'));
    const ended = h('div', { id: 'sessions-out' });
    const endSessions = h('form', { class: 'inline', id: 'end-sessions' },
      field('Administrator (subject, as in [console] admin_subjects)', text('subject', { required: true, placeholder: 'a1f0c1de-0000-4000-8000-00000000a11c' })),
      h('button', { type: 'submit', class: 'danger' }, 'End their console sessions'));
    endSessions.addEventListener('submit', onSubmit(async (f) => {
      const subject = f.get('subject').trim();
      if (!window.confirm(`End every console session of ${subject}?`)) return null;
      await api('DELETE', `console/sessions/${encodeURIComponent(subject)}`);
      return message('ok', `Every console session of ${subject} has ended.`);
    }, ended));
    create.addEventListener('submit', onSubmit(async (f) => {
      const body = { label: f.get('label').trim() };
      if (f.get('days')) body.expires_in_days = Number(f.get('days'));
      const made = await api('POST', 'tokens', body);
      await route();
      document.getElementById('out').replaceChildren(secretShown(`Admin token ${made.label}`, made.token));
      return null;
    }, out));
    put(root, h('h1', {}, 'Admin tokens'), out,
      table(['Label', 'Status', { label: 'Created', optional: true }, 'Ends', ''], tokens.map((t) => h('tr', {},
        h('td', {}, t.label, ' ', h('span', { class: 'muted' }, t.id)),
        h('td', {}, badge(t.status)),
        h('td', { class: 'optional' }, when(t.created_at)),
        h('td', {}, when(t.expires_at)),
        h('td', { class: 'actions' },
          t.status === 'active' ? actionButton('Expire now', `Expire ${t.label}? It stays listed as expired.`, () => api('POST', `tokens/${t.id}/expire`, {}), out, '') : null,
          ' ',
          actionButton('Revoke', `Revoke ${t.label}? It stops working and leaves the list.`, () => api('DELETE', `tokens/${t.id}`), out)))), 'No admin token.'),
      h('section', { class: 'panel' }, h('h2', {}, 'Create a token'), create),
      h('section', { class: 'panel' }, h('h2', {}, 'Console sessions'),
        h('p', { class: 'muted' }, 'Ends every console session of an administrator at once (a lost laptop); they can sign in again.'),
        endSessions, ended));
  },

  async tenants(root) {
    const out = h('div', { id: 'out' });
    const tenants = await api('GET', 'tenants');
    const create = h('form', { class: 'inline', id: 'create-tenant' },
      field('Tenant ID', text('tenant_id', { required: true, placeholder: 'acme' })),
      field('Environment', h('select', { name: 'environment' }, h('option', { value: 'production' }, 'production'), h('option', { value: 'sandbox' }, 'sandbox'))),
      field('Realm', text('realm', { required: true, placeholder: 'tenant-a' })),
      field('Clients (comma-separated)', text('clients', { required: true, placeholder: 'app.example.com' })),
      field('Users', h('select', { name: 'provisioning' }, h('option', { value: 'existing_only' }, 'must exist in the realm'), h('option', { value: 'create' }, 'created on first use'))),
      h('button', { type: 'submit', class: 'primary' }, 'Add tenant'));
    create.addEventListener('submit', onSubmit(async (f) => {
      const id = f.get('tenant_id').trim();
      await api('PUT', `tenants/${encodeURIComponent(id)}`, {
        environment: f.get('environment'), realm: f.get('realm').trim(), clients: list(f.get('clients')), provisioning: f.get('provisioning'),
      });
      await route();
      return null;
    }, out));
    put(root, h('h1', {}, 'Tenants'), out,
      h('p', { class: 'muted' }, 'Host organisations of embedded SSO. Their login links and registrations are made by their own backends with API keys: see ', h('a', { href: '#embeds' }, 'Links and registrations'), '.'),
      table(['Tenant', 'Realm', { label: 'Clients', optional: true }, { label: 'Environment', optional: true }, ''], tenants.map((t) => h('tr', {},
        h('td', {}, h('code', {}, t.tenant_id), ' ',
          // Like the impersonation permission: its hosts can log in as any user of the realm by email.
          t.hosts_vouch_for_emails ? h('span', { class: 'status warning', title: 'Its hosts may vouch for emails: an email they send logs in that realm user.' }, 'hosts vouch for emails') : null),
        h('td', {}, t.realm),
        h('td', { class: 'optional' }, t.clients.join(', ') || '—'),
        h('td', { class: 'optional' }, String(t.environment)),
        h('td', { class: 'actions' },
          editor('Edit', tenantForm(t)),
          ' ',
          h('button', { type: 'button', onclick: () => showKeys(t.tenant_id) }, 'Keys'),
          ' ',
          h('a', { class: 'button', href: `#embeds?tenant=${encodeURIComponent(t.tenant_id)}` }, 'Links'),
          ' ',
          actionButton('Remove', `Remove tenant ${t.tenant_id}? Its keys and sessions stop working, and its resources and registrations are deleted.`, () => api('DELETE', `tenants/${encodeURIComponent(t.tenant_id)}`), out)))), 'No tenant yet.'),
      h('div', { id: 'keys' }),
      h('section', { class: 'panel' }, h('h2', {}, 'Add a tenant'), create));
    const wanted = new URLSearchParams(location.hash.split('?')[1] || '').get('tenant');
    if (wanted) await showKeys(wanted);
  },

  async embeds(root) {
    const out = h('div', { id: 'out' });
    const tenants = await api('GET', 'tenants');
    const params = new URLSearchParams(location.hash.split('?')[1] || '');
    const chosen = params.get('tenant') || tenants[0]?.tenant_id;
    const pick = h('form', { class: 'inline', id: 'pick-tenant' },
      field('Tenant', h('select', { name: 'tenant' }, tenants.map((t) => h('option', { value: t.tenant_id, selected: t.tenant_id === chosen }, t.tenant_id)))),
      h('button', { type: 'submit' }, 'Show'));
    pick.addEventListener('submit', (event) => {
      event.preventDefault();
      location.hash = `embeds?tenant=${encodeURIComponent(new FormData(pick).get('tenant'))}`;
    });
    put(root, h('h1', {}, 'Links and registrations'),
      h('p', { class: 'muted' }, 'A tenant\'s backend makes its login links, resources and registrations with its API keys; here they are configured, looked at and revoked.'));
    const tenant = tenants.find((t) => t.tenant_id === chosen);
    if (!tenant) {
      put(root, h('p', { class: 'muted' }, 'No tenant yet: add one on the Tenants page.'));
      return;
    }
    const path = `tenants/${encodeURIComponent(tenant.tenant_id)}`;
    const embeds = tenant.embeds || {};
    const settings = h('form', { class: 'inline', id: 'link-settings' },
      field('App page (embeds and links without a resource)', h('input', { name: 'app_url', type: 'url', value: embeds.app_url || '', placeholder: 'https://app.example.com/' })),
      field('Paths a login link may land on (one per line)', h('textarea', { name: 'link_paths', placeholder: '/reports' }, (embeds.link_paths || []).join('\n'))),
      field('When a registration already has a session', h('select', { name: 'session_policy' },
        h('option', { value: 'terminate_oldest', selected: embeds.session_policy !== 'deny_new' }, 'the new one wins'),
        h('option', { value: 'deny_new', selected: embeds.session_policy === 'deny_new' }, 'the new one is refused'))),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'one_session_per_user', checked: Boolean(embeds.one_session_per_user) }), 'One session per user, too'),
      h('button', { type: 'submit', class: 'primary' }, 'Save'));
    settings.addEventListener('submit', onSubmit(async (f) => {
      const { tenant_id: _, ...input } = tenant;
      input.embeds = {
        app_url: f.get('app_url').trim() || null,
        link_paths: String(f.get('link_paths')).split('\n').map((p) => p.trim()).filter(Boolean),
        session_policy: f.get('session_policy'),
        one_session_per_user: f.get('one_session_per_user') === 'on',
      };
      await api('PUT', path, input);
      await route();
      document.getElementById('out').replaceChildren(message('ok', `Saved the link and session settings of ${tenant.tenant_id}.`));
      return null;
    }, out));
    const resources = await api('GET', `${path}/resources`);
    put(root, h('section', { class: 'panel' }, pick), out,
      h('section', { class: 'panel' }, h('h2', {}, 'Login links and sessions'), settings,
        h('p', { class: 'muted' }, 'A link lives two minutes by default and is used once. ',
          h('a', { href: '#audit?action=link' }, 'Link activity in the audit trail'), ' · ',
          h('a', { href: '#audit?action=registration' }, 'Registration activity'))),
      h('h2', {}, 'Resources'),
      table(['Resource', { label: 'Type', optional: true }, { label: 'Page', optional: true }, 'Registered', ''], resources.map((r) => h('tr', {},
        h('td', {}, h('code', {}, r.resource_id)),
        h('td', { class: 'optional' }, r.type),
        h('td', { class: 'optional' }, h('code', {}, r.url)),
        h('td', {}, r.registrations),
        h('td', { class: 'actions' }, h('a', { class: 'button', href: `#embeds?tenant=${encodeURIComponent(tenant.tenant_id)}&resource=${encodeURIComponent(r.resource_id)}` }, 'Registrations')))),
      'No resource yet: the tenant\'s backend makes them (PUT /api/v1/resources/{id}).'));
    const resource = params.get('resource');
    if (resource) put(root, await registrations(path, resource));
  },

  async audit(root) {
    const params = new URLSearchParams(location.hash.split('?')[1] || '');
    const filters = h('form', { class: 'inline', id: 'audit-filter' },
      field('Since', h('input', { name: 'since', type: 'date', value: params.get('since') || '' })),
      field('Until', h('input', { name: 'until', type: 'date', value: params.get('until') || '' })),
      field('Actor', text('actor', { value: params.get('actor') || '', placeholder: 'console:alice' })),
      field('Action', text('action', { value: params.get('action') || '', placeholder: 'client' })),
      field('Outcome', h('select', { name: 'outcome' }, ['', 'changed', 'granted', 'denied', 'issued', 'failed'].map((o) => h('option', { value: o, selected: params.get('outcome') === o }, o || 'any')))),
      h('button', { type: 'submit', class: 'primary' }, 'Filter'));
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      const chosen = new URLSearchParams();
      for (const [key, value] of new FormData(filters)) if (value) chosen.set(key, value);
      location.hash = `audit?${chosen}`;
    });
    const query = new URLSearchParams(params);
    if (!query.has('limit')) query.set('limit', '500');
    query.set('order', 'newest');
    const rows = await api('GET', `audit?${query}`);
    put(root, h('h1', {}, 'Audit trail'),
      h('section', { class: 'panel' }, filters),
      h('p', {}, h('a', { class: 'button', id: 'audit-export', href: `api/audit?${query}`, download: 'audit.json' }, 'Export these rows (JSON)')),
      table(['When', { label: 'Actor', optional: true }, 'Action', { label: 'Subject', optional: true }, 'Outcome'], rows.map((r) => h('tr', {},
        h('td', {}, when(r.at)),
        h('td', { class: 'optional wrap' }, r.actor),
        h('td', {}, h('code', {}, r.action)),
        h('td', { class: 'optional wrap' }, r.subject || ''),
        h('td', { class: 'wrap' }, r.outcome, r.reason ? h('span', { class: 'muted' }, ` (${r.reason})`) : null))), 'No row matches.'));
  },
};

/** A client's origins and realms, changed in place (a PATCH: its secret stays). */
function clientForm(c) {
  const said = h('div', { class: 'said' });
  const form = h('form', { class: 'inline', id: `edit-client-${c.client_id}` },
    said,
    field('Origins (one per line)', h('textarea', { name: 'origins', required: true }, c.origins.join('\n'))),
    field('Realms (comma-separated)', text('realms', { required: true, value: c.realms.join(', ') })),
    h('button', { type: 'submit', class: 'primary' }, 'Save'));
  form.addEventListener('submit', onSubmit(async (f) => {
    const origins = delta(c.origins, list(f.get('origins')));
    const realms = delta(c.realms, list(f.get('realms')));
    await api('PATCH', `clients/${encodeURIComponent(c.client_id)}`, {
      add_origins: origins.add, remove_origins: origins.remove, add_realms: realms.add, remove_realms: realms.remove,
    });
    await redrawSaying(`Saved client ${c.client_id}.`);
    return null;
  }, said));
  return form;
}

/** A realm to add (`r` null) or to change; the broker's secret is never shown. */
function realmForm(r) {
  const said = h('div', { class: 'said' });
  const form = h('form', { class: 'inline', id: r ? `edit-realm-${r.name}` : 'add-realm' },
    said,
    r ? null : field('Name', text('name', { required: true, placeholder: 'tenant-c' })),
    field('Authority (the realm\'s issuer URL)', h('input', { name: 'authority', type: 'text', required: true, value: r?.authority ?? '', placeholder: 'https://id.example.com/realms/tenant-c', autocomplete: 'off' })),
    field('Scopes besides openid (comma-separated)', text('extra_scopes', { value: (r?.extra_scopes || []).join(', ') })),
    field('Broker client ID (impersonation, clients sync)', text('broker_client_id', { value: r?.broker_client_id ?? '' })),
    field(r?.broker_client_id ? 'Its secret (empty: keep the stored one)' : 'Its secret', h('input', { name: 'broker_client_secret', type: 'password', autocomplete: 'new-password' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'unchecked' }), 'Save even if the realm does not answer yet'),
    h('button', { type: 'submit', class: 'primary' }, r ? 'Save' : 'Add realm'));
  form.addEventListener('submit', onSubmit(async (f) => {
    const name = r?.name ?? f.get('name').trim();
    const body = {
      name, authority: f.get('authority').trim(), extra_scopes: list(f.get('extra_scopes')),
      token_endpoint_auth_method: r?.token_endpoint_auth_method ?? 'client_secret_basic',
    };
    const broker = f.get('broker_client_id').trim();
    if (broker) {
      body.broker_client_id = broker;
      if (f.get('broker_client_secret')) body.broker_client_secret = f.get('broker_client_secret');
    }
    const unchecked = Boolean(f.get('unchecked'));
    await api('PUT', `realms/${encodeURIComponent(name)}${unchecked ? '?check=false' : ''}`, body);
    await redrawSaying(unchecked ? `Saved realm ${name}, without checking it.` : `Saved realm ${name}: it answers, and its metadata names this issuer.`);
    return null;
  }, said));
  return form;
}

/** A tenant's settings, changed in place (its keys, links and providers stay). */
function tenantForm(t) {
  const said = h('div', { class: 'said' });
  const form = h('form', { class: 'inline', id: `edit-tenant-${t.tenant_id}` },
    said,
    field('Realm', text('realm', { required: true, value: t.realm })),
    field('Clients (comma-separated)', text('clients', { required: true, value: t.clients.join(', ') })),
    field('Users', h('select', { name: 'provisioning' },
      h('option', { value: 'existing_only', selected: t.provisioning === 'existing_only' }, 'must exist in the realm'),
      h('option', { value: 'create', selected: t.provisioning === 'create' }, 'created on first use'))),
    field('Longest session (seconds)', h('input', { name: 'max_session_secs', type: 'number', min: 60, required: true, value: t.max_session_secs })),
    field('Published keys (JWKS URL, optional)', text('jwks_url', { value: t.jwks_url ?? '', placeholder: 'https://host.example/.well-known/jwks.json' })),
    field('Realm identity provider for the JWT grant (optional)', text('assertion_grant_idp', { value: t.assertion_grant_idp ?? '', placeholder: 'authproxy' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'allow_hs256', checked: Boolean(t.allow_hs256) }), 'Accepts HS256 (shared-secret) keys'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'hosts_vouch_for_emails', checked: Boolean(t.hosts_vouch_for_emails) }), 'Its hosts vouch for emails (an email they send logs in that realm user)'),
    h('button', { type: 'submit', class: 'primary' }, 'Save'));
  form.addEventListener('submit', onSubmit(async (f) => {
    const vouch = f.get('hosts_vouch_for_emails') === 'on';
    if (vouch && !t.hosts_vouch_for_emails && !window.confirm(`Let the hosts of ${t.tenant_id} vouch for emails? They can then log in as any user of realm ${f.get('realm').trim()} whose email they send.`)) return null;
    const { tenant_id: _, ...input } = t;
    Object.assign(input, {
      realm: f.get('realm').trim(), clients: list(f.get('clients')), provisioning: f.get('provisioning'),
      max_session_secs: Number(f.get('max_session_secs')), jwks_url: f.get('jwks_url').trim() || null, hosts_vouch_for_emails: vouch,
      assertion_grant_idp: f.get('assertion_grant_idp').trim() || null, allow_hs256: f.get('allow_hs256') === 'on',
    });
    await api('PUT', `tenants/${encodeURIComponent(t.tenant_id)}`, input);
    await redrawSaying(`Saved tenant ${t.tenant_id}.`);
    return null;
  }, said));
  return form;
}

/** The people registered for a resource, each with "Revoke" (their sessions end). */
async function registrations(path, resource) {
  const out = h('div', { id: 'registrations-out' });
  const base = `${path}/resources/${encodeURIComponent(resource)}/registrations`;
  const people = await api('GET', base);
  return h('section', { class: 'panel', id: 'registrations' },
    h('h2', {}, `Registered for ${resource}`), out,
    table(['Name', 'Email', { label: 'Registered', optional: true }, { label: 'ID', optional: true }, ''], people.map((p) => h('tr', {},
      h('td', {}, p.name), h('td', { class: 'wrap' }, p.email), h('td', { class: 'optional' }, when(p.created_at)),
      h('td', { class: 'optional' }, h('code', {}, p.registration_id)),
      h('td', { class: 'actions' }, h('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          if (!window.confirm(`Revoke the registration of ${p.name}? Their join URL stops and their open sessions end now.`)) return;
          try {
            await api('DELETE', `${base}/${encodeURIComponent(p.registration_id)}`);
            await route();
            document.getElementById('registrations-out').replaceChildren(message('ok', `Revoked the registration of ${p.name}: their sessions ended.`));
          } catch (error) { out.replaceChildren(errorBox(error)); }
        },
      }, 'Revoke')))), 'Nobody is registered for it.'));
}

function realmHealthTable(realms) {
  return table(['Realm', 'Status', { label: 'Since', optional: true }, 'Last error'], realms.map((r) => h('tr', {},
    h('td', {}, r.name),
    h('td', {}, badge(r.status)),
    h('td', { class: 'optional' }, when(r.since)),
    h('td', {}, r.last_error || ''))), 'No realm configured.');
}

async function route() {
  const name = (location.hash.slice(1).split('?')[0] || 'overview');
  const page = Object.hasOwn(pages, name) ? name : 'overview';
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#${page}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const root = h('div', { 'data-page': page });
  try {
    await pages[page](root);
  } catch (error) {
    root.replaceChildren(h('h1', {}, 'Something went wrong'), errorBox(error));
  }
  main().replaceChildren(root);
  document.title = `${root.querySelector('h1')?.textContent || 'Console'} · authproxy administration`;
  document.body.dataset.ready = page;
}

window.addEventListener('hashchange', async () => {
  await route();
  main().focus();
});
onRedraw(route);
route();
