//! The one path that changes an account: the actor read fresh, the target
//! found, the hierarchy applied, the change and its audit row, all in one
//! transaction; and the in-transaction steps it is made of.

use rusqlite::{Connection, params};

use super::password::reset_password_in;
use super::{Account, Accounts, find_account};
use crate::auth::{self, Refusal, Role};
use crate::store::audit::{self, AuditEntry};
use crate::store::channels::{mute_in, unmute_in};
use crate::store::characters::{CharacterLimits, CharacterSummary, NewCharacter, create_in};
use crate::store::refusal::{Actor, ChangeRefused, acting_account, refusable};
use crate::store::{StoreError, StoreResult, now_iso};
use crate::text::sanitize;

/// A change to one account.
#[derive(Debug, Clone)]
pub enum AccountChange {
    /// Deactivate: login refused, live connections closed by the caller.
    Ban {
        reason: Option<String>,
    },
    Unban,
    Role(Role),
    /// A new password hash (see [`Accounts::hash_new_password`]); also lifts any
    /// login lockout, since a reset usually lets someone back in.
    Password {
        hash: String,
    },
    /// Tombstone: login refused, characters kept but unlinked, sessions dropped.
    Delete,
    /// Grant (`allow`) or revoke access to an invite-only world.
    Access {
        world_id: String,
        allow: bool,
    },
    /// Grant (`allow`) or revoke the right to build in a world (a grant lets
    /// the account in, too; a revoke leaves its access as it was).
    Build {
        world_id: String,
        allow: bool,
    },
    /// A new character for the account, within the server's limits
    /// (`/newchar`, where players do not make their own).
    NewCharacter {
        character: NewCharacter,
        limits: CharacterLimits,
    },
    /// Nothing stored changes; the hierarchy is checked and the action audited
    /// (a kick or a teleport, carried out by the caller).
    Oversee {
        detail: Option<String>,
    },
    /// Mute on a channel (`None`: every channel) until a time (`None`: for
    /// good, ISO-8601 UTC otherwise); the caller brings it to live sessions.
    Mute {
        channel: Option<String>,
        until: Option<String>,
        reason: Option<String>,
    },
    /// Lift the mute on a channel (`None`: every mute); changed only if one
    /// was in force.
    Unmute {
        channel: Option<String>,
    },
}

/// A change that was allowed.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The account as it was before the change.
    pub account: Account,
    /// False when there was nothing to do (already banned, already that role).
    pub changed: bool,
    /// The character [`AccountChange::NewCharacter`] made.
    pub character: Option<CharacterSummary>,
}

impl Accounts<'_> {
    /// The one path that changes an account. In one `BEGIN IMMEDIATE`
    /// transaction it reads the actor fresh (it must still hold the role it
    /// needs), finds the target, applies the hierarchy, makes the change and
    /// writes the audit row (`action`, e.g. `ban` or `cli.ban`). The caller then
    /// acts on live connections (closing a banned account's, a new role for
    /// its sessions).
    pub async fn change(
        &self,
        actor: Actor,
        target: &str,
        change: AccountChange,
        action: &str,
    ) -> Result<Changed, ChangeRefused> {
        let (target, action) = (target.to_string(), action.to_string());
        let resets_password = matches!(change, AccountChange::Password { .. });
        let changed = refusable(self.store, move |tx| {
            change_in(tx, actor, &target, &change, &action)
        })
        .await?;
        if resets_password {
            // Its counts are cleared on disk; what a disk outage kept of them
            // in memory is older.
            self.store.inner.pending.forget(changed.account.id);
        }
        Ok(changed)
    }

    /// Whether `actor` may make `change` to `target` now, without making it (to
    /// refuse before asking an admin for a new password; the change itself
    /// checks again).
    pub async fn check_change(
        &self,
        actor: Actor,
        target: &str,
        change: AccountChange,
    ) -> Result<Account, ChangeRefused> {
        let target = target.to_string();
        refusable(self.store, move |tx| {
            permitted_in(tx, actor, &target, &change).map(|(_, account)| account)
        })
        .await
    }
}

