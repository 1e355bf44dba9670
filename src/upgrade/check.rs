//! The new binary's self-check (SPEC §15), run before any player notices an
//! upgrade: the old image starts the new binary with its own arguments and
//! [`CHECK_ENV`] set; the new binary then checks the configuration (its flag
//! parsing already did), the TLS certificate, the worlds, and the schema it
//! would migrate to — on a copy of the database made with SQLite's online
//! backup, migrated and thrown away, so the real file is never migrated
//! before the handoff is committed — and exits 0, or 1 with its reason as
//! the last line on stderr.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::{Plan, STATE_ENV, UpgradeError};
use crate::config::ServerConfig;
use crate::store::backup::{self, Pace};
use crate::store::{Store, StoreOptions};

/// Set in the environment of the new binary's self-check.
pub const CHECK_ENV: &str = "GASLAMP_UPGRADE_CHECK";

/// How long the new binary's self-check may take.
const CHECK_WAIT: Duration = Duration::from_secs(60);

/// Whether this process was started as an upgrade's self-check.
pub fn asked() -> bool {
    std::env::var_os(CHECK_ENV).is_some()
}

/// The old image's side: runs the new binary's self-check; `Ok` with what
/// the new binary says it is (its version).
pub async fn run_new_binary(plan: &Plan) -> Result<String, UpgradeError> {
    let child = tokio::process::Command::new(&plan.exe)
        .args(&plan.args)
        .env(CHECK_ENV, "1")
        .env_remove(STATE_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| UpgradeError::CheckFailed(format!("it cannot be started: {err}")))?;
    let output = tokio::time::timeout(CHECK_WAIT, child.wait_with_output())
        .await
        .map_err(|_| UpgradeError::CheckFailed(format!("it took longer than {CHECK_WAIT:?}")))?
        .map_err(|err| UpgradeError::CheckFailed(err.to_string()))?;
    let last = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    if output.status.success() {
        return Ok(last(&output.stdout));
    }
    let said = last(&output.stderr);
    Err(UpgradeError::CheckFailed(match output.status.code() {
        Some(code) if said.is_empty() => format!("it exited with {code}"),
        _ if said.is_empty() => "it was killed".to_string(),
        _ => said,
    }))
}

/// The new binary's side: checks what it would start with, changing
/// nothing. Returns the line to print: its version.
pub async fn check_here(config: &ServerConfig) -> Result<String, String> {
    if let Some(tls) = &config.tls {
        crate::tls::Certificates::load(&tls.cert, &tls.key).map_err(|e| e.to_string())?;
    }
    crate::world::load(&config.worlds_dir, config.default_world.as_deref())
        .map_err(|e| e.to_string())?;
    let db = config.db_path.clone();
    tokio::task::spawn_blocking(move || check_schema(&db))
        .await
        .map_err(|e| e.to_string())??;
    Ok(format!("gaslamp {}", env!("CARGO_PKG_VERSION")))
}

/// Migrates a throw-away copy of the database: the schema this binary
/// would migrate the real one to, proven on the same data.
fn check_schema(db: &Path) -> Result<(), String> {
    let copy = scratch_path(db);
    let checked = backup::copy(db, &copy, Pace::GENTLE, &|| false)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            Store::open(&copy, StoreOptions::default())
                .map(drop)
                .map_err(|e| format!("the schema does not migrate: {e}"))
        });
    for suffix in ["", "-wal", "-shm"] {
        let mut name = copy.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    checked
}

/// A hidden file beside the database for the copy.
fn scratch_path(db: &Path) -> PathBuf {
    let name = format!(".gaslamp-upgrade-check-{}.db", std::process::id());
    db.parent().unwrap_or(Path::new(".")).join(name)
}
