//! The JSON of world files as a document that can be written back: objects keep
//! their keys in file order (duplicates too, so the loader can report them),
//! numbers keep the text they were written with, and lists stay lists. The
//! parser is our own because `serde_json::Value` throws away exactly these
//! things. The canonical printer writes the layout of the shipped world files
//! (two-space indent, one entry per line, a newline at the end), so a file in
//! that layout prints back to its own bytes. This file knows JSON, not what any
//! key of a world file means.

use std::fmt;

/// One JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    /// Entries in file order, duplicates included.
    Object(Vec<(String, Json)>),
}

/// A number as it was written (`10.0` stays `10.0`, `1e3` stays `1e3`): the
/// text is always a valid JSON number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The number's text, as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Number {
    /// A number from its text; `None` unless the text is a JSON number.
    pub fn parse(text: &str) -> Option<Number> {
        match Json::parse(text) {
            Ok(Json::Number(number)) => Some(number),
            _ => None,
        }
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Number {
        Number(n.to_string())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a text is not JSON, with where (1-based, columns in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {}

/// How deeply lists and objects may nest: world files need a handful of
/// levels, and the parser recurses, so a hostile file must not overflow the
/// stack.
const MAX_DEPTH: usize = 128;

impl Json {
    /// Parses a whole text as one JSON value.
    pub fn parse(text: &str) -> Result<Json, ParseError> {
        // A byte-order mark is legal in a UTF-8 file but not in JSON text.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut parser = Parser {
            text,
            pos: 0,
            depth: 0,
        };
        parser.skip_blanks();
        let value = parser.value()?;
        parser.skip_blanks();
        if parser.pos < text.len() {
            return Err(parser.error("trailing characters"));
        }
        Ok(value)
    }

    /// What kind of value this is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }

    /// A string value.
    pub fn text(text: impl Into<String>) -> Json {
        Json::String(text.into())
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// The first value under `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first value under `key` of an object, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` of an object: in its place when it is there (so a changed
    /// field stays where it was in the file), else at the end. False when
    /// this is no object.
    pub fn set(&mut self, key: &str, value: Json) -> bool {
        let Json::Object(entries) = self else {
            return false;
        };
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = value,
            None => entries.push((key.to_string(), value)),
        }
        true
    }

    /// Removes `key` from an object (every copy), returning the first value.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let Json::Object(entries) = self else {
            return None;
        };
        let index = entries.iter().position(|(k, _)| k == key)?;
        let (_, value) = entries.remove(index);
        entries.retain(|(k, _)| k != key);
        Some(value)
    }

    /// The text of this value in the canonical layout, ending in a newline.
    pub fn to_canonical(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, 0);
        out.push('\n');
        out
    }
}

// ---- the printer ----

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_value(out: &mut String, value: &Json, level: usize) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Number(n) => out.push_str(n.as_str()),
        Json::String(text) => write_string(out, text),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Object(entries) if entries.is_empty() => out.push_str("{}"),
        Json::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                out.push_str(if n == 0 { "\n" } else { ",\n" });
                indent(out, level + 1);
                write_value(out, item, level + 1);
            }
            out.push('\n');
            indent(out, level);
            out.push(']');
        }
        Json::Object(entries) => {
            out.push('{');
            for (n, (key, item)) in entries.iter().enumerate() {
                out.push_str(if n == 0 { "\n" } else { ",\n" });
                indent(out, level + 1);
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item, level + 1);
            }
            out.push('\n');
            indent(out, level);
            out.push('}');
        }
    }
}

/// A string with only what JSON requires escaped: quotes, backslashes and
/// control characters. Everything else is written as itself, in UTF-8.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---- the parser ----

