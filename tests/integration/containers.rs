//! Containers, `get all` and `drop all` over TCP (SPEC §14, issue 19): the
//! sea chest in Lanternfall's Bonded Warehouse, behind the Customs House's
//! locked iron door, holds things; what is inside goes where the chest goes
//! and is kept across a restart; and however players grab at the chest and
//! what is in it at once, every item is in exactly one place.

use crate::support::*;

/// A new account whose first character stands in the Bonded Warehouse, the
/// iron door open behind it (the first one in unlocks it with the brass key,
/// and keeps the key).
async fn in_the_warehouse(server: &TestServer, name: &str, first: bool) -> Client {
    let mut c = server.connect().await;
    c.create(name, PASSWORD).await;
    c.enter("1").await;
    for way in ["south", "south", "se"] {
        c.command(way).await;
    }
    if first {
        c.command("get brass key").await;
        c.command("unlock door").await;
        c.command("open door").await;
    }
    let inside = c.command("south").await;
    assert!(inside.contains("The Bonded Warehouse"), "{inside}");
    c
}

/// How many instances more than one place holds.
const PLACES: &str = "SELECT count(*) FROM (SELECT id FROM (SELECT id FROM room_items \
    UNION ALL SELECT id FROM character_items UNION ALL SELECT id FROM container_items) \
    GROUP BY id HAVING count(*) > 1)";

#[tokio::test]
async fn things_go_into_a_container_travel_with_it_and_come_out() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = in_the_warehouse(&server, "Ann", true).await;
    let mut ben = in_the_warehouse(&server, "Ben", false).await;
    ann.expect("Ben arrives from the north.").await;

    assert_eq!(
        ann.command("look in chest").await,
        "There is nothing in a sea chest."
    );
    assert_eq!(
        ann.command("put key in chest").await,
        "You put a brass key in a sea chest."
    );
    ben.expect("Ann puts a brass key in a sea chest.").await;
    assert_eq!(
        ben.command("look in sea chest").await,
        "In a sea chest: a brass key."
    );
    assert_eq!(ann.command("inventory").await, "You are carrying nothing.");
    assert_eq!(
        ann.command("put key in chest").await,
        "You aren't carrying that."
    );
    assert_eq!(
        ann.command("look in door").await,
        "You don't see that here."
    );

    // The chest goes north with Ben, the key inside it.
    assert_eq!(ben.command("get chest").await, "You pick up a sea chest.");
    assert_eq!(
        ben.command("put chest in chest").await,
        "A sea chest won't go inside itself."
    );
    ben.command("north").await;
    assert_eq!(
        ben.command("look in chest").await,
        "In a sea chest: a brass key."
    );
    assert_eq!(
        ben.command("put chart in chest").await,
        "You aren't carrying that."
    );
    assert_eq!(
        ben.command("get chart").await,
        "You pick up a harbour chart."
    );
    assert_eq!(
        ben.command("put chart in chart").await,
        "A harbour chart is not a container."
    );
    assert_eq!(
        ben.command("put chart in chest").await,
        "You put a harbour chart in a sea chest."
    );
    assert_eq!(ben.command("drop chest").await, "You drop a sea chest.");
    assert_eq!(
        ben.command("look in chest").await,
        "In a sea chest: a brass key, a harbour chart."
    );
    assert_eq!(server.count("SELECT count(*) FROM container_items"), 2);

    // Out again, and the door locked behind Ann with the key she took out.
    assert_eq!(
        ben.command("get key from chest").await,
        "You take a brass key from a sea chest."
    );
    assert_eq!(
        ben.command("get key from chest").await,
        "There is no such thing in a sea chest."
    );
    assert_eq!(
        ben.command("get all from chest").await,
        "You take a harbour chart from a sea chest."
    );
    assert_eq!(
        ben.command("get all from chest").await,
        "There is nothing in a sea chest."
    );
    // Carried things are listed oldest first; two taken in one millisecond
    // may come either way round.
    let put = ben.command("put all in chest").await;
    assert!(
        [
            "You put a brass key, a harbour chart in a sea chest.",
            "You put a harbour chart, a brass key in a sea chest."
        ]
        .contains(&put.as_str()),
        "{put}"
    );
    assert_eq!(
        ben.command("put all in chest").await,
        "You have nothing to put in a sea chest."
    );
    assert_eq!(server.count(PLACES), 0);
    server.stop().await;
}

