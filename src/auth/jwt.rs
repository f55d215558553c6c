//! The strict reading of an inbound compact JWS (RFC 7515, RFC 8725): a bounded
//! size, three canonical base64url parts, a header of only `alg`, `kid` and `typ`
//! (so no `jwk`, `jku`, `x5u`, `x5c`, `crit` or `zip`), JSON without duplicate
//! keys at any depth, and an explicit `typ`. Signature and claims are checked by
//! the caller, with the key it chose.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The largest token read: 8 KiB.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token's shape is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeProblem {
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// Not three canonical base64url parts of JSON objects.
    Malformed,
    /// A JSON object repeats a key.
    DuplicateKey,
    /// The header has a member other than `alg`, `kid` and `typ`.
    HeaderNotAllowed(String),
    /// `alg` is `none`.
    AlgNone,
    /// `typ` is missing or not the one expected.
    WrongType,
    /// `kid` is missing or not a string.
    NoKid,
}

impl ShapeProblem {
    /// The stable reason recorded in the audit trail.
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Self::TooLarge => "too_large".into(),
            Self::Malformed => "malformed".into(),
            Self::DuplicateKey => "duplicate_key".into(),
            Self::HeaderNotAllowed(name) => format!("header_not_allowed:{name}"),
            Self::AlgNone => "alg_none".into(),
            Self::WrongType => "wrong_type".into(),
            Self::NoKid => "no_kid".into(),
        }
    }
}

/// A token whose shape passed: its header fields, claims and the signed bytes.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// `alg`, as the token says (the key decides whether it is accepted).
    pub alg: String,
    /// `kid`.
    pub kid: String,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `header.claims`, the signing input.
    pub signing_input: &'a str,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// A JSON value read with every object's keys unique.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.insert(key, value).is_some() {
                return Err(de::Error::custom(DUPLICATE));
            }
        }
        Ok(Strict(Value::Object(object)))
    }
}

const DUPLICATE: &str = "duplicate key";

/// A JSON object whose keys are unique at every depth.
pub fn strict_object(bytes: &[u8]) -> Result<Map<String, Value>, ShapeProblem> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Err(e) if e.to_string().starts_with(DUPLICATE) => Err(ShapeProblem::DuplicateKey),
        Ok(_) | Err(_) => Err(ShapeProblem::Malformed),
    }
}

/// The claims of a compact JWS, read **without verification**: only to choose
/// where a token goes (which realm, whether a refusal may say why), never to
/// decide who someone is. `None` when the payload is not a base64url JSON value.
#[must_use]
pub fn unverified_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn part(raw: &str) -> Result<Vec<u8>, ShapeProblem> {
    // The engine refuses padding and stray trailing bits: one encoding only.
    URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| ShapeProblem::Malformed)
}

/// Reads a token of type `typ` (compared case-insensitively, RFC 7515 §4.1.9).
pub fn parse<'a>(token: &'a str, typ: &str) -> Result<Parsed<'a>, ShapeProblem> {
    let parsed = read(token, |found| {
        found.is_some_and(|found| found.eq_ignore_ascii_case(typ))
    })?;
    if parsed.kid.is_empty() {
        return Err(ShapeProblem::NoKid);
    }
    Ok(parsed)
}

/// Reads a token an identity platform issued (an ID token or a JWT access
/// token): `typ` absent, `JWT` or `at+jwt`; `kid` may be absent (empty), for
/// a platform that signs with one shared key.
pub fn parse_issued(token: &str) -> Result<Parsed<'_>, ShapeProblem> {
    read(token, |found| {
        found.is_none_or(|t| t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("at+jwt"))
    })
}

fn read(token: &str, typ_ok: impl Fn(Option<&str>) -> bool) -> Result<Parsed<'_>, ShapeProblem> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ShapeProblem::TooLarge);
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(ShapeProblem::Malformed)?;
    let (header, claims) = signing_input
        .split_once('.')
        .ok_or(ShapeProblem::Malformed)?;
    let header = strict_object(&part(header)?)?;
    let claims = strict_object(&part(claims)?)?;
    let signature = part(signature)?;
    if let Some(name) = header
        .keys()
        .find(|k| !matches!(k.as_str(), "alg" | "kid" | "typ"))
    {
        return Err(ShapeProblem::HeaderNotAllowed(name.clone()));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(ShapeProblem::Malformed)?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(ShapeProblem::AlgNone);
    }
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(found)) => Some(found.as_str()),
        Some(_) => return Err(ShapeProblem::WrongType),
    };
    if !typ_ok(typ) {
        return Err(ShapeProblem::WrongType);
    }
    let kid = match header.get("kid") {
        None => "",
        Some(Value::String(kid)) if !kid.is_empty() => kid.as_str(),
        Some(_) => return Err(ShapeProblem::NoKid),
    };
    Ok(Parsed {
        alg: alg.to_owned(),
        kid: kid.to_owned(),
        claims,
        signing_input,
        signature,
    })
}

/// The NumericDate claim `name` (RFC 7519 §2: whole seconds since the epoch),
/// if present; `Err(name)` when it is not a number of seconds a date can hold.
pub fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, &'static str> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
            .map(Some)
            .ok_or(name),
        Some(_) => Err(name),
    }
}

#[cfg(test)]
mod tests;
