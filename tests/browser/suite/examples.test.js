// The SDK's framework examples (browser-sdk/examples/) as a developer runs them:
// plain HTML with the served file, a React hook built with esbuild from the npm
// package, and a Vue composable with no build step. Each one, on the CRM's
// origin: log in through the popup, show who is signed in, log out.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test as nodeTest } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import { artifacts, freePort, signIn, startEnvironment, whenClosed, withBrowser } from '../harness.js';

const shots = path.join(artifacts, 'pages');
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

const test = (name, body) => nodeTest(name, { timeout: 60000 }, body);

let env;
before(async () => { env = await startEnvironment(); });
after(() => env?.stop());

async function openExample(context, name) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
  await page.goto(`${env.crm}/examples/${name}/`);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems };
}

for (const name of ['plain', 'react', 'vue']) {
  test(`${name}: log in, see who is signed in, log out; one button at a time`, async () => {
    await withBrowser(`example ${name}`, {}, async (context) => {
      const { page, problems } = await openExample(context, name);
      assert.equal(await page.isVisible('#logout'), false, 'signed out: no Log out');
      await page.fill('#username', 'alice@tenant-a.test');
      const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#login')]);
      await signIn(popup, 'alice', 'alice');
      await page.waitForSelector('#who');
      assert.equal(await page.textContent('#who'), 'Signed in as alice (realm tenant-a).');
      assert.equal(await page.isVisible('#login'), false, 'signed in: no Log in');
      const [logoutPopup] = await Promise.all([context.waitForEvent('page'), page.click('#logout')]);
      await whenClosed(logoutPopup);
      await page.waitForSelector('#login');
      assert.equal(await page.isVisible('#logout'), false);
      assert.deepEqual(problems, [], 'no script error and no failed load');
    });
  });

  test(`${name}: a closed popup reads as a sentence, not a code`, async () => {
    await withBrowser(`example ${name} closed`, {}, async (context) => {
      const { page } = await openExample(context, name);
      await page.fill('#username', 'alice@tenant-a.test');
      const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#login')]);
      await popup.waitForSelector('#kc-login');
      await popup.waitForTimeout(2500); // a person reads the form before closing it
      await popup.close();
      await page.waitForSelector('#error:not([hidden])');
      assert.equal(await page.textContent('#error'), 'You closed the sign-in window before signing in.');
    });
  });
}

test('plain: a page on an origin no client registers says so in words', async () => {
  await withBrowser('example unregistered', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.unregistered}/examples/plain/`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.fill('#username', 'alice@tenant-a.test');
    await page.click('#login');
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.textContent('#error'), 'Sign-in is not set up for this page yet. Please tell your administrator.');
  });
});

test('the demo\'s sample CRM page: one button at a time, the user and realm in words, the webphone registered', async () => {
  await withBrowser('demo crm', {}, async (context) => {
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
    await page.goto(`${env.crm}/demo-crm/index.html`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.isVisible('#logout-button'), false);
    const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#login-button')]);
    await popup.waitForSelector('#kc-login');
    fs.mkdirSync(shots, { recursive: true });
    await popup.screenshot({ path: path.join(shots, 'dev-idp-login.png') });
    await signIn(popup, 'alice', 'alice');
    await page.waitForSelector('#session:not([hidden])');
    assert.equal(await page.textContent('#session-words'), 'Signed in as alice at realm tenant-a.');
    assert.equal(await page.isVisible('#login-button'), false, 'signed in: no Log in');
    const phone = page.frameLocator('#webphone');
    await phone.locator('text=registered as alice').waitFor();
    await page.screenshot({ path: path.join(shots, 'demo-crm-signed-in.png'), fullPage: true });
    const [logoutPopup] = await Promise.all([context.waitForEvent('page'), page.click('#logout-button')]);
    await whenClosed(logoutPopup);
    await page.waitForSelector('#login-button');
    assert.equal(await page.textContent('#status'), 'You are signed out.');
    await phone.locator('text=logged out').waitFor();
    assert.deepEqual(problems, [], 'no script error and no failed load');
  });
});

test('the demo\'s sample CRM page: Cancel ends a wait for a window out of sight, and a name discovery refused opens no window', async () => {
  await withBrowser('demo crm cancel', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/demo-crm/index.html`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.isVisible('#cancel-button'), false, 'no Cancel before a sign-in');
    const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#login-button')]);
    await popup.waitForSelector('#kc-login');
    assert.equal(await page.textContent('#status'), 'Waiting for the sign-in window…');
    await page.bringToFront();
    await page.click('#cancel-button');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'The sign-in was cancelled.');
    await whenClosed(popup);
    assert.equal(await page.isVisible('#cancel-button'), false);

    // A name that is not enabled for SSO: said as it is typed, and the button
    // then opens no window at all.
    await page.fill('#username', 'legacy@tenant-a.test');
    await page.waitForFunction(() => document.querySelector('#status').textContent.includes('single sign-on'));
    // Every window.open is counted as it happens (the SDK opens the popup
    // synchronously in the click, when it opens one at all).
    await page.evaluate(() => {
      window.opened = 0;
      const open = window.open.bind(window);
      window.open = (...args) => { window.opened += 1; return open(...args); };
    });
    await page.click('#login-button');
    await page.waitForFunction(() => document.querySelector('#status').classList.contains('error'));
    assert.equal(await page.textContent('#status'), 'Your account does not use single sign-on yet: sign in with your password.');
    assert.equal(await page.evaluate(() => window.opened), 0, 'no sign-in window opened, not even for a moment');
  });
});

