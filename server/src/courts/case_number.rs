//! Court case numbers (案号), as 最高人民法院《关于人民法院案件案号的若干规定》
//! (法〔2015〕137号, and its 2018 list of case type codes) writes them:
//! `（收案年度）法院代字类型代字案件编号号`, e.g. `（2026）赣0702民初123号`.
//!
//! One validator for every court-facing call (CourtService filings and
//! outcomes, MediationService confirmation answers and court-sourced
//! disputes): a partner meets one format everywhere.

use std::fmt;

/// Province-level abbreviations that open a court's code (法院代字).
pub const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// Codes of courts outside the provinces: the 兵团 courts and the Supreme
/// People's Court.
pub const OTHER_COURTS: [&str; 2] = ["兵", "最高法"];

/// Case type codes (类型代字) accepted, longest first where one is the
/// start of another (matching takes the longest).
pub const CASE_TYPES: &[&str] = &[
    // Civil (民事).
    "民初",
    "民终",
    "民申",
    "民再",
    "民抗",
    "民监",
    "民提",
    "民他",
    "民请",
    "民特",
    "民催",
    "民督",
    "民撤",
    "民辖终",
    "民辖监",
    "民辖",
    "民诉前调",
    "民诉前确",
    "民诉前保",
    "民认",
    "民保",
    // Criminal (刑事).
    "刑初",
    "刑终",
    "刑申",
    "刑再",
    "刑抗",
    "刑监",
    "刑核",
    "刑复",
    "刑更",
    "刑医",
    "刑没",
    "刑辖",
    "刑他",
    "刑止",
    "刑请",
    "刑特",
    // Administrative (行政).
    "行初",
    "行终",
    "行申",
    "行再",
    "行抗",
    "行监",
    "行审复",
    "行审",
    "行辖终",
    "行辖",
    "行赔初",
    "行赔终",
    "行赔申",
    "行他",
    "行非",
    "行保",
    // Enforcement (执行).
    "执恢",
    "执异",
    "执复",
    "执监",
    "执协",
    "执保",
    "执督",
    "执他",
    "执请",
    "执",
    // Bankruptcy (破产).
    "破申",
    "破终",
    "破监",
    "破",
    // Judicial assistance, relief and sanctions (司法救助、协助、制裁).
    "司救民",
    "司救刑",
    "司救行",
    "司救执",
    "司救",
    "司惩复",
    "司惩",
    "司协",
    "司他",
    // State compensation (国家赔偿).
    "委赔监",
    "委赔",
    "法赔",
    "赔",
    // Preservation before a suit (诉前保全).
    "财保",
    "证保",
];

/// The earliest year a case number may carry.
pub const FIRST_YEAR: i32 = 1949;

/// A parsed court case number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNumber {
    pub year: i32,
    /// The court's code (法院代字), e.g. 赣0702.
    pub court: String,
    /// The case type code (类型代字), e.g. 民初.
    pub case_type: &'static str,
    pub serial: u32,
}

impl fmt::Display for CaseNumber {
    /// The stored form: full-width parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "（{}）{}{}{}号", self.year, self.court, self.case_type, self.serial)
    }
}

/// What is wrong with a case number, said for a field violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseNumberError {
    Empty,
    Opening,
    Year { next_year: i32 },
    Closing,
    Court,
    CaseType,
    Serial,
    End,
}

impl fmt::Display for CaseNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "is required: a court case number such as （2026）赣0702民初123号"),
            Self::Opening => write!(f, "must open with the year in parentheses: （2026）…"),
            Self::Year { next_year } => {
                write!(f, "the year must be 4 digits from {FIRST_YEAR} to {next_year}")
            }
            Self::Closing => write!(f, "the year's closing parenthesis is missing"),
            Self::Court => write!(
                f,
                "the court code must be a province abbreviation (赣 …), 兵 or 最高法, followed by nothing, 2 or 4 digits"
            ),
            Self::CaseType => write!(f, "the case type code is not one of the list (民初 民终 民特 刑初 行初 执 …)"),
            Self::Serial => write!(f, "the serial must be 1 to 6 digits without a leading zero"),
            Self::End => write!(f, "must end with 号 right after the serial"),
        }
    }
}

