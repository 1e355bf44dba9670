//! `loadgen`: the load generator behind `scripts/bench`, measuring gaslamp
//! against the performance targets of SPEC §11.
//!
//! It starts the real release binary as a child process on a free 127.0.0.1 port
//! with a fresh database per scenario, talks telnet to it over loopback TCP from
//! one tokio runtime, and reports one JSON document (a file and stdout) plus a
//! table. Benchmarks report figures; a missed target is a finding, not a failure:
//! the exit code is non-zero only when a scenario could not run at all.
//!
//! The scenarios (each in [`scenario`]):
//! - `idle`: 10,000 players logged in and idle — the server's resident memory.
//! - `room`: 500 players in one room, 10 of them talking at 10 lines a second —
//!   losses and delivery latency.
//! - `rooms`: 2,000 players over 100 rooms, all talking — delivered lines a second
//!   and latency.
//! - `writer`: chat rows a second through the batching writer into SQLite,
//!   in-process, without a server.
//! - `logins`: logins a second at bcrypt cost 12 while other players talk, and
//!   their latency during the storm.
//! - `room-tls`: `room` with every player connected over TLS.
//! - `room-ws`: `room` with every second player connected over WebSocket.
//! - `ws-idle`: resident memory per idle WebSocket connection, beside plain.
//! - `tls-handshakes`: full TLS handshakes a second, to the `Account: ` prompt.
//! - `tls-idle`: resident memory per idle TLS connection, beside plain.
//! - `room-mccp`: the crowded room again, plain and then with every player on
//!   MCCP2, latencies side by side.
//! - `idle-mccp`: 2,000 idle players plain, then 2,000 on MCCP2 — the RSS a
//!   compressed connection costs beyond a plain one.
//! - `storm`: a real login's time at cost 12, idle and while 30 connections
//!   from another address guess passwords.
//! - `timing`: wrong-password answer times for known and unknown names, side by
//!   side.
//! - `build`: a builder digging room after room while the crowded room talks
//!   in another room of the same world — `/dig` to its reply and to the
//!   rename on disk, and the talkers' p99 beside the baseline's.
//! - `channel`: 2,000 players in 100 rooms of two worlds, all on `ooc`, 10 of
//!   them speaking on it at 2 lines a second — losses and latency, beside the
//!   crowded room's p99 (measured first, on its own server).
//! - `arrivals`: a login storm into one crowded room: 5,000 arrivals at 200 a
//!   second from 64 addresses while 100 players there talk — every login
//!   completes, and the talk's p99 during the storm.
//! - `npcs`: the crowded room three times, with no NPC, beside 1,000 NPCs
//!   saying a line on 5-second timers, and with a runaway script a second
//!   besides — the talkers' p99 beside the baseline's, the scripts' CPU and
//!   the memory per loaded script.
//!
//! The machine has two cores and this process competes with the server for them,
//! so the latencies include the load generator's own scheduling; the report gives
//! both processes' CPU use for each scenario.

mod client;
mod crowd;
mod report;
mod scenario;
mod server;
mod stats;
mod world;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use serde_json::{Map, Value, json};

/// Other work on the machine, in percent of one core over the second before
/// a scenario, above which its comparisons (ratios of two runs) are not
/// judged: a build or a test run beside the bench makes them mean nothing.
const BUSY_BEFORE_PCT: f64 = 20.0;

