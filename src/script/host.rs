//! The thread that runs one world's scripts: it owns their VMs, takes
//! events from a bounded channel, keeps the coroutines that wait and the
//! timers, counts each script's failures in a row (three switch it off until
//! `/reload`), and sends what the scripts ask for to the game. One thread per
//! world, not per script; it ends when its [`WorldScripts`] is dropped (a
//! `/reload` or the server's stop).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use mlua::{RegistryKey, Thread};
use parking_lot::Mutex;

use super::api::StateValue;
use super::vm::{Ran, Script, Slice, Vm};
use super::{Event, FAILURES_TO_OFF, Limits, Out, Owner, attached};
use crate::world::{RoomId, World};

/// How many events may wait for a world's scripts before new ones are
/// dropped.
const QUEUE: usize = 1024;

/// What `/script` shows of one script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub file: String,
    pub on: bool,
    pub last_error: Option<String>,
    /// Bytes the world's VM holds (every script of the world together).
    pub memory: usize,
}

/// A running world's scripts: the way in, and what `/script` reads.
pub struct WorldScripts {
    events: SyncSender<Event>,
    status: Arc<Mutex<HashMap<Owner, Status>>>,
    paused: Paused,
}

/// How many handlers of each script wait in `wait()` right now: what an
/// upgrade cannot carry over (a coroutine lives in its VM) and tells the
/// builders of.
type Paused = Arc<Mutex<HashMap<Owner, usize>>>;

impl WorldScripts {
    /// Loads every script of `world` on a thread of its own and runs it;
    /// `state` is what the database keeps of each script's state, and what
    /// the scripts ask for goes to `out`.
    pub fn start(
        world: &World,
        state: Vec<(String, String, String)>,
        limits: Limits,
        out: tokio::sync::mpsc::UnboundedSender<Out>,
    ) -> std::io::Result<WorldScripts> {
        let (events, inbox) = std::sync::mpsc::sync_channel(QUEUE);
        let status = Arc::new(Mutex::new(HashMap::new()));
        let scripts: Vec<(Owner, String, Arc<str>)> = attached(world)
            .into_iter()
            .filter_map(|(owner, file)| {
                let text = world.scripts.get(&file)?.clone();
                Some((owner, file, text))
            })
            .collect();
        let mut kept: HashMap<String, BTreeMap<String, StateValue>> = HashMap::new();
        for (owner, key, value) in state {
            if let Some(value) = StateValue::from_json(&value) {
                kept.entry(owner).or_default().insert(key, value);
            }
        }
        // Each script counts as on from the start: events sent while the
        // thread loads it wait in the queue, which it reads only after.
        status.lock().extend(scripts.iter().map(|(owner, file, _)| {
            let status = Status {
                file: file.clone(),
                on: true,
                last_error: None,
                memory: 0,
            };
            (owner.clone(), status)
        }));
        let shown = status.clone();
        let paused = Paused::default();
        let waits = paused.clone();
        std::thread::Builder::new()
            .name(format!("scripts-{}", world.id))
            .spawn(move || {
                let vm = match Vm::new(limits) {
                    Ok(vm) => vm,
                    Err(failure) => {
                        tracing::error!("scripts not started: {}", failure.message);
                        return;
                    }
                };
                let mut host = Host::new(vm, out, shown);
                host.paused = waits;
                host.load_all(scripts, kept);
                host.run(&inbox);
            })?;
        Ok(WorldScripts {
            events,
            status,
            paused,
        })
    }

