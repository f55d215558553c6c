// Third-party SSO in Chromium: the host page (the CRM's origin) has a token of
// its identity platform (the stand-ins of Auth0, Gigya, Piano and an OpenID
// provider) and logs the embedded app (the phone app's origin) in with
// HostSso.start(); keycloak-js holds the user's Keycloak tokens; the host's
// logout reaches the frame within seconds; sso.update() shows a new name; the
// frame's login-required reaches the host page with its exact origin; a page of
// another origin cannot drive the frame.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { after, before, test as nodeTest } from 'node:test';
import { PROMPTLY_MS, startEnvironment, startPlatforms, withBrowser } from '../harness.js';

const test = (name, body) => nodeTest(name, { timeout: 60000 }, body);

const TENANT = `sso-${crypto.randomBytes(4).toString('hex')}`;
const AUTH0_DOMAIN = 'reader.eu.auth0.com';
const GIGYA_KEY = '3_reader-site';
let env;
let platforms;
let admin;
let apiKey;

async function call(method, url, { bearer, body, form } = {}) {
  const headers = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers, body: form ? new URLSearchParams(form) : body && JSON.stringify(body) });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${url}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

before(async () => {
  [env, platforms] = await Promise.all([startEnvironment(), startPlatforms()]);
  const out = execFileSync(env.bin, ['admin', 'create-token', '--config', env.configPath, '--actor', 'sso-suite', '--label', 'sso-suite']).toString();
  admin = out.trim().split(/\s+/).pop();
  const providers = [
    { name: 'auth0', kind: 'auth0', domain: AUTH0_DOMAIN, audience: 'reader-app', base_url: `${platforms.auth0}/${AUTH0_DOMAIN}` },
    { name: 'gigya', kind: 'gigya', api_key: GIGYA_KEY, data_center: 'us1', base_url: platforms.gigya },
    { name: 'piano', kind: 'piano', application_id: platforms.piano.aid, base_url: platforms.piano.url },
    { name: 'oidc', kind: 'oidc', issuer: platforms.oidc, audience: 'reader-oidc' },
  ];
  await call('PUT', `${env.broker}/admin/api/tenants/${TENANT}`, {
    bearer: admin,
    body: { environment: 'production', realm: 'tenant-a', clients: [env.phoneClient], provisioning: 'create', sso: { host_origin: env.crm, providers } },
  });
  await call('PUT', `${env.broker}/admin/api/tenants/${TENANT}/providers/piano/secrets`, {
    bearer: admin, body: { api_token: platforms.piano.api_token, signing_key: platforms.piano.production_key },
  });
  apiKey = (await call('POST', `${env.broker}/admin/api/tenants/${TENANT}/api-keys`, { bearer: admin, body: { operations: ['logout', 'exchange_sso_codes'] } })).credential;
});
after(() => env?.stop());

const unique = (prefix) => `${prefix}${crypto.randomBytes(4).toString('hex')}`;

/** A token of `provider` for a new user named `name`, as the host page holds it. */
async function tokenOf(provider, name) {
  if (provider === 'auth0') {
    return (await call('POST', `${platforms.auth0}/${AUTH0_DOMAIN}/issue`, { body: { sub: unique('auth0|'), aud: 'reader-app', name, email: 'reader@news.test', email_verified: true } })).id_token;
  }
  if (provider === 'gigya') {
    const [firstName, lastName] = name.split(' ');
    return (await call('POST', `${platforms.gigya}/accounts.getJWT`, { form: { apiKey: GIGYA_KEY, targetUID: unique('uid-'), claims: JSON.stringify({ firstName, lastName, email: 'g@news.test' }) } })).id_token;
  }
  if (provider === 'piano') {
    const uid = unique('PNI');
    await setPianoUser(uid, name);
    return (await call('POST', `${platforms.piano.url}/issue`, { body: { environment: 'production', sub: uid } })).token;
  }
  return (await call('POST', `${platforms.oidc}/issue`, { body: { sub: unique('o-'), aud: 'reader-oidc', name } })).id_token;
}

async function setPianoUser(uid, displayName) {
  const response = await fetch(`${platforms.piano.url}/control/users/${uid}`, {
    method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ display_name: displayName, email: `${uid}@news.test`, email_confirmed: true }),
  });
  assert.equal(response.status, 204);
}

