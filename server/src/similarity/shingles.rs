//! Shingles and specifics of a normalized text.
//!
//! **Shingles** are the character n-grams over the units of a
//! [`Normalized`] text (a text shorter than `n` units is one shingle),
//! hashed to `u64` with XXH3-64 (the `xxhash-rust` crate; XXH3's output is
//! frozen by its specification, so the hashes stored in PostgreSQL stay valid
//! across processes, machines and crate versions) seeded with
//! [`SHINGLE_SEED`]. Units are joined with a 0x1F separator before hashing, so
//! `12|3` and `1|23` differ.
//!
//! **Specifics** are what a reworded repeat of a matter keeps: amounts,
//! dates, house and other numbers, and (heuristically) the names of places,
//! estates, roads, organizations and officials. They are recognized by
//!
//! * numbers followed by a measure word: `3.5万元` → amount `35000元`,
//!   `2023年5月12日` → date (also its parts `2023年5月`, `5月12日`, ...; a
//!   year alone is a [`SpecificKind::Year`]),
//!   `3栋2单元502室` → the address and its parts; `5月12号` reads as a date;
//!   `2023-05-12`, `2023/5/12` and `2023.5.12` are dates too; bare digit runs
//!   of four or more digits (phone, contract, case numbers) and codes mixing
//!   letters and digits are kept as they are;
//! * Chinese numerals before 元/块 (or ending in 万): `三万余元` → `30000元`;
//! * names before a suffix: the suffix (小区, 花园, 公园, 站, 路, 村, 公司,
//!   局, 医院, 经理, ...) and up to six Han characters before it, cut at a
//!   function word (的, 在, 我, 该, 某, ...), a verb that governs the name
//!   (投诉, 位于, ...) or 市/省: `住在龙湾国际社区` → `龙湾国际社区`, and
//!   also its shorter forms of two and four characters before the suffix
//!   (`国际社区`), so that a name phrased differently still meets one;
//!   `该公司`, `市委市政府`, `道路` → nothing (a place or organization needs
//!   two characters before its suffix).
//!
//! A specific is hashed with [`SPECIFIC_SEED`]; the hash's low four bits
//! carry its [`SpecificKind`], so a stored hash still says what kind of
//! specific it was.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::ops::Range;
use std::sync::LazyLock;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::minhash::HashKeyHasher;
use super::normalize::{Normalized, UnitKind};

/// Seed of the shingle hash. Changing it invalidates every stored fingerprint.
pub const SHINGLE_SEED: u64 = 0x7065_7469_7469_6f6e; // "petition"
/// Seed of the specifics hash. Changing it invalidates every stored fingerprint.
pub const SPECIFIC_SEED: u64 = 0x7370_6563_6966_6963; // "specific"

/// The stable hash of a shingle made of `units`.
pub fn shingle_hash<'a>(units: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut buf = Vec::with_capacity(16);
    hash_joined(&mut buf, units)
}

fn hash_joined<'a>(buf: &mut Vec<u8>, units: impl IntoIterator<Item = &'a str>) -> u64 {
    buf.clear();
    for (i, u) in units.into_iter().enumerate() {
        if i > 0 {
            buf.push(0x1F);
        }
        buf.extend_from_slice(u.as_bytes());
    }
    xxh3_64_with_seed(buf, SHINGLE_SEED)
}

/// The shingle hashes of `text` in text order: `text.len() - n + 1` of them,
/// the i-th covering units `i..i + n`; one covering all units when the text
/// is shorter than `n`; none for an empty text. `n` must be at least 1.
pub fn shingles(text: &Normalized, n: usize) -> Vec<u64> {
    assert!(n >= 1, "shingle size must be at least 1");
    let len = text.len();
    if len == 0 {
        return Vec::new();
    }
    let mut buf = Vec::with_capacity(16);
    if len < n {
        return vec![hash_joined(&mut buf, text.units())];
    }
    (0..=len - n).map(|i| hash_joined(&mut buf, (i..i + n).map(|j| text.unit(j)))).collect()
}

/// The distinct values of `hashes`, sorted.
pub fn distinct(hashes: &[u64]) -> Vec<u64> {
    let mut v = hashes.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// What a specific names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SpecificKind {
    /// A sum of money, in 元 (`3.5万元` → `35000元`).
    Amount = 1,
    /// A date or part of one down to the month or day (`2023年5月12日`,
    /// `5月12日`, `5月`).
    Date = 2,
    /// A counted or numbered thing: address parts, areas, head counts,
    /// durations, bare long numbers.
    Number = 3,
    /// A code mixing letters and digits (`g105`, `a3`).
    Code = 4,
    /// A place: estate, road, village, town, district, market, ...
    Place = 5,
    /// An organization: company, bureau, school, hospital, project, ...
    Organization = 6,
    /// An official or other person named by title (王经理, 李书记).
    Person = 7,
    /// A year alone (`2023年`): shared by many unrelated matters.
    Year = 8,
    /// A shorter form of a place or organization name (`国际社区` of
    /// `龙湾国际社区`): one name should not weigh as several.
    NameForm = 9,
}

impl SpecificKind {
    const ALL: [SpecificKind; 9] = [
        SpecificKind::Amount,
        SpecificKind::Date,
        SpecificKind::Number,
        SpecificKind::Code,
        SpecificKind::Place,
        SpecificKind::Organization,
        SpecificKind::Person,
        SpecificKind::Year,
        SpecificKind::NameForm,
    ];

    /// The kind a specific hash carries in its low four bits.
    pub fn of_hash(hash: u64) -> Option<SpecificKind> {
        let tag = (hash & 0xF) as u8;
        Self::ALL.into_iter().find(|k| *k as u8 == tag)
    }
}

/// One specific found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specific {
    pub kind: SpecificKind,
    /// Canonical text: what is hashed (amounts in 元, dates without leading
    /// zeros, synonyms of measure words unified).
    pub text: String,
    /// [`specific_hash`] of `kind` and `text`.
    pub hash: u64,
    /// The units of the text it was read from.
    pub units: Range<usize>,
}

