//! The sandbox and its limits, tripped one by one on real Luau VMs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::probe::{self, Step};
use super::vm::{Failure, Script, Slice, Vm};
use super::{Actor, Call, Hook, Limits};

fn load(text: &str) -> Result<(Vm, Script), Failure> {
    load_with(text, Limits::default())
}

fn load_with(text: &str, limits: Limits) -> Result<(Vm, Script), Failure> {
    let vm = Vm::new(limits)?;
    let (script, _) = vm.load("t.lua", text, BTreeMap::new(), true)?;
    Ok((vm, script))
}

fn vm(text: &str) -> (Vm, Script) {
    match load(text) {
        Ok(loaded) => loaded,
        Err(failure) => panic!("did not load: {}", failure.message),
    }
}

fn actor() -> Actor {
    Actor {
        name: "Ann".into(),
        npc: false,
    }
}

/// Runs `on_say` and returns its failure message.
fn failure_of(text: &str) -> String {
    let (vm, script) = vm(text);
    let started = Instant::now();
    let ran = vm.run(&script, "on_say", Some(&actor()), &["hi".into()]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the slice outlived its budget: {:?}",
        started.elapsed()
    );
    match ran.slice {
        Slice::Failed(failure) => failure.message,
        _ => panic!("the runaway script was not stopped"),
    }
}

#[test]
fn a_handler_says_with_the_actors_name() {
    let (vm, script) =
        vm("function on_say(actor, text) say('Hello, ' .. actor.name .. ': ' .. text) end");
    let ran = vm.run(&script, "on_say", Some(&actor()), &["hi".into()]);
    assert!(matches!(ran.slice, Slice::Done));
    assert_eq!(ran.calls, [Call::Say("Hello, Ann: hi".into())]);
}

#[test]
fn an_endless_loop_is_stopped_with_its_line() {
    let message = failure_of("function on_say()\n  while true do end\nend");
    assert!(message.starts_with("t.lua:2:"), "{message}");
    assert!(message.contains("budget"), "{message}");
}

#[test]
fn a_slow_loop_is_stopped_by_the_clock() {
    let limits = Limits {
        ticks: u64::MAX,
        wall: Duration::from_millis(30),
        ..Limits::default()
    };
    let text = "function on_say() local x = 0 while true do x = x + 1 end end";
    let (vm, script) = load_with(text, limits).expect("loads");
    let started = Instant::now();
    let ran = vm.run(&script, "on_say", None, &[]);
    assert!(started.elapsed() < Duration::from_secs(1));
    let Slice::Failed(failure) = ran.slice else {
        panic!("not stopped")
    };
    assert!(
        failure.message.contains("time budget"),
        "{}",
        failure.message
    );
}

#[test]
fn a_huge_string_hits_the_memory_cap() {
    let message = failure_of("function on_say() local s = string.rep('x', 100000000) end");
    assert!(message.contains("memory cap"), "{message}");
    let message = failure_of("function on_say() local s = 'x' for i = 1, 40 do s = s .. s end end");
    assert!(
        message.contains("memory cap") || message.contains("budget"),
        "{message}"
    );
}

#[test]
fn deep_recursion_is_stopped() {
    let message =
        failure_of("local function f(n) return f(n + 1) + 1 end\nfunction on_say() f(1) end");
    assert!(message.starts_with("t.lua"), "{message}");
}

#[test]
fn a_flood_of_say_is_stopped() {
    let message = failure_of("function on_say() for i = 1, 1000 do say('spam') end end");
    assert!(message.contains("flood"), "{message}");
}

#[test]
fn nothing_outside_the_api_is_reachable() {
    for probe in [
        "os.exit()",
        "io.open('/etc/passwd')",
        "require('x')",
        "loadstring('return 1')()",
        "getfenv(1)",
        "debug.traceback()",
        "print('x')",
        "string.dump(function() end)",
        "collectgarbage('count')",
    ] {
        let text = format!("function on_say() {probe} end");
        let message = failure_of(&text);
        assert!(message.starts_with("t.lua"), "{probe}: {message}");
    }
    // Globals and libraries are read-only: a script cannot change another's API.
    let message = failure_of("function on_say() string.rep = nil end");
    assert!(
        message.contains("readonly") || message.contains("read-only"),
        "{message}"
    );
}

