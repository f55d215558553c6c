// Type declarations for the authproxy browser SDK (authproxy.js).

export declare const VERSION: string;

/** Stable error names the SDK rejects with. */
export type AuthProxyErrorName =
  | 'PopupBlocked'
  | 'PopupClosed'
  | 'LoginFailed'
  | 'Timeout'
  | 'SsoNotEnabled'
  | 'UnknownUser'
  | 'InvalidUsername'
  | 'NetworkError'
  | 'OriginNotRegistered'
  | 'InvalidSession'
  | 'Aborted'
  | 'RefreshUnavailable'
  | 'SessionEnded'
  | 'InvalidToken'
  | 'UnknownTenant'
  | 'UnknownProvider'
  | 'InvalidCode'
  | 'ProviderUnavailable';

/** Why an embed session ended; undefined when its token no longer verifies. */
export type EndReason = 'expired' | 'logged_out' | 'revoked' | 'replaced';

export declare class AuthProxyError extends Error {
  name: AuthProxyErrorName;
  /** A sentence a person can act on ("You cancelled the sign-in."); `message` stays technical. */
  userMessage: string;
  /** For LoginFailed: the IdP's or the broker's error code (e.g. "access_denied"). */
  code?: string;
}

export interface AuthProxyOptions {
  /** The broker's base URL, e.g. "https://login.example.com". */
  broker: string;
  /** This application's client ID (by convention its host, window.location.host). */
  clientId: string;
  /** Keep the session in sessionStorage so a reload does not force a new login. */
  persist?: 'session';
  /** Give up on a login after this long (default 5 minutes). */
  timeoutMs?: number;
  /**
   * Once the popup is out of sight (closed, or cut off by Cross-Origin-Opener-Policy),
   * give up after this much longer (default 2 minutes).
   */
  goneTimeoutMs?: number;
  /** window.open features of the popup. */
  popupFeatures?: string;
}

export interface Discovery {
  /** The user's realm URL. */
  authority: string;
  /** The external IdP alias, or null for local login. */
  authorityIdPHint: string | null;
}

export interface Session {
  accessToken: string;
  refreshToken?: string;
  idToken: string;
  expiresIn?: number;
  refreshExpiresIn?: number;
  tokenType: string;
  /** The realm URL the tokens come from. */
  authority: string;
  clientId: string;
  username: string;
  /** Date.now() when the session was received. */
  obtainedAt: number;
}

/**
 * Where a login stands: 'popup' (the login window is open), 'waiting' (the window
 * is out of sight: show "waiting for the login window" and a way to cancel),
 * 'approving' (finished, waiting for the user's approval in that window),
 * 'redeeming'.
 */
export type LoginState = 'popup' | 'waiting' | 'approving' | 'redeeming';

export interface WaitOptions {
  /** Cancels the login: the promise rejects with `Aborted`. */
  signal?: AbortSignal;
  onState?: (state: LoginState) => void;
}

export interface LoginOptions extends WaitOptions {
  username: string;
  prompt?: 'none' | 'login' | 'consent' | 'select_account';
  uiLocales?: string;
}

/** Passed to another frame: no secret in it. */
export interface LoginHandle {
  txn: string;
  challenge: string;
}

/** Kept by the frame that will call complete(). */
export interface LoginSecret {
  txn: string;
  verifier: string;
}

export declare class AuthProxy {
  constructor(options: AuthProxyOptions);
  /** Where the user logs in; a refusal (unknown, not enabled) is kept a minute, and login() then refuses that name without opening a window. */
  discover(username: string): Promise<Discovery>;
  /** Call inside a click handler. */
  login(options: LoginOptions): Promise<Session>;
  prepare(): Promise<{ handle: LoginHandle; secret: LoginSecret }>;
  /** Call inside a click handler, in the frame that may open popups. */
  loginWith(handle: LoginHandle, options: LoginOptions): Promise<void>;
  complete(secret: LoginSecret, options?: WaitOptions): Promise<Session>;
  /**
   * `Keycloak` is keycloak-js' default export. A session without a usable refresh
   * token (none, or an opaque one; e.g. `{ accessToken, authority, clientId }` from
   * an impersonation) gives an authenticated instance with the access and ID
   * tokens set, whose `updateToken()` rejects with `RefreshUnavailable` once the
   * token is due.
   */
  keycloak<K>(handedOver: Session | Pick<Session, 'accessToken' | 'authority' | 'clientId'>, Keycloak: new (config: { url: string; realm: string; clientId: string }) => K): Promise<K>;
  /** Call inside a click handler. The ID token is posted, never put in a URL. */
  logout(session: Session): Promise<void>;
  restore(): Session | null;
}

/** The user a host vouched for, as the embedded app sees it. */
export interface EmbedUser {
  name?: string;
  email?: string;
  email_verified: boolean;
  picture?: string;
}

/** A resource of the tenant, as the frame showing it names it. */
export interface ResourceRef {
  type: string;
  id: string;
}

/** A session's role on its resource. */
export type Role = 'attendee' | 'presenter' | 'organizer';

