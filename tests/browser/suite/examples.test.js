// The SDK's framework examples (browser-sdk/examples/) as a developer runs them:
// plain HTML with the served file, a React hook built with esbuild from the npm
// package, and a Vue composable with no build step. Each one, on the CRM's
// origin: log in through the popup, show who is signed in, log out.
import assert from 'node:assert/strict';
import { after, before, test as nodeTest } from 'node:test';
import { signIn, startEnvironment, withBrowser } from '../harness.js';

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
      await logoutPopup.waitForEvent('close', { timeout: 10000 });
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
