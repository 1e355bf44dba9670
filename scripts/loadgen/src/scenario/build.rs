//! `build`: building in the game while a crowd talks (issue 18).
//!
//! The crowded room of `room` (500 players in `r0`, 10 speakers at 10 lines
//! a second) talks twice on one server: first alone, for a baseline, then
//! while a builder (an admin) stands in the hub of the same world and digs
//! room after room (`/dig b<n> Annex <n>`, one after the other with a short
//! pause). Reported: the time from sending `/dig` to its `Wrote <file>.`
//! line, the time from sending it to the zone file's rename on disk (the
//! file's inode changes: the write is a new file renamed over the old one),
//! and the talkers' p99 with the builder beside the baseline's; the target is
//! at most 1.2 times the baseline. At the end the world's files are loaded as
//! `check-worlds` loads them and must hold every room dug.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gaslamp::auth::Role;
use gaslamp::store::accounts::{AccountChange, Actor};
use gaslamp::store::{Store, StoreOptions};
use serde_json::json;

use super::chat::{latency, talk};
use super::{Site, cpu_brief};
use crate::Ctx;
use crate::client::{Client, Event, name};
use crate::crowd::{Login, Member};
use crate::report::{Figure, Outcome};
use crate::stats::{Summary, round3};
use crate::world::WORLD_ID;

