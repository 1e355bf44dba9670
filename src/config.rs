//! The validated settings a running server works from.
//!
//! The command line (see `cli`) is parsed into raw flags first and turned into a
//! [`ServerConfig`] here; everything below the binary takes this struct, so tests
//! build one directly with [`ServerConfig::for_tests`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::Role;

/// Everything `gaslamp run` needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The plain telnet listener's address. After `Server::start` it is the
    /// address actually bound (port 0 becomes a real port).
    pub bind: SocketAddr,
    /// Whether the plain telnet listener is opened (`--tls-only` turns it off).
    pub plain: bool,
    /// The TLS listener, if there is one.
    pub tls: Option<TlsSettings>,
    /// The web listener (browser client, WebSocket, health, metrics), unless
    /// `--web-bind off`.
    pub web: Option<WebSettings>,
    pub db_path: PathBuf,
    pub worlds_dir: PathBuf,
    /// The world new accounts start in; `None` means the first world by id.
    pub default_world: Option<String>,
    pub bcrypt_cost: u32,
    /// Idle time in the game before a player is saved and disconnected.
    pub idle_timeout: Duration,
    /// Time allowed between connecting and finishing the login.
    pub login_timeout: Duration,
    /// How long the greeting waits for the client to tell its window's width
    /// (NAWS), so it is wrapped once, at the right width. A client that
    /// answers the offer (yes or no) ends the wait at once; only a client that
    /// says nothing at all waits this long. Zero sends the greeting at once,
    /// as paragraphs the client wraps.
    pub greeting_wait: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// How long a session row lives without activity (renewed on activity).
    pub session_ttl: Duration,
    /// Whether one account may be logged in on several connections at once.
    pub allow_multiple_sessions: bool,
    /// Frames a connection's outbound queue holds before the client counts as
    /// not reading and is dropped.
    pub outbound_queue: usize,
    /// Players in a room from which entries into the game are gathered for a
    /// moment and told together (`<Name>, <Name> and <n> others arrive.`), so
    /// that a login storm into a crowded room costs a line a moment, not a
    /// line an arrival, to everyone there.
    pub crowded_room: usize,
    /// How long the first entry into a crowded room waits for others to be
    /// told with it.
    pub arrivals_gathered_for: Duration,
    /// Operations the batching writer's queue holds.
    pub writer_queue: usize,
    /// Sustained commands per second allowed from one connection.
    pub commands_per_second: u32,
    /// Commands one connection may send in a burst above the sustained rate.
    pub command_burst: u32,
    /// Characters one account may have in one world.
    pub character_slots: usize,
    /// Failed-login lockout: threshold and back-off.
    pub lockout: LockoutPolicy,
    /// Failed logins one address may have in a while before its further
    /// attempts are refused without a password check.
    pub failed_logins_per_ip: AddressLimit,
    /// Guest accounts one address may make in a while.
    pub guests_per_ip: AddressLimit,
    /// Accounts one address may sign up in a while (`new`, `create`), apart
    /// from guests.
    pub signups_per_ip: AddressLimit,
    /// How long a guest account lives.
    pub guest_ttl: Duration,
    /// How often the upkeep job purges expired sessions and guests and closes
    /// connections of accounts banned from elsewhere (the operator's shell).
    pub upkeep_interval: Duration,
    /// A superuser to create when the database has no accounts at all
    /// (from `MUD_ADMIN_USER` / `MUD_ADMIN_PASSWORD`).
    pub bootstrap_admin: Option<(String, String)>,
    /// Whether `new` and `create` may register accounts (`--registration`).
    pub registration_open: bool,
    /// Whether `guest` may make guest accounts (`--guests`).
    pub guests: bool,
    /// Whether players make their own characters (`--player-characters`); when
    /// not, admins make them with `/newchar`.
    pub player_characters: bool,
    /// Whether an account may have characters in several worlds
    /// (`--multi-world-characters`); when not, its characters live in one
    /// world, admins excepted.
    pub multi_world_characters: bool,
    /// Whether MCCP2 compression is offered (`--no-mccp` turns it off).
    pub mccp: bool,
    /// Whether the worlds' scripts run and their NPCs wander (`--no-scripts`
    /// turns both off; NPCs still stand where their files put them). Off in
    /// the test configuration, so a lamplighter's chatter never lands in the
    /// middle of a test of something else; the tests of scripts turn it on.
    pub scripts: bool,
    /// What the MSSP table says about the server (`--mssp-*`, `[mssp]`).
    pub mssp: MsspConfig,
    /// The control socket `gaslamp upgrade` asks (`--control`), or none.
    pub control: Option<PathBuf>,
    /// Where what the writer still holds goes when a stop finds the disk
    /// full (`--spill-dir`): a folder on another filesystem than the
    /// database's. The system's temporary folder unless set.
    pub spill_dir: PathBuf,
    /// How long a stop keeps trying a disk that refuses before it spills
    /// (no flag; the tests shorten it).
    pub writer_stop_grace: Duration,
    /// Rotated copies of the database the server makes while it runs
    /// (`--backup-every`, `--backup-keep`, `--backup-dir`), if any.
    pub backups: Option<BackupSchedule>,
    /// The server-wide channels (the four defaults, changed or added to by
    /// `[[channel]]` tables), in the order `channels` lists them.
    pub channels: Vec<ChannelConfig>,
    /// The socials' data file (`--socials`); `None` reads `socials.toml`
    /// beside the worlds, if there is one.
    pub socials_file: Option<PathBuf>,
}