async function openHost(context) {
  const page = await context.newPage();
  await page.goto(`${env.crm}/sso-host.html?tenant=${TENANT}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  const frame = page.frameLocator('#app');
  await frame.locator('body[data-ready="true"]').waitFor({ timeout: 20000 });
  assert.equal(await frame.locator('#status').textContent(), 'waiting');
  return { page, frame };
}

async function loggedIn(frame) {
  await frame.locator('#kc-status').filter({ hasText: /^authenticated:true:/ }).waitFor({ timeout: 15000 });
  assert.equal(await frame.locator('#status').textContent(), 'logged-in');
}

for (const provider of ['auth0', 'gigya', 'piano', 'oidc']) {
  test(`a ${provider} token on the host page logs the embedded app in, keycloak-js holding the user's Keycloak tokens`, async () => {
    await withBrowser(`sso ${provider}`, {}, async (context) => {
      const { page, frame } = await openHost(context);
      const name = `Reader ${provider[0].toUpperCase()}${provider.slice(1)}`;
      const token = await tokenOf(provider, name);
      const user = await page.evaluate(([p, t]) => window.hostSso.start({ provider: p, token: t }), [provider, token]);
      assert.equal(user.displayName, name);
      assert.match(user.id, new RegExp(`^ext:${provider}:[0-9a-f]{8}:`));
      await loggedIn(frame);
      assert.equal(await frame.locator('#name').textContent(), name);
    });
  });
}

test('a refused token rejects sso.start with a typed error and logs nobody in', async () => {
  await withBrowser('sso refused', {}, async (context) => {
    const { page, frame } = await openHost(context);
    const wrongAudience = (await call('POST', `${platforms.auth0}/${AUTH0_DOMAIN}/issue`, { body: { sub: 'auth0|x', aud: 'someone-elses-app' } })).id_token;
    const error = await page.evaluate((t) => window.hostSso.start({ provider: 'auth0', token: t }).then(() => null, (e) => ({ name: e.name, code: e.code, userMessage: e.userMessage })), wrongAudience);
    assert.deepEqual(error, { name: 'InvalidToken', code: 'invalid_token', userMessage: 'Your sign-in on this page could not be accepted. Please sign in again.' });
    const unknown = await page.evaluate((t) => window.hostSso.start({ provider: 'okta', token: t }).then(() => null, (e) => e.name), wrongAudience);
    assert.equal(unknown, 'UnknownProvider');
    assert.equal(await frame.locator('#status').textContent(), 'waiting');
    // An app whose tenant id names no tenant of its client says so, with an
    // error of its own (not "no such provider").
    const stranger = await context.newPage();
    await stranger.goto(`${env.crm}/sso-host.html?tenant=no-such-tenant`);
    const status = stranger.frameLocator('#app').locator('#status');
    await status.filter({ hasText: /^failed:/ }).waitFor({ timeout: 20000 });
    assert.match(await status.textContent(), /^failed:UnknownTenant:No tenant of this id uses this app/);
  });
});

test("the host backend's logout ends the open frame's session at once", async () => {
  await withBrowser('sso host logout', {}, async (context) => {
    const { page, frame } = await openHost(context);
    const user = await page.evaluate((t) => window.hostSso.start({ provider: 'oidc', token: t }), await tokenOf('oidc', 'Logout Reader'));
    await loggedIn(frame);
    const sentAt = Date.now();
    await call('POST', `${env.broker}/api/v1/embed/users/${TENANT}/${encodeURIComponent(user.id)}/logout`, { bearer: apiKey, body: {} });
    await frame.locator('#status').filter({ hasText: 'ended' }).waitFor({ timeout: PROMPTLY_MS });
    assert.ok(Date.now() - sentAt < PROMPTLY_MS);
    await page.waitForFunction(() => window.heard.ended.length === 1, null, { timeout: PROMPTLY_MS });
  });
});

test("the host page's sso.logout() ends the embedded session and the Keycloak session behind it", async () => {
  await withBrowser('sso page logout', {}, async (context) => {
    const { page, frame } = await openHost(context);
    await page.evaluate((t) => window.hostSso.start({ provider: 'auth0', token: t }), await tokenOf('auth0', 'Page Logout'));
    await loggedIn(frame);
    assert.deepEqual(await page.evaluate(() => window.hostSso.logout()), { ended: true });
    await frame.locator('#status').filter({ hasText: 'ended' }).waitFor({ timeout: PROMPTLY_MS });
  });
});

