//! The scenarios, one module each, and what they share: a server of their own
//! on the generated world, and the CPU use of both processes over a window.

mod chat;
mod idle;
mod logins;
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
        Scenario::Room => chat::one_room(ctx).await,
        Scenario::Rooms => chat::many_rooms(ctx).await,
        Scenario::Writer => writer::run(ctx).await,
        Scenario::Logins => logins::run(ctx).await,
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

    /// Starts a server on this site's database.
    pub async fn serve(
        &self,
        ctx: &Ctx,
        bcrypt_cost: u32,
        connections: usize,
    ) -> anyhow::Result<ServerProcess> {
        ServerProcess::start(&Launch {
            binary: &ctx.args.server,
            db: &self.db,
            worlds: &self.worlds,
            bcrypt_cost,
            max_connections: connections + 1_000,
        })
        .await
    }
}

/// CPU use of the server and of the load generator over a window.
pub struct CpuWindow {
    started: Instant,
    server: f64,
    own: f64,
}

impl CpuWindow {
    pub fn start(server: &ServerProcess) -> anyhow::Result<CpuWindow> {
        Ok(CpuWindow {
            started: Instant::now(),
            server: server.cpu_seconds()?,
            own: own_cpu_seconds()?,
        })
    }

    /// Percent of one core each process used since `start` (200 % is both cores).
    pub fn finish(&self, server: &ServerProcess) -> anyhow::Result<Value> {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let server_pct = (server.cpu_seconds()? - self.server) / secs * 100.0;
        let own_pct = (own_cpu_seconds()? - self.own) / secs * 100.0;
        Ok(json!({
            "window_secs": round3(secs),
            "server_cpu_pct": round3(server_pct),
            "loadgen_cpu_pct": round3(own_pct),
        }))
    }
}

/// `server x% / loadgen y%` for the table.
pub fn cpu_brief(cpu: &Value) -> String {
    format!(
        "server {:.0}% / loadgen {:.0}%",
        cpu["server_cpu_pct"].as_f64().unwrap_or(0.0),
        cpu["loadgen_cpu_pct"].as_f64().unwrap_or(0.0)
    )
}