/// The server's own backups: a copy every `every`, named by UTC time in
/// `dir`, never more than `keep` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub every: Duration,
    pub keep: usize,
    pub dir: PathBuf,
}

/// The operator's answers for MUD listings (MSSP, SPEC §8). Everything else
/// in the table (players, uptime, rooms, protocols) is counted by the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MsspConfig {
    /// The server's name; the default world's name when not set.
    pub name: Option<String>,
    pub hostname: Option<String>,
    pub contact: Option<String>,
    pub website: Option<String>,
    /// The game's Discord invitation.
    pub discord: Option<String>,
    pub language: String,
    pub location: Option<String>,
    pub genre: String,
    pub status: String,
    /// Hours between visits a crawler should keep to; -1 leaves it to the crawler.
    pub crawl_delay: i64,
    /// The year the game was created.
    pub created: Option<String>,
    /// What kind of play (MSSP's list: Adventure, Educational, Hack and
    /// Slash, None, Player versus Player, Player versus Environment,
    /// Roleplaying, Simulation, Social, Strategy).
    pub gameplay: Option<String>,
    /// The address of an icon for listings (a 32x32 image).
    pub icon: Option<String>,
}

impl MsspConfig {
    /// The defaults: English, fantasy, alpha, crawlers' own pace.
    pub fn defaults() -> MsspConfig {
        MsspConfig {
            language: "English".into(),
            genre: "Fantasy".into(),
            status: "Alpha".into(),
            crawl_delay: -1,
            ..MsspConfig::default()
        }
    }
}

/// How long the greeting waits for a silent client's window size (see
/// [`ServerConfig::greeting_wait`]): long enough for a far client's answer,
/// short enough that `nc` hardly notices.
pub const GREETING_WAIT: Duration = Duration::from_millis(500);

