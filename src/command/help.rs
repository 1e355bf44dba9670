//! `help`: the commands a player's role allows, grouped, or one command in
//! detail. Both derive from the command list (`table`), the one module besides
//! the parser that reads it whole. The channels the role hears are listed
//! after the commands, and `help <channel>` explains one; so are the
//! socials, and `help <social>` gives a social's sentences.

use std::fmt::Write;

use super::Ctx;
use super::parse::lookup_as;
use super::spec::{Group, Spec, finished};
use super::table::COMMANDS;
use crate::auth::Role;
use crate::game::ChannelDef;
use crate::game::data::direction_named;
use crate::socials::Social;
use crate::text::wrap;

pub static HELP: Spec = Spec {
    name: "help",
    aliases: &["?"],
    usage: "help [command]",
    summary: "List the commands, or explain one.",
    details: "Lists the commands, or explains one: its usage, other names, what it does, and an example.\nBuilders: \"help building\" lists the building commands with examples.",
    example: "help give",
    run: |ctx, _, topic| {
        help(ctx, topic);
        finished()
    },
    ..Spec::player(Group::Information)
};

/// `help`: the commands the player's role allows, grouped, or one command in
/// detail: its usage, every other name, what it does, and an example.
fn help(ctx: &Ctx<'_>, topic: &str) {
    let role = ctx.me.role();
    if topic.is_empty() {
        let layout = if ctx.screen_reader() {
            Layout::Spoken
        } else {
            Layout::Columns(ctx.me.session.width())
        };
        let mut text = command_list(role, layout);
        text.push_str(&more_topics(ctx, role, layout));
        return ctx.reply(text);
    }
    let topic = topic.trim_start_matches('/');
    // A channel is never named like a command, so it comes first here as in
    // the parser's order, before the prefixes of command words.
    if let Some(channel) = ctx.game.channel_for(topic, role) {
        return ctx.reply(channel_help(channel));
    }
    if topic.eq_ignore_ascii_case("building") && role >= Role::Worldbuilder {
        return ctx.reply(building_help(role));
    }
    // A social is never named like a command either.
    if let Some(social) = ctx.game.socials().get(&topic.to_lowercase()) {
        return ctx.reply(social_help(social));
    }
    match lookup_as(topic, role) {
        Ok(spec) if spec.role <= role => ctx.reply(command_help(spec)),
        _ => ctx.reply(format!(
            "There is no help on \"{topic}\". Type \"help\" for the list of commands."
        )),
    }
}

/// After the commands, a group of its own: the channels the role hears, the
/// socials and aliases, each line wrapped under its indent.
fn more_topics(ctx: &Ctx<'_>, role: Role, layout: Layout) -> String {
    let width = match layout {
        Layout::Columns(width) => width,
        Layout::Spoken => None,
    };
    let channels: Vec<&str> = ctx
        .game
        .channels()
        .iter()
        .filter(|c| c.readable_by(role))
        .map(|c| &*c.name)
        .collect();
    let mut lines = Vec::new();
    if !channels.is_empty() {
        lines.push(format!(
            "Channels: {} (\"help <channel>\" explains one).",
            channels.join(", ")
        ));
    }
    let socials = ctx.game.socials().len();
    if socials > 0 {
        lines.push(format!(
            "Socials: {socials} (\"socials\" lists them, \"help <social>\" explains one)."
        ));
    }
    lines.push("Aliases of your own: \"help alias\".".to_string());
    let mut text = String::from("\nMore:");
    for line in lines {
        text.push('\n');
        text.push_str(&wrap::hanging("  ", &line, width));
    }
    text
}

/// One command's help.
fn command_help(spec: &Spec) -> String {
    let mut text = String::from(spec.usage);
    if !spec.aliases.is_empty() {
        let _ = write!(text, "\nAlso: {}", spec.aliases.join(", "));
    }
    let _ = write!(text, "\n{}\nExample: {}", spec.details, spec.example);
    text
}

/// How the list of commands is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Usages in a column and summaries in the next, wrapped at the width
    /// (`None`: the client wraps) under their own column.
    Columns(Option<usize>),
    /// `usage: summary`, without the runs of spaces a screen reader would read.
    Spoken,
}

/// Where the summaries' column starts: two spaces, the usage, one space.
const USAGE_COLUMN: usize = 30;

/// Every command `role` may use, by group, the directions on one line.
fn command_list(role: Role, layout: Layout) -> String {
    let entry = |usage: &str, summary: &str| match layout {
        // A usage too long for its column has a line of its own, and its
        // summary starts under the column on the next.
        Layout::Columns(width) if usage.chars().count() > USAGE_COLUMN => {
            let lead = " ".repeat(USAGE_COLUMN + 3);
            format!("\n  {usage}\n{}", wrap::hanging(&lead, summary, width))
        }
        Layout::Columns(width) => {
            let lead = format!("  {usage:<USAGE_COLUMN$} ");
            format!("\n{}", wrap::hanging(&lead, summary, width))
        }
        Layout::Spoken => format!("\n{usage}: {summary}"),
    };
    let mut text =
        String::from("Commands (a leading / is optional; \"help <command>\" explains one):");
    for group in Group::ALL {
        let specs: Vec<&Spec> = COMMANDS
            .iter()
            .copied()
            .filter(|spec| spec.group == group && spec.role <= role)
            .collect();
        if specs.is_empty() {
            continue;
        }
        let _ = write!(text, "\n{}:", group.title());
        let directions: Vec<&str> = specs
            .iter()
            .filter(|spec| is_direction(spec))
            .map(|spec| spec.aliases.first().copied().unwrap_or(spec.name))
            .collect();
        if !directions.is_empty() {
            text.push_str(&entry(&directions.join(" "), "Walk that way."));
        }
        for spec in specs.iter().filter(|spec| !is_direction(spec)) {
            text.push_str(&entry(spec.usage, spec.summary));
        }
    }
    text
}

