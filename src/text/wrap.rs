//! Word-wrapping text for a terminal of a given width (SPEC §8, NAWS).
//!
//! Widths are display columns, not bytes: a wide CJK character takes two, a
//! combining mark none. Lines break at spaces; only a word longer than the line
//! is broken inside, and then between characters, never inside a UTF-8
//! character or an ANSI escape sequence (which takes no columns). Leading
//! indentation is kept on the first line of a paragraph.
//!
//! **Invariant:** pure functions; text that already fits comes back borrowed,
//! so the common case costs no allocation.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

/// The width used when the client never said how wide it is.
pub const DEFAULT_WIDTH: usize = 80;
/// Narrower than this, text is wrapped at this width anyway.
pub const MIN_WIDTH: usize = 20;
/// Wider than this, text is wrapped at this width.
pub const MAX_WIDTH: usize = 250;

/// The width text is wrapped at for a client that reported `reported` columns:
/// [`DEFAULT_WIDTH`] while it has not said, its own width within the limits
/// once it has, and `None` — no wrapping — for a client that reported a
/// width of 0, which wraps lines itself (RFC 1073 leaves 0 to the server; the
/// web client sends it, so text it received re-flows when its window changes).
pub fn line_width(reported: Option<u16>) -> Option<usize> {
    match reported {
        None => Some(DEFAULT_WIDTH),
        Some(0) => None,
        Some(n) => Some(usize::from(n).clamp(MIN_WIDTH, MAX_WIDTH)),
    }
}

/// The width paragraphs are wrapped at: only a width the client reported.
/// Before it says (the greeting goes out before NAWS can arrive), a paragraph
/// is sent whole, for the client to wrap at the width it really has, rather
/// than broken early at a guess.
pub fn reported_width(reported: Option<u16>) -> Option<usize> {
    reported.and_then(|_| line_width(reported))
}

/// `lead` and then `text`, wrapped at `width` with a hanging indent: every
/// further line of `text` starts in the column where it started after `lead`,
/// as the last column of a table. When that column leaves less than
/// [`MIN_WIDTH`] for the text, the text goes under `lead` instead, indented by
/// four. Without a width (a client that wraps itself) it is one line.
pub fn hanging(lead: &str, text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return format!("{lead}{text}");
    };
    let column = display_width(lead);
    let (first, indent) = if column + MIN_WIDTH <= width {
        (lead.to_string(), column)
    } else {
        (
            format!("{}\n{}", lead.trim_end(), " ".repeat(HANG_FALLBACK)),
            HANG_FALLBACK,
        )
    };
    let wrapped = wrap(text, width.saturating_sub(indent).max(1));
    let pad = " ".repeat(indent);
    let mut out = first;
    for (i, line) in wrapped.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

/// The indentation of a table's last column that had to go under the row.
const HANG_FALLBACK: usize = 4;

/// Wraps every line of `text` (lines are separated by `'\n'`) at `width`
/// display columns.
pub fn wrap(text: &str, width: usize) -> Cow<'_, str> {
    let width = width.max(1);
    // A line of n bytes never takes more than n columns, so this is exact
    // enough to skip the work for almost every line.
    if text.split('\n').all(|line| line.len() <= width) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + text.len() / width + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        wrap_line(line, width, &mut out);
    }
    Cow::Owned(out)
}

/// One piece of a line: a run of spaces, or a word (which may hold escape
/// sequences).
enum Piece<'a> {
    Space(&'a str),
    Word(&'a str),
}

/// Splits a line into runs of spaces and words, keeping escape sequences
/// inside the words they touch.
fn pieces(line: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let bytes = line.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        if is_space(bytes[at]) {
            while at < bytes.len() && is_space(bytes[at]) {
                at += 1;
            }
            pieces.push(Piece::Space(&line[start..at]));
        } else {
            while at < bytes.len() && !is_space(bytes[at]) {
                at += 1;
            }
            pieces.push(Piece::Word(&line[start..at]));
        }
    }
    pieces
}

fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Display columns of a run of spaces and tabs (a tab counts as one).
fn space_width(space: &str) -> usize {
    space.len()
}

/// Display columns of text, escape sequences counting nothing.
pub fn display_width(text: &str) -> usize {
    units(text).map(|unit| unit.width).sum()
}

/// An unbreakable unit of text: one character, or one whole escape sequence.
struct Unit<'a> {
    text: &'a str,
    width: usize,
}

/// The units of `text`, in order.
fn units(text: &str) -> impl Iterator<Item = Unit<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let c = rest.chars().next()?;
        let len = if c == '\u{1b}' {
            escape_len(rest)
        } else {
            c.len_utf8()
        };
        let (unit, tail) = rest.split_at(len);
        rest = tail;
        let width = if c == '\u{1b}' {
            0
        } else {
            c.width().unwrap_or(0)
        };
        Some(Unit { text: unit, width })
    })
}

/// The byte length of the escape sequence `text` starts with: `ESC [ params
/// final` (a CSI), or ESC and the one character after it.
fn escape_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(1) == Some(&b'[') {
        let end = bytes[2..]
            .iter()
            .position(|b| (0x40..=0x7e).contains(b))
            .map_or(bytes.len(), |at| at + 3);
        return end;
    }
    match text[1..].chars().next() {
        Some(c) => 1 + c.len_utf8(),
        None => 1,
    }
}

/// Wraps one line (no `'\n'` in it) into `out`.
fn wrap_line(line: &str, width: usize, out: &mut String) {
    let mut col = 0;
    // Spaces seen after the last word, written only if another word follows
    // on the same line.
    let mut pending: Option<&str> = None;
    let mut at_start = true;
    for piece in pieces(line) {
        match piece {
            Piece::Space(space) if at_start => {
                // Indentation: kept when it fits, as far as it fits.
                let kept = space_width(space).min(width.saturating_sub(1));
                out.push_str(&space[..kept]);
                col = kept;
                at_start = false;
            }
            Piece::Space(space) => pending = Some(space),
            Piece::Word(word) => {
                at_start = false;
                let word_width = display_width(word);
                let gap = pending.take().map_or(0, space_width);
                if col + gap + word_width <= width {
                    if gap > 0 {
                        out.extend(std::iter::repeat_n(' ', gap));
                    }
                    out.push_str(word);
                    col += gap + word_width;
                    continue;
                }
                if col > 0 {
                    out.push('\n');
                }
                if word_width <= width {
                    out.push_str(word);
                    col = word_width;
                } else {
                    col = hard_break(word, width, out);
                }
            }
        }
    }
}

