//! Third-party SSO hand-off against the platforms' stand-ins: each platform's
//! token logs the embedded app in as its own user; each forged, misdirected or
//! stale token is refused with `invalid_token`, audited with its reason, and
//! creates nobody. The handshake, profiles and administration are in
//! `sso_handshake.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::embed::{audit_row, put_tenant, refused_reason};
use crate::support::providers::{Platforms, platforms};
use crate::support::{AdminApi, CLIENT_ID, CRM_ORIGIN, TestApp, TestConfig, idp};

const AUTH0_DOMAIN: &str = "acme.eu.auth0.com";
const GIGYA_KEY: &str = "3_acme-site";

/// A broker with tenant `acme` (production, users created on demand) using
/// all four platforms, Piano's secrets set.
pub(crate) struct Sso {
    pub(crate) app: TestApp,
    pub(crate) admin: AdminApi,
}

fn providers(p: &Platforms) -> Value {
    json!([
        {"name": "auth0", "kind": "auth0", "domain": AUTH0_DOMAIN, "audience": "acme-app",
         "base_url": format!("{}/{AUTH0_DOMAIN}", p.auth0)},
        {"name": "gigya", "kind": "gigya", "api_key": GIGYA_KEY, "data_center": "eu1", "base_url": p.gigya},
        {"name": "piano", "kind": "piano", "application_id": p.piano_aid, "base_url": p.piano},
        {"name": "oidc", "kind": "oidc", "issuer": p.oidc, "audience": "acme-oidc"},
    ])
}

pub(crate) fn sso_tenant(environment: &str, providers: &Value) -> Value {
    json!({"environment": environment, "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": "create",
           "sso": {"host_origin": "https://news.example", "providers": providers}})
}

impl Sso {
    pub(crate) async fn start() -> Self {
        Self::with_config(TestConfig::demo()).await
    }

