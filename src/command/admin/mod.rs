//! The administrative slash commands (SPEC §5).
//!
//! Who may use which command is in its `Spec` (the `role`); the parser already
//! refused anything above the player's live role. Every command is then
//! decided again on fresh state in the store: a change to an account goes
//! through `Game::change_account`, which reads the acting account's role,
//! applies the hierarchy (a role strictly above the target's, never yourself),
//! changes and audits in one transaction and then brings the change to the
//! account's live connections; every other command passes the audit gate
//! `Game::authorize` (the actor's role read fresh, the audit row written)
//! before it acts. A demoted admin is therefore refused even when a command
//! was already typed. The audit row's action is the command's name.
//!
//! Building (`build/`, SPEC §13) is decided the same way, by the game's build
//! action: the builder's right read fresh in the transaction that records the
//! change with its `build.<verb>` audit row.
//!
//! Commands that must ask the admin something (a hidden password, a text in
//! the editor) hand back a [`Flow`](super::Flow) to the session, which owns
//! the connection.

pub mod accounts;
pub mod browse;
pub mod build;
pub mod channels;
pub mod scripts;
pub mod upgrade;
pub mod world;

use std::fmt::Write;

use super::Ctx;
use super::spec::Spec;
use crate::replies;
use crate::store::accounts::{AccountChange, Actor, ChangeRefused, Changed};
use crate::store::audit::AuditEntry;
use crate::text::wrap;

pub use accounts::apply_password;
pub use browse::account_table;

/// The acting player, who must still hold the role the command needs.
fn actor(ctx: &Ctx<'_>, spec: &Spec) -> Actor {
    Actor::Account {
        user_id: ctx.me.user_id(),
        needs: spec.role,
    }
}

/// An audit row for this command by the acting player (the store fills in the
/// actor from its fresh read).
fn entry(spec: &Spec, target: Option<&str>, detail: Option<String>) -> AuditEntry {
    AuditEntry {
        actor_user_id: None,
        action: spec.name.to_string(),
        target: target.map(str::to_string),
        detail,
    }
}

/// The audit gate of a command that changes no account: the actor's role is
/// read fresh and the audit row written, in one transaction. Replies and
/// answers false when refused.
async fn authorize(
    ctx: &Ctx<'_>,
    spec: &Spec,
    target: Option<&str>,
    detail: Option<String>,
) -> bool {
    authorize_as(ctx, actor(ctx, spec), spec, target, detail).await
}

/// The audit gate for a form of a command that needs more than the command's
/// own role (`/reload tls`): `actor` says which.
async fn authorize_as(
    ctx: &Ctx<'_>,
    actor: Actor,
    spec: &Spec,
    target: Option<&str>,
    detail: Option<String>,
) -> bool {
    let logged = detail.clone();
    match ctx.game.authorize(actor, entry(spec, target, detail)).await {
        Ok(()) => {
            log_action(ctx, spec, target, logged.as_deref(), "admin action");
            true
        }
        Err(refusal) => {
            refuse(ctx, spec, &refusal);
            false
        }
    }
}

/// Asks the game to change an account on this command's behalf (the live
/// connections follow when it was allowed). Replies and answers `None` when
/// refused.
async fn change(
    ctx: &Ctx<'_>,
    spec: &Spec,
    target: &str,
    change: AccountChange,
) -> Option<Changed> {
    // A kick or a teleport stores nothing: "nothing changed" is no news.
    let stores = !matches!(change, AccountChange::Oversee { .. });
    let result = ctx
        .game
        .change_account(actor(ctx, spec), target, change, spec.name)
        .await;
    match result {
        Ok(changed) => {
            let what = if stores && !changed.changed {
                "admin action changed nothing: the account was so already"
            } else {
                "admin action"
            };
            log_action(ctx, spec, Some(&changed.account.username), None, what);
            Some(changed)
        }
        Err(refusal) => {
            refuse(ctx, spec, &refusal);
            None
        }
    }
}

/// The log line of an admin command that was allowed: who, which command, on
/// whom (`-`: no one), and what else was asked.
fn log_action(ctx: &Ctx<'_>, spec: &Spec, target: Option<&str>, detail: Option<&str>, what: &str) {
    tracing::info!(
        actor = %ctx.me.session.account,
        action = %spec.name,
        target = %target.unwrap_or("-"),
        detail = %detail.unwrap_or("-"),
        "{what}"
    );
}

/// Tells the admin why the store refused, in the command's words.
fn refuse(ctx: &Ctx<'_>, spec: &Spec, refusal: &ChangeRefused) {
    ctx.reply(match refusal {
        ChangeRefused::NotAllowed => replies::no_permission(spec.name),
        ChangeRefused::NoAccount(account) | ChangeRefused::Deleted(account) => {
            format!("There is no account \"{account}\".")
        }
        ChangeRefused::Yourself => "You can't do that to your own account.".to_string(),
        ChangeRefused::NotBelow { account, role } => {
            format!("You can't manage {account}: their role ({role}) is not below yours.")
        }
        ChangeRefused::RoleTooHigh { yours } => {
            format!("You can only give roles below your own ({yours}).")
        }
        ChangeRefused::NoWorld(world) => format!("There is no world \"{world}\"."),
        ChangeRefused::Character(refused) => accounts::character_refused(refused),
        ChangeRefused::Store(err) => replies::store_error(err).to_string(),
    });
}

/// Formats rows as aligned columns under a header. Headers are in capitals,
/// in every admin table alike (`NAME  ROLE ...`).
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    table_at(headers, rows, None)
}

/// [`table`], its last column wrapped at `width` under its own column (a
/// message, a client's description), so no line goes back to column 0.
fn table_at(headers: &[&str], rows: &[Vec<String>], width: Option<usize>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let mut lines = Vec::with_capacity(rows.len() + 1);
    for row in std::iter::once(&header).chain(rows) {
        let Some((last, cells)) = row.split_last() else {
            lines.push(String::new());
            continue;
        };
        let mut lead = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            let _ = write!(lead, "{cell:<width$}  ");
        }
        let line = wrap::hanging(&lead, last, width);
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
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
        assert_eq!(text, "NAME   ROLE\nal     admin\nbobby  player");
    }

    #[test]
    fn a_table_s_last_column_wraps_under_itself() {
        let rows = [vec![
            "Ann".to_string(),
            "one two three four five six".to_string(),
        ]];
        let text = table_at(&["who", "message"], &rows, Some(26));
        assert_eq!(text, "WHO  MESSAGE\nAnn  one two three four\n     five six");
        assert_eq!(
            table_at(&["who", "message"], &rows, None),
            "WHO  MESSAGE\nAnn  one two three four five six"
        );
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
