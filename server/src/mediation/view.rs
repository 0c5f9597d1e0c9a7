//! Rows to `petition.v1` messages, with what this viewer may see: phone
//! numbers whole only to the team's members and admins (a party's own to
//! that party), masked to everyone else. The event mapping is exhaustive:
//! a new domain event does not compile until it has a wire arm.

use chrono::NaiveDate;
use pb::dispute_event::Detail;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::model::{DisputeRow, MemberRow, PartyRow, ScreeningRow};
use super::rules::{Agreement, DeadlineMark, Event, Failure, Session};
use super::store::{CountedTeam, LoadedMember};
use crate::auth::Principal;
use crate::auth::policy::Membership;
use crate::calendar::rules::format_date;
use crate::convert::timestamp;
use crate::error::AppError;
use crate::event_log::EventRow;
use crate::pii::Pii;

/// Who reads, as the mediation views need it.
pub struct MediationViewer {
    pub account_id: Uuid,
    pub is_admin: bool,
    pub teams: Vec<Uuid>,
}

impl MediationViewer {
    pub fn of(principal: &Principal, memberships: &[Membership]) -> MediationViewer {
        MediationViewer {
            account_id: principal.account_id,
            is_admin: principal.is_admin(),
            teams: memberships.iter().map(|m| m.team_id).collect(),
        }
    }

    fn sees_phones_of(&self, team: Uuid) -> bool {
        self.is_admin || self.teams.contains(&team)
    }
}

fn id(value: Uuid) -> String {
    value.to_string()
}

fn optional_id(value: Option<Uuid>) -> String {
    value.map(|id| id.to_string()).unwrap_or_default()
}

fn optional_date(d: Option<NaiveDate>) -> String {
    d.map(format_date).unwrap_or_default()
}

fn phone(
    pii: &Pii,
    owner: Uuid,
    masked: &Option<String>,
    cipher: &Option<Vec<u8>>,
    whole: bool,
) -> Result<String, AppError> {
    if whole && cipher.is_some() {
        pii.reveal(owner, cipher.as_deref())
    } else {
        Ok(masked.clone().unwrap_or_default())
    }
}

pub fn team_message(team: &CountedTeam) -> pb::MediationTeam {
    let row = &team.row;
    pb::MediationTeam {
        id: id(row.id),
        name: row.name.clone(),
        kind: i32::from(row.kind),
        specialties: row.specialties.iter().map(|s| i32::from(*s)).collect(),
        organization_id: id(row.organization_id),
        region_code: row.region_code.clone(),
        level: i32::from(row.level),
        covered_region_codes: row.covered_region_codes.clone(),
        member_count: i32::try_from(team.members).unwrap_or(i32::MAX),
        open_dispute_count: i32::try_from(team.open_disputes).unwrap_or(i32::MAX),
        retired: row.retired,
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
    }
}

pub fn member_message(member: &LoadedMember, viewer: &MediationViewer, pii: &Pii) -> Result<pb::TeamMember, AppError> {
    let row: &MemberRow = &member.row;
    Ok(pb::TeamMember {
        id: id(row.id),
        team_id: id(row.team_id),
        display_name: row.display_name.clone(),
        role: i32::from(row.role),
        account_id: optional_id(row.account_id),
        phone: phone(pii, row.id, &row.phone_masked, &row.phone_cipher, viewer.sees_phones_of(row.team_id))?,
        open_dispute_count: i32::try_from(member.open_disputes).unwrap_or(i32::MAX),
        active: row.active,
        create_time: Some(timestamp(row.created_at)),
    })
}

pub fn screening_message(row: &ScreeningRow, dispute_ids: &[Uuid]) -> pb::Screening {
    pb::Screening {
        id: id(row.id),
        team_id: id(row.team_id),
        screening_date: format_date(row.screening_date),
        area: row.area.clone(),
        zero_report: row.zero_report,
        dispute_ids: dispute_ids.iter().map(|d| d.to_string()).collect(),
        note: row.note.clone(),
        recorded_by_account_id: id(row.recorded_by),
        create_time: Some(timestamp(row.created_at)),
    }
}

fn session_message(s: &Session) -> pb::MediationSession {
    pb::MediationSession {
        session_date: format_date(s.date),
        place: s.place.clone(),
        video: s.video,
        attendees: s.attendees.clone(),
        notes: s.notes.clone(),
        mediator_member_id: id(s.mediator_member_id),
    }
}