#[test]
fn wait_yields_and_resumes() {
    let (vm, script) = vm("function on_enter(a) say('one') wait(3) say('two') end");
    let ran = vm.run(&script, "on_enter", Some(&actor()), &[]);
    assert_eq!(ran.calls, [Call::Say("one".into())]);
    let Slice::Waiting(thread, wait) = ran.slice else {
        panic!("did not wait")
    };
    assert_eq!(wait, Duration::from_secs(3));
    let ran = vm.resume_waiting(&script, &thread);
    assert_eq!(ran.calls, [Call::Say("two".into())]);
    assert!(matches!(ran.slice, Slice::Done));
}

#[test]
fn state_is_kept_and_read_back() {
    let (vm, script) = vm(
        "function on_say() state.set('n', (state.get('n') or 0) + 1) say(tostring(state.get('n'))) end",
    );
    vm.run(&script, "on_say", None, &[]);
    let ran = vm.run(&script, "on_say", None, &[]);
    assert_eq!(
        ran.calls,
        [
            Call::SetState {
                key: "n".into(),
                value: Some("2.0".into())
            },
            Call::Say("2".into())
        ]
    );
}

#[test]
fn syntax_errors_name_file_and_line() {
    let message =
        super::compile_error("bell.lua", "function f()\n  say('x'\nend").expect("an error");
    assert!(message.starts_with("bell.lua:3:"), "{message}");
    assert_eq!(super::compile_error("ok.lua", "function f() end"), None);
    let failure = load("x = = 1").err().expect("does not load");
    assert!(
        failure.message.starts_with("t.lua:1:"),
        "{}",
        failure.message
    );
    let failure = load("local x = nil\nx.y = 1").err().expect("does not load");
    assert!(
        failure.message.starts_with("t.lua:2:"),
        "{}",
        failure.message
    );
}

/// Why one VM per world: a Luau VM with mlua holds about 330 KiB before any
/// script, a script loaded into a VM about 1 KiB more.
#[test]
fn a_script_costs_a_few_kilobytes_of_its_worlds_vm() {
    let vm = Vm::new(Limits::default()).expect("a VM");
    vm.lua().gc_collect().expect("gc");
    let empty = vm.used_memory();
    let mut scripts = Vec::new();
    for n in 0..100 {
        let text = format!("function on_say(a, t) say(t .. '{n}') end");
        scripts.push(
            vm.load("t.lua", &text, BTreeMap::new(), true)
                .expect("loads")
                .0,
        );
    }
    vm.lua().gc_collect().expect("gc");
    let each = (vm.used_memory() - empty) / 100;
    eprintln!("an empty VM holds {empty} bytes; a loaded script {each} more");
    assert!(each < 8 * 1024, "a loaded script holds {each} bytes");
}

#[test]
fn scripts_in_one_vm_keep_their_own_globals() {
    let vm = Vm::new(Limits::default()).expect("a VM");
    let (a, _) = vm
        .load(
            "a.lua",
            "count = 1 function on_say() say('a' .. count) end",
            BTreeMap::new(),
            false,
        )
        .expect("a");
    let (b, _) = vm
        .load(
            "b.lua",
            "count = 2 function on_say() count = count + 1 say('b' .. count) end",
            BTreeMap::new(),
            false,
        )
        .expect("b");
    assert_eq!(
        vm.run(&b, "on_say", None, &[]).calls,
        [Call::Say("b3".into())]
    );
    assert_eq!(
        vm.run(&a, "on_say", None, &[]).calls,
        [Call::Say("a1".into())]
    );
    // A handler is only the script's own: `say` is the API, not a handler.
    assert!(!vm.handles(&a, "say"));
}

