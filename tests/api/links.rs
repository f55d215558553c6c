//! One-time login links: no personal data in the URL, a GET that uses nothing,
//! one POST that sets the session cookie and answers 303 to a registered
//! target only, and the vendor's `/auth/uri` fields accepted only signed.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use reqwest::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::embed::{Host, api_key, audit_row, host_api, put_tenant, rand_suffix, tenant};
use crate::support::{CLIENT_ID, CRM_ORIGIN};

/// A host whose app lives at `<CRM>/app` and whose links may land on `/calls`.
struct Links {
    host: Host,
    credential: String,
}

impl Links {
    async fn start() -> Self {
        let host = Host::start().await;
        let mut settings = tenant("sandbox", "create");
        settings["allow_hs256"] = json!(true);
        settings["embeds"] = json!({"app_url": format!("{CRM_ORIGIN}/app"), "link_paths": ["/calls", "/calls/today"]});
        put_tenant(&host.admin, "acme", settings).await;
        let (_, credential) = api_key(&host, "acme", &["create_links", "manage_resources"]).await;
        Self { host, credential }
    }

    async fn create(&self, body: Value) -> reqwest::Response {
        host_api(&self.host, Method::POST, "/api/v1/links", &self.credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A link with the cookie landing (the app on the broker's site).
    async fn link(&self, uid: &str, target: Value) -> String {
        let response = self
            .create(json!({"user": {"uid": uid, "given_name": "Sue", "family_name": "Storm", "email": "sue@crm.example"}, "target": target, "landing": "cookie"}))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
        let body: Value = response.json().await.unwrap();
        assert!(body["expires_at"].is_string());
        body["url"].as_str().unwrap().to_owned()
    }
}

/// The status of an error page and its stable code.
async fn page_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let html = response.text().await.unwrap();
    let code = html
        .split_once("<code id=\"code\">")
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .map_or("<no code>", |(code, _)| code);
    (status, code.to_owned())
}

/// A browser: its own cookies, no redirects followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn opaque_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

/// What the link page's button posts (the browser sets the broker's `Origin`).
async fn follow(host: &Host, browser: &reqwest::Client, link: &str) -> reqwest::Response {
    browser
        .post(host.app.url("/l"))
        .header("origin", &host.app.base_url)
        .form(&[("link", link)])
        .send()
        .await
        .unwrap()
}

async fn link_session(host: &Host, browser: &reqwest::Client) -> reqwest::Response {
    browser
        .post(host.app.url("/api/link/session"))
        .header("origin", CRM_ORIGIN)
        .json(&json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_link_logs_its_user_in_once_with_a_cookie_and_a_303_and_leaks_nothing() {
    let links = Links::start().await;
    let host = &links.host;
    let uid = format!("sue-{}", rand_suffix());
    let url = links.link(&uid, json!({"path": "/calls"})).await;
    let link = opaque_of(&url);
    assert_eq!(url, host.app.url(&format!("/l/{link}")));
    assert_eq!(link.len(), 43);
    for personal in ["sue", "Sue", "Storm", "crm.example"] {
        assert!(!url.contains(personal), "no personal data in the link");
    }

    // A GET (a link scanner, a preview) shows a page that posts, and uses nothing.
    let sue = browser();
    for _ in 0..2 {
        let page = sue.get(&url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(page.headers()[REFERRER_POLICY], "no-referrer");
        let html = page.text().await.unwrap();
        assert!(html.contains("method=\"post\"") && html.contains(&link));
        assert!(
            !html.contains(".submit()") && html.contains("id=\"continue\""),
            "the page waits for a person's click: a scanner that runs scripts uses nothing"
        );
        assert!(
            !html.contains("Sue") && !html.contains("crm.example"),
            "no personal data on the page"
        );
    }

    // The POST: once, a cookie, 303 to the target, nothing cached.
    let followed = follow(host, &sue, &link).await;
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
    assert_eq!(followed.headers()[LOCATION], format!("{CRM_ORIGIN}/calls"));
    assert_eq!(followed.headers()[CACHE_CONTROL], "no-store");
    let cookie = followed.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("authproxy-session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let session = link_session(host, &sue).await;
    assert_eq!(session.status(), StatusCode::OK);
    assert_eq!(session.headers()["access-control-allow-origin"], CRM_ORIGIN);
    assert_eq!(
        session.headers()["access-control-allow-credentials"],
        "true"
    );
    let session: Value = session.json().await.unwrap();
    assert_eq!(session["user"]["name"], "Sue Storm");
    assert_eq!(session["sub"], uid);
    assert!(session["keycloak"]["access_token"].is_string());

    // Used: 410 and audited; the same link in a second browser gets nothing.
    let second = browser();
    let again = follow(host, &second, &link).await;
    let request_id = again.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        page_code(again).await,
        (StatusCode::GONE, "link_used".into())
    );
    let row = audit_row(&host.admin, &request_id).await;
    assert_eq!(
        (
            row["action"].as_str(),
            row["outcome"].as_str(),
            row["reason"].as_str()
        ),
        (Some("link.follow"), Some("denied"), Some("link_used"))
    );
    assert_eq!(
        link_session(host, &second).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Another page of the session's origin may ask; another origin may not.
    let foreign = sue
        .post(host.app.url("/api/link/session"))
        .header("origin", "https://evil.example")
        .json(&json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // One changed character, and a link used 121 s after it was made.
    let mut changed = opaque_of(&links.link(&uid, json!({"path": "/calls"})).await).into_bytes();
    changed[10] = if changed[10] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    assert_eq!(
        page_code(follow(host, &browser(), &changed).await).await,
        (StatusCode::NOT_FOUND, "link_not_found".into())
    );
    let late = opaque_of(&links.link(&uid, json!({"path": "/calls"})).await);
    host.app.clock.advance(TimeDelta::seconds(121));
    assert_eq!(
        page_code(follow(host, &browser(), &late).await).await,
        (StatusCode::GONE, "link_expired".into())
    );
    // The access log names the code the page showed, not a generic one.
    for code in ["link_not_found", "link_expired"] {
        assert!(refusal_logged(code), "{code} missing from the access log");
    }
}

#[tokio::test]
async fn another_sites_page_cannot_post_a_link_for_its_visitor_login_csrf() {
    let links = Links::start().await;
    let host = &links.host;
    let link = opaque_of(
        &links
            .link(&format!("sue-{}", rand_suffix()), json!({"path": "/calls"}))
            .await,
    );
    let cases = [
        (Some("https://evil.example"), None),
        (Some(CRM_ORIGIN), None),
        (None, None),
        // What Chromium sends for another site's form (or a sandboxed frame's).
        (Some("null"), Some("cross-site")),
        (Some("null"), Some("same-site")),
        (Some(host.app.base_url.as_str()), Some("cross-site")),
    ];
    for (origin, site) in cases {
        let mut post = browser().post(host.app.url("/l")).form(&[("link", &link)]);
        if let Some(origin) = origin {
            post = post.header("origin", origin);
        }
        if let Some(site) = site {
            post = post.header("sec-fetch-site", site);
        }
        let refused = post.send().await.unwrap();
        assert!(refused.headers().get(SET_COOKIE).is_none());
        assert_eq!(
            page_code(refused).await,
            (StatusCode::FORBIDDEN, "forbidden".into()),
            "{origin:?} {site:?}"
        );
    }
    // The link is still its owner's, from the broker's own page (as Chromium
    // posts it: the page's no-referrer policy makes its Origin "null").
    let followed = browser()
        .post(host.app.url("/l"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("link", &link)])
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn another_clients_page_learns_nothing_of_a_browsers_link_session() {
    let links = Links::start().await;
    let host = &links.host;
    let other = "http://127.0.0.1:8082";
    let created = host
        .admin
        .create_client(
            &json!({"client_id": "127.0.0.1:8082", "realms": ["tenant-a"], "origins": [other]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let ask = |browser: reqwest::Client, client: &'static str, origin: &'static str| {
        let url = host.app.url("/api/link/session");
        async move {
            browser
                .post(url)
                .header("origin", origin)
                .json(&json!({"client_id": client}))
                .send()
                .await
                .unwrap()
        }
    };
    let without = ask(browser(), "127.0.0.1:8082", "http://127.0.0.1:8082").await;
    let (status_without, body_without) = (without.status(), without.json::<Value>().await.unwrap());
    let sue = browser();
    let link = opaque_of(
        &links
            .link(&format!("sue-{}", rand_suffix()), json!({"path": "/calls"}))
            .await,
    );
    assert_eq!(
        follow(host, &sue, &link).await.status(),
        StatusCode::SEE_OTHER
    );
    let with = ask(sue.clone(), "127.0.0.1:8082", "http://127.0.0.1:8082").await;
    assert_eq!(
        with.status(),
        status_without,
        "the same answer as a browser without a session"
    );
    assert!(
        with.headers().get(SET_COOKIE).is_none(),
        "and the session is left alone"
    );
    let body_with: Value = with.json().await.unwrap();
    assert_eq!(body_with["error"], body_without["error"]);
    assert_eq!(link_session(host, &sue).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_host_logout_ends_the_session_a_link_left_in_the_cookie() {
    let links = Links::start().await;
    let host = &links.host;
    let uid = format!("sue-{}", rand_suffix());
    let fresh = browser();
    let link = opaque_of(&links.link(&uid, json!({"path": "/calls/today"})).await);
    assert_eq!(
        follow(host, &fresh, &link).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(link_session(host, &fresh).await.status(), StatusCode::OK);
    let (_, logout_key) = api_key(host, "acme", &["logout"]).await;
    let logout = host_api(
        host,
        Method::POST,
        &format!("/api/v1/embed/users/acme/{uid}/logout"),
        &logout_key,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    assert_eq!(
        link_session(host, &fresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_link_lands_only_on_a_registered_target_and_never_on_another_host() {
    let links = Links::start().await;
    let put = host_api(
        &links.host,
        Method::PUT,
        "/api/v1/resources/ev-1",
        &links.credential,
    )
    .json(&json!({"type": "event", "url": format!("{CRM_ORIGIN}/events/1")}))
    .send()
    .await
    .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let user = json!({"uid": "u1", "given_name": "Sue"});
    for path in [
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2f%2fevil.example",
        "/%5Cevil.example",
        " /calls",
        "/calls ",
        "/\tcalls",
        "/calls\n",
        "https://evil.example/calls",
        "/calls/../admin",
        "/%2e%2e/admin",
        "/other",
        "/calls/",
        "",
    ] {
        let response = links
            .create(json!({"user": user, "target": {"path": path}}))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path:?}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_target",
            "{path:?}"
        );
    }
    for target in [
        json!({"resource": "nope"}),
        json!({}),
        json!({"resource": "ev-1", "path": "/calls"}),
    ] {
        let response = links.create(json!({"user": user, "target": target})).await;
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_target",
            "{target}"
        );
    }
    // A resource target lands on its page; a ticket landing carries no cookie.
    let url = links.link("u1", json!({"resource": "ev-1"})).await;
    let followed = follow(&links.host, &browser(), &opaque_of(&url)).await;
    assert_eq!(
        followed.headers()[LOCATION],
        format!("{CRM_ORIGIN}/events/1")
    );
    let response = links
        .create(json!({"user": user, "target": {"path": "/calls"}, "landing": "ticket"}))
        .await;
    let url: Value = response.json().await.unwrap();
    let followed = follow(
        &links.host,
        &browser(),
        &opaque_of(url["url"].as_str().unwrap()),
    )
    .await;
    let location = followed.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{CRM_ORIGIN}/calls#authproxy_ticket=")),
        "{location}"
    );
    assert!(followed.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_link_without_a_landing_lands_with_a_ticket_on_another_site_and_its_errors_show_in_a_frame()
 {
    let links = Links::start().await;
    let user = json!({"uid": format!("u-{}", rand_suffix()), "given_name": "Sue"});
    // The target (the CRM's origin) is not the broker's host: the cookie would
    // not reach a frame there, so the ticket is the default.
    let url: Value = links
        .create(json!({"user": user, "target": {"path": "/calls"}}))
        .await
        .json()
        .await
        .unwrap();
    let opaque = opaque_of(url["url"].as_str().unwrap());
    let page = browser()
        .get(links.host.app.url(&format!("/l/{opaque}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "a link's page is never framed: {csp}"
    );
    let followed = follow(&links.host, &browser(), &opaque).await;
    let location = followed.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{CRM_ORIGIN}/calls#authproxy_ticket=")),
        "{location}"
    );
    assert!(followed.headers().get(SET_COOKIE).is_none());
    // Followed again: the error page, which the CRM's frame may show.
    let again = follow(&links.host, &browser(), &opaque).await;
    assert_eq!(again.status(), StatusCode::GONE);
    let csp = again.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("frame-ancestors {CRM_ORIGIN}")),
        "{csp}"
    );
}

#[tokio::test]
async fn link_requests_with_bad_input_get_a_stable_code() {
    let links = Links::start().await;
    let user = json!({"uid": "u1", "given_name": "Sue"});
    for (body, code) in [
        (
            json!({"user": user, "target": {"path": "/calls"}, "ttl_s": 301}),
            "invalid_request",
        ),
        (
            json!({"user": user, "target": {"path": "/calls"}, "ttl_s": "60"}),
            "invalid_request",
        ),
        (
            json!({"user": {"uid": "", "given_name": "S"}, "target": {"path": "/calls"}}),
            "invalid_request",
        ),
        (
            json!({"user": {"uid": "u", "given_name": "S", "email": "x"}, "target": {"path": "/calls"}}),
            "invalid_request",
        ),
        (
            json!({"tenant": "nope", "user": user, "target": {"path": "/calls"}}),
            "operation_not_allowed",
        ),
    ] {
        let response = links.create(body.clone()).await;
        assert!(response.status().is_client_error(), "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            code,
            "{body}"
        );
    }
    let (_, other_scope) = api_key(&links.host, "acme", &["manage_resources"]).await;
    let response = host_api(&links.host, Method::POST, "/api/v1/links", &other_scope)
        .json(&json!({"user": user, "target": {"path": "/calls"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "operation_not_allowed"
    );
}

/// A nonce of 16 characters or more.
fn fresh_nonce() -> String {
    format!("nonce-{}-{}", rand_suffix(), rand_suffix())
}

/// The fields of `/auth/uri`, signed with `secret` as docs/src/embedded/embed-urls-registrations-links.md says.
fn signed_fields(secret: &[u8], ts: i64, nonce: &str, uid: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        ("account", "acme"),
        ("givenName", "Sue"),
        ("familyName", "Storm"),
        ("email", "sue@crm.example"),
        ("uid", uid),
        ("eventid", ""),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    fields.push(("ts".into(), ts.to_string()));
    fields.push(("nonce".into(), nonce.to_owned()));
    let mut input = String::from("authproxy-uri-v1\n");
    for (name, value) in &fields {
        let _ = writeln!(input, "{name}={value}");
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key, input.as_bytes()).as_ref());
    fields.push(("kid".into(), "uri-key".into()));
    fields.push(("sig".into(), tag));
    fields
}

/// Registers the HS256 key `uri-key` of acme with `secret`.
async fn add_uri_key(host: &Host, secret: &[u8]) {
    let added = host
        .admin
        .send_json(
            Method::POST,
            "/admin/api/tenants/acme/keys",
            &json!({"kid": "uri-key", "secret": URL_SAFE_NO_PAD.encode(secret)}),
        )
        .await;
    assert_eq!(
        added.status(),
        StatusCode::CREATED,
        "{}",
        added.text().await.unwrap()
    );
}

#[tokio::test]
async fn an_hs256_key_signs_the_vendor_uri_only_while_the_tenant_allows_hs256() {
    let links = Links::start().await;
    let host = &links.host;
    let secret = [7u8; 32];
    add_uri_key(host, &secret).await;
    let now = {
        use authproxy::clock::Clock as _;
        host.app.clock.now().timestamp()
    };
    let uid = format!("uri-{}", rand_suffix());
    let mut settings = tenant("sandbox", "create");
    settings["embeds"] = json!({"app_url": format!("{CRM_ORIGIN}/app"), "link_paths": ["/calls"]});
    put_tenant(&host.admin, "acme", settings).await;
    let after_off = browser()
        .post(host.app.url("/auth/uri"))
        .form(&signed_fields(&secret, now, &fresh_nonce(), &uid))
        .send()
        .await
        .unwrap();
    let request_id = after_off.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        page_code(after_off).await,
        (StatusCode::UNAUTHORIZED, "invalid_signature".into())
    );
    assert_eq!(
        audit_row(&host.admin, &request_id).await["reason"],
        "the tenant does not allow HS256"
    );
}

#[tokio::test]
async fn the_vendor_uri_endpoint_takes_signed_fields_once_and_never_personal_data_in_a_url() {
    let links = Links::start().await;
    let host = &links.host;
    let secret = [7u8; 32];
    add_uri_key(host, &secret).await;
    let now = {
        use authproxy::clock::Clock as _;
        host.app.clock.now().timestamp()
    };
    let uid = format!("uri-{}", rand_suffix());
    let post = |fields: Vec<(String, String)>| async move {
        browser()
            .post(host.app.url("/auth/uri"))
            .form(&fields)
            .send()
            .await
            .unwrap()
    };
    let nonce = fresh_nonce();
    let good = post(signed_fields(&secret, now, &nonce, &uid)).await;
    let request_id = good.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        good.status(),
        StatusCode::SEE_OTHER,
        "{}",
        audit_row(&host.admin, &request_id).await
    );
    assert_eq!(good.headers()[LOCATION], format!("{CRM_ORIGIN}/app"));
    assert!(
        good.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("authproxy-session=")
    );

    // The same nonce again, a stale time, no signature, a changed field.
    let replayed = post(signed_fields(&secret, now, &nonce, &uid)).await;
    assert_eq!(
        page_code(replayed).await,
        (StatusCode::UNAUTHORIZED, "invalid_signature".into())
    );
    let stale = post(signed_fields(&secret, now - 121, &fresh_nonce(), &uid)).await;
    assert_eq!(page_code(stale).await.1, "invalid_signature");
    let mut unsigned = signed_fields(&secret, now, &fresh_nonce(), &uid);
    unsigned.retain(|(k, _)| k != "sig");
    assert_eq!(page_code(post(unsigned).await).await.1, "invalid_signature");
    let mut changed = signed_fields(&secret, now, &fresh_nonce(), &uid);
    changed[4].1 = "someone-else".into();
    assert_eq!(page_code(post(changed).await).await.1, "invalid_signature");
    let forged = signed_fields(&[8u8; 32], now, &fresh_nonce(), &uid);
    assert_eq!(page_code(post(forged).await).await.1, "invalid_signature");

    // A host token of the tenant signs too: once, and living at most 120 s.
    let mut claims = host.claims(&uid);
    claims["exp"] = json!(now + 60);
    let token = host.sign(&claims);
    let form = |token: &str| {
        vec![
            ("account".to_owned(), "acme".to_owned()),
            ("jwt".to_owned(), token.to_owned()),
        ]
    };
    assert_eq!(post(form(&token)).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page_code(post(form(&token)).await).await.1,
        "invalid_signature"
    );
    let mut long = host.claims(&uid);
    long["exp"] = json!(now + 240);
    assert_eq!(
        page_code(post(form(&host.sign(&long))).await).await.1,
        "invalid_signature"
    );

    // A GET with personal data is refused, whatever else it carries.
    let leak = browser()
        .get(
            host.app
                .url("/auth/uri?account=acme&givenName=Sue&email=sue%40crm.example&uid=sue"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        page_code(leak).await,
        (StatusCode::BAD_REQUEST, "pii_in_url".into())
    );
    let bare = browser()
        .get(host.app.url("/auth/uri"))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn with_the_audit_trail_down_the_link_session_is_refused_readably_and_not_handed_out() {
    let links = Links::start().await;
    let host = &links.host;
    let uid = format!("sue-{}", rand_suffix());
    let link = opaque_of(&links.link(&uid, json!({"path": "/calls"})).await);
    let sue = browser();
    assert_eq!(
        follow(host, &sue, &link).await.status(),
        StatusCode::SEE_OTHER
    );
    let down = host.app.audit_trail_down();
    let refused = link_session(host, &sue).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The page reads the answer (credentialed CORS for its origin).
    let header = |name: &str| {
        refused
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some(CRM_ORIGIN)
    );
    assert_eq!(
        header("access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let body: Value = refused.json().await.unwrap();
    assert!(body.get("session_token").is_none(), "{body}");
    drop(down);
    // The cookie's session is still there once the trail is back.
    let again = link_session(host, &sue).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "{}",
        again.text().await.unwrap()
    );
}

/// Whether the access log has a refusal with `code`.
fn refusal_logged(code: &str) -> bool {
    crate::support::captured_logs()
        .lines()
        .any(|l| l.contains("request refused") && l.contains(code))
}
