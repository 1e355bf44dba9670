//! The numbers operators watch: every metric's name, help text and buckets, in
//! one place, and their rendering in the Prometheus text format for `/metrics`.
//!
//! A [`Metrics`] is a cheap, cloneable handle (one per running server, so two
//! servers in one test process never mix their counts). The code that does the
//! work counts through one-line calls (`metrics.line_in()`,
//! `metrics.writer_batch(..)`); values that already live elsewhere — open
//! connections, players per world, the writer's queue depth — are not counted
//! twice but read when a scrape asks, and handed in as a [`Sample`].
//!
//! **Invariant:** this module knows nothing about the rest of gaslamp: it deals
//! in numbers and labels, so every layer may count through it without looking
//! up.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginOutcome {
    /// The password was right and the session opened.
    Ok,
    /// A wrong password or an unknown account.
    Wrong,
    /// The account was locked; the password was not checked.
    Locked,
    /// The client's address failed too often lately; nothing was checked.
    Throttled,
    /// The password was right, but the account is banned, deleted or an
    /// expired guest.
    Refused,
    /// The store failed; the player was asked to try again.
    Error,
}

impl LoginOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::Wrong => "wrong",
            LoginOutcome::Locked => "locked",
            LoginOutcome::Throttled => "throttled",
            LoginOutcome::Refused => "refused",
            LoginOutcome::Error => "error",
        }
    }
}

impl EncodeLabelValue for LoginOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// Why the web listener turned an HTTP connection or request away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpRefusal {
    /// Its client's address held its share of connections (`--web-max-per-ip`).
    Address,
    /// Every HTTP slot it could use was taken.
    Full,
    /// It held a slot kept for `/health` and `/metrics` and asked for
    /// something else.
    Reserved,
}

impl HttpRefusal {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpRefusal::Address => "address",
            HttpRefusal::Full => "full",
            HttpRefusal::Reserved => "reserved",
        }
    }
}

impl EncodeLabelValue for HttpRefusal {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: HttpRefusal,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: LoginOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TransportLabel {
    transport: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct WorldLabel {
    world: String,
}

/// The values read at scrape time from where they live.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Open connections by transport name (`plain`, `tls`, `websocket`).
    pub connections: Vec<(&'static str, u64)>,
    /// Characters in play by world id (every loaded world, zeros included).
    pub players: Vec<(String, u64)>,
    /// Operations waiting in the batching writer's queue.
    pub writer_queue: u64,
    /// Operations the batching writer's queue holds at most.
    pub writer_queue_capacity: u64,
    /// Whether the disk refuses the batching writer's commits now.
    pub writer_failing: bool,
    /// Seconds since the server started.
    pub uptime_secs: u64,
    /// HTTP connections open on the web listener (WebSockets once upgraded
    /// count as connections of their transport instead).
    pub http_connections: u64,
}

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    connections: Family<TransportLabel, Gauge>,
    players: Family<WorldLabel, Gauge>,
    uptime: Gauge,
    logins: Family<OutcomeLabel, Counter>,
    lockouts: Counter,
    lines_in: Counter,
    deliveries: Counter,
    outbox_overflows: Counter,
    http_connections: Gauge,
    http_refused: Family<ReasonLabel, Counter>,
    writer_queue: Gauge,
    writer_queue_capacity: Gauge,
    writer_failing: Gauge,
    writer_failed_commits: Counter,
    writer_dropped_rows: Counter,
    writer_batch: Histogram,
    writer_commit: Histogram,
    store_call: Histogram,
    bcrypt_wait: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Buckets for durations from 100 µs to about 6.5 s.
fn time_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 17))
}

