//! The `--config` TOML file, layered under the flags and the environment.
//!
//! After a first parse of the command line, each setting of the file whose
//! flag was neither typed nor set in the environment (clap reports where every
//! value came from) is added to the command line, and the line is parsed
//! again, so a file value goes through the same checks as a typed one. Keys
//! are the flags' long names (`snake_case` accepted); `[mssp]` stands for the
//! `mssp-` flags. A key that names no flag, a value of the wrong type, or a
//! value its flag refuses is an error naming the file.
//!
//! The one setting that is no flag is `[[channel]]`, an array of tables (one
//! server-wide channel each: `name`, `description`, `read`, `write`,
//! `guests`), read here into [`ChannelSetting`]s for the configuration.
//!
//! This module knows the flags only through clap's `Command`: it adds nothing
//! to them and decides nothing about what they mean.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::auth::Role;
use crate::config::ChannelSetting;

/// What a config file holds: its flag settings (layered into the command
/// line) and its `[[channel]]` tables.
pub struct Layered {
    pub matches: ArgMatches,
    pub channels: Vec<ChannelSetting>,
}

/// The matches of the command line `args` (first parsed as `matches`) with
/// the settings of the file at `path` layered in; the message of what is
/// wrong with the file otherwise.
pub fn layered(
    command: &clap::Command,
    matches: &ArgMatches,
    args: &[OsString],
    path: &Path,
) -> Result<Layered, String> {
    let (settings, channels) = read_config_file(path)?;
    let layered = layer_settings(command, matches, args, &settings)?;
    // The line parsed once already, so a failure now comes from a file value.
    let matches = command
        .clone()
        .try_get_matches_from(&layered)
        .map_err(|err| clap_message(&err))?;
    Ok(Layered { matches, channels })
}

/// The settings of a config file, keyed by flag name (`snake_case` keys are
/// accepted and turned into the flags' `kebab-case`), and its channels.
fn read_config_file(
    path: &Path,
) -> Result<(BTreeMap<String, toml::Value>, Vec<ChannelSetting>), String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read it: {err}"))?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|err: toml::de::Error| err.to_string().trim_end().to_string())?;
    let channels = match table.remove("channel") {
        Some(value) => channel_settings(value)?,
        None => Vec::new(),
    };
    let mut settings = BTreeMap::new();
    for (key, value) in flatten_tables(table)? {
        let flag = key.replace('_', "-");
        if settings.insert(flag, value).is_some() {
            return Err(format!(
                "key {key:?} is given twice (in kebab-case and snake_case)"
            ));
        }
    }
    Ok((settings, channels))
}

/// The keys a `[[channel]]` table may hold.
const CHANNEL_KEYS: [&str; 5] = ["name", "description", "read", "write", "guests"];

/// `[[channel]]`: an array of tables, each a channel's settings.
fn channel_settings(value: toml::Value) -> Result<Vec<ChannelSetting>, String> {
    let toml::Value::Array(tables) = value else {
        return Err("\"channel\" must be an array of tables: [[channel]]".into());
    };
    tables
        .into_iter()
        .enumerate()
        .map(|(n, table)| match table {
            toml::Value::Table(table) => {
                channel_setting(table).map_err(|why| format!("[[channel]] number {}: {why}", n + 1))
            }
            _ => Err("\"channel\" must be an array of tables: [[channel]]".into()),
        })
        .collect()
}

fn channel_setting(table: toml::Table) -> Result<ChannelSetting, String> {
    let mut setting = ChannelSetting::default();
    for (key, value) in table {
        let text = || {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{key:?} must be a string"))
        };
        let role = || -> Result<Role, String> {
            text()?.parse().map_err(|_| {
                format!("{key:?} must be a role: player, worldbuilder, admin or superuser")
            })
        };
        match key.as_str() {
            "name" => setting.name = text()?,
            "description" => setting.description = Some(text()?),
            "read" => setting.read = Some(role()?),
            "write" => setting.write = Some(role()?),
            "guests" => {
                let guests = value.as_bool().ok_or("\"guests\" must be true or false")?;
                setting.guests = Some(guests);
            }
            other => {
                return Err(format!(
                    "unknown key {other:?} (a channel has {})",
                    CHANNEL_KEYS.join(", ")
                ));
            }
        }
    }
    if setting.name.is_empty() {
        return Err("a channel needs a \"name\"".into());
    }
    Ok(setting)
}

