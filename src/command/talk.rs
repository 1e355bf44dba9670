//! Talking: `say` and `emote` to the room, `whisper` to one person in it, `tell`
//! to anyone in the world (and `reply` to whoever told you last), `yell` to the
//! room and its neighbours.
//!
//! A line is cleaned ([`crate::text::sanitize`]), given its place in the
//! writer's queue ([`reserve_record`]; a full queue refuses it with the records'
//! busy sentence before anyone hears it), delivered to everyone who should hear
//! it at once, and only then handed to the writer, so nobody waits for the disk
//! and nothing anybody heard is lost. Every kind is stored in `chat_messages`; whispers and tells carry
//! their recipient, which is what keeps them out of other people's `history`.
//! Each line of talk travels as a [`Talk`]: the line as shown, plus its channel
//! and talker for clients that keep chat apart.
//!
//! Nobody hears a speaker their account ignores, and nobody is told of it:
//! the speaker sees their line as always (`Game::talk_to_room_from`, and the
//! ignore check for the one who is whispered or told to). Whoever whispers
//! or tells to someone away is told `<Name> is away: <message>.`

use std::sync::Arc;

use super::Ctx;
use super::common::{
    Named, addressee, chat_row, not_named, npc_addressed, reserve_record, same_name, whence,
};
use super::spec::{Group, Needs, Spec, done};
use crate::game::{Channel, Player, RoomKey, Talk};
use crate::store::writer::{ChatKind, ChatSlot};
use crate::text::sanitize;
use crate::world::{RoomId, World};

pub static SAY: Spec = Spec {
    name: "say",
    aliases: &["'"],
    usage: "say <text>  or  '<text>",
    summary: "Say something to everyone in the room.",
    details: "Says something to everyone in the room.",
    example: "say Good evening!",
    needs: Needs::Text,
    run: |ctx, _, text| done(say(ctx, text)),
    ..Spec::player(Group::Talking)
};

pub static EMOTE: Spec = Spec {
    name: "emote",
    aliases: &[":", "pose"],
    usage: "emote <action>  or  :<action>",
    summary: "Act something out: \"emote waves\" shows \"<Name> waves\".",
    details: "Acts something out: the room sees your name followed by the text.",
    example: "emote tips her hat.",
    needs: Needs::Text,
    run: |ctx, _, text| done(emote(ctx, text)),
    ..Spec::player(Group::Talking)
};

// No one-letter alias: "w" is west (the predecessor let it mean both).
pub static WHISPER: Spec = Spec {
    name: "whisper",
    usage: "whisper <name> <text>",
    summary: "Say something only one person here hears; the others see that you whispered.",
    details: "Says something only one person in the room hears; the others see that you whispered. Whispers are kept like all talk, and admins can read them in /chatlog.",
    example: "whisper Ann meet me at the quay",
    needs: Needs::Text,
    run: |ctx, _, argument| done(whisper(ctx, argument)),
    ..Spec::player(Group::Talking)
};

pub static TELL: Spec = Spec {
    name: "tell",
    usage: "tell <name> <text>",
    summary: "Send a private message to someone playing anywhere in this world.",
    details: "Sends a private line to someone playing anywhere in this world. Tells are kept like all talk, and admins can read them in /chatlog, for moderation.",
    example: "tell Ann where are you?",
    needs: Needs::Text,
    run: |ctx, _, argument| done(tell(ctx, argument)),
    ..Spec::player(Group::Talking)
};

pub static REPLY: Spec = Spec {
    name: "reply",
    usage: "reply <text>",
    summary: "Answer the last person who told you something.",
    details: "Tells the last person who told you something, if they are still playing in this world.",
    example: "reply on my way",
    needs: Needs::Text,
    run: |ctx, _, text| done(reply(ctx, text)),
    ..Spec::player(Group::Talking)
};

pub static YELL: Spec = Spec {
    name: "yell",
    usage: "yell <text>",
    summary: "Shout to this room and every room one exit away.",
    details: "Shouts to this room and every room one exit away; they hear which way it came from.",
    example: "yell Fire at the harbour!",
    needs: Needs::Text,
    run: |ctx, _, text| done(yell(ctx, text)),
    ..Spec::player(Group::Talking)
};

/// `say <text>`: the speaker sees `You say, "..."`, the others `<Name> says, "..."`.
async fn say(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Say what?");
    }
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    let me = ctx.me;
    me.hear(&Talk::new(
        Channel::Say,
        &me.name,
        format!("You say, \"{text}\""),
    ));
    let line = Talk::new(
        Channel::Say,
        &me.name,
        format!("{} says, \"{text}\"", me.name),
    );
    ctx.game
        .talk_to_room_from(me, &me.room_key(), &line, &[me.conn_id]);
    // The room's scripts and its NPCs' hear it after everyone else.
    ctx.game.heard_in_room(me, &text);
    store_chat(ctx, record, ChatKind::Say, text, None);
}

/// `emote <text>`: everyone in the room, the actor included, sees `<Name> <text>`.
async fn emote(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Emote what?");
    }
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    let me = ctx.me;
    let line = Talk::new(Channel::Emote, &me.name, format!("{} {text}", me.name));
    ctx.game.talk_to_room_from(me, &me.room_key(), &line, &[]);
    store_chat(ctx, record, ChatKind::Emote, text, None);
}

