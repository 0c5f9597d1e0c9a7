//! What every service shares.

use std::sync::Arc;

use crate::auth::passwords::PasswordHasher;
use crate::auth::tokens::TokenIssuer;
use crate::calendar::LoadedYears;
use crate::config::{AuthConfig, FeedConfig, IntakeConfig};
use crate::db::Db;
use crate::feed::FeedSignal;
use crate::pagination::PageTokens;
use crate::pii::Pii;
use crate::similarity::SimilarityIndex;

pub struct AppState {
    pub db: Db,
    pub tokens: Arc<TokenIssuer>,
    pub hasher: PasswordHasher,
    pub pii: Pii,
    pub pages: PageTokens,
    pub auth: AuthConfig,
    pub intake: IntakeConfig,
    /// `None` when duplicate detection is switched off.
    pub similarity: Option<Arc<SimilarityIndex>>,
    pub feed_config: FeedConfig,
    /// The change feed readers' own pool.
    pub feed_db: Db,
    /// Wakes this server's change-feed watchers when it commits events.
    pub feed: FeedSignal,
    /// The years whose holiday schedule is loaded, as last read.
    pub calendar_years: LoadedYears,
}
