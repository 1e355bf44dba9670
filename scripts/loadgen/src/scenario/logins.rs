//! `logins`: logins a second at the server's default bcrypt cost while others
//! talk, and the talkers' latency during the storm.
//!
//! Setting up takes three steps, so that no account has to be created at cost 12
//! (about a quarter of a second of CPU each):
//! 1. A server at cost 4 creates the talkers (who walk to their rooms, 20 to a
//!    room, and hang up) and the storm's accounts over telnet; it is stopped with
//!    SIGTERM, which saves everything.
//! 2. With the server down, the storm accounts' password hashes are replaced by
//!    one hash of the same password made at the login cost (default 12), straight
//!    in the database — as if they had been created on a cost-12 server.
//! 3. A server at that cost starts on the same database. The talkers log in
//!    again (their own hashes are still cost 4, so they are in fast), go back to
//!    their rooms and talk; after a baseline the storm's accounts all log in with
//!    `connect`, a bounded number at a time, each timed from its TCP connect to
//!    the `Character: ` prompt.
//!
//! Reported: logins a second (storm accounts over the storm's wall time), login
//! time, and the talkers' delivery latency for lines sent before and during the
//! storm. Target (SPEC §11): the talkers' p99 under 10 ms during the storm.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gaslamp::store::accounts::{AccountChange, Actor};
use gaslamp::store::{Store, StoreOptions};
use serde_json::json;
use tokio::sync::Semaphore;

use super::storm::{Storm, create_accounts};
use super::{CpuWindow, Site, cpu_brief};
use crate::Ctx;
use crate::client::{Client, PASSWORD, name};
use crate::crowd::{Crowd, Login, Member, tally};
use crate::report::{Figure, Outcome};
use crate::stats::{Summary, now_us, round3};

const TARGET_P99_MS: f64 = 10.0;
const PER_ROOM: usize = 20;
/// Account-name prefixes: talkers and the storm's accounts.
const TALKER: &str = "lt";
const STORMER: &str = "ls";

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let rooms = args.login_chatters.div_ceil(PER_ROOM).max(1);
    let site = Site::new(ctx, "logins", rooms)?;
    let connections = args.login_chatters + args.login_concurrency + args.logins;

    eprintln!("    creating accounts at cost 4");
    let server = site.serve(ctx, 4, connections).await?;
    let created = create_everyone(ctx, server.addr, rooms).await;
    server.stop().await?;
    created?;

    eprintln!(
        "    re-hashing the storm's accounts at cost {}",
        args.login_cost
    );
    rehash(&site.db, args.login_cost, args.logins).await?;

    let server = site.serve(ctx, args.login_cost, connections).await?;
    let period = Duration::from_secs_f64(1.0 / args.login_chat_rate.max(0.01));
    let crowd = Crowd::assemble(
        server.addr,
        talkers(args.login_chatters, rooms, Login::Reconnect),
        args.setup_concurrency,
        period,
    )
    .await?;
    crowd.run();
    tokio::time::sleep(Duration::from_secs(args.login_baseline_secs)).await;
    let cpu = CpuWindow::start(&server)?;
    let storm_from = now_us();
    let storm = storm(server.addr, args.logins, args.login_concurrency).await;
    let storm_to = now_us();
    let cpu = cpu.finish(&server)?;
    // A little talk after the storm, then quiet.
    tokio::time::sleep(Duration::from_secs(1)).await;
    crowd.drain(Duration::from_secs(15)).await;
    let totals = tally(crowd.finish().await?);
    server.stop().await?;
    let storm = storm?;

    let (before, during) = Storm::before_and_during(&totals.samples, storm_from, storm_to);
    let mut login_times: Vec<u32> = storm.times_us.clone();
    let login_times = Summary::of(&mut login_times);
    let per_sec = storm.ok as f64 / storm.secs.max(1e-3);
    let json = json!({
        "bcrypt_cost": args.login_cost,
        "logins": args.logins,
        "logins_ok": storm.ok,
        "login_failures": storm.failures,
        "first_failure": storm.first_failure,
        "concurrency": args.login_concurrency,
        "storm_secs": round3(storm.secs),
        "logins_per_sec": round3(per_sec),
        "login_time": login_times.json(),
        "talkers": totals.members,
        "talk_rate_per_player": args.login_chat_rate,
        "latency_before_storm": before.json(),
        "latency_during_storm": during.json(),
        "lost": totals.lost,
        "deliveries": totals.delivered,
        "connections_dropped": totals.closed_early,
        "cpu_during_storm": cpu,
        "target_p99_ms": TARGET_P99_MS,
    });
    let figures = vec![
        Figure::info(
            &format!("logins/s at cost {}", args.login_cost),
            format!("{per_sec:.1} ({} of {})", storm.ok, args.logins),
        ),
        Figure::info("login time p50 / p99 / max", login_times.brief()),
        Figure::info("talk latency before storm", before.brief()),
        Figure::target(
            "talk latency during storm",
            during.brief(),
            "p99 < 10 ms",
            during.p99_ms < TARGET_P99_MS && during.count > 0,
        ),
        Figure::info(
            "lines lost / dropped conns",
            format!("{} / {}", totals.lost, totals.closed_early),
        ),
        Figure::info("CPU during storm", cpu_brief(&cpu)),
    ];
    Ok(Outcome { json, figures })
}

