//! Items over TCP: picking up, dropping, giving, looking at and carrying things,
//! one place per item even when two players grab at once, and everything where it
//! was left after a restart (SPEC §4, §9).
//!
//! Everyone starts in Lanternfall's Lantern Square, where a copper penny lies;
//! north is Chandlers' Row with a beeswax candle.

use crate::support::*;

/// A new account whose first character is in the game at the default spawn.
async fn player(server: &TestServer, name: &str) -> Client {
    let mut c = server.connect().await;
    c.create(name, PASSWORD).await;
    c.enter("1").await;
    c
}

/// Ann, then Ben, both in Lantern Square.
async fn ann_and_ben(server: &TestServer) -> (Client, Client) {
    let mut ann = player(server, "Ann").await;
    let ben = player(server, "Ben").await;
    ann.expect("Ben arrives.").await;
    (ann, ben)
}

/// (Another copper penny lies in the Undercroft.)
const PENNIES_IN_THE_SQUARE: &str = "SELECT count(*) FROM room_items \
    WHERE item_key = 'copper_penny' AND room = 'old_town:lantern_square'";

fn penny_id(server: &TestServer) -> i64 {
    server.count(
        "SELECT id FROM room_items \
         WHERE item_key = 'copper_penny' AND room = 'old_town:lantern_square'",
    )
}

/// A command's answer without the line break that separates it from text which
/// arrived while the player sat at the prompt.
async fn ask(c: &mut Client, line: &str) -> String {
    c.command(line).await.trim_start_matches("\r\n").to_string()
}

#[tokio::test]
async fn get_and_drop_move_one_item_between_room_and_hands() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    let penny = penny_id(&server);

    assert_eq!(
        ask(&mut ann, "inventory").await,
        "You are carrying nothing."
    );
    assert!(
        ask(&mut ann, "look")
            .await
            .contains("You see: a copper penny.")
    );
    assert_eq!(
        ask(&mut ann, "get penny").await,
        "You pick up a copper penny."
    );
    ben.expect("Ann picks up a copper penny.").await;
    assert!(!ask(&mut ann, "look").await.contains("copper penny"));
    assert!(!ask(&mut ben, "look").await.contains("copper penny"));
    assert_eq!(
        ask(&mut ann, "i").await,
        "You are carrying: a copper penny."
    );
    assert_eq!(ask(&mut ann, "get penny").await, "You don't see that here.");
    assert_eq!(
        ask(&mut ben, "take penny").await,
        "You don't see that here."
    );
    assert_eq!(
        ask(&mut ann, "drop lantern").await,
        "You aren't carrying that."
    );

    ask(&mut ann, "north").await;
    ben.expect("Ann leaves north.").await;
    assert_eq!(
        ask(&mut ann, "drop copper").await,
        "You drop a copper penny."
    );
    assert_eq!(ask(&mut ann, "inv").await, "You are carrying nothing.");
    ask(&mut ben, "north").await;
    ann.expect("Ben arrives from the south.").await;
    assert!(ask(&mut ben, "look").await.contains("a copper penny"));
    assert_eq!(
        ask(&mut ben, "take Copper Penny").await,
        "You pick up a copper penny."
    );
    ann.expect("Ben picks up a copper penny.").await;

    // The same instance moved, and it is in exactly one place.
    let carrier = "SELECT count(*) FROM character_items i JOIN characters c \
                   ON c.id = i.character_id WHERE c.name = 'Ben' AND i.id = ";
    assert_eq!(server.count(&format!("{carrier}{penny}")), 1);
    assert_eq!(server.count(PENNIES_IN_THE_SQUARE), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_players_racing_for_one_item_get_it_exactly_once() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    for round in 0..10 {
        // Both lines are on the wire before either answer is read.
        ann.send("get penny").await;
        ben.send("get penny").await;
        // Each answer is one of these; the other's news may come first.
        let answers = [
            "You pick up a copper penny.",
            "You don't see that here.",
            "Someone else got to it first.",
        ];
        let (_, ann_answer) = ann.expect_any(&answers).await;
        let (_, ben_answer) = ben.expect_any(&answers).await;
        let won = |answer: &str| answer.contains("You pick up a copper penny.");
        assert!(
            won(&ann_answer) != won(&ben_answer),
            "round {round}: exactly one may win:\nAnn: {ann_answer}\nBen: {ben_answer}"
        );
        let (winner, loser, name) = if won(&ann_answer) {
            (&mut ann, &mut ben, "Ann")
        } else {
            (&mut ben, &mut ann, "Ben")
        };
        assert_eq!(
            server.count("SELECT count(*) FROM character_items WHERE item_key = 'copper_penny'"),
            1,
            "round {round}\nAnn: {ann_answer}\nBen: {ben_answer}"
        );
        winner.command("drop penny").await;
        loser.expect(&format!("{name} drops a copper penny.")).await;
    }
    assert_eq!(server.count(PENNIES_IN_THE_SQUARE), 1);
    assert_eq!(server.count("SELECT count(*) FROM character_items"), 0);
    server.stop().await;
}