/// The stable hash of a specific; its low four bits are the kind.
pub fn specific_hash(kind: SpecificKind, text: &str) -> u64 {
    // Specifics are short: hashed from the stack (a text has dozens, and
    // an allocation apiece was a tenth of analyzing it).
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let buf = match stack.get_mut(..text.len() + 1) {
        Some(buf) => buf,
        None => {
            heap.resize(text.len() + 1, 0);
            &mut heap[..]
        }
    };
    buf[0] = kind as u8;
    buf[1..].copy_from_slice(text.as_bytes());
    (xxh3_64_with_seed(buf, SPECIFIC_SEED) & !0xF) | kind as u64
}

/// The specifics of `text`, each distinct one once (at its first
/// occurrence), in text order.
pub fn specifics(text: &Normalized) -> Vec<Specific> {
    let mut out = Vec::new();
    numbers(text, &mut out);
    names(text, &mut out);
    out.sort_by_key(|s| (s.units.start, s.units.end));
    let mut seen: HashSet<u64, BuildHasherDefault<HashKeyHasher>> = HashSet::default();
    out.retain(|s| seen.insert(s.hash));
    out
}

fn push(out: &mut Vec<Specific>, kind: SpecificKind, text: String, units: Range<usize>) {
    let hash = specific_hash(kind, &text);
    out.push(Specific { kind, text, hash, units });
}

/// How a follow-up letter says it has written before.
const REFERS_BACK: &[&str] = &[
    "再次反映",
    "再次投诉",
    "再次来信",
    "再次求助",
    "曾反映",
    "曾经反映",
    "之前反映",
    "之前已经反映",
    "上次反映",
    "反映过多次",
    "多次反映过",
    "留言板反映",
    "至今未解决",
    "至今没有解决",
    "仍未解决",
    "还是没有解决",
];

/// The text says it follows up an earlier letter (再次反映, 至今未解决, ...):
/// new dates in it are not another matter's.
pub fn refers_back(text: &Normalized) -> bool {
    let folded = text.folded();
    REFERS_BACK.iter().any(|p| folded.contains(p))
}

// ---------------------------------------------------------------------------
// Numbers

/// How a measure word reads after a number.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    /// Money; the number is multiplied by the factor and written in 元.
    Money(f64),
    Year,
    Month,
    Day,
    /// Anything else, written with the canonical measure word.
    Count(&'static str),
}

/// Measure words (as written) and how they read. Longest match wins.
static MEASURES: LazyLock<Vec<(&'static str, Measure)>> = LazyLock::new(|| {
    use Measure::*;
    let mut v = vec![
        ("元", Money(1.0)),
        ("块钱", Money(1.0)),
        ("块", Money(1.0)),
        ("余元", Money(1.0)),
        ("多元", Money(1.0)),
        ("万元", Money(1e4)),
        ("万余元", Money(1e4)),
        ("万多元", Money(1e4)),
        ("余万元", Money(1e4)),
        ("多万元", Money(1e4)),
        ("万", Money(1e4)),
        ("千元", Money(1e3)),
        ("亿元", Money(1e8)),
        ("亿", Money(1e8)),
        ("年", Year),
        ("月", Month),
        ("月份", Month),
        ("日", Day),
        ("栋", Count("栋")),
        ("幢", Count("栋")),
        ("号楼", Count("栋")),
        ("单元", Count("单元")),
        ("室", Count("室")),
        ("层", Count("层")),
        ("楼", Count("楼")),
        ("号", Count("号")),
        ("户", Count("户")),
        ("人", Count("人")),
        ("名", Count("人")),
        ("余人", Count("人")),
        ("多人", Count("人")),
        ("天", Count("天")),
        ("次", Count("次")),
        ("岁", Count("岁")),
        ("周岁", Count("岁")),
        ("米", Count("米")),
        ("平方米", Count("平方米")),
        ("平米", Count("平方米")),
        ("平方", Count("平方米")),
        ("亩", Count("亩")),
        ("个月", Count("个月")),
        ("组", Count("组")),
        ("期", Count("期")),
        ("套", Count("套")),
        ("间", Count("间")),
        ("辆", Count("辆")),
        ("吨", Count("吨")),
        ("斤", Count("斤")),
        ("公斤", Count("公斤")),
        ("小时", Count("小时")),
        ("公里", Count("公里")),
        ("千米", Count("公里")),
        ("年级", Count("年级")),
        ("班", Count("班")),
        ("床", Count("床")),
        ("处", Count("处")),
        ("家", Count("家")),
        ("座", Count("座")),
        ("棵", Count("棵")),
        ("头", Count("头")),
        ("分", Count("分")),
    ];
    v.sort_by_key(|(w, _)| std::cmp::Reverse(w.chars().count()));
    v
});

const LONGEST_MEASURE: usize = 3;

/// One number with its measure: `value` canonical text, units it spans.
#[derive(Debug, Clone)]
struct Quantity {
    kind: SpecificKind,
    text: String,
    units: Range<usize>,
}

fn numbers(text: &Normalized, out: &mut Vec<Specific>) {
    let mut i = 0;
    let mut group: Vec<Quantity> = Vec::new();
    while i < text.len() {
        if let Some(parts) = separated_date(text, i) {
            flush_group(&mut group, out);
            i = parts[2].units.end;
            group.extend(parts);
            flush_group(&mut group, out);
            continue;
        }
        match quantity_at(text, i, group.last()) {
            Some(q) => {
                // A quantity continues the group when it touches the previous one.
                if group.last().is_some_and(|p| !text.touches_next(p.units.end - 1) || p.units.end != q.units.start) {
                    flush_group(&mut group, out);
                }
                i = q.units.end;
                group.push(q);
            }
            None => {
                flush_group(&mut group, out);
                if let Some(q) = chinese_amount(text, i).or_else(|| bare_number(text, i)) {
                    i = q.units.end;
                    push(out, q.kind, q.text, q.units);
                } else {
                    i += 1;
                }
            }
        }
    }
    flush_group(&mut group, out);
}

