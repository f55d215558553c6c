//! Every URL of the service in one place: the broker's flows, the browser SDK, the
//! probes and the admin API, with the layers around them. Handlers live with their
//! flow (`flows/`) or resource (`admin/api/`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::handler::Handler as _;
use axum::routing::get;
use tokio::sync::Semaphore;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::api::{
    audit_trail, callers, clients, directory, overview, realms, require_admin, tenants, tokens,
};
use crate::admin::console;
use crate::admin::openapi::AdminApiDoc;
use crate::app::AppState;
use crate::flows;
use crate::flows::embed::audit::audit_layer;
use crate::http::edge::EdgeLayer;
use crate::http::frame::frame_post;
use crate::http::{error, frame, limits};

/// Largest request body accepted (the handoff body is ~200 bytes).
const BODY_LIMIT: usize = 16 * 1024;
/// Largest admin request body, but for directory imports.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;
/// Largest directory import (bulk CSV).
const IMPORT_BODY_LIMIT: usize = 256 * 1024 * 1024;

/// The admin API under `/admin/api`, every route behind an admin token but the
/// OpenAPI document, which is generated from this very list.
fn admin_routes(state: &AppState) -> Router<AppState> {
    let (imports, import_doc) = OpenApiRouter::new()
        .routes(routes!(directory::import_directory))
        .layer(RequestBodyLimitLayer::new(IMPORT_BODY_LIMIT))
        .split_for_parts();
    let (api, mut doc) = OpenApiRouter::with_openapi(AdminApiDoc::openapi())
        .routes(routes!(clients::list_clients, clients::create_client))
        .routes(routes!(clients::sync))
        .routes(routes!(
            clients::put_client,
            clients::patch_client,
            clients::delete_client
        ))
        .routes(routes!(realms::list_realms))
        .routes(routes!(overview::overview))
        .routes(routes!(overview::check_realm))
        .routes(routes!(realms::put_realm, realms::delete_realm))
        .routes(routes!(directory::put_rule, directory::delete_rule))
        .routes(routes!(directory::export_directory))
        .routes(routes!(callers::list_callers, callers::create_caller))
        .routes(routes!(callers::delete_caller))
        .routes(routes!(callers::put_policy))
        .routes(routes!(callers::rotate_secret))
        .routes(routes!(directory::lookup))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::expire_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(tokens::end_console_sessions))
        .routes(routes!(audit_trail::read_audit))
        .routes(routes!(tenants::list_tenants))
        .routes(routes!(tenants::put_tenant, tenants::delete_tenant))
        .routes(routes!(tenants::list_keys, tenants::add_key))
        .routes(routes!(tenants::revoke_key))
        .routes(routes!(tenants::list_api_keys, tenants::create_api_key))
        .routes(routes!(tenants::revoke_api_key))
        .routes(routes!(tenants::list_providers))
        .routes(routes!(tenants::put_provider_secrets))
        .routes(routes!(tenants::test_provider))
        .routes(routes!(tenants::list_resources))
        .routes(routes!(tenants::list_registrations))
        .routes(routes!(tenants::revoke_registration))
        .layer(RequestBodyLimitLayer::new(ADMIN_BODY_LIMIT))
        .split_for_parts();
    doc.merge(import_doc);
    let doc = Arc::new(doc);
    api.merge(imports)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_admin,
        ))
        .route(
            "/admin/api/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { Json(doc.as_ref().clone()) }
            }),
        )
}

