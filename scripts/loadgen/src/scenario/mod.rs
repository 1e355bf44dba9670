//! The scenarios, one module each, and what they share: a server of their own
//! on the generated world, and the CPU use of both processes over a window.

mod arrivals;
mod build;
mod channel;
mod chat;
mod floor;
mod guard;
mod idle;
mod logins;
mod mccp;
mod npcs;
mod storm;
mod tls;
mod upgrade;
mod web;
mod writer;

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Value, json};

use crate::report::Outcome;
use crate::server::{Launch, ServerProcess, own_cpu_seconds};
use crate::stats::round3;
use crate::{Ctx, Scenario, world};

/// Runs one scenario.
pub async fn run(scenario: Scenario, ctx: &Ctx) -> anyhow::Result<Outcome> {
    match scenario {
        Scenario::Idle => idle::run(ctx).await,
        Scenario::Arrivals => arrivals::run(ctx).await,
        Scenario::Room => chat::one_room(ctx, chat::Over::Plain).await,
        Scenario::RoomFloor => floor::run(ctx).await,
        Scenario::RoomTls => chat::one_room(ctx, chat::Over::Tls).await,
        Scenario::RoomWs => chat::one_room(ctx, chat::Over::HalfWebSocket).await,
        Scenario::WsIdle => web::idle(ctx).await,
        Scenario::TlsHandshakes => tls::handshakes(ctx).await,
        Scenario::TlsIdle => tls::idle(ctx).await,
        Scenario::Rooms => chat::many_rooms(ctx).await,
        Scenario::Writer => writer::run(ctx).await,
        Scenario::Logins => logins::run(ctx).await,
        Scenario::RoomMccp => mccp::crowded_room(ctx).await,
        Scenario::IdleMccp => mccp::idle(ctx).await,
        Scenario::Storm => guard::storm(ctx).await,
        Scenario::Timing => guard::timing(ctx).await,
        Scenario::Build => build::run(ctx).await,
        Scenario::Channel => channel::run(ctx).await,
        Scenario::Upgrade => upgrade::run(ctx).await,
        Scenario::Npcs => npcs::run(ctx).await,
    }
}

/// A scenario's directory: the generated world, the database and the log.
pub struct Site {
    pub db: PathBuf,
    pub worlds: PathBuf,
}

impl Site {
    pub fn new(ctx: &Ctx, name: &str, rooms: usize) -> anyhow::Result<Site> {
        let dir = ctx.dir(name)?;
        let worlds = dir.join("worlds");
        world::generate(&worlds, rooms)?;
        Ok(Site {
            db: dir.join("gaslamp.db"),
            worlds,
        })
    }

    /// A site with two generated worlds of `rooms` rooms each.
    pub fn two_worlds(ctx: &Ctx, name: &str, rooms: usize) -> anyhow::Result<Site> {
        let site = Site::new(ctx, name, rooms)?;
        world::generate_as(&site.worlds, world::SECOND_WORLD_ID, rooms)?;
        Ok(site)
    }

    /// Starts a server on this site's database.
    pub async fn serve(
        &self,
        ctx: &Ctx,
        bcrypt_cost: u32,
        connections: usize,
    ) -> anyhow::Result<ServerProcess> {
        self.launch(ctx, bcrypt_cost, connections, None, false)
            .await
    }

    /// Starts a server on this site's database with its web listener open
    /// beside the plain telnet one.
    pub async fn serve_web(
        &self,
        ctx: &Ctx,
        bcrypt_cost: u32,
        connections: usize,
    ) -> anyhow::Result<ServerProcess> {
        self.launch(ctx, bcrypt_cost, connections, None, true).await
    }

    /// Starts a server on this site's database with a TLS listener beside the
    /// plain one, its certificate made for `localhost` in the site's directory.
    pub async fn serve_tls(
        &self,
        ctx: &Ctx,
        bcrypt_cost: u32,
        connections: usize,
    ) -> anyhow::Result<ServerProcess> {
        let dir = self
            .db
            .parent()
            .map_or_else(|| PathBuf::from("tls"), |site| site.join("tls"));
        gaslamp::tls::dev_cert::write_self_signed(&["localhost".to_string()], &dir, true)?;
        self.launch(ctx, bcrypt_cost, connections, Some(&dir), false)
            .await
    }

