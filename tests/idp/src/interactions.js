// Keycloak's login pages: the username/password form (with Keycloak's element ids) and
// identity brokering, where `kc_idp_hint` sends the user to another realm acting as
// the external IdP (as Entra ID would be) and the brokered user comes back federated.
import crypto from 'node:crypto';
import querystring from 'node:querystring';
import { federatedUser } from './realm.js';

const escapeHtml = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pendingBrokerLogins = new Map();
const finishedBrokerLogins = new Map();

export async function handleLoginActions({ realm, realms, req, res, uid, action }) {
  const { provider } = realm;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return sendHtml(res, 400, page(realm, '<p id="kc-error-message">Your login attempt timed out. Login will start from the beginning.</p>'));
  }
  if (details.uid !== uid) return sendHtml(res, 400, page(realm, '<p id="kc-error-message">Invalid login session.</p>'));

  if (action === 'broker-done') {
    const url = new URL(req.url, 'http://x');
    const done = finishedBrokerLogins.get(url.searchParams.get('ticket'));
    finishedBrokerLogins.delete(url.searchParams.get('ticket'));
    if (!done || done.uid !== uid) return sendHtml(res, 400, page(realm, '<p id="kc-error-message">Unexpected error when authenticating with identity provider</p>'));
    return provider.interactionFinished(req, res, { login: { accountId: done.accountId } }, { mergeWithLastSubmission: false });
  }

  const hint = details.params.kc_idp_hint;
  if (req.method === 'GET' && hint && realm.data.identityProviders[hint]) {
    return startBrokerLogin({ realm, realms, res, uid, alias: hint, loginHint: details.params.login_hint });
  }

  if (req.method === 'POST') {
    const form = querystring.parse(await readBody(req));
    // Cancel: the realm answers the client with access_denied and its own words.
    if (form.cancel !== undefined) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user cancelled the login.' }, { mergeWithLastSubmission: false });
    }
    const user = realm.findUser(form.username);
    if (!user || user.federatedFrom || typeof form.password !== 'string' || form.password !== user.password) {
      return sendHtml(res, 200, loginForm(realm, uid, form.username, 'Invalid username or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
  }
  return sendHtml(res, 200, loginForm(realm, uid, details.params.login_hint));
}

function startBrokerLogin({ realm, realms, res, uid, alias, loginHint }) {
  const idp = realm.data.identityProviders[alias];
  const upstream = realms.get(idp.realm);
  const state = crypto.randomBytes(16).toString('base64url');
  const nonce = crypto.randomBytes(16).toString('base64url');
  const verifier = crypto.randomBytes(32).toString('base64url');
  pendingBrokerLogins.set(state, { realm: realm.name, uid, alias, nonce, verifier, at: Date.now() });
  const url = new URL(`${upstream.issuer}/protocol/openid-connect/auth`);
  url.search = new URLSearchParams({
    client_id: idp.clientId, response_type: 'code', scope: 'openid', state, nonce,
    redirect_uri: brokerEndpoint(realm, alias),
    code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(loginHint ? { login_hint: loginHint } : {}),
  }).toString();
  res.writeHead(302, { Location: url.href }).end();
}

export async function handleBrokerEndpoint({ realm, realms, req, res, alias }) {
  const url = new URL(req.url, 'http://x');
  const pending = pendingBrokerLogins.get(url.searchParams.get('state'));
  pendingBrokerLogins.delete(url.searchParams.get('state'));
  const idp = realm.data.identityProviders[alias];
  if (!pending || !idp || pending.realm !== realm.name || !url.searchParams.get('code')) {
    return sendHtml(res, 400, page(realm, '<p id="kc-error-message">Unexpected error when authenticating with identity provider</p>'));
  }
  const upstream = realms.get(idp.realm);
  const tokenResponse = await fetch(`${upstream.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${idp.clientId}:${idp.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: url.searchParams.get('code'),
      redirect_uri: brokerEndpoint(realm, alias), code_verifier: pending.verifier,
    }),
  });
  const tokens = await tokenResponse.json();
  const claims = tokens.id_token && JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
  if (!tokenResponse.ok || !claims || claims.nonce !== pending.nonce || claims.iss !== upstream.issuer) {
    return sendHtml(res, 502, page(realm, '<p id="kc-error-message">Unexpected error when authenticating with identity provider</p>'));
  }
  const user = federatedUser(realm, alias, claims);
  const ticket = crypto.randomBytes(16).toString('base64url');
  finishedBrokerLogins.set(ticket, { uid: pending.uid, accountId: user.id });
  res.writeHead(302, { Location: `/realms/${realm.name}/login-actions/${pending.uid}/broker-done?ticket=${ticket}` }).end();
}

const brokerEndpoint = (realm, alias) => `${realm.issuer}/broker/${alias}/endpoint`;

function loginForm(realm, uid, username, error) {
  return page(realm, `
    ${error ? `<div id="input-error" class="alert-error">${escapeHtml(error)}</div>` : ''}
    <form id="kc-form-login" action="/realms/${realm.name}/login-actions/${uid}" method="post">
      <label for="username">Username or email</label>
      <input id="username" name="username" type="text" value="${escapeHtml(username)}" autofocus autocomplete="username">
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password">
      <input id="kc-login" name="login" type="submit" value="Sign In">
      <input id="kc-cancel" name="cancel" type="submit" value="Cancel" formnovalidate>
    </form>`);
}

// Laid out like Keycloak's login theme: the realm's name above a card holding
// the title, the form with stacked labels and a full-width Sign In button.
const STYLE = `
  body { margin: 0; min-height: 100vh; font-family: "Red Hat Text", system-ui, sans-serif; background: #f0f0f0; color: #151515; }
  #kc-header { padding: 3.5rem 1rem 1.5rem; text-align: center; font-size: 1.9rem; letter-spacing: 0.04em; text-transform: uppercase; color: #4d5258; }
  .card { box-sizing: border-box; max-width: 31rem; margin: 0 auto 3rem; padding: 2.5rem 2.8rem; background: #fff; border-top: 4px solid #0066cc; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
  #kc-page-title { margin: 0 0 1.6rem; font-size: 1.5rem; font-weight: 400; text-align: center; }
  label { display: block; margin: 1rem 0 0.35rem; font-size: 0.95rem; }
  input[type=text], input[type=password] { box-sizing: border-box; width: 100%; padding: 0.5rem 0.6rem; font: inherit; border: 1px solid #8a8d90; border-bottom-color: #4f5255; }
  input:focus-visible { outline: 2px solid #0066cc; outline-offset: 1px; }
  #kc-login { width: 100%; margin-top: 1.8rem; padding: 0.6rem; font: inherit; color: #fff; background: #0066cc; border: 0; border-radius: 3px; cursor: pointer; }
  #kc-login:hover { background: #004080; }
  #kc-cancel { width: 100%; margin-top: 0.6rem; padding: 0.5rem; font: inherit; color: #0066cc; background: none; border: 1px solid #0066cc; border-radius: 3px; cursor: pointer; }
  .alert-error, #kc-error-message { padding: 0.6rem 0.8rem; color: #7d1007; background: #faeae8; border-left: 3px solid #c9190b; }
  @media (max-width: 32rem) { .card { padding: 1.5rem 1.2rem; } #kc-header { padding-top: 2rem; font-size: 1.4rem; } }`;

function page(realm, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to ${escapeHtml(realm.data.displayName)}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body><div id="kc-header">${escapeHtml(realm.data.displayName)}</div><main class="card"><h1 id="kc-page-title">Sign in to your account</h1>${body}</main></body></html>`;
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
}

export async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
