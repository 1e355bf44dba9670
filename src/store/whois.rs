//! `finger` (SPEC §12): what the records say of a character found by name
//! in its world — its account's role, and when it was last seen. Read
//! only; the game adds whether it plays now.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreResult};
use crate::auth::Role;

/// The typed front for looking a character up (see [`Store::whois`]).
pub struct Whois<'s> {
    store: &'s Store,
}

/// A character as `finger` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub character_id: i64,
    /// The name as stored.
    pub name: String,
    pub role: Role,
    /// When it was last seen (UTC ISO-8601): when its account left the
    /// game after last playing it, or else when it last entered; `None` if
    /// it never played.
    pub last_seen: Option<String>,
}

impl<'s> Whois<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Whois { store }
    }

    /// The character called `name` (any case) in `world_id`, if it has an
    /// account.
    pub async fn find(&self, world_id: &str, name: &str) -> StoreResult<Option<Found>> {
        let (world_id, name) = (world_id.to_string(), name.to_string());
        self.store
            .call(move |db| {
                let row = db
                    .query_row(
                        "SELECT c.id, c.name, u.role, c.last_played_at, u.left_game_at, \
                                (SELECT max(last_played_at) FROM characters \
                                 WHERE user_id = c.user_id) \
                         FROM characters c JOIN users u ON u.id = c.user_id \
                         WHERE c.world_id = ?1 AND c.name = ?2",
                        params![world_id, name],
                        |r| {
                            let played: Option<String> = r.get(3)?;
                            let left: Option<String> = r.get(4)?;
                            let latest: Option<String> = r.get(5)?;
                            let role: String = r.get(2)?;
                            Ok(Found {
                                character_id: r.get(0)?,
                                name: r.get(1)?,
                                role: role.parse().unwrap_or(Role::Player),
                                last_seen: last_seen(played, left, latest),
                            })
                        },
                    )
                    .optional()?;
                Ok(row)
            })
            .await
    }
}

/// The account's leaving counts for the character it played last, if it
/// left after entering it; otherwise the character's last entry is all
/// that is known.
fn last_seen(
    played: Option<String>,
    left: Option<String>,
    latest: Option<String>,
) -> Option<String> {
    let played = played?;
    match left {
        Some(left) if latest.as_deref() == Some(played.as_str()) && left >= played => Some(left),
        _ => Some(played),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_is_the_accounts_leaving_only_for_its_last_character() {
        let t = |s: &str| Some(s.to_string());
        assert_eq!(last_seen(None, t("2"), t("1")), None, "never played");
        assert_eq!(last_seen(t("1"), t("2"), t("1")), t("2"));
        assert_eq!(
            last_seen(t("1"), t("2"), t("3")),
            t("1"),
            "another was played since"
        );
        assert_eq!(last_seen(t("3"), t("2"), t("3")), t("3"), "playing since");
        assert_eq!(last_seen(t("1"), None, t("1")), t("1"));
    }
}
