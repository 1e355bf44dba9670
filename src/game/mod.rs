//! The shared state of a running server: worlds, who is online, what lies where,
//! and the store and the writer behind it; and the game's actions, the one
//! function for each job that every caller uses: moving someone (`moves`),
//! moving an item (`items`), opening or closing a door (`doors`), opening and closing a logged-in session
//! (`sessions`), what the login and the menu ask of accounts and characters
//! (`accounts`, `characters`), what handlers ask of the records (`records`,
//! `prune`) and of who is where (`people`), changing a world while it is
//! played (`worlds` for `/reload`, `build` for building), the counts
//! listings and monitoring read (`census`), and the community: the
//! server-wide channels (`channels`), ignores (`ignore`), who a character is
//! to others (`profile`), and a player's arrival among them (`community`).
//! The registry and the store are the game's own:
//! the layers above reach them only through these actions.
//!
//! A [`Game`] lives in an `Arc` that every connection task holds. The tasks it
//! starts itself (a `/shutdown` countdown) run on its tracker, which the
//! server waits for when it stops; the server starts and stops the writer and
//! the accept loops.
//!
//! **Invariant:** the game layer knows nothing about telnet bytes or the login
//! state machine; it reaches players only through their [`Outbox`]es and control
//! queues.

pub mod abuse;
mod accounts;
pub mod aliases;
pub mod build;
mod census;
pub mod channels;
mod characters;
pub mod client;
mod community;
pub mod data;
pub mod doors;
pub mod feed;
pub mod finger;
pub mod handoff;
pub mod ignore;
pub mod items;
pub mod life;
pub mod mail;
pub mod moves;
pub mod npcs;
pub mod outbox;
mod people;
mod profile;
mod prune;
pub mod queue;
mod records;
pub mod registry;
mod sessions;
pub mod upkeep;
pub mod worlds;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use channels::{Broadcast, ChannelDef, SpeakRefused};
pub use characters::WorldRefused;
pub use client::ClientProfile;
pub use community::Missed;
pub use data::{Channel, ChannelEntry, Data, ItemRef, Place, Present, RoomInfo, Talk};
pub use doors::{DoorActor, DoorChange, DoorChanged, DoorRefusal, DoorState, WalkRefused};
pub use items::{Holding, ItemInstance, RoomItems, Stowed};
pub use moves::{How, Move, MoveRefused, Mover, RoomObserver};
pub use outbox::{Message, Outbound, Outbox};
pub use registry::{
    ConnId, Control, Peer, Player, PlayerInit, Registry, Removal, RoomKey, Session, SessionInit,
    Transport,
};

use crate::auth::Role;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::replies;
use crate::socials::Socials;
use crate::store::accounts::AccountChange;
use crate::store::writer::Writer;
use crate::store::{Store, StoreResult};
use crate::text::{Style, Styled};
use crate::tls::{CertificateInfo, Certificates, TlsError};
use crate::world::{RoomId, World, Worlds};

/// The state every connection task shares.
pub struct Game {
    config: ServerConfig,
    worlds: RwLock<LoadedWorlds>,
    registry: Registry,
    items: RoomItems,
    /// The doors in play, as last changed (`doors`).
    doors: doors::DoorStates,
    /// The worlds' NPCs in play.
    npcs: npcs::Npcs,
    /// The worlds' scripts.
    life: life::Life,
    store: Store,
    writer: Writer,
    started_at: Instant,
    /// Cancelled to begin a graceful shutdown (a signal, or `/shutdown`).
    shutdown: CancellationToken,
    connections: Arc<ConnectionCounter>,
    /// Failed logins, sign-ups and guest accounts per client address.
    address_limits: abuse::AddressLimits,
    next_conn: AtomicU64,
    /// A running `/shutdown` countdown, cancellable.
    countdown: Mutex<Option<CancellationToken>>,
    /// The TLS listener's certificate, when there is one (reloadable).
    tls: Option<Arc<Certificates>>,
    /// What operators watch (`/metrics`); the store and the writer count into it.
    metrics: Metrics,
    /// Held while the worlds in play are changed (a reload, `worlds.rs`; a
    /// build, `build.rs`), one change at a time.
    world_changes: tokio::sync::Mutex<()>,
    /// Who hears of every move, in order: the clients' structured view first.
    observers: Vec<Arc<dyn RoomObserver>>,
    /// The server-wide channels and who listens to them.
    channels: channels::Hub,
    /// Who ignores whom.
    ignores: ignore::IgnoreIndex,
    /// The playing characters as others meet them (away, description, ...).
    personas: profile::Personas,
    /// The aliases of the accounts that play now.
    aliases: aliases::AliasBook,
    /// The socials, from their data file.
    socials: Arc<Socials>,
    /// The game's own tasks; the server waits for them when it stops.
    tasks: TaskTracker,
    /// The connections as an upgrade reaches them, and the upgrade's state.
    handoffs: handoff::Handoffs,
}