impl ServerConfig {
    /// The defaults of `gaslamp run`.
    pub fn new(db_path: PathBuf, worlds_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 4000)),
            plain: true,
            tls: None,
            web: Some(WebSettings::new(WebSettings::DEFAULT_BIND)),
            db_path,
            worlds_dir,
            default_world: None,
            bcrypt_cost: 12,
            idle_timeout: Duration::from_secs(3600),
            login_timeout: Duration::from_secs(120),
            greeting_wait: GREETING_WAIT,
            max_connections: 10_000,
            max_connections_per_ip: 50,
            session_ttl: Duration::from_secs(24 * 3600),
            allow_multiple_sessions: true,
            outbound_queue: 1024,
            crowded_room: 50,
            arrivals_gathered_for: Duration::from_millis(250),
            writer_queue: 65_536,
            commands_per_second: 20,
            command_burst: 40,
            character_slots: 10,
            lockout: LockoutPolicy::default(),
            failed_logins_per_ip: AddressLimit::FAILED_LOGINS,
            guests_per_ip: AddressLimit::GUESTS,
            signups_per_ip: AddressLimit::SIGNUPS,
            guest_ttl: Duration::from_secs(24 * 3600),
            upkeep_interval: Duration::from_secs(30),
            bootstrap_admin: None,
            registration_open: true,
            guests: true,
            player_characters: true,
            multi_world_characters: true,
            mccp: true,
            scripts: true,
            mssp: MsspConfig::defaults(),
            control: None,
            spill_dir: std::env::temp_dir(),
            writer_stop_grace: crate::store::writer::STOP_GRACE,
            backups: None,
            channels: ChannelConfig::defaults(),
            socials_file: None,
        }
    }

    /// Defaults for tests: port 0 on loopback (the web listener too, so that
    /// servers started side by side never collide), cheapest bcrypt cost. Every
    /// test client comes from 127.0.0.1, so the limits per address are raised
    /// far above what the tests do, and sign-ups are not limited at all (the
    /// helpers make many accounts); the tests of those limits set them back.
    /// The spill folder is `spill` beside the database, so no test leaves a
    /// file in the system's temporary folder.
    pub fn for_tests(db_path: PathBuf, worlds_dir: PathBuf) -> ServerConfig {
        let roomy = AddressLimit {
            count: 10_000,
            window: Duration::from_secs(60),
        };
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            web: Some(WebSettings::new(SocketAddr::from(([127, 0, 0, 1], 0)))),
            bcrypt_cost: 4,
            // The tests' client answers no negotiation; their greeting goes at
            // once (the wait has tests of its own).
            greeting_wait: Duration::ZERO,
            failed_logins_per_ip: roomy,
            guests_per_ip: roomy,
            spill_dir: db_path.with_file_name("spill"),
            signups_per_ip: AddressLimit::OFF,
            scripts: false,
            ..ServerConfig::new(db_path, worlds_dir)
        }
    }

    /// The port of the plain telnet listener, if it is open (for MSSP's `PORT`).
    /// After `Server::start`, the port actually bound.
    pub fn plain_port(&self) -> Option<u16> {
        self.plain.then_some(self.bind.port())
    }

    /// The port of the TLS listener, if there is one (for MSSP's `SSL`). After
    /// `Server::start`, the port actually bound.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls.as_ref().map(|tls| tls.bind.port())
    }

    /// The web listener's port, if there is one. After `Server::start`, the
    /// port actually bound.
    pub fn web_port(&self) -> Option<u16> {
        self.web.as_ref().map(|web| web.bind.port())
    }
}

/// One server-wide channel (SPEC §12): who may read it, who may speak on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// The word that speaks on it (`ooc hello`), lower case.
    pub name: String,
    pub description: String,
    /// The lowest role that hears it; below it, its name is no command.
    pub read: Role,
    /// The lowest role that may speak on it.
    pub write: Role,
    /// Whether guests may speak on it (they may always read it).
    pub guests: bool,
}

/// Most channels a server may have (each account keeps its on/off switches
/// in one word of bits).
pub const MAX_CHANNELS: usize = 32;

impl ChannelConfig {
    fn new(name: &str, description: &str, role: Role, guests: bool) -> ChannelConfig {
        ChannelConfig {
            name: name.into(),
            description: description.into(),
            read: role,
            write: role,
            guests,
        }
    }

