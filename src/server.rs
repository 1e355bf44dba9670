//! Starting, running and stopping the server.
//!
//! [`Server::start`] loads the TLS certificate (if any), opens the database,
//! loads and registers the worlds, starts the batching writer and binds the
//! listeners (plain telnet unless `--tls-only`, TLS when configured, the web
//! listener unless `--web-bind off`); [`Server::run`] runs their accept loops
//! (`transport`, `web`) until the shutdown future resolves (or an admin's
//! `/shutdown` cancels the game's token) and then stops in order: stop
//! accepting, tell every connection, wait for their tasks, drain the writer,
//! let the store write what logins left behind their answers, remove the
//! session rows, and last close the web listener (which answers `/health`
//! with 503 meanwhile).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
use crate::game::Game;
use crate::socials::Socials;
use crate::store::writer::{Writer, WriterThread};
use crate::store::{Store, StoreError, StoreOptions};
use crate::tls::{Certificates, TlsError};
use crate::transport::{self, Listener};
use crate::web::WebListener;
use crate::world::{self, LoadError, World, Worlds};

/// Why the server could not start; the binary turns each into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The worlds are invalid, or the default world is not among them.
    #[error(transparent)]
    Worlds(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot create the superuser from MUD_ADMIN_USER: {0}")]
    Bootstrap(#[from] crate::ops::OpsError),
    /// The TLS certificate or key is missing, unreadable, or they do not match.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The configuration does not hold together (a channel named like a
    /// command).
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// How long connections get to say goodbye during shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A started server, not yet accepting.
pub struct Server {
    plain: Option<Listener<transport::Plain>>,
    tls: Option<Listener<transport::Tls>>,
    web: Option<WebListener>,
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

/// Loads the worlds through [`world::load`] (the one way worlds are loaded)
/// and picks the default one, logging each warning: the start and the
/// operator's tools come through here; `check-worlds` prints the warnings
/// instead, and `/reload` tells them to the admin.
pub fn load_worlds(config: &ServerConfig) -> Result<(Worlds, Arc<World>), StartError> {
    let loaded = world::load(&config.worlds_dir, config.default_world.as_deref())?;
    for warning in &loaded.warnings {
        tracing::warn!(file = %warning.file.display(), field = %warning.field, "world file warning: {}", warning.message);
    }
    Ok((loaded.worlds, loaded.default))
}

/// Reads the socials through [`socials::load`](crate::socials::load): the
/// file `--socials` names, which must be there, or `socials.toml` beside
/// the worlds, whose absence means no socials. A file with errors stops
/// the start, each error on a line.
pub fn load_socials(config: &ServerConfig) -> Result<Socials, StartError> {
    let (path, required) =
        crate::socials::path_for(config.socials_file.as_deref(), &config.worlds_dir);
    match crate::socials::load(&path, required, crate::command::is_command_word) {
        Ok(Some(socials)) => {
            tracing::info!(path = %path.display(), socials = socials.len(), "socials read");
            Ok(socials)
        }
        Ok(None) => {
            tracing::info!(path = %path.display(), "no socials file; no socials");
            Ok(Socials::default())
        }
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Err(StartError::Config(lines.join("\n")))
        }
    }
}

impl Server {
    /// Prepares everything and binds the listeners.
    pub async fn start(mut config: ServerConfig) -> Result<Server, StartError> {
        // The certificate first: a bad one should stop the start before anything
        // is touched.
        let certificates = match &config.tls {
            Some(tls) => Some(Arc::new(Certificates::load(&tls.cert, &tls.key)?)),
            None => None,
        };
        crate::config::check_channel_words(&config.channels, crate::command::is_command_word)
            .map_err(StartError::Config)?;
        let (worlds, default) = load_worlds(&config)?;
        let socials = load_socials(&config)?;
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
        report_superuser(&store).await;
        let (writer, writer_thread) = Writer::start(&config.db_path, config.writer_queue).await?;
        let (plain, tls) = bind_listeners(&mut config, certificates.clone()).await?;
        let web = bind_web(&mut config).await?;
        // The narrator writes what rooms hear when someone moves.
        let game = Game::new(config, worlds, default, store, writer)
            .observed_by(Arc::new(crate::command::Narrator))
            .with_socials(socials);
        let game = Arc::new(match certificates {
            Some(certificates) => game.with_tls(certificates),
            None => game,
        });
        if let Some(tls) = &game.config().tls {
            let certificate = game.tls().map(|c| c.info().to_string());
            tracing::info!(addr = %tls.bind, certificate, "TLS certificate loaded");
        }
        for world in game.worlds().iter() {
            game.load_items(&world.id).await?;
        }
        game.load_ignores().await?;
        Ok(Server {
            plain,
            tls,
            web,
            game,
            writer_thread,
        })
    }

    /// The plain listener's address (port 0 becomes a real port); with
    /// `--tls-only`, the TLS listener's.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match (&self.plain, &self.tls) {
            (Some(plain), _) => plain.local_addr(),
            (None, Some(tls)) => tls.local_addr(),
            (None, None) => Err(std::io::Error::other("no listener is open")),
        }
    }

    /// The TLS listener's address, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().and_then(|tls| tls.local_addr().ok())
    }

    /// The web listener's address, if there is one.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web.as_ref().and_then(|web| web.local_addr().ok())
    }

    /// The shared game state (tests look inside it).
    pub fn game(&self) -> Arc<Game> {
        self.game.clone()
    }

    /// Accepts connections until `shutdown` resolves or the game's shutdown token
    /// is cancelled, then shuts down gracefully.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        let Server {
            plain,
            tls,
            web,
            game,
            writer_thread,
        } = self;
        // The game's own tasks (a /shutdown countdown) share the tracker.
        let tracker = game.tasks().clone();
        tracker.spawn(crate::game::upkeep::run(game.clone()));
        let mut accepting: Vec<BoxFuture<'static, ()>> = Vec::new();
        if let Some(plain) = plain {
            accepting.push(Box::pin(plain.run(game.clone(), tracker.clone())));
        }
        if let Some(tls) = tls {
            accepting.push(Box::pin(tls.run(game.clone(), tracker.clone())));
        }
        // The web listener outlives the accept loops: during the shutdown it
        // still answers /health (503) and refuses new WebSockets.
        let web_stop = tokio_util::sync::CancellationToken::new();
        let web =
            web.map(|web| tokio::spawn(web.run(game.clone(), tracker.clone(), web_stop.clone())));
        tokio::select! {
            _ = shutdown => {},
            _ = game.shutdown_token().cancelled() => {},
            // The accept loops never end by themselves.
            _ = futures::future::join_all(accepting) => {},
        }
        // The listeners were dropped with the accept loops: nothing new comes in.
        let stopped = stop(game, tracker, writer_thread).await;
        web_stop.cancel();
        if let Some(web) = web {
            let _ = web.await;
        }
        stopped
    }
}

