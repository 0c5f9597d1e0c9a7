//! What every service shares.

use std::sync::Arc;

use crate::auth::known_accounts::KnownAccounts;
use crate::auth::passwords::PasswordHasher;
use crate::auth::revocation::Revocations;
use crate::auth::tokens::TokenIssuer;
use crate::calendar::LoadedYears;
use crate::cases::numbering::Numbering;
use crate::config::{
    AuthConfig, BacklogConfig, FeedConfig, IntakeConfig, LegalAidConfig, MediationConfig, MetricsConfig,
    OversightConfig, RatingsConfig,
};
use crate::db::Db;
use crate::directory::kinds::OrganizationKinds;
use crate::feed::FeedSignal;
use crate::pagination::PageTokens;
use crate::pii::Pii;
use crate::similarity::SimilarityIndex;

pub struct AppState {
    pub db: Db,
    pub tokens: Arc<TokenIssuer>,
    /// Revoked sign-ins and accounts, checked on every call.
    pub revocations: Arc<Revocations>,
    /// Accounts known to exist (tokens naming others are refused).
    pub accounts: Arc<KnownAccounts>,
    pub hasher: PasswordHasher,
    pub pii: Pii,
    pub pages: PageTokens,
    pub auth: AuthConfig,
    pub intake: IntakeConfig,
    pub mediation: MediationConfig,
    pub legal_aid: LegalAidConfig,
    /// The rating window and the not-rated policy (the metrics read it).
    pub ratings: RatingsConfig,
    pub metrics: MetricsConfig,
    /// The backlog designation rule the sweeper applies.
    pub backlog: BacklogConfig,
    /// Supervision's ladder and the sweeper's settings.
    pub oversight: OversightConfig,
    /// What "now" is for the sweeper and supervision.
    pub clock: crate::clock::Clock,
    /// `None` when duplicate detection is switched off.
    pub similarity: Option<Arc<SimilarityIndex>>,
    pub feed_config: FeedConfig,
    /// The change feed readers' own pool.
    pub feed_db: Db,
    /// Wakes this server's change-feed watchers when it commits events.
    pub feed: FeedSignal,
    /// The years whose holiday schedule is loaded, as last read.
    pub calendar_years: LoadedYears,
    /// Organizations' kinds (fixed at creation), as read once.
    pub organization_kinds: OrganizationKinds,
    /// The case-number sequences made sure of.
    pub case_numbering: Numbering,
}
