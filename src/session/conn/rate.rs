//! How much a client may send, in two budgets kept apart: the command rate for
//! the lines it types (SPEC §10: 20 a second, a burst of 40; excess lines are
//! dropped with `Slow down.`), and the negotiation budget for its telnet
//! negotiations and subnegotiations (messages and bytes a second; a client
//! over it is closed). Neither ever charges the other: a Mudlet connect burst
//! or a window drag never costs a typed line, and typing never costs a
//! negotiation.
//!
//! Both are token buckets read against the clock the caller passes, so they are
//! pure and tested without waiting. This file knows nothing of sockets,
//! telnet or what the client sent; it only counts.

use std::time::{Duration, Instant};

/// Negotiations and subnegotiations allowed at once. A Mudlet or TinTin++
/// connect burst is some 30 (the option answers, the TTYPE cycle, CHARSET,
/// NAWS, GMCP `Core.Hello` and `Core.Supports.Set`); a thousand option
/// requests in one write, as the protocol tests send, still pass.
pub const NEGOTIATION_BURST: u32 = 2048;
/// Negotiations and subnegotiations a second, sustained. A window dragged
/// about sends one NAWS per step, a few dozen a second.
pub const NEGOTIATIONS_PER_SECOND: u32 = 256;
/// Bytes of negotiation allowed at once: a connect burst is some 2 KiB.
pub const NEGOTIATION_BYTES_BURST: u32 = 64 * 1024;
/// Bytes of negotiation a second, sustained: a NAWS is 9 bytes.
pub const NEGOTIATION_BYTES_PER_SECOND: u32 = 16 * 1024;

/// A token bucket: `rate` tokens a second, holding at most `burst` (the
/// command rate's figures are the operator's, so each connection keeps them).
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u32, burst: u32, now: Instant) -> Bucket {
        let burst = f64::from(burst.max(1));
        Bucket {
            rate: f64::from(rate.max(1)),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes a token if there is one, after refilling for the time since the
    /// last call.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A bucket's fill as plain values: tokens left, and how long ago it was
/// counted (an `Instant` means nothing to another process image).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BucketState {
    tokens: f64,
    counted_ago: f64,
}

/// Seconds from `at` to `now`.
fn ago(at: Instant, now: Instant) -> f64 {
    now.saturating_duration_since(at).as_secs_f64()
}

/// The instant `seconds` before `now` (now itself if the clock cannot go back
/// that far, which only makes the bucket fill a little later).
fn before(now: Instant, seconds: f64) -> Instant {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|back| now.checked_sub(back))
        .unwrap_or(now)
}

impl Bucket {
    fn snapshot(&self, now: Instant) -> BucketState {
        BucketState {
            tokens: self.tokens,
            counted_ago: ago(self.last, now),
        }
    }

    fn restore(&mut self, state: BucketState, now: Instant) {
        self.tokens = state.tokens.clamp(0.0, self.burst);
        self.last = before(now, state.counted_ago);
    }
}

/// The command rate's state, carried across an upgrade so that a flood
/// cannot use the upgrade to start afresh.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LimiterState {
    bucket: BucketState,
    warned_ago: Option<f64>,
}

/// The negotiation budget's state, carried likewise.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BudgetState {
    messages: f64,
    bytes: f64,
    counted_ago: f64,
}

/// The outcome of asking the command rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Dropped; the client is to be told `Slow down.`
    NoAndWarn,
    /// Dropped quietly: it was told less than a second ago.
    No,
}

/// The command rate for typed lines.
#[derive(Debug)]
pub struct RateLimiter {
    bucket: Bucket,
    last_warning: Option<Instant>,
}

