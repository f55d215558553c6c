// Embed URLs, registrations and login links in Chromium: a ticket in an embed
// URL logs a third-party iframe in to its resource once; a newer session of a
// registration signs the older frame out; a followed login link lands on its
// target logged in, with no history entry left for the link.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { after, before, test as nodeTest } from 'node:test';
import { PROMPTLY_MS, startEnvironment, withBrowser } from '../harness.js';

const test = (name, body) => nodeTest(name, { timeout: 60000 }, body);

const TENANT = `res-${crypto.randomBytes(4).toString('hex')}`;
let env;
let admin;
let apiKey;

async function call(method, path, body, bearer) {
  const response = await fetch(`${env.broker}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}
const hostApi = (method, path, body) => call(method, path, body ?? {}, apiKey);

before(async () => {
  env = await startEnvironment();
  const out = execFileSync(env.bin, ['admin', 'create-token', '--config', env.configPath, '--actor', 'resources-suite', '--label', 'resources-suite']).toString();
  admin = out.trim().split(/\s+/).pop();
  await call('PUT', `/admin/api/tenants/${TENANT}`, {
    environment: 'sandbox', realm: 'tenant-a', clients: [env.phoneClient], provisioning: 'create',
    embeds: { app_url: `${env.phone}/link-app.html`, link_paths: ['/link-app.html'] },
  }, admin);
  apiKey = (await call('POST', `/admin/api/tenants/${TENANT}/api-keys`, {
    operations: ['manage_resources', 'create_embeds', 'manage_registrations', 'create_links'],
  }, admin)).credential;
  for (const id of ['ev-1', 'ev-2']) {
    await hostApi('PUT', `/api/v1/resources/${id}`, { type: 'event', url: `${env.phone}/resource-app.html?resource=${id}` });
  }
});
after(() => env?.stop());

/** A host page of another site (the CRM's) framing `src`; the frame once ready. */
async function framed(context, src) {
  const page = await context.newPage();
  await page.goto(`${env.crm}/frame-host.html`);
  await page.evaluate((url) => { document.querySelector('#app').src = url; }, src);
  const frame = await (await page.waitForSelector('#app')).contentFrame();
  await frame.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  return { page, frame };
}

const rand = () => crypto.randomBytes(4).toString('hex');

test('an embed URL logs its third-party iframe in to its resource once, not in another resource, and an ACL change shows at renewal', async () => {
  await withBrowser('embed url', {}, async (context) => {
    const sub = `ada-${rand()}`;
    const body = { user: { id: sub, name: 'Ada Frame' }, resource: { type: 'event', id: 'ev-1' }, resource_specific: true };
    const { embed_url: url } = await hostApi('POST', '/api/v1/embeds', body);
    assert.ok(!url.includes('Ada') && !url.includes(sub), 'no personal data in the URL');
    const { frame } = await framed(context, url);
    assert.equal(await frame.textContent('#status'), 'logged-in');
    assert.equal(await frame.textContent('#name'), 'Ada Frame');
    assert.equal(await frame.textContent('#role'), 'attendee');
    assert.ok(!(await frame.evaluate(() => location.href)).includes('authproxy_ticket'), 'the ticket leaves the address');

    // The same URL in another frame: the ticket is used.
    const replay = await framed(context, url);
    assert.equal(await replay.frame.textContent('#status'), 'no-ticket');
    // A fresh ticket in another resource's frame: refused.
    const { embed_url: other } = await hostApi('POST', '/api/v1/embeds', body);
    const elsewhere = await framed(context, other.replace('resource=ev-1', 'resource=ev-2'));
    assert.equal(await elsewhere.frame.textContent('#status'), 'no-ticket');

    await hostApi('PUT', '/api/v1/resources/ev-1/acl', { presenters: [sub] });
    assert.equal(await frame.evaluate(() => window.embedSession.renew().then((s) => s.role)), 'presenter');
  });
});

test('a join URL opened in a second frame takes the registration\'s one session: the first frame shows it was signed out at once', async () => {
  await withBrowser('registration', {}, async (context) => {
    const { join_url: joinUrl } = await hostApi('POST', '/api/v1/resources/ev-1/registrations', { name: 'Reg Istrant', email: `reg-${rand()}@example.com` });
    const first = await framed(context, joinUrl);
    assert.equal(await first.frame.textContent('#status'), 'logged-in');
    assert.equal(await first.frame.textContent('#name'), 'Reg Istrant');
    const started = Date.now();
    const second = await framed(context, joinUrl);
    assert.equal(await second.frame.textContent('#status'), 'logged-in');
    await first.frame.waitForFunction(() => document.querySelector('#status').textContent === 'signed-out:replaced', null, { timeout: PROMPTLY_MS });
    assert.ok(Date.now() - started < 2 * PROMPTLY_MS);
    assert.equal(await second.frame.textContent('#status'), 'logged-in');
  });
});

test('a revoked registration\'s open frame hears "revoked", and its join URL then explains itself inside the host\'s frame', async () => {
  await withBrowser('revoked registration', {}, async (context) => {
    const { join_url: joinUrl, registration_id: id } = await hostApi('POST', '/api/v1/resources/ev-2/registrations', { name: 'Rev Oked', email: `rev-${rand()}@example.com` });
    const open = await framed(context, joinUrl);
    assert.equal(await open.frame.textContent('#status'), 'logged-in');
    await call('DELETE', `/api/v1/resources/ev-2/registrations/${id}`, undefined, apiKey);
    await open.frame.waitForFunction(() => document.querySelector('#status').textContent === 'signed-out:revoked', null, { timeout: PROMPTLY_MS });

    // The join URL again, in the host's frame: the broker's page, not the
    // browser's refusal to frame it.
    const page = await context.newPage();
    await page.goto(`${env.crm}/frame-host.html`);
    const loaded = page.waitForEvent('framenavigated', { predicate: (f) => f.parentFrame() !== null && (f.url().includes('/join/') || f.url().startsWith('chrome-error:')) });
    await page.evaluate((url) => { document.querySelector('#app').src = url; }, joinUrl);
    const frame = await loaded;
    await frame.waitForLoadState('load');
    assert.equal(frame.url(), joinUrl);
    assert.match(await frame.textContent('body'), /This join link is not valid \(any more\)/);
    assert.match(await frame.textContent('body'), /registration_not_found/);
  });
});

test('a login link is used by a click on its page, lands on its target logged in, and a second browser gets 410', async () => {
  const { url } = await hostApi('POST', '/api/v1/links', {
    user: { uid: `sue-${rand()}`, given_name: 'Sue', family_name: 'Storm', email: 'sue@crm.example' },
    target: { path: '/link-app.html' },
  });
  await withBrowser('login link', {}, async (context) => {
    const page = await context.newPage();
    await page.goto(`${env.crm}/frame-host.html`);
    const start = page.url();
    const entriesBefore = await page.evaluate(() => history.length);
    await page.evaluate((href) => { document.querySelector('#link').href = href; }, url);
    await page.click('#link');
    // Opening the link uses nothing (a scanner that runs scripts would stop here).
    await page.waitForSelector('#continue');
    assert.equal(page.url(), url);
    const landed = page.waitForResponse((r) => r.url() === `${env.phone}/link-app.html`, { timeout: 20000 });
    await page.click('#continue', { noWaitAfter: true });
    await landed;
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    assert.equal(page.url(), `${env.phone}/link-app.html`);
    assert.equal(await page.textContent('#status'), 'logged-in');
    assert.equal(await page.textContent('#name'), 'Sue Storm');
    assert.equal(await page.evaluate(() => history.length), entriesBefore + 2, 'the link page, then the target');
    await page.goBack();
    assert.equal(page.url(), url, 'Back shows the link page again');
    await page.goBack();
    assert.equal(page.url(), start, 'and then where the link was clicked');
    await page.goForward();
    await page.goForward();
    assert.equal(page.url(), `${env.phone}/link-app.html`, 'Forward finds the target');
    // A reload keeps the session (the cookie).
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.textContent('#status'), 'logged-in');
  });
  await withBrowser('login link elsewhere', {}, async (context) => {
    const page = await context.newPage();
    const answers = [];
    page.on('response', (r) => { if (r.url() === `${env.broker}/l`) answers.push(r.status()); });
    await page.goto(url);
    await page.click('#continue');
    await page.waitForSelector('#code');
    assert.equal(await page.textContent('#code'), 'link_used');
    assert.deepEqual(answers, [410]);
  });
});
