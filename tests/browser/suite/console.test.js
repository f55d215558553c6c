// The admin console in Chromium: alice signs in at the admin realm, does each
// page's main task through the UI once, and every page is photographed at a
// desktop and a narrow width (tests/browser/artifacts/console/) to be looked at.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test as nodeTest } from 'node:test';
import { execFileSync } from 'node:child_process';
import { artifacts, signIn, startEnvironment, withBrowser } from '../harness.js';

const test = (name, body) => nodeTest(name, { timeout: 90000 }, body);
const shots = path.join(artifacts, 'console');
const SIZES = { desktop: { width: 1280, height: 860 }, narrow: { width: 390, height: 844 } };

let env;
// The broker on localhost, the realm on 127.0.0.1: two sites, as in production,
// so the sign-in's return from the realm is a cross-site navigation.
before(async () => { env = await startEnvironment({ brokerHost: 'localhost' }); });
after(() => env?.stop());

async function signedIn(context) {
  const page = await context.newPage();
  const problems = [];
  // Refusals the test provokes (422) show as failed loads; 404s are caught below.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('response', (r) => { if (r.status() === 404) problems.push(`404 ${r.url()}`); });
  await page.goto(`${env.broker}/admin/`);
  await page.click('#sign-in');
  await signIn(page, 'alice', 'alice');
  await page.waitForSelector('body[data-ready="overview"]');
  return { page, problems };
}

async function open(page, name) {
  await page.click(`#nav a[href="#${name}"]`);
  await page.waitForSelector(`body[data-ready="${name}"] [data-page="${name}"]`);
}

async function photograph(page, name) {
  await assertAccessible(page, name);
  fs.mkdirSync(shots, { recursive: true });
  const words = await page.textContent('body');
  assert.doesNotMatch(words, /\[object Object\]|undefined|NaN|\bnull\b/, `${name} shows a value that was never meant to be shown`);
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(shots, `${name}-${size}.png`), fullPage: true });
    // Nothing wider than the window at either width: no sideways scrolling.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name} at ${size} is ${overflow}px wider than the window`);
    // No column hidden behind a table's own sideways scroll.
    const hidden = await page.$$eval('.table-wrap', (wraps) => Math.max(0, ...wraps.map((w) => w.scrollWidth - w.clientWidth)));
    assert.ok(hidden <= 1, `${name} at ${size} hides ${hidden}px of a table behind a sideways scroll`);
    // A short name (an action, a code) is never broken mid-word (after a hyphen is a word break).
    const broken = await page.$$eval('td code', (codes) => codes
      .filter((c) => c.textContent.length <= 32 && !/[\s-]/.test(c.textContent) && c.getClientRects().length > 1)
      .map((c) => c.textContent));
    assert.deepEqual(broken, [], `${name} at ${size} breaks these mid-word`);
  }
  await page.setViewportSize(SIZES.desktop);
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's WCAG 2 A and AA rules (labels, contrast, names, landmarks) on the
 * page as it stands. Run through the DevTools protocol, which the console's CSP
 * does not govern; the console itself loads nothing but its own files.
 */
async function assertAccessible(page, name) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `${name}: accessibility`);
}

/** Every form control has a label a screen reader announces. */
async function assertLabelled(page, name) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]
    .filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.name || el.outerHTML));
  assert.deepEqual(unlabelled, [], `${name}: controls without a label`);
}

test('sign-in page: the admin realm is named, and the console is reached by keyboard', async () => {
  await withBrowser('console sign-in', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.broker}/admin/`);
    assert.match(await page.textContent('main'), /realm tenant-a/);
    await photograph(page, 'signin');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'sign-in');
    await page.keyboard.press('Enter');
    await signIn(page, 'alice', 'alice');
    await page.waitForSelector('body[data-ready="overview"]');
    assert.equal(await page.textContent('#user'), 'alice');
    // The realm is another site: the Strict session cookie arrived all the same.
    assert.notEqual(new URL(env.idp).hostname, new URL(env.broker).hostname);
    const session = (await context.cookies(env.broker)).find((c) => c.name === 'authproxy-console');
    assert.equal(session?.sameSite, 'Strict');
    assert.equal(session?.httpOnly, true);
  });
});

test('a realm user who is not an admin is told so, and gets no console', async () => {
  await withBrowser('console not admin', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.broker}/admin/`);
    await page.click('#sign-in');
    await signIn(page, 'legacy', 'legacy');
    await page.waitForSelector('#notice');
    assert.match(await page.textContent('#notice'), /not an administrator/);
    assert.equal(await page.$('#nav'), null);
  });
});

