//! The operator's command line (SPEC §2): the real `gaslamp` binary against a
//! temporary database — init-db, check-worlds, create-superuser, the `user` tools
//! with their audit rows, exit codes, and `--config` precedence.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

/// What one run of the binary did.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn assert_code(&self, code: i32) -> &Outcome {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        self
    }
}

/// Runs `gaslamp` with `args` and only the environment given: the tester's own
/// `GASLAMP_*` or `MUD_ADMIN_*` variables must not leak in.
fn gaslamp(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gaslamp binary runs");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// An `audit_log` row: actor, action, target, detail.
type AuditRow = (Option<i64>, String, Option<String>, Option<String>);

/// A temporary database and the common flags that point at it.
struct Db {
    /// Kept so the directory lives as long as the test.
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = temp_dir();
        let path = dir.path().join("data/gaslamp.db");
        Db { _dir: dir, path }
    }

    /// Runs `gaslamp --db <this> --bcrypt-cost 4 --worlds <shipped> <args>`.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let db = self.path.to_string_lossy().into_owned();
        let worlds = shipped_worlds().to_string_lossy().into_owned();
        let mut all = vec!["--db", &db, "--bcrypt-cost", "4", "--worlds", &worlds];
        all.extend_from_slice(args);
        gaslamp(&all, env)
    }

    fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open database")
    }

    /// Creates a superuser through the binary.
    fn superuser(&self, name: &str) {
        self.run(
            &["create-superuser"],
            &[("MUD_ADMIN_USER", name), ("MUD_ADMIN_PASSWORD", PASSWORD)],
        )
        .assert_code(0);
    }

    fn audit(&self) -> Vec<AuditRow> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT actor_user_id, action, target, detail FROM audit_log ORDER BY id")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn column<T: rusqlite::types::FromSql>(&self, column: &str, user: &str) -> T {
        self.conn()
            .query_row(
                &format!("SELECT {column} FROM users WHERE username = ?1"),
                [user],
                |r| r.get(0),
            )
            .expect("user row")
    }
}

#[test]
fn init_db_creates_the_schema_and_its_directory() {
    let db = Db::new();
    let out = db.run(&["init-db"], &[]);
    out.assert_code(0);
    let want = format!("schema version {}", gaslamp::store::schema::SCHEMA_VERSION);
    assert!(out.stdout.contains(&want), "{out:#?}");
    let conn = db.conn();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, gaslamp::store::schema::SCHEMA_VERSION);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('users', 'characters', 'audit_log', 'sessions', 'chat_messages')",
            [],
            |r| r.get(0),
        )
        .expect("tables");
    assert_eq!(tables, 5);
    // Running it again on a current database changes nothing and succeeds.
    db.run(&["init-db"], &[]).assert_code(0);
}

#[test]
fn check_worlds_summarises_the_shipped_and_fixture_worlds() {
    let shipped = shipped_worlds().to_string_lossy().into_owned();
    let out = gaslamp(&["--worlds", &shipped, "check-worlds"], &[]);
    out.assert_code(0);
    assert!(out.stdout.contains("lanternfall: Lanternfall"), "{out:#?}");
    assert!(out.stdout.contains("1 world(s) OK."), "{out:#?}");
    let fixtures = fixture_worlds().to_string_lossy().into_owned();
    let out = gaslamp(&["--worlds", &fixtures, "check-worlds"], &[]);
    out.assert_code(0);
    assert!(out.stdout.contains("daily_undertaking"), "{out:#?}");
    assert!(out.stdout.contains("2 world(s) OK."), "{out:#?}");
}

#[test]
fn check_worlds_names_the_file_and_field_of_each_error() {
    let dir = temp_dir();
    write_broken_world(&dir.path().join("worlds"), "a");
    let worlds = dir.path().join("worlds").to_string_lossy().into_owned();
    let out = gaslamp(&["--worlds", &worlds, "check-worlds"], &[]);
    out.assert_code(1);
    assert!(out.stderr.contains("z.json"), "{out:#?}");
    assert!(out.stderr.contains("north"), "{out:#?}");
    assert!(!out.stdout.contains("OK"), "{out:#?}");
}

