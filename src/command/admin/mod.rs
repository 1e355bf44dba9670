//! The administrative slash commands (SPEC §5).
//!
//! Who may use which command is in the verb table (`parse::VERBS`); the parser
//! already refused anything above the player's role. What this module adds is the
//! account hierarchy — managing an account needs a role strictly above its role,
//! and nobody manages themselves — and the audit trail: every admin command, read
//! or write, leaves a row in `audit_log` (changes in the same transaction).
//!
//! Commands that must ask the admin something (a hidden password) hand back a
//! [`Flow`] to the session, which owns the connection.

mod accounts;
mod browse;
mod world;

use std::fmt::Write;

use super::parse::Admin;
use super::{Ctx, Flow};
use crate::store::accounts::{self as account_rows, Account};
use crate::store::audit::{self, AuditEntry};

pub use accounts::apply_password;
pub use world::pick_default_world;

/// Carries out one admin command.
pub async fn execute(ctx: &Ctx<'_>, verb: Admin, args: &str) -> Flow {
    let args = args.trim();
    match verb {
        Admin::Goto => world::goto(ctx, args).await,
        Admin::Teleport => world::teleport(ctx, args).await,
        Admin::Reload => world::reload(ctx).await,
        Admin::Wall => world::wall(ctx, args).await,
        Admin::Shutdown => world::shutdown(ctx, args).await,
        Admin::Prune => world::prune(ctx, args).await,
        Admin::Kick => accounts::kick(ctx, args).await,
        Admin::Ban => accounts::ban(ctx, args, false).await,
        Admin::Unban => accounts::ban(ctx, args, true).await,
        Admin::Grant => accounts::grant(ctx, args, true).await,
        Admin::Revoke => accounts::grant(ctx, args, false).await,
        Admin::Role => accounts::role(ctx, args).await,
        Admin::Delete => accounts::delete(ctx, args).await,
        Admin::SetPassword => return accounts::set_password(ctx, args).await,
        Admin::Users => browse::users(ctx, args).await,
        Admin::Sessions => browse::sessions(ctx).await,
        Admin::Where => browse::locations(ctx).await,
        Admin::Tables => browse::tables(ctx).await,
        Admin::Rows => browse::rows(ctx, args).await,
        Admin::Chatlog => browse::chatlog(ctx, args).await,
    }
    Flow::Continue
}

/// An audit row for an action by the acting player.
fn entry(ctx: &Ctx<'_>, action: &str, target: Option<&str>, detail: Option<String>) -> AuditEntry {
    AuditEntry {
        actor_user_id: Some(ctx.me.user_id()),
        action: action.to_string(),
        target: target.map(str::to_string),
        detail,
    }
}

/// Writes an audit row on its own (for actions that change nothing stored).
async fn audit(ctx: &Ctx<'_>, action: &str, target: Option<&str>, detail: Option<String>) {
    let row = entry(ctx, action, target, detail);
    if let Err(err) = ctx.game.store.call(move |db| audit::record(db, &row)).await {
        tracing::error!(%err, "could not write an audit row");
    }
}

/// Finds an account the acting player may manage: it exists, is not their own,
/// and its role is strictly below theirs. Otherwise replies why and gives `None`.
pub async fn manageable(ctx: &Ctx<'_>, name: &str) -> Option<Account> {
    let wanted = name.to_string();
    let found = ctx
        .game
        .store
        .call(move |db| account_rows::find_account(db, &wanted))
        .await;
    let account = match found {
        Ok(Some(account)) if account.tombstoned_at.is_none() => account,
        Ok(_) => {
            ctx.reply(format!("There is no account \"{name}\"."));
            return None;
        }
        Err(err) => {
            ctx.store_trouble(&err);
            return None;
        }
    };
    if !may_manage(ctx, &account) {
        return None;
    }
    Some(account)
}

/// The hierarchy rule, replying when it refuses.
fn may_manage(ctx: &Ctx<'_>, account: &Account) -> bool {
    if account.id == ctx.me.user_id() {
        ctx.reply("You can't do that to your own account.");
        return false;
    }
    if account.role >= ctx.me.role() {
        ctx.reply(format!(
            "You can't manage {}: their role ({}) is not below yours.",
            account.username, account.role
        ));
        return false;
    }
    true
}

/// Formats rows as aligned columns under a header.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for (n, row) in std::iter::once(&header).chain(rows).enumerate() {
        if n > 0 {
            text.push('\n');
        }
        for (i, cell) in row.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            let _ = write!(text, "{cell:<width$}  ");
        }
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
    }
    text
}

/// Reads an optional count argument: `default` when empty, capped at `max`.
fn count_arg(text: &str, default: i64, max: i64) -> Option<i64> {
    if text.is_empty() {
        return Some(default);
    }
    text.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(|n| n.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_their_columns() {
        let text = table(
            &["name", "role"],
            &[
                vec!["al".into(), "admin".into()],
                vec!["bobby".into(), "player".into()],
            ],
        );
        assert_eq!(text, "name   role\nal     admin\nbobby  player");
    }

    #[test]
    fn counts_default_and_cap() {
        assert_eq!(count_arg("", 20, 100), Some(20));
        assert_eq!(count_arg("500", 20, 100), Some(100));
        assert_eq!(count_arg("7", 20, 100), Some(7));
        assert_eq!(count_arg("-1", 20, 100), None);
        assert_eq!(count_arg("lots", 20, 100), None);
    }
}
