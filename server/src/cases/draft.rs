//! Validation of what a filing carries (Art.19: request, facts and reasons;
//! Art.20 ¶3: at most 5 representatives of a group visit). Pure.

use serde::{Deserialize, Serialize};

use super::domain::CaseKind;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::text;

pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_CONTENT_CHARS: usize = 20_000;
pub const MAX_REQUESTS_CHARS: usize = 5_000;
pub const MAX_ATTACHMENTS: usize = 20;
pub const MAX_ATTACHMENT_BYTES: i64 = 100 * 1024 * 1024;
pub const MAX_REPRESENTATIVES: usize = 5;
pub const MAX_HEADCOUNT: i32 = 10_000;
pub const MAX_NOTE_CHARS: usize = 5_000;

/// Attachment metadata as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// A validated filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub kind: CaseKind,
    pub category_code: String,
    pub region_code: String,
    pub title: String,
    pub content: String,
    pub requests: String,
    pub facts_and_reasons: String,
    pub attachments: Vec<Attachment>,
    /// The unit complained about (checked to exist by the engine).
    pub respondent_organization_id: Option<uuid::Uuid>,
}

/// The raw fields of a filing, as received.
pub struct RawDraft<'a> {
    pub kind: i32,
    pub category_code: &'a str,
    pub region_code: &'a str,
    pub title: &'a str,
    pub content: &'a str,
    pub requests: &'a str,
    pub facts_and_reasons: &'a str,
    pub attachments: Vec<Attachment>,
    pub respondent_organization_id: &'a str,
}

/// Checks attachment `index` of the list at `list` (e.g. "draft.attachments").
pub fn check_attachment(list: &str, index: usize, a: &Attachment, violations: &mut Vec<FieldViolation>) {
    let field = |name: &str| format!("{list}[{index}].{name}");
    text::one_line(&field("name"), &a.name, 1, 255, violations);
    let media_ok = a.media_type.split_once('/').is_some_and(|(t, s)| {
        !t.is_empty()
            && !s.is_empty()
            && a.media_type.len() <= 127
            && a.media_type.bytes().all(|b| b.is_ascii_graphic())
    });
    if !media_ok {
        violations.push(FieldViolation::new(field("media_type"), "must be a media type such as image/jpeg"));
    }
    if !(1..=MAX_ATTACHMENT_BYTES).contains(&a.size_bytes) {
        violations.push(FieldViolation::new(field("size_bytes"), "must be between 1 byte and 100 MiB"));
    }
    if a.sha256.len() != 64 || !a.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        violations.push(FieldViolation::new(field("sha256"), "must be 64 lowercase hex digits"));
    }
}

/// Validates a filing, collecting every violation.
pub fn validate(raw: RawDraft<'_>) -> Result<Draft, AppError> {
    let mut v = Vec::new();
    let kind = CaseKind::from_i32(raw.kind);
    if kind.is_none() {
        v.push(FieldViolation::new("draft.kind", "must be SUGGESTION, ACCUSATION or CLAIM"));
    }
    if raw.category_code.is_empty() {
        v.push(FieldViolation::new("draft.category_code", "is required"));
    }
    if raw.region_code.is_empty() {
        v.push(FieldViolation::new("draft.region_code", "is required"));
    }
    let title = text::one_line("draft.title", raw.title, 1, MAX_TITLE_CHARS, &mut v);
    let content = text::multi_line("draft.content", raw.content, 1, MAX_CONTENT_CHARS, &mut v);
    let requests = text::multi_line("draft.requests", raw.requests, 1, MAX_REQUESTS_CHARS, &mut v);
    let facts_and_reasons =
        text::multi_line("draft.facts_and_reasons", raw.facts_and_reasons, 0, MAX_CONTENT_CHARS, &mut v);
    if raw.attachments.len() > MAX_ATTACHMENTS {
        v.push(FieldViolation::new("draft.attachments", format!("at most {MAX_ATTACHMENTS}")));
    }
    for (i, a) in raw.attachments.iter().enumerate() {
        check_attachment("draft.attachments", i, a, &mut v);
    }
    let respondent_organization_id = match raw.respondent_organization_id {
        "" => None,
        id => {
            let parsed = uuid::Uuid::parse_str(id).ok();
            if parsed.is_none() {
                v.push(FieldViolation::new("draft.respondent_organization_id", "must be an organization id"));
            }
            parsed
        }
    };
    require_valid(v)?;
    Ok(Draft {
        kind: kind.unwrap_or(CaseKind::Claim),
        category_code: raw.category_code.to_owned(),
        region_code: raw.region_code.to_owned(),
        title,
        content,
        requests,
        facts_and_reasons,
        attachments: raw.attachments,
        respondent_organization_id,
    })
}