fn agreement_message(a: &Agreement, today: NaiveDate) -> pb::Agreement {
    pb::Agreement {
        form: a.form as i32,
        parties_summary: a.parties_summary.clone(),
        facts: a.facts.clone(),
        issues_and_responsibility: a.issues_and_responsibility.clone(),
        terms: a
            .terms
            .iter()
            .map(|t| pb::AgreementTerm {
                obligor_party_id: id(t.obligor_party_id),
                content: t.content.clone(),
                manner: t.manner.clone(),
                deadline: format_date(t.deadline),
                performance: t.performance as i32,
                performance_date: optional_date(t.performance_date),
                performance_note: t.performance_note.clone(),
                overdue: t.performance == super::domain::TermPerformance::Pending
                    && crate::calendar::rules::is_overdue(t.deadline, today),
            })
            .collect(),
        effective_date: format_date(a.effective_date),
        signed_by_all_parties: a.form == super::domain::AgreementForm::Written,
        sealed_by_committee: a.form == super::domain::AgreementForm::Written,
        confirmation_apply_by: format_date(a.confirmation_apply_by),
    }
}

fn failure_message(f: &Failure) -> pb::Failure {
    pb::Failure {
        reason: f.reason as i32,
        note: f.note.clone(),
        advised_routes: f.advised_routes.iter().map(|r| *r as i32).collect(),
        failure_date: format_date(f.date),
    }
}

