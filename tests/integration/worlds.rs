//! The predecessor's worlds load unchanged and play (SPEC §7).

use gaslamp::ServerConfig;

use crate::support::*;

fn fixture_config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        default_world: Some("daily_undertaking".into()),
        ..ServerConfig::for_tests(dir.join("gaslamp.db"), fixture_worlds())
    }
}

#[tokio::test]
async fn the_fixture_world_loads_and_its_cross_zone_exits_work() {
    let dir = temp_dir();
    let server = TestServer::start_with(fixture_config(dir.path())).await;
    assert_eq!(
        server.count(
            "SELECT count(*) FROM worlds WHERE id IN ('daily_undertaking', 'pipeworks_web')"
        ),
        2
    );
    assert_eq!(
        server.count("SELECT count(*) FROM room_items WHERE world_id = 'daily_undertaking'"),
        16
    );
    let mut c = server.connect().await;
    c.create("Ivy", PASSWORD).await;
    let entered = c.enter("1").await;
    assert!(entered.contains("The Crooked Pipe"), "{entered}");
    assert!(entered.contains("Exits: north, down, west."), "{entered}");
    assert!(entered.contains("Battered Ale Mug"), "{entered}");
    let street = c.command("west").await;
    assert!(
        street.starts_with("Cobbled Street") || street.contains("Cobbled"),
        "{street}"
    );
    let back = c.command("go south").await;
    assert!(back.starts_with("The Crooked Pipe"), "{back}");
    let lamp = c.command("look mug").await;
    assert!(lamp.contains("dented pewter mug"), "{lamp}");
    server.stop().await;
}

#[tokio::test]
async fn the_fixture_zones_spawn_rooms_are_distinct() {
    let dir = temp_dir();
    let server = TestServer::start_with(fixture_config(dir.path())).await;
    let world = server.game.world("daily_undertaking").expect("world");
    assert_eq!(world.zones.len(), 6);
    assert_eq!(world.room_count(), 27);
    let pub_spawn = world.resolve_room("crooked_pipe:spawn", None).expect("pub");
    let garden_spawn = world
        .resolve_room("the_north_gardens:spawn", None)
        .expect("garden");
    assert_ne!(
        world.room(&pub_spawn).map(|r| &r.name),
        world.room(&garden_spawn).map(|r| &r.name)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_broken_world_stops_the_server_from_starting() {
    let dir = temp_dir();
    write_broken_world(&dir.path().join("worlds"), "nowhere");
    let config = ServerConfig::for_tests(dir.path().join("g.db"), dir.path().join("worlds"));
    let err = match gaslamp::Server::start(config).await {
        Ok(_) => panic!("an invalid world must not start"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("z.json"), "{err}");
    assert!(err.contains("north"), "{err}");
    assert!(err.contains("world.json"), "{err}");
}
