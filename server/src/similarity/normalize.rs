//! Chinese-aware normalization and tokenization of petition text.
//!
//! 1. **Fold** the text with Unicode NFKC (full-width letters, digits and
//!    punctuation become their half-width forms, circled digits become
//!    digits, the ideographic space a space) and lowercase ASCII letters.
//!    The folded text keeps its punctuation: it is what passages quoted back
//!    to staff are cut from.
//! 2. **Tokenize** the folded text into *units*: every Han character is one
//!    unit, every run of ASCII letters and digits is one unit (a decimal point
//!    between digits stays inside the run, a thousands comma `12,000` is
//!    dropped from it), every other letter or number character is one unit.
//!    Punctuation, symbols and whitespace (CJK and ASCII alike) only separate
//!    units and are otherwise folded away. Digits are kept: amounts, dates
//!    and house numbers are the specifics of a matter.
//!
//! No traditional→simplified conversion is done (it needs tables); petitions
//! in this system are written in simplified Chinese.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;

/// What a unit is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// One Han (CJK ideograph) character, including 〇.
    Han,
    /// A run of ASCII letters and digits (lowercased), e.g. `2023`, `1.5`, `a3`.
    Alnum,
    /// One other letter or number character (kana, Hangul, Greek, ...).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    kind: UnitKind,
    /// Byte range of the unit's normalized text in `Normalized::units_text`.
    text: Range<u32>,
    /// Byte range the unit covers in `Normalized::folded`.
    span: Range<u32>,
}

/// A text after folding and tokenization.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    folded: String,
    units_text: String,
    units: Vec<Unit>,
}

/// True for Han characters: the CJK Unified Ideographs blocks (basic and
/// extensions A–H), the compatibility ideographs that NFKC leaves, and 〇.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3007
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2EBEF
        | 0x30000..=0x323AF)
}

/// NFKC plus ASCII lowercase: the folded form of `text`.
///
/// Most of a petition is CJK ideographs, ASCII and full-width punctuation,
/// whose NFKC forms are known without the normalizer's tables; only the runs
/// between them go through it (the normalizer was half of analyzing a text).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The characters since the last quick one, normalized together.
    let mut rest = String::new();
    let flush = |out: &mut String, rest: &mut String| {
        if rest.is_empty() {
            return;
        }
        out.extend(rest.nfkc().map(|c| c.to_ascii_lowercase()));
        rest.clear();
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let quick = quick_nfkc(c).filter(|_| is_inert(c) || chars.peek().is_none_or(|&n| quick_nfkc(n).is_some()));
        match quick {
            Some(folded) => {
                flush(&mut out, &mut rest);
                out.push(folded.to_ascii_lowercase());
            }
            None => rest.push(c),
        }
    }
    flush(&mut out, &mut rest);
    out
}

/// The NFKC form of `c` when it is one character known without tables: a
/// CJK Unified Ideograph, ASCII, a full-width ASCII form, the ideographic
/// space, or common CJK punctuation that NFKC keeps. Each is a starter that
/// nothing composes with from before, so a run of them splits the text into
/// parts normalized apart; only ideographs also never compose with what
/// follows ([`is_inert`]).
fn quick_nfkc(c: char) -> Option<char> {
    match c as u32 {
        _ if is_inert(c) => Some(c),
        0x00..=0x7F | 0x3001 | 0x3002 | 0x300A..=0x3011 | 0x2018 | 0x2019 | 0x201C | 0x201D => Some(c),
        0x3000 => Some(' '),
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0),
        _ => None,
    }
}

