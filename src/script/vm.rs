//! One script's Luau VM: made in Luau's sandbox with only the safe libraries
//! and the game's API (`api.rs`), its handlers run as coroutines under a
//! budget of interrupt ticks, a wall-clock budget per slice and a memory cap.
//! A slice is one run of a coroutine up to its end or its next `wait`; what
//! it asked the game to do comes back as [`Call`]s, never done here.
//!
//! **Invariant:** nothing a script does can panic the host or outlive its
//! slice's budgets: every error, the budgets' included, comes back as a
//! [`Failure`] with the file, the line where known, and the event.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mlua::chunk::ChunkMode;
use mlua::thread::ThreadStatus;
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Thread, Value, VmState};

use super::api::{self, Shared, Stop};
use super::{Actor, Call, Limits};

/// A failure of one slice, worded for builders: `<file>:<line>: <what>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
}

/// How a slice ended.
pub(super) enum Slice {
    /// The handler returned (or there was none).
    Done,
    /// The coroutine waits `Duration` before it goes on.
    Waiting(Thread, Duration),
    Failed(Failure),
}

/// What a slice asked for, and how it ended.
pub(super) struct Ran {
    pub(super) calls: Vec<Call>,
    pub(super) slice: Slice,
}

/// The budgets of the slice running now, and whose it is.
struct Budget {
    ticks: Cell<u64>,
    deadline: Cell<Instant>,
    file: RefCell<String>,
    /// Why the slice was stopped, once it was: every interrupt after it
    /// fails the same way, and the catchers pass it on (see
    /// [`guard_catchers`]), so no `pcall` keeps a stopped script going.
    stop: Stop,
}

/// One loaded script: its own globals (an environment whose reads fall
/// through to the locked shared globals), its file, its id in the API's
/// records.
pub(super) struct Script {
    id: usize,
    env: Table,
    file: String,
}

/// One world's VM: every script of the world, each in its own environment.
pub(super) struct Vm {
    lua: Lua,
    limits: Limits,
    budget: Rc<Budget>,
    shared: Rc<RefCell<Shared>>,
    next: Cell<usize>,
    /// Slices run so far, for the probe and the tests.
    slices: Cell<u64>,
}

impl Vm {
    /// Makes the sandbox: the safe libraries, the API, the globals locked,
    /// the memory cap and the interrupt.
    pub(super) fn new(limits: Limits) -> Result<Vm, Failure> {
        let fail = |e: mlua::Error| Failure {
            message: format!("the sandbox could not be made: {e}"),
        };
        let lua = Lua::new_with(safe_libraries(), LuaOptions::default()).map_err(fail)?;
        let stop: Stop = Rc::new(RefCell::new(None));
        let shared = Rc::new(RefCell::new(Shared::new(limits, stop.clone())));
        prepare(&lua, &shared, &stop).map_err(fail)?;
        lua.set_memory_limit(limits.memory).map_err(fail)?;
        let budget = Rc::new(Budget {
            ticks: Cell::new(0),
            deadline: Cell::new(Instant::now() + limits.wall),
            file: RefCell::new(String::new()),
            stop,
        });
        set_interrupt(&lua, &budget, limits);
        Ok(Vm {
            lua,
            limits,
            budget,
            shared,
            next: Cell::new(1),
            slices: Cell::new(0),
        })
    }

    /// Loads one script and runs its top level (under the budgets, as the
    /// event `load`); returns it with what the top level asked for.
    pub(super) fn load(
        &self,
        file: &str,
        text: &str,
        state: BTreeMap<String, api::StateValue>,
        is_npc: bool,
    ) -> Result<(Script, Vec<Call>), Failure> {
        let id = self.next.get();
        self.next.set(id + 1);
        let fail = |e: mlua::Error| Failure {
            message: self.worded(&e, file, "load"),
        };
        let env = self.environment().map_err(fail)?;
        let main = self
            .lua
            .load(text)
            .set_name(format!("={file}"))
            .set_mode(ChunkMode::Text)
            .set_environment(env.clone())
            .into_function()
            .map_err(fail)?;
        let script = Script {
            id,
            env,
            file: file.to_string(),
        };
        self.shared
            .borrow_mut()
            .set_script(id, Some(api::PerScript::new(state, is_npc)));
        let thread = self.lua.create_thread(main).map_err(fail)?;
        let ran = self.resume(&script, &thread, "load", mlua::MultiValue::new());
        match ran.slice {
            Slice::Failed(failure) => {
                self.unload(&script);
                Err(failure)
            }
            Slice::Waiting(..) => {
                self.unload(&script);
                Err(Failure {
                    message: format!("{file}: wait() is for handlers, not the script's top level"),
                })
            }
            Slice::Done => Ok((script, ran.calls)),
        }
    }

