// authproxy's dev IdP: a Keycloak-shaped OpenID Provider for tests and the demo.
//
//   node server.js [--host 127.0.0.1] [--port 0] [--demo-broker http://127.0.0.1:8080] [--exit-with-stdin]
//
// Serves the realms tenant-a, tenant-b and corp-idp under /realms/<realm> with Keycloak's
// routes. Prints one line `authproxy-dev-idp listening on <base URL>` once it accepts
// connections. With --demo-broker it registers the demo CRM client `localhost:8081` whose
// redirect URIs point at that broker.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { REALMS } from './src/directory.js';
import { createRealm } from './src/realm.js';
import { clientStore } from './src/memory_adapter.js';
import { handleLoginActions, handleBrokerEndpoint } from './src/interactions.js';
import { handleAdmin } from './src/admin.js';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'demo-broker': { type: 'string' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});

const realms = new Map();
const counters = new Map();
const stats = { count: (key) => counters.set(key, (counters.get(key) || 0) + 1) };

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => {
    console.error('dev-idp: request failed:', err.message);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  });
});

async function route(req, res) {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/healthz') return void res.writeHead(200).end('ok');
  if (path === '/_dev/stats') {
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(counters)));
  }

  const admin = /^\/admin\/realms\/([a-z0-9-]+)\/(.+)$/.exec(path);
  if (admin && realms.has(admin[1])) return handleAdmin({ realm: realms.get(admin[1]), req, res, rest: admin[2] });

  const realmMatch = /^\/realms\/([a-z0-9-]+)(\/.*)?$/.exec(path);
  const realm = realmMatch && realms.get(realmMatch[1]);
  if (!realm) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Realm does not exist"}');
  const rest = realmMatch[2] || '/';

  const login = /^\/login-actions\/([A-Za-z0-9_-]+)(?:\/(broker-done))?$/.exec(rest);
  if (login) return handleLoginActions({ realm, realms, req, res, uid: login[1], action: login[2] });
  const broker = /^\/broker\/([a-z0-9-]+)\/endpoint$/.exec(rest);
  if (broker) return handleBrokerEndpoint({ realm, realms, req, res, alias: broker[1] });
  const probe = /^\/protocol\/openid-connect\/3p-cookies\/(step1|step2)\.html$/.exec(rest);
  if (probe) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(THIRD_PARTY_COOKIE_PROBE[probe[1]]);

  // Keycloak's session cookies are SameSite=None; Secure (sent in third-party
  // iframes unless the browser blocks third-party cookies): make ours the same.
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => setHeader(name, name.toLowerCase() === 'set-cookie' ? [].concat(value).map(keycloakCookie) : value);

  // Hand the request to the realm's provider as if it were mounted at /realms/<realm>.
  req.originalUrl = req.url;
  req.url = req.url.slice(`/realms/${realm.name}`.length) || '/';
  return realm.provider.callback()(req, res);
}

function keycloakCookie(cookie) {
  if (!/^KEYCLOAK_SESSION_/.test(cookie)) return cookie;
  const none = cookie.replace(/;\s*samesite=(lax|none)/i, '; samesite=none');
  return /;\s*secure/i.test(none) ? none : `${none}; secure`;
}

// Keycloak's probe for third-party cookies, as keycloak-js loads it in a hidden iframe.
const THIRD_PARTY_COOKIE_PROBE = {
  step1: `<!DOCTYPE html><script>
document.cookie = "KEYCLOAK_3P_COOKIE_SAMESITE=supported; Max-Age=60; SameSite=None; Secure";
document.cookie = "KEYCLOAK_3P_COOKIE=supported; Max-Age=60";
window.location = "step2.html";
</script>`,
  step2: `<!DOCTYPE html><script>
var supported = document.cookie.indexOf("KEYCLOAK_3P_COOKIE") !== -1;
document.cookie = "KEYCLOAK_3P_COOKIE_SAMESITE=; Max-Age=0; SameSite=None; Secure";
document.cookie = "KEYCLOAK_3P_COOKIE=; Max-Age=0";
window.parent.postMessage(supported ? "supported" : "unsupported", "*");
</script>`,
};

server.listen(Number(args.port), args.host, async () => {
  const { port } = server.address();
  const baseUrl = `http://${args.host}:${port}`;
  for (const [name, data] of Object.entries(REALMS)) {
    // A realm that acts as another realm's external IdP registers that realm's broker client.
    const brokeredBy = {};
    for (const [other, otherData] of Object.entries(REALMS)) {
      for (const [alias, idp] of Object.entries(otherData.identityProviders)) {
        if (idp.realm === name) brokeredBy[alias] = { ...idp, forRealm: other };
      }
    }
    realms.set(name, await createRealm({ name, data: { ...data, brokeredBy }, baseUrl, stats }));
  }
  if (args['demo-broker']) registerDemoClient(args['demo-broker']);
  console.log(`authproxy-dev-idp listening on ${baseUrl}`);
});

function registerDemoClient(broker) {
  // The broker's admin console: a public client of tenant-a named after the broker's host.
  const consoleId = new URL(broker).host;
  clientStore('tenant-a').set(consoleId, {
    payload: {
      client_id: consoleId,
      kc_id: '00000000-0000-4000-8000-00000000c0a5',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [`${broker}/admin/callback`],
      token_endpoint_auth_method: 'none',
    },
  });
  const clientId = 'localhost:8081';
  for (const name of ['tenant-a', 'tenant-b']) {
    clientStore(name).set(clientId, {
      payload: {
        client_id: clientId,
        kc_id: `00000000-0000-4000-8000-00000000${name === 'tenant-a' ? '000a' : '000b'}`,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [`${broker}/authproxy`, `${broker}/authproxy/${clientId}`],
        post_logout_redirect_uris: [`${broker}/logged-out`],
        web_origins: ['http://localhost:8081'],
        token_endpoint_auth_method: 'none',
      },
    });
  }
}

// Test harnesses keep our stdin open; when they exit, so do we.
if (args['exit-with-stdin']) process.stdin.on('end', () => process.exit(0)).on('close', () => process.exit(0)).resume();

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
