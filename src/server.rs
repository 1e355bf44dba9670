//! Starting, running and stopping the server.
//!
//! [`Server::start`] loads the TLS certificate (if any), opens the database,
//! replays what a stop on a full disk spilled (`store::spill`), checks the
//! spill folder, loads and registers the worlds, starts the batching writer
//! and binds the listeners (plain telnet unless `--tls-only`, TLS when
//! configured, the web listener unless `--web-bind off`); [`Server::run`]
//! runs their accept loops (`transport`, `web`) until the shutdown future
//! resolves (or an admin's `/shutdown` cancels the game's token) and then
//! stops in order: stop accepting, tell every connection, wait for their
//! tasks, drain the writer (spilling what a disk that stays full refuses),
//! let the store write what logins left behind their answers, remove the
//! session rows, and last close the web listener (which answers `/health`
//! with 503 meanwhile). A stop fails ([`ShutdownError`]) only when something
//! players were told was done is lost: even the spill failed.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::os::fd::OwnedFd;

use futures::future::BoxFuture;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
use crate::game::handoff::{Carried, Carrier, Departed, ListenerFds};
use crate::game::{Game, RoomKey, Transport};
use crate::ops::backup::Rotation;
use crate::session::handover::resume;
use crate::socials::Socials;
use crate::store::lock::{DatabaseLock, LockError};
use crate::store::spill::{self, SpillFailed, Spilled};
use crate::store::writer::{Leftover, Stopped, Writer, WriterClosed, WriterThread};
use crate::store::{Store, StoreError, StoreOptions};
use crate::tls::{Certificates, TlsError};
use crate::transport::{self, Listener};
use crate::upgrade::Inherited;
use crate::web::WebListener;
use crate::world::{self, LoadError, RoomId, World, Worlds};

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
    /// Another server runs on the database (it holds the database's lock).
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The configuration does not hold together (a channel named like a
    /// command).
    #[error("{0}")]
    Config(String),
    /// The control socket cannot be opened, or another server has it.
    #[error(transparent)]
    Control(#[from] crate::upgrade::control::ControlError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Why a stop lost something players were told was done (the binary exits
/// with 2).
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    /// The disk refused the writer's last rows, and the spill failed too.
    #[error(
        "lost {chat_lines} chat line(s) and {locations} location(s) that the disk refused at the stop: {source}"
    )]
    Lost {
        chat_lines: usize,
        locations: usize,
        #[source]
        source: SpillFailed,
    },
    /// The writer's thread ended without saying what it held.
    #[error(
        "the database writer ended without reporting what it held; what it had not written is lost"
    )]
    WriterGone,
}

/// Where a stop spills what the writer still holds: the folder, and the
/// database the spill belongs to.
struct SpillPlace {
    dir: PathBuf,
    database: PathBuf,
    identity: String,
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
    spill: SpillPlace,
    /// Held for the server's life: no restore replaces the database under
    /// it, and no second server starts on it.
    lock: DatabaseLock,
    /// What the server's backups have done (`--backup-every`).
    backups: tokio::sync::watch::Sender<Rotation>,
    /// The connections an upgrade's old image handed over, to be served.
    resumed: Vec<crate::upgrade::TakenOver>,
    /// Why the upgrade failed, when this is the old binary taking back.
    fell_back: Option<String>,
    /// How upgrades are carried out, if they may be (the binary's server).
    upgrades: Option<crate::upgrade::Plan>,
    /// The control socket (`--control`), if configured.
    control: Option<tokio::net::UnixListener>,
    /// The control connection of a `gaslamp upgrade` that waits for this
    /// new image to tell everyone.
    waiting: Option<OwnedFd>,
    /// The scripts' handlers the upgrade dropped from `wait()`, for the
    /// builder channel once everyone was told.
    dropped_waits: Vec<(String, String, usize)>,
    /// The players whose connections the upgrade closed.
    departed: Vec<Departed>,
}

/// Registers every loaded world in the database (the catalogue, and the first
/// placement of its items). Returns, for each world, how many item
/// placements new in its files were put into its rooms. It logs nothing: the
/// server says what it starts with, and the shell's tools have no news in it.
pub async fn register_worlds(
    store: &Store,
    worlds: &Worlds,
) -> Result<Vec<(String, usize)>, StoreError> {
    store
        .worlds()
        .register_all(worlds.iter().cloned().collect(), None)
        .await
        .map_err(|refused| match refused {
            crate::store::accounts::ChangeRefused::Store(err) => err,
            other => StoreError::Task(other.to_string()),
        })
}

