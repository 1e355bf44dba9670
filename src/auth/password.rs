//! The password policy (SPEC §3, the predecessor's STANDARD policy): 12 to 72 bytes,
//! not a common password, no run of 3 ascending or descending characters, no
//! character 4 times in a row.
//!
//! Every rule a password breaks is reported, each as one sentence, so the player can
//! fix all of them at once. The sentences describe the rule and never quote the
//! password, because callers may log them.
//!
//! What counts as "common": the password is compared with the built-in list
//! (`common_passwords.txt`, beside this file) after lowercasing it and dropping
//! spaces, `-`, `_` and `.`; every character that leetspeak uses for a letter (`0`
//! for o, `1` and `!` for i or l, `@` for a, `$` for s, ...) may stand for that
//! letter, so every plausible reading is tried at once without listing them. A
//! listed password with digits, symbols or spaces added before or after it
//! ("Password1234!", "2024dragon") is common too, since padding a word is the
//! first thing cracking tools try; only a stem that contains a real letter is read
//! as leetspeak, so a string of digits is never mistaken for a word.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The fewest bytes a password may have.
pub const MIN_PASSWORD_BYTES: usize = 12;
/// The most bytes bcrypt reads; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// The rule a password with a NUL byte breaks. Telnet clients can send NUL,
/// but a password that holds one could not be typed the same way twice, so it
/// is refused (with this sentence) rather than quietly dropped.
pub const NUL_IN_PASSWORD: &str = "Passwords must not contain NUL bytes.";

/// Returns every rule `password` breaks; empty means it is acceptable.
pub fn policy_problems(password: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.contains('\0') {
        problems.push(NUL_IN_PASSWORD.to_string());
    }
    if password.len() < MIN_PASSWORD_BYTES {
        problems.push(format!(
            "Passwords must be at least {MIN_PASSWORD_BYTES} characters long."
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        problems.push(format!(
            "Passwords may be at most {MAX_PASSWORD_BYTES} bytes long \
             (letters outside plain ASCII take 2 to 4 bytes each)."
        ));
    }
    if is_common(password) {
        problems.push(
            "Passwords must not be a common password, not even with look-alike digits \
             or symbols swapped in or with digits or symbols added."
                .to_string(),
        );
    }
    if has_sequence(password) {
        problems.push(
            "Passwords must not contain 3 ascending or descending characters in a row, \
             like \"abc\", \"cba\" or \"123\"."
                .to_string(),
        );
    }
    if has_repeat(password) {
        problems.push(
            "Passwords must not repeat a character 4 times in a row, like \"aaaa\".".to_string(),
        );
    }
    problems
}

/// The built-in list, one entry a line; see the file's header for its rules.
const COMMON_PASSWORDS_TEXT: &str = include_str!("common_passwords.txt");

/// The list as characters, grouped by length, because a candidate is only ever
/// compared with entries exactly as long as it is.
static COMMON_BY_LENGTH: LazyLock<HashMap<usize, Vec<Vec<char>>>> = LazyLock::new(|| {
    let mut by_length: HashMap<usize, Vec<Vec<char>>> = HashMap::new();
    for entry in common_entries() {
        let chars: Vec<char> = entry.chars().collect();
        by_length.entry(chars.len()).or_default().push(chars);
    }
    by_length
});

/// The entries of the built-in list, without comments and blank lines.
fn common_entries() -> impl Iterator<Item = &'static str> {
    COMMON_PASSWORDS_TEXT
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Characters people put between words, dropped before comparing with the list.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '_' | '.')
}

/// The lower-case form of `c` (its first character, for the few letters whose
/// lower case is longer).
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// The letters `c` may stand for in leetspeak (besides itself).
fn leet_letters(c: char) -> &'static [char] {
    match c {
        '0' => &['o'],
        '1' | '!' | '|' => &['i', 'l'],
        '2' => &['z'],
        '3' | '€' => &['e'],
        '4' | '@' => &['a'],
        '5' | '$' => &['s'],
        '6' => &['g', 'b'],
        '7' => &['t', 'l'],
        '8' => &['b'],
        '9' => &['g', 'q'],
        '+' => &['t'],
        '#' => &['h'],
        '(' | '<' | '[' | '{' => &['c'],
        '£' => &['l'],
        _ => &[],
    }
}

/// Whether two (folded) characters may be the same letter: equal, or one a
/// leetspeak spelling of the other, or both spellings of one letter ('!' and '1').
fn same_letter(a: char, b: char) -> bool {
    let readings = |c: char| std::iter::once(c).chain(leet_letters(c).iter().copied());
    readings(a).any(|x| readings(b).any(|y| x == y))
}

