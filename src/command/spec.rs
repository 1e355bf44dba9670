//! What a command is: its [`Spec`] — the words that name it, its group and
//! role, its help, and what runs it. Every command's `Spec` stands beside its
//! handler in its family's file; `table` lists them all.

use futures::future::BoxFuture;

use super::{Ctx, Flow};
use crate::auth::Role;

/// What runs a command: the context, the command's own entry (a handler that
/// serves several commands reads which one from it), and the text typed after
/// the command's word, trimmed.
pub type Run = for<'a> fn(&'a Ctx<'a>, &'static Spec, &'a str) -> BoxFuture<'a, Flow>;

/// One command.
pub struct Spec {
    /// The word that names it, in lower case, as `help` and the docs list it.
    pub name: &'static str,
    /// Other words (and one-character shortcuts) that name it exactly.
    pub aliases: &'static [&'static str],
    /// Where `help` and the docs list it.
    pub group: Group,
    /// The lowest role that may use it.
    pub role: Role,
    pub usage: &'static str,
    /// One line, for the list `help` shows.
    pub summary: &'static str,
    /// Two or three lines of what it does, for `help <command>`.
    pub details: &'static str,
    /// A line to type, for `help <command>`.
    pub example: &'static str,
    /// What it needs after its word.
    pub needs: Needs,
    /// Whether a prefix of its name reaches it (`quit` is typed whole).
    pub abbreviable: bool,
    pub run: Run,
}

/// What a command needs after its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing, or text it reads itself (which it checks).
    Nothing,
    /// Some text: without any, the player is shown the usage.
    Text,
}

impl Spec {
    /// The base of a command of `group` for `role`, to fill in with struct
    /// update syntax.
    pub const fn base(group: Group, role: Role) -> Spec {
        Spec {
            name: "",
            aliases: &[],
            group,
            role,
            usage: "",
            summary: "",
            details: "",
            example: "",
            needs: Needs::Nothing,
            abbreviable: true,
            run: |_, _, _| finished(),
        }
    }

    /// The base of a player command of `group`.
    pub const fn player(group: Group) -> Spec {
        Spec::base(group, Role::Player)
    }

    /// Whether it is one of the admin slash commands (SPEC §5).
    pub fn is_admin(&self) -> bool {
        self.role > Role::Player
    }

    /// Whether `word` (in lower case) is this command's name or an alias.
    pub fn answers_to(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }
}

/// A command is itself: two entries are the same command only if they are
/// the same entry of the list.
impl PartialEq for Spec {
    fn eq(&self, other: &Spec) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Spec {}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec").field("name", &self.name).finish()
    }
}

/// Runs a handler that says what it has to say and goes on with the game.
pub fn done<'a>(handler: impl Future<Output = ()> + Send + 'a) -> BoxFuture<'a, Flow> {
    Box::pin(async move {
        handler.await;
        Flow::Continue
    })
}

/// A handler that finished before it was awaited (a handler that never waits).
pub fn finished<'a>() -> BoxFuture<'a, Flow> {
    hand_back(Flow::Continue)
}

/// A command whose whole work is the session's (leaving, a hidden prompt).
pub fn hand_back<'a>(flow: Flow) -> BoxFuture<'a, Flow> {
    Box::pin(std::future::ready(flow))
}

/// The groups `help` and the docs list commands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Looking,
    Moving,
    Talking,
    Items,
    Information,
    Account,
    Building,
    Admin,
    Superuser,
}

impl Group {
    pub const ALL: [Group; 9] = [
        Group::Looking,
        Group::Moving,
        Group::Talking,
        Group::Items,
        Group::Information,
        Group::Account,
        Group::Building,
        Group::Admin,
        Group::Superuser,
    ];

    /// The group's heading, in `help` and in the docs.
    pub fn title(self) -> &'static str {
        match self {
            Group::Looking => "Looking",
            Group::Moving => "Moving",
            Group::Talking => "Talking",
            Group::Items => "Items",
            Group::Information => "Information",
            Group::Account => "Your account",
            Group::Building => "World building (worldbuilder+)",
            Group::Admin => "Admin (admin+)",
            Group::Superuser => "Superuser",
        }
    }
}
