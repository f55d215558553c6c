// The real-browser suite: the authproxy SDK and keycloak-js in Debian's Chromium,
// against the broker and the Keycloak-shaped dev IdP. Sites: the CRM on
// localhost, the broker, the IdP and the webphone on 127.0.0.1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test as nodeTest } from 'node:test';
import { PROMPTLY_MS, signIn, startEnvironment, whenClosed, withBrowser } from '../harness.js';
import * as scenarios from '../scenarios.js';
import { clickLogin, openCrmPage, result } from '../scenarios.js';

// Every scenario has a time limit: a regression fails instead of hanging the run.
const test = (name, body) => nodeTest(name, { timeout: 60000 }, body);

let env;
before(async () => { env = await startEnvironment(); });
after(() => env?.stop());

const openCrm = (context, query = '') => openCrmPage(env, context, query);

test('broker mode: alice logs in and the webphone runs keycloak-js with the handed-over tokens', () => scenarios.brokerMode(env));
test('seed pass-through mode: keycloak-js login URL, {ok: true} from the broker page, then check-sso is authenticated', () => scenarios.seedPassThrough(env));
test('carol logs in through kc_idp_hint at corp-idp and ends authenticated at tenant-a', () => scenarios.carolViaCorpIdp(env));
test('a CRM page with Cross-Origin-Opener-Policy: same-origin loses the popup but completes through the relay', () => scenarios.coopRelay(env));
test('third-party cookies allowed (control): the silent check-sso in the iframe does see the realm session', () => scenarios.thirdPartyCookiesAllowed(env));
test('third-party cookies blocked: the SDK logs in from a cross-site iframe; keycloak-js silent check-sso cannot', () => scenarios.thirdPartyCookiesBlocked(env));

test('in a frame sandboxed without allow-popups the popup is blocked and login() rejects with PopupBlocked', async () => {
  await withBrowser('popup blocked', {}, async (context) => {
    // A sandbox without `allow-popups` makes every browser refuse window.open,
    // even on a real click: no popup-blocker heuristic is involved.
    const page = await context.newPage();
    await page.goto(`${env.crm}/sandboxed-crm.html`);
    const frame = await (await page.waitForSelector('#crm')).contentFrame();
    await frame.waitForSelector('body[data-ready="true"]');
    const pagesBefore = context.pages().length;
    await frame.click('#login');
    const blocked = await result(frame);
    assert.equal(blocked.name, 'PopupBlocked');
    assert.equal(blocked.userMessage, 'Your browser blocked the sign-in window. Allow pop-ups for this site, then try again.');
    assert.equal(context.pages().length, pagesBefore, 'no popup opened');
  });
});

test('the user closes the popup: PopupClosed at once', async () => {
  await withBrowser('popup closed', {}, async (context) => {
    const page = await openCrm(context);
    const popup = await clickLogin(context, page);
    await popup.waitForSelector('#kc-login');
    await popup.waitForTimeout(2500); // a person reads the form before closing it
    const closedAt = Date.now();
    await popup.close();
    const outcome = await result(page);
    assert.equal(outcome.name, 'PopupClosed');
    assert.equal(outcome.userMessage, 'You closed the sign-in window before signing in.');
    assert.ok(Date.now() - closedAt <= PROMPTLY_MS, `reported after ${Date.now() - closedAt} ms`);
  });
});

test('the user cancels at the realm: LoginFailed says they cancelled, and its message keeps the realm\'s own words', async () => {
  await withBrowser('cancel at the realm', {}, async (context) => {
    const page = await openCrm(context);
    const popup = await clickLogin(context, page);
    await popup.click('#kc-cancel');
    const outcome = await result(page);
    assert.equal(outcome.name, 'LoginFailed');
    assert.equal(outcome.code, 'access_denied');
    assert.equal(outcome.userMessage, 'You cancelled the sign-in.');
    assert.match(outcome.message, /access_denied \(The user cancelled the login\.\)/);
  });
});

