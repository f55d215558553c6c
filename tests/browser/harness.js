// Starts everything the real-browser suite needs, once per run: the login server
// (the dev IdP, or with `{ keycloak: true }` a real Keycloak run by
// scripts/run-keycloak), the broker (the binary `cargo test` built), and the
// fixture sites:
//   CRM            http://localhost:<crm>      (registered client localhost:<crm>)
//   webphone       http://127.0.0.1:<phone>    (another site; client 127.0.0.1:<phone>)
//   unregistered   http://localhost:<other>    (no client)
// With `{ replicas: 3 }` the broker is three processes on one PostgreSQL and one
// Redis (the run's, from AUTHPROXY_TEST_POSTGRES_URL / _REDIS_URL, or a pair of
// our own from scripts/run-services), behind nginx round-robin without session
// affinity at the broker's URL.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
export const artifacts = path.join(here, 'artifacts');

const children = [];
process.on('exit', () => children.forEach((c) => c.kill()));

export async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  return port;
}

async function startIdp() {
  // One dev IdP for the whole test run: the one scripts/test started, when it did.
  if (process.env.AUTHPROXY_TEST_IDP_URL) return process.env.AUTHPROXY_TEST_IDP_URL.replace(/\/$/, '');
  const child = spawn('node', ['server.js', '--port', '0', '--exit-with-stdin'], {
    cwd: path.join(root, 'tests/idp'), stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  for await (const line of readline.createInterface({ input: child.stdout })) {
    const match = /^authproxy-dev-idp listening on (.+)$/.exec(line);
    if (match) return match[1];
  }
  throw new Error('the dev IdP did not start');
}

/**
 * Starts the identity platforms' stand-ins (tests/providers): Auth0, Gigya,
 * Piano and a plain OpenID provider, each on a free port; they stop with us.
 */
export async function startPlatforms() {
  const child = spawn('node', ['server.js', '--exit-with-stdin'], {
    cwd: path.join(root, 'tests/providers'), stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  for await (const line of readline.createInterface({ input: child.stdout })) {
    const match = /^authproxy-provider-stand-ins (.+)$/.exec(line);
    if (match) return JSON.parse(match[1]);
  }
  throw new Error('the platforms\' stand-ins did not start');
}

/**
 * Starts a real Keycloak (the realms of tests/keycloak) on free ports; it stops
 * when this process's pipe to it closes, however the process ends.
 */
async function startKeycloak() {
  const [port, management] = await Promise.all([freePort(), freePort()]);
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'authproxy-keycloak-'));
  const log = path.join(run, 'keycloak.log');
  // Our end of its stdin is the stop signal: it closes when we stop it or exit.
  const child = spawn(path.join(root, 'scripts/run-keycloak'), ['--until-stdin-closes', String(port), String(management), run],
    { stdio: ['pipe', 'ignore', 'inherit'] });
  const ready = `http://127.0.0.1:${management}/health/ready`;
  for (let i = 0; i < 600; i += 1) {
    try {
      if ((await fetch(ready)).ok) return { url: `http://127.0.0.1:${port}`, log, stop: () => child.stdin.end() };
    } catch { /* not yet */ }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  child.stdin.end();
  throw new Error(`Keycloak did not become ready; its log:\n${fs.readFileSync(log, 'utf8')}`);
}

/** Adds redirect URIs and web origins to a client in Keycloak, as an admin would. */
async function addToKeycloakClient(keycloak, clientId, { redirectUris = [], webOrigins = [] }) {
  const tokenResponse = await fetch(`${keycloak}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password', client_id: 'admin-cli',
      username: process.env.AUTHPROXY_TEST_KEYCLOAK_ADMIN || 'admin', password: process.env.AUTHPROXY_TEST_KEYCLOAK_PASSWORD || 'admin',
    }),
  });
  const { access_token: token } = await tokenResponse.json();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  for (const realm of ['tenant-a', 'tenant-b']) {
    const found = await (await fetch(`${keycloak}/admin/realms/${realm}/clients?clientId=${encodeURIComponent(clientId)}`, { headers })).json();
    const client = found[0];
    if (!client) throw new Error(`${clientId} is not in ${realm}: clients sync should have created it`);
    client.redirectUris = [...new Set([...client.redirectUris, ...redirectUris])];
    client.webOrigins = [...new Set([...client.webOrigins, ...webOrigins])];
    const put = await fetch(`${keycloak}/admin/realms/${realm}/clients/${client.id}`, { method: 'PUT', headers, body: JSON.stringify(client) });
    if (!put.ok) throw new Error(`updating ${clientId} in ${realm}: ${put.status}`);
  }
}

async function registerClient(idp, clientId, { redirectUris, webOrigins, postLogout }) {
  for (const realm of ['tenant-a', 'tenant-b']) {
    const tokenResponse = await fetch(`${idp}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('authproxy-broker:authproxy-broker-secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const { access_token: token } = await tokenResponse.json();
    const created = await fetch(`${idp}/admin/realms/${realm}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId, publicClient: true, redirectUris, webOrigins,
        attributes: { 'pkce.code.challenge.method': 'S256', 'post.logout.redirect.uris': postLogout },
      }),
    });
    if (created.status !== 201) throw new Error(`registering ${clientId}: ${created.status} ${await created.text()}`);
  }
}

/** The React example, built as its users build it (esbuild, the SDK's npm package). */
async function buildReactExample() {
  const esbuild = await import('esbuild');
  const built = await esbuild.build({
    entryPoints: [path.join(examples, 'react/main.jsx')],
    bundle: true,
    format: 'esm',
    write: false,
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    alias: { '@authproxy/browser-sdk': path.join(root, 'browser-sdk/authproxy.js') },
    // The broker's URL comes from the served config.js, as in the other examples.
    external: ['../config.js'],
    nodePaths: [path.join(here, 'node_modules')],
    logLevel: 'silent',
  });
  return built.outputFiles[0].contents;
}

const examples = path.join(root, 'browser-sdk/examples');

/** The file `pathname` names under the examples' folder, or null for one outside it. */
function exampleFile(pathname) {
  const file = path.resolve(examples, `.${decodeURIComponent(pathname.slice('/examples'.length))}`);
  const inside = file.startsWith(`${examples}${path.sep}`);
  if (!inside) return null;
  return fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'index.html') : file;
}

async function serveFixtures(ports, config) {
  const keycloakJs = path.join(here, 'node_modules/keycloak-js/lib/keycloak.js');
  const vendored = {
    '/vendor/keycloak.js': keycloakJs,
    '/vendor/vue.esm-browser.prod.js': path.join(here, 'node_modules/vue/dist/vue.esm-browser.prod.js'),
    '/vendor/authproxy.js': path.join(root, 'browser-sdk/authproxy.js'),
  };
  const reactApp = await buildReactExample();
  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    const headers = { 'cache-control': 'no-store' };
    if (url.searchParams.get('coop') === '1') headers['cross-origin-opener-policy'] = 'same-origin';
    const js = { ...headers, 'content-type': 'text/javascript' };
    if (url.pathname === '/config.js') {
      res.writeHead(200, js).end(`export default ${JSON.stringify(config)};`);
      return;
    }
    if (url.pathname === '/examples/config.js') {
      // The vendors' libraries are the stubs of pages/ (Open CTI, the CI Framework).
      res.writeHead(200, js).end(`export const broker = ${JSON.stringify(config.broker)};
export const openCtiLibrary = '/opencti-stub.js';
export const cifLibrary = '/cif-stub.js';`);
      return;
    }
    if (url.pathname === '/demo-crm/config.js') {
      // The embedded app's origin: the webphone's (another site than the CRM's).
      res.writeHead(200, js).end(`export const BROKER = ${JSON.stringify(config.broker)};\nexport const APP = ${JSON.stringify(config.phone)};`);
      return;
    }
    if (url.pathname === '/examples/react/app.js') {
      res.writeHead(200, js).end(reactApp);
      return;
    }
    // The demo's sample CRM page (deploy/demo-crm/), as scripts/demo serves it.
    const demoCrm = (name) => (name === 'keycloak.js' ? keycloakJs : path.join(root, 'deploy/demo-crm', name));
    const file = vendored[url.pathname]
      ?? (url.pathname.startsWith('/examples/') ? exampleFile(url.pathname)
        : url.pathname.startsWith('/demo-crm/') ? demoCrm(path.basename(url.pathname))
          : path.join(here, 'pages', path.basename(url.pathname)));
    if (!file) return void res.writeHead(404).end('not found');
    fs.readFile(file, (err, body) => {
      if (err) return void res.writeHead(404).end('not found');
      const type = file.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8';
      res.writeHead(200, { ...headers, 'content-type': type }).end(body);
    });
  };
  return Promise.all(ports.map(async (port) => {
    const server = http.createServer(handler).listen(port, '127.0.0.1');
    await once(server, 'listening');
    return server;
  }));
}

/** The run's PostgreSQL and Redis, or a pair of our own. */
async function services() {
  const { AUTHPROXY_TEST_POSTGRES_URL: postgres, AUTHPROXY_TEST_REDIS_URL: redis } = process.env;
  if (postgres && redis) return { postgres, redis };
  const child = spawn(path.join(root, 'scripts/run-services'), [], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const found = {};
  for await (const line of readline.createInterface({ input: child.stdout })) {
    const [key, value] = line.split('=');
    if (key === 'AUTHPROXY_TEST_POSTGRES_URL') found.postgres = value;
    if (key === 'AUTHPROXY_TEST_REDIS_URL') found.redis = value;
    if (line === 'ready') return found;
  }
  throw new Error('scripts/run-services did not start PostgreSQL and Redis');
}

/** A fresh database on `postgres` (a URL); the new database's URL. */
function freshDatabase(postgres) {
  const url = new URL(postgres);
  const name = `browser_${crypto.randomBytes(8).toString('hex')}`;
  const version = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => b - a)[0];
  execFileSync(`/usr/lib/postgresql/${version}/bin/createdb`, ['-h', url.hostname, '-p', url.port, '-U', url.username, name]);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The proxy settings of deploy/nginx/authproxy.conf (its `location /`), pointed
 * at the test's upstream: the replica suite runs behind the example the project
 * ships.
 */
function shippedLocation() {
  const example = fs.readFileSync(path.join(root, 'deploy/nginx/authproxy.conf'), 'utf8');
  const body = example.split('location / {')[1]?.split('\n    }')[0];
  if (!body || !body.includes('proxy_pass http://authproxy;')) {
    throw new Error('deploy/nginx/authproxy.conf: no `location /` with proxy_pass http://authproxy');
  }
  return body.replace('proxy_pass http://authproxy;', 'proxy_pass http://brokers;');
}

/** nginx at `port`, round-robin over `upstreams`, no affinity; stops with us. */
function startNginx(dir, port, upstreams) {
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream brokers { ${upstreams.map((u) => `server ${u};`).join(' ')} }
  server {
    listen 127.0.0.1:${port};
    location / {
${shippedLocation()}
    }
  }
}
`);
  children.push(spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] }));
}

async function waitReady(url) {
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready`);
}

/** Starts the whole environment; returns the URLs the tests use. */
export async function startEnvironment({ keycloak = false, replicas = 1, brokerHost = '127.0.0.1' } = {}) {
  // The run's Keycloak (started by the conformance suite, which runs these
  // scenarios), or one of our own when run alone.
  const given = process.env.AUTHPROXY_TEST_KEYCLOAK_URL;
  const kc = !keycloak ? null
    : given ? { url: given.replace(/\/$/, ''), log: process.env.AUTHPROXY_TEST_KEYCLOAK_LOG, stop: () => {} }
      : await startKeycloak();
  const idp = kc ? kc.url : await startIdp();
  const [brokerPort, crmPort, phonePort, otherPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  // `brokerHost: 'localhost'` puts the broker on another site than the IdP
  // (127.0.0.1): what a browser does with cookies across sites is then real.
  const broker = `http://${brokerHost}:${brokerPort}`;
  const crm = `http://localhost:${crmPort}`;
  const phone = `http://127.0.0.1:${phonePort}`;
  // The webphone's second registered origin (same server, another site): a
  // connector and its login frame on two origins of one client.
  const phoneAlt = `http://localhost:${phonePort}`;
  const crmClient = `localhost:${crmPort}`;
  const phoneClient = `127.0.0.1:${phonePort}`;
  // The CRM page on another origin (same server), registered as a client whose
  // approval step is off: its pages always keep the popup's opener.
  const strict = `http://127.0.0.1:${crmPort}`;
  const strictClient = `127.0.0.1:${crmPort}`;
  const env = { idp, broker, crm, phone, phoneAlt, unregistered: `http://localhost:${otherPort}`, crmClient, phoneClient, strict, strictClient };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authproxy-browser-'));
  const replicaPorts = replicas > 1 ? await Promise.all(Array.from({ length: replicas }, freePort)) : [brokerPort];
  let store = '';
  let limits = '';
  if (replicas > 1) {
    const shared = await services();
    env.redis = { url: shared.redis, prefix: `browser-${crypto.randomBytes(8).toString('hex')}:` };
    store = `postgres_url = "${freshDatabase(shared.postgres)}"
redis_url = "${env.redis.url}"
redis_prefix = "${env.redis.prefix}"
sealing_key = "${crypto.randomBytes(32).toString('base64')}"`;
    // Behind nginx every request comes from one address: no per-address limit then.
    limits = 'per_ip_burst = 100000\nper_ip_per_minute = 100000';
  }
  const configOf = (port) => `
[server]
listen = "127.0.0.1:${port}"
public_url = "${broker}"
${limits}
[store]
sqlite_path = "${dir}/authproxy.db"
${store}
`;
  const config = `[[realms]]
name = "tenant-a"
authority = "${idp}/realms/tenant-a"
broker_client_id = "authproxy-broker"
broker_client_secret = "authproxy-broker-secret"
[[realms]]
name = "tenant-b"
authority = "${idp}/realms/tenant-b"
broker_client_id = "authproxy-broker"
broker_client_secret = "authproxy-broker-secret"
[[clients]]
client_id = "${crmClient}"
realms = ["tenant-a", "tenant-b"]
origins = ["${crm}"]
[[clients]]
client_id = "${phoneClient}"
realms = ["tenant-a", "tenant-b"]
origins = ["${phone}", "${phoneAlt}"]
[[clients]]
client_id = "${strictClient}"
realms = ["tenant-a"]
origins = ["${strict}"]
approval = "off"
[[directory.users]]
user = "alice@tenant-a.test"
realm = "tenant-a"
[[directory.users]]
user = "bob@tenant-b.test"
realm = "tenant-b"
[[directory.users]]
user = "legacy@tenant-a.test"
not_migrated = true
[[directory.domains]]
domain = "corp.test"
realm = "tenant-a"
idp_hint = "corp-idp"
[console]
realm = "tenant-a"
admin_subjects = ["a1f0c1de-0000-4000-8000-00000000a11c"] # alice
`;
  const configPath = (i) => path.join(dir, i === 0 ? 'authproxy.toml' : `authproxy-${i}.toml`);
  replicaPorts.forEach((port, i) => fs.writeFileSync(configPath(i), configOf(port) + config));
  const bin = process.env.AUTHPROXY_BIN || path.join(root, 'target/debug/authproxy');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: build it with cargo build (scripts/test does)`);
  // What the fixtures need besides the broker's own redirect URIs: keycloak-js'
  // redirect pages, and the webphone iframe refreshing the CRM client's tokens.
  const crmExtras = { redirectUris: [`${crm}/seed.html`], webOrigins: [crm, phone] };
  const phoneExtras = { redirectUris: [`${phone}/silent-check-sso.html`], webOrigins: [phone] };
  if (kc) {
    // The clients are not in the realm import: the broker provisions them.
    execFileSync(bin, ['clients', 'sync', '--config', path.join(dir, 'authproxy.toml'), '--actor', 'browser-suite'], { stdio: ['ignore', 'ignore', 'inherit'] });
    await addToKeycloakClient(idp, crmClient, crmExtras);
    await addToKeycloakClient(idp, phoneClient, phoneExtras);
  } else {
    const postLogout = `${broker}/logged-out`;
    await registerClient(idp, crmClient, {
      redirectUris: [`${broker}/authproxy`, `${broker}/authproxy/${crmClient}`, ...crmExtras.redirectUris],
      webOrigins: crmExtras.webOrigins, postLogout,
    });
    await registerClient(idp, phoneClient, {
      redirectUris: [`${broker}/authproxy`, `${broker}/authproxy/${phoneClient}`, ...phoneExtras.redirectUris],
      webOrigins: phoneExtras.webOrigins, postLogout,
    });
    await registerClient(idp, strictClient, {
      redirectUris: [`${broker}/authproxy`, `${broker}/authproxy/${strictClient}`],
      webOrigins: [strict], postLogout,
    });
    // The admin console's own client: the broker's host, as its client ID.
    await registerClient(idp, new URL(broker).host, {
      redirectUris: [`${broker}/admin/callback`], webOrigins: [], postLogout,
    });
  }

  const logOf = (i) => path.join(dir, i === 0 ? 'authproxy.log' : `authproxy-${i}.log`);
  replicaPorts.forEach((_, i) => {
    const log = fs.openSync(logOf(i), 'w');
    children.push(spawn(bin, ['serve', '--config', configPath(i)], { stdio: ['ignore', log, log] }));
  });
  if (replicas > 1) {
    await Promise.all(replicaPorts.map((port) => waitReady(`http://127.0.0.1:${port}/readyz`)));
    startNginx(dir, brokerPort, replicaPorts.map((port) => `127.0.0.1:${port}`));
    env.replicaLogs = replicaPorts.map((_, i) => logOf(i));
  }
  const servers = await serveFixtures([crmPort, phonePort, otherPort], { broker, idp, crm, phone, phoneAlt });
  await waitReady(`${broker}/readyz`);
  env.brokerLog = path.join(dir, 'authproxy.log');
  env.configPath = path.join(dir, 'authproxy.toml');
  env.bin = bin;
  env.keycloakLog = kc?.log;
  env.stop = () => {
    servers.forEach((s) => s.close());
    children.forEach((c) => c.kill());
    kc?.stop();
  };
  return env;
}

/** Each open page's and frame's URL and visible text (cut short), for a failure report. */
async function describePages(context) {
  const lines = [];
  for (const [i, page] of context.pages().entries()) {
    for (const frame of page.frames()) {
      const text = await frame.evaluate(() => document.body?.innerText ?? '').catch((e) => `(unreadable: ${e.message.split('\n')[0]})`);
      const where = frame === page.mainFrame() ? `page ${i}` : `  frame of page ${i}`;
      lines.push(`${where}: ${frame.url()}\n${text.trim().slice(0, 600).replace(/^/gm, '    ')}`);
    }
  }
  return lines.join('\n') || '(no page open)';
}

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Runs `body` with a fresh Chromium profile. Option: `thirdPartyCookies`
 * ('block' or 'allow'). On failure it prints what every open page and frame
 * showed (URL and text) and the browser console, and saves a screenshot of
 * every page with that console under tests/browser/artifacts/.
 */
export async function withBrowser(name, options, body) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'authproxy-chromium-'));
  const preferences = {};
  if (options.thirdPartyCookies) {
    // Set explicitly (Chromium's default has changed over time): 1 blocks, 0 allows.
    const block = options.thirdPartyCookies === 'block';
    Object.assign(preferences, { cookie_controls_mode: block ? 1 : 0, block_third_party_cookies: block });
  }
  if (Object.keys(preferences).length) {
    fs.mkdirSync(path.join(profile, 'Default'));
    fs.writeFileSync(path.join(profile, 'Default/Preferences'), JSON.stringify({ profile: preferences }));
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const consoleLines = [];
  const watch = (page) => {
    page.on('console', (m) => consoleLines.push(`[${page.url()}] ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`[${page.url()}] pageerror: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  try {
    return await body(context);
  } catch (error) {
    fs.mkdirSync(artifacts, { recursive: true });
    const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await Promise.all(context.pages().map((p, i) => p.screenshot({ path: path.join(artifacts, `${slug}-${i}.png`) }).catch(() => {})));
    fs.writeFileSync(path.join(artifacts, `${slug}-console.log`), consoleLines.join('\n'));
    console.error(`--- ${name}: what the browser showed when it failed ---\n${await describePages(context)}`
      + `\n--- ${name}: the browser console ---\n${consoleLines.slice(-40).join('\n')}`);
    throw error;
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * How long a test waits for something the product does "at once" (a frame told
 * of its session's end, a closed popup reported). The product's aim is about
 * 2 s; `scripts/bench` measures it. A loaded 2-core machine gets this bound, so
 * a test fails on a regression (a missed wake-up waits 25 s or more), not on load.
 */
export const PROMPTLY_MS = 10000;

/** Resolves once `page` has closed (at once when it already has); rejects after `timeout` ms. */
export async function whenClosed(page, timeout = PROMPTLY_MS) {
  // Checked and subscribed in one turn of the event loop: a close cannot slip between.
  if (page.isClosed()) return;
  await page.waitForEvent('close', { timeout });
}

/** Fills the dev IdP's (Keycloak-shaped) login form in `popup`. */
export async function signIn(popup, username, password) {
  await popup.waitForSelector('#kc-login');
  await popup.fill('#username', username);
  await popup.fill('#password', password);
  await popup.click('#kc-login');
}
