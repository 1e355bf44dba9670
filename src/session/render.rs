//! Shaping the game's messages for one client: the connection's writer turns
//! each [`Message`] into telnet [`Output`] here.
//!
//! Text is transliterated to ASCII for a client that refused UTF-8, coloured
//! only for a client that announced colour (and whose player wants it), and
//! word-wrapped at the client's width. Prompts end with IAC EOR once the client
//! agreed to EOR. Structured data becomes GMCP, and only for the packages the
//! client named in `Core.Supports`.
//!
//! What the reader learns from the client reaches this file through two shared
//! values: the game-level [`ClientProfile`] and the telnet-level [`Protocol`]
//! (EOR, GMCP). A change applies to everything shaped after it.
//!
//! **Invariant:** rendering never fails and never waits.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use serde_json::{Map, Value, json};

use crate::game::{ClientProfile, Data, ItemRef, Message, Place, Talk};
use crate::telnet::{Output, PromptMark, mud, opt};
use crate::text::{Style, Styled, to_ascii, wrap};

/// The telnet-level facts of one connection that its writer needs, set by its
/// reader as negotiation goes.
#[derive(Debug, Default)]
pub struct Protocol {
    /// Prompts end with IAC EOR (the client agreed to EOR), else IAC GA.
    eor: AtomicBool,
    /// GMCP packages the client asked for, or `None` while GMCP is off.
    gmcp: Mutex<Option<Packages>>,
}

/// The most GMCP packages one connection may ask for. Mudlet asks for about
/// fifteen and the IRE games list some twenty; every package gaslamp sends
/// fits many times over.
pub const MAX_PACKAGES: usize = 64;
/// The longest package name kept (`Comm.Channel` is 12 bytes); longer names
/// are ignored.
pub const MAX_PACKAGE_NAME: usize = 64;

/// The GMCP packages a client named in `Core.Supports`, lowercase: a set,
/// capped at [`MAX_PACKAGES`] names of at most [`MAX_PACKAGE_NAME`] bytes, so
/// what a client sends can cost neither memory nor a search of a long list.
#[derive(Debug, Default)]
struct Packages(HashSet<String>);

impl Packages {
    fn change(&mut self, change: SupportsChange, entries: &[String]) {
        if change == SupportsChange::Set {
            self.0.clear();
        }
        let mut refused = 0;
        for entry in entries {
            let name = entry.split_whitespace().next().unwrap_or_default();
            if name.is_empty() || name.len() > MAX_PACKAGE_NAME {
                refused += 1;
                continue;
            }
            let name = name.to_ascii_lowercase();
            match change {
                SupportsChange::Remove => {
                    self.0.remove(&name);
                }
                _ if self.0.len() < MAX_PACKAGES => {
                    self.0.insert(name);
                }
                _ if !self.0.contains(&name) => refused += 1,
                _ => {}
            }
        }
        if refused > 0 {
            tracing::debug!(refused, "GMCP packages over the caps ignored");
        }
    }

    /// Whether `message` (`Char.Items.List`) is in a package asked for
    /// (`Char.Items` or `Char`). Lowercased on the stack: this runs for every
    /// piece of structured data sent, and allocates nothing.
    fn cover(&self, message: &str) -> bool {
        let mut lower = [0u8; MAX_PACKAGE_NAME];
        let Some(lower) = lower.get_mut(..message.len()) else {
            return false;
        };
        lower.copy_from_slice(message.as_bytes());
        lower.make_ascii_lowercase();
        let Ok(mut name) = std::str::from_utf8(lower) else {
            return false;
        };
        while let Some((package, _)) = name.rsplit_once('.') {
            if self.0.contains(package) {
                return true;
            }
            name = package;
        }
        false
    }
}

/// A [`Protocol`] as plain values (EOR, and GMCP with its packages, if on),
/// carried across an upgrade.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProtocolState {
    eor: bool,
    gmcp: Option<Vec<String>>,
}

impl Protocol {
    pub fn snapshot(&self) -> ProtocolState {
        let gmcp = self.gmcp.lock();
        ProtocolState {
            eor: self.eor(),
            gmcp: gmcp.as_ref().map(|p| {
                let mut names: Vec<String> = p.0.iter().cloned().collect();
                names.sort();
                names
            }),
        }
    }