/// Tables of settings that stand for a group of flags: `[mssp] name = "x"`
/// is `mssp-name = "x"`. Any other table is left as it is (and refused later).
const FLAG_TABLES: [&str; 1] = ["mssp"];

fn flatten_tables(table: toml::Table) -> Result<Vec<(String, toml::Value)>, String> {
    let mut flat = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(inner) if FLAG_TABLES.contains(&key.as_str()) => {
                for (inner_key, inner_value) in inner {
                    if inner_value.is_table() {
                        return Err(format!("[{key}] {inner_key:?} cannot be a table"));
                    }
                    flat.push((format!("{key}-{inner_key}"), inner_value));
                }
            }
            value => flat.push((key, value)),
        }
    }
    Ok(flat)
}

/// The flags of `command` a config file may set: long name to clap id.
fn settable_flags(command: &clap::Command) -> BTreeMap<String, String> {
    command
        .get_arguments()
        .filter(|arg| !matches!(arg.get_id().as_str(), "config" | "help" | "version"))
        .filter_map(|arg| Some((arg.get_long()?.to_string(), arg.get_id().to_string())))
        .collect()
}

/// Whether the value of `id` came from neither the command line nor the
/// environment, so the config file may supply it.
fn is_open_to_file(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        None | Some(ValueSource::DefaultValue)
    )
}

/// The subcommands whose own flags a config file may set: `run`, and `mssp`,
/// which reads the same `bind` to find the server it asks.
const FILE_SUBCOMMANDS: [&str; 2] = ["run", "mssp"];

/// The command line with the file's settings added where they apply: flags of
/// every subcommand right after the program name, the invoked subcommand's own
/// flags at the end (neither `run` nor `mssp` takes positional arguments).
/// Settings of another subcommand are ignored, so one file serves them all; a
/// key that is no flag is an error.
fn layer_settings(
    command: &clap::Command,
    matches: &ArgMatches,
    args: &[OsString],
    settings: &BTreeMap<String, toml::Value>,
) -> Result<Vec<OsString>, String> {
    let common = settable_flags(command);
    let mut known_elsewhere = BTreeMap::new();
    for name in FILE_SUBCOMMANDS {
        if let Some(sub) = command.find_subcommand(name) {
            known_elsewhere.extend(settable_flags(sub));
        }
    }
    let (own, own_matches) = match matches.subcommand() {
        Some((name, sub_matches)) if FILE_SUBCOMMANDS.contains(&name) => (
            command
                .find_subcommand(name)
                .map(settable_flags)
                .unwrap_or_default(),
            Some(sub_matches),
        ),
        _ => (BTreeMap::new(), None),
    };
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (key, value) in settings {
        // Which flag the key names, where that flag's value was decided, and
        // where on the line the file's value goes.
        let (id, scope, target) = if let Some(id) = common.get(key) {
            (id, Some(matches), &mut before)
        } else if let Some(id) = own.get(key) {
            (id, own_matches, &mut after)
        } else if let Some(id) = known_elsewhere.get(key) {
            (id, None, &mut after)
        } else {
            let known: Vec<&str> = common
                .keys()
                .chain(known_elsewhere.keys())
                .map(String::as_str)
                .collect();
            return Err(format!(
                "unknown key {key:?} (known keys: {})",
                known.join(", ")
            ));
        };
        let flag = setting_flag(key, value)?;
        if scope.is_some_and(|m| is_open_to_file(m, id)) {
            target.push(flag);
        }
    }
    let (program, rest) = args
        .split_first()
        .map_or((None, args), |(p, r)| (Some(p), r));
    Ok(program
        .into_iter()
        .cloned()
        .chain(before)
        .chain(rest.iter().cloned())
        .chain(after)
        .collect())
}

/// One setting as a `--flag=value` argument; the `=` keeps a value that starts
/// with `-` from reading as a flag.
fn setting_flag(key: &str, value: &toml::Value) -> Result<OsString, String> {
    let refused = |what: &str| {
        format!(
            "key {key:?} must be a string, a whole number, true/false or a list of \
             strings, not {what}"
        )
    };
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        // A list for a flag that takes several values (`web-host`): the
        // flag's own comma-separated form.
        toml::Value::Array(items) => {
            let texts: Option<Vec<&str>> = items.iter().map(toml::Value::as_str).collect();
            texts
                .ok_or_else(|| refused("a list of other values"))?
                .join(",")
        }
        other => return Err(refused(other.type_str())),
    };
    Ok(format!("--{key}={text}").into())
}

/// The first line of a clap error without its `error: ` label.
fn clap_message(err: &clap::Error) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
