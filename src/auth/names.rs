//! Account and character name rules (SPEC §3).
//!
//! Account names: 2–20 characters of ASCII letters, digits, `_` and `-`, starting
//! with a letter. Character names: 2–20 letters with at most one inner space,
//! apostrophe or hyphen, and never a word the command parser would read as a
//! command. Uniqueness (without regard to case) is the database's job.

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
    if name.split([' ', '\'', '-']).any(&is_command_word) {
        return Err(BadName(format!(
            "\"{name}\" is a command word; choose another name."
        )));
    }
    Ok(())
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
    fn display_capitalises_each_part() {
        assert_eq!(display_character_name("mary-ann"), "Mary-Ann");
        assert_eq!(display_character_name("bob"), "Bob");
    }
}