struct Parser<'a> {
    text: &'a str,
    /// A byte offset into `text`, always on a character boundary.
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_blanks(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// An error at the current position.
    fn error(&self, message: &'static str) -> ParseError {
        let before = &self.text[..self.pos];
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        ParseError {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message,
        }
    }

    fn value(&mut self) -> Result<Json, ParseError> {
        match self.peek() {
            None => Err(self.error("EOF while parsing a value")),
            Some(b'{') => self.nested(Parser::object),
            Some(b'[') => self.nested(Parser::array),
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected value")),
        }
    }

    /// Runs `parse` one level deeper, refusing past [`MAX_DEPTH`].
    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<Json, ParseError>,
    ) -> Result<Json, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        self.depth += 1;
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, ParseError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected value"))
        }
    }

    fn object(&mut self) -> Result<Json, ParseError> {
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_blanks();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(entries));
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.error("EOF while parsing an object")),
                Some(_) => return Err(self.error("key must be a string")),
            }
            let key = self.string()?;
            self.skip_blanks();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            self.skip_blanks();
            entries.push((key, self.value()?));
            if self.list_ends(b'}', "EOF while parsing an object", "expected `,` or `}`")? {
                return Ok(Json::Object(entries));
            }
        }
    }

    fn array(&mut self) -> Result<Json, ParseError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_blanks();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.list_ends(b']', "EOF while parsing a list", "expected `,` or `]`")? {
                return Ok(Json::Array(items));
            }
        }
    }

    /// After an entry of a list or an object: true at its closing bracket,
    /// false after a comma with another entry to come.
    fn list_ends(
        &mut self,
        close: u8,
        at_eof: &'static str,
        otherwise: &'static str,
    ) -> Result<bool, ParseError> {
        self.skip_blanks();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_blanks();
                if self.peek() == Some(close) {
                    return Err(self.error("trailing comma"));
                }
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            None => Err(self.error(at_eof)),
            Some(_) => Err(self.error(otherwise)),
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut text = String::new();
        loop {
            let rest = &self.text.as_bytes()[self.pos..];
            let Some(stop) = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            else {
                self.pos = self.text.len();
                return Err(self.error("EOF while parsing a string"));
            };
            // The stop is an ASCII byte, so both sides are character boundaries.
            text.push_str(&self.text[self.pos..self.pos + stop]);
            self.pos += stop;
            match rest[stop] {
                b'"' => {
                    self.pos += 1;
                    return Ok(text);
                }
                b'\\' => {
                    self.pos += 1;
                    text.push(self.escape()?);
                }
                _ => return Err(self.error("control character found while parsing a string")),
            }
        }
    }

    /// The character an escape stands for; `pos` is just after the backslash.
    fn escape(&mut self) -> Result<char, ParseError> {
        let Some(letter) = self.peek() else {
            return Err(self.error("EOF while parsing a string"));
        };
        self.pos += 1;
        Ok(match letter {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => {
                self.pos -= 1;
                return Err(self.error("invalid escape"));
            }
        })
    }

    /// `\uXXXX`, or a surrogate pair of two of them.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.pos..].starts_with("\\u") {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate in hex escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self.text.get(self.pos..self.pos + 4);
        let value = digits
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match value {
            Some(value) => {
                self.pos += 4;
                Ok(value)
            }
            None => Err(self.error("invalid escape")),
        }
    }

    /// A number, checked against JSON's grammar and kept as text.
    fn number(&mut self) -> Result<Json, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.required_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.required_digits()?;
        }
        Ok(Json::Number(Number(self.text[start..self.pos].to_string())))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), ParseError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error("invalid number"));
        }
        self.digits();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Json, Number};

    fn parse(text: &str) -> Json {
        Json::parse(text).unwrap_or_else(|err| panic!("{text:?}: {err}"))
    }

    #[test]
    fn keeps_duplicate_keys_in_order() {
        let Json::Object(entries) = parse(r#"{"b": 1, "a": true, "b": "x"}"#) else {
            panic!("expected an object");
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        assert_eq!(entries[2].1, Json::text("x"));
    }

    #[test]
    fn numbers_keep_the_text_they_were_written_with() {
        for text in [
            "10.0",
            "1e3",
            "-0",
            "0.50",
            "12345678901234567890123",
            "2E-7",
        ] {
            assert_eq!(parse(text), Json::Number(Number(text.into())), "{text}");
            assert_eq!(parse(text).to_canonical(), format!("{text}\n"));
        }
        for bad in ["01", "1.", ".5", "-", "1e", "+1", "0x10"] {
            assert!(Json::parse(bad).is_err(), "{bad} is no JSON number");
        }
    }

    #[test]
    fn strings_decode_escapes_and_surrogate_pairs() {
        assert_eq!(
            parse(r#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#),
            Json::text("a\"b\\c/d\n\té😀")
        );
        for bad in [
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\x""#,
            "\"a\u{1}b\"",
            "\"open",
        ] {
            assert!(Json::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reports_line_and_column() {
        let err = Json::parse("{\n  \"a\": 1,\n}").expect_err("trailing comma");
        assert_eq!((err.line, err.column), (3, 1));
        assert_eq!(err.to_string(), "trailing comma at line 3 column 1");
        let err = Json::parse("[1,\n  é x]").expect_err("bad value");
        assert_eq!((err.line, err.column), (2, 3), "columns count characters");
        for (text, message) in [
            ("", "EOF while parsing a value"),
            ("[1 2]", "expected `,` or `]`"),
            ("{\"a\" 1}", "expected `:`"),
            ("{1: 2}", "key must be a string"),
            ("[1] x", "trailing characters"),
            ("{\"a\": 1", "EOF while parsing an object"),
            ("tru", "expected value"),
        ] {
            let err = Json::parse(text).expect_err(text);
            assert_eq!(err.message, message, "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        let err = Json::parse(&deep).expect_err("too deep");
        assert_eq!(err.message, "recursion limit exceeded");
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(Json::parse(&fine).is_ok());
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        assert_eq!(parse("\u{feff}[null]"), Json::Array(vec![Json::Null]));
    }

    #[test]
    fn the_canonical_layout() {
        let json =
            parse(r#"{"a": [1, {"b": null}], "e": [], "o": {}, "s": "q\"\u0001é", "t": true}"#);
        let expected = "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \
                        \"e\": [],\n  \"o\": {},\n  \"s\": \"q\\\"\\u0001é\",\n  \"t\": true\n}\n";
        assert_eq!(json.to_canonical(), expected);
        assert_eq!(
            parse(expected),
            json,
            "the printed text reads back the same"
        );
    }

    #[test]
    fn editing_keeps_places() {
        let mut json = parse(r#"{"a": 1, "b": 2}"#);
        assert!(json.set("a", Json::text("x")));
        assert!(json.set("c", Json::Null));
        assert_eq!(
            json.to_canonical(),
            "{\n  \"a\": \"x\",\n  \"b\": 2,\n  \"c\": null\n}\n"
        );
        assert_eq!(json.remove("b"), Some(Json::Number(Number::from(2))));
        assert_eq!(json.get("a").and_then(Json::as_str), Some("x"));
        assert!(!Json::Null.set("a", Json::Null));
    }
}