/// Pieces of scripts, good and bad, that the sandbox's property test puts
/// together at random.
const PIECES: &[&str] = &[
    "say('hi')",
    "emote(string.rep('x', 400))",
    "tell(actor, 'psst')",
    "move('north')",
    "give(actor, 'penny')",
    "take(actor, 'penny')",
    "spawn('penny')",
    "open('east')",
    "state.set('k', (state.get('k') or 0) + 1)",
    "state.set('s', string.rep('y', 2000))",
    "wait(0.01)",
    "wait(-1)",
    "wait('soon')",
    "every(0.5, function() end)",
    "after(1, function() say('later') end)",
    "while true do end",
    "local s = 'x' for i = 1, 30 do s = s .. s end",
    "local function f() return f() + 1 end f()",
    "for i = 1, 100 do say(i) end",
    "error('boom')",
    "coroutine.yield()",
    "coroutine.wrap(function() wait(1) end)()",
    "local t = {} setmetatable(t, {__index = function(t, k) return t[k] end}) local _ = t.x",
    "string.rep = nil",
    "x = os",
    "_G.say = nil",
    "getmetatable('').__index = nil",
    "local t = {} for i = 1, 1e6 do t[i] = i end",
    "pcall(function() while true do end end)",
    "say(nil)",
    "move()",
    "state.set(string.rep('k', 100), 1)",
    "local a = actor and actor.name",
    "(",
    "end",
    "\u{0}\u{1b}[31m",
];

#[test]
fn random_scripts_and_events_never_panic_or_outlive_their_budgets() {
    let mut rng = crate::test_rng::Rng(0x5eed_1e55);
    let limits = Limits {
        memory: 8 * 1024 * 1024,
        ..Limits::default()
    };
    let vm = Vm::new(limits).expect("a VM");
    let handlers = ["on_enter", "on_say", "on_command", "on_give"];
    // A slice may run its 50 ms and a little more before the interrupt
    // notices; never seconds.
    let bound = Duration::from_millis(500);
    for round in 0..150 {
        let mut text = String::new();
        for handler in handlers {
            text.push_str(&format!("function {handler}(actor, a, b)\n"));
            for _ in 0..rng.below(4) {
                text.push_str(PIECES[rng.below(PIECES.len())]);
                text.push('\n');
            }
            text.push_str("end\n");
        }
        if rng.below(3) == 0 {
            text.push_str(PIECES[rng.below(PIECES.len())]);
        }
        let started = Instant::now();
        let loaded = vm.load(
            &format!("r{round}.lua"),
            &text,
            BTreeMap::new(),
            rng.below(2) == 0,
        );
        assert!(
            started.elapsed() < bound,
            "loading took {:?}",
            started.elapsed()
        );
        let Ok((script, _)) = loaded else { continue };
        for _ in 0..4 {
            let handler = handlers[rng.below(handlers.len())];
            let started = Instant::now();
            let mut ran = vm.run(
                &script,
                handler,
                Some(&actor()),
                &["penny".into(), "x".into()],
            );
            // Follow a waiting coroutine to its end, a few slices at most.
            for _ in 0..3 {
                assert!(
                    started.elapsed() < bound,
                    "{handler} took {:?}:\n{text}",
                    started.elapsed()
                );
                assert!(
                    ran.calls.len() <= limits.calls,
                    "more calls than a slice may make"
                );
                let Slice::Waiting(thread, _) = ran.slice else {
                    break;
                };
                ran = vm.resume_waiting(&script, &thread);
            }
        }
        vm.take_timers();
        vm.unload(&script);
    }
    // The sandbox is still whole: a fresh script still has its API.
    let (script, _) = vm
        .load(
            "last.lua",
            "function on_say() say('still here') end",
            BTreeMap::new(),
            false,
        )
        .expect("loads");
    assert_eq!(
        vm.run(&script, "on_say", None, &[]).calls,
        [Call::Say("still here".into())]
    );
}

