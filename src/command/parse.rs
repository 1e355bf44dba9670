//! Turning a typed line into a [`Command`], with nom.
//!
//! A line is an optional `/`, then either a one-character shortcut (`'` for say,
//! `:` for emote) or a command word, then its argument text. Command words are
//! matched without regard to case: an exact name or alias first, then a prefix
//! that only one command name starts with (`inv`, `sa`). The verb table
//! [`VERBS`] is also what `help` lists and what character names may not be.
//!
//! **Invariant:** parsing is pure and never fails: anything unrecognised becomes
//! [`Command::Unknown`], so a typo never disconnects anyone.

use nom::IResult;
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::take_till1;
use nom::character::complete::{char, multispace0};
use nom::combinator::{opt, rest};
use nom::sequence::preceded;

use crate::auth::Role;

/// Which command a word names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Look,
    Direction(&'static str),
    Go,
    Exits,
    Examine,
    Inventory,
    Get,
    Drop,
    Give,
    Whisper,
    Tell,
    Yell,
    History,
    Recall,
    Say,
    Emote,
    Who,
    Help,
    Characters,
    Password,
    Color,
    Quit,
    Admin(Admin),
}

/// The administrative commands (SPEC §5); their arguments are parsed by
/// `command::admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    Goto,
    Teleport,
    Reload,
    Kick,
    Ban,
    Unban,
    Wall,
    Users,
    Sessions,
    Where,
    Tables,
    Rows,
    Chatlog,
    Grant,
    Revoke,
    Shutdown,
    Role,
    SetPassword,
    Delete,
    Prune,
}

/// One entry of the command table.
#[derive(Debug, PartialEq, Eq)]
pub struct VerbSpec {
    pub verb: Verb,
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub min_role: Role,
    pub usage: &'static str,
    pub summary: &'static str,
}

const fn player(
    verb: Verb,
    name: &'static str,
    aliases: &'static [&'static str],
    usage: &'static str,
    summary: &'static str,
) -> VerbSpec {
    VerbSpec {
        verb,
        name,
        aliases,
        min_role: Role::Player,
        usage,
        summary,
    }
}

const fn admin(
    verb: Admin,
    name: &'static str,
    min_role: Role,
    usage: &'static str,
    summary: &'static str,
) -> VerbSpec {
    VerbSpec {
        verb: Verb::Admin(verb),
        name,
        aliases: &[],
        min_role,
        usage,
        summary,
    }
}

