//! Rows and events to `petition.v1` messages. The applicant's phone is
//! whole only to the applicant and the centre (its staff and partner
//! accounts), masked to everyone else. The event mapping is exhaustive: a
//! new domain event does not compile until it has a wire arm.

use chrono::NaiveDate;
use pb::legal_aid_event::Detail;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::domain::LegalAidState;
use super::model::ApplicationRow;
use super::rules::{Conflict, DeadlineMark, Event, Lawyer, Report, Withdrawal};
use crate::auth::Principal;
use crate::calendar::rules::format_date;
use crate::convert::timestamp;
use crate::error::AppError;
use crate::event_log::EventRow;
use crate::pii::Pii;

fn id(value: Uuid) -> String {
    value.to_string()
}

fn optional_id(value: Option<Uuid>) -> String {
    value.map(|id| id.to_string()).unwrap_or_default()
}

fn optional_date(d: Option<NaiveDate>) -> String {
    d.map(format_date).unwrap_or_default()
}

/// Whether `viewer` sees the applicant's phone whole.
fn sees_phone(viewer: &Principal, row: &ApplicationRow) -> bool {
    row.applicant_account_id == Some(viewer.account_id)
        || (viewer.organization_id == Some(row.centre_organization_id)
            && !viewer.has_role(crate::auth::principal::Role::Lawyer))
}

/// The application `row` as `viewer` may see it (the policy has let them).
pub fn application_message(
    row: &ApplicationRow,
    viewer: &Principal,
    pii: &Pii,
    today: NaiveDate,
) -> Result<pb::LegalAidApplication, AppError> {
    let life = &row.lifecycle.0;
    let phone = if sees_phone(viewer, row) && row.applicant_phone_cipher.is_some() {
        pii.reveal(row.id, row.applicant_phone_cipher.as_deref())?
    } else {
        row.applicant_phone_masked.clone().unwrap_or_default()
    };
    let hardship = hardship_message(row);
    Ok(pb::LegalAidApplication {
        id: id(row.id),
        centre_organization_id: id(row.centre_organization_id),
        applicant: Some(pb::LegalAidApplicant {
            account_id: optional_id(row.applicant_account_id),
            name: row.applicant_name.clone(),
            phone,
        }),
        case_id: optional_id(row.case_id),
        matter_type: i32::from(row.matter_type),
        matter_summary: row.matter_summary.clone(),
        adverse_parties: row.adverse_parties.clone(),
        hardship: Some(hardship),
        state: i32::from(row.state),
        receive_date: format_date(row.receive_date),
        decision_due: if matches!(life.state, LegalAidState::UnderReview | LegalAidState::AwaitingMaterials) {
            optional_date(life.decision_due)
        } else {
            String::new()
        },
        assignment_due: if life.state == LegalAidState::Granted {
            optional_date(life.assignment_due)
        } else {
            String::new()
        },
        objection_due: optional_date(life.pending_objection().map(|o| o.due_date)),
        materials_due: optional_date(life.open_materials().map(|m| m.due_date)),
        clock_paused: life.state == LegalAidState::AwaitingMaterials,
        overdue: life.overdue(today),
        materials_requests: life
            .materials
            .iter()
            .map(|m| pb::MaterialsRequest {
                items: m.items.clone(),
                request_date: format_date(m.request_date),
                due_date: format_date(m.due_date),
                supplied_date: optional_date(m.supplied_date),
                supplied_note: m.supplied_note.clone(),
            })
            .collect(),
        decision: life.decision.as_ref().map(|d| pb::LegalAidDecisionRecord {
            decision: if d.grant { pb::LegalAidDecision::Grant } else { pb::LegalAidDecision::Refuse } as i32,
            reason: d.reason.clone(),
            decision_date: format_date(d.date),
        }),
        aid_first: life.aid_first.as_ref().map(|a| pb::AidFirst {
            ground: a.ground as i32,
            note: a.note.clone(),
            papers_outstanding: a.papers_outstanding,
            papers_completed_date: optional_date(a.papers_completed_date),
        }),
        conflicts: life.conflicts.iter().map(conflict_message).collect(),
        lawyer: life.lawyer.as_ref().map(lawyer_message),
        termination: life.termination.as_ref().map(|t| pb::LegalAidTermination {
            reason: t.reason as i32,
            note: t.note.clone(),
            termination_date: format_date(t.date),
        }),
        objections: life
            .objections
            .iter()
            .map(|o| pb::LegalAidObjection {
                subject: o.subject as i32,
                reason: o.reason.clone(),
                file_date: format_date(o.file_date),
                due_date: format_date(o.due_date),
                bureau_organization_id: id(o.bureau_id),
                outcome: o.outcome as i32,
                outcome_reason: o.outcome_reason.clone(),
                decide_date: optional_date(o.decide_date),
            })
            .collect(),
        closing_report: life.report.as_ref().map(report_message),
        withdrawal: life.withdrawal.as_ref().map(withdrawal_message),
        bureau_organization_id: optional_id(row.bureau_organization_id),
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
    })
}

