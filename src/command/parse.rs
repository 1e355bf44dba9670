//! Turning a typed line into the command it names, with nom: the line's
//! grammar and the order its first word is matched in.
//!
//! A line is an optional `/`, then either a one-character shortcut (`'` for
//! say, `:` for emote) or a word, then its argument text. The word is matched
//! without regard to case, in SPEC §4's order, the first match winning:
//!
//! 1. the player's aliases, which rewrite the line before it is parsed
//!    (`alias::expand_line`, called by the session; what an alias runs is
//!    parsed here and never expanded again);
//! 2. command words, exactly: player commands, then admin commands (an admin
//!    word above the player's role is named, to be refused with the role
//!    sentence);
//! 3. the room's exits (typed alone they are `go <exit>`), channel names,
//!    social names, and verbs that the room, its items or its NPCs add
//!    (issue 19 adds them): the words a player's game adds beyond the
//!    command list, asked of its [`Vocabulary`] (the channels only those
//!    the player's role reads);
//! 4. a prefix that only one command word the role may use starts (`inv`,
//!    `sa`).
//!
//! What a command does with its argument text is its own business, beside its
//! handler.
//!
//! **Invariant:** parsing is pure and never fails: anything unrecognised is
//! [`Parsed::Unknown`], so a typo never disconnects anyone.

use nom::IResult;
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::take_till1;
use nom::character::complete::{char, multispace0};
use nom::combinator::{opt, rest};
use nom::sequence::preceded;

use super::spec::Spec;
use super::table::COMMANDS;
use crate::auth::Role;

/// What a typed line names.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'l> {
    /// An empty line: just show the prompt again.
    Empty,
    /// A command the role may use, and the text after its word (trimmed).
    Command {
        spec: &'static Spec,
        args: &'l str,
    },
    /// A command the role may not use.
    Forbidden(&'static Spec),
    /// A prefix several command words start with: their names.
    Ambiguous(Vec<&'static str>),
    /// A channel's name (as typed) and the text after it (trimmed).
    Channel {
        name: &'l str,
        args: &'l str,
    },
    /// A social's name (as typed) and the text after it (trimmed).
    Social {
        name: &'l str,
        args: &'l str,
    },
    Unknown,
}

/// The words a player's game adds to the command list, each matched in its
/// place of the order (see the module). Each answers for a word in lower
/// case; by default a vocabulary adds nothing.
pub trait Vocabulary {
    /// Whether `word` names a channel the player may read.
    fn is_channel(&self, _word: &str) -> bool {
        false
    }

    /// Whether `word` names an exit of the player's room: typed as a
    /// command, it is `go <exit>`.
    fn is_exit(&self, _word: &str) -> bool {
        false
    }

    /// Whether `word` names a social.
    fn is_social(&self, _word: &str) -> bool {
        false
    }
}

/// The command list alone.
pub struct CommandsOnly;

impl Vocabulary for CommandsOnly {}

/// Parses one line for someone of `role`: abbreviations only reach the
/// commands that role may use, and a forbidden command is named as such.
pub fn parse_as(line: &str, role: Role) -> Parsed<'_> {
    parse_with(line, role, &CommandsOnly)
}

/// Parses one line for someone of `role` whose game adds `words` to the
/// command list.
pub fn parse_with<'l>(line: &'l str, role: Role, words: &dyn Vocabulary) -> Parsed<'l> {
    let Ok((_, (word, args))) = command_line(line.trim()) else {
        return Parsed::Empty;
    };
    let args = args.trim();
    let lower = word.to_lowercase();
    let found = match exact_command(&lower) {
        Some(spec) => Ok(spec),
        None if words.is_exit(&lower) => match exact_command("go") {
            Some(go) => {
                return Parsed::Command {
                    spec: go,
                    args: word,
                };
            }
            None => prefix_command(&lower, role),
        },
        None if words.is_channel(&lower) => return Parsed::Channel { name: word, args },
        None if words.is_social(&lower) => return Parsed::Social { name: word, args },
        None => prefix_command(&lower, role),
    };
    match found {
        Ok(spec) if spec.role > role => Parsed::Forbidden(spec),
        Ok(spec) => Parsed::Command { spec, args },
        Err(candidates) if candidates.len() > 1 => Parsed::Ambiguous(candidates),
        Err(_) => Parsed::Unknown,
    }
}