    /// Forgets a script (switched off, or a reload): its globals are freed.
    pub(super) fn unload(&self, script: &Script) {
        self.shared.borrow_mut().set_script(script.id, None);
        let _ = script.env.clear();
        let _ = self.lua.gc_collect();
    }

    /// A fresh environment: writes stay in it, reads fall through to the
    /// shared, read-only globals.
    fn environment(&self) -> mlua::Result<Table> {
        let env = self.lua.create_table()?;
        let meta = self.lua.create_table()?;
        meta.set("__index", self.lua.globals())?;
        meta.set("__metatable", false)?;
        env.set_metatable(Some(meta))?;
        Ok(env)
    }

    /// How many slices this VM has run, and the interrupt ticks the last
    /// one counted (for the probe and the tests).
    pub(super) fn last_slice(&self) -> (u64, u64) {
        (self.slices.get(), self.budget.ticks.get())
    }

    /// The names a script's own globals hold (its environment's raw keys).
    pub(super) fn own_globals(&self, script: &Script) -> Vec<String> {
        names(&script.env)
    }

    /// The names the table every script's environment reads through
    /// holds: after Luau's sandbox, the main thread's own table over the
    /// read-only globals, which no script may reach to write.
    pub(super) fn shared_globals(&self) -> Vec<String> {
        names(&self.lua.globals())
    }

    /// Bytes the VM holds now.
    pub(super) fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// The script's handler of this name, if it defines one (its own
    /// globals only: nothing of the API is a handler).
    fn handler(&self, script: &Script, handler: &str) -> Option<Function> {
        match script.env.raw_get::<Value>(handler) {
            Ok(Value::Function(f)) => Some(f),
            _ => None,
        }
    }

    /// Whether the script defines a handler of this name.
    pub(super) fn handles(&self, script: &Script, handler: &str) -> bool {
        self.handler(script, handler).is_some()
    }

    /// Runs the handler `handler` (`on_say`, ...) with the actor and the
    /// event's words; `Done` at once when the script has no such handler.
    pub(super) fn run(
        &self,
        script: &Script,
        handler: &str,
        actor: Option<&Actor>,
        words: &[String],
    ) -> Ran {
        let Some(function) = self.handler(script, handler) else {
            return Ran {
                calls: Vec::new(),
                slice: Slice::Done,
            };
        };
        self.run_function(script, function, handler, actor, words)
    }

    /// Runs a timer's function (registered by `every` or `after`).
    pub(super) fn run_timer(&self, script: &Script, key: &mlua::RegistryKey) -> Ran {
        match self.lua.registry_value::<Function>(key) {
            Ok(function) => self.run_function(script, function, "timer", None, &[]),
            Err(e) => self.failed(&e, script, "timer"),
        }
    }

    fn run_function(
        &self,
        script: &Script,
        function: Function,
        event: &str,
        actor: Option<&Actor>,
        words: &[String],
    ) -> Ran {
        let args = match self.arguments(actor, words) {
            Ok(args) => args,
            Err(e) => return self.failed(&e, script, event),
        };
        match self.lua.create_thread(function) {
            Ok(thread) => self.resume(script, &thread, event, args),
            Err(e) => self.failed(&e, script, event),
        }
    }

    /// Resumes a coroutine that waited.
    pub(super) fn resume_waiting(&self, script: &Script, thread: &Thread) -> Ran {
        self.resume(script, thread, "wait", mlua::MultiValue::new())
    }