/// Measures gaslamp against SPEC §11 (see scripts/bench).
#[derive(Debug, Clone, Parser)]
#[command(name = "loadgen")]
pub struct Args {
    /// The server binary to test.
    #[arg(long, default_value = "target/release/gaslamp")]
    pub server: PathBuf,
    /// Scenarios to run (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<Scenario>,
    /// Small sizes everywhere, for a quick check that the benchmark works.
    #[arg(long)]
    pub quick: bool,
    /// The server runs under callgrind with its instrumentation off
    /// (`scripts/callgrind`): it is switched on for each talk window (from
    /// the first line to the last one drained) and off again after it, so
    /// the count is the talk's alone, without the setup's logins.
    #[arg(long)]
    pub callgrind: bool,
    /// Where the JSON report goes.
    #[arg(long, default_value = "scripts/bench-results.json")]
    pub out: PathBuf,
    /// Directory for the scenarios' databases and logs [default: a new
    /// temporary directory, removed at the end].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Extra environment for the server, KEY=VALUE (repeatable), for experiments
    /// such as MALLOC_ARENA_MAX=2.
    #[arg(long, value_parser = parse_env)]
    pub server_env: Vec<(String, String)>,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Logins in flight at once while setting a scenario up.
    #[arg(long, default_value_t = 64)]
    pub setup_concurrency: usize,

    /// idle: connections logged in and idle.
    #[arg(long, default_value_t = 10_000)]
    pub idle_connections: usize,
    /// idle: seconds to wait after the last login before reading the memory.
    #[arg(long, default_value_t = 5)]
    pub idle_settle_secs: u64,

    /// room: players in the one room (speakers included).
    #[arg(long, default_value_t = 500)]
    pub room_players: usize,
    /// room: how many of them talk.
    #[arg(long, default_value_t = 10)]
    pub room_speakers: usize,
    /// room: lines a second per speaker (the server allows 20 commands a second).
    #[arg(long, default_value_t = 10.0)]
    pub room_rate: f64,
    /// room: seconds of talk.
    #[arg(long, default_value_t = 10)]
    pub room_secs: u64,

    /// rooms: players, spread evenly over the rooms; every one talks.
    #[arg(long, default_value_t = 2_000)]
    pub rooms_players: usize,
    /// rooms: rooms in use.
    #[arg(long, default_value_t = 100)]
    pub rooms_count: usize,
    /// rooms: lines a second per player.
    #[arg(long, default_value_t = 1.0)]
    pub rooms_rate: f64,
    /// rooms: seconds of talk.
    #[arg(long, default_value_t = 10)]
    pub rooms_secs: u64,

    /// writer: chat rows to push through the batching writer.
    #[arg(long, default_value_t = 500_000)]
    pub writer_rows: usize,
    /// writer: tasks pushing rows at once.
    #[arg(long, default_value_t = 4)]
    pub writer_tasks: usize,
    /// writer: the writer's queue capacity (the server's default).
    #[arg(long, default_value_t = 65_536)]
    pub writer_queue: usize,

    /// logins: bcrypt cost of the server and of the accounts logging in.
    #[arg(long, default_value_t = 12)]
    pub login_cost: u32,
    /// logins: accounts that log in during the storm.
    #[arg(long, default_value_t = 100)]
    pub logins: usize,
    /// logins: logins in flight at once during the storm.
    #[arg(long, default_value_t = 16)]
    pub login_concurrency: usize,
    /// logins: players talking meanwhile (20 to a room).
    #[arg(long, default_value_t = 200)]
    pub login_chatters: usize,
    /// logins: lines a second per talking player.
    #[arg(long, default_value_t = 1.0)]
    pub login_chat_rate: f64,
    /// logins: seconds of talk before the storm, for a baseline.
    #[arg(long, default_value_t = 5)]
    pub login_baseline_secs: u64,

    /// arrivals: accounts that log in and enter the crowded room.
    #[arg(long, default_value_t = 5_000)]
    pub arrivals: usize,
    /// arrivals: logins begun a second.
    #[arg(long, default_value_t = 200.0)]
    pub arrivals_rate: f64,
    /// arrivals: loopback addresses the logins come from.
    #[arg(long, default_value_t = 64)]
    pub arrivals_addresses: usize,
    /// arrivals: players in the room before the storm.
    #[arg(long, default_value_t = 100)]
    pub arrivals_talkers: usize,
    /// arrivals: how many of them talk.
    #[arg(long, default_value_t = 10)]
    pub arrivals_speakers: usize,
    /// arrivals: lines a second per talker.
    #[arg(long, default_value_t = 2.0)]
    pub arrivals_talk_rate: f64,