impl Game {
    pub fn new(
        config: ServerConfig,
        worlds: Worlds,
        default_world: Arc<World>,
        store: Store,
        writer: Writer,
    ) -> Game {
        let address_limits = abuse::AddressLimits::new(
            config.failed_logins_per_ip,
            config.guests_per_ip,
            config.signups_per_ip,
        );
        let metrics = Metrics::new();
        let channels = channels::Hub::new(&config.channels);
        store.attach_metrics(metrics.clone());
        writer.attach_metrics(metrics.clone());
        Game {
            config,
            worlds: RwLock::new(LoadedWorlds {
                worlds: Arc::new(worlds),
                default: default_world,
            }),
            registry: Registry::new(),
            items: RoomItems::new(),
            doors: doors::DoorStates::default(),
            npcs: npcs::Npcs::default(),
            life: life::Life::default(),
            store,
            writer,
            started_at: Instant::now(),
            shutdown: CancellationToken::new(),
            connections: Arc::default(),
            address_limits,
            next_conn: AtomicU64::new(1),
            countdown: Mutex::new(None),
            tls: None,
            metrics,
            world_changes: tokio::sync::Mutex::new(()),
            observers: vec![Arc::new(feed::ClientFeed), Arc::new(community::Presence)],
            channels,
            ignores: ignore::IgnoreIndex::default(),
            personas: profile::Personas::default(),
            aliases: aliases::AliasBook::default(),
            socials: Arc::default(),
            tasks: TaskTracker::new(),
            handoffs: handoff::Handoffs::default(),
        }
    }

    /// The same game, with one more observer of moves (the server registers
    /// the command layer's narrator, which writes what rooms hear).
    pub fn observed_by(mut self, observer: Arc<dyn RoomObserver>) -> Game {
        self.observers.push(observer);
        self
    }

    /// Who hears of every move.
    fn observers(&self) -> &[Arc<dyn RoomObserver>] {
        &self.observers
    }

    /// The tracker of the game's own tasks (and the server's connections): a
    /// shutdown waits for everything on it.
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// The same game, with the certificate its TLS listener presents.
    pub fn with_tls(self, certificates: Arc<Certificates>) -> Game {
        Game {
            tls: Some(certificates),
            ..self
        }
    }

    /// The same game, with the socials read at start.
    pub fn with_socials(self, socials: Socials) -> Game {
        Game {
            socials: Arc::new(socials),
            ..self
        }
    }

    /// The socials players may make.
    pub fn socials(&self) -> &Socials {
        &self.socials
    }

    /// The TLS listener's certificate, if the server has one.
    pub fn tls(&self) -> Option<&Arc<Certificates>> {
        self.tls.as_ref()
    }

