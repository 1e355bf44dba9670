//! Who is online and where they stand, in memory.
//!
//! The registry maps logged-in connections to [`Session`] handles, playing
//! connections to [`Player`] handles, characters to the connection playing them,
//! and rooms to their occupants. A room's occupant list is
//! an immutable snapshot (`Arc<[..]>`) replaced whole when someone enters or leaves,
//! so saying something to a room clones one `Arc` out of the map, lets go of the map
//! and then queues the line to each occupant.
//!
//! **Invariant:** no dashmap guard is ever held across an `.await`; none of these
//! methods is async, and none returns a guard.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use super::queue;
use dashmap::DashMap;
use parking_lot::Mutex;

use super::client::ClientProfile;
use super::data::{Data, Talk};
use super::outbox::{Message, Outbox};
use crate::auth::Role;
use crate::world::RoomId;

/// Identifies one TCP connection for its whole life.
pub type ConnId = u64;

/// A room within a world.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomKey {
    pub world: Arc<str>,
    pub room: RoomId,
}

impl RoomKey {
    pub fn new(world: &Arc<str>, room: &RoomId) -> RoomKey {
        RoomKey {
            world: world.clone(),
            room: room.clone(),
        }
    }
}

/// Orders another connection's task to end; sent over its control queue and
/// obeyed in every state, sub-prompts included. (Moving a character needs no
/// order: whoever moves it does so through [`Registry::move_to`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Another connection took this character over: say so and close, quietly.
    TakenOver,
    /// Close the connection after showing `message`; `why` is for the log.
    Kick { why: Removal, message: String },
    /// An upgrade: stand still at the next wait for input and hand in the
    /// connection's state (`game::handoff`); the only order that does not
    /// end the connection.
    Freeze,
}

/// Why a connection was closed from elsewhere, in the words of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// An admin's `/kick`.
    Kicked,
    /// The account was banned (in the game or from the shell).
    Banned,
    /// The account was deleted.
    Deleted,
    /// The session's row expired.
    SessionExpired,
    /// The guest account expired.
    GuestExpired,
    /// The account logged in again on a server that allows one session.
    LoggedInElsewhere,
}

impl Removal {
    /// What happened, as the log says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Removal::Kicked => "kicked by an admin",
            Removal::Banned => "the account was banned",
            Removal::Deleted => "the account was deleted",
            Removal::SessionExpired => "the session expired",
            Removal::GuestExpired => "the guest account expired",
            Removal::LoggedInElsewhere => "the account logged in from another connection",
        }
    }
}

/// How a connection reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Telnet over plain TCP.
    Plain,
    /// Telnet over TLS.
    Tls,
    /// Telnet over a WebSocket.
    WebSocket,
}

impl Transport {
    /// Every transport, in a fixed order.
    pub const ALL: [Transport; 3] = [Transport::Plain, Transport::Tls, Transport::WebSocket];

    /// This transport's place in [`Transport::ALL`].
    pub fn index(self) -> usize {
        match self {
            Transport::Plain => 0,
            Transport::Tls => 1,
            Transport::WebSocket => 2,
        }
    }

    /// The name recorded on the session row and shown by `/sessions`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Plain => "plain",
            Transport::Tls => "tls",
            Transport::WebSocket => "websocket",
        }
    }
}

/// Who is at the other end of a connection: an address and a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub addr: SocketAddr,
    pub transport: Transport,
}

/// A logged-in connection, in the character menu or playing. Its row in the
/// `sessions` table lives within this entry's life.
#[derive(Debug)]
pub struct Session {
    pub conn_id: ConnId,
    pub session_id: String,
    pub user_id: i64,
    pub account: String,
    /// The account's role, kept current: a role change reaches live sessions at
    /// once, so a demoted admin loses the commands with the next line typed.
    role: AtomicU8,
    pub peer: Peer,
    /// What the client is and can show (its name, width, colour, ...).
    client: Arc<ClientProfile>,
    pub outbox: Outbox,
    control: queue::Sender<Control>,
    pub connected_at: Instant,
    /// Milliseconds after `connected_at` of the last line typed.
    last_input_ms: AtomicU64,
    /// The character being played, if any.
    character: Mutex<Option<Arc<str>>>,
}

