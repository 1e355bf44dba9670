//! The API a script sees (SPEC §14), and nothing else: `say`, `emote`,
//! `tell`, `move` (NPCs), `give`, `take`, `spawn`, `open` and `close` (an
//! exit's door), `state.get` / `state.set`, `wait`, `every` and `after`.
//! Each function only checks its arguments and writes down a [`Call`]: the
//! game decides and acts on them after the slice, through its own actions
//! (`game::life`), so nothing a script asks for skips a check a player's
//! action makes. A slice that asks for more than its share of calls is a
//! flood and is stopped.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use mlua::{Function, Lua, Value};

use super::{Call, Limits};
use std::cell::RefCell;
use std::rc::Rc;

/// One value of a script's state.
#[derive(Debug, Clone, PartialEq)]
pub enum StateValue {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl StateValue {
    /// As the database keeps it: JSON of the one value.
    pub fn to_json(&self) -> String {
        match self {
            StateValue::Text(text) => serde_json::Value::from(text.as_str()).to_string(),
            StateValue::Number(n) => serde_json::Value::from(*n).to_string(),
            StateValue::Flag(b) => serde_json::Value::from(*b).to_string(),
        }
    }

    /// From the database's JSON; `None` for anything else.
    pub fn from_json(text: &str) -> Option<StateValue> {
        match serde_json::from_str::<serde_json::Value>(text).ok()? {
            serde_json::Value::String(s) => Some(StateValue::Text(s)),
            serde_json::Value::Number(n) => n.as_f64().map(StateValue::Number),
            serde_json::Value::Bool(b) => Some(StateValue::Flag(b)),
            _ => None,
        }
    }
}

/// A timer a slice asked for.
pub(super) struct NewTimer {
    pub(super) function: Function,
    pub(super) every: Duration,
    pub(super) repeat: bool,
}

/// What the API functions share with the VM: the slice running now, and
/// each loaded script's own part.
pub(super) struct Shared {
    calls: Vec<Call>,
    wait: Option<Duration>,
    timers: Vec<NewTimer>,
    limits: Limits,
    stop: Stop,
    /// The script whose slice runs now.
    current: usize,
    scripts: HashMap<usize, PerScript>,
}

/// One loaded script's part of the API's records.
pub(super) struct PerScript {
    state: BTreeMap<String, StateValue>,
    is_npc: bool,
    timer_count: usize,
}

impl PerScript {
    pub(super) fn new(state: BTreeMap<String, StateValue>, is_npc: bool) -> PerScript {
        PerScript {
            state,
            is_npc,
            timer_count: 0,
        }
    }
}

/// The most keys a script's state holds, the longest key and text value.
const MAX_STATE_KEYS: usize = 64;
const MAX_KEY: usize = 64;
const MAX_VALUE: usize = 1024;
/// The longest line a script may say.
const MAX_TEXT: usize = 500;
/// The most timers one script may have, and the shortest interval.
const MAX_TIMERS: usize = 16;
const MIN_EVERY: Duration = Duration::from_secs(1);
/// The longest wait or timer: a day.
const MAX_DELAY: Duration = Duration::from_secs(86_400);

impl Shared {
    pub(super) fn new(limits: Limits, stop: Stop) -> Shared {
        Shared {
            calls: Vec::new(),
            wait: None,
            timers: Vec::new(),
            limits,
            stop,
            current: 0,
            scripts: HashMap::new(),
        }
    }

    /// A script comes, or goes (`None`).
    pub(super) fn set_script(&mut self, id: usize, script: Option<PerScript>) {
        match script {
            Some(script) => self.scripts.insert(id, script),
            None => self.scripts.remove(&id),
        };
    }

    pub(super) fn begin_slice(&mut self, script: usize) {
        self.current = script;
        self.calls.clear();
        self.wait = None;
        self.timers.clear();
    }

    /// The running script's part; an error only if it was unloaded.
    fn script(&mut self) -> mlua::Result<&mut PerScript> {
        self.scripts
            .get_mut(&self.current)
            .ok_or_else(|| mlua::Error::runtime("no script is running"))
    }

    pub(super) fn take_calls(&mut self) -> Vec<Call> {
        std::mem::take(&mut self.calls)
    }

    pub(super) fn take_wait(&mut self) -> Option<Duration> {
        self.wait.take()
    }

