//! The command line: raw flags as clap parses them (every flag also read from a
//! `GASLAMP_*` environment variable, and from an optional TOML file given with
//! `--config`), and their conversion into a validated [`ServerConfig`].
//!
//! Precedence is flag > environment > config file > built-in default. The file is
//! layered in by [`parse_from`] through [`config_file`], so a file value goes
//! through the same checks as a typed one.

mod config_file;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{
    AddressLimit, BackupSchedule, ChannelConfig, LockoutPolicy, MsspConfig, ServerConfig,
    TlsSettings, WebSettings, channels_with, parse_duration,
};

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
    /// TOML file of settings (keys are the flag names), under flags and environment.
    #[arg(long, global = true, env = "GASLAMP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// The socials' data file [default: socials.toml in the worlds
    /// directory, if there is one].
    #[arg(long, global = true, env = "GASLAMP_SOCIALS", value_name = "FILE")]
    pub socials: Option<PathBuf>,
    /// bcrypt cost factor for new password hashes (4 to 31).
    #[arg(long, global = true, env = "GASLAMP_BCRYPT_COST", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
    /// Log filter when RUST_LOG is not set: error, warn, info, debug, trace.
    #[arg(long, global = true, env = "GASLAMP_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// The running server's control socket (a Unix socket of mode 0600),
    /// where `gaslamp upgrade` asks [default: the database's path with
    /// `.control` added].
    #[arg(long, global = true, env = "GASLAMP_CONTROL", value_name = "PATH")]
    pub control: Option<PathBuf>,
}

impl CommonArgs {
    /// Where the control socket is.
    pub fn control_path(&self) -> PathBuf {
        self.control.clone().unwrap_or_else(|| {
            let mut path = self.db.clone().into_os_string();
            path.push(".control");
            PathBuf::from(path)
        })
    }
}

