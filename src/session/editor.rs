//! The session's editor: lines of text until a line holding only `.`, or
//! `~q` to throw the text away (`/rdesc` and `/idesc` without text; mail
//! writes its messages here too). A command asks for it by returning
//! [`Flow::Write`](crate::command::Flow::Write) with a [`Draft`]: what is
//! written, its caps, and what becomes of it, which the command layer does
//! with the text afterwards.
//!
//! The lines are text, not commands: none is parsed, and none is charged to
//! the command rate (SPEC §12); the text's own caps bound them: a line that
//! would go over the characters or the lines allowed is refused, and the
//! writer is told once. Every wait is the session's own, so a takeover, a
//! kick, a ban or a shutdown reaches a player in the middle of a text, and
//! the idle timeout counts from each line. This file owns the sentences of
//! the editor; what a finished text does is the command's.

use std::time::{Duration, Instant};

use super::Link;
use super::conn::Hangup;
use crate::command::Draft;
use crate::text::sanitize;

/// The editor's prompt, after each line.
pub const PROMPT: &str = "] ";

/// Runs the editor for `draft`; `Some(text)` when it was ended with `.`,
/// `None` when thrown away with `~q`.
pub async fn write(
    link: &mut Link,
    draft: &Draft,
    idle: Duration,
) -> Result<Option<String>, Hangup> {
    link.line(draft.intro.clone());
    let mut text = Text::new(draft.max_chars, draft.max_lines);
    loop {
        link.prompt(PROMPT);
        let line = link.next_text_line(Instant::now() + idle).await?;
        match text.take(&line) {
            Taken::More => {}
            Taken::Refused(sentence) => link.line(sentence),
            Taken::Ended => return Ok(Some(text.finish())),
            Taken::ThrownAway => return Ok(None),
        }
    }
}

/// A text being written, within its caps.
#[derive(Debug)]
struct Text {
    lines: Vec<String>,
    /// Characters so far, the newlines between lines included.
    chars: usize,
    max_chars: usize,
    max_lines: usize,
    /// The writer has been told the text is full.
    told: bool,
}

/// What one line did to the text.
#[derive(Debug, PartialEq, Eq)]
enum Taken {
    /// Kept (or refused quietly, the writer having been told).
    More,
    /// Refused, with the sentence to say.
    Refused(String),
    /// The line was `.`: the text is done.
    Ended,
    /// The line was `~q`.
    ThrownAway,
}

impl Text {
    fn new(max_chars: usize, max_lines: usize) -> Text {
        Text {
            lines: Vec::new(),
            chars: 0,
            max_chars,
            max_lines,
            told: false,
        }
    }

    /// Takes one typed line: `.` ends, `~q` throws away, anything else is
    /// cleaned like any player text and kept if it fits.
    fn take(&mut self, typed: &str) -> Taken {
        match typed.trim() {
            "." => return Taken::Ended,
            "~q" => return Taken::ThrownAway,
            _ => {}
        }
        let line = sanitize(typed);
        let added = line.chars().count() + usize::from(!self.lines.is_empty());
        if self.lines.len() >= self.max_lines || self.chars + added > self.max_chars {
            if self.told {
                return Taken::More;
            }
            self.told = true;
            return Taken::Refused(format!(
                "That line does not fit: a text holds at most {} characters and {} lines. \
                 End it with \".\", or throw it away with \"~q\".",
                self.max_chars, self.max_lines
            ));
        }
        self.chars += added;
        self.lines.push(line);
        Taken::More
    }

    /// The text: its lines joined by newlines, blank lines at either end
    /// left out.
    fn finish(&self) -> String {
        self.lines.join("\n").trim_matches('\n').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_until_a_dot_or_thrown_away() {
        let mut text = Text::new(100, 10);
        assert_eq!(text.take("The cellar is cold."), Taken::More);
        assert_eq!(text.take(""), Taken::More);
        assert_eq!(text.take("  Water drips.\u{1b}[31m"), Taken::More);
        assert_eq!(text.take(" . "), Taken::Ended);
        assert_eq!(text.finish(), "The cellar is cold.\n\nWater drips.");
        let mut other = Text::new(100, 10);
        assert_eq!(
            other.take("look"),
            Taken::More,
            "a command word is text here"
        );
        assert_eq!(other.take("~q"), Taken::ThrownAway);
    }

    #[test]
    fn the_caps_refuse_a_line_and_say_so_once() {
        let mut text = Text::new(12, 2);
        assert_eq!(text.take("twelve chars"), Taken::More);
        assert!(matches!(text.take("x"), Taken::Refused(_)), "13 characters");
        assert_eq!(text.take("y"), Taken::More, "told once");
        assert_eq!(text.finish(), "twelve chars");
        let mut lines = Text::new(100, 2);
        lines.take("a");
        lines.take("b");
        assert!(matches!(lines.take("c"), Taken::Refused(_)));
        assert_eq!(lines.take("."), Taken::Ended);
        assert_eq!(lines.finish(), "a\nb");
    }
}
