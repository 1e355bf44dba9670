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
    NewChar,
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
    /// Where `help` lists it.
    pub group: Group,
    /// Two or three lines of what it does, for `help <command>`.
    pub details: &'static str,
    /// A line to type, for `help <command>`.
    pub example: &'static str,
}

/// The groups `help` lists commands in (as the README groups them).
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

/// The help text of a table entry: group, a few lines, an example.
struct Help {
    group: Group,
    details: &'static str,
    example: &'static str,
}

const fn help(group: Group, details: &'static str, example: &'static str) -> Help {
    Help {
        group,
        details,
        example,
    }
}

const fn player(
    verb: Verb,
    name: &'static str,
    aliases: &'static [&'static str],
    usage: &'static str,
    summary: &'static str,
    help: Help,
) -> VerbSpec {
    VerbSpec {
        verb,
        name,
        aliases,
        min_role: Role::Player,
        usage,
        summary,
        group: help.group,
        details: help.details,
        example: help.example,
    }
}

const fn admin(
    verb: Admin,
    name: &'static str,
    min_role: Role,
    usage: &'static str,
    summary: &'static str,
    help: Help,
) -> VerbSpec {
    VerbSpec {
        verb: Verb::Admin(verb),
        name,
        aliases: &[],
        min_role,
        usage,
        summary,
        group: help.group,
        details: help.details,
        example: help.example,
    }
}

