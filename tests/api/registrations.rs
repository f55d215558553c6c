//! Per-user embed URLs scoped to a resource, roles from the resource's ACL,
//! registrations unique per normalised email with join URLs that are
//! credentials, and one active session per registration under both policies,
//! also when a thousand joins race.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::embed::{
    Host, api_key, audit_row, host_api, put_tenant, rand_suffix, session_call, tenant,
};
use crate::support::{CLIENT_ID, CRM_ORIGIN, jwt_claims};

/// A host with resources `ev-1` and `ev-2` (events) and an API key for all of
/// this operations.
struct Events {
    host: Host,
    credential: String,
}

const ALL: [&str; 5] = [
    "manage_resources",
    "create_embeds",
    "manage_registrations",
    "create_links",
    "logout",
];

impl Events {
    async fn start() -> Self {
        let host = Host::start().await;
        let (_, credential) = api_key(&host, "acme", &ALL).await;
        let events = Self { host, credential };
        for id in ["ev-1", "ev-2"] {
            let put = events
                .call(Method::PUT, &format!("/api/v1/resources/{id}"))
                .json(&json!({"type": "event", "url": format!("{CRM_ORIGIN}/events/{id}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                put.status(),
                StatusCode::OK,
                "{}",
                put.text().await.unwrap()
            );
        }
        events
    }

    fn call(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        host_api(&self.host, method, path, &self.credential)
    }

    /// The host's revocation of a registration for `ev-1`, not yet sent.
    fn revocation(&self, registration: &str) -> reqwest::RequestBuilder {
        self.call(
            Method::DELETE,
            &format!("/api/v1/resources/ev-1/registrations/{registration}"),
        )
    }

    async fn embed_url(&self, body: Value) -> String {
        let response = self
            .call(Method::POST, "/api/v1/embeds")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
        let answer: Value = response.json().await.unwrap();
        assert!(answer["expires_at"].is_string());
        answer["embed_url"].as_str().unwrap().to_owned()
    }

    async fn register(&self, resource: &str, name: &str, email: &str) -> reqwest::Response {
        self.call(
            Method::POST,
            &format!("/api/v1/resources/{resource}/registrations"),
        )
        .json(&json!({"name": name, "email": email, "metadata": {"seat": "A1"}}))
        .send()
        .await
        .unwrap()
    }

    /// Follows a join URL: the ticket in the fragment of the 303's target.
    async fn join(&self, join_url: &str) -> String {
        let response = no_redirects().get(join_url).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            response.text().await.unwrap()
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        ticket_of(response.headers()["location"].to_str().unwrap())
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn ticket_of(url: &str) -> String {
    let (_, fragment) = url
        .split_once("#authproxy_ticket=")
        .expect("a ticket in the fragment");
    fragment.to_owned()
}

fn event(id: &str) -> Value {
    json!({"type": "event", "id": id})
}

async fn redeem_ticket(host: &Host, ticket: &str, resource: Option<&str>) -> reqwest::Response {
    let mut body = json!({"client_id": CLIENT_ID, "ticket": ticket});
    if let Some(resource) = resource {
        body["resource"] = event(resource);
    }
    reqwest::Client::new()
        .post(host.app.url("/api/embed/redeem"))
        .header("origin", CRM_ORIGIN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A refused ticket: `invalid_ticket` and a debug id only; the audited reason.
async fn ticket_refusal(host: &Host, response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_ticket");
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only the code and the debug id"
    );
    let row = audit_row(&host.admin, body["debug_id"].as_str().unwrap()).await;
    assert_eq!(row["outcome"], "denied");
    row["reason"].as_str().unwrap().to_owned()
}

async fn renew(host: &Host, session: &str, resource: Option<&str>) -> reqwest::Response {
    let mut body = json!({"client_id": CLIENT_ID, "session_token": session});
    if let Some(resource) = resource {
        body["resource"] = event(resource);
    }
    reqwest::Client::new()
        .post(host.app.url("/api/embed/session"))
        .header("origin", CRM_ORIGIN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The frame's long poll, started now: its answer and how long it took.
fn spawn_wait(host: &Host, token: &str) -> tokio::task::JoinHandle<(Value, Duration)> {
    let (url, token) = (host.app.url("/api/embed/session/wait"), token.to_owned());
    tokio::spawn(async move {
        let begun = Instant::now();
        let answer: Value = reqwest::Client::new()
            .post(url)
            .header("origin", CRM_ORIGIN)
            .json(&json!({"client_id": CLIENT_ID, "session_token": token}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (answer, begun.elapsed())
    })
}

async fn session_of(response: reqwest::Response) -> Value {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_embed_url_logs_its_user_in_to_its_resource_once_and_roles_follow_the_acl() {
    let events = Events::start().await;
    let host = &events.host;
    let sub = format!("u-{}", rand_suffix());
    let body = json!({
        "user": {"id": sub, "name": "Ada Lovelace", "email": "ada@host.example"},
        "resource": event("ev-1"), "resource_specific": true,
    });
    let url = events.embed_url(body.clone()).await;
    assert!(
        url.starts_with(&format!("{CRM_ORIGIN}/events/ev-1#authproxy_ticket=")),
        "{url}"
    );
    for personal in ["Ada", "ada@", &sub] {
        assert!(!url.contains(personal), "no personal data in the URL");
    }
    assert_eq!(ticket_of(&url).len(), 43, "256 random bits");

    // In another resource's frame: refused, and the ticket is used up.
    let ticket = ticket_of(&url);
    let elsewhere = redeem_ticket(host, &ticket, Some("ev-2")).await;
    assert_eq!(ticket_refusal(host, elsewhere).await, "resource_mismatch");
    let after = redeem_ticket(host, &ticket, Some("ev-1")).await;
    assert_eq!(ticket_refusal(host, after).await, "ticket_used");

    // In its own frame: once.
    let ticket = ticket_of(&events.embed_url(body.clone()).await);
    let session = session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    assert_eq!(session["user"]["name"], "Ada Lovelace");
    assert_eq!(session["resource"], event("ev-1"));
    assert_eq!(session["role"], "attendee");
    assert!(session["keycloak"]["access_token"].is_string());
    let claims = jwt_claims(session["session_token"].as_str().unwrap());
    assert_eq!(claims["role"], "attendee");
    assert_eq!(claims["resource_specific"], true);
    let again = redeem_ticket(host, &ticket, Some("ev-1")).await;
    assert_eq!(ticket_refusal(host, again).await, "ticket_used");
    let token = session["session_token"].as_str().unwrap().to_owned();

    // The session serves its resource only.
    let other = renew(host, &token, Some("ev-2")).await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        other.json::<Value>().await.unwrap()["error"],
        "resource_not_allowed"
    );

    // A presenter added to the ACL is one at the next renewal, with no new URL.
    let acl = events
        .call(Method::PUT, "/api/v1/resources/ev-1/acl")
        .json(&json!({"presenters": [sub], "organizers": ["someone@else.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(acl.status(), StatusCode::OK);
    let renewed = session_of(renew(host, &token, Some("ev-1")).await).await;
    assert_eq!(renewed["role"], "presenter");
    assert_eq!(
        jwt_claims(renewed["session_token"].as_str().unwrap())["role"],
        "presenter"
    );
    // A role claimed in any token counts for nothing: only the ACL decides.
    let by_email = events
        .call(Method::PUT, "/api/v1/resources/ev-1/acl")
        .json(&json!({"organizers": ["ADA@host.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_email.status(), StatusCode::OK);
    let renewed =
        session_of(renew(host, renewed["session_token"].as_str().unwrap(), None).await).await;
    assert_eq!(
        renewed["role"], "attendee",
        "the host's email grants no role while the tenant does not let its hosts vouch for emails"
    );
    let mut vouching = tenant("sandbox", "create");
    vouching["hosts_vouch_for_emails"] = true.into();
    put_tenant(&host.admin, "acme", vouching).await;
    let vouched = ticket_of(&events.embed_url(body.clone()).await);
    let vouched = session_of(redeem_ticket(host, &vouched, Some("ev-1")).await).await;
    assert_eq!(
        vouched["role"], "organizer",
        "vouched for, the email counts"
    );

    // Without resource_specific, any resource of the tenant, each with its role.
    let open = json!({"user": {"id": sub, "name": "Ada"}, "resource": event("ev-1")});
    let ticket = ticket_of(&events.embed_url(open).await);
    let session = session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    let on_two = session_of(
        renew(
            host,
            session["session_token"].as_str().unwrap(),
            Some("ev-2"),
        )
        .await,
    )
    .await;
    assert_eq!(on_two["resource"], event("ev-2"));
    assert_eq!(on_two["role"], "attendee");

    // 121 s later a ticket is refused.
    let ticket = ticket_of(&events.embed_url(body).await);
    host.app.clock.advance(TimeDelta::seconds(121));
    let late = redeem_ticket(host, &ticket, Some("ev-1")).await;
    assert_eq!(ticket_refusal(host, late).await, "ticket_expired");
    let forged = redeem_ticket(host, &"A".repeat(43), Some("ev-1")).await;
    assert_eq!(ticket_refusal(host, forged).await, "ticket_unknown");
}

#[tokio::test]
async fn a_ticket_serves_only_the_apps_its_tenant_uses() {
    let events = Events::start().await;
    let host = &events.host;
    let sub = format!("u-{}", rand_suffix());
    let other = host
        .admin
        .send_json(
            Method::POST,
            "/admin/api/clients",
            &json!({"client_id": "other.example", "realms": ["tenant-a"], "origins": ["https://other.example"]}),
        )
        .await;
    assert_eq!(other.status(), StatusCode::CREATED);
    let body = json!({"user": {"id": sub}, "resource": event("ev-1")});
    let ticket = ticket_of(&events.embed_url(body).await);
    let foreign = reqwest::Client::new()
        .post(host.app.url("/api/embed/redeem"))
        .header("origin", "https://other.example")
        .json(&json!({"client_id": "other.example", "ticket": ticket, "resource": event("ev-1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(ticket_refusal(host, foreign).await, "client_not_allowed");
}

#[tokio::test]
async fn a_join_url_sends_no_ticket_to_an_origin_its_client_no_longer_registers() {
    let events = Events::start().await;
    let host = &events.host;
    let venue = "https://venue.example";
    let created = host
        .admin
        .create_client(
            &json!({"client_id": "venue.example", "realms": ["tenant-a"], "origins": [venue]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let mut settings = tenant("sandbox", "create");
    settings["clients"] = json!([CLIENT_ID, "venue.example"]);
    put_tenant(&host.admin, "acme", settings).await;
    let put = events
        .call(Method::PUT, "/api/v1/resources/ev-venue")
        .json(&json!({"type": "event", "url": format!("{venue}/events/ev-venue")}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let created: Value = events
        .register(
            "ev-venue",
            "Ada",
            &format!("ada-{}@example.com", rand_suffix()),
        )
        .await
        .json()
        .await
        .unwrap();
    let join_url = created["join_url"].as_str().unwrap();
    // The administrator removes the venue's origin from its client.
    let removed = host
        .admin
        .send_json(
            Method::PATCH,
            "/admin/api/clients/venue.example",
            &json!({"remove_origins": [venue], "add_origins": ["https://new-venue.example"]}),
        )
        .await;
    assert_eq!(
        removed.status(),
        StatusCode::OK,
        "{}",
        removed.text().await.unwrap()
    );
    let refused = no_redirects().get(join_url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused.headers().get("location").is_none(),
        "no ticket sent anywhere"
    );
    let embed = events
        .call(Method::POST, "/api/v1/embeds")
        .json(&json!({"user": {"id": "u-venue"}, "resource": event("ev-venue")}))
        .send()
        .await
        .unwrap();
    assert_eq!(embed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        embed.json::<Value>().await.unwrap()["error"],
        "invalid_target"
    );
}

#[tokio::test]
async fn a_ticket_refused_on_another_clients_page_is_not_used_up() {
    let events = Events::start().await;
    let host = &events.host;
    let other = "http://127.0.0.1:8083";
    let created = host
        .admin
        .create_client(
            &json!({"client_id": "127.0.0.1:8083", "realms": ["tenant-a"], "origins": [other]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body = json!({"user": {"id": format!("u-{}", rand_suffix()), "name": "Ada"}, "resource": event("ev-1")});
    let ticket = ticket_of(&events.embed_url(body).await);
    // A registered page of a client the tenant does not use.
    let elsewhere = reqwest::Client::new()
        .post(host.app.url("/api/embed/redeem"))
        .header("origin", other)
        .json(&json!({"client_id": "127.0.0.1:8083", "ticket": ticket, "resource": event("ev-1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(ticket_refusal(host, elsewhere).await, "client_not_allowed");
    let rightful = redeem_ticket(host, &ticket, Some("ev-1")).await;
    assert_eq!(
        rightful.status(),
        StatusCode::OK,
        "the rightful frame still logs in"
    );
}

#[tokio::test]
async fn a_registration_with_someone_elses_email_never_becomes_their_account() {
    let events = Events::start().await;
    let host = &events.host;
    // Even a tenant that lets its hosts vouch for emails: a typed email is nobody's proof.
    let mut tenant_body = tenant("sandbox", "existing_only");
    tenant_body["hosts_vouch_for_emails"] = true.into();
    put_tenant(&host.admin, "acme", tenant_body).await;
    let acl = events
        .call(Method::PUT, "/api/v1/resources/ev-1/acl")
        .json(&json!({"organizers": ["alice@tenant-a.test"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(acl.status(), StatusCode::OK);
    // What a sign-up form does for whoever fills it.
    let created: Value = events
        .register("ev-1", "Mallory", "alice@tenant-a.test")
        .await
        .json()
        .await
        .unwrap();
    let ticket = events.join(created["join_url"].as_str().unwrap()).await;
    let refused = redeem_ticket(host, &ticket, Some("ev-1")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let request_id = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "email_not_verified", "{body}");
    assert!(body.get("keycloak").is_none(), "no token of alice's");
    let row = audit_row(&host.admin, &request_id).await;
    assert_eq!(
        row["reason"],
        "existing_only: the email is not vouched for by a party the tenant trusts"
    );
}

#[tokio::test]
async fn registrations_are_unique_per_normalised_email_and_a_join_url_is_a_revocable_credential() {
    let events = Events::start().await;
    let host = &events.host;
    let created = events.register("ev-1", "Zoë", "Zo\u{eb}@Example.com").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let registration = created["registration_id"].as_str().unwrap().to_owned();
    let join_url = created["join_url"].as_str().unwrap().to_owned();
    assert!(join_url.starts_with(&host.app.url("/join/")));
    // Neither the name nor the address (the random rest may hold any two letters).
    let lowered = join_url.to_lowercase();
    let personal = lowered.contains("zo\u{eb}") || lowered.contains("example.com");
    assert!(!personal, "no personal data in the join URL: {join_url}");

    // The same person, however the address is written.
    for same in ["zo\u{eb}@example.com", "ZOE\u{308}@EXAMPLE.COM"] {
        let again = events.register("ev-1", "Zoë again", same).await;
        assert_eq!(again.status(), StatusCode::CONFLICT, "{same:?}");
        assert_eq!(
            again.json::<Value>().await.unwrap()["error"],
            "already_registered"
        );
    }
    let fullwidth = events
        .register("ev-1", "Zoë", "\u{ff3a}o\u{eb}@example.com")
        .await;
    assert_eq!(fullwidth.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        fullwidth.json::<Value>().await.unwrap()["error"],
        "invalid_email"
    );
    let cyrillic = events
        .register("ev-1", "Zoë", "z\u{43e}\u{eb}@example.com")
        .await;
    assert_eq!(
        cyrillic.json::<Value>().await.unwrap()["error"],
        "invalid_email"
    );
    // Another resource is another list.
    assert_eq!(
        events
            .register("ev-2", "Zoë", "zo\u{eb}@example.com")
            .await
            .status(),
        StatusCode::CREATED
    );

    // What was registered reads back (normalised), without the join URL.
    let read: Value = events
        .call(
            Method::GET,
            &format!("/api/v1/resources/ev-1/registrations/{registration}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&read["name"], &read["email"], &read["metadata"]),
        (
            &json!("Zoë"),
            &json!("zo\u{eb}@example.com"),
            &json!({"seat": "A1"})
        )
    );
    assert!(read.get("join_url").is_none());

    // Each use of the join URL mints a fresh ticket for the registrant.
    let first = events.join(&join_url).await;
    assert_ne!(
        events.join(&join_url).await,
        first,
        "a fresh ticket per use"
    );
    let session = session_of(redeem_ticket(host, &first, Some("ev-1")).await).await;
    assert_eq!(session["sub"], format!("registration:{registration}"));
    assert_eq!(session["user"]["email"], "zo\u{eb}@example.com");
    let token = session["session_token"].as_str().unwrap().to_owned();

    // Re-issued: the new URL works, the old does not.
    let reissued = events
        .call(
            Method::POST,
            &format!("/api/v1/resources/ev-1/registrations/{registration}/join-url"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reissued.status(), StatusCode::OK);
    let new_url = reissued.json::<Value>().await.unwrap()["join_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_url, join_url);
    let old = no_redirects().get(&join_url).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    frameable_by_the_crm(&old);
    assert!(old.text().await.unwrap().contains("registration_not_found"));
    let fresh = events.join(&new_url).await;

    let revoke = events.revocation(&registration);
    revoke_and_check(host, revoke, &token, &new_url, &fresh).await;
    // Revoked, the address may register again.
    assert_eq!(
        events
            .register("ev-1", "Zoë", "zoe\u{308}@example.com")
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// The join URL opens inside the host's frame: its error page may be framed
/// there (by the registered origins), so the registrant reads it.
fn frameable_by_the_crm(page: &reqwest::Response) {
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("frame-ancestors {CRM_ORIGIN}")),
        "{csp}"
    );
}

/// Revokes a registration with `revoke` (the host's call or an
/// administrator's): its open session ends (the frame's wait answers at once),
/// its join URL and its unused tickets stop.
async fn revoke_and_check(
    host: &Host,
    revoke: reqwest::RequestBuilder,
    token: &str,
    join_url: &str,
    ticket: &str,
) {
    let waiter = spawn_wait(host, token);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let revoked = revoke.send().await.unwrap();
    assert!(
        revoked.status().is_success(),
        "{}",
        revoked.text().await.unwrap()
    );
    let (told, took) = waiter.await.unwrap();
    assert_eq!(told, json!({"ended": true, "reason": "revoked"}));
    assert!(took < Duration::from_secs(3), "told after {took:?}");
    assert_eq!(
        renew(host, token, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        no_redirects().get(join_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let unused = redeem_ticket(host, ticket, Some("ev-1")).await;
    assert_eq!(ticket_refusal(host, unused).await, "registration_revoked");
}

/// Unknown, malformed and misplaced ids: clear refusals, nothing revoked.
async fn refusals(admin: &crate::support::AdminApi, ada: &str) {
    for (path, status) in [
        ("/admin/api/tenants/nobody/resources", StatusCode::NOT_FOUND),
        (
            "/admin/api/tenants/acme/resources/ev-9/registrations",
            StatusCode::NOT_FOUND,
        ),
        (
            "/admin/api/tenants/acme/resources/Not%20An%20Id/registrations",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(admin.get(path).await.status(), status, "{path}");
    }
    let elsewhere = admin
        .request(
            Method::DELETE,
            &format!("/admin/api/tenants/acme/resources/ev-2/registrations/{ada}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        elsewhere.json::<Value>().await.unwrap()["error"],
        "not_found"
    );
}

/// The CLI, locally and against the broker: the same lists; a revocation only
/// where the sessions are (the running broker).
fn cli_lists_and_revokes(app: &crate::support::TestApp, grace: &str) {
    let local = crate::support::cli(&app.config_path, &["tenants", "resources", "acme", "list"]);
    let text = String::from_utf8_lossy(&local.stdout);
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ev-1\tevent\t1 registered\t")),
        "{text}"
    );
    let refused = crate::support::cli(
        &app.config_path,
        &[
            "tenants",
            "resources",
            "acme",
            "revoke-registration",
            "ev-1",
            grace,
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("run this with --url"));

    let dir = tempfile::tempdir().unwrap();
    let remote = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
            .env_remove("AUTHPROXY_ACTOR")
            .env("AUTHPROXY_LOGINS", dir.path().join("logins.json"))
            .env("AUTHPROXY_URL", &app.base_url)
            .env("AUTHPROXY_ADMIN_TOKEN", app.admin().token())
            .args(args)
            .output()
            .unwrap()
    };
    let listed = remote(&[
        "tenants",
        "resources",
        "acme",
        "registrations",
        "ev-1",
        "--output",
        "json",
    ]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["email"], "grace@example.com");
    let revoked = remote(&[
        "tenants",
        "resources",
        "acme",
        "revoke-registration",
        "ev-1",
        grace,
    ]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert!(String::from_utf8_lossy(&revoked.stdout).contains("its sessions ended"));
    let none = remote(&["tenants", "resources", "acme", "registrations", "ev-1"]);
    assert!(none.status.success() && none.stdout.is_empty());
}

// The CLI blocks a worker while the broker answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_lists_resources_and_registrations_and_revokes_one_ending_its_session() {
    let events = Events::start().await;
    let (host, admin) = (&events.host, &events.host.admin);
    let mut made = Vec::new();
    for (name, email) in [("Ada", "ada@example.com"), ("Grace", "grace@example.com")] {
        let created = events.register("ev-1", name, email).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        made.push(created.json::<Value>().await.unwrap());
    }

    let resources: Value = admin.get_json("/admin/api/tenants/acme/resources").await;
    let counts: Vec<(&str, u64)> = resources
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource_id"].as_str().unwrap(),
                r["registrations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("ev-1", 2), ("ev-2", 0)]);
    assert_eq!(resources[0]["url"], format!("{CRM_ORIGIN}/events/ev-1"));
    assert_eq!(resources[0]["type"], "event");

    let listed: Value = admin
        .get_json("/admin/api/tenants/acme/resources/ev-1/registrations")
        .await;
    let people: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["email"].as_str().unwrap()))
        .collect();
    assert_eq!(
        people,
        [("Ada", "ada@example.com"), ("Grace", "grace@example.com")]
    );
    assert!(
        listed[0].get("join_url").is_none() && !listed.to_string().contains("/join/"),
        "an administrator never sees a join URL"
    );

    let ada = made[0]["registration_id"].as_str().unwrap();
    refusals(admin, ada).await;

    // Ada joins; the administrator revokes her registration.
    let join_url = made[0]["join_url"].as_str().unwrap();
    let ticket = events.join(join_url).await;
    let session = session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    let token = session["session_token"].as_str().unwrap();
    let unused = events.join(join_url).await;
    let revoke = admin.request(
        Method::DELETE,
        &format!("/admin/api/tenants/acme/resources/ev-1/registrations/{ada}"),
    );
    revoke_and_check(host, revoke, token, join_url, &unused).await;

    let left: Value = admin
        .get_json("/admin/api/tenants/acme/resources/ev-1/registrations")
        .await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["name"], "Grace");
    let grace = left[0]["registration_id"].as_str().unwrap();
    cli_lists_and_revokes(&host.app, grace);
    let row = admin
        .audit()
        .await
        .into_iter()
        .find(|r| r["action"] == "registration.revoke")
        .expect("the revocation is audited");
    assert_eq!(row["subject"], format!("acme/ev-1/{ada}"));
    assert!(row["actor"].as_str().unwrap().starts_with("admin:"));

    // Removing the tenant removes its resources and registrations too.
    let removed = admin
        .request(Method::DELETE, "/admin/api/tenants/acme")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    put_tenant(admin, "acme", tenant("sandbox", "create")).await;
    let after: Value = admin.get_json("/admin/api/tenants/acme/resources").await;
    assert_eq!(after, json!([]));
}

#[tokio::test]
async fn a_registration_has_one_active_session_the_newest_or_the_first_as_the_tenant_says() {
    let events = Events::start().await;
    let host = &events.host;
    let created: Value = events
        .register("ev-1", "Ola", "ola@example.com")
        .await
        .json()
        .await
        .unwrap();
    let join_url = created["join_url"].as_str().unwrap().to_owned();

    // terminate_oldest (the default): the first frame is told within 2 s.
    let ticket = events.join(&join_url).await;
    let first = session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    let first = first["session_token"].as_str().unwrap().to_owned();
    let waiter = spawn_wait(host, &first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ticket = events.join(&join_url).await;
    let second = session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    let (told, took) = waiter.await.unwrap();
    assert_eq!(told, json!({"ended": true, "reason": "replaced"}));
    assert!(took < Duration::from_secs(2), "told after {took:?}");
    let old = renew(host, &first, None).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        old.json::<Value>().await.unwrap()["error"],
        "session_replaced"
    );
    assert_eq!(
        spawn_wait(host, &first).await.unwrap().0["reason"],
        "replaced"
    );
    session_of(renew(host, second["session_token"].as_str().unwrap(), None).await).await;

    // deny_new: the second is refused while the first lives, and welcome once
    // the first logged out.
    put_tenant(&host.admin, "acme", {
        let mut t = tenant("sandbox", "create");
        t["embeds"] = json!({"session_policy": "deny_new"});
        t
    })
    .await;
    let created: Value = events
        .register("ev-2", "Pia", "pia@example.com")
        .await
        .json()
        .await
        .unwrap();
    let join_url = created["join_url"].as_str().unwrap().to_owned();
    let ticket = events.join(&join_url).await;
    let held = session_of(redeem_ticket(host, &ticket, Some("ev-2")).await).await;
    let ticket = events.join(&join_url).await;
    let refused = redeem_ticket(host, &ticket, Some("ev-2")).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "session_active"
    );
    let logout = session_call(
        host,
        "/api/embed/logout",
        held["session_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(logout.status(), StatusCode::OK);
    let ticket = events.join(&join_url).await;
    session_of(redeem_ticket(host, &ticket, Some("ev-2")).await).await;

    // A frame closed without logging out frees the place once its lease lapses.
    let ticket = events.join(&join_url).await;
    assert_eq!(
        redeem_ticket(host, &ticket, Some("ev-2")).await.status(),
        StatusCode::CONFLICT
    );
    host.app.clock.advance(TimeDelta::seconds(121));
    let ticket = events.join(&join_url).await;
    session_of(redeem_ticket(host, &ticket, Some("ev-2")).await).await;
}

/// Joins `n` times at once: each follows the join URL and redeems its ticket.
async fn parallel_joins(host: &Host, join_url: &str, n: usize) -> Vec<(StatusCode, Value)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let redeem_url = host.app.url("/api/embed/redeem");
    let joins: Vec<_> = (0..n)
        .map(|_| {
            let (client, join_url, redeem_url) = (client.clone(), join_url.to_owned(), redeem_url.clone());
            tokio::spawn(async move {
                let joined = client.get(&join_url).send().await.unwrap();
                let ticket = ticket_of(joined.headers()["location"].to_str().unwrap());
                let redeemed = client
                    .post(&redeem_url)
                    .header("origin", CRM_ORIGIN)
                    .json(&json!({"client_id": CLIENT_ID, "ticket": ticket, "resource": event("ev-1")}))
                    .send()
                    .await
                    .unwrap();
                (redeemed.status(), redeemed.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for join in joins {
        answers.push(join.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn of_a_thousand_parallel_joins_exactly_one_session_is_left_under_either_policy() {
    let events = Events::start().await;
    let host = &events.host;
    let created: Value = events
        .register("ev-1", "Max", "max@example.com")
        .await
        .json()
        .await
        .unwrap();
    let join_url = created["join_url"].as_str().unwrap().to_owned();
    let answers = parallel_joins(host, &join_url, 1000).await;
    let tokens: Vec<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(
                *status,
                StatusCode::OK,
                "terminate_oldest admits each join: {body}"
            );
            body["session_token"].as_str().unwrap().to_owned()
        })
        .collect();
    let renewals: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let url = host.app.url("/api/embed/session");
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .header("origin", CRM_ORIGIN)
                    .json(&json!({"client_id": CLIENT_ID, "session_token": token}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut live = 0;
    for renewal in renewals {
        live += usize::from(renewal.await.unwrap() == StatusCode::OK);
    }
    assert_eq!(live, 1, "exactly one of the thousand sessions lives");

    put_tenant(&host.admin, "acme", {
        let mut t = tenant("sandbox", "create");
        t["embeds"] = json!({"session_policy": "deny_new"});
        t
    })
    .await;
    let created: Value = events
        .register("ev-1", "Mia", "mia@example.com")
        .await
        .json()
        .await
        .unwrap();
    let join_url = created["join_url"].as_str().unwrap().to_owned();
    let answers = parallel_joins(host, &join_url, 1000).await;
    let admitted = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let denied = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["error"] == "session_active")
        .count();
    assert_eq!((admitted, denied), (1, 999));
}

/// A request (method, path, the API key if not the full one, body) and the
/// status and code it must get.
type BadCase<'a> = (Method, &'a str, Option<&'a str>, Value, StatusCode, &'a str);

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one table of bad inputs")]
async fn the_host_endpoints_refuse_bad_input_with_a_stable_code_and_log_no_personal_data() {
    let events = Events::start().await;
    let host = &events.host;
    let (_, embeds_only) = api_key(host, "acme", &["create_embeds"]).await;
    let deep = (0..6).fold(json!(1), |inner, _| json!({ "a": inner }));
    let cases: Vec<BadCase> = vec![
        (
            Method::POST,
            "/api/v1/embeds",
            None,
            json!({"user": {"id": 7}}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/embeds",
            None,
            json!({"user": {"id": "u"}, "extra": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/embeds",
            None,
            json!({"user": {"id": "u"}, "resource": event("nope")}),
            StatusCode::NOT_FOUND,
            "resource_not_found",
        ),
        (
            Method::POST,
            "/api/v1/embeds",
            None,
            json!({"user": {"id": "u"}}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/embeds",
            None,
            json!({"user": {"id": "u"}, "resource_specific": true}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/embeds",
            None,
            json!({"tenant": "globex", "user": {"id": "u"}}),
            StatusCode::FORBIDDEN,
            "operation_not_allowed",
        ),
        (
            Method::POST,
            "/api/v1/embeds",
            None,
            json!({"user": {"id": "u", "avatar": "http://x"}, "resource": event("ev-1")}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/resources/ev-1/registrations",
            None,
            json!({"name": "N", "email": "n@example.com", "metadata": {"x": "y".repeat(5000)}}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/resources/ev-1/registrations",
            None,
            json!({"name": "N", "email": "n@example.com", "metadata": deep}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/resources/ev-1/registrations",
            None,
            json!({"name": "N", "email": "n@example.com", "metadata": [1]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/resources/ev-1/registrations",
            None,
            json!({"name": "", "email": "n@example.com"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/resources/ev-1/registrations",
            None,
            json!({"name": "N", "email": "no-at-sign"}),
            StatusCode::BAD_REQUEST,
            "invalid_email",
        ),
        (
            Method::POST,
            "/api/v1/resources/nope/registrations",
            None,
            json!({"name": "N", "email": "n@example.com"}),
            StatusCode::NOT_FOUND,
            "resource_not_found",
        ),
        (
            Method::POST,
            "/api/v1/resources/ev-1/registrations",
            Some(&embeds_only),
            json!({"name": "N", "email": "n@example.com"}),
            StatusCode::FORBIDDEN,
            "operation_not_allowed",
        ),
        (
            Method::PUT,
            "/api/v1/resources/BAD%20ID",
            None,
            json!({"type": "event", "url": format!("{CRM_ORIGIN}/x")}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/resources/ev-3",
            None,
            json!({"type": "event", "url": "https://elsewhere.example/x"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/resources/ev-3",
            None,
            json!({"type": "event", "url": format!("{CRM_ORIGIN}/x#frag")}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/resources/ev-1/acl",
            None,
            json!({"presenters": "u1"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/resources/ev-1/acl",
            None,
            json!({"presenters": vec!["u"; 251]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::DELETE,
            "/api/v1/resources/ev-1/registrations/nope",
            None,
            json!({}),
            StatusCode::NOT_FOUND,
            "registration_not_found",
        ),
    ];
    for (method, path, key, body, status, code) in cases {
        let response = host_api(
            host,
            method.clone(),
            path,
            key.unwrap_or(&events.credential),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), status, "{method} {path} {body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], code, "{method} {path} {body}: {answer}");
        assert!(
            answer["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    let unauthenticated = reqwest::Client::new()
        .post(host.app.url("/api/v1/embeds"))
        .json(&json!({"user": {"id": "u"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let registered = events
        .register("ev-1", "Secret Person", "secret.person@example.com")
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let logs = crate::support::captured_logs();
    for personal in ["Secret Person", "secret.person@example.com"] {
        assert!(!logs.contains(personal), "the log names no one");
    }
}

#[tokio::test]
async fn a_tenant_that_asks_for_one_session_per_user_gets_it_for_embed_urls_too() {
    let events = Events::start().await;
    let host = &events.host;
    put_tenant(&host.admin, "acme", {
        let mut t = tenant("sandbox", "create");
        t["embeds"] = json!({"one_session_per_user": true});
        t
    })
    .await;
    let sub = format!("one-{}", rand_suffix());
    let body = json!({"user": {"id": sub, "name": "Uno"}, "resource": event("ev-1")});
    let ticket = ticket_of(&events.embed_url(body.clone()).await);
    let first = session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    let ticket = ticket_of(&events.embed_url(body).await);
    let second = session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    let old = renew(host, first["session_token"].as_str().unwrap(), None).await;
    assert_eq!(
        old.json::<Value>().await.unwrap()["error"],
        "session_replaced"
    );
    session_of(renew(host, second["session_token"].as_str().unwrap(), None).await).await;
    // Another user keeps their own session.
    let other = json!({"user": {"id": format!("{sub}-2")}, "resource": event("ev-1")});
    let ticket = ticket_of(&events.embed_url(other).await);
    session_of(redeem_ticket(host, &ticket, Some("ev-1")).await).await;
    session_of(renew(host, second["session_token"].as_str().unwrap(), None).await).await;
}

#[tokio::test]
async fn with_the_audit_trail_down_a_change_is_answered_as_made_and_nothing_is_handed_out() {
    let events = Events::start().await;
    let down = events.host.app.audit_trail_down();

    // A change: it takes effect, so it is answered as made (a retry would
    // make it again).
    let put = events
        .call(Method::PUT, "/api/v1/resources/ev-3")
        .json(&json!({"type": "event", "url": format!("{CRM_ORIGIN}/events/ev-3")}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status(),
        StatusCode::OK,
        "{}",
        put.text().await.unwrap()
    );
    // A credential: not handed out unless audited.
    let embed = events
        .call(Method::POST, "/api/v1/embeds")
        .json(&json!({"user": {"id": "u-audit", "name": "Ada"}, "resource": event("ev-3")}))
        .send()
        .await
        .unwrap();
    assert_eq!(embed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = embed.text().await.unwrap();
    assert!(!body.contains("authproxy_ticket"), "{body}");

    drop(down);
    // The change was made: ev-3 exists and takes embed URLs.
    let url = events
        .embed_url(json!({"user": {"id": "u-audit", "name": "Ada"}, "resource": event("ev-3")}))
        .await;
    assert!(
        url.starts_with(&format!("{CRM_ORIGIN}/events/ev-3#authproxy_ticket=")),
        "{url}"
    );
}

#[tokio::test]
async fn with_the_audit_trail_down_a_frame_is_told_it_failed_and_given_no_session() {
    let events = Events::start().await;
    let host = &events.host;
    let url = events
        .embed_url(json!({"user": {"id": "u-frame", "name": "Ada"}, "resource": event("ev-1")}))
        .await;
    let ticket = ticket_of(&url);
    let down = host.app.audit_trail_down();
    let redeemed = redeem_ticket(host, &ticket, Some("ev-1")).await;
    assert_eq!(redeemed.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The page can read why (CORS for its origin), so the app can say so.
    assert_eq!(
        redeemed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(CRM_ORIGIN)
    );
    let body: Value = redeemed.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable");
    assert!(body.get("session_token").is_none(), "{body}");
    drop(down);
}