impl Metrics {
    /// Registers every metric, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gaslamp");
        let inner = Inner {
            connections: Family::default(),
            players: Family::default(),
            uptime: Gauge::default(),
            logins: Family::default(),
            lockouts: Counter::default(),
            lines_in: Counter::default(),
            deliveries: Counter::default(),
            outbox_overflows: Counter::default(),
            http_connections: Gauge::default(),
            http_refused: Family::default(),
            writer_queue: Gauge::default(),
            writer_queue_capacity: Gauge::default(),
            writer_failing: Gauge::default(),
            writer_failed_commits: Counter::default(),
            writer_dropped_rows: Counter::default(),
            writer_batch: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            writer_commit: time_buckets(),
            store_call: time_buckets(),
            bcrypt_wait: time_buckets(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "connections",
            "Open connections by transport",
            inner.connections.clone(),
        );
        r.register(
            "players",
            "Characters in play by world",
            inner.players.clone(),
        );
        r.register(
            "uptime_seconds",
            "Seconds since the server started",
            inner.uptime.clone(),
        );
        r.register("logins", "Login attempts by outcome", inner.logins.clone());
        r.register(
            "lockouts",
            "Accounts locked after repeated wrong passwords",
            inner.lockouts.clone(),
        );
        r.register(
            "lines_in",
            "Lines received from clients",
            inner.lines_in.clone(),
        );
        r.register(
            "deliveries",
            "Lines of text queued to players",
            inner.deliveries.clone(),
        );
        r.register(
            "outbox_overflows",
            "Connections dropped because their outbound queue filled (the client stopped reading)",
            inner.outbox_overflows.clone(),
        );
        r.register(
            "http_connections",
            "HTTP connections open on the web listener",
            inner.http_connections.clone(),
        );
        r.register(
            "http_refused",
            "HTTP connections and requests the web listener turned away, by reason",
            inner.http_refused.clone(),
        );
        r.register(
            "writer_queue_depth",
            "Operations waiting in the batching writer's queue",
            inner.writer_queue.clone(),
        );
        r.register(
            "writer_queue_capacity",
            "Operations the batching writer's queue holds at most",
            inner.writer_queue_capacity.clone(),
        );
        r.register(
            "writer_failing",
            "1 while the database refuses the batching writer's commits (they are kept and retried)",
            inner.writer_failing.clone(),
        );
        r.register(
            "writer_failed_commits",
            "Batching-writer commits the database refused (each retry counts)",
            inner.writer_failed_commits.clone(),
        );
        r.register(
            "writer_dropped_rows",
            "Rows the batching writer gave up: refused for their contents, or left at a stop on a refusing disk",
            inner.writer_dropped_rows.clone(),
        );
        r.register(
            "writer_batch_size",
            "Rows committed per batching-writer transaction",
            inner.writer_batch.clone(),
        );
        r.register(
            "writer_commit_seconds",
            "Time to commit one batching-writer transaction",
            inner.writer_commit.clone(),
        );
        r.register(
            "store_call_seconds",
            "Time of one store call on the blocking pool, queueing included",
            inner.store_call.clone(),
        );
        r.register(
            "bcrypt_queue_wait_seconds",
            "Time a password hash or check waited for a bcrypt slot",
            inner.bcrypt_wait.clone(),
        );
        Metrics {
            inner: Arc::new(Inner { registry, ..inner }),
        }
    }

