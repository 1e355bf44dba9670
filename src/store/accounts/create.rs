//! Creating an account: the one way any account is made — sign-up (`new`,
//! `create`), a guest, the operator's `gaslamp user create` and
//! `create-superuser`, and the `MUD_ADMIN_USER` bootstrap at start.
//!
//! [`Accounts::create`] checks the name and the password (policy, then hash),
//! and then, in one transaction, inserts the account (a guest whose number is
//! taken draws another there), makes its first character through the one
//! path that makes characters (`characters::create_in`), and writes the one
//! `audit_log` row that says who opened it. Either all three are written, or
//! nothing is.

use std::net::IpAddr;

use chrono::Utc;
use rusqlite::{Connection, params};

use super::Accounts;
use crate::auth::Role;
use crate::auth::generate::{self, Entropy};
use crate::auth::names::{check_account_name, name_key};
use crate::store::audit::{self, AuditEntry};
use crate::store::characters::{
    CharacterLimits, CharacterName, CharacterSummary, NewCharacter, create_in,
};
use crate::store::lockout;
use crate::store::refusal::{CharacterRefused, Refusal, decide};
use crate::store::{StoreError, StoreResult, now_iso};
use crate::world::{Naming, World};

/// Who opens an account, and so its name, its role, its origin and its
/// audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opener {
    /// A player signing up (`new`, `create`): a player, audited as `signup`
    /// with the new account as its own actor. The address it signed up
    /// from (keyed as client addresses are), if any, is known to the
    /// account from then on, as if it had logged in from there.
    SignUp {
        username: String,
        from: Option<IpAddr>,
    },
    /// A guest (`guest`): a drawn `guest_NNNNN` name, expiring at
    /// `expires_at`, audited as `guest` with the new account as its actor;
    /// its address known as a sign-up's is.
    Guest {
        expires_at: String,
        from: Option<IpAddr>,
    },
    /// The operator's shell (`gaslamp user create`, `create-superuser`):
    /// audited as `cli.create`, with no acting account.
    Shell { username: String, role: Role },
    /// `MUD_ADMIN_USER` at start: a superuser, made only while no account
    /// exists at all (decided in the same transaction), audited as
    /// `env.create` with no acting account.
    Environment { username: String },
}

impl Opener {
    fn username(&self) -> Option<&str> {
        match self {
            Opener::SignUp { username, .. }
            | Opener::Shell { username, .. }
            | Opener::Environment { username } => Some(username),
            Opener::Guest { .. } => None,
        }
    }

    fn role(&self) -> Role {
        match self {
            Opener::SignUp { .. } | Opener::Guest { .. } => Role::Player,
            Opener::Shell { role, .. } => *role,
            Opener::Environment { .. } => Role::Superuser,
        }
    }

    /// The `audit_log` action of the creation.
    fn action(&self) -> &'static str {
        match self {
            Opener::SignUp { .. } => "signup",
            Opener::Guest { .. } => "guest",
            Opener::Shell { .. } => "cli.create",
            Opener::Environment { .. } => "env.create",
        }
    }

    /// The `users.account_origin` of the account.
    fn origin(&self) -> &'static str {
        match self {
            Opener::SignUp { .. } => "telnet",
            Opener::Guest { .. } => "guest",
            Opener::Shell { .. } => "cli",
            Opener::Environment { .. } => "env",
        }
    }

    /// Whether the new account is its own audit row's actor (it opened
    /// itself), rather than the operator or the environment.
    fn acts_itself(&self) -> bool {
        matches!(self, Opener::SignUp { .. } | Opener::Guest { .. })
    }

    /// The address the account was opened from, if a client opened it.
    fn from(&self) -> Option<IpAddr> {
        match self {
            Opener::SignUp { from, .. } | Opener::Guest { from, .. } => *from,
            Opener::Shell { .. } | Opener::Environment { .. } => None,
        }
    }
}

/// A new account's first character (SPEC §3: every path makes one).
#[derive(Debug, Clone)]
pub struct FirstCharacter {
    pub world_id: String,
    pub spawn_room: String,
    pub name: FirstName,
    /// As for any character (see `NewCharacter::is_command_word`).
    pub is_command_word: fn(&str) -> bool,
}

/// How the first character is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstName {
    /// After the account; where the account name is no character name
    /// (digits, `_`), no character is made and nothing is said.
    AfterAccount,
    /// As chosen (a guest's), or made up.
    Given(CharacterName),
}

