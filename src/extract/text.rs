//! Whitespace normalisation shared by every extractor.

/// Characters that render as nothing and must not make two texts differ.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
    )
}

/// Collapse every run of whitespace (including no-break spaces) to one
/// space, drop invisible characters, and trim both ends.
pub fn normalize(s: &str) -> String {
    if s.is_ascii() {
        normalize_ascii(s)
    } else {
        normalize_chars(s)
    }
}

/// [`normalize`] for ASCII text (most text), a word at a time: no ASCII
/// character is invisible, and its whitespace is tab to carriage return
/// and space (as `char::is_whitespace` has it).
fn normalize_ascii(s: &str) -> String {
    let space = |c: u8| matches!(c, b'\t'..=b'\r' | b' ');
    let b = s.as_bytes();
    // Already in shape (often so): no whitespace but single spaces inside,
    // checked without a branch per byte (a searcher for "  " would cost
    // more to build than these folds take on a paragraph).
    let control_space = b.iter().fold(false, |found, &c| {
        found | (c.wrapping_sub(b'\t') <= b'\r' - b'\t')
    });
    let double_space = b
        .iter()
        .zip(b.get(1..).unwrap_or_default())
        .fold(false, |found, (&x, &y)| found | ((x == b' ') & (y == b' ')));
    if !control_space && !double_space && b.first() != Some(&b' ') && b.last() != Some(&b' ') {
        return s.to_string();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() && space(b[i]) {
        i += 1;
    }
    while i < b.len() {
        // A stretch already in shape (words with single spaces between
        // them) is copied at once; usually that is the whole text.
        let start = i;
        loop {
            while i < b.len() && !space(b[i]) {
                i += 1;
            }
            if b[i..].len() > 1 && b[i] == b' ' && !space(b[i + 1]) {
                i += 1;
            } else {
                break;
            }
        }
        out.extend_from_slice(&b[start..i]);
        while i < b.len() && space(b[i]) {
            i += 1;
        }
        if i < b.len() {
            out.push(b' ');
        }
    }
    // Only ASCII bytes were copied.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn normalize_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !is_invisible(c) {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{edit_distance, normalize, normalize_chars};
    use proptest::prelude::*;

    proptest! {
        /// The ASCII fast path says what the general one says.
        #[test]
        fn ascii_text_normalizes_as_any_text(s in "[ -~\t\n\x0b\x0c\r\x00-\x1f]{0,80}") {
            prop_assert!(s.is_ascii());
            prop_assert_eq!(normalize(&s), normalize_chars(&s));
        }

        /// Mostly whitespace, in every arrangement.
        #[test]
        fn ascii_whitespace_runs_normalize_as_any_text(s in "[ ab\t\n\r]{0,40}") {
            prop_assert_eq!(normalize(&s), normalize_chars(&s));
        }
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("café", "cafe"), 1);
    }

    #[test]
    fn collapses_and_trims() {
        assert_eq!(normalize("  a \n\t b\u{a0}\u{a0}c  "), "a b c");
        assert_eq!(normalize("zero\u{200b}width"), "zerowidth");
        assert_eq!(normalize(" \n "), "");
        assert_eq!(normalize("\x0ba\x0b\x0c b\r\n"), "a b");
        assert_eq!(normalize("\u{1c}x\u{1f}"), "\u{1c}x\u{1f}");
    }
}