/// Finds the command a word names for someone of `role`: a command word
/// exactly, or else a prefix (see the module). `Err` carries the candidates
/// of an ambiguous prefix (empty if nothing matched).
pub fn lookup_as(word: &str, role: Role) -> Result<&'static Spec, Vec<&'static str>> {
    let word = word.to_lowercase();
    match exact_command(&word) {
        Some(spec) => Ok(spec),
        None => prefix_command(&word, role),
    }
}

/// The command a lower-case word names exactly, player commands before admin
/// commands should a word ever name both.
fn exact_command(word: &str) -> Option<&'static Spec> {
    let exact = |admin: bool| {
        COMMANDS
            .iter()
            .copied()
            .find(|spec| spec.is_admin() == admin && spec.answers_to(word))
    };
    exact(false).or_else(|| exact(true))
}

/// The one command the role may use whose name a lower-case word starts.
fn prefix_command(word: &str, role: Role) -> Result<&'static Spec, Vec<&'static str>> {
    let candidates: Vec<&'static Spec> = COMMANDS
        .iter()
        .copied()
        .filter(|spec| spec.abbreviable && spec.role <= role && spec.name.starts_with(word))
        .collect();
    match candidates.as_slice() {
        [only] => Ok(only),
        _ => Err(candidates.iter().map(|spec| spec.name).collect()),
    }
}

/// Whether a line's first word is exactly a command's word or alias (the
/// second step of the matching order, before the verbs scripts add).
pub fn names_a_command(line: &str) -> bool {
    let Ok((_, (word, _))) = command_line(line.trim()) else {
        return false;
    };
    let word = word.to_lowercase();
    COMMANDS.iter().any(|spec| spec.answers_to(&word))
}