/// Everything needed to make a [`Session`].
pub struct SessionInit {
    pub conn_id: ConnId,
    pub session_id: String,
    pub user_id: i64,
    pub account: String,
    pub role: Role,
    pub peer: Peer,
    pub client: Arc<ClientProfile>,
    pub outbox: Outbox,
    pub control: queue::Sender<Control>,
}

impl Session {
    pub fn new(init: SessionInit) -> Arc<Session> {
        Session::made(init, Instant::now(), 0)
    }

    fn made(init: SessionInit, connected_at: Instant, last_input_ms: u64) -> Arc<Session> {
        Arc::new(Session {
            conn_id: init.conn_id,
            session_id: init.session_id,
            user_id: init.user_id,
            account: init.account,
            role: AtomicU8::new(role_index(init.role)),
            peer: init.peer,
            client: init.client,
            outbox: init.outbox,
            control: init.control,
            connected_at,
            last_input_ms: AtomicU64::new(last_input_ms),
            character: Mutex::new(None),
        })
    }

    /// A session an upgrade's old image had open: connected `connected`
    /// ago and idle for `idle`, so listings read as if nothing happened.
    pub fn resumed(
        init: SessionInit,
        connected: std::time::Duration,
        idle: std::time::Duration,
    ) -> Arc<Session> {
        let now = Instant::now();
        let connected_at = now.checked_sub(connected).unwrap_or(now);
        let active = connected.saturating_sub(idle).as_millis() as u64;
        Session::made(init, connected_at, active)
    }

    /// The columns text is shaped to for this client: its window's width
    /// (telnet NAWS) within the wrapping limits, 80 until it says; `None` for
    /// a client that wraps lines itself.
    pub fn width(&self) -> Option<usize> {
        crate::text::wrap::line_width(self.client.width())
    }

    /// The account's role now.
    pub fn role(&self) -> Role {
        let index = usize::from(self.role.load(Ordering::Acquire));
        Role::ALL.get(index).copied().unwrap_or(Role::Player)
    }

    /// Gives the session the account's new role.
    pub fn set_role(&self, role: Role) {
        self.role.store(role_index(role), Ordering::Release);
    }

    /// Notes that the connection sent a line now.
    pub fn touch(&self) {
        let ms = self.connected_at.elapsed().as_millis() as u64;
        self.last_input_ms.store(ms, Ordering::Relaxed);
    }

    /// How long since the connection last sent a line.
    pub fn idle(&self) -> std::time::Duration {
        let last = std::time::Duration::from_millis(self.last_input_ms.load(Ordering::Relaxed));
        self.connected_at.elapsed().saturating_sub(last)
    }

    /// The client's name (and version, where it gave one) or "unknown".
    pub fn client(&self) -> String {
        self.client.name()
    }

    /// Records the client's name.
    pub fn set_client(&self, name: &str) {
        self.client.set_name(name);
    }

    /// What the client is and can show.
    pub fn profile(&self) -> &Arc<ClientProfile> {
        &self.client
    }

    /// Queues structured data, if the client takes any.
    pub fn give(&self, data: &Arc<Data>) {
        if self.client.structured() {
            self.outbox.send(Message::Data(data.clone()));
        }
    }

    /// The character being played, if any.
    pub fn character(&self) -> Option<Arc<str>> {
        self.character.lock().clone()
    }

    fn set_character(&self, name: Option<Arc<str>>) {
        *self.character.lock() = name;
    }

    /// Orders the connection closed with `message`, for the reason `why`;
    /// never waits.
    pub fn kick(&self, why: Removal, message: impl Into<String>) {
        self.order(Control::Kick {
            why,
            message: message.into(),
        });
    }

