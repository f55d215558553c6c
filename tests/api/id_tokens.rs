//! The ID-token and JWKS matrix, modelled on the OpenID Foundation's RP tests:
//! a mock realm issues crafted ID tokens; only the well-formed, correctly signed
//! one with the right claims is accepted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::StatusCode;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use authproxy::clock::Clock as _;

use crate::support::{CRM_ORIGIN, TestApp, TestConfig};

const CLIENT: &str = "tokens.localhost";

/// RSA keys made once with the openssl CLI: (kid, private key).
pub fn keys() -> &'static Vec<(String, rsa::RsaPrivateKey)> {
    static KEYS: OnceLock<Vec<(String, rsa::RsaPrivateKey)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (1..=3)
            .map(|i| {
                let pem = std::process::Command::new("openssl")
                    .args(["genrsa", "-traditional", "2048"])
                    .output()
                    .unwrap()
                    .stdout;
                (
                    format!("k{i}"),
                    rsa::RsaPrivateKey::from_pkcs1_pem(std::str::from_utf8(&pem).unwrap()).unwrap(),
                )
            })
            .collect()
    })
}

/// RSA keys too short to trust, made once with the openssl CLI: (512, 1024 bits).
fn short_keys() -> &'static Vec<(String, rsa::RsaPrivateKey)> {
    static KEYS: OnceLock<Vec<(String, rsa::RsaPrivateKey)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [512, 1024]
            .into_iter()
            .map(|bits| {
                let pem = std::process::Command::new("openssl")
                    .args(["genrsa", "-traditional", &bits.to_string()])
                    .output()
                    .unwrap()
                    .stdout;
                (
                    format!("short{bits}"),
                    rsa::RsaPrivateKey::from_pkcs1_pem(std::str::from_utf8(&pem).unwrap()).unwrap(),
                )
            })
            .collect()
    })
}

pub fn jwk(kid: &str, key: &rsa::RsaPrivateKey) -> Value {
    let public = key.to_public_key();
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
           "n": B64.encode(public.n().to_bytes_be()), "e": B64.encode(public.e().to_bytes_be())})
}

fn encode(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

fn rs256(header: &Value, claims: &Value, key: &rsa::RsaPrivateKey) -> String {
    let input = encode(header, claims);
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    format!(
        "{input}.{}",
        B64.encode(signer.sign(input.as_bytes()).to_bytes())
    )
}

/// The realm's P-256 key, derived from a fixed seed (test material only).
fn ec_key() -> &'static p256::ecdsa::SigningKey {
    static KEY: OnceLock<p256::ecdsa::SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        p256::ecdsa::SigningKey::from_slice(&Sha256::digest(b"authproxy ES256 test key")).unwrap()
    })
}

fn ec_jwk(kid: &str) -> Value {
    let point = ec_key().verifying_key().to_sec1_point(false);
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
           "x": B64.encode(point.x().unwrap()), "y": B64.encode(point.y().unwrap())})
}

fn es256(header: &Value, claims: &Value) -> String {
    use p256::ecdsa::signature::Signer as _;
    let input = encode(header, claims);
    let signature: p256::ecdsa::Signature = ec_key().sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let outer: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(Sha256::digest(&inner))
        .collect();
    Sha256::digest(&outer).to_vec()
}

#[derive(Clone)]
struct Mock {
    base: String,
    jwks: Arc<Mutex<Vec<Value>>>,
    id_token: Arc<Mutex<String>>,
    jwks_fetches: Arc<AtomicUsize>,
}

async fn metadata(State(mock): State<Mock>) -> axum::Json<Value> {
    let issuer = format!("{}/realms/tokens", mock.base);
    axum::Json(json!({
        "issuer": issuer, "authorization_endpoint": format!("{issuer}/auth"), "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/certs"), "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn certs(State(mock): State<Mock>) -> axum::Json<Value> {
    mock.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"keys": mock.jwks.lock().unwrap().clone()}))
}

async fn token(State(mock): State<Mock>) -> axum::Json<Value> {
    axum::Json(
        json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": mock.id_token.lock().unwrap().clone()}),
    )
}

