//! Reading a host token's claims: each of its type and size, the `sub` outside
//! the broker's namespaces, the email under the one email rule of every way in,
//! the picture an `https:` URL.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::rejection::Rejection;
use crate::auth::jwt;
use crate::domain::{Email, HostUserId, Username};

pub(super) fn text(
    claims: &Map<String, Value>,
    name: &'static str,
    max: usize,
) -> Result<Option<String>, Rejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s))
            if !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control) =>
        {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(Rejection::Claim(name)),
    }
}

/// The `email` claim, under the registrations' email rule for every way in
/// (look-alikes refused).
pub(super) fn email_claim(claims: &Map<String, Value>) -> Result<Option<Email>, Rejection> {
    text(claims, "email", 320)?
        .map(|e| {
            Email::parse(&e)
                .ok()
                .filter(|_| Username::parse(&e).is_ok())
                .ok_or(Rejection::Claim("email"))
        })
        .transpose()
}

pub(super) fn required_text(
    claims: &Map<String, Value>,
    name: &'static str,
    max: usize,
) -> Result<String, Rejection> {
    text(claims, name, max)?.ok_or(Rejection::Claim(name))
}

pub(super) fn time(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, Rejection> {
    jwt::numeric_date(claims, name).map_err(Rejection::Claim)
}

/// The `sub`, never in the broker's own namespaces (registrants, third-party
/// identities).
pub(super) fn host_sub(claims: &Map<String, Value>) -> Result<HostUserId, Rejection> {
    match claims.get("sub") {
        Some(Value::String(sub)) => HostUserId::parse(sub).map_err(|_| Rejection::Claim("sub")),
        _ => Err(Rejection::Claim("sub")),
    }
}

pub(super) fn required_time(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<DateTime<Utc>, Rejection> {
    time(claims, name)?.ok_or(Rejection::Claim(name))
}

pub(super) fn picture(claims: &Map<String, Value>) -> Result<Option<String>, Rejection> {
    let Some(raw) = text(claims, "picture", 2048)? else {
        return Ok(None);
    };
    match url::Url::parse(&raw) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() => Ok(Some(raw)),
        _ => Err(Rejection::Claim("picture")),
    }
}
