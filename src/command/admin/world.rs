//! Admin commands on the world and the server: goto, teleport, reload (of the
//! worlds, or of the TLS certificate), wall, shutdown, prune.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use std::path::PathBuf;

use super::super::Ctx;
use super::super::common::{Named, find_person, place, which_names};
use super::super::parse::{Admin, split_word};
use super::{actor, authorize, authorize_as, change, entry, name, refuse};
use crate::auth::Role;
use crate::config::{DURATION_FORMS, parse_duration};
use crate::game::worlds::{ReloadFailed, Reloaded, Reloader};
use crate::game::{Game, Player};
use crate::replies;
use crate::store::accounts::{AccountChange, Actor};
use crate::text::sanitize;
use crate::world::RoomId;

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

/// `/reload`: reads the world files again, through the game's reload action:
/// invalid files change nothing, a world still holding players may not vanish,
/// players in rooms that vanished are sent to their world's spawn (by
/// [`place`], the one way an admin's doing moves a player). Success and failure
/// are both audited; the admin hears the outcome and the first warnings.
async fn reload_worlds(ctx: &Ctx<'_>) {
    let by = Reloader {
        actor: actor(ctx, Admin::Reload),
        account: ctx.me.session.account.to_string(),
        action: name(Admin::Reload).to_string(),
    };
    let game = ctx.game;
    let send_to_spawn = |player: Arc<Player>, room: RoomId| async move {
        place(game, &player, &room, "The world itself").await
    };
    match ctx.game.reload_worlds(&by, send_to_spawn).await {
        Ok(done) => ctx.reply(reloaded(ctx.game, &done)),
        Err(ReloadFailed::Refused(refusal)) => refuse(ctx, Admin::Reload, &refusal),
        Err(failed) => ctx.reply(not_reloaded(ctx.game, &failed)),
    }
}

/// How many warnings or errors a reload's reply shows; `check-worlds` lists
/// them all.
const SHOWN_PROBLEMS: usize = 5;

/// The reply to a reload that went through.
fn reloaded(game: &Game, done: &Reloaded) -> String {
    let mut reply = format!(
        "Worlds reloaded: {} world(s), {} room(s); {} player(s) sent to spawn.",
        done.worlds, done.rooms, done.sent_to_spawn
    );
    if done.placed > 0 {
        reply.push_str(&format!("\n{} item(s) placed.", done.placed));
    }
    if !done.warnings.is_empty() {
        reply.push_str(&format!("\n{} warning(s):", done.warnings.len()));
        let lines = done
            .warnings
            .iter()
            .map(|w| (&w.file, &w.field, &w.message));
        reply.push_str(&problem_lines(game, lines, done.warnings.len()));
    }
    reply
}

/// The reply to a reload that changed nothing.
fn not_reloaded(game: &Game, failed: &ReloadFailed) -> String {
    match failed {
        ReloadFailed::Invalid(errors) => {
            let lines = errors.iter().map(|e| (&e.file, &e.field, &e.message));
            format!(
                "The worlds were not reloaded; {} error(s):{}",
                errors.len(),
                problem_lines(game, lines, errors.len())
            )
        }
        ReloadFailed::NoDefaultWorld(_) => {
            "The worlds were not reloaded: the default world is gone.".to_string()
        }
        ReloadFailed::Task(err) => format!("The reload failed: {err}"),
        other => format!("The worlds were not reloaded: {other}."),
    }
}

/// The first problems, one a line, each file named relative to the worlds
/// folder; a last line says how many more there are.
fn problem_lines<'a>(
    game: &Game,
    problems: impl Iterator<Item = (&'a PathBuf, &'a String, &'a String)>,
    total: usize,
) -> String {
    let dir = &game.config().worlds_dir;
    let mut text = String::new();
    for (file, field, message) in problems.take(SHOWN_PROBLEMS) {
        let file = file.strip_prefix(dir).unwrap_or(file).display();
        if field.is_empty() {
            text.push_str(&format!("\n  {file}: {message}"));
        } else {
            text.push_str(&format!("\n  {file}: {field}: {message}"));
        }
    }
    if total > SHOWN_PROBLEMS {
        text.push_str(&format!(
            "\n  ... and {} more (\"gaslamp check-worlds\" lists them all).",
            total - SHOWN_PROBLEMS
        ));
    }
    text
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

/// `/prune <hours>`: deletes stored talk older than that; the count goes in the
/// audit row, written in the same transaction.
pub async fn prune(ctx: &Ctx<'_>, args: &str) {
    let Ok(hours) = args.parse::<u32>() else {
        return ctx.reply("Usage: /prune <hours>");
    };
    let before = Utc::now() - chrono::Duration::hours(i64::from(hours));
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
        Ok(n) => ctx.reply(format!(
            "{n} chat line(s) older than {hours} hour(s) deleted."
        )),
        Err(refusal) => refuse(ctx, Admin::Prune, &refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_speak_in_hours_minutes_and_seconds() {
        assert_eq!(spoken_duration(5400), "1 hour 30 minutes");
        assert_eq!(spoken_duration(120), "2 minutes");
        assert_eq!(spoken_duration(65), "1 minute 5 seconds");
        assert_eq!(spoken_duration(1), "1 second");
        assert_eq!(spoken_duration(10), "10 seconds");
    }
}
