//! Player commands: what each one means and does.
//!
//! [`execute`] takes a typed line: [`parse`] names the command (the line's
//! grammar and the matching order), the command's [`Spec`] — beside its
//! handler in its family's file, listed in [`table`] — says what it needs, and
//! its handler parses its own arguments, calls the game's action and replies.
//! The families: looking, moving, talking, the channels, ignoring, who a
//! character is (`profile`: describe, afk), items, information, help, and the
//! admin slash commands; `common` holds what they share, and `narrate` the
//! sentences rooms hear when someone moves (an observer of the game's moves,
//! registered when the server starts). A channel's name is a command of its
//! own for whoever may read it (`ooc hello`), found by the parser through
//! the player's [`Vocabulary`](parse::Vocabulary).
//!
//! **Invariant:** handlers never block: store work goes through the game's
//! actions (the store's typed fronts on the blocking pool, the writer's
//! queue), and fan-out never waits for anyone.
//! **Invariant:** handlers borrow shared helpers from `common`, never from each
//! other; only `help` and the parser read the whole list.

pub mod admin;
pub mod alias;
pub mod channels;
pub mod common;
pub mod doors;
pub mod help;
pub mod history;
pub mod ignore;
pub mod info;
pub mod items;
pub mod look;
pub mod mail;
pub mod movement;
pub mod narrate;
pub mod parse;
pub mod profile;
pub mod socials;
pub mod spec;
pub mod table;
pub mod talk;

use std::sync::Arc;

pub use narrate::Narrator;
pub use parse::{Parsed, parse_as, parse_with};
pub use spec::{Group, Needs, Spec};
pub use table::{COMMANDS, is_command_word};

use crate::game::{Game, Player};
use crate::replies;
use crate::text::sanitize;
use crate::world::{RoomId, World};

/// What the session does after a command. Commands that need to ask the player
/// something (hidden password prompts) or to leave the game hand that back to the
/// session, which owns the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Show the prompt and read the next command.
    Continue,
    /// The player quit; the connection closes.
    Quit,
    /// Back to the character menu.
    Characters,
    /// Ask for the old password and a new one.
    ChangePassword,
    /// An admin sets another account's password: ask for it.
    SetPassword { account: String },
    /// Write a text in the session's editor, then hand it to
    /// [`finish_draft`].
    Write(Draft),
}

/// A text to be written in the session's editor (lines until `.`, `~q` to
/// throw it away), and what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Said before the first line: what is written and how to end it.
    pub intro: String,
    /// At most this many characters (the newlines between lines counted).
    pub max_chars: usize,
    /// At most this many lines.
    pub max_lines: usize,
    pub purpose: Purpose,
}

/// What a text written in the editor is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// A description for the building commands (`/rdesc`, `/idesc`).
    Describe(Described),
    /// A letter to another character of the world (`mail <name> <subject>`).
    Mail(mail::Letter),
}

/// What a description written in the editor describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Described {
    /// The room `/rdesc` was typed in.
    Room { room: RoomId },
    /// An item kind (`/idesc`).
    Item { item: Arc<str> },
}

/// Hands a text written in the editor to the command that asked for it:
/// `Some(text)` when it was ended with `.`, `None` when thrown away.
pub async fn finish_draft(ctx: &Ctx<'_>, purpose: Purpose, text: Option<String>) {
    match purpose {
        Purpose::Describe(described) => admin::build::finish_draft(ctx, described, text).await,
        Purpose::Mail(letter) => mail::finish_draft(ctx, letter, text).await,
    }
}

/// What a handler works with: the game and the player who typed the command.
pub struct Ctx<'a> {
    pub game: &'a Arc<Game>,
    pub me: &'a Arc<Player>,
}

impl<'a> Ctx<'a> {
    pub fn new(game: &'a Arc<Game>, me: &'a Arc<Player>) -> Ctx<'a> {
        Ctx { game, me }
    }

    /// The player's world. A world can only vanish in a reload, which moves its
    /// players out first, so a missing world is answered, not assumed away.
    pub fn world(&self) -> Option<Arc<World>> {
        self.game.world(&self.me.world)
    }

    /// Sends the player a line.
    pub fn reply(&self, text: impl Into<Arc<str>>) {
        self.me.tell(text);
    }

    /// Sends the player styled text.
    pub fn reply_styled(&self, text: crate::text::Styled) {
        self.me.tell_styled(text);
    }

    /// Whether a screen reader speaks this player's output: leave out padding
    /// and decoration.
    pub fn screen_reader(&self) -> bool {
        self.me.session.profile().screen_reader()
    }

    /// Tells the player a store call failed (see [`replies::store_error`]).
    pub fn store_trouble(&self, err: &crate::store::StoreError) {
        self.reply(replies::store_error(err));
    }
}

/// Carries out one typed line for the playing connection, with the role the
/// account holds now. Any command but `afk` itself brings a player who was
/// away back.
pub async fn execute(ctx: &Ctx<'_>, line: &str) -> Flow {
    let words = channels::Words::of(ctx);
    let parsed = parse_with(line, ctx.me.role(), &words);
    let again_away = matches!(parsed, Parsed::Command { spec, .. } if *spec == profile::AFK);
    if !matches!(parsed, Parsed::Empty) && !again_away && ctx.game.come_back(ctx.me) {
        ctx.reply(profile::BACK);
    }
    // A verb a script here adds comes after the command words, before
    // their prefixes and the game's own words (SPEC §4's order).
    if !parse::names_a_command(line) && script_verb(ctx, line).await {
        return Flow::Continue;
    }
    match parsed {
        Parsed::Empty => Flow::Continue,
        Parsed::Command { spec, args } => run(ctx, spec, args).await,
        Parsed::Channel { name, args } => {
            channels::channel_command(ctx, name, args).await;
            Flow::Continue
        }
        Parsed::Social { name, args } => {
            socials::social_command(ctx, name, args);
            Flow::Continue
        }
        Parsed::Forbidden(spec) => {
            ctx.reply(replies::no_permission(spec.name));
            Flow::Continue
        }
        Parsed::Ambiguous(names) => {
            ctx.reply(common::which_one(&names));
            Flow::Continue
        }
        Parsed::Unknown => {
            ctx.reply(replies::UNKNOWN_COMMAND);
            Flow::Continue
        }
    }
}

/// Hands the line to the script whose verb it begins with, if one here
/// has such a verb; true when one took it.
async fn script_verb(ctx: &Ctx<'_>, line: &str) -> bool {
    let line = sanitize(line);
    let Some(world) = ctx.world() else {
        return false;
    };
    let any_verbs = world.npcs.iter().any(|n| !n.commands.is_empty())
        || world.rooms.values().any(|r| !r.commands.is_empty())
        || world.items.values().any(|i| !i.commands.is_empty());
    if !any_verbs {
        return false;
    }
    let carried = ctx.game.carried(ctx.me).await.unwrap_or_default();
    ctx.game.script_verb(ctx.me, &line, &carried).is_some()
}

/// Runs one command. An admin command's arguments are cleaned first like any
/// player text: reasons, announcements and names reach other players'
/// terminals (a kick's reason, `/wall`, the shutdown's reason) and the audit
/// log, so no escape sequence or control character may pass.
async fn run(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) -> Flow {
    if spec.needs == Needs::Text && args.is_empty() {
        ctx.reply(format!("Usage: {}", spec.usage));
        return Flow::Continue;
    }
    if spec.is_admin() {
        let cleaned = sanitize(args);
        return (spec.run)(ctx, spec, &cleaned).await;
    }
    (spec.run)(ctx, spec, args).await
}
