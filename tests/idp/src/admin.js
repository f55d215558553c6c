// The subset of Keycloak's Admin REST API that authproxy uses:
//   GET  /admin/realms/{realm}/users?email=X&exact=true | ?username=X&exact=true
//   POST /admin/realms/{realm}/users               -> 201 + Location (a password credential if given)
//   PUT  /admin/realms/{realm}/users/{id}          -> 204 (firstName, username)
//   GET  /admin/realms/{realm}/clients?clientId=X
//   POST /admin/realms/{realm}/clients            -> 201 + Location
//   PUT  /admin/realms/{realm}/clients/{id}       -> 204
// Callers authenticate with a bearer token of the realm's broker service account
// (client credentials), as Keycloak's realm-management `manage-clients` role would allow.
import crypto from 'node:crypto';
import * as jose from 'jose';
import { clientStore } from './memory_adapter.js';
import { BROKER_CLIENTS } from './directory.js';
import { readBody } from './interactions.js';

const internalIds = new Map(); // `${realm}:${uuid}` -> client_id

export async function handleAdmin({ realm, req, res, rest }) {
  if (!(await authorized(realm, req))) return json(res, 401, { error: 'HTTP 401 Unauthorized' });
  const store = clientStore(realm.name);
  const url = new URL(req.url, 'http://x');

  if (rest === 'users' && req.method === 'GET') {
    // Keycloak stores usernames and emails in lower case; exact=true compares whole values.
    const exact = url.searchParams.get('exact') === 'true';
    const matches = (value, wanted) => wanted === null
      || (exact ? value === wanted.toLowerCase() : value?.includes(wanted.toLowerCase()));
    const users = realm.data.users
      .filter((u) => matches(u.email, url.searchParams.get('email')) && matches(u.username, url.searchParams.get('username')))
      .map((u) => ({ id: u.id, username: u.username, email: u.email, enabled: true }));
    return json(res, 200, users);
  }
  if (rest === 'users' && req.method === 'POST') {
    const rep = JSON.parse(await readBody(req) || '{}');
    if (!rep.username) return json(res, 400, { errorMessage: 'username is required' });
    const username = rep.username.toLowerCase();
    if (realm.data.users.some((u) => u.username === username)) return json(res, 409, { errorMessage: 'User exists with same username' });
    const id = crypto.randomUUID();
    const password = rep.credentials?.find((c) => c.type === 'password')?.value;
    realm.data.users.push({ id, username, email: rep.email?.toLowerCase(), name: rep.firstName, attributes: rep.attributes ?? {}, credentials: [], password });
    res.writeHead(201, { Location: `${baseOf(req)}/admin/realms/${realm.name}/users/${id}` }).end();
    return undefined;
  }
  const logoutMatch = /^users\/([0-9a-f-]{36})\/logout$/.exec(rest);
  if (logoutMatch && req.method === 'POST') {
    const user = realm.data.users.find((u) => u.id === logoutMatch[1]);
    if (!user) return json(res, 404, { error: 'User not found' });
    user.loggedOutAt = Date.now();
    res.writeHead(204).end();
    return undefined;
  }
  const userMatch = /^users\/([0-9a-f-]{36})$/.exec(rest);
  if (userMatch && req.method === 'PUT') {
    const user = realm.data.users.find((u) => u.id === userMatch[1]);
    if (!user) return json(res, 404, { error: 'User not found' });
    const rep = JSON.parse(await readBody(req) || '{}');
    if (rep.firstName !== undefined) user.name = rep.firstName;
    if (rep.username !== undefined) {
      // As Keycloak: an administrator may rename a user to a free username.
      const username = rep.username.toLowerCase();
      if (realm.data.users.some((u) => u !== user && u.username === username)) return json(res, 409, { errorMessage: 'User exists with same username' });
      user.username = username;
    }
    res.writeHead(204).end();
    return undefined;
  }
  if (rest === 'clients' && req.method === 'GET') {
    const wanted = url.searchParams.get('clientId');
    const all = [...store.entries()].map(([id, entry]) => toRepresentation(realm, id, entry.payload));
    return json(res, 200, wanted ? all.filter((c) => c.clientId === wanted) : all);
  }
  if (rest === 'clients' && req.method === 'POST') {
    const rep = JSON.parse(await readBody(req) || '{}');
    if (!rep.clientId) return json(res, 400, { errorMessage: 'clientId is required' });
    if (store.has(rep.clientId)) return json(res, 409, { errorMessage: `Client ${rep.clientId} already exists` });
    const metadata = fromRepresentation(rep);
    const problem = await invalid(realm, metadata);
    if (problem) return json(res, 400, { error: 'invalid_client_metadata', errorMessage: problem });
    const uuid = crypto.randomUUID();
    internalIds.set(`${realm.name}:${uuid}`, rep.clientId);
    store.set(rep.clientId, { payload: { ...metadata, kc_id: uuid } });
    res.writeHead(201, { Location: `${baseOf(req)}/admin/realms/${realm.name}/clients/${uuid}` }).end();
    return undefined;
  }
  const match = /^clients\/([0-9a-f-]{36})$/.exec(rest);
  if (match && req.method === 'PUT') {
    const clientId = internalIds.get(`${realm.name}:${match[1]}`);
    if (!clientId) return json(res, 404, { error: 'Could not find client' });
    const rep = JSON.parse(await readBody(req) || '{}');
    const current = store.get(clientId).payload;
    const metadata = fromRepresentation({ ...toRepresentation(realm, clientId, current), ...rep, clientId });
    const problem = await invalid(realm, metadata);
    if (problem) return json(res, 400, { error: 'invalid_client_metadata', errorMessage: problem });
    store.set(clientId, { payload: { ...metadata, kc_id: match[1], client_secret: current.client_secret } });
    res.writeHead(204).end();
    return undefined;
  }
  return json(res, 404, { error: 'RESTEASY003210: Could not find resource' });
}

async function authorized(realm, req) {
  const header = req.headers.authorization || '';
  if (!header.startsWith('Bearer ')) return false;
  try {
    const { payload } = await jose.jwtVerify(header.slice(7), realm.verificationKeys, { issuer: realm.issuer });
    return BROKER_CLIENTS.some((c) => c.clientId === payload.azp);
  } catch {
    return false;
  }
}

function toRepresentation(realm, clientId, meta) {
  return {
    id: meta.kc_id,
    clientId,
    enabled: true,
    protocol: 'openid-connect',
    publicClient: meta.token_endpoint_auth_method === 'none',
    standardFlowEnabled: true,
    redirectUris: meta.redirect_uris || [],
    webOrigins: meta.web_origins || [],
    attributes: meta.kc_attributes || {},
  };
}

function fromRepresentation(rep) {
  const attributes = rep.attributes || {};
  const publicClient = rep.publicClient !== false;
  const metadata = {
    client_id: rep.clientId,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: rep.redirectUris || [],
    web_origins: rep.webOrigins || [],
    token_endpoint_auth_method: publicClient ? 'none' : 'client_secret_basic',
    kc_attributes: attributes,
  };
  if (!publicClient) metadata.client_secret = rep.secret || crypto.randomBytes(24).toString('base64url');
  const logout = attributes['post.logout.redirect.uris'];
  if (logout) metadata.post_logout_redirect_uris = logout.split('##').filter(Boolean);
  return metadata;
}

async function invalid(realm, metadata) {
  try {
    await realm.provider.Client.validate(metadata);
    return undefined;
  } catch (err) {
    return err.error_description || err.message;
  }
}

const baseOf = (req) => `http://${req.headers.host}`;

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