const fn direction(name: &'static str, alias: &'static [&'static str]) -> VerbSpec {
    player(
        Verb::Direction(name),
        name,
        alias,
        name,
        "Walk through the exit of that name.",
    )
}

/// Every command, in the order `help` lists them.
pub static VERBS: &[VerbSpec] = &[
    player(
        Verb::Look,
        "look",
        &["l"],
        "look [thing]",
        "Describe the room, or a thing or person in it.",
    ),
    direction("north", &["n"]),
    direction("south", &["s"]),
    direction("east", &["e"]),
    direction("west", &["w"]),
    direction("northeast", &["ne"]),
    direction("northwest", &["nw"]),
    direction("southeast", &["se"]),
    direction("southwest", &["sw"]),
    direction("up", &["u"]),
    direction("down", &["d"]),
    player(
        Verb::Go,
        "go",
        &[],
        "go <exit>",
        "Walk through any exit the room has, by name.",
    ),
    player(
        Verb::Exits,
        "exits",
        &[],
        "exits",
        "List the exits and where they lead.",
    ),
    player(
        Verb::Examine,
        "examine",
        &["x"],
        "examine <thing>",
        "Look closely at a thing you carry or see here, or at someone here.",
    ),
    player(
        Verb::Inventory,
        "inventory",
        &["inv", "i"],
        "inventory",
        "List what you are carrying.",
    ),
    player(
        Verb::Get,
        "get",
        &["take"],
        "get <item>",
        "Pick up something lying here. Any word of its name will do.",
    ),
    player(
        Verb::Drop,
        "drop",
        &[],
        "drop <item>",
        "Put down something you carry; it stays here for anyone to find.",
    ),
    player(
        Verb::Give,
        "give",
        &[],
        "give <item> to <name>",
        "Hand something you carry to someone standing here.",
    ),
    // No one-letter alias: "w" is west (the predecessor let it mean both).
    player(
        Verb::Whisper,
        "whisper",
        &[],
        "whisper <name> <text>",
        "Say something only one person here hears; the others see that you whispered.",
    ),
    player(
        Verb::Tell,
        "tell",
        &[],
        "tell <name> <text>",
        "Send a private message to someone playing anywhere in this world.",
    ),
    player(
        Verb::Yell,
        "yell",
        &[],
        "yell <text>",
        "Shout to this room and every room one exit away.",
    ),
    player(
        Verb::History,
        "history",
        &[],
        "history [n]",
        "Show the last n lines said in this room (default 20, at most 100).",
    ),
    player(
        Verb::Recall,
        "recall",
        &[],
        "recall",
        "Go back to the starting room of the zone you are in.",
    ),
    player(
        Verb::Say,
        "say",
        &["'"],
        "say <text>  or  '<text>",
        "Say something to everyone in the room.",
    ),
    player(
        Verb::Emote,
        "emote",
        &[":"],
        "emote <action>  or  :<action>",
        "Act something out: \"emote waves\" shows \"<Name> waves\".",
    ),
    player(
        Verb::Who,
        "who",
        &[],
        "who",
        "List who is playing in this world, and how long they have been idle.",
    ),
    player(
        Verb::Help,
        "help",
        &["?"],
        "help [command]",
        "List the commands, or explain one.",
    ),
    player(
        Verb::Characters,
        "characters",
        &[],
        "characters",
        "Leave the game for the character menu.",
    ),
    player(
        Verb::Password,
        "password",
        &[],
        "password",
        "Change your password.",
    ),
    player(
        Verb::Color,
        "color",
        &["colour"],
        "color [on|off]",
        "Show or set whether text is coloured (room names, exits, items, speech). \
         Kept with your account; colour is only sent to clients that say they show it.",
    ),
    player(Verb::Quit, "quit", &[], "quit", "Save and leave the game."),
    admin(
        Admin::Goto,
        "goto",
        Role::Worldbuilder,
        "/goto <room>",
        "Go to a room (room, or zone:room).",
    ),
    admin(
        Admin::Teleport,
        "teleport",
        Role::Worldbuilder,
        "/teleport <character> <room>",
        "Move a character to a room.",
    ),
    admin(
        Admin::Reload,
        "reload",
        Role::Worldbuilder,
        "/reload",
        "Reload the world files; players in vanished rooms go to spawn.",
    ),
    admin(
        Admin::Kick,
        "kick",
        Role::Admin,
        "/kick <character> [reason]",
        "Disconnect a player, showing the reason.",
    ),
    admin(
        Admin::Ban,
        "ban",
        Role::Admin,
        "/ban <account> [reason]",
        "Deactivate an account and close its connections.",
    ),
    admin(
        Admin::Unban,
        "unban",
        Role::Admin,
        "/unban <account>",
        "Reactivate a banned account.",
    ),
    admin(
        Admin::Wall,
        "wall",
        Role::Admin,
        "/wall <text>",
        "Send a message to every connected player.",
    ),
    admin(
        Admin::Users,
        "users",
        Role::Admin,
        "/users [filter]",
        "List accounts: role, guest, active, last login.",
    ),
    admin(
        Admin::Sessions,
        "sessions",
        Role::Admin,
        "/sessions",
        "List live sessions: peer address, client, idle time.",
    ),
    admin(
        Admin::Where,
        "where",
        Role::Admin,
        "/where",
        "Show where every character in play stands.",
    ),
    admin(
        Admin::Tables,
        "tables",
        Role::Admin,
        "/tables",
        "List the database tables you may browse.",
    ),
    admin(
        Admin::Rows,
        "rows",
        Role::Admin,
        "/rows <table> [limit] [offset]",
        "Show rows of a database table.",
    ),
    admin(
        Admin::Chatlog,
        "chatlog",
        Role::Admin,
        "/chatlog [n]",
        "Show the latest stored chat lines of every room.",
    ),
    admin(
        Admin::Grant,
        "grant",
        Role::Admin,
        "/grant <account> <world>",
        "Let an account into an invite-only world.",
    ),
    admin(
        Admin::Revoke,
        "revoke",
        Role::Admin,
        "/revoke <account> <world>",
        "Withdraw an account's access to a world.",
    ),
    admin(
        Admin::Shutdown,
        "shutdown",
        Role::Admin,
        "/shutdown [seconds] [reason]  or  /shutdown cancel",
        "Count down, then shut the server down gracefully.",
    ),
    admin(
        Admin::Role,
        "role",
        Role::Superuser,
        "/role <account> <role>",
        "Change an account's role (to one below yours).",
    ),
    admin(
        Admin::SetPassword,
        "setpassword",
        Role::Superuser,
        "/setpassword <account>",
        "Set an account's password (you are asked for it).",
    ),
    admin(
        Admin::Delete,
        "delete",
        Role::Superuser,
        "/delete <account>",
        "Tombstone an account: login refused, characters kept but unlinked.",
    ),
    admin(
        Admin::Prune,
        "prune",
        Role::Superuser,
        "/prune <hours>",
        "Delete stored chat older than that many hours.",
    ),
];

/// What the player asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// An empty line: just show the prompt again.
    Empty,
    Look(Option<String>),
    /// Walk through the named exit (already lowercased).
    Go(String),
    Exits,
    Say(String),
    Emote(String),
    Who,
    Help(Option<String>),
    Characters,
    Password,
    /// `color`, `color on` or `color off` (the word as typed, lowercased).
    Color(Option<String>),
    Quit,
    /// An administrative command and its (unparsed) argument text.
    Admin(Admin, String),
    /// A command the player's role may not use (its name).
    Forbidden(&'static str),
    Inventory,
    /// Pick up the item the words name.
    Get(String),
    Drop(String),
    /// `give <item> to <target>`.
    Give {
        item: String,
        target: String,
    },
    /// `<name> <text>`, split by the handler, which knows whose names are one
    /// word and whose are two.
    Whisper(String),
    /// `<name> <text>`, split like [`Command::Whisper`].
    Tell(String),
    Yell(String),
    /// How many lines, already held between 1 and [`MAX_HISTORY`].
    History(usize),
    Recall,
    /// A required argument is missing; the spec says how to use the command.
    Usage(&'static VerbSpec),
    /// A prefix several command names start with.
    Ambiguous(Vec<&'static str>),
    Unknown,
}

/// Parses one input line as a player sees the commands.
pub fn parse(line: &str) -> Command {
    parse_as(line, Role::Player)
}

/// Parses one input line for someone of `role`: abbreviations only reach the
/// commands that role may use, and a forbidden command is named as such.
pub fn parse_as(line: &str, role: Role) -> Command {
    let line = line.trim();
    match command_line(line) {
        Ok((_, (word, argument))) => build(word, argument.trim(), role),
        Err(_) => Command::Empty,
    }
}

/// The table entry of an admin command (every one is in the table).
pub fn admin_spec(verb: Admin) -> Option<&'static VerbSpec> {
    VERBS.iter().find(|spec| spec.verb == Verb::Admin(verb))
}

/// Splits argument text into its first word and the rest (both trimmed).
pub fn split_word(text: &str) -> (&str, &str) {
    match word_and_rest(text.trim()) {
        Ok((_, (word, rest))) => (word, rest.trim()),
        Err(_) => ("", ""),
    }
}

/// `[/] (shortcut | word) rest`
fn command_line(input: &str) -> IResult<&str, (&str, &str)> {
    let (input, _) = opt(char('/')).parse(input)?;
    alt((shortcut, word_and_rest)).parse(input)
}

fn shortcut(input: &str) -> IResult<&str, (&str, &str)> {
    let (rest_of_line, mark) = alt((char('\''), char(':'))).parse(input)?;
    let word = if mark == '\'' { "'" } else { ":" };
    Ok(("", (word, rest_of_line)))
}

fn word_and_rest(input: &str) -> IResult<&str, (&str, &str)> {
    let (input, word) = take_till1(char::is_whitespace).parse(input)?;
    let (input, argument) = preceded(multispace0, rest).parse(input)?;
    Ok((input, (word, argument)))
}

/// Finds the command a word names for a player: see [`lookup_as`].
pub fn lookup(word: &str) -> Result<&'static VerbSpec, Vec<&'static str>> {
    lookup_as(word, Role::Player)
}

/// Finds the command a word names: exact name or alias (of any command), else a
/// unique prefix of a name among the commands `role` may use. `Err` carries the
/// candidates of an ambiguous prefix (empty if none).
pub fn lookup_as(word: &str, role: Role) -> Result<&'static VerbSpec, Vec<&'static str>> {
    let word = word.to_lowercase();
    if let Some(spec) = VERBS
        .iter()
        .find(|v| v.name == word || v.aliases.contains(&word.as_str()))
    {
        return Ok(spec);
    }
    // `quit` is never abbreviated: a stray "q" should not end anyone's evening.
    let candidates: Vec<&'static VerbSpec> = VERBS
        .iter()
        .filter(|v| v.verb != Verb::Quit && v.min_role <= role && v.name.starts_with(&word))
        .collect();
    match candidates.as_slice() {
        [only] => Ok(only),
        _ => Err(candidates.iter().map(|v| v.name).collect()),
    }
}

/// Whether a word is one the parser would take as a command (for name rules).
pub fn is_command_word(word: &str) -> bool {
    let word = word.to_lowercase();
    VERBS
        .iter()
        .any(|v| v.name == word || v.aliases.contains(&word.as_str()))
}

fn build(word: &str, argument: &str, role: Role) -> Command {
    let spec = match lookup_as(word, role) {
        Ok(spec) => spec,
        Err(candidates) if candidates.len() > 1 => return Command::Ambiguous(candidates),
        Err(_) => return Command::Unknown,
    };
    if spec.min_role > role {
        return Command::Forbidden(spec.name);
    }
    let text = || argument.to_string();
    let optional = || (!argument.is_empty()).then(text);
    let required = |make: fn(String) -> Command| {
        if argument.is_empty() {
            Command::Usage(spec)
        } else {
            make(text())
        }
    };
    match spec.verb {
        Verb::Look => Command::Look(optional()),
        Verb::Direction(name) => Command::Go(name.to_string()),
        Verb::Go => required(|exit| Command::Go(exit.to_lowercase())),
        Verb::Exits => Command::Exits,
        Verb::Examine => required(|thing| Command::Look(Some(thing))),
        Verb::Inventory => Command::Inventory,
        Verb::Get => required(Command::Get),
        Verb::Drop => required(Command::Drop),
        Verb::Give => give(spec, argument),
        Verb::Whisper => required(Command::Whisper),
        Verb::Tell => required(Command::Tell),
        Verb::Yell => required(Command::Yell),
        Verb::History => history(spec, argument),
        Verb::Recall => Command::Recall,
        Verb::Say => required(Command::Say),
        Verb::Emote => required(Command::Emote),
        Verb::Who => Command::Who,
        Verb::Help => Command::Help(optional()),
        Verb::Characters => Command::Characters,
        Verb::Password => Command::Password,
        Verb::Color => Command::Color(optional().map(|word| word.to_lowercase())),
        Verb::Quit => Command::Quit,
        Verb::Admin(admin) => Command::Admin(admin, text()),
    }
}

/// Lines `history` shows when no number is given, and the most it shows.
pub const DEFAULT_HISTORY: usize = 20;
pub const MAX_HISTORY: usize = 100;

/// `give <item> to <name>`: split at the last word "to", so an item whose name
/// has a "to" in it still works.
fn give(spec: &'static VerbSpec, argument: &str) -> Command {
    let words: Vec<&str> = argument.split_whitespace().collect();
    let at = words
        .iter()
        .rposition(|word| word.eq_ignore_ascii_case("to"))
        .filter(|&at| at > 0 && at + 1 < words.len());
    match at {
        Some(at) => Command::Give {
            item: words[..at].join(" "),
            target: words[at + 1..].join(" "),
        },
        None => Command::Usage(spec),
    }
}

/// `history [n]`: a number out of range is held to 1..=100 rather than refused.
fn history(spec: &'static VerbSpec, argument: &str) -> Command {
    if argument.is_empty() {
        return Command::History(DEFAULT_HISTORY);
    }
    if !argument.chars().all(|c| c.is_ascii_digit()) {
        return Command::Usage(spec);
    }
    let n = argument.parse::<usize>().unwrap_or(MAX_HISTORY);
    Command::History(n.clamp(1, MAX_HISTORY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_aliases_and_slashes() {
        assert_eq!(parse("look"), Command::Look(None));
        assert_eq!(parse("/LOOK"), Command::Look(None));
        assert_eq!(parse("l lamp"), Command::Look(Some("lamp".into())));
        assert_eq!(
            parse("  Look   at the lamp "),
            Command::Look(Some("at the lamp".into()))
        );
        assert_eq!(parse("n"), Command::Go("north".into()));
        assert_eq!(parse("/sw"), Command::Go("southwest".into()));
        assert_eq!(parse("w"), Command::Go("west".into()));
        assert_eq!(parse("go Old Door"), Command::Go("old door".into()));
        assert_eq!(parse("exits"), Command::Exits);
        assert_eq!(parse("who"), Command::Who);
        assert_eq!(parse("QUIT"), Command::Quit);
        assert_eq!(parse(""), Command::Empty);
        assert_eq!(parse("   "), Command::Empty);
    }

    #[test]
    fn talk_keeps_its_text() {
        assert_eq!(parse("say Hello there"), Command::Say("Hello there".into()));
        assert_eq!(parse("'Hello there"), Command::Say("Hello there".into()));
        assert_eq!(parse("/'hi"), Command::Say("hi".into()));
        assert_eq!(parse("' spaced"), Command::Say("spaced".into()));
        assert_eq!(parse(":waves."), Command::Emote("waves.".into()));
        assert_eq!(parse("emote grins"), Command::Emote("grins".into()));
    }

    #[test]
    fn missing_arguments_ask_for_usage() {
        assert!(matches!(parse("say"), Command::Usage(spec) if spec.name == "say"));
        assert!(matches!(parse("'"), Command::Usage(spec) if spec.name == "say"));
        assert!(matches!(parse("go"), Command::Usage(spec) if spec.name == "go"));
    }

    #[test]
    fn unique_prefixes_and_ambiguity() {
        assert_eq!(parse("sa hi"), Command::Say("hi".into()));
        assert_eq!(parse("exi"), Command::Exits);
        assert_eq!(parse("he"), Command::Help(None));
        assert!(
            matches!(parse("so"), Command::Ambiguous(names) if names.contains(&"south") && names.contains(&"southeast"))
        );
        assert_eq!(parse("xyzzy"), Command::Unknown);
        assert_eq!(parse("/"), Command::Empty);
        assert_eq!(parse("q"), Command::Unknown);
    }

    #[test]
    fn admin_commands_are_forbidden_below_their_role_and_never_abbreviated_for_them() {
        assert_eq!(parse("/kick bob"), Command::Forbidden("kick"));
        assert_eq!(
            parse_as("/kick bob rude", Role::Admin),
            Command::Admin(Admin::Kick, "bob rude".into())
        );
        assert_eq!(
            parse_as("/goto hall", Role::Worldbuilder),
            Command::Admin(Admin::Goto, "hall".into())
        );
        assert_eq!(
            parse_as("/role a b", Role::Admin),
            Command::Forbidden("role")
        );
        // A player's "k" is no command at all, not a refused /kick.
        assert_eq!(parse("k"), Command::Unknown);
        assert_eq!(
            parse_as("kic x", Role::Admin),
            Command::Admin(Admin::Kick, "x".into())
        );
        assert_eq!(parse("wher"), Command::Unknown);
        assert_eq!(
            parse_as("wher", Role::Admin),
            Command::Admin(Admin::Where, String::new())
        );
    }

    #[test]
    fn words_split_for_arguments() {
        assert_eq!(split_word("  bob   was rude "), ("bob", "was rude"));
        assert_eq!(split_word("bob"), ("bob", ""));
        assert_eq!(split_word(""), ("", ""));
    }

    #[test]
    fn item_commands_and_their_aliases() {
        assert_eq!(parse("i"), Command::Inventory);
        assert_eq!(parse("inv"), Command::Inventory);
        assert_eq!(parse("INVENTORY"), Command::Inventory);
        assert_eq!(parse("get penny"), Command::Get("penny".into()));
        assert_eq!(parse("take brass key"), Command::Get("brass key".into()));
        assert_eq!(parse("drop penny"), Command::Drop("penny".into()));
        assert_eq!(parse("x penny"), Command::Look(Some("penny".into())));
        assert_eq!(parse("examine Ben"), Command::Look(Some("Ben".into())));
        assert!(matches!(parse("x"), Command::Usage(spec) if spec.name == "examine"));
        assert!(matches!(parse("take"), Command::Usage(spec) if spec.name == "get"));
        assert_eq!(
            parse("give a tin of wicks TO Mary Ann"),
            Command::Give {
                item: "a tin of wicks".into(),
                target: "Mary Ann".into()
            }
        );
        assert!(matches!(parse("give penny"), Command::Usage(spec) if spec.name == "give"));
        assert!(matches!(parse("give to Ben"), Command::Usage(spec) if spec.name == "give"));
        assert!(matches!(parse("give penny to"), Command::Usage(spec) if spec.name == "give"));
    }

    #[test]
    fn talk_commands_history_and_recall() {
        assert_eq!(parse("w"), Command::Go("west".into()));
        assert_eq!(
            parse("whisper Ben psst"),
            Command::Whisper("Ben psst".into())
        );
        assert_eq!(parse("whis Ben psst"), Command::Whisper("Ben psst".into()));
        assert!(matches!(parse("wh"), Command::Ambiguous(names) if names.contains(&"whisper")));
        assert_eq!(parse("tell Ben hi"), Command::Tell("Ben hi".into()));
        assert_eq!(parse("yell Fire!"), Command::Yell("Fire!".into()));
        assert!(matches!(parse("yell"), Command::Usage(spec) if spec.name == "yell"));
        assert_eq!(parse("history"), Command::History(DEFAULT_HISTORY));
        assert_eq!(parse("history 5"), Command::History(5));
        assert_eq!(parse("history 0"), Command::History(1));
        assert_eq!(parse("history 5000"), Command::History(MAX_HISTORY));
        assert_eq!(
            parse("history 99999999999999999999999"),
            Command::History(MAX_HISTORY)
        );
        assert!(matches!(parse("history lots"), Command::Usage(spec) if spec.name == "history"));
        assert_eq!(parse("recall"), Command::Recall);
    }

    #[test]
    fn color_takes_an_optional_switch() {
        assert_eq!(parse("color"), Command::Color(None));
        assert_eq!(parse("colour OFF"), Command::Color(Some("off".into())));
        assert_eq!(parse("color on"), Command::Color(Some("on".into())));
    }

    #[test]
    fn command_words_are_known() {
        assert!(is_command_word("Look"));
        assert!(is_command_word("n"));
        assert!(!is_command_word("Alice"));
    }
}