/// Whether `password`, or the part of it left after taking away leading and
/// trailing digits and symbols, is on the list under some leetspeak reading.
fn is_common(password: &str) -> bool {
    let chars: Vec<char> = password
        .chars()
        .filter(|c| !is_separator(*c))
        .map(fold)
        .collect();
    let lead = chars.iter().take_while(|c| !c.is_alphabetic()).count();
    let trail = chars
        .iter()
        .rev()
        .take_while(|c| !c.is_alphabetic())
        .count();
    // A stem starts within the leading padding and ends within the trailing one;
    // for a password without letters both cover everything. No stem is longer
    // than the longest entry, which keeps a long string of digits cheap.
    let longest = COMMON_BY_LENGTH.keys().copied().max().unwrap_or(0);
    let first_end = chars.len() - trail;
    (0..=lead).any(|start| {
        let ends = first_end.max(start + 1)..=chars.len().min(start + longest);
        ends.into_iter()
            .any(|end| stem_is_common(&chars[start..end]))
    })
}

/// Whether `stem` reads as one of the listed passwords of its length.
fn stem_is_common(stem: &[char]) -> bool {
    let Some(entries) = COMMON_BY_LENGTH.get(&stem.len()) else {
        return false;
    };
    // Leetspeak is only undone where there is a word to undo it in: a run of
    // digits such as "7357" is not the word "test", and is compared as it stands.
    if !stem.iter().any(|c| c.is_alphabetic()) {
        return entries.iter().any(|entry| entry.as_slice() == stem);
    }
    entries
        .iter()
        .any(|entry| stem.iter().zip(entry).all(|(&a, &b)| same_letter(a, b)))
}

/// Whether 3 characters in a row have consecutive code points, going up or down
/// (letters compared without regard to case).
fn has_sequence(password: &str) -> bool {
    let points: Vec<i64> = password
        .chars()
        .map(|c| i64::from(u32::from(fold(c))))
        .collect();
    points.windows(3).any(|w| {
        let (up, down) = (w[1] - w[0], w[2] - w[1]);
        up == down && up.abs() == 1
    })
}

