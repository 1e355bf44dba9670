//! The subnegotiation formats of the MUD options (SPEC §8): TTYPE answers and
//! MTTS bits, NAWS sizes, CHARSET requests and replies (RFC 2066), the MSSP
//! table, and GMCP messages. Each is a pure reader or writer of the bytes
//! between `IAC SB option` and `IAC SE`; what the connection does with them is
//! the session's business.
//!
//! **Invariant:** nothing a client sends makes a reader fail: a malformed
//! answer reads as `None`.

use bytes::{BufMut, Bytes, BytesMut};

/// `TTYPE SEND`: asks the client for (the next) terminal type.
pub const TTYPE_SEND: &[u8] = &[1];
const TTYPE_IS: u8 = 0;

/// The text of a `TTYPE IS <text>` answer, or `None` for anything else.
pub fn ttype_is(data: &[u8]) -> Option<String> {
    let (&TTYPE_IS, name) = data.split_first()? else {
        return None;
    };
    let text = String::from_utf8_lossy(name).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The bits a client sets in its `MTTS <n>` answer (the Mud Terminal Type
/// Standard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mtts(pub u32);

impl Mtts {
    pub const ANSI: u32 = 1;
    pub const VT100: u32 = 2;
    pub const UTF8: u32 = 4;
    pub const COLORS_256: u32 = 8;
    pub const MOUSE: u32 = 16;
    pub const OSC_PALETTE: u32 = 32;
    pub const SCREEN_READER: u32 = 64;
    pub const PROXY: u32 = 128;
    pub const TRUECOLOR: u32 = 256;
    pub const MNES: u32 = 512;
    pub const MSLP: u32 = 1024;
    pub const SSL: u32 = 2048;

    /// Reads an `MTTS <n>` answer; `None` for any other terminal type.
    pub fn parse(answer: &str) -> Option<Mtts> {
        let (word, number) = answer.trim().split_once(' ')?;
        if !word.eq_ignore_ascii_case("MTTS") {
            return None;
        }
        number.trim().parse().ok().map(Mtts)
    }

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// The names of the bits set, for people (`/sessions`, the log).
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(u32, &str); 12] = [
            (Mtts::ANSI, "ansi"),
            (Mtts::VT100, "vt100"),
            (Mtts::UTF8, "utf-8"),
            (Mtts::COLORS_256, "256-colour"),
            (Mtts::MOUSE, "mouse"),
            (Mtts::OSC_PALETTE, "osc-palette"),
            (Mtts::SCREEN_READER, "screen-reader"),
            (Mtts::PROXY, "proxy"),
            (Mtts::TRUECOLOR, "truecolour"),
            (Mtts::MNES, "mnes"),
            (Mtts::MSLP, "mslp"),
            (Mtts::SSL, "ssl"),
        ];
        NAMES
            .iter()
            .filter(|(bit, _)| self.has(*bit))
            .map(|(_, name)| *name)
            .collect()
    }
}

/// Whether a terminal type (or client name) is one known to show ANSI colour.
pub fn terminal_does_colour(answer: &str) -> bool {
    const COLOURFUL: [&str; 16] = [
        "ansi",
        "xterm",
        "color",
        "colour",
        "linux",
        "screen",
        "tmux",
        "rxvt",
        "putty",
        "konsole",
        "cygwin",
        "mudlet",
        "tintin",
        "mushclient",
        "cmud",
        "zmud",
    ];
    let answer = answer.to_ascii_lowercase();
    COLOURFUL.iter().any(|word| answer.contains(word))
}

/// The window size in a NAWS subnegotiation: `(width, height)`, each 0 when
/// the client does not know it.
pub fn naws(data: &[u8]) -> Option<(u16, u16)> {
    match data {
        &[w1, w0, h1, h0] => Some((u16::from_be_bytes([w1, w0]), u16::from_be_bytes([h1, h0]))),
        _ => None,
    }
}

const CHARSET_REQUEST: u8 = 1;
const CHARSET_ACCEPTED: u8 = 2;
const CHARSET_REJECTED: u8 = 3;

/// `REQUEST ;UTF-8`: the one character set the server offers.
pub fn charset_request_utf8() -> Bytes {
    let mut data = BytesMut::with_capacity(8);
    data.put_u8(CHARSET_REQUEST);
    data.put_slice(b";UTF-8");
    data.freeze()
}

