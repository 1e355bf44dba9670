//! A JSON tree that keeps what `serde_json::Value` throws away: the order of an
//! object's keys and keys that appear twice. A world file written as a map by id
//! with the same id twice must be reported, not silently shortened, so the loader
//! reads files into this tree instead. It only parses; what the keys mean belongs
//! to the other files of this module.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// One JSON value. Numbers are kept only as far as the loader needs them.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    /// Entries in file order, duplicates included.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses text, with serde's message (line and column) on failure.
    pub(super) fn parse(text: &str) -> Result<Json, serde_json::Error> {
        // A byte-order mark is legal in a UTF-8 file but not in JSON text.
        serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
    }

    /// What kind of value this is, for "expected X, found Y" messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    // Precision beyond f64 does not matter: numbers only ever become text
    // (a `version`) or a type error.
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn keeps_duplicate_keys_in_order() {
        let json = Json::parse(r#"{"b": 1, "a": true, "b": "x"}"#).expect("valid JSON");
        let Json::Object(entries) = json else {
            panic!("expected an object");
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        assert_eq!(entries[2].1, Json::String("x".into()));
    }

    #[test]
    fn reports_line_and_column() {
        let err = Json::parse("{\n  \"a\": 1,\n}").expect_err("trailing comma");
        assert_eq!(err.line(), 3);
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        assert_eq!(
            Json::parse("\u{feff}[null]").ok(),
            Some(Json::Array(vec![Json::Null]))
        );
    }
}