/// The start's line for each world it serves, and one more for a world whose
/// files placed items the database had not seen (a new world, a new zone).
fn log_worlds_ready(worlds: &Worlds, placed: &[(String, usize)]) {
    for (id, placed) in placed {
        let Some(world) = worlds.get(id) else {
            continue;
        };
        tracing::info!(world = %id, zones = world.zones.len(), rooms = world.room_count(), "world ready");
        if *placed > 0 {
            tracing::info!(world = %id, items = placed, "items new in the world files placed in their rooms");
        }
    }
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
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        Server::start_inherited(config, &mut None).await
    }

    /// [`Server::start`], or, as the new image of an upgrade, with the
    /// listeners and connections the old one handed over (`inherited`):
    /// those listeners instead of binding, and the sessions of those
    /// connections kept when the start clears stale rows. They are taken
    /// out of `inherited` only once the start succeeded: a failed one leaves
    /// them there, to be handed back to the old binary.
    pub async fn start_inherited(
        mut config: ServerConfig,
        inherited: &mut Option<Inherited>,
    ) -> Result<Server, StartError> {
        // The certificate first: a bad one should stop the start before anything
        // is touched.
        let certificates = match &config.tls {
            Some(tls) => Some(Arc::new(Certificates::load(&tls.cert, &tls.key)?)),
            None => None,
        };
        crate::config::check_channel_words(&config.channels, crate::command::is_command_word)
            .map_err(StartError::Config)?;
        let (worlds, default) = load_worlds(&config)?;
        let db_path = config.db_path.clone();
        let lock = tokio::task::spawn_blocking(move || DatabaseLock::acquire(&db_path))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        let socials = load_socials(&config)?;
        let options = StoreOptions {
            bcrypt_cost: config.bcrypt_cost,
            ..StoreOptions::default()
        };
        let path = config.db_path.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&path, options))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        // Before anything else writes: what the last stop could not commit
        // comes first, in its order.
        let spill = replay_spills(&store, &config).await?;
        let stale = match inherited.as_ref() {
            None => store.sessions().remove_all().await?,
            Some(inherited) => {
                let kept = crate::session::handover::session_ids(inherited.states());
                store.sessions().remove_all_but(kept).await?
            }
        };
        if stale > 0 {
            tracing::info!(stale, "removed session rows left by an earlier run");
        }
        let placed = register_worlds(&store, &worlds).await?;
        log_worlds_ready(&worlds, &placed);
        // Worlds first: the superuser's first character refers to one.
        crate::ops::bootstrap_superuser(&store, &default, config.bootstrap_admin.as_ref()).await?;
        report_superuser(&store).await;
        let (writer, writer_thread) = Writer::start(&config.db_path, config.writer_queue).await?;
        writer.set_stop_grace(config.writer_stop_grace);
        let (plain, tls, web) = match inherited.as_ref() {
            Some(inherited) => take_listeners(&mut config, certificates.clone(), inherited)?,
            None => {
                let (plain, tls) = bind_listeners(&mut config, certificates.clone()).await?;
                (plain, tls, bind_web(&mut config).await?)
            }
        };
        // The narrator writes what rooms hear when someone moves.
        let narrator = Arc::new(crate::command::Narrator::new());
        let game = Game::new(config, worlds, default, store, writer)
            .observed_by(narrator.clone())
            .with_socials(socials);
        let game = Arc::new(match certificates {
            Some(certificates) => game.with_tls(certificates),
            None => game,
        });
        // Entries into crowded rooms, told together (on the game's tracker,
        // which a shutdown waits for).
        game.tasks().spawn(narrator.tell_arrivals(game.clone()));
        if let Some(tls) = &game.config().tls {
            let certificate = game.tls().map(|c| c.info().to_string());
            tracing::info!(addr = %tls.bind, certificate, "TLS certificate loaded");
        }
        for world in game.worlds().iter() {
            game.load_items(&world.id).await?;
            game.load_doors(&world.id).await?;
        }
        game.load_ignores().await?;
        game.handoffs().set_listeners(ListenerFds {
            plain: plain.as_ref().map(Listener::raw_fd),
            tls: tls.as_ref().map(Listener::raw_fd),
            web: web.as_ref().map(WebListener::raw_fd),
        });
        let control = match &game.config().control {
            Some(path) => open_control(path).await?,
            None => None,
        };
        let (resumed, fell_back, waiting, dropped_waits, departed) = match inherited.take() {
            Some(inherited) => {
                let fell_back = inherited.fell_back().map(str::to_string);
                let dropped_waits = inherited.dropped_waits().to_vec();
                let departed = inherited.departed().to_vec();
                tracing::info!(
                    from_version = %inherited.from_version(),
                    version = env!("CARGO_PKG_VERSION"),
                    reason = %inherited.reason(),
                    fell_back = fell_back.as_deref(),
                    "upgraded: taking over from the old binary"
                );
                game.ids_from(inherited.next_conn_id());
                let (resumed, waiting) = inherited.take_connections();
                (resumed, fell_back, waiting, dropped_waits, departed)
            }
            None => (Vec::new(), None, None, Vec::new(), Vec::new()),
        };
        game.start_life().await;
        if game.config().scripts {
            game.start_wandering();
        } else {
            tracing::info!("scripts are off (--no-scripts): NPCs stand still and nothing runs");
        }
        Ok(Server {
            plain,
            tls,
            web,
            game,
            writer_thread,
            spill,
            lock,
            backups: tokio::sync::watch::Sender::new(Rotation::default()),
            resumed,
            fell_back,
            upgrades: None,
            control,
            waiting,
            dropped_waits,
            departed,
        })
    }

    /// The same server, carrying out upgrades (`/copyover`, SIGUSR2) by
    /// `plan`. Without it an upgrade is refused as unavailable.
    pub fn with_upgrades(mut self, plan: crate::upgrade::Plan) -> Server {
        self.upgrades = Some(plan);
        self
    }

    /// What the server's own backups have done so far.
    pub fn backups(&self) -> tokio::sync::watch::Receiver<Rotation> {
        self.backups.subscribe()
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
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ShutdownError> {
        let Server {
            plain,
            tls,
            web,
            game,
            writer_thread,
            spill,
            lock,
            backups,
            resumed,
            fell_back,
            upgrades,
            control,
            waiting,
            dropped_waits,
            departed,
        } = self;
        // The game's own tasks (a /shutdown countdown) share the tracker.
        let tracker = game.tasks().clone();
        tracker.spawn(crate::game::upkeep::run(game.clone()));
        if let Some(schedule) = game.config().backups.clone() {
            tracker.spawn(crate::ops::backup::rotate(game.clone(), schedule, backups));
        }
        if let Some(plan) = upgrades {
            let requests = game.handoffs().take_requests();
            tracker.spawn(crate::upgrade::carry_out(game.clone(), plan, requests));
        }
        if let Some(control) = control {
            tracker.spawn(crate::upgrade::control::serve(game.clone(), control));
        }
        game.handoffs().to_tell(resumed.len());
        let kept = resumed.len();
        for (fd, carried, state) in resumed {
            serve_resumed(&game, &tracker, fd, carried, state, fell_back.is_some());
        }
        if let Some(waiting) = waiting {
            tracker.spawn(tell_the_upgrader(game.clone(), waiting, kept, fell_back));
        }
        if !dropped_waits.is_empty() || !departed.is_empty() {
            let game = game.clone();
            tracker.spawn(async move {
                // After `Upgrade complete.`, once the resumed players are back
                // in their rooms and the builders among the channel's
                // listeners, so they read it as news of the upgrade.
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), game.handoffs().all_back()).await;
                tell_departed(&game, &departed);
                game.tell_dropped_waits(&dropped_waits);
            });
        }
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
        let stopped = stop(game, tracker, writer_thread, spill).await;
        web_stop.cancel();
        if let Some(web) = web {
            let _ = web.await;
        }
        drop(lock);
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