// One value, parsed once at start: the size of `run`'s flags costs nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Manage accounts from the shell (safe while the server runs).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write a self-signed TLS certificate and key (cert.pem, key.pem) for local
    /// use and tests.
    GenCert(GenCertArgs),
    /// Copy the database, consistently, into FILE (safe while the server runs).
    Backup {
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a checked copy of backup FILE in place of the database (refused
    /// while a server runs on it); the replaced file is kept aside.
    Restore { file: PathBuf },
    /// Ask a running server for its MSSP table over telnet, as a MUD listing's
    /// crawler does (IAC DO MSSP), and print what it answers.
    Mssp(MsspQueryArgs),
    /// Upgrade the running server in place to its `--exe` binary, keeping
    /// every player connected; waits for the end (exit 0, or 1 and why).
    Upgrade {
        /// Why, for the log and the audit (words).
        reason: Vec<String>,
    },
}

/// Flags of `gaslamp mssp`.
#[derive(Debug, Args)]
pub struct MsspQueryArgs {
    /// The running server's telnet address, host:port (the config file's
    /// `bind` serves here too).
    #[arg(long, env = "GASLAMP_BIND", default_value = "127.0.0.1:4000")]
    pub bind: String,
}

/// Flags of `gaslamp gen-cert`.
#[derive(Debug, Args)]
pub struct GenCertArgs {
    /// A host name or IP address the certificate is for; repeat for more
    /// [default: localhost, 127.0.0.1, ::1].
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// Directory to write cert.pem and key.pem into (created if needed).
    #[arg(long, value_name = "DIR", default_value = "data/tls")]
    pub out: PathBuf,
    /// Replace cert.pem and key.pem if they exist.
    #[arg(long)]
    pub force: bool,
}

/// `gaslamp user ...`: account management for an operator locked out of the game.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List accounts: name, role, active or banned, guest, created, last login.
    List {
        /// Only accounts whose name contains this (without regard to case).
        filter: Option<String>,
    },
    /// Create an account (password asked twice, or read from
    /// GASLAMP_NEW_PASSWORD), with its first character in the default world.
    Create {
        account: String,
        /// Its role: player (default), worldbuilder, admin or superuser.
        #[arg(long, default_value = "player")]
        role: String,
    },
    /// Ban an account: it can no longer log in.
    Ban {
        account: String,
        /// Why, for the audit log (the rest of the line).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        reason: Vec<String>,
    },
    /// Lift a ban.
    Unban { account: String },
    /// Give an account a role: player, worldbuilder, admin or superuser.
    Role { account: String, role: String },
    /// Set a new password (asked twice, or read from GASLAMP_NEW_PASSWORD).
    Passwd { account: String },
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
    /// How long a guest account lives.
    #[arg(long, env = "GASLAMP_GUEST_TTL", default_value = "24h", value_parser = parse_duration)]
    pub guest_ttl: Duration,
    /// Consecutive wrong passwords before an account is locked.
    #[arg(long, env = "GASLAMP_LOCKOUT_THRESHOLD", default_value_t = 5)]
    pub lockout_threshold: u32,
    /// The first lock's length; each further failure doubles it.
    #[arg(long, env = "GASLAMP_LOCKOUT_BASE", default_value = "1m", value_parser = parse_duration)]
    pub lockout_base: Duration,
    /// The longest lock.
    #[arg(long, env = "GASLAMP_LOCKOUT_MAX", default_value = "1h", value_parser = parse_duration)]
    pub lockout_max: Duration,
    /// Failed logins one address may have within --failed-logins-window before
    /// its further attempts are refused unchecked (0: no limit).
    #[arg(long, env = "GASLAMP_MAX_FAILED_LOGINS_PER_IP", default_value_t = 5)]
    pub max_failed_logins_per_ip: u32,
    /// The window of --max-failed-logins-per-ip.
    #[arg(long, env = "GASLAMP_FAILED_LOGINS_WINDOW", default_value = "5m", value_parser = parse_duration)]
    pub failed_logins_window: Duration,
    /// Guest accounts one address may make within --guests-window (0: no limit).
    #[arg(long, env = "GASLAMP_MAX_GUESTS_PER_IP", default_value_t = 5)]
    pub max_guests_per_ip: u32,
    /// The window of --max-guests-per-ip.
    #[arg(long, env = "GASLAMP_GUESTS_WINDOW", default_value = "10m", value_parser = parse_duration)]
    pub guests_window: Duration,
    /// Accounts one address may sign up (`new`, `create`) within
    /// --signups-window, apart from guests (0: no limit).
    #[arg(long, env = "GASLAMP_MAX_SIGNUPS_PER_IP", default_value_t = 5)]
    pub max_signups_per_ip: u32,
    /// The window of --max-signups-per-ip.
    #[arg(long, env = "GASLAMP_SIGNUPS_WINDOW", default_value = "10m", value_parser = parse_duration)]
    pub signups_window: Duration,
    /// How often expired sessions and guests are cleaned up (and accounts banned
    /// from the shell are disconnected).
    #[arg(long, env = "GASLAMP_UPKEEP_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub upkeep_interval: Duration,
    /// Whether players may register accounts with `new` and `create` (closed:
    /// operators add accounts with `gaslamp user create`).
    #[arg(long, env = "GASLAMP_REGISTRATION", default_value = "open")]
    pub registration: Registration,
    /// Whether `guest` makes guest accounts.
    #[arg(long, env = "GASLAMP_GUESTS", default_value = "on")]
    pub guests: Switch,
    /// Whether players make their own characters (off: admins use /newchar).
    #[arg(long, env = "GASLAMP_PLAYER_CHARACTERS", default_value = "on")]
    pub player_characters: Switch,
    /// Whether an account may have characters in more than one world (off:
    /// its characters live in one world; admins are exempt).
    #[arg(long, env = "GASLAMP_MULTI_WORLD_CHARACTERS", default_value = "on")]
    pub multi_world_characters: Switch,
    /// Address of the TLS listener (telnet over TLS), e.g. 0.0.0.0:4443
    /// [default: none, no TLS].
    #[arg(long, env = "GASLAMP_TLS_BIND", value_name = "ADDR")]
    pub tls_bind: Option<SocketAddr>,
    /// PEM file with the TLS certificate chain, the server's certificate first.
    #[arg(long, env = "GASLAMP_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the TLS private key (PKCS#8, RSA or EC).
    #[arg(long, env = "GASLAMP_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Open only the TLS listener, not the plain telnet one.
    #[arg(long, env = "GASLAMP_TLS_ONLY", default_value_t = false,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub tls_only: bool,
    /// Time a client has to finish the TLS handshake before it is disconnected.
    #[arg(long, env = "GASLAMP_TLS_HANDSHAKE_TIMEOUT", default_value = "10s",
          value_parser = parse_duration)]
    pub tls_handshake_timeout: Duration,
    /// Do not offer MCCP2 compression.
    #[arg(long, env = "GASLAMP_NO_MCCP")]
    pub no_mccp: bool,
    /// Run no world scripts and let no NPC wander (NPCs still stand where
    /// their zone files put them).
    #[arg(long, env = "GASLAMP_NO_SCRIPTS")]
    pub no_scripts: bool,
    /// The binary an upgrade (/copyover, SIGUSR2) replaces the server by
    /// [default: the path this one was started from].
    #[arg(long, env = "GASLAMP_EXE", value_name = "PATH")]
    pub exe: Option<PathBuf>,
    #[command(flatten)]
    pub mssp: MsspArgs,
    /// Address of the web listener: the browser client at /, telnet over
    /// WebSocket at /ws, /health and /metrics; `off` turns it off.
    #[arg(long, env = "GASLAMP_WEB_BIND", value_name = "ADDR|off",
          default_value = "127.0.0.1:4080", value_parser = parse_web_bind)]
    pub web_bind: WebBind,
    /// Web page origins allowed to open the WebSocket, comma-separated
    /// (https://mud.example.org), or `*` for any
    /// [default: the page's own origin, the Host the request came to].
    #[arg(long, env = "GASLAMP_WEB_ORIGIN", value_name = "ORIGIN",
          value_delimiter = ',', value_parser = parse_origin)]
    pub web_origin: Vec<String>,
    /// Host names a loopback web listener answers besides localhost,
    /// 127.0.0.1 and [::1], comma-separated or repeated: the name a reverse
    /// proxy on this machine passes on in `Host` (mud.example.org). Other
    /// names are refused with 421, against DNS rebinding; /health and
    /// /metrics answer any. On other binds the --web-origin check guards.
    #[arg(long, env = "GASLAMP_WEB_HOST", value_name = "NAME",
          value_delimiter = ',', value_parser = parse_web_host)]
    pub web_host: Vec<String>,
    /// Take a WebSocket client's address from X-Forwarded-For, as set by the
    /// reverse proxy in front of the web listener (only with such a proxy).
    #[arg(long, env = "GASLAMP_TRUST_PROXY", default_value_t = false,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub trust_proxy: bool,
    /// Most HTTP connections at once from one client address on the web
    /// listener, idle ones included (behind --trust-proxy, by the forwarded
    /// address); a WebSocket counts under --max-connections-per-ip once
    /// upgraded [default: 32].
    #[arg(long, env = "GASLAMP_WEB_MAX_PER_IP", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub web_max_per_ip: Option<u32>,
    /// Folder for what the database writer still holds when a stop finds the
    /// disk full, replayed at the next start; put it on another filesystem
    /// than the database [default: the system's temporary folder].
    #[arg(long, env = "GASLAMP_SPILL_DIR", value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Make a backup of the database this often while running (6h, 1d)
    /// [default: none].
    #[arg(long, env = "GASLAMP_BACKUP_EVERY", value_name = "DURATION", value_parser = parse_duration)]
    pub backup_every: Option<Duration>,
    /// How many of the server's backups to keep; the oldest go first.
    #[arg(long, env = "GASLAMP_BACKUP_KEEP", value_name = "N", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub backup_keep: u32,
    /// Folder of the server's backups, named by UTC time
    /// [default: `backups` beside the database].
    #[arg(long, env = "GASLAMP_BACKUP_DIR", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// The server-wide channels, from the config file's `[[channel]]` tables
    /// over the defaults (no flag: `None` is the defaults).
    #[arg(skip)]
    pub channels: Option<Vec<ChannelConfig>>,
}

