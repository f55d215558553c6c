// One oidc-provider per realm, configured to look and behave like a Keycloak realm:
// Keycloak's routes, JWT access tokens, JWT-shaped refresh tokens, credentialed CORS
// on the token endpoint, `iss` in authorization responses, and Keycloak's legacy
// token exchange with `requested_subject` (impersonation).
import crypto from 'node:crypto';
import querystring from 'node:querystring';
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';
import { adapterFor } from './memory_adapter.js';
import { BROKER_CLIENTS, findUser } from './directory.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const ACCOUNT_RESOURCE = 'urn:keycloak:account';
const ACCESS_TOKEN_TTL = 300;
const REFRESH_TOKEN_TTL = 1800;

export async function createRealm({ name, data, baseUrl, stats }) {
  const issuer = `${baseUrl}/realms/${name}`;
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: `${name}-rs256`, alg: 'RS256', use: 'sig' };
  const refreshSecret = crypto.randomBytes(32);
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid: signingJwk.kid, alg: 'RS256', use: 'sig' };
  const realm = {
    name, issuer, data, stats, signingKey: privateKey, kid: signingJwk.kid,
    verificationKeys: jose.createLocalJWKSet({ keys: [publicJwk] }),
  };

  const staticClients = BROKER_CLIENTS.map((broker) => ({
    client_id: broker.clientId,
    client_secret: broker.secret,
    grant_types: ['client_credentials', TOKEN_EXCHANGE],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    impersonation_allowed: broker.impersonation !== false,
    legacy_exchange: broker.legacyExchange !== false,
  }));
  for (const [alias, idp] of Object.entries(data.brokeredBy || {})) {
    staticClients.push({
      client_id: idp.clientId,
      client_secret: idp.clientSecret,
      grant_types: ['authorization_code'],
      redirect_uris: [`${baseUrl}/realms/${idp.forRealm}/broker/${alias}/endpoint`],
      token_endpoint_auth_method: 'client_secret_basic',
    });
  }

  const provider = new Provider(issuer, {
    adapter: adapterFor(name),
    clients: staticClients,
    jwks: { keys: [signingJwk] },
    cookies: {
      keys: [crypto.randomBytes(32).toString('hex')],
      names: { session: `KEYCLOAK_SESSION_${name}`, interaction: `_interaction_${name}`, resume: `_resume_${name}` },
      // Keycloak's session cookie is SameSite=None (the server adds Secure).
      long: { signed: true, sameSite: 'none' },
    },
    routes: {
      authorization: '/protocol/openid-connect/auth',
      token: '/protocol/openid-connect/token',
      jwks: '/protocol/openid-connect/certs',
      userinfo: '/protocol/openid-connect/userinfo',
      end_session: '/protocol/openid-connect/logout',
      introspection: '/protocol/openid-connect/token/introspect',
      revocation: '/protocol/openid-connect/revoke',
    },
    extraParams: ['kc_idp_hint'],
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      // Keycloak's default client scopes put these into every ID token.
      openid: ['sub', 'preferred_username', 'email', 'email_verified', 'name'],
    },
    conformIdTokenClaims: false,
    // Keycloak accepts POST at its authorization and end-session endpoints.
    enableHttpPostMethods: true,
    extraClientMetadata: {
      properties: ['web_origins', 'impersonation_allowed', 'legacy_exchange', 'kc_attributes'],
      validator(_ctx, key, value) {
        if (key === 'web_origins' && value !== undefined && !Array.isArray(value)) {
          throw new errors.InvalidClientMetadata('web_origins must be an array');
        }
      },
    },
    clientBasedCORS(_ctx, origin, client) {
      return (client.web_origins || []).includes(origin);
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // Keycloak ends the session at once when id_token_hint is present; submit the
        // confirmation form automatically to behave the same.
        async logoutSource(ctx, form) {
          ctx.body = `<!DOCTYPE html><html><head><title>Logging out</title></head><body>${form}`
            + `<script>document.forms[0].insertAdjacentHTML('beforeend','<input type="hidden" name="logout" value="yes">');document.forms[0].submit();</script></body></html>`;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => ACCOUNT_RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: 'openid profile email offline_access',
          audience: 'account',
          accessTokenFormat: 'jwt',
          accessTokenTTL: ACCESS_TOKEN_TTL,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      ClientCredentials: ACCESS_TOKEN_TTL,
      IdToken: ACCESS_TOKEN_TTL,
      Interaction: 1800,
      RefreshToken: REFRESH_TOKEN_TTL,
      Session: 36000,
      Grant: 36000,
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Keycloak's default ("Revoke Refresh Token" off): a refresh token stays valid
    // after use until it expires.
    rotateRefreshToken: () => false,
    // Keycloak does not ask first-party users for consent: grant what was asked.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile email offline_access');
      grant.addResourceScope(ACCOUNT_RESOURCE, 'openid profile email offline_access');
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, sub) {
      const user = accountFor(realm, sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => userClaims(user, sub) };
    },
    async extraTokenClaims(_ctx, token) {
      if (token.kind === 'ClientCredentials') {
        return { typ: 'Bearer', azp: token.clientId, preferred_username: `service-account-${token.clientId}` };
      }
      const user = accountFor(realm, token.accountId);
      return {
        typ: 'Bearer', azp: token.clientId, sid: token.sessionUid,
        preferred_username: user?.username, email: user?.email,
      };
    },
    interactions: { url: async (_ctx, interaction) => `/realms/${name}/login-actions/${interaction.uid}` },
    renderError(ctx, out) {
      ctx.type = 'html';
      const text = Object.entries(out).map(([k, v]) => `${k}: ${String(v).replace(/[<>&"']/g, '')}`).join('\n');
      ctx.body = `<!DOCTYPE html><html><body><h1 id="kc-page-title">We are sorry...</h1><pre id="kc-error-message">${text}</pre></body></html>`;
    },
  });
  provider.proxy = true;

  provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange(realm),
    ['subject_token', 'subject_token_type', 'requested_subject', 'requested_token_type', 'audience', 'scope'], ['audience']);

  provider.use(keycloakTokenEndpoint(realm, refreshSecret));
  provider.on('grant.success', (ctx) => {
    const grantType = ctx.oidc.params?.grant_type;
    if (grantType !== TOKEN_EXCHANGE) {
      stats.count(`${name}:${grantType}`);
      stats.count(`${name}:${grantType}:${ctx.oidc.client?.clientId}`);
    }
  });

  realm.provider = provider;
  realm.findUser = (username) => findUser(data, username);
  return realm;
}

