//! `petitionctl cases <verb> CASE`: one step of a case's life per verb
//! (the CaseService transitions). As in the SDK, each write carries a
//! request id (`--request-id`, else a fresh one the SDK repeats on its own
//! retries) and optionally the etag last read (`--etag`: ABORTED, exit 5,
//! if the case changed since). CASE is an id or a number; prints the case
//! as it is afterwards.

use anyhow::Result;
use clap::{Args, Subcommand};
use petition_sdk::{Client, pb};

use super::{CaseLine, EventLine, resolve};
use crate::enums;
use crate::output::{self, Format};

/// What every write may carry.
#[derive(Args)]
pub struct Write {
    /// The case's etag as last read; the call is refused if it changed since.
    #[arg(long, default_value = "")]
    etag: String,
    /// Idempotency key: the same key again answers the first response (default: a fresh one).
    #[arg(long, default_value = "")]
    request_id: String,
}

/// A written opinion (答复, 复查, 复核意见).
#[derive(Args)]
pub struct Opinion {
    /// The petitioner's request as understood.
    #[arg(long)]
    request: String,
    /// The facts found.
    #[arg(long)]
    facts: String,
    /// SUPPORTED, EXPLAINED or NOT_SUPPORTED.
    #[arg(long, value_parser = enums::parse::<pb::OpinionDecision>)]
    decision: pb::OpinionDecision,
    /// Laws, regulations or policies relied on.
    #[arg(long)]
    legal_basis: String,
}

