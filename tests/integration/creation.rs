//! One path to make an account, one to make a character (issue 15): every way
//! an account is made — sign-up (`new`, `create`), a guest, the shell's
//! `gaslamp user create` and `create-superuser`, the `MUD_ADMIN_USER`
//! bootstrap of `gaslamp run` — leaves exactly one `audit_log` row, written
//! with the account; and characters made at once by every path that makes
//! them never pass the slot limit.

use std::path::Path;
use std::process::Command;

use gaslamp::ServerConfig;

use crate::support::*;

/// Audit rows as (actor account, action, target), by the server's database.
type Row = (Option<String>, String, Option<String>);

fn row(actor: Option<&str>, action: &str, target: &str) -> Row {
    (
        actor.map(str::to_string),
        action.to_string(),
        Some(target.to_string()),
    )
}

/// The audit rows of the database at `db`, actor by name.
fn audit_rows(db: &Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(db).expect("open database");
    let mut stmt = conn
        .prepare(
            "SELECT u.username, a.action, a.target FROM audit_log a \
             LEFT JOIN users u ON u.id = a.actor_user_id ORDER BY a.id",
        )
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Runs the real binary on the database `db` with only the environment given;
/// returns its exit code and what it wrote.
fn gaslamp(db: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--bcrypt-cost", "4", "--db"])
        .arg(db)
        .arg("--worlds")
        .arg(shipped_worlds())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gaslamp binary runs");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), said)
}

#[tokio::test]
async fn signing_up_and_guests_leave_one_audit_row_each() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ivy = server.connect().await;
    ivy.expect("Account: ").await;
    ivy.send("new").await;
    ivy.expect("New account name: ").await;
    ivy.send("Ivy").await;
    ivy.expect("Password: ").await;
    ivy.send(PASSWORD).await;
    ivy.expect("Repeat password: ").await;
    ivy.send(PASSWORD).await;
    ivy.expect("Account Ivy created.").await;
    ivy.expect("Character: ").await;
    let mut jon = server.connect().await;
    jon.create("Jon", PASSWORD).await;
    let mut kim = server.connect().await;
    kim.expect("Account: ").await;
    kim.send("create Kim password").await;
    kim.expect("Account: ").await;
    let mut guest = server.connect().await;
    guest.expect("Account: ").await;
    guest.send("guest").await;
    guest.expect("Character name: ").await;
    guest.send("Wanderer").await;
    let told = guest.expect("\r\n> ").await;
    let number = told
        .split_whitespace()
        .find(|word| word.starts_with("guest_"))
        .expect("the guest's account name")
        .to_string();
    let db = server.db_path.clone();
    server.stop().await;
    assert_eq!(
        audit_rows(&db),
        [
            row(Some("Ivy"), "signup", "Ivy"),
            row(Some("Jon"), "signup", "Jon"),
            row(Some(&number), "guest", &number),
        ],
        "Kim's weak password made nothing"
    );
}

#[test]
fn the_shells_accounts_leave_one_audit_row_each() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    let (code, said) = gaslamp(
        &db,
        &["create-superuser"],
        &[("MUD_ADMIN_USER", "Root"), ("MUD_ADMIN_PASSWORD", PASSWORD)],
    );
    assert_eq!(code, 0, "{said}");
    let (code, said) = gaslamp(
        &db,
        &["user", "create", "Opal", "--role", "admin"],
        &[("GASLAMP_NEW_PASSWORD", PASSWORD)],
    );
    assert_eq!(code, 0, "{said}");
    let (code, said) = gaslamp(
        &db,
        &["user", "create", "Quartz"],
        &[("GASLAMP_NEW_PASSWORD", "password")],
    );
    assert_eq!(code, 1, "{said}");
    assert_eq!(
        audit_rows(&db),
        [
            row(None, "cli.create", "Root"),
            row(None, "cli.create", "Opal")
        ]
    );
}

#[tokio::test]
async fn the_environments_superuser_leaves_one_audit_row_once() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    let admin = [("MUD_ADMIN_USER", "Root"), ("MUD_ADMIN_PASSWORD", PASSWORD)];
    let server = crate::crash::start_with_env(&db, &admin).await;
    let mut root = Client::connect(server.addr).await;
    root.connect_as("Root", PASSWORD).await;
    server.kill().await;
    // Accounts exist now: a second start makes none, whatever the variables say.
    let weak = [
        ("MUD_ADMIN_USER", "Other"),
        ("MUD_ADMIN_PASSWORD", "password"),
    ];
    let again = crate::crash::start_with_env(&db, &weak).await;
    again.kill().await;
    assert_eq!(audit_rows(&db), [row(None, "env.create", "Root")]);
}

/// Several connections of one account type `new <name>` and several admins
/// type `/newchar` for it, all at once: the slot limit is decided where each
/// character is inserted, so exactly the free slots are taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn characters_made_at_once_by_every_path_never_pass_the_slot_limit() {
    const SLOTS: usize = 4;
    let dir = temp_dir();
    let server = TestServer::start_with(ServerConfig {
        character_slots: SLOTS,
        max_connections_per_ip: 1000,
        ..config(dir.path())
    })
    .await;
    let mut admins = Vec::new();
    for name in ["Ada", "Bea", "Cat", "Dot"] {
        admins.push(server.player_with_role(name, "admin").await);
    }
    // Tamsin's first character takes one slot.
    let mut menus = vec![server.connect().await];
    menus[0].create("Tamsin", PASSWORD).await;
    for _ in 1..8 {
        let mut c = server.connect().await;
        c.connect_as("Tamsin", PASSWORD).await;
        menus.push(c);
    }
    let menu_names = [
        "Aldric", "Brenna", "Corwin", "Dagny", "Elowen", "Fenwick", "Greta", "Halden",
    ];
    let admin_names = ["Isolde", "Jorund", "Kestrel", "Linnea"];
    let mut sends: Vec<(&mut Client, String)> = menus
        .iter_mut()
        .zip(menu_names)
        .map(|(c, name)| (c, format!("new {name}")))
        .collect();
    sends.extend(
        admins
            .iter_mut()
            .zip(admin_names)
            .map(|(c, name)| (c, format!("/newchar tamsin {name}"))),
    );
    send_together(sends).await;
    let mut made = 0;
    for c in &mut menus {
        let (which, text) = c.expect_any(&["\r\n> ", "Character: "]).await;
        if which == 0 {
            made += 1;
        } else {
            assert!(text.contains("You already have 4 characters"), "{text}");
        }
    }
    for c in &mut admins {
        let (which, text) = c
            .expect_any(&["now has a character called", "already has 4 characters"])
            .await;
        if which == 0 {
            made += 1;
            assert!(text.contains("Tamsin"), "{text}");
        }
    }
    let count = server.count(
        "SELECT count(*) FROM characters WHERE user_id = \
         (SELECT id FROM users WHERE username = 'Tamsin')",
    );
    assert_eq!(count, SLOTS as i64, "Tamsin's characters");
    assert_eq!(made, SLOTS - 1, "every character made was said to be made");
    server.stop().await;
}