/**
 * The demo's sample CRM as scripts/demo runs it: its pages served by its backend
 * (deploy/demo-crm/host_backend.py), which mints host tokens with an API key of a
 * sandbox tenant; the embedded app on another site (127.0.0.1 against localhost).
 */
async function demoCrmWithBackend() {
  const port = await freePort();
  const app = `http://127.0.0.1:${port}`;
  const token = execFileSync(env.bin, ['admin', 'create-token', '--config', env.configPath, '--actor', 'examples-suite', '--label', `examples-${port}`], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim().split(/\s+/).pop();
  const admin = async (method, url, body) => {
    const response = await fetch(`${env.broker}/admin/api/${url}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok(response.ok, `${method} ${url}: ${response.status} ${await response.clone().text()}`);
    return response.json();
  };
  await admin('POST', 'clients', { client_id: `127.0.0.1:${port}`, origins: [app], realms: ['tenant-a'] });
  const tenant = `demo-crm-${port}`;
  await admin('PUT', `tenants/${tenant}`, { environment: 'sandbox', realm: 'tenant-a', clients: [`127.0.0.1:${port}`], provisioning: 'create' });
  const { credential } = await admin('POST', `tenants/${tenant}/api-keys`, { operations: ['mint_tokens'] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-crm-'));
  for (const file of fs.readdirSync(path.join(root, 'deploy/demo-crm'))) {
    if (/\.(html|js)$/.test(file)) fs.copyFileSync(path.join(root, 'deploy/demo-crm', file), path.join(dir, file));
  }
  fs.writeFileSync(path.join(dir, 'config.js'), `export const BROKER = ${JSON.stringify(env.broker)};\nexport const APP = ${JSON.stringify(app)};\n`);
  fs.mkdirSync(path.join(dir, 'vendor'));
  fs.copyFileSync(path.join(root, 'tests/browser/node_modules/keycloak-js/lib/keycloak.js'), path.join(dir, 'vendor/keycloak.js'));
  fs.writeFileSync(path.join(dir, 'host.key'), credential, { mode: 0o600 });
  const backend = spawn('python3', [path.join(root, 'deploy/demo-crm/host_backend.py'), '--port', String(port), '--dir', dir,
    '--broker', env.broker, '--api-key-file', path.join(dir, 'host.key'), '--crm-origin', `http://localhost:${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    if (await fetch(`${app}/index.html`).then((r) => r.ok, () => false)) break;
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  return { crm: `http://localhost:${port}`, stop: () => backend.kill() };
}

test('the demo\'s embedded app: the CRM\'s backend vouches with a host token and the app on another site signs in; a tampered token is refused, with the sandbox\'s reason', async () => {
  const demo = await demoCrmWithBackend();
  try {
    await withBrowser('demo embedded app', {}, async (context) => {
      const page = await context.newPage();
      await page.goto(`${demo.crm}/index.html`);
      await page.waitForSelector('body[data-ready="true"]');
      // Each click puts a new frame in place of the last one: wait for the new
      // one's address, then for its page to be done.
      const frame = page.frameLocator('#app');
      const app = async (button) => {
        const before = await page.getAttribute('#app', 'src');
        await page.click(button);
        await page.waitForFunction((previous) => document.querySelector('#app').src.includes('embedded-app.html') && document.querySelector('#app').src !== previous, before);
        await frame.locator('body[data-ready="true"]').waitFor({ timeout: 20000 });
      };
      await app('#open-app');
      assert.equal(await frame.locator('#app-status').textContent(), 'signed in as Dana Demo');
      const address = page.frames().find((f) => f.url().includes('/embedded-app.html'))?.url() ?? '';
      assert.ok(address && !address.includes('token='), `the token left the address: ${address}`);
      await app('#open-app-tampered');
      assert.equal(await frame.locator('#app-status').textContent(), 'not signed in: the broker refused the token');
      assert.match(await frame.locator('#app-details').textContent(), /invalid_token.*bad_signature/s);
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'demo-embedded-app.png'), fullPage: true });
    });
  } finally {
    demo.stop();
  }
});

