//! Talking to the room: `say` and `emote`.
//!
//! A line is cleaned ([`crate::text::sanitize`]), delivered to everyone present
//! at once, and only then queued for the database, so the room never waits for
//! the disk.

use std::sync::Arc;

use super::Ctx;
use crate::store::now_iso;
use crate::store::writer::{ChatKind, ChatRow};
use crate::text::sanitize;

/// `say <text>`: the speaker sees `You say, "..."`, the others `<Name> says, "..."`.
pub async fn say(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Say what?");
    }
    let me = ctx.me;
    ctx.reply(format!("You say, \"{text}\""));
    let line: Arc<str> = Arc::from(format!("{} says, \"{text}\"", me.name));
    ctx.game
        .registry
        .say_to_room(&me.room_key(), &line, Some(me.conn_id));
    store_chat(ctx, ChatKind::Say, text, None).await;
}

/// `emote <text>`: everyone in the room, the actor included, sees `<Name> <text>`.
pub async fn emote(ctx: &Ctx<'_>, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Emote what?");
    }
    let me = ctx.me;
    let line: Arc<str> = Arc::from(format!("{} {text}", me.name));
    ctx.game.registry.say_to_room(&me.room_key(), &line, None);
    store_chat(ctx, ChatKind::Emote, text, None).await;
}

/// Queues a line of talk for `chat_messages`.
pub async fn store_chat(ctx: &Ctx<'_>, kind: ChatKind, message: String, to: Option<i64>) {
    let me = ctx.me;
    let row = ChatRow {
        world_id: me.world.clone(),
        room: Arc::from(me.room().as_str()),
        character_id: Some(me.character_id),
        user_id: Some(me.user_id),
        recipient_character_id: to,
        kind,
        message,
        created_at: now_iso(),
    };
    if ctx.game.writer.chat(row).await.is_err() {
        tracing::warn!(character = %me.name, "chat not stored: the writer has stopped");
    }
}
