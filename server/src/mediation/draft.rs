//! A new dispute: the request's description validated, then recorded in
//! the caller's transaction (team, region and parties checked, contact
//! details sealed, the first event journaled).

use chrono::NaiveDate;
use diesel::PgConnection;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::aggregate::{Milestones, change_of};
use super::domain::{DisputeCategory, DisputeSource};
use super::model::{DisputeRow, PartyRow};
use super::rules::{self, Links};
use super::store::{self, CountedTeam};
use crate::auth::Principal;
use crate::auth::policy::path_within;
use crate::auth::principal::AccountKind;
use crate::cases::aggregate::Case;
use crate::cases::draft::{Attachment, MAX_ATTACHMENTS, check_attachment};
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, Reason};
use crate::event_log::{Batch, Journal};
use crate::identity::phone::PhoneNumber;
use crate::identity::store as identity_store;
use crate::jsonb::Json;
use crate::pii::Pii;
use crate::pipeline;

pub const MAX_MATTER_CHARS: usize = 5_000;
pub const MAX_PARTIES: usize = 20;

/// A party as given: an account, or a name with a phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewParty {
    Account { account_id: Uuid, organization: bool },
    Contact { name: String, organization: bool, phone: PhoneNumber },
}

/// A validated description of a new dispute.
#[derive(Debug, Clone)]
pub struct DisputeDraft {
    pub region_code: String,
    pub category: DisputeCategory,
    pub matter: String,
    pub parties: Vec<NewParty>,
    pub attachments: Vec<Attachment>,
    /// Where the request gave them, for the checks made on recording.
    pub fields: DraftFields,
}

/// The request's field paths of a draft's parts (`dispute.region_code`,
/// `disputes[1].parties[0]` …), so that a check made only when the draft
/// is recorded names the field the caller sent.
#[derive(Debug, Clone, Default)]
pub struct DraftFields {
    pub region_code: String,
    /// The party list.
    pub parties: String,
    /// Each party, in the draft's order.
    pub party: Vec<String>,
}

impl DraftFields {
    /// The fields of a draft given at `field` with `parties` parties.
    pub fn at(field: &str, parties: usize) -> DraftFields {
        DraftFields {
            region_code: format!("{field}.region_code"),
            parties: format!("{field}.parties"),
            party: (0..parties).map(|i| format!("{field}.parties[{i}]")).collect(),
        }
    }

    fn party(&self, position: usize) -> String {
        self.party.get(position).cloned().unwrap_or_else(|| format!("{}[{position}]", self.parties))
    }
}

/// Validates a party list at `field` (at least `min`).
pub fn parties(field: &str, raw: &[pb::NewDisputeParty], min: usize, v: &mut Vec<FieldViolation>) -> Vec<NewParty> {
    if raw.len() < min || raw.len() > MAX_PARTIES {
        v.push(FieldViolation::new(field, format!("must name {min} to {MAX_PARTIES} parties")));
    }
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        if !p.account_id.is_empty() {
            match Uuid::parse_str(&p.account_id) {
                Ok(account_id) => out.push(NewParty::Account { account_id, organization: p.organization }),
                Err(_) => v.push(FieldViolation::new(at("account_id"), "must be an account id")),
            }
            continue;
        }
        let name = crate::text::one_line(&at("name"), &p.name, 1, 100, v);
        if p.phone.is_empty() {
            v.push(FieldViolation::new(at("phone"), "a party needs a contact: an account or a phone"));
            continue;
        }
        match PhoneNumber::parse(&p.phone) {
            Ok(phone) => out.push(NewParty::Contact { name, organization: p.organization, phone }),
            Err(e) => v.push(FieldViolation::new(at("phone"), e.to_string())),
        }
    }
    out
}