/// CJK Unified Ideographs (basic and extension A): NFKC keeps them, and they
/// compose with nothing before or after.
fn is_inert(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

impl Normalized {
    /// Folds and tokenizes `text`.
    pub fn new(text: &str) -> Self {
        let folded = fold(text);
        let mut units_text = String::with_capacity(folded.len());
        let mut units = Vec::with_capacity(folded.len() / 2);
        let chars: Vec<(usize, char)> = folded.char_indices().collect();
        let end_of = |i: usize| chars.get(i + 1).map_or(folded.len(), |&(b, _)| b);
        let mut i = 0;
        while i < chars.len() {
            let (start, c) = chars[i];
            if c.is_ascii_alphanumeric() {
                let text_start = units_text.len();
                let mut j = i;
                while j < chars.len() {
                    let c = chars[j].1;
                    if c.is_ascii_alphanumeric() {
                        units_text.push(c);
                    } else if c == '.' && digit_at(&chars, j.wrapping_sub(1)) && digit_at(&chars, j + 1) {
                        units_text.push('.');
                    } else if c == ',' && is_thousands_comma(&chars, j) {
                        // 12,000: the comma only groups digits.
                    } else {
                        break;
                    }
                    j += 1;
                }
                units.push(Unit {
                    kind: UnitKind::Alnum,
                    text: text_start as u32..units_text.len() as u32,
                    span: start as u32..end_of(j - 1) as u32,
                });
                i = j;
                continue;
            }
            let kind = if is_han(c) {
                Some(UnitKind::Han)
            } else if c.is_alphanumeric() {
                Some(UnitKind::Other)
            } else {
                None
            };
            if let Some(kind) = kind {
                let text_start = units_text.len();
                units_text.push(c);
                units.push(Unit {
                    kind,
                    text: text_start as u32..units_text.len() as u32,
                    span: start as u32..end_of(i) as u32,
                });
            }
            i += 1;
        }
        Self { folded, units_text, units }
    }

    /// The folded text (NFKC, ASCII lowercased, punctuation kept).
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// True when the text has no unit (only punctuation and whitespace).
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// The normalized text of unit `i`.
    pub fn unit(&self, i: usize) -> &str {
        let r = &self.units[i].text;
        &self.units_text[r.start as usize..r.end as usize]
    }

    /// The kind of unit `i`.
    pub fn kind(&self, i: usize) -> UnitKind {
        self.units[i].kind
    }

    /// The units in order.
    pub fn units(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.units.len()).map(|i| self.unit(i))
    }

    /// Byte range of unit `i` in [`Self::folded`].
    pub fn span(&self, i: usize) -> Range<usize> {
        let s = &self.units[i].span;
        s.start as usize..s.end as usize
    }

    /// True when units `i` and `i + 1` touch in the folded text (nothing,
    /// not even a space or a comma, between them).
    pub fn touches_next(&self, i: usize) -> bool {
        i + 1 < self.units.len() && self.units[i].span.end == self.units[i + 1].span.start
    }

    /// The folded text from the start of unit `units.start` to the end of
    /// unit `units.end - 1`, punctuation included; empty for an empty range.
    pub fn excerpt(&self, units: Range<usize>) -> &str {
        if units.start >= units.end || units.end > self.units.len() {
            return "";
        }
        &self.folded[self.span(units.start).start..self.span(units.end - 1).end]
    }

    /// The units concatenated: the text with punctuation and whitespace
    /// folded away.
    pub fn compact(&self) -> String {
        self.units().collect()
    }
}

fn digit_at(chars: &[(usize, char)], i: usize) -> bool {
    chars.get(i).is_some_and(|&(_, c)| c.is_ascii_digit())
}

