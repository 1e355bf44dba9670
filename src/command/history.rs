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
use crate::store::chat::HistoryLine;
use crate::store::writer::ChatKind;
use crate::text::sanitize;

/// `history [n]`: the last `n` lines of this room, oldest first.
pub async fn history(ctx: &Ctx<'_>, n: usize) {
    if ctx.game.writer().flush().await.is_err() {
        tracing::warn!("history read without a flush: the writer has stopped");
    }
    let me = ctx.me;
    let room = me.room();
    let room_name = ctx
        .world()
        .and_then(|w| w.room(&room).map(|r| r.name.clone()))
        .unwrap_or_else(|| "this place".to_string());
    let read = ctx
        .game
        .store()
        .chat()
        .history(&me.world, room.as_str(), me.character_id, n)
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
