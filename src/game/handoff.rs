//! The game's side of an upgrade (SPEC §15): which connections there are and
//! how to reach each one, whether an upgrade is under way, whether the
//! listeners may accept, and the meeting point where every connection, frozen
//! at its next wait for input, hands in its state and waits for the verdict.
//!
//! It decides nothing about what an upgrade is (that is `crate::upgrade`) and
//! knows nothing about what a connection's state says: the session hands it
//! in as opaque JSON, and only the session reads it back in the new image.
//!
//! **Invariant:** at most one upgrade is under way ([`Handoffs::claim`]); a
//! connection frozen for it stays frozen until the verdict, and a verdict of
//! `Aborted` lets every frozen connection carry on where it stood.

use std::collections::HashMap;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};

use super::registry::{ConnId, Control};

/// A connection the upgrade can reach.
#[derive(Debug, Clone)]
struct Handle {
    control: super::queue::Sender<Control>,
    /// What carries its bytes, for a connection a new image can inherit;
    /// `None` for one it cannot.
    carrier: Option<Carrier>,
}

/// What carries a connection's bytes, when a new image can go on with it:
/// a socket it inherits, and what it must know to read and write it.
#[derive(Clone)]
pub enum Carrier {
    /// Telnet on the TCP socket itself.
    Tcp(RawFd),
    /// A WebSocket on its TCP socket: frames carry no state between them,
    /// so the new image starts a fresh WebSocket on the socket with what
    /// was read past the last whole message.
    WebSocket {
        fd: RawFd,
        /// The client asked for no subprotocol (text frames carry bytes).
        text_frames: bool,
        /// The bytes read past the last whole message, now.
        unparsed: Arc<dyn Fn() -> Vec<u8> + Send + Sync>,
    },
}

impl std::fmt::Debug for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} on {}", self.describe(), self.fd())
    }
}

impl Carrier {
    /// The socket's descriptor.
    pub fn fd(&self) -> RawFd {
        match self {
            Carrier::Tcp(fd) => *fd,
            Carrier::WebSocket { fd, .. } => *fd,
        }
    }

    /// What the new image needs beside the socket, as it stands now.
    pub fn describe(&self) -> Carried {
        match self {
            Carrier::Tcp(_) => Carried::Tcp,
            Carrier::WebSocket {
                text_frames,
                unparsed,
                ..
            } => Carried::WebSocket {
                text_frames: *text_frames,
                unparsed: unparsed(),
            },
        }
    }
}

/// A [`Carrier`] as the state file names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Carried {
    #[default]
    Tcp,
    WebSocket {
        text_frames: bool,
        unparsed: Vec<u8>,
    },
}

/// What a frozen connection hands in.
#[derive(Debug)]
pub struct Frozen {
    pub conn_id: ConnId,
    /// The socket to inherit and what carries it, or `None`: this
    /// connection cannot be kept.
    pub carried: Option<(RawFd, Carried)>,
    /// The session's own description of where it stood (JSON).
    pub state: serde_json::Value,
    /// The player in the game on this connection, if any: when the
    /// connection cannot be kept, the new image tells its room it left.
    pub playing: Option<Departed>,
}

/// A player whose connection an upgrade closed: its room hears it leave the
/// game from the new image (the old one no longer writes to anyone once the
/// handoff is committed).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Departed {
    pub world: String,
    pub room: String,
    pub name: String,
}

/// How an upgrade ended, as frozen connections learn it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still deciding: stand still.
    Pending,
    /// The new image takes over: connections it can keep wait for the end
    /// of this one; the others say goodbye and close.
    Committed,
    /// The upgrade failed for this reason; carry on.
    Aborted(String),
}

/// The listening sockets' descriptors, which a new image inherits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListenerFds {
    pub plain: Option<RawFd>,
    pub tls: Option<RawFd>,
    pub web: Option<RawFd>,
}

/// An upgrade asked for (by `/copyover`, a signal, or `gaslamp upgrade`).
#[derive(Debug)]
pub struct Request {
    pub reason: String,
    /// Told how it ended: `Err` with the reason it failed. (A successful
    /// upgrade replaces the process; the new image tells the players.)
    pub reply: Option<oneshot::Sender<Result<(), String>>>,
    /// The connection of whoever waits for the end (`gaslamp upgrade`),
    /// handed over with the players for the new image to answer.
    pub waiting: Option<OwnedFd>,
}

/// Why an upgrade cannot even begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefused {
    #[error("An upgrade is already under way.")]
    UnderWay,
    #[error("This server cannot be upgraded in place (it was not started by the gaslamp binary).")]
    Unavailable,
}