    pub(crate) async fn with_config(config: TestConfig) -> Self {
        let app = TestApp::start(config).await;
        let admin = app.admin();
        let p = platforms();
        put_tenant(&admin, "acme", sso_tenant("production", &providers(p))).await;
        let response = admin
            .send_json(
                Method::PUT,
                "/admin/api/tenants/acme/providers/piano/secrets",
                &json!({"api_token": p.piano_api_token, "signing_key": p.piano_production_key}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        Self { app, admin }
    }

    pub(crate) async fn sso(&self, tenant: &str, provider: &str, token: &str) -> reqwest::Response {
        frame_call(
            &self.app,
            "/api/embed/sso",
            &json!({"client_id": CLIENT_ID, "tenant": tenant, "provider": provider, "token": token}),
        )
        .await
    }
}

pub(crate) async fn frame_call(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .header("origin", CRM_ORIGIN)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn post_json(url: String, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    response.json().await.unwrap()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", super::embed::rand_suffix())
}

/// An Auth0 ID token of `AUTH0_DOMAIN` (or `domain`) with `claims` over the defaults.
pub(crate) async fn auth0_token(domain: &str, claims: Value) -> String {
    let mut all = json!({"aud": "acme-app", "email": "ada@news.example", "email_verified": true, "name": "Ada Reader"});
    merge(&mut all, claims);
    let answer = post_json(format!("{}/{domain}/issue", platforms().auth0), &all).await;
    answer["id_token"].as_str().unwrap().to_owned()
}

/// A Gigya JWT of site `api_key` for `uid`.
pub(crate) async fn gigya_token(
    api_key: &str,
    uid: &str,
    claims: Value,
    kid: Option<&str>,
) -> String {
    let mut form = vec![
        ("apiKey", api_key.to_owned()),
        ("targetUID", uid.to_owned()),
        ("claims", claims.to_string()),
    ];
    if let Some(kid) = kid {
        form.push(("kid", kid.to_owned()));
    }
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/accounts.getJWT", platforms().gigya))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["errorCode"], 0);
    answer["id_token"].as_str().unwrap().to_owned()
}

/// A Piano user token signed with the `environment`'s key.
pub(crate) async fn piano_token(environment: &str, uid: &str) -> String {
    let answer = post_json(
        format!("{}/issue", platforms().piano),
        &json!({"environment": environment, "sub": uid, "email": format!("{uid}@piano.example")}),
    )
    .await;
    answer["token"].as_str().unwrap().to_owned()
}

/// Sets a Piano user (what its user API answers).
pub(crate) async fn piano_user(uid: &str, user: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/control/users/{uid}", platforms().piano))
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

pub(crate) async fn oidc_token(claims: Value) -> String {
    let mut all = json!({"aud": "acme-oidc", "name": "Olga Openid"});
    merge(&mut all, claims);
    let answer = post_json(format!("{}/issue", platforms().oidc), &all).await;
    answer["id_token"].as_str().unwrap().to_owned()
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// The realm users of the embed user id `sub` of `acme`.
async fn realm_users_of(sub: &str) -> Vec<Value> {
    let username = authproxy::flows::embed::managed_username(
        &authproxy::domain::TenantId::parse("acme").unwrap(),
        sub,
    );
    let http = reqwest::Client::new();
    let bearer = crate::support::idp::broker_token(&http, "tenant-a").await;
    http.get(format!("{}/admin/realms/tenant-a/users", idp().base_url))
        .bearer_auth(&bearer)
        .query(&[("username", username.as_str()), ("exact", "true")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn ext(provider: &str, issuer: &str, subject: &str) -> String {
    authproxy::flows::sso::external_user_id(provider, issuer, subject)
}

fn auth0_issuer() -> String {
    format!("https://{AUTH0_DOMAIN}/")
}

/// Asserts the refusal the frame sees (`invalid_token` and a debug id, nothing
/// more), that its audit row says `reason`, and that `sub` has no realm user.
async fn assert_refused(sso: &Sso, response: reqwest::Response, reason: &str, sub: &str) {
    assert_eq!(refused_reason(&sso.admin, response).await, reason);
    assert!(
        realm_users_of(sub).await.is_empty(),
        "a refused token creates nobody"
    );
}

#[tokio::test]
async fn each_platforms_token_logs_the_embedded_app_in_as_its_own_user() {
    let sso = Sso::start().await;
    let p = platforms();
    let auth0_sub = unique("auth0|");
    let gigya_uid = unique("gigya-");
    let piano_uid = unique("PNI");
    let oidc_sub = unique("o-");
    piano_user(
        &piano_uid,
        json!({"email": "pia@piano.example", "first_name": "Pia", "last_name": "Piano",
        "display_name": "Pia P.", "email_confirmed": true}),
    )
    .await;
    let cases = [
        ("auth0", auth0_token(AUTH0_DOMAIN, json!({"sub": auth0_sub})).await, ext("auth0", &auth0_issuer(), &auth0_sub), "Ada Reader", true),
        ("gigya", gigya_token(GIGYA_KEY, &gigya_uid, json!({"email": "gil@gigya.example", "firstName": "Gil", "lastName": "Gigya", "isVerified": false}), None).await,
            ext("gigya", &format!("https://fidm.gigya.com/jwt/{GIGYA_KEY}/"), &gigya_uid), "Gil Gigya", false),
        ("piano", piano_token("production", &piano_uid).await, ext("piano", &format!("piano:{}", p.piano_aid), &piano_uid), "Pia P.", true),
        ("oidc", oidc_token(json!({"sub": oidc_sub, "email": "olga@oidc.example", "email_verified": true})).await, ext("oidc", &p.oidc, &oidc_sub), "Olga Openid", true),
    ];
    for (provider, token, sub, name, verified) in cases {
        let response = sso.sso("acme", provider, &token).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{provider}: {}",
            response.text().await.unwrap()
        );
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            CRM_ORIGIN
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["sub"], sub, "{provider}");
        assert_eq!(body["user"]["name"], name, "{provider}");
        assert_eq!(body["user"]["email_verified"], verified, "{provider}");
        assert!(
            body["keycloak"]["access_token"].as_str().is_some(),
            "{provider}"
        );
        let created = realm_users_of(&sub).await;
        assert_eq!(created.len(), 1, "{provider}: one realm user");
        // The same identity again: the same user, nobody new.
        let again = sso.sso("acme", provider, &token).await;
        assert_eq!(again.status(), StatusCode::OK, "{provider}");
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["sub"], sub);
        assert_eq!(realm_users_of(&sub).await[0]["id"], created[0]["id"]);
    }
}

#[tokio::test]
async fn an_auth0_token_for_another_client_is_refused() {
    let sso = Sso::start().await;
    let sub = unique("auth0|");
    let token = auth0_token(AUTH0_DOMAIN, json!({"sub": sub, "aud": "another-app"})).await;
    let response = sso.sso("acme", "auth0", &token).await;
    assert_refused(
        &sso,
        response,
        "auth0: wrong_audience",
        &ext("auth0", &auth0_issuer(), &sub),
    )
    .await;
}

#[tokio::test]
async fn an_auth0_issuer_without_its_trailing_slash_is_refused() {
    let sso = Sso::start().await;
    let sub = unique("auth0|");
    let token = auth0_token(
        AUTH0_DOMAIN,
        json!({"sub": sub, "iss": format!("https://{AUTH0_DOMAIN}")}),
    )
    .await;
    let response = sso.sso("acme", "auth0", &token).await;
    assert_refused(
        &sso,
        response,
        "auth0: wrong_issuer",
        &ext("auth0", &auth0_issuer(), &sub),
    )
    .await;
}

#[tokio::test]
async fn a_gigya_token_of_another_api_key_is_refused_though_the_partner_key_signed_it() {
    let sso = Sso::start().await;
    let uid = unique("gigya-");
    let token = gigya_token("3_other-site", &uid, json!({}), None).await;
    let response = sso.sso("acme", "gigya", &token).await;
    let sub = ext(
        "gigya",
        &format!("https://fidm.gigya.com/jwt/{GIGYA_KEY}/"),
        &uid,
    );
    assert_refused(&sso, response, "gigya: wrong_issuer", &sub).await;
}

#[tokio::test]
async fn a_gigya_token_of_an_unknown_key_id_is_refused() {
    let sso = Sso::start().await;
    let uid = unique("gigya-");
    let token = gigya_token(
        GIGYA_KEY,
        &uid,
        json!({}),
        Some("UkVRME1VUTVOME5DUlRKRU16azNRamRD"),
    )
    .await;
    let response = sso.sso("acme", "gigya", &token).await;
    let sub = ext(
        "gigya",
        &format!("https://fidm.gigya.com/jwt/{GIGYA_KEY}/"),
        &uid,
    );
    assert_refused(&sso, response, "gigya: unknown_key", &sub).await;
}

#[tokio::test]
async fn rs256_swapped_for_hs256_keyed_with_the_public_key_is_refused() {
    let sso = Sso::start().await;
    let sub = unique("auth0|");
    let base = format!("{}/{AUTH0_DOMAIN}", platforms().auth0);
    let pem = reqwest::get(format!("{base}/pem"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = {
        use authproxy::clock::Clock as _;
        sso.app.clock.now().timestamp()
    };
    let input = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "typ": "JWT", "kid": kid})),
        b64(
            &json!({"iss": auth0_issuer(), "aud": "acme-app", "sub": sub, "iat": now, "exp": now + 600})
        )
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, pem.as_bytes());
    let tag = ring::hmac::sign(&key, input.as_bytes());
    let forged = {
        use base64::Engine as _;
        format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    };
    let response = sso.sso("acme", "auth0", &forged).await;
    assert_refused(
        &sso,
        response,
        "auth0: alg_not_allowed",
        &ext("auth0", &auth0_issuer(), &sub),
    )
    .await;
}

#[tokio::test]
async fn a_piano_token_signed_with_the_sandbox_key_is_refused_in_production() {
    let sso = Sso::start().await;
    let uid = unique("PNI");
    piano_user(&uid, json!({"email": "s@piano.example"})).await;
    let token = piano_token("sandbox", &uid).await;
    let response = sso.sso("acme", "piano", &token).await;
    let sub = ext("piano", &format!("piano:{}", platforms().piano_aid), &uid);
    assert_refused(&sso, response, "piano: bad_signature", &sub).await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let sso = Sso::start().await;
    let sub = unique("auth0|");
    let now = {
        use authproxy::clock::Clock as _;
        sso.app.clock.now().timestamp()
    };
    let token = auth0_token(
        AUTH0_DOMAIN,
        json!({"sub": sub, "iat": now - 7200, "exp": now - 3600}),
    )
    .await;
    let response = sso.sso("acme", "auth0", &token).await;
    assert_refused(
        &sso,
        response,
        "auth0: expired",
        &ext("auth0", &auth0_issuer(), &sub),
    )
    .await;
}

#[tokio::test]
async fn a_token_good_for_one_tenant_is_refused_by_another_tenants_provider() {
    let sso = Sso::start().await;
    // Globex shares the Auth0 tenant but not the application.
    let globex = json!([{"name": "auth0", "kind": "auth0", "domain": AUTH0_DOMAIN, "audience": "globex-app",
        "base_url": format!("{}/{AUTH0_DOMAIN}", platforms().auth0)}]);
    put_tenant(&sso.admin, "globex", sso_tenant("production", &globex)).await;
    let sub = unique("auth0|");
    let token = auth0_token(AUTH0_DOMAIN, json!({"sub": sub})).await;
    assert_eq!(
        sso.sso("acme", "auth0", &token).await.status(),
        StatusCode::OK
    );
    let response = sso.sso("globex", "auth0", &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let row = audit_row(&sso.admin, body["debug_id"].as_str().unwrap()).await;
    assert_eq!(row["reason"], "auth0: wrong_audience");
    // A provider name the tenant does not have is its own answer.
    let response = sso.sso("globex", "gigya", &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unknown_provider");
    // A tenant of no tenant of this client has its own code, the same whether
    // it exists elsewhere or not at all.
    let other_app = json!({"client_id": "other.example.com", "origins": ["https://other.example.com"], "realms": ["tenant-a"]});
    let added = sso.admin.create_client(&other_app).await;
    assert_eq!(added.status(), StatusCode::CREATED);
    put_tenant(&sso.admin, "elsewhere", json!({"environment": "production", "realm": "tenant-a", "clients": ["other.example.com"], "provisioning": "create"})).await;
    for tenant in ["elsewhere", "nobody-at-all"] {
        let response = sso.sso(tenant, "auth0", &token).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{tenant}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unknown_tenant", "{tenant}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("lists this client"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_auth0_access_token_for_the_configured_api_logs_in_and_names_its_application_in_azp() {
    let sso = Sso::start().await;
    let sub = unique("auth0|");
    let token = auth0_token(
        AUTH0_DOMAIN,
        json!({"sub": sub, "aud": ["acme-app", format!("https://{AUTH0_DOMAIN}/userinfo")], "azp": "the-spa-client"}),
    )
    .await;
    let response = sso.sso("acme", "auth0", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], ext("auth0", &auth0_issuer(), &sub));
}

#[tokio::test]
async fn a_piano_provider_without_its_secrets_says_so_and_logs_nobody_in() {
    let sso = Sso::start().await;
    let p = platforms();
    let piano = json!([{"name": "piano", "kind": "piano", "application_id": p.piano_aid, "base_url": p.piano}]);
    put_tenant(&sso.admin, "unset", sso_tenant("production", &piano)).await;
    let uid = unique("PNI");
    piano_user(&uid, json!({"email": "u@piano.example"})).await;
    let response = sso
        .sso("unset", "piano", &piano_token("production", &uid).await)
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "provider_not_configured");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("secrets")
    );
}

#[tokio::test]
async fn an_existing_only_tenant_finds_its_user_only_by_an_email_the_platform_verified() {
    let sso = Sso::start().await;
    let p = platforms();
    let auth0 = json!([{"name": "auth0", "kind": "auth0", "domain": AUTH0_DOMAIN, "audience": "acme-app",
        "base_url": format!("{}/{AUTH0_DOMAIN}", p.auth0)}]);
    let mut tenant = sso_tenant("production", &auth0);
    tenant["provisioning"] = "existing_only".into();
    put_tenant(&sso.admin, "directory", tenant).await;
    // Anyone can sign up at a platform with someone else's address, unverified.
    let claimed = auth0_token(
        AUTH0_DOMAIN,
        json!({"sub": unique("auth0|"), "email": "alice@tenant-a.test", "email_verified": false}),
    )
    .await;
    let response = sso.sso("directory", "auth0", &claimed).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unknown_user"
    );
    let verified = auth0_token(
        AUTH0_DOMAIN,
        json!({"sub": unique("auth0|"), "email": "alice@tenant-a.test", "email_verified": true}),
    )
    .await;
    let response = sso.sso("directory", "auth0", &verified).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let access = crate::support::jwt_claims(body["keycloak"]["access_token"].as_str().unwrap());
    assert_eq!(
        access["preferred_username"], "alice",
        "the directory's user: {access}"
    );
}

#[tokio::test]
async fn an_unverified_platform_email_grants_no_role_of_the_acl() {
    let sso = Sso::start().await;
    let created = sso
        .admin
        .send_json(
            Method::POST,
            "/admin/api/tenants/acme/api-keys",
            &json!({"operations": ["manage_resources"]}),
        )
        .await;
    let credential = created.json::<Value>().await.unwrap()["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let host = |method: Method, path: &str, body: Value| {
        reqwest::Client::new()
            .request(method, sso.app.url(path))
            .bearer_auth(&credential)
            .json(&body)
            .send()
    };
    let put = host(
        Method::PUT,
        "/api/v1/resources/town-hall",
        json!({"type": "event", "url": format!("{CRM_ORIGIN}/events/town-hall")}),
    )
    .await
    .unwrap();
    assert_eq!(
        put.status(),
        StatusCode::OK,
        "{}",
        put.text().await.unwrap()
    );
    let acl = host(
        Method::PUT,
        "/api/v1/resources/town-hall/acl",
        json!({"organizers": ["boss@news.example"]}),
    )
    .await
    .unwrap();
    assert_eq!(acl.status(), StatusCode::OK);
    let login = |email_verified: bool| {
        let app = &sso.app;
        async move {
            let token = auth0_token(
                AUTH0_DOMAIN,
                json!({"sub": unique("auth0|"), "email": "boss@news.example", "email_verified": email_verified}),
            )
            .await;
            frame_call(
                app,
                "/api/embed/sso",
                &json!({"client_id": CLIENT_ID, "tenant": "acme", "provider": "auth0", "token": token,
                        "resource": {"type": "event", "id": "town-hall"}}),
            )
            .await
            .json::<Value>()
            .await
            .unwrap()
        }
    };
    // The attack: another identity at the platform claims the boss's address.
    let claimed = login(false).await;
    assert_eq!(claimed["role"], "attendee", "{claimed}");
    assert_eq!(claimed["user"]["email_verified"], false);
    let verified = login(true).await;
    assert_eq!(verified["role"], "organizer", "{verified}");
}

/// A server that accepts connections, counts them and never answers.
async fn hanging_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn a_tenants_hanging_key_url_is_asked_once_and_slows_no_other_tenant() {
    let sso = Sso::start().await;
    let (jwks_url, accepted) = hanging_server().await;
    let mut slow = super::embed::tenant("sandbox", "create");
    slow["jwks_url"] = jwks_url.into();
    put_tenant(&sso.admin, "slow", slow).await;
    let key = super::embed::generate_key(&sso.admin, "slow", "k1", false).await;
    // The attack: anonymous junk tokens naming the slow tenant, with a kid it
    // has not registered, so the broker looks at its key URL.
    let now = {
        use authproxy::clock::Clock as _;
        sso.app.clock.now().timestamp()
    };
    let junk = |i: usize| {
        let claims = json!({"iss": "slow", "aud": format!("{}/embed/sandbox", sso.app.base_url),
            "sub": format!("junk-{i}"), "iat": now, "exp": now + 120, "jti": unique("jti-")});
        super::embed::sign_with(&key, "not-registered", claims.as_object().unwrap())
    };
    let mut pending = Vec::new();
    for i in 0..8 {
        let (url, token) = (sso.app.url("/api/embed/redeem"), junk(i));
        pending.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("origin", CRM_ORIGIN)
                .json(&json!({"client_id": CLIENT_ID, "token": token}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    while accepted.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Meanwhile a healthy tenant's user logs in through Auth0, whose keys the
    // broker also fetches: nothing is shared with the slow URL.
    let token = auth0_token(AUTH0_DOMAIN, json!({"sub": unique("auth0|")})).await;
    assert_eq!(
        sso.sso("acme", "auth0", &token).await.status(),
        StatusCode::OK
    );
    assert!(
        pending.iter().all(|p| !p.is_finished()),
        "the healthy login finished while the slow key URL was still being asked"
    );
    for junk in pending {
        let status = junk.await.unwrap();
        assert!(!status.is_success(), "{status}");
    }
    // Once failed, the URL is not asked again within its backoff.
    let again = reqwest::Client::new()
        .post(sso.app.url("/api/embed/redeem"))
        .header("origin", CRM_ORIGIN)
        .json(&json!({"client_id": CLIENT_ID, "token": junk(99)}))
        .send()
        .await
        .unwrap();
    assert!(!again.status().is_success());
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one fetch for every request, and the failure remembered"
    );
}

#[tokio::test]
async fn the_frames_sso_config_answers_its_page_only_never_a_call_without_origin() {
    let sso = Sso::start().await;
    let body = json!({"client_id": CLIENT_ID, "tenant": "acme"});
    let from_page = frame_call(&sso.app, "/api/embed/sso/config", &body).await;
    assert_eq!(from_page.status(), StatusCode::OK);
    assert_eq!(
        from_page.json::<Value>().await.unwrap()["host_origin"],
        "https://news.example"
    );
    let anonymous = reqwest::Client::new()
        .post(sso.app.url("/api/embed/sso/config"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);
    let answer: Value = anonymous.json().await.unwrap();
    assert_eq!(answer["error"], "origin_not_allowed");
    assert!(answer.get("host_origin").is_none() && answer.get("providers").is_none());
}

#[tokio::test]
async fn an_oidc_token_for_several_parties_without_azp_is_refused() {
    let sso = Sso::start().await;
    let sub = unique("oidc-");
    let shared = oidc_token(json!({"sub": sub, "aud": ["acme-oidc", "another-app"]})).await;
    let refused = sso.sso("acme", "oidc", &shared).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let named =
        oidc_token(json!({"sub": sub, "aud": ["acme-oidc", "another-app"], "azp": "acme-oidc"}))
            .await;
    assert_eq!(
        sso.sso("acme", "oidc", &named).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sso_logins_are_counted_by_outcome_and_code() {
    let sso = Sso::with_config(TestConfig::demo().raw("[metrics]\nlisten = \"127.0.0.1:0\"")).await;
    let good = auth0_token(AUTH0_DOMAIN, json!({"sub": unique("auth0|")})).await;
    assert_eq!(
        sso.sso("acme", "auth0", &good).await.status(),
        StatusCode::OK
    );
    let wrong = auth0_token(AUTH0_DOMAIN, json!({"sub": unique("auth0|"), "aud": "x"})).await;
    assert_eq!(
        sso.sso("acme", "auth0", &wrong).await.status(),
        StatusCode::BAD_REQUEST
    );
    let url = format!("http://{}/metrics", sso.app.metrics_addr.unwrap());
    let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
    let count = |labels: &[(&str, &str)]| {
        super::operations::sample(&metrics, "authproxy_sso_logins_total", labels)
    };
    assert!(
        (count(&[("outcome", "granted")]) - 1.0).abs() < f64::EPSILON,
        "{metrics}"
    );
    assert!(
        (count(&[("outcome", "refused"), ("error", "invalid_token")]) - 1.0).abs() < f64::EPSILON
    );
}
