//! The benchmark's loopback realm: realm metadata, a JWKS with one P-256 key, and
//! a token endpoint that answers every code with an ES256 ID token (the benchmark
//! sends each login's nonce as its code, so every token fits its login), every
//! client-credentials request with a service token, and every impersonation
//! exchange with an access token of the requested subject; and the Admin REST user
//! lookup by username, which finds everyone, and user creation, which always
//! succeeds (the embed benchmark's users).
//!
//! `cargo run --release --example bench_idp -- 127.0.0.1:18091`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use authproxy::clock::{Clock as _, SystemClock};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

struct Realm {
    issuer: String,
    key: SigningKey,
}

async fn metadata(State(realm): State<Arc<Realm>>) -> Json<Value> {
    let issuer = &realm.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
        "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn certs(State(realm): State<Arc<Realm>>) -> Json<Value> {
    let point = realm.key.verifying_key().to_sec1_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Json(json!({"keys": []}));
    };
    Json(
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "bench", "use": "sig",
                          "alg": "ES256", "x": B64.encode(x), "y": B64.encode(y)}]}),
    )
}

fn sign(realm: &Realm, claims: &Value) -> String {
    let header = json!({"alg": "ES256", "kid": "bench", "typ": "JWT"});
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature: p256::ecdsa::Signature = realm.key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}

async fn token(State(realm): State<Arc<Realm>>, body: axum::body::Bytes) -> Json<Value> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let now = SystemClock.now().timestamp();
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    match field("grant_type").as_str() {
        "client_credentials" => {
            return Json(
                json!({"access_token": "bench-service-token", "token_type": "Bearer", "expires_in": 300}),
            );
        }
        "urn:ietf:params:oauth:grant-type:token-exchange" => {
            // The broker's client authenticates with Basic; `azp` names it.
            let claims = json!({"iss": realm.issuer, "sub": field("requested_subject"), "azp": "authproxy-broker",
                                "exp": now + 300, "iat": now, "typ": "Bearer"});
            return Json(
                json!({"access_token": sign(&realm, &claims), "token_type": "Bearer", "expires_in": 300,
                               "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}),
            );
        }
        _ => {}
    }
    let claims = json!({"iss": realm.issuer, "sub": "bench-user", "aud": field("client_id"),
                        "exp": now + 300, "iat": now, "nonce": field("code"),
                        "preferred_username": "user@bench.test"});
    Json(json!({
        "access_token": "bench-access-token", "token_type": "Bearer", "expires_in": 300,
        "id_token": sign(&realm, &claims),
    }))
}

/// `POST /admin/realms/bench/users`: created (every name exists already, see
/// `users`).
async fn create_user() -> axum::http::StatusCode {
    axum::http::StatusCode::CREATED
}

/// `GET /admin/realms/bench/users?username=X&exact=true`: a user of that name
/// (its id is the name); by email, nobody.
async fn users(
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Json<Value> {
    match query.get("username") {
        Some(name) => Json(json!([{"id": name, "username": name}])),
        None => Json(json!([])),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 18091)));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let key = SigningKey::from_slice(&Sha256::digest(b"authproxy bench realm key"))
        .map_err(std::io::Error::other)?;
    let realm = Arc::new(Realm {
        issuer: format!("http://{addr}/realms/bench"),
        key,
    });
    let app = Router::new()
        .route(
            "/realms/bench/.well-known/openid-configuration",
            get(metadata),
        )
        .route("/realms/bench/protocol/openid-connect/certs", get(certs))
        .route("/realms/bench/protocol/openid-connect/token", post(token))
        .route("/admin/realms/bench/users", get(users).post(create_user))
        .with_state(realm);
    println!("bench realm listening on {addr}");
    axum::serve(listener, app).await
}