    /// A login attempt ended so.
    pub fn login(&self, outcome: LoginOutcome) {
        self.inner
            .logins
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// An account was locked.
    pub fn lockout(&self) {
        self.inner.lockouts.inc();
    }

    /// A client sent a line.
    pub fn line_in(&self) {
        self.inner.lines_in.inc();
    }

    /// A line of text was queued to a player.
    pub fn delivered(&self) {
        self.inner.deliveries.inc();
    }

    /// A connection's outbound queue filled; it is being dropped.
    pub fn outbox_overflow(&self) {
        self.inner.outbox_overflows.inc();
    }

    /// The web listener turned an HTTP connection or request away.
    pub fn http_refused(&self, reason: HttpRefusal) {
        self.inner
            .http_refused
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// The batching writer committed `rows` rows in `took`.
    pub fn writer_batch(&self, rows: usize, took: Duration) {
        self.inner.writer_batch.observe(rows as f64);
        self.inner.writer_commit.observe(took.as_secs_f64());
    }

    /// The database refused a batching-writer commit.
    pub fn writer_refused(&self) {
        self.inner.writer_failed_commits.inc();
    }

    /// The batching writer gave up `rows` rows.
    pub fn writer_dropped_rows(&self, rows: usize) {
        self.inner.writer_dropped_rows.inc_by(rows as u64);
    }

    /// One store call took `took`.
    pub fn store_call(&self, took: Duration) {
        self.inner.store_call.observe(took.as_secs_f64());
    }

    /// A password hash or check waited `waited` for its turn.
    pub fn bcrypt_wait(&self, waited: Duration) {
        self.inner.bcrypt_wait.observe(waited.as_secs_f64());
    }

    /// Every metric in the Prometheus text format, with the sampled values of
    /// `sample`.
    pub fn render(&self, sample: &Sample) -> String {
        let inner = &self.inner;
        for (transport, open) in &sample.connections {
            let label = TransportLabel {
                transport: transport.to_string(),
            };
            inner.connections.get_or_create(&label).set(gauge(*open));
        }
        // A world unloaded by /reload leaves the list.
        inner.players.clear();
        for (world, players) in &sample.players {
            let label = WorldLabel {
                world: world.clone(),
            };
            inner.players.get_or_create(&label).set(gauge(*players));
        }
        inner.writer_queue.set(gauge(sample.writer_queue));
        inner
            .writer_queue_capacity
            .set(gauge(sample.writer_queue_capacity));
        inner.writer_failing.set(i64::from(sample.writer_failing));
        inner.http_connections.set(gauge(sample.http_connections));
        inner.uptime.set(gauge(sample.uptime_secs));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &inner.registry);
        text
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line that starts with `series` (name and labels).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }

    #[test]
    fn counts_and_samples_appear_in_the_text() {
        let metrics = Metrics::new();
        metrics.login(LoginOutcome::Ok);
        metrics.login(LoginOutcome::Wrong);
        metrics.login(LoginOutcome::Wrong);
        metrics.line_in();
        metrics.delivered();
        metrics.delivered();
        metrics.writer_batch(12, Duration::from_millis(3));
        metrics.store_call(Duration::from_micros(250));
        metrics.bcrypt_wait(Duration::from_millis(40));
        let sample = Sample {
            connections: vec![("plain", 3), ("websocket", 2)],
            players: vec![("lamplight".into(), 4)],
            writer_queue: 7,
            uptime_secs: 60,
            http_connections: 5,
            writer_queue_capacity: 64,
            writer_failing: true,
        };
        metrics.writer_refused();
        metrics.writer_dropped_rows(3);
        metrics.http_refused(HttpRefusal::Address);
        metrics.http_refused(HttpRefusal::Address);
        let text = metrics.render(&sample);
        let at = |series| value(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
        assert_eq!(at("gaslamp_logins_total{outcome=\"wrong\"}"), 2.0);
        assert_eq!(at("gaslamp_logins_total{outcome=\"ok\"}"), 1.0);
        assert_eq!(at("gaslamp_lines_in_total"), 1.0);
        assert_eq!(at("gaslamp_deliveries_total"), 2.0);
        assert_eq!(at("gaslamp_connections{transport=\"websocket\"}"), 2.0);
        assert_eq!(at("gaslamp_players{world=\"lamplight\"}"), 4.0);
        assert_eq!(at("gaslamp_writer_queue_depth"), 7.0);
        assert_eq!(at("gaslamp_http_connections"), 5.0);
        assert_eq!(at("gaslamp_writer_queue_capacity"), 64.0);
        assert_eq!(at("gaslamp_writer_failing"), 1.0);
        assert_eq!(at("gaslamp_writer_failed_commits_total"), 1.0);
        assert_eq!(at("gaslamp_writer_dropped_rows_total"), 3.0);
        assert_eq!(at("gaslamp_http_refused_total{reason=\"address\"}"), 2.0);
        assert_eq!(at("gaslamp_writer_batch_size_count"), 1.0);
        assert_eq!(at("gaslamp_writer_batch_size_sum"), 12.0);
        assert_eq!(at("gaslamp_writer_commit_seconds_count"), 1.0);
        assert_eq!(at("gaslamp_store_call_seconds_count"), 1.0);
        assert_eq!(at("gaslamp_bcrypt_queue_wait_seconds_count"), 1.0);
        assert_eq!(at("gaslamp_outbox_overflows_total"), 0.0);
        assert_eq!(at("gaslamp_lockouts_total"), 0.0);
        assert!(text.contains("# TYPE gaslamp_store_call_seconds histogram"));
    }

    #[test]
    fn a_world_gone_from_the_sample_leaves_the_text() {
        let metrics = Metrics::new();
        let mut sample = Sample {
            players: vec![("old".into(), 1), ("new".into(), 0)],
            ..Sample::default()
        };
        assert!(metrics.render(&sample).contains("world=\"old\""));
        sample.players.remove(0);
        let text = metrics.render(&sample);
        assert!(!text.contains("world=\"old\""), "{text}");
        assert_eq!(value(&text, "gaslamp_players{world=\"new\"}"), Some(0.0));
    }

    #[test]
    fn two_servers_keep_their_own_counts() {
        let (one, two) = (Metrics::new(), Metrics::new());
        one.line_in();
        let text = two.render(&Sample::default());
        assert_eq!(value(&text, "gaslamp_lines_in_total"), Some(0.0));
    }
}
