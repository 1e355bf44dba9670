//! The script sandbox (`script::probe`, docs/scripting.md): any script text,
//! one or two scripts in one world VM beside a witness script, and any
//! sequence of events (hooks with any actor and words, timers firing, waits
//! resumed), run through the real host under small budgets. Beyond never
//! panicking, what the docs promise holds:
//!
//! - every slice stops by its budget of ticks: at most `ticks + 1` interrupts
//!   are counted (the one over the budget stops it; Luau interrupts at calls
//!   and loop back-edges, so what lies between two interrupts, straight-line
//!   code and one library call, is the overshoot, and it adds no tick);
//! - no slice asks for more than `calls` calls, and none comes out for a
//!   script but its own; the world's VM never holds more than its memory cap;
//! - every call is one of the API's kinds, with arguments within its limits:
//!   texts and names at most 500 characters, `move` from NPCs only, state
//!   keys of 1 to 64 characters, at most 64 of them, values strings of at
//!   most 1,024 characters, finite numbers or booleans; at most 16 timers;
//! - what a script may not reach stays out of reach: the shared globals the
//!   scripts read through are never written (the probe reads them), and the
//!   witness, loaded first, finds at the end the real globals and every
//!   library exactly as they were, none of `os`, `io`, `require`, `load`,
//!   `loadstring`, `dofile`, `getfenv`, `setfenv`, `debug`, ... among them,
//!   and its own globals (which no other script sees) unchanged;
//! - a script that failed three times in a row, or could not load, is off
//!   and runs no more; a success in between starts the count again; every
//!   failure is worded with the script's file name.
//!
//! Input: a flags byte (bit 0: two scripts; bits 1 and 2: script one's and
//! two's owner is an NPC), then script one's text, a NUL, script two's text
//! and a NUL when there are two, then the events, two bytes each (see
//! `events`).

#![no_main]

use std::collections::BTreeMap;
use std::time::Duration;

use gaslamp::script::probe::{self, Report, Script, Step};
use gaslamp::script::{Actor, Call, Hook, Limits, StateValue};
use libfuzzer_sys::fuzz_target;

/// Small budgets, so that each input runs in milliseconds. The clock's is
/// a hundred times what a slice of 5,000 ticks takes even under
/// AddressSanitizer, so it stops only a slice whose every tick is a large
/// library call, and nothing here is asserted on time; it bounds an input's
/// run (its events and loads) well inside libFuzzer's timeout.
const LIMITS: Limits = Limits {
    ticks: 5_000,
    wall: Duration::from_millis(500),
    memory: 3 * 1024 * 1024,
    calls: 20,
};

/// The API's limits, as docs/scripting.md gives them.
const MAX_TEXT: usize = 500;
const MAX_KEY: usize = 64;
const MAX_KEYS: usize = 64;
const MAX_VALUE: usize = 1024;
const MAX_TIMERS: usize = 16;
const FAILURES_TO_OFF: u32 = 3;
/// The most events one input runs.
const MAX_EVENTS: usize = 32;

const SECRET: &str = "w1tness-5ecret";
const WITNESS_FILE: &str = "witness.lua";

/// Loaded first: takes a copy of the real globals and of every library,
/// and at the end checks that nothing of them, and nothing of its own
/// globals, changed.
const WITNESS: &str = r#"witness_secret = "w1tness-5ecret"
local seen, libs = {}, {}
for k, v in pairs(_G) do seen[k] = v end
for name, lib in pairs(seen) do
  if type(lib) == "table" and lib ~= _G then
    local copy = {}
    for k, v in pairs(lib) do copy[k] = v end
    libs[name] = copy
  end