/// A group visit's headcount and representatives' names (phones are
/// validated and sealed by the caller).
pub fn check_group_visit(headcount: i32, representatives: usize, violations: &mut Vec<FieldViolation>) {
    if !(2..=MAX_HEADCOUNT).contains(&headcount) {
        violations.push(FieldViolation::new("group_visit.headcount", format!("must be 2–{MAX_HEADCOUNT}")));
    }
    if representatives == 0 || representatives > MAX_REPRESENTATIVES {
        violations.push(FieldViolation::new(
            "group_visit.representatives",
            format!("a group visit names 1–{MAX_REPRESENTATIVES} representatives (Art.20)"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>() -> RawDraft<'a> {
        RawDraft {
            kind: 3,
            category_code: "housing",
            region_code: "360702",
            title: "小区漏水",
            content: "楼上漏水三个月无人处理",
            requests: "维修",
            facts_and_reasons: "",
            attachments: vec![],
            respondent_organization_id: "",
        }
    }

    fn fields(result: Result<Draft, AppError>) -> Vec<String> {
        match result {
            Ok(_) => vec![],
            Err(AppError::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect(),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn drafts() {
        assert!(fields(validate(raw())).is_empty());
        assert_eq!(fields(validate(RawDraft { kind: 0, ..raw() })), ["draft.kind"]);
        assert_eq!(fields(validate(RawDraft { title: "  ", ..raw() })), ["draft.title"]);
        let long = "长".repeat(101);
        assert_eq!(fields(validate(RawDraft { title: &long, ..raw() })), ["draft.title"]);
        assert_eq!(fields(validate(RawDraft { content: "a\u{7}b", ..raw() })), ["draft.content"]);
        assert!(fields(validate(RawDraft { content: "第一行\n第二行\t", ..raw() })).is_empty());
        assert_eq!(fields(validate(RawDraft { requests: "", category_code: "", region_code: "", ..raw() })).len(), 3);
        let bad = Attachment { name: String::new(), media_type: "jpeg".into(), size_bytes: 0, sha256: "XYZ".into() };
        assert_eq!(
            fields(validate(RawDraft { attachments: vec![bad], ..raw() })),
            [
                "draft.attachments[0].name",
                "draft.attachments[0].media_type",
                "draft.attachments[0].size_bytes",
                "draft.attachments[0].sha256"
            ]
        );
        let good = Attachment {
            name: "照片.jpg".into(),
            media_type: "image/jpeg".into(),
            size_bytes: 1024,
            sha256: "a".repeat(64),
        };
        assert!(fields(validate(RawDraft { attachments: vec![good.clone()], ..raw() })).is_empty());
        assert_eq!(fields(validate(RawDraft { attachments: vec![good; 21], ..raw() })), ["draft.attachments"]);
        assert_eq!(
            fields(validate(RawDraft { respondent_organization_id: "水务局", ..raw() })),
            ["draft.respondent_organization_id"]
        );
        let respondent = "0190a1b2-0000-7000-8000-000000000001";
        let ok = validate(RawDraft { respondent_organization_id: respondent, ..raw() });
        assert_eq!(
            ok.ok().and_then(|d| d.respondent_organization_id).map(|u| u.to_string()).as_deref(),
            Some(respondent)
        );
    }

    #[test]
    fn group_visits() {
        let check = |h, r| {
            let mut v = Vec::new();
            check_group_visit(h, r, &mut v);
            v.into_iter().map(|v| v.field).collect::<Vec<_>>()
        };
        assert!(check(30, 5).is_empty());
        assert_eq!(check(30, 6), ["group_visit.representatives"]);
        assert_eq!(check(30, 0), ["group_visit.representatives"]);
        assert_eq!(check(1, 1), ["group_visit.headcount"]);
    }
}
