//! Operator tasks shared by the command line and the server's start-up: creating
//! accounts from the shell and the superuser from the environment (both by the
//! store's one path that makes accounts, with their audit rows), and the
//! `gaslamp user` account tools (list, create, ban, unban, role, passwd) for an
//! operator locked out of the game; and backups ([`backup`]: `gaslamp backup`,
//! `gaslamp restore`, and the running server's rotated copies). [`shell`]
//! runs each subcommand whole, so the binary only dispatches; [`prompt`]
//! asks the terminal. [`mssp`] asks a running server for its MSSP table over
//! telnet, as a crawler does.
//!
//! The account tools are safe while the server runs on the same file: each change
//! is `store.accounts().change` — the same one path the in-game admin commands
//! take — one `BEGIN IMMEDIATE` transaction (the database is in WAL mode and every
//! connection waits out `busy_timeout`) whose `audit_log` row commits with it, so
//! there is never a change without its record. They only change the database; a
//! running server brings bans and role changes to live connections on its own.

pub mod backup;
pub mod mssp;
mod prompt;
pub mod shell;

use std::path::Path;

use crate::auth::Role;
use crate::command::is_command_word;
use crate::store::accounts::{
    Account, AccountChange, AccountRefused, Actor, ChangeRefused, Created, FirstCharacter, Opener,
    PasswordRefused,
};
use crate::store::{Store, StoreError, StoreOptions};
use crate::world::World;

/// Why an operator task could not be done.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Invalid(String),
    #[error("the password was refused: {}", .0.join(" "))]
    WeakPassword(Vec<String>),
    #[error("an account named {0:?} already exists")]
    Exists(String),
    #[error("no account named {0:?}")]
    UnknownAccount(String),
    #[error("the account {0:?} was deleted")]
    Deleted(String),
    /// The terminal could not be read (no terminal, or it closed).
    #[error("cannot read from the terminal: {0}")]
    Terminal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A backup could not be made, or a file to restore is no good.
    #[error(transparent)]
    Backup(crate::store::backup::BackupError),
}

impl OpsError {
    /// Whether the database itself could not be used (the binary exits with 2),
    /// as opposed to a request the operator can correct.
    pub fn is_database_failure(&self) -> bool {
        match self {
            OpsError::Store(err) => is_database_failure(err),
            OpsError::Backup(err) => err.is_disk_failure(),
            _ => false,
        }
    }
}

impl From<PasswordRefused> for OpsError {
    fn from(refused: PasswordRefused) -> Self {
        match refused {
            PasswordRefused::Weak(problems) => OpsError::WeakPassword(problems),
            PasswordRefused::Store(err) => OpsError::Store(err),
        }
    }
}

impl From<ChangeRefused> for OpsError {
    fn from(refused: ChangeRefused) -> Self {
        match refused {
            ChangeRefused::NoAccount(name) => OpsError::UnknownAccount(name),
            ChangeRefused::Deleted(name) => OpsError::Deleted(name),
            ChangeRefused::Store(err) => OpsError::Store(err),
            // The operator is under no hierarchy; anything else is a request to fix.
            other => OpsError::Invalid(other.to_string()),
        }
    }
}

/// Whether a store error means the database file is unusable: it cannot be
/// opened, stays locked, or SQLite itself failed.
pub fn is_database_failure(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Busy | StoreError::Open { .. } | StoreError::Sqlite(_) | StoreError::Task(_)
    )
}

/// Opens a database that must already exist: the account tools should not
/// create an empty file because of a mistyped `--db`.
pub fn open_existing_store(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            reason: "no such database file (create it with `gaslamp init-db`)".to_string(),
        });
    }
    Store::open(path, options)
}

/// Creates a superuser from the shell (`gaslamp create-superuser`); see
/// [`create_account`].
pub async fn create_superuser(
    store: &Store,
    world: &World,
    username: &str,
    password: &str,
) -> Result<Created, OpsError> {
    create_account(store, world, username, password, Role::Superuser).await
}

/// Creates an account with `role` from the shell (`gaslamp user create`, the
/// operator's way to add accounts while registration is closed), through the
/// one path that makes accounts: the same name and password rules as
/// everywhere else, its first character in `world`, and its `cli.create`
/// audit row in the same transaction.
pub async fn create_account(
    store: &Store,
    world: &World,
    username: &str,
    password: &str,
    role: Role,
) -> Result<Created, OpsError> {
    let opener = Opener::Shell {
        username: username.to_string(),
        role,
    };
    let first = FirstCharacter::usual(world, is_command_word);
    store
        .accounts()
        .create(opener, password, first)
        .await
        .map_err(|refused| refused_account(refused, username))
}