/// Small budgets, as the fuzz target's: a stop shows within a few
/// thousand ticks, and the clock is generous enough never to be the reason.
fn probe_limits() -> Limits {
    Limits {
        ticks: 5_000,
        wall: Duration::from_secs(5),
        memory: 4 * 1024 * 1024,
        calls: 20,
    }
}

fn probe_script(file: &str, text: &str) -> probe::Script {
    probe::Script {
        file: file.into(),
        text: text.into(),
        npc: true,
    }
}

fn say_to(script: usize, text: &str) -> Step {
    Step::Event {
        script,
        hook: Hook::Say,
        actor: Some(actor()),
        words: vec![text.into()],
    }
}

/// Runs `on_say` once under the probe's budgets and returns its slice.
fn probed_say(text: &str) -> probe::Slice {
    let report = probe::run(
        probe_limits(),
        &[probe_script("t.lua", text)],
        &[say_to(0, "hi")],
    )
    .expect("a VM");
    match report.slices.as_slice() {
        [_, said] => said.clone(),
        other => panic!("not one load and one on_say: {other:?}"),
    }
}

/// Regression (the fuzz target's first finding): the stop of a slice over
/// its ticks was an ordinary error, which `pcall` caught, so a script
/// whose every level caught it ran on: `f` below ran twice its budget of
/// ticks before the stops of all its levels were spent, and any amount of
/// work between them.
#[test]
fn a_caught_stop_stays_stopped() {
    let limits = probe_limits();
    for text in [
        "local function f() pcall(f) pcall(f) pcall(f) pcall(f) end\nfunction on_say() f() end",
        "local function f() xpcall(f, f) xpcall(f, f) xpcall(f, f) end\nfunction on_say() f() end",
        "local function f() coroutine.resume(coroutine.create(f)) coroutine.resume(coroutine.create(f)) end\nfunction on_say() f() end",
        "function on_say()\n  while true do pcall(function() while true do end end) end\nend",
    ] {
        let slice = probed_say(text);
        assert!(
            slice.ticks <= limits.ticks + 1,
            "{} ticks of {}: {text}",
            slice.ticks,
            limits.ticks
        );
        let failure = slice.failure.unwrap_or_default();
        assert!(failure.starts_with("t.lua:"), "{failure}: {text}");
        assert!(failure.contains("over its budget"), "{failure}: {text}");
    }
    // Stopped for a flood is stopped too: no call after the twentieth.
    let slice =
        probed_say("function on_say() for i = 1, 100 do pcall(say, 'x') end say('after') end");
    assert_eq!(slice.calls.len(), limits.calls);
    assert!(!slice.calls.contains(&Call::Say("after".into())));
    assert!(
        slice
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("flood")),
        "{:?}",
        slice.failure
    );
    // An xpcall's handler does not run for a stop.
    let slice = probed_say(
        "function on_say() xpcall(function() while true do end end, function(e) say('caught') return e end) say('after') end",
    );
    assert_eq!(slice.calls, []);
}

/// A stop inside a guarded `pcall` is worded with the script's line, not
/// the line of the sandbox's wrapper around it.
#[test]
fn a_stop_inside_pcall_names_the_scripts_line() {
    let slice =
        probed_say("function on_say()\n  pcall(function()\n    while true do end\n  end)\nend");
    let failure = slice.failure.unwrap_or_default();
    assert!(failure.starts_with("t.lua:3: stopped"), "{failure}");
}