/** An embed session (a host token, a ticket or a link redeemed). */
export declare class EmbedSession {
  /** The broker's ES256 session token, for the embedded app's backends. */
  sessionToken: string;
  /** When the session token expires (ms since the epoch). */
  expiresAt: number;
  /** When the session ends (seconds since the epoch). */
  sessionExp: number;
  tenant: string;
  sub: string;
  user: EmbedUser;
  /** The resource the frame shows, sent with every renewal. */
  resource?: ResourceRef;
  /** The role on that resource, computed at every renewal. */
  role?: Role;
  ended: boolean;
  /** The Keycloak tokens, as AuthProxy.keycloak() takes them. */
  readonly keycloakSession: { accessToken: string; expiresIn: number; authority: string; clientId: string; obtainedAt: number };
  /** A keycloak-js instance holding the user's Keycloak tokens. */
  keycloak(Keycloak: unknown): Promise<unknown>;
  /** New tokens; rejects with SessionEnded when the session is over. */
  renew(): Promise<EmbedSession>;
  /** Keeps the session alive; calls onChanged after a host update, onEnded when it is over. */
  watch(handlers?: { onChanged?: (session: EmbedSession) => void; onEnded?: (reason?: EndReason) => void }): void;
  /** Ends the session at the broker; with `keycloak: true`, the user's Keycloak sessions too. */
  logout(options?: { keycloak?: boolean }): Promise<void>;
}

export interface Embed {
  /** Why the last token or ticket was refused (`reason` for a sandbox tenant only); null after a success. */
  readonly lastRefusal: { code: string; debugId: string | null; reason: string | null } | null;
  /** Reads and removes `#token=` or `#authproxy_ticket=`, redeems it; null when there is no valid one. */
  fromFragment(where?: { location?: Location; history?: History; resource?: ResourceRef }): Promise<EmbedSession | null>;
  /** Redeems a one-time ticket for the frame of `resource`; null when the broker refuses it. */
  redeemTicket(ticket: string, options?: { resource?: ResourceRef }): Promise<EmbedSession | null>;
  /** The session a followed login link left (its cookie, on the broker's site); null when none. */
  fromLink(options?: { resource?: ResourceRef }): Promise<EmbedSession | null>;
  /** Waits for `{type: "authproxy:token", token}` from the host page of `origin`. */
  fromMessage(options: { origin: string; timeoutMs?: number }): Promise<EmbedSession | null>;
  /** Redeems a host token; null when the broker refuses it. */
  redeem(token: string): Promise<EmbedSession | null>;
}

/** The user third-party SSO reports. */
export interface SsoUser {
  /** The embed user id (`ext:<provider>:<issuer hash>:<subject>`, or the handshake's primary key). */
  id: string;
  displayName: string | null;
  email: string | null;
  picture: string | null;
  /** Only a verified address may receive notifications. */
  emailVerified: boolean;
}

/** A tenant's third-party SSO, as the frame reads it. */
export interface SsoConfig {
  tenant: string;
  /** The host page's one origin. */
  host_origin: string;
  providers: { name: string; kind: 'auth0' | 'gigya' | 'piano' | 'oidc' }[];
}

interface SsoWatchers {
  onChanged?: (session: EmbedSession) => void;
  onEnded?: (reason?: EndReason) => void;
}

/** The embedded app's side of third-party SSO. */
export interface Sso {
  readonly session: EmbedSession | null;
  config(tenant: string): Promise<SsoConfig>;
  start(request: { tenant: string; provider: string; token: string; resource?: ResourceRef }, watchers?: SsoWatchers): Promise<EmbedSession>;
  /** A fresh `token`, or (Piano) none: the profile read again. */
  update(options?: { token?: string }): Promise<SsoUser>;
  /** Ends the session and the Keycloak sessions behind it. */
  logout(): Promise<void>;
  /** The handshake's first code, bound to a verifier only this frame keeps. */
  code(options: { tenant: string }): Promise<string>;
  complete(codeB: string, options?: { resource?: ResourceRef }, watchers?: SsoWatchers): Promise<EmbedSession>;
  /** A DOM event `authproxy:login-required`, and a message to the host's registered origin when framed. */
  loginRequired(options?: { reason?: string }): void;
  /** Serves the host page of `tenant` (messages from its registered origin only). */
  serve(options: { tenant: string; resource?: ResourceRef; onSession?: (session: EmbedSession) => void } & SsoWatchers): Promise<SsoConfig>;
}

/** The host page's side of third-party SSO. */
export declare class HostSso {
  constructor(options: { frame: HTMLIFrameElement | Window; appOrigin: string; timeoutMs?: number });
  start(request: { provider: string; token: string }): Promise<SsoUser>;
  logout(): Promise<{ ended: true }>;
  update(options?: { token?: string }): Promise<SsoUser>;
  handshakeCode(): Promise<string>;
  complete(codeB: string): Promise<SsoUser>;
  onLoginRequired(listener: (detail: { origin: string; reason?: string }) => void): () => void;
  onEnded(listener: (detail: { origin: string; reason?: string }) => void): () => void;
  onChanged(listener: (user: SsoUser) => void): () => void;
}

export declare interface AuthProxy {
  /** Host tokens (`#token=`) handed to the embedded app. */
  readonly embed: Embed;
  /** Third-party SSO: the host page's identity platform logs this app in. */
  readonly sso: Sso;
}
