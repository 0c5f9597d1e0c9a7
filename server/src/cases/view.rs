//! What a viewer sees of a case: rows and lifecycle turned into wire
//! messages, with accusation content and phone numbers hidden from those
//! who may not see them.

use chrono::NaiveDate;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::aggregate::Case;
use super::clocks;
use super::domain::CaseKind;
use super::draft::Attachment;
use super::event_wire;
use super::model::CaseRow;
use super::rules::{Event, Opinion, due_date};
use super::store::StoredPetitioner;
use crate::auth::Principal;
use crate::auth::policy;
use crate::calendar::Schedules;
use crate::calendar::rules::{format_date, is_overdue};
use crate::convert::timestamp;
use crate::directory::kinds::OrganizationKinds;
use crate::directory::rules::OrganizationKind;
use crate::error::AppError;
use crate::event_log::EventRow;
use crate::pii::Pii;
use base64::Engine as _;
use diesel::PgConnection;
use serde::Deserialize as _;

/// Who is looking, as far as hiding goes.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub account_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub is_admin: bool,
    /// Holds a staff role that works with cases.
    pub is_staff: bool,
    /// Works in a discipline inspection organization (Art.30).
    pub in_discipline_channel: bool,
}

impl Viewer {
    /// The viewer `principal` is.
    pub fn of(conn: &mut PgConnection, kinds: &OrganizationKinds, principal: &Principal) -> Result<Viewer, AppError> {
        let in_discipline_channel = match principal.organization_id {
            Some(org) => kinds.get(conn, org)? == Some(OrganizationKind::DisciplineInspection as i16),
            None => false,
        };
        Ok(Viewer {
            account_id: principal.account_id,
            organization_id: principal.organization_id,
            is_admin: principal.is_admin(),
            is_staff: policy::is_case_staff(principal),
            in_discipline_channel,
        })
    }

    /// Whether the content of `row` is visible: always, except an
    /// accusation, which only its petitioner and the discipline channel see.
    pub fn sees_content(&self, row: &CaseRow) -> bool {
        self.sees_content_of(row.kind, row.petitioner_id)
    }

    /// [`Self::sees_content`] for a case of `kind` filed by `petitioner`.
    pub fn sees_content_of(&self, kind: i16, petitioner: Uuid) -> bool {
        kind != CaseKind::Accusation.as_i16() || self.account_id == petitioner || self.in_discipline_channel
    }

    fn sees_phone(&self, row: &CaseRow) -> bool {
        self.is_admin || self.account_id == row.petitioner_id
    }

    /// Representatives of a group visit are contacted by the unit handling it.
    fn sees_representative_phones(&self, row: &CaseRow) -> bool {
        self.is_admin || (self.organization_id.is_some() && self.organization_id == row.handling_organization_id)
    }
}

/// The petitioner's name and phone as stored (phone masked and sealed).
#[derive(Debug, Clone)]
pub struct PetitionerInfo {
    pub name: String,
    pub phone_masked: String,
    pub phone: String,
}

impl PetitionerInfo {
    /// Petitioner `id` as `viewer` may see them in `view`: the phone is
    /// decrypted only in the full view, for those who may see it in full
    /// (the petitioner, admins).
    pub fn of(
        id: Uuid,
        stored: StoredPetitioner,
        viewer: &Viewer,
        pii: &Pii,
        view: CaseView,
    ) -> Result<Self, AppError> {
        let phone = if view == CaseView::Full && (viewer.is_admin || viewer.account_id == id) {
            pii.reveal(id, stored.phone_cipher.as_deref())?
        } else {
            String::new()
        };
        Ok(PetitionerInfo { name: stored.name, phone_masked: stored.phone_masked.unwrap_or_default(), phone })
    }
}

/// How much of a case a read returns (AIP-157).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseView {
    /// What a list screen shows: no content, requests, facts, attachments
    /// or opinions' texts, and no phone decrypted.
    Basic,
    Full,
}

impl CaseView {
    /// A request's view; `default` when unspecified.
    pub fn from_wire(raw: i32, default: CaseView) -> Result<CaseView, AppError> {
        match pb::CaseView::try_from(raw) {
            Ok(pb::CaseView::Unspecified) => Ok(default),
            Ok(pb::CaseView::Basic) => Ok(CaseView::Basic),
            Ok(pb::CaseView::Full) => Ok(CaseView::Full),
            Err(_) => Err(AppError::invalid("view", "unknown view")),
        }
    }
}

