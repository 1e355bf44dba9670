//! A connection across an upgrade (SPEC §15): frozen in the old image, taken
//! over by the new one.
//!
//! Freezing: an upgrade's `Control::Freeze` ends the connection's wait for
//! input (never a command half done); [`Link::stand_still`] tells the player
//! `The server is being upgraded; please wait.`, ends the MCCP2 stream, waits
//! for the writer to put everything on the wire, and hands the game its
//! [`ConnState`] — the telnet state, the logged-in session, and the step it
//! stood at — then waits for the verdict. Aborted, it carries on where it
//! stood (compression restarted). Committed, a connection the new image can
//! inherit (plain telnet, WebSocket) waits for the process image to be
//! replaced; one it cannot (TLS, for now) says goodbye and closes.
//!
//! Resuming: [`resume`] rebuilds the connection in the new image from its
//! `ConnState`: the same id, options, profile and session; `Upgrade
//! complete.`, compression started again, and the step's prompt. A login is
//! resumed at `Account:` or at `Password:` for the same name (never logged
//! in without a password); a sign-up goes back to `Account:` and says so; a
//! menu at the menu; a player in the game where it stood, telling nobody.
//! What cannot be kept (an editor's draft, a password being changed) is told
//! plainly as lost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::conn::{Conn, Offers, ReadLimits, TelnetState};
use super::login::{self, LoggedIn};
use super::{Link, Phase, play, render, socket};
use crate::auth::Role;
use crate::game::handoff::{Departed, Frozen, Verdict};
use crate::game::{ConnId, Game, Outbox, Peer, Session, SessionInit, Transport};

/// What every player sees when an upgrade begins (SPEC §15).
pub const UPGRADING: &str = "The server is being upgraded; please wait.";
/// What every player sees when it is over (SPEC §15), before the prompt.
pub const UPGRADE_COMPLETE: &str = "Upgrade complete.";
/// What players see when an upgrade failed and the server carries on.
pub const UPGRADE_CALLED_OFF: &str = "The upgrade did not happen; carry on.";
/// What a connection the new image cannot keep is told before it closes.
pub const RECONNECT: &str = "This connection cannot be kept across the upgrade; please reconnect.";
/// What a player in the editor is told after the upgrade.
pub const DRAFT_LOST: &str = "The upgrade interrupted your writing; what you wrote was lost.";
/// What a player changing a password is told after the upgrade.
pub const PROMPT_LOST: &str = "The upgrade interrupted that; please start it again.";
/// What a player in the middle of signing up is told after the upgrade.
pub const SIGN_UP_AGAIN: &str =
    "The upgrade interrupted your sign-up; type \"new\" to start it again.";

/// The step a connection stood at when it froze.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// At `Account:` (and how many wrong logins it has had).
    #[default]
    Account,
    /// At `Password:` for this account name.
    Password { name: String },
    /// Somewhere in `new` (a name, a password): back to `Account:`.
    SignUp,
    /// At the character menu (or one of its questions).
    Menu,
    /// In the game, at the command prompt or in something a command asked
    /// for (`lost` says what the player is told was lost).
    Playing {
        character_id: i64,
        name: String,
        world: String,
        room: String,
        lost: Option<String>,
    },
}

/// A logged-in session as the new image rebuilds it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SessionState {
    session_id: String,
    user_id: i64,
    account: String,
    role: String,
    is_guest: bool,
    /// Seconds since the connection logged in, and since its last line.
    #[serde(default)]
    connected_secs: f64,
    #[serde(default)]
    idle_secs: f64,
}

/// Everything the new image needs to take one connection over.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ConnState {
    pub id: ConnId,
    pub addr: SocketAddr,
    telnet: TelnetState,
    session: Option<SessionState>,
    step: Step,
    /// Wrong logins on this connection so far.
    failures: u32,
}