test('Salesforce Open CTI: the login frame opens the popup, the connector gets the session and takes click-to-dial', async () => {
  await withBrowser('example salesforce', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/sf-host.html`);
    const login = await (await page.waitForSelector('#login:not([hidden])')).contentFrame();
    await login.waitForSelector('body[data-ready="true"]');
    await login.fill('#username', 'alice@tenant-a.test');
    const [popup] = await Promise.all([context.waitForEvent('page'), login.click('#login')]);
    await signIn(popup, 'alice', 'alice');
    const connector = await (await page.$('#connector')).contentFrame();
    await connector.waitForFunction(() => document.querySelector('#phone-status').textContent.startsWith('Signed in'), null, { timeout: 20000 });
    assert.equal(await connector.textContent('#phone-status'), 'Signed in as alice (realm tenant-a).');
    assert.equal(await login.textContent('#result'), 'Signed in: the phone is ready.');
    assert.deepEqual(await connector.evaluate(() => window.openCtiCalls), [
      ['setSoftphonePanelVisibility', true], ['enableClickToDial'], ['onClickToDial'],
    ]);
    await connector.evaluate(() => window.dialForTest('+1 555 0100'));
    assert.equal(await connector.textContent('#call'), 'Calling +1 555 0100…');
  });
});

test('Dynamics 365 CIF: the provider logs in from the panel, takes click-to-act only while signed in', async () => {
  await withBrowser('example dynamics', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/d365-host.html`);
    const provider = await (await page.waitForSelector('#provider')).contentFrame();
    await provider.waitForSelector('body[data-ready="true"]');
    await provider.fill('#username', 'alice@tenant-a.test');
    const [popup] = await Promise.all([context.waitForEvent('page'), provider.click('#login')]);
    await signIn(popup, 'alice', 'alice');
    await provider.waitForSelector('#who:visible');
    assert.equal(await provider.textContent('#who'), 'Signed in as alice (realm tenant-a).');
    await provider.evaluate(() => window.clickToActForTest('+1 555 0100'));
    assert.equal(await provider.textContent('#call'), 'Calling +1 555 0100…');
    const [logoutPopup] = await Promise.all([context.waitForEvent('page'), provider.click('#logout')]);
    await whenClosed(logoutPopup);
    await provider.waitForSelector('#login:visible');
    assert.deepEqual(await provider.evaluate(() => window.cifCalls), [
      ['addHandler', 'onclicktoact'], ['setMode', 1], ['setClickToAct', false], ['setClickToAct', true], ['setClickToAct', false],
    ]);
  });
});