/// Validates a dispute description at `field` ("dispute").
pub fn validate(field: &str, raw: &pb::DisputeDraft, v: &mut Vec<FieldViolation>) -> DisputeDraft {
    let at = |name: &str| format!("{field}.{name}");
    if raw.region_code.is_empty() {
        v.push(FieldViolation::new(at("region_code"), "is required"));
    }
    let category = DisputeCategory::from_i32(raw.category);
    if category.is_none() {
        v.push(FieldViolation::new(at("category"), "must be a dispute category"));
    }
    let matter = crate::text::multi_line(&at("matter"), &raw.matter, 1, MAX_MATTER_CHARS, v);
    let parties = parties(&at("parties"), &raw.parties, 2, v);
    if raw.attachments.len() > MAX_ATTACHMENTS {
        v.push(FieldViolation::new(at("attachments"), format!("at most {MAX_ATTACHMENTS}")));
    }
    let attachments: Vec<Attachment> = raw
        .attachments
        .iter()
        .map(|a| Attachment {
            name: a.name.clone(),
            media_type: a.media_type.clone(),
            size_bytes: a.size_bytes,
            sha256: a.sha256.clone(),
        })
        .collect();
    for (i, a) in attachments.iter().enumerate() {
        check_attachment(&at("attachments"), i, a, v);
    }
    DisputeDraft {
        region_code: raw.region_code.clone(),
        category: category.unwrap_or(DisputeCategory::Other),
        matter,
        fields: DraftFields::at(field, parties.len()),
        parties,
        attachments,
    }
}

/// A date field: empty for none.
pub fn optional_date(field: &str, raw: &str, v: &mut Vec<FieldViolation>) -> Option<NaiveDate> {
    if raw.is_empty() {
        return None;
    }
    let parsed = crate::calendar::rules::parse_date(raw);
    if parsed.is_none() {
        v.push(FieldViolation::new(field, "must be a date YYYY-MM-DD"));
    }
    parsed
}

/// Where a new dispute comes from, as recorded.
pub struct Origin {
    pub source: DisputeSource,
    pub links: Links,
    pub referring_organization_id: Option<Uuid>,
    pub court_case_number: String,
    pub receive_date: Option<NaiveDate>,
}

/// FAILED_PRECONDITION unless `team` is active and covers `region_path`.
pub fn check_team_takes(team: &CountedTeam, region_path: &str) -> Result<(), AppError> {
    let covers = team.row.covered_paths.iter().any(|root| path_within(region_path, root));
    if team.row.retired || !covers {
        return Err(AppError::FailedPrecondition {
            reason: Reason::TeamNotCovering,
            message: "the team is retired or does not cover the dispute's region".into(),
            subject: format!("teams/{}", team.row.id),
        });
    }
    Ok(())
}

