//! Player commands: what each one means and does once parsed.
//!
//! [`parse`] turns a line into a [`Command`]; [`execute`] carries it out for one
//! playing connection, talking to other players only through the registry and to
//! the database only through the store and the batching writer. Each command family
//! has its own file: looking, moving, talking, items, history, and information
//! (who, help).
//!
//! **Invariant:** handlers never block: store work goes through `Store::call`
//! (the blocking pool) or the writer's queue, and fan-out never waits for anyone.

pub mod admin;
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

/// The answer when the database stayed locked past its busy timeout.
pub const RECORDS_BUSY: &str = "The game's records are busy; try again.";
/// The answer when a store call failed for any other reason (rolled back).
pub const STORE_FAILED: &str = "Something went wrong; nothing was changed.";

/// The sentence a player gets for a failed store call; the cause of anything but
/// a busy database is logged, since it is a bug or a broken disk.
pub fn store_error_reply(err: &crate::store::StoreError) -> &'static str {
    if matches!(err, crate::store::StoreError::Busy) {
        RECORDS_BUSY
    } else {
        tracing::error!(%err, "store call failed");
        STORE_FAILED
    }
}

/// The reply to anything the parser does not know.
pub const UNKNOWN_COMMAND: &str = "Huh? Type \"help\" for a list of commands.";

/// What a handler works with: the game and the player who typed the command.
pub struct Ctx<'a> {
    pub game: &'a Arc<Game>,
    pub me: &'a Arc<Player>,
}

impl Ctx<'_> {
    /// The player's world. A world can only vanish in a reload, which moves its
    /// players out first, so a missing world is answered, not assumed away.
    pub fn world(&self) -> Option<Arc<World>> {
        self.game.world(&self.me.world)
    }

    /// Sends the player a line.
    pub fn reply(&self, text: impl Into<Arc<str>>) {
        self.me.tell(text);
    }

    /// Tells the player a store call failed (see [`store_error_reply`]).
    pub fn store_trouble(&self, err: &crate::store::StoreError) {
        self.reply(store_error_reply(err));
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
        Command::Quit => return Flow::Quit,
        Command::Admin(verb, args) => return admin::execute(ctx, verb, &args).await,
        Command::Forbidden(name) => ctx.reply(format!("You don't have permission to use /{name}.")),
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
        Command::Unknown => ctx.reply(UNKNOWN_COMMAND),
    }
    Flow::Continue
}