/// The checks of a change, inside the caller's transaction: the actor read
/// fresh, the target found, the hierarchy applied. Returns both accounts.
fn permitted_in(
    tx: &Connection,
    actor: Actor,
    target: &str,
    change: &AccountChange,
) -> Result<(Option<Account>, Account), ChangeRefused> {
    let acting = acting_account(tx, actor)?;
    let account =
        find_account(tx, target)?.ok_or_else(|| ChangeRefused::NoAccount(target.into()))?;
    if account.tombstoned_at.is_some() {
        return Err(ChangeRefused::Deleted(account.username));
    }
    if let Some(acting) = &acting {
        let giving = match change {
            AccountChange::Role(role) => Some(*role),
            _ => None,
        };
        auth::may_manage((acting.id, acting.role), (account.id, account.role), giving).map_err(
            |refusal| match refusal {
                Refusal::Yourself => ChangeRefused::Yourself,
                Refusal::NotBelow => ChangeRefused::NotBelow {
                    account: account.username.clone(),
                    role: account.role,
                },
                Refusal::RoleTooHigh => ChangeRefused::RoleTooHigh { yours: acting.role },
            },
        )?;
    }
    Ok((acting, account))
}

/// The body of [`Accounts::change`], inside its transaction.
fn change_in(
    tx: &Connection,
    actor: Actor,
    target: &str,
    change: &AccountChange,
    action: &str,
) -> Result<Changed, ChangeRefused> {
    let (acting, account) = permitted_in(tx, actor, target, change)?;
    let applied = apply(tx, &account, change, acting.as_ref().map(|a| a.id))?;
    let Applied {
        changed,
        detail,
        character,
    } = applied;
    // An in-game admin's every permitted command is on record; the shell's
    // only when it changed something.
    if changed || acting.is_some() {
        audit::record(
            tx,
            &AuditEntry {
                actor_user_id: acting.as_ref().map(|a| a.id),
                action: action.to_string(),
                target: Some(account.username.clone()),
                detail,
            },
        )?;
    }
    Ok(Changed {
        account,
        changed,
        character,
    })
}

/// What [`apply`] did.
struct Applied {
    changed: bool,
    /// For the audit row.
    detail: Option<String>,
    character: Option<CharacterSummary>,
}

/// Makes one change: whether anything changed, the audit detail, and the
/// character made, if one was.
fn apply(
    tx: &Connection,
    account: &Account,
    change: &AccountChange,
    granted_by: Option<i64>,
) -> Result<Applied, ChangeRefused> {
    let id = account.id;
    let mut character = None;
    let (changed, detail) = match change {
        AccountChange::Ban { reason } => {
            // The reason is shown to the banned player at login: it is kept
            // as clean as anything else players see, whoever typed it.
            let reason = reason.as_deref().map(sanitize).filter(|r| !r.is_empty());
            (set_active(tx, account, false)?, reason)
        }
        AccountChange::Unban => (set_active(tx, account, true)?, None),
        AccountChange::Role(role) => {
            if account.role != *role {
                update_user(
                    tx,
                    "UPDATE users SET role = ?2 WHERE id = ?1",
                    params![id, role.as_str()],
                )?;
            }
            (
                account.role != *role,
                Some(format!("{} -> {role}", account.role)),
            )
        }
        AccountChange::Password { hash } => {
            reset_password_in(tx, id, hash)?;
            (true, None)
        }
        AccountChange::Delete => {
            tombstone(tx, id)?;
            (true, None)
        }
        AccountChange::Access { world_id, allow } => {
            grant_access(tx, id, world_id, granted_by, *allow)?;
            (true, Some(world_id.clone()))
        }
        AccountChange::Build { world_id, allow } => {
            grant_build(tx, id, world_id, granted_by, *allow)?;
            (true, Some(format!("{world_id} build")))
        }
        AccountChange::NewCharacter {
            character: new,
            limits,
        } => {
            let draw = &mut || new.draw_name();
            let made = create_in(tx, id, new, *limits, false, draw)?;
            let detail = format!("{} in {}", made.name, made.world_id);
            character = Some(made);
            (true, Some(detail))
        }
        AccountChange::Oversee { detail } => (false, detail.clone()),
        AccountChange::Mute {
            channel,
            until,
            reason,
        } => {
            let reason = reason.as_deref().map(sanitize).filter(|r| !r.is_empty());
            mute_in(
                tx,
                id,
                channel.as_deref(),
                until.as_deref(),
                reason.as_deref(),
                granted_by,
            )?;
            (
                true,
                Some(mute_detail(
                    channel.as_deref(),
                    until.as_deref(),
                    reason.as_deref(),
                )),
            )
        }
        AccountChange::Unmute { channel } => {
            let lifted = unmute_in(tx, id, channel.as_deref())?;
            (
                lifted > 0,
                Some(channel.as_deref().unwrap_or("all").to_string()),
            )
        }
    };
    Ok(Applied {
        changed,
        detail,
        character,
    })
}

