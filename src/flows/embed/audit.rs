//! The audit row every embedded-session call starts from: who asked (the
//! client address, the request id), updated as the call goes.

use axum::Extension;

use crate::app::AppState;
use crate::http::client_addr::ClientAddr;
use crate::store::AuditEntry;

/// An audit row of `action`, denied until the flow says otherwise.
pub(crate) fn audit_entry(
    app: &AppState,
    action: &str,
    request_id: &str,
    client: Option<Extension<ClientAddr>>,
) -> AuditEntry {
    AuditEntry {
        at: app.clock.now(),
        actor: "anonymous".into(),
        action: action.into(),
        outcome: "denied".into(),
        source: client.map(|Extension(ClientAddr(ip))| ip.to_string()),
        request_id: Some(request_id.to_owned()),
        ..AuditEntry::default()
    }
}
