//! Roles, hierarchy and the admin slash commands (SPEC §5), through the server.

use crate::support::*;

#[tokio::test]
async fn players_are_refused_admin_commands_by_name() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut p = server.player_with_role("Pat", "player").await;
    assert_eq!(
        p.command("/kick Pat").await,
        "You don't have permission to use /kick."
    );
    assert_eq!(
        p.command("/goto somewhere").await,
        "You don't have permission to use /goto."
    );
    let mut a = server.player_with_role("Ada", "admin").await;
    assert_eq!(
        a.command("/role Pat admin").await,
        "You don't have permission to use /role."
    );
    let help = p.command("help").await;
    assert!(
        !help.contains("/kick"),
        "players' help lists no admin commands: {help}"
    );
    assert!(a.command("help").await.contains("/kick"));
    server.stop().await;
}

#[tokio::test]
async fn kick_shows_the_reason_and_is_audited() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut victim = server.player_with_role("Vic", "player").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    victim.expect("Ada arrives.").await;
    let answer = admin.command("/kick vic spamming the square").await;
    assert!(answer.contains("Vic has been kicked."), "{answer}");
    let rest = victim.expect_closed().await;
    assert!(
        rest.contains("You have been kicked from the game: spamming the square"),
        "{rest}"
    );
    // The room may hear of it before or after the admin's prompt.
    if !answer.contains("Vic leaves the game.") {
        admin.expect("Vic leaves the game.").await;
    }
    assert!(
        server
            .audit_rows()
            .contains(&(Some("Ada".into()), "kick".into(), Some("Vic".into())))
    );
    server.stop().await;
}

#[tokio::test]
async fn ban_closes_live_connections_and_refuses_the_next_login() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut victim = server.player_with_role("Vic", "player").await;
    let mut in_menu = server.connect().await;
    in_menu.connect_as("Vic", PASSWORD).await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    assert_eq!(admin.command("/ban vic cheating").await, "Vic is banned.");
    assert!(
        victim
            .expect_closed()
            .await
            .contains("This account is banned.\r\nThe reason given: cheating")
    );
    assert!(
        in_menu
            .expect_closed()
            .await
            .contains("This account is banned.")
    );
    let mut again = server.connect().await;
    again.expect("Account: ").await;
    again.send(&format!("connect Vic {PASSWORD}")).await;
    let refused = again.expect("Account: ").await;
    assert!(
        refused.contains("This account is banned.\r\nThe reason given: cheating"),
        "the banned player sees why: {refused}"
    );
    assert_eq!(admin.command("/ban vic").await, "Vic is already banned.");
    assert!(
        admin
            .command("/unban Vic")
            .await
            .ends_with("Vic may log in again.")
    );
    assert_eq!(admin.command("/unban vic").await, "Vic is not banned.");
    again.send(&format!("connect Vic {PASSWORD}")).await;
    again.expect("Character: ").await;
    let actions: Vec<String> = server.audit_rows().into_iter().map(|r| r.1).collect();
    assert!(actions.contains(&"ban".to_string()) && actions.contains(&"unban".to_string()));
    server.stop().await;
}

