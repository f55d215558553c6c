//! Embedded SSO from the host's backend: host-signed and minted host tokens, the
//! one strict verifier's refusals (each audited with its reason, none creating a
//! user), single use under concurrency, sub-tenants, sessions ended by the host,
//! profile updates, and the sandbox's explanation.

use authproxy::crypto::jws::sign_es256;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::support::{
    AdminApi, CLIENT_ID, CRM_ORIGIN, TestApp, idp, jwt_claims, verify_against_realm_keys,
};

/// A broker with tenant `acme` (sandbox, users created on demand) and its
/// generated ES256 key `k1`.
pub(crate) struct Host {
    pub(crate) app: TestApp,
    pub(crate) admin: AdminApi,
    /// The private scalar of `acme`'s key `k1`.
    key: Vec<u8>,
}

fn private_of(view: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(view["private_jwk"]["d"].as_str().unwrap())
        .unwrap()
}

pub(crate) async fn put_tenant(admin: &AdminApi, id: &str, body: Value) {
    let response = admin
        .send_json(Method::PUT, &format!("/admin/api/tenants/{id}"), &body)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
}

pub(crate) async fn generate_key(
    admin: &AdminApi,
    tenant: &str,
    kid: &str,
    for_subtenants: bool,
) -> Vec<u8> {
    let response = admin
        .send_json(
            Method::POST,
            &format!("/admin/api/tenants/{tenant}/keys"),
            &json!({"kid": kid, "generate": true, "for_subtenants": for_subtenants}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["alg"], "ES256");
    assert!(
        view["jwk"].get("d").is_none(),
        "the public JWK holds no private part"
    );
    private_of(&view)
}

pub(crate) fn tenant(environment: &str, provisioning: &str) -> Value {
    json!({"environment": environment, "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": provisioning})
}

impl Host {
    pub(crate) async fn start() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.admin();
        put_tenant(&admin, "acme", tenant("sandbox", "create")).await;
        let key = generate_key(&admin, "acme", "k1", true).await;
        Self { app, admin, key }
    }

    fn audience(&self, environment: &str) -> String {
        format!("{}/embed/{environment}", self.app.base_url)
    }

    /// Claims of a good token of `acme` for user `sub`.
    pub(crate) fn claims(&self, sub: &str) -> Map<String, Value> {
        let now = now_secs(&self.app);
        json!({
            "iss": "acme", "aud": self.audience("sandbox"), "sub": sub, "tenant": "acme",
            "iat": now, "exp": now + 120, "jti": format!("jti-{sub}-{now}-{}", rand_suffix()),
            "name": "Ada Host", "email": "ada@host.example", "email_verified": true,
            "picture": "https://host.example/ada.png",
        })
        .as_object()
        .unwrap()
        .clone()
    }

    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> String {
        sign_with(&self.key, "k1", claims)
    }

    async fn redeem(&self, token: &str) -> reqwest::Response {
        redeem(&self.app, token).await
    }
}

fn now_secs(app: &TestApp) -> i64 {
    use authproxy::clock::Clock as _;
    app.clock.now().timestamp()
}

pub(crate) fn rand_suffix() -> String {
    authproxy::crypto::random_token().unwrap()[..8].to_owned()
}

pub(crate) fn sign_with(key: &[u8], kid: &str, claims: &Map<String, Value>) -> String {
    sign_es256(
        key,
        &json!({"alg": "ES256", "typ": "authproxy-host+jwt", "kid": kid}),
        &Value::Object(claims.clone()),
    )
    .unwrap()
}

async fn redeem(app: &TestApp, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/embed/redeem"))
        .header("origin", CRM_ORIGIN)
        .json(&json!({"client_id": CLIENT_ID, "token": token}))
        .send()
        .await
        .unwrap()
}

/// The audit row of a request id.
pub(crate) async fn audit_row(admin: &AdminApi, request_id: &str) -> Value {
    admin
        .audit()
        .await
        .into_iter()
        .find(|row| row["request_id"] == request_id)
        .unwrap_or_else(|| panic!("no audit row for {request_id}"))
}

/// `token` with a signature of the right length that no key made.
fn forged_signature(token: &str) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]))
}

/// Asserts the browser learns `invalid_token` and a debug id only (and, for a
/// sandbox tenant, the reason the audit row holds), and returns that reason.
pub(crate) async fn refused_reason(admin: &AdminApi, response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    let keys: Vec<&String> = body
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "reason")
        .collect();
    assert_eq!(
        keys,
        ["debug_id", "error"],
        "nothing more than the code, the debug id and a sandbox's reason"
    );
    assert_eq!(body["error"], "invalid_token");
    let row = audit_row(admin, body["debug_id"].as_str().unwrap()).await;
    assert_eq!(row["outcome"], "denied");
    let audited = row["reason"].as_str().unwrap().to_owned();
    if let Some(said) = body.get("reason") {
        assert_eq!(
            said,
            &Value::from(audited.clone()),
            "the sandbox says the audited reason"
        );
    }
    audited
}

#[tokio::test]
async fn a_sandbox_tenants_refusal_tells_the_app_why_and_a_production_one_never_does() {
    let host = Host::start().await;
    // The sandbox (acme): a forged token's answer says why.
    let forged = forged_signature(&host.sign(&host.claims("tries")));
    let body: Value = host.redeem(&forged).await.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["reason"], "bad_signature");
    // Production: the code and the debug id, nothing more, even when the token
    // claims the sandbox's audience.
    put_tenant(&host.admin, "prod-co", tenant("production", "create")).await;
    let key = generate_key(&host.admin, "prod-co", "p1", false).await;
    for environment in ["production", "sandbox"] {
        let mut claims = host.claims("prod-user");
        claims.insert("iss".into(), "prod-co".into());
        claims.insert("tenant".into(), "prod-co".into());
        claims.insert("aud".into(), host.audience(environment).into());
        let forged = forged_signature(&sign_with(&key, "p1", &claims));
        let body: Value = host.redeem(&forged).await.json().await.unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["debug_id", "error"], "{environment}: {body}");
    }
}

