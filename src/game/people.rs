//! Who is where, as handlers ask for it: the players of a world, the people in
//! a room, the logged-in connections; and telling a room something.
//!
//! These answer from the registry's snapshots and never wait: a room's
//! occupants are one `Arc` cloned out of the map, and a line to a room is
//! queued to each occupant's outbox.

use std::sync::Arc;

use super::Game;
use super::data::Talk;
use super::registry::{ConnId, Player, RoomKey, Session};

impl Game {
    /// The players of one world, sorted by name.
    pub fn players_in(&self, world: &str) -> Vec<Arc<Player>> {
        self.registry().players(Some(world))
    }

    /// Every player of every world, sorted by name.
    pub fn all_players(&self) -> Vec<Arc<Player>> {
        self.registry().players(None)
    }

    /// The players standing in a room, as a snapshot.
    pub fn occupants(&self, room: &RoomKey) -> Arc<[Arc<Player>]> {
        self.registry().occupants(room)
    }

    /// Every logged-in connection, in the menu or playing, oldest first.
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        self.registry().sessions()
    }

    /// Sends a line to everyone in a room but the connections in `except`.
    pub fn tell_room(&self, room: &RoomKey, line: &str, except: &[ConnId]) {
        self.registry().say_to_room(room, &Arc::from(line), except);
    }

    /// Sends a line of talk to everyone in a room but the connections in
    /// `except` (the crowded room's path: one snapshot, one queue push each).
    pub fn talk_to_room(&self, room: &RoomKey, talk: &Arc<Talk>, except: &[ConnId]) {
        self.registry().talk_to_room(room, talk, except);
    }
}
