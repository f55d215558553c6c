//! Unit tests of `requests`: what a scrape shows after requests are recorded.

use std::time::Duration;

use axum::http::Method;
use prometheus_client::registry::Registry;

use super::*;

fn scrape(metrics: &Arc<RequestMetrics>) -> String {
    let mut registry = Registry::with_prefix("authproxy");
    registry.register_collector(Box::new(Arc::clone(metrics)));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    text
}

#[test]
fn counts_per_route_method_and_status_and_durations_per_route() {
    let metrics = Arc::new(RequestMetrics::new([0.001, 0.01]));
    let ms = Duration::from_millis;
    metrics.record("/login", &Method::GET, 302, ms(2));
    metrics.record("/login", &Method::GET, 302, ms(20));
    metrics.record("/login", &Method::GET, 429, Duration::from_micros(500));
    metrics.record("/api/handoff", &Method::POST, 200, ms(5));
    let text = scrape(&metrics);
    for line in [
        r#"authproxy_http_requests_total{route="/login",method="GET",status="302"} 2"#,
        r#"authproxy_http_requests_total{route="/login",method="GET",status="429"} 1"#,
        r#"authproxy_http_requests_total{route="/api/handoff",method="POST",status="200"} 1"#,
        r#"authproxy_http_request_duration_seconds_count{route="/login"} 3"#,
        r#"authproxy_http_request_duration_seconds_bucket{le="0.001",route="/login"} 1"#,
        r#"authproxy_http_request_duration_seconds_bucket{le="0.01",route="/login"} 2"#,
        r#"authproxy_http_request_duration_seconds_bucket{le="+Inf",route="/login"} 3"#,
        r#"authproxy_http_request_duration_seconds_sum{route="/login"} 0.0225"#,
        "# TYPE authproxy_http_requests counter",
        "# TYPE authproxy_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
}

#[test]
fn an_unusual_method_is_counted_as_other_and_many_statuses_all_count() {
    let metrics = Arc::new(RequestMetrics::new([0.1]));
    let method = Method::from_bytes(b"BREW").unwrap();
    metrics.record("unmatched", &method, 404, Duration::ZERO);
    // More distinct statuses than the lock-free slots hold.
    for status in 200..240 {
        metrics.record("/x", &Method::GET, status, Duration::ZERO);
    }
    let text = scrape(&metrics);
    assert!(
        text.contains(r#"{route="unmatched",method="other",status="404"} 1"#),
        "{text}"
    );
    assert!(!text.contains("BREW"), "{text}");
    for status in 200..240 {
        let line = format!(r#"{{route="/x",method="GET",status="{status}"}} 1"#);
        assert!(text.contains(&line), "{line} missing from\n{text}");
    }
}

#[test]
fn recording_from_many_threads_loses_no_request() {
    let metrics = Arc::new(RequestMetrics::new([0.1]));
    std::thread::scope(|scope| {
        for thread in 0..4_u16 {
            let metrics = &metrics;
            scope.spawn(move || {
                for i in 0..1000_u16 {
                    let route = if i % 2 == 0 { "/a" } else { "/b" };
                    metrics.record(route, &Method::GET, 200 + (i + thread) % 20, Duration::ZERO);
                }
            });
        }
    });
    let text = scrape(&metrics);
    let total: u64 = text
        .lines()
        .filter(|l| l.starts_with("authproxy_http_requests_total"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 4000, "{text}");
}