#[tokio::test]
async fn get_all_and_drop_all_move_everything_in_one_line() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = server.connect().await;
    ann.create("Ann", PASSWORD).await;
    ann.enter("1").await;
    for way in ["south", "south", "se"] {
        ann.command(way).await;
    }
    assert_eq!(
        ann.command("get all").await,
        "You pick up a harbour chart, a brass key."
    );
    assert_eq!(
        ann.command("get all").await,
        "There is nothing here to pick up."
    );
    assert!(ann.command("nw").await.contains("The Long Quay"));
    ann.command("get rope").await;
    // Everything carried goes, each named once (the order is the carried
    // list's, which ties within a millisecond do not fix).
    let dropped = ann.command("drop all").await;
    let mut names: Vec<&str> = dropped
        .strip_prefix("You drop ")
        .and_then(|rest| rest.strip_suffix('.'))
        .unwrap_or_else(|| panic!("{dropped}"))
        .split(", ")
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["a brass key", "a coil of tarred rope", "a harbour chart"],
        "{dropped}"
    );
    assert_eq!(
        ann.command("drop everything").await,
        "You are carrying nothing."
    );
    assert!(ann.command("look").await.contains("a harbour chart"));
    server.stop().await;
}

#[tokio::test]
async fn what_a_container_holds_is_kept_across_a_restart() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = in_the_warehouse(&server, "Ann", true).await;
    ann.command("put key in chest").await;
    assert_eq!(ann.command("get chest").await, "You pick up a sea chest.");
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let mut ann = server.connect().await;
    ann.connect_as("Ann", PASSWORD).await;
    ann.enter("1").await;
    assert_eq!(
        ann.command("inventory").await,
        "You are carrying: a sea chest."
    );
    assert_eq!(
        ann.command("look in chest").await,
        "In a sea chest: a brass key."
    );
    server.stop().await;
}

/// Issue 19: an item is in exactly one place, however players grab at a
/// container and what is in it at once. Three players work the chest and
/// the key together, round after round; after each round every instance is
/// in one place, and nothing is inside a container that is not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_moves_in_and_out_of_a_container_keep_every_item_in_one_place() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.command_burst = 1000;
    let server = TestServer::start_with(config).await;
    let ann = in_the_warehouse(&server, "Ann", true).await;
    let ben = in_the_warehouse(&server, "Ben", false).await;
    let cai = in_the_warehouse(&server, "Cai", false).await;
    let mut clients = [ann, ben, cai];
    let plays: [[&str; 4]; 3] = [
        [
            "put key in chest",
            "get key from chest",
            "get chest",
            "drop all",
        ],
        [
            "get chest",
            "get all from chest",
            "drop chest",
            "put key in chest",
        ],
        [
            "get all from chest",
            "drop all",
            "get all",
            "put key in chest",
        ],
    ];
    let instances = server.count(
        "SELECT (SELECT count(*) FROM room_items) + (SELECT count(*) FROM character_items) \
         + (SELECT count(*) FROM container_items)",
    );
    for round in 0..24 {
        let sends = clients
            .iter_mut()
            .zip(&plays)
            .map(|(c, play)| (c, play[round % 4].to_string()))
            .collect();
        send_together(sends).await;
        // Each connection's commands run in order: once it answers the
        // inventory, its move is done.
        for c in &mut clients {
            c.send("inventory").await;
            c.expect("You are carrying").await;
        }
        assert_eq!(
            server.count(PLACES),
            0,
            "round {round}: an item in two places"
        );
        let now = server.count(
            "SELECT (SELECT count(*) FROM room_items) + (SELECT count(*) FROM character_items) \
             + (SELECT count(*) FROM container_items)",
        );
        assert_eq!(now, instances, "round {round}: an item lost or made");
        let adrift = server.count(
            "SELECT count(*) FROM container_items WHERE container_id NOT IN \
             (SELECT id FROM room_items UNION SELECT id FROM character_items)",
        );
        assert_eq!(
            adrift, 0,
            "round {round}: inside a container that is nowhere"
        );
    }
    let moved = server.count("SELECT count(*) FROM container_items") > 0
        || server.count("SELECT count(*) FROM character_items") > 0;
    assert!(moved, "the players moved things");
    server.stop().await;
}