/// The hardship part, kept in the lifecycle's creation facts.
fn hardship_message(row: &ApplicationRow) -> pb::LegalAidHardship {
    let h = &row.lifecycle.0.hardship;
    pb::LegalAidHardship {
        statement: h.statement.clone(),
        verification: h.verification.map(|v| v as i32).unwrap_or_default(),
        exemptions: h.exemptions.iter().map(|e| *e as i32).collect(),
        verification_exemptions: h.verification_exemptions.iter().map(|e| *e as i32).collect(),
    }
}

fn conflict_message(c: &Conflict) -> pb::ConflictHit {
    pb::ConflictHit {
        id: id(c.id),
        other_application_id: id(c.other_application_id),
        name: c.name.clone(),
        kind: c.kind as i32,
        cleared: c.cleared,
        clear_reason: c.clear_reason.clone(),
    }
}

fn lawyer_message(l: &Lawyer) -> pb::AssignedLawyer {
    pb::AssignedLawyer {
        account_id: optional_id(l.account_id),
        name: l.name.clone(),
        law_firm: l.law_firm.clone(),
        licence_number: l.licence_number.clone(),
        kind: l.kind as i32,
        assign_date: format_date(l.assign_date),
    }
}

fn report_message(r: &Report) -> pb::ClosingReport {
    pb::ClosingReport {
        result_summary: r.result_summary.clone(),
        documents: r.documents.clone(),
        close_date: format_date(r.close_date),
    }
}

fn withdrawal_message(w: &Withdrawal) -> pb::LegalAidWithdrawal {
    pb::LegalAidWithdrawal { reason: w.reason as i32, note: w.note.clone(), withdraw_date: format_date(w.date) }
}

/// The wire form of an application event.
pub fn event_message(row: &EventRow, event: &Event) -> pb::LegalAidEvent {
    pb::LegalAidEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: optional_id(row.actor_id),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        application_id: id(row.aggregate_id),
        detail: Some(detail(event)),
    }
}