    /// Queues an event; never waits. A full queue drops it, with a log line.
    pub fn send(&self, event: Event) {
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event)) => {
                tracing::warn!(owner = %event.owner, "scripts are busy: event dropped");
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// What `/script` shows of the script attached to `owner`.
    pub fn status(&self, owner: &Owner) -> Option<Status> {
        self.status.lock().get(owner).cloned()
    }

    /// The scripts with a handler paused in `wait()`, and how many each.
    pub fn paused(&self) -> Vec<(Owner, usize)> {
        let mut paused: Vec<_> = self
            .paused
            .lock()
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(o, n)| (o.clone(), *n))
            .collect();
        paused.sort();
        paused
    }

    /// Every script's status.
    pub fn statuses(&self) -> Vec<(Owner, Status)> {
        let mut all: Vec<_> = self
            .status
            .lock()
            .iter()
            .map(|(o, s)| (o.clone(), s.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// One script on the host.
struct Loaded {
    /// `None` once it failed to load or was switched off.
    script: Option<Script>,
    file: String,
    failures: u32,
}

/// What waits its time on the host: a coroutine, or a timer.
enum Due {
    Resume {
        owner: Owner,
        thread: Thread,
        place: Option<RoomId>,
    },
    Timer {
        owner: Owner,
        key: Arc<RegistryKey>,
        every: Duration,
        repeat: bool,
    },
}

pub(super) struct Host {
    vm: Vm,
    scripts: HashMap<Owner, Loaded>,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    pending: HashMap<u64, Due>,
    next: u64,
    out: tokio::sync::mpsc::UnboundedSender<Out>,
    status: Arc<Mutex<HashMap<Owner, Status>>>,
    paused: Paused,
}

impl Host {
    /// A host with no script loaded yet, sending what its scripts ask for
    /// to `out` and their status to `status`.
    pub(super) fn new(
        vm: Vm,
        out: tokio::sync::mpsc::UnboundedSender<Out>,
        status: Arc<Mutex<HashMap<Owner, Status>>>,
    ) -> Host {
        Host {
            vm,
            scripts: HashMap::new(),
            queue: BinaryHeap::new(),
            pending: HashMap::new(),
            next: 0,
            out,
            status,
            paused: Paused::default(),
        }
    }

    fn load_all(
        &mut self,
        scripts: Vec<(Owner, String, Arc<str>)>,
        mut kept: HashMap<String, BTreeMap<String, StateValue>>,
    ) {
        for (owner, file, text) in scripts {
            let state = kept.remove(&owner.to_string()).unwrap_or_default();
            self.load_one(owner, file, &text, state);
        }
    }

    /// Loads one script and runs its top level; one that cannot load is off
    /// until `/reload`.
    pub(super) fn load_one(
        &mut self,
        owner: Owner,
        file: String,
        text: &str,
        state: BTreeMap<String, StateValue>,
    ) {
        let is_npc = matches!(owner, Owner::Npc(_));
        let mut loaded = Loaded {
            script: None,
            file: file.clone(),
            failures: 0,
        };
        match self.vm.load(&file, text, state, is_npc) {
            Ok((script, calls)) => {
                loaded.script = Some(script);
                self.scripts.insert(owner.clone(), loaded);
                self.after_slice(&owner, None, calls, Slice::Done);
            }
            Err(failure) => {
                // A script that cannot load is off until `/reload`.
                self.scripts.insert(owner.clone(), loaded);
                self.show(&owner, Some(failure.message.clone()));
                self.report(&owner, failure.message, true);
            }
        }
    }

    fn run(&mut self, inbox: &Receiver<Event>) {
        loop {
            let now = Instant::now();
            self.fire_due(now);
            let wait = self
                .queue
                .peek()
                .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()));
            let received = match wait {
                Some(wait) => inbox.recv_timeout(wait),
                None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    pub(super) fn handle(&mut self, event: Event) {
        let Some(script) = self.running(&event.owner) else {
            return;
        };
        let handler = event.hook.handler();
        if !self.vm.handles(script, handler) {
            return;
        }
        let ran = self
            .vm
            .run(script, handler, event.actor.as_ref(), &event.words);
        self.after(&event.owner, event.place, ran);
    }

    /// Fires every timer and resumes every coroutine whose time has come.
    fn fire_due(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.queue.peek().copied() {
            if at > now {
                return;
            }
            self.queue.pop();
            self.fire(id, now);
        }
    }

    /// Fires the timer or resumes the coroutine due first, whenever it is
    /// due (the probe's clock is the order of the queue); returns whose it
    /// was, `None` when nothing waits.
    pub(super) fn fire_next(&mut self) -> Option<Owner> {
        let Reverse((at, id)) = self.queue.pop()?;
        self.fire(id, at)
    }

    /// Fires one timer or coroutine; returns whose it was.
    fn fire(&mut self, id: u64, now: Instant) -> Option<Owner> {
        let due = self.pending.remove(&id)?;
        match due {
            Due::Resume {
                owner,
                thread,
                place,
            } => {
                self.count_paused(&owner, false);
                if let Some(script) = self.running(&owner) {
                    let ran = self.vm.resume_waiting(script, &thread);
                    self.after(&owner, place, ran);
                }
                Some(owner)
            }
            Due::Timer {
                owner,
                key,
                every,
                repeat,
            } => {
                let Some(script) = self.running(&owner) else {
                    return Some(owner);
                };
                let ran = self.vm.run_timer(script, &key);
                if repeat {
                    self.schedule(
                        now + every,
                        Due::Timer {
                            owner: owner.clone(),
                            key,
                            every,
                            repeat,
                        },
                    );
                }
                self.after(&owner, None, ran);
                Some(owner)
            }
        }
    }

    /// The world's VM.
    pub(super) fn vm(&self) -> &Vm {
        &self.vm
    }

    /// Whether the script of `owner` is loaded and on.
    pub(super) fn is_on(&self, owner: &Owner) -> bool {
        self.running(owner).is_some()
    }

    /// The names of the own globals of `owner`'s script, while it is on.
    pub(super) fn own_globals(&self, owner: &Owner) -> Option<Vec<String>> {
        Some(self.vm.own_globals(self.running(owner)?))
    }

    /// The timers `owner` has waiting, and its coroutines that wait.
    pub(super) fn waiting_of(&self, owner: &Owner) -> (usize, usize) {
        let mut timers = 0;
        let mut waits = 0;
        for due in self.pending.values() {
            match due {
                Due::Timer { owner: o, .. } if o == owner => timers += 1,
                Due::Resume { owner: o, .. } if o == owner => waits += 1,
                _ => {}
            }
        }
        (timers, waits)
    }

    /// A script that is on.
    fn running(&self, owner: &Owner) -> Option<&Script> {
        self.scripts.get(owner)?.script.as_ref()
    }

    fn after(&mut self, owner: &Owner, place: Option<RoomId>, ran: Ran) {
        self.after_slice(owner, place, ran.calls, ran.slice);
    }

    /// Sends a slice's calls, keeps its timers and its wait, and counts its
    /// failure or its success.
    fn after_slice(
        &mut self,
        owner: &Owner,
        place: Option<RoomId>,
        calls: Vec<super::Call>,
        slice: Slice,
    ) {
        for call in calls {
            let _ = self.out.send(Out::Act {
                owner: owner.clone(),
                place: place.clone(),
                call,
            });
        }
        self.keep_timers(owner);
        let Some(loaded) = self.scripts.get_mut(owner) else {
            return;
        };
        match slice {
            Slice::Done => loaded.failures = 0,
            Slice::Waiting(thread, wait) => {
                loaded.failures = 0;
                let due = Due::Resume {
                    owner: owner.clone(),
                    thread,
                    place,
                };
                self.schedule(Instant::now() + wait, due);
                self.count_paused(owner, true);
            }
            Slice::Failed(failure) => {
                loaded.failures += 1;
                let off = loaded.failures >= FAILURES_TO_OFF;
                if off && let Some(script) = loaded.script.take() {
                    // Its globals go with it, and whatever memory it hoarded.
                    self.vm.unload(&script);
                }
                // `/script` and the verbs see it off before anyone is told.
                self.show(owner, Some(failure.message.clone()));
                self.report(owner, failure.message, off);
                return;
            }
        }
        self.show(owner, None);
    }

    fn keep_timers(&mut self, owner: &Owner) {
        let timers = self.vm.take_timers();
        if self.running(owner).is_none() {
            return;
        }
        let mut keys = Vec::new();
        for timer in timers {
            if let Ok(key) = self.vm.lua().create_registry_value(timer.function) {
                keys.push((Arc::new(key), timer.every, timer.repeat));
            }
        }
        let now = Instant::now();
        for (key, every, repeat) in keys {
            let due = Due::Timer {
                owner: owner.clone(),
                key,
                every,
                repeat,
            };
            self.schedule(now + every, due);
        }
    }

    /// One more or one fewer of `owner`'s handlers in `wait()`.
    fn count_paused(&self, owner: &Owner, more: bool) {
        let mut paused = self.paused.lock();
        if more {
            *paused.entry(owner.clone()).or_default() += 1;
        } else if let Some(n) = paused.get_mut(owner) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                paused.remove(owner);
            }
        }
    }

    fn schedule(&mut self, at: Instant, due: Due) {
        let id = self.next;
        self.next += 1;
        self.pending.insert(id, due);
        self.queue.push(Reverse((at, id)));
    }

    fn report(&self, owner: &Owner, message: String, switched_off: bool) {
        let _ = self.out.send(Out::Failed {
            owner: owner.clone(),
            message,
            switched_off,
        });
    }

    /// Brings `/script`'s view of one script up to date.
    fn show(&self, owner: &Owner, error: Option<String>) {
        let Some(loaded) = self.scripts.get(owner) else {
            return;
        };
        let memory = self.vm.used_memory();
        let mut status = self.status.lock();
        let last_error = error.or_else(|| status.get(owner).and_then(|s| s.last_error.clone()));
        status.insert(
            owner.clone(),
            Status {
                file: loaded.file.clone(),
                on: loaded.script.is_some(),
                last_error,
                memory,
            },
        );
    }
}