    /// tls-handshakes: connections made (once plain, once over TLS).
    #[arg(long, default_value_t = 2_000)]
    pub tls_handshakes: usize,
    /// tls-handshakes: connections in flight at once.
    #[arg(long, default_value_t = 32)]
    pub tls_handshake_concurrency: usize,
    /// tls-idle: idle players (once plain, once over TLS).
    #[arg(long, default_value_t = 2_000)]
    pub tls_idle_connections: usize,
    /// idle-mccp: idle connections in each of the two runs (plain, MCCP2).
    #[arg(long, default_value_t = 2_000)]
    pub mccp_idle_connections: usize,
    /// storm: bcrypt cost of the server and the player's account.
    #[arg(long, default_value_t = 12)]
    pub storm_cost: u32,
    /// storm: connections guessing passwords from another address.
    #[arg(long, default_value_t = 30)]
    pub storm_connections: usize,
    /// storm: the player's logins timed idle, and again during the storm.
    #[arg(long, default_value_t = 5)]
    pub storm_logins: usize,

    /// timing: bcrypt cost of the server.
    #[arg(long, default_value_t = 4)]
    pub timing_cost: u32,
    /// timing: the cost of the older hash (made before the cost was lowered).
    #[arg(long, default_value_t = 8)]
    pub timing_old_cost: u32,
    /// timing: wrong passwords timed for each kind of name.
    #[arg(long, default_value_t = 150)]
    pub timing_attempts: usize,
    /// ws-idle: idle players (once plain, once over WebSocket).
    #[arg(long, default_value_t = 2_000)]
    pub ws_idle_connections: usize,

    /// build: players talking in another room of the builder's world.
    #[arg(long, default_value_t = 500)]
    pub build_players: usize,
    /// build: how many of them talk.
    #[arg(long, default_value_t = 10)]
    pub build_speakers: usize,
    /// build: lines a second per speaker.
    #[arg(long, default_value_t = 10.0)]
    pub build_rate: f64,
    /// build: seconds of talk, alone and beside the builder.
    #[arg(long, default_value_t = 10)]
    pub build_secs: u64,
    /// build: the builder's pause between one dig's reply and the next dig.
    #[arg(long, default_value_t = 100)]
    pub build_pause_ms: u64,
    /// channel: players, half in each of two worlds, all listening on ooc.
    #[arg(long, default_value_t = 2_000)]
    pub channel_players: usize,
    /// channel: rooms in use, half in each world.
    #[arg(long, default_value_t = 100)]
    pub channel_rooms: usize,
    /// channel: how many of them speak on ooc.
    #[arg(long, default_value_t = 10)]
    pub channel_speakers: usize,
    /// channel: lines a second per speaker.
    #[arg(long, default_value_t = 2.0)]
    pub channel_rate: f64,
    /// channel: seconds of talk.
    #[arg(long, default_value_t = 10)]
    pub channel_secs: u64,

    /// upgrade: players held in the game across the upgrade (half on MCCP2).
    #[arg(long, default_value_t = 2_000)]
    pub upgrade_players: usize,
    /// upgrade: speakers in the room that talks before and after.
    #[arg(long, default_value_t = 10)]
    pub upgrade_speakers: usize,
    /// upgrade: seconds of talk before and after.
    #[arg(long, default_value_t = 5)]
    pub upgrade_secs: u64,