    /// Sends the connection's task an order; if its queue is full the
    /// connection is ended outright, so an order is never lost.
    pub fn order(&self, order: Control) {
        if self.control.try_send(order).is_err() {
            self.outbox.dead().cancel();
        }
    }
}

fn role_index(role: Role) -> u8 {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0) as u8
}

/// A connection that is playing a character. Who is behind it (account, role,
/// address, queues) is its [`Session`].
#[derive(Debug)]
pub struct Player {
    pub conn_id: ConnId,
    pub character_id: i64,
    pub name: Arc<str>,
    pub world: Arc<str>,
    pub session: Arc<Session>,
    /// The room it stands in. Every change of a player's place in the room
    /// map is made holding this lock, so two movers (the player walking, an
    /// admin teleporting it) cannot leave it in two rooms.
    room: Mutex<RoomId>,
    /// Held by the game's move actions around the registry step and the
    /// telling of it, so observers hear of one player's moves in the order
    /// they were made. Taken before `room`, never while holding it.
    moving: Mutex<()>,
}

/// Everything needed to make a [`Player`].
pub struct PlayerInit {
    pub character_id: i64,
    pub name: Arc<str>,
    pub world: Arc<str>,
    pub session: Arc<Session>,
    pub room: RoomId,
}

impl Player {
    pub fn new(init: PlayerInit) -> Arc<Player> {
        Arc::new(Player {
            conn_id: init.session.conn_id,
            character_id: init.character_id,
            name: init.name,
            world: init.world,
            session: init.session,
            room: Mutex::new(init.room),
            moving: Mutex::new(()),
        })
    }

    /// The account playing this character.
    pub fn user_id(&self) -> i64 {
        self.session.user_id
    }

    /// The account's role now.
    pub fn role(&self) -> Role {
        self.session.role()
    }

    /// The room the character stands in now.
    pub fn room(&self) -> RoomId {
        self.room.lock().clone()
    }

    pub fn room_key(&self) -> RoomKey {
        RoomKey::new(&self.world, &self.room())
    }

    /// One move of this player at a time, its telling included (see
    /// `game::moves`).
    pub(super) fn moving(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.moving.lock()
    }

    /// How long since the player last typed something.
    pub fn idle(&self) -> std::time::Duration {
        self.session.idle()
    }

    /// Queues a line for this player; false if the connection is gone or too slow.
    pub fn tell(&self, text: impl Into<Arc<str>>) -> bool {
        self.session.outbox.line(text)
    }

    /// Queues styled text for this player.
    pub fn tell_styled(&self, text: crate::text::Styled) -> bool {
        self.session.outbox.styled(text)
    }

    /// Queues a line of talk for this player.
    pub fn hear(&self, talk: &Arc<Talk>) -> bool {
        self.session.outbox.send(Message::Talk(talk.clone()))
    }

    /// Queues structured data for this player, if its client takes any.
    pub fn give(&self, data: Data) {
        self.session.give(&Arc::new(data));
    }
}

type Occupants = Arc<[Arc<Player>]>;

/// The in-memory map of who is online and where.
#[derive(Default)]
pub struct Registry {
    sessions: DashMap<ConnId, Arc<Session>>,
    players: DashMap<ConnId, Arc<Player>>,
    by_character: DashMap<i64, ConnId>,
    rooms: DashMap<RoomKey, Occupants>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Records a logged-in connection.
    pub fn log_in(&self, session: Arc<Session>) {
        self.sessions.insert(session.conn_id, session);
    }

    /// Forgets a logged-in connection (it must have left the game already).
    pub fn log_out(&self, conn_id: ConnId) -> Option<Arc<Session>> {
        self.sessions.remove(&conn_id).map(|(_, session)| session)
    }