/// Writes a word longer than the line in pieces of at most `width` columns;
/// returns the columns used on the last line.
fn hard_break(word: &str, width: usize, out: &mut String) -> usize {
    let mut col = 0;
    for unit in units(word) {
        if col + unit.width > width && col > 0 {
            out.push('\n');
            col = 0;
        }
        out.push_str(unit.text);
        col += unit.width;
    }
    col
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, width: usize) -> Vec<String> {
        wrap(text, width).split('\n').map(str::to_string).collect()
    }

    #[test]
    fn short_text_is_left_alone_and_borrowed() {
        assert!(matches!(wrap("hello world", 20), Cow::Borrowed(_)));
        assert!(matches!(wrap("a\nb", 1), Cow::Borrowed(_)));
    }

    #[test]
    fn breaks_at_spaces_and_never_inside_a_word() {
        let text = "The quick brown fox jumps over the lazy dog";
        assert_eq!(
            lines(text, 20),
            ["The quick brown fox", "jumps over the lazy", "dog"]
        );
        for line in lines(text, 20) {
            assert!(line.len() <= 20, "{line:?}");
        }
    }

    #[test]
    fn a_word_longer_than_the_line_is_hard_broken() {
        assert_eq!(
            lines("see abcdefghijklmnopqrstuvwxyz now", 10),
            ["see", "abcdefghij", "klmnopqrst", "uvwxyz now"]
        );
    }

    #[test]
    fn wide_characters_take_two_columns_and_are_never_split() {
        let text = "漢字漢字漢字漢字漢字漢字"; // 12 characters, 24 columns
        let got = lines(text, 10);
        assert_eq!(got, ["漢字漢字漢", "字漢字漢字", "漢字"]);
        for line in &got {
            assert!(display_width(line) <= 10);
        }
        // An odd width leaves a column empty rather than splitting a character.
        for line in lines(text, 9) {
            assert_eq!(display_width(&line), 8);
        }
    }

    #[test]
    fn escape_sequences_take_no_columns_and_stay_whole() {
        let text = "\x1b[1;33mLantern Square\x1b[0m is a broad square of cobbles";
        let got = lines(text, 20);
        assert_eq!(
            got,
            [
                "\x1b[1;33mLantern Square\x1b[0m is a",
                "broad square of",
                "cobbles"
            ]
        );
        // A hard break of a coloured word keeps each sequence whole.
        let got = lines("\x1b[32mabcdefghij\x1b[0m", 4);
        assert_eq!(got, ["\x1b[32mabcd", "efgh", "ij\x1b[0m"]);
    }

    #[test]
    fn indentation_is_kept_and_lines_are_wrapped_one_by_one() {
        let text = "Players:\n  Ann      idle 5s\n  Bo       idle 2m";
        assert_eq!(wrap(text, 20), text);
        assert_eq!(
            lines("  one two three four", 10),
            ["  one two", "three four"]
        );
    }

    #[test]
    fn widths_are_held_between_twenty_and_two_hundred_fifty() {
        assert_eq!(line_width(None), Some(80));
        assert_eq!(line_width(Some(5)), Some(20));
        assert_eq!(line_width(Some(100)), Some(100));
        assert_eq!(line_width(Some(9000)), Some(250));
    }

    #[test]
    fn a_width_of_zero_means_the_client_wraps() {
        assert_eq!(line_width(Some(0)), None);
        assert_eq!(reported_width(Some(0)), None);
    }

    #[test]
    fn paragraphs_wrap_only_at_a_reported_width() {
        assert_eq!(reported_width(None), None);
        assert_eq!(reported_width(Some(60)), Some(60));
        assert_eq!(reported_width(Some(5)), Some(20));
    }

    #[test]
    fn a_hanging_indent_keeps_the_column() {
        let lead = format!("  {:<10} ", "look");
        let text = "The room: its name, description and exits.";
        assert_eq!(
            hanging(&lead, text, Some(34)),
            "  look       The room: its name,\n             description and\n             exits."
        );
        assert_eq!(hanging(&lead, text, None), format!("{lead}{text}"));
        // Too narrow for the column: the text goes under the row.
        assert_eq!(
            hanging(&lead, "Walks that way.", Some(25)),
            "  look\n    Walks that way."
        );
        for width in 1..60 {
            for line in hanging(&lead, text, Some(width)).split('\n') {
                assert!(
                    display_width(line) <= width.max(lead.len()),
                    "{width}: {line:?}"
                );
            }
        }
    }

    #[test]
    fn every_line_fits_for_every_width() {
        let text = "Three hundred uneven steps zigzag up the cliff between \
                    leaning houses, 灯台の光 and a supercalifragilisticexpialidocious lamp.";
        for width in 1..60 {
            for line in lines(text, width) {
                assert!(
                    display_width(&line) <= width.max(2),
                    "width {width}: {line:?}"
                );
            }
            // Nothing is lost but the spaces where lines broke.
            let joined: String = lines(text, width).concat();
            let squashed = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
            assert_eq!(squashed(&joined), squashed(text), "width {width}");
        }
    }
}
