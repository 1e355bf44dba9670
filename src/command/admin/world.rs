//! Admin commands on the world and the server: goto, teleport, reload (of the
//! worlds, or of the TLS certificate), wall, shutdown, prune.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::super::Ctx;
use super::super::common::{Named, find_person, place, which_names};
use super::super::parse::{Admin, split_word};
use super::{actor, authorize, authorize_as, change, entry, refuse};
use crate::auth::Role;
use crate::config::{DURATION_FORMS, parse_duration};
use crate::game::Game;
use crate::replies;
use crate::store::accounts::{AccountChange, Actor};
use crate::text::sanitize;
use crate::world::{self, Worlds};

/// `/goto <room>`: the admin moves themselves.
pub async fn goto(ctx: &Ctx<'_>, args: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let here = ctx.me.room();
    let Some(room) = world.resolve_room(args, Some(here.zone())) else {
        return ctx.reply(format!("There is no room \"{args}\" in {}.", world.name));
    };
    if authorize(ctx, Admin::Goto, Some(room.as_str()), None).await {
        place(ctx.game, ctx.me, &room, &ctx.me.name).await;
    }
}

/// `/teleport <character> <room>`: moves a player of this world, at once,
/// whatever the player is doing (the move is the admin's own registry step).
pub async fn teleport(ctx: &Ctx<'_>, args: &str) {
    let (name, room_text) = split_word(args);
    if name.is_empty() || room_text.is_empty() {
        return ctx.reply("Usage: /teleport <character> <room>");
    }
    let here = ctx.game.registry().players(Some(&ctx.me.world));
    let target = match find_person(&here, ctx.me, name) {
        Named::One(target) => target,
        Named::Several(names) => return ctx.reply(which_names(&names)),
        Named::Nobody => return ctx.reply(format!("{name} is not playing in this world.")),
    };
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let Some(room) = world.resolve_room(room_text, Some(target.room().zone())) else {
        return ctx.reply(format!(
            "There is no room \"{room_text}\" in {}.",
            world.name
        ));
    };
    if target.conn_id == ctx.me.conn_id {
        if authorize(
            ctx,
            Admin::Teleport,
            Some(&target.name),
            Some(room.to_string()),
        )
        .await
        {
            place(ctx.game, ctx.me, &room, &ctx.me.name).await;
        }
        return;
    }
    let oversee = AccountChange::Oversee {
        detail: Some(format!("{} to {room}", target.name)),
    };
    if change(ctx, Admin::Teleport, &target.session.account, oversee)
        .await
        .is_none()
    {
        return;
    }
    let room_name = world.room(&room).map_or(room.as_str(), |r| r.name.as_str());
    if place(ctx.game, &target, &room, &ctx.me.name).await {
        ctx.reply(format!("{} is on the way to {room_name}.", target.name));
    } else {
        ctx.reply(format!("{} is no longer playing.", target.name));
    }
}

/// `/reload` (the worlds) or `/reload tls` (the TLS certificate).
pub async fn reload(ctx: &Ctx<'_>, args: &str) {
    match args.to_ascii_lowercase().as_str() {
        "" | "worlds" => reload_worlds(ctx).await,
        "tls" => reload_tls(ctx).await,
        _ => ctx.reply("Usage: /reload [tls]"),
    }
}

/// Who may reload the TLS certificate: it is the server's, not the world's.
const RELOAD_TLS_ROLE: Role = Role::Admin;

/// `/reload tls`: reads the certificate files again (as SIGHUP does). New
/// handshakes use the new certificate and open connections stay; bad files
/// leave the old one in use, and the admin is told why.
async fn reload_tls(ctx: &Ctx<'_>) {
    if ctx.me.role() < RELOAD_TLS_ROLE {
        return ctx.reply(replies::no_permission("reload tls"));
    }
    if ctx.game.tls().is_none() {
        return ctx.reply("This server has no TLS listener, so there is no certificate to reload.");
    }
    let actor = Actor::Account {
        user_id: ctx.me.user_id(),
        needs: RELOAD_TLS_ROLE,
    };
    if !authorize_as(ctx, actor, Admin::Reload, None, Some("tls".into())).await {
        return;
    }
    match ctx.game.reload_tls().await {
        Some(Ok(info)) => ctx.reply(format!(
            "TLS certificate reloaded: {info}. New connections use it; open ones keep theirs."
        )),
        Some(Err(err)) => ctx.reply(format!(
            "The TLS certificate was not reloaded; the old one stays in use. {err}"
        )),
        None => ctx.reply("This server has no TLS listener, so there is no certificate to reload."),
    }
}

