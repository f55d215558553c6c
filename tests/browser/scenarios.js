// Scenarios the suite runs against each login server (the dev IdP in
// browser.test.js, a real Keycloak in keycloak.test.js): each takes the
// environment `startEnvironment` returned.
import assert from 'node:assert/strict';
import { signIn, whenClosed, withBrowser } from './harness.js';

export const result = async (frame, id = '#result') => {
  await frame.waitForFunction((sel) => document.querySelector(sel)?.textContent, id, { timeout: 20000 });
  return JSON.parse(await frame.textContent(id));
};

export async function openCrmPage(env, context, query = '') {
  const page = await context.newPage();
  await page.goto(`${env.crm}/crm.html${query}`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/** Clicks the login button and returns the popup (found through the context, so
 * it is found also when COOP has cut it off from its opener). */
export async function clickLogin(context, frame, selector = '#login') {
  const [popup] = await Promise.all([context.waitForEvent('page'), frame.click(selector)]);
  return popup;
}

/** Logs alice in with the SDK inside the cross-site webphone iframe, then runs
 * keycloak-js' silent check-sso in that iframe; returns what the check saw. The
 * check must have asked the realm's third-party-cookie probe (3p-cookies/step1). */
async function loginInIframeThenSilentCheck(env, context) {
  const probes = [];
  context.on('request', (request) => {
    if (request.url().startsWith(`${env.idp}/realms/tenant-a/protocol/openid-connect/3p-cookies/step1.html`)) probes.push(request.url());
  });
  const page = await context.newPage();
  await page.goto(`${env.crm}/embedded.html`);
  const frame = await (await page.waitForSelector('#phone')).contentFrame();
  await frame.waitForSelector('body[data-ready="true"]');
  const popup = await clickLogin(context, frame);
  await signIn(popup, 'alice@tenant-a.test', 'alice');
  assert.deepEqual(await result(frame), { ok: true, username: 'alice' });
  await frame.waitForFunction(() => document.querySelector('#kc-status')?.textContent);
  assert.equal(await frame.textContent('#kc-status'), 'authenticated:true:alice');
  await frame.evaluate(() => window.silentCheckSso());
  await frame.waitForFunction(() => document.querySelector('#silent-status')?.textContent, null, { timeout: 20000 });
  assert.ok(probes.length > 0, 'keycloak-js probed third-party cookies at the realm');
  return frame.textContent('#silent-status');
}


/** broker mode: alice logs in and the webphone runs keycloak-js with the handed-over tokens */
export async function brokerMode(env) {
  await withBrowser('broker mode', {}, async (context) => {
    const page = await openCrmPage(env, context);
    const popup = await clickLogin(context, page);
    await signIn(popup, 'alice@tenant-a.test', 'alice');
    assert.deepEqual(await result(page), { ok: true, username: 'alice', authority: `${env.idp}/realms/tenant-a` });
    await whenClosed(popup).catch(() => {});
    assert.ok(popup.isClosed(), 'the popup closes itself');

    const phone = page.frameLocator('#webphone');
    await phone.locator('#kc-status').filter({ hasText: 'authenticated' }).waitFor();
    assert.equal(await phone.locator('#kc-status').textContent(), `authenticated:true:alice:${env.idp}/realms/tenant-a`);
    const frame = page.frames().find((f) => f.url().startsWith(`${env.phone}/webphone.html`));
    const refreshed = await frame.evaluate(async () => {
      const before = window.keycloak.token;
      const updated = await window.keycloak.updateToken(-1);
      return { updated, changed: window.keycloak.token !== before };
    });
    assert.deepEqual(refreshed, { updated: true, changed: true }, 'updateToken(-1) gets a fresh token from the realm');
  });
}

/** seed pass-through mode: keycloak-js login URL, {ok: true} from the broker page, then check-sso is authenticated */
export async function seedPassThrough(env) {
  await withBrowser('seed pass-through', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/seed.html`);
    await page.waitForFunction(() => document.querySelector('#kc-status')?.textContent === 'anonymous');
    const popup = await clickLogin(context, page);
    await signIn(popup, 'alice@tenant-a.test', 'alice');
    await page.waitForFunction(() => document.querySelector('#kc-status')?.textContent.startsWith('authenticated'), null, { timeout: 20000 });
    assert.equal(await page.textContent('#kc-status'), 'authenticated:alice');
  });
}

/** carol logs in through kc_idp_hint at corp-idp and ends authenticated at tenant-a */
export async function carolViaCorpIdp(env) {
  await withBrowser('carol via corp-idp', {}, async (context) => {
    const page = await openCrmPage(env, context);
    await page.fill('#username', 'carol@corp.test');
    const popup = await clickLogin(context, page);
    await popup.waitForSelector('#kc-login');
    assert.ok(popup.url().includes('/realms/corp-idp/'), `the popup is at corp-idp: ${popup.url()}`);
    await signIn(popup, 'carol', 'carol');
    assert.deepEqual(await result(page), { ok: true, username: 'carol', authority: `${env.idp}/realms/tenant-a` });
    const phone = page.frameLocator('#webphone');
    await phone.locator('#kc-status').filter({ hasText: 'authenticated' }).waitFor();
    assert.equal(await phone.locator('#kc-status').textContent(), `authenticated:true:carol:${env.idp}/realms/tenant-a`);
  });
}

/** a CRM page with Cross-Origin-Opener-Policy: same-origin loses the popup but completes through the relay */
export async function coopRelay(env) {
  await withBrowser('coop', {}, async (context) => {
    const page = await openCrmPage(env, context, '?coop=1');
    const popup = await clickLogin(context, page);
    await popup.waitForSelector('#kc-login');
    assert.equal(await popup.evaluate(() => window.opener), null, 'COOP cut the popup off from its opener');
    await signIn(popup, 'alice@tenant-a.test', 'alice');
    // No opener to hand the confirmation to: the user approves in the broker's window.
    await popup.waitForSelector('#approval:not([hidden])');
    assert.equal(await popup.textContent('#approval-origin'), env.crm);
    assert.equal(await popup.textContent('#approval-user'), 'alice');
    await popup.click('#approve');
    assert.deepEqual(await result(page), { ok: true, username: 'alice', authority: `${env.idp}/realms/tenant-a` });
  });
}

/** third-party cookies allowed (control): the silent check-sso in the iframe does see the realm session */
export async function thirdPartyCookiesAllowed(env) {
  await withBrowser('third-party cookies allowed', { thirdPartyCookies: 'allow' }, async (context) => {
    assert.equal(await loginInIframeThenSilentCheck(env, context), 'authenticated');
  });
}

/** third-party cookies blocked: the SDK logs in from a cross-site iframe; keycloak-js silent check-sso cannot */
export async function thirdPartyCookiesBlocked(env) {
  await withBrowser('third-party cookies blocked', { thirdPartyCookies: 'block' }, async (context) => {
    // The SDK login inside the iframe completes (asserted in the helper); the realm
    // session now exists, yet the seed's silent check cannot see it from this
    // third-party iframe. This is why the relay exists.
    assert.equal(await loginInIframeThenSilentCheck(env, context), 'anonymous');
  });
}

/** after logout the next login asks for the password again: the realm's end-session
 * endpoint redirects back to the broker (CSP form-action must allow that redirect) */
export async function logoutAsksAgain(env) {
  await withBrowser('logout', {}, async (context) => {
    const page = await openCrmPage(env, context);
    await signIn(await clickLogin(context, page), 'alice', 'alice');
    assert.equal((await result(page)).ok, true);

    // Without logout, the realm session makes the next login instant.
    await page.evaluate(() => { document.querySelector('#result').textContent = ''; });
    await clickLogin(context, page);
    assert.equal((await result(page)).ok, true, 'a second login reuses the realm session');

    await page.evaluate(() => { document.querySelector('#result').textContent = ''; });
    const logoutPopup = await clickLogin(context, page, '#logout');
    assert.deepEqual(await result(page), { loggedOut: true });
    await whenClosed(logoutPopup).catch(() => {});
    assert.ok(logoutPopup.isClosed(), 'the logout popup closes once the realm sent it back');

    await page.evaluate(() => { document.querySelector('#result').textContent = ''; });
    const popup = await clickLogin(context, page);
    await popup.waitForSelector('#password');
    assert.equal(await popup.inputValue('#password'), '', 'the password is asked again');
    await signIn(popup, 'alice', 'alice');
    assert.equal((await result(page)).ok, true);
  });
}
