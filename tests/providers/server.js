// Local stand-ins of the identity platforms of third-party SSO, built from their
// public documentation, each on a free port of 127.0.0.1:
//
// - auth0: an Auth0-shaped issuer per domain, under /<domain>: its JWKS at
//   /<domain>/.well-known/jwks.json (RS256 keys with x5c, as Auth0 publishes
//   them), its PEM at /<domain>/pem, and tokens whose issuer is
//   https://<domain>/ (with the trailing slash).
// - gigya: accounts.getJWTPublicKey?apiKey=K[&V2=true] in Gigya's shapes (the
//   bare key fields, or a `keys` array with V2), errorCode in the body with
//   HTTP 200, a key id that is base64 of a hex thumbprint, padded key parts,
//   and one key for all of the partner's sites; accounts.getJWT issues the JWT
//   (issuer https://fidm.gigya.com/jwt/<apiKey>/, claim apiKey, sub = UID).
// - piano: the user API (POST /api/v3/publisher/user/get, form aid, api_token,
//   uid: {code: 0, user: {..., custom_fields: [{field_name, value}],
//   email_confirmed}}), /api/v3/publisher/app/get, and user tokens signed HS256
//   with the application's production or sandbox key.
// - oidc: a plain OpenID provider (discovery, JWKS, RS256 ID tokens).
//
// Test control (never part of a platform): POST /issue on each (auth0:
// /<domain>/issue) mints a token with the claims given; piano's PUT
// /control/users/<uid> sets a user. The first stdout line is
// `authproxy-provider-stand-ins {"auth0": URL, "gigya": URL, "piano": {...},
// "oidc": URL}`. With --exit-with-stdin, it exits when stdin closes.
import crypto from 'node:crypto';
import http from 'node:http';

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function rsaKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const pem = publicKey.export({ format: 'pem', type: 'spki' });
  return { privateKey, publicKey, jwk, der, pem };
}

function signRs256(key, kid, claims) {
  const header = kid === undefined ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid };
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function signHs256(secret, claims) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      handler(req, res).catch((error) => send(res, 500, { error: String(error) }));
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

// --- Auth0 ---------------------------------------------------------------
const auth0Domains = new Map(); // domain -> key
function auth0Key(domain) {
  if (!auth0Domains.has(domain)) {
    const key = rsaKey();
    key.kid = crypto.createHash('sha256').update(key.der).digest('base64url').slice(0, 22);
    auth0Domains.set(domain, key);
  }
  return auth0Domains.get(domain);
}

const auth0 = await listen(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const [, domain, ...rest] = url.pathname.split('/');
  const path = rest.join('/');
  if (!domain) return send(res, 404, { error: 'not_found' });
  const key = auth0Key(domain);
  if (req.method === 'GET' && path === '.well-known/jwks.json') {
    return send(res, 200, { keys: [{ alg: 'RS256', kty: 'RSA', use: 'sig', n: key.jwk.n, e: key.jwk.e, kid: key.kid, x5t: key.kid, x5c: [key.der.toString('base64')] }] });
  }
  if (req.method === 'GET' && path === '.well-known/openid-configuration') {
    return send(res, 200, { issuer: `https://${domain}/`, jwks_uri: `https://${domain}/.well-known/jwks.json` });
  }
  if (req.method === 'GET' && path === 'pem') {
    res.writeHead(200, { 'content-type': 'application/x-pem-file' });
    return res.end(key.pem);
  }
  if (req.method === 'POST' && path === 'issue') {
    const claims = JSON.parse(await body(req) || '{}');
    const t = now();
    return send(res, 200, { id_token: signRs256(key.privateKey, key.kid, { iss: `https://${domain}/`, iat: t, exp: t + 36000, ...claims }) });
  }
  return send(res, 404, { error: 'not_found' });
});

// --- Gigya ---------------------------------------------------------------
// One key for the partner's sites: what binds a token to its site is the
// issuer (and the apiKey claim), not the signature.
const gigyaPartnerKey = rsaKey();
{
  const thumbprint = crypto.createHash('sha1').update(gigyaPartnerKey.der).digest('hex').toUpperCase();
  gigyaPartnerKey.kid = Buffer.from(thumbprint).toString('base64').replace(/=+$/, '');
}
const gigyaKey = () => gigyaPartnerKey;
// Gigya's key parts are base64url with padding.
const padded = (value) => value + '='.repeat((4 - (value.length % 4)) % 4);
const gigyaStatus = (extra) => ({ callId: crypto.randomBytes(16).toString('hex'), errorCode: 0, apiVersion: 2, statusCode: 200, statusReason: 'OK', time: new Date().toISOString(), ...extra });

