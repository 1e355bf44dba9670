//! Two players in one world: arriving, talking, moving, looking (SPEC §4).

use crate::support::*;

/// Two players, both in the game at the default spawn.
async fn two_players(server: &TestServer) -> (Client, Client) {
    let mut ann = server.connect().await;
    ann.create("Ann", PASSWORD).await;
    ann.enter("1").await;
    let mut ben = server.connect().await;
    ben.create("Ben", PASSWORD).await;
    ben.enter("Ben").await;
    ann.expect("Ben arrives.").await;
    (ann, ben)
}

#[tokio::test]
async fn players_see_each_other_arrive_talk_and_leave() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = two_players(&server).await;

    let look = ben.command("look").await;
    assert!(look.contains("Exits: "), "{look}");
    assert!(look.contains("Also here: Ann."), "{look}");

    assert_eq!(
        ben.command("say Good evening!").await,
        "You say, \"Good evening!\""
    );
    ann.expect("Ben says, \"Good evening!\"").await;
    ben.command("'Shorthand works too").await;
    ann.expect("Ben says, \"Shorthand works too\"").await;
    ann.command(":tips her hat.").await;
    ben.expect("Ann tips her hat.").await;

    let who = ann.command("who").await;
    assert!(who.contains("Ann") && who.contains("Ben"), "{who}");
    assert!(who.contains("2 players online."), "{who}");

    let exit = first_exit(&look);
    let moved = ben.command(&exit).await;
    assert!(moved.contains("Exits: "), "the new room is shown: {moved}");
    ann.expect(&format!("Ben leaves {exit}.")).await;
    ann.command(&exit).await;
    ben.expect("Ann arrives from the ").await;

    ben.send("quit").await;
    ben.expect("Goodbye.").await;
    ben.expect_closed().await;
    ann.expect("Ben leaves the game.").await;
    server.stop().await;
}

/// The first exit named in a room description's `Exits:` line.
fn first_exit(look: &str) -> String {
    let line = look
        .lines()
        .find(|l| l.starts_with("Exits: "))
        .expect("an Exits line");
    line.trim_start_matches("Exits: ")
        .trim_end_matches('.')
        .split(", ")
        .next()
        .expect("an exit")
        .to_string()
}

#[tokio::test]
async fn commands_are_case_insensitive_slashed_and_unknown_ones_are_answered() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Cyd", PASSWORD).await;
    c.enter("1").await;
    assert!(c.command("/LOOK").await.contains("Exits: "));
    assert_eq!(
        // "dance" is a shipped social; "juggle" is no word at all.
        c.command("juggle wildly").await,
        "Huh? Type \"help\" for a list of commands."
    );
    assert_eq!(c.command("say").await, "Usage: say <text>  or  '<text>");
    let help = c.command("help").await;
    assert!(help.contains("say") && help.contains("who"), "{help}");
    assert!(
        c.command("help say")
            .await
            .contains("Says something to everyone")
    );
    let exits = c.command("exits").await;
    assert!(exits.starts_with("Exits:"), "{exits}");
    server.stop().await;
}

#[tokio::test]
async fn walking_into_a_wall_is_refused() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Dot", PASSWORD).await;
    let entered = c.enter("1").await;
    let exits: Vec<String> = entered
        .lines()
        .find(|l| l.starts_with("Exits: "))
        .map(|l| {
            l.trim_start_matches("Exits: ")
                .trim_end_matches('.')
                .split(", ")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let blocked = ["north", "south", "east", "west", "up", "down"]
        .into_iter()
        .find(|d| !exits.iter().any(|e| e == d))
        .expect("some direction without an exit");
    assert_eq!(c.command(blocked).await, "You can't go that way.");
    assert_eq!(
        c.command("go nowhere-at-all").await,
        "You can't go that way."
    );
    server.stop().await;
}

#[tokio::test]
async fn chat_and_moves_reach_the_database() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, _ben) = two_players(&server).await;
    ann.command("say Remember this line").await;
    server.game.writer().flush().await.expect("flush");
    assert_eq!(
        server.count(
            "SELECT count(*) FROM chat_messages WHERE kind = 'say' AND message = 'Remember this line'"
        ),
        1
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_connection_takes_the_character_over() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = two_players(&server).await;
    let mut again = server.connect().await;
    again.connect_as("Ann", PASSWORD).await;
    again.enter("1").await;
    let rest = ann.expect_closed().await;
    assert!(
        rest.contains("Your character was taken over by a new connection."),
        "{rest}"
    );
    // Ben still sees Ann (the new connection) and nobody "left".
    ben.command("say still there?").await;
    again.expect("Ben says, \"still there?\"").await;
    assert!(!ben.all_text().contains("Ann leaves the game."));
    assert_eq!(server.game.player_count(), 2);
    server.stop().await;
}

/// Lines that reach a player sitting at `> ` come on a line of their own and
/// are followed, in the same write, by the prompt again (with its GA), so the
/// player's next typing starts at a prompt.
#[tokio::test]
async fn the_prompt_comes_back_after_other_peoples_lines() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = two_players(&server).await;
    ann.skip_shown_prompts();
    let gas_before = ann.go_aheads.len();
    ben.command("say lamps are lit").await;
    let shown = ann.expect("Ben says, \"lamps are lit\"\r\n> ").await;
    assert!(shown.starts_with("\r\n"), "a line of its own: {shown:?}");
    let end = ann.all_text().len();
    assert!(
        ann.go_aheads[gas_before..].contains(&end),
        "IAC GA follows the prompt shown again"
    );
    // Typing now answers at a prompt, and is not prompted twice.
    assert_eq!(ann.command("say aye").await, "You say, \"aye\"");
    server.stop().await;
}

/// SPEC §4: the room left hears `<Name> leaves <dir>.`; the room reached hears
/// `<Name> arrives from the <dir>.` when a compass direction leads back,
/// `from below` and `from above` for up and down.
#[tokio::test]
async fn walkers_arrive_from_the_direction_that_leads_back() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = two_players(&server).await;
    // Lantern Square: east to the clocktower's base, up to its belfry.
    let walks = [
        ("east", "Ben leaves east.", "Ann arrives from the west."),
        ("up", "Ben leaves up.", "Ann arrives from below."),
        ("down", "Ben leaves down.", "Ann arrives from above."),
        ("west", "Ben leaves west.", "Ann arrives from the east."),
    ];
    for (direction, left, reached) in walks {
        ben.command(direction).await;
        ann.expect(left).await;
        ann.command(direction).await;
        ben.expect(reached).await;
    }
    // A compass exit whose name is short: the Chandlers' Row goes "ne",
    // which players read in the one long form.
    ben.command("north").await;
    ann.command("north").await;
    ben.expect("Ann arrives from the south.").await;
    ben.command("ne").await;
    ann.expect("Ben leaves northeast.").await;
    ann.command("northeast").await;
    ben.expect("Ann arrives from the southwest.").await;
    server.stop().await;
}
