//! The loaded, validated shape of a world: rooms, exits, items and zones, and the
//! look-ups the game makes on them. A `World` is immutable once built; nothing
//! here reads files, tracks players or touches the database. Every reference in
//! a `World` has been checked by the loader, so look-ups only fail on ids that
//! come from outside (a player's typing, a saved location). Each `World` keeps
//! the documents it was built from ([`WorldSource`]), which is what a change
//! to the world edits and writes back.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::source::WorldSource;

/// A room's full id, `zone:room`. Room ids are scoped by zone: two zones may
/// each have a room called `spawn`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(Arc<str>);

impl RoomId {
    /// Joins a zone id and a room id local to that zone.
    pub fn new(zone: &str, room: &str) -> RoomId {
        RoomId(Arc::from(format!("{zone}:{room}")))
    }

    /// Reads a full `zone:room` id (as saved for a character); `None` when
    /// either half is missing. Whether the room exists is the world's business.
    pub fn parse_full(text: &str) -> Option<RoomId> {
        let (zone, room) = text.split_once(':')?;
        if zone.is_empty() || room.is_empty() || room.contains(':') {
            return None;
        }
        Some(RoomId(Arc::from(text)))
    }

    /// The zone half.
    pub fn zone(&self) -> &str {
        self.0.split_once(':').map_or("", |(zone, _)| zone)
    }

    /// The room half, unique only within its zone.
    pub fn local(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(_, room)| room)
    }

    /// The full id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stable number of a room, as MUD clients' mappers key their maps (GMCP
/// `Room.Info` `num`): the 32-bit FNV-1a hash of `world:zone:room`, cut to 31
/// bits (clients read it as a signed integer) and never 0 (which clients take
/// for "no room"). Two rooms of a world with the same number are a load error.
pub fn room_number(world: &str, room: &RoomId) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let bytes = world
        .bytes()
        .chain(std::iter::once(b':'))
        .chain(room.as_str().bytes());
    let hash = bytes.fold(OFFSET, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(PRIME)
    });
    match hash & 0x7fff_ffff {
        0 => 1,
        n => n,
    }
}

/// A kind of thing that can lie in a room and be picked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Unique in the world: `zone:item` for a zone's items, `item` for global ones.
    pub key: Arc<str>,
    /// The id as written in its file.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Holds other items (`"container": true`): `put <item> in <it>`.
    pub container: bool,
    /// Verbs its script handles (`"commands"`), lowercased: `pull lever`.
    pub commands: Vec<String>,
    /// The file under the world's `scripts/` that brings it to life.
    pub script: Option<String>,
}

/// A way out of a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// As the world file writes it (`North`, `trapdoor`), which is how it is
    /// shown to players.
    pub name: String,
    /// The name lowercased, for matching what players type: case never
    /// matters there, and two exits of a room may not differ only in case.
    pub key: String,
    pub to: RoomId,
    /// The door on this exit, if there is one: declared on this side or on
    /// the way back from the other, the same door either way (one `Arc`).
    pub door: Option<Arc<Door>>,
}

impl Exit {
    pub fn new(name: &str, to: RoomId) -> Exit {
        Exit {
            name: name.to_string(),
            key: name.to_lowercase(),
            to,
            door: None,
        }
    }
}

/// A door on an exit (SPEC §14: `{"to": ..., "door": {...}}`). A door
/// declared on one side is the door of the way back too. What the file says
/// of it is how it starts: its state in play is the game's, kept in the
/// database, and survives reloads and restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Door {
    /// Unique in the world: `zone:room/exit` of the side that declares it
    /// (the exit's lowercase key), which is how its state is stored.
    pub id: Arc<str>,
    /// What players call it (`door`, `iron gate`).
    pub name: String,
    /// As the file starts it.
    pub closed: bool,
    /// As the file starts it; a locked door is closed.
    pub locked: bool,
    /// The world key of the item that locks and unlocks it (`zone:item` or a
    /// global `item`); a door without one has no lock.
    pub key: Option<Arc<str>>,
}

impl Door {
    /// The id of the door declared on exit `exit` of `room`.
    pub fn id_of(room: &RoomId, exit: &str) -> Arc<str> {
        Arc::from(format!("{room}/{}", exit.to_lowercase()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    /// The room's number for clients' maps ([`room_number`]): the same for the
    /// same world, zone and room on every start and every machine.
    pub num: u32,
    pub name: String,
    pub description: String,
    /// In file order, which is the order they are listed to players.
    pub exits: Vec<Exit>,
    /// Keys of the items the file places here, in file order (an item listed
    /// twice is placed twice). Each placement is put into the database once,
    /// the first time a registration sees it (`store::worlds`).
    pub items: Vec<Arc<str>>,
    /// Verbs the room's script handles, lowercased.
    pub commands: Vec<String>,
    /// The file under the world's `scripts/` that brings it to life.
    pub script: Option<String>,
}

/// A character of the world that no player plays (`"npcs"` of a zone file):
/// where it starts, whether it wanders, what its script handles. Where it
/// stands now is the game's business (`game::npcs`), kept in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Npc {
    /// Unique in the world: `zone:npc`.
    pub key: Arc<str>,
    /// The id as written in its file.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Where the file puts it, a room of its own zone.
    pub room: RoomId,
    /// How often it walks to a neighbouring room of its zone, if it does.
    pub wander: Option<std::time::Duration>,
    /// Verbs its script handles, lowercased (`ask`).
    pub commands: Vec<String>,
    pub script: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub description: String,
    pub spawn: RoomId,
    /// In file order.
    pub rooms: Vec<RoomId>,
}

/// How characters of a world get their names (`"naming"` in `world.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Naming {
    /// Players choose (the default).
    #[default]
    Chosen,
    /// The game gives each new character a pronounceable, unique name; only
    /// admins may choose.
    Generated,
}

/// Who may enter a world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Access {
    #[default]
    Open,
    /// Only accounts that were invited (and admins).
    Invite,
}