const gigya = await listen(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const params = req.method === 'POST' ? new URLSearchParams(await body(req)) : url.searchParams;
  const apiKey = params.get('apiKey');
  if (url.pathname === '/accounts.getJWTPublicKey') {
    if (!apiKey || apiKey.startsWith('unknown')) {
      return send(res, 200, { ...gigyaStatus({}), errorCode: 400093, statusCode: 400, statusReason: 'Bad Request', errorMessage: 'Invalid ApiKey parameter' });
    }
    const key = gigyaKey(apiKey);
    const published = { n: padded(key.jwk.n), e: padded(key.jwk.e), alg: 'RS256', use: 'sig', kid: key.kid, kty: 'RSA' };
    return send(res, 200, params.get('V2') === 'true' ? gigyaStatus({ keys: [published] }) : gigyaStatus(published));
  }
  if (url.pathname === '/accounts.getJWT' || url.pathname === '/issue') {
    const key = gigyaKey(apiKey);
    const t = now();
    const fields = JSON.parse(params.get('claims') || '{}');
    const claims = { iss: `https://fidm.gigya.com/jwt/${apiKey}/`, apiKey, iat: t, exp: t + Number(params.get('expiration') || 300), sub: params.get('targetUID'), ...fields };
    const kid = params.get('kid') ?? key.kid;
    return send(res, 200, gigyaStatus({ id_token: signRs256(key.privateKey, kid, claims) }));
  }
  return send(res, 404, { errorCode: 404000, errorMessage: 'Not found' });
});

// --- Piano ---------------------------------------------------------------
const pianoApp = {
  aid: `AID${crypto.randomBytes(4).toString('hex').toUpperCase()}`,
  apiToken: crypto.randomBytes(24).toString('base64url'),
  productionKey: crypto.randomBytes(32).toString('base64url'),
  sandboxKey: crypto.randomBytes(32).toString('base64url'),
};
const pianoUsers = new Map(); // uid -> user

const piano = await listen(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'PUT' && url.pathname.startsWith('/control/users/')) {
    const uid = decodeURIComponent(url.pathname.slice('/control/users/'.length));
    pianoUsers.set(uid, { uid, ...JSON.parse(await body(req) || '{}') });
    res.writeHead(204).end();
    return undefined;
  }
  if (req.method === 'POST' && url.pathname === '/issue') {
    const { environment = 'production', ...claims } = JSON.parse(await body(req) || '{}');
    const t = now();
    const key = environment === 'sandbox' ? pianoApp.sandboxKey : pianoApp.productionKey;
    return send(res, 200, { token: signHs256(key, { aud: pianoApp.aid, iat: t, exp: t + 3600, jti: crypto.randomUUID(), ...claims }) });
  }
  if (req.method === 'POST' && url.pathname.startsWith('/api/v3/publisher/')) {
    const form = new URLSearchParams(await body(req));
    if (form.get('aid') !== pianoApp.aid || form.get('api_token') !== pianoApp.apiToken) {
      return send(res, 200, { code: 401, message: 'Access denied', ts: now() });
    }
    if (url.pathname === '/api/v3/publisher/app/get') {
      return send(res, 200, { code: 0, ts: now(), app: { aid: pianoApp.aid, name: 'Stand-in' } });
    }
    if (url.pathname === '/api/v3/publisher/user/get') {
      const user = pianoUsers.get(form.get('uid'));
      if (!user) return send(res, 200, { code: 2004, message: 'User not found', ts: now() });
      const { display_name: displayName, ...rest } = user;
      const custom = displayName === undefined ? [] : [{ field_name: 'display_name', value: displayName }];
      return send(res, 200, { code: 0, ts: now(), user: { ...rest, custom_fields: custom } });
    }
  }
  return send(res, 404, { code: 404, message: 'Not found' });
});

// --- Generic OIDC -----------------------------------------------------------
const oidcKey = rsaKey();
oidcKey.kid = 'oidc-1';
const oidc = await listen(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const issuer = `http://127.0.0.1:${oidcServerPort()}`;
  if (url.pathname === '/.well-known/openid-configuration') {
    return send(res, 200, { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
  }
  if (url.pathname === '/jwks') {
    return send(res, 200, { keys: [{ ...oidcKey.jwk, kid: oidcKey.kid, use: 'sig', alg: 'RS256' }] });
  }
  if (req.method === 'POST' && url.pathname === '/issue') {
    const claims = JSON.parse(await body(req) || '{}');
    const t = now();
    return send(res, 200, { id_token: signRs256(oidcKey.privateKey, oidcKey.kid, { iss: issuer, iat: t, exp: t + 600, ...claims }) });
  }
  return send(res, 404, { error: 'not_found' });
});
function oidcServerPort() {
  return oidc.server.address().port;
}

console.log(`authproxy-provider-stand-ins ${JSON.stringify({
  auth0: auth0.url,
  gigya: gigya.url,
  piano: { url: piano.url, aid: pianoApp.aid, api_token: pianoApp.apiToken, production_key: pianoApp.productionKey, sandbox_key: pianoApp.sandboxKey },
  oidc: oidc.url,
})}`);

if (process.argv.includes('--exit-with-stdin')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