/// The host backend's API (API keys), each URL with the API-key operation it
/// needs and its audit action (`host_api::admit`), the URLs it hands out (join
/// URLs, login links) and the sessions those start.
fn host_routes(state: &AppState) -> Router<AppState> {
    use crate::domain::Operation as Op;
    use crate::flows::embed::audit::{AuditPolicy, audited};
    use crate::flows::embed::host_api::{HostRoute, admit, changes, hands_out};
    use crate::flows::embed::{host_token, landing, resources as res, users};
    use axum::routing::{delete, patch, post, put};
    use flows::{links, registrations as reg};
    let host =
        |route: HostRoute| axum::middleware::from_fn_with_state((state.clone(), route), admit);
    let linked = axum::middleware::from_fn_with_state(
        (
            state.clone(),
            audited("link.session", AuditPolicy::HandsOut),
        ),
        audit_layer,
    );
    Router::new()
        .route(
            "/api/v1/embed/tokens",
            post(host_token::mint).layer(host(hands_out(Op::MintTokens, "embed.mint"))),
        )
        .route(
            "/api/v1/embed/users/{tenant}/{sub}/logout",
            post(users::logout_user).layer(host(changes(Op::Logout, "embed.logout"))),
        )
        .route(
            "/api/v1/embed/users/{tenant}/{sub}",
            patch(users::update_user).layer(host(changes(Op::UpdateUsers, "embed.update_user"))),
        )
        .route(
            "/api/v1/embed/debug",
            post(host_token::debug).layer(host(hands_out(Op::Debug, "embed.debug"))),
        )
        .route(
            "/api/v1/embeds",
            post(reg::create_embed).layer(host(hands_out(Op::CreateEmbeds, "embed.url"))),
        )
        .route(
            "/api/v1/resources/{id}",
            put(res::put_resource)
                .layer(host(changes(Op::ManageResources, "resource.put")))
                .merge(
                    get(res::get_resource)
                        .layer(host(hands_out(Op::ManageResources, "resource.read"))),
                ),
        )
        .route(
            "/api/v1/resources/{id}/acl",
            put(res::put_acl).layer(host(changes(Op::ManageResources, "resource.acl"))),
        )
        .route(
            "/api/v1/resources/{id}/registrations",
            post(reg::register).layer(host(hands_out(
                Op::ManageRegistrations,
                "registration.create",
            ))),
        )
        .route(
            "/api/v1/resources/{id}/registrations/{registration}",
            delete(reg::revoke)
                .layer(host(changes(
                    Op::ManageRegistrations,
                    "registration.revoke",
                )))
                .merge(get(reg::get_registration).layer(host(hands_out(
                    Op::ManageRegistrations,
                    "registration.read",
                )))),
        )
        .route(
            "/api/v1/resources/{id}/registrations/{registration}/join-url",
            post(reg::reissue).layer(host(hands_out(
                Op::ManageRegistrations,
                "registration.reissue",
            ))),
        )
        .route(
            "/api/v1/links",
            post(links::create).layer(host(hands_out(Op::CreateLinks, "link.create"))),
        )
        .route(
            "/api/link/session",
            post(landing::session.layer(linked))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    landing::credentialed,
                ))
                .options(landing::preflight),
        )
        .route(
            "/api/v1/sso/codes",
            post(crate::flows::embed::handshake::exchange)
                .layer(host(hands_out(Op::ExchangeSsoCodes, "sso.exchange"))),
        )
}

/// The URLs a host opens inside its frame (join URLs, login links,
/// `/auth/uri`): their error pages may be framed by the registered origins.
fn framed_routes(state: &AppState) -> Router<AppState> {
    use crate::flows::embed::{framed_errors, uri_auth};
    use axum::routing::post;
    use flows::{links, registrations as reg};
    Router::new()
        .route("/join/{credential}", get(reg::join))
        .route("/l/{link}", get(links::page))
        .route("/l", post(links::follow))
        .route("/auth/uri", get(uri_auth::uri_get).post(uri_auth::uri_post))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            framed_errors::frameable,
        ))
}

/// The admin console's pages, files and sign-in.
fn console_routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(console::to_console))
        .route("/admin/", get(console::index))
        .route("/admin/console.js", get(console::script))
        .route("/admin/ui.js", get(console::ui_script))
        .route("/admin/tenant_keys.js", get(console::keys_script))
        .route("/admin/providers.js", get(console::providers_script))
        .route("/admin/console.css", get(console::style))
        .route("/admin/favicon.svg", get(console::icon))
        .route("/admin/callback", get(console::signin::callback))
        .route(
            "/admin/logout",
            axum::routing::post(console::signin::sign_out),
        )
}

/// The frame's calls of third-party SSO (CORS: the clients' registered origins).
fn sso_routes(state: &AppState) -> Router<AppState> {
    use crate::flows::embed::audit::{AuditPolicy::HandsOut, Counted, audited};
    use flows::sso;
    let logged = |route| axum::middleware::from_fn_with_state((state.clone(), route), audit_layer);
    let login = |action| logged(audited(action, HandsOut).counted(Counted::SsoLogins));
    Router::new()
        .route(
            "/api/embed/sso",
            frame_post(state, sso::start.layer(login("embed.sso"))),
        )
        .route("/api/embed/sso/config", frame_post(state, sso::config))
        .route(
            "/api/embed/sso/update",
            frame_post(
                state,
                sso::update.layer(logged(audited("embed.sso_update", HandsOut))),
            ),
        )
        .route(
            "/api/embed/sso/complete",
            frame_post(
                state,
                crate::flows::embed::handshake::complete.layer(login("embed.sso_complete")),
            ),
        )
}

