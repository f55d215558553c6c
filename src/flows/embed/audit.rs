//! The audit row of an embedded call (host API or frame): opened when the call
//! arrives, filled in by the handler through a shared [`Audit`] handle, and
//! closed by one wrapper that decides the outcome from the answer and applies
//! the one audit-failure policy ([`AuditPolicy`]).

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::{PageError, WebError};
use crate::http::refused::{AuditReason, Refused};
use crate::http::request_id::RequestId;
use crate::observe::metrics::Metrics;
use crate::store::{AuditEntry, AuditOutcome};

/// What a call's audit row failing to be written means for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditPolicy {
    /// The call hands something out (a token, a session, a URL that logs a
    /// user in, personal data): nothing is handed out unless its row is
    /// written; the caller gets `503 store_unavailable` instead.
    HandsOut,
    /// The call changes something: once the change took effect, a row that
    /// cannot be written is logged, never answered as a failure (the caller
    /// would retry a change that was made).
    Changes,
}

/// Which family of the broker's metrics counts a call's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Embedded-session redemptions (a host token, a ticket).
    Redemptions,
    /// Third-party logins (a platform's token, the handshake).
    SsoLogins,
}

/// What a frame route records: set in the route table.
#[derive(Debug, Clone, Copy)]
pub struct AuditedRoute {
    action: &'static str,
    policy: AuditPolicy,
    counted: Option<Counted>,
}

impl AuditedRoute {
    /// The same route, its outcomes counted in `family`.
    #[must_use]
    pub fn counted(self, family: Counted) -> Self {
        Self {
            counted: Some(family),
            ..self
        }
    }
}

/// A frame route of `action` whose row is written under `policy`.
#[must_use]
pub fn audited(action: &'static str, policy: AuditPolicy) -> AuditedRoute {
    AuditedRoute {
        action,
        policy,
        counted: None,
    }
}

/// The layer of an audited frame route: opens the row the handler fills in
/// ([`Audit`] is its extractor), closes it from the answer, and counts the
/// outcome where the route says.
pub async fn audit_layer(
    State((app, route)): State<(AppState, AuditedRoute)>,
    mut request: Request,
    next: Next,
) -> Response {
    let audit = Audit::of_request(&app, route.action, &request);
    request.extensions_mut().insert(audit.clone());
    let response = next.run(request).await;
    let response = audit.close(&app, response, route.policy).await;
    if let Some(family) = route.counted {
        let code = response
            .extensions()
            .get::<ErrorCode>()
            .map_or("", |c| c.as_str());
        let succeeded = response.status().is_success();
        let (family, outcome) = match family {
            Counted::Redemptions => (
                &app.metrics.embed_redemptions,
                if succeeded { "redeemed" } else { "refused" },
            ),
            Counted::SsoLogins => (
                &app.metrics.sso_logins,
                if succeeded { "granted" } else { "refused" },
            ),
        };
        Metrics::outcome(family, outcome, if succeeded { "" } else { code });
    }
    response
}

/// The audit row being built for one call. Clones share the row.
#[derive(Clone)]
pub struct Audit(Arc<Mutex<AuditEntry>>);

impl Audit {
    /// A row of `action`, denied until the call says otherwise.
    #[must_use]
    pub fn open(
        app: &AppState,
        action: &str,
        request_id: &str,
        source: Option<&ClientAddr>,
    ) -> Self {
        Self(Arc::new(Mutex::new(AuditEntry {
            at: app.clock.now(),
            actor: "anonymous".into(),
            action: action.into(),
            outcome: AuditOutcome::Denied,
            source: source.map(|ClientAddr(ip)| ip.to_string()),
            request_id: Some(request_id.to_owned()),
            ..AuditEntry::default()
        })))
    }

    /// The row of a request: its id and client address, from the layers.
    #[must_use]
    pub fn of_request(app: &AppState, action: &str, request: &Request) -> Self {
        let id = request
            .extensions()
            .get::<RequestId>()
            .map_or("", |RequestId(id)| id.as_str());
        Self::open(app, action, id, request.extensions().get::<ClientAddr>())
    }