end
local strings = getmetatable("")
-- `math.nan` is no value's equal, not even its own.
local function same(a, b) return a == b or (a ~= a and b ~= b) end
function on_command(actor, verb)
  if witness_secret ~= "w1tness-5ecret" then error("witness: its own global changed") end
  for k, v in pairs(_G) do
    if not same(seen[k], v) then error("witness: the global " .. tostring(k) .. " is new or changed") end
  end
  for k, v in pairs(seen) do
    if not same(rawget(_G, k), v) then error("witness: the global " .. tostring(k) .. " is gone") end
  end
  for name, copy in pairs(libs) do
    local lib = rawget(_G, name)
    for k, v in pairs(lib) do
      if not same(copy[k], v) then error("witness: " .. name .. "." .. tostring(k) .. " is new or changed") end
    end
    for k, v in pairs(copy) do
      if not same(rawget(lib, k), v) then error("witness: " .. name .. "." .. tostring(k) .. " is gone") end
    end
  end
  if getmetatable("") ~= strings or strings.__index ~= string then
    error("witness: the strings' metatable changed")
  end
  if os ~= nil or io ~= nil or require ~= nil or load ~= nil or loadstring ~= nil
    or dofile ~= nil or loadfile ~= nil or getfenv ~= nil or setfenv ~= nil
    or debug ~= nil or package ~= nil or collectgarbage ~= nil or print ~= nil
    or newproxy ~= nil or gcinfo ~= nil then
    error("witness: a forbidden global is reachable")
  end
  say("witness ok")
end
"#;

/// What the events' bytes pick from.
const NAMES: &[&str] = &[
    "Ann",
    "Bob",
    "",
    "Old Tam",
    "ann",
    "x\u{0}y",
    "Ünïcødé",
    "a]]..[[",
];
const WORDS: &[&str] = &[
    "hello",
    "",
    "penny",
    "pull lever",
    "north",
    "ask",
    "  spaced  out  ",
    "\u{1b}[31mred",
    "ring bell",
    "\u{0}",
    "é",
    "w1tness",
    "999999999999999999999",
    "nan",
    "state",
    "on_say",
];
const HOOKS: [Hook; 7] = [
    Hook::Enter,
    Hook::Leave,
    Hook::Say,
    Hook::Get,
    Hook::Drop,
    Hook::Give,
    Hook::Command,
];

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let two = flags & 1 != 0;
    let mut parts = rest.splitn(if two { 3 } else { 2 }, |&b| b == 0);
    let mut scripts = vec![Script {
        file: WITNESS_FILE.into(),
        text: WITNESS.into(),
        npc: false,
    }];
    for (n, file) in ["a.lua", "b.lua"].into_iter().enumerate() {
        if n == 1 && !two {
            break;
        }
        let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        scripts.push(Script {
            file: file.into(),
            text,
            npc: flags & (2 << n) != 0,
        });
    }
    let mut steps = events(parts.next().unwrap_or_default(), scripts.len() - 1);
    let check = steps.len();
    steps.push(Step::Event {
        script: 0,
        hook: Hook::Command,
        actor: None,
        words: vec!["check".into()],
    });
    let report = match probe::run(LIMITS, &scripts, &steps) {
        Ok(report) => report,
        Err(message) => panic!("no sandbox: {message}"),
    };
    check_report(&scripts, &report, check);
});

/// Two bytes an event: the first picks the hook (or a timer or wait firing)
/// and the script, the second the actor and the words.
fn events(bytes: &[u8], scripts: usize) -> Vec<Step> {
    bytes
        .chunks(2)
        .take(MAX_EVENTS)
        .map(|pair| {
            let what = pair[0];
            let how = pair.get(1).copied().unwrap_or(0);
            let kind = usize::from(what & 7);
            if kind == 7 || what & 0x80 != 0 {
                return Step::Fire;
            }
            let hook = HOOKS[kind];
            let script = 1 + usize::from((what >> 3) & 1) % scripts;
            let actor = (how & 0x10 == 0).then(|| Actor {
                name: NAMES[usize::from(how) % NAMES.len()].to_string(),
                npc: how & 0x08 != 0,
            });
            let word = |n: u8| WORDS[usize::from(n) % WORDS.len()].to_string();
            let words = match hook {
                Hook::Enter | Hook::Leave => Vec::new(),
                Hook::Say | Hook::Get | Hook::Drop | Hook::Give => {
                    vec![word((how >> 5) ^ (what >> 4))]
                }
                Hook::Command => vec![word(what >> 4), word(how >> 5)],
            };
            Step::Event {
                script,
                hook,
                actor,
                words,
            }
        })
        .collect()
}