/// The realm users whose username is `username` (Admin REST, as the broker).
async fn realm_users(username: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let bearer = crate::support::idp::broker_token(&http, "tenant-a").await;
    http.get(format!("{}/admin/realms/tenant-a/users", idp().base_url))
        .bearer_auth(&bearer)
        .query(&[("username", username), ("exact", "true")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn managed_username(sub: &str) -> String {
    authproxy::flows::embed::managed_username(
        &authproxy::domain::TenantId::parse("acme").unwrap(),
        sub,
    )
}

#[tokio::test]
async fn a_host_signed_token_logs_the_user_in_once_with_a_session_and_keycloak_tokens() {
    let host = Host::start().await;
    let token = host.sign(&host.claims("ada"));
    let response = host.redeem(&token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        CRM_ORIGIN
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["name"], "Ada Host");
    assert_eq!(body["tenant"], "acme");

    // The session token verifies against the published keys, and says its purpose.
    let session = body["session_token"].as_str().unwrap();
    let parts: Vec<&str> = session.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], "authproxy-session+jwt");
    let jwks = host.app.get_json("/.well-known/jwks.json").await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap();
    let point = [
        vec![4u8],
        URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap(),
        URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap(),
    ]
    .concat();
    assert!(authproxy::crypto::jws::verify_es256(
        &point,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &URL_SAFE_NO_PAD.decode(parts[2]).unwrap()
    ));
    let claims = jwt_claims(session);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], "ada");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 600);

    // Keycloak tokens of the user authproxy created in the realm, with no credentials.
    let access = body["keycloak"]["access_token"].as_str().unwrap();
    verify_against_realm_keys(access, "tenant-a").await;
    let users = realm_users(&managed_username("ada")).await;
    assert_eq!(users.len(), 1);
    assert_eq!(jwt_claims(access)["sub"], users[0]["id"]);
    assert_eq!(body["keycloak"]["authority"], idp().authority("tenant-a"));

    // The same token again: refused, as a replay.
    assert_eq!(
        refused_reason(&host.admin, host.redeem(&token).await).await,
        "replayed_jti"
    );
    // A second token for the same user finds the user made the first time.
    assert_eq!(
        host.redeem(&host.sign(&host.claims("ada"))).await.status(),
        StatusCode::OK
    );
    assert_eq!(realm_users(&managed_username("ada")).await.len(), 1);
}

