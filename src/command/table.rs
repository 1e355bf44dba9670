//! The command list: every command there is, one line each. Adding a command
//! is its [`Spec`] and handler in one file and one line here. `help`, the
//! parser's matching, the admin commands' required roles, the audit rows'
//! action names and the rule that character names are never command words
//! all read this list; a test checks it against the command tables in
//! `docs/commands.md` and `docs/admin.md`.

use super::spec::Spec;
use super::{admin, help, history, info, items, look, movement, talk};

/// Every command, in the order `help` lists them within their groups.
pub static COMMANDS: &[&Spec] = &[
    &look::LOOK,
    &look::EXAMINE,
    &movement::NORTH,
    &movement::SOUTH,
    &movement::EAST,
    &movement::WEST,
    &movement::NORTHEAST,
    &movement::NORTHWEST,
    &movement::SOUTHEAST,
    &movement::SOUTHWEST,
    &movement::UP,
    &movement::DOWN,
    &movement::GO,
    &look::EXITS,
    &movement::RECALL,
    &talk::SAY,
    &talk::EMOTE,
    &talk::WHISPER,
    &talk::TELL,
    &talk::YELL,
    &items::INVENTORY,
    &items::GET,
    &items::DROP,
    &items::GIVE,
    &history::HISTORY,
    &info::WHO,
    &help::HELP,
    &info::CHARACTERS,
    &info::PASSWORD,
    &info::COLOR,
    &info::QUIT,
    &admin::world::GOTO,
    &admin::world::TELEPORT,
    &admin::world::RELOAD,
    &admin::accounts::KICK,
    &admin::accounts::BAN,
    &admin::accounts::UNBAN,
    &admin::world::WALL,
    &admin::browse::USERS,
    &admin::browse::SESSIONS,
    &admin::browse::WHERE,
    &admin::browse::TABLES,
    &admin::browse::ROWS,
    &admin::browse::CHATLOG,
    &admin::accounts::NEWCHAR,
    &admin::accounts::GRANT,
    &admin::accounts::REVOKE,
    &admin::world::SHUTDOWN,
    &admin::accounts::ROLE,
    &admin::accounts::SETPASSWORD,
    &admin::accounts::DELETE,
    &admin::world::PRUNE,
];

/// Whether a word names a command exactly (character names may not).
pub fn is_command_word(word: &str) -> bool {
    let word = word.to_lowercase();
    COMMANDS.iter().any(|spec| spec.answers_to(&word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::spec::Group;

    #[test]
    fn every_word_names_one_command() {
        let mut seen: Vec<&str> = Vec::new();
        for spec in COMMANDS {
            for word in std::iter::once(&spec.name).chain(spec.aliases) {
                assert_eq!(*word, word.to_lowercase(), "{word}");
                assert!(!seen.contains(word), "{word} names two commands");
                seen.push(word);
            }
        }
    }

    #[test]
    fn admin_commands_are_slash_commands_in_admin_groups() {
        for spec in COMMANDS {
            let admin_group = matches!(
                spec.group,
                Group::Building | Group::Admin | Group::Superuser
            );
            assert_eq!(spec.is_admin(), admin_group, "{}", spec.name);
            assert_eq!(
                spec.usage.starts_with('/'),
                spec.is_admin(),
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn command_words_are_known() {
        assert!(is_command_word("Look"));
        assert!(is_command_word("n"));
        assert!(is_command_word("home"));
        assert!(is_command_word("newchar"));
        assert!(!is_command_word("Alice"));
    }
}
