//! The conflict check before assignment: the applicant and the adverse
//! parties against the centre's other matters, by normalized name.
//!
//! Which matters count: the centre's GRANTED, ASSIGNED and CLOSED
//! applications (live or closed matters, where a lawyer of the centre acts
//! or acted for someone); refused, withdrawn and terminated applications
//! gave no one a lawyer and are left out. A hit is this applicant named as
//! an adverse party there, or an adverse party here being the applicant
//! there. The store finds candidates with one indexed query on the keys
//! below; [`hits`] decides.

use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::domain::ConflictKind;

/// A name's comparison key: NFKC (full-width letters, digits and spaces
/// folded to half-width), case-folded, with whitespace and punctuation
/// removed. "ＡＢＣ 公司（赣州）" and "abc公司赣州" have the same key.
pub fn normalize(name: &str) -> String {
    name.nfkc().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric()).collect()
}

/// Another matter of the centre, as the conflict check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    pub id: Uuid,
    pub applicant_key: String,
    pub adverse_keys: Vec<String>,
}

/// A hit before it gets its id: the other matter, the name as given here,
/// and how it arose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub other_application_id: Uuid,
    pub name: String,
    pub kind: ConflictKind,
}

/// The hits of an application (`applicant`, `adverse` as given) against
/// `others` (never itself), each once.
pub fn hits(own_id: Uuid, applicant: &str, adverse: &[String], others: &[Matter]) -> Vec<Hit> {
    let applicant_key = normalize(applicant);
    let mut out = Vec::new();
    for other in others.iter().filter(|m| m.id != own_id) {
        if !applicant_key.is_empty() && other.adverse_keys.contains(&applicant_key) {
            out.push(Hit {
                other_application_id: other.id,
                name: applicant.to_owned(),
                kind: ConflictKind::ApplicantIsAdverseThere,
            });
        }
        for name in adverse {
            let key = normalize(name);
            if !key.is_empty() && key == other.applicant_key {
                let hit = Hit {
                    other_application_id: other.id,
                    name: name.clone(),
                    kind: ConflictKind::AdverseIsApplicantThere,
                };
                if !out.contains(&hit) {
                    out.push(hit);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_width_case_spaces_and_punctuation() {
        assert_eq!(normalize("ＡＢＣ 公司（赣州）"), "abc公司赣州");
        assert_eq!(normalize(" 张　三 "), "张三");
        assert_eq!(normalize("Li·Ming"), "liming");
        assert_eq!(normalize("赣州市某某建筑有限公司"), normalize("赣州市某某建筑有限公司 "));
        assert_eq!(normalize("—…"), "");
    }

    #[test]
    fn hits_both_ways_never_itself_and_each_once() {
        let me = Uuid::from_u128(1);
        let other = Matter {
            id: Uuid::from_u128(2),
            applicant_key: normalize("某某建筑公司"),
            adverse_keys: vec![normalize("张三"), normalize("李四")],
        };
        let itself = Matter { id: me, applicant_key: normalize("张三"), adverse_keys: vec![normalize("张三")] };
        let unrelated =
            Matter { id: Uuid::from_u128(3), applicant_key: "王五".into(), adverse_keys: vec!["赵六".into()] };
        let got =
            hits(me, "张 三", &["某某建筑公司".into(), "某某建筑 公司".into()], &[other.clone(), itself, unrelated]);
        assert_eq!(
            got,
            vec![
                Hit {
                    other_application_id: other.id,
                    name: "张 三".into(),
                    kind: ConflictKind::ApplicantIsAdverseThere
                },
                Hit {
                    other_application_id: other.id,
                    name: "某某建筑公司".into(),
                    kind: ConflictKind::AdverseIsApplicantThere
                },
                Hit {
                    other_application_id: other.id,
                    name: "某某建筑 公司".into(),
                    kind: ConflictKind::AdverseIsApplicantThere
                },
            ]
        );
        assert!(hits(me, "孙七", &["周八".into()], &[other]).is_empty());
    }
}