/// The probe drives the host as the server does: three failures in a row
/// switch a script off, its globals freed and its timers silent; the other
/// script runs on, with its own globals, its wait and its timer.
#[test]
fn the_probe_sees_a_script_switched_off_and_another_run_on() {
    let bad = probe_script(
        "bad.lua",
        "n = 0\nafter(1, function() say('bad timer') end)\nfunction on_say() n = n + 1 error('boom ' .. n) end",
    );
    let good = probe_script(
        "good.lua",
        "every(2, function() say('tick') end)\nfunction on_say(a, t) say(a.name .. ': ' .. t) wait(5) say(tostring(n)) end",
    );
    let steps = [
        say_to(0, "one"),
        say_to(0, "two"),
        say_to(1, "hi"),
        say_to(0, "three"),
        say_to(0, "four"),
        // The bad script's timer (off: nothing runs), two ticks, the wait.
        Step::Fire,
        Step::Fire,
        Step::Fire,
        Step::Fire,
    ];
    let report = probe::run(probe_limits(), &[bad, good], &steps).expect("a VM");
    let of = |script: usize| -> Vec<&probe::Slice> {
        report
            .slices
            .iter()
            .filter(|s| s.script == script && s.step.is_some())
            .collect()
    };
    let bad = of(0);
    assert_eq!(bad.len(), 3, "{bad:?}");
    for (n, slice) in bad.iter().enumerate() {
        let failure = slice.failure.as_deref().unwrap_or_default();
        assert!(failure.starts_with("bad.lua:3: boom"), "{failure}");
        assert_eq!(slice.switched_off, n == 2, "{slice:?}");
    }
    assert_eq!(report.on, [false, true]);
    assert_eq!(report.own_globals[0], None);
    let good = of(1);
    let calls: Vec<&Call> = good.iter().flat_map(|s| &s.calls).collect();
    assert_eq!(
        calls,
        [
            &Call::Say("Ann: hi".into()),
            &Call::Say("tick".into()),
            &Call::Say("tick".into()),
            &Call::Say("nil".into()),
        ],
        "{good:?}"
    );
    assert!(
        good.iter()
            .all(|s| s.failure.is_none() && s.foreign_calls == 0)
    );
    assert_eq!(
        report.own_globals[1].as_deref(),
        Some(&["on_say".to_string()][..])
    );
    for slice in &report.slices {
        assert!(slice.ticks <= probe_limits().ticks + 1, "{slice:?}");
        assert!(slice.memory <= probe_limits().memory, "{slice:?}");
    }
    // The bad script's timer never fired: it was off before its time.
    assert!(!calls.contains(&&Call::Say("bad timer".into())));
}

/// Regression (the fuzz target's seed `string_rep_huge`): the names and
/// item ids of `tell`, `give`, `take` and `spawn` came out of the sandbox
/// at any length, as long as the memory cap allowed, into the game's
/// look-ups and its log lines; now they are held to a line's 500
/// characters, as texts are.
#[test]
fn names_and_items_are_no_longer_than_a_line() {
    for call in [
        "spawn(string.rep('i', 501))",
        "give(string.rep('n', 501), 'penny')",
        "take(actor, string.rep('i', 10000))",
        "tell(string.rep('n', 501), 'hi')",
        "tell({name = string.rep('n', 501)}, 'hi')",
    ] {
        let slice = probed_say(&format!("function on_say(actor) {call} end"));
        assert_eq!(slice.calls, [], "{call}");
        let failure = slice.failure.unwrap_or_default();
        assert!(
            failure.contains("at most 500 characters"),
            "{call}: {failure}"
        );
    }
    let slice = probed_say("function on_say(actor) spawn(string.rep('i', 500)) end");
    assert_eq!(slice.calls, [Call::Spawn("i".repeat(500))]);
}

/// Regression (the fuzz target's finding crash-3a2343bf): a script whose
/// text begins with a byte that mlua takes for a binary chunk's failed
/// with `attempt to load a binary chunk (mode is 't')`, naming no file.
#[test]
fn a_text_taken_for_a_binary_chunk_fails_naming_its_file() {
    let failure = load("\u{2}").err().expect("does not load");
    assert!(
        failure.message.starts_with("t.lua: "),
        "{}",
        failure.message
    );
    let message = super::compile_error("odd.lua", "\u{2}").expect("an error");
    assert!(message.starts_with("odd.lua: "), "{message}");
}