/// The listeners an upgrade's old image handed over, for the transports
/// this configuration has (one it no longer has is closed; one it newly has
/// is not opened until a restart: the ports are the old image's).
#[allow(clippy::type_complexity)]
fn take_listeners(
    config: &mut ServerConfig,
    certificates: Option<Arc<Certificates>>,
    inherited: &Inherited,
) -> Result<
    (
        Option<Listener<transport::Plain>>,
        Option<Listener<transport::Tls>>,
        Option<WebListener>,
    ),
    StartError,
> {
    let failed = |addr| move |source| StartError::Bind { addr, source };
    let plain = match inherited.listener(|l| l.plain).filter(|_| config.plain) {
        Some(tcp) => {
            let listener = tcp
                .and_then(|tcp| Listener::inherited(tcp, transport::Plain))
                .map_err(failed(config.bind))?;
            config.bind = listener.local_addr().map_err(failed(config.bind))?;
            Some(listener)
        }
        None => None,
    };
    let tls = match (
        config.tls.as_mut(),
        certificates,
        inherited.listener(|l| l.tls),
    ) {
        (Some(settings), Some(certificates), Some(tcp)) => {
            let handshake = transport::Tls {
                certificates,
                deadline: settings.handshake_timeout,
                plain_port: plain.is_some().then_some(config.bind.port()),
            };
            let listener = tcp
                .and_then(|tcp| Listener::inherited(tcp, handshake))
                .map_err(failed(settings.bind))?;
            settings.bind = listener.local_addr().map_err(failed(settings.bind))?;
            Some(listener)
        }
        _ => None,
    };
    let web = match (config.web.as_mut(), inherited.listener(|l| l.web)) {
        (Some(settings), Some(tcp)) => {
            let listener = tcp
                .and_then(WebListener::inherited)
                .map_err(failed(settings.bind))?;
            settings.bind = listener.local_addr().map_err(failed(settings.bind))?;
            Some(listener)
        }
        _ => None,
    };
    Ok((plain, tls, web))
}

