//! Cleaning what players type before anyone else sees it or it is stored.
//!
//! A player's text reaches other players' terminals, so it must not carry anything
//! a terminal would act on: C0 control characters (TAB is kept), DEL, C1 controls
//! (U+0080–U+009F, including the one-character CSI U+009B), ANSI/VT escape
//! sequences (CSI, OSC, DCS, SOS, PM, APC and two-character escapes), bidi
//! overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the invisible
//! zero-width characters. What is left is cut to [`MAX_TEXT_CHARS`] characters.
//!
//! Beside it live the ways text is shaped for one reader: [`wrap`] (word-wrap
//! at a terminal's width in display columns), [`style`] (text marked by meaning
//! and shown plain or in ANSI colour) and [`to_ascii`] (transliteration for a
//! client that cannot show UTF-8).
//!
//! **Invariant:** pure functions of their input; they never fail.

pub mod style;
pub mod wrap;

pub use style::{Style, Styled};

use std::borrow::Cow;

/// `text` in plain ASCII for a client that refused UTF-8: every other
/// character is transliterated (`é` → `e`, `—` → `--`, `灯` → `Deng`).
pub fn to_ascii(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(deunicode::deunicode(text))
    }
}

/// The longest piece of player text kept, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// Returns `text` with everything a terminal would interpret removed, trimmed of
/// surrounding whitespace and cut to [`MAX_TEXT_CHARS`] characters.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT_CHARS * 4));
    let mut chars = text.chars().peekable();
    let mut kept = 0;
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi_body(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string_body(&mut chars),
            c if is_stripped(c) => {}
            c => {
                if kept == MAX_TEXT_CHARS {
                    break;
                }
                out.push(c);
                kept += 1;
            }
        }
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

/// Characters removed on their own (not as part of a sequence).
fn is_stripped(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(
            c,
            '\u{200b}'
                | '\u{200c}'
                | '\u{200d}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2060}'
                | '\u{feff}'
        )
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Skips what follows an ESC: a CSI, a string sequence, or one more character.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi_body(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string_body(chars),
        // A two-character escape (ESC 7, ESC c, ...), or ESC with intermediates
        // (ESC ( B): skip the intermediates and the final character.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next();
        }
        _ => {}
    }
}

/// Skips CSI parameters and intermediates up to and including the final byte.
fn skip_csi_body(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            // Not a valid CSI character: the sequence is broken; stop here so no
            // text after it is swallowed beyond the offending control.
            return;
        }
    }
}

/// Skips an OSC/DCS/SOS/PM/APC body up to its terminator (BEL, ESC \ or ST).
fn skip_string_body(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_transliterates_only_what_is_not_ascii() {
        assert!(matches!(to_ascii("plain words"), Cow::Borrowed(_)));
        assert_eq!(to_ascii("café — naïve"), "cafe -- naive");
        assert!(to_ascii("灯台 ☕").is_ascii());
    }

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(sanitize("Hello, wörld! ☕"), "Hello, wörld! ☕");
        assert_eq!(sanitize("tab\there"), "tab\there");
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(sanitize("a\u{7}b\u{0}c\u{8}d\u{7f}e\rf\ng"), "abcdefg");
        assert_eq!(sanitize("x\u{85}y\u{9c}z"), "xyz");
    }

    #[test]
    fn escape_sequences_are_removed_whole() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(sanitize("\u{1b}[2J\u{1b}[Hclear"), "clear");
        assert_eq!(sanitize("\u{1b}]0;title\u{7}after"), "after");
        assert_eq!(sanitize("\u{1b}]8;;http://x\u{1b}\\link"), "link");
        assert_eq!(sanitize("\u{1b}Pdcs stuff\u{1b}\\ok"), "ok");
        assert_eq!(sanitize("\u{1b}(Bcharset"), "charset");
        assert_eq!(sanitize("\u{1b}7save\u{1b}8"), "save");
        assert_eq!(sanitize("\u{9b}31mc1 csi"), "c1 csi");
        assert_eq!(sanitize("end\u{1b}"), "end");
        assert_eq!(sanitize("\u{1b}[?1049h\u{1b}[?25l"), "");
    }

    #[test]
    fn bidi_and_zero_width_characters_are_removed() {
        assert_eq!(sanitize("a\u{202e}b\u{2066}c\u{2069}d"), "abcd");
        assert_eq!(sanitize("ze\u{200b}ro\u{200d}wi\u{feff}dth"), "zerowidth");
    }

    #[test]
    fn text_is_cut_at_the_limit() {
        let long = "é".repeat(MAX_TEXT_CHARS + 50);
        assert_eq!(sanitize(&long).chars().count(), MAX_TEXT_CHARS);
        let padded = format!("{}\u{1b}[31m", "a".repeat(MAX_TEXT_CHARS));
        assert_eq!(sanitize(&padded).len(), MAX_TEXT_CHARS);
    }

    #[test]
    fn nothing_hostile_survives_random_input() {
        let alphabet: Vec<char> =
            "\u{1b}[]0;m\u{7}\u{9b}\u{9d}\u{9c}\\aZ\u{202e}\u{200b}\u{0}\u{7f}P"
                .chars()
                .collect();
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let s: String = (0..40)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let clean = sanitize(&s);
            assert!(
                !clean.chars().any(|c| c.is_control() || is_stripped(c)),
                "{s:?} -> {clean:?}"
            );
        }
    }
}