/// A group visit as stored: representatives' phones sealed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredGroupVisit {
    pub headcount: i32,
    pub representatives: Vec<StoredRepresentative>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredRepresentative {
    pub name: String,
    pub phone_masked: String,
    /// Base64 of the phone sealed for the case's petitioner (see `Pii`).
    #[serde(default)]
    pub phone_sealed: String,
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(format_date).unwrap_or_default()
}

fn opinion(o: &Option<Opinion>) -> Option<pb::Opinion> {
    o.as_ref().map(event_wire::opinion)
}

/// The wire form of a case for `viewer`, on `today`, with `schedules`
/// loaded.
pub fn case_message(
    row: &CaseRow,
    petitioner: &PetitionerInfo,
    viewer: &Viewer,
    today: NaiveDate,
    schedules: &Schedules,
    pii: &Pii,
    view: CaseView,
) -> Result<pb::Case, AppError> {
    let life = &row.lifecycle.0;
    let full = view == CaseView::Full;
    let d = &life.deadlines;
    let sees_content = viewer.sees_content(row);
    let hide = |text: &str| if sees_content { text.to_owned() } else { String::new() };
    let attachments: Vec<Attachment> =
        if sees_content { Vec::<Attachment>::deserialize(&row.attachments).unwrap_or_default() } else { vec![] };
    let representative_phone = |r: &StoredRepresentative| -> Result<String, AppError> {
        if !full || !viewer.sees_representative_phones(row) || r.phone_sealed.is_empty() {
            return Ok(r.phone_masked.clone());
        }
        let sealed = base64::engine::general_purpose::STANDARD.decode(&r.phone_sealed).map_err(AppError::internal)?;
        pii.reveal(row.petitioner_id, Some(&sealed))
    };
    let group_visit = match &row.group_visit {
        None => None,
        // The representatives of an accusing group are accusers (Art.30).
        Some(stored) if !sees_content => {
            let g = StoredGroupVisit::deserialize(stored)
                .map_err(|e| AppError::internal(format!("case {} has an unreadable group visit: {e}", row.id)))?;
            Some(pb::GroupVisit { headcount: g.headcount, representatives: Vec::new() })
        }
        Some(stored) => {
            let g = StoredGroupVisit::deserialize(stored)
                .map_err(|e| AppError::internal(format!("case {} has an unreadable group visit: {e}", row.id)))?;
            let representatives = g
                .representatives
                .iter()
                .map(|r| Ok(pb::Representative { name: r.name.clone(), phone: representative_phone(r)? }))
                .collect::<Result<Vec<_>, AppError>>()?;
            Some(pb::GroupVisit { headcount: g.headcount, representatives })
        }
    };
    let due = due_date(life);
    Ok(pb::Case {
        id: row.id.to_string(),
        number: row.number.clone(),
        kind: i32::from(row.kind),
        channel: i32::from(row.channel),
        state: i32::from(row.state),
        track: i32::from(row.track),
        category_code: row.category_code.clone(),
        region_code: row.region_code.clone(),
        title: hide(&row.title),
        content: hide(&row.content),
        requests: hide(&row.requests),
        facts_and_reasons: hide(&row.facts_and_reasons),
        content_hidden: !sees_content,
        attachments: attachments
            .into_iter()
            .map(|a| pb::Attachment {
                name: a.name,
                media_type: a.media_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256,
            })
            .collect(),
        // Art.30: who accuses is as confidential as what they say.
        petitioner: Some(if sees_content {
            pb::Petitioner {
                account_id: row.petitioner_id.to_string(),
                name: petitioner.name.clone(),
                phone: if full && viewer.sees_phone(row) {
                    petitioner.phone.clone()
                } else {
                    petitioner.phone_masked.clone()
                },
            }
        } else {
            pb::Petitioner::default()
        }),
        group_visit,
        registering_organization_id: id(row.registering_organization_id),
        handling_organization_id: id(life.handling_organization_id),
        routing_mode: life.routing_mode.map(|m| m as i32).unwrap_or_default(),
        reviewing_organization_id: id(life.reviewing_organization_id),
        deadlines: Some(event_wire::deadlines(d, clocks::provisional(d, today, schedules))),
        due_date: date(due),
        overdue: due.is_some_and(|due| is_overdue(due, today)),
        extended: life.extended,
        decline_reason: life.decline_reason.map(|r| r as i32).unwrap_or_default(),
        // Another case of the same petitioner, or what was accused: neither
        // may reach anyone who may not see an accusation's content (Art.30).
        related_case_id: if sees_content { id(life.related_case_id) } else { String::new() },
        reply: opinion(&life.reply).filter(|_| sees_content && full),
        review_opinion: opinion(&life.review_opinion).filter(|_| sees_content && full),
        recheck_opinion: opinion(&life.recheck_opinion).filter(|_| sees_content && full),
        completion_reported: life.completion_reported,
        recheck_paused: life.recheck_paused_days_left.is_some(),
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        routed_on_registration: row.routed_on_registration,
        route_time: row.first_routed_at.map(timestamp),
        respondent_organization_id: if sees_content { id(row.respondent_organization_id) } else { String::new() },
        filing_kind: if life.repeat_of.is_some() { pb::FilingKind::Repeat } else { pb::FilingKind::FirstTime } as i32,
        repeat_of_case_id: if sees_content { id(life.repeat_of) } else { String::new() },
        escalated: life.escalated,
        merged_into_case_id: id(life.merged_into),
        last_event_sequence: i64::from(row.last_sequence),
        // Which partners see a case is the business of those who run it.
        access_organization_ids: if viewer.is_admin || viewer.is_staff {
            row.access_organization_ids.iter().map(Uuid::to_string).collect()
        } else {
            Vec::new()
        },
        mediation: life.mediation.as_ref().map(|m| pb::CaseMediation {
            dispute_id: m.dispute_id.to_string(),
            team_id: m.team_id.to_string(),
            outcome: m.outcome as i32,
            refer_date: format_date(m.referred_on),
        }),
        lawyers: (sees_content && !(life.lawyer_requests.is_empty() && life.lawyer_participations.is_empty())).then(
            || pb::CaseLawyers {
                requests: life.lawyer_requests.iter().map(event_wire::lawyer_request).collect(),
                participations: life.lawyer_participations.iter().map(event_wire::lawyer_participation).collect(),
            },
        ),
        // Filled from what the case was read with (cases::legal_aid::message).
        legal_aid: None,
        court_referrals: life
            .court_referrals
            .iter()
            .map(|r| pb::CaseCourtReferral {
                court_referral_id: r.referral_id.to_string(),
                court_organization_id: r.court_id.to_string(),
                refer_date: format_date(r.referred_on),
                state: r.state as i32,
                court_case_number: r.court_case_number.clone(),
                outcome: r.outcome.map_or(0, |o| o as i32),
            })
            .collect(),
        // The petitioner is told who owns their case (包案领导接访).
        owning_leader_id: id(life.owning_leader_id),
        ownership_start_date: date(life.owned_since),
    })
}