test('a new display name shows in the frame after sso.update()', async () => {
  await withBrowser('sso update', {}, async (context) => {
    const { page, frame } = await openHost(context);
    const uid = unique('PNI');
    await setPianoUser(uid, 'Pia Before');
    const token = (await call('POST', `${platforms.piano.url}/issue`, { body: { environment: 'production', sub: uid } })).token;
    await page.evaluate((t) => window.hostSso.start({ provider: 'piano', token: t }), token);
    await loggedIn(frame);
    assert.equal(await frame.locator('#name').textContent(), 'Pia Before');
    await setPianoUser(uid, 'Pia After');
    const user = await page.evaluate(() => window.hostSso.update());
    assert.equal(user.displayName, 'Pia After');
    await frame.locator('#name').filter({ hasText: 'Pia After' }).waitFor({ timeout: PROMPTLY_MS });
  });
});

test("login-required reaches the host page's listener with the app's exact origin", async () => {
  await withBrowser('sso login required', {}, async (context) => {
    const { page, frame } = await openHost(context);
    await frame.locator('#need-login').click();
    await page.waitForFunction(() => window.heard.loginRequired.length === 1, null, { timeout: PROMPTLY_MS });
    const heard = JSON.parse(await page.evaluate(() => JSON.stringify(window.heard)));
    assert.deepEqual(heard.loginRequired, [{ origin: env.phone, reason: 'comment' }]);
    assert.deepEqual(heard.domLoginRequired, [{ origin: env.phone, reason: 'comment' }]);
  });
});

test('the standard handshake logs the frame in: code_a through the host backend, code_b back, the verifier never leaving the frame', async () => {
  await withBrowser('sso handshake', {}, async (context) => {
    const { page, frame } = await openHost(context);
    const codeA = await page.evaluate(() => window.hostSso.handshakeCode());
    // The host's backend vouches for its user (no personal data in any URL).
    const { code_b: codeB } = await call('POST', `${env.broker}/api/v1/sso/codes`, {
      bearer: apiKey,
      body: { code_a: codeA, user: { primary_key: unique('member-'), user_name: 'hana', display_name: 'Hana Handshake', email: 'hana@news.test', email_verified: true } },
    });
    const user = await page.evaluate((c) => window.hostSso.complete(c), codeB);
    assert.equal(user.displayName, 'Hana Handshake');
    assert.equal(user.emailVerified, false, 'this tenant does not let its hosts vouch for emails');
    await loggedIn(frame);
  });
});

test('a page of another origin cannot drive the embedded app: its token and its login-required requests are ignored', async () => {
  await withBrowser('sso other origin', {}, async (context) => {
    const page = await context.newPage();
    // The unregistered origin frames the app and posts a token of its own.
    await page.goto(`${env.unregistered}/frame-host.html`);
    await page.evaluate(([src]) => { document.getElementById('app').src = src; }, [`${env.phone}/sso-app.html?tenant=${TENANT}`]);
    const frame = page.frameLocator('#app');
    await frame.locator('body[data-ready="true"]').waitFor({ timeout: 20000 });
    const token = await tokenOf('oidc', 'Mallory');
    await page.evaluate(() => {
      window.got = [];
      window.addEventListener('message', (e) => window.got.push(e.data?.type));
    });
    await page.evaluate(([t, appOrigin]) => {
      const target = document.getElementById('app').contentWindow;
      target.postMessage({ type: 'authproxy:sso', id: 'x', op: 'ping' }, appOrigin);
      target.postMessage({ type: 'authproxy:sso', id: 'y', op: 'start', provider: 'oidc', token: t }, appOrigin);
    }, [token, env.phone]);
    // The app's own login-required goes to the registered host origin only.
    await frame.locator('#need-login').click();
    await page.waitForTimeout(3000);
    assert.deepEqual(await page.evaluate(() => window.got), [], 'no answer, no ready or login-required message to another origin');
    assert.equal(await frame.locator('#status').textContent(), 'waiting');
  });
});