fn talkers(n: usize, rooms: usize, login: Login) -> Vec<Member> {
    (0..n)
        .map(|i| Member {
            account: name(TALKER, i),
            login,
            room: i % rooms,
            speaker: Some(i as u32),
            websocket: false,
            world: None,
        })
        .collect()
}

/// Step 1: talkers placed in their rooms, storm accounts created.
async fn create_everyone(ctx: &Ctx, addr: SocketAddr, rooms: usize) -> anyhow::Result<()> {
    let args = &ctx.args;
    let crowd = Crowd::assemble(
        addr,
        talkers(args.login_chatters, rooms, Login::Create),
        args.setup_concurrency,
        Duration::from_secs(1),
    )
    .await?;
    crowd.finish().await?;
    create_accounts(addr, STORMER, args.logins, args.setup_concurrency).await?;
    Ok(())
}

/// Step 2: the storm's accounts get a hash made at `cost`, through the same
/// account change an operator's `gaslamp user passwd` makes.
async fn rehash(db: &std::path::Path, cost: u32, expected: usize) -> anyhow::Result<()> {
    let db = db.to_path_buf();
    let store = tokio::task::spawn_blocking(move || {
        let options = StoreOptions {
            bcrypt_cost: cost,
            hash_concurrency: 1,
        };
        Store::open(&db, options)
    })
    .await??;
    let hash = store
        .accounts()
        .hash_new_password(PASSWORD)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    for i in 0..expected {
        let change = AccountChange::Password { hash: hash.clone() };
        store
            .accounts()
            .change(Actor::Operator, &name(STORMER, i), change, "bench.rehash")
            .await
            .map_err(|err| anyhow::anyhow!("re-hashing {}: {err}", name(STORMER, i)))?;
    }
    Ok(())
}

/// Step 3's storm: every storm account logs in, `concurrency` at a time.
async fn storm(addr: SocketAddr, logins: usize, concurrency: usize) -> anyhow::Result<Storm> {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let tasks: Vec<_> = (0..logins)
        .map(|i| {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire().await?;
                let begun = Instant::now();
                let mut client = Client::connect(addr).await?;
                client.log_in(&name(STORMER, i)).await?;
                let took = begun.elapsed();
                // Leave politely from the character menu.
                let _ = client.send("quit").await;
                anyhow::Ok(took)
            })
        })
        .collect();
    Storm::gather(started, tasks).await
}
