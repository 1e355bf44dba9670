//! The registration policy (SPEC §3, the predecessor's switches): closed
//! registration, no guests, characters made only by admins, and worlds that give
//! names instead of letting players choose.

use gaslamp::ServerConfig;

use crate::support::*;

#[tokio::test]
async fn closed_registration_refuses_new_and_create_but_lets_accounts_in() {
    let dir = temp_dir();
    // The account exists before registration closes.
    let open = TestServer::start(dir.path()).await;
    let mut c = open.connect().await;
    c.create("Early", PASSWORD).await;
    open.stop().await;
    let config = ServerConfig {
        registration_open: false,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("new").await;
    assert!(
        c.expect("Account: ")
            .await
            .contains("Registration is closed.")
    );
    c.send(&format!("create Late {PASSWORD}")).await;
    assert!(
        c.expect("Account: ")
            .await
            .contains("Registration is closed.")
    );
    c.send(&format!("connect Early {PASSWORD}")).await;
    c.expect("Character: ").await;
    assert_eq!(server.count("SELECT count(*) FROM users"), 1);
    server.stop().await;
}

#[tokio::test]
async fn guests_can_be_switched_off() {
    let dir = temp_dir();
    let config = ServerConfig {
        guests: false,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("guest").await;
    let refused = c.expect("Account: ").await;
    assert!(
        refused.contains("Guest accounts are not available here."),
        "{refused}"
    );
    assert_eq!(server.count("SELECT count(*) FROM users"), 0);
    server.stop().await;
}

#[tokio::test]
async fn without_player_characters_only_admins_make_them_with_newchar() {
    let dir = temp_dir();
    let config = ServerConfig {
        player_characters: false,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    // slot9 has a digit, so registration made no first character.
    let mut p = server.connect().await;
    p.create("slot9", PASSWORD).await;
    p.send("new Wren").await;
    let refused = p.expect("Character: ").await;
    assert!(refused.contains("made by the admins"), "{refused}");
    let mut admin = server.player_with_role("Ada", "admin").await;
    assert_eq!(
        admin.command("/newchar slot9 Wren").await,
        "slot9 now has a character called Wren in Lanternfall."
    );
    assert_eq!(
        admin.command("/newchar slot9 Wren").await,
        "That name is already taken in this world."
    );
    assert_eq!(
        admin.command("/newchar nobody Wren").await,
        "There is no account \"nobody\"."
    );
    p.send("Wren").await;
    assert!(p.expect("\r\n> ").await.contains("Exits:"));
    assert!(server.audit_rows().contains(&(
        Some("Ada".into()),
        "newchar".into(),
        Some("slot9".into())
    )));
    server.stop().await;
}

/// The shipped worlds, with Lanternfall giving names.
fn generated_naming(dir: &std::path::Path) -> std::path::PathBuf {
    let worlds = dir.join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    let file = worlds.join("lanternfall/world.json");
    let text = std::fs::read_to_string(&file).expect("world.json");
    let given = text.replacen(
        "\"access\": \"open\",",
        "\"access\": \"open\", \"naming\": \"generated\",",
        1,
    );
    assert_ne!(given, text);
    std::fs::write(&file, given).expect("write world.json");
    worlds
}

#[tokio::test]
async fn a_world_that_gives_names_makes_them_up_and_refuses_chosen_ones() {
    let dir = temp_dir();
    let config = ServerConfig {
        worlds_dir: generated_naming(dir.path()),
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut p = server.connect().await;
    // The first character is given a name too, not named after the account.
    p.create("Pell", PASSWORD).await;
    let first: String = server
        .db()
        .query_row("SELECT name FROM characters", [], |r| r.get(0))
        .expect("first character");
    assert_ne!(first, "Pell");
    p.send("new Bob").await;
    let refused = p.expect("Character: ").await;
    assert!(refused.contains("are given, not chosen"), "{refused}");
    p.send("new").await;
    let entered = p.expect("\r\n> ").await;
    assert!(entered.contains("Exits:"), "{entered}");
    let names: Vec<String> = {
        let db = server.db();
        let mut stmt = db
            .prepare("SELECT name FROM characters ORDER BY id")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names")
    };
    assert_eq!(names.len(), 2, "{names:?}");
    assert_ne!(names[0], names[1]);
    for name in &names {
        assert!(
            gaslamp::auth::names::check_character_name(name, gaslamp::command::is_command_word)
                .is_ok(),
            "{name}"
        );
    }
    // Admins may still choose.
    let mut admin = server.player_with_role("Ada", "admin").await;
    admin.send("characters").await;
    admin.expect("Character: ").await;
    admin.send("new Chosen").await;
    assert!(admin.expect("\r\n> ").await.contains("Exits:"));
    server.stop().await;
}
