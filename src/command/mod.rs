//! Player commands: what each one means and does once parsed.
//!
//! [`parse`] turns a line into a [`Command`]; [`execute`] carries it out for one
//! playing connection, talking to other players only through the registry and to
//! the database only through the store and the batching writer. Each command family
//! has its own file: looking, moving, talking, items, history, and information
//! (who, help).
//!
//! **Invariant:** handlers never block: store work goes through the store's typed
//! fronts (the blocking pool) or the writer's queue, and fan-out never waits for
//! anyone.
//! **Invariant:** handlers borrow shared helpers from `common`, never from each
//! other.

pub mod admin;
pub mod common;
pub mod history;
pub mod info;
pub mod items;
pub mod look;
pub mod movement;
pub mod parse;
pub mod talk;

use std::sync::Arc;

pub use parse::{Command, VERBS, is_command_word, parse, parse_as};

use crate::game::{Game, Player};
use crate::replies;
use crate::world::World;

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

/// Carries out one command.
pub async fn execute(ctx: &Ctx<'_>, command: Command) -> Flow {
    match command {
        Command::Empty => {}
        Command::Look(None) => look::look_room(ctx),
        Command::Look(Some(thing)) => look::look_at(ctx, &thing).await,
        Command::Go(exit) => movement::go(ctx, &exit).await,
        Command::Exits => look::exits(ctx),
        Command::Say(text) => talk::say(ctx, &text).await,
        Command::Emote(text) => talk::emote(ctx, &text).await,
        Command::Who => info::who(ctx),
        Command::Help(topic) => info::help(ctx, topic.as_deref()),
        Command::Characters => return Flow::Characters,
        Command::Password => return Flow::ChangePassword,
        Command::Color(switch) => info::color(ctx, switch.as_deref()).await,
        Command::Quit => return Flow::Quit,
        Command::Admin(verb, args) => return admin::execute(ctx, verb, &args).await,
        Command::Forbidden(name) => ctx.reply(replies::no_permission(name)),
        Command::Inventory => items::inventory(ctx).await,
        Command::Get(item) => items::get(ctx, &item).await,
        Command::Drop(item) => items::drop(ctx, &item).await,
        Command::Give { item, target } => items::give(ctx, &item, &target).await,
        Command::Whisper(argument) => talk::whisper(ctx, &argument).await,
        Command::Tell(argument) => talk::tell(ctx, &argument).await,
        Command::Yell(text) => talk::yell(ctx, &text).await,
        Command::History(n) => history::history(ctx, n).await,
        Command::Recall => movement::recall(ctx).await,
        Command::Usage(spec) => ctx.reply(format!("Usage: {}", spec.usage)),
        Command::Ambiguous(names) => ctx.reply(format!("Which do you mean: {}?", names.join(", "))),
        Command::Unknown => ctx.reply(replies::UNKNOWN_COMMAND),
    }
    Flow::Continue
}
