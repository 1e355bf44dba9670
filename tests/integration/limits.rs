//! Bad input and limits: over-long lines, overflow, telnet garbage, slow readers,
//! connection caps (SPEC §8, §10).

use gaslamp::ServerConfig;

use crate::support::*;

#[tokio::test]
async fn an_over_long_line_is_refused_and_the_connection_kept() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Jo", PASSWORD).await;
    c.enter("1").await;
    c.send(&format!("say {}", "x".repeat(1100))).await;
    c.expect("Line too long (max 1024 bytes).").await;
    c.expect("> ").await;
    assert_eq!(c.command("say still here").await, "You say, \"still here\"");
    server.stop().await;
}

#[tokio::test]
async fn eight_kilobytes_without_a_newline_disconnect() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&vec![b'a'; 9000]).await;
    let rest = c.expect_closed().await;
    assert!(rest.contains("Input overflow."), "{rest}");
    // The server itself is fine.
    let mut d = server.connect().await;
    d.expect("Account: ").await;
    server.stop().await;
}

#[tokio::test]
async fn telnet_garbage_is_survived() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let mut garbage = Vec::new();
    let mut seed: u32 = 12345;
    for _ in 0..3000 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let byte = (seed >> 16) as u8;
        // Plenty of IAC and no newlines, so nothing becomes a command.
        garbage.push(if byte.is_multiple_of(5) {
            IAC
        } else if byte == b'\n' || byte == b'\r' {
            b'x'
        } else {
            byte
        });
    }
    garbage.extend_from_slice(&[IAC, SB, 24]);
    garbage.extend(std::iter::repeat_n(b'z', 5000));
    garbage.extend_from_slice(&[IAC, SE, IAC]);
    c.send_raw(&garbage).await;
    // A line break ends whatever line the garbage left; the session carries on.
    c.send("").await;
    c.send("quit").await;
    let rest = c.expect_closed().await;
    assert!(rest.contains("Goodbye."), "{rest}");
    let mut d = server.connect().await;
    d.create("Kit", PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn doubled_iac_is_a_literal_byte_and_unknown_options_are_refused() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    // DO for an option the server does not offer, twice: one WONT (no loop).
    c.send_raw(&[IAC, DO, 99, IAC, DO, 99]).await;
    c.send("quit").await;
    c.expect_closed().await;
    let refusals = c
        .negotiations
        .iter()
        .filter(|n| n.verb == WONT && n.option == 99)
        .count();
    assert!(refusals >= 1, "{:?}", c.negotiations);
    let mut c = server.connect().await;
    c.create("Lu", PASSWORD).await;
    c.enter("1").await;
    let mut line = b"say caf".to_vec();
    line.extend_from_slice(&[IAC, IAC]);
    line.extend_from_slice(b"!\r\n");
    c.send_raw(&line).await;
    let said = c.expect("> ").await;
    // 255 alone is not UTF-8, so it arrives as U+FFFD, not as a telnet command.
    assert!(said.contains("You say, \"caf\u{fffd}!\""), "{said:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_stops_reading_is_dropped_and_nobody_waits() {
    let dir = temp_dir();
    let config = ServerConfig {
        outbound_queue: 64,
        commands_per_second: 1_000_000,
        command_burst: 1_000_000,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut sleeper = server.connect().await;
    sleeper.create("Sleepy", PASSWORD).await;
    sleeper.enter("1").await;
    let mut talker = server.connect().await;
    talker.create("Talker", PASSWORD).await;
    talker.enter("1").await;
    let mut listener = server.connect().await;
    listener.create("Listener", PASSWORD).await;
    listener.enter("1").await;
    // The sleeper never reads again. Talk until its queue and socket buffers fill.
    let long = "y".repeat(900);
    let mut dropped = false;
    for round in 0..20_000 {
        talker.command(&format!("say {round} {long}")).await;
        // The long line is word-wrapped at 80 columns, right after the number.
        listener
            .expect(&format!("Talker says, \"{round}\r\n"))
            .await;
        if server.game.player_count() == 2 {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "the sleeping client was never dropped");
    talker.command("say after").await;
    listener.expect("Talker says, \"after\"").await;
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_per_address_limit_are_turned_away() {
    let dir = temp_dir();
    let config = ServerConfig {
        max_connections_per_ip: 2,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut a = server.connect().await;
    a.expect("Account: ").await;
    let mut b = server.connect().await;
    b.expect("Account: ").await;
    let mut c = server.connect().await;
    let rest = c.expect_closed().await;
    assert!(rest.contains("Too many connections."), "{rest}");
    server.stop().await;
}

#[tokio::test]
async fn flooding_commands_gets_slow_down() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Mo", PASSWORD).await;
    c.enter("1").await;
    let mut burst = String::new();
    for n in 0..100 {
        burst.push_str(&format!("say flood {n}\r\n"));
    }
    c.send_raw(burst.as_bytes()).await;
    c.expect("Slow down.").await;
    server.stop().await;
}

#[tokio::test]
async fn login_times_out() {
    let dir = temp_dir();
    let config = ServerConfig {
        login_timeout: std::time::Duration::from_millis(300),
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut c = server.connect().await;
    let rest = c.expect_closed().await;
    assert!(rest.contains("Login timed out."), "{rest}");
    server.stop().await;
}