impl FirstCharacter {
    /// The usual first character in `world`: named after the account, or
    /// made up where the world gives names.
    pub fn usual(world: &World, is_command_word: fn(&str) -> bool) -> FirstCharacter {
        let name = match world.naming {
            Naming::Chosen => FirstName::AfterAccount,
            Naming::Generated => FirstName::Given(CharacterName::Generated),
        };
        FirstCharacter::named(world, name, is_command_word)
    }

    /// A first character named so in `world`, standing at its spawn.
    pub fn named(
        world: &World,
        name: FirstName,
        is_command_word: fn(&str) -> bool,
    ) -> FirstCharacter {
        FirstCharacter {
            world_id: world.id.clone(),
            spawn_room: world.default_spawn.as_str().to_string(),
            name,
            is_command_word,
        }
    }

    /// The character to make for the account called `username`.
    fn for_account(&self, username: &str) -> NewCharacter {
        let name = match &self.name {
            FirstName::AfterAccount => CharacterName::Typed(username.to_string()),
            FirstName::Given(name) => name.clone(),
        };
        NewCharacter {
            world_id: self.world_id.clone(),
            spawn_room: self.spawn_room.clone(),
            name,
            is_command_word: self.is_command_word,
        }
    }
}

/// What [`Accounts::create`] made.
#[derive(Debug)]
pub struct Created {
    pub user_id: i64,
    /// As asked, or for a guest the number drawn.
    pub username: String,
    pub role: Role,
    pub is_guest: bool,
    /// The first character, or why none was made (its name is taken, or is
    /// no character name); the account is made either way.
    pub character: Result<CharacterSummary, CharacterRefused>,
}

/// Why no account was made; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum AccountRefused {
    /// The name breaks the account name rules: the rule, in a sentence.
    #[error("{0}")]
    BadName(String),
    /// The password breaks the policy; every broken rule is named.
    #[error("{}", .0.join(" "))]
    WeakPassword(Vec<String>),
    /// An account has the name (in any case), or one that looks like it.
    #[error("that account name is taken")]
    NameTaken,
    /// The environment's superuser is only made while no account exists.
    #[error("accounts exist already")]
    NotFirst,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for AccountRefused {
    fn failure(self) -> Result<StoreError, Self> {
        match self {
            AccountRefused::Store(err) => Ok(err),
            other => Err(other),
        }
    }
}

impl Accounts<'_> {
    /// Makes an account with its first character and its audit row: the one
    /// way any account is made (see the module). Checks the account name,
    /// then the password against the policy, hashes it, and writes in one
    /// transaction.
    pub async fn create(
        &self,
        opener: Opener,
        password: &str,
        first: FirstCharacter,
    ) -> Result<Created, AccountRefused> {
        if let Some(username) = opener.username() {
            check_account_name(username).map_err(|bad| AccountRefused::BadName(bad.0))?;
        }
        // A player's taken name is refused before the bcrypt work (the
        // transaction decides again): a loop of sign-ups for one costs no
        // hashing.
        if let Opener::SignUp { username, .. } = &opener
            && self.name_taken(username).await?
        {
            return Err(AccountRefused::NameTaken);
        }
        let hash = self
            .hash_new_password(password)
            .await
            .map_err(|refused| match refused {
                super::PasswordRefused::Weak(problems) => AccountRefused::WeakPassword(problems),
                super::PasswordRefused::Store(err) => AccountRefused::Store(err),
            })?;
        decide(self.store, move |tx| {
            let new = NewRow {
                opener: &opener,
                hash: &hash,
                first: &first,
            };
            let draw = &mut || generate::character_name(&mut Entropy, first.is_command_word);
            let guest_number = &mut || generate::guest_name(&mut Entropy);
            create_in_tx(tx, &new, guest_number, draw)
        })
        .await
    }
}

/// How many numbers a new guest draws before giving up (a guest number is
/// taken with the chance that the 100,000 are in use, so this is never reached
/// in practice).
const GUEST_NAME_DRAWS: usize = 50;

/// What goes into the new rows, the password already hashed.
struct NewRow<'a> {
    opener: &'a Opener,
    hash: &'a str,
    first: &'a FirstCharacter,
}

