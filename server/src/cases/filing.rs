//! Filing a case (SubmitCase, RegisterCase): the policy, the checks of what
//! the filing names, intake (repeats, related cases, routing rules), the
//! case number, the row and its first events. The service runs it in the
//! write pipeline; the demo seed drives it directly.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::domain::{Channel, RoutingMode, Track};
use super::draft::Draft;
use super::intake::{self, Outcome, Subject};
use super::intake_store;
use super::limits::{self, DailyLimit};
use super::model::CaseRow;
use super::numbering::Numbering;
use super::rules::{self, Context, Event};
use super::store;
use super::view::StoredGroupVisit;
use crate::auth::Principal;
use crate::auth::policy::{self, CaseAction};
use crate::calendar::rules::WorkCalendar;
use crate::calendar::store as calendar_store;
use crate::directory::kinds::OrganizationKinds;
use crate::directory::model::RegionRow;
use crate::directory::rules::OrganizationKind;
use crate::error::AppError;
use crate::error::Reason;
use crate::event_log::{Batch, Journal};
use crate::identity::store as identity_store;
use crate::jsonb::Json;
use crate::similarity::SimilarityIndex;
use crate::taxonomy::store as taxonomy_store;
use crate::time::shanghai_today;

/// Calendar days an URGENT case has for its opinion (紧急办).
pub const URGENT_REPLY_DAYS: u32 = 7;

/// The workday calendar around today.
pub fn calendar(conn: &mut PgConnection) -> Result<WorkCalendar, AppError> {
    calendar_store::load_calendar_around(conn, shanghai_today())
}

/// A validated filing and who makes it.
pub struct Filing {
    pub principal: Principal,
    pub draft: Draft,
    pub channel: Channel,
    pub petitioner_id: Uuid,
    pub group_visit: Option<StoredGroupVisit>,
    pub daily_limit: DailyLimit,
    /// Duplicate and repeat detection; `None` when switched off (nothing
    /// is fingerprinted then).
    pub similarity: Option<Arc<SimilarityIndex>>,
}

/// The case number a filing took, and where.
pub struct Numbered {
    pub region: RegionRow,
    /// The filing day (Beijing), whose year the number carries.
    pub today: NaiveDate,
    pub number: String,
}

/// Takes the next case number of the region (`region_code`) and year, in
/// the filing's transaction (a sequence never waits for other filings),
/// with the region in the same statement. A filing that fails after this
/// (the policy, the daily limit, anything) leaves a gap in the numbers.
pub fn take_number(
    conn: &mut PgConnection,
    principal: &Principal,
    channel: Channel,
    region_code: &str,
) -> Result<Numbered, AppError> {
    let today = shanghai_today();
    let (region, number) = Numbering::take(conn, region_code, today.year())?
        .ok_or_else(|| AppError::invalid("draft.region_code", "no such region"))?;
    policy::authorize_filing(principal, filing_action(channel), &region.path)?;
    Ok(Numbered { region, today, number })
}

fn filing_action(channel: Channel) -> CaseAction {
    if channel == Channel::Online { CaseAction::Submit } else { CaseAction::Register }
}

/// A filed case and what intake found.
pub struct Filed {
    pub row: CaseRow,
    pub intake: Outcome,
}