/// Emits every quantity of a group of touching quantities and every run of
/// two or more of them (`2023年5月12日` → `2023年5月12日`, `2023年5月`,
/// `5月12日`, `2023年`, `5月`, `12日`). A run is a date when all its parts
/// are, else a number.
fn flush_group(group: &mut Vec<Quantity>, out: &mut Vec<Specific>) {
    let len = group.len();
    for a in 0..len {
        for b in a + 1..=len {
            if b == a + 1 {
                // A lone quantity (the common case) gives its text away.
                let q = &mut group[a];
                let text = if len == 1 { std::mem::take(&mut q.text) } else { q.text.clone() };
                push(out, q.kind, text, q.units.clone());
                continue;
            }
            let run = &group[a..b];
            let dated = |q: &Quantity| matches!(q.kind, SpecificKind::Date | SpecificKind::Year);
            let kind = if run.iter().all(dated) {
                SpecificKind::Date
            } else if run.iter().any(|q| q.kind == SpecificKind::Amount) {
                // An amount next to something else is not one thing.
                continue;
            } else {
                SpecificKind::Number
            };
            let text: String = run.iter().map(|q| q.text.as_str()).collect();
            push(out, kind, text, run[0].units.start..run[run.len() - 1].units.end);
        }
    }
    group.clear();
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_number(s: &str) -> bool {
    let mut parts = s.split('.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    is_digits(whole) && parts.next().is_none() && frac.is_none_or(is_digits)
}

/// Digits without leading zeros (`0` stays `0`).
fn trim_zeros(s: &str) -> &str {
    let t = s.trim_start_matches('0');
    if t.is_empty() || t.starts_with('.') { &s[s.len() - t.len() - 1..] } else { t }
}

/// The measure word starting at unit `i` (Han units that touch), if any:
/// the measure and how many units it spans.
fn measure_at(text: &Normalized, i: usize) -> Option<(Measure, usize)> {
    let mut word = String::new();
    let mut lens = Vec::new();
    let mut j = i;
    while j < text.len() && lens.len() < LONGEST_MEASURE && text.kind(j) == UnitKind::Han {
        word.push_str(text.unit(j));
        lens.push(word.len());
        if !text.touches_next(j) {
            break;
        }
        j += 1;
    }
    for (w, m) in MEASURES.iter() {
        if let Some(k) = lens.iter().position(|&l| l == w.len())
            && word[..w.len()] == **w
        {
            return Some((*m, k + 1));
        }
    }
    None
}

/// The quantity whose number is unit `i`, if it is a number followed
/// (touching) by a measure word, or a dotted or dashed date.
fn quantity_at(text: &Normalized, i: usize, previous: Option<&Quantity>) -> Option<Quantity> {
    let unit = text.unit(i);
    if text.kind(i) != UnitKind::Alnum {
        return None;
    }
    if !is_number(unit) || !text.touches_next(i) {
        return None;
    }
    let (measure, len) = measure_at(text, i + 1)?;
    let units = i..i + 1 + len;
    let number = trim_zeros(unit);
    let q = |kind, text| Some(Quantity { kind, text, units: units.clone() });
    match measure {
        Measure::Money(factor) => {
            let value: f64 = number.parse().ok()?;
            q(SpecificKind::Amount, format!("{}元", format_amount(value * factor)))
        }
        Measure::Year if is_digits(number) && (number.len() == 4 || number.len() == 2) => {
            q(SpecificKind::Year, format!("{number}年"))
        }
        Measure::Year => q(SpecificKind::Number, format!("{number}年")),
        Measure::Month if is_digits(number) && (1..=12).contains(&number.parse::<u32>().ok()?) => {
            q(SpecificKind::Date, format!("{number}月"))
        }
        Measure::Day if is_digits(number) && (1..=31).contains(&number.parse::<u32>().ok()?) => {
            q(SpecificKind::Date, format!("{number}日"))
        }
        Measure::Count("号")
            if previous.is_some_and(|p| p.text.ends_with('月') && p.units.end == i)
                && is_digits(number)
                && (1..=31).contains(&number.parse::<u32>().ok()?) =>
        {
            // 5月12号 is the 12th of May.
            q(SpecificKind::Date, format!("{number}日"))
        }
        Measure::Month | Measure::Day => q(SpecificKind::Number, format!("{number}{}", measure_word(measure))),
        Measure::Count(word) => q(SpecificKind::Number, format!("{number}{word}")),
    }
}

fn measure_word(m: Measure) -> &'static str {
    match m {
        Measure::Month => "月",
        Measure::Day => "日",
        Measure::Year => "年",
        Measure::Money(_) => "元",
        Measure::Count(w) => w,
    }
}

/// `2023.5.12`, `2023-05-12`, `2023/5/12` (year of four digits, valid
/// month and day) as its parts `2023年`, `5月`, `12日`.
fn separated_date(text: &Normalized, i: usize) -> Option<[Quantity; 3]> {
    if text.kind(i) != UnitKind::Alnum {
        return None;
    }
    let unit = text.unit(i);
    let (parts, units): (Vec<&str>, [Range<usize>; 3]) = if unit.matches('.').count() == 2 {
        (unit.split('.').collect(), [i..i + 1, i..i + 1, i..i + 1])
    } else if is_digits(unit) && unit.len() == 4 && i + 2 < text.len() {
        let folded = text.folded();
        let gap = |a: usize| &folded[text.span(a).end..text.span(a + 1).start];
        let sep = gap(i);
        if !matches!(sep, "-" | "/") || gap(i + 1) != sep {
            return None;
        }
        (vec![unit, text.unit(i + 1), text.unit(i + 2)], [i..i + 1, i + 1..i + 2, i + 2..i + 3])
    } else {
        return None;
    };
    if parts.len() != 3 || !parts.iter().all(|p| is_digits(p)) || parts[0].len() != 4 {
        return None;
    }
    let month: u32 = parts[1].parse().ok()?;
    let day: u32 = parts[2].parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let [y, m, d] = units;
    Some([
        Quantity { kind: SpecificKind::Year, text: format!("{}年", parts[0]), units: y },
        Quantity { kind: SpecificKind::Date, text: format!("{month}月"), units: m },
        Quantity { kind: SpecificKind::Date, text: format!("{day}日"), units: d },
    ])
}

/// A digit run of four or more digits, or a code mixing letters and digits,
/// standing without a measure word.
fn bare_number(text: &Normalized, i: usize) -> Option<Quantity> {
    if text.kind(i) != UnitKind::Alnum {
        return None;
    }
    let unit = text.unit(i);
    if is_digits(unit) && unit.len() >= 4 {
        return Some(Quantity { kind: SpecificKind::Number, text: unit.to_owned(), units: i..i + 1 });
    }
    let letters = unit.bytes().any(|b| b.is_ascii_alphabetic());
    let digits = unit.bytes().any(|b| b.is_ascii_digit());
    if letters && digits && unit.len() >= 2 {
        return Some(Quantity { kind: SpecificKind::Code, text: unit.to_owned(), units: i..i + 1 });
    }
    None
}

/// An amount in 元 without needless decimals: `35000`, `1234.5`.
fn format_amount(v: f64) -> String {
    let cents = (v * 100.0).round() as i64;
    if cents % 100 == 0 {
        format!("{}", cents / 100)
    } else if cents % 10 == 0 {
        format!("{}.{}", cents / 100, (cents % 100) / 10)
    } else {
        format!("{}.{:02}", cents / 100, cents % 100)
    }
}

// ---------------------------------------------------------------------------
// Chinese numerals

/// The value of a Chinese numeral character: digits, and the units 十 百 千
/// (section units) and 万 亿 (group units).
fn numeral(c: char) -> Option<Numeral> {
    Some(match c {
        '零' | '〇' => Numeral::Digit(0),
        '一' => Numeral::Digit(1),
        '二' | '两' => Numeral::Digit(2),
        '三' => Numeral::Digit(3),
        '四' => Numeral::Digit(4),
        '五' => Numeral::Digit(5),
        '六' => Numeral::Digit(6),
        '七' => Numeral::Digit(7),
        '八' => Numeral::Digit(8),
        '九' => Numeral::Digit(9),
        '十' => Numeral::Unit(10),
        '百' => Numeral::Unit(100),
        '千' => Numeral::Unit(1000),
        '万' => Numeral::Group(10_000),
        '亿' => Numeral::Group(100_000_000),
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Numeral {
    Digit(u64),
    Unit(u64),
    Group(u64),
}

/// The value of a run of Chinese numerals (`七千` 7000, `两千五百` 2500,
/// `三万` 30000, `一万二` 12000, `十五` 15); `None` when it is not a
/// well-formed number (two digits in a row, a unit without a digit but 十).
pub fn chinese_number(chars: &[char]) -> Option<u64> {
    let (mut total, mut section, mut digit): (u64, u64, Option<u64>) = (0, 0, None);
    // The last unit seen, for a trailing digit (一万二 is 12000, 两千五 2500).
    let mut last_unit = 0;
    let mut zero_before = false;
    for &c in chars {
        match numeral(c)? {
            Numeral::Digit(0) => {
                zero_before = true;
                digit = None;
            }
            Numeral::Digit(d) => {
                if digit.is_some() {
                    return None;
                }
                digit = Some(d);
            }
            Numeral::Unit(u) => {
                let d = match digit.take() {
                    Some(d) => d,
                    None if u == 10 && section == 0 => 1,
                    None => return None,
                };
                section = section.checked_add(d.checked_mul(u)?)?;
                last_unit = u;
                zero_before = false;
            }
            Numeral::Group(g) => {
                section += digit.take().unwrap_or(0);
                if section == 0 {
                    return None;
                }
                total = total.checked_add(section.checked_mul(g)?)?;
                section = 0;
                last_unit = g;
                zero_before = false;
            }
        }
    }
    if let Some(d) = digit {
        // A digit after a unit without 零 counts in the next lower unit.
        section += if last_unit >= 100 && !zero_before { d * last_unit / 10 } else { d };
    }
    let value = total + section;
    (value > 0).then_some(value)
}

/// Money written in Chinese numerals: `七千元`, `五万`, `三万余元`,
/// `两千五百块钱`, `十万多元`. A run ending in 万 or 亿 needs no 元 unless a
/// measure of something else follows (`三万人`); 块 needs a value of ten or
/// more or 钱 after it (`一块` is "together").
fn chinese_amount(text: &Normalized, i: usize) -> Option<Quantity> {
    const MAX_RUN: usize = 12;
    let char_at = |j: usize| -> Option<char> {
        (j < text.len() && text.kind(j) == UnitKind::Han).then(|| text.unit(j).chars().next()).flatten()
    };
    let first = char_at(i)?;
    if !matches!(numeral(first)?, Numeral::Digit(d) if d > 0) && first != '十' {
        return None;
    }
    let mut chars = vec![first];
    let mut end = i + 1;
    while chars.len() < MAX_RUN && text.touches_next(end - 1) {
        match char_at(end) {
            Some(c) if numeral(c).is_some() => {
                chars.push(c);
                end += 1;
            }
            _ => break,
        }
    }
    let value = chinese_number(&chars)?;
    // 余 / 多: about that much.
    let mut j = end;
    if text.touches_next(j - 1) && matches!(char_at(j), Some('余' | '多')) {
        j += 1;
    }
    let touching = |k: usize| k < text.len() && text.touches_next(k - 1);
    let next = if touching(j) { char_at(j) } else { None };
    let after = if next.is_some() && touching(j + 1) { char_at(j + 1) } else { None };
    let end = match (next, after) {
        (Some('元'), _) => j + 1,
        (Some('块'), Some('钱')) => j + 2,
        (Some('块'), _) if value >= 10 => j + 1,
        _ if matches!(chars.last(), Some('万' | '亿')) => {
            let other = next.is_some_and(|c| "人名户个位家平亩米斤吨辆套间次天年岁字条件项只头棵株".contains(c));
            if other {
                return None;
            }
            j
        }
        _ => return None,
    };
    Some(Quantity { kind: SpecificKind::Amount, text: format!("{}元", format_amount(value as f64)), units: i..end })
}

// ---------------------------------------------------------------------------
// Names

/// Suffixes that end a name, with the kind of name. Longest match wins.
static SUFFIXES: LazyLock<Vec<(&'static str, SpecificKind)>> = LazyLock::new(|| {
    use SpecificKind::*;
    let places = [
        "小区",
        "花园",
        "家园",
        "公寓",
        "大厦",
        "广场",
        "苑",
        "华庭",
        "名城",
        "新城",
        "公馆",
        "雅居",
        "山庄",
        "新村",
        "村",
        "镇",
        "乡",
        "街道",
        "社区",
        "街",
        "路",
        "大道",
        "巷",
        "弄",
        "县",
        "区",
        "工业园",
        "园区",
        "市场",
        "商城",
        "水库",
        "河",
        "公园",
        "遗址",
        "景区",
        "站",
        "码头",
        "大桥",
        "湾",
        "府",
        "城",
    ];
    let organizations = [
        "有限公司",
        "有限责任公司",
        "公司",
        "集团",
        "局",
        "厂",
        "学校",
        "小学",
        "中学",
        "大学",
        "幼儿园",
        "医院",
        "卫生院",
        "诊所",
        "项目",
        "工地",
        "委员会",
        "村委会",
        "居委会",
        "办事处",
        "派出所",
        "法院",
        "中心",
        "合作社",
        "银行",
        "物业",
        "酒店",
        "超市",
        "加油站",
        "养殖场",
        "大队",
        "政府",
    ];
    let persons =
        ["书记", "主任", "镇长", "村长", "局长", "经理", "老板", "科长", "所长", "校长", "院长", "队长", "会计"];
    let mut v: Vec<(&'static str, SpecificKind)> = places
        .into_iter()
        .map(|s| (s, Place))
        .chain(organizations.into_iter().map(|s| (s, Organization)))
        .chain(persons.into_iter().map(|s| (s, Person)))
        .collect();
    v.sort_by_key(|(w, _)| std::cmp::Reverse(w.chars().count()));
    v
});

/// A suffix as characters, with the kind of name it ends.
type Suffix = (Vec<char>, SpecificKind);

/// [`SUFFIXES`] by their last character, longest first. Every character
/// of a text is looked up, and few end a suffix: a bit per character code
/// modulo 128 turns most away before the binary search.
struct SuffixIndex {
    last_chars: u128,
    by_last: Vec<(char, Vec<Suffix>)>,
}

static SUFFIX_INDEX: LazyLock<SuffixIndex> = LazyLock::new(|| {
    let mut index = SuffixIndex { last_chars: 0, by_last: Vec::new() };
    for (suffix, kind) in SUFFIXES.iter() {
        let chars: Vec<char> = suffix.chars().collect();
        let Some(&last) = chars.last() else { continue };
        index.last_chars |= 1 << (last as u32 % 128);
        match index.by_last.binary_search_by_key(&last, |(c, _)| *c) {
            Ok(at) => index.by_last[at].1.push((chars, *kind)),
            Err(at) => index.by_last.insert(at, (last, vec![(chars, *kind)])),
        }
    }
    index
});

/// The suffixes ending in `c`, longest first.
fn suffixes_ending_in(c: char) -> Option<&'static [Suffix]> {
    let index = &*SUFFIX_INDEX;
    if index.last_chars & (1 << (c as u32 % 128)) == 0 {
        return None;
    }
    index.by_last.binary_search_by_key(&c, |(last, _)| *last).ok().map(|at| &index.by_last[at].1[..])
}

/// Most Han characters of a name kept before its suffix.
const NAME_PREFIX: usize = 6;
/// The shorter forms a name is also recorded by (prefix lengths): the same
/// name comes out the same however the sentence around it runs, and a
/// name cut differently in another letter still meets one of them.
const NAME_FORMS: [usize; 2] = [2, 4];

/// Function words, pronouns and the like: a name never includes them.
const STOP: &str = "的了在是和与及或我你他她它们本该此这那其每各某个位把被对向给将为于从到至自住找问说让请叫要有无不没也都就还又并而但已曾等里内外过跳去看谢跑着";

/// Words that end right before a name (a verb or preposition that governs
/// it): a name starts after them.
const BEFORE_NAME: &[&str] = &[
    "投诉", "反映", "举报", "位于", "关于", "购买", "入住", "居住", "就读", "承建", "开发", "前往", "来到", "起诉",
    "联系", "咨询", "办理", "希望", "要求", "建议", "恳请", "请求", "督促", "责令", "通知", "告诉", "还有", "另外",
    "导致", "造成", "报名", "应聘", "拖欠", "欠款", "包括", "比如", "例如", "特别", "尤其", "整个", "附近", "周边",
    "调查", "重视", "开放", "改善", "过问", "关注", "解决", "规范", "查处", "管理", "保护", "治理", "整治", "取缔",
    "处理", "彻查", "督查", "落实", "支持", "帮助", "协调", "看看", "看一", "去了", "到了", "来了", "搬到", "离开",
    "一管", "好好",
];

/// [`BEFORE_NAME`] as sorted character pairs (every step back over a name
/// looks one up).
static BEFORE_NAME_PAIRS: LazyLock<Vec<[char; 2]>> = LazyLock::new(|| {
    let mut pairs: Vec<[char; 2]> = BEFORE_NAME
        .iter()
        .filter_map(|w| {
            let mut c = w.chars();
            Some([c.next()?, c.next()?])
        })
        .collect();
    pairs.sort_unstable();
    pairs
});

/// Characters that end a name before them: a city, province, district or
/// county named just before (赣州市宏达建筑有限公司 is 宏达建筑有限公司;
/// A3区龙湾小区 is 龙湾小区; 市委市政府 names nothing); 镇 and 乡 too, but
/// not first in a name (水东镇虎岗村 is 虎岗村; 镇江路 is 镇江路).
const BOUNDARY: &str = "市省区县";

fn names(text: &Normalized, out: &mut Vec<Specific>) {
    // Han units grouped in runs that touch; suffixes and names live inside one run.
    let mut chars = Vec::new();
    let mut start = 0;
    while start < text.len() {
        if text.kind(start) != UnitKind::Han {
            start += 1;
            continue;
        }
        let mut end = start + 1;
        while end < text.len() && text.kind(end) == UnitKind::Han && text.touches_next(end - 1) {
            end += 1;
        }
        names_in_run(text, start..end, &mut chars, out);
        start = end;
    }
}

fn names_in_run(text: &Normalized, run: Range<usize>, chars: &mut Vec<char>, out: &mut Vec<Specific>) {
    // Han units are one character each.
    chars.clear();
    chars.extend(run.clone().filter_map(|i| text.unit(i).chars().next()));
    let chars = &chars[..];
    let before_name = |at: usize| at >= 2 && BEFORE_NAME_PAIRS.binary_search(&[chars[at - 2], chars[at - 1]]).is_ok();
    for last in 0..chars.len() {
        // The longest suffix ending at `last` (suffixes indexed by their last character).
        let Some(candidates) = suffixes_ending_in(chars[last]) else { continue };
        let found = candidates.iter().find_map(|(suffix, kind)| {
            let n = suffix.len();
            (n <= last + 1 && chars[last + 1 - n..=last] == suffix[..]).then(|| (last + 1 - n, *kind))
        });
        let Some((first, kind)) = found else { continue };
        let mut name_start = first;
        while name_start > 0
            && first - name_start < NAME_PREFIX
            && !STOP.contains(chars[name_start - 1])
            && !(BOUNDARY.contains(chars[name_start - 1]) && chars[name_start] != '场')
            && !(name_start >= 2 && "镇乡".contains(chars[name_start - 1]))
            && !before_name(name_start)
        {
            name_start -= 1;
        }
        let prefix = first - name_start;
        // A place or organization needs two characters before its suffix
        // (道路, 城区 are words), an official one (王经理).
        if prefix == 0 || (prefix < 2 && kind != SpecificKind::Person) {
            continue;
        }
        for form in NAME_FORMS.iter().copied().filter(|&f| f < prefix).chain([prefix]) {
            let s = first - form;
            let name: String = chars[s..=last].iter().collect();
            let kind = if form < prefix { SpecificKind::NameForm } else { kind };
            push(out, kind, name, run.start + s..run.start + last + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(SpecificKind, String)> {
        specifics(&Normalized::new(text)).into_iter().map(|s| (s.kind, s.text)).collect()
    }

    fn has(text: &str, kind: SpecificKind, specific: &str) -> bool {
        texts(text).iter().any(|(k, t)| *k == kind && t == specific)
    }

    /// A name, whole or a shorter form of it.
    fn named(text: &str, name: &str) -> bool {
        texts(text).iter().any(|(k, t)| matches!(k, Place | Organization | NameForm) && t == name)
    }

    use SpecificKind::*;

    #[test]
    fn shingles_are_n_grams_over_units() {
        let n = Normalized::new("拖欠工资");
        let s = shingles(&n, 2);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], shingle_hash(["拖", "欠"]));
        assert_eq!(s[2], shingle_hash(["工", "资"]));
        assert_eq!(shingles(&n, 3).len(), 2);
    }

    #[test]
    fn short_text_is_one_shingle() {
        let n = Normalized::new("漏水");
        assert_eq!(shingles(&n, 3), vec![shingle_hash(["漏", "水"])]);
        assert!(shingles(&Normalized::new("。"), 3).is_empty());
    }

    #[test]
    fn shingles_ignore_punctuation_and_width() {
        let a = shingles(&Normalized::new("阳光花园，３栋"), 3);
        let b = shingles(&Normalized::new("阳光花园3栋"), 3);
        assert_eq!(a, b);
    }

    #[test]
    fn unit_boundaries_matter_to_the_hash() {
        assert_ne!(shingle_hash(["12", "3"]), shingle_hash(["1", "23"]));
        assert_ne!(shingle_hash(["ab"]), shingle_hash(["a", "b"]));
    }

    #[test]
    fn shingle_hash_is_stable() {
        // Stored in PostgreSQL: must never change.
        assert_eq!(shingle_hash(["拖", "欠", "工"]), shingle_hash(["拖", "欠", "工"]));
        assert_eq!(shingle_hash(["拖", "欠", "工"]), 16329541975588381305);
        assert_eq!(specific_hash(Place, "阳光花园"), 10914689117786692725);
    }

    #[test]
    #[should_panic(expected = "at least 1")]
    fn zero_shingle_size_is_refused() {
        shingles(&Normalized::new("abc"), 0);
    }

    #[test]
    fn distinct_sorts_and_dedups() {
        assert_eq!(distinct(&[3, 1, 3, 2, 1]), vec![1, 2, 3]);
    }

    #[test]
    fn specific_hash_carries_its_kind() {
        for kind in SpecificKind::ALL {
            assert_eq!(SpecificKind::of_hash(specific_hash(kind, "x")), Some(kind));
        }
        assert_eq!(SpecificKind::of_hash(0), None);
        assert_ne!(specific_hash(Place, "阳光"), specific_hash(Organization, "阳光"));
    }

    #[test]
    fn specific_hashes_are_of_the_kind_byte_and_the_text_at_any_length() {
        // Stored fingerprints hold these hashes: short (stack) and long
        // (heap) texts hash the same bytes.
        for len in [0, 1, 62, 63, 64, 65, 300] {
            let text = "7".repeat(len);
            let mut bytes = vec![Amount as u8];
            bytes.extend_from_slice(text.as_bytes());
            let expected = (xxh3_64_with_seed(&bytes, SPECIFIC_SEED) & !0xF) | Amount as u64;
            assert_eq!(specific_hash(Amount, &text), expected, "length {len}");
        }
    }

    #[test]
    fn amounts_are_in_yuan() {
        assert!(has("拖欠工资3.5万元", Amount, "35000元"));
        assert!(has("拖欠工资35000元", Amount, "35000元"));
        assert!(has("共计12,800元", Amount, "12800元"));
        assert!(has("欠款2万余元", Amount, "20000元"));
        assert!(has("300块钱", Amount, "300元"));
        assert!(has("补偿1.25万元", Amount, "12500元"));
        assert!(has("一共99.5元", Amount, "99.5元"));
        assert!(has("一共0.05元", Amount, "0.05元"));
        assert!(has("2亿元", Amount, "200000000元"));
        assert!(has("5千元", Amount, "5000元"));
    }

    #[test]
    fn dates_and_their_parts() {
        let t = texts("2023年5月12日上午");
        for d in ["2023年5月12日", "2023年5月", "5月12日", "5月", "12日"] {
            assert!(t.contains(&(Date, d.to_owned())), "{d} in {t:?}");
        }
        assert!(t.contains(&(Year, "2023年".to_owned())));
        assert!(has("2023年05月02日", Date, "2023年5月2日"));
        assert!(has("5月12号", Date, "5月12日"));
        assert!(has("去年3月份", Date, "3月"));
    }

    #[test]
    fn separated_dates() {
        assert!(has("于2023-05-12签订", Date, "2023年5月12日"));
        assert!(has("于2023/5/12签订", Date, "2023年5月12日"));
        assert!(has("于2023.5.12签订", Date, "2023年5月12日"));
        let t = texts("2023-05-12");
        for d in ["2023年5月12日", "2023年5月", "5月12日", "5月", "12日"] {
            assert!(t.contains(&(Date, d.to_owned())), "{d} in {t:?}");
        }
        assert!(t.contains(&(Year, "2023年".to_owned())));
        assert!(has("2023.5.12", Date, "5月12日"));
        assert!(!has("于2023-13-12签订", Date, "2023年13月12日"));
        assert!(!has("2023-05/12", Date, "2023年5月12日"));
    }

    #[test]
    fn invalid_months_and_days_are_numbers() {
        assert!(has("13月", Number, "13月"));
        assert!(has("40日", Number, "40日"));
        assert!(has("3年", Number, "3年"));
        assert!(has("12号", Number, "12号"));
    }

    #[test]
    fn addresses_and_their_parts() {
        let t = texts("住3栋2单元502室");
        for d in ["3栋2单元502室", "3栋2单元", "2单元502室", "3栋", "502室"] {
            assert!(t.contains(&(Number, d.to_owned())), "{d} in {t:?}");
        }
        assert!(has("5幢", Number, "5栋"));
        assert!(has("5号楼", Number, "5栋"));
        assert!(has("120平米", Number, "120平方米"));
        assert!(has("23名工人", Number, "23人"));
        assert!(has("6个月", Number, "6个月"));
    }

    #[test]
    fn amount_next_to_a_date_is_two_specifics() {
        let t = texts("2023年5000元");
        assert!(t.contains(&(Year, "2023年".to_owned())));
        assert!(t.contains(&(Amount, "5000元".to_owned())));
        assert!(!t.iter().any(|(_, s)| s == "2023年5000元"));
    }

    #[test]
    fn separated_quantities_are_not_grouped() {
        let t = texts("3栋，502室");
        assert!(t.contains(&(Number, "3栋".to_owned())));
        assert!(!t.iter().any(|(_, s)| s == "3栋502室"));
    }

    #[test]
    fn bare_long_numbers_and_codes() {
        assert!(has("电话13800138000", Number, "13800138000"));
        assert!(has("G105国道", Code, "g105"));
        assert!(!has("共12", Number, "12"));
        assert!(texts("abc").is_empty());
    }

    #[test]
    fn leading_zeros_are_trimmed() {
        assert!(has("0502室", Number, "502室"));
        assert!(has("0元", Amount, "0元"));
        assert_eq!(trim_zeros("000"), "0");
        assert_eq!(trim_zeros("00.5"), "0.5");
        assert_eq!(trim_zeros("120"), "120");
    }

    #[test]
    fn numbers_without_a_touching_measure_are_not_quantities() {
        assert!(!has("3 栋", Number, "3栋"));
        assert!(texts("共3。").is_empty());
    }

    #[test]
    fn place_names_keep_two_characters_before_the_suffix() {
        assert!(has("我住在阳光花园小区", Place, "阳光花园"));
        assert!(has("我住在阳光花园小区", NameForm, "花园小区"));
        assert!(has("我住在阳光花园小区", Place, "阳光花园小区"));
        assert!(has("赣州市章贡区水东镇虎岗村", Place, "水东镇"));
        assert!(has("赣州市章贡区水东镇虎岗村", Place, "虎岗村"));
        assert!(has("镇江路", Place, "镇江路"));
        assert!(has("赣州市章贡区水东镇虎岗村", Place, "章贡区"));
        assert!(has("沿着长征大道往南", Place, "长征大道"));
        assert!(!named("沿着长征大道往南", "沿着长征大道"));
        assert!(has("红旗路口", Place, "红旗路"));
    }

    #[test]
    fn names_stop_at_function_words() {
        assert!(!texts("该公司").iter().any(|(k, _)| *k == Organization));
        assert!(has("我找王经理", Person, "王经理"));
        assert!(has("在滨江苑", Place, "滨江苑"));
        assert!(!texts("的小区").iter().any(|(k, _)| *k == Place));
    }

    #[test]
    fn names_do_not_cross_punctuation() {
        assert!(!texts("阳光，小区").iter().any(|(_, t)| t == "阳光小区"));
        assert!(!texts("3小区").iter().any(|(k, _)| *k == Place));
    }

    #[test]
    fn longest_suffix_wins() {
        let t = texts("宏达建筑有限公司");
        assert!(t.contains(&(Organization, "宏达建筑有限公司".to_owned())));
        assert!(t.contains(&(NameForm, "建筑有限公司".to_owned())));
        assert!(!t.iter().any(|(_, s)| s == "限公司"));
    }

    #[test]
    fn organizations_and_persons() {
        assert!(has("县人社局", Organization, "人社局"));
        assert!(has("县人民医院", Organization, "人民医院"));
        assert!(has("章贡中学", Organization, "章贡中学"));
        assert!(has("找到李书记", Person, "李书记"));
    }

    #[test]
    fn specifics_are_distinct_and_in_text_order() {
        let s = specifics(&Normalized::new("阳光花园3栋漏水，阳光花园物业不管"));
        let hashes: Vec<u64> = s.iter().map(|s| s.hash).collect();
        assert_eq!(hashes.len(), distinct(&hashes).len());
        assert!(s.windows(2).all(|w| w[0].units.start <= w[1].units.start));
        assert_eq!(s[0].text, "阳光花园");
    }

    #[test]
    fn specific_units_point_at_the_text() {
        let n = Normalized::new("欠我3.5万元");
        let s = specifics(&n);
        let amount = s.iter().find(|s| s.kind == Amount).expect("an amount");
        assert_eq!(n.excerpt(amount.units.clone()), "3.5万元");
    }

    #[test]
    fn more_measure_words() {
        assert!(has("23年", Year, "23年"));
        assert!(has("欠我3万", Amount, "30000元"));
        assert!(has("12号楼", Number, "12栋"));
        assert!(has("3年级", Number, "3年级"));
        assert!(has("住了3年", Number, "3年"));
        assert!(has("5月份12号", Date, "5月12日"));
        assert!(has("三万元", Amount, "30000元"));
    }

    #[test]
    fn words_before_a_name_are_two_characters() {
        assert!(BEFORE_NAME.iter().all(|w| w.chars().count() == 2));
        assert_eq!(BEFORE_NAME_PAIRS.len(), BEFORE_NAME.len());
    }

    #[test]
    fn names_are_whole_and_in_shorter_forms() {
        let t = texts("我在聚捷飞迈网络有限公司上班");
        assert!(t.contains(&(Organization, "聚捷飞迈网络有限公司".to_owned())), "{t:?}");
        for form in ["网络有限公司", "飞迈网络有限公司"] {
            assert!(t.contains(&(NameForm, form.to_owned())), "{form} in {t:?}");
        }
        assert!(has("赣州市宏达建筑有限公司", Organization, "宏达建筑有限公司"));
        assert!(!has("赣州市宏达建筑有限公司", Organization, "州市宏达建筑有限公司"));
        assert!(has("住在龙湾国际社区", Place, "龙湾国际社区"));
        assert!(has("住在龙湾国际社区", NameForm, "国际社区"));
        assert!(has("新城区", Place, "新城区"));
        // Six characters at most before the suffix.
        assert!(has("投诉甲乙丙丁戊己庚辛有限公司", Organization, "丙丁戊己庚辛有限公司"));
        assert!(has("市场监管局", Organization, "市场监管局"));
        assert!(!texts("甲乙丙丁戊己庚辛有限公司").iter().any(|(_, n)| n.starts_with("乙")));
    }

    #[test]
    fn names_end_in_parks_sites_squares_stations_and_estates() {
        for (text, name) in [
            ("梅溪湖公园里", "梅溪湖公园"),
            ("窑岭遗址被破坏", "窑岭遗址"),
            ("五一广场噪音", "五一广场"),
            ("地铁望城站出口", "望城站"),
            ("碧桂园悦府", "碧桂园悦府"),
            ("星河湾", "星河湾"),
            ("金茂城", "金茂城"),
            ("滨湖雅苑", "滨湖雅苑"),
            ("麓谷景区", "麓谷景区"),
        ] {
            assert!(named(text, name), "{name} in {:?}", texts(text));
        }
    }

    #[test]
    fn a_name_starts_after_the_verb_before_it() {
        assert!(has("投诉宏达物业", Organization, "宏达物业"));
        assert!(!texts("投诉宏达物业").iter().any(|(_, n)| n.contains("投诉") || n.contains("诉")));
        assert!(has("反映恒泰花园", Place, "恒泰花园"));
        assert!(has("购买了锦绣华庭", Place, "锦绣华庭"));
    }

    #[test]
    fn boilerplate_is_not_a_name() {
        for text in [
            "尊敬的市委市政府领导",
            "希望政府重视",
            "恳请市政府",
            "附近道路交叉",
            "城区",
            "该小区",
            "我们小区",
            "进城",
            "在区里",
        ] {
            let t = texts(text);
            assert!(!t.iter().any(|(k, _)| matches!(k, Place | Organization)), "{text}: {t:?}");
        }
        assert!(has("尊敬的胡书记", Person, "胡书记"));
    }

    #[test]
    fn chinese_numbers() {
        let n = |s: &str| chinese_number(&s.chars().collect::<Vec<_>>());
        for (s, v) in [
            ("七千", 7000),
            ("五万", 50_000),
            ("三万", 30_000),
            ("两千五百", 2500),
            ("两千五", 2500),
            ("一万二", 12_000),
            ("一万二千", 12_000),
            ("三百五", 350),
            ("十", 10),
            ("十五", 15),
            ("二十五", 25),
            ("一百零五", 105),
            ("两千零五十", 2050),
            ("一千零五", 1005),
            ("三万零五百", 30_500),
            ("十万", 100_000),
            ("五十万", 500_000),
            ("一百二十万", 1_200_000),
            ("三亿", 300_000_000),
            ("八", 8),
        ] {
            assert_eq!(n(s), Some(v), "{s}");
        }
        for s in ["", "零", "万", "千", "三五", "七七", "百五"] {
            assert_eq!(n(s), None, "{s}");
        }
    }

    #[test]
    fn amounts_in_chinese_numerals() {
        for (text, amount) in [
            ("欠我七千元", "7000元"),
            ("赔偿五万", "50000元"),
            ("一共三万余元", "30000元"),
            ("还欠三万多元工钱", "30000元"),
            ("交了两千五百元", "2500元"),
            ("交了两千五百块钱", "2500元"),
            ("花了八百块", "800元"),
            ("首付十六万元", "160000元"),
            ("一万二千元", "12000元"),
            ("1.2万元", "12000元"),
            ("七千块", "7000元"),
        ] {
            assert!(has(text, Amount, amount), "{text}: {:?}", texts(text));
        }
        for text in ["三万人参加", "一块去", "一万个理由", "第一次", "三万多名群众", "十五天", "一元"]
        {
            let t = texts(text);
            assert!(!t.iter().any(|(k, a)| *k == Amount && a != "1元"), "{text}: {t:?}");
        }
        let n = Normalized::new("欠我七千元");
        let s = specifics(&n);
        let amount = s.iter().find(|s| s.kind == Amount).expect("an amount");
        assert_eq!(n.excerpt(amount.units.clone()), "七千元");
    }

    #[test]
    fn format_amount_drops_needless_decimals() {
        assert_eq!(format_amount(35000.0), "35000");
        assert_eq!(format_amount(1234.5), "1234.5");
        assert_eq!(format_amount(0.05), "0.05");
    }
}