/// A realm whose JWKS holds the RSA key `k1` and the P-256 key `e1`.
async fn setup() -> (TestApp, Mock) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mock = Mock {
        base: format!("http://{}", listener.local_addr().unwrap()),
        jwks: Arc::new(Mutex::new(vec![
            jwk(&keys()[0].0, &keys()[0].1),
            ec_jwk("e1"),
            jwk(&short_keys()[0].0, &short_keys()[0].1),
            jwk(&short_keys()[1].0, &short_keys()[1].1),
        ])),
        id_token: Arc::new(Mutex::new(String::new())),
        jwks_fetches: Arc::new(AtomicUsize::new(0)),
    };
    let router = Router::new()
        .route(
            "/realms/tokens/.well-known/openid-configuration",
            get(metadata),
        )
        .route("/realms/tokens/certs", get(certs))
        .route("/realms/tokens/token", post(token))
        .with_state(mock.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = TestApp::start(
        TestConfig::demo()
            .realm("tokens", &format!("{}/realms/tokens", mock.base))
            .client(CLIENT, &["tokens"], &[CRM_ORIGIN])
            .domain("tokens.test", "tokens"),
    )
    .await;
    (app, mock)
}

/// Starts a login for `user` through `client` and comes back from the realm
/// `issuer` with a code, after setting the realm's next ID token (`id_token`) to
/// `craft(claims)`, where the claims are the right ones for this login.
pub async fn return_from_realm(
    app: &TestApp,
    (client, user): (&str, &str),
    issuer: &str,
    id_token: &Mutex<String>,
    craft: impl Fn(Value) -> String,
) -> reqwest::Response {
    let login = app.start_login_for(client, user).await;
    let param = |name: &str| {
        login
            .authorize_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .into_owned()
    };
    let now = app.clock.now().timestamp();
    let claims = json!({"iss": issuer, "sub": "u1", "aud": client, "exp": now + 300, "iat": now, "nonce": param("nonce")});
    *id_token.lock().unwrap() = craft(claims);
    app.browser
        .get(app.url("/authproxy"))
        .query(&[
            ("code", "a-code"),
            ("state", &param("state")),
            ("iss", issuer),
        ])
        .send()
        .await
        .unwrap()
}

/// Logs in with the ID token `craft(claims)` returns; the callback's status and code.
async fn login_with(
    app: &TestApp,
    mock: &Mock,
    craft: impl Fn(Value) -> String,
) -> (StatusCode, String) {
    let issuer = format!("{}/realms/tokens", mock.base);
    let response = return_from_realm(
        app,
        (CLIENT, "u@tokens.test"),
        &issuer,
        &mock.id_token,
        craft,
    )
    .await;
    let status = response.status();
    let body = response.text().await.unwrap();
    let code = body
        .split("<code id=\"code\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or("ok")
        .to_owned();
    (status, code)
}

/// The claims, edited, signed by `k1`.
pub fn signed(mut claims: Value, edit: impl Fn(&mut serde_json::Map<String, Value>)) -> String {
    edit(claims.as_object_mut().unwrap());
    rs256(
        &json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}),
        &claims,
        &keys()[0].1,
    )
}

/// Makes an ID token from the good claims.
type Craft = Box<dyn Fn(Value) -> String>;