#[test]
fn create_superuser_from_the_environment_applies_the_rules() {
    let db = Db::new();
    let out = db.run(
        &["create-superuser"],
        &[("MUD_ADMIN_USER", "Root"), ("MUD_ADMIN_PASSWORD", PASSWORD)],
    );
    out.assert_code(0);
    assert!(out.stdout.contains("Superuser Root created."), "{out:#?}");
    assert_eq!(db.column::<String>("role", "root"), "superuser");

    let weak = db.run(
        &["create-superuser"],
        &[
            ("MUD_ADMIN_USER", "Other"),
            ("MUD_ADMIN_PASSWORD", "password"),
        ],
    );
    weak.assert_code(1);
    assert!(weak.stderr.contains("at least 12 characters"), "{weak:#?}");
    assert!(weak.stderr.contains("common password"), "{weak:#?}");

    let again = db.run(
        &["create-superuser"],
        &[("MUD_ADMIN_USER", "ROOT"), ("MUD_ADMIN_PASSWORD", PASSWORD)],
    );
    again.assert_code(1);
    assert!(again.stderr.contains("already exists"), "{again:#?}");
    let users: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("count");
    assert_eq!(users, 1);
}

#[test]
fn user_ban_and_unban_are_audited_in_the_database() {
    let db = Db::new();
    db.superuser("Root");
    let out = db.run(&["user", "ban", "root", "locked", "out", "--for-now"], &[]);
    out.assert_code(0);
    assert!(out.stdout.contains("Account Root banned."), "{out:#?}");
    assert!(!db.column::<bool>("is_active", "Root"));
    let list = db.run(&["user", "list"], &[]);
    list.assert_code(0);
    assert!(list.stdout.contains("banned"), "{list:#?}");
    db.run(&["user", "unban", "Root"], &[]).assert_code(0);
    assert!(db.column::<bool>("is_active", "Root"));
    assert_eq!(
        db.audit(),
        [
            (
                None,
                "cli.create".into(),
                Some("Root".into()),
                Some("superuser; first character Root in lanternfall".into())
            ),
            (
                None,
                "cli.ban".into(),
                Some("Root".into()),
                Some("locked out --for-now".into())
            ),
            (None, "cli.unban".into(), Some("Root".into()), None),
        ]
    );
}

#[test]
fn user_list_prints_a_table_and_honours_the_filter() {
    let db = Db::new();
    db.superuser("Root");
    db.superuser("Beatrix");
    let out = db.run(&["user", "list"], &[]);
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out:#?}");
    for column in ["NAME", "ROLE", "STATUS", "GUEST", "CREATED", "LAST LOGIN"] {
        assert!(lines[0].contains(column), "{out:#?}");
    }
    assert!(lines[1].starts_with("Beatrix"), "{out:#?}");
    assert!(
        lines[2].contains("superuser") && lines[2].contains("active"),
        "{out:#?}"
    );
    assert!(lines[2].ends_with("never"), "{out:#?}");
    let filtered = db.run(&["user", "list", "TRI"], &[]);
    assert_eq!(filtered.stdout.lines().count(), 2, "{filtered:#?}");
    let none = db.run(&["user", "list", "zzz"], &[]);
    none.assert_code(0);
    assert!(
        none.stdout.contains("No account names contain"),
        "{none:#?}"
    );
}

/// Issue 22: `gaslamp user list` listed a locked account as `active`.
#[test]
fn user_list_shows_a_locked_account_as_locked_until_its_lock_ends() {
    let db = Db::new();
    db.superuser("Root");
    db.conn()
        .execute(
            "UPDATE users SET failed_attempts = 5, lockout_until = '2999-03-04T05:06:07.000Z'",
            [],
        )
        .expect("locked");
    let out = db.run(&["user", "list"], &[]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("locked until 2999-03-04 05:07"),
        "{out:#?}"
    );
    assert!(!out.stdout.contains("active"), "{out:#?}");
}

#[test]
fn user_role_changes_the_role_and_refuses_bad_ones() {
    let db = Db::new();
    db.superuser("Root");
    let out = db.run(&["user", "role", "root", "admin"], &[]);
    out.assert_code(0);
    assert!(out.stdout.contains("now admin (was superuser)"), "{out:#?}");
    assert_eq!(db.column::<String>("role", "Root"), "admin");
    let bad = db.run(&["user", "role", "root", "wizard"], &[]);
    bad.assert_code(1);
    assert!(bad.stderr.contains("unknown role \"wizard\""), "{bad:#?}");
    let unknown = db.run(&["user", "role", "nobody", "admin"], &[]);
    unknown.assert_code(1);
    assert!(
        unknown.stderr.contains("no account named \"nobody\""),
        "{unknown:#?}"
    );
    assert_eq!(
        db.audit(),
        [
            (
                None,
                "cli.create".into(),
                Some("Root".into()),
                Some("superuser; first character Root in lanternfall".into())
            ),
            (
                None,
                "cli.role".into(),
                Some("Root".into()),
                Some("superuser -> admin".into())
            ),
        ]
    );
}

