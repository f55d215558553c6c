//! Unit tests of `host_jwks`.

use super::*;

#[test]
fn a_failure_holds_further_fetches_back_for_a_growing_while() {
    let start = Instant::now();
    let slot = |count| Slot::<()> {
        value: None,
        failed: Some((start, count, IdpError::Timeout)),
    };
    assert!(!slot(1).may_try(start + Duration::from_secs(4)));
    assert!(slot(1).may_try(start + Duration::from_secs(5)));
    assert!(!slot(3).may_try(start + Duration::from_secs(19)));
    assert!(slot(3).may_try(start + Duration::from_secs(20)));
    assert!(!slot(30).may_try(start + Duration::from_secs(299)));
    assert!(slot(30).may_try(start + MAX_BACKOFF));
}