/// `/reload`: reads the world files again. Invalid files change nothing; a world
/// still holding players may not vanish; players in rooms that vanished are sent
/// to their world's spawn. The registration and its audit row are one
/// transaction.
async fn reload_worlds(ctx: &Ctx<'_>) {
    let dir = ctx.game.config().worlds_dir.clone();
    let loaded = tokio::task::spawn_blocking(move || world::load_worlds(&dir)).await;
    let worlds = match loaded {
        Ok(Ok(worlds)) => worlds,
        Ok(Err(errors)) => {
            let shown: Vec<String> = errors.iter().take(10).map(ToString::to_string).collect();
            return ctx.reply(format!(
                "The worlds were not reloaded; {} error(s):\n{}",
                errors.len(),
                shown.join("\n")
            ));
        }
        Err(err) => return ctx.reply(format!("The reload failed: {err}")),
    };
    if let Some(problem) = reload_problem(ctx.game, &worlds) {
        return ctx.reply(format!("The worlds were not reloaded: {problem}"));
    }
    let Some(default) = worlds.default_world(ctx.game.config().default_world.as_deref()) else {
        return ctx.reply("The worlds were not reloaded: the default world is gone.");
    };
    let summary = format!(
        "{} world(s), {} room(s)",
        worlds.len(),
        worlds.iter().map(|w| w.room_count()).sum::<usize>()
    );
    let audit = (
        actor(ctx, Admin::Reload),
        entry(Admin::Reload, None, Some(summary.clone())),
    );
    let registered = ctx
        .game
        .store()
        .worlds()
        .register_all(worlds.iter().cloned().collect(), Some(audit))
        .await;
    if let Err(refusal) = registered {
        return refuse(ctx, Admin::Reload, &refusal);
    }
    ctx.game.replace_worlds(worlds, default);
    for world in ctx.game.worlds().iter() {
        if let Err(err) = ctx.game.load_items(&world.id).await {
            tracing::error!(%err, world = %world.id, "could not load items after a reload");
        }
    }
    let moved = rescue_stranded(ctx.game).await;
    ctx.reply(format!(
        "Worlds reloaded: {summary}; {moved} player(s) sent to spawn."
    ));
}

/// Why a new set of worlds may not replace the current one, if it may not.
fn reload_problem(game: &Game, new: &Worlds) -> Option<String> {
    game.registry()
        .players(None)
        .iter()
        .find(|p| new.get(&p.world).is_none())
        .map(|p| format!("world {} is gone but {} is playing in it", p.world, p.name))
}

/// Sends every player whose room no longer exists to the world's spawn.
async fn rescue_stranded(game: &Game) -> usize {
    let worlds = game.worlds();
    let mut moved = 0;
    for player in game.registry().players(None) {
        let Some(world) = worlds.get(&player.world) else {
            continue;
        };
        if world.room(&player.room()).is_some() {
            continue;
        }
        if place(game, &player, &world.default_spawn, "The world itself").await {
            moved += 1;
        }
    }
    moved
}

/// `/wall <text>`: a message to every connected player.
pub async fn wall(ctx: &Ctx<'_>, args: &str) {
    let text = sanitize(args);
    if text.is_empty() {
        return ctx.reply("Usage: /wall <text>");
    }
    if authorize(ctx, Admin::Wall, None, Some(text.clone())).await {
        ctx.game
            .announce(&format!("*** Announcement from {}: {text}", ctx.me.name));
    }
}

/// `/shutdown [seconds] [reason]` or `/shutdown cancel`.
pub async fn shutdown(ctx: &Ctx<'_>, args: &str) {
    let (first, rest) = split_word(args);
    if first.eq_ignore_ascii_case("cancel") {
        if !authorize(ctx, Admin::Shutdown, None, Some("cancel".into())).await {
            return;
        }
        if ctx.game.cancel_countdown() {
            ctx.game.announce("*** The shutdown has been cancelled.");
        } else {
            ctx.reply("No shutdown is counting down.");
        }
        return;
    }
    // A first word that starts like a number is the duration, and must be one;
    // anything else is the reason, after the default ten seconds.
    let looks_like_duration =
        first.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
    let (seconds, reason) = if looks_like_duration {
        match parse_duration(first) {
            Ok(wait) => (wait.as_secs_f64().ceil() as u64, rest),
            Err(_) => {
                return ctx.reply(format!(
                    "Usage: /shutdown [duration] [reason], the duration being {DURATION_FORMS}; \
                     or /shutdown cancel."
                ));
            }
        }
    } else {
        (10, args)
    };
    let reason = sanitize(reason);
    let detail = Some(format!("{seconds}s {reason}"));
    if !authorize(ctx, Admin::Shutdown, None, detail).await {
        return;
    }
    let countdown = CancellationToken::new();
    if !ctx.game.start_countdown(countdown.clone()) {
        return ctx.reply("A shutdown is already counting down (\"/shutdown cancel\" stops it).");
    }
    tokio::spawn(count_down(ctx.game.clone(), seconds, reason, countdown));
}