#[test]
fn user_passwd_reads_the_environment_and_applies_the_policy() {
    let db = Db::new();
    db.superuser("Root");
    let before: String = db.column("password_hash", "Root");
    let weak = db.run(
        &["user", "passwd", "root"],
        &[("GASLAMP_NEW_PASSWORD", "P@ssw0rd1234")],
    );
    weak.assert_code(1);
    assert!(weak.stderr.contains("common password"), "{weak:#?}");
    assert_eq!(db.column::<String>("password_hash", "Root"), before);

    let new = "lamplighter on fog street";
    let out = db.run(
        &["user", "passwd", "root"],
        &[("GASLAMP_NEW_PASSWORD", new)],
    );
    out.assert_code(0);
    let hash: String = db.column("password_hash", "Root");
    assert!(bcrypt::verify(new, &hash).expect("bcrypt hash"), "{out:#?}");
    let unknown = db.run(
        &["user", "passwd", "nobody"],
        &[("GASLAMP_NEW_PASSWORD", new)],
    );
    unknown.assert_code(1);
    assert_eq!(
        db.audit(),
        [
            (
                None,
                "cli.create".into(),
                Some("Root".into()),
                Some("superuser; first character Root in lanternfall".into())
            ),
            (None, "cli.passwd".into(), Some("Root".into()), None),
        ]
    );
}

#[test]
fn a_database_that_cannot_be_created_exits_2_naming_the_file() {
    let dir = temp_dir();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "a regular file").expect("file");
    let db = blocker.join("gaslamp.db").to_string_lossy().into_owned();
    let out = gaslamp(&["--db", &db, "--bcrypt-cost", "4", "init-db"], &[]);
    out.assert_code(2);
    assert!(out.stderr.contains(&db), "{out:#?}");
}

#[test]
fn the_user_tools_refuse_a_missing_database_instead_of_creating_it() {
    let db = Db::new();
    let out = db.run(&["user", "list"], &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("gaslamp.db"), "{out:#?}");
    assert!(out.stderr.contains("init-db"), "{out:#?}");
    assert!(!db.path.exists());
}

#[test]
fn config_file_sits_under_environment_and_flags() {
    let dir = temp_dir();
    let at = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let config = at("gaslamp.toml");
    let toml = format!(
        "db = {:?}\nbcrypt_cost = 4\nbind = \"0.0.0.0:1\"\n",
        at("file.db")
    );
    std::fs::write(&config, toml).expect("config");

    let from_file = gaslamp(&["--config", &config, "init-db"], &[]);
    from_file.assert_code(0);
    assert!(from_file.stdout.contains(&at("file.db")), "{from_file:#?}");

    let env_db = at("env.db");
    let from_env = gaslamp(
        &["init-db"],
        &[("GASLAMP_CONFIG", &config), ("GASLAMP_DB", &env_db)],
    );
    from_env.assert_code(0);
    assert!(from_env.stdout.contains(&env_db), "{from_env:#?}");

    let flag_db = at("flag.db");
    let from_flag = gaslamp(
        &["init-db", "--db", &flag_db],
        &[("GASLAMP_CONFIG", &config), ("GASLAMP_DB", &env_db)],
    );
    from_flag.assert_code(0);
    assert!(from_flag.stdout.contains(&flag_db), "{from_flag:#?}");

    std::fs::write(&config, "colour = \"blue\"\n").expect("config");
    let unknown = gaslamp(&["--config", &config, "init-db"], &[]);
    unknown.assert_code(1);
    assert!(
        unknown.stderr.contains("unknown key \"colour\""),
        "{unknown:#?}"
    );
    assert!(unknown.stderr.contains(&config), "{unknown:#?}");
}

#[test]
fn bad_flags_exit_1_and_help_exits_0() {
    let bad = gaslamp(&["user", "role"], &[]);
    bad.assert_code(1);
    let help = gaslamp(&["user", "--help"], &[]);
    help.assert_code(0);
    assert!(help.stdout.contains("passwd"), "{help:#?}");
}

/// The tools work on the database of a running server (WAL, busy_timeout), and
/// the server's login sees the change.
#[tokio::test]
async fn banning_from_the_shell_while_the_server_runs_refuses_the_next_login() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Nell", PASSWORD).await;
    let db = server.db_path.to_string_lossy().into_owned();
    let shell = |args: &'static [&'static str]| {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            let mut all = vec!["--db", db.as_str(), "--bcrypt-cost", "4"];
            all.extend_from_slice(args);
            gaslamp(&all, &[])
        })
    };
    shell(&["user", "ban", "nell", "testing"])
        .await
        .expect("ban ran")
        .assert_code(0);
    let mut d = server.connect().await;
    d.expect("Account: ").await;
    d.send(&format!("connect Nell {PASSWORD}")).await;
    let refused = d.expect("Account: ").await;
    assert!(refused.contains("This account is banned."), "{refused}");
    shell(&["user", "unban", "nell"])
        .await
        .expect("unban ran")
        .assert_code(0);
    d.send(&format!("connect Nell {PASSWORD}")).await;
    d.expect("Character: ").await;
    // Nell's sign-up, the ban and the unban.
    assert_eq!(server.count("SELECT count(*) FROM audit_log"), 3);
    server.stop().await;
}

