//! Unit tests of `recent`.

use super::*;

#[test]
fn an_hour_of_minutes_with_failures_by_code_and_nothing_older() {
    let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let recent = RecentLogins::default();
    recent.record(start, "started", "");
    recent.record(start, "failed", "code_rejected");
    recent.record(start + chrono::TimeDelta::seconds(30), "completed", "");
    recent.record(
        start + chrono::TimeDelta::minutes(5),
        "failed",
        "code_rejected",
    );
    let hour = recent.last_hour(start + chrono::TimeDelta::minutes(5));
    assert_eq!(hour.len(), 60);
    let first = hour.iter().find(|m| m.minute == minute_of(start)).unwrap();
    assert_eq!((first.started, first.completed), (1, 1));
    assert_eq!(first.failed["code_rejected"], 1);
    assert_eq!(hour.last().unwrap().failed["code_rejected"], 1);
    // Seventy minutes on, the first minute is gone.
    recent.record(start + chrono::TimeDelta::minutes(70), "started", "");
    let later = recent.last_hour(start + chrono::TimeDelta::minutes(70));
    assert!(later.iter().all(|m| m.minute > minute_of(start)));
    assert_eq!(later.iter().map(|m| m.started).sum::<u64>(), 1);
}
