//! Styled text: what the game says, with the parts that deserve a colour
//! marked by meaning (a room's name, its exits, an item, speech, a notice from
//! the server), and the two ways to show it: plain, or with ANSI 16-colour
//! codes for a client that announced colour.
//!
//! Colour codes come only from here: player text is sanitised of every escape
//! before it is put in a [`Styled`], so what a player types can never colour
//! anything.
//!
//! **Invariant:** pure data and pure functions; nothing here knows who reads
//! the text or how it travels.

use std::fmt::Write;

/// What a part of the text is, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    RoomName,
    Exits,
    Item,
    Speech,
    System,
}

impl Style {
    /// The ANSI SGR parameters of the style (16-colour palette only).
    fn sgr(self) -> &'static str {
        match self {
            Style::RoomName => "1;33",
            Style::Exits => "32",
            Style::Item => "35",
            Style::Speech => "36",
            Style::System => "1;31",
        }
    }
}

/// One run of text, styled or plain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    style: Option<Style>,
    text: String,
}

/// Text made of plain and styled runs; `'\n'` separates lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Styled {
    parts: Vec<Part>,
}

impl Styled {
    pub fn new() -> Styled {
        Styled::default()
    }

    /// Text all in one style.
    pub fn with(style: Style, text: impl Into<String>) -> Styled {
        Styled::new().styled(style, text)
    }

    /// Appends plain text.
    pub fn plain(mut self, text: impl Into<String>) -> Styled {
        self.push(None, text.into());
        self
    }

    /// Appends text in a style.
    pub fn styled(mut self, style: Style, text: impl Into<String>) -> Styled {
        self.push(Some(style), text.into());
        self
    }

    /// Appends another styled text.
    pub fn append(mut self, other: Styled) -> Styled {
        for part in other.parts {
            self.push(part.style, part.text);
        }
        self
    }

    fn push(&mut self, style: Option<Style>, text: String) {
        if text.is_empty() {
            return;
        }
        match self.parts.last_mut() {
            Some(last) if last.style == style => last.text.push_str(&text),
            _ => self.parts.push(Part { style, text }),
        }
    }

    /// The text without any colour.
    pub fn to_plain(&self) -> String {
        self.parts.iter().map(|p| p.text.as_str()).collect()
    }

    /// The text with ANSI colour codes: each styled run is wrapped in its SGR
    /// code and a reset, and a run that spans lines is coloured again on each
    /// line, so a line on its own (wrapped, or scrolled back to) keeps its colour.
    pub fn to_ansi(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part.style {
                None => out.push_str(&part.text),
                Some(style) => {
                    for (i, line) in part.text.split('\n').enumerate() {
                        if i > 0 {
                            out.push('\n');
                        }
                        if !line.is_empty() {
                            let _ = write!(out, "\x1b[{}m{line}\x1b[0m", style.sgr());
                        }
                    }
                }
            }
        }
        out
    }
}

impl From<String> for Styled {
    fn from(text: String) -> Styled {
        Styled::new().plain(text)
    }
}

impl From<&str> for Styled {
    fn from(text: &str) -> Styled {
        Styled::new().plain(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_ansi_forms() {
        let text = Styled::with(Style::RoomName, "Lantern Square")
            .plain("\nA broad square.\n")
            .styled(Style::Exits, "Exits: north.");
        assert_eq!(
            text.to_plain(),
            "Lantern Square\nA broad square.\nExits: north."
        );
        assert_eq!(
            text.to_ansi(),
            "\x1b[1;33mLantern Square\x1b[0m\nA broad square.\n\x1b[32mExits: north.\x1b[0m"
        );
    }

    #[test]
    fn a_styled_run_over_two_lines_is_coloured_on_each() {
        let text = Styled::with(Style::Speech, "one\ntwo");
        assert_eq!(text.to_ansi(), "\x1b[36mone\x1b[0m\n\x1b[36mtwo\x1b[0m");
    }

    #[test]
    fn runs_of_one_style_merge_and_empty_runs_vanish() {
        let text = Styled::new()
            .plain("a")
            .plain("b")
            .styled(Style::Item, "")
            .styled(Style::Item, "c");
        assert_eq!(text.parts.len(), 2);
        assert_eq!(text.to_ansi(), "ab\x1b[35mc\x1b[0m");
    }
}