    pub(super) fn take_timers(&mut self) -> Vec<NewTimer> {
        std::mem::take(&mut self.timers)
    }

    /// Writes a call down, or stops the slice when it has had its share.
    /// A flood stops the slice as its budgets do: for good.
    fn push(&mut self, call: Call) -> mlua::Result<()> {
        if let Some(message) = self.stop.borrow().as_ref() {
            return Err(mlua::Error::runtime(message.clone()));
        }
        if self.calls.len() >= self.limits.calls {
            let message = format!(
                "stopped: more than {} actions in one event (a flood)",
                self.limits.calls
            );
            self.stop.replace(Some(message.clone()));
            return Err(mlua::Error::runtime(message));
        }
        self.calls.push(call);
        Ok(())
    }
}

type Share = Rc<RefCell<Shared>>;

/// Why the slice running now was stopped, once it was (shared with the
/// VM's interrupt and its guarded catchers).
pub(super) type Stop = Rc<RefCell<Option<String>>>;

/// Installs the API into the globals (before the sandbox locks them).
pub(super) fn install(lua: &Lua, shared: &Share) -> mlua::Result<()> {
    let globals = lua.globals();
    let text_call = |make: fn(String) -> Call| {
        let shared = shared.clone();
        lua.create_function(move |_, text: String| shared.borrow_mut().push(make(short(&text)?)))
    };
    globals.set("say", text_call(Call::Say)?)?;
    globals.set("emote", text_call(Call::Emote)?)?;
    let s = shared.clone();
    globals.set(
        "tell",
        lua.create_function(move |_, (who, text): (Value, String)| {
            let to = someone(&who)?;
            s.borrow_mut().push(Call::Tell {
                to,
                text: short(&text)?,
            })
        })?,
    )?;
    let s = shared.clone();
    globals.set(
        "move",
        lua.create_function(move |_, exit: String| {
            if !s.borrow_mut().script()?.is_npc {
                return Err(mlua::Error::runtime("move() is for NPCs' scripts"));
            }
            s.borrow_mut().push(Call::Move(short(&exit)?))
        })?,
    )?;
    install_items(lua, &globals, shared)?;
    install_state(lua, &globals, shared)?;
    install_time(lua, &globals, shared)
}

fn install_items(lua: &Lua, globals: &mlua::Table, shared: &Share) -> mlua::Result<()> {
    let s = shared.clone();
    globals.set(
        "give",
        lua.create_function(move |_, (who, item): (Value, String)| {
            let to = someone(&who)?;
            s.borrow_mut().push(Call::Give {
                to,
                item: named(item)?,
            })
        })?,
    )?;
    let s = shared.clone();
    globals.set(
        "take",
        lua.create_function(move |_, (who, item): (Value, String)| {
            let from = someone(&who)?;
            s.borrow_mut().push(Call::Take {
                from,
                item: named(item)?,
            })
        })?,
    )?;
    let s = shared.clone();
    globals.set(
        "spawn",
        lua.create_function(move |_, item: String| s.borrow_mut().push(Call::Spawn(named(item)?)))?,
    )?;
    for (name, open) in [("open", true), ("close", false)] {
        let s = shared.clone();
        globals.set(
            name,
            lua.create_function(move |_, exit: String| {
                s.borrow_mut().push(Call::Door {
                    exit: short(&exit)?,
                    open,
                })
            })?,
        )?;
    }
    Ok(())
}

fn install_state(lua: &Lua, globals: &mlua::Table, shared: &Share) -> mlua::Result<()> {
    let state = lua.create_table()?;
    let s = shared.clone();
    state.set(
        "get",
        lua.create_function(move |lua, key: String| {
            Ok(match s.borrow_mut().script()?.state.get(&key) {
                Some(StateValue::Text(t)) => Value::String(lua.create_string(t)?),
                Some(StateValue::Number(n)) => Value::Number(*n),
                Some(StateValue::Flag(b)) => Value::Boolean(*b),
                None => Value::Nil,
            })
        })?,
    )?;
    let s = shared.clone();
    state.set(
        "set",
        lua.create_function(move |_, (key, value): (String, Value)| {
            if key.is_empty() || key.chars().count() > MAX_KEY {
                return Err(mlua::Error::runtime(format!(
                    "state keys are 1 to {MAX_KEY} characters"
                )));
            }
            let value = match value {
                Value::Nil => None,
                Value::Boolean(b) => Some(StateValue::Flag(b)),
                Value::Integer(n) => Some(StateValue::Number(n as f64)),
                Value::Number(n) if n.is_finite() => Some(StateValue::Number(n)),
                Value::String(t) => {
                    let t = t.to_str()?.to_string();
                    if t.chars().count() > MAX_VALUE {
                        return Err(mlua::Error::runtime(format!(
                            "a state value is at most {MAX_VALUE} characters"
                        )));
                    }
                    Some(StateValue::Text(t))
                }
                _ => {
                    return Err(mlua::Error::runtime(
                        "state keeps strings, numbers and booleans only",
                    ));
                }
            };
            let mut shared = s.borrow_mut();
            let script = shared.script()?;
            if value.is_some()
                && !script.state.contains_key(&key)
                && script.state.len() >= MAX_STATE_KEYS
            {
                return Err(mlua::Error::runtime(format!(
                    "a script keeps at most {MAX_STATE_KEYS} state keys"
                )));
            }
            let json = value.as_ref().map(StateValue::to_json);
            match value {
                Some(value) => script.state.insert(key.clone(), value),
                None => script.state.remove(&key),
            };
            shared.push(Call::SetState { key, value: json })
        })?,
    )?;
    globals.set("state", state)
}

fn install_time(lua: &Lua, globals: &mlua::Table, shared: &Share) -> mlua::Result<()> {
    let s = shared.clone();
    let mark = lua.create_function(move |_, seconds: f64| {
        s.borrow_mut().wait = Some(delay(seconds, Duration::ZERO)?);
        Ok(())
    })?;
    // `wait` marks how long, then yields the handler's coroutine to the
    // host, which resumes it when the time has come.
    let wait: Function = lua
        .load("local mark, yield = ... return function(seconds) mark(seconds) return yield() end")
        .set_name("=wait")
        .call((
            mark,
            lua.globals()
                .get::<mlua::Table>("coroutine")?
                .get::<Function>("yield")?,
        ))?;
    globals.set("wait", wait)?;
    for (name, repeat) in [("every", true), ("after", false)] {
        let s = shared.clone();
        globals.set(
            name,
            lua.create_function(move |_, (seconds, function): (f64, Function)| {
                let least = if repeat { MIN_EVERY } else { Duration::ZERO };
                let every = delay(seconds, least)?;
                let mut shared = s.borrow_mut();
                let script = shared.script()?;
                if script.timer_count >= MAX_TIMERS {
                    return Err(mlua::Error::runtime(format!(
                        "a script has at most {MAX_TIMERS} timers"
                    )));
                }
                script.timer_count += 1;
                shared.timers.push(NewTimer {
                    function,
                    every,
                    repeat,
                });
                Ok(())
            })?,
        )?;
    }
    Ok(())
}

/// A delay in seconds, between `least` and a day.
fn delay(seconds: f64, least: Duration) -> mlua::Result<Duration> {
    let ok = seconds.is_finite() && seconds > 0.0 && seconds <= MAX_DELAY.as_secs_f64();
    let delay = if ok {
        Duration::from_secs_f64(seconds)
    } else {
        Duration::ZERO
    };
    if !ok || delay < least {
        return Err(mlua::Error::runtime(format!(
            "expected seconds between {} and 86400",
            least.as_secs_f64().max(0.0)
        )));
    }
    Ok(delay)
}

/// Someone a call names: the actor table a handler was given, or a name.
fn someone(who: &Value) -> mlua::Result<String> {
    named(match who {
        Value::Table(t) => t.get::<String>("name")?,
        Value::String(s) => s.to_str()?.to_string(),
        _ => return Err(mlua::Error::runtime("expected the actor or a name")),
    })
}

/// A name or an item's id, no longer than a line: what the game looks up
/// with it, and the log lines of what it refused, stay short.
fn named(name: String) -> mlua::Result<String> {
    if name.chars().count() > MAX_TEXT {
        return Err(mlua::Error::runtime(format!(
            "a name or an item is at most {MAX_TEXT} characters"
        )));
    }
    Ok(name)
}

/// A line of text for the room, cut to its length.
fn short(text: &str) -> mlua::Result<String> {
    if text.chars().count() > MAX_TEXT {
        return Err(mlua::Error::runtime(format!(
            "a line is at most {MAX_TEXT} characters"
        )));
    }
    Ok(text.to_string())
}
