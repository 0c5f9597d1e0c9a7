//! Backlog cases and their events on the wire. Whoever may see a backlog
//! case sees all of it: the checks and the accountability records are
//! what the bureau and the handling organization work from.

use pb::backlog_case_event::Detail;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::model::BacklogRow;
use super::rules::{
    Accountability, Checks, ClaimReasonable, ClaimResolved, Event, Lifecycle, Responsibility, RootCause, Stamped,
};
use crate::convert::timestamp;
use crate::event_log::EventRow;

fn id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

fn root_cause(c: &RootCause, stamp: Option<(&chrono::DateTime<chrono::Utc>, &Uuid)>) -> pb::RootCauseCheck {
    pb::RootCauseCheck {
        category: c.category as i32,
        findings: c.findings.clone(),
        record_time: stamp.map(|(at, _)| timestamp(*at)),
        recorded_by_account_id: stamp.map(|(_, by)| by.to_string()).unwrap_or_default(),
    }
}

fn claim_reasonable(
    c: &ClaimReasonable,
    stamp: Option<(&chrono::DateTime<chrono::Utc>, &Uuid)>,
) -> pb::ClaimReasonableCheck {
    pb::ClaimReasonableCheck {
        reasonableness: c.reasonableness as i32,
        basis: c.basis.clone(),
        record_time: stamp.map(|(at, _)| timestamp(*at)),
        recorded_by_account_id: stamp.map(|(_, by)| by.to_string()).unwrap_or_default(),
    }
}

fn claim_resolved(c: &ClaimResolved, stamp: Option<(&chrono::DateTime<chrono::Utc>, &Uuid)>) -> pb::ClaimResolvedCheck {
    pb::ClaimResolvedCheck {
        resolution: c.resolution as i32,
        findings: c.findings.clone(),
        record_time: stamp.map(|(at, _)| timestamp(*at)),
        recorded_by_account_id: stamp.map(|(_, by)| by.to_string()).unwrap_or_default(),
    }
}

fn responsibility(
    c: &Responsibility,
    stamp: Option<(&chrono::DateTime<chrono::Utc>, &Uuid)>,
) -> pb::ResponsibilityCheck {
    pb::ResponsibilityCheck {
        finding: c.finding as i32,
        findings: c.findings.clone(),
        record_time: stamp.map(|(at, _)| timestamp(*at)),
        recorded_by_account_id: stamp.map(|(_, by)| by.to_string()).unwrap_or_default(),
    }
}

fn stamp<T>(s: &Stamped<T>) -> Option<(&chrono::DateTime<chrono::Utc>, &Uuid)> {
    Some((&s.recorded_at, &s.recorded_by))
}

/// The checks as stored, with when and by whom each was recorded.
fn stored_checks(life: &Lifecycle) -> pb::BacklogChecks {
    pb::BacklogChecks {
        root_cause: life.root_cause.as_ref().map(|s| root_cause(&s.value, stamp(s))),
        claim_reasonable: life.claim_reasonable.as_ref().map(|s| claim_reasonable(&s.value, stamp(s))),
        claim_resolved: life.claim_resolved.as_ref().map(|s| claim_resolved(&s.value, stamp(s))),
        responsibility: life.responsibility.as_ref().map(|s| responsibility(&s.value, stamp(s))),
    }
}

/// The checks one event recorded.
fn recorded_checks(checks: &Checks, at: &chrono::DateTime<chrono::Utc>, by: &Uuid) -> pb::BacklogChecks {
    let s = Some((at, by));
    pb::BacklogChecks {
        root_cause: checks.root_cause.as_ref().map(|c| root_cause(c, s)),
        claim_reasonable: checks.claim_reasonable.as_ref().map(|c| claim_reasonable(c, s)),
        claim_resolved: checks.claim_resolved.as_ref().map(|c| claim_resolved(c, s)),
        responsibility: checks.responsibility.as_ref().map(|c| responsibility(c, s)),
    }
}

