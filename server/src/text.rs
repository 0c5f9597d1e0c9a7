//! The one policy for text from the network. Every free-text field of a
//! request (names, titles, notes, reasons, petition content) goes through
//! [`one_line`] or [`multi_line`]:
//!
//! 1. normalized to NFC, so text that looks the same is stored the same;
//! 2. line breaks: a multi-line field takes LF, CRLF, CR, U+0085, U+2028
//!    and U+2029 (all stored as LF); a one-line field takes none;
//! 3. trimmed of whitespace and invisible characters at both ends;
//! 4. refused: NUL and every other control character (a tab only in
//!    multi-line fields), and bidirectional formatting characters, which
//!    make text display in another order than it is stored and read
//!    ("Trojan Source"): U+061C, U+200E, U+200F, U+202A–U+202E,
//!    U+2066–U+2069;
//! 5. a field that is not empty must show something: at least one
//!    character that is neither whitespace nor invisible (zero-width
//!    characters, the BOM, Hangul fillers such as U+3164, variation
//!    selectors, …).
//!
//! Lengths are counted in characters, after normalization and trimming.

use unicode_normalization::UnicodeNormalization;

use crate::error::FieldViolation;

/// Characters that display as nothing: without any other, a text looks
/// empty. (Whitespace is handled by `char::is_whitespace`.)
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{115F}' | '\u{1160}'   // Hangul choseong/jungseong fillers
        | '\u{17B4}' | '\u{17B5}'   // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'   // Mongolian variation selectors, vowel separator
        | '\u{200B}'..='\u{200D}'   // zero-width space, non-joiner, joiner
        | '\u{2060}'..='\u{2064}'   // word joiner, invisible operators
        | '\u{206A}'..='\u{206F}'   // deprecated format characters
        | '\u{2800}'                // braille blank
        | '\u{3164}'                // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{FEFF}'                // byte order mark, zero-width no-break space
        | '\u{FFA0}'                // halfwidth Hangul filler
        | '\u{1D173}'..='\u{1D17A}' // musical formatting
        | '\u{E0000}'..='\u{E0FFF}' // tags, variation selectors supplement
    )
}

/// Characters that reorder how text is displayed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}')
}

/// Whether a field may hold several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// A one-line field (a name, a title, a note) within `min..=max`
/// characters; `min` 0 makes it optional.
pub fn one_line(field: &str, raw: &str, min: usize, max: usize, violations: &mut Vec<FieldViolation>) -> String {
    check(field, raw, min, max, Lines::One, violations)
}

/// A field that may hold paragraphs (petition content, an opinion, a
/// reason) within `min..=max` characters.
pub fn multi_line(field: &str, raw: &str, min: usize, max: usize, violations: &mut Vec<FieldViolation>) -> String {
    check(field, raw, min, max, Lines::Many, violations)
}

/// Whether `raw` holds a character no text field takes (NUL and the other
/// control characters but line breaks and tabs, bidirectional controls):
/// for values looked up rather than stored, such as a login name.
pub fn has_forbidden(raw: &str) -> bool {
    raw.chars().any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c))
}

