//! One connection's life: greeting, login, character menu, play, and the end.
//!
//! [`serve`] is what the accept loop spawns per connection. It starts the socket
//! writer task, drives the state machine (Login ▶ CharacterMenu ▶ Playing), and on
//! the way out says the right last words for how the connection ended and removes
//! its session row.
//!
//! **Invariant:** the session never touches SQL or telnet bytes directly; it goes
//! through the store's functions and [`conn::Conn`].

pub mod conn;
pub mod login;
pub mod menu;
pub mod play;
pub mod socket;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use conn::{Conn, Hangup};
use login::LoggedIn;

use crate::game::{Game, Outbox, Session};
use crate::store::sessions::{self, NewSession};

/// Where in its life a connection was when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Login,
    Menu,
    Playing,
}

/// Serves one accepted connection until it ends.
pub async fn serve(game: Arc<Game>, stream: TcpStream, peer: SocketAddr, tracker: TaskTracker) {
    let id = game.next_conn_id();
    let span = tracing::info_span!("conn", id, %peer, account = tracing::field::Empty);
    async move {
        let (read, write) = stream.into_split();
        let dead = CancellationToken::new();
        let (outbox, queue) = Outbox::new(game.config.outbound_queue, dead.clone());
        tracker.spawn(socket::write_loop(write, queue, dead).in_current_span());
        let mut conn = Conn::new(game.clone(), id, peer, read, outbox);
        tracing::info!("connected");
        let (phase, hangup) = run(&mut conn).await;
        say_goodbye(&conn, phase, hangup);
        if let Some(session) = conn.session.take() {
            end_session(&game, &session).await;
        }
        conn.outbox.close();
        tracing::info!(?phase, ?hangup, "disconnected");
    }
    .instrument(span)
    .await
}

/// Takes a logged-in connection out of the registry and its row out of the table.
async fn end_session(game: &Game, session: &Session) {
    game.registry.log_out(session.conn_id);
    let session_id = session.session_id.clone();
    if let Err(err) = game
        .store
        .call(move |db| sessions::remove_session(db, &session_id))
        .await
    {
        tracing::warn!(%err, "could not remove the session row");
    }
}

/// The state machine; returns where and why it ended.
async fn run(conn: &mut Conn) -> (Phase, Hangup) {
    conn.offer_options();
    let world = conn.game.default_world();
    conn.line(format!("{}\n", world.greeting));
    let deadline = Instant::now() + conn.game.config.login_timeout;
    let account = match login::login(conn, deadline).await {
        Ok(account) => account,
        Err(hangup) => return (Phase::Login, hangup),
    };
    tracing::Span::current().record("account", account.username.as_str());
    tracing::info!("logged in");
    let Some(session) = open_session(conn, &account).await else {
        return (Phase::Login, Hangup::Closed);
    };
    let mut world = world;
    loop {
        let chosen = match menu::character_menu(conn, &account, &mut world).await {
            Ok(chosen) => chosen,
            Err(hangup) => return (Phase::Menu, hangup),
        };
        if let Err(hangup) = play::play(conn, &account, &session, chosen).await {
            return (Phase::Playing, hangup);
        }
    }
}

/// Writes the session row for a logged-in connection and registers it; with
/// `--allow-multiple-sessions=false`, the account's other connections are closed.
async fn open_session(conn: &mut Conn, account: &LoggedIn) -> Option<Arc<Session>> {
    let row = NewSession {
        session_id: uuid::Uuid::new_v4().to_string(),
        user_id: account.user_id,
        peer_address: conn.peer.to_string(),
        client_type: conn.client.clone().unwrap_or_else(|| "unknown".into()),
        ttl: chrono::Duration::from_std(conn.game.config.session_ttl)
            .unwrap_or(chrono::Duration::hours(24)),
    };
    let id = row.session_id.clone();
    if let Err(err) = conn
        .game
        .store
        .call(move |db| sessions::create_session(db, &row))
        .await
    {
        tracing::error!(%err, "could not record the session");
        conn.last_words(crate::command::RECORDS_BUSY);
        return None;
    }
    if !conn.game.config.allow_multiple_sessions {
        for other in conn.game.registry.sessions_of(account.user_id) {
            other.kick("Your account has logged in from another connection.");
        }
    }
    let session = Session::new(
        conn.id,
        id,
        account.user_id,
        account.username.clone(),
        account.role,
        conn.peer,
        conn.outbox.clone(),
        conn.control_tx.clone(),
    );
    if let Some(client) = &conn.client {
        session.set_client(client);
    }
    conn.game.registry.log_in(session.clone());
    conn.session = Some(session.clone());
    Some(session)
}

/// The last words for each way a connection can end (the ones not already said).
fn say_goodbye(conn: &Conn, phase: Phase, hangup: Hangup) {
    let text = match (hangup, phase) {
        (Hangup::Shutdown, _) => Some("The server is shutting down."),
        (Hangup::Timeout, Phase::Login) => Some("Login timed out."),
        (Hangup::Timeout, _) => {
            Some("You have been idle too long; your character is saved. Goodbye.")
        }
        // These have already said what there was to say.
        (Hangup::Quit | Hangup::TakenOver | Hangup::Overflow | Hangup::Kicked, _) => None,
        (Hangup::Closed | Hangup::Dead, _) => None,
    };
    if let Some(text) = text {
        conn.last_words(text);
    }
}