/** Brokered (federated) users are created in the realm on their first login, as Keycloak does. */
export function federatedUser(realm, alias, upstream) {
  const id = `${alias}.${upstream.sub}`;
  const existing = realm.data.users.find((u) => u.id === id);
  if (existing) return existing;
  const user = { id, username: upstream.preferred_username, email: upstream.email, name: upstream.name, federatedFrom: alias };
  realm.data.users.push(user);
  return user;
}

function accountFor(realm, accountId) {
  return realm.data.users.find((u) => u.id === accountId);
}

function userClaims(user, sub) {
  return { sub, preferred_username: user.username, email: user.email, email_verified: true, name: user.name };
}

// Keycloak issues JWT refresh tokens and keycloak-js decodes them; oidc-provider's are
// opaque. Wrap them in an HS256 JWT on the way out and unwrap them on the way in. The
// token endpoint also answers CORS with credentials, as Keycloak does for keycloak-js.
function keycloakTokenEndpoint(realm, secret) {
  const key = new Uint8Array(secret);
  return async (ctx, next) => {
    if (ctx.path !== '/protocol/openid-connect/token') return next();
    if (ctx.method === 'POST') {
      const raw = await readRaw(ctx.req);
      const form = querystring.parse(raw);
      if (form.grant_type === 'refresh_token' && typeof form.refresh_token === 'string' && form.refresh_token.split('.').length === 3) {
        try {
          const { payload } = await jose.jwtVerify(form.refresh_token, key, { issuer: realm.issuer });
          form.refresh_token = payload.rt;
        } catch {
          form.refresh_token = 'invalid';
        }
      }
      ctx.req.body = querystring.stringify(form);
    }
    await next();
    if (ctx.get('origin') && ctx.response.get('access-control-allow-origin')) {
      ctx.set('Access-Control-Allow-Credentials', 'true');
    }
    if (ctx.body && typeof ctx.body === 'object' && typeof ctx.body.refresh_token === 'string') {
      const now = Math.floor(Date.now() / 1000);
      ctx.body.refresh_token = await new jose.SignJWT({ typ: 'Refresh', rt: ctx.body.refresh_token, azp: ctx.oidc?.client?.clientId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(realm.issuer).setAudience(realm.issuer).setIssuedAt(now).setExpirationTime(now + REFRESH_TOKEN_TTL)
        .setJti(crypto.randomUUID())
        .sign(key);
      ctx.body.refresh_expires_in = REFRESH_TOKEN_TTL;
    }
  };
}

async function readRaw(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Keycloak's legacy (V1) token exchange: a confidential client with the `impersonate`
// permission asks for a token of `requested_subject` without a subject_token ("direct
// naked impersonation"). As Keycloak 26 issues it: to the asking client (`azp`), with
// no `act` and no `aud` unless an audience was asked for; an unknown user is refused
// like a forbidden one (403 access_denied), so usernames cannot be fished.
function tokenExchange(realm) {
  return async (ctx) => {
    const { client, params } = ctx.oidc;
    const refuse = (status, error, description) => {
      ctx.status = status;
      ctx.body = { error, error_description: description };
    };
    if (client.clientAuthMethod === 'none') return refuse(400, 'unauthorized_client', 'Public client is not allowed to exchange token');
    if (!params.requested_subject) return refuse(400, 'invalid_request', 'Parameter requested_subject is required for direct impersonation');
    if (client.legacy_exchange === false) {
      return refuse(400, 'invalid_request', "Parameter 'requested_subject' is not supported for standard token exchange");
    }
    if (!client.impersonation_allowed) return refuse(403, 'access_denied', 'Client not allowed to exchange');
    if (params.subject_token) {
      // Impersonation by the client's own service account: the subject token must be
      // a valid token of this realm issued to this client.
      try {
        const { payload } = await jose.jwtVerify(params.subject_token, realm.verificationKeys, { issuer: realm.issuer });
        if (payload.azp !== client.clientId) return refuse(403, 'access_denied', 'Client not allowed to exchange');
      } catch {
        return refuse(400, 'invalid_token', 'Invalid token');
      }
    }
    // Keycloak matches requested_subject against a username or a user id, never an email.
    const user = realm.data.users.find((u) => u.id === params.requested_subject || u.username === params.requested_subject);
    if (!user) return refuse(403, 'access_denied', 'Client not allowed to exchange');
    const audience = params.audience ? [].concat(params.audience) : [];
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new jose.SignJWT({
      typ: 'Bearer', azp: client.clientId, scope: 'email profile',
      preferred_username: user.username, email: user.email,
      ...(audience.length === 0 ? {} : { aud: audience.length === 1 ? audience[0] : audience }),
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: realm.kid })
      .setIssuer(realm.issuer).setSubject(user.id)
      .setIssuedAt(now).setExpirationTime(now + ACCESS_TOKEN_TTL).setJti(crypto.randomUUID())
      .sign(realm.signingKey);
    realm.stats.count(`${realm.name}:${TOKEN_EXCHANGE}`);
    ctx.body = {
      access_token: accessToken, expires_in: ACCESS_TOKEN_TTL, refresh_expires_in: 0, token_type: 'Bearer',
      issued_token_type: ACCESS_TOKEN_TYPE, 'not-before-policy': 0, scope: 'email profile',
    };
  };
}
