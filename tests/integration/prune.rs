//! `/prune <duration>` (SPEC §5): the age of the talk to delete needs its
//! unit, read by the one reader of durations, so `/prune 24` can never mean
//! 24 seconds (nor, as it once did, 24 hours).

use crate::support::*;

#[tokio::test]
async fn prune_refuses_a_bare_number_and_takes_a_duration_with_its_unit() {
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
    for bare in ["/prune 24", "/prune", "/prune 0h", "/prune soon"] {
        let refused = root.command(bare).await;
        assert!(
            refused.contains("Usage: /prune <duration>"),
            "{bare}: {refused}"
        );
    }
    // The new line is on its way to the disk: wait for it, not for time.
    server.game.writer().flush().await.expect("flush");
    assert_eq!(server.count("SELECT count(*) FROM chat_messages"), 2);
    assert_eq!(
        root.command("/prune 24h").await,
        "1 chat line(s) older than 24h deleted."
    );
    assert_eq!(
        root.command("/prune 30d").await,
        "0 chat line(s) older than 30d deleted."
    );
    assert_eq!(server.count("SELECT count(*) FROM chat_messages"), 1);
    assert_eq!(
        server.count("SELECT count(*) FROM audit_log WHERE action = 'prune'"),
        2,
        "only the two prunes that ran are on record"
    );
    server.stop().await;
}
