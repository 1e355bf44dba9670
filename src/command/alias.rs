//! `alias` and `unalias` (SPEC §12 "Aliases"): an account's own words for
//! commands, and the expansion of a typed line that starts with one.
//!
//! An alias is matched first in SPEC §4's order: [`expand_line`] rewrites
//! the line before it is parsed, `$1`…`$9` taking the typed words and `$*`
//! all of them (when the expansion names none, what was typed after the
//! word is added to its end), `;` separating up to [`MAX_COMMANDS`]
//! commands. What an alias runs is parsed as typed but never expanded
//! again. The session charges each command past the first to the command
//! rate. Each limit has its sentence, which `help alias` quotes.

use std::fmt::Write;

use super::Ctx;
use super::spec::{Group, Spec, done};
use crate::game::aliases::AliasSet;
use crate::store::aliases::{AliasRefused, MAX_ALIASES};
use crate::text::sanitize;

/// Most characters of an expansion.
pub const MAX_EXPANSION: usize = 255;
/// Most commands one alias runs.
pub const MAX_COMMANDS: usize = 10;
/// Most characters of an alias's word.
pub const MAX_WORD: usize = 20;
/// Most bytes of one command an alias runs: a typed line's cap.
const MAX_COMMAND_BYTES: usize = 1024;

/// The limits' sentences, quoted in `help alias` (a test checks it).
pub const TOO_MANY: &str = "You have 50 aliases already; \"unalias\" one first.";
pub const TOO_LONG: &str = "An alias holds at most 255 characters.";
pub const TOO_MANY_COMMANDS: &str = "An alias runs at most 10 commands, separated by \";\".";
pub const NOT_A_WORD: &str = "An alias is one word of letters, digits, - and _, at most 20 long.";
pub const NOT_ALIASABLE: &str = "\"alias\" and \"unalias\" cannot be aliased.";

pub static ALIAS: Spec = Spec {
    name: "alias",
    usage: "alias [<word> [<commands>]]",
    summary: "Make a word of your own run commands; alone, list your aliases.",
    details: "\"alias <word> <commands>\" makes the word run the commands: $1 to $9 take the\n\
              words typed after it, $* all of them (with none of these, what you type after\n\
              the word is added to the end), and ; separates commands. An alias is kept with\n\
              your account, works only in the game, comes before every command word, and is\n\
              not expanded again inside another. Alone, lists your aliases; with a word only,\n\
              shows that one. The limits:\n\
              You have 50 aliases already; \"unalias\" one first.\n\
              An alias holds at most 255 characters.\n\
              An alias runs at most 10 commands, separated by \";\".\n\
              An alias is one word of letters, digits, - and _, at most 20 long.\n\
              \"alias\" and \"unalias\" cannot be aliased.",
    example: "alias gt tell Ann $*; wave",
    run: |ctx, _, argument| done(alias(ctx, argument)),
    ..Spec::player(Group::Account)
};

pub static UNALIAS: Spec = Spec {
    name: "unalias",
    usage: "unalias <word>",
    summary: "Remove one of your aliases.",
    details: "Removes one of your aliases, for every character of your account.",
    example: "unalias gt",
    needs: super::spec::Needs::Text,
    run: |ctx, _, word| done(unalias(ctx, word)),
    ..Spec::player(Group::Account)
};

/// The commands a typed line runs: the line itself, or what its alias
/// expands to.
pub fn expand_line(ctx: &Ctx<'_>, line: &str) -> Vec<String> {
    let set = ctx.game.aliases_of(ctx.me);
    expand(&set, line).unwrap_or_else(|| vec![line.to_string()])
}

/// What `line` expands to, when its first word is an alias in `set`.
fn expand(set: &AliasSet, line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let line = line.strip_prefix('/').unwrap_or(line);
    let (word, rest) = super::parse::split_word(line);
    let expansion = set.get(&word.to_lowercase())?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let mut used = false;
    let mut commands: Vec<String> = expansion
        .split(';')
        .map(|template| substitute(template, rest, &words, &mut used))
        .filter(|command| !command.is_empty())
        .take(MAX_COMMANDS)
        .collect();
    if !used
        && !rest.is_empty()
        && let Some(last) = commands.last_mut()
    {
        last.push(' ');
        last.push_str(rest);
    }
    if commands.is_empty() {
        commands.push(String::new());
    }
    for command in &mut commands {
        cut(command, MAX_COMMAND_BYTES);
    }
    Some(commands)
}

/// One command of an expansion with `$1`…`$9` and `$*` filled in.
fn substitute(template: &str, rest: &str, words: &[&str], used: &mut bool) -> String {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match (c, next) {
            ('$', Some('*')) => {
                chars.next();
                *used = true;
                out.push_str(rest);
            }
            ('$', Some(d @ '1'..='9')) => {
                chars.next();
                *used = true;
                let n = usize::from(d as u8 - b'0');
                out.push_str(words.get(n - 1).copied().unwrap_or(""));
            }
            _ => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Cuts `text` to at most `max` bytes, at a character's boundary.
fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// Whether `word` may be an alias, and the sentence when it may not.
fn check_word(word: &str) -> Result<(), &'static str> {
    if word == "alias" || word == "unalias" {
        return Err(NOT_ALIASABLE);
    }
    let fits = !word.is_empty()
        && word.chars().count() <= MAX_WORD
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if fits { Ok(()) } else { Err(NOT_A_WORD) }
}

/// Whether `expansion` (cleaned) may be an alias's, and the sentence when
/// it may not.
fn check_expansion(expansion: &str) -> Result<(), &'static str> {
    if expansion.chars().count() > MAX_EXPANSION {
        return Err(TOO_LONG);
    }
    let commands = expansion.split(';').filter(|c| !c.trim().is_empty());
    if commands.count() > MAX_COMMANDS {
        return Err(TOO_MANY_COMMANDS);
    }
    Ok(())
}

