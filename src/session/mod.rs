//! One connection's life: greeting, login, character menu, play, and the end.
//!
//! [`serve`] is what every transport's accept loop spawns per connection. It
//! takes any byte stream (`AsyncRead + AsyncWrite`: plain TCP, TLS, a WebSocket
//! adapter) and a [`Peer`], starts the writer task, drives the state machine
//! (Login ▶ CharacterMenu ▶ Playing) through a [`Link`], and on the way out says
//! the right last words for how the connection ended and removes its session
//! row. However the task ends — a panic in a handler, or its future dropped
//! unfinished — the [`Link`]'s drop guard still ends the session's records.
//!
//! **Invariant:** the session never writes SQL or telnet bytes directly, and
//! holds neither the store nor the registry: it asks the game's actions
//! (`Game::open_session` and `close_session` for a logged-in session's
//! registry entry and row, `check_login`, `sign_up`, the menu's characters),
//! queues to the batching writer, and writes through [`conn::Conn`], whose
//! telnet bytes the telnet module encodes. The session layer — not `Conn` —
//! opens and closes the session's records.

pub mod conn;
pub mod editor;
pub mod guard;
pub mod handover;
pub mod login;
pub mod menu;
pub mod mssp;
pub mod play;
pub mod render;
pub mod socket;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use conn::{Conn, Hangup, Input, Offers, ReadLimits};
use login::LoggedIn;

use crate::game::{ConnId, Data, Game, Outbox, Peer, Session};
use crate::metrics::LoginOutcome;
use crate::replies;
use crate::store::hashing::for_client;
use crate::store::sessions::OpenRefused;
use crate::store::writer::{SessionClient, SessionTouch};

/// Where in its life a connection was when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Login,
    Menu,
    Playing,
}

impl Phase {
    /// The phase as the log says it.
    fn as_str(self) -> &'static str {
        match self {
            Phase::Login => "login",
            Phase::Menu => "menu",
            Phase::Playing => "playing",
        }
    }
}

/// Serves one accepted connection, whatever carries its bytes, until it ends.
pub async fn serve<S>(game: Arc<Game>, stream: S, peer: Peer, tracker: TaskTracker)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    serve_inheritable(game, stream, peer, tracker, None).await
}

/// [`serve`] for a connection whose socket an upgrade's new image can
/// inherit (`carrier`: what carries its bytes); `None` for one it cannot.
pub async fn serve_inheritable<S>(
    game: Arc<Game>,
    stream: S,
    peer: Peer,
    tracker: TaskTracker,
    carrier: Option<crate::game::handoff::Carrier>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let id = game.next_conn_id();
    let span = tracing::info_span!(
        "conn",
        id,
        addr = %peer.addr,
        transport = %peer.transport.as_str(),
        account = tracing::field::Empty
    );
    async move {
        let mut link = connect(game, stream, id, peer, tracker);
        link.game
            .handoffs()
            .register(id, link.conn.control_sender(), carrier);
        tracing::info!("connected");
        // Password hashing this connection asks for queues under its address.
        let client = crate::game::abuse::address_key(peer.addr.ip());
        let (phase, hangup) = for_client(client, run(&mut link)).await;
        link.finish(phase, hangup).await;
        tracing::info!(phase = %phase.as_str(), "disconnected: {}", hangup.as_str());
    }
    .instrument(span)
    .await
}

/// Splits the stream, starts the writer task and makes the session's [`Link`].
/// Not async, so none of what is built here takes room in the connection's
/// future beside the `Link` it ends in.
fn connect<S>(game: Arc<Game>, stream: S, id: ConnId, peer: Peer, tracker: TaskTracker) -> Link
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (read, write) = tokio::io::split(stream);
    let dead = CancellationToken::new();
    let (outbox, queue) = Outbox::new(game.config().outbound_queue, dead.clone());
    let outbox = outbox.counted(game.metrics().clone());
    let limits = ReadLimits {
        per_second: game.config().commands_per_second,
        burst: game.config().command_burst,
    };
    let offers = Offers {
        mccp: game.config().mccp,
    };
    let shutdown = game.shutdown_token().clone();
    let conn = Conn::new(id, peer, Box::new(read), outbox, shutdown, limits, offers);
    let renderer = render::Renderer::new(conn.profile().clone(), conn.protocol().clone());
    tracker.spawn(socket::write_loop(write, queue, dead, renderer).in_current_span());
    Link::new(game, conn, tracker)
}

