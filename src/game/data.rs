//! Structured game facts for clients that take them beside the text (a MUD
//! client's mapper, its status bar, its chat tabs): who the character is,
//! the room and its exits by number, who and what is here, what is carried,
//! and each line of talk with its channel and talker.
//!
//! These are game-level values. How they travel (GMCP over telnet, for now)
//! is decided by the session's writer, which also leaves out what the client
//! did not ask for.
//!
//! **Invariant:** the game layer knows nothing about the protocols that carry
//! these facts.

use std::sync::Arc;

use crate::auth::Role;
use crate::world::{RoomId, World};

/// One structured fact for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// The character being played.
    CharName { name: Arc<str> },
    /// Account, world and role of the player.
    CharStatus {
        account: String,
        world: Arc<str>,
        role: Role,
    },
    /// The room the character now stands in.
    RoomInfo(Arc<RoomInfo>),
    /// Everyone else in the room, on arrival: players, then NPCs.
    RoomPlayers(Vec<Present>),
    /// Someone came into the room.
    RoomAddPlayer(Present),
    /// Someone left the room.
    RoomRemovePlayer(Arc<str>),
    /// Everything lying in the room or carried.
    Items { place: Place, items: Vec<ItemRef> },
    /// One thing appeared in the room or in the character's hands.
    ItemAdd { place: Place, item: ItemRef },
    /// One thing is gone from the room or the character's hands.
    ItemRemove { place: Place, item: ItemRef },
    /// The server is ending the connection, and why.
    Goodbye(Arc<str>),
    /// The channels the player listens to now (on entering, after on/off).
    ChannelList(Vec<ChannelEntry>),
}

/// One channel, as a client lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelEntry {
    pub name: Arc<str>,
    /// What it is for, in a few words.
    pub caption: Arc<str>,
    /// The word that speaks on it.
    pub command: Arc<str>,
}

/// Someone in a room, as a client lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    pub name: Arc<str>,
    /// An NPC, not a player.
    pub npc: bool,
}

/// Where items are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Room,
    Inventory,
}

/// One item instance, as a client lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    pub id: i64,
    pub name: String,
}

/// A room for a client's map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInfo {
    /// The room's stable number ([`crate::world::room_number`]).
    pub num: u32,
    /// `zone:room`.
    pub id: String,
    pub name: String,
    /// The zone's name.
    pub area: String,
    /// The zone's id.
    pub zone: String,
    /// Exit name (short for directions: `n`, `ne`, `u`, ...) and the number of
    /// the room it leads to, in the world file's order.
    pub exits: Vec<(String, u32)>,
}

impl RoomInfo {
    /// The facts of `room` in `world`; `None` if there is no such room.
    pub fn of(world: &World, room: &RoomId) -> Option<RoomInfo> {
        let here = world.room(room)?;
        let zone = world.zone(room.zone());
        let exits = here
            .exits
            .iter()
            .filter_map(|exit| {
                let to = world.room(&exit.to)?;
                let key = short_direction(&exit.key).unwrap_or(&exit.name);
                Some((key.to_string(), to.num))
            })
            .collect();
        Some(RoomInfo {
            num: here.num,
            id: room.as_str().to_string(),
            name: here.name.clone(),
            area: zone.map_or_else(|| room.zone().to_string(), |z| z.name.clone()),
            zone: room.zone().to_string(),
            exits,
        })
    }
}

/// The compass directions and their short forms, as commands, exits and
/// mappers write them.
pub const DIRECTIONS: [(&str, &str); 10] = [
    ("north", "n"),
    ("northeast", "ne"),
    ("east", "e"),
    ("southeast", "se"),
    ("south", "s"),
    ("southwest", "sw"),
    ("west", "w"),
    ("northwest", "nw"),
    ("up", "u"),
    ("down", "d"),
];

/// The short form mappers use for a direction (`north` and `n` are `n`), or
/// `None` for an exit that is no direction (`door`, `in`).
pub fn short_direction(exit: &str) -> Option<&'static str> {
    direction(exit).map(|(_, short)| short)
}

/// The direction a word names, by full name or short form in any case (`NE`
/// is `northeast`); `None` for any other exit name (`door`, `in`).
pub fn direction_named(word: &str) -> Option<&'static str> {
    direction(word).map(|(long, _)| long)
}

fn direction(word: &str) -> Option<(&'static str, &'static str)> {
    let word = word.trim();
    DIRECTIONS
        .iter()
        .find(|(long, short)| word.eq_ignore_ascii_case(long) || word.eq_ignore_ascii_case(short))
        .copied()
}

/// The kinds of talk: the one list, declared with stored talk
/// ([`crate::store::chat::ChatKind`]). A line's channel as clients see it
/// (`Comm.Channel.Text`) is the kind it is stored as.
pub use crate::store::chat::ChatKind as Channel;

/// A line of talk as one listener receives it: the line shown, and who said
/// it on which channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Talk {
    pub channel: Channel,
    /// The server-wide channel of a line of kind `channel` (`ooc`); `None`
    /// for room talk, whose channel is its kind.
    pub on: Option<Arc<str>>,
    pub talker: Arc<str>,
    /// The line exactly as shown, without colour.
    pub text: Arc<str>,
}

impl Talk {
    pub fn new(channel: Channel, talker: &Arc<str>, text: String) -> Arc<Talk> {
        Arc::new(Talk {
            channel,
            on: None,
            talker: talker.clone(),
            text: Arc::from(text),
        })
    }

    /// A line said on the server-wide channel `name`, by `talker` as this
    /// listener knows them (`Ann`, or `Ann@lanternfall` from another world).
    pub fn on_channel(name: &Arc<str>, talker: String, text: String) -> Arc<Talk> {
        Arc::new(Talk {
            channel: Channel::Channel,
            on: Some(name.clone()),
            talker: Arc::from(talker),
            text: Arc::from(text),
        })
    }

    /// The channel's name as clients see it (`Comm.Channel.Text`): the
    /// server-wide channel's, or the kind of room talk (`say`, `tell`, ...).
    pub fn channel_name(&self) -> &str {
        self.on.as_deref().unwrap_or(self.channel.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_become_the_mappers_short_keys() {
        assert_eq!(short_direction("north"), Some("n"));
        assert_eq!(short_direction("NE"), Some("ne"));
        assert_eq!(short_direction("up"), Some("u"));
        assert_eq!(short_direction("d"), Some("d"));
        assert_eq!(short_direction("trapdoor"), None);
        assert_eq!(short_direction("in"), None);
        assert_eq!(direction_named("NE"), Some("northeast"));
        assert_eq!(direction_named("down"), Some("down"));
        assert_eq!(direction_named("do"), None);
        assert_eq!(direction_named("door"), None);
    }
}