#[tokio::test]
async fn a_replayed_or_expired_token_is_refused_before_its_signature_is_checked() {
    let host = Host::start().await;
    let token = host.sign(&host.claims("early"));
    let r = host.redeem(&token).await;
    let st = r.status();
    assert_eq!(st, StatusCode::OK, "{}", r.text().await.unwrap());
    // The used jti refuses it before any signature check: no verification is
    // spent on a replay, whatever its signature.
    assert_eq!(
        refused_reason(&host.admin, host.redeem(&forged_signature(&token)).await).await,
        "replayed_jti"
    );
    // An expired token is refused the same way; an unused one is still checked.
    let now = now_secs(&host.app);
    let mut expired = host.claims("early");
    expired.insert("iat".into(), (now - 400).into());
    expired.insert("exp".into(), (now - 200).into());
    assert_eq!(
        refused_reason(
            &host.admin,
            host.redeem(&forged_signature(&host.sign(&expired))).await
        )
        .await,
        "expired"
    );
    let fresh = forged_signature(&host.sign(&host.claims("early")));
    assert_eq!(
        refused_reason(&host.admin, host.redeem(&fresh).await).await,
        "bad_signature"
    );
    // A forged token marks nothing: its jti stays usable by the real token.
    let mut claims = host.claims("early");
    claims.insert("jti".into(), format!("jti-{}", rand_suffix()).into());
    let real = host.sign(&claims);
    assert_eq!(
        refused_reason(&host.admin, host.redeem(&forged_signature(&real)).await).await,
        "bad_signature"
    );
    assert_eq!(host.redeem(&real).await.status(), StatusCode::OK);
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one table of attacks")]
async fn every_forged_or_misused_token_is_refused_audited_and_creates_no_user() {
    let host = Host::start().await;
    put_tenant(&host.admin, "globex", tenant("sandbox", "create")).await;
    let globex_key = generate_key(&host.admin, "globex", "g1", false).await;
    put_tenant(&host.admin, "prod-co", tenant("production", "create")).await;
    // A sub-tenant of acme that does not grant its parent.
    put_tenant(&host.admin, "acme-east", json!({"environment": "sandbox", "parent": "acme", "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": "create"})).await;
    let revoked = generate_key(&host.admin, "acme", "old", false).await;
    let response = host
        .admin
        .request(Method::DELETE, "/admin/api/tenants/acme/keys/old")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let victim = "victim";
    let good = host.claims(victim);
    let with = |edit: &dyn Fn(&mut Map<String, Value>)| {
        let mut claims = good.clone();
        claims.insert("jti".into(), format!("jti-{}", rand_suffix()).into());
        edit(&mut claims);
        claims
    };
    let raw = |header: Value, claims: &Map<String, Value>, signature: &[u8]| {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        )
    };
    let signed_header = |header: Value, claims: &Map<String, Value>| {
        sign_es256(&host.key, &header, &Value::Object(claims.clone())).unwrap()
    };
    let now = now_secs(&host.app);
    // HS256 "signed" with the public key's bytes, the classic confusion.
    let public = host
        .admin
        .get_json::<Value>("/admin/api/tenants/acme/keys")
        .await[0]["jwk"]
        .clone();
    let hs256 = {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(
                json!({"alg": "HS256", "typ": "authproxy-host+jwt", "kid": "k1"}).to_string()
            ),
            URL_SAFE_NO_PAD.encode(Value::Object(with(&|_| {})).to_string())
        );
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, public.to_string().as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key, input.as_bytes()))
        )
    };
    let duplicate = {
        let claims = Value::Object(with(&|_| {})).to_string();
        let claims = claims.replacen('{', "{\"sub\":\"someone-else\",", 1);
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(
                json!({"alg": "ES256", "typ": "authproxy-host+jwt", "kid": "k1"}).to_string()
            ),
            URL_SAFE_NO_PAD.encode(claims)
        );
        // Signed properly: only the duplicate key is wrong.
        let signature = {
            use p256::ecdsa::signature::Signer as _;
            let key = p256::ecdsa::SigningKey::from_slice(&host.key).unwrap();
            let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
            sig.to_bytes().to_vec()
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    };
    let redeemed = host.redeem(&host.sign(&host.claims("someone"))).await;
    let session = redeemed.json::<Value>().await.unwrap()["session_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            raw(
                json!({"alg": "none", "typ": "authproxy-host+jwt", "kid": "k1"}),
                &with(&|_| {}),
                b"",
            ),
            "alg_none",
        ),
        ("HS256 with the public key", hs256, "alg_mismatch"),
        (
            "another tenant's kid",
            sign_with(&globex_key, "g1", &with(&|_| {})),
            "unknown_key",
        ),
        (
            "jku header",
            signed_header(
                json!({"alg": "ES256", "typ": "authproxy-host+jwt", "kid": "k1", "jku": "https://evil.example/jwks"}),
                &with(&|_| {}),
            ),
            "header_not_allowed:jku",
        ),
        (
            "jwk header",
            signed_header(
                json!({"alg": "ES256", "typ": "authproxy-host+jwt", "kid": "k1", "jwk": public.clone()}),
                &with(&|_| {}),
            ),
            "header_not_allowed:jwk",
        ),
        (
            "typ missing",
            signed_header(json!({"alg": "ES256", "kid": "k1"}), &with(&|_| {})),
            "wrong_type",
        ),
        (
            "typ of an ID token",
            signed_header(
                json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
                &with(&|_| {}),
            ),
            "wrong_type",
        ),
        ("our own session token", session, "wrong_type"),
        (
            "expired",
            host.sign(&with(&|c| {
                c.insert("iat".into(), (now - 300).into());
                c.insert("exp".into(), (now - 120).into());
            })),
            "expired",
        ),
        (
            "iat in the future",
            host.sign(&with(&|c| {
                c.insert("iat".into(), (now + 120).into());
                c.insert("exp".into(), (now + 240).into());
            })),
            "not_yet_valid",
        ),
        (
            "nbf in the future",
            host.sign(&with(&|c| {
                c.insert("nbf".into(), (now + 120).into());
            })),
            "not_yet_valid",
        ),
        (
            "lifetime over 5 minutes",
            host.sign(&with(&|c| {
                c.insert("exp".into(), (now + 301).into());
            })),
            "lifetime_too_long",
        ),
        (
            "no jti",
            host.sign(&with(&|c| {
                c.remove("jti");
            })),
            "claim:jti",
        ),
        (
            "a 9 KiB token",
            host.sign(&with(&|c| {
                c.insert("pad".into(), "x".repeat(9 * 1024).into());
            })),
            "too_large",
        ),
        (
            "email_verified as a string",
            host.sign(&with(&|c| {
                c.insert("email_verified".into(), "true".into());
            })),
            "claim:email_verified",
        ),
        (
            "a javascript: picture",
            host.sign(&with(&|c| {
                c.insert("picture".into(), "javascript:alert(1)".into());
            })),
            "claim:picture",
        ),
        (
            "a production audience for a sandbox tenant",
            host.sign(&with(&|c| {
                c.insert("aud".into(), host.audience("production").into());
            })),
            "wrong_environment",
        ),
        (
            "a sibling tenant",
            host.sign(&with(&|c| {
                c.insert("tenant".into(), "globex".into());
            })),
            "other_tenant",
        ),
        (
            "a production tenant with a sandbox key",
            host.sign(&with(&|c| {
                c.insert("tenant".into(), "prod-co".into());
                c.insert("aud".into(), host.audience("production").into());
            })),
            "other_tenant",
        ),
        (
            "a parent key without the grant",
            host.sign(&with(&|c| {
                c.insert("tenant".into(), "acme-east".into());
            })),
            "parent_not_granted",
        ),
        (
            "a revoked key",
            sign_with(&revoked, "old", &with(&|_| {})),
            "revoked_key",
        ),
        ("a duplicate claim", duplicate, "duplicate_key"),
        (
            "a host claiming act",
            host.sign(&with(&|c| {
                c.insert("act".into(), json!({"sub": "acme"}));
            })),
            "claim:act",
        ),
        (
            "a wrong signature",
            {
                let t = host.sign(&with(&|_| {}));
                let (input, _) = t.rsplit_once('.').unwrap();
                format!("{input}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]))
            },
            "bad_signature",
        ),
        (
            "a session too long",
            host.sign(&with(&|c| {
                c.insert("session_exp".into(), (now + 5 * 3600).into());
            })),
            "session_too_long",
        ),
    ];
    for (name, token, reason) in cases {
        assert_eq!(
            refused_reason(&host.admin, host.redeem(&token).await).await,
            reason,
            "{name}"
        );
    }
    assert!(
        realm_users(&managed_username(victim)).await.is_empty(),
        "no refused token created a user"
    );
}

#[tokio::test]
async fn clock_skew_of_59_seconds_passes_and_of_61_fails() {
    let host = Host::start().await;
    let now = now_secs(&host.app);
    for (skew, ok) in [(59, true), (61, false)] {
        let mut ahead = host.claims("skew");
        ahead.insert("iat".into(), (now + skew).into());
        ahead.insert("exp".into(), (now + skew + 120).into());
        let mut behind = host.claims("skew");
        behind.insert("iat".into(), (now - skew - 120).into());
        behind.insert("exp".into(), (now - skew).into());
        for claims in [ahead, behind] {
            let status = host.redeem(&host.sign(&claims)).await.status();
            assert_eq!(status == StatusCode::OK, ok, "skew {skew} s");
        }
    }
}

