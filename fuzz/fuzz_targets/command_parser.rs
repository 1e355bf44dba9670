//! The command parser and the command table's matching (`command::parse`,
//! SPEC §4), against a model written from the matching order the module
//! describes: any line, for any role, names what the model says — nothing,
//! a command and its trimmed argument text, a command the role may not use,
//! the commands an ambiguous prefix starts, or nothing known. Beside it, the
//! matching a command's argument goes through: `split_word`, an exit of a
//! room of the shipped world (`find_exit`), an item by name
//! (`match_items`), a room by id (`World::resolve_room`), and a duration
//! (`config::parse_duration`).
//!
//! Input: one byte (the role, and which room of the shipped world), then the
//! line as UTF-8 (invalid bytes replaced).

#![no_main]

use std::sync::Arc;

use gaslamp::auth::Role;
use gaslamp::command::common::find_exit;
use gaslamp::command::common::match_items;
use gaslamp::command::parse::{lookup_as, split_word};
use gaslamp::command::{COMMANDS, Parsed, Spec, is_command_word, parse_as};
use gaslamp::config::parse_duration;
use gaslamp::world::{Item, Room, World};
use libfuzzer_sys::fuzz_target;

fn world() -> &'static Arc<World> {
    gaslamp_fuzz::shipped_world()
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, text)) = data.split_first() else {
        return;
    };
    let role = Role::ALL[usize::from(choice & 3)];
    let line = String::from_utf8_lossy(text);
    check_parse(&line, role);
    check_split_word(&line);
    let world = world();
    let mut rooms: Vec<&Room> = world.rooms.values().collect();
    rooms.sort_by(|a, b| a.id.cmp(&b.id));
    let room = rooms[usize::from(choice >> 2) % rooms.len()];
    check_exit(room, &line);
    let items: Vec<&Item> = world.items.values().collect();
    for item in match_items(&items, &line) {
        assert!(items.iter().any(|i| i.key == item.key));
    }
    if let Some(id) = world.resolve_room(&line, Some(room.id.zone())) {
        assert!(
            world.room(&id).is_some(),
            "{line:?} resolved to {id}, no room"
        );
    }
    match parse_duration(&line) {
        Ok(duration) => assert!(!duration.is_zero(), "{line:?} read as no time at all"),
        Err(message) => assert!(message.contains("is not"), "{message}"),
    }
});

/// What the model says a line names.
#[derive(Debug, PartialEq)]
enum Named<'l> {
    Empty,
    Command(&'static str, &'l str),
    Forbidden(&'static str),
    Ambiguous(Vec<&'static str>),
    Unknown,
}

fn named<'l>(parsed: Parsed<'l>) -> Named<'l> {
    match parsed {
        Parsed::Empty => Named::Empty,
        Parsed::Command { spec, args } => Named::Command(spec.name, args),
        Parsed::Forbidden(spec) => Named::Forbidden(spec.name),
        Parsed::Ambiguous(names) => Named::Ambiguous(names),
        // `parse_as` adds no words of a game (channels are one): a line it
        // reads as a channel is a finding.
        Parsed::Channel { name, .. } => panic!("{name:?} read as a channel with no channels"),
        Parsed::Social { name, .. } => panic!("{name:?} read as a social with no socials"),
        Parsed::Unknown => Named::Unknown,
    }
}

/// SPEC §4's order: an optional `/`; `'` and `:` stand for say and emote;
/// else the first word (up to whitespace) is matched without regard to case
/// — exactly against every command word, player commands first, a command
/// above the role being forbidden; then as the prefix of the name of
/// exactly one command the role may use that may be shortened.
fn model(line: &str, role: Role) -> Named<'_> {
    let line = line.trim();
    let line = line.strip_prefix('/').unwrap_or(line);
    let (word, args) = if let Some(rest) = line.strip_prefix('\'') {
        ("'", rest)
    } else if let Some(rest) = line.strip_prefix(':') {
        (":", rest)
    } else {
        let end = line.find(char::is_whitespace).unwrap_or(line.len());
        (&line[..end], &line[end..])
    };
    if word.is_empty() {
        return Named::Empty;
    }
    let args = args.trim();
    let word = word.to_lowercase();
    let exact = |admin: bool| {
        COMMANDS.iter().find(|spec| {
            spec.is_admin() == admin && (spec.name == word || spec.aliases.contains(&word.as_str()))
        })
    };
    if let Some(spec) = exact(false).or_else(|| exact(true)) {
        return if spec.role > role {
            Named::Forbidden(spec.name)
        } else {
            Named::Command(spec.name, args)
        };
    }
    let starts: Vec<&'static Spec> = COMMANDS
        .iter()
        .copied()
        .filter(|spec| spec.abbreviable && spec.role <= role && spec.name.starts_with(&word))
        .collect();
    match starts.as_slice() {
        [] => Named::Unknown,
        [only] => Named::Command(only.name, args),
        many => Named::Ambiguous(many.iter().map(|spec| spec.name).collect()),
    }
}

fn check_parse(line: &str, role: Role) {
    let parsed = parse_as(line, role);
    if let Parsed::Command { args, .. } = &parsed {
        let inside = line.as_bytes().as_ptr_range();
        let start = args.as_ptr();
        assert!(
            inside.contains(&start) || args.is_empty(),
            "the argument text is not the line's own"
        );
    }
    assert_eq!(named(parsed), model(line, role), "{line:?} as {role}");
    // A word that names a command exactly is one for every role, and no
    // character may be called by it.
    let first = line.split(char::is_whitespace).find(|w| !w.is_empty());
    if let Some(word) = first {
        let lower = word.to_lowercase();
        let exact = COMMANDS
            .iter()
            .any(|spec| spec.name == lower || spec.aliases.contains(&lower.as_str()));
        assert_eq!(is_command_word(word), exact, "{word:?}");
        if exact {
            assert!(lookup_as(word, Role::Player).is_ok(), "{word:?}");
        }
    }
}

/// The first word (no whitespace in it) and the rest, both trimmed, both the
/// text's own.
fn check_split_word(text: &str) {
    let (word, rest) = split_word(text);
    assert!(!word.contains(char::is_whitespace), "{word:?}");
    assert_eq!(rest, rest.trim());
    let trimmed = text.trim();
    assert!(trimmed.starts_with(word), "{text:?} split as {word:?}");
    if word.is_empty() {
        assert!(trimmed.is_empty() && rest.is_empty(), "{text:?}");
    } else {
        assert_eq!(trimmed[word.len()..].trim(), rest, "{text:?}");
    }
}

/// An exit found is the room's own, and the exit's exact name finds it.
fn check_exit(room: &Room, wanted: &str) {
    if let Some(exit) = find_exit(room, wanted) {
        assert!(room.exits.iter().any(|e| std::ptr::eq(e, exit)));
    }
    for exit in &room.exits {
        let found = find_exit(room, &exit.name).map(|e| e.key.as_str());
        assert_eq!(found, Some(exit.key.as_str()), "exit {:?}", exit.name);
    }
}