fn detail(event: &Event) -> Detail {
    match event {
        Event::Created { centre_id, case_id, matter_type, receive_date, decision_due, adverse_party_count, .. } => {
            Detail::Created(pb::LegalAidCreated {
                centre_organization_id: id(*centre_id),
                case_id: optional_id(*case_id),
                matter_type: *matter_type as i32,
                receive_date: format_date(*receive_date),
                decision_due: format_date(*decision_due),
                adverse_party_count: i32::try_from(*adverse_party_count).unwrap_or(i32::MAX),
            })
        }
        Event::MaterialsRequested { items, request_date, due_date, days_left } => {
            Detail::MaterialsRequested(pb::LegalAidMaterialsRequested {
                items: items.clone(),
                request_date: format_date(*request_date),
                due_date: format_date(*due_date),
                days_left: i32::try_from(*days_left).unwrap_or(i32::MAX),
            })
        }
        Event::MaterialsSupplied { supplied_date, note, decision_due } => {
            Detail::MaterialsSupplied(pb::LegalAidMaterialsSupplied {
                supplied_date: format_date(*supplied_date),
                note: note.clone(),
                decision_due: format_date(*decision_due),
            })
        }
        Event::Withdrawn { withdrawal } => {
            Detail::Withdrawn(pb::LegalAidWithdrawn { withdrawal: Some(withdrawal_message(withdrawal)) })
        }
        Event::Granted { decision_date, assignment_due } => Detail::Granted(pb::LegalAidGranted {
            decision_date: format_date(*decision_date),
            assignment_due: format_date(*assignment_due),
        }),
        Event::Refused { reason, decision_date } => {
            Detail::Refused(pb::LegalAidRefused { reason: reason.clone(), decision_date: format_date(*decision_date) })
        }
        Event::AidFirstGranted { ground, note, decision_date, assignment_due } => {
            Detail::AidFirstGranted(pb::LegalAidAidFirstGranted {
                ground: *ground as i32,
                note: note.clone(),
                decision_date: format_date(*decision_date),
                assignment_due: format_date(*assignment_due),
            })
        }
        Event::PapersCompleted { completed_date } => {
            Detail::PapersCompleted(pb::LegalAidPapersCompleted { completed_date: format_date(*completed_date) })
        }
        Event::ConflictFound { conflict } => {
            Detail::ConflictFound(pb::LegalAidConflictFound { conflict: Some(conflict_message(conflict)) })
        }
        Event::ConflictCleared { conflict_id, reason } => Detail::ConflictCleared(pb::LegalAidConflictCleared {
            conflict_id: id(*conflict_id),
            reason: reason.clone(),
        }),
        Event::LawyerAssigned { lawyer } => {
            Detail::LawyerAssigned(pb::LegalAidLawyerAssigned { lawyer: Some(lawyer_message(lawyer)) })
        }
        Event::Terminated { reason, note, date } => Detail::Terminated(pb::LegalAidTerminated {
            termination: Some(pb::LegalAidTermination {
                reason: *reason as i32,
                note: note.clone(),
                termination_date: format_date(*date),
            }),
        }),
        Event::ObjectionFiled { subject, reason, file_date, due_date, bureau_id } => {
            Detail::ObjectionFiled(pb::LegalAidObjectionFiled {
                subject: *subject as i32,
                reason: reason.clone(),
                file_date: format_date(*file_date),
                due_date: format_date(*due_date),
                bureau_organization_id: id(*bureau_id),
            })
        }
        Event::ObjectionDecided { outcome, reason, decide_date, .. } => {
            Detail::ObjectionDecided(pb::LegalAidObjectionDecided {
                outcome: *outcome as i32,
                reason: reason.clone(),
                decide_date: format_date(*decide_date),
            })
        }
        Event::Closed { report } => Detail::Closed(pb::LegalAidClosed { report: Some(report_message(report)) }),
        Event::DeadlineApproaching(mark) => Detail::DeadlineApproaching(deadline_mark(mark)),
        Event::DeadlineMissed(mark) => Detail::DeadlineMissed(deadline_mark(mark)),
    }
}

fn deadline_mark(mark: &DeadlineMark) -> pb::LegalAidDeadlineMark {
    pb::LegalAidDeadlineMark {
        clock: mark.clock as i32,
        due_date: format_date(mark.due_date),
        organization_id: optional_id(mark.organization_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal_aid::domain::LegalAidClock;

    /// The sweeper's marks: each type's oneof arm is the type's offset by 9
    /// (10 = CREATED), as for every other application event.
    #[test]
    fn deadline_marks_are_the_arm_of_their_type() {
        let mark = DeadlineMark {
            clock: LegalAidClock::Objection,
            due_date: NaiveDate::from_ymd_opt(2027, 3, 1).expect("a day"),
            organization_id: Some(Uuid::from_u128(2)),
        };
        for event in [Event::DeadlineApproaching(mark.clone()), Event::DeadlineMissed(mark)] {
            let t = super::super::rules::event_type(&event);
            assert!(pb::LegalAidEventType::try_from(i32::from(t)).is_ok());
            let encoded = pb::LegalAidEvent { detail: Some(detail(&event)), ..Default::default() };
            let bytes = prost::Message::encode_to_vec(&encoded);
            let tag = (u64::try_from(t).expect("positive") + 9) << 3 | 2;
            let mut varint = Vec::new();
            prost::encoding::encode_varint(tag, &mut varint);
            assert!(bytes.starts_with(&varint), "{event:?}");
            let json = serde_json::to_value(&event).expect("json");
            assert_eq!(serde_json::from_value::<Event>(json).expect("back"), event);
        }
    }
}
