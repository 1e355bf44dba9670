//! A storm: many timed tasks (connections, logins) run a few at a time, and
//! their times tallied, shared by the scenarios that measure one.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::stats::{Sample, Summary};

/// What a storm did: how many tasks finished and how long each took.
pub struct Storm {
    pub ok: usize,
    pub failures: usize,
    pub first_failure: Option<String>,
    pub secs: f64,
    pub times_us: Vec<u32>,
}

/// Makes `n` accounts named `prefix` and a number (each with its first
/// character), `concurrency` at a time over telnet, each hanging up after.
pub async fn create_accounts(
    addr: std::net::SocketAddr,
    prefix: &'static str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire().await?;
                let mut client = crate::client::Client::connect(addr).await?;
                client
                    .create_account(&crate::client::name(prefix, i))
                    .await?;
                let _ = client.send("quit").await;
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

impl Storm {
    /// Waits for every task (each answering how long its work took) and
    /// tallies them; `started` is when the first was spawned.
    pub async fn gather(
        started: Instant,
        tasks: Vec<JoinHandle<anyhow::Result<Duration>>>,
    ) -> anyhow::Result<Storm> {
        let mut storm = Storm::for_tasks(tasks.len());
        for task in tasks {
            storm.record(task.await?);
        }
        storm.secs = started.elapsed().as_secs_f64();
        Ok(storm)
    }

    /// A tally with room for `n` tasks' times, none counted yet.
    pub fn for_tasks(n: usize) -> Storm {
        Storm {
            ok: 0,
            failures: 0,
            first_failure: None,
            secs: 0.0,
            times_us: Vec::with_capacity(n),
        }
    }

    /// Counts one task's answer: how long it took, or why it failed.
    pub fn record(&mut self, answer: anyhow::Result<Duration>) {
        match answer {
            Ok(took) => {
                self.ok += 1;
                self.times_us
                    .push(took.as_micros().min(u128::from(u32::MAX)) as u32);
            }
            Err(err) => {
                self.failures += 1;
                self.first_failure.get_or_insert_with(|| format!("{err:#}"));
            }
        }
    }

    /// The talk's latencies, split into lines sent before the storm (which ran
    /// from `from` to `to`, µs since the epoch) and lines sent during it.
    pub fn before_and_during(samples: &[Sample], from: u64, to: u64) -> (Summary, Summary) {
        let (mut before, mut during) = (Vec::new(), Vec::new());
        for s in samples {
            if s.sent_us < from {
                before.push(s.latency_us);
            } else if s.sent_us <= to {
                during.push(s.latency_us);
            }
        }
        (Summary::of(&mut before), Summary::of(&mut during))
    }

    /// Tasks finished a second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.secs.max(1e-3)
    }

    /// The distribution of the times.
    pub fn summary(&mut self) -> Summary {
        Summary::of(&mut self.times_us)
    }
}