impl RateLimiter {
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            bucket: Bucket::new(rate, burst, Instant::now()),
            last_warning: None,
        }
    }

    pub fn snapshot(&self, now: Instant) -> LimiterState {
        LimiterState {
            bucket: self.bucket.snapshot(now),
            warned_ago: self.last_warning.map(|at| ago(at, now)),
        }
    }

    /// The limiter (with the operator's current figures) filled as `state` says.
    pub fn restore(&mut self, state: LimiterState, now: Instant) {
        self.bucket.restore(state.bucket, now);
        self.last_warning = state.warned_ago.map(|seconds| before(now, seconds));
    }

    /// Admits one line, or says whether to warn about dropping it (at most
    /// once a second).
    pub fn take(&mut self, now: Instant) -> Admit {
        if self.bucket.take(now) {
            return Admit::Yes;
        }
        let warned_recently = self
            .last_warning
            .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1));
        if warned_recently {
            Admit::No
        } else {
            self.last_warning = Some(now);
            Admit::NoAndWarn
        }
    }
}

/// Which part of the negotiation budget a client went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    /// More negotiations and subnegotiations than [`NEGOTIATION_BURST`] at
    /// once, or [`NEGOTIATIONS_PER_SECOND`] sustained.
    Messages,
    /// More bytes of them than [`NEGOTIATION_BYTES_BURST`] at once, or
    /// [`NEGOTIATION_BYTES_PER_SECOND`] sustained.
    Bytes,
}

impl OverBudget {
    /// The budget gone over, in words, for the log line that closes the
    /// connection.
    pub fn limit(self) -> String {
        match self {
            OverBudget::Messages => format!(
                "{NEGOTIATION_BURST} negotiations at once or {NEGOTIATIONS_PER_SECOND} a second"
            ),
            OverBudget::Bytes => format!(
                "{} KiB of negotiation at once or {} KiB a second",
                NEGOTIATION_BYTES_BURST / 1024,
                NEGOTIATION_BYTES_PER_SECOND / 1024
            ),
        }
    }
}

/// The negotiation budget: messages and bytes a second, apart from typed
/// lines. Its figures are constants, so each connection keeps only what is
/// left of both and when it was counted.
#[derive(Debug)]
pub struct NegotiationBudget {
    messages: f64,
    bytes: f64,
    last: Instant,
}

impl NegotiationBudget {
    pub fn new() -> NegotiationBudget {
        NegotiationBudget::starting(Instant::now())
    }

    fn starting(now: Instant) -> NegotiationBudget {
        NegotiationBudget {
            messages: f64::from(NEGOTIATION_BURST),
            bytes: f64::from(NEGOTIATION_BYTES_BURST),
            last: now,
        }
    }

    pub fn snapshot(&self, now: Instant) -> BudgetState {
        BudgetState {
            messages: self.messages,
            bytes: self.bytes,
            counted_ago: ago(self.last, now),
        }
    }

    pub fn restored(state: BudgetState, now: Instant) -> NegotiationBudget {
        NegotiationBudget {
            messages: state.messages.clamp(0.0, f64::from(NEGOTIATION_BURST)),
            bytes: state.bytes.clamp(0.0, f64::from(NEGOTIATION_BYTES_BURST)),
            last: before(now, state.counted_ago),
        }
    }

