//! Checks on a JWS before its signature and claims are verified (RFC 7515, RFC
//! 8725, OIDC Core §3.1.3.7), for what the OIDC library lets through: every part
//! canonical base64url (no padding, no stray trailing bits: a signature has one
//! encoding), no compression (`zip`), no critical extensions, no key material or
//! key URLs in the header, `typ` absent or `JWT` (an access token, `at+jwt`, is not
//! an ID token), `nbf` not in the future, `azp` naming this client when present.
//! Also the floor on RSA key sizes applied to a realm's key set.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// The smallest RSA modulus accepted for signatures (RFC 7518 §3.3, NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// Why a JWS was refused before verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsProblem {
    #[error("not a compact JWS of three canonical base64url parts")]
    /// Not three base64url parts.
    Encoding,
    #[error("the header or the claims are not a JSON object")]
    /// A part is not JSON.
    NotJson,
    #[error("the header asks for {0}, which is never accepted")]
    /// A header field is refused.
    Header(&'static str),
    #[error("typ {0:?} is not an ID token's")]
    /// The `typ` is not a JWT's.
    Type(String),
    #[error("nbf is in the future")]
    /// `nbf` is in the future.
    NotYetValid,
    #[error("azp names another client")]
    /// `azp` names another party.
    OtherParty,
}

fn part(raw: &str) -> Result<Vec<u8>, JwsProblem> {
    // The engine refuses padding and non-zero trailing bits: one encoding only.
    URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| JwsProblem::Encoding)
}

fn object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, JwsProblem> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwsProblem::NotJson),
    }
}

/// Checks an ID token's shape, header and the claims the library does not check.
pub fn precheck_id_token(
    jwt: &str,
    client_id: &str,
    now: DateTime<Utc>,
    skew: TimeDelta,
) -> Result<(), JwsProblem> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsProblem::Encoding);
    };
    let header = object(&part(header)?)?;
    let claims = object(&part(claims)?)?;
    part(signature)?;
    for (name, what) in [
        ("zip", "compression (zip)"),
        ("crit", "critical extensions (crit)"),
        ("jwk", "an embedded key (jwk)"),
        ("jku", "a key URL (jku)"),
        ("x5u", "a certificate URL (x5u)"),
        ("x5c", "an embedded certificate (x5c)"),
    ] {
        if header.contains_key(name) {
            return Err(JwsProblem::Header(what));
        }
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(other) => {
            return Err(JwsProblem::Type(
                other.as_str().unwrap_or("non-string").to_owned(),
            ));
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_i64().ok_or(JwsProblem::NotYetValid)?;
        if nbf > now.timestamp().saturating_add(skew.num_seconds()) {
            return Err(JwsProblem::NotYetValid);
        }
    }
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(client_id)
    {
        return Err(JwsProblem::OtherParty);
    }
    Ok(())
}

/// Drops RSA keys shorter than [`MIN_RSA_BITS`] from a JWKS document, so a token
/// signed by one finds no key.
pub fn drop_weak_keys(jwks: &mut Value) -> usize {
    let Some(keys) = jwks.get_mut("keys").and_then(Value::as_array_mut) else {
        return 0;
    };
    let before = keys.len();
    keys.retain(|key| {
        if key.get("kty").and_then(Value::as_str) != Some("RSA") {
            return true;
        }
        key.get("n")
            .and_then(Value::as_str)
            .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
            .is_some_and(|n| modulus_bits(&n) >= MIN_RSA_BITS)
    });
    before - keys.len()
}

fn modulus_bits(n: &[u8]) -> usize {
    let Some(first) = n.iter().position(|b| *b != 0) else {
        return 0;
    };
    let leading = n.get(first).map_or(0, |b| b.leading_zeros() as usize);
    (n.len() - first) * 8 - leading
}

#[cfg(test)]
mod tests;