    /// The one way a scenario's server starts: on this site's database, room
    /// for `connections` and some, the listeners asked for.
    async fn launch(
        &self,
        ctx: &Ctx,
        bcrypt_cost: u32,
        connections: usize,
        tls_dir: Option<&std::path::Path>,
        web: bool,
    ) -> anyhow::Result<ServerProcess> {
        ServerProcess::start(&Launch {
            binary: &ctx.args.server,
            db: &self.db,
            worlds: &self.worlds,
            bcrypt_cost,
            max_connections: connections + 1_000,
            env: &ctx.args.server_env,
            tls_dir,
            web,
        })
        .await
    }

    /// A server with or without the TLS listener.
    pub async fn serve_over(
        &self,
        ctx: &Ctx,
        bcrypt_cost: u32,
        connections: usize,
        tls: bool,
    ) -> anyhow::Result<ServerProcess> {
        if tls {
            self.serve_tls(ctx, bcrypt_cost, connections).await
        } else {
            self.serve(ctx, bcrypt_cost, connections).await
        }
    }
}

/// Switches callgrind's instrumentation of the server on or off
/// (`--callgrind`): the server must be running under
/// `valgrind --tool=callgrind --instr-atstart=no`.
pub async fn callgrind_instrumentation(server: &ServerProcess, on: bool) -> anyhow::Result<()> {
    let status = tokio::process::Command::new("callgrind_control")
        .args(["-i", if on { "on" } else { "off" }, &server.pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .await?;
    anyhow::ensure!(
        status.success(),
        "callgrind_control -i could not reach the server (is it under callgrind?)"
    );
    Ok(())
}

/// CPU use over a window: the server's, the load generator's, and the whole
/// machine's (from `/proc/stat`), so that other work on the machine — builds,
/// other test runs — shows up in the report instead of hiding in the latencies.
pub struct CpuWindow {
    started: Instant,
    server: f64,
    own: f64,
    machine: MachineCpu,
}

impl CpuWindow {
    pub fn start(server: &ServerProcess) -> anyhow::Result<CpuWindow> {
        Ok(CpuWindow {
            started: Instant::now(),
            server: server.cpu_seconds()?,
            own: own_cpu_seconds()?,
            machine: MachineCpu::read()?,
        })
    }

    /// Percent of one core used since `start` (200 % is both cores of a
    /// two-core machine): by the server, by the load generator, and by anything
    /// else on the machine (kernel softirq work not charged to either included).
    pub fn finish(&self, server: &ServerProcess) -> anyhow::Result<Value> {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let server_pct = (server.cpu_seconds()? - self.server) / secs * 100.0;
        let own_pct = (own_cpu_seconds()? - self.own) / secs * 100.0;
        let machine_pct = MachineCpu::read()?.busy_pct_since(&self.machine);
        Ok(json!({
            "window_secs": round3(secs),
            "server_cpu_pct": round3(server_pct),
            "loadgen_cpu_pct": round3(own_pct),
            "machine_cpu_pct": round3(machine_pct),
            "other_cpu_pct": round3((machine_pct - server_pct - own_pct).max(0.0)),
        }))
    }
}

/// `server x% / loadgen y% / other z%` for the table.
pub fn cpu_brief(cpu: &Value) -> String {
    let pct = |key: &str| cpu[key].as_f64().unwrap_or(0.0);
    format!(
        "server {:.0}% / loadgen {:.0}% / other {:.0}%",
        pct("server_cpu_pct"),
        pct("loadgen_cpu_pct"),
        pct("other_cpu_pct")
    )
}

/// The machine-wide CPU counters of `/proc/stat`, in clock ticks.
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    pub fn read() -> anyhow::Result<MachineCpu> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let line = stat.lines().next().unwrap_or_default();
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        anyhow::ensure!(ticks.len() >= 8, "unexpected /proc/stat: {line}");
        // user nice system idle iowait irq softirq steal
        let idle = ticks[3] + ticks[4];
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
        Ok(MachineCpu {
            busy,
            total: busy + idle,
        })
    }

    /// Busy percent of one core since `earlier`, over all cores.
    pub fn busy_pct_since(&self, earlier: &MachineCpu) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let total = self.total.saturating_sub(earlier.total).max(1) as f64;
        self.busy.saturating_sub(earlier.busy) as f64 / total * 100.0 * cores
    }
}

/// How busy the machine is with other work before a scenario starts: one
/// second of `/proc/stat`, in percent of one core.
pub async fn background_load() -> anyhow::Result<f64> {
    let before = MachineCpu::read()?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    Ok(MachineCpu::read()?.busy_pct_since(&before))
}
