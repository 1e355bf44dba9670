//! What the TLS listener costs (issue 11). The crowded room over TLS is
//! `room-tls`, in `chat`; here are the other two:
//!
//! - `tls-handshakes`: connections a second that reach the `Account: ` prompt,
//!   `concurrency` at a time, first over plain telnet as a baseline, then over
//!   TLS with full handshakes (the client resumes no session). Each one is
//!   timed from the TCP connect to the prompt. Both ends run on the same two
//!   cores, so the client's own handshake work is in the figure too.
//! - `tls-idle`: the same number of players logged in and idle, first over
//!   plain telnet, then over TLS, each on a fresh server; the difference in
//!   resident memory per connection is what TLS costs an idle player.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tokio::sync::Semaphore;

use super::idle;
use super::storm::Storm;
use super::{CpuWindow, Site, cpu_brief};
use crate::Ctx;
use crate::client::{Client, Target};
use crate::report::{Figure, Outcome};
use crate::stats::{Summary, round3};

pub async fn handshakes(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let (n, concurrency) = (args.tls_handshakes, args.tls_handshake_concurrency);
    let site = Site::new(ctx, "tls-handshakes", 1)?;
    let server = site.serve_tls(ctx, 4, n).await?;
    let plain = storm(server.target(false)?, n, concurrency).await;
    let cpu = CpuWindow::start(&server)?;
    let tls = storm(server.target(true)?, n, concurrency).await;
    let cpu = cpu.finish(&server)?;
    server.stop().await?;
    let (mut plain, mut tls) = (plain?, tls?);
    let (plain_time, tls_time) = (plain.summary(), tls.summary());
    let figures = vec![
        Figure::info(
            "TLS handshakes/s (to Account:)",
            format!("{:.0}", tls.rate()),
        ),
        Figure::info("TLS connect to Account: p50/p99/max", tls_time.brief()),
        Figure::info(
            "plain connections/s (to Account:)",
            format!("{:.0}", plain.rate()),
        ),
        Figure::info("plain connect to Account: p50/p99/max", plain_time.brief()),
        Figure::info(
            "failed TLS / plain",
            format!("{} / {}", tls.failures, plain.failures),
        ),
        Figure::info("CPU during the TLS storm", cpu_brief(&cpu)),
    ];
    let json = json!({
        "connections": n,
        "concurrency": concurrency,
        "tls": storm_json(&tls, tls_time),
        "plain": storm_json(&plain, plain_time),
        "cpu_during_tls": cpu,
    });
    Ok(Outcome { json, figures })
}

pub async fn idle(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.args.tls_idle_connections;
    let plain = idle::measure(ctx, "tls-idle-plain", n, false).await?;
    let tls = idle::measure(ctx, "tls-idle", n, true).await?;
    Ok(idle::compare(n, "TLS", "tls", &plain, &tls))
}

async fn storm(target: Target, n: usize, concurrency: usize) -> anyhow::Result<Storm> {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (permits, target) = (permits.clone(), target.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire().await?;
                let begun = Instant::now();
                let mut client = Client::connect(target).await?;
                client.wait_prompt(&["Account: "]).await?;
                anyhow::Ok(begun.elapsed())
            })
        })
        .collect();
    Storm::gather(started, tasks).await
}

/// A storm's figures as JSON.
fn storm_json(storm: &Storm, time: Summary) -> serde_json::Value {
    json!({
        "ok": storm.ok,
        "failures": storm.failures,
        "first_failure": storm.first_failure,
        "secs": round3(storm.secs),
        "per_sec": round3(storm.rate()),
        "connect_to_prompt": time.json(),
    })
}
