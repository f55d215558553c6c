//! The closed vocabulary of error codes: every refusal the service answers carries
//! one of these, and each code has exactly one HTTP status and one meaning. The
//! book's error table (docs/src/reference/error-codes.md) lists exactly these (a test compares them).

use axum::http::StatusCode;

macro_rules! codes {
    ($($variant:ident => ($code:literal, $status:literal, $meaning:literal),)+) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order of the book's error table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as sent (`error`, `errors.user.code`, `<code id="code">`).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// The one status this code is answered with.
            #[must_use]
            pub fn status(self) -> StatusCode {
                let status = match self { $(ErrorCode::$variant => $status,)+ };
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST)
            }

            /// What it means, in one line.
            #[must_use]
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)+ }
            }
        }
    };
}

codes! {
    InvalidRequest => ("invalid_request", 400, "the request is malformed: its body (one JSON object with known keys), query or headers"),
    InvalidQuery => ("invalid_query", 400, "a query parameter is repeated, or not UTF-8 once decoded"),
    MissingUser => ("missing_user", 400, "discovery without a username"),
    InvalidUser => ("invalid_user", 400, "the username is malformed (empty, over 320 characters, control characters, not exactly one `@`)"),
    MissingParameter => ("missing_parameter", 400, "a required parameter is missing"),
    InvalidTxn => ("invalid_txn", 400, "`txn` or `txn_challenge` is malformed"),
    InvalidPrompt => ("invalid_prompt", 400, "`prompt` is not one of none, login, consent, select_account"),
    InvalidUiLocales => ("invalid_ui_locales", 400, "`ui_locales` is not a list of language tags"),
    UnknownClient => ("unknown_client", 400, "the client ID is not registered"),
    TxnInUse => ("txn_in_use", 400, "that `txn` belongs to another login: make a new one"),
    MissingState => ("missing_state", 400, "the authorization response has no state"),
    InvalidState => ("invalid_state", 400, "the state is not one this broker issued"),
    UnknownState => ("unknown_state", 400, "the state is unknown or was already used"),
    ExpiredState => ("expired_state", 400, "the login started more than 10 minutes ago"),
    BrowserMismatch => ("browser_mismatch", 400, "the callback arrived in another browser than the one that started the login"),
    IssuerMismatch => ("issuer_mismatch", 400, "the response's `iss` is not the realm the login went to (RFC 9207)"),
    MissingIss => ("missing_iss", 400, "the realm announces RFC 9207 `iss` but the response has none"),
    MissingCode => ("missing_code", 400, "the response has neither a code nor an error"),
    InvalidCode => ("invalid_code", 400, "the authorization code is oversized"),
    IdpError => ("idp_error", 400, "the realm reported an error (shown; the opener receives it as `login_error`)"),
    CodeRejected => ("code_rejected", 400, "the realm refused the code (expired or used)"),
    InvalidGrant => ("invalid_grant", 400, "the login result is unknown, expired, redeemed, or the verifier is wrong"),
    ConfirmationRequired => ("confirmation_required", 400, "the login completed but neither the registered origin's page nor the user released it (yet)"),
    InvalidConfirmation => ("invalid_confirmation", 400, "the confirmation is not that of a completed, waiting login"),
    LoginFailed => ("login_failed", 400, "the login failed; `login_error` says why"),
    InvalidIdTokenHint => ("invalid_id_token_hint", 400, "the logout's `id_token_hint` is not an ID token, or too long"),
    UnknownIssuer => ("unknown_issuer", 400, "the ID token comes from a realm this client is not registered for"),
    InvalidHost => ("invalid_host", 400, "no `Host` header, or several (RFC 9112 §3.2)"),
    InvalidToken => ("invalid_token", 400, "the host token (or the identity platform's token) does not verify; the audit row of `debug_id` says why"),
    InvalidSsoCode => ("invalid_sso_code", 400, "the handshake code is unknown, used, expired, of another tenant or client, or its verifier is wrong; the audit row of `debug_id` says why"),
    InvalidTicket => ("invalid_ticket", 400, "the one-time ticket is unknown, used, expired, or for another resource; the audit row of `debug_id` says why"),
    InvalidTarget => ("invalid_target", 400, "a link's target is not one registered resource or path of the tenant (open-redirect forms such as `//host` are refused), or the page is not on an origin the tenant's clients register"),
    InvalidEmail => ("invalid_email", 400, "the email is not an address, or holds look-alike characters (fullwidth forms, invisible characters, mixed scripts)"),
    PiiInUrl => ("pii_in_url", 400, "personal data (name, email, user id) in a URL: POST it, signed"),
    InvalidSignature => ("invalid_signature", 401, "the signed request does not verify: unknown key, wrong signature, stale, or its nonce used"),
    InvalidClient => ("invalid_client", 401, "impersonation: no, unknown or wrong caller credentials (`WWW-Authenticate: Basic`)"),
    InvalidApiKey => ("invalid_api_key", 401, "host API: no, unknown, expired or revoked API key (`WWW-Authenticate: Bearer`)"),
    SessionEnded => ("session_ended", 401, "the embed session ended (logout, `session_exp`) or its token does not verify: log in again"),
    SessionReplaced => ("session_replaced", 401, "a newer session of the same registration (or user) replaced this one"),
    Unauthenticated => ("unauthenticated", 401, "admin API: no or unknown admin token"),
    OriginNotAllowed => ("origin_not_allowed", 403, "the origin is not registered for the client, byte for byte"),
    SsoNotEnabled => ("sso_not_enabled", 403, "the user is known but not migrated to single sign-on"),
    ApprovalOff => ("approval_off", 403, "the client does not let a login window that lost its opener release the result"),
    RealmNotAllowed => ("realm_not_allowed", 403, "the client is not registered for the user's realm"),
    PolicyDenied => ("policy_denied", 403, "the caller's policy does not allow this realm, user or audience"),
    ImpersonationRefused => ("impersonation_refused", 403, "the realm refused the broker's client (a missing permission or role)"),
    LifetimeExceedsPolicy => ("lifetime_exceeds_policy", 403, "the realm issues tokens living longer than the caller may hold"),
    OperationNotAllowed => ("operation_not_allowed", 403, "host API: the API key may not call this, or not for this tenant"),
    Forbidden => ("forbidden", 403, "the request is not allowed"),
    ResourceNotAllowed => ("resource_not_allowed", 403, "the session is valid for another resource only"),
    EmailNotVerified => ("email_not_verified", 403, "an existing user is found only by an email a party the tenant trusts verified (a configured platform, or a host the tenant lets vouch for emails)"),
    UnknownUser => ("unknown_user", 404, "nobody of that name in the directory (or, for impersonation, in the realm)"),
    NotFound => ("not_found", 404, "no such endpoint, or no such resource"),
    UnknownTenant => ("unknown_tenant", 404, "no tenant of that id uses this client (one that does not exist and one of another app answer alike)"),
    UnknownProvider => ("unknown_provider", 404, "the tenant has no identity provider of that name"),
    ResourceNotFound => ("resource_not_found", 404, "the tenant has no resource of that type and id"),
    RegistrationNotFound => ("registration_not_found", 404, "no such registration (or it was revoked), or the join URL is not its current one"),
    LinkNotFound => ("link_not_found", 404, "no such login link (mistyped, or forgotten long after it expired)"),
    MethodNotAllowed => ("method_not_allowed", 405, "the endpoint does not take this method"),
    RequestTimeout => ("request_timeout", 408, "the request took too long"),
    RealmNotConfigured => ("realm_not_configured", 409, "the directory assigns the user to a realm that is not configured"),
    ClientRemoved => ("client_removed", 409, "the client of a login in flight is no longer registered"),
    ImpersonationNotConfigured => ("impersonation_not_configured", 409, "the user's realm has no broker client"),
    ImpersonationNotSupported => ("impersonation_not_supported", 409, "the user's realm does not offer the token exchange impersonation needs (Keycloak: features token-exchange:v1 and admin-fine-grained-authz:v1)"),
    AmbiguousUser => ("ambiguous_user", 409, "several users of the realm have this email address"),
    RealmUserConflict => ("realm_user_conflict", 409, "embedded SSO: the realm has a user of the name authproxy gives the host's user, which authproxy did not create"),
    Conflict => ("conflict", 409, "admin API: the resource exists, or is in use"),
    AlreadyRegistered => ("already_registered", 409, "this email is registered for the resource already (compared after normalisation)"),
    SessionActive => ("session_active", 409, "the registration (or user) has an active session and the tenant denies new ones"),
    ProviderNotConfigured => ("provider_not_configured", 409, "the identity provider's secrets (Piano: API token and signing key) are not set: an administrator sets them"),
    ManagedByConfig => ("managed_by_config", 409, "admin API and CLI: the configuration file owns the entry (`managed_by = \"file\"`, or the console's realm); change it there"),
    LinkUsed => ("link_used", 410, "the login link was used already: ask for a new one"),
    LinkExpired => ("link_expired", 410, "the login link expired unused: ask for a new one"),
    LengthRequired => ("length_required", 411, "the request has no length"),
    PayloadTooLarge => ("payload_too_large", 413, "the body is larger than the endpoint accepts"),
    HeadersTooLarge => ("headers_too_large", 431, "the request's headers are larger than 32 KiB in all"),
    UriTooLong => ("uri_too_long", 414, "the request URI is too long"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "the body is not of the expected type"),
    ValidationFailed => ("validation_failed", 422, "admin API: fields do not validate; `fields` lists each with its path"),
    RateLimited => ("rate_limited", 429, "too many requests from this address or caller; `Retry-After` says when to retry"),
    InternalError => ("internal_error", 500, "a bug: the request could not be handled"),
    RealmUnreachable => ("realm_unreachable", 502, "the realm could not be reached"),
    RealmError => ("realm_error", 502, "the realm answered with an error status"),
    RealmInvalidResponse => ("realm_invalid_response", 502, "the realm's answer was unusable (malformed, oversized, out of range)"),
    RealmIssuerMismatch => ("realm_issuer_mismatch", 502, "the realm's metadata names another issuer than the configured authority"),
    TokenRequestRefused => ("token_request_refused", 502, "the realm refused a token request"),
    InvalidIdToken => ("invalid_id_token", 502, "the realm's ID token does not verify"),
    RealmTokenMismatch => ("realm_token_mismatch", 502, "impersonation: the realm issued a token that does not match the request"),
    LogoutNotSupported => ("logout_not_supported", 502, "the realm offers no RP-initiated logout"),
    ProviderUnavailable => ("provider_unavailable", 502, "the identity platform (its keys, discovery document or user API) could not be used"),
    StoreUnavailable => ("store_unavailable", 503, "the store could not be used"),
    RealmTimeout => ("realm_timeout", 504, "the realm did not answer in time"),
}

impl ErrorCode {
    /// The code for an error status that arrived without one (a framework's
    /// rejection), or `None` when no code of that status exists.
    #[must_use]
    pub fn for_bare_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::Unauthenticated,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            408 => Self::RequestTimeout,
            411 => Self::LengthRequired,
            413 => Self::PayloadTooLarge,
            414 => Self::UriTooLong,
            415 => Self::UnsupportedMediaType,
            422 => Self::ValidationFailed,
            429 => Self::RateLimited,
            500..=599 => Self::InternalError,
            _ => Self::InvalidRequest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_have_a_known_status() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}