/// `--web-bind`: an address, or `off` (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebBind(pub Option<SocketAddr>);

fn parse_web_bind(text: &str) -> Result<WebBind, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(WebBind(None));
    }
    text.parse()
        .map(|addr| WebBind(Some(addr)))
        .map_err(|_| format!("{text:?} is neither an address (127.0.0.1:4080) nor \"off\""))
}

/// An origin as browsers send it (`https://mud.example.org`, with a port
/// where it is not the scheme's own), lowercased; or `*`.
fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    if origin == "*" {
        return Ok(origin);
    }
    let refused = || {
        format!("{text:?} is not an origin like https://mud.example.org or http://localhost:4080")
    };
    let (scheme, host) = origin.split_once("://").ok_or_else(refused)?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !matches!(scheme, "http" | "https") || !host_ok {
        return Err(refused());
    }
    Ok(origin)
}

/// A `--web-host` name: a host name or address without port, lowercased.
fn parse_web_host(text: &str) -> Result<String, String> {
    crate::web::web_host_name(text).ok_or_else(|| {
        format!("{text:?} is not a host name like mud.example.org (no scheme, port or path)")
    })
}

impl RunArgs {
    /// Checks the flags that only make sense together. It runs on the final
    /// line, config file included (clap's own `requires` would judge the typed
    /// line alone, before the file's values are in).
    pub fn check(&self) -> Result<(), String> {
        match (&self.tls_bind, &self.tls_cert, &self.tls_key) {
            (Some(_), Some(_), Some(_)) | (None, None, None) => {}
            (Some(_), _, _) => return Err("--tls-bind needs both --tls-cert and --tls-key".into()),
            (None, _, _) => {
                return Err("--tls-cert and --tls-key need --tls-bind (the TLS listener)".into());
            }
        }
        if self.tls_only && self.tls_bind.is_none() {
            return Err("--tls-only needs --tls-bind, or no listener would be open".into());
        }
        let web_flags =
            !self.web_origin.is_empty() || !self.web_host.is_empty() || self.trust_proxy;
        if self.web_bind.0.is_none() && (web_flags || self.web_max_per_ip.is_some()) {
            return Err(
                "--web-origin, --web-host, --web-max-per-ip and --trust-proxy need the \
                 web listener (--web-bind is off)"
                    .into(),
            );
        }
        if self.backup_every.is_none() && self.backup_dir.is_some() {
            return Err("--backup-dir needs --backup-every (how often to make a backup)".into());
        }
        Ok(())
    }