/// The body of [`Accounts::create`], inside its transaction: the
/// environment's "no account yet", the account (a guest drawing again with
/// `next_guest_name` while its number is taken), its first character (made
/// up ones drawn with `draw_name`), and the audit row.
fn create_in_tx(
    tx: &Connection,
    new: &NewRow<'_>,
    next_guest_name: &mut dyn FnMut() -> String,
    draw_name: &mut dyn FnMut() -> String,
) -> Result<Created, AccountRefused> {
    if matches!(new.opener, Opener::Environment { .. }) {
        let any: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))
            .map_err(StoreError::from)?;
        if any {
            return Err(AccountRefused::NotFirst);
        }
    }
    let (user_id, username) = insert_account(tx, new, next_guest_name)?;
    let is_guest = matches!(new.opener, Opener::Guest { .. });
    let first = new.first.for_account(&username);
    // A new account has no character yet: one slot is all the first needs.
    let character = match create_in(
        tx,
        user_id,
        &first,
        CharacterLimits::slots(1),
        is_guest,
        draw_name,
    ) {
        Err(CharacterRefused::Store(err)) => return Err(err.into()),
        made => made,
    };
    let created = Created {
        user_id,
        username,
        role: new.opener.role(),
        is_guest,
        character,
    };
    record_creation(tx, new.opener, &created)?;
    if let Some(from) = new.opener.from() {
        lockout::remember_in(tx, created.user_id, &from.to_string(), Utc::now())?;
    }
    Ok(created)
}

/// The one audit row of a new account: who opened it, its role, its first
/// character or why there is none.
fn record_creation(tx: &Connection, opener: &Opener, created: &Created) -> StoreResult<()> {
    let role = created.role;
    let detail = match &created.character {
        Ok(made) => format!("{role}; first character {} in {}", made.name, made.world_id),
        Err(refused) => format!("{role}; no first character: {refused}"),
    };
    audit::record(
        tx,
        &AuditEntry {
            actor_user_id: opener.acts_itself().then_some(created.user_id),
            action: opener.action().to_string(),
            target: Some(created.username.clone()),
            detail: Some(detail),
        },
    )
}

/// Inserts the `users` row: its id and name. A name taken, or looking like
/// a taken one (the same [`name_key`], kept unique by an index), is
/// [`AccountRefused::NameTaken`] — for a guest, another number is drawn
/// instead. A refused INSERT undoes only itself; the transaction goes on.
fn insert_account(
    tx: &Connection,
    new: &NewRow<'_>,
    next_guest_name: &mut dyn FnMut() -> String,
) -> Result<(i64, String), AccountRefused> {
    let expires_at = match new.opener {
        Opener::Guest { expires_at, .. } => Some(expires_at.as_str()),
        _ => None,
    };
    let mut username = match new.opener.username() {
        Some(name) => name.to_string(),
        None => next_guest_name(),
    };
    let mut draws = 1;
    loop {
        match insert_user(tx, new, &username, expires_at) {
            Ok(id) => return Ok((id, username)),
            Err(StoreError::NameTaken) if expires_at.is_some() && draws < GUEST_NAME_DRAWS => {
                username = next_guest_name();
                draws += 1;
            }
            Err(StoreError::NameTaken) => return Err(AccountRefused::NameTaken),
            Err(err) => return Err(err.into()),
        }
    }
}

