//! What handlers ask of the game's records, each by what it needs: the audit
//! gate of an admin command, a change to an account that reaches its live
//! connections at once, the read-only views of `/users`, `/sessions`,
//! `/tables`, `/rows` and `/chatlog`, a room's history, a player's colour
//! preference, and a place for a line of talk in the writer's queue.
//!
//! Reads of talk flush the batching writer first, so a line said a moment ago
//! is in the answer.
//!
//! **Invariant:** every decision is the store's, on fresh state in the
//! transaction that acts on it; these methods only say what is asked.

use super::Game;
use crate::store::StoreResult;
use crate::store::accounts::{
    Account, AccountChange, Actor, ChangeRefused, Changed, PasswordRefused,
};
use crate::store::admin::TableRows;
use crate::store::audit::AuditEntry;
use crate::store::chat::{ChatLine, HistoryLine, Viewer};
use crate::store::writer::{ChatSlot, WriterFull};

impl Game {
    /// The gate of an admin command that changes no account: the actor's role
    /// read fresh and the audit row written, in one transaction.
    pub async fn authorize(&self, actor: Actor, entry: AuditEntry) -> Result<(), ChangeRefused> {
        self.store().admin().authorize(actor, entry).await
    }

    /// Changes an account (the hierarchy, the change and its audit row in one
    /// transaction) and brings the change to its live connections.
    pub async fn change_account(
        &self,
        actor: Actor,
        target: &str,
        change: AccountChange,
        action: &str,
    ) -> Result<Changed, ChangeRefused> {
        let changed = self
            .store()
            .accounts()
            .change(actor, target, change.clone(), action)
            .await?;
        self.account_changed(changed.account.id, &change);
        Ok(changed)
    }

    /// Whether `actor` may make `change` to `target` now, without making it.
    pub async fn may_change(
        &self,
        actor: Actor,
        target: &str,
        change: AccountChange,
    ) -> Result<Account, ChangeRefused> {
        self.store()
            .accounts()
            .check_change(actor, target, change)
            .await
    }

    /// A new password checked against the policy, then hashed.
    pub async fn hash_new_password(&self, password: &str) -> Result<String, PasswordRefused> {
        self.store().accounts().hash_new_password(password).await
    }

    /// Accounts whose names contain `filter` (all without one).
    pub async fn accounts(&self, filter: Option<&str>) -> StoreResult<Vec<Account>> {
        self.store().accounts().list(filter).await
    }

    /// Rows in the `sessions` table, to set beside the registry's count.
    pub async fn session_rows(&self) -> StoreResult<i64> {
        self.store().sessions().count().await
    }

    /// Each browsable table with its row count.
    pub async fn table_counts(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        self.store().admin().table_counts().await
    }

    /// Rows of an allowlisted table, as text.
    pub async fn table_rows(
        &self,
        table: &'static str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<TableRows> {
        self.store().admin().table_rows(table, limit, offset).await
    }

    /// The latest `limit` lines of talk of every room, whispers included.
    pub async fn chat_log(&self, limit: i64) -> StoreResult<Vec<ChatLine>> {
        self.flush_talk().await;
        self.store().chat().recent(limit).await
    }

    /// The last `limit` lines said in a room, as `viewer` may see them:
    /// whispers and tells only between their two people, nothing of an
    /// account the viewer ignores.
    pub async fn room_history(
        &self,
        world: &str,
        room: &str,
        viewer: Viewer,
        limit: usize,
    ) -> StoreResult<Vec<HistoryLine>> {
        self.flush_talk().await;
        self.store()
            .chat()
            .history(world, room, viewer, limit)
            .await
    }

    /// Keeps an account's colour preference.
    pub async fn set_colour(&self, user_id: i64, wanted: bool) -> StoreResult<()> {
        self.store().accounts().set_colour(user_id, wanted).await
    }

    /// The place in the writer's queue a line of talk will need, taken before
    /// anyone hears it; `Err` when the queue is full (the disk is far behind).
    pub fn reserve_talk(&self) -> Result<ChatSlot<'_>, WriterFull> {
        self.writer().reserve_chat()
    }

    /// Waits until the talk queued so far is in the database (unless the
    /// disk refuses it: see `flush_before_reading`).
    async fn flush_talk(&self) {
        self.flush_before_reading("talk").await;
    }
}