impl Link {
    /// Answers an upgrade's freeze: see the module's note. Returns only when
    /// the upgrade was called off; a committed one never returns here.
    pub(super) async fn stand_still(&mut self) {
        self.line(UPGRADING);
        let compressed = self.conn.compressing();
        self.conn.end_compression();
        self.conn.outbox().drained().await;
        let carried = self.game.handoffs().carried_of(self.conn.id());
        let state = match serde_json::to_value(self.conn_state()) {
            Ok(state) => state,
            Err(err) => {
                tracing::warn!(%err, "could not describe the connection for the upgrade");
                serde_json::Value::Null
            }
        };
        let report = Frozen {
            conn_id: self.conn.id(),
            carried: carried.filter(|_| !state.is_null()),
            state,
            playing: self.playing.as_ref().map(|player| Departed {
                world: player.world.to_string(),
                room: player.room().as_str().to_string(),
                name: player.name.to_string(),
            }),
        };
        let kept = report.carried.is_some();
        let shutdown = self.game.shutdown_token().clone();
        let verdict = tokio::select! {
            verdict = self.game.handoffs().frozen(report) => verdict,
            // A shutdown during the upgrade: the next wait says goodbye.
            _ = shutdown.cancelled() => return,
        };
        match verdict {
            Verdict::Committed if kept => {
                // The process image is replaced while this waits; it only
                // wakes if starting the new one failed.
                tokio::select! {
                    _ = self.game.handoffs().called_off() => {}
                    _ = shutdown.cancelled() => return,
                }
                if compressed {
                    self.conn.restart_compression();
                }
                self.line(UPGRADE_CALLED_OFF);
                self.conn.show_prompt_again();
            }
            Verdict::Committed => {
                self.last_words(RECONNECT);
                self.conn.outbox().close();
                self.conn.outbox().drained().await;
                // Its session ends with this image, so this is its last line.
                let phase = match (&self.playing, &self.session) {
                    (Some(_), _) => "playing",
                    (None, Some(_)) => "menu",
                    (None, None) => "login",
                };
                tracing::info!(
                    phase = %phase,
                    "disconnected: the upgrade could not keep the connection"
                );
                self.game.handoffs().closed_one();
                // Nothing more for this image to do with it: it ends with
                // the image, or, if the new one never started, here (its
                // writer is gone, so the next wait ends the session).
                tokio::select! {
                    _ = self.game.handoffs().called_off() => {}
                    _ = shutdown.cancelled() => {}
                }
            }
            Verdict::Aborted(_) | Verdict::Pending => {
                if compressed {
                    self.conn.restart_compression();
                }
                self.line(UPGRADE_CALLED_OFF);
                self.conn.show_prompt_again();
            }
        }
    }

    /// The connection as the new image will rebuild it.
    fn conn_state(&mut self) -> ConnState {
        let session = self.session.as_ref().map(|session| SessionState {
            session_id: session.session_id.clone(),
            user_id: session.user_id,
            account: session.account.clone(),
            role: session.role().as_str().to_string(),
            is_guest: self.logged_in.as_ref().is_some_and(|a| a.is_guest),
            connected_secs: session.connected_at.elapsed().as_secs_f64(),
            idle_secs: session.idle().as_secs_f64(),
        });
        let step = match (&self.playing, &self.step) {
            (Some(player), _) => Step::Playing {
                character_id: player.character_id,
                name: player.name.to_string(),
                world: player.world.to_string(),
                room: player.room().as_str().to_string(),
                lost: self.aside.map(str::to_string),
            },
            (None, step) => step.clone(),
        };
        ConnState {
            id: self.conn.id(),
            addr: self.conn.peer().addr,
            telnet: self.conn.snapshot(),
            session,
            step,
            failures: self.failures,
        }
    }
}

/// The session rows of handed-over connections (the new image's start keeps
/// them when it clears stale rows).
pub fn session_ids<'a>(states: impl Iterator<Item = &'a serde_json::Value>) -> Vec<String> {
    states
        .filter_map(|state| state.get("session")?.get("session_id")?.as_str())
        .map(str::to_string)
        .collect()
}

/// Takes over one connection from an upgrade's old image and serves it to
/// its end, like [`super::serve`] from the step it stood at.
pub async fn resume<S>(
    game: Arc<Game>,
    stream: S,
    carrier: crate::game::handoff::Carrier,
    state: ConnState,
    fell_back: bool,
    tracker: TaskTracker,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let transport = match carrier {
        crate::game::handoff::Carrier::Tcp(_) => Transport::Plain,
        crate::game::handoff::Carrier::WebSocket { .. } => Transport::WebSocket,
    };
    let peer = Peer {
        addr: state.addr,
        transport,
    };
    let span = tracing::info_span!(
        "conn",
        id = state.id,
        addr = %peer.addr,
        transport = %peer.transport.as_str(),
        account = tracing::field::Empty
    );
    async move {
        let mut link = reconnect(&game, stream, peer, &state, tracker);
        game.handoffs()
            .register(state.id, link.conn.control_sender(), Some(carrier));
        tracing::info!("taken over from the upgrade");
        let client = crate::game::abuse::address_key(peer.addr.ip());
        let said = if fell_back {
            UPGRADE_CALLED_OFF
        } else {
            UPGRADE_COMPLETE
        };
        let (phase, hangup) = super::for_client(client, run_from(&mut link, state, said)).await;
        link.finish(phase, hangup).await;
        tracing::info!(phase = %phase.as_str(), "disconnected: {}", hangup.as_str());
    }
    .instrument(span)
    .await
}