fn insert_user(
    tx: &Connection,
    new: &NewRow<'_>,
    username: &str,
    guest_expires_at: Option<&str>,
) -> StoreResult<i64> {
    tx.execute(
        "INSERT INTO users (username, name_key, password_hash, role, is_guest, \
         guest_expires_at, account_origin, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            username,
            name_key(username),
            new.hash,
            new.opener.role().as_str(),
            guest_expires_at.is_some(),
            guest_expires_at,
            new.opener.origin(),
            now_iso()
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, test_store};

    const PASSWORD: &str = "lamplighter on fog street";

    fn no_command_words(word: &str) -> bool {
        word.eq_ignore_ascii_case("look")
    }

    fn first(name: FirstName) -> FirstCharacter {
        FirstCharacter {
            world_id: "w".into(),
            spawn_room: "z:spawn".into(),
            name,
            is_command_word: no_command_words,
        }
    }

    fn sign_up(name: &str) -> Opener {
        Opener::SignUp {
            username: name.into(),
            from: None,
        }
    }

    /// The audit log as (actor, action, target, detail).
    async fn audit(store: &Store) -> Vec<(Option<i64>, String, String, String)> {
        store
            .call(|db| {
                let mut stmt = db.prepare(
                    "SELECT actor_user_id, action, target, detail FROM audit_log ORDER BY id",
                )?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .expect("audit rows")
    }

    /// Issue 16: sign-ups' bcrypt work goes through the same fair queue per
    /// client address as logins: with the one place held, a sign-up waits in
    /// its own address's queue.
    #[tokio::test]
    async fn a_sign_up_hashes_in_its_client_address_queue() {
        let (_dir, store, _) = test_store("someone").await;
        let holder = store.inner.hashing.enter_as(None).await;
        let client: std::net::IpAddr = [192, 0, 2, 44].into();
        let signing_up = {
            let store = store.clone();
            tokio::spawn(crate::store::hashing::for_client(client, async move {
                store
                    .accounts()
                    .create(sign_up("Nell"), PASSWORD, first(FirstName::AfterAccount))
                    .await
                    .map(|created| created.username)
            }))
        };
        while !store.inner.hashing.is_waiting(Some(client)) {
            tokio::task::yield_now().await;
        }
        drop(holder);
        let made = signing_up.await.expect("task");
        assert_eq!(made.ok().as_deref(), Some("Nell"));
    }

    #[tokio::test]
    async fn every_opener_leaves_its_account_its_character_and_one_audit_row() {
        let (_dir, store, _) = test_store("someone").await;
        let accounts = store.accounts();
        let after = || first(FirstName::AfterAccount);
        let ann = accounts
            .create(sign_up("ann"), PASSWORD, after())
            .await
            .expect("ann");
        let guest = Opener::Guest {
            expires_at: "2099-01-01T00:00:00.000Z".into(),
            from: None,
        };
        let wren = first(FirstName::Given(CharacterName::Typed("wren".into())));
        let guest = accounts.create(guest, PASSWORD, wren).await.expect("guest");
        let shell = Opener::Shell {
            username: "Opal".into(),
            role: Role::Admin,
        };
        let opal = accounts
            .create(shell, PASSWORD, after())
            .await
            .expect("opal");
        let root = accounts
            .create(
                Opener::Environment {
                    username: "Root".into(),
                },
                PASSWORD,
                after(),
            )
            .await;
        assert!(matches!(root, Err(AccountRefused::NotFirst)), "{root:?}");
        assert_eq!(
            ann.character.as_ref().map(|c| c.name.as_str()).ok(),
            Some("Ann")
        );
        assert!(guest.username.starts_with("guest_") && guest.is_guest);
        assert_eq!(
            guest.character.as_ref().map(|c| c.name.as_str()).ok(),
            Some("Wren")
        );
        assert_eq!(opal.role, Role::Admin);
        let rows = audit(&store).await;
        let row = |actor, action: &str, target: &str, detail: &str| {
            (
                actor,
                action.to_string(),
                target.to_string(),
                detail.to_string(),
            )
        };
        assert_eq!(
            rows,
            [
                row(
                    Some(ann.user_id),
                    "signup",
                    "ann",
                    "player; first character Ann in w"
                ),
                row(
                    Some(guest.user_id),
                    "guest",
                    &guest.username,
                    "player; first character Wren in w"
                ),
                row(
                    None,
                    "cli.create",
                    "Opal",
                    "admin; first character Opal in w"
                ),
            ]
        );
        let origins: Vec<(String, String)> = store
            .call(|db| {
                let mut stmt = db.prepare(
                    "SELECT username, account_origin FROM users WHERE id > 1 ORDER BY id",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .expect("origins");
        assert_eq!(origins[0], ("ann".into(), "telnet".into()));
        assert_eq!(origins[1].1, "guest");
        assert_eq!(origins[2], ("Opal".into(), "cli".into()));
    }

    #[tokio::test]
    async fn the_environment_makes_its_superuser_only_into_an_empty_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = crate::store::StoreOptions {
            bcrypt_cost: 4,
            hash_concurrency: 1,
        };
        let store = Store::open(&dir.path().join("e.db"), options).expect("open");
        store
            .call(|db| Ok(db.execute_batch(crate::store::schema::ONE_WORLD)?))
            .await
            .expect("world");
        let env = || Opener::Environment {
            username: "Root".into(),
        };
        let made = futures::future::join_all((0..4).map(|_| {
            let store = store.clone();
            async move {
                store
                    .accounts()
                    .create(env(), PASSWORD, first(FirstName::AfterAccount))
                    .await
            }
        }))
        .await;
        let ok: Vec<&Created> = made.iter().filter_map(|m| m.as_ref().ok()).collect();
        assert_eq!(ok.len(), 1, "{made:?}");
        assert_eq!(ok[0].role, Role::Superuser);
        let rows = audit(&store).await;
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].0, rows[0].1.as_str()), (None, "env.create"));
    }

    #[tokio::test]
    async fn a_first_character_is_made_unless_its_name_is_taken_or_no_name() {
        let (_dir, store, _) = test_store("someone").await;
        let accounts = store.accounts();
        let after = || first(FirstName::AfterAccount);
        let alice = accounts.create(sign_up("Alice"), PASSWORD, after()).await;
        assert!(alice.expect("alice").character.is_ok());
        let given = first(FirstName::Given(CharacterName::Typed("ALICE".into())));
        let bob = accounts.create(sign_up("Bob"), PASSWORD, given).await;
        let bob = bob.expect("bob still created");
        assert!(
            matches!(&bob.character, Err(CharacterRefused::NameTaken { name }) if name == "ALICE"),
            "{:?}",
            bob.character
        );
        let digits = accounts.create(sign_up("bob_2"), PASSWORD, after()).await;
        let digits = digits.expect("an account name that is no character name");
        assert!(matches!(
            digits.character,
            Err(CharacterRefused::BadName(_))
        ));
        assert!(accounts.find("bob").await.expect("query").is_some());
    }

    #[tokio::test]
    async fn refused_accounts_write_nothing() {
        let (_dir, store, _) = test_store("Alice").await;
        let accounts = store.accounts();
        let after = || first(FirstName::AfterAccount);
        let weak = accounts.create(sign_up("Zed"), "password", after()).await;
        assert!(
            matches!(weak, Err(AccountRefused::WeakPassword(_))),
            "{weak:?}"
        );
        let bad = accounts.create(sign_up("9lives"), PASSWORD, after()).await;
        assert!(matches!(bad, Err(AccountRefused::BadName(_))), "{bad:?}");
        let taken = accounts.create(sign_up("ALICE"), PASSWORD, after()).await;
        assert!(matches!(taken, Err(AccountRefused::NameTaken)), "{taken:?}");
        assert!(audit(&store).await.is_empty());
        assert_eq!(accounts.count().await.expect("count"), 1);
    }

    #[tokio::test]
    async fn a_guest_whose_number_is_taken_draws_another() {
        let (_dir, store, _) = test_store("guest_00001").await;
        let created = store
            .call(move |db| {
                let opener = Opener::Guest {
                    expires_at: "2099-01-01T00:00:00.000Z".into(),
                    from: None,
                };
                let first = first(FirstName::Given(CharacterName::Generated));
                let new = NewRow {
                    opener: &opener,
                    hash: "x",
                    first: &first,
                };
                let mut numbers = ["guest_00001", "guest_00002"].into_iter().map(String::from);
                let mut names = ["Brae"].into_iter().map(String::from);
                let tx = db.transaction()?;
                let created = create_in_tx(
                    &tx,
                    &new,
                    &mut || numbers.next().unwrap_or_default(),
                    &mut || names.next().unwrap_or_default(),
                )
                .map_err(|refused| StoreError::Task(refused.to_string()))?;
                tx.commit()?;
                Ok(created)
            })
            .await
            .expect("created");
        assert_eq!(created.username, "guest_00002");
        assert_eq!(created.character.expect("character").name, "Brae");
        // Anyone else's taken name is still refused.
        let again = store
            .accounts()
            .create(
                sign_up("GUEST_00002"),
                PASSWORD,
                first(FirstName::AfterAccount),
            )
            .await;
        assert!(matches!(again, Err(AccountRefused::NameTaken)), "{again:?}");
    }

    #[tokio::test]
    async fn look_alike_names_made_at_once_cannot_both_exist() {
        let (_dir, store, _) = test_store("someone").await;
        for round in 0..5 {
            let names = [format!("Kel{round}y"), format!("KeI{round}y")];
            let made = futures::future::join_all(names.iter().map(|name| {
                let store = store.clone();
                let lina = CharacterName::Typed(format!("Lina{}", "x".repeat(round)));
                let name = name.clone();
                async move {
                    let first = first(FirstName::Given(lina));
                    store
                        .accounts()
                        .create(sign_up(&name), PASSWORD, first)
                        .await
                }
            }))
            .await;
            let ok: Vec<&Created> = made.iter().filter_map(|m| m.as_ref().ok()).collect();
            assert_eq!(ok.len(), 1, "round {round}: {made:?}");
            assert!(
                made.iter()
                    .any(|m| matches!(m, Err(AccountRefused::NameTaken))),
                "{made:?}"
            );
        }
        let iina = first(FirstName::Given(CharacterName::Typed("Iina".into())));
        let other = store
            .accounts()
            .create(sign_up("Other"), PASSWORD, iina)
            .await;
        let other = other.expect("account made");
        assert!(
            matches!(other.character, Err(CharacterRefused::NameTaken { .. })),
            "Iina looks like Lina"
        );
    }
}
