//! `who` and `help`.

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
        let _ = write!(
            text,
            "\n  {:<20} idle {}",
            player.name,
            short_duration(player.idle())
        );
    }
    let n = players.len();
    let _ = write!(
        text,
        "\n{n} {} online.",
        if n == 1 { "player" } else { "players" }
    );
    ctx.reply(text);
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
        None => ctx.reply(command_list(role)),
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
fn command_list(role: Role) -> String {
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
            let _ = write!(text, "\n  {:<30} Walk that way.", directions.join(" "));
        }
        for spec in specs
            .iter()
            .filter(|spec| !matches!(spec.verb, Verb::Direction(_)))
        {
            let _ = write!(text, "\n  {:<30} {}", spec.usage, spec.summary);
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
        let players = command_list(Role::Player);
        for title in ["Looking:", "Moving:", "Talking:", "Items:", "Your account:"] {
            assert!(players.contains(title), "{title}: {players}");
        }
        assert!(!players.contains("/kick"), "{players}");
        assert!(!players.contains("Admin"), "{players}");
        let supers = command_list(Role::Superuser);
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
