//! Aliases (SPEC §12 "Aliases"): an account's own words for commands, one
//! row per word, kept per account. [`Aliases::set`] counts the account's
//! aliases against [`MAX_ALIASES`] in the transaction that inserts, so two
//! connections of one account cannot pass the limit together. What a word
//! and an expansion may be is the command layer's to check; this front
//! keeps what it is given.

use rusqlite::{OptionalExtension, params};

use super::refusal::{Refusal, decide};
use super::{Store, StoreError, StoreResult};

/// Most aliases one account keeps.
pub const MAX_ALIASES: usize = 50;

/// The typed front for aliases (see [`Store::aliases`]).
pub struct Aliases<'s> {
    store: &'s Store,
}

/// Why an alias was not set; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum AliasRefused {
    #[error("the account has {limit} aliases already")]
    Full { limit: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for AliasRefused {
    fn failure(self) -> Result<StoreError, Self> {
        match self {
            AliasRefused::Store(err) => Ok(err),
            other => Err(other),
        }
    }
}

impl<'s> Aliases<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Aliases { store }
    }

    /// An account's aliases, by word.
    pub async fn list(&self, user_id: i64) -> StoreResult<Vec<(String, String)>> {
        self.store
            .call(move |db| {
                let mut stmt = db.prepare(
                    "SELECT word, expansion FROM aliases WHERE user_id = ?1 ORDER BY word",
                )?;
                let rows = stmt.query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }

    /// Sets `word` (in lower case) to `expansion`; whether it replaced one.
    pub async fn set(
        &self,
        user_id: i64,
        word: &str,
        expansion: &str,
    ) -> Result<bool, AliasRefused> {
        let (word, expansion) = (word.to_string(), expansion.to_string());
        decide(self.store, move |tx| {
            let (count, had): (i64, bool) = tx
                .query_row(
                    "SELECT count(*), coalesce(max(word = ?2), 0) FROM aliases WHERE user_id = ?1",
                    params![user_id, word],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(StoreError::from)?;
            if !had && usize::try_from(count).unwrap_or(usize::MAX) >= MAX_ALIASES {
                return Err(AliasRefused::Full { limit: MAX_ALIASES });
            }
            tx.execute(
                "INSERT INTO aliases (user_id, word, expansion) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (user_id, word) DO UPDATE SET expansion = excluded.expansion",
                params![user_id, word, expansion],
            )
            .map_err(StoreError::from)?;
            Ok(had)
        })
        .await
    }

    /// Removes `word`; the expansion it had, if it was an alias.
    pub async fn remove(&self, user_id: i64, word: &str) -> StoreResult<Option<String>> {
        let word = word.to_string();
        self.store
            .call(move |db| {
                Ok(db
                    .query_row(
                        "DELETE FROM aliases WHERE user_id = ?1 AND word = ?2 RETURNING expansion",
                        params![user_id, word],
                        |r| r.get(0),
                    )
                    .optional()?)
            })
            .await
    }
}