/// The game's table of connections for upgrades, and the upgrade's state.
pub struct Handoffs {
    listeners: Mutex<ListenerFds>,
    /// Where upgrades are asked for; `None` where nobody carries them out.
    requests: Mutex<Option<mpsc::UnboundedSender<Request>>>,
    conns: Mutex<HashMap<ConnId, Handle>>,
    under_way: AtomicBool,
    /// True while the listeners must not accept (the new image will).
    paused: watch::Sender<bool>,
    /// Where frozen connections report, while an upgrade collects them.
    reports: Mutex<Option<mpsc::UnboundedSender<Frozen>>>,
    verdict: watch::Sender<Verdict>,
    /// Connections that are closing because the new image cannot keep them.
    closing: watch::Sender<usize>,
    /// In a new image: resumed connections not yet told `Upgrade complete.`
    untold: watch::Sender<usize>,
    /// In a new image: resumed connections not yet back where they stood
    /// (a player among the channels' listeners again).
    unreturned: watch::Sender<usize>,
}

impl Default for Handoffs {
    fn default() -> Self {
        Handoffs {
            listeners: Mutex::default(),
            requests: Mutex::default(),
            conns: Mutex::default(),
            under_way: AtomicBool::new(false),
            paused: watch::Sender::new(false),
            reports: Mutex::default(),
            verdict: watch::Sender::new(Verdict::Pending),
            closing: watch::Sender::new(0),
            untold: watch::Sender::new(0),
            unreturned: watch::Sender::new(0),
        }
    }
}

impl Handoffs {
    /// Records the listening sockets (the server, once bound).
    pub fn set_listeners(&self, fds: ListenerFds) {
        *self.listeners.lock() = fds;
    }

    pub fn listeners(&self) -> ListenerFds {
        *self.listeners.lock()
    }

