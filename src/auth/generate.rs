//! Things made up for players: guest passwords of four words, and pronounceable
//! character names for worlds that give names rather than let players choose.
//!
//! **Invariant:** every password made here passes the password policy, and every
//! name passes the character name rules; uniqueness is the caller's (the store's)
//! to check.

use super::names::check_character_name;
use super::password::policy_problems;

/// Short, common, easily typed words for guest passwords.
const WORDS: &[&str] = &[
    "amber", "anchor", "anvil", "apple", "arrow", "ash", "attic", "badger", "banner", "barley",
    "basket", "beacon", "bell", "bench", "birch", "bishop", "blanket", "bottle", "bramble",
    "brass", "bread", "brick", "bridge", "brook", "bucket", "butter", "button", "cabin", "candle",
    "canvas", "carpet", "castle", "cellar", "chalk", "chapel", "cherry", "chimney", "cinder",
    "clock", "cloud", "clover", "coal", "cobble", "copper", "cotton", "crane", "crow", "crown",
    "daisy", "dawn", "dune", "eagle", "ember", "falcon", "feather", "fennel", "ferry", "fiddle",
    "field", "flint", "fog", "forest", "fox", "garden", "garnet", "ginger", "glove", "granite",
    "grape", "gravel", "hammer", "harbour", "harvest", "hazel", "heather", "hedge", "heron",
    "hollow", "honey", "horizon", "island", "ivory", "ivy", "jasper", "juniper", "kettle",
    "lantern", "larch", "ledger", "lemon", "lily", "linen", "locket", "maple", "marble", "meadow",
    "mill", "mirror", "moss", "needle", "nutmeg", "oak", "oar", "orchard", "otter", "owl", "paper",
    "pebble", "pepper", "pigeon", "pine", "plum", "pocket", "pond", "poppy", "quarry", "quill",
    "rain", "raven", "reed", "ribbon", "river", "robin", "rope", "rowan", "saddle", "sail",
    "salmon", "sand", "scarf", "shadow", "shell", "shore", "silver", "slate", "smoke", "sparrow",
    "spindle", "spoon", "spring", "spruce", "star", "stone", "storm", "straw", "summer", "swallow",
    "teapot", "thimble", "thistle", "thunder", "timber", "tinder", "tower", "trellis", "tulip",
    "valley", "velvet", "violet", "wagon", "walnut", "water", "wheat", "whistle", "willow",
    "window", "winter", "wren", "yarrow",
];

const ONSETS: &[&str] = &[
    "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "r", "s", "st",
    "t", "th", "v", "w",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ae", "ia", "ou", "ei"];
const CODAS: &[&str] = &["", "", "", "n", "r", "l", "s", "th", "m", "nd", "rn", "ck"];

/// A source of random choices; fresh entropy each time unless a test seeds it.
pub trait Pick {
    fn next(&mut self) -> u64;

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Random choices from the operating system's generator (through `uuid`).
pub struct Entropy;

impl Pick for Entropy {
    fn next(&mut self) -> u64 {
        uuid::Uuid::new_v4().as_u128() as u64
    }
}

/// Four words joined by spaces, passing the password policy.
pub fn password(pick: &mut impl Pick) -> String {
    loop {
        let words: Vec<&str> = (0..4).map(|_| pick.pick(WORDS)).collect();
        let candidate = words.join(" ");
        if policy_problems(&candidate).is_empty() {
            return candidate;
        }
    }
}

/// A pronounceable name of two or three syllables that passes the character
/// name rules (`is_command_word` as for any character name).
pub fn character_name(pick: &mut impl Pick, is_command_word: impl Fn(&str) -> bool) -> String {
    loop {
        let syllables = 2 + pick.next() % 2;
        let mut name = String::new();
        for _ in 0..syllables {
            name.push_str(pick.pick(ONSETS));
            name.push_str(pick.pick(VOWELS));
        }
        name.push_str(pick.pick(CODAS));
        let mut chars = name.chars();
        let name: String = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => continue,
        };
        if (4..=12).contains(&name.len()) && check_character_name(&name, &is_command_word).is_ok() {
            return name;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    struct Seeded(Rng);

    impl Pick for Seeded {
        fn next(&mut self) -> u64 {
            self.0.next()
        }
    }

    #[test]
    fn passwords_are_four_words_that_pass_the_policy() {
        let mut pick = Seeded(Rng(7));
        for _ in 0..500 {
            let made = password(&mut pick);
            assert_eq!(made.split(' ').count(), 4, "{made}");
            assert!(policy_problems(&made).is_empty(), "{made}");
        }
    }

    #[test]
    fn names_are_pronounceable_and_pass_the_rules() {
        let mut pick = Seeded(Rng(11));
        let never = |word: &str| word.eq_ignore_ascii_case("look");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let name = character_name(&mut pick, never);
            assert!(check_character_name(&name, never).is_ok(), "{name}");
            assert!(
                name.chars().next().is_some_and(char::is_uppercase),
                "{name}"
            );
            // Syllables alternate: never three consonants or three vowels in a row.
            let vowel: Vec<bool> = name
                .to_lowercase()
                .chars()
                .map(|c| "aeiou".contains(c))
                .collect();
            assert!(
                !vowel.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]),
                "{name}"
            );
            seen.insert(name);
        }
        assert!(seen.len() > 300, "names vary: {}", seen.len());
    }
}