/// Parses `raw` (surrounding whitespace ignored) in a year when
/// `this_year` is the current one.
pub fn parse(raw: &str, this_year: i32) -> Result<CaseNumber, CaseNumberError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(CaseNumberError::Empty);
    }
    let s = s.strip_prefix('（').or_else(|| s.strip_prefix('(')).ok_or(CaseNumberError::Opening)?;
    let next_year = this_year + 1;
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return Err(CaseNumberError::Year { next_year });
    }
    let year: i32 = digits.parse().map_err(|_| CaseNumberError::Year { next_year })?;
    if !(FIRST_YEAR..=next_year).contains(&year) {
        return Err(CaseNumberError::Year { next_year });
    }
    let s = &s[4..];
    let s = s.strip_prefix('）').or_else(|| s.strip_prefix(')')).ok_or(CaseNumberError::Closing)?;
    // The court's code: its prefix, then nothing, 2 or 4 digits.
    let prefix = OTHER_COURTS
        .iter()
        .find(|c| s.starts_with(**c))
        .map(|c| c.len())
        .or_else(|| s.chars().next().filter(|c| PROVINCES.contains(*c)).map(char::len_utf8))
        .ok_or(CaseNumberError::Court)?;
    let court_digits = s[prefix..].chars().take_while(char::is_ascii_digit).count();
    if !matches!(court_digits, 0 | 2 | 4) {
        return Err(CaseNumberError::Court);
    }
    let court = &s[..prefix + court_digits];
    let s = &s[prefix + court_digits..];
    let case_type = CASE_TYPES
        .iter()
        .filter(|t| s.starts_with(**t))
        .max_by_key(|t| t.len())
        .copied()
        .ok_or(CaseNumberError::CaseType)?;
    let s = &s[case_type.len()..];
    let serial_digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if serial_digits.is_empty() || serial_digits.len() > 6 || serial_digits.starts_with('0') {
        return Err(CaseNumberError::Serial);
    }
    let serial: u32 = serial_digits.parse().map_err(|_| CaseNumberError::Serial)?;
    if &s[serial_digits.len()..] != "号" {
        return Err(CaseNumberError::End);
    }
    Ok(CaseNumber { year, court: court.to_owned(), case_type, serial })
}