/// The connection rebuilt from its state, with its writer task started.
fn reconnect<S>(
    game: &Arc<Game>,
    stream: S,
    peer: Peer,
    state: &ConnState,
    tracker: TaskTracker,
) -> Link
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (read, write) = tokio::io::split(stream);
    let dead = tokio_util::sync::CancellationToken::new();
    let (outbox, queue) = Outbox::new(game.config().outbound_queue, dead.clone());
    let outbox = outbox.counted(game.metrics().clone());
    let limits = ReadLimits {
        per_second: game.config().commands_per_second,
        burst: game.config().command_burst,
    };
    let offers = Offers {
        mccp: game.config().mccp,
    };
    let conn = Conn::new(
        state.id,
        peer,
        Box::new(read),
        outbox,
        game.shutdown_token().clone(),
        limits,
        offers,
    )
    .taken_over(state.telnet.clone(), offers);
    let renderer = render::Renderer::new(conn.profile().clone(), conn.protocol().clone());
    tracker.spawn(socket::write_loop(write, queue, dead, renderer).in_current_span());
    Link::new(game.clone(), conn, tracker)
}

/// The session again from the step it stood at.
async fn run_from(link: &mut Link, state: ConnState, said: &'static str) -> (Phase, Hangup) {
    link.failures = state.failures;
    // The old image left the client at a prompt (shown again after the
    // upgrade's first sentence): this one starts on a line of its own.
    link.line("");
    link.line(said);
    link.conn.restart_compression();
    link.conn.outbox().drained().await;
    link.game.handoffs().told_one();
    if !matches!(state.step, Step::Playing { .. }) || state.session.is_none() {
        // A player is back once among the listeners again (`play::resume`).
        link.game.handoffs().back_one();
    }
    let account = state.session.as_ref().map(|s| rebuild_session(link, s));
    let deadline = Instant::now() + link.game.config().login_timeout;
    let world = link.game.default_world();
    let begin = match (&state.step, account) {
        (Step::Playing { .. } | Step::Menu, Some(account)) => {
            return resume_logged_in(link, account, state.step, world).await;
        }
        (Step::Password { name }, None) => login::Begin::Password(name.clone()),
        (Step::SignUp, None) => {
            link.conn.show_typing();
            link.line(SIGN_UP_AGAIN);
            login::Begin::Account
        }
        _ => {
            link.conn.show_typing();
            login::Begin::Account
        }
    };
    match Box::pin(login::login_from(link, deadline, begin)).await {
        Ok(account) => super::after_login(link, account, world).await,
        Err(hangup) => (Phase::Login, hangup),
    }
}

/// A logged-in connection resumed at the menu or in the game.
async fn resume_logged_in(
    link: &mut Link,
    account: LoggedIn,
    step: Step,
    world: Arc<crate::world::World>,
) -> (Phase, Hangup) {
    link.conn.show_typing();
    if let Step::Playing {
        character_id,
        name,
        world: world_id,
        room,
        lost,
    } = step
    {
        if let Some(lost) = lost {
            link.line(lost);
        }
        let resumed = play::Resumed {
            character_id,
            name,
            world: world_id,
            room,
        };
        if let Err(hangup) = play::resume(link, &account, resumed).await {
            return (Phase::Playing, hangup);
        }
    }
    super::after_login(link, account, world).await
}

/// The registry entry of a session the old image had open (its row is
/// still there), and the account as the menu and the game need it.
fn rebuild_session(link: &mut Link, state: &SessionState) -> LoggedIn {
    let role = state.role.parse().unwrap_or(Role::Player);
    let seconds = |s: f64| std::time::Duration::try_from_secs_f64(s).unwrap_or_default();
    let session = Session::resumed(
        SessionInit {
            conn_id: link.conn.id(),
            session_id: state.session_id.clone(),
            user_id: state.user_id,
            account: state.account.clone(),
            role,
            peer: link.conn.peer(),
            client: link.conn.profile().clone(),
            outbox: link.conn.outbox().clone(),
            control: link.conn.control_sender(),
        },
        seconds(state.connected_secs),
        seconds(state.idle_secs),
    );
    link.game.resume_session(&session);
    link.session = Some(session);
    tracing::Span::current().record("account", tracing::field::display(&state.account));
    let account = LoggedIn {
        user_id: state.user_id,
        username: state.account.clone(),
        role,
        is_guest: state.is_guest,
        play_at_once: None,
        // Told at the login, before the upgrade.
        failed_since_last_visit: 0,
    };
    link.logged_in = Some(account.clone());
    account
}

use super::conn::Hangup;
