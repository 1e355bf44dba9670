//! The shared state of a running server: worlds, who is online, what lies where,
//! and the handles on the store.
//!
//! A [`Game`] lives in an `Arc` that every connection task holds. It owns no task
//! of its own; the server starts and stops the writer and the accept loop.
//!
//! **Invariant:** the game layer knows nothing about telnet bytes or the login
//! state machine; it reaches players only through their [`Outbox`]es and control
//! queues.

pub mod items;
pub mod outbox;
pub mod registry;
pub mod upkeep;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

pub use items::{ItemInstance, RoomItems};
pub use outbox::{Outbound, Outbox};
pub use registry::{ConnId, Control, Player, PlayerInit, Registry, RoomKey, Session};

use crate::config::ServerConfig;
use crate::store::writer::Writer;
use crate::store::{Store, StoreResult, characters};
use crate::world::{RoomId, World, Worlds};

/// The state every connection task shares.
pub struct Game {
    pub config: ServerConfig,
    worlds: RwLock<LoadedWorlds>,
    pub registry: Registry,
    pub items: RoomItems,
    pub store: Store,
    pub writer: Writer,
    pub started_at: Instant,
    /// Cancelled to begin a graceful shutdown (a signal, or `/shutdown`).
    pub shutdown: CancellationToken,
    pub connections: Arc<ConnectionCounter>,
    next_conn: AtomicU64,
    /// A running `/shutdown` countdown, cancellable.
    countdown: Mutex<Option<CancellationToken>>,
}

impl Game {
    pub fn new(
        config: ServerConfig,
        worlds: Worlds,
        default_world: Arc<World>,
        store: Store,
        writer: Writer,
    ) -> Game {
        Game {
            config,
            worlds: RwLock::new(LoadedWorlds {
                worlds: Arc::new(worlds),
                default: default_world,
            }),
            registry: Registry::new(),
            items: RoomItems::new(),
            store,
            writer,
            started_at: Instant::now(),
            shutdown: CancellationToken::new(),
            connections: Arc::default(),
            next_conn: AtomicU64::new(1),
            countdown: Mutex::new(None),
        }
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The current set of worlds (a snapshot; a reload swaps in a new one).
    pub fn worlds(&self) -> Arc<Worlds> {
        self.loaded(|loaded| loaded.worlds.clone())
    }

    fn loaded<T>(&self, f: impl FnOnce(&LoadedWorlds) -> T) -> T {
        match self.worlds.read() {
            Ok(loaded) => f(&loaded),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
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
        match self.worlds.write() {
            Ok(mut current) => *current = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
    }

    /// Sends a line to every logged-in connection.
    pub fn announce(&self, text: &str) {
        let line: Arc<str> = Arc::from(text);
        for session in self.registry.sessions() {
            session.outbox.line(line.clone());
        }
    }

    /// Records a new shutdown countdown; false if one is already running.
    pub fn start_countdown(&self, token: CancellationToken) -> bool {
        let Ok(mut current) = self.countdown.lock() else {
            return false;
        };
        if current.as_ref().is_some_and(|t| !t.is_cancelled()) {
            return false;
        }
        *current = Some(token);
        true
    }

    /// Stops a running countdown; false if there was none.
    pub fn cancel_countdown(&self) -> bool {
        let Ok(mut current) = self.countdown.lock() else {
            return false;
        };
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

    /// Fills the room item cache of a world from the database.
    pub async fn load_items(&self, world_id: &str) -> StoreResult<usize> {
        let id = world_id.to_string();
        let rows = self
            .store
            .call(move |conn| characters::room_items(conn, &id))
            .await?;
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

/// Counts open TCP connections, in all and per address, for the limits.
#[derive(Default)]
pub struct ConnectionCounter {
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicU64,
}

impl ConnectionCounter {
    /// Counts a new connection if both limits allow it; the returned guard gives
    /// the place back when dropped.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        max_total: usize,
        max_per_ip: usize,
    ) -> Option<ConnectionSlot> {
        let mut per_ip = self.per_ip.lock().ok()?;
        let here = per_ip.get(&ip).copied().unwrap_or(0);
        if self.total.load(Ordering::Relaxed) as usize >= max_total || here >= max_per_ip {
            return None;
        }
        per_ip.insert(ip, here + 1);
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(ConnectionSlot {
            counter: self.clone(),
            ip,
        })
    }

    /// Open connections now.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed) as usize
    }
}

/// One admitted connection; dropping it frees the place.
pub struct ConnectionSlot {
    counter: Arc<ConnectionCounter>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.counter.total.fetch_sub(1, Ordering::Relaxed);
        if let Ok(mut per_ip) = self.counter.per_ip.lock()
            && let Some(n) = per_ip.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}