    /// The state again; the caps hold as for a client's own `Core.Supports`.
    pub fn restored(state: &ProtocolState) -> Protocol {
        let protocol = Protocol::default();
        protocol.set_eor(state.eor);
        if let Some(names) = &state.gmcp {
            protocol.set_gmcp(true);
            protocol.change_supports(SupportsChange::Set, names);
        }
        protocol
    }
    pub fn set_eor(&self, on: bool) {
        self.eor.store(on, Ordering::Relaxed);
    }

    pub fn eor(&self) -> bool {
        self.eor.load(Ordering::Relaxed)
    }

    /// GMCP was agreed (packages still to be named) or switched off.
    pub fn set_gmcp(&self, on: bool) {
        *self.gmcp.lock() = on.then(Packages::default);
    }

    pub fn gmcp_on(&self) -> bool {
        self.gmcp.lock().is_some()
    }

    /// `Core.Supports.Set`, `.Add` or `.Remove`: entries like `"Room 1"`.
    pub fn change_supports(&self, change: SupportsChange, entries: &[String]) {
        if let Some(packages) = self.gmcp.lock().as_mut() {
            packages.change(change, entries);
        }
    }

    /// Whether a GMCP message (`Room.Info`, `Char.Items.List`) may be sent:
    /// GMCP is on and the client asked for its package or a package above it
    /// (`Char.Items` or `Char`). `Core` messages always may.
    pub fn wants(&self, message: &str) -> bool {
        let gmcp = self.gmcp.lock();
        let Some(packages) = gmcp.as_ref() else {
            return false;
        };
        let core = message
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("core."));
        core || packages.cover(message)
    }

    /// How many packages the client asked for (tests look at the cap).
    #[cfg(test)]
    fn package_count(&self) -> usize {
        self.gmcp.lock().as_ref().map_or(0, |p| p.0.len())
    }
}

/// Which `Core.Supports` message the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportsChange {
    Set,
    Add,
    Remove,
}

/// Turns messages into telnet output for one client.
#[derive(Debug, Default)]
pub struct Renderer {
    profile: Arc<ClientProfile>,
    protocol: Arc<Protocol>,
    /// The prompt mark the encoder was last told to use.
    mark: PromptMark,
}

impl Renderer {
    pub fn new(profile: Arc<ClientProfile>, protocol: Arc<Protocol>) -> Renderer {
        Renderer {
            profile,
            protocol,
            mark: PromptMark::Ga,
        }
    }

    /// The text lines a message shows, if it shows any.
    pub fn text(&self, message: &Message) -> Option<Arc<str>> {
        match message {
            Message::Line(text) => Some(self.shape(text, Some(text))),
            Message::Paragraphs(text) => {
                let width = wrap::reported_width(self.profile.width());
                Some(self.shape_at(text, Some(text), width))
            }
            Message::Styled(styled) => Some(self.styled(styled)),
            Message::Talk(talk) if self.profile.colour() => {
                Some(self.styled(&Styled::with(Style::Speech, &*talk.text)))
            }
            Message::Talk(talk) => Some(self.shape(&talk.text, Some(&talk.text))),
            Message::Data(_) | Message::Prompt(_) => None,
        }
    }

    /// The GMCP a message carries for this client, if any.
    pub fn data(&self, message: &Message) -> Option<Output> {
        let (name, json) = match message {
            Message::Data(data) => gmcp_of(data),
            Message::Talk(talk) if self.profile.structured() => channel_text(talk),
            _ => return None,
        };
        if !self.protocol.wants(name) {
            return None;
        }
        let json = json.to_string();
        Some(Output::Subnegotiate(
            opt::GMCP,
            mud::gmcp_message(name, &json),
        ))
    }

    /// The frames of a prompt: the mark first if it changed, then the prompt.
    pub fn prompt(&mut self, text: &Arc<str>, frames: &mut Vec<Output>) {
        let mark = if self.protocol.eor() {
            PromptMark::Eor
        } else {
            PromptMark::Ga
        };
        if mark != self.mark {
            self.mark = mark;
            frames.push(Output::SetPromptMark(mark));
        }
        let text = if self.profile.ascii() {
            Arc::from(to_ascii(text).as_ref())
        } else {
            text.clone()
        };
        frames.push(Output::Prompt(text));
    }