    /// The four channels every server has unless its configuration changes
    /// them: `ooc` (everyone, but guests only listen), `newbie` (everyone),
    /// `builder` (worldbuilder+) and `admin` (admin+).
    pub fn defaults() -> Vec<ChannelConfig> {
        vec![
            ChannelConfig::new(
                "ooc",
                "Out-of-character talk, heard in every world.",
                Role::Player,
                false,
            ),
            ChannelConfig::new(
                "newbie",
                "Questions and answers for new players, guests welcome.",
                Role::Player,
                true,
            ),
            ChannelConfig::new(
                "builder",
                "The world builders' shop talk.",
                Role::Worldbuilder,
                true,
            ),
            ChannelConfig::new("admin", "The staff's own channel.", Role::Admin, true),
        ]
    }
}

/// One `[[channel]]` table of the config file: a default channel changed (by
/// its name), or a new one. What it leaves out keeps the default's value (a
/// new channel: no description, everyone reads and speaks, guests too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelSetting {
    pub name: String,
    pub description: Option<String>,
    pub read: Option<Role>,
    pub write: Option<Role>,
    pub guests: Option<bool>,
}

/// The channels the `settings` make of the defaults, checked: names of 2 to
/// 20 lower-case letters, digits, `-` or `_`, starting with a letter, each
/// given once; the write role not below the read role; at most
/// [`MAX_CHANNELS`]. (Names that are command words are refused at start, by
/// the server, which knows the commands.)
pub fn channels_with(settings: &[ChannelSetting]) -> Result<Vec<ChannelConfig>, String> {
    let mut channels = ChannelConfig::defaults();
    let mut named: Vec<String> = Vec::new();
    for setting in settings {
        let name = setting.name.trim().to_lowercase();
        check_channel_name(&name)?;
        if named.contains(&name) {
            return Err(format!("channel {name:?} is given twice"));
        }
        named.push(name.clone());
        let at = match channels.iter().position(|c| c.name == name) {
            Some(at) => at,
            None => {
                channels.push(ChannelConfig::new(&name, "", Role::Player, true));
                channels.len() - 1
            }
        };
        let channel = &mut channels[at];
        if let Some(description) = &setting.description {
            channel.description = crate::text::sanitize(description);
        }
        if let Some(read) = setting.read {
            channel.read = read;
            channel.write = channel.write.max(read);
        }
        if let Some(write) = setting.write {
            channel.write = write;
        }
        if let Some(guests) = setting.guests {
            channel.guests = guests;
        }
        if channel.write < channel.read {
            return Err(format!(
                "channel {name:?}: its write role ({}) is below its read role ({})",
                channel.write, channel.read
            ));
        }
    }
    if channels.len() > MAX_CHANNELS {
        return Err(format!("at most {MAX_CHANNELS} channels may be configured"));
    }
    Ok(channels)
}

/// A channel's name: 2 to 20 characters, lower-case letters, digits, `-` and
/// `_`, starting with a letter (it is typed as a command's word).
fn check_channel_name(name: &str) -> Result<(), String> {
    let fits = (2..=20).contains(&name.chars().count())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if fits {
        Ok(())
    } else {
        Err(format!(
            "channel name {name:?} must be 2 to 20 letters, digits, - or _, starting with a letter"
        ))
    }
}

/// Refuses channels named like a command (`is_command`: the command list's
/// words, aliases included): the command would always win, and the channel
/// could never be spoken on.
pub fn check_channel_words(
    channels: &[ChannelConfig],
    is_command: impl Fn(&str) -> bool,
) -> Result<(), String> {
    match channels.iter().find(|c| is_command(&c.name)) {
        Some(channel) => Err(format!(
            "channel {:?} is named like a command; give it another name",
            channel.name
        )),
        None => Ok(()),
    }
}