/// Whether one character (without regard to case) appears 4 times in a row.
fn has_repeat(password: &str) -> bool {
    let chars: Vec<char> = password.chars().map(fold).collect();
    chars.windows(4).any(|w| w.iter().all(|&c| c == w[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMON: &str = "Passwords must not be a common password";
    const SEQUENCE: &str = "3 ascending or descending";
    const REPEAT: &str = "4 times in a row";
    const SHORT: &str = "at least 12 characters";
    const LONG: &str = "at most 72 bytes";

    /// Asserts that `password` breaks exactly the rules whose messages contain
    /// `expected`, in the order the policy checks them.
    fn assert_problems(password: &str, expected: &[&str]) {
        let problems = policy_problems(password);
        assert_eq!(
            problems.len(),
            expected.len(),
            "{password:?} gave {problems:?}, expected {expected:?}"
        );
        for (problem, wanted) in problems.iter().zip(expected) {
            assert!(
                problem.contains(wanted),
                "{password:?}: {problem:?} lacks {wanted:?}"
            );
        }
    }

    #[test]
    fn good_passwords_pass() {
        for good in [
            "correct horse battery",
            "lamplighter on fog street",
            "Velvet-Tiger-Harbour",
            "my cat hates mondays",
            "Zebra kite moon 48",
            "grün und blau am meer",
        ] {
            assert_problems(good, &[]);
        }
    }

    #[test]
    fn the_integration_tests_password_is_valid() {
        // tests/integration/support.rs PASSWORD: every integration test logs in with it.
        assert!(policy_problems("correct horse battery").is_empty());
    }

    #[test]
    fn length_is_counted_in_bytes() {
        assert_problems("zebra kite", &[SHORT]);
        assert_problems("zebra kite m", &[]);
        // Six 3-byte characters are 18 bytes: long enough, however few they look.
        assert_problems("雨の夜に灯る", &[]);
        assert_problems(&"x".repeat(0), &[SHORT]);
    }

    /// A string of `bytes` bytes that breaks no rule but length: the words cycle.
    fn filler(bytes: usize) -> String {
        "kite moon zebra ".chars().cycle().take(bytes).collect()
    }

    #[test]
    fn the_72_byte_limit_counts_multi_byte_characters() {
        let at_limit = format!("{}é", filler(70));
        assert_eq!(at_limit.len(), 72);
        assert_problems(&at_limit, &[]);
        let over = format!("{}é", filler(71));
        assert_eq!((over.len(), over.chars().count()), (73, 72));
        assert_problems(&over, &[LONG]);
        assert_problems(&filler(72), &[]);
        assert_problems(&filler(73), &[LONG]);
        let four_byte = format!("{}🦀", filler(69));
        assert_eq!(four_byte.len(), 73);
        assert_problems(&four_byte, &[LONG]);
    }

    #[test]
    fn a_nul_byte_is_refused_by_name() {
        assert_problems("kite moon\0zebra", &[NUL_IN_PASSWORD]);
        assert_problems("\0", &[NUL_IN_PASSWORD, SHORT]);
    }

    #[test]
    fn listed_passwords_are_refused_in_any_case() {
        assert_problems("password1234", &[COMMON, SEQUENCE]);
        assert_problems("QWERTYUIOPASDF", &[COMMON]);
        assert_problems("IloveYou1234", &[COMMON, SEQUENCE]);
        assert_problems("letmein12345", &[COMMON, SEQUENCE]);
        assert_problems("Administrator", &[COMMON]);
        assert_problems("passwordpassword", &[COMMON]);
        assert_problems("correcthorsebatterystaple", &[COMMON]);
    }

    #[test]
    fn leetspeak_is_undone() {
        assert_problems("P@ssw0rd1984", &[COMMON]);
        assert_problems("@dm1n1str@t0r", &[COMMON]);
        assert_problems("m@n<h3$t3rUn!t3d", &[COMMON]);
        assert_problems("tru$tn0!tru$tn01", &[COMMON]);
        // '7' may be a 't' or an 'l', '1' an 'i' or an 'l': every reading is tried.
        assert_problems("7h3qu1ckbr0wnf0x", &[COMMON]);
        assert_problems("dragonslayer", &[COMMON]);
        assert_problems("drag0n$l@y3r", &[COMMON]);
    }

    #[test]
    fn separators_between_words_do_not_hide_a_listed_password() {
        assert_problems("Correct Horse Battery Staple", &[COMMON]);
        assert_problems("i-love-you-forever", &[COMMON]);
        assert_problems("happy_birthday", &[COMMON]);
    }

    #[test]
    fn a_listed_password_padded_with_digits_or_symbols_is_common() {
        assert_problems("Dragon2024!?", &[COMMON]);
        assert_problems("%%sunshine%%", &[COMMON]);
        assert_problems("1984monkey1984", &[COMMON]);
        assert_problems("Tr0ub4dor&3 sunflower", &[]);
        // Padding counts only at the ends: a word inside a longer phrase is fine.
        assert_problems("the dragon sleeps here", &[]);
        assert_problems("dragonfly over water", &[]);
    }

    #[test]
    fn digits_alone_are_not_read_as_leetspeak_words() {
        // "7357" would read as "test" if digits alone were read as leetspeak.
        assert_problems("8827357442018", &[]);
        assert_problems("902847560192", &[]);
        assert_problems("111111111111", &[COMMON, REPEAT]);
        assert_problems("2019!23456789", &[SEQUENCE]);
    }

    #[test]
    fn sequences_up_or_down_are_refused() {
        for bad in [
            "zebra abc kite moon",
            "zebra CBA kite moon",
            "zebra aBc kite moon",
            "zebra 123 kite moon",
            "zebra 987 kite moon",
            "zebra xyz kite moon",
            "zebra first kite",
        ] {
            assert_problems(bad, &[SEQUENCE]);
        }
        // Two in a row, or three with a gap, are fine.
        assert_problems("zebra ab kite 12 moon", &[]);
        assert_problems("zebra ace kite 135", &[]);
        // Up then down is no run.
        assert_problems("zebra aba kite 121", &[]);
    }

    #[test]
    fn four_repeats_are_refused_three_are_fine() {
        assert_problems("zebra kite moooo", &[REPEAT]);
        assert_problems("zebra kite mOoOo", &[REPEAT]);
        assert_problems("zebra kite!!!! moon", &[REPEAT]);
        assert_problems("zebra kite mooo n", &[]);
    }

    #[test]
    fn every_broken_rule_is_named_at_once() {
        assert_problems("password", &[SHORT, COMMON]);
        assert_problems("abcdddd", &[SHORT, SEQUENCE, REPEAT]);
        assert_problems("Passw0rd!!!!123", &[COMMON, SEQUENCE, REPEAT]);
        let everything = format!("{}abcd1111", filler(70));
        assert_problems(&everything, &[LONG, SEQUENCE, REPEAT]);
        assert_problems("aaaa", &[SHORT, REPEAT]);
        let problems = policy_problems("abc");
        assert!(problems.iter().all(|p| p.ends_with('.')), "{problems:?}");
    }

    #[test]
    fn the_common_list_is_well_formed() {
        let entries: Vec<&str> = common_entries().collect();
        let long = entries
            .iter()
            .filter(|e| e.len() >= MIN_PASSWORD_BYTES)
            .count();
        assert!(long >= 150, "only {long} entries of 12 bytes or more");
        let mut seen = std::collections::HashSet::new();
        for entry in &entries {
            assert!(entry.chars().count() >= 4, "{entry:?} is too short to pad");
            assert_eq!(entry.to_lowercase(), *entry, "{entry:?} is not lower case");
            assert!(
                !entry.chars().any(is_separator),
                "{entry:?} has a separator"
            );
            assert!(seen.insert(*entry), "{entry:?} is listed twice");
        }
    }

    #[test]
    fn a_kilobyte_of_digits_is_checked_quickly_and_correctly() {
        // The longest line a client may send; every substring is a candidate stem.
        let digits: String = "8827357442018".chars().cycle().take(1024).collect();
        assert!(!is_common(&digits));
        assert!(is_common(&format!("{digits}654321")));
    }

    #[test]
    fn every_listed_password_is_refused() {
        for entry in common_entries() {
            assert!(is_common(entry), "{entry:?} slipped through");
            assert!(is_common(&entry.to_uppercase()), "{entry:?} in upper case");
        }
    }
}