/// A comma between digits followed by exactly three digits (then a non-digit).
fn is_thousands_comma(chars: &[(usize, char)], i: usize) -> bool {
    digit_at(chars, i.wrapping_sub(1))
        && digit_at(chars, i + 1)
        && digit_at(chars, i + 2)
        && digit_at(chars, i + 3)
        && !digit_at(chars, i + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_is_nfkc_and_ascii_lowercase() {
        let slow = |s: &str| -> String { s.nfkc().map(|c| c.to_ascii_lowercase()).collect() };
        // Combining marks after ASCII and full-width letters compose; after
        // ideographs and punctuation they stay; compatibility forms decompose.
        let pieces = [
            "中", "文", "a", "Z", "3", ".", ",", " ", "，", "。", "、", "《", "“", "Ａ", "ｅ", "１", "\u{3000}",
            "\u{0301}", "\u{0316}", "\u{0308}", "\u{3099}", "か", "ｶ", "ﾞ", "①", "㎡", "ﬁ", "…", "豈", "가", "\u{1100}",
            "\u{1161}", "\u{11A8}", "Ω", "Å", "\u{212B}", "ǅ", "𠀀", "\n", "！",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(seed % 9) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                s.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            assert_eq!(fold(&s), slow(&s), "{s:?}");
        }
    }

    fn units(text: &str) -> Vec<String> {
        Normalized::new(text).units().map(str::to_owned).collect()
    }

    #[test]
    fn han_characters_are_one_unit_each() {
        assert_eq!(units("拖欠工资"), ["拖", "欠", "工", "资"]);
    }

    #[test]
    fn ascii_runs_are_one_unit() {
        assert_eq!(units("3栋502室"), ["3", "栋", "502", "室"]);
        assert_eq!(units("G105国道"), ["g105", "国", "道"]);
    }

    #[test]
    fn full_width_folds_to_half_width() {
        assert_eq!(units("３栋５０２室"), ["3", "栋", "502", "室"]);
        assert_eq!(units("ＡＢＣ公司"), ["abc", "公", "司"]);
        assert_eq!(Normalized::new("工资，１２元").folded(), "工资,12元");
    }

    #[test]
    fn ascii_is_lowercased() {
        assert_eq!(units("ABC Def"), ["abc", "def"]);
    }

    #[test]
    fn cjk_and_ascii_punctuation_and_whitespace_are_folded_away() {
        assert_eq!(
            units("你好！\u{3000}我是，“张三”。(test) 、《书》…—"),
            ["你", "好", "我", "是", "张", "三", "test", "书"]
        );
        assert_eq!(Normalized::new("恳请领导高度重视，尽快解决为盼！").compact(), "恳请领导高度重视尽快解决为盼");
    }

    #[test]
    fn separators_split_ascii_runs() {
        assert_eq!(units("12 34"), ["12", "34"]);
        assert_eq!(units("2023-05-12"), ["2023", "05", "12"]);
    }

    #[test]
    fn decimal_point_between_digits_stays() {
        assert_eq!(units("1.5万元"), ["1.5", "万", "元"]);
        assert_eq!(units("共3.5。"), ["共", "3.5"]);
        assert_eq!(units("第3.条"), ["第", "3", "条"]);
    }

    #[test]
    fn thousands_comma_is_dropped() {
        assert_eq!(units("12,000元"), ["12000", "元"]);
        assert_eq!(units("1,234,567元"), ["1234567", "元"]);
        // Not a thousands group: kept apart.
        assert_eq!(units("3,45栋"), ["3", "45", "栋"]);
        assert_eq!(units("3,4567"), ["3", "4567"]);
    }

    #[test]
    fn circled_and_full_width_digits_become_digits() {
        assert_eq!(units("①号"), ["1", "号"]);
        assert_eq!(units("１２３"), ["123"]);
    }

    #[test]
    fn ling_is_han() {
        assert_eq!(units("二〇二三年"), ["二", "〇", "二", "三", "年"]);
        assert!(is_han('〇'));
        assert!(is_han('𠀀'));
        assert!(!is_han('a'));
        assert!(!is_han('，'));
    }

    #[test]
    fn other_letters_are_one_unit_each() {
        let n = Normalized::new("αβ カ");
        assert_eq!(n.units().collect::<Vec<_>>(), ["α", "β", "カ"]);
        assert!((0..n.len()).all(|i| n.kind(i) == UnitKind::Other));
    }

    #[test]
    fn kinds_are_reported() {
        let n = Normalized::new("3栋");
        assert_eq!(n.kind(0), UnitKind::Alnum);
        assert_eq!(n.kind(1), UnitKind::Han);
    }

    #[test]
    fn empty_and_punctuation_only_texts_have_no_units() {
        assert!(Normalized::new("").is_empty());
        assert!(Normalized::new("！！。。，， \n\t...").is_empty());
        assert_eq!(Normalized::new("").compact(), "");
    }

    #[test]
    fn spans_point_into_the_folded_text() {
        let n = Normalized::new("阳光花园，３栋");
        assert_eq!(&n.folded()[n.span(0)], "阳");
        assert_eq!(&n.folded()[n.span(4)], "3");
        assert_eq!(n.excerpt(2..6), "花园,3栋");
        assert_eq!(n.excerpt(3..3), "");
        assert_eq!(n.excerpt(3..99), "");
    }

    #[test]
    fn touching_units() {
        let n = Normalized::new("阳光 花园3栋");
        assert!(n.touches_next(0));
        assert!(!n.touches_next(1));
        assert!(n.touches_next(3));
        assert!(!n.touches_next(5));
    }

    #[test]
    fn thousands_comma_span_covers_the_comma() {
        let n = Normalized::new("共12,000元");
        assert_eq!(n.unit(1), "12000");
        assert_eq!(&n.folded()[n.span(1)], "12,000");
    }
}