#[test]
fn check_worlds_validates_a_worlds_naming() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    write_world(
        &worlds,
        "named",
        r#"{"name": "Named", "description": "", "naming": "random",
            "default_spawn": {"zone": "z", "room": "a"}, "zones": ["z"]}"#,
        &[(
            "z",
            r#"{"id": "z", "name": "Z", "description": "", "spawn_room": "a",
                "rooms": [{"id": "a", "name": "A", "description": "", "exits": {}}]}"#,
        )],
    );
    let path = worlds.to_string_lossy().into_owned();
    let out = gaslamp(&["--worlds", &path, "check-worlds"], &[]);
    out.assert_code(1);
    assert!(out.stderr.contains("world.json"), "{out:#?}");
    assert!(out.stderr.contains("naming"), "{out:#?}");
    assert!(
        out.stderr.contains("\"chosen\" or \"generated\""),
        "{out:#?}"
    );
    let fixed = std::fs::read_to_string(worlds.join("named/world.json"))
        .expect("world.json")
        .replace("\"random\"", "\"generated\"");
    std::fs::write(worlds.join("named/world.json"), fixed).expect("write");
    let out = gaslamp(&["--worlds", &path, "check-worlds"], &[]);
    out.assert_code(0);
    assert!(out.stdout.contains("names given"), "{out:#?}");
}

#[test]
fn user_create_adds_an_account_with_its_first_character() {
    let db = Db::new();
    db.run(&["init-db"], &[]).assert_code(0);
    let out = db.run(
        &["user", "create", "Opal"],
        &[("GASLAMP_NEW_PASSWORD", PASSWORD)],
    );
    out.assert_code(0);
    assert!(
        out.stdout.contains("Account Opal created (player)."),
        "{out:#?}"
    );
    assert_eq!(db.column::<String>("role", "opal"), "player");
    let characters: i64 = db
        .conn()
        .query_row(
            "SELECT count(*) FROM characters c JOIN users u ON u.id = c.user_id \
             WHERE u.username = 'Opal' AND c.name = 'Opal'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(characters, 1);
    let again = db.run(
        &["user", "create", "opal", "--role", "admin"],
        &[("GASLAMP_NEW_PASSWORD", PASSWORD)],
    );
    again.assert_code(1);
    assert!(again.stderr.contains("already exists"), "{again:#?}");
    let weak = db.run(
        &["user", "create", "Quartz"],
        &[("GASLAMP_NEW_PASSWORD", "password")],
    );
    weak.assert_code(1);
    assert!(weak.stderr.contains("at least 12"), "{weak:#?}");
}

/// Every login path sets `last_login`: an account that registered and played
/// is not listed as "never", in the shell's list or in /users, which share
/// their columns.
#[tokio::test]
async fn last_login_is_set_by_every_login_path_and_both_lists_agree() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Fresh", PASSWORD).await;
    c.enter("1").await;
    let mut g = server.connect().await;
    g.expect("Account: ").await;
    g.send("guest").await;
    g.expect("Character name: ").await;
    g.send("Roamer").await;
    g.expect("\r\n> ").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    let in_game = admin.command("/users").await;
    let db = server.db_path.to_string_lossy().into_owned();
    let out = gaslamp(&["--db", &db, "user", "list"], &[]);
    out.assert_code(0);
    let shell = out.stdout.clone();
    server.stop().await;
    for (list, name) in [(&in_game, "in game"), (&shell, "shell")] {
        let header = list.lines().next().unwrap_or_default();
        assert!(
            header.starts_with("NAME") && header.ends_with("LAST LOGIN"),
            "{name}: {list}"
        );
        for line in list
            .lines()
            .filter(|l| l.starts_with("Fresh") || l.starts_with("guest_"))
        {
            assert!(!line.ends_with("never"), "{name}: {line}");
        }
    }
    let rows = |list: &str| -> Vec<String> {
        list.lines()
            .filter(|l| !l.contains("account(s)"))
            .map(|l| l.trim_end().to_string())
            .collect()
    };
    assert_eq!(rows(&in_game), rows(&shell), "the same table in both");
}
