//! Upgrades without dropping anyone (SPEC §15): the running server replaces
//! its own process image with the binary at `--exe` (`execve`, so the PID a
//! service manager tracks stays the same), handing over its listeners and
//! the socket of every plain-TCP and WebSocket connection, which the new
//! image goes on reading and writing as if nothing happened.
//!
//! The old image's side is [`carry_out`], the server's task that takes the
//! requests (`/copyover`, SIGUSR2) one at a time: it checks the new binary,
//! stops the listeners accepting, asks every connection to freeze at its
//! next wait for input (`game::handoff`, `session::handover`), has the
//! records settled and the batching writer drained, writes the state of
//! every kept connection into an anonymous file, clears close-on-exec on
//! that file, the listeners and the sockets (`fds`), and `exec`s. Anything
//! that fails before the `exec` returns gives the upgrade up: the listeners
//! accept again and every frozen connection carries on where it stood.
//!
//! The new image's side is [`take_inherited`], which the binary calls before
//! the server starts: the listeners and connections the state file names,
//! which `Server::start_inherited` uses instead of binding, and serves from
//! where they stood.
//!
//! This module decides how an upgrade runs; it knows nothing of what a
//! connection's state says (the session's own JSON) beyond its descriptor.

pub mod check;
pub mod control;
pub mod fds;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::game::Game;
use crate::game::handoff::{Carried, Departed, Frozen, ListenerFds, Request};

/// The environment variable naming the state file's descriptor in the new
/// image.
pub const STATE_ENV: &str = "GASLAMP_UPGRADE_STATE";

/// How long connections get to reach a wait for input and freeze.
const FREEZE_WAIT: Duration = Duration::from_secs(5);
/// How long the writer gets to commit what it holds before the handover.
const SETTLE_WAIT: Duration = Duration::from_secs(10);
/// How long connections that cannot be kept get to say goodbye.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// Why an upgrade did not happen (the old image carries on).
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error("the new binary {0} does not exist")]
    Missing(PathBuf),
    #[error("the new binary {0} is not an executable file")]
    NotExecutable(PathBuf),
    #[error("the new binary's self-check failed: {0}")]
    CheckFailed(String),
    #[error("{0} connection(s) did not stand still within {FREEZE_WAIT:?}")]
    Busy(usize),
    #[error("the database writer did not commit what it held in time")]
    Unsettled,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("could not hand over: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not describe the handover: {0}")]
    State(#[from] serde_json::Error),
    #[error("the upgrade state in {STATE_ENV} is unusable: {0}")]
    BadState(String),
}

/// What an upgrade starts: the binary, and the arguments this one was
/// started with (the new image runs with the same configuration).
#[derive(Debug, Clone)]
pub struct Plan {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
    /// This binary, for a new one that cannot start to hand back to.
    pub fallback: Option<PathBuf>,
}

/// The state file, as one image writes it and the next reads it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Handoff {
    /// The version of the image that wrote it.
    from_version: String,
    reason: String,
    listeners: ListenerFds,
    /// The next connection id (the new image keeps the old ids).
    next_conn_id: u64,
    connections: Vec<Handed>,
    /// The old binary and its arguments, which a new image that cannot
    /// start hands everything back to (`None` once it has: no loop).
    fallback: Option<(PathBuf, Vec<OsString>)>,
    /// Why the upgrade failed, when the old binary took everything back.
    fell_back: Option<String>,
    /// The control connection waiting for the end (`gaslamp upgrade`).
    waiting: Option<RawFd>,
    /// The scripts' handlers paused in `wait()` at the handoff, which live
    /// in the old image's VMs and cannot come along: `(world, owner,
    /// handlers)`, told on the builder channel by the new image.
    #[serde(default)]
    dropped_waits: Vec<(String, String, usize)>,
    /// The players whose connections the handoff closed, whose rooms the
    /// new image tells they left the game.
    #[serde(default)]
    departed: Vec<Departed>,
}

/// One connection handed over: its socket, what carries it, and the
/// session's own state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Handed {
    fd: RawFd,
    #[serde(default)]
    carried: Carried,
    state: serde_json::Value,
}

/// A connection a new image takes over: its socket, what carries it, and
/// the session's own state.
pub type TakenOver = (OwnedFd, Carried, serde_json::Value);

/// What a new image takes over from the old one. The descriptors stay
/// open under their numbers, owned by nothing, until the server started
/// (`take_connections`, `release`): a start that fails can still hand them
/// all back to the old binary ([`fall_back`]).
#[derive(Debug)]
pub struct Inherited {
    handoff: Handoff,
}

impl Inherited {
    pub fn from_version(&self) -> &str {
        &self.handoff.from_version
    }

    pub fn reason(&self) -> &str {
        &self.handoff.reason
    }

    /// Why the upgrade failed, if this is the old binary taking back.
    pub fn fell_back(&self) -> Option<&str> {
        self.handoff.fell_back.as_deref()
    }

    pub fn next_conn_id(&self) -> u64 {
        self.handoff.next_conn_id
    }

