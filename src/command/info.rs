//! `who`, `help` and `color`.

use std::fmt::Write;

use super::Ctx;
use super::common::short_duration;
use super::parse::{VERBS, Verb, lookup};

/// `who`: everyone playing in the player's world, with idle times.
pub fn who(ctx: &Ctx<'_>) {
    let players = ctx.game.registry().players(Some(&ctx.me.world));
    let world_name = ctx
        .world()
        .map_or_else(|| ctx.me.world.to_string(), |w| w.name.clone());
    let mut text = format!("Players in {world_name}:");
    for player in &players {
        let idle = short_duration(player.idle());
        if ctx.screen_reader() {
            // Padding is read aloud as silence, or worse: none for a screen reader.
            let _ = write!(text, "\n{}, idle {idle}", player.name);
        } else {
            let _ = write!(text, "\n  {:<20} idle {idle}", player.name);
        }
    }
    let n = players.len();
    let _ = write!(
        text,
        "\n{n} {} online.",
        if n == 1 { "player" } else { "players" }
    );
    ctx.reply(text);
}

/// `color [on|off]`: shows or sets the account's colour preference; the
/// change is kept in the database and applies to this connection at once.
pub async fn color(ctx: &Ctx<'_>, switch: Option<&str>) {
    let client = ctx.me.session.profile();
    let wanted = match switch {
        None => client.colour_wanted(),
        Some("on") => true,
        Some("off") => false,
        Some(_) => return ctx.reply("Usage: color [on|off]"),
    };
    if switch.is_some() {
        let saved = ctx
            .game
            .store()
            .accounts()
            .set_colour(ctx.me.user_id(), wanted)
            .await;
        if let Err(err) = saved {
            return ctx.store_trouble(&err);
        }
        client.set_colour_wanted(wanted);
    }
    let state = if wanted { "on" } else { "off" };
    if wanted && !client.colour_capable() {
        ctx.reply(format!(
            "Colour is {state}, but your client has not said it shows colour, so none is sent."
        ));
    } else {
        ctx.reply(format!("Colour is {state}."));
    }
}

/// `help`: the commands the player's role allows, or one command in detail.
pub fn help(ctx: &Ctx<'_>, topic: Option<&str>) {
    let role = ctx.me.role();
    if let Some(topic) = topic {
        let topic = topic.trim_start_matches('/');
        return match lookup(topic) {
            Ok(spec) if spec.min_role <= role => {
                let aliases = if spec.aliases.is_empty() {
                    String::new()
                } else {
                    format!("\nAlso: {}", spec.aliases.join(", "))
                };
                ctx.reply(format!("{}\n  {}{aliases}", spec.usage, spec.summary))
            }
            _ => ctx.reply(format!("There is no help on \"{topic}\".")),
        };
    }
    let mut text =
        String::from("Commands (a leading / is optional; \"help <command>\" explains one):");
    let mut directions = Vec::new();
    for spec in VERBS.iter().filter(|spec| spec.min_role <= role) {
        if let Verb::Direction(_) = spec.verb {
            directions.push(spec.aliases.first().copied().unwrap_or(spec.name));
            continue;
        }
        if spec.verb == Verb::Go {
            let _ = write!(text, "\n  {:<30} Walk that way.", directions.join(" "));
        }
        let _ = write!(text, "\n  {:<30} {}", spec.usage, spec.summary);
    }
    ctx.reply(text);
}
