//! What a player's client can show, as far as the server has learned it: its
//! name, its window's width, whether it shows colour (and whether the player
//! wants it), whether it shows UTF-8, whether a screen reader speaks it, and
//! whether it takes structured data beside the text.
//!
//! One [`ClientProfile`] per connection, shared: the connection's reader fills
//! it in as the client answers negotiations, its writer reads it to shape each
//! line, and commands read it to leave out decoration a screen reader would
//! only read aloud. The values are plain facts about the client; how they were
//! learned (telnet options) is the session's business.
//!
//! **Invariant:** every field may be read and written from any task at any
//! time; a change applies to what is shaped after it.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, Ordering};

use parking_lot::Mutex;

/// The stored width of a client that has not said how wide it is (no `u16`
/// is this).
const UNKNOWN_WIDTH: u32 = u32::MAX;

/// One connection's client, as learned so far.
#[derive(Debug)]
pub struct ClientProfile {
    name: Mutex<String>,
    /// Columns of the client's window, [`UNKNOWN_WIDTH`] until it says; 0
    /// when it said 0, which means it wraps lines itself.
    width: AtomicU32,
    /// Rows of the client's window; 0 while unknown.
    height: AtomicU16,
    /// The client said it shows ANSI colour.
    colour_capable: AtomicBool,
    /// The account's preference (`color on|off`), on until the account says.
    colour_wanted: AtomicBool,
    /// The client said it shows UTF-8.
    utf8: AtomicBool,
    /// The client refused UTF-8: it gets ASCII only.
    ascii: AtomicBool,
    /// A screen reader speaks the output: decoration is left out.
    screen_reader: AtomicBool,
    /// The client said (MTTS bit 2048) that it can speak TLS.
    tls_capable: AtomicBool,
    /// The client takes structured data (room info, channels) beside the text.
    structured: AtomicBool,
}

impl Default for ClientProfile {
    fn default() -> Self {
        ClientProfile {
            name: Mutex::new("unknown".into()),
            width: AtomicU32::new(UNKNOWN_WIDTH),
            height: AtomicU16::new(0),
            colour_capable: AtomicBool::new(false),
            colour_wanted: AtomicBool::new(true),
            utf8: AtomicBool::new(false),
            ascii: AtomicBool::new(false),
            screen_reader: AtomicBool::new(false),
            tls_capable: AtomicBool::new(false),
            structured: AtomicBool::new(false),
        }
    }
}

/// A [`ClientProfile`] as plain values, carried across an upgrade so that
/// the client is shaped for exactly as before and never asked again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProfileState {
    name: String,
    width: u32,
    height: u16,
    flags: [bool; 8],
}

impl ClientProfile {
    /// What has been learned so far, as values.
    pub fn snapshot(&self) -> ProfileState {
        let flag = |value: &AtomicBool| value.load(Ordering::Relaxed);
        ProfileState {
            name: self.name(),
            width: self.width.load(Ordering::Relaxed),
            height: self.height.load(Ordering::Relaxed),
            flags: [
                flag(&self.colour_capable),
                flag(&self.colour_wanted),
                flag(&self.utf8),
                flag(&self.ascii),
                flag(&self.screen_reader),
                flag(&self.tls_capable),
                flag(&self.structured),
                false,
            ],
        }
    }

    /// A profile standing where `state` left one.
    pub fn restored(state: &ProfileState) -> ClientProfile {
        let [
            colour_capable,
            colour_wanted,
            utf8,
            ascii,
            screen_reader,
            tls_capable,
            structured,
            _,
        ] = state.flags;
        ClientProfile {
            name: Mutex::new(state.name.clone()),
            width: AtomicU32::new(state.width),
            height: AtomicU16::new(state.height),
            colour_capable: AtomicBool::new(colour_capable),
            colour_wanted: AtomicBool::new(colour_wanted),
            utf8: AtomicBool::new(utf8),
            ascii: AtomicBool::new(ascii),
            screen_reader: AtomicBool::new(screen_reader),
            tls_capable: AtomicBool::new(tls_capable),
            structured: AtomicBool::new(structured),
        }
    }

    /// The client's name (and version, where it gave one), or "unknown".
    pub fn name(&self) -> String {
        self.name.lock().clone()
    }

    /// Records the client's name; false when it already had that one.
    pub fn set_name(&self, name: &str) -> bool {
        let mut current = self.name.lock();
        if *current == name {
            return false;
        }
        *current = name.to_string();
        true
    }

    /// The window's width in columns, if the client said: `Some(0)` is a
    /// client that wraps lines itself (see `text::wrap::line_width`).
    pub fn width(&self) -> Option<u16> {
        u16::try_from(self.width.load(Ordering::Relaxed)).ok()
    }