/// The embedded frame's calls (CORS: the clients' registered origins), each
/// with its audit action.
fn frame_routes(state: &AppState) -> Router<AppState> {
    use crate::flows::embed::audit::{AuditPolicy, Counted, audited};
    use flows::embed;
    let logged = |route| axum::middleware::from_fn_with_state((state.clone(), route), audit_layer);
    let redeem = audited("embed.redeem", AuditPolicy::HandsOut).counted(Counted::Redemptions);
    Router::new()
        .route(
            "/api/embed/redeem",
            frame_post(state, embed::redeem.layer(logged(redeem))),
        )
        .route(
            "/api/embed/session",
            frame_post(
                state,
                embed::renew.layer(logged(audited("embed.renew", AuditPolicy::HandsOut))),
            ),
        )
        .route(
            "/api/embed/logout",
            frame_post(
                state,
                embed::logout.layer(logged(audited("embed.logout", AuditPolicy::Changes))),
            ),
        )
}

/// The broker's router with its layers.
pub fn router(state: AppState) -> Router {
    let request_timeout = state.handoff_wait + Duration::from_secs(10);
    // Endpoints that take a username, or keep state for a while, are
    // rate-limited per client address.
    let limited = Router::new()
        .route("/api/user", get(flows::discovery::discover))
        .route("/api/user/", get(flows::discovery::discover))
        .route("/login", get(flows::login::start))
        .route("/admin/login", get(console::signin::start))
        // A handshake's code_a is kept for 2 minutes: asking is limited too.
        .route(
            "/api/embed/sso/code",
            frame_post(&state, flows::embed::handshake::code),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::per_ip,
        ));
    let max_concurrent = state.limits.max_concurrent_requests;
    // Long polls are bounded by `WaitSlots`, not by the concurrency limit below,
    // so parked polls never hold the places other requests need.
    let long_polls = Router::new()
        .route(
            "/api/handoff/wait",
            axum::routing::post(flows::handoff::wait).options(frame::preflight),
        )
        .route(
            "/api/embed/session/wait",
            frame_post(&state, flows::embed::wait),
        );
    Router::new()
        .merge(limited)
        .route("/authproxy", get(flows::callback::finish))
        .route(
            "/authproxy/approve",
            axum::routing::post(flows::callback::approve),
        )
        .route("/authproxy/{client_id}", get(flows::passthrough::page))
        .route(
            "/api/handoff",
            axum::routing::post(flows::handoff::redeem).options(frame::preflight),
        )
        .route(
            "/api/handoff/confirm",
            axum::routing::post(flows::handoff::confirm).options(frame::preflight),
        )
        .route(
            "/api/impersonation",
            axum::routing::post(flows::impersonation::impersonate),
        )
        .route("/.well-known/jwks.json", get(flows::embed::jwks))
        .merge(frame_routes(&state))
        .merge(host_routes(&state))
        .merge(framed_routes(&state))
        .merge(sso_routes(&state))
        .merge(console_routes())
        .route("/logout", axum::routing::post(flows::logout::start))
        .route("/logged-out", get(flows::logout::done))
        .route("/sdk/authproxy.js", get(flows::sdk::script))
        .route("/sdk/authproxy.d.ts", get(flows::sdk::declarations))
        .route("/sdk/{file}", get(flows::sdk::versioned))
        .route("/", get(flows::health::home))
        .route("/healthz", get(flows::health::healthz))
        .route("/healthz/realms", get(flows::health::realms))
        .route("/readyz", get(flows::health::readyz))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(admin_routes(&state))
        .fallback(error::not_found)
        // Past this many requests at once (all routes together), new ones wait
        // for a slot (backpressure).
        .layer(GlobalConcurrencyLimitLayer::with_semaphore(Arc::new(
            Semaphore::new(max_concurrent),
        )))
        .merge(long_polls.layer(RequestBodyLimitLayer::new(BODY_LIMIT)))
        // Outermost, around every route: id, address, span, checks, panic and
        // timeout, error shape, metrics and access line.
        .layer(EdgeLayer::new(state.clone(), request_timeout))
        .with_state(state)
}