/// The state machine; returns where and why it ended.
async fn run(link: &mut Link) -> (Phase, Hangup) {
    link.conn.offer_options();
    let world = link.game.default_world();
    // The greeting waits (briefly) for the client's window size, so that it is
    // wrapped once at the right width; a client that never tells gets whole
    // paragraphs to wrap itself rather than lines broken at a guess.
    if let Err(hangup) = link
        .conn
        .await_window(link.game.config().greeting_wait)
        .await
    {
        return (Phase::Login, hangup);
    }
    link.paragraphs(format!("{}\n", world.greeting));
    let deadline = Instant::now() + link.game.config().login_timeout;
    // Boxed here and below: the login's and the menu's futures (a bcrypt
    // check through the store is deep) would otherwise take their room in
    // every connection's task for its whole life, an idle player's included.
    let account = match Box::pin(login::login(link, deadline)).await {
        Ok(account) => account,
        Err(hangup) => return (Phase::Login, hangup),
    };
    after_login(link, account, world).await
}

/// The menu and the game, from a login on (or from a menu or a game an
/// upgrade's old image left).
async fn after_login(
    link: &mut Link,
    mut account: LoggedIn,
    mut world: Arc<crate::world::World>,
) -> (Phase, Hangup) {
    link.logged_in = Some(account.clone());
    // A new guest goes straight into the game with the character it named.
    let mut at_once = account.play_at_once.take().map(|character| menu::Chosen {
        character,
        world: world.clone(),
    });
    loop {
        let chosen = match at_once.take() {
            Some(chosen) => chosen,
            None => match Box::pin(menu_step(link, &account, &mut world)).await {
                Ok(chosen) => chosen,
                Err(hangup) => return (Phase::Menu, hangup),
            },
        };
        if let Err(hangup) = play::play(link, &account, chosen).await {
            return (Phase::Playing, hangup);
        }
    }
}

/// The character menu, marked as the step an upgrade resumes at.
async fn menu_step(
    link: &mut Link,
    account: &LoggedIn,
    world: &mut Arc<crate::world::World>,
) -> Result<menu::Chosen, Hangup> {
    link.step = handover::Step::Menu;
    menu::character_menu(link, account, world).await
}

/// How often activity renews a session row (sliding expiry) at most.
const RENEWAL_INTERVAL: Duration = Duration::from_secs(30);

/// The session's hold on its connection: the lines in and out ([`Conn`]), and
/// once logged in, the registry [`Session`] and its row, kept current (the
/// client's name, sliding expiry). Dropped with a session still open — the
/// task panicked, or its future was dropped before [`Link::finish`] — it ends
/// the session's records all the same (see its `Drop`).
pub struct Link {
    game: Arc<Game>,
    conn: Conn,
    session: Option<Arc<Session>>,
    /// When the session row's expiry was last pushed forward.
    last_renewal: Instant,
    /// Where the connection's tasks are tracked for shutdown; an end left to
    /// the drop guard runs there too.
    tracker: TaskTracker,
    /// The step an upgrade would resume at (set by login and the menu).
    step: handover::Step,
    /// The account logged in, once there is one.
    logged_in: Option<LoggedIn>,
    /// The character being played, if any (set by `play`).
    playing: Option<Arc<crate::game::Player>>,
    /// What an upgrade now would lose, said after it (an editor's draft).
    aside: Option<&'static str>,
    /// Wrong logins on this connection so far.
    failures: u32,
}

