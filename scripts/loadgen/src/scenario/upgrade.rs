//! `upgrade`: an in-place upgrade with a crowd connected (issue 20).
//!
//! `upgrade_players` players log in and enter the game, every second one
//! with MCCP2, and stay connected, 20 to a room away from the talk. A room
//! talks beside them for a baseline (`upgrade_speakers` of 100 players in
//! room 0); then the server
//! is sent SIGUSR2 and upgrades to itself (the same binary, as an operator
//! re-deploying would), and the time from the signal to each held player's
//! `Upgrade complete.` is measured — the last player's is the figure, with a
//! goal of under 2 s; then the room talks again. Reported: those times, the
//! connections that did not come through, and the talk p99 before and after.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::json;

use super::chat::{latency, talk};
use super::{Site, cpu_brief};
use crate::Ctx;
use crate::client::{Client, Target, name};
use crate::crowd::Member;
use crate::report::{Figure, Outcome};
use crate::stats::Summary;
use crate::world::exit_to;

/// The goal for the last player's `Upgrade complete.`.
const GOAL: Duration = Duration::from_secs(2);
/// Players in the talking room, beside the held crowd.
const ROOM: usize = 100;
/// Held players per room of their own. Nobody reads a held player until the
/// upgrade, so what reaches it before must stay small: 2,000 held players in
/// one room got each other's 2,000 arrivals unread, and the server rightly
/// dropped half of them as clients that stopped reading.
const HELD_PER_ROOM: usize = 20;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    // Room 0 talks; the held players wait in the rooms after it.
    let site = Site::new(ctx, "upgrade", 1 + held_rooms(args.upgrade_players))?;
    let server = site.serve(ctx, 4, args.upgrade_players + ROOM + 10).await?;
    let target = server.target(false)?;
    let outcome = measure(ctx, &server, target).await;
    server.stop().await?;
    outcome
}

async fn measure(
    ctx: &Ctx,
    server: &crate::server::ServerProcess,
    target: Target,
) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let held = hold(&target, args.upgrade_players, args.setup_concurrency).await?;
    // Two crowds of new accounts, so the talk after the upgrade is timed
    // from fresh arrivals as the talk before it was.
    let crowd = |prefix: &str| Member::one_room(prefix, ROOM, args.upgrade_speakers);
    let secs = args.upgrade_secs;
    let mut before = talk(ctx, server, target.clone(), crowd("ub"), 10.0, secs).await?;
    let sent = Instant::now();
    let signal = std::process::Command::new("kill")
        .args(["-USR2", &server.pid.to_string()])
        .status()
        .context("kill -USR2")?;
    if !signal.success() {
        bail!("could not signal the server");
    }
    let told: Vec<anyhow::Result<u32>> = futures::stream::iter(held)
        .map(|client| told_after(client, sent))
        .buffer_unordered(usize::MAX)
        .collect()
        .await;
    let lost = told.iter().filter(|t| t.is_err()).count();
    let first_failure = told
        .iter()
        .find_map(|t| t.as_ref().err())
        .map(|err| format!("{err:#}"));
    let mut times: Vec<u32> = told.into_iter().filter_map(Result::ok).collect();
    let complete = Summary::of(&mut times);
    let mut after = talk(ctx, server, target, crowd("ua"), 10.0, secs).await?;
    let (p_before, p_after) = (latency(&mut before.totals), latency(&mut after.totals));
    let last = Duration::from_secs_f64(complete.max_ms / 1000.0);
    let figures = vec![
        Figure::info(
            "held players (half on MCCP2)",
            format!("{}", times.len() + lost),
        ),
        Figure::target(
            "signal to the last Upgrade complete.",
            format!("{:.0} ms", complete.max_ms),
            "< 2 s",
            lost == 0 && last < GOAL,
        ),
        Figure::info(
            "signal to Upgrade complete. p50 / p99 / max",
            complete.brief(),
        ),
        Figure::target("held players dropped", format!("{lost}"), "0", lost == 0),
        Figure::info("talk p50 / p99 / max, before", p_before.brief()),
        Figure::info("talk p50 / p99 / max, after", p_after.brief()),
        Figure::info("CPU while talking after", cpu_brief(&after.cpu)),
    ];
    let json = json!({
        "held_players": times.len() + lost,
        "dropped": lost,
        "first_failure": first_failure,
        "signal_to_complete": complete.json(),
        "talk_before": before.json(p_before),
        "talk_after": after.json(p_after),
    });
    Ok(Outcome { json, figures })
}

/// Rooms for `players` held players, [`HELD_PER_ROOM`] to a room.
fn held_rooms(players: usize) -> usize {
    players.div_ceil(HELD_PER_ROOM).max(1)
}

/// `count` players in the game, every second one compressed, held open in
/// the rooms after the talking one.
async fn hold(target: &Target, count: usize, concurrency: usize) -> anyhow::Result<Vec<Client>> {
    let rooms = held_rooms(count);
    futures::stream::iter(0..count)
        .map(|i| {
            let target = target.clone().with_mccp(i % 2 == 0);
            async move {
                let mut client = Client::connect(target).await?;
                client.create_account(&name("uh", i)).await?;
                client.enter_game().await?;
                client.go(&exit_to(1 + i % rooms)).await?;
                anyhow::Ok(client)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// How long a held player may wait for `Upgrade complete.` before it counts
/// as not come through (the bench must report, not hang).
const TOLD_WITHIN: Duration = Duration::from_secs(60);

/// Microseconds from `sent` until this player saw `Upgrade complete.`.
async fn told_after(client: Client, sent: Instant) -> anyhow::Result<u32> {
    tokio::time::timeout(TOLD_WITHIN, wait_told(client, sent))
        .await
        .map_err(|_| anyhow::anyhow!("no Upgrade complete. within {TOLD_WITHIN:?}"))?
}

/// The line itself, not the prompt after it: the new image shows the room
/// again after it, and more than a few lines came between the two.
async fn wait_told(mut client: Client, sent: Instant) -> anyhow::Result<u32> {
    client.wait_line("Upgrade complete.").await?;
    Ok(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32)
}