    /// One slice of `thread` under fresh budgets.
    fn resume(&self, script: &Script, thread: &Thread, event: &str, args: mlua::MultiValue) -> Ran {
        self.slices.set(self.slices.get() + 1);
        self.budget.ticks.set(0);
        self.budget.deadline.set(Instant::now() + self.limits.wall);
        self.budget.file.replace(script.file.clone());
        self.budget.stop.replace(None);
        self.shared.borrow_mut().begin_slice(script.id);
        let resumed = thread.resume::<mlua::MultiValue>(args);
        let calls = self.shared.borrow_mut().take_calls();
        let stopped = self.budget.stop.take();
        let slice = match (resumed, stopped) {
            // Stopped is stopped, however the script ended the slice.
            (_, Some(stopped)) => Slice::Failed(Failure {
                message: with_file(&script.file, event, &stopped),
            }),
            (Err(e), None) => Slice::Failed(Failure {
                message: self.worded(&e, &script.file, event),
            }),
            (Ok(_), None) if thread.status() == ThreadStatus::Finished => Slice::Done,
            (Ok(_), None) => match self.shared.borrow_mut().take_wait() {
                Some(wait) => Slice::Waiting(thread.clone(), wait),
                None => Slice::Failed(Failure {
                    message: format!(
                        "{}: in {event}: the script yielded without wait(seconds)",
                        script.file
                    ),
                }),
            },
        };
        Ran { calls, slice }
    }

    /// The arguments of a handler: the actor (a table with `name` and
    /// `npc`), then the event's words.
    fn arguments(&self, actor: Option<&Actor>, words: &[String]) -> mlua::Result<mlua::MultiValue> {
        let mut args = Vec::new();
        if let Some(actor) = actor {
            let table = self.lua.create_table()?;
            table.set("name", actor.name.as_str())?;
            table.set("npc", actor.npc)?;
            args.push(Value::Table(table));
        }
        for word in words {
            args.push(Value::String(self.lua.create_string(word)?));
        }
        Ok(mlua::MultiValue::from_iter(args))
    }

    fn failed(&self, e: &mlua::Error, script: &Script, event: &str) -> Ran {
        Ran {
            calls: Vec::new(),
            slice: Slice::Failed(Failure {
                message: self.worded(e, &script.file, event),
            }),
        }
    }

    /// An error as builders read it: where, in which event, what.
    fn worded(&self, e: &mlua::Error, file: &str, event: &str) -> String {
        match root_cause(e) {
            mlua::Error::MemoryError(_) => format!(
                "{file}: in {event}: stopped: over the world's script memory cap of {} KiB",
                self.limits.memory / 1024
            ),
            mlua::Error::SyntaxError { message, .. } => syntax_error(file, message),
            mlua::Error::RuntimeError(message) => with_file(file, event, message),
            other => with_file(file, event, &other.to_string()),
        }
    }

    /// Takes the timers the last slice asked for.
    pub(super) fn take_timers(&self) -> Vec<api::NewTimer> {
        self.shared.borrow_mut().take_timers()
    }

    /// The Lua state, for a timer's registry key.
    pub(super) fn lua(&self) -> &Lua {
        &self.lua
    }
}

/// A table's string keys, sorted (others as `<type>`).
fn names(table: &Table) -> Vec<String> {
    let mut names: Vec<String> = table
        .pairs::<Value, Value>()
        .filter_map(Result::ok)
        .map(|(key, _)| match key {
            Value::String(s) => s.to_string_lossy(),
            other => format!("<{}>", other.type_name()),
        })
        .collect();
    names.sort();
    names
}

/// The innermost error of a callback's chain.
fn root_cause(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root_cause(cause),
        other => other,
    }
}

/// A syntax error is worded `file.lua:3: message` by Luau; one that is not
/// (a text mlua takes for a binary chunk) gets the file too.
fn syntax_error(file: &str, message: &str) -> String {
    if message.starts_with(&format!("{file}:")) {
        message.to_string()
    } else {
        format!("{file}: {message}")
    }
}

/// `file.lua:3: message` stays; a message without the file gets it.
fn with_file(file: &str, event: &str, message: &str) -> String {
    let message = message.lines().next().unwrap_or("");
    match message.strip_prefix(&format!("{file}:")) {
        Some(rest) => format!("{file}:{rest} (in {event})"),
        None => format!("{file}: in {event}: {message}"),
    }
}

/// The libraries a script may use: no `os`, `io`, `debug` or `package`.
fn safe_libraries() -> StdLib {
    StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH | StdLib::BIT
}