impl Link {
    fn new(game: Arc<Game>, conn: Conn, tracker: TaskTracker) -> Link {
        Link {
            game,
            conn,
            session: None,
            last_renewal: Instant::now(),
            tracker,
            step: handover::Step::default(),
            logged_in: None,
            playing: None,
            aside: None,
            failures: 0,
        }
    }

    /// Marks the step an upgrade now would resume at.
    pub fn at_step(&mut self, step: handover::Step) {
        self.step = step;
    }

    /// Marks what an upgrade now would lose (`None`: nothing).
    pub fn set_aside(&mut self, lost: Option<&'static str>) {
        self.aside = lost;
    }

    pub fn game(&self) -> &Arc<Game> {
        &self.game
    }

    /// Who is at the other end.
    pub fn peer(&self) -> Peer {
        self.conn.peer()
    }

    /// The logged-in session, once there is one.
    pub fn session(&self) -> Option<&Arc<Session>> {
        self.session.as_ref()
    }

    /// Sends a line of text.
    pub fn line(&self, text: impl Into<Arc<str>>) {
        self.conn.line(text);
    }

    /// Sends paragraphs the client may wrap itself (wrapped only at a width
    /// it reported).
    pub fn paragraphs(&self, text: impl Into<Arc<str>>) {
        self.conn.outbox().paragraphs(text);
    }

    /// Charges one more command to the command rate (a command an alias
    /// runs beyond the first); whether it may run (see [`Conn::admit_command`]).
    pub fn admit_command(&mut self) -> bool {
        self.conn.admit_command()
    }

    /// Shows a prompt.
    pub fn prompt(&mut self, text: &str) {
        self.conn.prompt(text);
    }

    /// Queues the connection's last words.
    pub fn last_words(&self, text: &str) {
        self.conn.last_words(text);
    }

    /// Waits for the next line the player types, until `deadline`. Control
    /// orders end the wait (see [`Conn::next`]); news of the client is recorded.
    pub async fn next_line(&mut self, deadline: Instant) -> Result<String, Hangup> {
        self.next_line_charged(deadline, true).await
    }

    /// Waits for the next line of text being written in an editor: like
    /// [`Link::next_line`], but not charged to the command rate.
    pub async fn next_text_line(&mut self, deadline: Instant) -> Result<String, Hangup> {
        self.next_line_charged(deadline, false).await
    }

    async fn next_line_charged(
        &mut self,
        deadline: Instant,
        charged: bool,
    ) -> Result<String, Hangup> {
        loop {
            let input = if charged {
                self.conn.next(deadline).await
            } else {
                self.conn.next_text(deadline).await
            };
            let input = match input {
                Err(Hangup::Frozen) => {
                    // Rare (an upgrade's freeze): boxed, out of every
                    // waiting connection's task.
                    Box::pin(self.stand_still()).await;
                    continue;
                }
                other => other?,
            };
            match input {
                Input::Line(line) => {
                    self.game.metrics().line_in();
                    self.note_activity();
                    return Ok(line);
                }
                Input::ClientNamed(name) => self.note_client(name),
                Input::MsspWanted => {
                    let table = mssp::table(&self.game);
                    self.conn.send_mssp(&table);
                }
            }
        }
    }

    /// The MSSP table as plain text (the `MSSP-REQUEST` line's answer).
    pub fn mssp_reply(&self) {
        self.line(mssp::plain_text(&mssp::table(&self.game)));
    }

    /// What the client is and can show.
    pub fn client(&self) -> &Arc<crate::game::ClientProfile> {
        self.conn.profile()
    }

    /// Shows a prompt and waits for the answer line.
    pub async fn ask(&mut self, prompt: &str, deadline: Instant) -> Result<String, Hangup> {
        self.conn.prompt(prompt);
        self.next_line(deadline).await
    }

