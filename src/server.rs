//! Starting, running and stopping the server.
//!
//! [`Server::start`] opens the database, loads and registers the worlds, starts the
//! batching writer and binds the listener; [`Server::run`] accepts connections
//! until the shutdown future resolves (or an admin's `/shutdown` cancels the game's
//! token) and then stops in order: stop accepting, tell every connection, wait for
//! their tasks, drain the writer, remove the session rows.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
use crate::game::{Game, Peer, Transport};
use crate::store::writer::{Writer, WriterThread};
use crate::store::{Store, StoreError, StoreOptions};
use crate::world::{self, World, WorldError, Worlds};

/// Why the server could not start; the binary turns each into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{}", format_world_errors(.0))]
    Worlds(Vec<WorldError>),
    #[error("default world {0:?} is not among the loaded worlds ({1})")]
    NoDefaultWorld(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot create the superuser from MUD_ADMIN_USER: {0}")]
    Bootstrap(#[from] crate::ops::OpsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

fn format_world_errors(errors: &[WorldError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("invalid worlds:\n{}", lines.join("\n"))
}

/// How long connections get to say goodbye during shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A started server, not yet accepting.
pub struct Server {
    listener: TcpListener,
    game: Arc<Game>,
    writer_thread: WriterThread,
}

/// Registers every loaded world in the database (the catalogue, and the first
/// placement of its items), logging each.
pub async fn register_worlds(store: &Store, worlds: &Worlds) -> Result<(), StoreError> {
    let placed = store
        .worlds()
        .register_all(worlds.iter().cloned().collect(), None)
        .await
        .map_err(|refused| match refused {
            crate::store::accounts::ChangeRefused::Store(err) => err,
            other => StoreError::Task(other.to_string()),
        })?;
    for (id, placed) in placed {
        let rooms = worlds.get(&id).map_or(0, |w| w.room_count());
        tracing::info!(world = %id, rooms, placed, "world ready");
    }
    Ok(())
}

/// Loads the worlds and picks the default one.
pub fn load_worlds(config: &ServerConfig) -> Result<(Worlds, Arc<World>), StartError> {
    let worlds = world::load_worlds(&config.worlds_dir).map_err(StartError::Worlds)?;
    let default = worlds.default_world(config.default_world.as_deref());
    let default = default.ok_or_else(|| {
        StartError::NoDefaultWorld(
            config.default_world.clone().unwrap_or_default(),
            worlds.ids().join(", "),
        )
    })?;
    Ok((worlds, default))
}

impl Server {
    /// Prepares everything and binds the listener.
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        let (worlds, default) = load_worlds(&config)?;
        let options = StoreOptions {
            bcrypt_cost: config.bcrypt_cost,
            ..StoreOptions::default()
        };
        let path = config.db_path.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&path, options))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        let stale = store.sessions().remove_all().await?;
        if stale > 0 {
            tracing::info!(stale, "removed session rows left by an earlier run");
        }
        register_worlds(&store, &worlds).await?;
        // Worlds first: the superuser's first character refers to one.
        crate::ops::bootstrap_superuser(&store, &default, config.bootstrap_admin.as_ref()).await?;
        let (writer, writer_thread) = Writer::start(&config.db_path, config.writer_queue)?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind,
                source,
            })?;
        // Port 0 becomes a real port: the game reports the one it got (MSSP).
        let mut config = config;
        if let Ok(bound) = listener.local_addr() {
            config.bind = bound;
        }
        let game = Arc::new(Game::new(config, worlds, default, store, writer));
        for world in game.worlds().iter() {
            game.load_items(&world.id).await?;
        }
        report_superuser(game.store()).await;
        Ok(Server {
            listener,
            game,
            writer_thread,
        })
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared game state (tests look inside it).
    pub fn game(&self) -> Arc<Game> {
        self.game.clone()
    }

    /// Accepts connections until `shutdown` resolves or the game's shutdown token
    /// is cancelled, then shuts down gracefully.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        let Server {
            listener,
            game,
            writer_thread,
        } = self;
        let tracker = TaskTracker::new();
        tracker.spawn(crate::game::upkeep::run(game.clone()));
        tracing::info!(addr = ?listener.local_addr().ok(), "listening");
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = game.shutdown_token().cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => admit(&game, &tracker, stream, peer),
                    Err(err) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        drop(listener);
        stop(game, tracker, writer_thread).await
    }
}

/// Starts serving an accepted connection, or turns it away over the limits.
fn admit(game: &Arc<Game>, tracker: &TaskTracker, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let config = game.config();
    let slot = game.connections().admit(
        peer.ip(),
        config.max_connections,
        config.max_connections_per_ip,
    );
    let Some(slot) = slot else {
        tracing::warn!(%peer, "connection refused: too many connections");
        tracker.spawn(async move {
            let mut stream = stream;
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                stream.write_all(b"Too many connections.\r\n"),
            )
            .await;
        });
        return;
    };
    let (game, inner_tracker) = (game.clone(), tracker.clone());
    let peer = Peer {
        addr: peer,
        transport: Transport::Plain,
    };
    tracker.spawn(async move {
        let _slot = slot;
        crate::session::serve(game, stream, peer, inner_tracker).await;
    });
}

/// The ordered shutdown: tell, wait, drain, clean up.
async fn stop(
    game: Arc<Game>,
    tracker: TaskTracker,
    writer_thread: WriterThread,
) -> Result<(), StoreError> {
    tracing::info!(players = game.registry().len(), "shutting down");
    game.begin_shutdown();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
    let stats = game.writer().stop().await;
    writer_thread.join().await;
    let removed = game.store().sessions().remove_all().await?;
    tracing::info!(?stats, removed, "stopped");
    Ok(())
}

/// Logs how to create a superuser when there is none.
async fn report_superuser(store: &Store) {
    match store.accounts().superuser_exists().await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "no superuser exists; create one with `gaslamp create-superuser` \
             (or set MUD_ADMIN_USER and MUD_ADMIN_PASSWORD before the first start)"
        ),
        Err(err) => tracing::warn!(%err, "could not check for a superuser"),
    }
}