    /// Loads the TLS certificate files again (SIGHUP, `/reload tls`): new
    /// handshakes use the new certificate, open connections stay. Bad files
    /// leave the old certificate in use. `None` when there is no TLS listener.
    pub async fn reload_tls(&self) -> Option<Result<CertificateInfo, TlsError>> {
        Some(self.tls.as_ref()?.reload().await)
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The settings the server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Who is online and where. Private to the game: the layers above ask
    /// for what they need through its actions (`sessions`, `people`,
    /// `census`, `moves`).
    fn registry(&self) -> &Registry {
        &self.registry
    }

    /// What lies in each room.
    pub fn items(&self) -> &RoomItems {
        &self.items
    }

    /// The doors in play.
    fn doors(&self) -> &doors::DoorStates {
        &self.doors
    }

    /// The database. Private to the game: the layers above ask for what
    /// they need through its actions (`accounts`, `characters`, `records`,
    /// `sessions`, ...), and the server hands it in already opened.
    fn store(&self) -> &Store {
        &self.store
    }

    /// The batching writer of chat lines, moves and session renewals.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// When the server started.
    pub fn started_at(&self) -> Instant {
        self.started_at
    }

    /// The token cancelled when the server begins to shut down.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Whether a graceful shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Begins the graceful shutdown (a signal, or the end of a countdown).
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// The open connections, for the connection limits.
    pub fn connections(&self) -> &Arc<ConnectionCounter> {
        &self.connections
    }

    /// What each client address may still try (failed logins, guests).
    pub fn address_limits(&self) -> &abuse::AddressLimits {
        &self.address_limits
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Connection ids from here on start at `next` at least (an upgrade's
    /// new image keeps the ids of the connections it took over).
    pub fn ids_from(&self, next: ConnId) {
        self.next_conn.fetch_max(next, Ordering::Relaxed);
    }

    /// The connections as an upgrade reaches them (`crate::upgrade`).
    pub fn handoffs(&self) -> &handoff::Handoffs {
        &self.handoffs
    }

    /// The current set of worlds (a snapshot; a reload swaps in a new one).
    pub fn worlds(&self) -> Arc<Worlds> {
        self.loaded(|loaded| loaded.worlds.clone())
    }

    fn loaded<T>(&self, f: impl FnOnce(&LoadedWorlds) -> T) -> T {
        f(&self.worlds.read())
    }

    /// One world by id.
    pub fn world(&self, id: &str) -> Option<Arc<World>> {
        self.worlds().get(id).cloned()
    }

    /// The world new accounts start in.
    pub fn default_world(&self) -> Arc<World> {
        self.loaded(|loaded| loaded.default.clone())
    }

    /// Swaps in a freshly loaded set of worlds (a reload).
    pub fn replace_worlds(&self, worlds: Worlds, default: Arc<World>) {
        let loaded = LoadedWorlds {
            worlds: Arc::new(worlds),
            default,
        };
        *self.worlds.write() = loaded;
    }

    /// Sends a notice from the server to every logged-in connection (styled
    /// as a system message).
    pub fn announce(&self, text: &str) {
        let notice = Arc::new(Styled::with(Style::System, text));
        for session in self.registry.sessions() {
            session.outbox.send(Message::Styled(notice.clone()));
        }
    }

    /// Records a new shutdown countdown; false if one is already running.
    pub fn start_countdown(&self, token: CancellationToken) -> bool {
        let mut current = self.countdown.lock();
        if current.as_ref().is_some_and(|t| !t.is_cancelled()) {
            return false;
        }
        *current = Some(token);
        true
    }

    /// Stops a running countdown; false if there was none.
    pub fn cancel_countdown(&self) -> bool {
        let mut current = self.countdown.lock();
        match current.take() {
            Some(token) if !token.is_cancelled() => {
                token.cancel();
                true
            }
            _ => false,
        }
    }

    /// Where a character should appear: its saved room if the world still has it,
    /// else the world's spawn.
    pub fn arrival_room(&self, world: &World, saved: Option<&str>) -> RoomId {
        saved
            .and_then(RoomId::parse_full)
            .filter(|room| world.room(room).is_some())
            .unwrap_or_else(|| world.default_spawn.clone())
    }

    /// Brings a committed change to an account to its live connections: a ban
    /// or a deletion closes them (those still logging in too, since a login is
    /// registered before its last check), a new role reaches them at once, a
    /// build grant is told.
    pub fn account_changed(&self, user_id: i64, change: &AccountChange) {
        let sessions = self.registry.sessions_of(user_id);
        match change {
            AccountChange::Ban { reason } => {
                let words = replies::banned(reason.as_deref());
                for session in sessions {
                    session.kick(Removal::Banned, words.clone());
                }
            }
            AccountChange::Delete => {
                for session in sessions {
                    session.kick(Removal::Deleted, replies::DELETED);
                }
            }
            AccountChange::Role(role) => {
                for session in sessions {
                    self.give_role(&session, *role);
                }
            }
            // Every build reads the grant fresh; the player is only told.
            AccountChange::Build { world_id, allow } => {
                let name = self
                    .world(world_id)
                    .map_or(world_id.clone(), |w| w.name.clone());
                let line: Arc<str> = if *allow {
                    format!("You may now build in {name}.").into()
                } else {
                    format!("You may no longer build in {name}.").into()
                };
                for session in sessions {
                    session.outbox.line(line.clone());
                }
            }
            AccountChange::Mute { .. } | AccountChange::Unmute { .. } => {
                self.mutes_changed(user_id, change);
            }
            _ => {}
        }
    }

    /// Gives a live session its account's new role and tells the player.
    pub fn give_role(&self, session: &Session, role: Role) {
        if session.role() != role {
            session.set_role(role);
            session.outbox.line(format!("Your role is now {role}."));
        }
    }

    /// Fills the room item cache of a world from the database.
    pub async fn load_items(&self, world_id: &str) -> StoreResult<usize> {
        let rows = self.store.items().in_world(world_id).await?;
        let world: Arc<str> = Arc::from(world_id);
        self.items.clear_world(world_id);
        let count = rows.len();
        for row in rows {
            let Some(room) = RoomId::parse_full(&row.room) else {
                continue;
            };
            self.items.put(
                &RoomKey::new(&world, &room),
                ItemInstance {
                    id: row.id,
                    key: Arc::from(row.item_key),
                },
            );
        }
        Ok(count)
    }
}

/// The worlds in play and which of them new accounts start in.
struct LoadedWorlds {
    worlds: Arc<Worlds>,
    default: Arc<World>,
}

/// Counts open connections, in all, per address and per transport, for the
/// limits (which every transport shares) and for `/health` and `/metrics`.
#[derive(Default)]
pub struct ConnectionCounter {
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicU64,
    per_transport: [AtomicU64; Transport::ALL.len()],
}

impl ConnectionCounter {
    /// Counts a new connection of `transport` if both limits allow it; the
    /// returned guard gives the place back when dropped.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        transport: Transport,
        max_total: usize,
        max_per_ip: usize,
    ) -> Option<ConnectionSlot> {
        let mut per_ip = self.per_ip.lock();
        let here = per_ip.get(&ip).copied().unwrap_or(0);
        if self.total.load(Ordering::Relaxed) as usize >= max_total || here >= max_per_ip {
            return None;
        }
        per_ip.insert(ip, here + 1);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.per_transport[transport.index()].fetch_add(1, Ordering::Relaxed);
        Some(ConnectionSlot {
            counter: self.clone(),
            ip,
            transport,
        })
    }

    /// Open connections now.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed) as usize
    }

    /// Open connections now, by transport (every transport, zeros included).
    pub fn by_transport(&self) -> [(Transport, u64); Transport::ALL.len()] {
        Transport::ALL.map(|t| (t, self.per_transport[t.index()].load(Ordering::Relaxed)))
    }
}

/// One admitted connection; dropping it frees the place.
pub struct ConnectionSlot {
    counter: Arc<ConnectionCounter>,
    ip: IpAddr,
    transport: Transport,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.counter.total.fetch_sub(1, Ordering::Relaxed);
        self.counter.per_transport[self.transport.index()].fetch_sub(1, Ordering::Relaxed);
        let mut per_ip = self.counter.per_ip.lock();
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}
