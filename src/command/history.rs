//! `history [n]`: what was said in this room, read back from the database.
//!
//! Talk reaches the database through the batching writer, so the writer is
//! flushed first: the player's own last line must be in the answer. Whispers and
//! tells are filtered by the query (only their sender and recipient see them).
//! Stored text was cleaned before it was stored; it is cleaned again on the way
//! out, so rows written by anything else (an import, an older version) cannot put
//! a control sequence on anyone's screen either.

use std::fmt::Write;

use super::Ctx;
use super::common::lines_asked;
use super::spec::{Group, Spec, done};
use crate::store::chat::{HistoryLine, Viewer};
use crate::store::writer::ChatKind;
use crate::text::sanitize;

pub static HISTORY: Spec = Spec {
    name: "history",
    usage: "history [n]",
    summary: "Show the last n lines said in this room (default 20, at most 100).",
    details: "Shows what was said in this room lately (20 lines, or as many as asked, up to 100). Whispers and tells show only to the two people they were between.",
    example: "history 50",
    run: |ctx, spec, argument| match lines_asked(argument) {
        Some(n) => done(history(ctx, n)),
        None => done(async move { ctx.reply(format!("Usage: {}", spec.usage)) }),
    },
    ..Spec::player(Group::Information)
};

/// `history [n]`: the last `n` lines of this room, oldest first (the game
/// flushes the writer first, so the player's own last line is there).
async fn history(ctx: &Ctx<'_>, n: usize) {
    let me = ctx.me;
    let room = me.room();
    let room_name = ctx
        .world()
        .and_then(|w| w.room(&room).map(|r| r.name.clone()))
        .unwrap_or_else(|| "this place".to_string());
    let read = ctx
        .game
        .room_history(&me.world, room.as_str(), viewer(me), n)
        .await;
    let lines = match read {
        Ok(lines) => lines,
        Err(err) => return ctx.store_trouble(&err),
    };
    if lines.is_empty() {
        return ctx.reply("Nothing has been said here yet.");
    }
    let today = crate::store::now_iso();
    let mut text = format!("Recent talk in {room_name}:");
    for line in &lines {
        let _ = write!(
            text,
            "\n[{}] {}",
            when(&line.created_at, &today),
            render(line)
        );
    }
    ctx.reply(text);
}

/// The player as a reader of stored talk: its own whispers and tells, and
/// nothing of the accounts it ignores.
fn viewer(me: &crate::game::Player) -> Viewer {
    Viewer {
        character_id: me.character_id,
        user_id: me.user_id(),
    }
}

/// A stored line as a third-person sentence: `Ann whispers to Ben, "psst"`.
fn render(line: &HistoryLine) -> String {
    let who = line.speaker.as_deref().unwrap_or("Someone");
    let to = line.recipient.as_deref().unwrap_or("someone");
    let text = sanitize(&line.message);
    match line.kind {
        ChatKind::Say => format!("{who} says, \"{text}\""),
        ChatKind::Emote => format!("{who} {text}"),
        ChatKind::Whisper => format!("{who} whispers to {to}, \"{text}\""),
        ChatKind::Tell => format!("{who} tells {to}, \"{text}\""),
        ChatKind::Yell => format!("{who} yells, \"{text}\""),
        ChatKind::System => text,
        // Channels' lines are read back with `<channel> history`, never here.
        ChatKind::Channel => format!("{who}: {text}"),
    }
}

/// `HH:MM` (UTC) for a line from today, `YYYY-MM-DD HH:MM` for an older one,
/// from the stored ISO-8601 text; the text itself when it is not in that form.
fn when(created_at: &str, now: &str) -> String {
    match (created_at.get(..10), created_at.get(11..16)) {
        (Some(day), Some(time)) if now.starts_with(day) => time.to_string(),
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => sanitize(created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: ChatKind, message: &str) -> HistoryLine {
        HistoryLine {
            kind,
            speaker: Some("Ann".into()),
            recipient: Some("Ben".into()),
            message: message.into(),
            created_at: String::new(),
        }
    }

    #[test]
    fn lines_read_as_sentences() {
        assert_eq!(render(&line(ChatKind::Say, "hi")), "Ann says, \"hi\"");
        assert_eq!(render(&line(ChatKind::Emote, "waves.")), "Ann waves.");
        assert_eq!(
            render(&line(ChatKind::Whisper, "psst")),
            "Ann whispers to Ben, \"psst\""
        );
        assert_eq!(render(&line(ChatKind::Tell, "ok")), "Ann tells Ben, \"ok\"");
        assert_eq!(render(&line(ChatKind::Yell, "oi")), "Ann yells, \"oi\"");
        assert_eq!(render(&line(ChatKind::System, "Dawn.")), "Dawn.");
        let gone = HistoryLine {
            speaker: None,
            ..line(ChatKind::Say, "boo")
        };
        assert_eq!(render(&gone), "Someone says, \"boo\"");
    }

    #[test]
    fn stored_text_is_cleaned_again_on_the_way_out() {
        assert_eq!(
            render(&line(ChatKind::Say, "a\u{1b}[2Jb\u{202e}c")),
            "Ann says, \"abc\""
        );
    }

    #[test]
    fn times_are_short_for_today() {
        let now = "2026-03-04T18:00:00.000Z";
        assert_eq!(when("2026-03-04T09:15:42.001Z", now), "09:15");
        assert_eq!(when("2026-03-01T23:59:59.999Z", now), "2026-03-01 23:59");
        assert_eq!(when("garbage", now), "garbage");
    }
}
