//! `/mute` and `/unmute` (SPEC §12 "Channels"): an admin keeps an account off
//! a channel, or every channel, for a while or for good. Each is one change
//! through the account-change path (the actor's role read fresh, the
//! hierarchy, the mute row and its audit row in one transaction), and
//! reaches the account's live connections at once: its next line on that
//! channel is refused, and it is told.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::super::Ctx;
use super::super::parse::split_word;
use super::super::spec::{Group, Spec, done};
use super::{actor, refuse};
use crate::auth::Role;
use crate::config::{DURATION_FORMS, parse_duration};
use crate::store::accounts::{AccountChange, Changed};
use crate::store::iso;

pub static MUTE: Spec = Spec {
    name: "mute",
    usage: "/mute <account> <channel or all> [duration] [reason]",
    summary: "Keep an account off a channel (or all), for a while or for good.",
    details: "Keeps an account off a channel, or every channel (\"all\"): for a duration (90s,\n15m, 2h, 7d) or, without one, until /unmute. It takes effect at once; the\nplayer is told, and so is each line they try.",
    example: "/mute ann ooc 2h flooding",
    run: |ctx, spec, args| done(mute(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static UNMUTE: Spec = Spec {
    name: "unmute",
    usage: "/unmute <account> [channel]",
    summary: "Lift an account's mute on a channel, or every mute.",
    details: "Lifts an account's mute on a channel, or without one every mute it has. It\ntakes effect at once.",
    example: "/unmute ann ooc",
    run: |ctx, spec, args| done(unmute(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

/// The channel words of the two commands: a configured channel's name, or
/// `all` (`None`); `Err` when there is no such channel.
fn channel_asked(ctx: &Ctx<'_>, word: &str) -> Result<Option<String>, String> {
    if word.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    match ctx.game.channel_named(word) {
        Some(channel) => Ok(Some(channel.name.to_string())),
        None => Err(format!("There is no channel \"{word}\".")),
    }
}

/// `[duration] [reason]`: a first word that starts with a digit must be a
/// duration; anything else is the reason of a mute for good.
fn duration_asked(text: &str) -> Result<(Option<Duration>, &str), String> {
    let (first, rest) = split_word(text);
    if !first.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok((None, text));
    }
    match parse_duration(first) {
        Ok(duration) => Ok((Some(duration), rest)),
        Err(_) => Err(format!("\"{first}\" is not {DURATION_FORMS}.")),
    }
}

/// `/mute <account> <channel or all> [duration] [reason]`.
async fn mute(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (account, rest) = split_word(args);
    let (word, rest) = split_word(rest);
    if account.is_empty() || word.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let asked = channel_asked(ctx, word).and_then(|c| Ok((c, duration_asked(rest)?)));
    let (channel, (duration, reason)) = match asked {
        Ok(asked) => asked,
        Err(why) => return ctx.reply(why),
    };
    let until = duration
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| Utc::now().checked_add_signed(d));
    let change = AccountChange::Mute {
        channel: channel.clone(),
        until: until.map(iso),
        reason: (!reason.is_empty()).then(|| reason.to_string()),
    };
    let Some(done) = change_mutes(ctx, spec, account, change).await else {
        return;
    };
    let name = &done.account.username;
    let on = channel.as_deref().unwrap_or("every channel");
    let till = until.map_or(String::new(), |t| format!(" until {} UTC", minute(t)));
    ctx.reply(format!("{name} is muted on {on}{till}."));
    tell_account(
        ctx,
        done.account.id,
        &format!("You are muted on {on}{till}."),
    );
}

/// `/unmute <account> [channel]`.
async fn unmute(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (account, word) = split_word(args);
    if account.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let channel = match word {
        "" => None,
        word => match channel_asked(ctx, word) {
            Ok(channel) => channel,
            Err(why) => return ctx.reply(why),
        },
    };
    let change = AccountChange::Unmute {
        channel: channel.clone(),
    };
    let Some(done) = change_mutes(ctx, spec, account, change).await else {
        return;
    };
    let name = &done.account.username;
    let on = channel.as_deref().unwrap_or("every channel");
    if done.changed {
        ctx.reply(format!("{name} may speak on {on} again."));
        tell_account(
            ctx,
            done.account.id,
            &format!("You may speak on {on} again."),
        );
    } else {
        ctx.reply(format!("{name} was not muted on {on}."));
    }
}

/// The change, through the game's mute path; `None` after telling the admin
/// why it was refused.
async fn change_mutes(
    ctx: &Ctx<'_>,
    spec: &'static Spec,
    account: &str,
    change: AccountChange,
) -> Option<Changed> {
    let result = ctx
        .game
        .change_mutes(actor(ctx, spec), account, change, spec.name)
        .await;
    match result {
        Ok(done) => {
            tracing::info!(
                actor = %ctx.me.session.account,
                action = %spec.name,
                target = %done.account.username,
                "admin action"
            );
            Some(done)
        }
        Err(refusal) => {
            refuse(ctx, spec, &refusal);
            None
        }
    }
}

/// A line to every live connection of an account.
fn tell_account(ctx: &Ctx<'_>, user_id: i64, text: &str) {
    for session in ctx.game.sessions() {
        if session.user_id == user_id {
            session.outbox.line(text.to_string());
        }
    }
}

fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mute_takes_a_duration_then_a_reason() {
        assert_eq!(
            duration_asked("2h flooding the square"),
            Ok((Some(Duration::from_secs(7200)), "flooding the square"))
        );
        assert_eq!(duration_asked("flooding"), Ok((None, "flooding")));
        assert_eq!(duration_asked(""), Ok((None, "")));
        let bad = duration_asked("5x rude").expect_err("no duration");
        assert!(bad.contains("\"5x\" is not"), "{bad}");
    }
}
