// Embedded SSO from the host's backend in Chromium: the host opens the embedded
// app with #token=..., the SDK logs it in with no prompt and hands the user's
// Keycloak tokens to keycloak-js; the host ends and updates the session.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { after, before, test as nodeTest } from 'node:test';
import { PROMPTLY_MS, startEnvironment, withBrowser } from '../harness.js';

const test = (name, body) => nodeTest(name, { timeout: 60000 }, body);

// A tenant of this run only: the realm users it creates never meet another run's.
const TENANT = `web-${crypto.randomBytes(4).toString('hex')}`;
let env;
let admin;
let hostKey;
let apiKey;

async function adminCall(method, path, body) {
  const response = await fetch(`${env.broker}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

before(async () => {
  env = await startEnvironment();
  const out = execFileSync(env.bin, ['admin', 'create-token', '--config', env.configPath, '--actor', 'embed-suite', '--label', 'embed-suite']).toString();
  admin = out.trim().split(/\s+/).pop();
  await adminCall('PUT', `/admin/api/tenants/${TENANT}`, {
    environment: 'sandbox', realm: 'tenant-a', clients: [env.phoneClient], provisioning: 'create',
  });
  const key = await adminCall('POST', `/admin/api/tenants/${TENANT}/keys`, { kid: 'k1', generate: true });
  hostKey = crypto.createPrivateKey({ key: key.private_jwk, format: 'jwk' });
  apiKey = (await adminCall('POST', `/admin/api/tenants/${TENANT}/api-keys`, { operations: ['mint_tokens', 'logout', 'update_users'] })).credential;
});
after(() => env?.stop());

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A host token signed by the host's own key. */
function hostSigned(sub, name) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', typ: 'authproxy-host+jwt', kid: 'k1' })}.${b64({
    iss: TENANT, aud: `${env.broker}/embed/sandbox`, sub, tenant: TENANT, iat: now, exp: now + 120,
    jti: crypto.randomUUID(), name,
  })}`;
  const signature = crypto.sign('sha256', Buffer.from(input), { key: hostKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

async function hostApi(method, path, body) {
  const response = await fetch(`${env.broker}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

async function openEmbedded(context, pathAndQuery, fragment) {
  const page = await context.newPage();
  await page.goto(`${env.phone}${pathAndQuery}${fragment}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  return page;
}

test('a host-signed #token= logs the embedded app in with no prompt; the token leaves the address bar and keycloak-js holds the user', async () => {
  await withBrowser('embed host-signed', {}, async (context) => {
    const pagesBefore = context.pages().length;
    const page = await openEmbedded(context, '/host-embed.html?call=42', `#token=${hostSigned('ada', 'Ada Host')}&tab=notes`);
    assert.equal(await page.textContent('#status'), 'logged-in');
    assert.equal(await page.textContent('#name'), 'Ada Host');
    assert.match(await page.textContent('#kc-status'), /^authenticated:true:[0-9a-f-]{36}$/);
    const address = await page.evaluate(() => location.href);
    assert.equal(address, `${env.phone}/host-embed.html?call=42#tab=notes`, 'the deep link stays, the token goes');
    // The entry was replaced, not added: back and forward find no token.
    const entries = await page.evaluate(() => history.length);
    await page.goBack();
    await page.goForward();
    assert.equal(page.url(), `${env.phone}/host-embed.html?call=42#tab=notes`, 'no history entry holds the token');
    assert.equal(await page.evaluate(() => history.length), entries);
    assert.equal(context.pages().length, pagesBefore + 1, 'no popup, no prompt');
  });
});

test('a token minted by POST /api/v1/embed/tokens works the same; the host ends the session at once and an update shows the new name', async () => {
  await withBrowser('embed minted', {}, async (context) => {
    const minted = await hostApi('POST', '/api/v1/embed/tokens', { sub: 'minted', name: 'Min Ted' });
    const page = await openEmbedded(context, '/host-embed.html', minted.fragment);
    assert.equal(await page.textContent('#status'), 'logged-in');
    assert.equal(await page.textContent('#name'), 'Min Ted');
    await hostApi('PATCH', `/api/v1/embed/users/${TENANT}/minted`, { name: 'Min Renamed' });
    await page.waitForFunction(() => document.querySelector('#name').textContent === 'Min Renamed', null, { timeout: PROMPTLY_MS });
    const endedAt = Date.now();
    await hostApi('POST', `/api/v1/embed/users/${TENANT}/minted/logout`);
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'ended', null, { timeout: PROMPTLY_MS });
    assert.ok(Date.now() - endedAt <= PROMPTLY_MS);
  });
});

test('an invalid or replayed token leaves the app on its own login, and the broker answered 400', async () => {
  await withBrowser('embed invalid', {}, async (context) => {
    const token = hostSigned('eve', 'Eve');
    const first = await openEmbedded(context, '/host-embed.html', `#token=${token}`);
    assert.equal(await first.textContent('#status'), 'logged-in');
    const answers = [];
    const page = await context.newPage();
    page.on('response', (r) => { if (r.url().endsWith('/api/embed/redeem')) answers.push(r.status()); });
    await page.goto(`${env.phone}/host-embed.html#token=${token}`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.textContent('#status'), 'no-token');
    assert.deepEqual(answers, [400]);
    await page.goto(`${env.phone}/host-embed.html#token=not.a.token`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.textContent('#status'), 'no-token');
  });
});

test('a host whose framework strips fragments posts the token to the frame; a page of another origin cannot', async () => {
  await withBrowser('embed by message', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/host-page.html#token=${hostSigned('posted', 'Post Ed')}`);
    const frame = await (await page.waitForSelector('#app')).contentFrame();
    await frame.waitForFunction(() => document.querySelector('#status')?.textContent === 'logged-in', null, { timeout: 15000 });
    assert.equal(await frame.textContent('#name'), 'Post Ed');
    assert.match(await frame.textContent('#kc-status'), /^authenticated:true:/);

    // The same page served from an origin the app does not name: its message is ignored.
    const other = await context.newPage();
    await other.goto(`${env.unregistered}/host-page.html#token=${hostSigned('intruder', 'Intruder')}`);
    const otherFrame = await (await other.waitForSelector('#app')).contentFrame();
    await otherFrame.waitForFunction(() => document.querySelector('#status')?.textContent === 'no-token', null, { timeout: 15000 });
  });
});

test("the SDK's logout() ends the session from the frame: the broker renews it no more", async () => {
  await withBrowser('embed frame logout', {}, async (context) => {
    const page = await openEmbedded(context, '/host-embed.html', `#token=${hostSigned('frame-leaver', 'Fran')}`);
    assert.equal(await page.textContent('#status'), 'logged-in');
    const sessionToken = await page.evaluate(() => window.embedSession.sessionToken);
    await page.evaluate(() => window.embedSession.logout());
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'ended', null, { timeout: PROMPTLY_MS });
    const renewed = await fetch(`${env.broker}/api/embed/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: env.phoneClient, session_token: sessionToken }),
    });
    assert.equal(renewed.status, 401);
    assert.equal((await renewed.json()).error, 'session_ended');
  });
});
