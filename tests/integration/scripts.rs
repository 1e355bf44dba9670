//! Scripts (SPEC §14, issue 19) against the real server: `on_say` replies,
//! `wait` in the middle of a handler, a timer, a script's state across a
//! restart, `/reload` of a changed script, a runaway script stopped, told
//! to the builders online and switched off after three failures, `/script`,
//! and the real binary's `check-worlds` naming a script's file and line.

use std::process::Command;

use crate::npcs::{alive_world, player, start_on};
use crate::support::*;

/// Old Tam with `script` as `tam.lua`, answering `verbs`.
fn tam_with(dir: &std::path::Path, script: &str) -> std::path::PathBuf {
    alive_world(
        dir,
        r#", "commands": ["ask"], "script": "tam.lua""#,
        &[("tam.lua", script)],
    )
}

#[tokio::test]
async fn an_npc_answers_words_said_to_it_and_waits_between_lines() {
    let dir = temp_dir();
    let script = r#"
function on_say(actor, text)
  if string.find(string.lower(text), "bell") then
    say("The bell? It rings for the lamplighters, " .. actor.name .. ".")
    wait(1)
    emote("taps his lantern.")
  end
end
"#;
    let worlds = tam_with(&dir.path().join("w"), script);
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = player(&server, "ann").await;
    let mut ben = player(&server, "ben").await;
    ann.command("say Good evening").await;
    ann.send("say What is that bell?").await;
    ben.expect("Old Tam says, \"The bell? It rings for the lamplighters, Ann.\"")
        .await;
    let between = ben.expect("Old Tam taps his lantern.").await;
    assert!(!between.contains("Good evening, Ann"), "{between}");
    ann.expect("Old Tam taps his lantern.").await;
    server.stop().await;
}