#[derive(Clone, Debug)]
pub struct World {
    /// The name of the world's directory.
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: Option<String>,
    /// Shown on connect.
    pub greeting: String,
    pub default_spawn: RoomId,
    pub access: Access,
    pub naming: Naming,
    pub active: bool,
    pub inactive_reason: Option<String>,
    /// In `world.json` order.
    pub zones: Vec<Zone>,
    pub rooms: HashMap<RoomId, Room>,
    pub items: HashMap<Arc<str>, Item>,
    /// In zone order, then file order.
    pub npcs: Vec<Npc>,
    /// The text of every script a room, item or NPC names, by file name
    /// (`lamplighter.lua`), read from the world's `scripts/` folder.
    pub scripts: std::collections::BTreeMap<String, Arc<str>>,
    /// The documents this world was built from, with what each file held
    /// when it was read.
    pub(super) source: Arc<WorldSource>,
}

/// Two worlds are equal when they say the same: where their files lie, how
/// the files are laid out and which keys gaslamp ignores are not part of what
/// a world is, so the source is left out.
impl PartialEq for World {
    fn eq(&self, other: &World) -> bool {
        let World {
            id,
            name,
            description,
            version,
            greeting,
            default_spawn,
            access,
            naming,
            active,
            inactive_reason,
            zones,
            rooms,
            items,
            npcs,
            scripts,
            source: _,
        } = self;
        (id, name, description, version, greeting, default_spawn)
            == (
                &other.id,
                &other.name,
                &other.description,
                &other.version,
                &other.greeting,
                &other.default_spawn,
            )
            && (access, naming, active, inactive_reason)
                == (
                    &other.access,
                    &other.naming,
                    &other.active,
                    &other.inactive_reason,
                )
            && (zones, rooms, items) == (&other.zones, &other.rooms, &other.items)
            && (npcs, scripts) == (&other.npcs, &other.scripts)
    }
}

impl World {
    /// The documents this world was built from: a copy of it is what a
    /// change to the world edits, checks and writes.
    pub fn source(&self) -> &Arc<WorldSource> {
        &self.source
    }

    pub fn room(&self, id: &RoomId) -> Option<&Room> {
        self.rooms.get(id)
    }

    pub fn zone(&self, id: &str) -> Option<&Zone> {
        self.zones.iter().find(|zone| zone.id == id)
    }

    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items.get(key)
    }

    /// An NPC by key (`zone:npc`).
    pub fn npc(&self, key: &str) -> Option<&Npc> {
        self.npcs.iter().find(|npc| &*npc.key == key)
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// Finds a room from what someone typed: `zone:room`, or a bare `room`
    /// looked up in `current_zone` first and then across all zones, where it
    /// must be unambiguous. Case-insensitive, but an exact match wins.
    pub fn resolve_room(&self, text: &str, current_zone: Option<&str>) -> Option<RoomId> {
        let text = text.trim();
        if let Some((zone, room)) = text.split_once(':') {
            let zone = self
                .zones
                .iter()
                .find(|z| same_ignoring_case(&z.id, zone))?;
            return find_in_zone(zone, room);
        }
        if let Some(zone) = current_zone.and_then(|id| self.zone(id))
            && let Some(found) = find_in_zone(zone, text)
        {
            return Some(found);
        }
        let mut found = self
            .zones
            .iter()
            .filter_map(|zone| find_in_zone(zone, text));
        match (found.next(), found.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }
}

impl World {
    /// The `n` rooms whose ids come nearest to what someone typed (for "no
    /// such room" answers): an id containing the text first, then by edit
    /// distance to the local id (or the full id, when `zone:room` was
    /// typed), ties by id.
    pub fn nearest_rooms(&self, typed: &str, n: usize) -> Vec<RoomId> {
        let typed = typed.trim().to_lowercase();
        let chars: Vec<char> = typed.chars().collect();
        let full = typed.contains(':');
        let mut ranked: Vec<(usize, &RoomId)> = self
            .rooms
            .keys()
            .map(|id| {
                let compared = if full { id.as_str() } else { id.local() };
                let compared = compared.to_lowercase();
                let score = if !typed.is_empty() && compared.contains(&typed) {
                    0
                } else {
                    let other: Vec<char> = compared.chars().collect();
                    1 + super::suggest::distance(&chars, &other)
                };
                (score, id)
            })
            .collect();
        ranked.sort();
        ranked
            .into_iter()
            .take(n)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

/// A room of `zone` by local id: the exact id if there is one, else the only
/// id equal ignoring case.
fn find_in_zone(zone: &Zone, room: &str) -> Option<RoomId> {
    if let Some(exact) = zone.rooms.iter().find(|id| id.local() == room) {
        return Some(exact.clone());
    }
    let mut folded = zone
        .rooms
        .iter()
        .filter(|id| same_ignoring_case(id.local(), room));
    match (folded.next(), folded.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

/// Compares two ids the way players type them: case does not matter.
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}
