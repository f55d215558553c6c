//! Unit tests of `health`.

use super::*;

#[test]
fn since_moves_only_when_the_state_changes() {
    let health = RealmHealth::default();
    let t0 = DateTime::from_timestamp(1_000, 0).unwrap();
    let t1 = DateTime::from_timestamp(1_030, 0).unwrap();
    let t2 = DateTime::from_timestamp(1_060, 0).unwrap();
    health.record("acme", t0, Err("unreachable".into()));
    health.record("acme", t1, Err("timeout".into()));
    let state = &health.snapshot()["acme"];
    assert_eq!(
        (state.status, state.since, state.checked_at),
        ("down", t0, t1)
    );
    assert_eq!(state.last_error.as_deref(), Some("timeout"));
    health.record("acme", t2, Ok(()));
    let state = &health.snapshot()["acme"];
    assert_eq!(
        (state.status, state.since, state.last_error.clone()),
        ("up", t2, None)
    );
}
