//! The command list: every command there is, one line each. Adding a command
//! is its [`Spec`] and handler in one file and one line here. `help`, the
//! parser's matching, the admin commands' required roles, the audit rows'
//! action names and the rule that character names are never command words
//! all read this list; a test checks it against the command tables in
//! `docs/commands.md` and `docs/admin.md`.

use super::spec::Spec;
use super::{
    admin, alias, channels, doors, help, history, ignore, info, items, look, mail, movement,
    profile, socials, talk,
};

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
    &doors::OPEN,
    &doors::CLOSE,
    &doors::LOCK,
    &doors::UNLOCK,
    &talk::SAY,
    &talk::EMOTE,
    &talk::WHISPER,
    &talk::TELL,
    &talk::REPLY,
    &talk::YELL,
    &channels::CHANNELS,
    &mail::MAIL,
    &socials::SOCIALS,
    &ignore::IGNORE,
    &ignore::UNIGNORE,
    &items::INVENTORY,
    &items::GET,
    &items::DROP,
    &items::GIVE,
    &items::PUT,
    &history::HISTORY,
    &info::WHO,
    &socials::FINGER,
    &help::HELP,
    &info::CHARACTERS,
    &info::PASSWORD,
    &info::COLOR,
    &profile::DESCRIBE,
    &profile::AFK,
    &alias::ALIAS,
    &alias::UNALIAS,
    &info::QUIT,
    &admin::world::GOTO,
    &admin::world::TELEPORT,
    &admin::world::RELOAD,
    &admin::build::rooms::ROOMS,
    &admin::build::rooms::DIG,
    &admin::build::rooms::LINK,
    &admin::build::rooms::UNLINK,
    &admin::build::rooms::RNAME,
    &admin::build::rooms::RDESC,
    &admin::build::rooms::RDESTROY,
    &admin::build::rooms::ZONE,
    &admin::build::doors::DOOR,
    &admin::build::doors::UNDOOR,
    &admin::build::items::CREATE,
    &admin::build::items::INAME,
    &admin::build::items::IDESC,
    &admin::build::items::DESTROY,
    &admin::build::history::UNDO,
    &admin::build::history::REDO,
    &admin::build::history::BUILDS,
    &admin::scripts::SCRIPT,
    &admin::scripts::NPC,
    &admin::accounts::KICK,
    &admin::accounts::BAN,
    &admin::accounts::UNBAN,
    &admin::world::WALL,
    &admin::channels::MUTE,
    &admin::channels::UNMUTE,
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
    &admin::upgrade::COPYOVER,
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
    use crate::auth::Role;
    use crate::command::spec::Group;

    /// A command as a docs table row documents it.
    #[derive(Debug)]
    struct Documented {
        /// The file and its line, for the failure message.
        at: String,
        /// The `## ` heading the table stands under.
        group: String,
        name: String,
        aliases: Vec<String>,
        role: Role,
        usage: String,
    }

    /// The cells of a table row, `\|` read as a pipe inside a cell.
    fn cells(row: &str) -> Vec<String> {
        let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
        let (mut cells, mut cell) = (Vec::new(), String::new());
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'|') => {
                    chars.next();
                    cell.push('|');
                }
                '|' => cells.push(std::mem::take(&mut cell)),
                c => cell.push(c),
            }
        }
        cells.push(cell);
        cells.iter().map(|cell| cell.trim().to_string()).collect()
    }

    /// The text of a cell that is one code span: `` `look` `` is `look`.
    fn code(cell: &str) -> Option<String> {
        let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
        (!inner.contains('`')).then(|| inner.to_string())
    }

    /// The commands a docs file's command tables document: every table whose
    /// header starts `| command |`, under the `## ` heading of its group. In
    /// `commands.md` the columns are command, also, usage, does (player
    /// commands); in `admin.md` command, who, usage, does.
    fn documented(file: &str, text: &str) -> Vec<Documented> {
        let admin = file.ends_with("admin.md");
        let mut found = Vec::new();
        let (mut group, mut in_table) = (String::new(), false);
        for (n, line) in text.lines().enumerate() {
            if let Some(heading) = line.strip_prefix("## ") {
                group = heading.trim().to_string();
            }
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            let row = cells(line);
            if row.first().map(String::as_str) == Some("command") {
                in_table = true;
                continue;
            }
            if !in_table || row.iter().all(|cell| cell.chars().all(|c| c == '-')) {
                continue;
            }
            let at = format!("{file}:{}", n + 1);
            assert_eq!(row.len(), 4, "{at}: a command row has four cells: {line}");
            let word =
                code(&row[0]).unwrap_or_else(|| panic!("{at}: the command is one code span"));
            let (name, aliases, role) = if admin {
                let name = word
                    .strip_prefix('/')
                    .unwrap_or_else(|| panic!("{at}: /{word}"));
                let role = row[1].trim_end_matches('+').parse::<Role>();
                let role = role.unwrap_or_else(|_| panic!("{at}: no role {:?}", row[1]));
                (name.to_string(), Vec::new(), role)
            } else {
                let aliases = row[1]
                    .split(", ")
                    .filter(|alias| !alias.is_empty())
                    .map(|alias| code(alias).unwrap_or_else(|| panic!("{at}: alias {alias:?}")))
                    .collect();
                (word, aliases, Role::Player)
            };
            let usage = code(&row[2]).unwrap_or_else(|| panic!("{at}: the usage is one code span"));
            found.push(Documented {
                at,
                group: group.clone(),
                name,
                aliases,
                role,
                usage,
            });
        }
        found
    }

    /// Guards the command list against the docs, which are written apart from
    /// it: every command in the list is documented once, under its group, with
    /// its other names, its role and its usage; and every documented command
    /// is in the list.
    #[test]
    fn the_command_list_and_the_docs_tables_agree() {
        let docs = [
            ("docs/commands.md", include_str!("../../docs/commands.md")),
            ("docs/admin.md", include_str!("../../docs/admin.md")),
        ];
        let documented: Vec<Documented> = docs
            .iter()
            .flat_map(|(file, text)| documented(file, text))
            .collect();
        assert!(
            documented.len() > 40,
            "the tables were not found: {documented:?}"
        );
        let mut wrong = Vec::new();
        for spec in COMMANDS {
            let rows: Vec<&Documented> =
                documented.iter().filter(|d| d.name == spec.name).collect();
            let [row] = rows.as_slice() else {
                wrong.push(format!(
                    "{} is in the list and in {} docs rows",
                    spec.name,
                    rows.len()
                ));
                continue;
            };
            let aliases: Vec<&str> = row.aliases.iter().map(String::as_str).collect();
            let name = spec.name;
            if row.group != spec.group.title() {
                let (docs, list) = (&row.group, spec.group.title());
                wrong.push(format!(
                    "{}: {name} is under {docs:?} in the docs, {list:?} in the list",
                    row.at
                ));
            }
            if row.role != spec.role {
                let (docs, list) = (row.role, spec.role);
                wrong.push(format!(
                    "{}: {name} is for {docs} in the docs, {list} in the list",
                    row.at
                ));
            }
            if !spec.is_admin() && aliases != spec.aliases {
                let list = spec.aliases;
                wrong.push(format!(
                    "{}: {name} is also {aliases:?} in the docs, {list:?} in the list",
                    row.at
                ));
            }
            if row.usage != spec.usage {
                let (docs, list) = (&row.usage, spec.usage);
                wrong.push(format!(
                    "{}: {name}'s usage is {docs:?} in the docs, {list:?} in the list",
                    row.at
                ));
            }
        }
        for row in &documented {
            if !COMMANDS.iter().any(|spec| spec.name == row.name) {
                wrong.push(format!(
                    "{}: {} is in the docs but not in the list",
                    row.at, row.name
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "the command list and the docs disagree:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn docs_table_cells_keep_escaped_pipes() {
        assert_eq!(
            cells("| `color` | `colour` | `color [on\\|off]` | does |"),
            ["`color`", "`colour`", "`color [on|off]`", "does"]
        );
        assert_eq!(code("`look`").as_deref(), Some("look"));
        assert_eq!(code("look"), None);
    }

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