#[tokio::test]
async fn the_hierarchy_protects_equals_superiors_and_oneself() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut other = server.player_with_role("Bea", "admin").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    other.expect("Ada arrives.").await;
    assert_eq!(
        admin.command("/kick Bea").await,
        "You can't manage Bea: their role (admin) is not below yours."
    );
    assert_eq!(
        admin.command("/ban Ada").await,
        "You can't do that to your own account."
    );
    let mut root = server.player_with_role("Root", "superuser").await;
    assert_eq!(
        root.command("/role Bea superuser").await,
        "You can only give roles below your own (superuser)."
    );
    assert_eq!(
        root.command("/role Bea worldbuilder").await,
        "Bea is now worldbuilder."
    );
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE username = 'Bea' AND role = 'worldbuilder'"),
        1
    );
    assert_eq!(
        server.count("SELECT count(*) FROM audit_log WHERE action = 'kick'"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn sessions_who_and_the_table_agree() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    let mut p = server.player_with_role("Pat", "player").await;
    admin.expect("Pat arrives.").await;
    let mut menu_only = server.connect().await;
    menu_only.create("Mel", PASSWORD).await;
    let sessions = admin.command("/sessions").await;
    assert!(
        sessions.contains("3 live session(s); 3 row(s) in the sessions table."),
        "{sessions}"
    );
    assert!(sessions.contains("(menu)"), "{sessions}");
    let who = admin.command("who").await;
    assert!(who.contains("2 players online."), "{who}");
    p.send("quit").await;
    p.expect_closed().await;
    let sessions = admin.command("/sessions").await;
    assert!(
        sessions.contains("2 live session(s); 2 row(s) in the sessions table."),
        "{sessions}"
    );
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_single_session_per_account_when_asked() {
    let dir = temp_dir();
    let config = gaslamp::ServerConfig {
        allow_multiple_sessions: false,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut first = server.player_with_role("Sol", "player").await;
    let mut second = server.connect().await;
    second.connect_as("Sol", PASSWORD).await;
    let rest = first.expect_closed().await;
    assert!(
        rest.contains("Your account has logged in from another connection."),
        "{rest}"
    );
    second.enter("1").await;
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 1);
    server.stop().await;
}

#[tokio::test]
async fn browsing_the_database_uses_the_allowlist_and_hides_hashes() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    admin.command("say for the log").await;
    let tables = admin.command("/tables").await;
    assert!(
        tables.contains("chat_messages") && tables.contains("users"),
        "{tables}"
    );
    let users = admin.command("/rows users").await;
    assert!(
        users.contains("username          : Ada") && users.contains("password_hash     : (hidden)"),
        "one record per block, column: value: {users}"
    );
    assert!(
        users.lines().all(|line| line.chars().count() <= 80),
        "cut at the client's width: {users}"
    );
    assert!(!users.contains("$2"), "no bcrypt hash shown: {users}");
    let refused = admin.command("/rows sqlite_master").await;
    assert!(
        refused.starts_with("You can browse these tables:"),
        "{refused}"
    );
    let paged = admin.command("/rows users 1 5").await;
    assert!(
        paged.contains("0 row(s) of users from offset 5."),
        "{paged}"
    );
    let log = admin.command("/chatlog").await;
    assert!(log.contains("for the log"), "{log}");
    let list = admin.command("/users ad").await;
    assert!(
        list.contains("Ada") && list.contains("1 account(s)."),
        "{list}"
    );
    let whereabouts = admin.command("/where").await;
    assert!(
        whereabouts.contains("Ada") && whereabouts.contains("1 character(s) in play."),
        "{whereabouts}"
    );
    let actions: Vec<String> = server.audit_rows().into_iter().map(|r| r.1).collect();
    for action in ["tables", "rows", "chatlog", "users", "where"] {
        assert!(
            actions.contains(&action.to_string()),
            "{action} audited: {actions:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn wall_goto_and_teleport() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut p = server.player_with_role("Pat", "player").await;
    let mut builder = server.player_with_role("Wes", "worldbuilder").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    admin.command("/wall Mind the fog tonight.").await;
    p.expect("*** Announcement from Ada: Mind the fog tonight.")
        .await;
    builder
        .expect("*** Announcement from Ada: Mind the fog tonight.")
        .await;
    let world = server.game.default_world();
    let far = world.zones.last().expect("a zone").spawn.clone();
    let far_name = world.room(&far).expect("room").name.clone();
    let went = builder.command(&format!("/goto {far}")).await;
    assert!(went.starts_with(&far_name), "{went}");
    p.expect("Wes vanishes.").await;
    let unknown = builder.command("/goto no-such-room").await;
    assert!(
        unknown.starts_with(&format!(
            "There is no room \"no-such-room\" in {}. Nearest: ",
            world.name
        )),
        "{unknown}"
    );
    // The move is made by the admin's own command, so Wes, standing there,
    // sees Pat appear before the reply.
    let sent = builder.command(&format!("/teleport pat {far}")).await;
    assert!(
        sent.contains("Pat appears.")
            && sent.ends_with(&format!("Pat is on the way to {far_name}.")),
        "{sent}"
    );
    p.expect("Wes moves you elsewhere.").await;
    p.expect(&far_name).await;
    // Pat may appear before or after the builder's prompt.
    if !sent.contains("Pat appears.") {
        builder.expect("Pat appears.").await;
    }
    assert_eq!(
        server.count("SELECT count(*) FROM audit_log WHERE action = 'teleport'"),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_counts_down_and_stops_the_server() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut p = server.player_with_role("Pat", "player").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    admin.send("/shutdown 2 new lamps").await;
    p.expect("*** The server will shut down in 2 seconds: new lamps.")
        .await;
    p.expect("*** The server will shut down in 1 second: new lamps.")
        .await;
    let rest = p.expect_closed().await;
    assert!(rest.contains("The server is shutting down."), "{rest}");
    admin.expect_closed().await;
    server.wait_stopped().await;
}

#[tokio::test]
async fn a_shutdown_countdown_can_be_cancelled() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    admin.send("/shutdown 600").await;
    admin
        .expect("*** The server will shut down in 10 minutes.")
        .await;
    admin.send("/shutdown cancel").await;
    admin.expect("*** The shutdown has been cancelled.").await;
    assert!(!server.game.is_shutting_down());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_takes_durations_and_refuses_bad_ones_without_a_reason() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    for bad in [
        "/shutdown 0 now",
        "/shutdown -5m oops",
        "/shutdown 5x typo",
        "/shutdown 0s",
    ] {
        let refused = admin.command(bad).await;
        assert!(
            refused.contains("Usage: /shutdown [duration] [reason]")
                && refused.contains("90s, 15m, 1h30m"),
            "{bad}: {refused}"
        );
    }
    assert!(!server.game.is_shutting_down());
    for (typed, heard) in [
        ("/shutdown 2m new lamps", "in 2 minutes: new lamps."),
        ("/shutdown 1h30m", "in 1 hour 30 minutes."),
        ("/shutdown 90s", "in 1 minute 30 seconds."),
        ("/shutdown 45 tea", "in 45 seconds: tea."),
    ] {
        admin.send(typed).await;
        admin
            .expect(&format!("*** The server will shut down {heard}"))
            .await;
        admin.send("/shutdown cancel").await;
        admin.expect("*** The shutdown has been cancelled.").await;
    }
    // A first word that is no duration is all reason, after ten seconds.
    admin.send("/shutdown lamps need oil").await;
    admin
        .expect("*** The server will shut down in 10 seconds: lamps need oil.")
        .await;
    admin.send("/shutdown cancel").await;
    admin.expect("*** The shutdown has been cancelled.").await;
    assert!(!server.game.is_shutting_down());
    server.stop().await;
}

#[tokio::test]
async fn delete_tombstones_keeps_characters_unlinked_and_refuses_login() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut p = server.player_with_role("Pat", "player").await;
    let mut root = server.player_with_role("Root", "superuser").await;
    let answer = root.command("/delete Pat").await;
    assert!(
        answer.contains("Pat is deleted; its characters are kept, unlinked."),
        "{answer}"
    );
    assert!(
        p.expect_closed()
            .await
            .contains("This account has been deleted.")
    );
    assert_eq!(
        server.count("SELECT count(*) FROM characters WHERE name = 'Pat' AND user_id IS NULL"),
        1
    );
    assert_eq!(
        server.count(
            "SELECT count(*) FROM users WHERE username = 'Pat' AND tombstoned_at IS NOT NULL"
        ),
        1
    );
    let mut again = server.connect().await;
    again.expect("Account: ").await;
    again.send(&format!("connect Pat {PASSWORD}")).await;
    assert!(
        again
            .expect("Account: ")
            .await
            .contains("Wrong account name or password.")
    );
    server.stop().await;
}

#[tokio::test]
async fn setpassword_asks_with_echo_off_and_applies_the_policy() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let _p = server.player_with_role("Pat", "player").await;
    let mut root = server.player_with_role("Root", "superuser").await;
    root.send("/setpassword pat").await;
    root.expect("New password for Pat: ").await;
    // The policy is checked before the repeat, and the question asked again.
    root.send("short").await;
    let refused = root.expect("New password for Pat: ").await;
    assert!(refused.contains("at least 12"), "{refused}");
    assert!(!refused.contains("Repeat password: "), "{refused}");
    root.send("a brand new secret").await;
    root.expect("Repeat password: ").await;
    root.send("a brand new secret").await;
    root.expect("The password of Pat is changed.").await;
    let mut c = server.connect().await;
    c.connect_as("Pat", "a brand new secret").await;
    assert_eq!(
        server.count("SELECT count(*) FROM audit_log WHERE action = 'setpassword'"),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn prune_deletes_old_chat() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut root = server.player_with_role("Root", "superuser").await;
    root.command("say old words").await;
    server.game.writer().flush().await.expect("flush");
    server
        .db()
        .execute(
            "UPDATE chat_messages SET created_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .expect("age the line");
    root.command("say new words").await;
    assert_eq!(
        root.command("/prune 1h").await,
        "1 chat line(s) older than 1h deleted."
    );
    assert_eq!(server.count("SELECT count(*) FROM chat_messages"), 1);
    server.stop().await;
}

/// Issue 15: the `/shutdown` countdown ran on an untracked task, and in its
/// last stretch it did not watch for a shutdown begun meanwhile (a signal):
/// the countdown outlived the server. Now it is on the server's tracker and
/// ends with the shutdown; once the server has stopped, no task of it is left.
#[tokio::test]
async fn a_countdown_ends_when_the_server_stops_for_a_signal() {
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = alive();
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    // The last second of a countdown, the stretch that did not watch.
    admin.send("/shutdown 1 new lamps").await;
    admin
        .expect("*** The server will shut down in 1 second: new lamps.")
        .await;
    server.stop().await;
    admin.expect_closed().await;
    assert_eq!(alive(), before, "tasks the stopped server left running");
}