fn check_report(scripts: &[Script], report: &Report, check: usize) {
    assert_eq!(
        report.steps_with_several_slices, 0,
        "a step ran several slices"
    );
    assert!(
        report.shared_globals.is_empty(),
        "a script wrote the shared globals: {:?}",
        report.shared_globals
    );
    assert!(
        report.memory <= LIMITS.memory,
        "{} bytes held",
        report.memory
    );
    let mut failures = vec![0u32; scripts.len()];
    let mut off = vec![false; scripts.len()];
    let mut state: Vec<BTreeMap<String, ()>> = vec![BTreeMap::new(); scripts.len()];
    for slice in &report.slices {
        let i = slice.script;
        let script = &scripts[i];
        assert!(!off[i], "{} ran after it was off: {slice:?}", script.file);
        assert!(
            slice.ticks <= LIMITS.ticks + 1,
            "{} counted {} ticks",
            script.file,
            slice.ticks
        );
        assert!(slice.calls.len() <= LIMITS.calls, "a flood came out");
        assert_eq!(slice.foreign_calls, 0, "calls came out for another script");
        assert!(slice.memory <= LIMITS.memory, "{} bytes held", slice.memory);
        assert!(slice.timers <= MAX_TIMERS, "{} timers", slice.timers);
        for call in &slice.calls {
            check_call(script, call, &mut state[i]);
            if i > 0 && !script.text.contains("5ecret") {
                assert!(
                    !format!("{call:?}").contains(SECRET),
                    "{} read the witness's global",
                    script.file
                );
            }
        }
        match &slice.failure {
            None => {
                assert!(slice.on, "{} is off with no failure", script.file);
                failures[i] = 0;
            }
            Some(message) => {
                assert!(
                    message.starts_with(&format!("{}:", script.file)),
                    "a failure of {} not worded with its file: {message}",
                    script.file
                );
                failures[i] += 1;
                let should = slice.step.is_none() || failures[i] >= FAILURES_TO_OFF;
                assert_eq!(
                    slice.switched_off, should,
                    "{} after {} failures in a row: {message}",
                    script.file, failures[i]
                );
                assert_eq!(slice.on, !should);
                off[i] = should;
            }
        }
    }
    assert_eq!(report.on, off.iter().map(|off| !off).collect::<Vec<_>>());
    for (i, globals) in report.own_globals.iter().enumerate() {
        assert_eq!(globals.is_none(), off[i], "{}'s globals", scripts[i].file);
    }
    // The witness: its own globals as it made them, and its check passed
    // (unless memory others hoard made it fail).
    let witness = report
        .slices
        .iter()
        .find(|slice| slice.script == 0 && slice.step == Some(check));
    let Some(witness) = witness else {
        panic!("the witness did not run its check");
    };
    match &witness.failure {
        Some(message) if message.contains("memory") => {}
        Some(message) => panic!("{message}"),
        None => {
            assert_eq!(witness.calls, [Call::Say("witness ok".into())]);
            let own = report.own_globals[0].as_deref().unwrap_or_default();
            assert_eq!(
                own,
                ["on_command", "witness_secret"],
                "the witness's globals"
            );
        }
    }
}

/// One call against the API's documented kinds and limits.
fn check_call(script: &Script, call: &Call, state: &mut BTreeMap<String, ()>) {
    let short = |text: &str| {
        assert!(
            text.chars().count() <= MAX_TEXT,
            "{}: {} characters in {call:?}",
            script.file,
            text.chars().count()
        );
    };
    match call {
        Call::Say(text) | Call::Emote(text) | Call::Spawn(text) => short(text),
        Call::Tell { to, text } => {
            short(to);
            short(text);
        }
        Call::Move(exit) => {
            assert!(script.npc, "{} moved, and is no NPC", script.file);
            short(exit);
        }
        Call::Give { to: who, item } | Call::Take { from: who, item } => {
            short(who);
            short(item);
        }
        Call::Door { exit, .. } => short(exit),
        Call::SetState { key, value } => {
            let chars = key.chars().count();
            assert!(
                (1..=MAX_KEY).contains(&chars),
                "a state key of {chars} characters"
            );
            match value {
                None => {
                    state.remove(key);
                }
                Some(json) => {
                    match StateValue::from_json(json) {
                        Some(StateValue::Text(text)) => {
                            assert!(text.chars().count() <= MAX_VALUE, "a state value too long")
                        }
                        Some(StateValue::Number(n)) => assert!(n.is_finite()),
                        Some(StateValue::Flag(_)) => {}
                        None => panic!("state value {json:?} is none the state keeps"),
                    }
                    state.insert(key.clone(), ());
                    assert!(state.len() <= MAX_KEYS, "{} state keys", state.len());
                }
            }
        }
    }
}