#[tokio::test]
async fn a_timer_rings_and_a_verb_reaches_on_command() {
    let dir = temp_dir();
    let script = r#"
every(1, function() emote("coughs.") end)
after(1, function() say("Ahem.") end)
function on_command(actor, verb, rest)
  tell(actor, "You asked about " .. rest .. ".")
end
"#;
    let worlds = tam_with(&dir.path().join("w"), script);
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = player(&server, "ann").await;
    ann.expect("Old Tam says, \"Ahem.\"").await;
    ann.expect("Old Tam coughs.").await;
    ann.expect("Old Tam coughs.").await;
    ann.send("ask about the weather").await;
    ann.expect("Old Tam tells you, \"You asked about about the weather.\"")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_scripts_state_survives_a_restart() {
    let dir = temp_dir();
    let script = r#"
function on_command(actor, verb, rest)
  local n = (state.get("asked") or 0) + 1
  state.set("asked", n)
  say("Asked " .. n .. " times.")
end
"#;
    let worlds = tam_with(&dir.path().join("w"), script);
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = player(&server, "ann").await;
    ann.send("ask").await;
    ann.expect("Old Tam says, \"Asked 1 times.\"").await;
    ann.send("ask").await;
    ann.expect("Old Tam says, \"Asked 2 times.\"").await;
    ann.send("quit").await;
    ann.expect_closed().await;
    server.stop().await;
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = server.connect().await;
    ann.connect_as("ann", PASSWORD).await;
    ann.enter("1").await;
    ann.send("ask").await;
    ann.expect("Old Tam says, \"Asked 3 times.\"").await;
    server.stop().await;
}

#[tokio::test]
async fn reload_brings_in_a_changed_script_and_refuses_a_broken_one_with_its_line() {
    let dir = temp_dir();
    let worlds = tam_with(
        &dir.path().join("w"),
        "function on_command(a) say('Old words.') end",
    );
    let server = start_on(dir.path(), &worlds).await;
    let mut ada = server.player_with_role("ada", "admin").await;
    ada.send("ask").await;
    ada.expect("Old Tam says, \"Old words.\"").await;
    let file = worlds.join("alive/scripts/tam.lua");
    std::fs::write(&file, "function on_command(a)\n  say('New words.'\nend\n").expect("write");
    let refused = ada.command("/reload").await;
    assert!(
        refused.contains("The worlds were not reloaded; 1 error(s)"),
        "{refused}"
    );
    assert!(refused.contains("tam.lua: line 3:"), "{refused}");
    ada.send("ask").await;
    ada.expect("Old Tam says, \"Old words.\"").await;
    std::fs::write(&file, "function on_command(a) say('New words.') end").expect("write");
    let reloaded = ada.command("/reload").await;
    assert!(reloaded.contains("Worlds reloaded"), "{reloaded}");
    ada.send("ask").await;
    ada.expect("Old Tam says, \"New words.\"").await;
    let shown = ada.command("/script tam").await;
    assert!(shown.contains("tam.lua"), "{shown}");
    assert!(shown.contains("on"), "{shown}");
    server.stop().await;
}

#[tokio::test]
async fn a_runaway_script_is_stopped_told_to_builders_and_off_after_three_failures() {
    let dir = temp_dir();
    let script = "function on_command(a, verb, rest)\n  if rest == 'loop' then while true do end end\n  say('Fine.')\nend\n";
    let worlds = tam_with(&dir.path().join("w"), script);
    let server = start_on(dir.path(), &worlds).await;
    let mut wes = server.player_with_role("wes", "worldbuilder").await;
    // 250 columns: the error lines come unwrapped.
    let mut wide = vec![IAC, WILL, 31, IAC, SB, 31, 0, 250, 0, 50, IAC, SE];
    wide.extend_from_slice(b"look\r\n");
    wes.send_raw(&wide).await;
    wes.expect("\r\n> ").await;
    let mut ann = player(&server, "ann").await;
    ann.send("ask loop").await;
    let told = wes.expect("(in on_command).").await;
    // On the builder channel, naming the world (the channel is heard in every
    // world). The loop is stopped by its tick budget, or by the 50 ms clock
    // first when the machine is busy enough that 200,000 ticks take longer.
    let stopped = "[builder] alive: [script] npc:z:tam: tam.lua:2: stopped: over its ";
    assert!(
        told.contains(&format!("{stopped}budget of 200000 ticks"))
            || told.contains(&format!("{stopped}time budget of 50 ms")),
        "{told}"
    );
    // A success in between starts the count again.
    ann.send("ask").await;
    ann.expect("Old Tam says, \"Fine.\"").await;
    for n in 1..=3 {
        ann.send("ask loop").await;
        let told = wes.expect("(in on_command).").await;
        assert!(told.contains("tam.lua:2: stopped: over its"), "{told}");
        let rest = wes.expect("\r\n").await;
        assert_eq!(rest.contains("It is off until /reload."), n == 3, "{rest}");
    }
    // Off: the verb is nobody's, and nothing answers but the parser.
    let huh = ann.command("ask").await;
    assert!(huh.contains("Huh?"), "{huh}");
    let shown = wes.command("/script tam").await;
    assert!(shown.contains("off"), "{shown}");
    assert!(shown.contains("tam.lua:2: stopped"), "{shown}");
    server.stop().await;
}

#[test]
fn check_worlds_names_a_broken_scripts_file_and_line() {
    let dir = temp_dir();
    let worlds = tam_with(dir.path(), "function on_say(a, t)\n  say(t\nend\n");
    let output = Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--worlds", &worlds.display().to_string(), "check-worlds"])
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gaslamp binary runs");
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("scripts/tam.lua: line 3:"), "{text}");
    // A script file that is not there is named at the field naming it.
    std::fs::remove_file(worlds.join("alive/scripts/tam.lua")).expect("remove");
    let output = Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--worlds", &worlds.display().to_string(), "check-worlds"])
        .env_clear()
        .output()
        .expect("the gaslamp binary runs");
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        text.contains("z.json: npcs.tam.script: there is no file scripts/tam.lua"),
        "{text}"
    );
}

#[tokio::test]
async fn the_shipped_world_answers_at_the_bar_in_the_belfry_and_at_the_lever() {
    let dir = temp_dir();
    let server = TestServer::start_with(gaslamp::ServerConfig {
        scripts: true,
        ..crate::support::config(dir.path())
    })
    .await;
    let mut ann = player(&server, "ann").await;
    ann.command("south").await;
    let tavern = ann.command("west").await;
    assert!(tavern.contains("Also here: Mags."), "{tavern}");
    ann.send("say hello there").await;
    ann.expect("Mags says, \"Evening, love. Sit where you like, mind the puddles.\"")
        .await;
    ann.command("east").await;
    ann.command("north").await;
    ann.command("east").await;
    ann.command("up").await;
    ann.send("ring bell").await;
    ann.expect("The bell has been rung by hand 1 times.").await;
    ann.command("down").await;
    ann.command("west").await;
    ann.command("west").await;
    ann.command("down").await;
    let shut = ann.command("look east").await;
    assert!(shut.contains("The valve gate is closed."), "{shut}");
    ann.send("pull lever").await;
    ann.expect("Ann hauls the brass lever down.").await;
    // The lever's script opens the gate through the door path players use.
    ann.expect("The valve gate (east) opens.").await;
    let open = ann.command("east").await;
    assert!(open.starts_with("The Gasometer Gallery"), "{open}");
    ann.command("west").await;
    ann.send("pull lever").await;
    ann.expect("Ann shoves the brass lever up.").await;
    ann.expect("The valve gate (east) closes.").await;
    assert_eq!(ann.command("east").await, "The valve gate is closed.");
    server.stop().await;
}
