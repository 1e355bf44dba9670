//! `npcs` (issue 19): a world full of scripted NPCs beside the crowded room.
//!
//! Three servers, one after another, on the same generated world of a hub and
//! 101 rooms: the crowded room of `room` (500 players in `r0`, 10 speakers
//! at 10 lines a second) talks
//! 1. with no NPC at all, for the baseline;
//! 2. with 1,000 NPCs in the other 100 rooms, each a Luau script saying a
//!    line on a 5-second timer (the timers spread over the period, so some
//!    200 run every second);
//! 3. the same, and two more NPCs whose scripts run away in turn, one
//!    runaway slice a second, each stopped by the tick budget.
//!
//! Targets: the players' p99 in runs 2 and 3 within 1.2 times run 1's, and
//! no line lost. Reported besides: the CPU the scripts' threads used (read
//! per thread from `/proc`), the resident memory per loaded script (the
//! server's RSS with the NPCs loaded less the RSS without, over the NPCs),
//! the NPC lines one witness standing among ten of them heard, and how many
//! runaways the server's log names as stopped. The witness and the log are
//! there so that a run in which the scripts did nothing cannot pass.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::Site;
use super::chat::{Talk, latency, talk};
use crate::Ctx;
use crate::client::{Client, Event, name};
use crate::crowd::{Login, Member};
use crate::report::{Figure, Outcome};
use crate::server::ServerProcess;
use crate::stats::{Summary, round3};
use crate::world::{NpcPlan, WORLD_ID, add_npcs, npc_room};

/// The players' p99 with NPCs may be at most this many times the baseline's.
const TARGET_RATIO: f64 = 1.2;
/// The witness's account; it stands in `r1`, among the NPCs there.
const WITNESS: &str = "witness";

/// One of the three runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Baseline,
    Npcs,
    Runaways,
}

impl Run {
    fn site(self) -> &'static str {
        match self {
            Run::Baseline => "npcs-none",
            Run::Npcs => "npcs",
            Run::Runaways => "npcs-runaway",
        }
    }
}

/// What one run measured.
struct Measured {
    talk: Talk,
    latency: Summary,
    /// The server's RSS once the world's scripts were loaded (the witness
    /// heard its first NPC line), or just after the witness came in.
    rss_kib: u64,
    /// CPU seconds of the scripts' threads during the talk.
    script_cpu_secs: f64,
    talk_secs: f64,
    /// NPC lines the witness heard during the talk.
    npc_lines: u64,
    /// Runaways the log names as stopped, over the whole run.
    runaways_stopped: usize,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut runs = Vec::new();
    for run in [Run::Baseline, Run::Npcs, Run::Runaways] {
        eprintln!("    {}", run.site());
        runs.push(measure(ctx, run).await?);
    }
    let [none, npcs, runaways] =
        <[Measured; 3]>::try_from(runs).map_err(|_| anyhow::anyhow!("three runs were measured"))?;
    outcome(ctx, &none, &npcs, &runaways)
}

async fn measure(ctx: &Ctx, run: Run) -> anyhow::Result<Measured> {
    let args = &ctx.args;
    let rooms = args.npc_rooms + 1;
    let site = Site::new(ctx, run.site(), rooms)?;
    if run != Run::Baseline {
        let plan = NpcPlan {
            tickers: args.npc_count,
            every_secs: args.npc_every_secs,
            runaways: run == Run::Runaways,
        };
        add_npcs(&site.worlds, WORLD_ID, rooms, plan)?;
    }
    let server = site.serve(ctx, 4, args.npc_players + 10).await?;
    let result = measure_on(ctx, run, &server, rooms).await;
    let stopped = server.stop().await;
    let mut measured = result?;
    stopped?;
    measured.runaways_stopped = runaways_in_log(&server_log(&site))?;
    Ok(measured)
}