/// Tells the rooms of the players whose connections the upgrade closed that
/// they left the game, as a `quit` would have.
fn tell_departed(game: &Game, departed: &[Departed]) {
    for gone in departed {
        let Some(room) = RoomId::parse_full(&gone.room) else {
            continue;
        };
        let key = RoomKey::new(&Arc::from(gone.world.as_str()), &room);
        game.tell_room(
            &key,
            &crate::command::narrate::left_the_game(&gone.name),
            &[],
        );
    }
}

/// Serves one connection an upgrade's old image handed over, from where it
/// stood. It takes a connection slot like any other (over the limits it is
/// still served: it was admitted once already).
fn serve_resumed(
    game: &Arc<Game>,
    tracker: &TaskTracker,
    fd: OwnedFd,
    carried: Carried,
    state: serde_json::Value,
    fell_back: bool,
) {
    let state: crate::session::handover::ConnState = match serde_json::from_value(state) {
        Ok(state) => state,
        Err(err) => {
            tracing::warn!(%err, "a handed-over connection's state is unreadable; it is closed");
            return;
        }
    };
    let transport = match carried {
        Carried::Tcp => Transport::Plain,
        Carried::WebSocket { .. } => Transport::WebSocket,
    };
    let slot = game
        .connections()
        .admit(state.addr.ip(), transport, usize::MAX, usize::MAX);
    let (game, inner) = (game.clone(), tracker.clone());
    tracker.spawn(async move {
        let _slot = slot;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        match carried {
            Carried::Tcp => {
                let stream = match tcp_stream(fd) {
                    Ok(stream) => stream,
                    Err(err) => return cannot_serve(err),
                };
                resume(game, stream, Carrier::Tcp(raw), state, fell_back, inner).await;
            }
            Carried::WebSocket {
                text_frames,
                unparsed,
            } => {
                let tcp = match tcp_stream(fd) {
                    Ok(stream) => stream,
                    Err(err) => return cannot_serve(err),
                };
                let (stream, carrier) =
                    crate::web::inheritable_stream(tcp, text_frames, unparsed).await;
                let stream = stream.counted(game.metrics().clone());
                resume(game, stream, carrier, state, fell_back, inner).await;
            }
        }
    });
}

/// A handed-over TCP socket, ready for tokio.
fn tcp_stream(fd: OwnedFd) -> std::io::Result<tokio::net::TcpStream> {
    let tcp = std::net::TcpStream::from(fd);
    tcp.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(tcp)
}

fn cannot_serve(err: std::io::Error) {
    tracing::warn!(%err, "a handed-over connection cannot be served; it is closed");
}

/// The control socket; one another live server answers on stops the start,
/// one that cannot be made (a path too long for a Unix socket, a folder
/// that refuses it) only costs `gaslamp upgrade`, and is logged.
async fn open_control(
    path: &std::path::Path,
) -> Result<Option<tokio::net::UnixListener>, StartError> {
    use crate::upgrade::control::{ControlError, bind};
    match bind(path).await {
        Ok(listener) => Ok(Some(listener)),
        Err(err @ ControlError::InUse { .. }) => Err(err.into()),
        Err(err) => {
            tracing::warn!(%err, "no control socket: `gaslamp upgrade` cannot reach this server (/copyover and SIGUSR2 still upgrade it)");
            Ok(None)
        }
    }
}