/// The talkers' p99 with a builder may be at most this many times the
/// baseline's.
const TARGET_RATIO: f64 = 1.2;
/// The builder's account.
const BUILDER: &str = "architect";

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let site = Site::new(ctx, "build", 1)?;
    let server = site.serve(ctx, 4, args.build_players + 10).await?;
    let target = server.target(false)?;
    let crowd = |login| -> Vec<Member> {
        (0..args.build_players)
            .map(|i| Member {
                account: name("bu", i),
                login,
                room: 0,
                speaker: (i < args.build_speakers).then_some(i as u32),
                websocket: false,
                world: None,
            })
            .collect()
    };
    let (rate, secs) = (args.build_rate, args.build_secs);
    let baseline = talk(
        ctx,
        &server,
        target.clone(),
        crowd(Login::Create),
        rate,
        secs,
    )
    .await;
    let mut baseline = match baseline {
        Ok(talked) => talked,
        Err(err) => {
            server.stop().await?;
            return Err(err);
        }
    };
    let zone_file = site.worlds.join(WORLD_ID).join("zones/plaza.json");
    let builder = match make_builder(&site.db, server.addr).await {
        Ok(builder) => builder,
        Err(err) => {
            server.stop().await?;
            return Err(err);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let pause = Duration::from_millis(args.build_pause_ms);
    let digging = tokio::spawn(dig_until(builder, zone_file, pause, stop.clone()));
    let with = talk(ctx, &server, target, crowd(Login::Reconnect), rate, secs).await;
    stop.store(true, Ordering::Relaxed);
    let digs = digging.await.context("the builder's task panicked")?;
    server.stop().await?;
    let (mut with, digs) = (with?, digs?);
    let world_rooms = rooms_on_disk(&site.worlds)?;
    outcome(&mut baseline, &mut with, &digs, world_rooms)
}

/// The figures and the JSON of a run.
fn outcome(
    baseline: &mut super::chat::Talk,
    with: &mut super::chat::Talk,
    digs: &Digs,
    world_rooms: usize,
) -> anyhow::Result<Outcome> {
    let alone = latency(&mut baseline.totals);
    let beside = latency(&mut with.totals);
    let ratio = if alone.p99_ms > 0.0 {
        beside.p99_ms / alone.p99_ms
    } else {
        0.0
    };
    let mut reply_us = digs.reply_us.clone();
    let mut rename_us = digs.rename_us.clone();
    let reply = Summary::of(&mut reply_us);
    let rename = Summary::of(&mut rename_us);
    let dug_all = world_rooms == 2 + digs.reply_us.len();
    let figures = vec![
        Figure::info("digs made", format!("{}", digs.reply_us.len())),
        Figure::info("/dig to its reply p50 / p99 / max", reply.brief()),
        Figure::info("/dig to the rename on disk p50 / p99 / max", rename.brief()),
        Figure::info("talk p50 / p99 / max, alone", alone.brief()),
        Figure::info("talk p50 / p99 / max, beside the builder", beside.brief()),
        Figure::comparison(
            "talk p99 beside the builder / alone",
            format!("{ratio:.2}"),
            "≤ 1.2",
            ratio > 0.0 && ratio <= TARGET_RATIO,
        ),
        Figure::target(
            "lines lost (alone, beside)",
            format!("{}, {}", baseline.totals.lost, with.totals.lost),
            "0, 0",
            baseline.totals.lost == 0 && with.totals.lost == 0,
        ),
        Figure::target(
            "rooms in the files afterwards",
            format!("{world_rooms}"),
            "2 + digs, loading",
            dug_all,
        ),
        Figure::info("CPU while talking beside the builder", cpu_brief(&with.cpu)),
    ];
    let json = json!({
        "digs": digs.reply_us.len(),
        "dig_to_reply": reply.json(),
        "dig_to_rename": rename.json(),
        "talk_alone": baseline.json(alone),
        "talk_beside_builder": with.json(beside),
        "p99_ratio": round3(ratio),
        "target_p99_ratio": TARGET_RATIO,
        "rooms_in_files": world_rooms,
    });
    Ok(Outcome { json, figures })
}

/// Makes the builder: an account over telnet, made an admin through the
/// operator's account change on the database file (the running server reads
/// the role at login), then logged in, in the hub.
async fn make_builder(db: &Path, addr: std::net::SocketAddr) -> anyhow::Result<Client> {
    let mut client = Client::connect(addr).await?;
    client.create_account(BUILDER).await?;
    let _ = client.send("quit").await;
    let db = db.to_path_buf();
    let store = tokio::task::spawn_blocking(move || {
        Store::open(
            &db,
            StoreOptions {
                bcrypt_cost: 4,
                hash_concurrency: 1,
            },
        )
    })
    .await??;
    store
        .accounts()
        .change(
            Actor::Operator,
            BUILDER,
            AccountChange::Role(Role::Admin),
            "bench.role",
        )
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let mut builder = Client::connect(addr).await?;
    builder.log_in(BUILDER).await?;
    builder.enter_game().await?;
    Ok(builder)
}

/// What the builder measured, in µs, one entry per dig.
#[derive(Debug, Default)]
struct Digs {
    reply_us: Vec<u32>,
    rename_us: Vec<u32>,
}

/// Digs until `stop`, one room at a time, each timed to its reply and to
/// the rename of the zone file.
async fn dig_until(
    mut builder: Client,
    zone_file: PathBuf,
    pause: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Digs> {
    let mut digs = Digs::default();
    let wrote = format!("Wrote {WORLD_ID}/zones/plaza.json.");
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let before = inode(&zone_file)?;
        let begun = Instant::now();
        let watched = zone_file.clone();
        let renamed = tokio::task::spawn_blocking(move || wait_for_rename(&watched, before));
        builder.send(&format!("/dig b{n} Annex {n}")).await?;
        wait_line(&mut builder, &wrote).await?;
        digs.reply_us.push(micros(begun.elapsed()));
        let renamed_at = renamed.await.context("the file watcher panicked")??;
        digs.rename_us
            .push(micros(renamed_at.duration_since(begun)));
        builder.wait_prompt(&["> "]).await?;
        tokio::time::sleep(pause).await;
    }
    let _ = builder.send("quit").await;
    Ok(digs)
}

/// Waits for a line holding `needle`; a refusal or a closed connection is an
/// error naming what came.
async fn wait_line(client: &mut Client, needle: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        while let Some(event) = client.reader.next_event() {
            if let Event::Line(text) = event {
                let text = String::from_utf8_lossy(text);
                if text.contains(needle) {
                    return Ok(());
                }
                if text.contains("refused") || text.contains("could not") {
                    bail!("a dig was refused: {text}");
                }
            }
        }
        match tokio::time::timeout_at(deadline, client.reader.fill()).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => bail!("the builder's connection closed"),
            Ok(Err(err)) => bail!("the builder's read failed: {err}"),
            Err(_) => bail!("no {needle:?} in time; last lines: {:?}", client.recent()),
        }
    }
}

/// The zone file's inode.
fn inode(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .ino())
}

/// Polls the file until its inode is no longer `before` (the new file was
/// renamed over it); when that was seen.
fn wait_for_rename(path: &Path, before: u64) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::fs::metadata(path).map(|m| m.ino()).unwrap_or(before) != before {
            return Ok(Instant::now());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    bail!("{} was not renamed in time", path.display())
}

/// How many rooms the world's files hold, loaded as `check-worlds` loads them.
fn rooms_on_disk(worlds: &Path) -> anyhow::Result<usize> {
    let loaded = gaslamp::world::load(worlds, None)
        .map_err(|err| anyhow::anyhow!("the built world does not load: {err}"))?;
    Ok(loaded.default.room_count())
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}
