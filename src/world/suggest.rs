//! "Did you mean": the known word nearest to one written wrong, for warnings
//! about unknown keys and errors about unknown rooms. Nearness is the edit
//! distance without regard to case, a swap of two neighbours counting as one
//! edit (`acess` → `access`, `exitz` → `exits`, `naem` → `name`), and a word
//! only suggests another within a third of its length.

/// The nearest of `known` to `word`, if one is near enough; the first of
/// equally near ones. `word` itself is never suggested.
pub(super) fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed: Vec<char> = word.chars().flat_map(char::to_lowercase).collect();
    let mut best: Option<(usize, &str)> = None;
    for candidate in known {
        if candidate == word {
            continue;
        }
        let other: Vec<char> = candidate.chars().flat_map(char::to_lowercase).collect();
        let allowed = (typed.len().max(other.len()) / 3).clamp(1, 3);
        let d = distance(&typed, &other);
        if d <= allowed && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// The optimal string alignment distance of two words: insertions,
/// deletions, substitutions and swaps of two neighbours each cost one.
pub(super) fn distance(a: &[char], b: &[char]) -> usize {
    // Three rows of the table are enough: a swap looks two rows back.
    let mut before: Vec<usize> = Vec::new();
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{distance, nearest};

    fn d(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        distance(&a, &b)
    }

    #[test]
    fn distances() {
        assert_eq!(d("exitz", "exits"), 1);
        assert_eq!(d("acess", "access"), 1);
        assert_eq!(d("naem", "name"), 1, "a swap is one edit");
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("same", "same"), 0);
    }

    #[test]
    fn suggestions() {
        let keys = ["name", "description", "exits", "items", "id"];
        assert_eq!(nearest("exitz", keys), Some("exits"));
        assert_eq!(nearest("Name", keys), Some("name"), "case does not matter");
        assert_eq!(nearest("descripton", keys), Some("description"));
        assert_eq!(nearest("metadata", keys), None);
        assert_eq!(nearest("translation_layer", keys), None);
        assert_eq!(
            nearest("name", keys),
            None,
            "a word is not its own suggestion"
        );
        assert_eq!(nearest("ix", keys), Some("id"));
    }
}