    /// Asks for a password: the client is asked to stop echoing (IAC WILL ECHO)
    /// before the prompt and to resume (IAC WONT ECHO) after the answer.
    pub async fn ask_secret(&mut self, prompt: &str, deadline: Instant) -> Result<String, Hangup> {
        self.conn.hide_typing();
        let answer = self.ask(prompt, deadline).await;
        self.conn.show_typing();
        // The client did not echo the newline either, so end the prompt's line.
        if answer.is_ok() {
            self.conn.line("");
        }
        answer
    }

    /// Records a change of the client's name (already on the profile) on the
    /// session row. `Conn` reports only changes, so a client repeating its
    /// `Core.Hello` costs no write; the write is queued to the batching writer,
    /// best effort and without waiting: the name is a courtesy for /sessions.
    fn note_client(&mut self, name: String) {
        let Some(session) = &self.session else {
            // Not logged in yet: the row, when it is written, takes the name
            // from the profile.
            return;
        };
        let queued = self.game.writer().try_set_client(SessionClient {
            session_id: session.session_id.clone(),
            client: name,
        });
        if !queued {
            tracing::debug!("the writer is full; the client's name is not recorded");
        }
    }

    /// Marks the session active, and now and then slides its row's expiry.
    fn note_activity(&mut self) {
        let Some(session) = &self.session else {
            return;
        };
        session.touch();
        // Renew often enough that a short TTL still slides.
        let ttl = self.game.config().session_ttl;
        if self.last_renewal.elapsed() >= RENEWAL_INTERVAL.min(ttl / 4) {
            self.last_renewal = Instant::now();
            // Renewal is best effort: a full writer queue only delays the slide.
            self.game
                .writer()
                .try_touch_session(SessionTouch::now(&session.session_id, ttl));
        }
    }

    /// Opens the logged-in session (`Game::open_session`, the login's last
    /// decision: registered, then its row written, refusing an account banned,
    /// deleted or expired a moment ago). Returns the sentence of a refusal.
    async fn open_session(&mut self, account: &LoggedIn) -> Result<(), String> {
        let game = self.game.clone();
        let session = Session::new(crate::game::SessionInit {
            conn_id: self.conn.id(),
            session_id: uuid::Uuid::new_v4().to_string(),
            user_id: account.user_id,
            account: account.username.clone(),
            role: account.role,
            peer: self.conn.peer(),
            client: self.conn.profile().clone(),
            outbox: self.conn.outbox().clone(),
            control: self.conn.control_sender(),
        });
        // From here on the drop guard covers the entry, and the row once
        // written, should the task end before the login does.
        self.session = Some(session.clone());
        if let Err(refused) = game.open_session(&session, LOGGED_IN_ELSEWHERE).await {
            game.metrics().login(LoginOutcome::Refused);
            self.session = None;
            return Err(open_refused(&refused));
        }
        tracing::Span::current().record("account", tracing::field::display(&account.username));
        tracing::info!("logged in");
        game.metrics().login(LoginOutcome::Ok);
        self.load_colour_preference(account.user_id).await;
        Ok(())
    }

    /// The account's `color on|off`, onto the client's profile.
    async fn load_colour_preference(&mut self, user_id: i64) {
        match self.game.colour_wanted(user_id).await {
            Ok(wanted) => self.conn.profile().set_colour_wanted(wanted),
            Err(err) => tracing::debug!(%err, "could not read the colour preference"),
        }
    }