    /// npcs: scripted NPCs, spread over the rooms other than the crowd's.
    #[arg(long, default_value_t = 1_000)]
    pub npc_count: usize,
    /// npcs: seconds between an NPC's lines (its timer).
    #[arg(long, default_value_t = 5)]
    pub npc_every_secs: u64,
    /// npcs: rooms the NPCs stand in.
    #[arg(long, default_value_t = 100)]
    pub npc_rooms: usize,
    /// npcs: players in the crowded room.
    #[arg(long, default_value_t = 500)]
    pub npc_players: usize,
    /// npcs: how many of them talk.
    #[arg(long, default_value_t = 10)]
    pub npc_speakers: usize,
    /// npcs: lines a second per speaker.
    #[arg(long, default_value_t = 10.0)]
    pub npc_rate: f64,
    /// npcs: seconds of talk in each of the three runs.
    #[arg(long, default_value_t = 10)]
    pub npc_secs: u64,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

/// The scenarios, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Idle,
    Room,
    RoomFloor,
    Rooms,
    Writer,
    Logins,
    RoomTls,
    TlsHandshakes,
    TlsIdle,
    RoomMccp,
    IdleMccp,
    Storm,
    Timing,
    RoomWs,
    WsIdle,
    Build,
    Channel,
    Upgrade,
    Npcs,
    Arrivals,
}

impl Scenario {
    const ALL: [Scenario; 20] = [
        Scenario::Idle,
        Scenario::Room,
        Scenario::RoomFloor,
        Scenario::Rooms,
        Scenario::Writer,
        Scenario::Logins,
        Scenario::RoomTls,
        Scenario::TlsHandshakes,
        Scenario::TlsIdle,
        Scenario::RoomMccp,
        Scenario::IdleMccp,
        Scenario::Storm,
        Scenario::Timing,
        Scenario::RoomWs,
        Scenario::WsIdle,
        Scenario::Build,
        Scenario::Channel,
        Scenario::Upgrade,
        Scenario::Npcs,
        Scenario::Arrivals,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Idle => "idle",
            Scenario::Room => "room",
            Scenario::RoomFloor => "room-floor",
            Scenario::Rooms => "rooms",
            Scenario::Writer => "writer",
            Scenario::Logins => "logins",
            Scenario::RoomTls => "room-tls",
            Scenario::TlsHandshakes => "tls-handshakes",
            Scenario::TlsIdle => "tls-idle",
            Scenario::RoomMccp => "room-mccp",
            Scenario::IdleMccp => "idle-mccp",
            Scenario::Storm => "storm",
            Scenario::Timing => "timing",
            Scenario::RoomWs => "room-ws",
            Scenario::WsIdle => "ws-idle",
            Scenario::Build => "build",
            Scenario::Channel => "channel",
            Scenario::Upgrade => "upgrade",
            Scenario::Npcs => "npcs",
            Scenario::Arrivals => "arrivals",
        }
    }

    fn title(self, args: &Args) -> String {
        match self {
            Scenario::Idle => format!("idle: {} players logged in and idle", args.idle_connections),
            Scenario::Room => format!(
                "room: {} players in one room, {} speakers at {}/s for {} s",
                args.room_players, args.room_speakers, args.room_rate, args.room_secs
            ),
            Scenario::RoomFloor => format!(
                "room-floor: the room's crowd against a server that only writes, then gaslamp ({} players, {} speakers at {}/s for {} s)",
                args.room_players, args.room_speakers, args.room_rate, args.room_secs
            ),
            Scenario::Rooms => format!(
                "rooms: {} players over {} rooms, each at {}/s for {} s",
                args.rooms_players, args.rooms_count, args.rooms_rate, args.rooms_secs
            ),
            Scenario::Writer => format!(
                "writer: {} chat rows through the batching writer",
                args.writer_rows
            ),
            Scenario::Logins => format!(
                "logins: {} logins at bcrypt cost {} while {} players talk",
                args.logins, args.login_cost, args.login_chatters
            ),
            Scenario::RoomTls => format!(
                "room-tls: {} players in one room over TLS, {} speakers at {}/s for {} s",
                args.room_players, args.room_speakers, args.room_rate, args.room_secs
            ),
            Scenario::TlsHandshakes => format!(
                "tls-handshakes: {} connections to Account:, {} at a time, plain then TLS",
                args.tls_handshakes, args.tls_handshake_concurrency
            ),
            Scenario::TlsIdle => format!(
                "tls-idle: {} players logged in and idle, plain then TLS",
                args.tls_idle_connections
            ),
            Scenario::RoomMccp => format!(
                "room-mccp: the room scenario plain, then on MCCP2 ({} players, {} speakers)",
                args.room_players, args.room_speakers
            ),
            Scenario::IdleMccp => format!(
                "idle-mccp: {} idle players plain, then {} on MCCP2",
                args.mccp_idle_connections, args.mccp_idle_connections
            ),
            Scenario::Storm => format!(
                "storm: a login at bcrypt cost {} while {} connections guess passwords",
                args.storm_cost, args.storm_connections
            ),
            Scenario::Timing => format!(
                "timing: {} wrong passwords each for known and unknown names at cost {}",
                args.timing_attempts, args.timing_cost
            ),
            Scenario::RoomWs => format!(
                "room-ws: {} players in one room, half over WebSocket, {} speakers at {}/s for {} s",
                args.room_players, args.room_speakers, args.room_rate, args.room_secs
            ),
            Scenario::WsIdle => format!(
                "ws-idle: {} players logged in and idle, plain then over WebSocket",
                args.ws_idle_connections
            ),
            Scenario::Build => format!(
                "build: a builder digging while {} players talk in another room ({} speakers at {}/s, {} s alone and {} s beside)",
                args.build_players,
                args.build_speakers,
                args.build_rate,
                args.build_secs,
                args.build_secs
            ),
            Scenario::Channel => format!(
                "channel: {} players in {} rooms of two worlds on ooc, {} speakers at {}/s for {} s",
                args.channel_players,
                args.channel_rooms,
                args.channel_speakers,
                args.channel_rate,
                args.channel_secs
            ),
            Scenario::Upgrade => format!(
                "upgrade: SIGUSR2 with {} players held in the game (half on MCCP2), a room talking before and after",
                args.upgrade_players
            ),
            Scenario::Arrivals => format!(
                "arrivals: {} logins at {}/s from {} addresses into one room where {} talk (cost 4)",
                args.arrivals, args.arrivals_rate, args.arrivals_addresses, args.arrivals_talkers
            ),
            Scenario::Npcs => format!(
                "npcs: {} players in one room ({} speakers at {}/s, {} s) without NPCs, beside {} NPCs on {}-second timers, and with a runaway a second",
                args.npc_players,
                args.npc_speakers,
                args.npc_rate,
                args.npc_secs,
                args.npc_count,
                args.npc_every_secs
            ),
        }
    }
}