/// The audit detail of a mute: `ooc until 2026-05-01T12:00:00.000Z: spam`.
fn mute_detail(channel: Option<&str>, until: Option<&str>, reason: Option<&str>) -> String {
    let mut detail = channel.unwrap_or("all").to_string();
    match until {
        Some(until) => detail.push_str(&format!(" until {until}")),
        None => detail.push_str(" for good"),
    }
    if let Some(reason) = reason {
        detail.push_str(&format!(": {reason}"));
    }
    detail
}

/// Bans (`false`) or unbans (`true`) an account; whether that changed it.
fn set_active(tx: &Connection, account: &Account, active: bool) -> Result<bool, ChangeRefused> {
    if account.is_active == active {
        return Ok(false);
    }
    update_user(
        tx,
        "UPDATE users SET is_active = ?2 WHERE id = ?1",
        params![account.id, active],
    )?;
    Ok(true)
}

/// Grants or revokes the right to build in a world, which must be known. A
/// grant lets the account in too; a revoke changes nothing else (and makes
/// no row where there was none, which could let it in).
fn grant_build(
    tx: &Connection,
    user_id: i64,
    world_id: &str,
    granted_by: Option<i64>,
    allow: bool,
) -> Result<(), ChangeRefused> {
    known_world(tx, world_id)?;
    let sql = if allow {
        "INSERT INTO world_permissions \
         (user_id, world_id, can_access, granted_by, granted_at, can_build) \
         VALUES (?1, ?2, 1, ?3, ?4, 1) ON CONFLICT (user_id, world_id) DO UPDATE SET \
         can_build = 1, granted_by = excluded.granted_by, granted_at = excluded.granted_at"
    } else {
        "UPDATE world_permissions SET can_build = 0, granted_by = ?3, granted_at = ?4 \
         WHERE user_id = ?1 AND world_id = ?2"
    };
    tx.execute(sql, params![user_id, world_id, granted_by, now_iso()])
        .map_err(StoreError::from)?;
    Ok(())
}

/// Refuses a world the catalogue does not know.
fn known_world(tx: &Connection, world_id: &str) -> Result<(), ChangeRefused> {
    let known: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM worlds WHERE id = ?1)",
            [world_id],
            |r| r.get(0),
        )
        .map_err(StoreError::from)?;
    if known {
        Ok(())
    } else {
        Err(ChangeRefused::NoWorld(world_id.to_string()))
    }
}

/// Grants or revokes access to a world, which must be known.
fn grant_access(
    tx: &Connection,
    user_id: i64,
    world_id: &str,
    granted_by: Option<i64>,
    allow: bool,
) -> Result<(), ChangeRefused> {
    known_world(tx, world_id)?;
    set_world_access(tx, user_id, world_id, granted_by, allow)?;
    Ok(())
}

// The updates below run inside the write transaction of `Accounts::change` (or
// `set_own_password`), so a change and its audit row commit together.

/// Runs one `UPDATE users ... WHERE id = ?1`; no such row is `NotFound`.
pub(super) fn update_user(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<()> {
    if conn.execute(sql, params)? == 0 {
        return Err(StoreError::NotFound("account"));
    }
    Ok(())
}

/// Tombstones an account: login refused from now on, its characters kept but
/// unlinked, its session rows gone.
pub(in crate::store) fn tombstone(conn: &Connection, user_id: i64) -> StoreResult<()> {
    let n = conn.execute(
        "UPDATE users SET tombstoned_at = ?2, is_active = 0 WHERE id = ?1 \
         AND tombstoned_at IS NULL",
        params![user_id, now_iso()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound("account"));
    }
    unlink_and_log_out(conn, user_id)
}

/// Unlinks an account's characters (they are kept) and drops its session rows.
pub(in crate::store) fn unlink_and_log_out(conn: &Connection, user_id: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE characters SET user_id = NULL WHERE user_id = ?1",
        [user_id],
    )?;
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    Ok(())
}