#[tokio::test]
async fn of_fifty_concurrent_redemptions_of_one_token_exactly_one_succeeds() {
    let host = Host::start().await;
    // The user exists first, so that the race is about the token alone.
    assert_eq!(
        host.redeem(&host.sign(&host.claims("racer")))
            .await
            .status(),
        StatusCode::OK
    );
    let token = host.sign(&host.claims("racer"));
    let attempts = (0..50).map(|_| host.redeem(&token));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::BAD_REQUEST)
            .count(),
        49
    );
}

#[tokio::test]
async fn a_parent_key_logs_a_sub_tenant_user_in_when_granted_and_the_audit_row_shows_it_acting() {
    let host = Host::start().await;
    put_tenant(&host.admin, "acme-west", json!({"environment": "sandbox", "parent": "acme", "parent_may_act": true, "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": "create"})).await;
    let mut claims = host.claims("wes");
    claims.insert("tenant".into(), "acme-west".into());
    let response = host.redeem(&host.sign(&claims)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["tenant"], "acme-west");
    assert_eq!(
        jwt_claims(body["session_token"].as_str().unwrap())["act"],
        json!({"sub": "acme"})
    );
    let row = audit_row(&host.admin, &request_id).await;
    assert_eq!(row["actor"], "tenant:acme");
    assert_eq!(row["subject"], "acme-west/wes");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("acting for sub-tenant acme-west as acme")
    );
}

