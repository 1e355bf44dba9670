//! A storm: many timed tasks (connections, logins) run a few at a time, and
//! their times tallied, shared by the scenarios that measure one.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::stats::Summary;

/// What a storm did: how many tasks finished and how long each took.
pub struct Storm {
    pub ok: usize,
    pub failures: usize,
    pub first_failure: Option<String>,
    pub secs: f64,
    pub times_us: Vec<u32>,
}

impl Storm {
    /// Waits for every task (each answering how long its work took) and
    /// tallies them; `started` is when the first was spawned.
    pub async fn gather(
        started: Instant,
        tasks: Vec<JoinHandle<anyhow::Result<Duration>>>,
    ) -> anyhow::Result<Storm> {
        let mut storm = Storm {
            ok: 0,
            failures: 0,
            first_failure: None,
            secs: 0.0,
            times_us: Vec::with_capacity(tasks.len()),
        };
        for task in tasks {
            match task.await? {
                Ok(took) => {
                    storm.ok += 1;
                    storm
                        .times_us
                        .push(took.as_micros().min(u128::from(u32::MAX)) as u32);
                }
                Err(err) => {
                    storm.failures += 1;
                    storm
                        .first_failure
                        .get_or_insert_with(|| format!("{err:#}"));
                }
            }
        }
        storm.secs = started.elapsed().as_secs_f64();
        Ok(storm)
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