    fn styled(&self, styled: &Styled) -> Arc<str> {
        let text = if self.profile.colour() {
            styled.to_ansi()
        } else {
            styled.to_plain()
        };
        self.shape(&text, None)
    }

    /// Transliterates and wraps `text`; `shared` is the same text as an `Arc`,
    /// handed back untouched when nothing changes (the common case).
    fn shape(&self, text: &str, shared: Option<&Arc<str>>) -> Arc<str> {
        let width = wrap::line_width(self.profile.width());
        self.shape_at(text, shared, width)
    }

    /// [`Renderer::shape`] at `width` (`None`: not wrapped).
    fn shape_at(&self, text: &str, shared: Option<&Arc<str>>, width: Option<usize>) -> Arc<str> {
        let ascii = if self.profile.ascii() {
            to_ascii(text)
        } else {
            Cow::Borrowed(text)
        };
        let transliterated = matches!(ascii, Cow::Owned(_));
        let wrapped = match width {
            Some(width) => wrap::wrap(&ascii, width),
            None => Cow::Borrowed(ascii.as_ref()),
        };
        match (wrapped, shared) {
            (Cow::Borrowed(_), Some(shared)) if !transliterated => shared.clone(),
            (shaped, _) => Arc::from(shaped.as_ref()),
        }
    }
}

/// A GMCP message name and JSON body for a piece of structured data.
fn gmcp_of(data: &Data) -> (&'static str, Value) {
    match data {
        Data::CharName { name } => ("Char.Name", json!({"name": &**name, "fullname": &**name})),
        Data::CharStatus {
            account,
            world,
            role,
        } => (
            "Char.Status",
            json!({"account": account, "world": &**world, "role": role.to_string()}),
        ),
        Data::RoomInfo(info) => {
            let exits: Map<String, Value> = info
                .exits
                .iter()
                .map(|(name, num)| (name.clone(), json!(num)))
                .collect();
            (
                "Room.Info",
                json!({
                    "num": info.num,
                    "id": info.id,
                    "name": info.name,
                    "area": info.area,
                    "zone": info.zone,
                    "exits": exits,
                }),
            )
        }
        Data::RoomPlayers(names) => (
            "Room.Players",
            Value::Array(names.iter().map(player).collect()),
        ),
        Data::RoomAddPlayer(someone) => ("Room.AddPlayer", player(someone)),
        Data::RoomRemovePlayer(name) => ("Room.RemovePlayer", json!(&**name)),
        Data::Items { place, items } => (
            "Char.Items.List",
            json!({"location": location(*place), "items": items.iter().map(item).collect::<Vec<_>>()}),
        ),
        Data::ItemAdd { place, item: it } => (
            "Char.Items.Add",
            json!({"location": location(*place), "item": item(it)}),
        ),
        Data::ItemRemove { place, item: it } => (
            "Char.Items.Remove",
            json!({"location": location(*place), "item": item(it)}),
        ),
        Data::Goodbye(reason) => ("Core.Goodbye", json!(&**reason)),
        Data::ChannelList(channels) => (
            "Comm.Channel.List",
            Value::Array(
                channels
                    .iter()
                    .map(|c| json!({"name": &*c.name, "caption": &*c.caption, "command": &*c.command}))
                    .collect(),
            ),
        ),
    }
}

fn channel_text(talk: &Talk) -> (&'static str, Value) {
    (
        "Comm.Channel.Text",
        json!({"channel": talk.channel_name(), "talker": &*talk.talker, "text": &*talk.text}),
    )
}

/// A player or an NPC as `Room.Players` and `Room.AddPlayer` list them; an
/// NPC says so (`"npc": true`), a player as before.
fn player(someone: &crate::game::Present) -> Value {
    let name = &*someone.name;
    if someone.npc {
        json!({"name": name, "fullname": name, "npc": true})
    } else {
        json!({"name": name, "fullname": name})
    }
}

fn location(place: Place) -> &'static str {
    match place {
        Place::Room => "room",
        Place::Inventory => "inv",
    }
}

