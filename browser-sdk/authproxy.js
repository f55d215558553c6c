// authproxy browser SDK: popup login for embedded apps, without dependencies.
//
// The login result never travels in a message or a URL. The page keeps a secret
// txn_verifier, sends only its SHA-256 (txn_challenge) through the popup, and
// redeems the result from the broker exactly once through the relay
// (POST /api/handoff/wait), which keeps working when COOP has cut the popup off
// from its opener and when this page is a partitioned third-party iframe.
//
// The broker releases the result only once it is confirmed: the completion page
// posts a one-time confirmation to the registered origin (the browser delivers it
// to no other), and this SDK confirms it only for a login it started itself. Where
// no opener is left (COOP), the user approves in the login window instead.

export const VERSION = '0.8.0';

const DEFAULT_TIMEOUT_MS = 5 * 60 * 1000;
// Once the popup is out of sight (closed, or cut off by COOP), the login gets at
// most this much longer: a person finishing in a cut-off popup needs a while, a
// person who closed it should not wait five minutes.
const DEFAULT_GONE_TIMEOUT_MS = 2 * 60 * 1000;
// A popup reported closed this soon after it was sent to the broker was cut off
// by Cross-Origin-Opener-Policy, not closed by a person.
const SEVERED_WITHIN_MS = 2000;
const CLOSED_POLL_MS = 500;
// After a close, give a result that is already on its way a moment to arrive.
const CLOSE_GRACE_MS = 1000;
// How long the relay may still answer after the broker refused a confirmation
// as unknown (it may have just redeemed the result) before the login is lost.
const LOST_GRACE_MS = 3000;
// How long login() trusts a discovery answer that the user is unknown or not
// enabled for SSO, and refuses without opening a window.
const DISCOVERY_KEPT_MS = 60 * 1000;

// What a person can act on, by error name; `message` keeps the technical
// description (the realm's own, where it gave one) for logs and developers.
const USER_MESSAGES = {
  PopupBlocked: 'Your browser blocked the sign-in window. Allow pop-ups for this site, then try again.',
  PopupClosed: 'You closed the sign-in window before signing in.',
  Aborted: 'The sign-in was cancelled.',
  Timeout: 'The sign-in took too long. Please try again.',
  SsoNotEnabled: 'Your account does not use single sign-on yet: sign in with your password.',
  UnknownUser: 'This user name is not known. Check it and try again.',
  InvalidUsername: 'This is not a valid user name. Check it and try again.',
  NetworkError: 'The sign-in service could not be reached. Check your connection and try again.',
  OriginNotRegistered: 'Sign-in is not set up for this page yet. Please tell your administrator.',
  InvalidSession: 'Your session is no longer valid. Please sign in again.',
  RefreshUnavailable: 'Your session has expired. Please sign in again.',
  SessionEnded: 'You were signed out. Please sign in again.',
  InvalidToken: 'Your sign-in on this page could not be accepted. Please sign in again.',
  UnknownTenant: 'Signing in is not set up for your organisation in this app. Please tell your administrator.',
  UnknownProvider: 'This way of signing in is not set up for this app.',
  InvalidCode: 'The sign-in expired or was already used. Please try again.',
  ProviderUnavailable: 'The sign-in service is not available right now. Please try again later.',
  LoginFailed: 'The sign-in did not succeed. Please try again.',
};

// The realm's OAuth error codes (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) a person can act on.
const LOGIN_ERROR_MESSAGES = {
  access_denied: 'You cancelled the sign-in.',
  login_required: 'Please sign in.',
  interaction_required: 'Please sign in again.',
  consent_required: 'Please allow the app to use your account, then try again.',
  temporarily_unavailable: 'The sign-in service is busy. Please try again in a moment.',
};

/**
 * Errors the SDK rejects with; `name` is the stable code, `userMessage` a
 * sentence to show the person, `message` the technical description.
 */
export class AuthProxyError extends Error {
  constructor(name, message, details = {}) {
    super(message);
    this.name = name;
    Object.assign(this, details);
    const own = (table, key) => (typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined);
    this.userMessage = details.userMessage
      ?? own(LOGIN_ERROR_MESSAGES, details.code)
      ?? own(USER_MESSAGES, name)
      ?? 'Something went wrong while signing in. Please try again.';
  }
}

const fail = (name, message, details) => new AuthProxyError(name, message, details);