/// Answers the `gaslamp upgrade` that waits on a handed-over control
/// connection, once every resumed player was told (or after a while).
async fn tell_the_upgrader(
    game: Arc<Game>,
    waiting: OwnedFd,
    kept: usize,
    fell_back: Option<String>,
) {
    let _ = tokio::time::timeout(Duration::from_secs(10), game.handoffs().all_told()).await;
    let said = match fell_back {
        Some(why) => {
            format!("failed: the new binary could not start; the old one carries on: {why}")
        }
        None => format!(
            "ok: game upgraded to gaslamp {}; front: none (TLS players reconnect); {kept} connection(s) kept",
            env!("CARGO_PKG_VERSION")
        ),
    };
    crate::upgrade::control::answer_handed_over(waiting, said).await;
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

/// The ordered shutdown: tell, wait, drain (and spill), clean up.
async fn stop(
    game: Arc<Game>,
    tracker: TaskTracker,
    writer_thread: WriterThread,
    spill: SpillPlace,
) -> Result<(), ShutdownError> {
    tracing::info!(
        connections = game.connection_count(),
        playing = game.player_count(),
        "shutting down: every connection is told and closed"
    );
    game.begin_shutdown();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
    let stopped = game.writer().stop().await;
    writer_thread.join().await;
    let kept = keep_what_is_left(stopped, spill).await;
    // Rows left here (a full disk refuses their removal too) are stale
    // sessions, which the next start removes: no reason to fail the stop.
    match game.close_records().await {
        Ok(removed) => tracing::info!(sessions_removed = removed, "stopped"),
        Err(err) => tracing::warn!(
            %err,
            "stopped; the session rows could not be removed, and the next start removes them"
        ),
    }
    kept
}

/// What the writer could not commit, written to the spill. Fails only when
/// even that fails, and then names every row lost in the log, the last place
/// it can be read.
async fn keep_what_is_left(
    stopped: Result<Stopped, WriterClosed>,
    spill: SpillPlace,
) -> Result<(), ShutdownError> {
    let left = match stopped {
        Ok(stopped) => stopped.left,
        Err(WriterClosed) => return Err(ShutdownError::WriterGone),
    };
    if left.to_spill() == 0 {
        if !left.is_empty() {
            tracing::info!(
                rows = left.rows(),
                "session renewals the disk refused at the stop are not kept; the sessions end with the server"
            );
        }
        return Ok(());
    }
    let (chat_lines, locations) = (left.chat_lines(), left.locations());
    match write_spill(left, spill).await {
        Ok(spilled) => {
            tracing::warn!(
                file = %spilled.path.display(),
                chat_lines,
                locations,
                "the disk still refused at the stop: what the writer held is in this spill file, and the next start replays it into the database"
            );
            Ok(())
        }
        Err((source, left)) => {
            let lost = ShutdownError::Lost {
                chat_lines,
                locations,
                source,
            };
            tracing::error!(%lost, "nothing more can be kept; the lost rows follow");
            if let Some(left) = &left {
                left.log_lost();
            }
            Err(lost)
        }
    }
}

/// Writes the spill on the blocking pool. On failure: why, and the rows
/// (unless the task that held them was lost).
async fn write_spill(
    left: Leftover,
    spill: SpillPlace,
) -> Result<Spilled, (SpillFailed, Option<Leftover>)> {
    let dir = spill.dir.clone();
    let written = tokio::task::spawn_blocking(move || {
        let written = spill::write(&spill.dir, &spill.database, &spill.identity, &left);
        (written, left)
    })
    .await;
    match written {
        Ok((Ok(spilled), _)) => Ok(spilled),
        Ok((Err(failed), left)) => Err((failed, Some(left))),
        Err(join) => Err((
            SpillFailed {
                dir,
                source: std::io::Error::other(join.to_string()),
            },
            None,
        )),
    }
}

/// Replays the spills this database's last stops left in the spill folder,
/// and checks the folder; returns where this run's stop would spill.
async fn replay_spills(store: &Store, config: &ServerConfig) -> Result<SpillPlace, StoreError> {
    let place = SpillPlace {
        dir: config.spill_dir.clone(),
        database: config.db_path.clone(),
        identity: store.identity().await?,
    };
    for replayed in store.replay_spills(&place.dir).await? {
        if replayed.already {
            tracing::info!(file = %replayed.path.display(), "removed a spill file replayed by an earlier start");
        } else {
            tracing::warn!(
                file = %replayed.path.display(),
                rows = replayed.rows,
                refused = replayed.refused,
                "replayed a spill left by a stop on a full disk into the database"
            );
        }
    }
    let (dir, db) = (place.dir.clone(), place.database.clone());
    let problems = tokio::task::spawn_blocking(move || spill::check_dir(&dir, &db))
        .await
        .unwrap_or_default();
    for problem in problems {
        tracing::warn!(
            spill_dir = %place.dir.display(),
            "the spill folder (--spill-dir) is no safe place for what a stop on a full disk must keep: {problem}"
        );
    }
    Ok(place)
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