async fn measure_on(
    ctx: &Ctx,
    run: Run,
    server: &ServerProcess,
    rooms: usize,
) -> anyhow::Result<Measured> {
    let args = &ctx.args;
    let mut witness = Client::connect(server.addr).await?;
    witness.create_account(WITNESS).await?;
    witness.enter_game().await?;
    witness.go("r1").await?;
    if run != Run::Baseline {
        // The first NPC line means the scripts are loaded and their timers run.
        let npcs_in_r1 = (0..args.npc_count)
            .filter(|n| npc_room(*n, rooms) == 1)
            .count();
        if npcs_in_r1 == 0 {
            bail!("no NPC stands in r1 to be heard");
        }
        wait_npc_line(&mut witness, Duration::from_secs(args.npc_every_secs + 30)).await?;
    }
    let rss_kib = server.memory()?.rss_kib;

    let heard = Arc::new(AtomicU64::new(0));
    let listening = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let listener = tokio::spawn(count_npc_lines(
        witness,
        heard.clone(),
        listening.clone(),
        stop.clone(),
    ));
    let members = (0..args.npc_players)
        .map(|i| Member {
            account: name("np", i),
            login: Login::Create,
            room: 0,
            speaker: (i < args.npc_speakers).then_some(i as u32),
            websocket: false,
            world: None,
        })
        .collect();
    let target = server.target(false)?;
    // The scripts' CPU and the witness's count over the talk (the crowd's
    // setup included: the timers do not wait for it, and neither do these).
    let scripts_before = script_cpu_seconds(server.pid)?;
    let begun = Instant::now();
    listening.store(true, Ordering::Relaxed);
    let talked = talk(ctx, server, target, members, args.npc_rate, args.npc_secs).await;
    listening.store(false, Ordering::Relaxed);
    let talk_secs = begun.elapsed().as_secs_f64();
    let script_cpu_secs = script_cpu_seconds(server.pid)? - scripts_before;
    stop.store(true, Ordering::Relaxed);
    listener.await.context("the witness's task panicked")??;
    let mut talk = talked?;
    let latency = latency(&mut talk.totals);
    Ok(Measured {
        talk,
        latency,
        rss_kib,
        script_cpu_secs,
        talk_secs,
        npc_lines: heard.load(Ordering::Relaxed),
        runaways_stopped: 0,
    })
}

fn outcome(
    ctx: &Ctx,
    none: &Measured,
    npcs: &Measured,
    runaways: &Measured,
) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let ratio = |with: &Measured| {
        if none.latency.p99_ms > 0.0 {
            with.latency.p99_ms / none.latency.p99_ms
        } else {
            0.0
        }
    };
    let (npc_ratio, runaway_ratio) = (ratio(npcs), ratio(runaways));
    let per_script_kib = (npcs.rss_kib as f64 - none.rss_kib as f64) / args.npc_count.max(1) as f64;
    let npcs_in_r1 = (0..args.npc_count)
        .filter(|n| npc_room(*n, args.npc_rooms + 1) == 1)
        .count();
    // What the witness should hear: each NPC there, once every period.
    let expected_lines = |m: &Measured| {
        (npcs_in_r1 as f64 * m.talk_secs / args.npc_every_secs.max(1) as f64).floor()
    };
    let lost = |m: &Measured| m.talk.totals.lost;
    let cpu_pct = |m: &Measured| m.script_cpu_secs / m.talk_secs.max(1e-3) * 100.0;
    let figures = vec![
        Figure::info("talk p50 / p99 / max, no NPCs", none.latency.brief()),
        Figure::info(
            &format!("talk p50 / p99 / max, {} NPCs", args.npc_count),
            npcs.latency.brief(),
        ),
        Figure::info(
            "talk p50 / p99 / max, NPCs + a runaway a second",
            runaways.latency.brief(),
        ),
        Figure::comparison(
            "talk p99 with NPCs / without",
            format!("{npc_ratio:.2}"),
            "≤ 1.2",
            npc_ratio > 0.0 && npc_ratio <= TARGET_RATIO,
        ),
        Figure::comparison(
            "talk p99 with runaways / without",
            format!("{runaway_ratio:.2}"),
            "≤ 1.2",
            runaway_ratio > 0.0 && runaway_ratio <= TARGET_RATIO,
        ),
        Figure::target(
            "lines lost (none, NPCs, runaways)",
            format!("{}, {}, {}", lost(none), lost(npcs), lost(runaways)),
            "0, 0, 0",
            lost(none) == 0 && lost(npcs) == 0 && lost(runaways) == 0,
        ),
        Figure::info(
            "scripts' CPU (NPCs, runaways)",
            format!(
                "{:.2} s = {:.1}% of a core, {:.2} s = {:.1}%",
                npcs.script_cpu_secs,
                cpu_pct(npcs),
                runaways.script_cpu_secs,
                cpu_pct(runaways)
            ),
        ),
        Figure::info(
            "RSS per loaded NPC script",
            format!(
                "{per_script_kib:.1} KiB ({} KiB with, {} KiB without)",
                npcs.rss_kib, none.rss_kib
            ),
        ),
        Figure::target(
            "NPC lines a witness heard (NPCs, runaways)",
            format!("{}, {}", npcs.npc_lines, runaways.npc_lines),
            &format!(
                "≥ {:.0}, {:.0}",
                expected_lines(npcs),
                expected_lines(runaways)
            ),
            npcs.npc_lines as f64 >= expected_lines(npcs)
                && runaways.npc_lines as f64 >= expected_lines(runaways)
                && npcs.npc_lines > 0,
        ),
        Figure::target(
            "runaways stopped (in the log)",
            format!("{}", runaways.runaways_stopped),
            &format!("≥ {:.0}", runaways.talk_secs.floor()),
            runaways.runaways_stopped as f64 >= runaways.talk_secs.floor(),
        ),
        Figure::info(
            "CPU while talking (none / NPCs / runaways)",
            format!(
                "server {:.0}% / {:.0}% / {:.0}%",
                server_pct(&none.talk),
                server_pct(&npcs.talk),
                server_pct(&runaways.talk)
            ),
        ),
    ];
    let run_json = |m: &Measured| -> Value {
        json!({
            "talk": m.talk.json(m.latency),
            "rss_kib_loaded": m.rss_kib,
            "script_cpu_secs": round3(m.script_cpu_secs),
            "script_cpu_pct": round3(cpu_pct(m)),
            "window_secs": round3(m.talk_secs),
            "npc_lines_heard": m.npc_lines,
            "runaways_stopped": m.runaways_stopped,
        })
    };
    let json = json!({
        "npcs": args.npc_count,
        "npc_every_secs": args.npc_every_secs,
        "npc_rooms": args.npc_rooms,
        "no_npcs": run_json(none),
        "with_npcs": run_json(npcs),
        "with_runaways": run_json(runaways),
        "p99_ratio_npcs": round3(npc_ratio),
        "p99_ratio_runaways": round3(runaway_ratio),
        "target_p99_ratio": TARGET_RATIO,
        "rss_kib_per_script": round3(per_script_kib),
    });
    Ok(Outcome { json, figures })
}