/// Files a case: checks the policy, registers it, compares it with stored
/// cases (a repeat of the petitioner's open case is linked and declined,
/// not routed), otherwise routes it at once when a routing rule applies,
/// numbers it, and records its first events and its fingerprint.
pub fn file(
    conn: &mut PgConnection,
    journal: &mut Journal,
    filing: Filing,
    numbered: Numbered,
    kinds: &OrganizationKinds,
) -> Result<Filed, AppError> {
    let Filing { principal, draft, channel, petitioner_id, group_visit, daily_limit, similarity } = filing;
    let Numbered { region, today, number } = numbered;
    let action = filing_action(channel);
    let rules = match taxonomy_store::category_with_rules(conn, &draft.category_code)? {
        Some((category, rules)) if !category.retired => rules,
        _ => return Err(AppError::invalid("draft.category_code", "no such active category")),
    };
    if let Some(respondent) = draft.respondent_organization_id
        && kinds.get(conn, respondent)?.is_none()
    {
        return Err(AppError::invalid("draft.respondent_organization_id", "no such organization"));
    }
    if action == CaseAction::Register {
        let petitioner = identity_store::find_account(conn, petitioner_id)?;
        if petitioner.is_none_or(|p| p.account.kind != crate::auth::AccountKind::Citizen as i16) {
            return Err(AppError::invalid("petitioner_account_id", "no such citizen account"));
        }
    }
    if daily_limit.counts(channel) {
        let now = Utc::now();
        let nth = store::count_filing(conn, petitioner_id, limits::filing_day(now))?;
        if daily_limit.exceeded_by(u32::try_from(nth).unwrap_or(u32::MAX)) {
            // The transaction rolls back, taking this count with it.
            return Err(AppError::ResourceExhausted {
                reason: Reason::DailyLimitReached,
                message: format!("at most {} filings a day; try again tomorrow", daily_limit.per_day),
                retry_after: limits::until_next_day(now).to_std().unwrap_or_default(),
                quota: Some((
                    format!("petitioners/{petitioner_id}"),
                    format!("{} filings per petitioner per day (Beijing time)", daily_limit.per_day),
                )),
            });
        }
    }
    let calendar = calendar(conn)?;
    let ctx = Context { today, calendar: &calendar, urgent_reply_days: URGENT_REPLY_DAYS };
    let mut events = vec![rules::register(Track::Normal, today, &calendar)];
    let id = Uuid::now_v7();
    let (analyzed, outcome) = match &similarity {
        Some(index) => {
            let text = intake::filing_text(&draft.title, &draft.content, &draft.requests, &draft.facts_and_reasons);
            let analyzed = index.analyze(&text);
            let subject = Subject {
                petitioner_id: Some(petitioner_id),
                region_path: Some(region.path.clone()),
                category_code: Some(draft.category_code.clone()),
                respondent_organization_id: draft.respondent_organization_id,
                kind: Some(draft.kind),
                exclude: None,
                // Filings of one petitioner take turns.
                serialize_filings: true,
            };
            // A filing needs only the candidates close enough to decide on.
            let matches = intake::find_matches(conn, index, &analyzed, &subject, intake::Reach::FILING, 0, Some(id))?;
            // The level it was filed at: the registering clerk's bureau, or
            // the region an online filing is addressed to.
            let filed_at = match (action, principal.jurisdiction.as_deref()) {
                (CaseAction::Register, Some(jurisdiction)) => jurisdiction,
                _ => region.path.as_str(),
            };
            let outcome = intake::decide(&matches, filed_at, analyzed.bands_partial);
            (Some(analyzed), outcome)
        }
        None => (None, Outcome::default()),
    };
    if let Some((original, content)) = &outcome.repeat_of {
        // 重复信访: recorded, linked and not accepted (Art.19 ¶3); never routed.
        events.push(rules::link_repeat(original.id, outcome.escalated, *content));
    } else
    // 即时交办: a routing rule for (category, region) routes at once; an
    // accusation only ever goes to the discipline channel (Art.22 ¶4, Art.30).
    if let Some(rule) = taxonomy_store::matching_rule(rules, &region.path) {
        // A rule naming an organization that may not handle the case (an
        // accusation, or a rule set before the kinds were checked) routes
        // nothing: the clerk routes.
        let handles = kinds
            .get(conn, rule.organization_id)?
            .and_then(|kind| OrganizationKind::from_i32(i32::from(kind)))
            .is_some_and(|kind| rules::handles(kind, draft.kind));
        if handles {
            let mode = RoutingMode::from_i32(i32::from(rule.mode)).unwrap_or(RoutingMode::Forward);
            events.push(rules::route_by_rule(rule.organization_id, mode, &ctx));
        }
    }
    // The case row comes last (the foreign keys to it are checked at
    // commit). The fingerprint was stored with the candidate read.
    if let (Some(analyzed), Some(index)) = (analyzed, &similarity) {
        if !outcome.related.is_empty() {
            intake_store::record_related(conn, id, &outcome.related)?;
        }
        index.remember(id, petitioner_id, &analyzed.analysis.fingerprint);
    }
    let now = Utc::now();
    let start = Batch { id, before: None, last_sequence: 0, actor: Some(principal.account_id), at: now };
    let (life, last_sequence) = journal.record_batch(start, &events, |_, _| ())?;
    let routed = events.iter().any(|e| matches!(e, Event::Routed { .. }));
    let row = CaseRow {
        id,
        number,
        kind: draft.kind.as_i16(),
        channel: channel.as_i16(),
        state: life.state.as_i16(),
        track: life.track.as_i16(),
        category_code: draft.category_code,
        region_code: region.code,
        region_path: region.path,
        title: draft.title,
        content: draft.content,
        requests: draft.requests,
        facts_and_reasons: draft.facts_and_reasons,
        attachments: serde_json::to_value(&draft.attachments).map_err(AppError::internal)?,
        petitioner_id,
        group_visit: group_visit.map(serde_json::to_value).transpose().map_err(AppError::internal)?,
        registered_by: principal.account_id,
        registering_organization_id: if action == CaseAction::Register { principal.organization_id } else { None },
        handling_organization_id: life.handling_organization_id,
        routing_mode: life.routing_mode.map(RoutingMode::as_i16),
        reviewing_organization_id: None,
        due_date: rules::due_date(&life),
        extended: false,
        routed_on_registration: routed,
        first_routed_at: routed.then_some(now),
        lifecycle: Json(life.clone()),
        version: 1,
        created_at: now,
        updated_at: now,
        respondent_organization_id: draft.respondent_organization_id,
        repeat_of: life.repeat_of,
        merged_into: None,
        last_sequence,
        access_organization_ids: Vec::new(),
        owning_leader_id: None,
    };
    let row = store::insert_case(conn, &row)?;
    tracing::info!(
        case_id = %id,
        number = %row.number,
        routed,
        repeat = outcome.repeat_of.is_some(),
        escalated = outcome.escalated,
        related = outcome.related.len(),
        "case filed"
    );
    Ok(Filed { row, intake: outcome })
}