/// The operator's words for an account that was not made.
fn refused_account(refused: AccountRefused, username: &str) -> OpsError {
    match refused {
        AccountRefused::BadName(rule) => OpsError::Invalid(rule),
        AccountRefused::WeakPassword(problems) => OpsError::WeakPassword(problems),
        AccountRefused::NameTaken => OpsError::Exists(username.to_string()),
        AccountRefused::NotFirst => OpsError::Invalid("accounts exist already".into()),
        AccountRefused::Store(err) => OpsError::Store(err),
    }
}

/// At start-up: when no account exists at all and credentials were given (from
/// `MUD_ADMIN_USER` / `MUD_ADMIN_PASSWORD`), creates that superuser through
/// the one path that makes accounts, audited as `env.create`. Whether any
/// account exists is decided in the transaction that creates it; the look
/// before only spares a server that has accounts the password's hashing (and
/// a weak password's refusal).
pub async fn bootstrap_superuser(
    store: &Store,
    world: &World,
    credentials: Option<&(String, String)>,
) -> Result<bool, OpsError> {
    let Some((username, password)) = credentials else {
        return Ok(false);
    };
    if store.accounts().count().await? > 0 {
        return Ok(false);
    }
    let opener = Opener::Environment {
        username: username.clone(),
    };
    let first = FirstCharacter::usual(world, is_command_word);
    match store.accounts().create(opener, password, first).await {
        Ok(_) => {
            tracing::info!(account = %username, "superuser created from MUD_ADMIN_USER");
            Ok(true)
        }
        Err(AccountRefused::NotFirst) => Ok(false),
        Err(refused) => Err(refused_account(refused, username)),
    }
}

/// The account called `name` (without regard to case).
pub async fn find_user(store: &Store, name: &str) -> Result<Account, OpsError> {
    store
        .accounts()
        .find(name)
        .await?
        .ok_or_else(|| OpsError::UnknownAccount(name.to_string()))
}

/// Accounts whose name contains `filter` (all without one), by name.
pub async fn list_users(store: &Store, filter: Option<&str>) -> Result<Vec<Account>, OpsError> {
    Ok(store.accounts().list(filter).await?)
}

/// The accounts as a table for the terminal, in the same columns and date format
/// as the in-game `/users`.
pub fn user_table(users: &[Account]) -> String {
    crate::command::admin::account_table(users)
}

/// Makes one change as the operator (audited as `action` when it changed
/// something); returns the account as it was and whether anything changed.
async fn change(
    store: &Store,
    name: &str,
    change: AccountChange,
    action: &str,
) -> Result<(Account, bool), OpsError> {
    let done = store
        .accounts()
        .change(Actor::Operator, name, change, action)
        .await?;
    Ok((done.account, done.changed))
}

/// Bans an account (it can no longer log in); `reason` goes to the audit log.
pub async fn ban_user(store: &Store, name: &str, reason: Option<&str>) -> Result<String, OpsError> {
    let ban = AccountChange::Ban {
        reason: reason.map(str::to_string),
    };
    let (account, changed) = change(store, name, ban, "cli.ban").await?;
    Ok(if changed {
        format!("Account {} banned.", account.username)
    } else {
        format!("Account {} was already banned.", account.username)
    })
}

/// Lifts a ban.
pub async fn unban_user(store: &Store, name: &str) -> Result<String, OpsError> {
    let (account, changed) = change(store, name, AccountChange::Unban, "cli.unban").await?;
    Ok(if changed {
        format!("Account {} unbanned.", account.username)
    } else {
        format!("Account {} was not banned.", account.username)
    })
}

/// Gives an account another role; `role` is the role's name.
pub async fn set_user_role(store: &Store, name: &str, role: &str) -> Result<String, OpsError> {
    let role: Role = role
        .parse()
        .map_err(|err: crate::auth::UnknownRole| OpsError::Invalid(err.to_string()))?;
    let (account, changed) = change(store, name, AccountChange::Role(role), "cli.role").await?;
    Ok(if changed {
        format!(
            "Account {} is now {role} (was {}).",
            account.username, account.role
        )
    } else {
        format!("Account {} already is {role}.", account.username)
    })
}

