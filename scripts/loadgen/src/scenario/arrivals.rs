//! `arrivals` (issue 21): a login storm into one crowded room.
//!
//! 5,000 accounts (made first, at bcrypt cost 4) log in at 200 a second from
//! 64 loopback addresses and enter the game, all into the world's spawn room,
//! where 100 players already sit, 10 of them talking at 2 lines a second.
//! Everyone who arrived stays, reading everything, until the storm is over:
//! by its end the room holds 5,100 players. Without coalescing, every entry
//! would be a line to everyone there (12.5 million lines); the server gathers
//! entries into a crowded room and tells them together (`<Name>, <Name> and
//! <n> others arrive.`).
//!
//! Goals: every login completes (none refused, none timing out, nobody
//! dropped), and the talk's p99 during the storm stays under 50 ms.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use super::{CpuWindow, Site, cpu_brief};
use crate::Ctx;
use crate::client::{Client, name};
use crate::crowd::{Crowd, HUB, Login, Member, tally};
use crate::report::{Figure, Outcome};
use crate::stats::{Summary, now_us, round3};

const TARGET_P99_MS: f64 = 50.0;
/// Account-name prefixes: the room's talkers and the storm's arrivals.
const TALKER: &str = "at";
const ARRIVER: &str = "aa";

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let site = Site::new(ctx, "arrivals", 1)?;
    let connections = args.arrivals + args.arrivals_talkers + args.setup_concurrency;
    let server = site.serve(ctx, 4, connections).await?;

    eprintln!("    creating {} accounts at cost 4", args.arrivals);
    create(ctx, server.addr, args.arrivals).await?;

    let members = (0..args.arrivals_talkers)
        .map(|i| Member {
            account: name(TALKER, i),
            login: Login::Create,
            room: HUB,
            speaker: (i < args.arrivals_speakers).then_some(i as u32),
            websocket: false,
            world: None,
        })
        .collect();
    let period = Duration::from_secs_f64(1.0 / args.arrivals_talk_rate.max(0.01));
    let crowd = Crowd::assemble(server.addr, members, args.setup_concurrency, period).await?;
    crowd.run();
    // A moment of talk before the storm, for a baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;

    eprintln!(
        "    {} arrivals at {}/s from {} addresses",
        args.arrivals, args.arrivals_rate, args.arrivals_addresses
    );
    let cpu = CpuWindow::start(&server)?;
    let storm_from = now_us();
    let storm = storm(
        server.addr,
        args.arrivals,
        args.arrivals_rate,
        args.arrivals_addresses,
    )
    .await;
    let storm_to = now_us();
    let cpu = cpu.finish(&server)?;
    let memory = server.memory()?;
    // The talk is drained while the arrivals are still in the room: their
    // leaving together afterwards is a storm of its own.
    crowd.drain(Duration::from_secs(15)).await;
    let totals = tally(crowd.finish().await?);
    let storm = storm?.end().await;
    server.stop().await?;

    let (mut before, mut during) = (Vec::new(), Vec::new());
    for s in &totals.samples {
        if s.sent_us < storm_from {
            before.push(s.latency_us);
        } else if s.sent_us <= storm_to {
            during.push(s.latency_us);
        }
    }
    let before = Summary::of(&mut before);
    let during = Summary::of(&mut during);
    let mut times = storm.times_us.clone();
    let times = Summary::of(&mut times);
    let complete = storm.ok == args.arrivals && storm.dropped == 0;
    let json = json!({
        "arrivals": args.arrivals,
        "rate_per_sec": args.arrivals_rate,
        "addresses": args.arrivals_addresses,
        "bcrypt_cost": 4,
        "logins_ok": storm.ok,
        "login_failures": storm.failures,
        "first_failure": storm.first_failure,
        "arrivals_dropped_by_server": storm.dropped,
        "storm_secs": round3(storm.secs),
        "login_time": times.json(),
        "talkers": totals.members,
        "latency_before_storm": before.json(),
        "latency_during_storm": during.json(),
        "lost": totals.lost,
        "talkers_dropped": totals.closed_early,
        "rss_mib_after_storm": round3(memory.rss_kib as f64 / 1024.0),
        "cpu_during_storm": cpu,
        "target_p99_ms": TARGET_P99_MS,
    });
    let figures = vec![
        Figure::target(
            "arrivals in the game",
            format!(
                "{} of {} ({} failed, {} dropped) in {:.1} s",
                storm.ok, args.arrivals, storm.failures, storm.dropped, storm.secs
            ),
            "all",
            complete,
        ),
        Figure::info("login to game prompt p50 / p99 / max", times.brief()),
        Figure::info("talk latency before storm", before.brief()),
        Figure::target(
            "talk latency during storm",
            during.brief(),
            "p99 < 50 ms",
            during.p99_ms < TARGET_P99_MS && during.count > 0,
        ),
        Figure::info(
            "talk lines lost / talkers dropped",
            format!("{} / {}", totals.lost, totals.closed_early),
        ),
        Figure::info(
            "server RSS after the storm",
            format!("{:.1} MiB", memory.rss_kib as f64 / 1024.0),
        ),
        Figure::info("CPU during storm", cpu_brief(&cpu)),
    ];
    Ok(Outcome { json, figures })
}

