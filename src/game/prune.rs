//! Deleting stored talk older than a moment (`/prune`): the writer flushed
//! first, so lines said a moment ago are on the disk and judged by their
//! time like the rest; then the actor's role read fresh, the lines deleted
//! and the audit row (with the count) written, in one transaction.

use chrono::{DateTime, Utc};

use super::Game;
use crate::store::accounts::{Actor, ChangeRefused};
use crate::store::audit::AuditEntry;

impl Game {
    /// Deletes the talk said before `before`; returns how many lines.
    pub async fn prune_talk(
        &self,
        actor: Actor,
        before: DateTime<Utc>,
        entry: AuditEntry,
    ) -> Result<usize, ChangeRefused> {
        // A stopped writer has nothing left to flush: the lines it took are
        // on the disk or given up, so the prune goes ahead either way.
        let _ = self.writer().flush().await;
        self.store().chat().prune(actor, before, entry).await
    }
}