/// Validates the case number at `field` into its stored form; a field
/// violation saying which part is wrong otherwise. `required` false: empty
/// is allowed (and stays empty).
pub fn validate(field: &str, raw: &str, required: bool, v: &mut Vec<crate::error::FieldViolation>) -> String {
    if raw.trim().is_empty() && !required {
        return String::new();
    }
    let this_year = chrono::Datelike::year(&crate::time::shanghai_today());
    match parse(raw, this_year) {
        Ok(number) => number.to_string(),
        Err(e) => {
            v.push(crate::error::FieldViolation::new(field, e.to_string()));
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2026;

    #[test]
    fn well_formed_numbers_parse_and_normalize_to_full_width() {
        let cases = [
            ("（2026）赣0702民初123号", "（2026）赣0702民初123号", "赣0702", "民初", 123),
            ("(2026)赣0702民初123号", "（2026）赣0702民初123号", "赣0702", "民初", 123),
            ("(2026）赣07民特12号", "（2026）赣07民特12号", "赣07", "民特", 12),
            ("  （2027）京民终1号 ", "（2027）京民终1号", "京", "民终", 1),
            ("（1949）最高法刑初999999号", "（1949）最高法刑初999999号", "最高法", "刑初", 999_999),
            ("（2026）兵08执恢5号", "（2026）兵08执恢5号", "兵08", "执恢", 5),
            ("（2026）赣0702执5号", "（2026）赣0702执5号", "赣0702", "执", 5),
            ("（2026）赣0702民诉前调1号", "（2026）赣0702民诉前调1号", "赣0702", "民诉前调", 1),
            ("（2026）赣0702行审复3号", "（2026）赣0702行审复3号", "赣0702", "行审复", 3),
            ("（2026）粤03司救民7号", "（2026）粤03司救民7号", "粤03", "司救民", 7),
            ("（2026）琼赔1号", "（2026）琼赔1号", "琼", "赔", 1),
        ];
        for (raw, stored, court, case_type, serial) in cases {
            let parsed = parse(raw, YEAR).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(parsed.to_string(), stored, "{raw}");
            assert_eq!((parsed.court.as_str(), parsed.case_type, parsed.serial), (court, case_type, serial), "{raw}");
        }
    }

    #[test]
    fn each_wrong_part_is_named() {
        use CaseNumberError::*;
        let next_year = Year { next_year: YEAR + 1 };
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("2026赣0702民初123号", Opening),
            ("【2026】赣0702民初123号", Opening),
            ("（26）赣0702民初123号", next_year.clone()),
            ("（20266）赣0702民初123号", next_year.clone()),
            ("（1948）赣0702民初123号", next_year.clone()),
            ("（2028）赣0702民初123号", next_year.clone()),
            ("（二〇二六）赣0702民初123号", next_year),
            ("（2026赣0702民初123号", Closing),
            ("（2026]赣0702民初123号", Closing),
            ("（2026）X0702民初123号", Court),
            ("（2026）港0702民初123号", Court),
            ("（2026）0702民初123号", Court),
            ("（2026）赣7民初123号", Court),
            ("（2026）赣070民初123号", Court),
            ("（2026）赣07021民初123号", Court),
            ("（2026）赣0702民123号", CaseType),
            ("（2026）赣0702知初123号", CaseType),
            ("（2026）赣0702-123号", CaseType),
            ("（2026）赣0702民初号", Serial),
            ("（2026）赣0702民初0123号", Serial),
            ("（2026）赣0702民初1234567号", Serial),
            ("（2026）赣0702民初0号", Serial),
            ("（2026）赣0702民初123", End),
            ("（2026）赣0702民初123号之一", End),
            ("（2026）赣0702民初123 号", End),
            ("（2026）赣0702民初１２３号", Serial),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw, YEAR), Err(want.clone()), "{raw}");
        }
    }

    #[test]
    fn every_listed_type_and_province_parses() {
        for t in CASE_TYPES {
            let raw = format!("（2026）赣0702{t}1号");
            assert_eq!(parse(&raw, YEAR).map(|n| n.case_type), Ok(*t), "{raw}");
        }
        for p in PROVINCES.chars() {
            let raw = format!("（2026）{p}01民初1号");
            assert_eq!(parse(&raw, YEAR).map(|n| n.court), Ok(format!("{p}01")), "{raw}");
        }
        assert_eq!(PROVINCES.chars().count(), 31);
    }

    #[test]
    fn the_year_window_moves_with_the_current_year() {
        assert!(parse("（2027）赣民初1号", 2026).is_ok());
        assert!(parse("（2027）赣民初1号", 2025).is_err());
        assert!(parse("（1949）赣民初1号", 2026).is_ok());
    }

    #[test]
    fn validate_reports_one_violation_at_the_field() {
        let mut v = Vec::new();
        assert_eq!(validate("court_case_number", "(2026)赣0702民初1号", true, &mut v), "（2026）赣0702民初1号");
        assert_eq!(validate("court_case_number", "", false, &mut v), "");
        assert!(v.is_empty());
        validate("court_case_number", "", true, &mut v);
        validate("document_number", "（2026）赣0702民X1号", false, &mut v);
        let fields: Vec<&str> = v.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["court_case_number", "document_number"]);
        assert!(v[1].description.contains("case type"));
    }
}