    /// Makes the game take upgrade requests; they arrive on the returned
    /// channel (the server's upgrade task carries them out).
    pub fn take_requests(&self) -> mpsc::UnboundedReceiver<Request> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.requests.lock() = Some(tx);
        rx
    }

    /// Asks for an upgrade. The one upgrade slot is claimed here, so a
    /// second request is refused at once; the answer comes on the receiver.
    pub fn request(
        &self,
        reason: &str,
    ) -> Result<oneshot::Receiver<Result<(), String>>, RequestRefused> {
        self.request_waited(reason, None)
    }

    /// [`Handoffs::request`] by someone waiting on a connection of its own
    /// for the end, which the new image answers.
    pub fn request_waited(
        &self,
        reason: &str,
        waiting: Option<OwnedFd>,
    ) -> Result<oneshot::Receiver<Result<(), String>>, RequestRefused> {
        let requests = self.requests.lock();
        let Some(requests) = requests.as_ref() else {
            return Err(RequestRefused::Unavailable);
        };
        if !self.claim() {
            return Err(RequestRefused::UnderWay);
        }
        let (tx, rx) = oneshot::channel();
        let request = Request {
            reason: reason.to_string(),
            reply: Some(tx),
            waiting,
        };
        if requests.send(request).is_err() {
            self.abort("the server is stopping");
            return Err(RequestRefused::Unavailable);
        }
        Ok(rx)
    }

    /// Every connection's id now.
    pub fn ids(&self) -> Vec<ConnId> {
        self.conns.lock().keys().copied().collect()
    }
    /// A connection begins: it may be asked to freeze from now on.
    pub fn register(
        &self,
        conn_id: ConnId,
        control: super::queue::Sender<Control>,
        carrier: Option<Carrier>,
    ) {
        self.conns
            .lock()
            .insert(conn_id, Handle { control, carrier });
    }

    /// A connection ended.
    pub fn unregister(&self, conn_id: ConnId) {
        self.conns.lock().remove(&conn_id);
    }

    /// How many connections there are.
    pub fn count(&self) -> usize {
        self.conns.lock().len()
    }

    /// How many of them on plain TCP a new image can inherit.
    pub fn inheritable_count(&self) -> usize {
        self.conns
            .lock()
            .values()
            .filter(|h| matches!(h.carrier, Some(Carrier::Tcp(_))))
            .count()
    }

    /// Takes the one upgrade slot; false if an upgrade is already under way.
    pub fn claim(&self) -> bool {
        self.under_way
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether an upgrade is under way.
    pub fn under_way(&self) -> bool {
        self.under_way.load(Ordering::Acquire)
    }

    /// Gives the slot back after a failed upgrade: the listeners accept
    /// again and frozen connections carry on.
    pub fn abort(&self, reason: &str) {
        *self.reports.lock() = None;
        self.verdict
            .send_replace(Verdict::Aborted(reason.to_string()));
        self.paused.send_replace(false);
        self.under_way.store(false, Ordering::Release);
    }

    /// Stops the listeners accepting (connections wait in the backlog).
    pub fn pause_accepting(&self) {
        self.paused.send_replace(true);
    }

    /// Whether the listeners are paused now (an upgrade is handing over).
    pub fn accepting_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// What the accept loops watch: true while they must not accept.
    pub fn paused(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }

    /// Asks every connection to freeze at its next wait for input; frozen
    /// ones report on the returned channel. Returns the ids asked.
    pub fn freeze_all(&self) -> (Vec<ConnId>, mpsc::UnboundedReceiver<Frozen>) {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.reports.lock() = Some(tx);
        self.verdict.send_replace(Verdict::Pending);
        let ids = self.ids();
        for id in &ids {
            self.freeze(*id);
        }
        (ids, rx)
    }

    /// Asks one connection to freeze. A full control queue belongs to a
    /// connection being ended (it unregisters as it ends), so the order is
    /// not waited for.
    pub fn freeze(&self, conn_id: ConnId) {
        let control = self.conns.lock().get(&conn_id).map(|h| h.control.clone());
        if let Some(control) = control {
            let _ = control.try_send(Control::Freeze);
        }
    }

    /// The socket of a connection and what carries it now, if a new image
    /// can inherit it.
    pub fn carried_of(&self, conn_id: ConnId) -> Option<(RawFd, Carried)> {
        let carrier = self.conns.lock().get(&conn_id)?.carrier.clone()?;
        Some((carrier.fd(), carrier.describe()))
    }

    /// A frozen connection hands in its state and waits for the verdict
    /// (`Committed` or `Aborted`). Without an upgrade collecting (it gave up
    /// meanwhile) the answer is an abort at once.
    pub async fn frozen(&self, report: Frozen) -> Verdict {
        let mut verdict = self.verdict.subscribe();
        let sent = match self.reports.lock().as_ref() {
            Some(reports) => reports.send(report).is_ok(),
            None => false,
        };
        if !sent {
            return Verdict::Aborted("the upgrade was called off".into());
        }
        let seen = verdict
            .wait_for(|v| *v != Verdict::Pending)
            .await
            .map(|v| v.clone());
        seen.unwrap_or_else(|_| Verdict::Aborted("the upgrade was called off".into()))
    }

    /// The new image takes over: frozen connections learn it.
    pub fn commit(&self, closing: usize) {
        self.closing.send_replace(closing);
        self.verdict.send_replace(Verdict::Committed);
    }

    /// Resolves if a committed upgrade fails after all (the new image could
    /// not be started): frozen connections then carry on.
    pub async fn called_off(&self) -> String {
        let mut verdict = self.verdict.subscribe();
        let seen = verdict
            .wait_for(|v| matches!(v, Verdict::Aborted(_)))
            .await
            .map(|v| v.clone());
        match seen {
            Ok(Verdict::Aborted(reason)) => reason,
            Ok(_) => String::new(),
            Err(_) => std::future::pending().await,
        }
    }

    /// In a new image: `count` resumed connections are to be told.
    pub fn to_tell(&self, count: usize) {
        self.untold.send_replace(count);
        self.unreturned.send_replace(count);
    }

    /// A resumed connection is back where it stood: at its prompt, or a
    /// player in the game and among the channels' listeners.
    pub fn back_one(&self) {
        self.unreturned
            .send_modify(|left| *left = left.saturating_sub(1));
    }

    /// Waits until every resumed connection is back where it stood.
    pub async fn all_back(&self) {
        let mut unreturned = self.unreturned.subscribe();
        let _ = unreturned.wait_for(|left| *left == 0).await;
    }

    /// A resumed connection's `Upgrade complete.` is on the wire.
    pub fn told_one(&self) {
        self.untold
            .send_modify(|left| *left = left.saturating_sub(1));
    }

    /// Waits until every resumed connection has been told.
    pub async fn all_told(&self) {
        let mut untold = self.untold.subscribe();
        let _ = untold.wait_for(|left| *left == 0).await;
    }

    /// A connection the new image cannot keep has said goodbye.
    pub fn closed_one(&self) {
        self.closing
            .send_modify(|left| *left = left.saturating_sub(1));
    }

    /// Waits until every connection that cannot be kept has said goodbye.
    pub async fn all_closed(&self) {
        let mut closing = self.closing.subscribe();
        let _ = closing.wait_for(|left| *left == 0).await;
    }
}