    /// The scripts' handlers the handoff dropped from `wait()`.
    pub fn dropped_waits(&self) -> &[(String, String, usize)] {
        &self.handoff.dropped_waits
    }

    /// The players whose connections the handoff closed.
    pub fn departed(&self) -> &[Departed] {
        &self.handoff.departed
    }

    /// The session rows of the handed-over connections' states, by `read`.
    pub fn states(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.handoff.connections.iter().map(|c| &c.state)
    }

    /// A listener to serve, as a copy of the inherited one (the original
    /// stays open for a fall-back until [`Inherited::release`]).
    pub fn listener(
        &self,
        which: fn(&ListenerFds) -> Option<RawFd>,
    ) -> Option<std::io::Result<std::net::TcpListener>> {
        which(&self.handoff.listeners)
            .map(|fd| fds::copy_inherited(fd).map(std::net::TcpListener::from))
    }

    /// The connections, now this image's own, and the control connection
    /// waiting for the end, if any; the listeners' originals closed. Called
    /// once the server started.
    pub fn take_connections(self) -> (Vec<TakenOver>, Option<OwnedFd>) {
        let waiting = self
            .handoff
            .waiting
            .and_then(|fd| fds::take_inherited(fd).ok());
        let listeners = self.handoff.listeners;
        for fd in [listeners.plain, listeners.tls, listeners.web]
            .into_iter()
            .flatten()
        {
            drop(fds::take_inherited(fd));
        }
        let mut taken = Vec::with_capacity(self.handoff.connections.len());
        for handed in self.handoff.connections {
            match fds::take_inherited(handed.fd) {
                Ok(fd) => taken.push((fd, handed.carried, handed.state)),
                Err(err) => {
                    tracing::warn!(fd = handed.fd, %err, "a handed-over connection is gone")
                }
            }
        }
        (taken, waiting)
    }
}

/// Carries out upgrade requests, one at a time, until the game stops taking
/// them. A successful one never comes back (the process image is replaced).
pub async fn carry_out(
    game: Arc<Game>,
    plan: Plan,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let shutdown = game.shutdown_token().clone();
    loop {
        let request = tokio::select! {
            request = requests.recv() => request,
            _ = shutdown.cancelled() => None,
        };
        let Some(request) = request else {
            return;
        };
        tracing::info!(exe = %plan.exe.display(), reason = %request.reason, "upgrade begins");
        let waiting = request.waiting.as_ref().map(AsRawFd::as_raw_fd);
        let failed = tokio::select! {
            failed = upgrade(&game, &plan, &request.reason, waiting) => failed.to_string(),
            // A shutdown wins: the check is killed, frozen connections carry
            // on into the shutdown's goodbye.
            _ = shutdown.cancelled() => UpgradeError::ShuttingDown.to_string(),
        };
        tracing::warn!(reason = %failed, "upgrade failed; the server carries on");
        game.handoffs().abort(&failed);
        if let Some(reply) = request.reply {
            let _ = reply.send(Err(failed));
        }
    }
}

/// One upgrade; returns only why it failed.
async fn upgrade(
    game: &Arc<Game>,
    plan: &Plan,
    reason: &str,
    waiting: Option<RawFd>,
) -> UpgradeError {
    if let Err(err) = check_binary(plan) {
        return err;
    }
    match check::run_new_binary(plan).await {
        Ok(said) => tracing::info!(new = %said, "the new binary passed its self-check"),
        Err(err) => return err,
    }
    if game.is_shutting_down() {
        return UpgradeError::ShuttingDown;
    }
    game.handoffs().pause_accepting();
    let frozen = match freeze(game).await {
        Ok(frozen) => frozen,
        Err(err) => return err,
    };
    if game.is_shutting_down() {
        return UpgradeError::ShuttingDown;
    }
    match tokio::time::timeout(SETTLE_WAIT, game.settle_for_handoff()).await {
        Ok(true) => {}
        _ => return UpgradeError::Unsettled,
    }
    let handoff = Handoff {
        from_version: env!("CARGO_PKG_VERSION").to_string(),
        reason: reason.to_string(),
        listeners: game.handoffs().listeners(),
        next_conn_id: game.next_conn_id(),
        connections: frozen
            .iter()
            .filter_map(|f| {
                f.carried.clone().map(|(fd, carried)| Handed {
                    fd,
                    carried,
                    state: f.state.clone(),
                })
            })
            .collect(),
        fallback: plan.fallback.clone().map(|exe| (exe, plan.args.clone())),
        fell_back: None,
        waiting,
        dropped_waits: game.paused_scripts(),
        departed: frozen
            .iter()
            .filter(|f| f.carried.is_none())
            .filter_map(|f| f.playing.clone())
            .collect(),
    };
    let closing = frozen.iter().filter(|f| f.carried.is_none()).count();
    game.handoffs().commit(closing);
    let _ = tokio::time::timeout(GOODBYE_WAIT, game.handoffs().all_closed()).await;
    if game.is_shutting_down() {
        return UpgradeError::ShuttingDown;
    }
    tracing::info!(
        kept = handoff.connections.len(),
        closed = closing,
        "handing over to the new binary"
    );
    exec(plan, &handoff)
}

