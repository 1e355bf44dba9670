//! A way into the sandbox for the fuzz target `script_sandbox` and the
//! tests, and for nothing of the server: loads scripts into one fresh world
//! VM under the [`Limits`] given and runs a list of [`Step`]s through the
//! real host (`host.rs`: the failures in a row counted, a script switched
//! off, timers and waiting coroutines kept), synchronously on the calling
//! thread, with no channel, thread or clock to wait on. It reports every
//! slice that ran: whose it was, the calls it asked for, the interrupt ticks
//! it counted, how long it took, its failure and the VM's memory after it.
//!
//! Timers and waits do not wait: [`Step::Fire`] fires whichever is due
//! first, however far off, so a day's `wait` is as quick as a second's.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::host::Host;
use super::vm::Vm;
use super::{Actor, Call, Event, Hook, Limits, Out, Owner};

/// One script to load: its file name (which its errors are worded with),
/// its text, and whether it is an NPC's (only NPCs may `move`).
#[derive(Debug, Clone)]
pub struct Script {
    pub file: String,
    pub text: String,
    pub npc: bool,
}

/// What happens to the scripts, one after another.
#[derive(Debug, Clone)]
pub enum Step {
    /// An event for the script at `script` (its place in the list loaded).
    Event {
        script: usize,
        hook: Hook,
        actor: Option<Actor>,
        words: Vec<String>,
    },
    /// The timer or waiting coroutine due first fires, however far off.
    Fire,
}

/// One slice that ran (a script's top level, a handler, a timer, a
/// resumed `wait`), as the host saw it.
#[derive(Debug, Clone)]
pub struct Slice {
    /// Whose: the script's place in the list loaded.
    pub script: usize,
    /// The step that ran it; `None` for the script's top level.
    pub step: Option<usize>,
    /// The interrupt ticks the slice counted.
    pub ticks: u64,
    /// The calls it asked for, in order.
    pub calls: Vec<Call>,
    /// Calls that came out in its name for another script (never any).
    pub foreign_calls: usize,
    /// Wall-clock time the step took.
    pub wall: Duration,
    /// Its failure, worded as builders read it.
    pub failure: Option<String>,
    /// Whether the failure switched the script off.
    pub switched_off: bool,
    /// Whether the script is on after it.
    pub on: bool,
    /// Bytes the world's VM holds after it.
    pub memory: usize,
    /// The timers of the script waiting after it, and its coroutines that
    /// wait.
    pub timers: usize,
    pub waits: usize,
}

/// Everything a run showed.
#[derive(Debug, Clone)]
pub struct Report {
    pub slices: Vec<Slice>,
    /// Steps that ran more than one slice (never any: one event, or one
    /// due timer or coroutine, is one slice at most).
    pub steps_with_several_slices: usize,
    /// Whether each script is on at the end.
    pub on: Vec<bool>,
    /// The names each script's own globals hold at the end (`None` when it
    /// is off: its globals were freed).
    pub own_globals: Vec<Option<Vec<String>>>,
    /// The names the shared, read-only globals hold at the end.
    pub shared_globals: Vec<String>,
    /// Bytes the world's VM holds at the end.
    pub memory: usize,
}

/// The owner a probe gives the script at `index`.
fn owner(index: usize, npc: bool) -> Owner {
    let key: Arc<str> = Arc::from(format!("probe:s{index}"));
    if npc {
        Owner::Npc(key)
    } else {
        Owner::Item(key)
    }
}

/// Loads `scripts` into one fresh VM made with `limits`, in order, then
/// runs `steps`. An error only when the VM cannot be made.
pub fn run(limits: Limits, scripts: &[Script], steps: &[Step]) -> Result<Report, String> {
    let vm = Vm::new(limits).map_err(|failure| failure.message)?;
    let (out, mut inbox) = tokio::sync::mpsc::unbounded_channel();
    let status = Arc::new(Mutex::new(HashMap::new()));
    let mut host = Host::new(vm, out, status);
    let owners: Vec<Owner> = scripts
        .iter()
        .enumerate()
        .map(|(i, script)| owner(i, script.npc))
        .collect();
    let index: HashMap<&Owner, usize> = owners.iter().enumerate().map(|(i, o)| (o, i)).collect();
    let mut report = Report {
        slices: Vec::new(),
        steps_with_several_slices: 0,
        on: Vec::new(),
        own_globals: Vec::new(),
        shared_globals: Vec::new(),
        memory: 0,
    };
    let mut watch =
        |host: &mut Host, step: Option<usize>, go: &mut dyn FnMut(&mut Host) -> Option<usize>| {
            let (before, _) = host.vm().last_slice();
            let started = Instant::now();
            let whose = go(host);
            let wall = started.elapsed();
            let (after, ticks) = host.vm().last_slice();
            let mut calls = Vec::new();
            let mut foreign_calls = 0;
            let mut failure = None;
            let mut switched_off = false;
            while let Ok(out) = inbox.try_recv() {
                match out {
                    Out::Act { owner, call, .. } => {
                        if whose.is_some() && index.get(&owner).copied() == whose {
                            calls.push(call);
                        } else {
                            foreign_calls += 1;
                        }
                    }
                    Out::Failed {
                        message,
                        switched_off: off,
                        ..
                    } => {
                        failure = Some(message);
                        switched_off = off;
                    }
                }
            }
            if after > before + 1 {
                report.steps_with_several_slices += 1;
            }
            let Some(script) = whose else { return };
            // A script that cannot compile fails without a slice; it is
            // reported as one, with no ticks.
            if after == before && failure.is_none() {
                return;
            }
            let ticks = if after == before { 0 } else { ticks };
            let (timers, waits) = host.waiting_of(&owners[script]);
            report.slices.push(Slice {
                script,
                step,
                ticks,
                calls,
                foreign_calls,
                wall,
                failure,
                switched_off,
                on: host.is_on(&owners[script]),
                memory: host.vm().used_memory(),
                timers,
                waits,
            });
        };
    for (i, script) in scripts.iter().enumerate() {
        let owner = owners[i].clone();
        watch(&mut host, None, &mut |host| {
            host.load_one(
                owner.clone(),
                script.file.clone(),
                &script.text,
                BTreeMap::new(),
            );
            Some(i)
        });
    }
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::Event {
                script,
                hook,
                actor,
                words,
            } => {
                let Some(owner) = owners.get(*script) else {
                    continue;
                };
                let event = Event {
                    owner: owner.clone(),
                    hook: *hook,
                    actor: actor.clone(),
                    words: words.clone(),
                    place: None,
                };
                let script = *script;
                watch(&mut host, Some(n), &mut |host| {
                    host.handle(event.clone());
                    Some(script)
                });
            }
            Step::Fire => watch(&mut host, Some(n), &mut |host| {
                let owner = host.fire_next()?;
                index.get(&owner).copied()
            }),
        }
    }
    report.on = owners.iter().map(|o| host.is_on(o)).collect();
    report.own_globals = owners.iter().map(|o| host.own_globals(o)).collect();
    report.shared_globals = host.vm().shared_globals();
    report.memory = host.vm().used_memory();
    Ok(report)
}
