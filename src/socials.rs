//! Socials (SPEC §12 "Socials and pose"): the gestures players make at the
//! room or at someone in it (`smile`, `bow Ann`), read from a data file
//! beside the worlds that operators edit (`worlds/socials.toml`, or the file
//! `--socials` names), checked as it is read, and by `check-worlds`.
//!
//! Each `[[social]]` table names its verb (`name`, one lower-case word) and
//! may give the third person (`verbs`, else the name and an `s`) and any of
//! its five sentences: `you` and `room` alone, `you_at`, `target` and
//! `room_at` at someone. A sentence not given is SPEC §12's: `You <verb>.`,
//! `<Name> <verbs>.`, `You <verb> at <Target>.`, `<Name> <verbs> at you.`,
//! `<Name> <verbs> at <Target>.`. In a sentence `<Name>` is who makes it and
//! `<Target>` whom it is made at. Every error names the file, the social
//! and the field.
//!
//! This module is pure data: it knows nothing about players or rooms (the
//! `command` layer fills the sentences in and says them).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file beside the worlds, when no other is named.
pub const FILE_NAME: &str = "socials.toml";
/// Most socials a file may hold.
pub const MAX_SOCIALS: usize = 1000;
/// Most characters of one sentence.
pub const MAX_SENTENCE: usize = 200;

/// One social.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Social {
    pub name: String,
    /// Alone: to the player, to the room.
    pub you: String,
    pub room: String,
    /// At someone: to the player, to the target, to the rest of the room.
    pub you_at: String,
    pub target: String,
    pub room_at: String,
}

impl Social {
    /// A sentence with its `<Name>` and `<Target>` filled in.
    pub fn fill(sentence: &str, name: &str, target: &str) -> String {
        sentence.replace("<Name>", name).replace("<Target>", target)
    }
}

/// Every social, by name.
#[derive(Debug, Default)]
pub struct Socials {
    by_name: HashMap<String, Arc<Social>>,
    /// Names in order, for `socials`.
    names: Vec<String>,
}

impl Socials {
    /// The social called `word` (in lower case).
    pub fn get(&self, word: &str) -> Option<&Arc<Social>> {
        self.by_name.get(word)
    }

    /// The names, in alphabetical order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One thing wrong with a socials file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialError {
    pub file: PathBuf,
    /// `social 3 ("wave").room_at`, or empty for the file as a whole.
    pub field: String,
    pub message: String,
}

impl fmt::Display for SocialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            )
        }
    }
}

/// Where the socials are read from: the file named, which must exist, or
/// the one beside the worlds, which may be missing (no socials then).
pub fn path_for(named: Option<&Path>, worlds_dir: &Path) -> (PathBuf, bool) {
    match named {
        Some(path) => (path.to_path_buf(), true),
        None => (worlds_dir.join(FILE_NAME), false),
    }
}

/// Whether a word is a command's, which always wins over a social (the
/// caller's list: this module looks no higher than itself).
pub type IsCommand = fn(&str) -> bool;

/// Reads and checks a socials file; `Ok(None)` when it is missing and not
/// `required`. Every error found is returned, not just the first.
pub fn load(
    path: &Path,
    required: bool,
    is_command: IsCommand,
) -> Result<Option<Socials>, Vec<SocialError>> {
    let error = |field: String, message: String| SocialError {
        file: path.to_path_buf(),
        field,
        message,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(err) => return Err(vec![error(String::new(), format!("cannot read it: {err}"))]),
    };
    parse(&text, is_command).map(Some).map_err(|errors| {
        errors
            .into_iter()
            .map(|(field, message)| error(field, message))
            .collect()
    })
}

