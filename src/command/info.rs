//! `who`, and what a player does with their account and connection:
//! `characters`, `password`, `color`, `quit`.

use std::fmt::Write;

use super::common::short_duration;
use super::spec::{Group, Spec, done, finished, hand_back};
use super::{Ctx, Flow};

pub static WHO: Spec = Spec {
    name: "who",
    usage: "who",
    summary: "List who is playing in this world, how long idle, and who is away.",
    details: "Lists who is playing in this world, how long each has been idle, and who is\naway (afk) and why.",
    example: "who",
    run: |ctx, _, _| {
        who(ctx);
        finished()
    },
    ..Spec::player(Group::Information)
};

pub static CHARACTERS: Spec = Spec {
    name: "characters",
    usage: "characters",
    summary: "Leave the game for the character menu.",
    details: "Leaves the game for the character menu, to play another character or switch worlds.",
    example: "characters",
    run: |_, _, _| hand_back(Flow::Characters),
    ..Spec::player(Group::Account)
};

pub static PASSWORD: Spec = Spec {
    name: "password",
    usage: "password",
    summary: "Change your password.",
    details: "Changes your password: the old one first, then the new one twice (hidden). A wrong old one counts like a failed login.",
    example: "password",
    run: |_, _, _| hand_back(Flow::ChangePassword),
    ..Spec::player(Group::Account)
};

pub static QUIT: Spec = Spec {
    name: "quit",
    usage: "quit",
    summary: "Save and leave the game.",
    details: "Saves your character and leaves the game.",
    example: "quit",
    // A stray "q" should not end anyone's evening.
    abbreviable: false,
    run: |_, _, _| hand_back(Flow::Quit),
    ..Spec::player(Group::Account)
};

pub static COLOR: Spec = Spec {
    name: "color",
    aliases: &["colour"],
    usage: "color [on|off]",
    summary: "Show or set whether text is coloured (room names, exits, items, speech).",
    details: "Shows or sets whether text is coloured: room names, exits, items, speech and system messages. Kept with your account; colour is only sent to clients that say they show it.",
    example: "color off",
    run: |ctx, _, switch| done(color(ctx, switch)),
    ..Spec::player(Group::Account)
};

/// `who`: everyone playing in the player's world, with idle times.
fn who(ctx: &Ctx<'_>) {
    let players = ctx.game.players_in(&ctx.me.world);
    let world_name = ctx
        .world()
        .map_or_else(|| ctx.me.world.to_string(), |w| w.name.clone());
    let mut text = format!("Players in {world_name}:");
    for player in &players {
        let idle = short_duration(player.idle());
        let away = ctx.game.away_message(player.character_id);
        if ctx.screen_reader() {
            // Padding is read aloud as silence, or worse: none for a screen reader.
            let _ = write!(text, "\n{}, idle {idle}", player.name);
            if let Some(away) = away {
                let _ = write!(text, ", away: {away}");
            }
        } else {
            let _ = write!(text, "\n  {:<20} idle {idle}", player.name);
            if let Some(away) = away {
                let _ = write!(text, "{:pad$}away: {away}", "", pad = 6 - idle.len().min(4));
            }
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
async fn color(ctx: &Ctx<'_>, switch: &str) {
    let client = ctx.me.session.profile();
    let switch = (!switch.is_empty()).then(|| switch.to_lowercase());
    let wanted = match switch.as_deref() {
        None => client.colour_wanted(),
        Some("on") => true,
        Some("off") => false,
        Some(_) => return ctx.reply(format!("Usage: {}", COLOR.usage)),
    };
    if switch.is_some() {
        let saved = ctx.game.set_colour(ctx.me.user_id(), wanted).await;
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