impl Args {
    /// `--quick`: every size cut down so the whole run takes about a minute.
    fn scaled(mut self) -> Args {
        if self.quick {
            self.idle_connections = self.idle_connections.min(1_000);
            self.idle_settle_secs = self.idle_settle_secs.min(2);
            self.room_players = self.room_players.min(100);
            self.room_secs = self.room_secs.min(3);
            self.rooms_players = self.rooms_players.min(200);
            self.rooms_count = self.rooms_count.min(20);
            self.rooms_secs = self.rooms_secs.min(3);
            self.writer_rows = self.writer_rows.min(50_000);
            self.logins = self.logins.min(10);
            self.login_chatters = self.login_chatters.min(40);
            self.login_baseline_secs = self.login_baseline_secs.min(2);
            self.tls_handshakes = self.tls_handshakes.min(200);
            self.tls_idle_connections = self.tls_idle_connections.min(300);
            self.mccp_idle_connections = self.mccp_idle_connections.min(300);
            self.storm_cost = self.storm_cost.min(10);
            self.storm_logins = self.storm_logins.min(2);
            self.timing_attempts = self.timing_attempts.min(30);
            self.ws_idle_connections = self.ws_idle_connections.min(300);
            self.build_players = self.build_players.min(100);
            self.build_secs = self.build_secs.min(3);
            self.channel_players = self.channel_players.min(200);
            self.channel_rooms = self.channel_rooms.min(20);
            self.channel_secs = self.channel_secs.min(3);
            self.upgrade_players = self.upgrade_players.min(200);
            self.upgrade_secs = self.upgrade_secs.min(2);
            self.npc_count = self.npc_count.min(100);
            self.npc_rooms = self.npc_rooms.min(20);
            self.npc_players = self.npc_players.min(100);
            self.npc_secs = self.npc_secs.min(3);
            self.arrivals = self.arrivals.min(300);
            self.arrivals_talkers = self.arrivals_talkers.min(40);
        }
        self
    }
}