fn accountability(a: &Accountability) -> pb::BacklogAccountability {
    pb::BacklogAccountability {
        account_id: id(a.account_id),
        name: a.name.clone(),
        organization_id: id(a.organization_id),
        measure: a.measure as i32,
        detail: a.detail.clone(),
        record_time: Some(timestamp(a.recorded_at)),
        recorded_by_account_id: a.recorded_by.to_string(),
    }
}

/// The wire form of a backlog case.
pub fn backlog_message(row: &BacklogRow) -> pb::BacklogCase {
    let life = &row.lifecycle.0;
    pb::BacklogCase {
        id: row.id.to_string(),
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        region_code: row.region_code.clone(),
        state: life.state as i32,
        reason: life.reason as i32,
        detail: life.detail.clone(),
        by_rule: life.by_rule,
        designated_by_account_id: id(life.designated_by),
        designate_time: Some(timestamp(life.designated_at)),
        checks: Some(stored_checks(life)),
        missing_checks: life.missing_checks().into_iter().map(|c| c as i32).collect(),
        accountability: life.accountability.iter().map(accountability).collect(),
        resolution_summary: life.resolution_summary.clone().unwrap_or_default(),
        withdrawal_reason: life.withdrawal_reason.clone().unwrap_or_default(),
        close_time: life.closed_at.map(timestamp),
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        last_event_sequence: i64::from(row.last_sequence),
    }
}

/// The wire form of a backlog case's event.
pub fn event_message(row: &EventRow, event: &Event) -> pb::BacklogCaseEvent {
    pb::BacklogCaseEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: id(row.actor_id),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        backlog_case_id: row.aggregate_id.to_string(),
        detail: Some(detail(event)),
    }
}

fn detail(event: &Event) -> Detail {
    match event {
        Event::Designated { case_id, reason, detail, by_rule, .. } => Detail::Designated(pb::BacklogDesignated {
            case_id: case_id.to_string(),
            reason: *reason as i32,
            detail: detail.clone(),
            by_rule: *by_rule,
        }),
        Event::ChecksRecorded { checks, by, at } => Detail::ChecksRecorded(recorded_checks(checks, at, by)),
        Event::AccountabilityRecorded { accountability: a } => Detail::AccountabilityRecorded(accountability(a)),
        Event::Resolved { summary, .. } => Detail::Resolved(pb::BacklogResolved { summary: summary.clone() }),
        Event::Withdrawn { reason, .. } => Detail::Withdrawn(pb::BacklogWithdrawn { reason: reason.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backlog::domain::{AccountabilityMeasure, BacklogReason, RootCauseCategory};
    use crate::backlog::rules;

    #[test]
    fn each_event_type_is_carried_in_its_own_oneof_arm() {
        let at = chrono::Utc::now();
        let who = Uuid::from_u128(1);
        let events = [
            rules::designate(who, BacklogReason::Repeated, "重复".into(), None, at),
            Event::ChecksRecorded {
                checks: Checks {
                    root_cause: Some(RootCause { category: RootCauseCategory::Policy, findings: "政策".into() }),
                    ..Checks::default()
                },
                by: who,
                at,
            },
            Event::AccountabilityRecorded {
                accountability: Accountability {
                    account_id: None,
                    name: "张某".into(),
                    organization_id: None,
                    measure: AccountabilityMeasure::Referred,
                    detail: "移送".into(),
                    recorded_at: at,
                    recorded_by: who,
                },
            },
            Event::Resolved { summary: "化解".into(), at },
            Event::Withdrawn { reason: "误认定".into(), at },
        ];
        for event in &events {
            let t = rules::event_type(event);
            assert!(pb::BacklogCaseEventType::try_from(i32::from(t)).is_ok());
            let encoded = pb::BacklogCaseEvent { detail: Some(detail(event)), ..Default::default() };
            let bytes = prost::Message::encode_to_vec(&encoded);
            // The oneof field number is the type's offset by 9 (10 = DESIGNATED).
            let tag = (u64::try_from(t).expect("positive") + 9) << 3 | 2;
            let mut varint = Vec::new();
            prost::encoding::encode_varint(tag, &mut varint);
            assert!(bytes.starts_with(&varint), "{event:?}");
        }
    }
}