#[tokio::test]
async fn give_hands_an_item_over_and_refuses_people_not_here() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    let mut cyd = player(&server, "Cyd").await;
    ann.expect("Cyd arrives.").await;
    ben.expect("Cyd arrives.").await;
    ask(&mut ann, "get penny").await;

    assert_eq!(
        ask(&mut ann, "give penny").await,
        "Usage: give <item> [to] <name>"
    );
    assert_eq!(ask(&mut ann, "give penny to Zed").await, "Zed isn't here.");
    assert_eq!(
        ask(&mut ann, "give penny to ann").await,
        "You can't give things to yourself."
    );
    assert_eq!(
        ask(&mut ann, "give candle to Ben").await,
        "You aren't carrying that."
    );
    assert_eq!(
        ask(&mut ann, "give penny to ben").await,
        "You give a copper penny to Ben."
    );
    ben.expect("Ann gives you a copper penny.").await;
    cyd.expect("Ann gives a copper penny to Ben.").await;
    assert_eq!(
        ask(&mut ann, "inventory").await,
        "You are carrying nothing."
    );
    assert_eq!(
        ask(&mut ben, "inventory").await,
        "You are carrying: a copper penny."
    );
    assert!(!ben.all_text().contains("to Ben."), "Ben is told once");

    // Someone in another room is not here.
    ask(&mut ben, "north").await;
    ann.expect("Ben leaves north.").await;
    assert_eq!(ask(&mut ann, "give penny to Ben").await, "Ben isn't here.");
    assert_eq!(ask(&mut ben, "give penny to Ann").await, "Ann isn't here.");
    assert_eq!(
        ask(&mut ben, "inventory").await,
        "You are carrying: a copper penny."
    );
    server.stop().await;
}

#[tokio::test]
async fn look_and_examine_see_carried_things_people_and_ask_which_one() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    assert!(ask(&mut ann, "look penny").await.contains("A worn penny"));
    assert_eq!(
        ask(&mut ann, "look at Ben").await,
        "Ben is here, looking back at you."
    );
    assert!(
        ask(&mut ann, "x ann")
            .await
            .starts_with("You look yourself over.")
    );
    assert_eq!(
        ask(&mut ann, "examine lantern").await,
        "You don't see that here."
    );
    assert_eq!(ask(&mut ann, "x").await, "Usage: examine <thing>");

    ask(&mut ann, "get penny").await;
    ask(&mut ann, "east").await;
    ben.expect("Ann leaves east.").await;
    let carried = ask(&mut ann, "examine copper penny").await;
    assert!(
        carried.starts_with("a copper penny\r\nA worn penny"),
        "{carried}"
    );
    assert_eq!(ask(&mut ann, "look Ben").await, "You don't see that here.");

    // A clock key carried and a brass key lying in the Customs House.
    ask(&mut ann, "up").await;
    assert_eq!(ask(&mut ann, "get key").await, "You pick up a clock key.");
    for way in ["down", "west", "south", "south", "se"] {
        ask(&mut ann, way).await;
    }
    let which = ask(&mut ann, "look key").await;
    assert!(
        which.starts_with("Which do you mean: ")
            && which.contains("a clock key")
            && which.contains("a brass key"),
        "{which}"
    );
    // `get` only considers what lies here.
    assert_eq!(ask(&mut ann, "get key").await, "You pick up a brass key.");
    let which = ask(&mut ann, "drop key").await;
    assert!(which.starts_with("Which do you mean: "), "{which}");
    assert_eq!(ask(&mut ann, "drop brass").await, "You drop a brass key.");
    assert_eq!(
        ask(&mut ann, "i").await,
        "You are carrying: a copper penny, a clock key."
    );
    server.stop().await;
}

#[tokio::test]
async fn items_are_where_they_were_left_after_a_restart() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let instances =
        "SELECT (SELECT count(*) FROM room_items) + (SELECT count(*) FROM character_items)";
    let total = server.count(instances);
    let mut ann = player(&server, "Ann").await;
    ask(&mut ann, "get penny").await;
    ask(&mut ann, "north").await;
    assert_eq!(
        ask(&mut ann, "get candle").await,
        "You pick up a beeswax candle."
    );
    ask(&mut ann, "south").await;
    assert_eq!(
        ask(&mut ann, "drop candle").await,
        "You drop a beeswax candle."
    );
    server.stop().await;
    ann.expect_closed().await;

    let server = TestServer::start(dir.path()).await;
    assert_eq!(server.count(instances), total, "nothing reseeded or lost");
    let mut ann = server.connect().await;
    ann.connect_as("Ann", PASSWORD).await;
    let square = ann.enter("1").await;
    assert!(square.contains("You see: a beeswax candle."), "{square}");
    assert_eq!(
        ask(&mut ann, "inventory").await,
        "You are carrying: a copper penny."
    );
    let row = ask(&mut ann, "north").await;
    assert!(row.starts_with("Chandlers' Row"), "{row}");
    assert!(!row.contains("beeswax"), "{row}");
    // A newcomer sees the same world.
    let mut ben = player(&server, "Ben").await;
    assert!(ask(&mut ben, "look").await.contains("a beeswax candle"));
    assert_eq!(ask(&mut ben, "get penny").await, "You don't see that here.");
    server.stop().await;
}