/// The web listener's settings (`--web-*`, `--trust-proxy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// Its address; after `Server::start`, the address bound.
    pub bind: SocketAddr,
    /// Page origins allowed to open the WebSocket (`https://mud.example`);
    /// empty means the page's own origin (the `Host` the request came to).
    pub origins: Vec<String>,
    /// Host names a loopback listener answers besides the loopback's own
    /// (`--web-host`), lowercased: a reverse proxy on the same machine that
    /// passes its name on (see `web::policy::host_allowed`).
    pub hosts: Vec<String>,
    /// Whether a client's address is taken from `X-Forwarded-For` (set by a
    /// reverse proxy in front) instead of the TCP peer.
    pub trust_proxy: bool,
    /// HTTP connections one client address may hold open at once, idle ones
    /// included (`--web-max-per-ip`). A WebSocket leaves them once upgraded and
    /// counts under the game's connection limits instead.
    pub max_per_ip: usize,
    /// HTTP connections open at once in all (no flag; tests lower it).
    pub max_connections: usize,
}

impl WebSettings {
    /// `--web-bind`'s default.
    pub const DEFAULT_BIND: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4080);
    /// `--web-max-per-ip`'s default: room for a household's browsers behind
    /// one address, each loading the page and its files, not for a flood.
    pub const DEFAULT_MAX_PER_IP: usize = 32;
    /// HTTP connections open at once in all.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

    /// A listener on `bind` that accepts its own pages' origin, trusts no
    /// proxy, and has the default limits.
    pub fn new(bind: SocketAddr) -> WebSettings {
        WebSettings {
            bind,
            origins: Vec::new(),
            hosts: Vec::new(),
            trust_proxy: false,
            max_per_ip: WebSettings::DEFAULT_MAX_PER_IP,
            max_connections: WebSettings::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The TLS listener's settings (`--tls-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The TLS listener's address; after `Server::start`, the address bound.
    pub bind: SocketAddr,
    /// PEM file with the certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, RSA or EC).
    pub key: PathBuf,
    /// How long a client has to finish the TLS handshake.
    pub handshake_timeout: Duration,
}

impl TlsSettings {
    /// The default handshake deadline.
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
}

/// At most `count` events from one address within `window` (SPEC §10); a
/// count of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressLimit {
    pub count: u32,
    pub window: Duration,
}

impl AddressLimit {
    /// Failed logins: 5 in 5 minutes (as Evennia has it).
    pub const FAILED_LOGINS: AddressLimit = AddressLimit {
        count: 5,
        window: Duration::from_secs(5 * 60),
    };
    /// Guest accounts: 5 in 10 minutes, room for a household or a class behind
    /// one address, not for a flood.
    pub const GUESTS: AddressLimit = AddressLimit {
        count: 5,
        window: Duration::from_secs(10 * 60),
    };

    /// Sign-ups: 5 in 10 minutes, as guests (SPEC §6).
    pub const SIGNUPS: AddressLimit = AddressLimit {
        count: 5,
        window: Duration::from_secs(10 * 60),
    };
    /// No limit at all.
    pub const OFF: AddressLimit = AddressLimit {
        count: 0,
        window: Duration::from_secs(60),
    };

    pub fn is_off(&self) -> bool {
        self.count == 0
    }
}

/// The failed-login lockout rule (SPEC §6): consecutive failures per account are
/// counted; from the `threshold`-th on, each failure locks the account for
/// `base`, doubling with every further failure up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures in a row before the first lock.
    pub threshold: u32,
    /// Length of the first lock.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            threshold: 5,
            base: Duration::from_secs(60),
            max: Duration::from_secs(3600),
        }
    }
}

impl LockoutPolicy {
    /// How long the `failures`-th failure in a row locks the account, if at all.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.threshold)?;
        let factor = 1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX);
        Some(self.base.saturating_mul(factor).min(self.max))
    }
}

/// The forms a duration may take, for messages that refuse one.
pub const DURATION_FORMS: &str =
    "a positive number of seconds (90) or a duration with units (90s, 15m, 1h30m, 2d)";

