// The SDK's framework examples (browser-sdk/examples/) as a developer runs them:
// plain HTML with the served file, a React hook built with esbuild from the npm
// package, and a Vue composable with no build step. Each one, on the CRM's
// origin: log in through the popup, show who is signed in, log out.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test as nodeTest } from 'node:test';
import { artifacts, signIn, startEnvironment, whenClosed, withBrowser } from '../harness.js';

const shots = path.join(artifacts, 'pages');

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
    const opened = [];
    context.on('page', (p) => opened.push(p));
    await page.click('#login-button');
    await page.waitForFunction(() => document.querySelector('#status').classList.contains('error'));
    assert.equal(await page.textContent('#status'), 'Your account does not use single sign-on yet: sign in with your password.');
    assert.deepEqual(opened, [], 'no sign-in window opened, not even for a moment');
  });
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