fn id(value: Option<Uuid>) -> String {
    value.map(|id| id.to_string()).unwrap_or_default()
}

/// Who did something, as a viewer may learn it: the accuser is as hidden
/// as the accusation (Art.30), so an event the petitioner made shows no
/// actor to a viewer who may not see the content.
fn actor(actor: Option<Uuid>, petitioner: Uuid, sees_content: bool) -> String {
    match actor {
        Some(actor) if sees_content || actor != petitioner => actor.to_string(),
        _ => String::new(),
    }
}

/// A timeline entry of a case filed by `petitioner`; the details of an
/// accusation's events, and the accuser as their actor, are withheld from
/// viewers who may not see its content (Art.30).
pub fn event_message(row: &EventRow, event: &Event, petitioner: Uuid, sees_content: bool) -> pb::CaseEvent {
    pb::CaseEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: actor(row.actor_id, petitioner, sees_content),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        case_id: row.aggregate_id.to_string(),
        detail_hidden: !sees_content,
        detail: sees_content.then(|| event_wire::detail(event)),
    }
}

/// The timeline entry of an event `case` just recorded as its `sequence`.
pub fn recorded_event_message(
    case: &Case,
    sequence: i32,
    event: &Event,
    actor: Uuid,
    sees_content: bool,
) -> pb::CaseEvent {
    pb::CaseEvent {
        sequence: i64::from(sequence),
        r#type: event_wire::event_type(event) as i32,
        actor_account_id: self::actor(Some(actor), case.row.petitioner_id, sees_content),
        time: Some(timestamp(case.row.updated_at)),
        state: i32::from(case.row.state),
        case_id: case.row.id.to_string(),
        detail_hidden: !sees_content,
        detail: sees_content.then(|| event_wire::detail(event)),
    }
}