    /// The window's height in rows, if the client said.
    pub fn height(&self) -> Option<u16> {
        Some(self.height.load(Ordering::Relaxed)).filter(|h| *h > 0)
    }

    pub fn set_size(&self, width: u16, height: u16) {
        self.width.store(u32::from(width), Ordering::Relaxed);
        self.height.store(height, Ordering::Relaxed);
    }

    /// The client stopped telling its size: it is unknown again.
    pub fn forget_size(&self) {
        self.width.store(UNKNOWN_WIDTH, Ordering::Relaxed);
        self.height.store(0, Ordering::Relaxed);
    }

    /// Whether text is sent in colour: the client shows it and the player
    /// wants it.
    pub fn colour(&self) -> bool {
        self.colour_capable() && self.colour_wanted()
    }

    pub fn colour_capable(&self) -> bool {
        self.colour_capable.load(Ordering::Relaxed)
    }

    pub fn set_colour_capable(&self, on: bool) {
        self.colour_capable.store(on, Ordering::Relaxed);
    }

    pub fn colour_wanted(&self) -> bool {
        self.colour_wanted.load(Ordering::Relaxed)
    }

    pub fn set_colour_wanted(&self, on: bool) {
        self.colour_wanted.store(on, Ordering::Relaxed);
    }

    pub fn utf8(&self) -> bool {
        self.utf8.load(Ordering::Relaxed)
    }

    pub fn set_utf8(&self, on: bool) {
        self.utf8.store(on, Ordering::Relaxed);
    }

    /// Whether text must be sent as ASCII.
    pub fn ascii(&self) -> bool {
        self.ascii.load(Ordering::Relaxed)
    }

    pub fn set_ascii(&self, on: bool) {
        self.ascii.store(on, Ordering::Relaxed);
    }

    pub fn screen_reader(&self) -> bool {
        self.screen_reader.load(Ordering::Relaxed)
    }

    pub fn set_screen_reader(&self, on: bool) {
        self.screen_reader.store(on, Ordering::Relaxed);
    }

    /// Whether the client said it can speak TLS (MTTS bit 2048).
    pub fn tls_capable(&self) -> bool {
        self.tls_capable.load(Ordering::Relaxed)
    }

    pub fn set_tls_capable(&self, on: bool) {
        self.tls_capable.store(on, Ordering::Relaxed);
    }

    /// Whether structured data is worth queueing for this client.
    pub fn structured(&self) -> bool {
        self.structured.load(Ordering::Relaxed)
    }

    pub fn set_structured(&self, on: bool) {
        self.structured.store(on, Ordering::Relaxed);
    }

    /// What matters about the client for an admin, e.g. `colour, utf-8,
    /// screen reader, 100x40` (`plain` when nothing is known).
    pub fn summary(&self) -> String {
        let mut facts = Vec::new();
        if self.colour_capable() {
            facts.push(if self.colour_wanted() {
                "colour".to_string()
            } else {
                "colour off".to_string()
            });
        }
        if self.ascii() {
            facts.push("ascii".into());
        } else if self.utf8() {
            facts.push("utf-8".into());
        }
        if self.screen_reader() {
            facts.push("screen reader".into());
        }
        if self.tls_capable() {
            facts.push("tls-capable".into());
        }
        match (self.width(), self.height()) {
            (Some(0), _) => facts.push("wraps itself".into()),
            (Some(w), Some(h)) => facts.push(format!("{w}x{h}")),
            (Some(w), None) => facts.push(format!("{w} wide")),
            (None, _) => {}
        }
        if facts.is_empty() {
            "plain".into()
        } else {
            facts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_both_the_client_and_the_player() {
        let client = ClientProfile::default();
        assert!(!client.colour(), "nothing announced");
        client.set_colour_capable(true);
        assert!(client.colour());
        client.set_colour_wanted(false);
        assert!(!client.colour());
        assert_eq!(client.summary(), "colour off");
    }

    #[test]
    fn the_summary_names_what_matters() {
        let client = ClientProfile::default();
        assert_eq!(client.summary(), "plain");
        client.set_colour_capable(true);
        client.set_utf8(true);
        client.set_screen_reader(true);
        client.set_size(100, 40);
        assert_eq!(client.summary(), "colour, utf-8, screen reader, 100x40");
        client.set_ascii(true);
        assert!(client.summary().contains("ascii"));
    }

    #[test]
    fn a_width_of_zero_is_known_and_differs_from_none() {
        let client = ClientProfile::default();
        assert_eq!(client.width(), None);
        client.set_size(0, 30);
        assert_eq!(client.width(), Some(0));
        assert_eq!(client.summary(), "wraps itself");
        client.forget_size();
        assert_eq!(client.width(), None);
    }
}
