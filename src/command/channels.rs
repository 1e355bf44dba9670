//! The server-wide channels (SPEC §12 "Channels"): `channels`, and each
//! channel's name as a command for whoever may read it — `<channel> <text>`,
//! `<channel> on|off`, `<channel> history [n]`, and `<channel>` alone — and
//! what a player entering the game is told of them: a catch-up line for each
//! channel that had lines while its account was away, and its client's
//! channel list (`Comm.Channel.List`).
//!
//! A line is cleaned like talk, refused before anyone hears it when the
//! speaker may not speak (the game decides: its role, a guest on a channel
//! closed to guests, the channel turned off, a mute) or when the records are
//! busy, then heard by every listener in every world (the speaker too; a
//! listener in another world sees `<Name>@<world id>`) but those who ignore
//! the speaker, and stored through the batching writer like all talk.

use std::fmt::Write;
use std::sync::Arc;

use super::Ctx;
use super::common::{chat_row, lines_asked, reserve_record, utc_minute};
use super::parse::{Vocabulary, split_word};
use super::spec::{Group, Spec, done};
use crate::auth::Role;
use crate::game::{Broadcast, ChannelDef, Game, SpeakRefused, Talk};
use crate::replies;
use crate::store::channels::ChannelLine;
use crate::store::writer::{ChatKind, ChatRow};
use crate::text::sanitize;

pub static CHANNELS: Spec = Spec {
    name: "channels",
    usage: "channels",
    summary: "List the channels: what each is for, on or off, how many listen.",
    details: "Lists the server-wide channels you may hear, in every world: what each is for,\nwhether you have it on, and how many listen now. Type a channel's name and a\nline to speak on it (\"ooc hello\"), \"<channel> off\" or \"on\", \"<channel> history\".",
    example: "channels",
    run: |ctx, _, _| done(list(ctx)),
    ..Spec::player(Group::Talking)
};

/// The channels' names as words of the player's commands: only those its
/// role reads exist for it.
pub struct Words<'a> {
    game: &'a Game,
    role: Role,
    me: &'a crate::game::Player,
}

impl<'a> Words<'a> {
    pub fn of(ctx: &Ctx<'a>) -> Words<'a> {
        Words {
            game: ctx.game,
            role: ctx.me.role(),
            me: ctx.me,
        }
    }
}

impl Vocabulary for Words<'_> {
    fn is_channel(&self, word: &str) -> bool {
        self.game.channel_for(word, self.role).is_some()
    }

    fn is_exit(&self, word: &str) -> bool {
        let Some(world) = self.game.world(&self.me.world) else {
            return false;
        };
        world
            .room(&self.me.room())
            .is_some_and(|room| room.exits.iter().any(|exit| exit.key == word))
    }

    fn is_social(&self, word: &str) -> bool {
        self.game.socials().get(word).is_some()
    }
}

/// A channel's name typed as a command, with what followed it.
pub async fn channel_command(ctx: &Ctx<'_>, name: &str, args: &str) {
    // The parser found it for this role a moment ago; a role lost since
    // makes it no command again.
    let Some(channel) = ctx.game.channel_for(name, ctx.me.role()).cloned() else {
        return ctx.reply(replies::UNKNOWN_COMMAND);
    };
    let (first, rest) = split_word(args);
    match (first.to_lowercase().as_str(), rest) {
        ("", _) => status(ctx, &channel),
        ("on", "") => switch(ctx, &channel, true).await,
        ("off", "") => switch(ctx, &channel, false).await,
        // "ooc history of the guild is..." is a line like any other.
        ("history", n) => match lines_asked(n) {
            Some(n) => history(ctx, &channel, n).await,
            None => speak(ctx, &channel, args),
        },
        _ => speak(ctx, &channel, args),
    }
}

/// `<channel> <text>`.
fn speak(ctx: &Ctx<'_>, channel: &ChannelDef, raw: &str) {
    let text = sanitize(raw);
    if text.is_empty() {
        return ctx.reply(format!("Say what on {}?", channel.name));
    }
    let me = ctx.me;
    if let Err(refused) = ctx.game.may_speak(me, channel) {
        return ctx.reply(refusal(channel, &refused));
    }
    let Some(record) = reserve_record(ctx) else {
        return;
    };
    let name = &channel.name;
    let elsewhere = format!("{}@{}", me.name, me.world);
    let line = Broadcast {
        here: Talk::on_channel(
            name,
            me.name.to_string(),
            format!("[{name}] {}: {text}", me.name),
        ),
        elsewhere: Talk::on_channel(
            name,
            elsewhere.clone(),
            format!("[{name}] {elsewhere}: {text}"),
        ),
    };
    ctx.game.broadcast(me, channel, &line);
    record.store(ChatRow {
        channel: Some(name.clone()),
        ..chat_row(me, ChatKind::Channel, text)
    });
}

/// What the player is told when it may not speak on `channel`.
fn refusal(channel: &ChannelDef, refused: &SpeakRefused) -> String {
    let name = &channel.name;
    match refused {
        SpeakRefused::CannotWrite => format!("You may listen to {name}, but not speak on it."),
        SpeakRefused::Guest { open: Some(open) } => {
            format!("Guests cannot speak on {name}; \"{open}\" is open to you.")
        }
        SpeakRefused::Guest { open: None } => format!("Guests cannot speak on {name}."),
        SpeakRefused::TurnedOff => {
            format!("You have {name} turned off; \"{name} on\" turns it back on.")
        }
        SpeakRefused::Muted { until: None } => format!("You are muted on {name}."),
        SpeakRefused::Muted { until: Some(until) } => format!(
            "You are muted on {name} until {} UTC.",
            until.format("%Y-%m-%d %H:%M")
        ),
        SpeakRefused::Away => "You are not quite in the game yet; try again.".to_string(),
    }
}