impl Opinion {
    fn message(self) -> Option<pb::Opinion> {
        Some(pb::Opinion {
            request: self.request,
            facts: self.facts,
            decision: self.decision.into(),
            legal_basis: self.legal_basis,
            ..Default::default()
        })
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Triage: sets the track (URGENT, SIMPLE, NORMAL; URGENT needs --reason).
    Track {
        case: String,
        #[arg(long, value_parser = enums::parse::<pb::CaseTrack>)]
        track: pb::CaseTrack,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// 转送: hands a REGISTERED case to a competent unit.
    Forward {
        case: String,
        /// The unit (an organization id).
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        write: Write,
    },
    /// 交办: like forward, with the date the completion report is due.
    Assign {
        case: String,
        #[arg(long)]
        to: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        report_by: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        write: Write,
    },
    /// The receiving unit objects that it is not competent.
    Object {
        case: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// 受理: the unit accepts a ROUTED case.
    Accept {
        case: String,
        /// How the unit will proceed, as told to the petitioner.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        write: Write,
    },
    /// 不予受理, with a reason and what it requires.
    Decline {
        case: String,
        /// LITIGATION, ARBITRATION, PARTY_APPEAL, ADMINISTRATIVE_PROCEDURE,
        /// ALREADY_IN_PROGRESS, CONCLUDED_AFTER_RECHECK or OTHER.
        #[arg(long, value_parser = enums::parse::<pb::DeclineReason>)]
        reason: pb::DeclineReason,
        #[arg(long, default_value = "")]
        diverted_to: String,
        #[arg(long, default_value = "")]
        related_case: String,
        #[arg(long, default_value = "")]
        explanation: String,
        #[command(flatten)]
        write: Write,
    },
    /// Records a contact, investigation, visit or note; prints the new event.
    FollowUp {
        case: String,
        /// CONTACT, INVESTIGATION, VISIT or NOTE.
        #[arg(long, value_parser = enums::parse::<pb::FollowUpKind>)]
        kind: pb::FollowUpKind,
        #[arg(long)]
        note: String,
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Extends the handling deadline once by 1–30 days (unit lead).
    Extend {
        case: String,
        #[arg(long)]
        days: i32,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// Serves the written opinion on an ACCEPTED case.
    Reply {
        case: String,
        #[command(flatten)]
        opinion: Opinion,
        #[command(flatten)]
        write: Write,
    },
    /// The completion report an assigned case owes.
    Report {
        case: String,
        #[arg(long)]
        report: String,
        #[command(flatten)]
        write: Write,
    },
    /// 复查: the petitioner asks for a review.
    RequestReview {
        case: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// The review opinion.
    ReplyReview {
        case: String,
        #[command(flatten)]
        opinion: Opinion,
        #[command(flatten)]
        write: Write,
    },
    /// 复核: the petitioner asks for a re-review.
    RequestRecheck {
        case: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// Stops the re-review clock for a hearing.
    PauseRecheck {
        case: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// Restarts the re-review clock.
    ResumeRecheck {
        case: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        write: Write,
    },
    /// The re-review opinion; the case becomes FINAL.
    ReplyRecheck {
        case: String,
        #[command(flatten)]
        opinion: Opinion,
        #[command(flatten)]
        write: Write,
    },
    /// The petitioner withdraws the case.
    Withdraw {
        case: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// 并案: merges open cases into a primary case.
    Merge {
        primary: String,
        #[arg(required = true)]
        cases: Vec<String>,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Undoes a repeat link or a merge.
    Unlink {
        case: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// Shares the case with a partner organization.
    GrantAccess {
        case: String,
        #[arg(long)]
        organization: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// Ends a partner organization's access.
    RevokeAccess {
        case: String,
        #[arg(long)]
        organization: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// 包案: the signed-in leader takes the case.
    Own {
        case: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        write: Write,
    },
    /// Makes a leader own the case.
    AssignLeader {
        case: String,
        /// The leader's account id.
        #[arg(long)]
        leader: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        write: Write,
    },
    /// Ends the owning leader's ownership.
    Release {
        case: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: Write,
    },
    /// The owning leader's instruction (批示) or progress.
    Instruct {
        case: String,
        /// INSTRUCTION or PROGRESS.
        #[arg(long, value_parser = enums::parse::<pb::LeaderNoteKind>, default_value = "INSTRUCTION")]
        kind: pb::LeaderNoteKind,
        #[arg(long)]
        text: String,
        #[command(flatten)]
        write: Write,
    },
}

pub async fn run(client: &Client, command: Command, format: Format) -> Result<()> {
    let cases = client.cases();
    let case = match command {
        Command::Track { case, track, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let track = track.into();
            cases.set_case_track(pb::SetCaseTrackRequest { case_id, track, reason, etag, request_id }).await?
        }
        Command::Forward { case, to, note, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let request = pb::ForwardCaseRequest { case_id, organization_id: to, note, etag, request_id };
            cases.forward_case(request).await?
        }
        Command::Assign { case, to, report_by, note, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let request = pb::AssignCaseRequest { case_id, organization_id: to, report_by, note, etag, request_id };
            cases.assign_case(request).await?
        }
        Command::Object { case, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.object_to_assignment(pb::ObjectToAssignmentRequest { case_id, reason, etag, request_id }).await?
        }
        Command::Accept { case, note, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.accept_case(pb::AcceptCaseRequest { case_id, note, etag, request_id }).await?
        }
        Command::Decline {
            case,
            reason,
            diverted_to,
            related_case,
            explanation,
            write: Write { etag, request_id },
        } => {
            let case_id = resolve(client, &case).await?;
            let request = pb::DeclineCaseRequest {
                case_id,
                reason: reason.into(),
                diverted_to,
                related_case_id: related_case,
                explanation,
                etag,
                request_id,
            };
            cases.decline_case(request).await?
        }
        Command::FollowUp { case, kind, note, request_id } => {
            let case_id = resolve(client, &case).await?;
            let request = pb::AddFollowUpRequest { case_id, kind: kind.into(), note, request_id };
            let event = cases.add_follow_up(request).await?;
            return output::print(format, &[EventLine::of(&event)?]);
        }
        Command::Extend { case, days, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases
                .extend_case_deadline(pb::ExtendCaseDeadlineRequest { case_id, days, reason, etag, request_id })
                .await?
        }
        Command::Reply { case, opinion, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let opinion = opinion.message();
            cases.reply_to_case(pb::ReplyToCaseRequest { case_id, opinion, etag, request_id }).await?
        }
        Command::Report { case, report, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let request = pb::SubmitCompletionReportRequest { case_id, report, etag, request_id };
            cases.submit_completion_report(request).await?
        }
        Command::RequestReview { case, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.request_review(pb::RequestReviewRequest { case_id, reason, etag, request_id }).await?
        }
        Command::ReplyReview { case, opinion, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let opinion = opinion.message();
            cases.reply_to_review(pb::ReplyToReviewRequest { case_id, opinion, etag, request_id }).await?
        }
        Command::RequestRecheck { case, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.request_recheck(pb::RequestRecheckRequest { case_id, reason, etag, request_id }).await?
        }
        Command::PauseRecheck { case, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.pause_recheck(pb::PauseRecheckRequest { case_id, reason, etag, request_id }).await?
        }
        Command::ResumeRecheck { case, note, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.resume_recheck(pb::ResumeRecheckRequest { case_id, note, etag, request_id }).await?
        }
        Command::ReplyRecheck { case, opinion, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let opinion = opinion.message();
            cases.reply_to_recheck(pb::ReplyToRecheckRequest { case_id, opinion, etag, request_id }).await?
        }
        Command::Withdraw { case, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.withdraw_case(pb::WithdrawCaseRequest { case_id, reason, etag, request_id }).await?
        }
        Command::Merge { primary, cases: merged, reason, request_id } => {
            let primary_case_id = resolve(client, &primary).await?;
            let mut case_ids = Vec::new();
            for case in &merged {
                case_ids.push(resolve(client, case).await?);
            }
            let request = pb::MergeCasesRequest { primary_case_id, case_ids, reason, request_id };
            let response = cases.merge_cases(request).await?;
            let lines: Vec<CaseLine> = response.primary.iter().chain(&response.merged).map(CaseLine::of).collect();
            return output::print(format, &lines);
        }
        Command::Unlink { case, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.unlink_case(pb::UnlinkCaseRequest { case_id, reason, etag, request_id }).await?
        }
        Command::GrantAccess { case, organization, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let request =
                pb::GrantCaseAccessRequest { case_id, organization_id: organization, reason, etag, request_id };
            cases.grant_case_access(request).await?
        }
        Command::RevokeAccess { case, organization, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let request =
                pb::RevokeCaseAccessRequest { case_id, organization_id: organization, reason, etag, request_id };
            cases.revoke_case_access(request).await?
        }
        Command::Own { case, note, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.take_case_ownership(pb::TakeCaseOwnershipRequest { case_id, note, etag, request_id }).await?
        }
        Command::AssignLeader { case, leader, note, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let request = pb::AssignCaseLeaderRequest { case_id, leader_account_id: leader, note, etag, request_id };
            cases.assign_case_leader(request).await?
        }
        Command::Release { case, reason, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            cases.release_case_ownership(pb::ReleaseCaseOwnershipRequest { case_id, reason, etag, request_id }).await?
        }
        Command::Instruct { case, kind, text, write: Write { etag, request_id } } => {
            let case_id = resolve(client, &case).await?;
            let request = pb::RecordLeaderInstructionRequest { case_id, kind: kind.into(), text, etag, request_id };
            cases.record_leader_instruction(request).await?
        }
    };
    output::print(format, &[CaseLine::of(&case)])
}