/// Every way an ID token's claims can be wrong, by name.
#[expect(clippy::too_many_lines, reason = "one table of cases")]
fn bad_claims(now: i64) -> Vec<(&'static str, Craft)> {
    vec![
        (
            "wrong iss",
            Box::new(|c| {
                signed(c, |m| {
                    m.insert("iss".into(), json!("https://evil.example/realms/tokens"));
                })
            }),
        ),
        (
            "missing iss",
            Box::new(|c| {
                signed(c, |m| {
                    m.remove("iss");
                })
            }),
        ),
        (
            "wrong aud",
            Box::new(|c| {
                signed(c, |m| {
                    m.insert("aud".into(), json!("other.localhost"));
                })
            }),
        ),
        (
            "missing aud",
            Box::new(|c| {
                signed(c, |m| {
                    m.remove("aud");
                })
            }),
        ),
        (
            "missing sub",
            Box::new(|c| {
                signed(c, |m| {
                    m.remove("sub");
                })
            }),
        ),
        (
            "expired",
            Box::new(move |c| {
                signed(c, |m| {
                    m.insert("exp".into(), json!(now - 3600));
                })
            }),
        ),
        (
            "missing exp",
            Box::new(|c| {
                signed(c, |m| {
                    m.remove("exp");
                })
            }),
        ),
        (
            "iat in the future",
            Box::new(move |c| {
                signed(c, |m| {
                    m.insert("iat".into(), json!(now + 3600));
                })
            }),
        ),
        (
            "missing iat",
            Box::new(|c| {
                signed(c, |m| {
                    m.remove("iat");
                })
            }),
        ),
        (
            "wrong nonce",
            Box::new(|c| {
                signed(c, |m| {
                    m.insert("nonce".into(), json!("another"));
                })
            }),
        ),
        (
            "missing nonce",
            Box::new(|c| {
                signed(c, |m| {
                    m.remove("nonce");
                })
            }),
        ),
        (
            "nbf in the future",
            Box::new(move |c| {
                signed(c, |m| {
                    m.insert("nbf".into(), json!(now + 3600));
                })
            }),
        ),
        (
            "azp naming another client",
            Box::new(|c| {
                signed(c, |m| {
                    m.insert("azp".into(), json!("other.localhost"));
                })
            }),
        ),
    ]
}

/// Every way an ID token's signature can be wrong, by name.
#[expect(clippy::too_many_lines, reason = "one table of cases")]
fn bad_signatures() -> Vec<(&'static str, Craft)> {
    vec![
        (
            "bad RS256 signature",
            Box::new(|c| {
                let token = signed(c, |_| {});
                let (head, sig) = token.rsplit_once('.').unwrap();
                let mut bytes = B64.decode(sig).unwrap();
                bytes[10] ^= 0xff;
                format!("{head}.{}", B64.encode(bytes))
            }),
        ),
        (
            "bad ES256 signature",
            Box::new(|c| {
                let token = es256(&json!({"alg": "ES256", "kid": "e1", "typ": "JWT"}), &c);
                let (head, sig) = token.rsplit_once('.').unwrap();
                let mut bytes = B64.decode(sig).unwrap();
                bytes[40] ^= 0x01;
                format!("{head}.{}", B64.encode(bytes))
            }),
        ),
        (
            "ES256 claimed, signed by the RSA key",
            Box::new(|c| {
                let token = rs256(&json!({"alg": "RS256", "kid": "e1"}), &c, &keys()[0].1);
                let (_, sig) = token.rsplit_once('.').unwrap();
                let input = encode(&json!({"alg": "ES256", "kid": "e1", "typ": "JWT"}), &c);
                format!("{input}.{sig}")
            }),
        ),
        (
            "alg none",
            Box::new(|c| format!("{}.", encode(&json!({"alg": "none", "typ": "JWT"}), &c))),
        ),
        (
            "HS256 keyed with the public key",
            Box::new(|c| {
                let input = encode(&json!({"alg": "HS256", "kid": "k1", "typ": "JWT"}), &c);
                let public = jwk("k1", &keys()[0].1).to_string();
                format!(
                    "{input}.{}",
                    B64.encode(hmac_sha256(public.as_bytes(), input.as_bytes()))
                )
            }),
        ),
        (
            "key offered in a jwk header",
            Box::new(|c| {
                rs256(
                    &json!({"alg": "RS256", "kid": "k3", "jwk": jwk("k3", &keys()[2].1)}),
                    &c,
                    &keys()[2].1,
                )
            }),
        ),
        (
            "a zip header (compressed claims)",
            Box::new(|c| {
                rs256(
                    &json!({"alg": "RS256", "kid": "k1", "zip": "DEF"}),
                    &c,
                    &keys()[0].1,
                )
            }),
        ),
        (
            "an access token (typ at+jwt) presented as the ID token",
            Box::new(|c| {
                rs256(
                    &json!({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}),
                    &c,
                    &keys()[0].1,
                )
            }),
        ),
        (
            "a signature with non-canonical trailing bits",
            Box::new(|c| {
                // 256 bytes encode to 342 characters; the last one carries 4 unused bits.
                let token = signed(c, |_| {});
                let (head, sig) = token.rsplit_once('.').unwrap();
                let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let last = sig.chars().last().unwrap();
                let index = alphabet.find(last).unwrap() ^ 1;
                let changed = alphabet.chars().nth(index).unwrap();
                format!("{head}.{}{changed}", &sig[..sig.len() - 1])
            }),
        ),
        (
            "signed by a 512-bit key the realm publishes",
            Box::new(|c| {
                rs256(
                    &json!({"alg": "RS256", "kid": "short512"}),
                    &c,
                    &short_keys()[0].1,
                )
            }),
        ),
        (
            "signed by a 1024-bit key the realm publishes",
            Box::new(|c| {
                rs256(
                    &json!({"alg": "RS256", "kid": "short1024"}),
                    &c,
                    &short_keys()[1].1,
                )
            }),
        ),
        (
            "keys offered by jku",
            Box::new(|c| {
                rs256(
                    &json!({"alg": "RS256", "kid": "k3", "jku": "https://evil.example/jwks"}),
                    &c,
                    &keys()[2].1,
                )
            }),
        ),
    ]
}