/// Reads socials from TOML text; errors as (field, message).
pub fn parse(text: &str, is_command: IsCommand) -> Result<Socials, Vec<(String, String)>> {
    let table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
        vec![(String::new(), err.to_string().trim().to_string())]
    })?;
    let mut errors = Vec::new();
    let mut socials = Socials::default();
    for key in table.keys().filter(|k| *k != "social") {
        errors.push((
            key.clone(),
            "unknown key; the file holds [[social]] tables".into(),
        ));
    }
    let tables = match table.get("social") {
        Some(toml::Value::Array(tables)) => tables.as_slice(),
        Some(_) => {
            errors.push((
                "social".into(),
                "must be an array of tables: [[social]]".into(),
            ));
            &[]
        }
        None => &[],
    };
    if tables.len() > MAX_SOCIALS {
        errors.push(("social".into(), format!("at most {MAX_SOCIALS} socials")));
    }
    for (n, value) in tables.iter().enumerate().take(MAX_SOCIALS) {
        match social(value, is_command) {
            Ok(social) if socials.by_name.contains_key(&social.name) => errors.push((
                format!("social {} ({:?}).name", n + 1, social.name),
                "a social of that name comes earlier".into(),
            )),
            Ok(social) => {
                socials.names.push(social.name.clone());
                socials
                    .by_name
                    .insert(social.name.clone(), Arc::new(social));
            }
            Err((field, message)) => {
                let named = value
                    .get("name")
                    .and_then(toml::Value::as_str)
                    .map(|name| format!(" ({name:?})"))
                    .unwrap_or_default();
                let field = if field.is_empty() {
                    String::new()
                } else {
                    format!(".{field}")
                };
                errors.push((format!("social {}{named}{field}", n + 1), message));
            }
        }
    }
    socials.names.sort();
    if errors.is_empty() {
        Ok(socials)
    } else {
        Err(errors)
    }
}

/// The sentences' fields, and whether each is said at someone.
const SENTENCES: [(&str, bool); 5] = [
    ("you", false),
    ("room", false),
    ("you_at", true),
    ("target", true),
    ("room_at", true),
];

/// One `[[social]]` table; an error as (field, message).
fn social(value: &toml::Value, is_command: IsCommand) -> Result<Social, (String, String)> {
    let toml::Value::Table(table) = value else {
        return Err((String::new(), "must be a table".into()));
    };
    for key in table.keys() {
        let known = key == "name" || key == "verbs" || SENTENCES.iter().any(|(f, _)| f == key);
        if !known {
            return Err((
                key.clone(),
                "unknown field; a social has name, verbs, you, room, you_at, target, room_at"
                    .into(),
            ));
        }
    }
    let text = |key: &str| -> Result<Option<String>, (String, String)> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err((key.to_string(), "must be a string".into())),
        }
    };
    let name = text("name")?.ok_or(("name".to_string(), "missing".to_string()))?;
    if name.is_empty()
        || name.chars().count() > 20
        || !name.chars().all(|c| c.is_lowercase() && c.is_alphabetic())
    {
        return Err((
            "name".into(),
            format!("{name:?} is not one lower-case word of at most 20 letters"),
        ));
    }
    if is_command(&name) {
        return Err((
            "name".into(),
            format!(
                "{name:?} is a command word, which always wins; the social could never be used"
            ),
        ));
    }
    let verbs = text("verbs")?.unwrap_or_else(|| format!("{name}s"));
    let default = |field: &str| match field {
        "you" => format!("You {name}."),
        "room" => format!("<Name> {verbs}."),
        "you_at" => format!("You {name} at <Target>."),
        "target" => format!("<Name> {verbs} at you."),
        _ => format!("<Name> {verbs} at <Target>."),
    };
    let mut sentences = Vec::new();
    for (field, at) in SENTENCES {
        let sentence = text(field)?.unwrap_or_else(|| default(field));
        check_sentence(&sentence, at).map_err(|why| (field.to_string(), why))?;
        sentences.push(sentence);
    }
    let [you, room, you_at, target, room_at] =
        <[String; 5]>::try_from(sentences).map_err(|_| (String::new(), "five sentences".into()))?;
    Ok(Social {
        name,
        you,
        room,
        you_at,
        target,
        room_at,
    })
}