/// Records a new dispute at `team`: checks the region and the parties,
/// seals contacts, journals its first event. `id` is the new dispute's.
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &mut PgConnection,
    journal: &mut Journal,
    pii: &Pii,
    actor: Uuid,
    id: Uuid,
    team: &CountedTeam,
    draft: DisputeDraft,
    origin: Origin,
) -> Result<DisputeRow, AppError> {
    let region = directory_store::find_region(conn, &draft.region_code)?
        .ok_or_else(|| AppError::invalid(draft.fields.region_code.clone(), "no such region"))?;
    check_team_takes(team, &region.path)?;
    let today = crate::time::shanghai_today();
    let receive_date = rules::receive_date("receive_date", origin.receive_date, today)?;
    let accounts: Vec<Uuid> = draft
        .parties
        .iter()
        .filter_map(|p| match p {
            NewParty::Account { account_id, .. } => Some(*account_id),
            NewParty::Contact { .. } => None,
        })
        .collect();
    let found = identity_store::find_accounts(conn, &accounts)?;
    let mut rows = Vec::with_capacity(draft.parties.len());
    for (position, party) in draft.parties.iter().enumerate() {
        let party_id = Uuid::now_v7();
        let position_i16 = i16::try_from(position).map_err(AppError::internal)?;
        let row = match party {
            NewParty::Account { account_id, organization } => {
                let account = found
                    .iter()
                    .find(|a| a.id == *account_id && a.kind == AccountKind::Citizen.as_i16())
                    .ok_or_else(|| {
                        AppError::invalid(
                            format!("{}.account_id", draft.fields.party(position)),
                            "no such citizen account",
                        )
                    })?;
                // The team calls parties: the account's phone is kept with
                // the party, sealed for it.
                let phone = pii.reveal(account.id, account.phone_cipher.as_deref())?;
                PartyRow {
                    dispute_id: id,
                    id: party_id,
                    position: position_i16,
                    account_id: Some(*account_id),
                    name: account.display_name.clone(),
                    organization: *organization,
                    phone_masked: account.phone_masked.clone(),
                    phone_cipher: if phone.is_empty() { None } else { Some(pii.seal(party_id, &phone)?) },
                }
            }
            NewParty::Contact { name, organization, phone } => PartyRow {
                dispute_id: id,
                id: party_id,
                position: position_i16,
                account_id: None,
                name: name.clone(),
                organization: *organization,
                phone_masked: Some(phone.masked()),
                phone_cipher: Some(pii.seal(party_id, phone.as_str())?),
            },
        };
        rows.push(row);
    }
    if accounts.iter().enumerate().any(|(i, a)| accounts[..i].contains(a)) {
        return Err(AppError::invalid(draft.fields.parties.clone(), "an account is named twice"));
    }
    let event = rules::record(
        team.row.id,
        origin.source,
        draft.category,
        receive_date,
        rows.iter().map(|r| r.id).collect(),
        origin.links,
    );
    let now = journal.now();
    let mut milestones = Milestones::default();
    let start = Batch { id, before: None, last_sequence: 0, actor: Some(actor), at: now };
    let (life, last_sequence) = journal.record_batch(start, &[event], |e, after| milestones.record(e, after, now))?;
    let change = change_of(&life, 1, last_sequence, now, &milestones);
    let row = DisputeRow {
        id,
        team_id: change.team_id,
        team_ids: change.team_ids,
        mediator_member_id: None,
        region_code: region.code,
        region_path: region.path,
        category: draft.category.as_i16(),
        source: origin.source.as_i16(),
        matter: draft.matter,
        case_id: origin.links.case_id,
        referring_organization_id: origin.referring_organization_id,
        referring_court_id: origin.links.referring_court_id,
        court_case_number: origin.court_case_number,
        screening_id: origin.links.screening_id,
        attachments: serde_json::to_value(&draft.attachments).map_err(AppError::internal)?,
        party_account_ids: accounts,
        confirmation_court_id: None,
        state: change.state,
        receive_date,
        accept_date: None,
        due_date: None,
        lifecycle: Json(life),
        version: 1,
        last_sequence,
        created_at: now,
        updated_at: now,
        accepted_at: None,
        refused_at: None,
        settled_at: None,
        failed_at: None,
        performed_at: None,
        confirmation_applied_at: None,
        confirmed_at: None,
        days_to_settle: None,
    };
    store::insert_dispute(conn, &row, &rows)?;
    Ok(row)
}

/// Diverts case `case_id` to `team` (ReferCaseToMediation, and the demo
/// seed): the case's referral through the pipeline (its policy line and
/// rule, `etag` checked when not empty), then the dispute recorded with the
/// petitioner as its first party and `others` after. `matter` empty: the
/// case's title. Returns the new dispute's id.
#[allow(clippy::too_many_arguments)]
pub fn refer_case(
    conn: &mut PgConnection,
    journal: &mut Journal,
    pii: &Pii,
    principal: &Principal,
    case_id: Uuid,
    team: &CountedTeam,
    others: Vec<NewParty>,
    matter: String,
    category: DisputeCategory,
    etag: &str,
) -> Result<DisputeRow, AppError> {
    let dispute_id = Uuid::now_v7();
    let refer = crate::cases::mediation::Refer { dispute_id, team_id: team.row.id };
    let (case, _) = pipeline::transition::<Case, _>(conn, journal, principal, case_id, etag, refer)?;
    let row = &case.row;
    let mut parties = vec![NewParty::Account { account_id: row.petitioner_id, organization: false }];
    parties.extend(others);
    // The petitioner comes from the case; the others are `other_parties`.
    let fields = DraftFields {
        region_code: "case_id".into(),
        parties: "other_parties".into(),
        party: std::iter::once("case_id".to_owned())
            .chain((0..parties.len() - 1).map(|i| format!("other_parties[{i}]")))
            .collect(),
    };
    let draft = DisputeDraft {
        region_code: row.region_code.clone(),
        category,
        matter: if matter.is_empty() { row.title.clone() } else { matter },
        parties,
        attachments: Vec::new(),
        fields,
    };
    let origin = Origin {
        source: DisputeSource::CaseReferral,
        links: Links { case_id: Some(case_id), ..Links::default() },
        referring_organization_id: row.handling_organization_id,
        court_case_number: String::new(),
        receive_date: None,
    };
    record(conn, journal, pii, principal.account_id, dispute_id, team, draft, origin)
}