#[tokio::test]
async fn every_bad_claim_or_signature_is_refused_and_the_good_token_accepted() {
    let (app, mock) = setup().await;
    let ok = (StatusCode::OK, "ok".to_owned());
    let refused = (StatusCode::BAD_GATEWAY, "invalid_id_token".to_owned());
    assert_eq!(
        login_with(&app, &mock, |c| signed(c, |_| {})).await,
        ok,
        "the well-formed RS256 token"
    );
    let by_e1 = |c: Value| es256(&json!({"alg": "ES256", "kid": "e1", "typ": "JWT"}), &c);
    assert_eq!(
        login_with(&app, &mock, by_e1).await,
        ok,
        "the well-formed ES256 token"
    );
    let now = app.clock.now().timestamp();
    for (name, craft) in bad_claims(now).into_iter().chain(bad_signatures()) {
        assert_eq!(login_with(&app, &mock, craft).await, refused, "{name}");
    }
}

#[tokio::test]
async fn a_token_without_kid_is_accepted_with_one_key_and_refused_when_several_match() {
    let (app, mock) = setup().await;
    let no_kid = |c: Value| rs256(&json!({"alg": "RS256", "typ": "JWT"}), &c, &keys()[0].1);
    assert_eq!(
        login_with(&app, &mock, no_kid).await.0,
        StatusCode::OK,
        "one RSA key (beside an EC key): unambiguous"
    );
    // With several keys fit for RS256 the broker does not guess which one signed: refused.
    mock.jwks
        .lock()
        .unwrap()
        .push(jwk(&keys()[1].0, &keys()[1].1));
    app.clock.advance(chrono::TimeDelta::minutes(11)); // past the keys' freshness
    assert_eq!(
        login_with(&app, &mock, no_kid).await,
        (StatusCode::BAD_GATEWAY, "invalid_id_token".to_owned())
    );
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_once_and_refetches_are_throttled() {
    let (app, mock) = setup().await;
    assert_eq!(
        login_with(&app, &mock, |c| signed(c, |_| {})).await.0,
        StatusCode::OK
    );
    let fetches = mock.jwks_fetches.load(Ordering::SeqCst);
    // The realm rotates to k2: the unknown kid triggers one refetch, then it verifies.
    mock.jwks
        .lock()
        .unwrap()
        .push(jwk(&keys()[1].0, &keys()[1].1));
    let by_k2 = |c: Value| rs256(&json!({"alg": "RS256", "kid": "k2"}), &c, &keys()[1].1);
    assert_eq!(login_with(&app, &mock, by_k2).await.0, StatusCode::OK);
    assert_eq!(mock.jwks_fetches.load(Ordering::SeqCst), fetches + 1);
    // Another unknown kid right away: no second refetch within the throttle window.
    let by_k3 = |c: Value| rs256(&json!({"alg": "RS256", "kid": "k3"}), &c, &keys()[2].1);
    assert_eq!(
        login_with(&app, &mock, by_k3).await.0,
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        mock.jwks_fetches.load(Ordering::SeqCst),
        fetches + 1,
        "throttled"
    );
}
