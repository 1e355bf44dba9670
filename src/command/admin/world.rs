//! Admin commands on the world and the server: goto, teleport, reload (of the
//! worlds, or of the TLS certificate), wall, shutdown, prune.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use std::path::PathBuf;

use super::super::Ctx;
use super::super::common::{Named, find_person, which_names};
use super::super::parse::split_word;
use super::super::spec::{Group, Spec, done};
use super::build::no_room;
use super::{actor, authorize, authorize_as, change, entry, refuse};
use crate::auth::Role;
use crate::config::{DURATION_FORMS, parse_duration};
use crate::game::worlds::{ReloadFailed, Reloaded, Reloader};
use crate::game::{Game, How, MoveRefused, Player};
use crate::replies;
use crate::store::accounts::{AccountChange, Actor};
use crate::text::sanitize;
use crate::world::RoomId;

pub static GOTO: Spec = Spec {
    name: "goto",
    usage: "/goto <room>",
    summary: "Go to a room (room, or zone:room).",
    details: "Takes you to a room of this world at once: its id, or zone:room. An unknown\nroom is answered with the nearest ids.",
    example: "/goto harbour_gate",
    run: |ctx, spec, args| done(goto(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static TELEPORT: Spec = Spec {
    name: "teleport",
    usage: "/teleport <character> <room>",
    summary: "Move a character to a room.",
    details: "Moves a character of this world to a room at once, whatever they are doing.",
    example: "/teleport Ann quayside:long_quay",
    run: |ctx, spec, args| done(teleport(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static RELOAD: Spec = Spec {
    name: "reload",
    usage: "/reload [tls]",
    summary: "Reload the world files, or (admin+) the TLS certificate.",
    details: "Reads the world files again. Invalid files change nothing; players in rooms that vanished are sent to the spawn. \"/reload tls\" (admin+) loads the TLS certificate and key again for new handshakes; open connections stay.",
    example: "/reload",
    run: |ctx, _, args| done(reload(ctx, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static WALL: Spec = Spec {
    name: "wall",
    usage: "/wall <text>",
    summary: "Send a message to every connected player.",
    details: "Sends a message to every connected player.",
    example: "/wall Restart in ten minutes.",
    run: |ctx, spec, args| done(wall(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static SHUTDOWN: Spec = Spec {
    name: "shutdown",
    usage: "/shutdown [duration] [reason]  or  /shutdown cancel",
    summary: "Count down, then shut the server down gracefully.",
    details: "Counts down (default 10 seconds; 90, 90s, 2m, 1h30m) with warnings to everyone, then shuts the server down gracefully. \"/shutdown cancel\" stops the countdown.",
    example: "/shutdown 2m upgrading the lamps",
    run: |ctx, spec, args| done(shutdown(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static PRUNE: Spec = Spec {
    name: "prune",
    usage: "/prune <duration>",
    summary: "Delete stored chat older than that (24h, 30d).",
    details: "Deletes stored talk older than the duration, which needs its unit (24h, 30d): a bare number is refused, so \"/prune 24\" never means 24 seconds.",
    example: "/prune 30d",
    run: |ctx, _, args| done(prune(ctx, args)),
    ..Spec::base(Group::Superuser, Role::Superuser)
};

/// `/goto <room>`: the admin moves themselves.
async fn goto(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let here = ctx.me.room();
    let Some(room) = world.resolve_room(args, Some(here.zone())) else {
        return ctx.reply(no_room(&world, args, &world.nearest_rooms(args, 3)));
    };
    if authorize(ctx, spec, Some(room.as_str()), None).await {
        let _ = ctx
            .game
            .move_player(ctx.me, &room, How::Sent { by: None })
            .await;
    }
}

/// `/teleport <character> <room>`: moves a player of this world, at once,
/// whatever the player is doing (the move is the admin's own registry step).
async fn teleport(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (name, room_text) = split_word(args);
    if name.is_empty() || room_text.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let here = ctx.game.players_in(&ctx.me.world);
    let target = match find_person(&here, ctx.me, name) {
        Named::One(target) => target,
        Named::Several(names) => return ctx.reply(which_names(&names)),
        Named::Nobody => return ctx.reply(format!("{name} is not playing in this world.")),
    };
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let Some(room) = world.resolve_room(room_text, Some(target.room().zone())) else {
        let nearest = world.nearest_rooms(room_text, 3);
        return ctx.reply(no_room(&world, room_text, &nearest));
    };
    let Some(sent) = permit_teleport(ctx, spec, &target, &room).await else {
        return;
    };
    let room_name = world.room(&room).map_or(room.as_str(), |r| r.name.as_str());
    match ctx.game.move_player(&target, &room, sent).await {
        Ok(()) if target.conn_id == ctx.me.conn_id => {}
        Ok(()) => ctx.reply(format!("{} is on the way to {room_name}.", target.name)),
        Err(MoveRefused::NotPlaying) => {
            ctx.reply(format!("{} is no longer playing.", target.name));
        }
        Err(MoveRefused::NoSuchRoom) => ctx.reply(format!("There is no room \"{room_text}\".")),
    }
}

/// The gate of a teleport, and how the target is sent: an admin moving
/// themselves passes the audit gate; moving someone else is a change to their
/// account, so the hierarchy applies. `None` (after the reply) when refused.
async fn permit_teleport(
    ctx: &Ctx<'_>,
    spec: &'static Spec,
    target: &Player,
    room: &RoomId,
) -> Option<How> {
    if target.conn_id == ctx.me.conn_id {
        let detail = Some(room.to_string());
        return authorize(ctx, spec, Some(&target.name), detail)
            .await
            .then_some(How::Sent { by: None });
    }
    let oversee = AccountChange::Oversee {
        detail: Some(format!("{} to {room}", target.name)),
    };
    change(ctx, spec, &target.session.account, oversee).await?;
    Some(How::Sent {
        by: Some(ctx.me.name.clone()),
    })
}

/// `/reload` (the worlds) or `/reload tls` (the TLS certificate).
async fn reload(ctx: &Ctx<'_>, args: &str) {
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
    if !authorize_as(ctx, actor, &RELOAD, None, Some("tls".into())).await {
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
/// players in rooms that vanished are sent to their world's spawn (by the one
/// move path). Success and failure
/// are both audited; the admin hears the outcome and the first warnings.
async fn reload_worlds(ctx: &Ctx<'_>) {
    let by = Reloader {
        actor: actor(ctx, &RELOAD),
        account: ctx.me.session.account.to_string(),
        action: RELOAD.name.to_string(),
    };
    match ctx.game.reload_worlds(&by).await {
        Ok(done) => ctx.reply(reloaded(ctx.game, &done)),
        Err(ReloadFailed::Refused(refusal)) => refuse(ctx, &RELOAD, &refusal),
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
async fn wall(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let text = sanitize(args);
    if text.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    if authorize(ctx, spec, None, Some(text.clone())).await {
        ctx.game
            .announce(&format!("*** Announcement from {}: {text}", ctx.me.name));
    }
}

/// `/shutdown [duration] [reason]` or `/shutdown cancel`.
async fn shutdown(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    if split_word(args).0.eq_ignore_ascii_case("cancel") {
        return cancel_shutdown(ctx, spec).await;
    }
    let Some((seconds, reason)) = countdown_asked(args) else {
        return ctx.reply(format!(
            "Usage: /shutdown [duration] [reason], the duration being {DURATION_FORMS}; \
             or /shutdown cancel."
        ));
    };
    let reason = sanitize(reason);
    let detail = Some(format!("{seconds}s {reason}").trim_end().to_string());
    if !authorize(ctx, spec, None, detail).await {
        return;
    }
    let countdown = CancellationToken::new();
    if !ctx.game.start_countdown(countdown.clone()) {
        tracing::info!(
            actor = %ctx.me.session.account,
            "no new shutdown: one is already counting down"
        );
        return ctx.reply("A shutdown is already counting down (\"/shutdown cancel\" stops it).");
    }
    tracing::info!(
        actor = %ctx.me.session.account,
        seconds,
        reason = %reason,
        "shutdown countdown started"
    );
    // On the game's tracker, so a shutdown begun meanwhile (a signal) waits
    // for the countdown to notice and end.
    let game = ctx.game.clone();
    ctx.game
        .tasks()
        .spawn(count_down(game, seconds, reason, countdown));
}

/// `/shutdown cancel`: stops a running countdown.
async fn cancel_shutdown(ctx: &Ctx<'_>, spec: &'static Spec) {
    if !authorize(ctx, spec, None, Some("cancel".into())).await {
        return;
    }
    if ctx.game.cancel_countdown() {
        tracing::info!(actor = %ctx.me.session.account, "shutdown countdown cancelled");
        ctx.game.announce("*** The shutdown has been cancelled.");
    } else {
        tracing::info!(
            actor = %ctx.me.session.account,
            "no shutdown cancelled: none was counting down"
        );
        ctx.reply("No shutdown is counting down.");
    }
}

/// The countdown's seconds and reason. A first word that starts like a
/// number is the duration, and must be one (`None` when it is not); anything
/// else is the reason, after the default ten seconds.
fn countdown_asked(args: &str) -> Option<(u64, &str)> {
    let (first, rest) = split_word(args);
    if !first.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return Some((10, args));
    }
    let wait = parse_duration(first).ok()?;
    Some((wait.as_secs_f64().ceil() as u64, rest))
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
        _ = game.shutdown_token().cancelled() => return,
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
async fn prune(ctx: &Ctx<'_>, args: &str) {
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
    let pruned = ctx
        .game
        .prune_talk(actor(ctx, &PRUNE), before, entry(&PRUNE, None, None))
        .await;
    match pruned {
        Ok(n) => ctx.reply(format!("{n} chat line(s) older than {text} deleted.")),
        Err(refusal) => refuse(ctx, &PRUNE, &refusal),
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
    fn a_countdown_takes_a_duration_then_a_reason() {
        assert_eq!(countdown_asked("2m new lamps"), Some((120, "new lamps")));
        assert_eq!(countdown_asked("45"), Some((45, "")));
        assert_eq!(
            countdown_asked("lamps need oil"),
            Some((10, "lamps need oil"))
        );
        assert_eq!(countdown_asked(""), Some((10, "")));
        assert_eq!(countdown_asked("5x typo"), None);
        assert_eq!(countdown_asked("-5m oops"), None);
    }

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
