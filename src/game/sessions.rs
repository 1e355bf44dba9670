//! A logged-in session's records, opened and closed by one pair of actions:
//! the connection's entry in the registry (who is online, what a ban or a
//! kick reaches) and its row in the `sessions` table (what `/sessions` and an
//! operator see). And, at the end of a shutdown, the records' last word:
//! what logins left to write, written, and the rows left, removed.
//!
//! [`Game::open_session`] is the login's last decision. The registry entry
//! comes first: a ban that commits after the row's check still finds the
//! connection in the registry and closes it (`Game::account_changed`); one
//! that commits before is seen by the check, which reads the account fresh in
//! the transaction that writes the row. [`Game::close_session`] is the one
//! end of those records: the row removed, then the entry, so the entry covers
//! the row while it is there.
//!
//! The actions decide and return refusals; the session words them.
//!
//! **Invariant:** a session's registry entry covers its row: added before the
//! row is written, taken out only after the row's removal was tried (or the
//! row was refused). While the disk refuses the row, both its writing and its
//! removal wait in the batching writer, in order, and follow the entry.

use std::sync::Arc;

use super::Game;
use super::registry::{Removal, Session};
use crate::store::sessions::{NewSession, OpenRefused, Opened};
use crate::store::{StoreError, StoreResult};

/// How long a session row lives without activity when the configured TTL
/// cannot be told in chrono's terms (it never happens with a sane setting).
const FALLBACK_TTL_HOURS: i64 = 24;

impl Game {
    /// Opens a logged-in session: registers it, then writes its row, refusing
    /// an account banned, deleted or expired a moment ago (the refusal takes
    /// it out of the registry again). The session takes the role the account
    /// has now. Where an account may have only one session
    /// (`--allow-multiple-sessions` off), its other connections are closed
    /// with `displaced`, the words the session chose for them.
    pub async fn open_session(
        &self,
        session: &Arc<Session>,
        displaced: &str,
    ) -> Result<(), OpenRefused> {
        self.registry().log_in(session.clone());
        let row = self.session_row(session);
        let opened = match self.store().sessions().open(row.clone()).await {
            Err(OpenRefused::Store(err)) if err.disk_refused() => {
                self.open_through_the_writer(row, &err).await
            }
            opened => opened,
        };
        let opened = match opened {
            Ok(opened) => opened,
            Err(refused) => {
                self.registry().log_out(session.conn_id);
                return Err(refused);
            }
        };
        session.set_role(opened.role);
        if !self.config().allow_multiple_sessions {
            for other in self.registry().sessions_of(session.user_id) {
                if other.conn_id != session.conn_id {
                    other.kick(Removal::LoggedInElsewhere, displaced);
                }
            }
        }
        Ok(())
    }

    /// The login's last checks while the disk refuses the session row: the
    /// same checks, read (a full disk still reads), and the row and last
    /// login queued for the batching writer, which writes them when the disk
    /// takes them. `/sessions` reads the registry, so it shows the session at
    /// once, ahead of the table. Refused as busy when the writer's queue is
    /// full.
    async fn open_through_the_writer(
        &self,
        row: NewSession,
        refused: &StoreError,
    ) -> Result<Opened, OpenRefused> {
        let opened = self.store().sessions().may_open(row.user_id).await?;
        if !self.writer().try_open_session(row.queued()) {
            return Err(OpenRefused::Store(StoreError::Busy));
        }
        tracing::warn!(err = %refused, "the disk refuses the session row; it waits in the writer");
        Ok(opened)
    }

    /// Takes over a logged-in session from an upgrade's old image: its row
    /// is still there (the start kept it), so only the registry entry is
    /// made again. A ban or deletion committed while the upgrade ran is
    /// caught by the upkeep pass, as one made from the shell is.
    pub fn resume_session(&self, session: &Arc<Session>) {
        self.registry().log_in(session.clone());
    }

    /// Ends a logged-in session's records, the one way it is done: the row
    /// removed (noting when the account left the game, for the channels'
    /// catch-up), then the registry entry. A row the store could not remove,
    /// or did not find (it may still wait in the writer, queued while the
    /// disk was full), is removed through the writer, after whatever it holds
    /// for it; one the writer has no room for stays until it expires (the
    /// upkeep pass removes it) or the next start.
    pub async fn close_session(&self, session: &Session) {
        let closed = self.store().sessions().close(&session.session_id).await;
        if !matches!(closed, Ok(true)) {
            if let Err(err) = closed {
                tracing::warn!(%err, "could not remove the session row; the writer will");
            }
            self.writer().try_close_session(&session.session_id);
        }
        self.registry().log_out(session.conn_id);
    }

    /// The records' last word at the end of a shutdown, once the connections
    /// are gone: what login attempts left to write behind their answers (a
    /// failure's count, a re-hash) is written, so none answered before the
    /// stop goes unrecorded; then the session rows left (of connections that
    /// did not end in time) are removed. Returns how many.
    pub async fn close_records(&self) -> StoreResult<usize> {
        self.store().settle().await;
        self.store().sessions().remove_all().await
    }

    /// Stages a full disk without root (the tests and fault drills): the
    /// writer may not grow the database past `pages` pages, and the store's
    /// own connections are refused every write, as a full disk refuses them
    /// (see `Store::stage_full_disk`); `None` ends it.
    pub fn stage_full_disk(&self, pages: Option<u64>) {
        self.writer().limit_pages(pages);
        self.store().stage_full_disk(pages.is_some());
    }

    /// Waits until the login records a full disk refused (failure counts,
    /// locks, a success's reset) are written; at once when there are none.
    pub async fn login_records_written(&self) {
        self.store().kept_records_written().await;
    }

    /// Before an upgrade hands over: what logins left behind their answers
    /// written, and the writer's queue committed, so nothing acknowledged is
    /// only in this image's memory. False if the writer could not say so.
    pub async fn settle_for_handoff(&self) -> bool {
        self.store().settle().await;
        self.writer().flush().await.is_ok()
    }

    /// The row a session writes when it opens.
    fn session_row(&self, session: &Session) -> NewSession {
        NewSession {
            session_id: session.session_id.clone(),
            user_id: session.user_id,
            peer_address: session.peer.addr.to_string(),
            client_type: session.client(),
            transport: session.peer.transport.as_str().to_string(),
            ttl: chrono::Duration::from_std(self.config().session_ttl)
                .unwrap_or(chrono::Duration::hours(FALLBACK_TTL_HOURS)),
        }
    }
}