    /// The server's backups these flags ask for, if any; their folder is
    /// `backups` beside the database `db` unless named.
    fn backup_schedule(&self, db: &std::path::Path) -> Option<BackupSchedule> {
        Some(BackupSchedule {
            every: self.backup_every?,
            keep: self.backup_keep as usize,
            dir: self
                .backup_dir
                .clone()
                .unwrap_or_else(|| db.with_file_name("backups")),
        })
    }

    /// The web listener these flags describe, if any.
    fn web_settings(&self) -> Option<WebSettings> {
        let defaults = WebSettings::new(self.web_bind.0?);
        Some(WebSettings {
            origins: self.web_origin.clone(),
            hosts: self.web_host.clone(),
            trust_proxy: self.trust_proxy,
            max_per_ip: self
                .web_max_per_ip
                .map_or(defaults.max_per_ip, |n| n as usize),
            ..defaults
        })
    }

    /// The TLS listener these flags describe, if any (`check` saw to it that the
    /// certificate and key come with the address).
    fn tls_settings(&self) -> Option<TlsSettings> {
        Some(TlsSettings {
            bind: self.tls_bind?,
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
            handshake_timeout: self.tls_handshake_timeout.max(Duration::from_millis(100)),
        })
    }
}

/// `--registration open|closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Registration {
    Open,
    Closed,
}

