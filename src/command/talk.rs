//! Talking: `say` and `emote` to the room, `whisper` to one person in it, `tell`
//! to anyone in the world, `yell` to the room and its neighbours.
//!
//! A line is cleaned ([`crate::text::sanitize`]), given its place in the
//! writer's queue ([`reserve_record`]; a full queue refuses it with the records'
//! busy sentence before anyone hears it), delivered to everyone who should hear
//! it at once, and only then handed to the writer, so nobody waits for the disk
//! and nothing anybody heard is lost. Every kind is stored in `chat_messages`; whispers and tells carry
//! their recipient, which is what keeps them out of other people's `history`.

use std::sync::Arc;

use super::Ctx;
use super::common::{direction_named, same_name, tell_room};
use super::parse::split_word;
use crate::game::{Player, RoomKey};
use crate::replies;
use crate::store::now_iso;
use crate::store::writer::{ChatKind, ChatRow, ChatSlot, WriterFull};
use crate::text::sanitize;
use crate::world::{RoomId, World};

/// `say <text>`: the speaker sees `You say, "..."`, the others `<Name> says, "..."`.
pub async fn say(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Say what?");
    }
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    let me = ctx.me;
    ctx.reply(format!("You say, \"{text}\""));
    let line: Arc<str> = Arc::from(format!("{} says, \"{text}\"", me.name));
    ctx.game
        .registry()
        .say_to_room(&me.room_key(), &line, &[me.conn_id]);
    store_chat(ctx, record, ChatKind::Say, text, None);
}

/// `emote <text>`: everyone in the room, the actor included, sees `<Name> <text>`.
pub async fn emote(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Emote what?");
    }
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    let me = ctx.me;
    let line: Arc<str> = Arc::from(format!("{} {text}", me.name));
    ctx.game.registry().say_to_room(&me.room_key(), &line, &[]);
    store_chat(ctx, record, ChatKind::Emote, text, None);
}

/// `whisper <name> <text>`: the target hears the words, the rest of the room only
/// sees that something was whispered.
pub async fn whisper(ctx: &Ctx<'_>, argument: &str) {
    let here = ctx.game.registry().occupants(&ctx.me.room_key());
    let (to, raw) = match addressee(&here, argument) {
        Ok(found) => found,
        Err(name) => return ctx.reply(format!("{} isn't here.", sanitize(name))),
    };
    if to.character_id == ctx.me.character_id {
        return ctx.reply("You can't whisper to yourself.");
    }
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Whisper what?");
    }
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    let me = ctx.me;
    ctx.reply(format!("You whisper to {}, \"{text}\"", to.name));
    to.tell(format!("{} whispers to you, \"{text}\"", me.name));
    let seen = format!("{} whispers something to {}.", me.name, to.name);
    tell_room(ctx, &seen, &[to.conn_id]);
    store_chat(ctx, record, ChatKind::Whisper, text, Some(to.character_id));
}

/// `tell <name> <text>`: a private line to anyone playing in the same world.
pub async fn tell(ctx: &Ctx<'_>, argument: &str) {
    let online = ctx.game.registry().players(Some(&ctx.me.world));
    let (to, raw) = match addressee(&online, argument) {
        Ok(found) => found,
        Err(name) => return ctx.reply(format!("{} isn't online.", sanitize(name))),
    };
    if to.character_id == ctx.me.character_id {
        return ctx.reply("You can't tell yourself anything.");
    }
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Tell them what?");
    }
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    ctx.reply(format!("You tell {}, \"{text}\"", to.name));
    to.tell(format!("{} tells you, \"{text}\"", ctx.me.name));
    store_chat(ctx, record, ChatKind::Tell, text, Some(to.character_id));
}

/// `yell <text>`: heard in this room and in every room one exit away, whatever
/// zone it is in; the neighbours hear which way it came from.
pub async fn yell(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Yell what?");
    }
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    let me = ctx.me;
    let here = me.room();
    ctx.reply(format!("You yell, \"{text}\""));
    tell_room(ctx, &format!("{} yells, \"{text}\"", me.name), &[]);
    for neighbour in neighbours(&world, &here) {
        let from = direction_from(&world, &neighbour, &here);
        let line: Arc<str> = Arc::from(format!("{} yells from {from}, \"{text}\"", me.name));
        let key = RoomKey::new(&me.world, &neighbour);
        ctx.game.registry().say_to_room(&key, &line, &[me.conn_id]);
    }
    store_chat(ctx, record, ChatKind::Yell, text, None);
}