    /// Says the last words for how the connection ended, removes the session
    /// row and the registry entry, then lets the writer close the connection.
    async fn finish(&mut self, phase: Phase, hangup: Hangup) {
        if let Some(text) = last_words(phase, hangup) {
            self.last_words(text);
        }
        if !matches!(hangup, Hangup::Closed | Hangup::Dead) {
            let reason = last_words(phase, hangup).unwrap_or(replies::GOODBYE);
            let goodbye = Arc::new(Data::Goodbye(Arc::from(reason)));
            if self.conn.profile().structured() {
                self.conn.outbox().send(crate::game::Message::Data(goodbye));
            }
        }
        // Taken only once ended: a task dropped while this waits leaves the
        // rest to the drop guard (ending twice is harmless).
        if let Some(session) = self.session.clone() {
            self.game.close_session(&session).await;
            self.session = None;
        }
        self.game.handoffs().unregister(self.conn.id());
        self.conn.outbox().close();
    }
}

/// What the account's other connections are told when it logs in again on a
/// server that allows one session an account.
const LOGGED_IN_ELSEWHERE: &str = "Your account has logged in from another connection.";

/// Why the login's last decision refused the account, in the player's words.
fn open_refused(refused: &OpenRefused) -> String {
    match refused {
        OpenRefused::Banned { reason } => replies::banned(reason.as_deref()),
        OpenRefused::Deleted => replies::WRONG_LOGIN.to_string(),
        OpenRefused::GuestExpired => replies::GUEST_EXPIRED.to_string(),
        OpenRefused::Store(err) => replies::store_error(err).to_string(),
    }
}

/// The drop guard: a `Link` dropped with its session still open ended without
/// [`Link::finish`] — a panic in the session task, or its future dropped
/// unfinished. The session's records are ended on the connection's tracker
/// (a drop cannot wait), then the connection is closed. The character's room
/// has already been told by `play`'s own guard, dropped before this one.
impl Drop for Link {
    fn drop(&mut self) {
        self.game.handoffs().unregister(self.conn.id());
        let Some(session) = self.session.take() else {
            return;
        };
        tracing::error!("the session task ended abruptly; ending its session");
        let game = self.game.clone();
        let outbox = self.conn.outbox().clone();
        let end = async move {
            game.close_session(&session).await;
            outbox.close();
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                self.tracker.spawn_on(end.in_current_span(), &runtime);
            }
            // No runtime is left to run the store call (the process is
            // ending); the start-up removes stale rows.
            Err(_) => tracing::warn!("no runtime left; the session row stays until the next start"),
        }
    }
}

/// The last words for each way a connection can end (the ones not already said).
fn last_words(phase: Phase, hangup: Hangup) -> Option<&'static str> {
    match (hangup, phase) {
        (Hangup::Shutdown, _) => Some(replies::SHUTTING_DOWN),
        (Hangup::Timeout, Phase::Login) => Some("Login timed out."),
        (Hangup::Timeout, _) => {
            Some("You have been idle too long; your character is saved. Goodbye.")
        }
        // These have already said what there was to say.
        (
            Hangup::Quit
            | Hangup::WrongPasswords
            | Hangup::TakenOver
            | Hangup::Overflow
            | Hangup::Removed(_)
            | Hangup::Flooded
            | Hangup::Frozen,
            _,
        ) => None,
        (Hangup::Closed | Hangup::Dead, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Removal;

    #[test]
    fn last_words_in_a_table() {
        let cases = [
            (Phase::Login, Hangup::Shutdown, Some(replies::SHUTTING_DOWN)),
            (
                Phase::Playing,
                Hangup::Shutdown,
                Some(replies::SHUTTING_DOWN),
            ),
            (Phase::Login, Hangup::Timeout, Some("Login timed out.")),
            (
                Phase::Menu,
                Hangup::Timeout,
                Some("You have been idle too long; your character is saved. Goodbye."),
            ),
            (Phase::Playing, Hangup::Removed(Removal::Kicked), None),
            (Phase::Login, Hangup::WrongPasswords, None),
            (Phase::Playing, Hangup::TakenOver, None),
            (Phase::Menu, Hangup::Quit, None),
            (Phase::Login, Hangup::Closed, None),
        ];
        for (phase, hangup, want) in cases {
            assert_eq!(last_words(phase, hangup), want, "{phase:?} {hangup:?}");
        }
    }
}
