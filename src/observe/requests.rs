//! HTTP request counts and durations per route, recorded without a lock: every
//! request of the service passes here, so recording is a map lookup in an
//! atomically swapped snapshot and a few atomic additions. Exposed as
//! `http_requests_total{route,method,status}` and
//! `http_request_duration_seconds{route}` (docs/src/operate/performance.md).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::Method;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::exemplar::Exemplar;

/// The methods counted by name; any other is counted as `other`, so a client
/// cannot add label values.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "other",
];

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::OPTIONS => 5,
        Method::HEAD => 6,
        _ => 7,
    }
}

/// Distinct statuses a route and method keep in lock-free slots; more are
/// counted under a lock (a route answers a handful of statuses).
const STATUS_SLOTS: usize = 16;

/// Counts per status of one route and method.
struct StatusCounts {
    slots: [(AtomicU16, AtomicU64); STATUS_SLOTS],
    overflow: Mutex<BTreeMap<u16, u64>>,
}

impl StatusCounts {
    fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| (AtomicU16::new(0), AtomicU64::new(0))),
            overflow: Mutex::new(BTreeMap::new()),
        }
    }

    fn add(&self, status: u16) {
        for (code, count) in &self.slots {
            let mut seen = code.load(Ordering::Acquire);
            if seen == 0 {
                // Claim the free slot, or learn who did.
                seen = match code.compare_exchange(0, status, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => status,
                    Err(other) => other,
                };
            }
            if seen == status {
                count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        *self
            .overflow
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(status)
            .or_default() += 1;
    }

    fn counts(&self) -> Vec<(u16, u64)> {
        let mut counts: Vec<(u16, u64)> = self
            .slots
            .iter()
            .map(|(code, count)| (code.load(Ordering::Acquire), count.load(Ordering::Relaxed)))
            .filter(|&(code, count)| code != 0 && count > 0)
            .collect();
        counts.extend(
            self.overflow
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(&code, &count)| (code, count)),
        );
        counts.sort_unstable();
        counts
    }
}

/// A histogram of durations whose observations are atomic additions.
pub struct AtomicHistogram {
    /// Upper bounds in seconds, ascending; the last bucket (`+Inf`) is implied.
    bounds: Arc<[f64]>,
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl AtomicHistogram {
    /// An empty histogram over `bounds` (seconds, ascending).
    #[must_use]
    pub fn new(bounds: Arc<[f64]>) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds,
            buckets,
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = self
            .bounds
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(self.bounds.len());
        if let Some(counter) = self.buckets.get(bucket) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Sum in seconds, count and per-bucket counts (upper bound, count), as
    /// the exposition encoder takes them.
    fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets = self
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.buckets.iter().map(|b| b.load(Ordering::Relaxed)))
            .collect();
        #[expect(
            clippy::cast_precision_loss,
            reason = "a sum of nanoseconds shown in seconds"
        )]
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, self.count.load(Ordering::Relaxed), buckets)
    }
}

/// What one route records.
struct RouteCounters {
    by_method: [OnceLock<StatusCounts>; METHODS.len()],
    duration: AtomicHistogram,
}

impl RouteCounters {
    fn record(&self, method: &Method, status: u16, elapsed: Duration) {
        if let Some(slot) = self.by_method.get(method_index(method)) {
            slot.get_or_init(StatusCounts::new).add(status);
        }
        self.duration.observe(elapsed);
    }
}

/// Request counts and durations of every route.
pub struct RequestMetrics {
    bounds: Arc<[f64]>,
    /// Route template to its counters; a route seen for the first time is added
    /// by swapping in a copy (once per route in the life of the process).
    routes: ArcSwap<HashMap<Box<str>, Arc<RouteCounters>>>,
    adding: Mutex<()>,
}

impl std::fmt::Debug for RequestMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetrics")
            .field("routes", &self.routes.load().len())
            .finish_non_exhaustive()
    }
}

impl RequestMetrics {
    /// No request yet; durations counted in buckets up to `bounds` (seconds).
    #[must_use]
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Self {
        Self {
            bounds: bounds.into_iter().collect(),
            routes: ArcSwap::from_pointee(HashMap::new()),
            adding: Mutex::new(()),
        }
    }

    /// Records one answered request of `route` (a template, or `unmatched`).
    pub fn record(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        // A known route is recorded through the loaded snapshot: no reference
        // count touched, no cache line shared by the threads but the counters'.
        if let Some(counters) = self.routes.load().get(route) {
            counters.record(method, status, elapsed);
            return;
        }
        self.add_route(route).record(method, status, elapsed);
    }

    fn add_route(&self, route: &str) -> Arc<RouteCounters> {
        let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.routes.load_full();
        if let Some(counters) = current.get(route) {
            return Arc::clone(counters);
        }
        let counters = Arc::new(RouteCounters {
            by_method: std::array::from_fn(|_| OnceLock::new()),
            duration: AtomicHistogram::new(Arc::clone(&self.bounds)),
        });
        let mut next = HashMap::clone(&current);
        next.insert(route.into(), Arc::clone(&counters));
        self.routes.store(Arc::new(next));
        counters
    }
}

impl Collector for RequestMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let routes = self.routes.load_full();
        let mut sorted: Vec<(&str, &RouteCounters)> = routes
            .iter()
            .map(|(route, counters)| (route.as_ref(), counters.as_ref()))
            .collect();
        sorted.sort_unstable_by_key(|&(route, _)| route);
        let mut requests = encoder.encode_descriptor(
            "http_requests",
            "HTTP requests by route, method and status",
            None,
            MetricType::Counter,
        )?;
        for &(route, counters) in &sorted {
            for (method, counts) in METHODS.iter().zip(&counters.by_method) {
                let Some(counts) = counts.get() else {
                    continue;
                };
                for (status, count) in counts.counts() {
                    let status = status.to_string();
                    let labels = [("route", route), ("method", method), ("status", &status)];
                    requests
                        .encode_family(&labels)?
                        .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
                }
            }
        }
        let mut durations = encoder.encode_descriptor(
            "http_request_duration_seconds",
            "HTTP request duration by route",
            None,
            MetricType::Histogram,
        )?;
        for &(route, counters) in &sorted {
            let (sum, count, buckets) = counters.duration.read();
            durations
                .encode_family(&[("route", route)])?
                .encode_histogram::<NoLabelSet>(
                    sum,
                    count,
                    &buckets,
                    None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
                )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
