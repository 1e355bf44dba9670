//! Latency samples and their summary.
//!
//! Every chat line carries the moment it was sent, in microseconds since the load
//! generator started ([`now_us`]); a listener subtracts that from the moment it
//! parsed the line. Both ends are this process, so one monotonic clock serves and
//! no clock skew enters the figures. What is measured is the whole trip: the
//! speaker's write, the server's read, parse, fan-out and writes, and the
//! listener's read and parse — the load generator's own scheduling included.

use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{Value, json};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Starts the clock; call once before any sample is taken.
pub fn start_clock() {
    EPOCH.get_or_init(Instant::now);
}

/// Microseconds since [`start_clock`].
pub fn now_us() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// One delivery: when the line was sent and how long it took, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub sent_us: u64,
    pub latency_us: u32,
}

/// Percentiles of a set of latencies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Summary {
    /// Summarises latencies (microseconds); sorts them in place.
    pub fn of(latencies: &mut [u32]) -> Summary {
        if latencies.is_empty() {
            return Summary::default();
        }
        latencies.sort_unstable();
        let at = |q: f64| {
            let rank = ((latencies.len() as f64) * q).ceil() as usize;
            f64::from(latencies[rank.clamp(1, latencies.len()) - 1]) / 1000.0
        };
        let total: u64 = latencies.iter().map(|&l| u64::from(l)).sum();
        Summary {
            count: latencies.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: f64::from(latencies[latencies.len() - 1]) / 1000.0,
            mean_ms: total as f64 / latencies.len() as f64 / 1000.0,
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "samples": self.count,
            "p50_ms": round3(self.p50_ms),
            "p90_ms": round3(self.p90_ms),
            "p99_ms": round3(self.p99_ms),
            "p999_ms": round3(self.p999_ms),
            "max_ms": round3(self.max_ms),
            "mean_ms": round3(self.mean_ms),
        })
    }

    /// `p50 / p99 / max` for the table.
    pub fn brief(&self) -> String {
        format!(
            "{:.2} / {:.2} / {:.1} ms",
            self.p50_ms, self.p99_ms, self.max_ms
        )
    }
}

/// Rounds to three decimals for the JSON report.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut lat: Vec<u32> = (1..=1000).map(|ms| ms * 1000).collect();
        let s = Summary::of(&mut lat);
        assert_eq!(s.p50_ms, 500.0);
        assert_eq!(s.p99_ms, 990.0);
        assert_eq!(s.max_ms, 1000.0);
        assert_eq!(Summary::of(&mut []).count, 0);
    }
}