pub(crate) async fn api_key(host: &Host, tenant: &str, operations: &[&str]) -> (String, String) {
    let response = host
        .admin
        .send_json(
            Method::POST,
            &format!("/admin/api/tenants/{tenant}/api-keys"),
            &json!({"operations": operations}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let view: Value = response.json().await.unwrap();
    (
        view["key_id"].as_str().unwrap().to_owned(),
        view["credential"].as_str().unwrap().to_owned(),
    )
}

pub(crate) fn host_api(
    host: &Host,
    method: Method,
    path: &str,
    credential: &str,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, host.app.url(path))
        .bearer_auth(credential)
}

#[tokio::test]
async fn a_minted_token_logs_the_user_in_and_api_keys_are_scoped_and_revocable() {
    let host = Host::start().await;
    let (key_id, credential) = api_key(&host, "acme", &["mint_tokens"]).await;
    let minted = host_api(&host, Method::POST, "/api/v1/embed/tokens", &credential)
        .json(&json!({"sub": "minted-user", "name": "Min Ted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), StatusCode::OK);
    let minted: Value = minted.json().await.unwrap();
    let token = minted["token"].as_str().unwrap();
    assert_eq!(minted["fragment"], format!("#token={token}"));
    let redeemed = host.redeem(token).await;
    assert_eq!(redeemed.status(), StatusCode::OK);
    assert_eq!(
        redeemed.json::<Value>().await.unwrap()["user"]["name"],
        "Min Ted"
    );
    assert_eq!(
        refused_reason(&host.admin, host.redeem(token).await).await,
        "replayed_jti"
    );

    // Not an operation of this key; a tenant it does not belong to; no key.
    let logout = host_api(
        &host,
        Method::POST,
        "/api/v1/embed/users/acme/minted-user/logout",
        &credential,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        logout.json::<Value>().await.unwrap()["error"],
        "operation_not_allowed"
    );
    put_tenant(&host.admin, "globex", tenant("sandbox", "create")).await;
    let other = host_api(&host, Method::POST, "/api/v1/embed/tokens", &credential)
        .json(&json!({"sub": "x", "tenant": "globex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let wrong = host_api(
        &host,
        Method::POST,
        "/api/v1/embed/tokens",
        &format!("{key_id}:wrong"),
    )
    .json(&json!({"sub": "x"}))
    .send()
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        "Bearer realm=\"authproxy\""
    );

    // Revoked: refused at once.
    let revoke = host
        .admin
        .request(
            Method::DELETE,
            &format!("/admin/api/tenants/acme/api-keys/{key_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    let after = host_api(&host, Method::POST, "/api/v1/embed/tokens", &credential)
        .json(&json!({"sub": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let listed: Value = host
        .admin
        .get_json("/admin/api/tenants/acme/api-keys")
        .await;
    assert!(listed[0]["revoked_at"].is_string() && listed[0]["last_used_at"].is_string());
    assert!(
        listed[0].get("credential").is_none(),
        "the secret is shown once only"
    );
}

pub(crate) async fn session_call(host: &Host, path: &str, session: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(host.app.url(path))
        .header("origin", CRM_ORIGIN)
        .json(&json!({"client_id": CLIENT_ID, "session_token": session}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_restart_revives_no_logged_out_session_and_no_used_token() {
    let (app, stopper) = TestApp::start_stoppable(crate::support::TestConfig::demo()).await;
    let admin = app.admin();
    put_tenant(&admin, "acme", tenant("sandbox", "create")).await;
    let key = generate_key(&admin, "acme", "k1", true).await;
    let host = Host { app, admin, key };
    // Users of their own: the realm is shared with the other tests.
    let (once, leaver) = (
        format!("once-{}", rand_suffix()),
        format!("leaver-{}", rand_suffix()),
    );
    let used = host.sign(&host.claims(&once));
    assert_eq!(host.redeem(&used).await.status(), StatusCode::OK);
    let body: Value = host
        .redeem(&host.sign(&host.claims(&leaver)))
        .await
        .json()
        .await
        .unwrap();
    let session = body["session_token"].as_str().unwrap().to_owned();
    let (_, credential) = api_key(&host, "acme", &["logout"]).await;
    let ended = host_api(
        &host,
        Method::POST,
        &format!("/api/v1/embed/users/acme/{leaver}/logout"),
        &credential,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(ended.status(), StatusCode::OK);

    // The default single node (SQLite, no Redis) restarts: its memory is gone.
    let Host { app, admin, key } = host;
    let (app, _stopper) = app.restart(stopper).await;
    let host = Host { app, admin, key };
    let renewed = session_call(&host, "/api/embed/session", &session).await;
    assert_eq!(
        renewed.status(),
        StatusCode::UNAUTHORIZED,
        "the logout holds"
    );
    assert_eq!(
        renewed.json::<Value>().await.unwrap()["error"],
        "session_ended"
    );
    let replayed = host.redeem(&used).await;
    assert_eq!(
        refused_reason(&host.admin, replayed).await,
        "replayed_jti",
        "the used jti holds"
    );
}

#[tokio::test]
async fn a_frame_whose_session_ran_out_hears_it_expired_and_one_logged_out_hears_that() {
    let host = Host::start().await;
    let session_of = |body: Value| body["session_token"].as_str().unwrap().to_owned();
    let first = session_of(
        host.redeem(&host.sign(&host.claims(&format!("timed-{}", rand_suffix()))))
            .await
            .json()
            .await
            .unwrap(),
    );
    let second = session_of(
        host.redeem(&host.sign(&host.claims(&format!("quitter-{}", rand_suffix()))))
            .await
            .json()
            .await
            .unwrap(),
    );
    let logout = session_call(&host, "/api/embed/logout", &second).await;
    assert_eq!(logout.status(), StatusCode::OK);
    let told: Value = session_call(&host, "/api/embed/session/wait", &second)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(told, json!({"ended": true, "reason": "logged_out"}));

    host.app.clock.advance(chrono::TimeDelta::hours(5));
    let told: Value = session_call(&host, "/api/embed/session/wait", &first)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(told, json!({"ended": true, "reason": "expired"}));
    let forged: Value = session_call(&host, "/api/embed/session/wait", "not.a.token")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        forged,
        json!({"ended": true}),
        "no reason for a token that does not verify"
    );
}

#[tokio::test]
async fn a_host_logout_ends_the_open_frame_session_within_two_seconds() {
    let host = Host::start().await;
    let body: Value = host
        .redeem(&host.sign(&host.claims("leaver")))
        .await
        .json()
        .await
        .unwrap();
    let session = body["session_token"].as_str().unwrap().to_owned();
    let renewed = session_call(&host, "/api/embed/session", &session).await;
    assert_eq!(renewed.status(), StatusCode::OK, "a live session renews");

    let waiting = {
        let url = host.app.url("/api/embed/session/wait");
        let session = session.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let answer: Value = reqwest::Client::new()
                .post(url)
                .json(&json!({"client_id": CLIENT_ID, "session_token": session}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (answer, started.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, credential) = api_key(&host, "acme", &["logout"]).await;
    let ended = host_api(
        &host,
        Method::POST,
        "/api/v1/embed/users/acme/leaver/logout",
        &credential,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(ended.status(), StatusCode::OK);
    let (answer, waited) = waiting.await.unwrap();
    assert_eq!(answer, json!({"ended": true, "reason": "logged_out"}));
    assert!(
        waited < std::time::Duration::from_secs(2),
        "the frame learnt it in {waited:?}"
    );
    let refused = session_call(&host, "/api/embed/session", &session).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "session_ended"
    );
    // A new login after the logout works.
    assert_eq!(
        host.redeem(&host.sign(&host.claims("leaver")))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_profile_update_reaches_the_open_frame_and_a_frame_logout_ends_its_session() {
    let host = Host::start().await;
    let body: Value = host
        .redeem(&host.sign(&host.claims("renamed")))
        .await
        .json()
        .await
        .unwrap();
    let session = body["session_token"].as_str().unwrap().to_owned();
    let waiting = {
        let url = host.app.url("/api/embed/session/wait");
        let session = session.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"client_id": CLIENT_ID, "session_token": session}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, credential) = api_key(&host, "acme", &["update_users"]).await;
    let patched = host_api(
        &host,
        Method::PATCH,
        "/api/v1/embed/users/acme/renamed",
        &credential,
    )
    .json(&json!({"name": "Ada Renamed"}))
    .send()
    .await
    .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(
        waiting.await.unwrap(),
        json!({"ended": false, "changed": true})
    );
    let renewed: Value = session_call(&host, "/api/embed/session", &session)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renewed["user"]["name"], "Ada Renamed");
    let users = realm_users(&managed_username("renamed")).await;
    assert_eq!(users[0]["username"], managed_username("renamed"));

    let renewed_token = renewed["session_token"].as_str().unwrap();
    assert_eq!(
        session_call(&host, "/api/embed/logout", renewed_token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        session_call(&host, "/api/embed/session", &session)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A refused redeem's status, error code and audited reason.
async fn refusal(host: &Host, response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let row = audit_row(&host.admin, &request_id).await;
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        row["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn existing_only_tenants_log_in_directory_users_and_refuse_others() {
    let host = Host::start().await;
    let mut vouching = tenant("sandbox", "existing_only");
    vouching["hosts_vouch_for_emails"] = true.into();
    put_tenant(&host.admin, "acme", vouching).await;
    let mut alice = host.claims("alice-at-host");
    alice.insert("email".into(), "alice@tenant-a.test".into());
    let response = host.redeem(&host.sign(&alice)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        jwt_claims(body["keycloak"]["access_token"].as_str().unwrap())["preferred_username"],
        "alice"
    );
    assert_eq!(body["user"]["email_verified"], true);
    let mut stranger = host.claims("stranger");
    stranger.insert("email".into(), "stranger@nowhere.test".into());
    let refused = host.redeem(&host.sign(&stranger)).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(realm_users(&managed_username("stranger")).await.is_empty());
}

#[tokio::test]
async fn look_alike_emails_are_refused_on_every_way_in_as_for_registrations() {
    let host = Host::start().await;
    // A Cyrillic "а" among Latin letters.
    let look_alike = "\u{0430}lice@tenant-a.test";
    let mut claims = host.claims("spoofer");
    claims.insert("email".into(), look_alike.into());
    assert_eq!(
        refused_reason(&host.admin, host.redeem(&host.sign(&claims)).await).await,
        "claim:email"
    );
    let (_, credential) = api_key(&host, "acme", &["mint_tokens", "update_users"]).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/embed/tokens",
            json!({"sub": "spoofer", "email": look_alike}),
        ),
        (
            Method::PATCH,
            "/api/v1/embed/users/acme/spoofer",
            json!({"email": look_alike}),
        ),
    ] {
        let refused = host_api(&host, method, path, &credential)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{path}");
        let answer: Value = refused.json().await.unwrap();
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .contains("look-alike"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn a_host_cannot_rename_or_readdress_the_brokers_own_users() {
    let host = Host::start().await;
    let (_, credential) = api_key(&host, "acme", &["update_users"]).await;
    for sub in ["ext:auth0:0123abcd:auth0%7Cboss", "registration:r1"] {
        let patched = host_api(
            &host,
            Method::PATCH,
            &format!("/api/v1/embed/users/acme/{sub}"),
            &credential,
        )
        .json(&json!({"name": "The Boss", "email": "boss@news.example"}))
        .send()
        .await
        .unwrap();
        assert_eq!(patched.status(), StatusCode::BAD_REQUEST, "{sub}");
        let body: Value = patched.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("not starting with registration: or ext:"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_host_email_selects_nobody_unless_the_tenant_lets_its_hosts_vouch_and_the_host_does() {
    let host = Host::start().await;
    put_tenant(&host.admin, "acme", tenant("sandbox", "existing_only")).await;
    // The attack: a host (or anyone holding its key) names alice's address.
    let mut mallory = host.claims("mallory-at-host");
    mallory.insert("email".into(), "alice@tenant-a.test".into());
    let refused = host.redeem(&host.sign(&mallory)).await;
    assert_eq!(
        refusal(&host, refused).await,
        (
            StatusCode::FORBIDDEN,
            "email_not_verified".to_owned(),
            "existing_only: the email is not vouched for by a party the tenant trusts".to_owned()
        ),
        "off by default: a host's email is its word only"
    );

    // Granted, but the host itself says the address is unverified.
    let mut vouching = tenant("sandbox", "existing_only");
    vouching["hosts_vouch_for_emails"] = true.into();
    put_tenant(&host.admin, "acme", vouching).await;
    let mut unverified = host.claims("mallory-again");
    unverified.insert("email".into(), "alice@tenant-a.test".into());
    unverified.insert("email_verified".into(), false.into());
    let refused = host.redeem(&host.sign(&unverified)).await;
    assert_eq!(refusal(&host, refused).await.1, "email_not_verified");

    // A minted token that says email_verified: false carries it, and is refused too.
    let (_, credential) = api_key(&host, "acme", &["mint_tokens"]).await;
    let minted: Value = host_api(&host, Method::POST, "/api/v1/embed/tokens", &credential)
        .json(&json!({"sub": "mallory-minted", "email": "alice@tenant-a.test", "email_verified": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refused = host.redeem(minted["token"].as_str().unwrap()).await;
    assert_eq!(refusal(&host, refused).await.1, "email_not_verified");
}

#[tokio::test]
async fn the_sandbox_explains_a_refused_token_without_using_a_good_one_up() {
    let host = Host::start().await;
    let (_, credential) = api_key(&host, "acme", &["debug"]).await;
    let explain = |token: String| {
        let request = host_api(&host, Method::POST, "/api/v1/embed/debug", &credential)
            .json(&json!({ "token": token }));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut late = host.claims("dbg");
    late.insert("exp".into(), (now_secs(&host.app) - 3600).into());
    late.insert("iat".into(), (now_secs(&host.app) - 3700).into());
    let explained = explain(host.sign(&late)).await;
    assert_eq!(explained["valid"], false);
    assert_eq!(explained["reason"], "expired");
    let good = host.sign(&host.claims("dbg"));
    let checked = explain(good.clone()).await;
    assert_eq!(checked["valid"], true);
    assert_eq!(
        host.redeem(&good).await.status(),
        StatusCode::OK,
        "checking did not use it up"
    );

    put_tenant(&host.admin, "prod-co", tenant("production", "create")).await;
    // A sandbox key learns nothing of another tenant's tokens: a genuine one and
    // a forged one get the same answer, and neither is checked.
    let prod_key = generate_key(&host.admin, "prod-co", "p1", false).await;
    let mut prod = host.claims("prod-user");
    prod.insert("iss".into(), "prod-co".into());
    prod.insert("tenant".into(), "prod-co".into());
    prod.insert("aud".into(), host.audience("production").into());
    let genuine = sign_with(&prod_key, "p1", &prod);
    let forged = sign_with(&host.key, "p1", &prod);
    let answers = [explain(genuine.clone()).await, explain(forged).await];
    assert_eq!(answers[0], answers[1], "genuine and forged look alike");
    assert_eq!(answers[0]["reason"], "other_tenant");
    assert_eq!(
        host.redeem(&genuine).await.status(),
        StatusCode::OK,
        "and the genuine token was not touched"
    );
    let (_, production) = api_key(&host, "prod-co", &["debug"]).await;
    let refused = host_api(&host, Method::POST, "/api/v1/embed/debug", &production)
        .json(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn key_and_platform_urls_never_point_at_link_local_or_private_addresses() {
    let host = Host::start().await;
    let sso = |base_url: &str| {
        json!({"host_origin": "https://news.example", "providers": [
            {"name": "a0", "kind": "auth0", "domain": "acme.eu.auth0.com", "audience": "app", "base_url": base_url}]})
    };
    for (field, body) in [
        (
            "jwks_url",
            json!({"jwks_url": "https://169.254.169.254/latest/meta-data"}),
        ),
        (
            "jwks_url",
            json!({"jwks_url": "https://10.1.2.3/jwks.json"}),
        ),
        (
            "sso.providers[0].base_url",
            json!({"sso": sso("https://169.254.169.254")}),
        ),
        (
            "sso.providers[0].base_url",
            json!({"sso": sso("https://[fd00::1]")}),
        ),
    ] {
        let mut tenant_body = tenant("sandbox", "create");
        tenant_body
            .as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let refused = host
            .admin
            .send_json(Method::PUT, "/admin/api/tenants/meta", &tenant_body)
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let answer: Value = refused.json().await.unwrap();
        let problem = answer["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == field)
            .unwrap_or_else(|| panic!("{field} is named: {answer}"));
        assert!(
            problem["message"].as_str().unwrap().contains("link-local"),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn tenants_and_keys_are_validated_when_written() {
    let host = Host::start().await;
    let bad = host
        .admin
        .send_json(Method::PUT, "/admin/api/tenants/bad", &json!({"environment": "production", "parent": "acme", "realm": "nowhere", "clients": ["unknown.example"], "provisioning": "create"}))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad.json().await.unwrap();
    let paths: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["realm", "clients[0]", "parent"]);
    let hs = host
        .admin
        .send_json(
            Method::POST,
            "/admin/api/tenants/acme/keys",
            &json!({"kid": "h1", "secret": URL_SAFE_NO_PAD.encode([1u8; 32])}),
        )
        .await;
    assert_eq!(
        hs.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "HS256 only where the tenant allows it"
    );
    let again = host
        .admin
        .send_json(
            Method::POST,
            "/admin/api/tenants/acme/keys",
            &json!({"kid": "k1", "generate": true}),
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "a kid is never reused"
    );
    // An Ed25519 key of small order (the identity point) would verify a
    // "signature" made with no private key: refused with the reason.
    let weak = host
        .admin
        .send_json(
            Method::POST,
            "/admin/api/tenants/acme/keys",
            &json!({"kid": "weak", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}),
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = weak.json().await.unwrap();
    assert!(body.to_string().contains("small order"), "{body}");
}

/// Serves `body` as JSON at any path, for as long as the test runs; its URL.
async fn serve_json(body: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn keys_published_at_the_hosts_jwks_url_verify_by_kid_with_their_one_algorithm() {
    let host = Host::start().await;
    let private = authproxy::crypto::jws::generate_p256().unwrap();
    let (x, y) = authproxy::crypto::jws::p256_public(&private).unwrap();
    let jwks = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "published-1", "use": "sig",
         "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)},
        {"kty": "RSA", "kid": "rsa-1", "n": "AQAB", "e": "AQAB"},
    ]});
    let url = serve_json(jwks.to_string()).await;
    let mut settings = tenant("sandbox", "create");
    settings["jwks_url"] = url.into();
    put_tenant(&host.admin, "acme", settings).await;

    let claims = host.claims("published");
    assert_eq!(
        host.redeem(&sign_with(&private, "published-1", &claims))
            .await
            .status(),
        StatusCode::OK
    );
    // A kid the set does not have, or has as a key type that is not accepted.
    assert_eq!(
        refused_reason(
            &host.admin,
            host.redeem(&sign_with(&private, "published-2", &host.claims("p")))
                .await
        )
        .await,
        "unknown_key"
    );
    assert_eq!(
        refused_reason(
            &host.admin,
            host.redeem(&sign_with(&private, "rsa-1", &host.claims("p")))
                .await
        )
        .await,
        "unknown_key"
    );
    // The registered key still works beside the published ones.
    assert_eq!(
        host.redeem(&host.sign(&host.claims("registered")))
            .await
            .status(),
        StatusCode::OK
    );

    let bad = host
        .admin
        .send_json(Method::PUT, "/admin/api/tenants/acme", &json!({"environment": "sandbox", "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": "create", "jwks_url": "http://evil.example/jwks"}))
        .await;
    assert_eq!(
        bad.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "https only, but for loopback"
    );
}

#[tokio::test]
async fn a_tenant_the_configuration_file_owns_logs_users_in_and_only_the_file_changes_it() {
    let private = authproxy::crypto::jws::generate_p256().unwrap();
    let (x, y) = authproxy::crypto::jws::p256_public(&private).unwrap();
    let app = TestApp::start(crate::support::TestConfig::demo().raw(&format!(
        r#"[[tenants]]
id = "filed"
managed_by = "file"
environment = "sandbox"
realm = "tenant-a"
clients = ["{CLIENT_ID}"]
provisioning = "create"
[[tenants.keys]]
kid = "file-1"
jwk = {{ kty = "EC", crv = "P-256", x = "{}", y = "{}" }}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    )))
    .await;
    let now = now_secs(&app);
    let claims = json!({"iss": "filed", "aud": format!("{}/embed/sandbox", app.base_url), "sub": "from-file",
        "tenant": "filed", "iat": now, "exp": now + 60, "jti": rand_suffix()});
    let token = sign_with(&private, "file-1", claims.as_object().unwrap());
    assert_eq!(redeem(&app, &token).await.status(), StatusCode::OK);
    let admin = app.admin();
    let changed = admin
        .send_json(
            Method::PUT,
            "/admin/api/tenants/filed",
            &tenant("sandbox", "existing_only"),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::CONFLICT);
    assert_eq!(
        changed.json::<Value>().await.unwrap()["error"],
        "managed_by_config"
    );
    let removed = admin
        .request(Method::DELETE, "/admin/api/tenants/filed")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::CONFLICT);
}

#[test]
fn tenants_of_the_configuration_file_are_checked_with_their_keys() {
    let toml = r#"
[[realms]]
name = "tenant-a"
authority = "https://kc.example/realms/tenant-a"
[[clients]]
client_id = "crm.example"
realms = ["tenant-a"]
origins = ["https://crm.example"]
[[tenants]]
id = "ok"
environment = "production"
realm = "tenant-a"
clients = ["crm.example"]
provisioning = "create"
[[tenants]]
id = "Bad Id"
environment = "production"
realm = "tenant-z"
clients = ["other.example"]
provisioning = "create"
parent = "nobody"
jwks_url = "http://evil.example/jwks"
[[tenants.keys]]
kid = "k1"
jwk = { kty = "EC", crv = "P-256", x = "AAAA", y = "AAAA", d = "AAAA" }
"#;
    let err = authproxy::config::RawConfig::from_toml(toml)
        .unwrap()
        .validate()
        .unwrap_err();
    let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "tenants[1].id",
            "tenants[1].realm",
            "tenants[1].clients[0]",
            "tenants[1].parent",
            "tenants[1].keys[0].jwk",
        ]
    );
}

#[tokio::test]
async fn a_realm_user_that_merely_has_the_managed_name_is_never_taken_over() {
    let host = Host::start().await;
    // Someone registered the name authproxy would give this host user.
    let http = reqwest::Client::new();
    let bearer = crate::support::idp::broker_token(&http, "tenant-a").await;
    let squatter = format!("squatted-{}", rand_suffix());
    let created = http
        .post(format!("{}/admin/realms/tenant-a/users", idp().base_url))
        .bearer_auth(&bearer)
        .json(&json!({"username": managed_username(&squatter), "enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let refused = host.redeem(&host.sign(&host.claims(&squatter))).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "realm_user_conflict"
    );
}

#[tokio::test]
async fn the_brokers_keys_rotate_with_overlap_and_retire_after_it() {
    use authproxy::auth::signing::{BrokerKeys, OwnTokenProblem, RETIRE_AFTER};
    use authproxy::clock::Clock as _;
    let dir = tempfile::tempdir().unwrap();
    let sealer =
        authproxy::crypto::Sealer::from_base64(&authproxy::crypto::Sealer::generate_key().unwrap())
            .unwrap();
    let store: std::sync::Arc<dyn authproxy::store::DurableStore> = std::sync::Arc::new(
        authproxy::store::sqlite::SqliteStore::open(&dir.path().join("a.db"), sealer).unwrap(),
    );
    let now = authproxy::clock::SystemClock.now();
    let keys = BrokerKeys::load(std::sync::Arc::clone(&store), "https://broker.example", now)
        .await
        .unwrap();
    let typ = "authproxy-session+jwt";
    let old = keys.sign(typ, Map::new()).unwrap();
    let kid = |jwt: &str| {
        let header = jwt.split('.').next().unwrap();
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()["kid"]
            .clone()
    };
    let new_kid = keys.rotate(now).await.unwrap();
    let new = keys.sign(typ, Map::new()).unwrap();
    assert_eq!(kid(&new), new_kid.as_str(), "the newest key signs");
    assert_ne!(kid(&old), kid(&new));
    assert!(
        keys.verify(&old, typ).is_ok(),
        "the replaced key still verifies"
    );
    assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
    // Another replica loading the store sees both, and signs with the new one.
    let replica = BrokerKeys::load(std::sync::Arc::clone(&store), "https://broker.example", now)
        .await
        .unwrap();
    assert_eq!(
        kid(&replica.sign(typ, Map::new()).unwrap()),
        new_kid.as_str()
    );
    assert!(replica.verify(&old, typ).is_ok());
    // Past the overlap the replaced key is retired.
    assert!(
        !keys
            .rotate_if_due(now + RETIRE_AFTER + TimeDelta::minutes(1))
            .await
            .unwrap()
    );
    assert_eq!(
        keys.verify(&old, typ).unwrap_err(),
        OwnTokenProblem::UnknownKey
    );
    assert!(keys.verify(&new, typ).is_ok());
    assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_operator_rotates_the_brokers_key_and_old_sessions_still_renew() {
    let host = Host::start().await;
    let body: Value = host
        .redeem(&host.sign(&host.claims("rotated")))
        .await
        .json()
        .await
        .unwrap();
    let session = body["session_token"].as_str().unwrap().to_owned();
    let before = host.app.cli(&["signing-keys", "list"]);
    let first = String::from_utf8(before.stdout).unwrap();
    let rotated = host.app.cli(&["signing-keys", "rotate"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let new_kid = String::from_utf8(rotated.stdout).unwrap().trim().to_owned();
    let listed = String::from_utf8(host.app.cli(&["signing-keys", "list"]).stdout).unwrap();
    let kids: Vec<&str> = listed.lines().collect();
    assert_eq!(
        kids,
        [new_kid.as_str(), first.trim()],
        "newest first, the old one kept"
    );
    // The session signed by the old key still renews.
    let renewed = reqwest::Client::new()
        .post(host.app.url("/api/embed/session"))
        .json(&json!({"client_id": CLIENT_ID, "session_token": session}))
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), StatusCode::OK);
    let audit = host.admin.audit().await;
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "signing_key.rotate" && r["subject"] == new_kid.as_str())
    );
}

#[tokio::test]
async fn hs256_keys_work_only_where_the_tenant_allows_them() {
    let host = Host::start().await;
    let mut settings = tenant("sandbox", "create");
    settings["allow_hs256"] = true.into();
    put_tenant(&host.admin, "acme", settings).await;
    let secret = [9u8; 32];
    let added = host
        .admin
        .send_json(
            Method::POST,
            "/admin/api/tenants/acme/keys",
            &json!({"kid": "shared-1", "secret": URL_SAFE_NO_PAD.encode(secret)}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let view: Value = added.json().await.unwrap();
    assert_eq!(view["alg"], "HS256");
    assert!(
        view["jwk"].is_null(),
        "a shared secret is never shown again"
    );
    let hs256 = |claims: &Map<String, Value>| {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(
                json!({"alg": "HS256", "typ": "authproxy-host+jwt", "kid": "shared-1"}).to_string()
            ),
            URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
        );
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key, input.as_bytes()))
        )
    };
    assert_eq!(
        host.redeem(&hs256(&host.claims("shared"))).await.status(),
        StatusCode::OK
    );
    // The tenant turns HS256 off: the key verifies nothing any more.
    put_tenant(&host.admin, "acme", tenant("sandbox", "create")).await;
    assert_eq!(
        refused_reason(
            &host.admin,
            host.redeem(&hs256(&host.claims("shared"))).await
        )
        .await,
        "hs256_not_allowed"
    );
}