/// The rooms one exit away from `room`, each once, never `room` itself.
fn neighbours(world: &World, room: &RoomId) -> Vec<RoomId> {
    let mut found: Vec<RoomId> = Vec::new();
    for exit in world
        .room(room)
        .map(|r| r.exits.as_slice())
        .unwrap_or_default()
    {
        if exit.to != *room && !found.contains(&exit.to) && world.room(&exit.to).is_some() {
            found.push(exit.to.clone());
        }
    }
    found
}

/// Where a sound from `source` comes from, heard in `listener`: "the north",
/// "above", "below", or "nearby" when no direction-named exit leads there.
fn direction_from(world: &World, listener: &RoomId, source: &RoomId) -> String {
    let exit = world
        .room(listener)
        .and_then(|room| room.exits.iter().find(|e| e.to == *source));
    let direction = exit.and_then(|exit| direction_named(&exit.name));
    match direction {
        Some("up") => "above".to_string(),
        Some("down") => "below".to_string(),
        Some(name) => format!("the {name}"),
        None => "nearby".to_string(),
    }
}

/// Splits `<name> <text>` where the name is one of `candidates`: a two-word name
/// ("Mary Ann") is tried before a one-word one, case ignored. `Err` carries the
/// first word, for "<name> isn't here.".
fn addressee<'a>(
    candidates: &[Arc<Player>],
    argument: &'a str,
) -> Result<(Arc<Player>, &'a str), &'a str> {
    let (first, rest) = split_word(argument);
    let (second, after_second) = split_word(rest);
    if !second.is_empty() {
        let two = format!("{first} {second}");
        if let Some(player) = candidates.iter().find(|p| same_name(&p.name, &two)) {
            return Ok((player.clone(), after_second));
        }
    }
    match candidates.iter().find(|p| same_name(&p.name, first)) {
        Some(player) => Ok((player.clone(), rest)),
        None => Err(first),
    }
}

/// Takes the place in the writer's queue that a line of talk will need, before
/// anyone hears it; when the queue is full (the disk has fallen far behind),
/// tells the speaker the records are busy and answers `None`.
fn reserve_record<'a>(ctx: &Ctx<'a>) -> Option<ChatSlot<'a>> {
    match ctx.game.writer().reserve_chat() {
        Ok(slot) => Some(slot),
        Err(WriterFull) => {
            tracing::debug!(character = %ctx.me.name, "talk refused: the writer's queue is full");
            ctx.reply(replies::RECORDS_BUSY);
            None
        }
    }
}

/// Puts a line of talk for `chat_messages` in the place taken for it.
fn store_chat(
    ctx: &Ctx<'_>,
    record: ChatSlot<'_>,
    kind: ChatKind,
    message: String,
    to: Option<i64>,
) {
    let me = ctx.me;
    let row = ChatRow {
        world_id: me.world.clone(),
        room: Arc::from(me.room().as_str()),
        character_id: Some(me.character_id),
        user_id: Some(me.user_id()),
        recipient_character_id: to,
        kind,
        message,
        created_at: now_iso(),
    };
    record.store(row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::ConnId;
    use crate::game::registry::test_player;

    fn named(conn_id: ConnId, name: &str) -> Arc<Player> {
        test_player(conn_id, conn_id as i64, name, RoomId::new("z", "r"))
    }

    fn split<'a>(candidates: &[Arc<Player>], argument: &'a str) -> Result<(u64, &'a str), &'a str> {
        addressee(candidates, argument).map(|(player, text)| (player.conn_id, text))
    }

    #[test]
    fn the_longest_name_at_the_start_is_the_addressee() {
        let people = [named(1, "Mary"), named(2, "Mary Ann"), named(3, "Élodie")];
        assert_eq!(
            split(&people, "mary ann  hello there"),
            Ok((2, "hello there"))
        );
        assert_eq!(split(&people, "MARY hello"), Ok((1, "hello")));
        assert_eq!(split(&people, "élodie ça va"), Ok((3, "ça va")));
        assert_eq!(split(&people, "  Mary"), Ok((1, "")));
        assert_eq!(split(&people, "Zed hi"), Err("Zed"));
    }
}