/// An `on|off` switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// What the MSSP table tells MUD listings (also `[mssp]` in the config file,
/// keys without the `mssp-` prefix).
#[derive(Debug, Args)]
pub struct MsspArgs {
    /// MSSP NAME [default: the default world's name].
    #[arg(long, env = "GASLAMP_MSSP_NAME")]
    pub mssp_name: Option<String>,
    /// MSSP HOSTNAME: the name players connect to.
    #[arg(long, env = "GASLAMP_MSSP_HOSTNAME")]
    pub mssp_hostname: Option<String>,
    /// MSSP CONTACT: an e-mail address for the game.
    #[arg(long, env = "GASLAMP_MSSP_CONTACT")]
    pub mssp_contact: Option<String>,
    /// MSSP WEBSITE.
    #[arg(long, env = "GASLAMP_MSSP_WEBSITE")]
    pub mssp_website: Option<String>,
    /// MSSP DISCORD: an invitation to the game's Discord.
    #[arg(long, env = "GASLAMP_MSSP_DISCORD")]
    pub mssp_discord: Option<String>,
    /// MSSP LANGUAGE.
    #[arg(long, env = "GASLAMP_MSSP_LANGUAGE", default_value = "English")]
    pub mssp_language: String,
    /// MSSP LOCATION: the country the server stands in.
    #[arg(long, env = "GASLAMP_MSSP_LOCATION")]
    pub mssp_location: Option<String>,
    /// MSSP GENRE: Adult, Fantasy, Historical, Horror, Modern, Science Fiction or None.
    #[arg(long, env = "GASLAMP_MSSP_GENRE", default_value = "Fantasy")]
    pub mssp_genre: String,
    /// MSSP STATUS: Alpha, Closed Beta, Open Beta or Live.
    #[arg(long, env = "GASLAMP_MSSP_STATUS", default_value = "Alpha")]
    pub mssp_status: String,
    /// MSSP CRAWL DELAY in hours (-1: the crawler decides).
    #[arg(long, env = "GASLAMP_MSSP_CRAWL_DELAY", default_value_t = -1, allow_negative_numbers = true)]
    pub mssp_crawl_delay: i64,
    /// MSSP CREATED: the year the game was created.
    #[arg(long, env = "GASLAMP_MSSP_CREATED")]
    pub mssp_created: Option<String>,
    /// MSSP GAMEPLAY: Adventure, Hack and Slash, Roleplaying, Social, ...
    #[arg(long, env = "GASLAMP_MSSP_GAMEPLAY")]
    pub mssp_gameplay: Option<String>,
    /// MSSP ICON: the address of a 32x32 image for listings.
    #[arg(long, env = "GASLAMP_MSSP_ICON")]
    pub mssp_icon: Option<String>,
}

impl MsspArgs {
    fn config(&self) -> MsspConfig {
        MsspConfig {
            name: self.mssp_name.clone(),
            hostname: self.mssp_hostname.clone(),
            contact: self.mssp_contact.clone(),
            website: self.mssp_website.clone(),
            discord: self.mssp_discord.clone(),
            language: self.mssp_language.clone(),
            location: self.mssp_location.clone(),
            genre: self.mssp_genre.clone(),
            status: self.mssp_status.clone(),
            crawl_delay: self.mssp_crawl_delay,
            created: self.mssp_created.clone(),
            gameplay: self.mssp_gameplay.clone(),
            icon: self.mssp_icon.clone(),
        }
    }
}