/// The wire form of a dispute for `viewer` on `today`; `parties` are its
/// party rows in order.
pub fn dispute_message(
    row: &DisputeRow,
    parties: &[PartyRow],
    viewer: &MediationViewer,
    pii: &Pii,
    today: NaiveDate,
) -> Result<pb::Dispute, AppError> {
    let life = &row.lifecycle.0;
    let team_sees = viewer.sees_phones_of(row.team_id);
    let parties = parties
        .iter()
        .map(|p| {
            let consent = life.parties.iter().find(|c| c.id == p.id);
            let own = p.account_id == Some(viewer.account_id);
            Ok(pb::DisputeParty {
                id: id(p.id),
                account_id: optional_id(p.account_id),
                name: p.name.clone(),
                organization: p.organization,
                phone: phone(pii, p.id, &p.phone_masked, &p.phone_cipher, team_sees || own)?,
                consent: consent.map(|c| c.consent as i32).unwrap_or_default(),
                consent_date: optional_date(consent.and_then(|c| c.consent_date)),
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let attachments: Vec<crate::cases::draft::Attachment> =
        serde_json::from_value(row.attachments.clone()).map_err(AppError::internal)?;
    Ok(pb::Dispute {
        id: id(row.id),
        team_id: id(row.team_id),
        mediator_member_id: optional_id(row.mediator_member_id),
        region_code: row.region_code.clone(),
        category: i32::from(row.category),
        matter: row.matter.clone(),
        source: i32::from(row.source),
        case_id: optional_id(row.case_id),
        referring_court_id: optional_id(row.referring_court_id),
        court_case_number: row.court_case_number.clone(),
        screening_id: optional_id(row.screening_id),
        parties,
        attachments: attachments
            .into_iter()
            .map(|a| pb::Attachment {
                name: a.name,
                media_type: a.media_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256,
            })
            .collect(),
        state: life.state as i32,
        receive_date: format_date(life.receive_date),
        accept_date: optional_date(life.accept_date),
        due_date: optional_date(life.due_date),
        overdue: life.overdue(today),
        sessions: life.sessions.iter().map(session_message).collect(),
        agreement: life.agreement.as_ref().map(|a| agreement_message(a, today)),
        failure: life.failure.as_ref().map(failure_message),
        confirmation: life.confirmation.as_ref().map(|c| pb::CourtConfirmation {
            court_organization_id: id(c.court_id),
            apply_date: format_date(c.apply_date),
            state: c.state as i32,
            answer_date: optional_date(c.answer_date),
            reason: c.reason.clone(),
            court_case_number: c.court_case_number.clone(),
        }),
        teams: life
            .teams
            .iter()
            .map(|s| pb::TeamStint {
                team_id: id(s.team_id),
                from_date: format_date(s.from),
                to_date: optional_date(s.to),
                reason: s.reason.clone(),
            })
            .collect(),
        etag: row.version.to_string(),
        last_event_sequence: i64::from(row.last_sequence),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
    })
}

/// The wire form of a dispute event.
pub fn event_message(row: &EventRow, event: &Event) -> pb::DisputeEvent {
    pb::DisputeEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: optional_id(row.actor_id),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        dispute_id: id(row.aggregate_id),
        detail: Some(detail(event)),
    }
}

fn detail(event: &Event) -> Detail {
    match event {
        Event::Recorded {
            team_id,
            source,
            category,
            receive_date,
            parties,
            case_id,
            screening_id,
            referring_court_id,
        } => Detail::Recorded(pb::DisputeRecorded {
            team_id: id(*team_id),
            source: *source as i32,
            category: *category as i32,
            receive_date: format_date(*receive_date),
            case_id: optional_id(*case_id),
            screening_id: optional_id(*screening_id),
            referring_court_id: optional_id(*referring_court_id),
            party_count: i32::try_from(parties.len()).unwrap_or(i32::MAX),
        }),
        Event::ConsentRecorded { party_id, consents, date, note } => {
            Detail::ConsentRecorded(pb::DisputeConsentRecorded {
                party_id: id(*party_id),
                consents: *consents,
                consent_date: format_date(*date),
                note: note.clone(),
            })
        }
        Event::Accepted { accept_date, due_date } => Detail::Accepted(pb::DisputeAccepted {
            accept_date: format_date(*accept_date),
            due_date: format_date(*due_date),
        }),
        Event::MediatorAssigned { member_id } => {
            Detail::MediatorAssigned(pb::DisputeMediatorAssigned { member_id: id(*member_id) })
        }
        Event::MediatorObjected { member_id, party_id, reason } => {
            Detail::MediatorObjected(pb::DisputeMediatorObjected {
                member_id: id(*member_id),
                party_id: id(*party_id),
                reason: reason.clone(),
            })
        }
        Event::MediatorRecused { member_id, reason } => {
            Detail::MediatorRecused(pb::DisputeMediatorRecused { member_id: id(*member_id), reason: reason.clone() })
        }
        Event::SessionHeld { session } => {
            Detail::SessionHeld(pb::DisputeSessionHeld { session: Some(session_message(session)) })
        }
        Event::Settled { agreement } => Detail::Settled(pb::DisputeSettled {
            // Term follow-up is reported by later events, not here.
            agreement: Some(agreement_message(agreement, NaiveDate::MIN)),
        }),
        Event::Failed { failure } => Detail::Failed(pb::DisputeFailed { failure: Some(failure_message(failure)) }),
        Event::PerformanceRecorded { term_index, performance, date, note } => {
            Detail::PerformanceRecorded(pb::DisputePerformanceRecorded {
                term_index: i32::try_from(*term_index).unwrap_or(i32::MAX),
                performance: *performance as i32,
                performance_date: format_date(*date),
                note: note.clone(),
            })
        }
        Event::ConfirmationApplied { court_id, apply_date } => {
            Detail::ConfirmationApplied(pb::DisputeConfirmationApplied {
                court_organization_id: id(*court_id),
                apply_date: format_date(*apply_date),
            })
        }
        Event::ConfirmationAnswered { decision, reason, court_case_number, answer_date } => {
            Detail::ConfirmationAnswered(pb::DisputeConfirmationAnswered {
                decision: *decision as i32,
                reason: reason.clone(),
                court_case_number: court_case_number.clone(),
                answer_date: format_date(*answer_date),
            })
        }
        Event::Escalated { from_team_id, to_team_id, reason, date } => Detail::Escalated(pb::DisputeEscalated {
            from_team_id: id(*from_team_id),
            to_team_id: id(*to_team_id),
            reason: reason.clone(),
            escalate_date: format_date(*date),
        }),
        Event::DeadlineApproaching(mark) => Detail::DeadlineApproaching(deadline_mark(mark)),
        Event::DeadlineMissed(mark) => Detail::DeadlineMissed(deadline_mark(mark)),
    }
}

fn deadline_mark(mark: &DeadlineMark) -> pb::DisputeDeadlineMark {
    pb::DisputeDeadlineMark {
        clock: mark.clock as i32,
        due_date: format_date(mark.due_date),
        term_index: mark.term_index.map_or(0, |i| i32::try_from(i).unwrap_or(i32::MAX)),
        obligor_party_id: optional_id(mark.obligor_party_id),
        team_id: id(mark.team_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mediation::domain::DisputeClock;

    /// The sweeper's marks: each type's oneof arm is the type's offset by 9
    /// (10 = RECORDED), as for every other dispute event.
    #[test]
    fn deadline_marks_are_the_arm_of_their_type() {
        let mark = DeadlineMark {
            clock: DisputeClock::TermPerformance,
            due_date: NaiveDate::from_ymd_opt(2027, 3, 1).expect("a day"),
            term_index: Some(1),
            obligor_party_id: Some(Uuid::from_u128(2)),
            team_id: Uuid::from_u128(1),
        };
        for event in [Event::DeadlineApproaching(mark.clone()), Event::DeadlineMissed(mark)] {
            let t = super::super::rules::event_type(&event);
            assert!(pb::DisputeEventType::try_from(i32::from(t)).is_ok());
            let encoded = pb::DisputeEvent { detail: Some(detail(&event)), ..Default::default() };
            let bytes = prost::Message::encode_to_vec(&encoded);
            let tag = (u64::try_from(t).expect("positive") + 9) << 3 | 2;
            let mut varint = Vec::new();
            prost::encoding::encode_varint(tag, &mut varint);
            assert!(bytes.starts_with(&varint), "{event:?}");
            // The payload round-trips through its JSON.
            let json = serde_json::to_value(&event).expect("json");
            assert_eq!(serde_json::from_value::<Event>(json).expect("back"), event);
        }
    }
}
