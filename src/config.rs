//! The validated settings a running server works from.
//!
//! The command line (see `cli`) is parsed into raw flags first and turned into a
//! [`ServerConfig`] here; everything below the binary takes this struct, so tests
//! build one directly with [`ServerConfig::for_tests`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `gaslamp run` needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub db_path: PathBuf,
    pub worlds_dir: PathBuf,
    /// The world new accounts start in; `None` means the first world by id.
    pub default_world: Option<String>,
    pub bcrypt_cost: u32,
    /// Idle time in the game before a player is saved and disconnected.
    pub idle_timeout: Duration,
    /// Time allowed between connecting and finishing the login.
    pub login_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// How long a session row lives without activity (renewed on activity).
    pub session_ttl: Duration,
    /// Whether one account may be logged in on several connections at once.
    pub allow_multiple_sessions: bool,
    /// Frames a connection's outbound queue holds before the client counts as
    /// not reading and is dropped.
    pub outbound_queue: usize,
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
    /// How long a guest account lives.
    pub guest_ttl: Duration,
    /// How often the upkeep job purges expired sessions and guests and closes
    /// connections of accounts banned from elsewhere (the operator's shell).
    pub upkeep_interval: Duration,
    /// A superuser to create when the database has no accounts at all
    /// (from `MUD_ADMIN_USER` / `MUD_ADMIN_PASSWORD`).
    pub bootstrap_admin: Option<(String, String)>,
}

impl ServerConfig {
    /// The defaults of `gaslamp run`.
    pub fn new(db_path: PathBuf, worlds_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 4000)),
            db_path,
            worlds_dir,
            default_world: None,
            bcrypt_cost: 12,
            idle_timeout: Duration::from_secs(3600),
            login_timeout: Duration::from_secs(120),
            max_connections: 10_000,
            max_connections_per_ip: 50,
            session_ttl: Duration::from_secs(24 * 3600),
            allow_multiple_sessions: true,
            outbound_queue: 1024,
            writer_queue: 65_536,
            commands_per_second: 20,
            command_burst: 40,
            character_slots: 10,
            lockout: LockoutPolicy::default(),
            failed_logins_per_ip: AddressLimit::FAILED_LOGINS,
            guests_per_ip: AddressLimit::GUESTS,
            guest_ttl: Duration::from_secs(24 * 3600),
            upkeep_interval: Duration::from_secs(30),
            bootstrap_admin: None,
        }
    }

    /// Defaults for tests: port 0 on loopback, cheapest bcrypt cost. Every test
    /// client comes from 127.0.0.1, so the limits per address are raised far
    /// above what the tests do; the tests of those limits set them back.
    pub fn for_tests(db_path: PathBuf, worlds_dir: PathBuf) -> ServerConfig {
        let roomy = AddressLimit {
            count: 10_000,
            window: Duration::from_secs(60),
        };
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            bcrypt_cost: 4,
            failed_logins_per_ip: roomy,
            guests_per_ip: roomy,
            ..ServerConfig::new(db_path, worlds_dir)
        }
    }
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

/// Reads a duration written as a number of seconds or with a unit: `90`, `90s`,
/// `15m`, `1h`, `2d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 90s, 15m, 1h)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown time unit {other:?} (use s, m, h or d)")),
    };
    Ok(Duration::from_secs(n.saturating_mul(scale)))
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
    fn durations_with_and_without_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
