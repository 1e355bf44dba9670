//! The command line: raw flags as clap parses them (every flag also read from a
//! `GASLAMP_*` environment variable), and their conversion into a validated
//! [`ServerConfig`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{ServerConfig, parse_duration};

#[derive(Debug, Parser)]
#[command(
    name = "gaslamp",
    version,
    about = "A telnet MUD server: accounts, characters, worlds of rooms, live talk."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand understands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// SQLite database file (its directory is created if needed).
    #[arg(
        long,
        global = true,
        env = "GASLAMP_DB",
        default_value = "data/gaslamp.db"
    )]
    pub db: PathBuf,
    /// Directory holding one sub-directory per world.
    #[arg(long, global = true, env = "GASLAMP_WORLDS", default_value = "worlds")]
    pub worlds: PathBuf,
    /// World that new accounts start in [default: the first world by id].
    #[arg(long, global = true, env = "GASLAMP_DEFAULT_WORLD")]
    pub default_world: Option<String>,
    /// bcrypt cost factor for new password hashes (4 to 31).
    #[arg(long, global = true, env = "GASLAMP_BCRYPT_COST", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
    /// Log filter when RUST_LOG is not set: error, warn, info, debug, trace.
    #[arg(long, global = true, env = "GASLAMP_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (creates the database on first run).
    Run(RunArgs),
    /// Create or migrate the database schema, then exit.
    InitDb,
    /// Create a superuser (prompts, or reads MUD_ADMIN_USER / MUD_ADMIN_PASSWORD).
    CreateSuperuser,
    /// Load and validate every world; print a summary or every error.
    CheckWorlds,
}

/// Flags of `gaslamp run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Address to listen on.
    #[arg(long, env = "GASLAMP_BIND", default_value = "127.0.0.1:4000")]
    pub bind: SocketAddr,
    /// Idle time in the game before a player is saved and disconnected (90s, 15m, 1h).
    #[arg(long, env = "GASLAMP_IDLE_TIMEOUT", default_value = "1h", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Time allowed to log in after connecting.
    #[arg(long, env = "GASLAMP_LOGIN_TIMEOUT", default_value = "120s", value_parser = parse_duration)]
    pub login_timeout: Duration,
    /// Most connections at once.
    #[arg(long, env = "GASLAMP_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Most connections at once from one IP address.
    #[arg(long, env = "GASLAMP_MAX_CONNECTIONS_PER_IP", default_value_t = 50)]
    pub max_connections_per_ip: usize,
    /// Lifetime of a session row without activity (renewed by activity).
    #[arg(long, env = "GASLAMP_SESSION_TTL", default_value = "24h", value_parser = parse_duration)]
    pub session_ttl: Duration,
    /// Whether one account may be logged in on several connections at once.
    #[arg(long, env = "GASLAMP_ALLOW_MULTIPLE_SESSIONS", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub allow_multiple_sessions: bool,
    /// Characters one account may have in one world.
    #[arg(long, env = "GASLAMP_CHARACTER_SLOTS", default_value_t = 10)]
    pub character_slots: usize,
}

impl CommonArgs {
    /// The server configuration these flags (and `run`'s) describe.
    pub fn server_config(&self, run: &RunArgs) -> ServerConfig {
        ServerConfig {
            bind: run.bind,
            default_world: self.default_world.clone(),
            bcrypt_cost: self.bcrypt_cost,
            idle_timeout: run.idle_timeout,
            login_timeout: run.login_timeout,
            max_connections: run.max_connections,
            max_connections_per_ip: run.max_connections_per_ip,
            session_ttl: run.session_ttl,
            allow_multiple_sessions: run.allow_multiple_sessions,
            character_slots: run.character_slots,
            ..ServerConfig::new(self.db.clone(), self.worlds.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let cli = Cli::try_parse_from(["gaslamp", "run"]).expect("parse");
        let Command::Run(run) = &cli.command else {
            panic!("expected run");
        };
        let config = cli.common.server_config(run);
        assert_eq!(config.bind.to_string(), "127.0.0.1:4000");
        assert_eq!(config.db_path, PathBuf::from("data/gaslamp.db"));
        assert_eq!(config.worlds_dir, PathBuf::from("worlds"));
        assert_eq!(config.bcrypt_cost, 12);
        assert_eq!(config.idle_timeout, Duration::from_secs(3600));
        assert!(config.allow_multiple_sessions);
    }

    #[test]
    fn flags_override_defaults_anywhere_on_the_line() {
        let cli = Cli::try_parse_from([
            "gaslamp",
            "--db",
            "/tmp/x.db",
            "run",
            "--bind",
            "0.0.0.0:5000",
            "--bcrypt-cost",
            "4",
            "--idle-timeout",
            "15m",
            "--allow-multiple-sessions",
            "false",
        ])
        .expect("parse");
        let Command::Run(run) = &cli.command else {
            panic!("expected run");
        };
        let config = cli.common.server_config(run);
        assert_eq!(config.db_path, PathBuf::from("/tmp/x.db"));
        assert_eq!(config.bind.port(), 5000);
        assert_eq!(config.bcrypt_cost, 4);
        assert_eq!(config.idle_timeout, Duration::from_secs(900));
        assert!(!config.allow_multiple_sessions);
    }

    #[test]
    fn a_bcrypt_cost_out_of_range_is_refused() {
        assert!(Cli::try_parse_from(["gaslamp", "run", "--bcrypt-cost", "3"]).is_err());
    }
}