/// What a CHARSET subnegotiation from the client says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charset {
    /// It accepted the named character set.
    Accepted(String),
    /// It accepts none of those offered.
    Rejected,
    /// It asks us to pick one of these.
    Requested(Vec<String>),
}

/// Reads a CHARSET subnegotiation; `None` when malformed.
pub fn charset(data: &[u8]) -> Option<Charset> {
    let (&verb, rest) = data.split_first()?;
    match verb {
        CHARSET_ACCEPTED => Some(Charset::Accepted(
            String::from_utf8_lossy(rest).trim().to_string(),
        )),
        CHARSET_REJECTED => Some(Charset::Rejected),
        CHARSET_REQUEST => {
            // An optional "[TTABLE] " version marker may come first.
            let rest = match rest.strip_prefix(b"[TTABLE]") {
                Some(after) => after.get(1..).unwrap_or_default(),
                None => rest,
            };
            let (&separator, names) = rest.split_first()?;
            let names = names
                .split(|b| *b == separator)
                .filter(|name| !name.is_empty())
                .map(|name| String::from_utf8_lossy(name).trim().to_string())
                .collect();
            Some(Charset::Requested(names))
        }
        _ => None,
    }
}

/// `ACCEPTED <name>` or `REJECTED`, the answer to a client's request.
pub fn charset_reply(accepted: Option<&str>) -> Bytes {
    let mut data = BytesMut::new();
    match accepted {
        Some(name) => {
            data.put_u8(CHARSET_ACCEPTED);
            data.put_slice(name.as_bytes());
        }
        None => data.put_u8(CHARSET_REJECTED),
    }
    data.freeze()
}

const MSSP_VAR: u8 = 1;
const MSSP_VAL: u8 = 2;

/// The MSSP table as subnegotiation data: `VAR name VAL value [VAL value]`
/// for each variable. Bytes MSSP uses as markers (0, 1, 2) and IAC are
/// dropped from names and values.
pub fn mssp(table: &[(&str, Vec<String>)]) -> Bytes {
    let mut data = BytesMut::new();
    let clean = |text: &str, data: &mut BytesMut| {
        data.extend(text.bytes().filter(|b| !matches!(b, 0..=2 | 255)));
    };
    for (name, values) in table {
        data.put_u8(MSSP_VAR);
        clean(name, &mut data);
        for value in values {
            data.put_u8(MSSP_VAL);
            clean(value, &mut data);
        }
    }
    data.freeze()
}

/// The MSSP table in subnegotiation data, as a crawler reads it: each
/// variable with its values, in the order sent. Bytes before the first
/// variable are skipped; text is decoded as UTF-8 with replacement.
pub fn mssp_table(data: &[u8]) -> Vec<(String, Vec<String>)> {
    let mut table: Vec<(String, Vec<String>)> = Vec::new();
    let mut rest = data;
    while let Some((&marker, after)) = rest.split_first() {
        let end = after
            .iter()
            .position(|b| matches!(*b, MSSP_VAR | MSSP_VAL))
            .unwrap_or(after.len());
        let text = String::from_utf8_lossy(&after[..end]).into_owned();
        match (marker, table.last_mut()) {
            (MSSP_VAR, _) => table.push((text, Vec::new())),
            (MSSP_VAL, Some((_, values))) => values.push(text),
            _ => {}
        }
        rest = &after[end..];
    }
    table
}

/// A GMCP message: `Package.Message` and its JSON text (empty when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gmcp<'a> {
    pub name: &'a str,
    pub json: &'a str,
}

/// Splits a GMCP subnegotiation into its name and JSON; `None` when it is not
/// UTF-8 or has no name.
pub fn gmcp(data: &[u8]) -> Option<Gmcp<'_>> {
    let text = std::str::from_utf8(data).ok()?.trim();
    let (name, json) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    (!name.is_empty()).then_some(Gmcp {
        name,
        json: json.trim(),
    })
}