/// The new binary exists and may be executed.
fn check_binary(plan: &Plan) -> Result<(), UpgradeError> {
    let meta = std::fs::metadata(&plan.exe).map_err(|_| UpgradeError::Missing(plan.exe.clone()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(UpgradeError::NotExecutable(plan.exe.clone()));
    }
    Ok(())
}

/// Asks every connection to freeze and collects what each hands in, asking
/// connections that began meanwhile too, until every connection there is
/// has answered (or the wait is over).
async fn freeze(game: &Arc<Game>) -> Result<Vec<Frozen>, UpgradeError> {
    let handoffs = game.handoffs();
    let (asked, mut reports) = handoffs.freeze_all();
    let mut asked: HashSet<_> = asked.into_iter().collect();
    let mut got: HashMap<_, Frozen> = HashMap::new();
    let deadline = tokio::time::Instant::now() + FREEZE_WAIT;
    loop {
        let ids = handoffs.ids();
        for id in &ids {
            if asked.insert(*id) {
                handoffs.freeze(*id);
            }
        }
        let waiting = ids.iter().filter(|id| !got.contains_key(*id)).count();
        if waiting == 0 && !plain_unregistered(game) {
            got.retain(|id, _| ids.contains(id));
            return Ok(got.into_values().collect());
        }
        if game.is_shutting_down() {
            return Err(UpgradeError::ShuttingDown);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(UpgradeError::Busy(waiting));
        }
        let tick = tokio::time::Instant::now() + Duration::from_millis(50);
        if let Ok(Some(report)) = tokio::time::timeout_at(tick.min(deadline), reports.recv()).await
        {
            got.insert(report.conn_id, report);
        }
    }
}

/// Whether a plain connection accepted just before the pause has not
/// registered yet (its task has not run): it must be frozen too, or the
/// `exec` would close it.
fn plain_unregistered(game: &Game) -> bool {
    let plain = game
        .connections()
        .by_transport()
        .iter()
        .find(|(transport, _)| *transport == crate::game::Transport::Plain)
        .map_or(0, |(_, count)| *count);
    let registered = game.handoffs().inheritable_count() as u64;
    plain > registered
}

/// Replaces the process image; returns only if that failed.
fn exec(plan: &Plan, handoff: &Handoff) -> UpgradeError {
    let bytes = match serde_json::to_vec(handoff) {
        Ok(bytes) => bytes,
        Err(err) => return err.into(),
    };
    let file = match fds::state_file(&bytes) {
        Ok(file) => file,
        Err(err) => return err.into(),
    };
    let listeners = [
        handoff.listeners.plain,
        handoff.listeners.tls,
        handoff.listeners.web,
    ];
    let kept: Vec<RawFd> = listeners
        .into_iter()
        .flatten()
        .chain(handoff.connections.iter().map(|c| c.fd))
        .chain(handoff.waiting)
        .chain([file.as_raw_fd()])
        .collect();
    for fd in &kept {
        if let Err(err) = fds::keep_across_exec(*fd) {
            return err.into();
        }
    }
    let err = std::process::Command::new(&plan.exe)
        .args(&plan.args)
        .env(STATE_ENV, file.as_raw_fd().to_string())
        .exec();
    // Still here: the new image never started. Nothing more may leak into
    // the processes this one starts later.
    for fd in kept {
        let _ = fds::close_on_exec_raw(fd);
    }
    err.into()
}

/// The state an old image left for this one, if this process is the new
/// image of an upgrade. Called once, at start, before anything else opens
/// descriptors; every number it names is checked to be open.
pub fn take_inherited() -> Result<Option<Inherited>, UpgradeError> {
    let Some(value) = std::env::var_os(STATE_ENV) else {
        return Ok(None);
    };
    let fd: RawFd = value
        .to_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| UpgradeError::BadState("not a descriptor number".into()))?;
    let bytes = fds::read_state(fd)?;
    let handoff: Handoff = serde_json::from_slice(&bytes)?;
    let listeners = handoff.listeners;
    let named = [listeners.plain, listeners.tls, listeners.web]
        .into_iter()
        .flatten()
        .chain(handoff.connections.iter().map(|c| c.fd));
    for fd in named.chain(handoff.waiting) {
        fds::check_inherited(fd)?;
    }
    Ok(Some(Inherited { handoff }))
}

/// A new image that cannot start hands everything back to the old binary,
/// which takes the players over as if from an upgrade and tells them it did
/// not happen. Returns only if that is impossible (no old binary named, or
/// it cannot be started): then the players are lost.
pub fn fall_back(inherited: Inherited, why: &str) -> UpgradeError {
    let mut handoff = inherited.handoff;
    let Some((exe, args)) = handoff.fallback.take() else {
        return UpgradeError::BadState("no old binary to fall back to".into());
    };
    tracing::error!(old = %exe.display(), reason = %why, "the new binary cannot start; handing the players back to the old binary");
    handoff.fell_back = Some(why.to_string());
    exec(
        &Plan {
            exe,
            args,
            fallback: None,
        },
        &handoff,
    )
}
