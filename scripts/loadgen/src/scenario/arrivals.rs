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

use super::storm::{Storm, create_accounts};
use super::{CpuWindow, Site, cpu_brief};
use crate::Ctx;
use crate::client::{Client, name};
use crate::crowd::{Crowd, HUB, Login, Member, tally};
use crate::report::{Figure, Outcome};
use crate::stats::{now_us, round3};

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
    create_accounts(server.addr, ARRIVER, args.arrivals, args.setup_concurrency).await?;

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

    let (before, during) = Storm::before_and_during(&totals.samples, storm_from, storm_to);
    let Arrived {
        storm: mut tally,
        dropped,
    } = storm;
    let times = tally.summary();
    let complete = tally.ok == args.arrivals && dropped == 0;
    let json = json!({
        "arrivals": args.arrivals,
        "rate_per_sec": args.arrivals_rate,
        "addresses": args.arrivals_addresses,
        "bcrypt_cost": 4,
        "logins_ok": tally.ok,
        "login_failures": tally.failures,
        "first_failure": tally.first_failure,
        "arrivals_dropped_by_server": dropped,
        "storm_secs": round3(tally.secs),
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
                tally.ok, args.arrivals, tally.failures, dropped, tally.secs
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

/// What the storm did: the logins' tally, and how many of those who got in
/// the server closed before the storm was over.
struct Arrived {
    storm: Storm,
    dropped: usize,
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
            let answer = match task.await {
                Ok(answer) => answer,
                Err(err) => Err(err.into()),
            };
            if matches!(answer, Ok((_, false))) {
                arrived.dropped += 1;
            }
            arrived.storm.record(answer.map(|(took, _)| took));
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
        storm: Storm::for_tasks(n),
        dropped: 0,
    };
    // Everyone in (or failed), then the stop; the client's own step timeout
    // bounds each arrival, so this ends.
    for _ in 0..n {
        if entries.recv().await.is_none() {
            break;
        }
    }
    arrived.storm.secs = started.elapsed().as_secs_f64();
    Ok(InTheRoom {
        stop,
        tasks,
        arrived,
    })
}
