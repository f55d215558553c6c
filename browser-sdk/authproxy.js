// authproxy browser SDK: popup login for embedded apps, without dependencies.
//
// The login result never travels in a message or a URL. The page keeps a secret
// txn_verifier, sends only its SHA-256 (txn_challenge) through the popup, and
// redeems the result from the broker exactly once. It learns that the result is
// ready from whichever comes first: the popup's postMessage, or the relay
// (POST /api/handoff/wait), which keeps working when COOP has cut the popup off
// from its opener and when this page is a partitioned third-party iframe.

export const VERSION = '0.1.0';

const DEFAULT_TIMEOUT_MS = 5 * 60 * 1000;
// A popup reported closed this soon after it was sent to the broker was cut off
// by Cross-Origin-Opener-Policy, not closed by a person.
const SEVERED_WITHIN_MS = 2000;
const CLOSED_POLL_MS = 500;
// After a close, give a result that is already on its way a moment to arrive.
const CLOSE_GRACE_MS = 1000;

/** Errors the SDK rejects with; `name` is the stable code. */
export class AuthProxyError extends Error {
  constructor(name, message, details = {}) {
    super(message);
    this.name = name;
    Object.assign(this, details);
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

export class AuthProxy {
  /**
   * @param {{broker: string, clientId: string, persist?: 'session', timeoutMs?: number, popupFeatures?: string}} options
   */
  constructor({ broker, clientId, persist, timeoutMs = DEFAULT_TIMEOUT_MS, popupFeatures = 'popup,width=520,height=700' }) {
    if (!broker || !clientId) throw new TypeError('AuthProxy needs { broker, clientId }');
    this.broker = new URL(broker).origin;
    this.clientId = clientId;
    this.persist = persist === 'session' ? 'session' : undefined;
    this.timeoutMs = timeoutMs;
    this.popupFeatures = popupFeatures;
  }

  get #storageKey() {
    return `authproxy:${this.broker}:${this.clientId}`;
  }

  /** Where `username` logs in. Rejects with SsoNotEnabled or UnknownUser. */
  async discover(username) {
    let response;
    try {
      response = await fetch(`${this.broker}/api/user/?user=${encodeURIComponent(username)}`);
    } catch (cause) {
      throw fail('NetworkError', 'The broker could not be reached (or this origin is not registered).', { cause });
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 404) throw fail('UnknownUser', body.errors?.user?.message || 'Unknown user.');
    if (!response.ok) {
      throw fail('InvalidUsername', body.errors?.user?.message || `Discovery failed (HTTP ${response.status}).`, { code: body.errors?.user?.code });
    }
    const [entry] = body;
    if (!entry?.authority) throw fail('SsoNotEnabled', `${entry?.user || username} is not enabled for single sign-on.`);
    return { authority: entry.authority, authorityIdPHint: entry.authorityIdPHint ?? null };
  }

  /**
   * Logs `username` in through a popup. Call it inside a click handler: the popup
   * is opened synchronously, before anything is awaited.
   */
  login({ username, prompt, uiLocales } = {}) {
    const popup = this.#openPopup();
    if (!popup) return Promise.reject(fail('PopupBlocked', 'The login popup was blocked: call login() from a click handler, and allow popups.'));
    return (async () => {
      const txn = randomValue();
      const verifier = randomValue();
      const sentAt = await this.#start(popup, { txn, challenge: await challengeOf(verifier), username, prompt, uiLocales });
      return this.#finish(this.#await(txn, verifier, popup, sentAt));
    })().catch((error) => {
      this.#close(popup);
      throw error;
    });
  }

  /**
   * For a frame that cannot open the popup itself: returns a `handle` (no secret)
   * to pass to the frame that will call `loginWith`, and the `secret` to keep for
   * `complete`.
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
    const popup = this.#openPopup();
    if (!popup) return Promise.reject(fail('PopupBlocked', 'The login popup was blocked: call loginWith() from a click handler.'));
    return this.#start(popup, { txn: handle.txn, challenge: handle.challenge, username, prompt, uiLocales })
      .then((sentAt) => this.#watchUntilDone(popup, handle.txn, sentAt))
      .catch((error) => {
        this.#close(popup);
        throw error;
      });
  }

  /** Receives the session of a login started with `prepare()` / `loginWith()`, through the relay. */
  complete(secret) {
    return this.#finish(this.#await(secret.txn, secret.verifier, null, 0));
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
    if (!session.refreshToken) {
      // A token without a refresh token (an impersonation token from the broker's
      // /api/impersonation): keycloak-js cannot take it through init(), so set its
      // token fields. updateToken() then fails; ask the backend for a new token.
      await keycloak.init({ checkLoginIframe: false, pkceMethod: 'S256' });
      const claims = JSON.parse(atob(session.accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      Object.assign(keycloak, {
        token: session.accessToken,
        tokenParsed: claims,
        subject: claims.sub,
        authenticated: true,
        timeSkew: Math.floor(Date.now() / 1000) - claims.iat,
      });
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
   * Ends the Keycloak session (RP-initiated logout with id_token_hint) in a popup,
   * which works from third-party iframes too. Call it inside a click handler.
   */
  logout(session) {
    this.#forget();
    const popup = this.#openPopup();
    if (!popup) return Promise.reject(fail('PopupBlocked', 'The logout popup was blocked: call logout() from a click handler.'));
    const params = new URLSearchParams({ client_id: this.clientId, origin: window.location.origin, id_token_hint: session.idToken });
    popup.location.href = `${this.broker}/logout?${params}`;
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

  // Resolves with the session once redeemed; rejects with PopupClosed, LoginFailed or Timeout.
  #await(txn, verifier, popup, sentAt) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let polling = 0; // relay requests in flight
      const settle = (fn, value) => {
        if (settled) return;
        settled = true;
        clearInterval(closedTimer);
        clearTimeout(timeout);
        window.removeEventListener('message', onMessage);
        fn(value);
      };
      const redeem = async (path) => {
        polling += 1;
        try {
          const response = await fetch(`${this.broker}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ txn, txn_verifier: verifier }),
          });
          const body = await response.json().catch(() => ({}));
          if (response.ok && body.pending) return false;
          if (response.ok) {
            this.#close(popup);
            settle(resolve, toSession(body));
          } else if (body.error === 'login_failed') {
            settle(reject, fail('LoginFailed', `The login failed: ${body.login_error}.`, { code: body.login_error }));
          } else {
            settle(reject, fail('LoginFailed', body.error_description || `The login failed (HTTP ${response.status}).`, { code: body.error }));
          }
          return true;
        } finally {
          polling -= 1;
        }
      };
      const relay = async () => {
        while (!settled) {
          const asked = Date.now();
          try {
            if (await redeem('/api/handoff/wait')) return;
          } catch {
            // Network trouble (or a refusal the browser hides): keep trying until the timeout.
          }
          if (Date.now() - asked < 1000) await sleep(1000);
        }
      };
      const onMessage = (event) => {
        if (event.origin !== this.broker || event.source !== popup) return;
        if (event.data?.type !== 'authproxy:login' || event.data.txn !== txn) return;
        // The relay, when it is waiting, answers at the same moment: redeem once.
        if (polling === 0) redeem('/api/handoff').catch(() => {});
      };
      let closedAt = 0;
      const closedTimer = popup && setInterval(() => {
        const state = AuthProxy.#popupState(popup, sentAt);
        if (state === 'open') return;
        if (state === 'severed' && !closedAt) {
          // Cut off by COOP on its way to the broker or an external IdP: from here on
          // only the relay can tell; the timeout still applies.
          clearInterval(closedTimer);
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
      relay();
    });
  }

  // For loginWith: resolves when the popup reports completion or goes away.
  // A severed popup cannot be watched: resolve at once, `complete()` still gets the result.
  #watchUntilDone(popup, txn, sentAt) {
    return new Promise((resolve) => {
      const onMessage = (event) => {
        if (event.origin === this.broker && event.source === popup && event.data?.type === 'authproxy:login' && event.data.txn === txn) done();
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