/** One login that the realm refuses (the user cancels), so the overview has a failure to draw. */
async function failOneLogin(context) {
  const page = await context.newPage();
  const authorization = page.waitForRequest((r) => r.url().includes('/protocol/openid-connect/auth'));
  await page.goto(`${env.broker}/login?${new URLSearchParams({
    client_id: env.crmClient, user: 'alice@tenant-a.test', origin: env.crm,
    txn: 'c'.repeat(43), txn_challenge: 'd'.repeat(43),
  })}`);
  const atRealm = new URL((await authorization).url());
  const back = new URL(atRealm.searchParams.get('redirect_uri'));
  back.searchParams.set('state', atRealm.searchParams.get('state'));
  back.searchParams.set('error', 'access_denied');
  await page.goto(back.toString());
  await page.close();
}

test('each page does its main task through the UI, and looks right at both widths', async () => {
  await withBrowser('console pages', {}, async (context) => {
    await failOneLogin(context);
    const { page, problems } = await signedIn(context);
    page.on('dialog', (dialog) => dialog.accept());
    assert.match(await page.textContent('main'), /Logins started, last hour/);
    // The chart draws that failure: a bar with height, in pixels.
    await page.waitForSelector('.chart .bar', { state: 'attached' });
    const tallest = await page.$$eval('.chart .bar > div', (parts) => Math.max(...parts.map((p) => p.getBoundingClientRect().height)));
    assert.ok(tallest >= 20, `the tallest bar is ${tallest} px`);
    await assertLabelled(page, 'overview');
    await photograph(page, 'overview');

    // Clients: add one, see it listed; sync status shown.
    await open(page, 'clients');
    await page.fill('#add-client [name=client_id]', 'console.example');
    await page.fill('#add-client [name=origins]', 'https://console.example');
    await page.fill('#add-client [name=realms]', 'tenant-a');
    await page.selectOption('#add-client [name=approval]', 'off');
    await page.click('#add-client button[type=submit]');
    await page.waitForSelector('td >> text=console.example');
    // Not in Keycloak yet: it differs; once synced from the console, it does not.
    const badge = 'tr:has(code:text-is("console.example")) .status';
    assert.equal(await page.textContent(badge), 'differs');
    await page.click('#sync-now');
    await page.waitForSelector('#out .message.ok');
    assert.equal(await page.textContent(badge), 'in-sync');
    // Its approval step is off, and one click turns it back on.
    const row = 'tr:has(code:text-is("console.example"))';
    assert.match(await page.textContent(`${row} td.approval`), /^off/);
    await page.click(`${row} button:has-text("Ask again")`);
    await page.waitForSelector(`${row} button:has-text("Never ask")`);
    assert.match(await page.textContent(`${row} td.approval`), /^ask/);
    // A refusal lists what to fix.
    await page.fill('#add-client [name=client_id]', 'bad client');
    await page.fill('#add-client [name=origins]', 'https://x.example/path');
    await page.fill('#add-client [name=realms]', 'tenant-a');
    await page.click('#add-client button[type=submit]');
    // Each problem under its field, announced with it; the box above says so.
    await page.waitForSelector('#add-client .field-error');
    assert.match(await page.textContent('#out'), /fix the fields marked below/);
    assert.equal(await page.getAttribute('#add-client [name=client_id]', 'aria-invalid'), 'true');
    assert.match(await page.textContent('label:has([name=client_id]) .field-error'), /host/);
    assert.match(await page.textContent('label:has([name=origins]) .field-error'), /path/);
    await assertLabelled(page, 'clients');
    await photograph(page, 'clients');

    // Realms: check one now.
    await open(page, 'realms');
    await page.click('tr:has-text("tenant-a") button:has-text("Check now")');
    await page.waitForSelector('#out .message.ok');
    assert.match(await page.textContent('#out'), /tenant-a answers/);
    await photograph(page, 'realms');

    // Directory: where does alice go? An import with a bad row shows the row.
    await open(page, 'directory');
    await page.fill('#lookup [name=user]', 'alice@tenant-a.test');
    await page.click('#lookup button[type=submit]');
    await page.waitForSelector('#answer p');
    assert.match(await page.textContent('#answer'), /alice@tenant-a\.test logs in at realm tenant-a/);
    await page.setInputFiles('#import [name=file]', { name: 'rules.csv', mimeType: 'text/csv', buffer: Buffer.from('kind,key,realm,idp_hint\nuser,new@tenant-a.test,tenant-a,\nuser,broken,nowhere,\n') });
    await page.click('#import button[type=submit]');
    await page.waitForSelector('#out .message.error li');
    assert.match(await page.textContent('#out'), /line 3/);
    const download = page.waitForEvent('download');
    await page.click('#export');
    const csv = fs.readFileSync(await (await download).path(), 'utf8');
    assert.match(csv, /alice@tenant-a\.test/);
    await assertLabelled(page, 'directory');
    await photograph(page, 'directory');

    // Callers: create (secret once), rotate (a new one), revoke.
    await open(page, 'callers');
    const create = 'section.panel form';
    await page.fill(`${create} [name=caller_id]`, 'crm-backend');
    await page.fill(`${create} [name=realms]`, 'tenant-a');
    await page.fill(`${create} [name=domains]`, 'tenant-a.test');
    await page.click(`${create} button[type=submit]`);
    await page.waitForSelector('#secret');
    const first = await page.textContent('#secret');
    await page.click('tr:has-text("crm-backend") button:has-text("Rotate secret")');
    await page.waitForFunction((old) => document.querySelector('#secret') && document.querySelector('#secret').textContent !== old, first);
    // The policy: open it, add a realm, save; the list shows it.
    await page.click('tr:has-text("crm-backend") summary');
    await page.fill('tr:has-text("crm-backend") details [name=realms]', 'tenant-a, tenant-b');
    await page.click('tr:has-text("crm-backend") details button[type=submit]');
    await page.waitForSelector('tr:has-text("crm-backend") td:has-text("tenant-a, tenant-b")');
    const callers = await adminApi()('GET', 'callers');
    assert.deepEqual(callers.find((c) => c.caller_id === 'crm-backend').policy.realms, ['tenant-a', 'tenant-b'], 'the admin API has the policy saved in place');
    await assertLabelled(page, 'callers');
    await photograph(page, 'callers');
    await page.click('tr:has-text("crm-backend") button:has-text("Revoke")');
    await page.waitForSelector('text=No caller yet.');

    // Admin tokens: create (shown once), expire, revoke.
    await open(page, 'tokens');
    await page.fill('#create-token [name=label]', 'deploy');
    await page.fill('#create-token [name=days]', '30');
    await page.click('#create-token button[type=submit]');
    await page.waitForSelector('#secret');
    assert.match(await page.textContent('#secret'), /^apx_admin_/);
    await page.click('tr:has-text("deploy") button:has-text("Expire now")');
    await page.waitForSelector('tr:has-text("deploy") .status.expired');
    // legacy's subject at tenant-a: administrators are named by subject.
    await page.fill('#end-sessions [name=subject]', 'a1f0c1de-0000-4000-8000-0000000001e9');
    await page.click('#end-sessions button[type=submit]');
    await page.waitForSelector('#sessions-out .message.ok');
    assert.match(await page.textContent('#sessions-out'), /Every console session of a1f0c1de-0000-4000-8000-0000000001e9 has ended/);
    await assertLabelled(page, 'tokens');
    await photograph(page, 'tokens');
    await page.click('tr:has-text("deploy") button:has-text("Revoke")');
    await page.waitForFunction(() => !document.querySelector('main').textContent.includes('deploy'));

    // Tenants: add one, then give its backend an API key (shown once) and revoke it.
    await open(page, 'tenants');
    await page.fill('#create-tenant [name=tenant_id]', 'acme');
    await page.fill('#create-tenant [name=realm]', 'tenant-a');
    await page.fill('#create-tenant [name=clients]', env.crmClient);
    await page.click('#create-tenant button[type=submit]');
    await page.click('tr:has-text("acme") button:has-text("Keys")');
    await page.check('#create-api-key input[value=mint_tokens]');
    await page.fill('#create-api-key [name=days]', '30');
    await page.click('#create-api-key button[type=submit]');
    await page.waitForSelector('#keys-out #secret');
    const credential = await page.textContent('#keys-out #secret');
    assert.match(credential, /^ak-[^:]+:.+/);
    await assertLabelled(page, 'tenants');
    await photograph(page, 'tenants');
    await page.click('#keys tr:has-text("mint_tokens") button:has-text("Revoke")');
    await page.waitForSelector('#keys tr:has-text("mint_tokens") .status.revoked');

    // Links and registrations: the tenant's backend (its API key, made here)
    // registers two people for a webinar; the admin sets where links land,
    // finds the registrations and revokes one.
    await page.check('#create-api-key input[value=manage_resources]');
    await page.check('#create-api-key input[value=manage_registrations]');
    await page.click('#create-api-key button[type=submit]');
    await page.waitForSelector('#keys-out #secret');
    const backendKey = await page.textContent('#keys-out #secret');
    const host = (method, url, body) => fetch(`${env.broker}${url}`, {
      method, headers: { authorization: `Bearer ${backendKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal((await host('PUT', '/api/v1/resources/webinar-1', { type: 'event', url: `${env.crm}/webinars/1` })).status, 200);
    for (const [name, email] of [['Ada Lovelace', 'ada@example.com'], ['Grace Hopper', 'grace@example.com']]) {
      assert.equal((await host('POST', '/api/v1/resources/webinar-1/registrations', { name, email })).status, 201);
    }
    await page.click('tr:has-text("acme") a:has-text("Links")');
    await page.waitForSelector('body[data-ready="embeds"] #link-settings');
    await page.fill('#link-settings [name=app_url]', `${env.crm}/app/`);
    await page.fill('#link-settings [name=link_paths]', '/reports\n/calls');
    await page.click('#link-settings button[type=submit]');
    await page.waitForSelector('#out .message.ok');
    assert.equal(await page.inputValue('#link-settings [name=link_paths]'), '/reports\n/calls');
    // A path a browser could read as another host is refused, with what to fix.
    await page.fill('#link-settings [name=link_paths]', '//evil.example');
    await page.click('#link-settings button[type=submit]');
    await page.waitForSelector('#link-settings label:has([name=link_paths]) .field-error');
    assert.equal(await page.getAttribute('#link-settings [name=link_paths]', 'aria-invalid'), 'true');
    await page.click('tr:has-text("webinar-1") a:has-text("Registrations")');
    await page.waitForSelector('#registrations tr:has-text("grace@example.com")');
    await page.click('#registrations tr:has-text("Ada Lovelace") button:has-text("Revoke")');
    await page.waitForSelector('#registrations-out .message.ok');
    const names = await page.$$eval('#registrations tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
    assert.deepEqual(names, ['Grace Hopper']);
    assert.equal(await page.textContent('tr:has-text("webinar-1") td:nth-child(4)'), '1');
    await assertLabelled(page, 'embeds');
    await photograph(page, 'embeds');

    // Audit: filter by action; every row is the console's.
    await open(page, 'audit');
    await photograph(page, 'audit-all');
    await page.fill('#audit-filter [name=action]', 'caller');
    await page.click('#audit-filter button[type=submit]');
    // The filtered list replaces the whole one.
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('tbody tr td:nth-child(3)')];
      return cells.length > 0 && cells.every((c) => c.textContent.startsWith('caller.'));
    });
    const actions = await page.$$eval('tbody tr td:nth-child(3)', (cells) => cells.map((c) => c.textContent));
    // Newest first.
    assert.deepEqual(actions, ['caller.delete', 'caller.policy', 'caller.rotate', 'caller.create']);
    const actors = await page.$$eval('tbody tr td:nth-child(2)', (cells) => cells.map((c) => c.textContent));
    assert.ok(actors.every((a) => a === 'console:a1f0c1de-0000-4000-8000-00000000a11c'), actors.join());
    await assertLabelled(page, 'audit');
    await photograph(page, 'audit');

    // Signing out ends it.
    await page.click('button:has-text("Sign out")');
    await page.waitForSelector('#sign-in');
    assert.match(await page.textContent('#notice'), /You are signed out/);
    // Told as news, not as a refusal.
    assert.equal(await page.getAttribute('#notice', 'role'), 'status');
    assert.deepEqual(problems, [], 'no console error and no 404');
  });
});

/** The admin API, as a script would check what the console did. */
function adminApi() {
  const out = execFileSync(env.bin, ['admin', 'create-token', '--config', env.configPath, '--actor', 'console-suite', '--label', `console-suite-${Date.now()}`], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const token = out.trim().split(/\s+/).pop();
  return async (method, path, body) => {
    const response = await fetch(`${env.broker}/admin/api/${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

test('the everyday edits in place: a client, a realm, a directory rule, a tenant and its signing keys, each seen through the admin API', async () => {
  await withBrowser('console edits', {}, async (context) => {
    const api = adminApi();
    await api('POST', 'clients', { client_id: 'edit.example', origins: ['https://edit.example'], realms: ['tenant-a'] });
    await api('PUT', 'tenants/edits', { environment: 'sandbox', realm: 'tenant-a', clients: [env.crmClient], provisioning: 'create' });
    const { page, problems } = await signedIn(context);
    page.on('dialog', (dialog) => dialog.accept());

    // A client: another origin and realm, saved in place.
    await open(page, 'clients');
    const client = 'tr:has(code:text-is("edit.example"))';
    const clientForm = '[id="edit-client-edit.example"]';
    await page.click(`${client} button:has-text("Edit")`);
    assert.equal(await page.getAttribute(`${client} button:has-text("Edit")`, 'aria-expanded'), 'true');
    await page.fill(`${clientForm} [name=origins]`, 'https://edit.example\nhttps://eu.edit.example');
    await page.fill(`${clientForm} [name=realms]`, 'tenant-a, tenant-b');
    await page.click(`${clientForm} button[type=submit]`);
    await page.waitForSelector('#out .message.ok');
    const saved = (await api('GET', 'clients')).find((c) => c.client_id === 'edit.example');
    assert.deepEqual(saved.origins, ['https://edit.example', 'https://eu.edit.example']);
    assert.deepEqual(saved.realms, ['tenant-a', 'tenant-b']);
    // A bad origin: said under the origins, nothing saved.
    await page.click(`${client} button:has-text("Edit")`);
    await page.fill(`${clientForm} [name=origins]`, 'https://edit.example/app');
    await page.click(`${clientForm} button[type=submit]`);
    await page.waitForSelector(`${clientForm} label:has([name=origins]) .field-error`);
    assert.match(await page.textContent(`${clientForm} .said`), /fix the fields marked below/);
    assert.deepEqual((await api('GET', 'clients')).find((c) => c.client_id === 'edit.example').origins, saved.origins);

    // A realm: added (its metadata checked), refused with the reason under the
    // authority, then removed.
    await open(page, 'realms');
    await page.fill('#add-realm [name=name]', 'extra');
    await page.fill('#add-realm [name=authority]', `${env.idp}/realms/tenant-b`);
    await page.click('#add-realm button[type=submit]');
    await page.waitForSelector('#out .message.ok');
    assert.match(await page.textContent('#out'), /Saved realm extra: it answers/);
    assert.equal(await page.textContent('tr:has(td:text-is("extra")) .status'), 'up', 'checked when saved, and shown so');
    assert.ok((await api('GET', 'realms')).some((r) => r.name === 'extra'));
    const extra = 'tr:has(td:text-is("extra"))';
    await page.click(`${extra} button:has-text("Edit")`);
    await page.fill('#edit-realm-extra [name=authority]', `${env.idp}/realms/no-such-realm`);
    await page.click('#edit-realm-extra button[type=submit]');
    await page.waitForSelector('#edit-realm-extra label:has([name=authority]) .field-error');
    await photograph(page, 'realms-edit');
    await page.click(`${extra} button:has-text("Remove")`);
    await page.waitForFunction(() => !document.querySelector('main').textContent.includes('extra'));
    assert.ok(!(await api('GET', 'realms')).some((r) => r.name === 'extra'));

    // One directory rule: saved, then removed.
    await open(page, 'directory');
    await page.fill('#put-rule [name=key]', 'dora@corp.example');
    await page.fill('#put-rule [name=realm]', 'tenant-b');
    await page.click('#put-rule button[type=submit]');
    await page.waitForSelector('#rule-out .message.ok');
    assert.equal((await api('POST', 'directory/lookup', { user: 'dora@corp.example' })).realm, 'tenant-b');
    await page.fill('#remove-rule [name=key]', 'dora@corp.example');
    await page.click('#remove-rule button[type=submit]');
    await page.waitForSelector('#rule-out .message.ok >> text=Removed the rule');
    assert.equal((await api('POST', 'directory/lookup', { user: 'dora@corp.example' })).outcome, 'unknown', 'no rule names dora any more');
    await photograph(page, 'directory-rule');

    // A tenant: its longest session, then a signing key made here (the private
    // key shown once) and the public half of it added as a second key.
    await open(page, 'tenants');
    const tenant = 'tr:has(code:text-is("edits"))';
    await page.click(`${tenant} button:has-text("Edit")`);
    await page.fill('#edit-tenant-edits [name=max_session_secs]', '600');
    await page.click('#edit-tenant-edits button[type=submit]');
    await page.waitForSelector('#out .message.ok');
    assert.equal((await api('GET', 'tenants')).find((t) => t.tenant_id === 'edits').max_session_secs, 600);
    await page.click(`${tenant} button:has-text("Keys")`);
    await page.fill('#add-signing-key [name=kid]', 'made-here');
    await page.click('#add-signing-key button[type=submit]');
    await page.waitForSelector('#keys-out #secret');
    const privateJwk = JSON.parse(await page.textContent('#keys-out #secret'));
    assert.equal(privateJwk.crv, 'P-256');
    assert.ok(privateJwk.d, 'the private part, this once');
    const { d: _, ...publicJwk } = privateJwk;
    await page.fill('#add-signing-key [name=kid]', 'pasted');
    await page.fill('#add-signing-key [name=jwk]', 'not json');
    await page.click('#add-signing-key button[type=submit]');
    await page.waitForSelector('#add-signing-key label:has([name=jwk]) .field-error');
    await page.fill('#add-signing-key [name=jwk]', JSON.stringify(publicJwk));
    await page.click('#add-signing-key button[type=submit]');
    await page.waitForSelector('#keys tr:has(code:text-is("pasted"))');
    const kids = (await api('GET', 'tenants/edits/keys')).map((k) => k.kid).sort();
    assert.deepEqual(kids, ['made-here', 'pasted']);
    assert.ok((await api('GET', 'tenants/edits/keys')).every((k) => !k.private_jwk), 'the private key is never shown again');
    // A third-party provider: an OpenID provider added, its connection tested;
    // an Auth0 one with a bad domain is refused under the domain; then removed.
    await page.fill('#put-provider [name=host_origin]', env.crm);
    await page.fill('#put-provider [name=name]', 'corp');
    await page.selectOption('#put-provider [name=kind]', 'oidc');
    await page.fill('#put-provider fieldset[data-kind=oidc] [name=issuer]', `${env.idp}/realms/tenant-b`);
    await page.fill('#put-provider fieldset[data-kind=oidc] [name=audience]', 'news-app');
    await page.click('#put-provider button[type=submit]');
    await page.waitForSelector('#keys tr:has(code:text-is("corp"))');
    const listed = await api('GET', 'tenants/edits/providers');
    assert.deepEqual(listed.map((p) => [p.name, p.kind]), [['corp', 'oidc']]);
    assert.equal((await api('GET', 'tenants')).find((t) => t.tenant_id === 'edits').sso.host_origin, env.crm);
    await page.click('#keys tr:has(code:text-is("corp")) button:has-text("Test connection")');
    // The test's answer replaces the "Saved" news: wait for it, not for any message.
    await page.waitForFunction(() => /^corp: /.test(document.querySelector('#keys-out .message')?.textContent ?? ''));
    await page.fill('#put-provider [name=name]', 'bad');
    await page.selectOption('#put-provider [name=kind]', 'auth0');
    await page.fill('#put-provider fieldset[data-kind=auth0] [name=domain]', 'not a domain');
    await page.fill('#put-provider fieldset[data-kind=auth0] [name=audience]', 'news-app');
    await page.click('#put-provider button[type=submit]');
    await page.waitForSelector('#put-provider fieldset[data-kind=auth0] label:has([name=domain]) .field-error');
    assert.equal((await api('GET', 'tenants/edits/providers')).length, 1, 'nothing saved');
    await assertLabelled(page, 'tenants-edit');
    await photograph(page, 'tenants-edit');
    await page.click('#keys tr:has(code:text-is("corp")) button:has-text("Remove")');
    await page.waitForSelector('#keys >> text=No third-party provider yet.');
    assert.deepEqual(await api('GET', 'tenants/edits/providers'), []);

    // Every change is in the audit trail, from what to what.
    const rows = await api('GET', 'audit?order=newest&limit=50');
    const reasons = (action, subject) => rows.filter((r) => r.action === action && r.subject === subject).map((r) => r.reason).join('\n');
    assert.match(reasons('client.update', 'edit.example'), /origins: .* -> /);
    assert.match(reasons('tenant.put', 'edits'), /max_session_secs: 14400 -> 600/);
    assert.match(reasons('tenant.put', 'edits'), /sso\.providers: \[.*"name":"corp".*\] -> \[\]/);
    assert.equal(reasons('tenant.key.add', 'edits/made-here'), 'created');
    assert.match(reasons('directory.put', 'user:dora@corp.example'), /created/);
    assert.equal(reasons('directory.delete', 'user:dora@corp.example'), 'removed (went to realm tenant-b)');
    assert.match(reasons('realm.put', 'extra'), /created/);
    assert.deepEqual(problems, [], 'no console error and no 404');
  });
});
