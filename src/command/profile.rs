//! Who a character is to others: `describe` (what `look <name>` shows, kept
//! with the character) and `afk` (away until the next command; whoever tells
//! or whispers to the player meanwhile is told `<Name> is away: <message>.`,
//! and `who` shows it).

use super::Ctx;
use super::spec::{Group, Spec, done, finished};
use crate::text::sanitize;

pub static DESCRIBE: Spec = Spec {
    name: "describe",
    usage: "describe [text]",
    summary: "Set what others see when they look at you; alone, show it.",
    details: "Sets what others see when they look at you (up to 1,000 characters), kept with\nthis character. Alone, shows your description.",
    example: "describe A tall figure in a rain-dark coat, smelling of lamp oil.",
    run: |ctx, _, text| done(describe(ctx, text)),
    ..Spec::player(Group::Account)
};

pub static AFK: Spec = Spec {
    name: "afk",
    usage: "afk [message]",
    summary: "Mark yourself away until your next command.",
    details: "Marks you away until your next command: who tells or whispers to you is told\nyou are away, with your message, and \"who\" shows it.",
    example: "afk making tea",
    run: |ctx, _, message| {
        afk(ctx, message);
        finished()
    },
    ..Spec::player(Group::Account)
};

/// What an away player is told when it types its next command.
pub const BACK: &str = "You are back.";

/// The message of someone away who gave none.
const AWAY: &str = "away from the keyboard";

/// `describe [text]`.
async fn describe(ctx: &Ctx<'_>, raw: &str) {
    if raw.is_empty() {
        return match ctx.game.description_of(ctx.me.character_id) {
            Some(text) => ctx.reply(format!("Others who look at you see:\n{text}")),
            None => ctx.reply("You have not described yourself; \"describe <text>\" does it."),
        };
    }
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply("Describe yourself how?");
    }
    match ctx.game.describe(ctx.me, &text).await {
        Ok(()) => ctx.reply(format!("Others who look at you now see:\n{text}")),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `afk [message]`.
fn afk(ctx: &Ctx<'_>, raw: &str) {
    let message = sanitize(raw);
    let message = message.trim().trim_end_matches('.');
    let message = if message.is_empty() { AWAY } else { message };
    ctx.game.set_away(ctx.me, message);
    ctx.reply(format!(
        "You are away: {message}. Your next command brings you back."
    ));
}