test('Salesforce shape: a connector iframe gets the session from a login iframe through prepare / loginWith / complete', async () => {
  await withBrowser('salesforce shape', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/sf-top.html`);
    const login = await (await page.waitForSelector('#login:not([hidden])')).contentFrame();
    await login.waitForSelector('body[data-ready="true"]');
    const popup = await clickLogin(context, login);
    await signIn(popup, 'alice@tenant-a.test', 'alice');
    const connector = await (await page.$('#connector')).contentFrame();
    await connector.waitForFunction(() => document.querySelector('#kc-status')?.textContent.startsWith('authenticated'), null, { timeout: 20000 });
    assert.equal(await connector.textContent('#kc-status'), 'authenticated:true:alice');
    await whenClosed(popup).catch(() => {});
    assert.ok(popup.isClosed(), 'the login frame closes the popup once it has completed');
  });
});

test('Salesforce shape on two registered origins: the login frame on the client\'s other origin, the connector still completes', async () => {
  await withBrowser('salesforce two origins', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/sf-top.html?login=alt`);
    const login = await (await page.waitForSelector('#login:not([hidden])')).contentFrame();
    await login.waitForSelector('body[data-ready="true"]');
    assert.equal(new URL(login.url()).origin, env.phoneAlt);
    const popup = await clickLogin(context, login);
    await signIn(popup, 'alice@tenant-a.test', 'alice');
    const connector = await (await page.$('#connector')).contentFrame();
    await connector.waitForFunction(() => document.querySelector('#kc-status')?.textContent.startsWith('authenticated'), null, { timeout: 20000 });
    assert.equal(await connector.textContent('#kc-status'), 'authenticated:true:alice');
  });
});

test('a page on an unregistered origin cannot start a login for a registered client and receives nothing', async () => {
  await withBrowser('unregistered origin', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.unregistered}/crm.html?clientId=${encodeURIComponent(env.crmClient)}`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.click('#login');
    const outcome = await result(page);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.name, 'OriginNotRegistered', 'the broker says this origin is not registered');
    assert.match(outcome.message, /is not registered with authproxy/);
    assert.match(outcome.userMessage, /tell your administrator/);
    // Going around the SDK does not help: /login refuses the origin.
    const direct = await page.goto(`${env.broker}/login?${new URLSearchParams({
      client_id: env.crmClient, user: 'alice@tenant-a.test', origin: env.unregistered,
      txn: 'a'.repeat(43), txn_challenge: 'b'.repeat(43),
    })}`);
    assert.equal(direct.status(), 403);
    assert.equal(await page.textContent('#code'), 'origin_not_allowed');
  });
});

test('two logins in two tabs at once do not cross', async () => {
  await withBrowser('two tabs', {}, async (context) => {
    const first = await openCrm(context);
    const second = await openCrm(context);
    await second.fill('#username', 'bob@tenant-b.test');
    const firstPopup = await clickLogin(context, first);
    const secondPopup = await clickLogin(context, second);
    await signIn(secondPopup, 'bob', 'bob');
    await signIn(firstPopup, 'alice', 'alice');
    assert.deepEqual(await result(first), { ok: true, username: 'alice', authority: `${env.idp}/realms/tenant-a` });
    assert.deepEqual(await result(second), { ok: true, username: 'bob', authority: `${env.idp}/realms/tenant-b` });
  });
});

test('after logout the next login asks for the password again', () => scenarios.logoutAsksAgain(env));

test('with persist: session a reload keeps the login, and the kept tokens still refresh', async () => {
  await withBrowser('persist', {}, async (context) => {
    const page = await openCrm(context, '?persist=1');
    await signIn(await clickLogin(context, page), 'alice', 'alice');
    assert.equal((await result(page)).ok, true);
    const phone = page.frameLocator('#webphone');
    await phone.locator('#kc-status').filter({ hasText: 'authenticated' }).waitFor();

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await result(page), { ok: true, username: 'alice', authority: `${env.idp}/realms/tenant-a`, restored: true });
    assert.equal(context.pages().filter((p) => p.url().includes('/realms/')).length, 0, 'no new login popup');
    await phone.locator('#kc-status').filter({ hasText: 'authenticated' }).waitFor();
    assert.equal(await phone.locator('#kc-status').textContent(), `authenticated:true:alice:${env.idp}/realms/tenant-a`);
  });
});

test('a backend impersonation token logs the webphone in through keycloak()', async () => {
  // The backend side: a caller created with the CLI asks the broker for alice's token.
  const secret = execFileSync(env.bin, ['callers', 'add', 'crm-backend', '--realm', 'tenant-a', '--user', 'alice@tenant-a.test', '--config', env.configPath, '--actor', 'browser-suite']).toString().trim();
  const response = await fetch(`${env.broker}/api/impersonation`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`crm-backend:${secret}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'alice@tenant-a.test' }),
  });
  assert.equal(response.status, 200);
  const { access_token: accessToken } = await response.json();

  await withBrowser('impersonation token', {}, async (context) => {
    const page = await openCrm(context);
    const phone = page.frameLocator('#webphone');
    await phone.locator('body[data-ready="true"]').waitFor();
    // The host hands the token to the webphone as a session without a refresh token.
    await page.evaluate(({ accessToken, authority, clientId, phone }) => {
      document.getElementById('webphone').contentWindow.postMessage(
        { type: 'authproxy:session', session: { accessToken, authority, clientId, username: 'alice' } }, phone);
    }, { accessToken, authority: `${env.idp}/realms/tenant-a`, clientId: env.crmClient, phone: env.phone });
    await phone.locator('#kc-status').filter({ hasText: 'authenticated' }).waitFor();
    assert.equal(await phone.locator('#kc-status').textContent(), `authenticated:true:alice:${env.idp}/realms/tenant-a`);
  });
});

