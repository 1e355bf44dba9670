//! `who`, `help` and `color`.

use std::fmt::Write;

use super::Ctx;
use super::common::short_duration;
use super::parse::{Group, VERBS, Verb, VerbSpec, lookup};
use crate::auth::Role;

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

/// `help`: the commands the player's role allows, grouped, or one command in
/// detail: its usage, every other name, what it does, and an example.
pub fn help(ctx: &Ctx<'_>, topic: Option<&str>) {
    let role = ctx.me.role();
    match topic {
        Some(topic) => {
            let topic = topic.trim().trim_start_matches('/');
            match lookup(topic) {
                Ok(spec) if spec.min_role <= role => ctx.reply(command_help(spec)),
                _ => ctx.reply(format!(
                    "There is no help on \"{topic}\". Type \"help\" for the list of commands."
                )),
            }
        }
        None => ctx.reply(command_list(role, !ctx.screen_reader())),
    }
}

/// One command's help.
fn command_help(spec: &VerbSpec) -> String {
    let mut text = String::from(spec.usage);
    if !spec.aliases.is_empty() {
        let _ = write!(text, "\nAlso: {}", spec.aliases.join(", "));
    }
    let _ = write!(text, "\n{}\nExample: {}", spec.details, spec.example);
    text
}

/// Every command `role` may use, by group, the directions on one line.
/// `padded` lines the summaries up in a column; a screen reader gets
/// `usage: summary` instead, without the run of spaces.
fn command_list(role: Role, padded: bool) -> String {
    let entry = |usage: &str, summary: &str| {
        if padded {
            format!("\n  {usage:<30} {summary}")
        } else {
            format!("\n{usage}: {summary}")
        }
    };
    let mut text =
        String::from("Commands (a leading / is optional; \"help <command>\" explains one):");
    for group in Group::ALL {
        let specs: Vec<&VerbSpec> = VERBS
            .iter()
            .filter(|spec| spec.group == group && spec.min_role <= role)
            .collect();
        if specs.is_empty() {
            continue;
        }
        let _ = write!(text, "\n{}:", group.title());
        let directions: Vec<&str> = specs
            .iter()
            .filter(|spec| matches!(spec.verb, Verb::Direction(_)))
            .map(|spec| spec.aliases.first().copied().unwrap_or(spec.name))
            .collect();
        if !directions.is_empty() {
            text.push_str(&entry(&directions.join(" "), "Walk that way."));
        }
        for spec in specs
            .iter()
            .filter(|spec| !matches!(spec.verb, Verb::Direction(_)))
        {
            text.push_str(&entry(spec.usage, spec.summary));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_real_help() {
        for spec in VERBS {
            let help = command_help(spec);
            assert!(help.starts_with(spec.usage), "{help}");
            assert!(help.contains("Example: "), "{help}");
            assert!(spec.details.len() > 20, "{}: {}", spec.name, spec.details);
            for alias in spec.aliases {
                assert!(help.contains(alias), "{help}");
            }
        }
    }

    #[test]
    fn the_list_is_grouped_and_follows_the_role() {
        let players = command_list(Role::Player, true);
        for title in ["Looking:", "Moving:", "Talking:", "Items:", "Your account:"] {
            assert!(players.contains(title), "{title}: {players}");
        }
        assert!(!players.contains("/kick"), "{players}");
        assert!(!players.contains("Admin"), "{players}");
        let supers = command_list(Role::Superuser, true);
        let spoken = command_list(Role::Player, false);
        assert!(
            spoken.contains("\nsay <text>  or  '<text>: Say something"),
            "{spoken}"
        );
        assert!(!spoken.contains("   "), "no padding: {spoken}");
        assert!(
            supers.contains("/kick") && supers.contains("/role"),
            "{supers}"
        );
        let moving = players.find("Moving:").expect("moving");
        let talking = players.find("Talking:").expect("talking");
        let directions = players.find("n s e w ne nw se sw u d").expect("directions");
        assert!(moving < directions && directions < talking, "{players}");
    }
}