/// Takes away what the base library offers beyond pure computation, adds
/// the API, then locks the globals (Luau's sandbox: globals and libraries
/// read-only, the script's own globals kept in an environment of its own).
fn prepare(lua: &Lua, shared: &Rc<RefCell<Shared>>, stop: &Stop) -> mlua::Result<()> {
    let globals = lua.globals();
    for name in [
        "require",
        "loadstring",
        "load",
        "dofile",
        "loadfile",
        "getfenv",
        "setfenv",
        "collectgarbage",
        "gcinfo",
        "print",
        "newproxy",
        "os",
        "io",
        "debug",
        "package",
    ] {
        globals.raw_set(name, Value::Nil)?;
    }
    api::install(lua, shared)?;
    guard_catchers(lua, stop)?;
    lua.sandbox(true)
}

/// `pcall`, `xpcall` and `coroutine.resume` catch errors, and a stopped
/// slice's error with them: a script that caught its stop would run on,
/// and one that nests catchers deeply would run many times its budget
/// before the stops of all its levels were spent. Each is wrapped so that
/// what it caught goes through `check`, which raises the stop again, and
/// an `xpcall`'s handler is reached through a call (an interrupt, which
/// fails at once) rather than run.
fn guard_catchers(lua: &Lua, stop: &Stop) -> mlua::Result<()> {
    let stop = stop.clone();
    let check =
        lua.create_function(
            move |_, results: mlua::MultiValue| match stop.borrow().as_ref() {
                Some(message) => Err(mlua::Error::runtime(message.clone())),
                None => Ok(results),
            },
        )?;
    let globals = lua.globals();
    let coroutine: Table = globals.get("coroutine")?;
    let (pcall, xpcall, resume): (Function, Function, Function) = lua
        .load(
            "local rawpcall, rawxpcall, rawresume, check = ...
            local function pcall(...) return check(rawpcall(...)) end
            local function xpcall(f, handler, ...)
                return check(rawxpcall(f, function(...) return handler(...) end, ...))
            end
            local function resume(...) return check(rawresume(...)) end
            return pcall, xpcall, resume",
        )
        .set_name("=sandbox")
        .call((
            globals.get::<Function>("pcall")?,
            globals.get::<Function>("xpcall")?,
            coroutine.get::<Function>("resume")?,
            check,
        ))?;
    globals.set("pcall", pcall)?;
    globals.set("xpcall", xpcall)?;
    coroutine.set("resume", resume)
}

/// Counts ticks (Luau interrupts at calls and loop back-edges) and watches
/// the clock; over either budget the slice is stopped with the line it was
/// on.
fn set_interrupt(lua: &Lua, budget: &Rc<Budget>, limits: Limits) {
    let budget = budget.clone();
    lua.set_interrupt(move |lua| {
        // A stopped slice stays stopped; what it tries after counts no more.
        if let Some(message) = budget.stop.borrow().as_ref() {
            return Err(mlua::Error::runtime(message.clone()));
        }
        let ticks = budget.ticks.get() + 1;
        budget.ticks.set(ticks);
        let over = if ticks > limits.ticks {
            Some(format!("over its budget of {} ticks", limits.ticks))
        } else if ticks.is_multiple_of(64) && Instant::now() > budget.deadline.get() {
            Some(format!(
                "over its time budget of {} ms",
                limits.wall.as_millis()
            ))
        } else {
            None
        };
        let Some(over) = over else {
            return Ok(VmState::Continue);
        };
        // The line is the script's own, not that of the sandbox's wrappers
        // (`pcall`, `wait`) it may be inside.
        let file = budget.file.borrow();
        let source = format!("={file}");
        let line = (0..8).find_map(|level| {
            lua.inspect_stack(level, |d| {
                let own = d.source().source.as_deref() == Some(source.as_str());
                if own { d.current_line() } else { None }
            })
            .flatten()
        });
        let message = match line {
            Some(line) => format!("{file}:{line}: stopped: {over}"),
            None => format!("{file}: stopped: {over}"),
        };
        budget.stop.replace(Some(message.clone()));
        Err(mlua::Error::runtime(message))
    });
}

/// Compiles a script's text without running it: `None` when it compiles,
/// else the error with file and line (for `check-worlds`).
pub fn compile_error(file: &str, text: &str) -> Option<String> {
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::default()).ok()?;
    let compiled = lua
        .load(text)
        .set_name(format!("={file}"))
        .set_mode(ChunkMode::Text)
        .into_function();
    match compiled {
        Ok(_) => None,
        Err(mlua::Error::SyntaxError { message, .. }) => Some(syntax_error(file, &message)),
        Err(other) => Some(format!("{file}: {other}")),
    }
}
