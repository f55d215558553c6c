//! One-time tickets: what an embed URL, a join URL or a ticket-landing link
//! carries in its fragment (`#authproxy_ticket=`) instead of a bearer token or
//! personal data. 256 random bits, kept only under their hash with the user
//! sealed beside it, valid 120 s and taken once (atomically, across replicas):
//! a ticket forwarded by a frame is worth one login at most, and then the
//! rightful frame's redemption fails visibly. Login links keep their user the
//! same way ([`keep_sealed`], [`take_sealed`]).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::audit::Audit;
use super::vouched::HostUser;
use crate::app::AppState;
use crate::crypto;
use crate::domain::{ClientId, ResourceRef};
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::http::refused::Refused;
use crate::store::OneTime;
use crate::store::resources::ResourceStore as _;
use crate::store::tenants::TenantStore as _;

/// How long a ticket may wait for its redemption.
pub const TICKET_LIFETIME: TimeDelta = TimeDelta::seconds(120);
/// The fragment parameter that carries a ticket.
pub const FRAGMENT: &str = "authproxy_ticket";

fn store_key(ticket: &str) -> String {
    format!("ticket\0{ticket}")
}

/// Keeps `value` sealed (with `key` as associated data) under the hash of `key`
/// until `until`, to be taken once.
pub async fn keep_sealed(
    app: &AppState,
    key: &str,
    value: &impl Serialize,
    until: DateTime<Utc>,
) -> Result<(), WebError> {
    let plain = serde_json::to_vec(value).map_err(WebError::internal)?;
    let sealed = app.sealer.seal(key.as_bytes(), &plain)?;
    if !app
        .logins
        .put_once(key, &sealed, until, app.clock.now())
        .await?
    {
        return Err(WebError::internal(
            "a fresh one-time value collided with a stored one",
        ));
    }
    Ok(())
}

/// What taking a sealed one-time value found.
pub enum Taken<T> {
    /// The value, now used up.
    Value(T),
    /// Someone took it already.
    Used,
    /// It expired unused.
    Expired,
    /// Never made, forgotten, or not readable.
    Unknown,
}

/// Takes the value kept under `key`, once.
pub async fn take_sealed<T: DeserializeOwned>(
    app: &AppState,
    key: &str,
) -> Result<Taken<T>, WebError> {
    Ok(match app.logins.take_once(key, app.clock.now()).await? {
        OneTime::Taken(sealed) => {
            open_sealed(app, key, &sealed).map_or(Taken::Unknown, Taken::Value)
        }
        OneTime::Used => Taken::Used,
        OneTime::Expired => Taken::Expired,
        OneTime::Unknown => Taken::Unknown,
    })
}

/// The value sealed under `key`, when it opens and reads.
fn open_sealed<T: DeserializeOwned>(app: &AppState, key: &str, sealed: &[u8]) -> Option<T> {
    app.sealer
        .open(key.as_bytes(), sealed)
        .ok()
        .and_then(|plain| serde_json::from_slice(&plain).ok())
}

/// A new ticket for `user`, and when it expires.
pub async fn mint(app: &AppState, user: &HostUser) -> Result<(String, DateTime<Utc>), WebError> {
    let ticket = crypto::random_token()?;
    let until = app.clock.now() + TICKET_LIFETIME;
    keep_sealed(app, &store_key(&ticket), user, until).await?;
    Ok((ticket, until))
}

/// Whether `value` has the shape of a ticket or a link: 256 bits, base64url.
#[must_use]
pub fn is_one_time_value(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `url` with the ticket in its fragment.
#[must_use]
pub fn with_ticket(url: &str, ticket: &str) -> String {
    format!("{url}#{FRAGMENT}={ticket}")
}

/// Takes `ticket` for the frame of `resource` of `client`: the user it was made
/// for, or the refusal (`invalid_ticket`, the reason in the audit row). A ticket
/// for a resource is used up even when redeemed in another resource's frame; a
/// page of a client the ticket's tenant does not use is refused without using
/// it up (its rightful frame still can).
pub async fn redeem(
    app: &AppState,
    ticket: &str,
    (client, resource): (&ClientId, Option<&ResourceRef>),
    audit: &Audit,
) -> Result<HostUser, Refused> {
    let refuse = |reason: &str| audit.refuse(ErrorCode::InvalidTicket, reason);
    if !is_one_time_value(ticket) {
        return Err(refuse("ticket_malformed"));
    }
    let peeked = app
        .logins
        .peek_once(&store_key(ticket), app.clock.now())
        .await?
        .and_then(|sealed| open_sealed::<HostUser>(app, &store_key(ticket), &sealed));
    if let Some(user) = peeked {
        let uses_client = app
            .durable
            .tenant(&user.tenant)
            .await?
            .is_some_and(|t| t.clients.contains(client));
        if !uses_client {
            audit.subject(format!("{}/{}", user.tenant, user.sub));
            return Err(refuse("client_not_allowed"));
        }
    }
    let user = match take_sealed::<HostUser>(app, &store_key(ticket)).await? {
        Taken::Value(user) => user,
        Taken::Used => return Err(refuse("ticket_used")),
        Taken::Expired => return Err(refuse("ticket_expired")),
        Taken::Unknown => return Err(refuse("ticket_unknown")),
    };
    audit.subject(format!("{}/{}", user.tenant, user.sub));
    if user.resource.is_some() && user.resource.as_ref() != resource {
        return Err(refuse("resource_mismatch"));
    }
    if let Some(registration) = &user.registration
        && app.durable.registration(registration).await?.is_none()
    {
        return Err(refuse("registration_revoked"));
    }
    Ok(user)
}