impl CommonArgs {
    /// The server configuration these flags (and `run`'s) describe.
    pub fn server_config(&self, run: &RunArgs) -> ServerConfig {
        ServerConfig {
            bind: run.bind,
            plain: !run.tls_only,
            tls: run.tls_settings(),
            web: run.web_settings(),
            default_world: self.default_world.clone(),
            bcrypt_cost: self.bcrypt_cost,
            idle_timeout: run.idle_timeout,
            login_timeout: run.login_timeout,
            greeting_wait: crate::config::GREETING_WAIT,
            max_connections: run.max_connections,
            max_connections_per_ip: run.max_connections_per_ip,
            session_ttl: run.session_ttl,
            allow_multiple_sessions: run.allow_multiple_sessions,
            character_slots: run.character_slots,
            guest_ttl: run.guest_ttl,
            lockout: LockoutPolicy {
                threshold: run.lockout_threshold,
                base: run.lockout_base,
                max: run.lockout_max,
            },
            failed_logins_per_ip: AddressLimit {
                count: run.max_failed_logins_per_ip,
                window: run.failed_logins_window,
            },
            guests_per_ip: AddressLimit {
                count: run.max_guests_per_ip,
                window: run.guests_window,
            },
            signups_per_ip: AddressLimit {
                count: run.max_signups_per_ip,
                window: run.signups_window,
            },
            upkeep_interval: run.upkeep_interval.max(Duration::from_millis(100)),
            registration_open: run.registration == Registration::Open,
            guests: run.guests == Switch::On,
            player_characters: run.player_characters == Switch::On,
            multi_world_characters: run.multi_world_characters == Switch::On,
            mccp: !run.no_mccp,
            scripts: !run.no_scripts,
            mssp: run.mssp.config(),
            control: Some(self.control_path()),
            spill_dir: run.spill_dir.clone().unwrap_or_else(std::env::temp_dir),
            backups: run.backup_schedule(&self.db),
            channels: run.channels.clone().unwrap_or_else(ChannelConfig::defaults),
            socials_file: self.socials.clone(),
            ..ServerConfig::new(self.db.clone(), self.worlds.clone())
        }
    }
}

/// Why the command line could not be turned into a [`Cli`].
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// clap's own report; also `--help` and `--version`, which are no failure
    /// (see `clap::Error::use_stderr`).
    #[error(transparent)]
    Clap(#[from] clap::Error),
    /// The config file could not be read, or holds a bad key or value.
    #[error("config file {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    /// Settings that do not fit together (wherever each came from).
    #[error("{0}")]
    Invalid(String),
}

/// Parses a command line (the first item is the program name) the way the
/// binary does: flags, then `GASLAMP_*` variables, then the `--config` file (or
/// `GASLAMP_CONFIG`), then the defaults.
pub fn parse_from<I, T>(args: I) -> Result<Cli, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Cli::command();
    let matches = command.clone().try_get_matches_from(&args)?;
    let Some(path) = matches.get_one::<PathBuf>("config").cloned() else {
        return checked(Cli::from_arg_matches(&matches)?);
    };
    let layered = config_file::layered(&command, &matches, &args, &path).map_err(|message| {
        CliError::Config {
            path: path.clone(),
            message,
        }
    })?;
    let mut cli = Cli::from_arg_matches(&layered.matches)?;
    if let Command::Run(run) = &mut cli.command {
        let channels = channels_with(&layered.channels)
            .map_err(|message| CliError::Config { path, message })?;
        run.channels = Some(channels);
    }
    checked(cli)
}

/// The parsed line, once the settings that belong together are checked.
fn checked(cli: Cli) -> Result<Cli, CliError> {
    if let Command::Run(run) = &cli.command {
        run.check().map_err(CliError::Invalid)?;
    }
    Ok(cli)
}

#[cfg(test)]
mod tests;