/// `whisper <name> <text>`: the target hears the words, the rest of the room only
/// sees that something was whispered.
async fn whisper(ctx: &Ctx<'_>, argument: &str) {
    let here = ctx.game.occupants(&ctx.me.room_key());
    let (to, raw) = match addressee(&here, ctx.me, argument) {
        Ok(found) => found,
        Err((Named::Nobody, _)) if let Some(npc) = npc_addressed(ctx, argument) => {
            return ctx.reply(format!(
                "{} does not answer whispers; say it aloud.",
                npc.name
            ));
        }
        Err((named, word)) => return not_named(ctx, named, word, "here"),
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
    let said = format!("You whisper to {}, \"{text}\"", to.name);
    me.hear(&Talk::new(Channel::Whisper, &me.name, said));
    if ctx.game.deaf_to(me).hears(&to) {
        let heard = format!("{} whispers to you, \"{text}\"", me.name);
        to.hear(&Talk::new(Channel::Whisper, &me.name, heard));
    }
    let seen = format!("{} whispers something to {}.", me.name, to.name);
    ctx.game
        .tell_room_from(me, &me.room_key(), &seen, &[me.conn_id, to.conn_id]);
    store_chat(ctx, record, ChatKind::Whisper, text, Some(to.character_id));
    tell_if_away(ctx, &to);
}

/// `tell <name> <text>`: a private line to anyone playing in the same world.
async fn tell(ctx: &Ctx<'_>, argument: &str) {
    let online = ctx.game.players_in(&ctx.me.world);
    let (to, raw) = match addressee(&online, ctx.me, argument) {
        Ok(found) => found,
        Err((Named::Nobody, _)) if let Some(npc) = npc_addressed(ctx, argument) => {
            return ctx.reply(format!(
                "{} is no player and hears no tells; say it aloud.",
                npc.name
            ));
        }
        Err((named, word)) => return not_named(ctx, named, word, "online"),
    };
    tell_to(ctx, &to, raw);
}

/// `reply <text>`: a tell to whoever last told the player something, if they
/// still play in this world.
async fn reply(ctx: &Ctx<'_>, raw: &str) {
    let Some(teller) = ctx.game.last_teller(ctx.me) else {
        return ctx.reply("Nobody has told you anything yet.");
    };
    let online = ctx.game.players_in(&ctx.me.world);
    match online.iter().find(|p| same_name(&p.name, &teller)) {
        Some(to) => tell_to(ctx, to, raw),
        None => ctx.reply(format!("{teller} isn't online.")),
    }
}

/// Tells `to` the line `raw`: the teller sees it as said, `to` hears it
/// unless its account ignores the teller's (and may then `reply`), and the
/// teller learns if `to` is away.
fn tell_to(ctx: &Ctx<'_>, to: &Arc<Player>, raw: &str) {
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
    let me = ctx.me;
    let said = format!("You tell {}, \"{text}\"", to.name);
    me.hear(&Talk::new(Channel::Tell, &me.name, said));
    if ctx.game.deaf_to(me).hears(to) {
        let heard = format!("{} tells you, \"{text}\"", me.name);
        to.hear(&Talk::new(Channel::Tell, &me.name, heard));
        ctx.game.note_tell(to, me);
    }
    store_chat(ctx, record, ChatKind::Tell, text, Some(to.character_id));
    tell_if_away(ctx, to);
}

/// `<Name> is away: <message>.` to the player, if `to` is away.
fn tell_if_away(ctx: &Ctx<'_>, to: &Player) {
    if let Some(message) = ctx.game.away_message(to.character_id) {
        let message = message.trim_end_matches('.');
        ctx.reply(format!("{} is away: {message}.", to.name));
    }
}

/// `yell <text>`: heard in this room and in every room one exit away, whatever
/// zone it is in; the neighbours hear which way it came from.
async fn yell(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Yell what?");
    }
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let me = ctx.me;
    let here = me.room();
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    me.hear(&Talk::new(
        Channel::Yell,
        &me.name,
        format!("You yell, \"{text}\""),
    ));
    let line = Talk::new(
        Channel::Yell,
        &me.name,
        format!("{} yells, \"{text}\"", me.name),
    );
    ctx.game
        .talk_to_room_from(me, &me.room_key(), &line, &[me.conn_id]);
    for neighbour in neighbours(&world, &here) {
        let from = whence(&world, &neighbour, &here).unwrap_or_else(|| "nearby".to_string());
        let heard = format!("{} yells from {from}, \"{text}\"", me.name);
        let key = RoomKey::new(&me.world, &neighbour);
        ctx.game.talk_to_room_from(
            me,
            &key,
            &Talk::new(Channel::Yell, &me.name, heard),
            &[me.conn_id],
        );
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

/// Puts a line of talk for `chat_messages` in the place taken for it.
fn store_chat(
    ctx: &Ctx<'_>,
    record: ChatSlot<'_>,
    kind: ChatKind,
    message: String,
    to: Option<i64>,
) {
    let row = chat_row(ctx.me, kind, message);
    record.store(crate::store::writer::ChatRow {
        recipient_character_id: to,
        ..row
    });
}