/// Reads a duration, the one way every flag and command does: plain seconds
/// (`90`) or units as `humantime` reads them (`90s`, `2m`, `1h30m`, `2d`). Zero,
/// negative and malformed durations are refused with the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let refused = || format!("{text:?} is not {DURATION_FORMS}");
    let duration = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(text.parse().map_err(|_| refused())?)
    } else {
        humantime::parse_duration(text).map_err(|_| refused())?
    };
    if duration.is_zero() {
        return Err(refused());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_at_the_threshold_and_double_to_the_cap() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.lock_for(4), None);
        assert_eq!(policy.lock_for(5), Some(Duration::from_secs(60)));
        assert_eq!(policy.lock_for(6), Some(Duration::from_secs(120)));
        assert_eq!(policy.lock_for(7), Some(Duration::from_secs(240)));
        assert_eq!(policy.lock_for(11), Some(Duration::from_secs(3600)));
        assert_eq!(policy.lock_for(500), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn channel_tables_change_the_defaults_and_add_channels() {
        let settings = [
            ChannelSetting {
                name: "OOC".into(),
                guests: Some(true),
                ..ChannelSetting::default()
            },
            ChannelSetting {
                name: "trade".into(),
                description: Some("Buying and \u{1b}[2Jselling.".into()),
                write: Some(Role::Worldbuilder),
                ..ChannelSetting::default()
            },
        ];
        let channels = channels_with(&settings).expect("valid");
        let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ooc", "newbie", "builder", "admin", "trade"]);
        assert!(channels[0].guests, "ooc now lets guests speak");
        assert_eq!(channels[4].description, "Buying and selling.");
        assert_eq!(
            (channels[4].read, channels[4].write),
            (Role::Player, Role::Worldbuilder)
        );
        assert!(
            !channels_with(&[]).expect("defaults")[0].guests,
            "guests only listen on ooc"
        );
    }

    #[test]
    fn bad_channel_tables_are_refused_with_a_reason() {
        let named = |name: &str| ChannelSetting {
            name: name.into(),
            ..ChannelSetting::default()
        };
        for bad in ["x", "9lives", "two words", "ünïcode", &"a".repeat(21)] {
            let refused = channels_with(&[named(bad)]).expect_err(bad);
            assert!(refused.contains("must be 2 to 20"), "{bad}: {refused}");
        }
        let twice = channels_with(&[named("trade"), named("Trade")]).expect_err("twice");
        assert!(twice.contains("given twice"), "{twice}");
        let upside_down = ChannelSetting {
            read: Some(Role::Admin),
            write: Some(Role::Player),
            ..named("staff")
        };
        let refused = channels_with(&[upside_down]).expect_err("write below read");
        assert!(refused.contains("below its read role"), "{refused}");
        let many: Vec<ChannelSetting> =
            (0..MAX_CHANNELS).map(|n| named(&format!("c{n}"))).collect();
        assert!(
            channels_with(&many)
                .expect_err("too many")
                .contains("at most")
        );
        let words = check_channel_words(&ChannelConfig::defaults(), |w| w == "admin");
        assert!(
            words
                .expect_err("a command word")
                .contains("\"admin\" is named like a command")
        );
    }

    #[test]
    fn durations_in_a_table() {
        let secs = |n| Ok(Duration::from_secs(n));
        let cases = [
            ("90", secs(90)),
            ("90s", secs(90)),
            ("15m", secs(900)),
            ("2m", secs(120)),
            ("1h", secs(3600)),
            ("1h30m", secs(5400)),
            ("1h 30m", secs(5400)),
            ("2d", secs(172_800)),
            (" 45 ", secs(45)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), want, "{text:?}");
        }
        for bad in ["", "0", "0s", "-5", "-5s", "soon", "1.5.3m", "m"] {
            let refused = parse_duration(bad).expect_err(bad);
            assert!(refused.contains("90s, 15m, 1h30m"), "{bad:?}: {refused}");
        }
    }
}