/// Sets a new password (policy applied) and lifts any login lockout.
pub async fn set_user_password(
    store: &Store,
    name: &str,
    password: &str,
) -> Result<String, OpsError> {
    // Hashing is slow on purpose; it happens before the write transaction so the
    // running server is never kept waiting for it.
    let hash = store.accounts().hash_new_password(password).await?;
    let (account, _) = change(store, name, AccountChange::Password { hash }, "cli.passwd").await?;
    Ok(format!("Password of {} changed.", account.username))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LockoutPolicy;

    const GOOD: &str = "correct horse battery";

    /// A store on a fresh file with the shipped worlds registered, and the
    /// default one.
    async fn store() -> (tempfile::TempDir, Store, std::sync::Arc<World>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions {
            bcrypt_cost: 4,
            hash_concurrency: 1,
        };
        let store = Store::open(&dir.path().join("ops.db"), options).expect("open");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("worlds");
        let worlds = crate::world::load(&shipped, None)
            .expect("the shipped worlds")
            .worlds;
        store
            .worlds()
            .register_all(worlds.iter().cloned().collect(), None)
            .await
            .expect("registered");
        let world = worlds.default_world(None).expect("a default world");
        (dir, store, world)
    }

    async fn add(store: &Store, world: &World, name: &str, role: Role) {
        create_account(store, world, name, GOOD, role)
            .await
            .expect("create");
    }

    /// The audit log as (actor, action, target, detail), through the admin's
    /// own table browser; without the rows of the accounts' creation, which
    /// every test makes first (`the_shell_creates_accounts_with_one_audit_row_each`
    /// looks at those).
    async fn audit_rows(store: &Store) -> Vec<[String; 4]> {
        all_audit_rows(store)
            .await
            .into_iter()
            .filter(|row| row[1] != "cli.create")
            .collect()
    }

    async fn all_audit_rows(store: &Store) -> Vec<[String; 4]> {
        let rows = store
            .admin()
            .table_rows("audit_log", 100, 0)
            .await
            .expect("audit rows");
        let column = |name: &str| rows.columns.iter().position(|c| c == name).expect(name);
        let picked = ["actor_user_id", "action", "target", "detail"].map(column);
        rows.rows
            .iter()
            .map(|row| picked.map(|i| row[i].clone()))
            .collect()
    }

    fn row(actor: &str, action: &str, target: &str, detail: &str) -> [String; 4] {
        [actor, action, target, detail].map(String::from)
    }

    #[tokio::test]
    async fn the_shell_creates_accounts_with_one_audit_row_each() {
        let (_dir, store, world) = store().await;
        let made = create_superuser(&store, &world, "Root", GOOD)
            .await
            .expect("superuser");
        assert_eq!(made.role, Role::Superuser);
        assert!(made.character.is_ok(), "{:?}", made.character);
        add(&store, &world, "Ann_2", Role::Player).await;
        let again = create_account(&store, &world, "ROOT", GOOD, Role::Admin).await;
        assert!(matches!(again, Err(OpsError::Exists(_))), "{again:?}");
        let weak = create_account(&store, &world, "Zed", "password", Role::Admin).await;
        assert!(matches!(weak, Err(OpsError::WeakPassword(_))), "{weak:?}");
        let first = format!("superuser; first character Root in {}", world.id);
        assert_eq!(
            all_audit_rows(&store).await,
            [
                row("NULL", "cli.create", "Root", &first),
                row(
                    "NULL",
                    "cli.create",
                    "Ann_2",
                    "player; no first character: Character names are letters, with at \
                     most one space, apostrophe or hyphen inside."
                ),
            ]
        );
    }

    #[tokio::test]
    async fn the_environment_creates_its_superuser_only_into_an_empty_database() {
        let (_dir, store, world) = store().await;
        let credentials = ("Root".to_string(), GOOD.to_string());
        assert!(
            bootstrap_superuser(&store, &world, Some(&credentials))
                .await
                .expect("made")
        );
        let weak = ("Other".to_string(), "password".to_string());
        let skipped = bootstrap_superuser(&store, &world, Some(&weak)).await;
        assert!(!skipped.expect("not needed, so not checked"));
        let rows = all_audit_rows(&store).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][..3], ["NULL", "env.create", "Root"]);
    }

    #[tokio::test]
    async fn ban_and_unban_change_the_account_and_are_audited_once() {
        let (_dir, store, world) = store().await;
        add(&store, &world, "Alice", Role::Player).await;
        assert_eq!(
            ban_user(&store, "alice", Some("spam")).await.expect("ban"),
            "Account Alice banned."
        );
        assert!(!find_user(&store, "Alice").await.expect("found").is_active);
        let again = ban_user(&store, "ALICE", None).await.expect("ban again");
        assert_eq!(again, "Account Alice was already banned.");
        assert_eq!(
            unban_user(&store, "alice").await.expect("unban"),
            "Account Alice unbanned."
        );
        assert!(find_user(&store, "Alice").await.expect("found").is_active);
        assert_eq!(
            audit_rows(&store).await,
            [
                row("NULL", "cli.ban", "Alice", "spam"),
                row("NULL", "cli.unban", "Alice", "NULL"),
            ]
        );
    }

    #[tokio::test]
    async fn role_changes_name_the_new_role_and_refuse_unknown_ones() {
        let (_dir, store, world) = store().await;
        add(&store, &world, "Bob", Role::Player).await;
        let said = set_user_role(&store, "bob", "Admin").await.expect("role");
        assert_eq!(said, "Account Bob is now admin (was player).");
        assert_eq!(
            find_user(&store, "bob").await.expect("found").role,
            Role::Admin
        );
        let err = set_user_role(&store, "bob", "wizard")
            .await
            .expect_err("bad role");
        assert!(err.to_string().contains("unknown role \"wizard\""), "{err}");
        assert!(!err.is_database_failure());
        assert_eq!(
            audit_rows(&store).await,
            [row("NULL", "cli.role", "Bob", "player -> admin")]
        );
    }

    #[tokio::test]
    async fn unknown_and_deleted_accounts_are_refused() {
        let (_dir, store, world) = store().await;
        add(&store, &world, "Gone", Role::Player).await;
        store
            .accounts()
            .change(Actor::Operator, "gone", AccountChange::Delete, "cli.delete")
            .await
            .expect("tombstone");
        let unknown = ban_user(&store, "nobody", None).await.expect_err("unknown");
        assert!(matches!(unknown, OpsError::UnknownAccount(_)), "{unknown}");
        assert_eq!(unknown.to_string(), "no account named \"nobody\"");
        let deleted = unban_user(&store, "gone").await.expect_err("deleted");
        assert!(matches!(deleted, OpsError::Deleted(_)), "{deleted}");
        assert_eq!(audit_rows(&store).await.len(), 1, "only the deletion");
    }

    #[tokio::test]
    async fn passwd_applies_the_policy_and_lifts_a_lockout() {
        let (_dir, store, world) = store().await;
        add(&store, &world, "Cy", Role::Player).await;
        let policy = LockoutPolicy::default();
        for _ in 0..policy.threshold {
            store
                .accounts()
                .check_login("cy", "not it".into(), [192, 0, 2, 1].into(), policy)
                .await
                .expect("guess");
        }
        store.accounts().login_records_written("cy").await;
        assert!(
            find_user(&store, "cy")
                .await
                .expect("found")
                .lockout_until
                .is_some()
        );
        let weak = set_user_password(&store, "cy", "password")
            .await
            .expect_err("weak");
        let text = weak.to_string();
        assert!(
            text.contains("at least 12") && text.contains("common"),
            "{text}"
        );
        let new = "lamplighter on fog street";
        assert_eq!(
            set_user_password(&store, "cy", new).await.expect("passwd"),
            "Password of Cy changed."
        );
        let cy = find_user(&store, "cy").await.expect("found");
        assert!(bcrypt::verify(new, &cy.password_hash).expect("verify"));
        assert_eq!((cy.failed_attempts, cy.lockout_until), (0, None));
        assert_eq!(
            audit_rows(&store).await,
            [row("NULL", "cli.passwd", "Cy", "NULL")]
        );
    }

    /// The table itself is tested where it is made (`command::admin::browse`);
    /// here, that the shell's list reads the accounts as they stand.
    #[tokio::test]
    async fn the_list_reads_accounts_as_they_stand() {
        let (_dir, store, world) = store().await;
        add(&store, &world, "Alice", Role::Superuser).await;
        add(&store, &world, "Bob", Role::Player).await;
        ban_user(&store, "bob", None).await.expect("ban");
        let users = list_users(&store, None).await.expect("list");
        let standing: Vec<(String, bool)> = users
            .iter()
            .map(|u| (u.username.clone(), u.is_active))
            .collect();
        assert_eq!(standing, [("Alice".into(), true), ("Bob".into(), false)]);
        assert_eq!(
            list_users(&store, Some("LI")).await.expect("filter").len(),
            1
        );
        assert_eq!(user_table(&users).lines().count(), 3);
    }

    #[test]
    fn a_missing_database_file_is_not_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("typo.db");
        let err = open_existing_store(&path, StoreOptions::default())
            .err()
            .expect("refused");
        assert!(is_database_failure(&err));
        assert!(err.to_string().contains("typo.db"), "{err}");
        assert!(!path.exists());
    }
}