/// Seconds before the end at which a countdown warns again.
const COUNTDOWN_MARKS: [u64; 13] = [3600, 1800, 900, 600, 300, 120, 60, 30, 10, 5, 3, 2, 1];

/// `1 hour 30 minutes`, `2 minutes`, `45 seconds`, `1 minute 5 seconds`.
fn spoken_duration(seconds: u64) -> String {
    let parts = [
        (seconds / 3600, "hour"),
        (seconds / 60 % 60, "minute"),
        (seconds % 60, "second"),
    ];
    let spoken: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if spoken.is_empty() {
        "0 seconds".to_string()
    } else {
        spoken.join(" ")
    }
}

/// Announces the shutdown at falling marks, then starts it.
async fn count_down(game: Arc<Game>, seconds: u64, reason: String, cancelled: CancellationToken) {
    let because = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    let warn = |left: u64| {
        game.announce(&format!(
            "*** The server will shut down in {}{because}.",
            spoken_duration(left)
        ));
    };
    let mut left = seconds;
    if left > 0 {
        warn(left);
    }
    for mark in COUNTDOWN_MARKS.into_iter().filter(|m| *m < seconds) {
        let wait = Duration::from_secs(left - mark);
        tokio::select! {
            _ = cancelled.cancelled() => return,
            _ = game.shutdown_token().cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        left = mark;
        warn(left);
    }
    tokio::select! {
        _ = cancelled.cancelled() => return,
        _ = tokio::time::sleep(Duration::from_secs(left)) => {}
    }
    tracing::info!("shutdown countdown finished");
    game.begin_shutdown();
}

/// What `/prune` says to anything but a duration with its unit.
const PRUNE_USAGE: &str =
    "Usage: /prune <duration>, with its unit (24h, 30d): talk older than that is deleted.";

/// `/prune <duration>`: deletes stored talk older than that; the count goes in
/// the audit row, written in the same transaction. The duration is read by
/// the one reader of durations, but a bare number is refused here first: read
/// as seconds (as the flags read one) it would empty the log by a slip.
pub async fn prune(ctx: &Ctx<'_>, args: &str) {
    let Some(age) = prune_age(args) else {
        return ctx.reply(PRUNE_USAGE);
    };
    let text = args.trim();
    let Some(before) = chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| Utc::now().checked_sub_signed(age))
    else {
        return ctx.reply(PRUNE_USAGE);
    };
    // Lines said a moment ago may still be on their way to the disk.
    let _ = ctx.game.writer().flush().await;
    let pruned = ctx
        .game
        .store()
        .chat()
        .prune(
            actor(ctx, Admin::Prune),
            before,
            entry(Admin::Prune, None, None),
        )
        .await;
    match pruned {
        Ok(n) => ctx.reply(format!("{n} chat line(s) older than {text} deleted.")),
        Err(refusal) => refuse(ctx, Admin::Prune, &refusal),
    }
}

/// The age `/prune` was given: a duration with its unit, never a bare number.
fn prune_age(args: &str) -> Option<Duration> {
    let text = args.trim();
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    parse_duration(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_takes_durations_with_units_and_no_bare_numbers() {
        let hours = |n: u64| Some(Duration::from_secs(n * 3600));
        let cases = [
            ("24h", hours(24)),
            (" 30d ", hours(720)),
            ("1h30m", Some(Duration::from_secs(5400))),
            ("24", None),
            ("0", None),
            ("", None),
            ("0h", None),
            ("-5h", None),
            ("soon", None),
        ];
        for (text, want) in cases {
            assert_eq!(prune_age(text), want, "{text:?}");
        }
    }

    #[test]
    fn countdowns_speak_in_hours_minutes_and_seconds() {
        assert_eq!(spoken_duration(5400), "1 hour 30 minutes");
        assert_eq!(spoken_duration(120), "2 minutes");
        assert_eq!(spoken_duration(65), "1 minute 5 seconds");
        assert_eq!(spoken_duration(1), "1 second");
        assert_eq!(spoken_duration(10), "10 seconds");
    }
}