/// Binds the configured listeners and writes the addresses actually bound back
/// into `config` (so `plain_port` and `tls_port` give real ports).
async fn bind_listeners(
    config: &mut ServerConfig,
    certificates: Option<Arc<Certificates>>,
) -> Result<
    (
        Option<Listener<transport::Plain>>,
        Option<Listener<transport::Tls>>,
    ),
    StartError,
> {
    let bind_failed = |addr| move |source| StartError::Bind { addr, source };
    let plain = if config.plain {
        let listener = Listener::bind(config.bind, transport::Plain)
            .await
            .map_err(bind_failed(config.bind))?;
        config.bind = listener.local_addr().map_err(bind_failed(config.bind))?;
        Some(listener)
    } else {
        None
    };
    let tls = match (config.tls.as_mut(), certificates) {
        (Some(settings), Some(certificates)) => {
            let handshake = transport::Tls {
                certificates,
                deadline: settings.handshake_timeout,
                plain_port: plain.is_some().then_some(config.bind.port()),
            };
            let listener = Listener::bind(settings.bind, handshake)
                .await
                .map_err(bind_failed(settings.bind))?;
            settings.bind = listener.local_addr().map_err(bind_failed(settings.bind))?;
            Some(listener)
        }
        _ => None,
    };
    Ok((plain, tls))
}

/// Binds the web listener, if configured, and writes the address bound back
/// into `config`.
async fn bind_web(config: &mut ServerConfig) -> Result<Option<WebListener>, StartError> {
    let Some(settings) = config.web.as_mut() else {
        return Ok(None);
    };
    let addr = settings.bind;
    let bind_failed = |source| StartError::Bind { addr, source };
    let listener = WebListener::bind(addr).await.map_err(bind_failed)?;
    settings.bind = listener.local_addr().map_err(bind_failed)?;
    Ok(Some(listener))
}

/// The ordered shutdown: tell, wait, drain, clean up.
async fn stop(
    game: Arc<Game>,
    tracker: TaskTracker,
    writer_thread: WriterThread,
) -> Result<(), StoreError> {
    tracing::info!(players = game.player_count(), "shutting down");
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
    let removed = game.close_records().await?;
    tracing::info!(
        writer_stopped = stats.is_ok(),
        sessions_removed = removed,
        "stopped"
    );
    Ok(())
}

/// Logs how to create a superuser when there is none.
async fn report_superuser(store: &Store) {
    match store.accounts().superuser_exists().await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "no superuser exists; make the first admin with \
             `cargo run --release -- create-superuser` (or `target/release/gaslamp \
             create-superuser`, or set MUD_ADMIN_USER and MUD_ADMIN_PASSWORD before a start)"
        ),
        Err(err) => tracing::warn!(%err, "could not check for a superuser"),
    }
}