/** What the attacker's server gets for the txn its page used: a wait and a
 * redemption, without an Origin header and with the registered origin forged,
 * naming the (public) client the login was for. */
async function attackerRedeems({ txn, verifier }, forgedOrigin = env.crm, clientId = env.crmClient) {
  const answers = [];
  for (const [path, origin] of [['/api/handoff/wait'], ['/api/handoff'], ['/api/handoff', forgedOrigin]]) {
    const headers = { 'content-type': 'application/json', ...(origin ? { origin } : {}) };
    const response = await fetch(`${env.broker}${path}`, { method: 'POST', headers, body: JSON.stringify({ client_id: clientId, txn, txn_verifier: verifier }) });
    answers.push({ status: response.status, body: await response.json() });
  }
  return answers;
}

function assertNothingReleased(answers) {
  for (const { status, body } of answers) {
    assert.equal(body.access_token, undefined, 'no token for the attacker');
    assert.equal(status, 400);
    assert.equal(body.error, 'confirmation_required');
  }
}

/** Logs alice in on the CRM once, so the realm has a session and the next
 * login goes through without a form. */
async function signedInAtRealm(context) {
  const page = await openCrm(context);
  await signIn(await clickLogin(context, page), 'alice', 'alice');
  assert.equal((await result(page)).ok, true);
  return page;
}