/// The subnegotiation data of a GMCP message.
pub fn gmcp_message(name: &str, json: &str) -> Bytes {
    let mut data = BytesMut::with_capacity(name.len() + json.len() + 1);
    data.put_slice(name.as_bytes());
    if !json.is_empty() {
        data.put_u8(b' ');
        data.put_slice(json.as_bytes());
    }
    data.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mssp_table_reads_back_as_it_was_sent() {
        let table = vec![
            ("NAME", vec!["Lanternfall".to_string()]),
            ("PORT", vec!["4000".into(), "4001".into()]),
            ("DISCORD", vec![String::new()]),
        ];
        let read = mssp_table(&mssp(&table));
        let want: Vec<(String, Vec<String>)> = table
            .iter()
            .map(|(name, values)| (name.to_string(), values.clone()))
            .collect();
        assert_eq!(read, want);
        assert_eq!(
            mssp_table(&[2, b'x', 1, b'A', 2, b'b']),
            [("A".into(), vec!["b".into()])]
        );
        assert!(mssp_table(&[]).is_empty());
    }

    #[test]
    fn ttype_answers_and_mtts_bits() {
        assert_eq!(ttype_is(b"\0MUDLET"), Some("MUDLET".into()));
        assert_eq!(ttype_is(b"\0"), None);
        assert_eq!(ttype_is(b"\x01XTERM"), None);
        assert_eq!(ttype_is(b""), None);
        let bits = Mtts::parse("MTTS 137").expect("mtts");
        assert!(bits.has(Mtts::ANSI) && bits.has(Mtts::COLORS_256) && bits.has(Mtts::PROXY));
        assert!(!bits.has(Mtts::UTF8));
        assert_eq!(bits.names(), ["ansi", "256-colour", "proxy"]);
        assert_eq!(Mtts::parse("mtts 64"), Some(Mtts(64)));
        assert_eq!(Mtts::parse("XTERM-256COLOR"), None);
        assert_eq!(Mtts::parse("MTTS lots"), None);
    }

    #[test]
    fn colour_terminals_are_known() {
        for colourful in [
            "XTERM-256COLOR",
            "ansi",
            "TINTIN++",
            "Mudlet 4.17",
            "tmux-256color",
        ] {
            assert!(terminal_does_colour(colourful), "{colourful}");
        }
        for dull in ["DUMB", "VT100", "unknown"] {
            assert!(!terminal_does_colour(dull), "{dull}");
        }
    }

    #[test]
    fn naws_reads_four_bytes_only() {
        assert_eq!(naws(&[0, 100, 0, 40]), Some((100, 40)));
        assert_eq!(naws(&[1, 0, 0, 0]), Some((256, 0)));
        assert_eq!(naws(&[0, 80, 0]), None);
    }

    #[test]
    fn charset_replies_and_requests() {
        assert_eq!(&charset_request_utf8()[..], b"\x01;UTF-8");
        assert_eq!(
            charset(b"\x02UTF-8"),
            Some(Charset::Accepted("UTF-8".into()))
        );
        assert_eq!(charset(b"\x03"), Some(Charset::Rejected));
        assert_eq!(
            charset(b"\x01 UTF-8 ISO-8859-1"),
            Some(Charset::Requested(vec![
                "UTF-8".into(),
                "ISO-8859-1".into()
            ]))
        );
        assert_eq!(
            charset(b"\x01[TTABLE]\x01;US-ASCII"),
            Some(Charset::Requested(vec!["US-ASCII".into()]))
        );
        assert_eq!(charset(b""), None);
        assert_eq!(charset(b"\x09"), None);
        assert_eq!(&charset_reply(Some("UTF-8"))[..], b"\x02UTF-8");
        assert_eq!(&charset_reply(None)[..], b"\x03");
    }

    #[test]
    fn mssp_table_layout() {
        let table = [
            ("NAME", vec!["Gas\u{1}lamp".to_string()]),
            ("PORT", vec!["4000".into(), "4001".into()]),
        ];
        assert_eq!(
            &mssp(&table)[..],
            b"\x01NAME\x02Gaslamp\x01PORT\x024000\x024001"
        );
    }

    #[test]
    fn gmcp_names_and_json() {
        assert_eq!(
            gmcp(b"Core.Hello {\"client\": \"Mudlet\"}"),
            Some(Gmcp {
                name: "Core.Hello",
                json: "{\"client\": \"Mudlet\"}"
            })
        );
        assert_eq!(
            gmcp(b"Core.Ping"),
            Some(Gmcp {
                name: "Core.Ping",
                json: ""
            })
        );
        assert_eq!(gmcp(b"  "), None);
        assert_eq!(gmcp(b"\xff\xfe"), None);
        assert_eq!(&gmcp_message("Core.Ping", "")[..], b"Core.Ping");
        assert_eq!(&gmcp_message("Room.Info", "{}")[..], b"Room.Info {}");
    }
}
