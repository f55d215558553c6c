//! Unit tests of `logs`.

use super::*;
use std::net::IpAddr;

#[test]
fn repeats_are_counted_once_per_cause_and_address() {
    let summary = RefusalSummary::default();
    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let b: IpAddr = "192.0.2.2".parse().unwrap();
    assert!(summary.count("rate_limited", Some(a), "/login", 429));
    for _ in 0..1000 {
        assert!(!summary.count("rate_limited", Some(a), "/login", 429));
    }
    assert!(summary.count("rate_limited", Some(b), "/login", 429));
    assert!(summary.count("origin_not_allowed", Some(a), "/api/handoff", 403));
    // One line: only `a`'s rate_limited repeated.
    assert_eq!(summary.flush(60), 1);
    // A new interval logs the first again.
    assert!(summary.count("rate_limited", Some(a), "/login", 429));
}

#[test]
fn the_causes_kept_are_bounded() {
    let summary = RefusalSummary::default();
    for i in 0..u32::try_from(MAX_CAUSES + 5000).unwrap() {
        summary.count(
            "rate_limited",
            Some(IpAddr::from(i.to_be_bytes())),
            "/login",
            429,
        );
    }
    assert!(summary.counts.lock().unwrap().len() <= MAX_CAUSES + 1);
}