fn item(item: &ItemRef) -> Value {
    json!({"id": item.id.to_string(), "name": item.name})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::{Channel, RoomInfo};

    fn renderer() -> (Renderer, Arc<ClientProfile>, Arc<Protocol>) {
        let profile = Arc::new(ClientProfile::default());
        let protocol = Arc::new(Protocol::default());
        (
            Renderer::new(profile.clone(), protocol.clone()),
            profile,
            protocol,
        )
    }

    fn gmcp_text(output: Option<Output>) -> Option<String> {
        match output? {
            Output::Subnegotiate(opt::GMCP, data) => Some(String::from_utf8_lossy(&data).into()),
            other => panic!("not GMCP: {other:?}"),
        }
    }

    /// Issue 15: `Core.Supports.Add` grew a connection's list without a cap,
    /// and each name searched the whole list (300,000 names in 3,000 messages
    /// burned 13 CPU-seconds and 7 MiB). The list is capped in number and in
    /// name length, and what was asked for first stays.
    #[test]
    fn core_supports_is_capped_in_number_and_name_length() {
        let protocol = Protocol::default();
        protocol.set_gmcp(true);
        protocol.change_supports(SupportsChange::Set, &["Room 1".into(), "Char 1".into()]);
        for message in 0..300 {
            let names: Vec<String> = (0..100).map(|n| format!("Junk{message}x{n} 1")).collect();
            protocol.change_supports(SupportsChange::Add, &names);
        }
        assert!(protocol.package_count() <= MAX_PACKAGES);
        assert!(protocol.wants("Room.Info") && protocol.wants("Char.Name"));
        protocol.change_supports(SupportsChange::Set, &[format!("{} 1", "x".repeat(200))]);
        assert_eq!(protocol.package_count(), 0, "an over-long name is ignored");
        protocol.change_supports(SupportsChange::Add, &["Comm 1".into()]);
        assert!(protocol.wants("Comm.Channel.Text"));
    }

    #[test]
    fn text_is_wrapped_at_the_width_and_coloured_only_when_announced() {
        let (render, profile, _) = renderer();
        let styled = Message::Styled(Arc::new(
            Styled::with(Style::RoomName, "Hall").plain("\none two three four five six"),
        ));
        assert_eq!(
            render.text(&styled).as_deref(),
            Some("Hall\none two three four five six")
        );
        profile.set_size(20, 10);
        profile.set_colour_capable(true);
        assert_eq!(
            render.text(&styled).as_deref(),
            Some("\x1b[1;33mHall\x1b[0m\none two three four\nfive six")
        );
        profile.set_colour_wanted(false);
        assert!(!render.text(&styled).unwrap_or_default().contains('\x1b'));
    }

    #[test]
    fn paragraphs_go_whole_until_the_client_says_its_width() {
        let (render, profile, _) = renderer();
        let long = "word ".repeat(30);
        let paragraphs = Message::Paragraphs(Arc::from(long.trim_end()));
        let line = Message::Line(Arc::from(long.trim_end()));
        assert!(!render.text(&paragraphs).unwrap_or_default().contains('\n'));
        assert!(
            render.text(&line).unwrap_or_default().contains('\n'),
            "80 columns"
        );
        profile.set_size(40, 10);
        for text in [render.text(&paragraphs), render.text(&line)] {
            let text = text.unwrap_or_default();
            assert!(text.split('\n').all(|l| l.len() <= 40), "{text}");
        }
    }

    #[test]
    fn a_client_of_width_zero_gets_nothing_wrapped() {
        let (render, profile, _) = renderer();
        profile.set_size(0, 24);
        let long = "word ".repeat(60);
        for message in [
            Message::Line(Arc::from(long.as_str())),
            Message::Paragraphs(Arc::from(long.as_str())),
        ] {
            assert_eq!(render.text(&message).as_deref(), Some(long.as_str()));
        }
    }

    #[test]
    fn ascii_clients_get_transliterated_text_and_prompts() {
        let (mut render, profile, _) = renderer();
        profile.set_ascii(true);
        let line = Message::Line(Arc::from("Café crème"));
        assert_eq!(render.text(&line).as_deref(), Some("Cafe creme"));
        // Lines of talk are transliterated too.
        let talk = Message::Talk(Talk::new(
            Channel::Say,
            &Arc::from("Ann"),
            "Ann says, \"é—\"".into(),
        ));
        assert_eq!(render.text(&talk).as_deref(), Some("Ann says, \"e--\""));
        let mut frames = Vec::new();
        render.prompt(&Arc::from("Où? "), &mut frames);
        assert_eq!(frames, [Output::Prompt(Arc::from("Ou? "))]);
    }

    #[test]
    fn the_prompt_mark_changes_once_when_eor_is_agreed() {
        let (mut render, _, protocol) = renderer();
        let mut frames = Vec::new();
        render.prompt(&Arc::from("> "), &mut frames);
        protocol.set_eor(true);
        render.prompt(&Arc::from("> "), &mut frames);
        render.prompt(&Arc::from("> "), &mut frames);
        assert_eq!(
            frames,
            [
                Output::Prompt(Arc::from("> ")),
                Output::SetPromptMark(PromptMark::Eor),
                Output::Prompt(Arc::from("> ")),
                Output::Prompt(Arc::from("> ")),
            ]
        );
    }

    #[test]
    fn gmcp_goes_only_to_packages_the_client_supports() {
        let (render, profile, protocol) = renderer();
        let info = Message::Data(Arc::new(Data::RoomInfo(Arc::new(RoomInfo {
            num: 7,
            id: "z:a".into(),
            name: "A".into(),
            area: "Zed".into(),
            zone: "z".into(),
            exits: vec![("n".into(), 8), ("door".into(), 9)],
        }))));
        let items = Message::Data(Arc::new(Data::ItemAdd {
            place: Place::Inventory,
            item: ItemRef {
                id: 3,
                name: "a key".into(),
            },
        }));
        assert_eq!(render.data(&info), None, "GMCP is off");
        protocol.set_gmcp(true);
        profile.set_structured(true);
        assert_eq!(render.data(&info), None, "Room not asked for");
        protocol.change_supports(SupportsChange::Set, &["Room 1".into(), "Char 1".into()]);
        assert_eq!(
            gmcp_text(render.data(&info)).as_deref(),
            Some(
                r#"Room.Info {"num":7,"id":"z:a","name":"A","area":"Zed","zone":"z","exits":{"n":8,"door":9}}"#
            )
        );
        assert_eq!(
            gmcp_text(render.data(&items)).as_deref(),
            Some(r#"Char.Items.Add {"location":"inv","item":{"id":"3","name":"a key"}}"#),
            "Char covers Char.Items"
        );
        protocol.change_supports(SupportsChange::Remove, &["room".into()]);
        assert_eq!(render.data(&info), None);
        let talk = Message::Talk(Talk::new(
            Channel::Say,
            &Arc::from("Ann"),
            "Ann says, \"hi\"".into(),
        ));
        assert_eq!(render.data(&talk), None, "Comm not asked for");
        protocol.change_supports(SupportsChange::Add, &["Comm.Channel 1".into()]);
        assert_eq!(
            gmcp_text(render.data(&talk)).as_deref(),
            Some(r#"Comm.Channel.Text {"channel":"say","talker":"Ann","text":"Ann says, \"hi\""}"#)
        );
        let ooc: Arc<str> = Arc::from("ooc");
        let line = Message::Talk(Talk::on_channel(
            &ooc,
            "Ann@lanternfall".into(),
            "[ooc] Ann@lanternfall: hi".into(),
        ));
        assert_eq!(
            gmcp_text(render.data(&line)).as_deref(),
            Some(
                r#"Comm.Channel.Text {"channel":"ooc","talker":"Ann@lanternfall","text":"[ooc] Ann@lanternfall: hi"}"#
            )
        );
        let list = Message::Data(Arc::new(Data::ChannelList(vec![
            crate::game::data::ChannelEntry {
                name: ooc.clone(),
                caption: Arc::from("Out of character."),
                command: ooc,
            },
        ])));
        assert_eq!(
            gmcp_text(render.data(&list)).as_deref(),
            Some(
                r#"Comm.Channel.List [{"name":"ooc","caption":"Out of character.","command":"ooc"}]"#
            )
        );
        let goodbye = Message::Data(Arc::new(Data::Goodbye(Arc::from("Bye."))));
        assert_eq!(
            gmcp_text(render.data(&goodbye)).as_deref(),
            Some(r#"Core.Goodbye "Bye.""#)
        );
    }
}