    /// Charges one negotiation of `bytes` on the wire.
    pub fn charge(&mut self, bytes: usize, now: Instant) -> Result<(), OverBudget> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let refill = |left: f64, rate: u32, burst: u32| {
            (left + elapsed * f64::from(rate)).min(f64::from(burst))
        };
        self.messages = refill(self.messages, NEGOTIATIONS_PER_SECOND, NEGOTIATION_BURST);
        self.bytes = refill(
            self.bytes,
            NEGOTIATION_BYTES_PER_SECOND,
            NEGOTIATION_BYTES_BURST,
        );
        // A subnegotiation is at most a few KiB, so the count is exact.
        let bytes = bytes as f64;
        if self.messages < 1.0 {
            return Err(OverBudget::Messages);
        }
        if self.bytes < bytes {
            return Err(OverBudget::Bytes);
        }
        self.messages -= 1.0;
        self.bytes -= bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_limiter_carried_across_an_upgrade_stays_empty() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(20, 40);
        limiter.bucket.last = start;
        for _ in 0..40 {
            assert_eq!(limiter.take(start), Admit::Yes);
        }
        assert_eq!(limiter.take(start), Admit::NoAndWarn);
        // Carried as JSON, as the state file does, and taken up at once.
        let json = serde_json::to_string(&limiter.snapshot(start)).expect("serializes");
        let state: LimiterState = serde_json::from_str(&json).expect("reads back");
        let mut again = RateLimiter::new(20, 40);
        again.restore(state, start);
        assert_eq!(again.take(start), Admit::No, "still empty, already warned");
        // And it refills at the same pace as before.
        let later = start + Duration::from_millis(100);
        assert_eq!(again.take(later), Admit::Yes);
    }

    #[test]
    fn a_negotiation_budget_carried_across_an_upgrade_keeps_what_was_spent() {
        let start = Instant::now();
        let mut budget = NegotiationBudget::starting(start);
        for _ in 0..NEGOTIATION_BURST {
            budget.charge(1, start).expect("within the burst");
        }
        let json = serde_json::to_string(&budget.snapshot(start)).expect("serializes");
        let state: BudgetState = serde_json::from_str(&json).expect("reads back");
        let mut again = NegotiationBudget::restored(state, start);
        assert!(again.charge(1, start).is_err(), "the burst stays spent");
    }

    #[test]
    fn a_burst_passes_then_excess_is_dropped_with_one_warning() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(20, 40);
        limiter.bucket.last = start;
        for _ in 0..40 {
            assert_eq!(limiter.take(start), Admit::Yes);
        }
        assert_eq!(limiter.take(start), Admit::NoAndWarn);
        assert_eq!(limiter.take(start), Admit::No);
        // A tenth of a second refills two tokens at 20 a second.
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.take(later), Admit::Yes);
        assert_eq!(limiter.take(later), Admit::Yes);
        assert_eq!(limiter.take(later), Admit::No);
    }

    #[test]
    fn a_steady_twenty_a_second_is_never_limited() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(20, 40);
        limiter.bucket.last = start;
        for i in 0..1000 {
            let at = start + Duration::from_millis(50 * i);
            assert_eq!(limiter.take(at), Admit::Yes, "command {i}");
        }
    }

    #[test]
    fn a_connect_burst_and_a_long_window_drag_stay_within_the_budget() {
        let start = Instant::now();
        let mut budget = NegotiationBudget::starting(start);
        // A generous connect burst: 60 messages, 8 KiB.
        for _ in 0..60 {
            assert_eq!(budget.charge(136, start), Ok(()));
        }
        // Then a minute of dragging a window at 120 NAWS a second.
        for step in 0..120 * 60 {
            let at = start + Duration::from_micros(8_333 * step);
            assert_eq!(budget.charge(9, at), Ok(()), "step {step}");
        }
    }

    #[test]
    fn a_flood_of_messages_or_of_bytes_goes_over_the_budget() {
        let start = Instant::now();
        let mut budget = NegotiationBudget::starting(start);
        for _ in 0..NEGOTIATION_BURST {
            assert_eq!(budget.charge(3, start), Ok(()));
        }
        assert_eq!(budget.charge(3, start), Err(OverBudget::Messages));

        let mut budget = NegotiationBudget::starting(start);
        let big = 4096 + 5;
        let fit = NEGOTIATION_BYTES_BURST as usize / big;
        for _ in 0..fit {
            assert_eq!(budget.charge(big, start), Ok(()));
        }
        assert_eq!(budget.charge(big, start), Err(OverBudget::Bytes));
        // A second later a second's worth is back beside what was left, and
        // no more.
        let left = NEGOTIATION_BYTES_BURST as usize - fit * big;
        let later = start + Duration::from_secs(1);
        let passed = (0..100)
            .take_while(|_| budget.charge(big, later).is_ok())
            .count();
        assert_eq!(passed, (left + NEGOTIATION_BYTES_PER_SECOND as usize) / big);
    }
}