async function openAttacker(context, query) {
  const page = await context.newPage();
  const params = new URLSearchParams({ client: env.crmClient, origin: env.crm, crm: `${env.crm}/crm.html`, ...query });
  await page.goto(`${env.unregistered}/attacker.html?${params}`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

for (const prompt of [undefined, 'none']) {
  test(`a page on another site that opens /login with its own txn${prompt ? ' and prompt=none' : ''} gets no tokens for its server`, async () => {
    await withBrowser(`attack ${prompt || 'default'}`, {}, async (context) => {
      await signedInAtRealm(context);
      const attacker = await openAttacker(context, prompt ? { prompt } : {});
      const popup = await clickLogin(context, attacker, '#attack');
      // The realm session answers at once: the completion page loads without a form.
      await popup.waitForURL(/\/authproxy\?/, { timeout: 20000 });
      await popup.waitForSelector('#unclaimed:not([hidden])', { timeout: 10000 });
      assert.equal(await popup.isVisible('#approval'), false, 'with an opener, no approval is offered');
      assertNothingReleased(await attackerRedeems(await attacker.evaluate(() => window.stolen)));
      // The realm session is untouched: the user's own login still works at once.
      const crm = await openCrm(context);
      await clickLogin(context, crm);
      assert.equal((await result(crm)).ok, true);
    });
  });
}

test('the attacker turns its own window into the CRM page: the CRM page ignores a login it did not start', async () => {
  await withBrowser('attack navigate opener', {}, async (context) => {
    await signedInAtRealm(context);
    const attacker = await openAttacker(context, { mode: 'navigate-opener' });
    const stolen = await attacker.evaluate(() => window.stolen);
    const popup = await clickLogin(context, attacker, '#attack');
    await attacker.waitForURL(`${env.crm}/crm.html`);
    await popup.waitForURL(/\/authproxy\?/, { timeout: 20000 });
    // The message reached a page of the registered origin, whose SDK did not start this txn.
    await popup.waitForSelector('#unclaimed:not([hidden])', { timeout: 10000 });
    assertNothingReleased(await attackerRedeems(stolen));
    assert.equal(await attacker.textContent('#result'), '', 'the CRM page shows no login');
  });
});

test('a popup opened without an opener shows the approval, and without it nothing is released', async () => {
  await withBrowser('attack noopener', {}, async (context) => {
    await signedInAtRealm(context);
    const attacker = await openAttacker(context, { mode: 'noopener' });
    const stolen = await attacker.evaluate(() => window.stolen);
    const popup = await clickLogin(context, attacker, '#attack');
    await popup.waitForSelector('#approval:not([hidden])', { timeout: 20000 });
    // The user is told exactly where the result would go.
    assert.equal(await popup.textContent('#approval-origin'), env.crm);
    assert.match(await popup.textContent('#approval'), /Only continue if you started this login/);
    assertNothingReleased(await attackerRedeems(stolen));
  });
});

test('a client that turned the approval off: a popup without an opener asks nothing and releases nothing, and its own page still logs in', async () => {
  await withBrowser('attack noopener approval off', {}, async (context) => {
    await signedInAtRealm(context);
    const attacker = await openAttacker(context, { mode: 'noopener', client: env.strictClient, origin: env.strict, crm: `${env.strict}/crm.html` });
    const stolen = await attacker.evaluate(() => window.stolen);
    const popup = await clickLogin(context, attacker, '#attack');
    await popup.waitForSelector('#opener-lost:not([hidden])', { timeout: 20000 });
    assert.equal(await popup.$('#approve'), null, 'nothing to click');
    assert.equal(await popup.textContent('#opener-lost-origin'), env.strict);
    assertNothingReleased(await attackerRedeems(stolen, env.strict, env.strictClient));
    // The client's own page keeps the opener: its login completes as before.
    const page = await context.newPage();
    await page.goto(`${env.strict}/crm.html`);
    await page.waitForSelector('body[data-ready="true"]');
    await clickLogin(context, page);
    assert.equal((await result(page)).ok, true);
  });
});

test('a page on another site that frames the login frame with its own handle gets nothing for its server', async () => {
  await withBrowser('attack frame-login', {}, async (context) => {
    await signedInAtRealm(context);
    const attacker = await openAttacker(context, { mode: 'frame-login', frameUrl: `${env.phone}/sf-login.html` });
    const stolen = await attacker.evaluate(() => window.stolen);
    await attacker.click('#attack');
    const frame = await (await attacker.waitForSelector('#frame:not([hidden])')).contentFrame();
    await frame.waitForSelector('body[data-ready="true"]');
    // The user clicks the (real) login button of the registered origin's frame.
    await clickLogin(context, frame);
    // The completion message reaches the login frame (registered origin), which
    // did not start this txn and so does not confirm it.
    await frame.waitForFunction(() => document.querySelector('#result')?.textContent, null, { timeout: 20000 });
    assert.equal(await frame.textContent('#result'), 'popup done');
    assertNothingReleased(await attackerRedeems(stolen, env.phone, env.phoneClient));
  });
});

test('no token appears in any URL the browser loads during login and logout', async () => {
  await withBrowser('no token in urls', {}, async (context) => {
    const urls = [];
    context.on('request', (request) => urls.push(request.url()));
    const page = await openCrm(context);
    await signIn(await clickLogin(context, page), 'alice', 'alice');
    assert.equal((await result(page)).ok, true);
    const session = await page.evaluate(() => window.session);
    await page.evaluate(() => { document.querySelector('#result').textContent = ''; });
    await clickLogin(context, page, '#logout');
    assert.deepEqual(await result(page), { loggedOut: true });
    assert.ok(urls.some((u) => u.includes('/protocol/openid-connect/logout')), 'the end-session endpoint was reached');
    const secrets = [session.accessToken, session.refreshToken, session.idToken].filter(Boolean);
    assert.equal(secrets.length, 3);
    for (const url of urls) {
      for (const secret of secrets) assert.ok(!url.includes(secret), `a token in ${url}`);
      // Any JWT at all (header "eyJ…" . payload "eyJ…") in a URL is a leak.
      assert.doesNotMatch(decodeURIComponent(url), /eyJ[\w-]+\.eyJ[\w-]+/, url);
    }
  });
});

test('a popup closed at once reads as cut off: the host sees "waiting", can cancel, and the wait ends soon by itself', async () => {
  await withBrowser('popup gone', {}, async (context) => {
    const page = await openCrm(context, '?goneTimeoutMs=3000');
    let popup = await clickLogin(context, page);
    await popup.close(); // within two seconds: indistinguishable from a COOP cut
    await page.waitForFunction(() => document.querySelector('#state').textContent.includes('waiting'));
    let closedAt = Date.now();
    const timedOut = await result(page);
    assert.equal(timedOut.name, 'Timeout');
    // The default would wait two minutes; 3 s was asked for.
    assert.ok(Date.now() - closedAt < 3000 + PROMPTLY_MS, `the shorter timeout applied (${Date.now() - closedAt} ms)`);

    await page.evaluate(() => { document.querySelector('#result').textContent = ''; document.querySelector('#state').textContent = ''; });
    popup = await clickLogin(context, page);
    await popup.close();
    await page.waitForFunction(() => document.querySelector('#state').textContent.includes('waiting'));
    closedAt = Date.now();
    await page.click('#cancel');
    assert.equal((await result(page)).name, 'Aborted');
    assert.ok(Date.now() - closedAt < PROMPTLY_MS);
  });
});

test('keycloak() takes a session without a refresh token, or with an opaque one; updateToken() then says why it cannot refresh', async () => {
  await withBrowser('no refresh token', {}, async (context) => {
    const page = await openCrm(context);
    await signIn(await clickLogin(context, page), 'alice', 'alice');
    assert.equal((await result(page)).ok, true);
    const outcomes = await page.evaluate(async () => {
      const { default: Keycloak } = await import('/vendor/keycloak.js');
      const out = [];
      for (const refreshToken of [undefined, 'an-opaque-refresh-token']) {
        const keycloak = await window.sdk.keycloak({ ...window.session, refreshToken }, Keycloak);
        const error = await keycloak.updateToken(-1).then(() => null, (e) => e.name);
        out.push({
          authenticated: keycloak.authenticated,
          token: keycloak.token === window.session.accessToken,
          idToken: keycloak.idToken === window.session.idToken,
          username: keycloak.idTokenParsed?.preferred_username,
          stillValid: await keycloak.updateToken(5),
          error,
        });
      }
      return out;
    });
    for (const outcome of outcomes) {
      assert.deepEqual(outcome, { authenticated: true, token: true, idToken: true, username: 'alice', stillValid: false, error: 'RefreshUnavailable' });
    }
  });
});