fn check(field: &str, raw: &str, min: usize, max: usize, lines: Lines, violations: &mut Vec<FieldViolation>) -> String {
    let normalized: String = raw.nfc().collect();
    let unified = match lines {
        Lines::Many => normalized.replace("\r\n", "\n").replace(['\r', '\u{0085}', '\u{2028}', '\u{2029}'], "\n"),
        Lines::One => normalized,
    };
    let value = unified.trim_matches(|c: char| c.is_whitespace() || is_invisible(c)).to_owned();
    let mut refuse = |why: &str| violations.push(FieldViolation::new(field, why));
    if value.contains('\0') {
        refuse("must not contain NUL characters");
    } else if lines == Lines::One && value.chars().any(is_line_break) {
        refuse("must be a single line");
    } else if value.chars().any(|c| c.is_control() && !(lines == Lines::Many && matches!(c, '\n' | '\t'))) {
        refuse("must not contain control characters");
    } else if value.chars().any(is_bidi_control) {
        refuse("must not contain bidirectional formatting characters");
    } else {
        let chars = value.chars().count();
        if chars < min {
            refuse(&if min == 1 { "is required".to_owned() } else { format!("needs at least {min} characters") });
        } else if chars > max {
            refuse(&format!("must be at most {max} characters"));
        } else if chars > 0 && value.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
            refuse("must contain visible characters");
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> Result<String, String> {
        let mut v = Vec::new();
        let value = one_line("f", raw, 1, 20, &mut v);
        match v.pop() {
            None => Ok(value),
            Some(violation) => Err(violation.description),
        }
    }

    fn many(raw: &str) -> Result<String, String> {
        let mut v = Vec::new();
        let value = multi_line("f", raw, 1, 20, &mut v);
        match v.pop() {
            None => Ok(value),
            Some(violation) => Err(violation.description),
        }
    }

    #[test]
    fn text_that_shows_nothing_is_empty() {
        for raw in [
            "",
            "   ",
            "\u{3000}",
            "\u{200B}\u{200B}",
            "\u{3164}",
            "\u{FEFF}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{2800}",
            "\u{00AD}",
            "\u{FE0F}",
            "\u{E0041}",
            "\u{200D}\u{3164}\u{FEFF}",
        ] {
            assert_eq!(one(raw), Err("is required".into()), "{raw:?}");
            assert_eq!(many(raw), Err("is required".into()), "{raw:?}");
        }
        assert_eq!(one("\u{200B}路灯\u{FEFF}"), Ok("路灯".into()), "invisible ends are trimmed");
        assert_eq!(one("a\u{200B}b"), Ok("a\u{200B}b".into()), "inside a word it may stay");
        assert_eq!(one("👨\u{200D}👩\u{200D}👧"), Ok("👨\u{200D}👩\u{200D}👧".into()), "emoji sequences join");
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        assert_eq!(one("a\0b"), Err("must not contain NUL characters".into()));
        assert_eq!(many("a\0b"), Err("must not contain NUL characters".into()));
        for c in ['\u{1}', '\u{7}', '\u{8}', '\u{1B}', '\u{7F}', '\u{9B}'] {
            let raw = format!("a{c}b");
            assert_eq!(one(&raw), Err("must not contain control characters".into()), "{c:?}");
            assert_eq!(many(&raw), Err("must not contain control characters".into()), "{c:?}");
        }
        assert_eq!(one("a\tb"), Err("must not contain control characters".into()));
        assert_eq!(many("a\tb"), Ok("a\tb".into()));
    }

    #[test]
    fn bidirectional_controls_are_refused() {
        for c in ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let raw = format!("invoice{c}txt.exe");
            assert_eq!(one(&raw), Err("must not contain bidirectional formatting characters".into()), "{c:?}");
            assert_eq!(many(&raw), Err("must not contain bidirectional formatting characters".into()), "{c:?}");
        }
        assert!(has_forbidden("a\u{202E}b") && has_forbidden("a\0b") && !has_forbidden("张三 13800138000"));
    }

    #[test]
    fn line_breaks_only_where_lines_are() {
        for raw in ["a\nb", "a\r\nb", "a\rb", "a\u{2028}b", "a\u{2029}b", "a\u{0085}b"] {
            assert_eq!(one(raw), Err("must be a single line".into()), "{raw:?}");
        }
        assert_eq!(many("a\r\nb\rc\nd"), Ok("a\nb\nc\nd".into()));
        assert_eq!(many("a\u{2028}b\u{2029}c\u{0085}d"), Ok("a\nb\nc\nd".into()));
        assert_eq!(one("  标题 \n"), Ok("标题".into()), "a trailing newline is trimmed");
    }

    #[test]
    fn text_is_normalized_and_measured_after() {
        assert_eq!(one("e\u{301}"), Ok("\u{e9}".into()), "NFC");
        assert_eq!(one(&"字".repeat(20)), Ok("字".repeat(20)));
        assert_eq!(one(&"字".repeat(21)), Err("must be at most 20 characters".into()));
        // Twenty decomposed letters are twenty characters once composed.
        assert_eq!(one(&"e\u{301}".repeat(20)).map(|s| s.chars().count()), Ok(20));
        let mut v = Vec::new();
        assert_eq!(one_line("f", "", 0, 20, &mut v), "");
        assert!(v.is_empty(), "an optional field may be empty");
        one_line("f", "\u{3164}", 0, 20, &mut v);
        assert!(v.is_empty(), "an optional field of fillers is empty once trimmed");
    }
}