function base64url(bytes) {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomValue() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function decodeJwt(token) {
  const part = typeof token === 'string' ? token.split('.')[1] : undefined;
  if (!part) return null;
  try {
    const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

function toSession(body) {
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    idToken: body.id_token,
    expiresIn: body.expires_in,
    refreshExpiresIn: body.refresh_expires_in,
    tokenType: body.token_type,
    authority: body.authority,
    clientId: body.client_id,
    username: body.username,
    obtainedAt: Date.now(),
  };
}

/** Renew a session token this long before it expires. */
const RENEW_BEFORE_MS = 60 * 1000;

/**
 * An embed session: the user a host vouched for (`#token=`). Holds the broker's
 * session token, renews it while the session lasts, and learns within a second
 * when the host (or another frame) ends it.
 */
export class EmbedSession {
  #proxy;
  #body;
  #timer;
  #watching = false;

  constructor(proxy, body, resource) {
    this.#proxy = proxy;
    /** The resource the frame shows ({type, id}), sent with every renewal. */
    this.resource = resource ?? body.resource;
    this.#update(body);
  }

  #update(body) {
    this.#body = body;
    this.sessionToken = body.session_token;
    this.expiresAt = Date.now() + body.expires_in * 1000;
    this.sessionExp = body.session_exp;
    this.tenant = body.tenant;
    this.sub = body.sub;
    this.user = body.user;
    /** The role on the resource (attendee, presenter, organizer), when there is one. */
    this.role = body.role;
    this.ended = false;
  }

  /** The Keycloak tokens, in the shape `AuthProxy.keycloak()` takes. */
  get keycloakSession() {
    return {
      accessToken: this.#body.keycloak.access_token,
      expiresIn: this.#body.keycloak.expires_in,
      authority: this.#body.keycloak.authority,
      clientId: this.#proxy.clientId,
      obtainedAt: Date.now(),
    };
  }

  /** A keycloak-js instance holding this user's Keycloak tokens. */
  keycloak(Keycloak) {
    return this.#proxy.keycloak(this.keycloakSession, Keycloak);
  }

  async #call(path) {
    const payload = { client_id: this.#proxy.clientId, session_token: this.sessionToken };
    if (this.resource && path === '/api/embed/session') payload.resource = this.resource;
    return this.#proxy.embedCall(path, payload);
  }

  /** A new session token and Keycloak token; rejects with SessionEnded when over. */
  async renew() {
    const { response, body } = await this.#call('/api/embed/session');
    if (!response.ok) {
      this.#end(body.error === 'session_replaced' ? 'replaced' : undefined);
      throw fail('SessionEnded', body.error_description || 'The session is over: log in again.', { code: body.error });
    }
    this.#update(body);
    return this;
  }

  /**
   * Keeps the session alive and watches it: `onChanged(session)` after the host
   * updated the user (renewed already), `onEnded(reason)` once it is over:
   * `reason` is 'expired', 'logged_out', 'revoked' (its registration) or
   * 'replaced' (a newer session of the same registration or user took its
   * place), undefined when its token no longer verifies.
   */
  watch({ onChanged, onEnded } = {}) {
    if (this.#watching) return;
    this.#watching = true;
    this.onEnded = onEnded;
    const schedule = () => {
      clearTimeout(this.#timer);
      const wait = Math.max(1000, this.expiresAt - Date.now() - RENEW_BEFORE_MS);
      this.#timer = setTimeout(() => this.renew().then(schedule, () => {}), wait);
    };
    schedule();
    (async () => {
      while (!this.ended) {
        let answer;
        try {
          answer = (await this.#call('/api/embed/session/wait')).body;
        } catch {
          await sleep(2000);
          continue;
        }
        if (answer.ended) {
          this.#end(answer.reason);
          return;
        }
        if (answer.busy) await sleep(5000);
        if (answer.changed) {
          try {
            await this.renew();
            schedule();
            onChanged?.(this);
          } catch {
            return;
          }
        }
      }
    })();
  }

  #end(reason) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.#timer);
    this.onEnded?.(reason);
  }

  /**
   * Ends this session at the broker; with `{ keycloak: true }` the user's
   * Keycloak sessions end too (their refresh tokens stop working).
   */
  async logout({ keycloak = false } = {}) {
    const payload = { client_id: this.#proxy.clientId, session_token: this.sessionToken };
    if (keycloak) payload.keycloak_logout = true;
    await this.#proxy.embedCall('/api/embed/logout', payload).catch(() => {});
    this.#end();
  }
}

/** Host tokens handed to the embedded app: in the URL's fragment or by postMessage. */
class Embed {
  #proxy;

  /**
   * Why the last token or ticket was refused (a `redeem` that resolved to null):
   * `{ code, debugId, reason }`, where `debugId` finds the request's audit row
   * and `reason` (`bad_signature`, `expired`, ...) is given for a sandbox
   * tenant only; null after a success.
   */
  lastRefusal = null;

  constructor(proxy) {
    this.#proxy = proxy;
  }

  /**
   * Reads `#token=...` (a host token) or `#authproxy_ticket=...` (the one-time
   * ticket of an embed URL, a join URL or a link), removes it from the address
   * bar and the history entry at once (the path, the query and any other
   * fragment parameters stay), and redeems it; `resource` ({type, id}) is the
   * resource this frame shows, which a ticket made for a resource must name.
   * Resolves to an EmbedSession, or to null when there is no valid token (the
   * app shows its login then).
   */
  async fromFragment({ location = window.location, history = window.history, resource } = {}) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get('token');
    const ticket = fragment.get('authproxy_ticket');
    if (!token && !ticket) return null;
    fragment.delete('token');
    fragment.delete('authproxy_ticket');
    const rest = fragment.toString();
    history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    return token ? this.redeem(token) : this.redeemTicket(ticket, { resource });
  }

  /** Redeems a one-time ticket: an EmbedSession, or null when the broker refuses it. */
  async redeemTicket(ticket, { resource } = {}) {
    const payload = { client_id: this.#proxy.clientId, ticket };
    if (resource) payload.resource = resource;
    const { response, body } = await this.#proxy.embedCall('/api/embed/redeem', payload);
    if (response.status === 400 && body.error === 'invalid_ticket') return this.#refused(body);
    if (!response.ok) throw fail('LoginFailed', body.error_description || `The broker refused the ticket (HTTP ${response.status}).`, { code: body.error });
    this.lastRefusal = null;
    return new EmbedSession(this.#proxy, body, resource);
  }

  /**
   * The session a followed login link left in this browser (its cookie, sent to
   * the broker on the same site): an EmbedSession, or null when there is none.
   */
  async fromLink({ resource } = {}) {
    let response;
    try {
      response = await fetch(`${this.#proxy.broker}/api/link/session`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: this.#proxy.clientId }),
      });
    } catch (cause) {
      throw fail('NetworkError', 'The broker could not be reached (or this origin is not registered).', { cause });
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) return null;
    if (!response.ok) throw fail('LoginFailed', body.error_description || `The broker refused the link session (HTTP ${response.status}).`, { code: body.error });
    return new EmbedSession(this.#proxy, body, resource);
  }

  /**
   * For hosts whose framework strips fragments: waits for
   * `{type: "authproxy:token", token}` posted by the host page of `origin`
   * (exactly that origin) and redeems it.
   */
  fromMessage({ origin, timeoutMs = 30000 } = {}) {
    if (!origin) throw new TypeError('fromMessage needs the host page origin');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { window.removeEventListener('message', onMessage); resolve(null); }, timeoutMs);
      const onMessage = (event) => {
        if (event.origin !== origin || event.data?.type !== 'authproxy:token' || typeof event.data.token !== 'string') return;
        clearTimeout(timer);
        window.removeEventListener('message', onMessage);
        this.redeem(event.data.token).then(resolve, reject);
      };
      window.addEventListener('message', onMessage);
    });
  }

  /** Redeems a host token: an EmbedSession, or null when the broker refuses it. */
  async redeem(token) {
    const { response, body } = await this.#proxy.embedCall('/api/embed/redeem', { client_id: this.#proxy.clientId, token });
    if (response.status === 400 && body.error === 'invalid_token') return this.#refused(body);
    if (!response.ok) throw fail('LoginFailed', body.error_description || `The broker refused the token (HTTP ${response.status}).`, { code: body.error });
    this.lastRefusal = null;
    return new EmbedSession(this.#proxy, body);
  }

  #refused(body) {
    this.lastRefusal = { code: body.error, debugId: body.debug_id ?? null, reason: typeof body.reason === 'string' ? body.reason : null };
    return null;
  }
}

/** The user third-party SSO reports: `{ id, displayName, email, picture, emailVerified }`. */
function ssoUser(session) {
  const user = session.user ?? {};
  return {
    id: session.sub,
    displayName: user.name ?? null,
    email: user.email ?? null,
    picture: user.picture ?? null,
    emailVerified: user.email_verified === true,
  };
}

const SSO_ERRORS = {
  invalid_token: 'InvalidToken',
  unknown_tenant: 'UnknownTenant',
  unknown_provider: 'UnknownProvider',
  invalid_sso_code: 'InvalidCode',
  provider_unavailable: 'ProviderUnavailable',
  session_ended: 'SessionEnded',
  session_replaced: 'SessionEnded',
};

function ssoFailure(response, body, what) {
  const name = SSO_ERRORS[body.error] ?? (response.status >= 500 ? 'NetworkError' : 'LoginFailed');
  return fail(name, body.error_description || `${what} was refused (HTTP ${response.status}${body.error ? `, ${body.error}` : ''}).`, { code: body.error, debugId: body.debug_id });
}

/**
 * The embedded app's side of third-party SSO: the host page's identity
 * platform (Auth0, Gigya, Piano, any OIDC) logs this app in. `serve()` takes the
 * host page's requests, from the tenant's registered host origin only, and
 * answers to that origin only; the same calls are methods here for an app that
 * shares the host's document.
 */
class Sso {
  #proxy;
  #configs = new Map();
  #verifier;
  #hostOrigin;
  /** The current session, once a login succeeded. */
  session = null;

  constructor(proxy) {
    this.#proxy = proxy;
  }

  /** The tenant's host origin and providers (`{ tenant, host_origin, providers }`). */
  async config(tenant) {
    if (!this.#configs.has(tenant)) {
      const { response, body } = await this.#proxy.embedCall('/api/embed/sso/config', { client_id: this.#proxy.clientId, tenant });
      if (!response.ok) throw ssoFailure(response, body, 'The SSO configuration');
      this.#configs.set(tenant, body);
    }
    return this.#configs.get(tenant);
  }

  #started(body, resource, watchers) {
    this.session?.logout().catch(() => {});
    const session = new EmbedSession(this.#proxy, body, resource);
    this.session = session;
    session.watch({
      onChanged: (s) => watchers?.onChanged?.(s),
      onEnded: (reason) => {
        if (this.session === session) this.session = null;
        watchers?.onEnded?.(reason);
      },
    });
    return session;
  }

  /** Logs in with the platform's `token`: the EmbedSession, or rejects (InvalidToken, UnknownProvider, ...). */
  async start({ tenant, provider, token, resource }, watchers) {
    if (!tenant || !provider || typeof token !== 'string') throw new TypeError('sso.start needs { tenant, provider, token }');
    const payload = { client_id: this.#proxy.clientId, tenant, provider, token };
    if (resource) payload.resource = resource;
    const { response, body } = await this.#proxy.embedCall('/api/embed/sso', payload);
    if (!response.ok) throw ssoFailure(response, body, 'The token');
    return this.#started(body, resource, watchers);
  }

  /** Reads the profile again (a fresh `token`, or Piano's user API without one): the user. */
  async update({ token } = {}) {
    if (!this.session) throw fail('SessionEnded', 'No one is logged in.');
    const payload = { client_id: this.#proxy.clientId, session_token: this.session.sessionToken };
    if (token) payload.token = token;
    const { response, body } = await this.#proxy.embedCall('/api/embed/sso/update', payload);
    if (!response.ok) throw ssoFailure(response, body, 'The update');
    await this.session.renew();
    return ssoUser(this.session);
  }

  /** Ends the session and the Keycloak sessions behind it. */
  async logout() {
    const session = this.session;
    this.session = null;
    await session?.logout({ keycloak: true });
  }

  /** The standard handshake's first code, bound to a verifier only this frame keeps. */
  async code({ tenant }) {
    this.#verifier = randomValue();
    const payload = { client_id: this.#proxy.clientId, tenant, code_challenge: await challengeOf(this.#verifier) };
    const { response, body } = await this.#proxy.embedCall('/api/embed/sso/code', payload);
    if (!response.ok) throw ssoFailure(response, body, 'The code request');
    return body.code_a;
  }

  /** Completes the handshake with the host backend's `code_b`: the EmbedSession. */
  async complete(codeB, { resource } = {}, watchers) {
    if (!this.#verifier) throw fail('InvalidCode', 'This frame asked for no code: call code() first.');
    const payload = { client_id: this.#proxy.clientId, code_b: codeB, code_verifier: this.#verifier };
    this.#verifier = undefined;
    if (resource) payload.resource = resource;
    const { response, body } = await this.#proxy.embedCall('/api/embed/sso/complete', payload);
    if (!response.ok) throw ssoFailure(response, body, 'The code');
    return this.#started(body, resource, watchers);
  }

  /**
   * Tells the host that a login is needed, so it runs its own: a DOM event
   * `authproxy:login-required` on this document, and a message to the host
   * page's registered origin (exactly) when this app is framed.
   */
  loginRequired({ reason = 'login_required' } = {}) {
    document.dispatchEvent(new CustomEvent('authproxy:login-required', { detail: { reason, origin: location.origin } }));
    if (window.parent !== window && this.#hostOrigin) {
      window.parent.postMessage({ type: 'authproxy:login-required', reason }, this.#hostOrigin);
    }
  }

  /**
   * Serves the host page of `tenant`: its `start`, `update`, `logout`, `code`
   * and `complete` requests (messages from its registered origin only), each
   * answered to that origin; `onSession`, `onChanged` and `onEnded` follow the
   * session. Resolves once listening, with the tenant's configuration.
   */
  async serve({ tenant, resource, onSession, onChanged, onEnded } = {}) {
    const config = await this.config(tenant);
    const hostOrigin = config.host_origin;
    this.#hostOrigin = hostOrigin;
    const post = (message, target = window.parent) => {
      if (target && target !== window) target.postMessage(message, hostOrigin);
    };
    const watchers = {
      onChanged: (s) => { onChanged?.(s); post({ type: 'authproxy:sso-changed', user: ssoUser(s) }); },
      onEnded: (reason) => { onEnded?.(reason); post({ type: 'authproxy:sso-ended', reason: reason ?? 'ended' }); },
    };
    const handlers = {
      ping: async () => ({ ready: true }),
      start: async (m) => {
        const session = await this.start({ tenant, provider: m.provider, token: m.token, resource }, watchers);
        onSession?.(session);
        return ssoUser(session);
      },
      update: (m) => this.update({ token: m.token }),
      logout: async () => { await this.logout(); return { ended: true }; },
      code: () => this.code({ tenant }),
      complete: async (m) => {
        const session = await this.complete(m.code_b, { resource }, watchers);
        onSession?.(session);
        return ssoUser(session);
      },
    };
    window.addEventListener('message', (event) => {
      // Exactly the registered origin: any other page's message is ignored.
      if (event.origin !== hostOrigin) return;
      const m = event.data;
      if (!m || m.type !== 'authproxy:sso' || typeof m.id !== 'string' || !Object.hasOwn(handlers, m.op)) return;
      handlers[m.op](m).then(
        (result) => post({ type: 'authproxy:sso-reply', id: m.id, ok: true, result }, event.source),
        (error) => post({ type: 'authproxy:sso-reply', id: m.id, ok: false, error: { name: error.name, message: error.message, code: error.code } }, event.source),
      );
    });
    post({ type: 'authproxy:sso-ready' });
    return config;
  }
}

/**
 * The host page's side of third-party SSO: talks to the embedded app in `frame`
 * (an iframe element or a window) at `appOrigin`, exactly; messages from any
 * other origin are ignored. `start({provider, token})` resolves to the
 * logged-in user `{ id, displayName, email, picture, emailVerified }` or rejects
 * with an AuthProxyError; a `login-required` from the app reaches
 * `onLoginRequired` listeners and the DOM event `authproxy:login-required` on
 * this document.
 */
export class HostSso {
  #frame;
  #appOrigin;
  #timeoutMs;
  #pending = new Map();
  #ready = false;
  #listeners = { loginRequired: new Set(), ended: new Set(), changed: new Set() };

  constructor({ frame, appOrigin, timeoutMs = 30000 }) {
    if (!frame || !appOrigin) throw new TypeError('HostSso needs { frame, appOrigin }');
    this.#frame = frame;
    this.#appOrigin = new URL(appOrigin).origin;
    this.#timeoutMs = timeoutMs;
    window.addEventListener('message', (event) => this.#receive(event));
  }

  get #window() {
    return this.#frame.contentWindow ?? this.#frame;
  }

  #receive(event) {
    if (event.origin !== this.#appOrigin || event.source !== this.#window) return;
    const m = event.data;
    if (!m || typeof m.type !== 'string') return;
    if (m.type === 'authproxy:sso-ready') this.#ready = true;
    if (m.type === 'authproxy:sso-reply' && this.#pending.has(m.id)) {
      this.#ready = true;
      const { resolve, reject } = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.ok) resolve(m.result);
      else reject(fail(m.error?.name || 'LoginFailed', m.error?.message || 'The embedded app refused.', { code: m.error?.code }));
    }
    const detail = { origin: event.origin, reason: typeof m.reason === 'string' ? m.reason : undefined };
    if (m.type === 'authproxy:login-required') {
      for (const listener of this.#listeners.loginRequired) listener(detail);
      document.dispatchEvent(new CustomEvent('authproxy:login-required', { detail }));
    }
    if (m.type === 'authproxy:sso-ended') for (const listener of this.#listeners.ended) listener(detail);
    if (m.type === 'authproxy:sso-changed') for (const listener of this.#listeners.changed) listener(m.user);
  }

  #send(op, fields = {}, { retry = false } = {}) {
    const id = randomValue();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(again);
        this.#pending.delete(id);
        reject(fail('Timeout', 'The embedded app did not answer (is it loaded, and serving SSO?).'));
      }, this.#timeoutMs);
      const message = { type: 'authproxy:sso', id, op, ...fields };
      const deliver = () => this.#window.postMessage(message, this.#appOrigin);
      // Until the app listens, a ping is repeated (a message to a page still
      // loading is lost); nothing else is ever sent twice.
      const again = retry ? setInterval(deliver, 250) : undefined;
      this.#pending.set(id, {
        resolve: (v) => { clearTimeout(timer); clearInterval(again); resolve(v); },
        reject: (e) => { clearTimeout(timer); clearInterval(again); reject(e); },
      });
      deliver();
    });
  }

  async #call(op, fields) {
    if (!this.#ready) await this.#send('ping', {}, { retry: true });
    return this.#send(op, fields);
  }

  /** Logs the embedded app in with the platform's token: the user. */
  start({ provider, token }) {
    return this.#call('start', { provider, token });
  }

  /** Logs the embedded app out (and the Keycloak sessions behind it). */
  logout() {
    return this.#call('logout');
  }

  /** Refreshes the user's profile (a fresh `token`, or Piano's user API): the user. */
  update({ token } = {}) {
    return this.#call('update', token ? { token } : {});
  }

  /** The standard handshake: a `code_a` for the host's backend. */
  handshakeCode() {
    return this.#call('code');
  }

  /** Completes the handshake with the backend's `code_b`: the user. */
  complete(codeB) {
    return this.#call('complete', { code_b: codeB });
  }

  /** Calls `listener({origin, reason})` when the embedded app needs a login; returns an unsubscribe. */
  onLoginRequired(listener) {
    this.#listeners.loginRequired.add(listener);
    return () => this.#listeners.loginRequired.delete(listener);
  }

  /** Calls `listener({reason})` when the embedded session ends. */
  onEnded(listener) {
    this.#listeners.ended.add(listener);
    return () => this.#listeners.ended.delete(listener);
  }

  /** Calls `listener(user)` when the user's profile changed. */
  onChanged(listener) {
    this.#listeners.changed.add(listener);
    return () => this.#listeners.changed.delete(listener);
  }
}

export class AuthProxy {
  // Recent discovery refusals (unknown user, not enabled), by username: login()
  // then refuses at once instead of flashing a window open and shut.
  #refused = new Map();

  /**
   * @param {{broker: string, clientId: string, persist?: 'session', timeoutMs?: number, goneTimeoutMs?: number, popupFeatures?: string}} options
   */
  constructor({ broker, clientId, persist, timeoutMs = DEFAULT_TIMEOUT_MS, goneTimeoutMs = DEFAULT_GONE_TIMEOUT_MS, popupFeatures = 'popup,width=520,height=700' }) {
    if (!broker || !clientId) throw new TypeError('AuthProxy needs { broker, clientId }');
    this.broker = new URL(broker).origin;
    this.clientId = clientId;
    this.persist = persist === 'session' ? 'session' : undefined;
    this.timeoutMs = timeoutMs;
    this.goneTimeoutMs = goneTimeoutMs;
    this.popupFeatures = popupFeatures;
    /** Host tokens (`#token=`): see Embed. */
    this.embed = new Embed(this);
    /** Third-party SSO (the host page's Auth0, Gigya, Piano, OIDC login): see Sso. */
    this.sso = new Sso(this);
  }

  /** POSTs `payload` to the broker's embed endpoint `path`: `{response, body}`. */
  async embedCall(path, payload) {
    let response;
    try {
      response = await fetch(`${this.broker}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    } catch (cause) {
      throw fail('NetworkError', 'The broker could not be reached (or this origin is not registered).', { cause });
    }
    return { response, body: await response.json().catch(() => ({})) };
  }

  get #storageKey() {
    return `authproxy:${this.broker}:${this.clientId}`;
  }

  /**
   * Where `username` logs in. Rejects with SsoNotEnabled, UnknownUser, or
   * OriginNotRegistered when no client registers this page's origin.
   */
  async discover(username) {
    const key = String(username ?? '').trim().toLowerCase();
    try {
      const found = await this.#discover(username);
      this.#refused.delete(key);
      return found;
    } catch (error) {
      if (error.name === 'SsoNotEnabled' || error.name === 'UnknownUser') this.#refused.set(key, { at: Date.now(), error });
      throw error;
    }
  }

  // A refusal discover() met for `username` within DISCOVERY_KEPT_MS, as a new error.
  #knownRefusal(username) {
    const kept = this.#refused.get(String(username ?? '').trim().toLowerCase());
    if (!kept || Date.now() - kept.at > DISCOVERY_KEPT_MS) return null;
    return fail(kept.error.name, kept.error.message);
  }

  async #discover(username) {
    let response;
    try {
      response = await fetch(`${this.broker}/api/user/?user=${encodeURIComponent(username)}`);
    } catch (cause) {
      throw fail('NetworkError', 'The broker could not be reached (or this origin is not registered).', { cause });
    }
    const body = await response.json().catch(() => ({}));
    const code = body.errors?.user?.code;
    if (code === 'origin_not_allowed') {
      throw fail('OriginNotRegistered', body.errors.user.message || `${location.origin} is not registered with the broker.`, { code });
    }
    if (response.status === 404) throw fail('UnknownUser', body.errors?.user?.message || 'Unknown user.');
    if (!response.ok) {
      throw fail('InvalidUsername', body.errors?.user?.message || `Discovery failed (HTTP ${response.status}).`, { code });
    }
    const [entry] = body;
    if (!entry?.authority) throw fail('SsoNotEnabled', `${entry?.user || username} is not enabled for single sign-on.`);
    return { authority: entry.authority, authorityIdPHint: entry.authorityIdPHint ?? null };
  }

  /**
   * Logs `username` in through a popup. Call it inside a click handler: the popup
   * is opened synchronously, before anything is awaited. `signal` (an
   * AbortSignal) cancels the login (rejects with Aborted); `onState` is called with
   * 'popup' (the login window is open), 'waiting' (the window is out of sight, e.g.
   * cut off by COOP: show "waiting for the login window" and a way to cancel),
   * 'approving' (the login finished and waits for the user's approval in that
   * window) and 'redeeming'. When `discover()` found the user unknown or not
   * enabled for SSO within the last minute, it rejects at once, opening no
   * window: call `discover()` as the user types their name.
   */
  login({ username, prompt, uiLocales, signal, onState } = {}) {
    if (signal?.aborted) return Promise.reject(fail('Aborted', 'The login was cancelled.'));
    const known = this.#knownRefusal(username);
    if (known) return Promise.reject(known);
    const popup = this.#openPopup();
    if (!popup) return Promise.reject(fail('PopupBlocked', 'The login popup was blocked: call login() from a click handler, and allow popups.'));
    return (async () => {
      const txn = randomValue();
      const verifier = randomValue();
      const sentAt = await this.#start(popup, { txn, challenge: await challengeOf(verifier), username, prompt, uiLocales });
      return this.#finish(this.#await(txn, verifier, popup, sentAt, { signal, onState }));
    })().catch((error) => {
      this.#close(popup);
      throw error;
    });
  }

  /**
   * For a frame that cannot open the popup itself: returns a `handle` (no secret)
   * to pass to the frame that will call `loginWith`, and the `secret` to keep for
   * `complete`. The frame that holds the secret is the one that confirms the
   * login (the completion page's message reaches every frame of the registered
   * origin in the opener's tab); `loginWith()` never does, so a page elsewhere
   * that hands your login frame a handle of its own gains nothing.
   */
  async prepare() {
    const txn = randomValue();
    const verifier = randomValue();
    return { handle: { txn, challenge: await challengeOf(verifier) }, secret: { txn, verifier } };
  }

  /**
   * Opens the popup for a handle made by `prepare()` in another frame. Call it
   * inside a click handler. Resolves once the popup has finished (or was closed);
   * the session goes to the frame that calls `complete(secret)`.
   */
  loginWith(handle, { username, prompt, uiLocales } = {}) {
    const known = this.#knownRefusal(username);
    if (known) return Promise.reject(known);
    const popup = this.#openPopup();
    if (!popup) return Promise.reject(fail('PopupBlocked', 'The login popup was blocked: call loginWith() from a click handler.'));
    return this.#start(popup, { txn: handle.txn, challenge: handle.challenge, username, prompt, uiLocales })
      .then((sentAt) => this.#watchUntilDone(popup, handle.txn, sentAt))
      .catch((error) => {
        this.#close(popup);
        throw error;
      });
  }

  /**
   * Receives the session of a login started with `prepare()` / `loginWith()`,
   * through the relay. Takes `{ signal, onState }` as `login()` does.
   */
  complete(secret, { signal, onState } = {}) {
    return this.#finish(this.#await(secret.txn, secret.verifier, null, 0, { signal, onState }));
  }

  /**
   * A keycloak-js instance initialised with the session's tokens; `updateToken()`
   * refreshes at the realm. Also accepts `{ accessToken, authority, clientId }`
   * alone, such as an impersonation token a backend obtained for this user. With `persist: 'session'` every refresh is written back
   * (realms may revoke a refresh token once used), through `onAuthRefreshSuccess`:
   * chain to it rather than replacing it.
   */
  async keycloak(handedOver, Keycloak) {
    // A copy kept by this frame may be fresher than what was handed over (after a
    // reload, the handed-over refresh token may have been used up already).
    const kept = this.restore();
    const sameSession = kept && ['username', 'authority', 'clientId'].every((k) => kept[k] === handedOver[k]);
    const session = sameSession && kept.obtainedAt > handedOver.obtainedAt ? kept : handedOver;
    const authority = new URL(session.authority);
    const parts = authority.pathname.split('/');
    const at = parts.lastIndexOf('realms');
    if (at < 0 || !parts[at + 1]) throw fail('InvalidSession', 'The session has no Keycloak realm URL.');
    const keycloak = new Keycloak({
      url: `${authority.origin}${parts.slice(0, at).join('/')}`,
      realm: decodeURIComponent(parts[at + 1]),
      clientId: session.clientId,
    });
    const claims = decodeJwt(session.accessToken);
    if (!claims) throw fail('InvalidSession', 'The access token is not a JWT: keycloak-js cannot use it.');
    if (!decodeJwt(session.refreshToken)) {
      // No refresh token (an impersonation token from /api/impersonation, a realm
      // that issues none) or an opaque one: keycloak-js' init() decodes refresh
      // tokens as JWTs and cannot take it, so set its token fields. updateToken()
      // then rejects with RefreshUnavailable once the token is due: log in again,
      // or ask the backend for a new token.
      await keycloak.init({ checkLoginIframe: false, pkceMethod: 'S256' });
      const idClaims = decodeJwt(session.idToken);
      Object.assign(keycloak, {
        token: session.accessToken,
        tokenParsed: claims,
        subject: claims.sub,
        sessionId: claims.sid,
        realmAccess: claims.realm_access,
        resourceAccess: claims.resource_access,
        authenticated: true,
        timeSkew: Math.floor(Date.now() / 1000) - claims.iat,
      });
      if (idClaims) Object.assign(keycloak, { idToken: session.idToken, idTokenParsed: idClaims });
      keycloak.updateToken = async (minValidity = 5) => {
        // keycloak-js' isTokenExpired() refuses to answer without a refresh token.
        const left = claims.exp - Math.ceil(Date.now() / 1000) + keycloak.timeSkew;
        if (minValidity !== -1 && left >= minValidity) return false;
        throw fail('RefreshUnavailable', 'This session cannot be refreshed in the browser (no usable refresh token): log in again.');
      };
      return keycloak;
    }
    if (this.persist) {
      keycloak.onAuthRefreshSuccess = () => this.#save({
        ...session,
        accessToken: keycloak.token,
        refreshToken: keycloak.refreshToken,
        idToken: keycloak.idToken ?? session.idToken,
        expiresIn: keycloak.tokenParsed.exp - keycloak.tokenParsed.iat,
        refreshExpiresIn: keycloak.refreshTokenParsed ? keycloak.refreshTokenParsed.exp - keycloak.refreshTokenParsed.iat : session.refreshExpiresIn,
        obtainedAt: Date.now(),
      });
    }
    await keycloak.init({
      token: session.accessToken,
      refreshToken: session.refreshToken,
      idToken: session.idToken,
      checkLoginIframe: false,
      pkceMethod: 'S256',
    });
    return keycloak;
  }

  /**
   * Ends the Keycloak session (RP-initiated logout) in a popup, which works from
   * third-party iframes too. Call it inside a click handler. The ID token goes in
   * a form POST, never in a URL.
   */
  logout(session) {
    this.#forget();
    const popup = this.#openPopup();
    if (!popup) return Promise.reject(fail('PopupBlocked', 'The logout popup was blocked: call logout() from a click handler.'));
    // The blank popup is same-origin with this page until it navigates: build the
    // form in it and post it to the broker.
    const doc = popup.document;
    const form = doc.createElement('form');
    form.method = 'POST';
    form.action = `${this.broker}/logout`;
    const fields = { client_id: this.clientId, origin: window.location.origin };
    if (session?.idToken) fields.id_token_hint = session.idToken;
    if (session?.authority) fields.authority = session.authority;
    for (const [name, value] of Object.entries(fields)) {
      const input = doc.createElement('input');
      Object.assign(input, { type: 'hidden', name, value });
      form.appendChild(input);
    }
    doc.body.appendChild(form);
    form.submit();
    // The logged-out page closes itself.
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        if (popup.closed) {
          clearInterval(timer);
          resolve();
        }
      }, CLOSED_POLL_MS);
    });
  }

  /** The session kept by `persist: 'session'`, if its refresh token is still valid. */
  restore() {
    if (!this.persist) return null;
    try {
      const session = JSON.parse(sessionStorage.getItem(this.#storageKey) || 'null');
      if (!session) return null;
      const lifetime = (session.refreshExpiresIn ?? session.expiresIn ?? 0) * 1000;
      return Date.now() < session.obtainedAt + lifetime ? session : (this.#forget(), null);
    } catch {
      return null;
    }
  }

  #forget() {
    if (this.persist) {
      try { sessionStorage.removeItem(this.#storageKey); } catch { /* storage unavailable */ }
    }
  }

  async #finish(sessionPromise) {
    const session = await sessionPromise;
    this.#save(session);
    return session;
  }

  #save(session) {
    if (this.persist) {
      try { sessionStorage.setItem(this.#storageKey, JSON.stringify(session)); } catch { /* storage unavailable */ }
    }
  }

  #openPopup() {
    try {
      return window.open('about:blank', '_blank', this.popupFeatures);
    } catch {
      return null;
    }
  }

  #close(popup) {
    try { if (popup && !popup.closed) popup.close(); } catch { /* cut off */ }
  }

  async #start(popup, { txn, challenge, username, prompt, uiLocales }) {
    await this.discover(username);
    const params = new URLSearchParams({
      client_id: this.clientId, user: username, origin: window.location.origin, txn, txn_challenge: challenge,
    });
    if (prompt) params.set('prompt', prompt);
    if (uiLocales) params.set('ui_locales', uiLocales);
    popup.location.href = `${this.broker}/login?${params}`;
    return Date.now();
  }

  // Whether the popup is gone. `severed` when it went away so soon after being sent
  // to the broker that COOP cut it off (a person cannot close it that fast).
  static #popupState(popup, sentAt) {
    let closed;
    try { closed = popup.closed; } catch { closed = false; }
    if (!closed) return 'open';
    return Date.now() - sentAt < SEVERED_WITHIN_MS ? 'severed' : 'closed';
  }

  // Confirms a completed login to the broker with the value the completion page
  // posted: the broker then releases the result to the relay. Resolves with the
  // broker's error code when it refused, else null.
  async #confirm(txn, confirmation) {
    const response = await fetch(`${this.broker}/api/handoff/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: this.clientId, txn, confirmation }),
    });
    if (response.ok) return null;
    const body = await response.json().catch(() => ({}));
    return body.error || `http_${response.status}`;
  }

  // The completion page's confirmation for `txn`, or null. Only messages for a
  // login this SDK instance started (login(), or prepare() for complete()) are
  // answered. `event.origin` is set by the browser: only a broker page can send
  // it. With a popup of our own, the message must also come from that popup.
  #completionMessage(event, popup, txn) {
    if (event.origin !== this.broker || (popup && event.source !== popup)) return null;
    const data = event.data;
    if (data?.type !== 'authproxy:login' || data.txn !== txn || typeof data.confirmation !== 'string') return null;
    return data.confirmation;
  }

  // Resolves with the session once redeemed; rejects with PopupClosed,
  // LoginFailed, Timeout or Aborted.
  #await(txn, verifier, popup, sentAt, { signal, onState } = {}) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let state = '';
      let lostTimeout = 0;
      const report = (next) => {
        if (next === state) return;
        state = next;
        try { onState?.(next); } catch { /* the host's callback */ }
      };
      const settle = (fn, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(lostTimeout);
        clearInterval(closedTimer);
        clearTimeout(timeout);
        clearTimeout(goneTimeout);
        window.removeEventListener('message', onMessage);
        signal?.removeEventListener('abort', onAbort);
        fn(value);
      };
      const redeem = async () => {
        const response = await fetch(`${this.broker}/api/handoff/wait`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: this.clientId, txn, txn_verifier: verifier }),
        });
        const body = await response.json().catch(() => ({}));
        if (response.ok && body.pending) return false;
        if (body.error === 'confirmation_required') {
          // Completed, waiting for the confirmation (the popup's message, or the
          // user's approval in a popup that lost its opener).
          if (!popup || AuthProxy.#popupState(popup, sentAt) !== 'open') report('approving');
          return false;
        }
        if (response.ok) {
          report('redeeming');
          this.#close(popup);
          settle(resolve, toSession(body));
        } else if (body.error === 'login_failed') {
          const said = typeof body.login_error_description === 'string' ? ` (${body.login_error_description})` : '';
          settle(reject, fail('LoginFailed', `The login failed: ${body.login_error}${said}.`, { code: body.login_error }));
        } else {
          settle(reject, fail('LoginFailed', body.error_description || `The login failed (HTTP ${response.status}).`, { code: body.error }));
        }
        return true;
      };
      const relay = async () => {
        while (!settled) {
          const asked = Date.now();
          try {
            if (await redeem()) return;
          } catch {
            // Network trouble (or a refusal the browser hides): keep trying until the timeout.
          }
          if (Date.now() - asked < 1000) await sleep(1000);
        }
      };
      // The broker no longer holds a result for this login (it expired, or the
      // broker's store restarted and lost it): unless the relay, which may have
      // redeemed it a moment ago, answers meanwhile, the login failed.
      const onMessage = (event) => {
        const confirmation = this.#completionMessage(event, popup, txn);
        if (!confirmation) return;
        this.#confirm(txn, confirmation).then((refused) => {
          if (refused !== 'invalid_confirmation' || settled) return;
          lostTimeout ||= setTimeout(() => settle(reject, fail('LoginFailed',
            'The login finished, but the broker no longer holds its result (it expired, or the broker restarted). Log in again.',
            { code: 'result_lost' })), LOST_GRACE_MS);
        }).catch(() => {});
      };
      const onAbort = () => {
        this.#close(popup);
        settle(reject, fail('Aborted', 'The login was cancelled.'));
      };
      let goneTimeout = 0;
      const gone = () => {
        report('waiting');
        goneTimeout ||= setTimeout(() => settle(reject, fail('Timeout', 'The login window is gone and the login did not finish in time.')), this.goneTimeoutMs);
      };
      let closedAt = 0;
      const closedTimer = popup && setInterval(() => {
        const popupState = AuthProxy.#popupState(popup, sentAt);
        if (popupState === 'open') return;
        if (popupState === 'severed' && !closedAt) {
          // Cut off by COOP on its way to the broker or an external IdP: from here on
          // only the relay can tell; the shorter timeout applies.
          clearInterval(closedTimer);
          gone();
          return;
        }
        closedAt ||= Date.now();
        if (Date.now() - closedAt >= CLOSE_GRACE_MS) {
          settle(reject, fail('PopupClosed', 'The login popup was closed before the login finished.'));
        }
      }, CLOSED_POLL_MS);
      const timeout = setTimeout(() => {
        this.#close(popup);
        settle(reject, fail('Timeout', 'The login did not finish in time.'));
      }, this.timeoutMs);
      window.addEventListener('message', onMessage);
      signal?.addEventListener('abort', onAbort);
      report(popup ? 'popup' : 'waiting');
      relay();
    });
  }

  // For loginWith: resolves when the popup reports completion (then closes it) or
  // goes away. It never confirms: the frame that holds the secret (complete())
  // does, since it started the login; the completion page's message reached it at
  // the same moment. A severed popup cannot be watched: resolve at once; the user
  // approves in the popup and `complete()` still gets the result.
  #watchUntilDone(popup, txn, sentAt) {
    return new Promise((resolve) => {
      const onMessage = (event) => {
        if (!this.#completionMessage(event, popup, txn)) return;
        this.#close(popup);
        done();
      };
      const timer = setInterval(() => {
        if (AuthProxy.#popupState(popup, sentAt) !== 'open') done();
      }, CLOSED_POLL_MS);
      const done = () => {
        clearInterval(timer);
        window.removeEventListener('message', onMessage);
        resolve();
      };
      window.addEventListener('message', onMessage);
    });
  }
}