fn server_pct(talk: &Talk) -> f64 {
    talk.cpu["server_cpu_pct"].as_f64().unwrap_or(0.0)
}

/// Waits for an NPC's line (`Lamplighter <n> says, "..."`).
async fn wait_npc_line(client: &mut Client, limit: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        while let Some(event) = client.reader.next_event() {
            if let Event::Line(text) = event
                && is_npc_line(text)
            {
                return Ok(());
            }
        }
        match tokio::time::timeout_at(deadline, client.reader.fill()).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => bail!("the witness's connection closed"),
            Ok(Err(err)) => bail!("the witness's read failed: {err}"),
            Err(_) => bail!(
                "no NPC spoke within {} s; last lines: {:?}",
                limit.as_secs(),
                client.recent()
            ),
        }
    }
}

/// Counts NPC lines while `listening`, until `stop`; then quits.
async fn count_npc_lines(
    mut client: Client,
    heard: Arc<AtomicU64>,
    listening: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    while !stop.load(Ordering::Relaxed) {
        while let Some(event) = client.reader.next_event() {
            if let Event::Line(text) = event
                && is_npc_line(text)
                && listening.load(Ordering::Relaxed)
            {
                heard.fetch_add(1, Ordering::Relaxed);
            }
        }
        match tokio::time::timeout(Duration::from_millis(200), client.reader.fill()).await {
            Ok(Ok(true)) | Err(_) => {}
            Ok(Ok(false)) => bail!("the witness's connection closed"),
            Ok(Err(err)) => bail!("the witness's read failed: {err}"),
        }
    }
    let _ = client.send("quit").await;
    Ok(())
}

fn is_npc_line(line: &[u8]) -> bool {
    const MARK: &[u8] = b" says, \"Lamp ";
    line.starts_with(b"Lamplighter ") && line.windows(MARK.len()).any(|w| w == MARK)
}

/// CPU seconds (user + system) of the server's script threads
/// (`scripts-<world>`, cut to 15 bytes by the kernel) so far.
fn script_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let mut ticks = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let dir = task?.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if !comm.starts_with("scripts-") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        let after = stat.rsplit_once(')').context("malformed stat")?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let (Some(user), Some(system)) = (fields.get(11), fields.get(12)) else {
            bail!("a short stat line for {}", dir.display());
        };
        ticks += user.parse::<u64>()? + system.parse::<u64>()?;
    }
    Ok(ticks as f64 / 100.0)
}

/// The server log of a site (beside its database).
fn server_log(site: &Site) -> std::path::PathBuf {
    site.db.with_extension("log")
}

/// How many times the log says a runaway NPC's script was stopped.
fn runaways_in_log(log: &Path) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(log)
        .with_context(|| format!("reading the server log {}", log.display()))?;
    Ok(text
        .lines()
        .filter(|l| l.contains("script failed") && l.contains("runaway"))
        .count())
}