/// What every scenario needs: the flags and a place for its files.
pub struct Ctx {
    pub args: Args,
    pub work_dir: PathBuf,
}

impl Ctx {
    /// A fresh directory for one scenario.
    pub fn dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work_dir.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse().scaled();
    stats::start_clock();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let failed = runtime.block_on(run(args))?;
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs the chosen scenarios and reports them; true when one could not run.
async fn run(args: Args) -> anyhow::Result<bool> {
    let started = Instant::now();
    let chosen: Vec<Scenario> = if args.only.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        Scenario::ALL
            .into_iter()
            .filter(|s| args.only.contains(s))
            .collect()
    };
    let temp = match &args.work_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("gaslamp-bench-")
                .tempdir()?,
        ),
    };
    let work_dir = match (&args.work_dir, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temporary directory exists when none was given"),
    };
    std::fs::create_dir_all(&work_dir)?;
    let ctx = Ctx {
        args: args.clone(),
        work_dir,
    };
    let mut rows = Vec::new();
    let mut scenarios = Map::new();
    for scenario in chosen {
        let title = scenario.title(&args);
        let background = scenario::background_load().await?;
        eprintln!(
            "[{:>5.0} s] {title} (machine busy {background:.0}% of a core beforehand)",
            started.elapsed().as_secs_f64()
        );
        let begun = Instant::now();
        let mut result = scenario::run(scenario, &ctx).await;
        let secs = begun.elapsed().as_secs_f64();
        let busy = background >= BUSY_BEFORE_PCT;
        if let Ok(outcome) = &mut result {
            if busy {
                outcome.figures = std::mem::take(&mut outcome.figures)
                    .into_iter()
                    .map(report::Figure::refused)
                    .collect();
            }
            outcome.figures.push(report::Figure::info(
                "machine busy before start",
                format!("{background:.0}% of a core"),
            ));
        }
        let mut entry = match &result {
            Ok(outcome) => outcome.json.clone(),
            Err(err) => json!({ "error": format!("{err:#}") }),
        };
        if let Value::Object(map) = &mut entry {
            map.insert("wall_secs".into(), json!(stats::round3(secs)));
            map.insert(
                "machine_busy_before_pct".into(),
                json!(stats::round3(background)),
            );
            if busy {
                map.insert("comparisons_not_judged".into(), json!(true));
            }
        }
        if let Err(err) = &result {
            eprintln!("    FAILED: {err:#}");
        }
        scenarios.insert(scenario.name().into(), entry);
        rows.push((title, result.map_err(|e| format!("{e:#}"))));
    }
    let failed = rows.iter().any(|(_, r)| r.is_err());
    let document = json!({
        "machine": machine(),
        "quick": args.quick,
        "server_env": args.server_env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "total_wall_secs": stats::round3(started.elapsed().as_secs_f64()),
        "scenarios": scenarios,
    });
    let text = serde_json::to_string_pretty(&document)?;
    if let Some(parent) = args.out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, format!("{text}\n"))?;
    println!("{text}");
    println!("{}", report::table(&rows));
    println!(
        "Total {:.0} s; JSON written to {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(failed)
}

/// What the figures were measured on.
fn machine() -> Value {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_default();
    json!({ "cpus": cpus, "cpu_model": model })
}