/// Grants (`true`) or revokes (`false`) an account's access to a world.
pub(in crate::store) fn set_world_access(
    conn: &Connection,
    user_id: i64,
    world_id: &str,
    granted_by: Option<i64>,
    allow: bool,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO world_permissions (user_id, world_id, can_access, granted_by, granted_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, world_id) DO UPDATE SET \
         can_access = excluded.can_access, granted_by = excluded.granted_by, \
         granted_at = excluded.granted_at",
        params![user_id, world_id, allow, granted_by, now_iso()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::PasswordRefused;
    use crate::store::accounts::add_account;
    use crate::store::{Store, test_store};

    async fn add(store: &Store, name: &str, role: Role) -> i64 {
        add_account(store, name, role, "x").await
    }

    async fn audit_count(store: &Store) -> i64 {
        store
            .call(|db| Ok(db.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?))
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn changes_check_the_actor_fresh_and_the_hierarchy_in_one_transaction() {
        let (_dir, store, _) = test_store("someone").await;
        let admin = add(&store, "Ada", Role::Admin).await;
        add(&store, "Pat", Role::Player).await;
        add(&store, "Sue", Role::Superuser).await;
        let accounts = store.accounts();
        let as_admin = Actor::Account {
            user_id: admin,
            needs: Role::Admin,
        };
        let ban = AccountChange::Ban {
            reason: Some("spam".into()),
        };
        let done = accounts
            .change(as_admin, "pat", ban.clone(), "ban")
            .await
            .expect("ban");
        assert!(done.changed);
        assert!(
            !accounts
                .find("pat")
                .await
                .expect("q")
                .expect("found")
                .is_active
        );
        let again = accounts
            .change(as_admin, "pat", ban.clone(), "ban")
            .await
            .expect("again");
        assert!(!again.changed);
        let up = accounts.change(as_admin, "sue", ban.clone(), "ban").await;
        assert!(matches!(up, Err(ChangeRefused::NotBelow { .. })), "{up:?}");
        let me = accounts.change(as_admin, "ada", ban.clone(), "ban").await;
        assert!(matches!(me, Err(ChangeRefused::Yourself)), "{me:?}");
        let nobody = accounts
            .change(as_admin, "zed", AccountChange::Unban, "unban")
            .await;
        assert!(
            matches!(nobody, Err(ChangeRefused::NoAccount(_))),
            "{nobody:?}"
        );
        assert_eq!(audit_count(&store).await, 2);
        // Demoted: the same request is now refused, on fresh state.
        store
            .call(move |db| {
                db.execute("UPDATE users SET role = 'player' WHERE id = ?1", [admin])?;
                Ok(())
            })
            .await
            .expect("demote");
        let demoted = accounts
            .change(as_admin, "pat", AccountChange::Unban, "unban")
            .await;
        assert!(
            matches!(demoted, Err(ChangeRefused::NotAllowed)),
            "{demoted:?}"
        );
        assert!(
            !accounts
                .find("pat")
                .await
                .expect("q")
                .expect("found")
                .is_active
        );
        assert_eq!(audit_count(&store).await, 2);
    }

    #[tokio::test]
    async fn the_operator_changes_anyone_and_is_audited_only_for_changes() {
        let (_dir, store, _) = test_store("someone").await;
        add(&store, "Sue", Role::Superuser).await;
        let accounts = store.accounts();
        let role = AccountChange::Role(Role::Admin);
        let done = accounts
            .change(Actor::Operator, "sue", role.clone(), "cli.role")
            .await;
        assert!(done.expect("role").changed);
        let same = accounts
            .change(Actor::Operator, "sue", role, "cli.role")
            .await;
        assert!(!same.expect("same").changed);
        assert_eq!(audit_count(&store).await, 1);
        let lock = store
            .call(|db| {
                db.execute(
                    "UPDATE users SET failed_attempts = 9, lockout_until = 'x'",
                    [],
                )?;
                Ok(())
            })
            .await;
        lock.expect("lock out");
        let hash = accounts
            .hash_new_password("lamplighter on fog street")
            .await
            .expect("hash");
        accounts
            .change(
                Actor::Operator,
                "sue",
                AccountChange::Password { hash },
                "cli.passwd",
            )
            .await
            .expect("passwd");
        let sue = accounts.find("sue").await.expect("q").expect("found");
        assert_eq!((sue.failed_attempts, sue.lockout_until), (0, None));
        let weak = accounts.hash_new_password("password").await;
        assert!(matches!(weak, Err(PasswordRefused::Weak(_))), "{weak:?}");
    }
}
