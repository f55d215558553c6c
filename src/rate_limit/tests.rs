//! Unit tests of `rate_limit`.

use super::*;

#[test]
fn long_polls_are_bounded_per_address_and_overall() {
    let slots = WaitSlots::new(2, 3);
    let a: IpAddr = "127.0.0.1".parse().unwrap();
    let b: IpAddr = "127.0.0.2".parse().unwrap();
    let first = slots.try_park(Some(a)).unwrap();
    let _second = slots.try_park(Some(a)).unwrap();
    assert!(slots.try_park(Some(a)).is_none(), "per address");
    let _third = slots.try_park(Some(b)).unwrap();
    assert!(slots.try_park(Some(b)).is_none(), "overall");
    drop(first);
    assert!(slots.try_park(Some(a)).is_some(), "a freed place is reused");
}

#[tokio::test]
async fn a_burst_is_allowed_then_refused_until_the_bucket_refills() {
    let limiter = RateLimiter::new("test", None);
    let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
    for _ in 0..3 {
        assert!(limiter.check("c", 60, 3, t0).await.is_ok());
    }
    let wait = limiter.check("c", 60, 3, t0).await.unwrap_err();
    assert_eq!(wait.as_secs(), 1);
    assert!(
        limiter
            .check("c", 60, 3, t0 + chrono::TimeDelta::seconds(1))
            .await
            .is_ok()
    );
    assert!(
        limiter.check("other", 60, 3, t0).await.is_ok(),
        "buckets are per key"
    );
}