/// `alias`, `alias <word>`, `alias <word> <commands>`.
async fn alias(ctx: &Ctx<'_>, argument: &str) {
    let (word, expansion) = super::parse::split_word(argument);
    if word.is_empty() {
        return list(ctx);
    }
    let word = word.to_lowercase();
    if let Err(sentence) = check_word(&word) {
        return ctx.reply(sentence);
    }
    if expansion.is_empty() {
        return match ctx.game.aliases_of(ctx.me).get(&word) {
            Some(expansion) => ctx.reply(format!("{word} = {expansion}")),
            None => ctx.reply(format!("You have no alias {word}.")),
        };
    }
    // The whole typed text is measured, so a long one is refused, not cut.
    let expansion = sanitize(expansion);
    if let Err(sentence) = check_expansion(&expansion) {
        return ctx.reply(sentence);
    }
    match ctx.game.set_alias(ctx.me, &word, &expansion).await {
        Ok(false) => ctx.reply(format!("Alias set: {word} = {expansion}")),
        Ok(true) => ctx.reply(format!("Alias changed: {word} = {expansion}")),
        Err(AliasRefused::Full { .. }) => ctx.reply(TOO_MANY),
        Err(AliasRefused::Store(err)) => ctx.store_trouble(&err),
    }
}

/// `alias` alone: the account's aliases.
fn list(ctx: &Ctx<'_>) {
    let set = ctx.game.aliases_of(ctx.me);
    if set.is_empty() {
        return ctx.reply("You have no aliases; \"alias <word> <commands>\" makes one.");
    }
    let mut text = format!("Your aliases ({} of at most {MAX_ALIASES}):", set.len());
    for (word, expansion) in set.iter() {
        let _ = write!(text, "\n  {word} = {expansion}");
    }
    ctx.reply(text);
}

/// `unalias <word>`.
async fn unalias(ctx: &Ctx<'_>, word: &str) {
    let word = sanitize(word).to_lowercase();
    match ctx.game.unalias(ctx.me, &word).await {
        Ok(Some(_)) => ctx.reply(format!("Alias removed: {word}.")),
        Ok(None) => ctx.reply(format!("You have no alias {word}.")),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// On entering the game: the account's aliases, read into memory.
pub async fn on_entry(ctx: &Ctx<'_>) {
    if let Err(err) = ctx.game.load_aliases(ctx.me).await {
        tracing::warn!(%err, "could not read the aliases");
        ctx.store_trouble(&err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn set(pairs: &[(&str, &str)]) -> AliasSet {
        pairs
            .iter()
            .map(|(w, e)| (w.to_string(), Arc::from(*e)))
            .collect()
    }

    #[test]
    fn an_alias_takes_the_typed_words_and_separates_commands() {
        let aliases = set(&[
            ("gt", "tell Ann $*; wave"),
            ("two", "say $2 then $1; say $3."),
            ("t", "tell"),
            ("many", "n;n;n;n;n;n;n;n;n;n;n;n"),
            ("empty", " ; "),
        ]);
        let expanded = |line| expand(&aliases, line);
        assert_eq!(
            expanded("gt hello there"),
            Some(vec!["tell Ann hello there".into(), "wave".into()])
        );
        assert_eq!(
            expanded("/GT hi; quit"),
            Some(vec!["tell Ann hi; quit".into(), "wave".into()]),
            "a ; typed is no separator"
        );
        assert_eq!(
            expanded("two a b"),
            Some(vec!["say b then a".into(), "say .".into()])
        );
        assert_eq!(
            expanded("t Ann hi"),
            Some(vec!["tell Ann hi".into()]),
            "no $: the typed words go at the end"
        );
        assert_eq!(expanded("many").map(|c| c.len()), Some(MAX_COMMANDS));
        assert_eq!(expanded("empty x"), Some(vec![String::new()]));
        assert_eq!(expanded("look"), None);
        assert_eq!(expanded("tx"), None, "an alias is never shortened");
        let long = format!("gt {}", "x".repeat(3000));
        let commands = expand(&aliases, &long).expect("expanded");
        assert!(commands[0].len() <= MAX_COMMAND_BYTES);
    }

    #[test]
    fn the_limits_have_their_sentences_and_help_quotes_them() {
        assert_eq!(check_word("alias"), Err(NOT_ALIASABLE));
        assert_eq!(check_word("unalias"), Err(NOT_ALIASABLE));
        assert_eq!(check_word("gt"), Ok(()));
        assert_eq!(check_word("go-n_2"), Ok(()));
        assert_eq!(check_word("'"), Err(NOT_A_WORD));
        assert_eq!(check_word(&"w".repeat(21)), Err(NOT_A_WORD));
        assert_eq!(check_expansion(&"x".repeat(255)), Ok(()));
        assert_eq!(check_expansion(&"x".repeat(256)), Err(TOO_LONG));
        assert_eq!(check_expansion(&"n;".repeat(10)), Ok(()));
        assert_eq!(check_expansion(&"n;".repeat(11)), Err(TOO_MANY_COMMANDS));
        for sentence in [
            TOO_MANY,
            TOO_LONG,
            TOO_MANY_COMMANDS,
            NOT_A_WORD,
            NOT_ALIASABLE,
        ] {
            assert!(ALIAS.details.contains(sentence), "{sentence}");
        }
        assert!(TOO_MANY.contains(&MAX_ALIASES.to_string()));
    }
}
