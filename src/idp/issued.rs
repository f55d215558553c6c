//! What the broker checks of a token a realm has just issued it, before it
//! hands the token on: impersonation and embedded sessions alike.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;

use super::ExchangedToken;

/// Leeway between the realm's clock and ours.
const CLOCK_SKEW_SECS: i64 = 60;

/// Checks the token the realm issued against the request: it is for the resolved
/// user, was issued to the broker acting for that user, has the audience asked
/// for, and lives no longer than `expires_in` says (which the policy then bounds).
///
/// The acting party: Keycloak's legacy exchange issues the token to the client
/// that asked (`azp` = the broker's client) and adds no `act`; RFC 8693 names it
/// in `act` (Keycloak's impersonator session-note mappers in `impersonator`). A
/// token issued to another party, or naming no acting party at all, is refused.
pub fn check_issued(
    token: &ExchangedToken,
    expected: &Expected<'_>,
    now: DateTime<chrono::Utc>,
) -> Result<(), &'static str> {
    let claims = claims_of(&token.access_token).ok_or("not a JWT")?;
    if claims.get("sub").and_then(serde_json::Value::as_str) != Some(expected.subject) {
        return Err("another subject");
    }
    let named_actor = ["act", "impersonator"]
        .iter()
        .any(|name| claims.get(*name).is_some_and(serde_json::Value::is_object));
    match claims.get("azp").and_then(serde_json::Value::as_str) {
        Some(azp) if azp != expected.broker_client => return Err("issued to another party (azp)"),
        Some(_) => {}
        None if named_actor => {}
        None => return Err("no acting party (azp or act)"),
    }
    if let Some(audience) = expected.audience {
        let matches = match claims.get("aud") {
            Some(serde_json::Value::String(aud)) => aud == audience,
            Some(serde_json::Value::Array(auds)) => {
                auds.iter().any(|a| a.as_str() == Some(audience))
            }
            _ => false,
        };
        if !matches {
            return Err("another audience");
        }
    }
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .ok_or("no exp")?;
    let promised = i64::try_from(token.expires_in).map_err(|_| "expires_in out of range")?;
    if exp.saturating_sub(now.timestamp()) > promised.saturating_add(CLOCK_SKEW_SECS) {
        return Err("exp beyond expires_in");
    }
    Ok(())
}

/// What the issued token must say.
pub struct Expected<'a> {
    /// The realm user's id.
    pub subject: &'a str,
    /// The broker's client in the realm, which asked for the token.
    pub broker_client: &'a str,
    /// The audience asked for, if any.
    pub audience: Option<&'a str>,
}

/// The claims of a JWT, read without verification: the realm just issued it to
/// the broker over its token endpoint.
#[must_use]
pub fn claims_of(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}