/// The storm's accounts, each with its first character, made over telnet.
async fn create(ctx: &Ctx, addr: std::net::SocketAddr, n: usize) -> anyhow::Result<()> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(
        ctx.args.setup_concurrency.max(1),
    ));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire().await?;
                let mut client = Client::connect(addr).await?;
                client.create_account(&name(ARRIVER, i)).await?;
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

/// What the storm did.
struct Arrived {
    ok: usize,
    failures: usize,
    first_failure: Option<String>,
    /// Arrivals the server closed before the storm was over.
    dropped: usize,
    secs: f64,
    times_us: Vec<u32>,
}

/// The arrivals, all in the game (or failed), reading until [`end`](Self::end).
struct InTheRoom {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<(Duration, bool)>>>,
    arrived: Arrived,
}

impl InTheRoom {
    /// The arrivals hang up; what the storm did.
    async fn end(self) -> Arrived {
        let InTheRoom {
            stop,
            tasks,
            mut arrived,
        } = self;
        let _ = stop.send(true);
        for task in tasks {
            match task.await {
                Ok(Ok((took, stayed))) => {
                    arrived.ok += 1;
                    arrived
                        .times_us
                        .push(took.as_micros().min(u128::from(u32::MAX)) as u32);
                    if !stayed {
                        arrived.dropped += 1;
                    }
                }
                Ok(Err(err)) => {
                    arrived.failures += 1;
                    arrived
                        .first_failure
                        .get_or_insert_with(|| format!("{err:#}"));
                }
                Err(err) => {
                    arrived.failures += 1;
                    arrived.first_failure.get_or_insert_with(|| err.to_string());
                }
            }
        }
        arrived
    }
}

/// Every storm account logs in at `rate` a second (each from one of
/// `addresses` loopback addresses), enters the game and stays there reading;
/// returns once the last is in. Each is timed from its connect to its game
/// prompt.
async fn storm(
    addr: std::net::SocketAddr,
    n: usize,
    rate: f64,
    addresses: usize,
) -> anyhow::Result<InTheRoom> {
    let started = Instant::now();
    let (stop, stopped) = watch::channel(false);
    // Each arrival says when it is in the game (or has failed to get there).
    let (entered, mut entries) = tokio::sync::mpsc::unbounded_channel::<()>();
    let gap = Duration::from_secs_f64(1.0 / rate.max(0.01));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let mut stopped = stopped.clone();
            let entered = entered.clone();
            let at = tokio::time::Instant::from_std(started) + gap.mul_f64(i as f64);
            let host = (i % addresses.max(1)) as u8;
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + host));
                let begun = Instant::now();
                let entry = async {
                    let mut client = Client::connect_from(addr, source).await?;
                    client.log_in(&name(ARRIVER, i)).await?;
                    client.enter_game().await?;
                    anyhow::Ok(client)
                }
                .await;
                let took = begun.elapsed();
                let _ = entered.send(());
                let mut client = entry?;
                let stayed = client
                    .read_until(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await?;
                anyhow::Ok((took, stayed))
            })
        })
        .collect();
    drop(entered);
    let mut arrived = Arrived {
        ok: 0,
        failures: 0,
        first_failure: None,
        dropped: 0,
        secs: 0.0,
        times_us: Vec::with_capacity(n),
    };
    // Everyone in (or failed), then the stop; the client's own step timeout
    // bounds each arrival, so this ends.
    for _ in 0..n {
        if entries.recv().await.is_none() {
            break;
        }
    }
    arrived.secs = started.elapsed().as_secs_f64();
    Ok(InTheRoom {
        stop,
        tasks,
        arrived,
    })
}