/// `<channel> on` and `<channel> off`: kept for the account, live on all of
/// its connections; the client's channel list follows.
async fn switch(ctx: &Ctx<'_>, channel: &ChannelDef, on: bool) {
    if let Err(err) = ctx.game.switch_channel(ctx.me, channel, on).await {
        return ctx.store_trouble(&err);
    }
    let state = if on { "on" } else { "off" };
    ctx.reply(format!("You turn {} {state}.", channel.name));
    ctx.me.give(ctx.game.channel_list(ctx.me));
}

/// `<channel> history [n]`: the last lines from the database, with their
/// times in UTC.
async fn history(ctx: &Ctx<'_>, channel: &ChannelDef, n: usize) {
    let read = ctx.game.channel_history(channel, ctx.me.user_id(), n).await;
    let lines = match read {
        Ok(lines) => lines,
        Err(err) => return ctx.store_trouble(&err),
    };
    if lines.is_empty() {
        return ctx.reply(format!("Nothing has been said on {} yet.", channel.name));
    }
    let mut text = format!("Recent lines on {} (times in UTC):", channel.name);
    for line in &lines {
        let _ = write!(
            text,
            "\n[{}] {}: {}",
            utc_minute(&line.created_at),
            speaker(ctx, line),
            sanitize(&line.message)
        );
    }
    ctx.reply(text);
}

/// Who said a stored line, as the player would have heard it: the name, with
/// its world when that is another.
fn speaker(ctx: &Ctx<'_>, line: &ChannelLine) -> String {
    let name = sanitize(line.speaker.as_deref().unwrap_or("Someone"));
    if line.world_id == *ctx.me.world {
        name
    } else {
        format!("{name}@{}", sanitize(&line.world_id))
    }
}

/// `<channel>` alone: what it is and how to use it.
fn status(ctx: &Ctx<'_>, channel: &ChannelDef) {
    let name = &channel.name;
    let state = if ctx.game.listens(ctx.me, channel) {
        "on"
    } else {
        "off"
    };
    let listening = ctx.game.listening_to(channel);
    ctx.reply(format!(
        "{name}: {}\nYou have it {state}; {listening} listening now. \"{name} <text>\" speaks on it, \
         \"{name} on\" or \"{name} off\" turns it on or off, \"{name} history\" shows what was said.",
        channel.description
    ));
}

/// `channels`: each channel the player may hear.
async fn list(ctx: &Ctx<'_>) {
    let role = ctx.me.role();
    let channels: Vec<&Arc<ChannelDef>> = ctx
        .game
        .channels()
        .iter()
        .filter(|c| c.readable_by(role))
        .collect();
    let width = channels.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut text = String::from("Channels (type a channel's name and a line to speak on it):");
    for channel in channels {
        let state = if ctx.game.listens(ctx.me, channel) {
            "on"
        } else {
            "off"
        };
        let listening = ctx.game.listening_to(channel);
        if ctx.screen_reader() {
            let _ = write!(
                text,
                "\n{}: {state}, {listening} listening. {}",
                channel.name, channel.description
            );
        } else {
            let _ = write!(
                text,
                "\n  {:<width$}  {state:<3}  {listening:>4} listening  {}",
                channel.name, channel.description
            );
        }
    }
    ctx.reply(text);
}

/// What a player entering the game is told of the channels: a line for each
/// one it hears that had lines while its account was away, and its client's
/// list of them. One call, after the game showed the room.
pub async fn on_entry(ctx: &Ctx<'_>) {
    match ctx.game.arrive(ctx.me).await {
        Ok(missed) => {
            for (channel, n) in missed {
                let name = &channel.name;
                ctx.reply(format!(
                    "[{name}] new since you were last here: {n}; \"{name} history\" shows them."
                ));
            }
        }
        Err(err) => {
            tracing::warn!(%err, "the channels could not read the player's records");
            ctx.store_trouble(&err);
        }
    }
    ctx.me.give(ctx.game.channel_list(ctx.me));
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn ooc() -> ChannelDef {
        ChannelDef {
            index: 0,
            name: Arc::from("ooc"),
            description: Arc::from("Out of character."),
            read: Role::Player,
            write: Role::Player,
            guests: false,
        }
    }

    #[test]
    fn refusals_read_as_the_spec_says() {
        let until = Utc.with_ymd_and_hms(2026, 5, 1, 12, 30, 59).single();
        let cases = [
            (
                SpeakRefused::Guest {
                    open: Some(Arc::from("newbie")),
                },
                "Guests cannot speak on ooc; \"newbie\" is open to you.",
            ),
            (
                SpeakRefused::TurnedOff,
                "You have ooc turned off; \"ooc on\" turns it back on.",
            ),
            (SpeakRefused::Muted { until: None }, "You are muted on ooc."),
            (
                SpeakRefused::Muted { until },
                "You are muted on ooc until 2026-05-01 12:30 UTC.",
            ),
        ];
        for (refused, want) in cases {
            assert_eq!(refusal(&ooc(), &refused), want);
        }
    }
}