/// A sentence may name `<Name>` and, said at someone, `<Target>`; nothing
/// else in angle brackets, no control characters, not too long.
fn check_sentence(sentence: &str, at: bool) -> Result<(), String> {
    if sentence.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if sentence.chars().count() > MAX_SENTENCE {
        return Err(format!("at most {MAX_SENTENCE} characters"));
    }
    if sentence.chars().any(char::is_control) {
        return Err("holds a control character".into());
    }
    let mut rest = sentence;
    while let Some(start) = rest.find('<') {
        let after = &rest[start..];
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        match &after[..end] {
            "<Name>" => {}
            "<Target>" if at => {}
            "<Target>" => return Err("<Target> is only for the sentences at someone".into()),
            other => {
                return Err(format!(
                    "{other:?}: a sentence names only <Name> and <Target>"
                ));
            }
        }
        rest = &after[end..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(word: &str) -> bool {
        matches!(word, "look" | "say")
    }

    fn parse(text: &str) -> Result<Socials, Vec<(String, String)>> {
        super::parse(text, commands)
    }

    #[test]
    fn a_social_gets_the_specs_sentences_unless_it_gives_its_own() {
        let socials = parse(
            "[[social]]\nname = \"smile\"\n\n[[social]]\nname = \"cry\"\nverbs = \"cries\"\n\
             room_at = \"<Name> sobs on <Target>'s shoulder.\"\n",
        )
        .expect("valid");
        let smile = socials.get("smile").expect("smile");
        assert_eq!(smile.you, "You smile.");
        assert_eq!(smile.room, "<Name> smiles.");
        assert_eq!(smile.you_at, "You smile at <Target>.");
        assert_eq!(smile.target, "<Name> smiles at you.");
        assert_eq!(smile.room_at, "<Name> smiles at <Target>.");
        let cry = socials.get("cry").expect("cry");
        assert_eq!(cry.room, "<Name> cries.");
        assert_eq!(
            Social::fill(&cry.room_at, "Ann", "Ben"),
            "Ann sobs on Ben's shoulder."
        );
        assert_eq!(socials.names(), ["cry", "smile"]);
    }

    #[test]
    fn every_error_names_the_social_and_the_field() {
        let errors = parse(
            "[[social]]\nname = \"look\"\n\n[[social]]\nname = \"wave\"\nroom = \"<Target> waves.\"\n\n\
             [[social]]\nname = \"nod\"\nyou_at = \"You nod at <Whom>.\"\n\n[[social]]\nname = \"nod\"\n\n\
             [[social]]\nname = \"Bad Name\"\n\n[[social]]\nname = \"hug\"\ncolour = \"red\"\n",
        )
        .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "social 1 (\"look\").name",
                "social 2 (\"wave\").room",
                "social 3 (\"nod\").you_at",
                "social 5 (\"Bad Name\").name",
                "social 6 (\"hug\").colour",
            ]
        );
        let errors =
            parse("[[social]]\nname = \"nod\"\n[[social]]\nname = \"nod\"\n").expect_err("twice");
        assert_eq!(errors[0].0, "social 2 (\"nod\").name");
        let errors = parse("social = 3\nother = 1").expect_err("no tables");
        assert_eq!(errors.len(), 2);
        assert!(parse("[[social]\n").is_err(), "not TOML");
    }

    #[test]
    fn the_shipped_file_holds_at_least_thirty_valid_socials() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("worlds")
            .join(FILE_NAME);
        let socials = load(&path, true, crate::command::is_command_word)
            .unwrap_or_else(|errors| panic!("{errors:?}"))
            .expect("present");
        assert!(socials.len() >= 30, "{}", socials.len());
        assert!(
            load(&path.with_file_name("none.toml"), false, commands)
                .expect("missing is fine")
                .is_none()
        );
        assert!(load(&path.with_file_name("none.toml"), true, commands).is_err());
    }
}