const fn direction(name: &'static str, alias: &'static [&'static str]) -> VerbSpec {
    player(
        Verb::Direction(name),
        name,
        alias,
        name,
        "Walk through the exit of that name.",
        help(
            Group::Moving,
            "Walks through the exit of that name, if the room has one; the room you leave\nsees you go, the one you reach sees you arrive.",
            name,
        ),
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
        help(
            Group::Looking,
            "Shows the room: its name, description, exits, what lies here and who is here.\nWith a word, looks at a person here or a thing here or in your hands.",
            "look, look lamp, look Ann",
        ),
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
        help(
            Group::Moving,
            "Walks through an exit by any name the room gives it (door, stairs, in).\nThe directions have their own short commands: n, e, s, w, ne, nw, se, sw, u, d.",
            "go stairs",
        ),
    ),
    player(
        Verb::Exits,
        "exits",
        &[],
        "exits",
        "List the exits and where they lead.",
        help(
            Group::Moving,
            "Lists every way out of the room and the room each one leads to.",
            "exits",
        ),
    ),
    player(
        Verb::Examine,
        "examine",
        &["x"],
        "examine <thing>",
        "Look closely at a thing you carry or see here, or at someone here.",
        help(
            Group::Looking,
            "Looks closely at a thing you carry or see here, or at someone here.\nAny word of a thing's name will do.",
            "examine key",
        ),
    ),
    player(
        Verb::Inventory,
        "inventory",
        &["inv", "i"],
        "inventory",
        "List what you are carrying.",
        help(
            Group::Items,
            "Lists what you carry; several of a kind are counted.",
            "inventory",
        ),
    ),
    player(
        Verb::Get,
        "get",
        &["take"],
        "get <item>",
        "Pick up something lying here. Any word of its name will do.",
        help(
            Group::Items,
            "Picks up something lying here. Any word of its name, or its start, will do;\nwhen several things fit you are asked which.",
            "get penny",
        ),
    ),
    player(
        Verb::Drop,
        "drop",
        &[],
        "drop <item>",
        "Put down something you carry; it stays here for anyone to find.",
        help(
            Group::Items,
            "Puts down something you carry; it stays here, for anyone to find.",
            "drop penny",
        ),
    ),
    player(
        Verb::Give,
        "give",
        &[],
        "give <item> [to] <name>",
        "Hand something you carry to someone standing here.",
        help(
            Group::Items,
            "Hands something you carry to someone standing here. The \"to\" may be left out;\npeople are named by any word of their name, or its start.",
            "give penny to Ann",
        ),
    ),
    // No one-letter alias: "w" is west (the predecessor let it mean both).
    player(
        Verb::Whisper,
        "whisper",
        &[],
        "whisper <name> <text>",
        "Say something only one person here hears; the others see that you whispered.",
        help(
            Group::Talking,
            "Says something only one person in the room hears; the others see that you whispered.",
            "whisper Ann meet me at the quay",
        ),
    ),
    player(
        Verb::Tell,
        "tell",
        &[],
        "tell <name> <text>",
        "Send a private message to someone playing anywhere in this world.",
        help(
            Group::Talking,
            "Sends a private line to someone playing anywhere in this world.",
            "tell Ann where are you?",
        ),
    ),
    player(
        Verb::Yell,
        "yell",
        &[],
        "yell <text>",
        "Shout to this room and every room one exit away.",
        help(
            Group::Talking,
            "Shouts to this room and every room one exit away; they hear which way it came from.",
            "yell Fire at the harbour!",
        ),
    ),
    player(
        Verb::History,
        "history",
        &[],
        "history [n]",
        "Show the last n lines said in this room (default 20, at most 100).",
        help(
            Group::Information,
            "Shows what was said in this room lately (20 lines, or as many as asked, up to 100).\nWhispers and tells show only to the two people they were between.",
            "history 50",
        ),
    ),
    player(
        Verb::Recall,
        "recall",
        &[],
        "recall",
        "Go back to the starting room of the zone you are in.",
        help(
            Group::Moving,
            "Goes back to the starting room of the zone you are in.",
            "recall",
        ),
    ),
    player(
        Verb::Say,
        "say",
        &["'"],
        "say <text>  or  '<text>",
        "Say something to everyone in the room.",
        help(
            Group::Talking,
            "Says something to everyone in the room.",
            "say Good evening!",
        ),
    ),
    player(
        Verb::Emote,
        "emote",
        &[":"],
        "emote <action>  or  :<action>",
        "Act something out: \"emote waves\" shows \"<Name> waves\".",
        help(
            Group::Talking,
            "Acts something out: the room sees your name followed by the text.",
            "emote tips her hat.",
        ),
    ),
    player(
        Verb::Who,
        "who",
        &[],
        "who",
        "List who is playing in this world, and how long they have been idle.",
        help(
            Group::Information,
            "Lists who is playing in this world, and how long each has been idle.",
            "who",
        ),
    ),
    player(
        Verb::Help,
        "help",
        &["?"],
        "help [command]",
        "List the commands, or explain one.",
        help(
            Group::Information,
            "Lists the commands, or explains one: its usage, other names, what it does, and an example.",
            "help give",
        ),
    ),
    player(
        Verb::Characters,
        "characters",
        &[],
        "characters",
        "Leave the game for the character menu.",
        help(
            Group::Account,
            "Leaves the game for the character menu, to play another character or switch worlds.",
            "characters",
        ),
    ),
    player(
        Verb::Password,
        "password",
        &[],
        "password",
        "Change your password.",
        help(
            Group::Account,
            "Changes your password: the old one first, then the new one twice (hidden).",
            "password",
        ),
    ),
    player(
        Verb::Quit,
        "quit",
        &[],
        "quit",
        "Save and leave the game.",
        help(
            Group::Account,
            "Saves your character and leaves the game.",
            "quit",
        ),
    ),
    player(
        Verb::Color,
        "color",
        &["colour"],
        "color [on|off]",
        "Show or set whether text is coloured (room names, exits, items, speech).",
        help(
            Group::Account,
            "Shows or sets whether text is coloured: room names, exits, items, speech and\nsystem messages. Kept with your account; colour is only sent to clients that\nsay they show it.",
            "color off",
        ),
    ),
    admin(
        Admin::Goto,
        "goto",
        Role::Worldbuilder,
        "/goto <room>",
        "Go to a room (room, or zone:room).",
        help(
            Group::Building,
            "Takes you to a room of this world at once: its id, or zone:room.",
            "/goto harbour_gate",
        ),
    ),
    admin(
        Admin::Teleport,
        "teleport",
        Role::Worldbuilder,
        "/teleport <character> <room>",
        "Move a character to a room.",
        help(
            Group::Building,
            "Moves a character of this world to a room at once, whatever they are doing.",
            "/teleport Ann quayside:long_quay",
        ),
    ),
    admin(
        Admin::Reload,
        "reload",
        Role::Worldbuilder,
        "/reload [tls]",
        "Reload the world files, or (admin+) the TLS certificate.",
        help(
            Group::Building,
            "Reads the world files again. Invalid files change nothing; players in rooms\nthat vanished are sent to the spawn. \"/reload tls\" (admin+) loads the TLS\ncertificate and key again for new handshakes; open connections stay.",
            "/reload",
        ),
    ),
    admin(
        Admin::Kick,
        "kick",
        Role::Admin,
        "/kick <character> [reason]",
        "Disconnect a player, showing the reason.",
        help(
            Group::Admin,
            "Disconnects a player, showing the reason; they may log in again.",
            "/kick Ann flooding the square",
        ),
    ),
    admin(
        Admin::Ban,
        "ban",
        Role::Admin,
        "/ban <account> [reason]",
        "Deactivate an account and close its connections.",
        help(
            Group::Admin,
            "Bans an account: its connections close and it cannot log in. The reason is shown to them.",
            "/ban Ann repeated abuse",
        ),
    ),
    admin(
        Admin::Unban,
        "unban",
        Role::Admin,
        "/unban <account>",
        "Reactivate a banned account.",
        help(
            Group::Admin,
            "Lifts a ban: the account may log in again. An account that is not banned\nis said so.",
            "/unban Ann",
        ),
    ),
    admin(
        Admin::Wall,
        "wall",
        Role::Admin,
        "/wall <text>",
        "Send a message to every connected player.",
        help(
            Group::Admin,
            "Sends a message to every connected player.",
            "/wall Restart in ten minutes.",
        ),
    ),
    admin(
        Admin::Users,
        "users",
        Role::Admin,
        "/users [filter]",
        "List accounts: role, guest, active, last login.",
        help(
            Group::Admin,
            "Lists accounts: role, guest, status, created and last login; a word filters by name.",
            "/users ann",
        ),
    ),
    admin(
        Admin::Sessions,
        "sessions",
        Role::Admin,
        "/sessions",
        "List live sessions: peer address, client, idle time.",
        help(
            Group::Admin,
            "Lists live sessions: peer address, transport, client and idle time.",
            "/sessions",
        ),
    ),
    admin(
        Admin::Where,
        "where",
        Role::Admin,
        "/where",
        "Show where every character in play stands.",
        help(
            Group::Admin,
            "Shows where every character in play stands.",
            "/where",
        ),
    ),
    admin(
        Admin::Tables,
        "tables",
        Role::Admin,
        "/tables",
        "List the database tables you may browse.",
        help(
            Group::Admin,
            "Lists the database tables you may browse, with their sizes.",
            "/tables",
        ),
    ),
    admin(
        Admin::Rows,
        "rows",
        Role::Admin,
        "/rows <table> [limit] [offset]",
        "Show rows of a database table.",
        help(
            Group::Admin,
            "Shows rows of a table, one record per block (password hashes hidden).",
            "/rows users 5 10",
        ),
    ),
    admin(
        Admin::Chatlog,
        "chatlog",
        Role::Admin,
        "/chatlog [n]",
        "Show the latest stored chat lines of every room.",
        help(
            Group::Admin,
            "Shows the latest stored talk of every room, whispers and tells included.",
            "/chatlog 50",
        ),
    ),
    admin(
        Admin::NewChar,
        "newchar",
        Role::Admin,
        "/newchar <account> <name>",
        "Make a character for an account in this world.",
        help(
            Group::Admin,
            "Makes a character for an account in this world (for servers where players do not\nmake their own). In a world that gives names, the name may be left out.",
            "/newchar ann Wren",
        ),
    ),
    admin(
        Admin::Grant,
        "grant",
        Role::Admin,
        "/grant <account> <world>",
        "Let an account into an invite-only world.",
        help(
            Group::Admin,
            "Lets an account into an invite-only world.",
            "/grant ann lanternfall",
        ),
    ),
    admin(
        Admin::Revoke,
        "revoke",
        Role::Admin,
        "/revoke <account> <world>",
        "Withdraw an account's access to a world.",
        help(
            Group::Admin,
            "Withdraws an account's access to an invite-only world.",
            "/revoke ann lanternfall",
        ),
    ),
    admin(
        Admin::Shutdown,
        "shutdown",
        Role::Admin,
        "/shutdown [seconds] [reason]  or  /shutdown cancel",
        "Count down, then shut the server down gracefully.",
        help(
            Group::Admin,
            "Counts down (default 10 seconds; 90, 90s, 2m, 1h30m) with warnings to everyone,\nthen shuts the server down gracefully. \"/shutdown cancel\" stops the countdown.",
            "/shutdown 2m upgrading the lamps",
        ),
    ),
    admin(
        Admin::Role,
        "role",
        Role::Superuser,
        "/role <account> <role>",
        "Change an account's role (to one below yours).",
        help(
            Group::Superuser,
            "Changes an account's role, to one below your own; it takes effect at once.",
            "/role ann worldbuilder",
        ),
    ),
    admin(
        Admin::SetPassword,
        "setpassword",
        Role::Superuser,
        "/setpassword <account>",
        "Set an account's password (you are asked for it).",
        help(
            Group::Superuser,
            "Sets an account's password; you are asked for it twice, hidden.",
            "/setpassword ann",
        ),
    ),
    admin(
        Admin::Delete,
        "delete",
        Role::Superuser,
        "/delete <account>",
        "Tombstone an account: login refused, characters kept but unlinked.",
        help(
            Group::Superuser,
            "Tombstones an account: login refused, characters kept but unlinked.",
            "/delete ann",
        ),
    ),
    admin(
        Admin::Prune,
        "prune",
        Role::Superuser,
        "/prune <duration>",
        "Delete stored chat older than the duration (24h, 30d).",
        help(
            Group::Superuser,
            "Deletes stored talk older than the duration, which needs its unit \
             (24h, 30d; a bare number is refused).",
            "/prune 30d",
        ),
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
/// `give <item> to <name>`, or `give <item> <name>`: without `to`, the last
/// word names the person (any word of a name will do, as people are found).
fn give(spec: &'static VerbSpec, argument: &str) -> Command {
    let words: Vec<&str> = argument.split_whitespace().collect();
    let to = words
        .iter()
        .rposition(|word| word.eq_ignore_ascii_case("to"));
    match (to, words.len()) {
        (Some(at), n) if at > 0 && at + 1 < n => Command::Give {
            item: words[..at].join(" "),
            target: words[at + 1..].join(" "),
        },
        (None, n) if n >= 2 => Command::Give {
            item: words[..n - 1].join(" "),
            target: words[n - 1].to_string(),
        },
        _ => Command::Usage(spec),
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
        assert_eq!(
            parse("give copper penny ben"),
            Command::Give {
                item: "copper penny".into(),
                target: "ben".into()
            }
        );
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