    fn edit<R>(&self, change: impl FnOnce(&mut AuditEntry) -> R) -> R {
        change(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Who acted (`api_key:<id>`, `caller:<id>`).
    pub fn actor(&self, actor: impl Into<String>) {
        self.edit(|e| e.actor = actor.into());
    }

    /// What the call turned out to be (a frame's redeem of a ticket).
    pub fn action(&self, action: &str) {
        self.edit(|e| action.clone_into(&mut e.action));
    }

    /// On what or whom (`tenant/sub`).
    pub fn subject(&self, subject: impl Into<String>) {
        self.edit(|e| e.subject = Some(subject.into()));
    }

    /// In which realm.
    pub fn realm(&self, realm: impl Into<String>) {
        self.edit(|e| e.realm = Some(realm.into()));
    }

    /// Why: a refusal's reason, or a note on a granted call.
    pub fn reason(&self, reason: impl Into<String>) {
        self.edit(|e| e.reason = Some(reason.into()));
    }

    /// A note on a granted call, unless the row has a reason already.
    pub fn note(&self, note: &str) {
        self.edit(|e| {
            e.reason.get_or_insert_with(|| note.to_owned());
        });
    }

    /// The `jti` of the credential the call used.
    pub fn jti(&self, jti: &str) {
        self.edit(|e| e.token_jti = Some(jti.to_owned()));
    }

    /// What was handed out: its `jti` (if it has one) and its end.
    pub fn issued(&self, jti: Option<String>, expires_at: DateTime<Utc>) {
        self.edit(|e| {
            e.token_jti = jti;
            e.token_expires_at = Some(expires_at);
        });
    }

    /// Something was handed out (for a call that writes its own row).
    pub fn granted(&self) {
        self.edit(|e| e.outcome = AuditOutcome::Granted);
    }

    /// An upstream (a realm, the store) failed: the row says `failed` and why.
    pub fn failed(&self, reason: impl Into<String>) {
        self.edit(|e| {
            e.outcome = AuditOutcome::Failed;
            e.reason = Some(reason.into());
        });
    }

    /// An opaque refusal of `code` (the answer names it and the request id
    /// only), its row saying `reason`.
    pub fn refuse(&self, code: ErrorCode, reason: impl Into<String>) -> Refused {
        let reason = reason.into();
        let id = self.edit(|e| {
            e.reason = Some(reason);
            e.request_id.clone().unwrap_or_default()
        });
        Refused::opaque(code, &id)
    }

    /// Writes the row of a call answered with a page (a link followed, a form
    /// posted): nothing is handed out unless the row is written; the page then
    /// says the broker could not record it.
    pub async fn write_page(self, app: &AppState, response: Response) -> Response {
        match app.audit.append(&self.entry()).await {
            Ok(()) => response,
            Err(err) => {
                tracing::error!(error = %err, "could not write the audit row");
                PageError(err.into()).into_response()
            }
        }
    }

    /// The row as it stands.
    #[must_use]
    pub fn entry(&self) -> AuditEntry {
        self.edit(|e| e.clone())
    }

    /// Closes the row from the answer and writes it under `policy`: a success
    /// is `granted`; a refusal keeps `denied` (or `failed`) with the reason the
    /// [`Refused`] carried, if it carried one. The answer is never cached.
    pub async fn close(
        self,
        app: &AppState,
        mut response: Response,
        policy: AuditPolicy,
    ) -> Response {
        let succeeded = response.status().is_success();
        let entry = self.edit(|e| {
            if succeeded {
                e.outcome = AuditOutcome::Granted;
            } else if let Some(AuditReason(reason)) = response.extensions().get::<AuditReason>() {
                e.reason = Some(reason.to_string());
            } else if e.reason.is_none() {
                // At least the code the caller was told.
                e.reason = response
                    .extensions()
                    .get::<ErrorCode>()
                    .map(|c| c.as_str().to_owned());
            }
            e.clone()
        });
        if let Err(err) = app.audit.append(&entry).await {
            if succeeded && policy == AuditPolicy::Changes {
                tracing::error!(error = %err, action = %entry.action, "the change took effect, but its audit row could not be written");
            } else {
                tracing::error!(error = %err, action = %entry.action, "could not write the audit row: nothing handed out");
                response = Refused::from(WebError::from(err)).into_response();
            }
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The call's audit row, opened by its route's layer.
impl<S: Send + Sync> FromRequestParts<S> for Audit {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refused> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            WebError::internal("an audited handler's route has no audit layer").into()
        })
    }
}