/// Finds the command a word names for a player (see [`lookup_as`]).
pub fn lookup(word: &str) -> Result<&'static Spec, Vec<&'static str>> {
    lookup_as(word, Role::Player)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The command a line names for `role` and its argument text, or what
    /// else it is, as a short string for tables.
    fn named(line: &str, role: Role) -> String {
        match parse_as(line, role) {
            Parsed::Empty => "empty".into(),
            Parsed::Command { spec, args: "" } => spec.name.into(),
            Parsed::Command { spec, args } => format!("{} [{args}]", spec.name),
            Parsed::Forbidden(spec) => format!("forbidden {}", spec.name),
            Parsed::Ambiguous(names) => format!("which {}", names.join(" ")),
            Parsed::Channel { name, args } => format!("channel {name} [{args}]"),
            Parsed::Social { name, args } => format!("social {name} [{args}]"),
            Parsed::Unknown => "unknown".into(),
        }
    }

    /// A game with the channels `ooc` and `wh` (a word that also starts
    /// `whisper` and `who`).
    struct TwoChannels;

    impl Vocabulary for TwoChannels {
        fn is_channel(&self, word: &str) -> bool {
            matches!(word, "ooc" | "wh")
        }
    }

    #[test]
    fn channel_names_come_after_command_words_and_before_prefixes() {
        let named = |line| match parse_with(line, Role::Player, &TwoChannels) {
            Parsed::Channel { name, args } => format!("channel {name} [{args}]"),
            Parsed::Command { spec, .. } => spec.name.to_string(),
            Parsed::Ambiguous(_) => "ambiguous".into(),
            other => format!("{other:?}"),
        };
        assert_eq!(named("ooc hello all"), "channel ooc [hello all]");
        assert_eq!(named("/OOC  hi "), "channel OOC [hi]");
        assert_eq!(named("ooc"), "channel ooc []");
        // A prefix of a command that is a channel's name is the channel.
        assert_eq!(named("wh psst"), "channel wh [psst]");
        // Command words win; channels are never shortened.
        assert_eq!(named("say hi"), "say");
        assert_eq!(named("oo hi"), "Unknown");
        assert_eq!(named("whi Ann hi"), "whisper");
        // Without the vocabulary, the channel is no word at all.
        assert_eq!(parse_as("ooc hi", Role::Player), Parsed::Unknown);
    }

    /// A room with an exit `bow` and `gate`, the channel `ooc`, and the
    /// socials `bow`, `smile` and `ooc`.
    struct Crowded;

    impl Vocabulary for Crowded {
        fn is_channel(&self, word: &str) -> bool {
            word == "ooc"
        }
        fn is_exit(&self, word: &str) -> bool {
            matches!(word, "bow" | "gate")
        }
        fn is_social(&self, word: &str) -> bool {
            matches!(word, "bow" | "smile" | "ooc" | "say")
        }
    }

    #[test]
    fn commands_exits_and_channels_win_over_socials_which_win_over_prefixes() {
        let named = |line| match parse_with(line, Role::Player, &Crowded) {
            Parsed::Command { spec, args } => format!("{} [{args}]", spec.name),
            Parsed::Channel { name, .. } => format!("channel {name}"),
            Parsed::Social { name, args } => format!("social {name} [{args}]"),
            other => format!("{other:?}"),
        };
        assert_eq!(named("smile"), "social smile []");
        assert_eq!(named("Smile Ann"), "social Smile [Ann]");
        assert_eq!(named("bow"), "go [bow]", "an exit wins");
        assert_eq!(named("GATE"), "go [GATE]");
        assert_eq!(named("ooc hi"), "channel ooc");
        assert_eq!(named("say hi"), "say [hi]", "a command wins");
        assert_eq!(named("smi"), "Unknown", "socials are never shortened");
    }

    #[test]
    fn words_aliases_shortcuts_and_slashes() {
        let cases = [
            ("look", "look"),
            ("/LOOK", "look"),
            ("l lamp", "look [lamp]"),
            ("  Look   at the lamp ", "look [at the lamp]"),
            ("n", "north"),
            ("/sw", "southwest"),
            ("w", "west"),
            ("go Old Door", "go [Old Door]"),
            ("QUIT", "quit"),
            ("home", "recall"),
            ("say Hello there", "say [Hello there]"),
            ("'Hello there", "say [Hello there]"),
            ("/'hi", "say [hi]"),
            ("' spaced", "say [spaced]"),
            (":waves.", "emote [waves.]"),
            ("'", "say"),
            ("i", "inventory"),
            ("take brass key", "get [brass key]"),
            ("x penny", "examine [penny]"),
            ("colour OFF", "color [OFF]"),
            ("", "empty"),
            ("   ", "empty"),
            ("/", "empty"),
        ];
        for (line, want) in cases {
            assert_eq!(named(line, Role::Player), want, "{line:?}");
        }
    }

    #[test]
    fn unique_prefixes_and_ambiguity() {
        let cases = [
            ("sa hi", "say [hi]"),
            ("exi", "exits"),
            ("he", "help"),
            ("whis Ben psst", "whisper [Ben psst]"),
            ("xyzzy", "unknown"),
            // `quit` is never abbreviated: a stray "q" should not end anyone's evening.
            ("q", "unknown"),
            ("qui", "unknown"),
        ];
        for (line, want) in cases {
            assert_eq!(named(line, Role::Player), want, "{line:?}");
        }
        let so = named("so", Role::Player);
        assert!(so.contains("south") && so.contains("southeast"), "{so}");
        assert!(named("wh", Role::Player).contains("whisper"));
    }

    #[test]
    fn admin_commands_are_forbidden_below_their_role_and_never_abbreviated_for_them() {
        let cases = [
            ("/kick bob", Role::Player, "forbidden kick"),
            ("/kick bob rude", Role::Admin, "kick [bob rude]"),
            ("/goto hall", Role::Worldbuilder, "goto [hall]"),
            ("/role a b", Role::Admin, "forbidden role"),
            ("/newchar ann Wren", Role::Player, "forbidden newchar"),
            // A player's "k" is no command at all, not a refused /kick.
            ("k", Role::Player, "unknown"),
            ("kic x", Role::Admin, "kick [x]"),
            ("wher", Role::Player, "unknown"),
            ("wher", Role::Admin, "where"),
        ];
        for (line, role, want) in cases {
            assert_eq!(named(line, role), want, "{line:?} as {role}");
        }
    }

    #[test]
    fn words_split_for_arguments() {
        assert_eq!(split_word("  bob   was rude "), ("bob", "was rude"));
        assert_eq!(split_word("bob"), ("bob", ""));
        assert_eq!(split_word(""), ("", ""));
    }
}
