//! The sentences players see that more than one layer says, in one place.
//!
//! Many of them are quoted in SPEC.md and are part of the contract: players
//! write client triggers on them, so they change only with the spec.
//!
//! **Invariant:** plain constants and pure functions; nothing here knows who
//! says them.

use crate::store::StoreError;

/// The answer to a wrong password or an unknown account, alike.
pub const WRONG_LOGIN: &str = "Wrong account name or password.";
/// The answer while an account is locked, to every password, right or wrong.
pub const LOCKED_OUT: &str = "Too many failed logins; try again later.";
/// A banned account's login, and the last words of its live connections.
pub const BANNED: &str = "This account is banned.";
/// The last words of a deleted account's live connections.
pub const DELETED: &str = "This account has been deleted.";
/// A guest account past its time.
pub const GUEST_EXPIRED: &str = "This guest account has expired.";
/// What the old connection sees when its character is taken over.
pub const TAKEN_OVER: &str = "Your character was taken over by a new connection.";
/// What everyone sees when the server stops.
pub const SHUTTING_DOWN: &str = "The server is shutting down.";

/// The last words to a connection after its third wrong password (SPEC §3).
pub const TOO_MANY_WRONG_PASSWORDS: &str = "Too many wrong passwords; goodbye.";
/// The last word of a player who leaves.
pub const GOODBYE: &str = "Goodbye.";
/// The answer when the database stayed locked past its busy timeout.
pub const RECORDS_BUSY: &str = "The game's records are busy; try again.";
/// The answer when a store call failed for any other reason (rolled back).
pub const STORE_FAILED: &str = "Something went wrong; nothing was changed.";
/// The reply to anything the parser does not know.
pub const UNKNOWN_COMMAND: &str = "Huh? Type \"help\" for a list of commands.";
/// Text sent when a line is over the cap (SPEC §8).
pub const LINE_TOO_LONG: &str = "Line too long (max 1024 bytes).";
/// Text sent before disconnecting a client that sent 8 KiB without a newline.
pub const INPUT_OVERFLOW: &str = "Input overflow.";
/// Text sent when a client types faster than the rate limit allows.
pub const SLOW_DOWN: &str = "Slow down.";

/// [`BANNED`], and on a second line the reason the ban was given, if any.
pub fn banned(reason: Option<&str>) -> String {
    match reason.map(crate::text::sanitize).filter(|r| !r.is_empty()) {
        Some(reason) => format!("{BANNED}\nThe reason given: {reason}"),
        None => BANNED.to_string(),
    }
}

/// `You don't have permission to use /<command>.`
pub fn no_permission(command: &str) -> String {
    format!("You don't have permission to use /{command}.")
}

/// The sentence a player gets for a failed store call: a busy database, or a
/// disk that refuses writes for now (full, read-only), is the records being
/// busy — the player may try again later; anything else is logged, since it
/// is a bug or a broken disk.
pub fn store_error(err: &StoreError) -> &'static str {
    if matches!(err, StoreError::Busy) {
        RECORDS_BUSY
    } else if err.disk_refused() {
        tracing::warn!(%err, "the disk refuses a store call");
        RECORDS_BUSY
    } else {
        tracing::error!(%err, "store call failed");
        STORE_FAILED
    }
}

/// What a room hears an NPC say (the same form as a player's line).
pub fn npc_says(name: &str, text: &str) -> String {
    format!("{name} says, \"{text}\"")
}

/// What a room sees an NPC do.
pub fn npc_emotes(name: &str, text: &str) -> String {
    format!("{name} {text}")
}

/// What a player hears an NPC tell them.
pub fn npc_tells(name: &str, text: &str) -> String {
    format!("{name} tells you, \"{text}\"")
}

/// What a player is told when an NPC hands them something.
pub fn npc_gives_you(name: &str, item: &str) -> String {
    format!("{name} gives you {item}.")
}

/// What the others in the room see of it.
pub fn npc_gives(name: &str, item: &str, to: &str) -> String {
    format!("{name} gives {item} to {to}.")
}

/// What a player is told when an NPC takes something from them.
pub fn npc_takes_from_you(name: &str, item: &str) -> String {
    format!("{name} takes {item} from you.")
}

/// A script's handlers paused in `wait()` that an upgrade could not carry
/// over (SPEC §15), told on the builder channel after it.
pub fn script_waits_dropped(owner: &str, handlers: usize) -> String {
    if handlers == 1 {
        format!(
            "[script] {owner}: a handler paused in wait() was dropped by the upgrade; its event is lost."
        )
    } else {
        format!(
            "[script] {owner}: {handlers} handlers paused in wait() were dropped by the upgrade; their events are lost."
        )
    }
}

/// What the world's builders online are told of a failing script.
pub fn script_failed(owner: &str, message: &str, switched_off: bool) -> String {
    let off = if switched_off {
        " It is off until /reload."
    } else {
        ""
    };
    format!("[script] {owner}: {message}.{off}")
}
