//! Account and character name rules (SPEC §3).
//!
//! Account names: 2–20 characters of ASCII letters, digits, `_` and `-`, starting
//! with a letter. Character names: 2–20 letters with at most one inner space,
//! apostrophe or hyphen, and never a word the command parser would read as a
//! command. Uniqueness (without regard to case) is the database's job.
//!
//! Look-alike names: a character name must be in Unicode normal form NFKC (so
//! no full-width `Ａ`, ligatures or other compatibility forms) and written in one
//! script (no Cyrillic `а` among Latin letters). Beyond that, two names that look
//! alike share a [`name_key`] (NFKC, the Unicode confusable skeleton of UTS #39,
//! no accents; case is the database's own rule), and the store keeps those
//! keys unique: `Alıce`, `Ålice`, `AIice` and `A1ice` are refused like a taken
//! name where `Alice` exists.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_security::MixedScript;

/// Why a name was refused, as a sentence the player can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadName(pub String);

/// Checks an account name.
pub fn check_account_name(name: &str) -> Result<(), BadName> {
    let len = name.chars().count();
    if !(2..=20).contains(&len) {
        return Err(BadName("Account names are 2 to 20 characters long.".into()));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(BadName("Account names start with a letter.".into()));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(BadName(
            "Account names use only letters, digits, \"_\" and \"-\".".into(),
        ));
    }
    Ok(())
}

/// Checks a character name; `is_command_word` says whether a word is one the
/// command parser knows (a character called "Look" would be unaddressable).
pub fn check_character_name(
    name: &str,
    is_command_word: impl Fn(&str) -> bool,
) -> Result<(), BadName> {
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    let separators: Vec<(usize, char)> = name
        .char_indices()
        .filter(|(_, c)| !c.is_alphabetic())
        .collect();
    let len = name.chars().count();
    if !(2..=20).contains(&len) || letters < 2 {
        return Err(BadName("Character names are 2 to 20 letters long.".into()));
    }
    if separators.len() > 1
        || separators
            .iter()
            .any(|(_, c)| !matches!(c, ' ' | '\'' | '-'))
    {
        return Err(BadName(
            "Character names are letters, with at most one space, apostrophe or hyphen inside."
                .into(),
        ));
    }
    if let Some((at, _)) = separators.first()
        && (*at == 0 || *at + 1 == name.len())
    {
        return Err(BadName(
            "A space, apostrophe or hyphen can only stand inside a character name.".into(),
        ));
    }
    if !unicode_normalization::is_nfkc(name) {
        return Err(BadName(
            "Character names use plain letters (no full-width or other compatibility forms)."
                .into(),
        ));
    }
    if !name.is_single_script() {
        return Err(BadName(
            "Character names use the letters of one alphabet, not a mix.".into(),
        ));
    }
    if name.split([' ', '\'', '-']).any(&is_command_word) {
        return Err(BadName(format!(
            "\"{name}\" is a command word; choose another name."
        )));
    }
    Ok(())
}

/// The form under which two names count as the same name: look-alikes share
/// it. NFKC, then the confusable skeleton (UTS #39), accents dropped and lower
/// case — twice, so that a capital that looks like a small letter (`I` and
/// `l`) and a small letter that looks like another (`ı` and `i`) both meet.
///
/// Case alone is the database's business (names are unique without regard to
/// case): the key keeps `i` and `l` apart, so `Kai` and `Kal` are two names,
/// while `KAI` (whose `I` looks like an `l`) is `Kal`'s look-alike.
pub fn name_key(name: &str) -> String {
    let nfkc: String = name.nfkc().collect();
    fold(&fold(&nfkc))
}

fn fold(text: &str) -> String {
    let skeleton: String = unicode_security::skeleton(text).collect();
    skeleton
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Capitalises the first letter of each part, so "mary-ann" is shown as "Mary-Ann".
pub fn display_character_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = matches!(c, ' ' | '\'' | '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_commands(_: &str) -> bool {
        false
    }

    #[test]
    fn account_names() {
        assert!(check_account_name("ab").is_ok());
        assert!(check_account_name("Alice_99-x").is_ok());
        assert!(check_account_name("a").is_err());
        assert!(check_account_name("abcdefghijklmnopqrstu").is_err());
        assert!(check_account_name("9lives").is_err());
        assert!(check_account_name("_x").is_err());
        assert!(check_account_name("al ice").is_err());
        assert!(check_account_name("älice").is_err());
    }

    #[test]
    fn character_names() {
        assert!(check_character_name("Bob", no_commands).is_ok());
        assert!(check_character_name("Mary Ann", no_commands).is_ok());
        assert!(check_character_name("O'Hara", no_commands).is_ok());
        assert!(check_character_name("Jean-Luc", no_commands).is_ok());
        assert!(check_character_name("B", no_commands).is_err());
        assert!(check_character_name("Bob2", no_commands).is_err());
        assert!(check_character_name("Bob_", no_commands).is_err());
        assert!(check_character_name("Mary Ann Lee", no_commands).is_err());
        assert!(check_character_name("-Bob", no_commands).is_err());
        assert!(check_character_name("Bob-", no_commands).is_err());
        assert!(check_character_name("Abcdefghijklmnopqrstu", no_commands).is_err());
    }

    #[test]
    fn command_words_are_refused_as_names() {
        let is_cmd = |w: &str| w.eq_ignore_ascii_case("look");
        assert!(check_character_name("Look", is_cmd).is_err());
        assert!(check_character_name("Look Out", is_cmd).is_err());
        assert!(check_character_name("Lookout", is_cmd).is_ok());
    }

    #[test]
    fn compatibility_forms_and_mixed_scripts_are_refused() {
        assert!(check_character_name("Élodie", no_commands).is_ok());
        assert!(check_character_name("Алиса", no_commands).is_ok());
        assert!(check_character_name("Ａlice", no_commands).is_err());
        assert!(check_character_name("ﬁona", no_commands).is_err());
        // A Cyrillic а among Latin letters.
        assert!(check_character_name("\u{410}lice", no_commands).is_err());
        // Full-width letters would otherwise hide a command word.
        let is_cmd = |w: &str| w.eq_ignore_ascii_case("look");
        assert!(check_character_name("Ｌｏｏｋ", is_cmd).is_err());
    }

    #[test]
    fn look_alike_names_share_a_key() {
        let alice = name_key("Alice");
        for look_alike in [
            "alice",
            "\u{410}lice",
            "Ａlice",
            "Al\u{131}ce",
            "\u{c5}lice",
            "A\u{30a}lice",
            "AIice",
            "A1ice",
        ] {
            assert_eq!(name_key(look_alike), alice, "{look_alike:?}");
        }
        for different in ["Alicia", "Alise", "Malice", "Al ice"] {
            assert_ne!(name_key(different), alice, "{different:?}");
        }
        assert_eq!(name_key("Sam"), name_key("Sarn"), "rn looks like m");
        assert_ne!(name_key("Kai"), name_key("Kal"), "i and l are two letters");
        assert_eq!(
            name_key("KAI"),
            name_key("Kal"),
            "a capital I looks like an l"
        );
        assert_eq!(name_key("Élodie"), name_key("elodie"));
        assert_eq!(name_key("guest_01234"), name_key("guest_01234"));
        assert_ne!(name_key("guest_01234"), name_key("guest_01235"));
    }

    #[test]
    fn display_capitalises_each_part() {
        assert_eq!(display_character_name("mary-ann"), "Mary-Ann");
        assert_eq!(display_character_name("bob"), "Bob");
    }
}