/// `help building`: the building commands with an example each, and how a
/// first room is made.
fn building_help(role: Role) -> String {
    let mut text = String::from(
        "Building (the world files change as you type; \"help <command>\" explains one):",
    );
    for spec in COMMANDS
        .iter()
        .filter(|spec| spec.group == Group::Building && spec.role <= role)
    {
        let _ = write!(text, "\n  {:<34} e.g. {}", spec.usage, spec.example);
    }
    text.push_str(
        "\nA first room: \"/dig down The Coal Cellar\", then \"down\", \"/rdesc\" and a few lines\n\
         ending with \".\"; \"/undo\" takes the last change back. Every reply ends with\n\
         \"Wrote <file>.\" for each file written.",
    );
    text
}

/// One channel's help: what it is for, the three things its name does, and
/// who hears it and speaks on it.
fn channel_help(channel: &ChannelDef) -> String {
    let name = &channel.name;
    let who = |role: Role| match role {
        Role::Player => "everyone".to_string(),
        role => format!("{role}s and above"),
    };
    let mut text = format!(
        "{name}: {}\n\
         {name} <text>: everyone listening, in every world, hears \"[{name}] <Name>: <text>\"\n\
         \x20 (someone from another world shows as <Name>@<world>).\n\
         {name} off, {name} on: stop or start hearing it; kept with your account.\n\
         {name} history [n]: the last n lines (20, at most 100), times in UTC.\n\
         Who hears it: {}. Who speaks on it: {}.",
        channel.description,
        who(channel.read),
        who(channel.write)
    );
    if !channel.guests {
        text.push_str(" Guests only listen.");
    }
    text
}

/// One social's help: its sentences, alone and at someone.
fn social_help(social: &Social) -> String {
    let name = &social.name;
    format!(
        "{name}: a social (\"socials\" lists them all). Alone:\n\
         \x20 you see: {}\n\
         \x20 the room sees: {}\n\
         At someone (\"{name} <name>\"):\n\
         \x20 you see: {}\n\
         \x20 they see: {}\n\
         \x20 the others see: {}",
        social.you, social.room, social.you_at, social.target, social.room_at
    )
}

/// Whether a command is one of the walking directions (listed on one line).
fn is_direction(spec: &Spec) -> bool {
    direction_named(spec.name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_real_help() {
        for spec in COMMANDS {
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
        let players = command_list(Role::Player, Layout::Columns(Some(80)));
        for title in ["Looking:", "Moving:", "Talking:", "Items:", "Your account:"] {
            assert!(players.contains(title), "{title}: {players}");
        }
        assert!(!players.contains("/kick"), "{players}");
        assert!(!players.contains("Admin"), "{players}");
        let supers = command_list(Role::Superuser, Layout::Columns(None));
        let spoken = command_list(Role::Player, Layout::Spoken);
        assert!(
            spoken.contains("\nsay <text>  or  '<text>: Say something"),
            "{spoken}"
        );
        assert!(!spoken.contains("   "), "no padding: {spoken}");
        assert!(
            supers.contains("/kick") && supers.contains("/role"),
            "{supers}"
        );
        let building = building_help(Role::Worldbuilder);
        assert!(
            building.contains("/dig <exit> <room name>") && building.contains("e.g. /undo"),
            "{building}"
        );
        assert!(!building.contains("/kick"), "{building}");
        let moving = players.find("Moving:").expect("moving");
        let talking = players.find("Talking:").expect("talking");
        let directions = players.find("n s e w ne nw se sw u d").expect("directions");
        assert!(moving < directions && directions < talking, "{players}");
    }

    /// Issue 22: a summary wrapped by the client's width went back to column
    /// 0; it now goes on under its own column.
    #[test]
    fn wrapped_summaries_stay_in_their_column() {
        let list = command_list(Role::Superuser, Layout::Columns(Some(60)));
        let column = USAGE_COLUMN + 3;
        let mut continued = 0;
        for line in list.lines().skip(1) {
            assert!(line.chars().count() <= 60, "{line:?}");
            if line.ends_with(':') && !line.starts_with(' ') {
                continue;
            }
            assert!(line.starts_with("  "), "{line:?} is at column 0");
            if line.starts_with(&" ".repeat(column)) {
                continued += 1;
            }
        }
        assert!(continued > 3, "{list}");
    }
}