    /// Every logged-in connection, oldest first.
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        let mut list: Vec<Arc<Session>> = self.sessions.iter().map(|s| s.value().clone()).collect();
        list.sort_by_key(|s| s.conn_id);
        list
    }

    /// The logged-in connections of one account.
    pub fn sessions_of(&self, user_id: i64) -> Vec<Arc<Session>> {
        self.sessions()
            .into_iter()
            .filter(|s| s.user_id == user_id)
            .collect()
    }

    /// Puts a player into the game in its current room. If another connection was
    /// playing the same character, that connection is removed from the game and
    /// returned (the caller tells it it was taken over), and the newcomer stands
    /// where the old one stood.
    ///
    /// The character's entry in `by_character` stays locked for the whole step,
    /// so entries of one character happen one after another: whoever enters
    /// next finds this player already in the game and takes it over. (Released
    /// between the owner's change and the player's arrival, a third connection
    /// could find the owner changed but nobody to take over, and both would
    /// play on.)
    pub fn enter(&self, player: Arc<Player>) -> Option<Arc<Player>> {
        let mut owner = self
            .by_character
            .entry(player.character_id)
            .or_insert(player.conn_id);
        let previous = (*owner != player.conn_id)
            .then(|| self.players.remove(&*owner))
            .flatten()
            .map(|(_, old)| old);
        *owner = player.conn_id;
        let mut room = player.room.lock();
        if let Some(old) = &previous {
            let old_room = old.room.lock();
            self.remove_from_room(&RoomKey::new(&old.world, &old_room), old.conn_id);
            *room = old_room.clone();
        }
        player.session.set_character(Some(player.name.clone()));
        self.players.insert(player.conn_id, player.clone());
        self.add_to_room(&RoomKey::new(&player.world, &room), player.clone());
        drop(room);
        drop(owner);
        previous
    }

    /// Moves a player to another room of its world; returns the room it left.
    /// Does nothing (`None`) for a player no longer in the game (taken over, or
    /// gone a moment ago).
    pub fn move_to(&self, player: &Arc<Player>, to: &RoomId) -> Option<RoomId> {
        let mut room = player.room.lock();
        if !self.players.contains_key(&player.conn_id) {
            return None;
        }
        self.remove_from_room(&RoomKey::new(&player.world, &room), player.conn_id);
        let left = std::mem::replace(&mut *room, to.clone());
        self.add_to_room(&RoomKey::new(&player.world, to), player.clone());
        Some(left)
    }

    /// Takes a connection out of the game. Returns the player if it was still
    /// there (false after a takeover, whose newcomer keeps the character).
    pub fn leave(&self, conn_id: ConnId) -> Option<Arc<Player>> {
        let (_, player) = self.players.remove(&conn_id)?;
        player.session.set_character(None);
        self.by_character
            .remove_if(&player.character_id, |_, owner| *owner == conn_id);
        let room = player.room.lock();
        self.remove_from_room(&RoomKey::new(&player.world, &room), conn_id);
        drop(room);
        Some(player)
    }

    /// The players in a room, as a snapshot.
    pub fn occupants(&self, room: &RoomKey) -> Occupants {
        self.rooms
            .get(room)
            .map(|entry| entry.value().clone())
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// Sends a line to everyone in a room but the connections in `except`.
    /// Never waits.
    pub fn say_to_room(&self, room: &RoomKey, line: &Arc<str>, except: &[ConnId]) {
        for player in self.occupants(room).iter() {
            if !except.contains(&player.conn_id) {
                player.session.outbox.line(line.clone());
            }
        }
    }

    /// Sends a line of talk to everyone in a room but the connections in
    /// `except`. Never waits.
    pub fn talk_to_room(&self, room: &RoomKey, talk: &Arc<Talk>, except: &[ConnId]) {
        for player in self.occupants(room).iter() {
            if !except.contains(&player.conn_id) {
                player.hear(talk);
            }
        }
    }

    /// Sends structured data to everyone in a room whose client takes it, but
    /// the connections in `except`. Never waits.
    pub fn data_to_room(&self, room: &RoomKey, data: Data, except: &[ConnId]) {
        let data = Arc::new(data);
        for player in self.occupants(room).iter() {
            if !except.contains(&player.conn_id) {
                player.session.give(&data);
            }
        }
    }

    /// The connection playing a character, if any.
    pub fn by_character(&self, character_id: i64) -> Option<Arc<Player>> {
        let conn_id = *self.by_character.get(&character_id)?;
        self.get(conn_id)
    }

    pub fn get(&self, conn_id: ConnId) -> Option<Arc<Player>> {
        self.players.get(&conn_id).map(|p| p.value().clone())
    }

    /// Every player, optionally only those of one world, sorted by name.
    pub fn players(&self, world: Option<&str>) -> Vec<Arc<Player>> {
        let mut list: Vec<Arc<Player>> = self
            .players
            .iter()
            .filter(|p| world.is_none_or(|w| p.world.as_ref() == w))
            .map(|p| p.value().clone())
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// How many connections are playing.
    pub fn len(&self) -> usize {
        self.players.len()
    }

    pub fn is_empty(&self) -> bool {
        self.players.is_empty()
    }

    fn add_to_room(&self, room: &RoomKey, player: Arc<Player>) {
        let mut entry = self
            .rooms
            .entry(room.clone())
            .or_insert_with(|| Arc::from(Vec::new()));
        let mut next: Vec<Arc<Player>> = entry.value().iter().cloned().collect();
        next.push(player);
        *entry.value_mut() = Arc::from(next);
    }

    fn remove_from_room(&self, room: &RoomKey, conn_id: ConnId) {
        let emptied = match self.rooms.get_mut(room) {
            Some(mut entry) => {
                let next: Vec<Arc<Player>> = entry
                    .value()
                    .iter()
                    .filter(|p| p.conn_id != conn_id)
                    .cloned()
                    .collect();
                let empty = next.is_empty();
                *entry.value_mut() = Arc::from(next);
                empty
            }
            None => false,
        };
        if emptied {
            self.rooms
                .remove_if(room, |_, occupants| occupants.is_empty());
        }
    }
}

/// A player in world `w` whose queues nobody reads, for unit tests.
#[cfg(test)]
pub(crate) fn test_player(
    conn_id: ConnId,
    character_id: i64,
    name: &str,
    room: RoomId,
) -> Arc<Player> {
    test_player_in("w", conn_id, character_id, name, room)
}

/// A player in world `world` whose queues nobody reads, for unit tests.
#[cfg(test)]
pub(crate) fn test_player_in(
    world: &str,
    conn_id: ConnId,
    character_id: i64,
    name: &str,
    room: RoomId,
) -> Arc<Player> {
    let (outbox, queue) = Outbox::new(16, tokio_util::sync::CancellationToken::new());
    std::mem::forget(queue);
    let (control, orders) = queue::bounded(4);
    std::mem::forget(orders);
    let session = Session::new(SessionInit {
        conn_id,
        session_id: String::new(),
        user_id: 1,
        account: "a".into(),
        role: Role::Player,
        peer: Peer {
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            transport: Transport::Plain,
        },
        client: Arc::default(),
        outbox,
        control,
    });
    Player::new(PlayerInit {
        character_id,
        name: Arc::from(name),
        world: world.into(),
        session,
        room,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(conn_id: ConnId, character_id: i64, room: &str) -> Arc<Player> {
        test_player(
            conn_id,
            character_id,
            &format!("P{conn_id}"),
            RoomId::new("z", room),
        )
    }

    fn key(room: &str) -> RoomKey {
        RoomKey::new(&Arc::from("w"), &RoomId::new("z", room))
    }

    fn names(registry: &Registry, room: &str) -> Vec<ConnId> {
        registry
            .occupants(&key(room))
            .iter()
            .map(|p| p.conn_id)
            .collect()
    }

    #[test]
    fn players_enter_move_and_leave_rooms() {
        let registry = Registry::new();
        let a = player(1, 10, "hall");
        let b = player(2, 20, "hall");
        assert!(registry.enter(a.clone()).is_none());
        assert!(registry.enter(b.clone()).is_none());
        assert_eq!(names(&registry, "hall"), [1, 2]);
        assert_eq!(
            registry.move_to(&a, &RoomId::new("z", "yard")),
            Some(RoomId::new("z", "hall"))
        );
        assert_eq!(names(&registry, "hall"), [2]);
        assert_eq!(names(&registry, "yard"), [1]);
        assert!(registry.leave(1).is_some());
        assert!(names(&registry, "yard").is_empty());
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn a_second_connection_takes_the_character_over_where_it_stood() {
        let registry = Registry::new();
        let old = player(1, 10, "hall");
        registry.enter(old.clone());
        registry.move_to(&old, &RoomId::new("z", "yard"));
        let new = player(2, 10, "hall");
        let previous = registry.enter(new.clone()).expect("took over");
        assert_eq!(previous.conn_id, 1);
        assert_eq!(new.room(), RoomId::new("z", "yard"));
        assert_eq!(names(&registry, "yard"), [2]);
        // The old connection's own clean-up must not remove the newcomer.
        assert!(registry.leave(1).is_none());
        assert_eq!(registry.by_character(10).map(|p| p.conn_id), Some(2));
        assert_eq!(registry.move_to(&old, &RoomId::new("z", "hall")), None);
        assert_eq!(names(&registry, "yard"), [2]);
    }

    #[test]
    fn movers_on_two_threads_leave_a_player_in_exactly_one_room() {
        let registry = Arc::new(Registry::new());
        let p = player(1, 10, "r0");
        registry.enter(p.clone());
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let (registry, p) = (registry.clone(), p.clone());
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        registry.move_to(&p, &RoomId::new("z", &format!("r{}", (i + t) % 7)));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("mover");
        }
        let rooms: Vec<String> = (0..7)
            .map(|i| format!("r{i}"))
            .filter(|room| names(&registry, room) == [1])
            .collect();
        assert_eq!(rooms, [p.room().local().to_string()]);
    }

    /// Issue 15: with A playing, B and C entering together could both stay
    /// in the game, C missing B: B's new owner entry was visible before B was
    /// a player, so C found nobody to take over and both went on playing.
    #[test]
    fn three_connections_entering_one_character_leave_it_played_once() {
        for round in 0..2000 {
            let registry = Arc::new(Registry::new());
            registry.enter(player(1, 10, "hall"));
            let start = Arc::new(std::sync::Barrier::new(2));
            let entering: Vec<_> = [2, 3]
                .into_iter()
                .map(|conn_id| {
                    let (registry, start) = (registry.clone(), start.clone());
                    std::thread::spawn(move || {
                        let newcomer = player(conn_id, 10, "hall");
                        start.wait();
                        registry.enter(newcomer).map(|old| old.conn_id)
                    })
                })
                .collect();
            let mut displaced: Vec<ConnId> = entering
                .into_iter()
                .filter_map(|thread| thread.join().expect("entering thread"))
                .collect();
            let playing: Vec<ConnId> = registry
                .players(None)
                .iter()
                .filter(|p| p.character_id == 10)
                .map(|p| p.conn_id)
                .collect();
            assert_eq!(playing.len(), 1, "round {round}: played on {playing:?}");
            assert_eq!(names(&registry, "hall"), playing, "round {round}");
            assert_eq!(
                registry.by_character(10).map(|p| p.conn_id),
                playing.first().copied(),
                "round {round}"
            );
            // Each of the two that lost the character was handed back once, to
            // be told it was taken over.
            displaced.extend(&playing);
            displaced.sort_unstable();
            assert_eq!(displaced, [1, 2, 3], "round {round}");
        }
    }

    #[test]
    fn a_session_role_change_is_seen_at_once() {
        let p = player(1, 10, "hall");
        assert_eq!(p.role(), Role::Player);
        p.session.set_role(Role::Admin);
        assert_eq!(p.role(), Role::Admin);
    }
}
