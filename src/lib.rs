//! gaslamp: a telnet MUD server.
//!
//! The layers, each looking only down: `telnet` (bytes ⇄ lines and option events)
//! → `session` (Login ▶ CharacterMenu ▶ Playing) → `command` (nom parser and
//! handlers) → `game` (worlds in play, registry, fan-out) and `store` (SQLite).
//! `world` loads world files; `auth` holds the account rules; `tls` loads
//! certificates; `socials` reads the socials' data file; `transport` runs the listeners; `web` serves the browser
//! client, telnet over WebSocket, health and metrics (`metrics`); `server` runs
//! it all; `upgrade` replaces the running server by a new binary, keeping
//! its players.
//! See ARCHITECTURE.md for the map and the invariants.

pub mod auth;
pub mod cli;
pub mod command;
pub mod config;
pub mod game;
pub mod metrics;
pub mod ops;
pub mod replies;
pub mod script;
pub mod server;
pub mod session;
pub mod socials;
pub mod store;
pub mod telnet;
#[cfg(test)]
mod test_rng;
pub mod text;
pub mod tls;
pub mod transport;
pub mod upgrade;
pub mod web;
pub mod world;

pub use config::ServerConfig;
pub use server::{Server, ShutdownError, StartError};

/// Starts a server with `config` and runs it until `shutdown` resolves.
pub async fn run(
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let server = Server::start(config).await?;
    server.run(shutdown).await?;
    Ok(())
}
