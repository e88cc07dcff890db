//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text format: requests by
//! route template (never by id) and status, their latency, the policy and credential indexes
//! (read from their counters at each scrape) and the build. Names and units follow Prometheus's
//! conventions (`portcullis_http_requests_total`, `…_duration_seconds`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::service::Portcullis;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of `GET /metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/client/v4/accounts/{account_id}/members`), or `unmatched`.
    route: String,
    status: u16,
}

/// Labels of a latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type Latencies = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Upper bounds of the latency buckets, in seconds: 100 µs to 10 s.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latencies: Latencies,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The registry, with the indexes of `app` read at every scrape.
    pub fn new(app: Portcullis) -> Arc<Self> {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "portcullis_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latencies: Latencies = Family::new_with_constructor(latency_histogram);
        registry.register(
            "portcullis_http_request_duration_seconds",
            "Time from the request's arrival to its answer, by method and route template",
            latencies.clone(),
        );
        registry.register_collector(Box::new(Indexes { app }));
        Arc::new(Self {
            registry,
            requests,
            latencies,
        })
    }

    /// Records one answered request.
    pub fn observe(&self, method: &str, route: Option<&str>, status: u16, elapsed: Duration) {
        let route = route.unwrap_or("unmatched").to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.clone(),
                status,
            })
            .inc();
        self.latencies
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
            let _ = writeln!(out, "# EOF");
        }
        out
    }
}

/// The indexes' counters and sizes, and the build, read at each scrape.
struct Indexes {
    app: Portcullis,
}

impl std::fmt::Debug for Indexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Indexes")
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

fn signed(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Collector for Indexes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        let p = self.app.index().stats();
        counter(
            e,
            "portcullis_policy_index_hits",
            "Decisions' lookups answered from the policy index.",
            p.hits,
        )?;
        counter(
            e,
            "portcullis_policy_index_misses",
            "Decisions' lookups that read the database.",
            p.misses,
        )?;
        counter(
            e,
            "portcullis_policy_index_evictions",
            "Policy-index entries evicted to stay within the memory budget.",
            p.evictions,
        )?;
        counter(
            e,
            "portcullis_policy_index_invalidations",
            "Policy-index lookups that found an entry a change had made stale (read again).",
            p.invalidations,
        )?;
        gauge(
            e,
            "portcullis_policy_index_entries",
            "Entries in the policy index.",
            signed(p.entries),
        )?;
        gauge(
            e,
            "portcullis_policy_index_bytes",
            "Estimated bytes the policy index holds.",
            signed(p.bytes),
        )?;
        gauge(
            e,
            "portcullis_policy_index_budget_bytes",
            "Bytes the policy index may hold.",
            signed(p.budget),
        )?;
        let c = self.app.credentials().stats();
        counter(
            e,
            "portcullis_credential_index_hits",
            "Authentications answered from the credential index.",
            c.hits,
        )?;
        counter(
            e,
            "portcullis_credential_index_misses",
            "Authentications that read the database.",
            c.misses,
        )?;
        counter(
            e,
            "portcullis_credential_index_evictions",
            "Credential-index entries evicted to stay within the memory budget.",
            c.evictions,
        )?;
        counter(
            e,
            "portcullis_credential_index_invalidations",
            "Credential-index lookups that found an entry a change had made stale (read again).",
            c.invalidations,
        )?;
        gauge(
            e,
            "portcullis_credential_index_entries",
            "Verified tokens and keys in the credential index.",
            signed(c.entries),
        )?;
        gauge(
            e,
            "portcullis_credential_index_bytes",
            "Estimated bytes the credential index holds.",
            signed(c.bytes),
        )?;
        gauge(
            e,
            "portcullis_token_uses_pending",
            "Token uses queued, not yet written.",
            signed(c.pending_uses),
        )?;
        gauge(e, "portcullis_caches_live", "1 while this process hears every change (the indexes are used), 0 while it reads the database for everything.", i64::from(self.app.is_live()))?;
        let d = self.app.decisions();
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        let mode = self.app.authz_mode().as_str();
        let decisions = [
            ("gate", "allowed", load(&d.gate_allowed)),
            ("gate", "denied", load(&d.gate_denied)),
            ("gate", "would_deny", load(&d.gate_would_deny)),
            ("api", "allowed", load(&d.api_allowed)),
            ("api", "denied", load(&d.api_denied)),
        ];
        let probe = ConstCounter::new(0u64);
        let mut family = e.encode_descriptor(
            "portcullis_decisions",
            "Authorization decisions: by the route gate (every guarded request) and by the decision API (each check), by outcome; `mode` is the enforcement mode (`would_deny`: soft mode let a request through).",
            None,
            probe.metric_type(),
        )?;
        for (source, outcome, n) in decisions {
            let labels = [("source", source), ("outcome", outcome), ("mode", mode)];
            ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
        }
        let checks = [
            ("verified", load(&d.sso_verified)),
            ("pending", load(&d.sso_pending)),
            ("failed", load(&d.sso_failed)),
            ("dns_unavailable", load(&d.sso_dns_unavailable)),
        ];
        let mut family = e.encode_descriptor(
            "portcullis_sso_checks",
            "SSO domain verification checks (on demand and by the background verifier), by outcome: verified, pending (not found yet), failed (not found by the end of the window), dns_unavailable (retried with backoff).",
            None,
            probe.metric_type(),
        )?;
        for (outcome, n) in checks {
            ConstCounter::new(n).encode(family.encode_family(&[("outcome", outcome)])?)?;
        }
        for pool in self.app.pool_stats() {
            let labels = [("pool", pool.name)];
            let size = ConstGauge::new(i64::from(pool.size));
            let mut f = e.encode_descriptor(
                "portcullis_db_connections",
                "Open database connections, by pool (sqlite: read and write; postgres: main).",
                None,
                size.metric_type(),
            )?;
            size.encode(f.encode_family(&labels)?)?;
            let idle = ConstGauge::new(signed(pool.idle));
            let mut f = e.encode_descriptor(
                "portcullis_db_connections_idle",
                "Open database connections not in use, by pool.",
                None,
                idle.metric_type(),
            )?;
            idle.encode(f.encode_family(&labels)?)?;
        }
        let waits = self.app.write_waits();
        counter(
            e,
            "portcullis_db_write_waits",
            "Write transactions begun.",
            waits.count,
        )?;
        let seconds = ConstCounter::new(waits.micros as f64 / 1e6);
        seconds.encode(e.encode_descriptor(
            "portcullis_db_write_wait_seconds",
            "Time write transactions waited to begin (the writer connection and BEGIN), summed.",
            None,
            seconds.metric_type(),
        )?)?;
        let info = ConstGauge::new(1i64);
        let labels = [("version", env!("CARGO_PKG_VERSION"))];
        let mut descriptor = e.encode_descriptor(
            "portcullis_build_info",
            "The running build (always 1).",
            None,
            info.metric_type(),
        )?;
        info.encode(descriptor.encode_family(&labels)?)
    }
}
