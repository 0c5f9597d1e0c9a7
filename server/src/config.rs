//! Typed configuration from command-line flags and environment variables.
//!
//! Every option has a flag and an environment variable; `petition-server
//! --help` documents them all. Secrets are wrapped in [`Secret`] so that they
//! never reach Debug output or logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A configuration value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// `petition-server`: the gRPC server of the petition (信访) case platform.
#[derive(Debug, Parser)]
#[command(name = "petition-server", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; serving is the default.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Run the gRPC server (the default).
    Serve,
    /// Apply migrations, load the demo directory (a Ganzhou-like city with its
    /// counties, townships, villages, organizations and staff), then serve.
    SeedDemo,
    /// Apply pending migrations and exit.
    Migrate,
    /// Rebuild the statistics of duplicate detection from the stored cases
    /// and re-key every case's fingerprint (after a bulk import, or when
    /// the number of cases has doubled).
    ReindexSimilarity {
        /// Do not wait for running servers to pick the new statistics up
        /// (only when no server is running).
        #[arg(long)]
        no_wait: bool,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Everything the server needs to start.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the gRPC (and gRPC-Web) listener binds to; port 0 picks a free one.
    #[arg(global = true, long, env = "PETITION_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Address of the Prometheus endpoint (`GET /metrics`, OpenMetrics
    /// text); unset: none. It names methods and counts, no personal data,
    /// but keep it on localhost or the operators' network.
    #[arg(global = true, long, env = "PETITION_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// PostgreSQL URL. When unset, an embedded PostgreSQL cluster is created
    /// and run under the data directory.
    #[arg(global = true, long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,

    /// Directory for the embedded database cluster and generated keys.
    #[arg(global = true, long, env = "PETITION_DATA_DIR", default_value = "./.petition")]
    pub data_dir: PathBuf,

    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub limits: LimitsConfig,

    #[command(flatten)]
    pub intake: IntakeConfig,

    #[command(flatten)]
    pub feed: FeedConfig,

    #[command(flatten)]
    pub mediation: MediationConfig,

    #[command(flatten)]
    pub legal_aid: LegalAidConfig,

    #[command(flatten)]
    pub ratings: RatingsConfig,

    #[command(flatten)]
    pub metrics: MetricsConfig,

    #[command(flatten)]
    pub backlog: BacklogConfig,

    #[command(flatten)]
    pub oversight: OversightConfig,

    #[command(flatten)]
    pub tls: TlsConfig,

    /// Log format.
    #[arg(global = true, long, env = "PETITION_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,

    /// Log filter in `tracing` EnvFilter syntax, e.g. `info,petition_server=debug`.
    #[arg(global = true, long, env = "PETITION_LOG", default_value = "info")]
    pub log_filter: String,

    /// Origins allowed to call through gRPC-Web from a browser, comma-separated
    /// (`*` allows any). Empty: no cross-origin browser access.
    #[arg(global = true, long, env = "PETITION_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
}

/// Connection pool settings.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Maximum number of pooled PostgreSQL connections. Default: 4 per CPU
    /// core (measured on 2 cores: 16 connections gave the same throughput
    /// as 8 with multi-second worst cases, from oversubscribed cores).
    #[arg(global = true, long = "db-pool-size", env = "PETITION_DB_POOL_SIZE", default_value_t = default_pool_size())]
    pub pool_size: u32,

    /// How long a request waits for a pooled connection before failing with
    /// UNAVAILABLE, in milliseconds.
    #[arg(
        global = true,
        long = "db-checkout-timeout-ms",
        env = "PETITION_DB_CHECKOUT_TIMEOUT_MS",
        default_value_t = 1000
    )]
    pub checkout_timeout_ms: u64,

    /// Longest a call waits for its turn at the pool, in milliseconds;
    /// past it the call fails at once with UNAVAILABLE and a retry delay
    /// (load shedding: an overloaded server answers "later" quickly
    /// instead of queueing every call for seconds).
    #[arg(global = true, long = "db-queue-timeout-ms", env = "PETITION_DB_QUEUE_TIMEOUT_MS", default_value_t = 1000)]
    pub queue_timeout_ms: u64,

    /// Pooled connections that only writes may use, so that a burst of
    /// reads never makes a write wait. Default: a quarter of the pool (at
    /// least 1 when the pool has more than one connection).
    #[arg(global = true, long = "db-write-reserved", env = "PETITION_DB_WRITE_RESERVED")]
    pub write_reserved: Option<u32>,
}

fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    u32::try_from(cores * 4).unwrap_or(u32::MAX).clamp(4, 64)
}

impl DatabaseConfig {
    pub fn checkout_timeout(&self) -> Duration {
        Duration::from_millis(self.checkout_timeout_ms)
    }

    pub fn queue_timeout(&self) -> Duration {
        Duration::from_millis(self.queue_timeout_ms)
    }

    /// Connections kept for writes: the configured number or a quarter of
    /// the pool, always leaving reads at least one.
    pub fn write_reserved(&self) -> u32 {
        let wanted = self.write_reserved.unwrap_or((self.pool_size / 4).max(1));
        wanted.min(self.pool_size.saturating_sub(1))
    }
}

/// Tokens, keys and sign-in policy.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// JWT signing keys as `kid=base64key` pairs, comma-separated; the first
    /// signs, all verify (rotation: put the new key first, keep the old one
    /// until its tokens expire). Keys are 32 random bytes. When unset, a key
    /// is generated once and kept in `<data-dir>/keys.json`.
    #[arg(global = true, long, env = "PETITION_JWT_KEYS", hide_env_values = true)]
    pub jwt_keys: Option<Secret>,

    /// Key protecting personal data at rest (resident ID and phone numbers):
    /// 32 bytes, base64. When unset, generated once into `<data-dir>/keys.json`.
    /// Losing it makes stored personal data unreadable.
    #[arg(global = true, long, env = "PETITION_DATA_KEY", hide_env_values = true)]
    pub data_key: Option<Secret>,

    /// `iss` claim of issued access tokens (checked on every call).
    #[arg(global = true, long, env = "PETITION_JWT_ISSUER", default_value = "petition")]
    pub jwt_issuer: String,

    /// `aud` claim of issued access tokens (checked on every call).
    #[arg(global = true, long, env = "PETITION_JWT_AUDIENCE", default_value = "petition-api")]
    pub jwt_audience: String,

    /// Access token lifetime in seconds.
    #[arg(global = true, long, env = "PETITION_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,

    /// Refresh token lifetime in seconds.
    #[arg(global = true, long, env = "PETITION_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,

    /// Password of the bootstrap admin (`admin`) created on first start when no
    /// admin exists. When unset, a one-time password is generated and printed
    /// once on standard error.
    #[arg(global = true, long, env = "PETITION_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true)]
    pub bootstrap_admin_password: Option<Secret>,

    /// Failed sign-ins for one login name from one client address within
    /// the window before further attempts for that name from that address
    /// are refused (0: no limit). Other addresses are not affected, so a
    /// stranger cannot lock a citizen out by knowing their phone number.
    #[arg(global = true, long, env = "PETITION_LOGIN_MAX_FAILURES_PER_NAME_AND_ADDRESS", default_value_t = 5)]
    pub login_max_failures_per_name_and_address: u32,

    /// Failed sign-ins for one login name from any addresses within the
    /// window before further attempts for it are refused everywhere (unknown
    /// names too: no enumeration; 0: no limit). Far above the per-address
    /// limit: it stops guessing spread over many addresses, at the price of
    /// locking the owner out too.
    #[arg(global = true, long, env = "PETITION_LOGIN_MAX_FAILURES", default_value_t = 50)]
    pub login_max_failures: u32,

    /// Failed sign-ins from one client address within the window before
    /// further attempts from it are refused (higher: a reception desk or a
    /// carrier NAT puts many people behind one address; 0: no limit).
    #[arg(global = true, long, env = "PETITION_LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = 50)]
    pub login_max_failures_per_address: u32,

    /// Length of the failure-counting window and of a first lockout, in
    /// seconds; each further lockout of the same key lasts twice as long.
    #[arg(global = true, long, env = "PETITION_LOGIN_LOCKOUT_SECS", default_value_t = 300)]
    pub login_lockout_secs: u64,

    /// The longest lockout, in seconds (sign-in and registration alike).
    #[arg(global = true, long, env = "PETITION_LOGIN_MAX_LOCKOUT_SECS", default_value_t = 24 * 3600)]
    pub login_max_lockout_secs: u64,

    /// RegisterCitizen calls from one client address within the window
    /// before further ones are refused (0: no limit). Each call that gets as
    /// far as the uniqueness check counts, successful or not: either answer
    /// says whether a resident ID or phone number already has an account.
    #[arg(global = true, long, env = "PETITION_REGISTRATION_MAX_PER_ADDRESS", default_value_t = 10)]
    pub registration_max_per_address: u32,

    /// Length of the registration-counting window and of a first
    /// registration lockout, in seconds.
    #[arg(global = true, long, env = "PETITION_REGISTRATION_WINDOW_SECS", default_value_t = 3600)]
    pub registration_window_secs: u64,

    /// Password hashes computed at once; more wait (bounds CPU and memory).
    #[arg(global = true, long, env = "PETITION_HASHING_CONCURRENCY", default_value_t = 4)]
    pub hashing_concurrency: usize,
}

/// Which filings count towards the daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LimitedChannels {
    /// Online filings and those a clerk registers (letters, calls, visits).
    All,
    /// Only the petitioner's own online filings.
    Online,
}

/// Intake safeguards (智慧信访).
#[derive(Debug, Clone, Args)]
pub struct IntakeConfig {
    /// Filings a petitioner may make per Beijing calendar day; 0 disables
    /// the limit. Replays of a request_id never count.
    #[arg(global = true, long, env = "PETITION_DAILY_FILING_LIMIT", default_value_t = 3)]
    pub daily_filing_limit: u32,

    /// Which filings count towards the daily limit.
    #[arg(global = true, long, env = "PETITION_DAILY_LIMIT_CHANNELS", value_enum, default_value = "all")]
    pub daily_limit_channels: LimitedChannels,

    /// Duplicate and repeat detection at filing (智能判重): fingerprint every
    /// filing, link repeats, record related cases. `false` stores no
    /// fingerprints and leaves FindSimilarCases unavailable.
    #[arg(
        global = true,
        long,
        env = "PETITION_DUPLICATE_DETECTION",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub duplicate_detection: bool,
}

/// People's mediation.
#[derive(Debug, Clone, Args)]
pub struct MediationConfig {
    /// Days a mediation may take from acceptance (calendar days; a last day
    /// on a rest day moves to the next working day). The law sets none;
    /// 30 is the Ministry of Justice's practice (一般在一个月内调结).
    #[arg(
        global = true,
        long,
        env = "PETITION_MEDIATION_TIME_LIMIT_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=365)
    )]
    pub mediation_time_limit_days: u32,
}

/// Legal aid (法律援助法 2021).
#[derive(Debug, Clone, Args)]
pub struct LegalAidConfig {
    /// How the law's 日 are counted in the 7-day decision, 3-day assignment
    /// and 5-day objection clocks (Art.43, 49): working days on the workday
    /// calendar (the default), or calendar days for a province that counts
    /// them so (a last day on a rest day moves to the next working day).
    #[arg(
        global = true,
        long = "legal-aid-day-counting",
        env = "PETITION_LEGAL_AID_DAY_COUNTING",
        value_enum,
        default_value = "workdays"
    )]
    pub day_counting: crate::legal_aid::domain::DayCounting,
}

/// How a rating the petitioner never gave counts in the satisfaction rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotRatedPolicy {
    /// Left out of the rate's numerator and denominator (the default).
    Excluded,
    /// Counted as satisfied, as some provinces do.
    Satisfied,
}

/// Ratings (评价) of served opinions.
#[derive(Debug, Clone, Args)]
pub struct RatingsConfig {
    /// The rating window, in working days after the day an opinion is
    /// served (on the workday calendar). 20 working days are four weeks,
    /// about the 30 days the petitioner has to ask for review (条例
    /// Art.35-36): the rating and the decision to go on are taken together.
    #[arg(
        global = true,
        long = "rating-window-workdays",
        env = "PETITION_RATING_WINDOW_WORKDAYS",
        default_value_t = crate::ratings::rules::DEFAULT_WINDOW_WORKDAYS,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::ratings::rules::MAX_WINDOW_WORKDAYS))
    )]
    pub window_workdays: u32,

    /// How a rating never given counts in the satisfaction rate (the
    /// metrics show both counts either way): `excluded` or `satisfied`.
    #[arg(
        global = true,
        long = "rating-not-rated-policy",
        env = "PETITION_RATING_NOT_RATED_POLICY",
        value_enum,
        default_value = "excluded"
    )]
    pub not_rated_policy: NotRatedPolicy,
}

impl Default for RatingsConfig {
    fn default() -> Self {
        RatingsConfig {
            window_workdays: crate::ratings::rules::DEFAULT_WINDOW_WORKDAYS,
            not_rated_policy: NotRatedPolicy::Excluded,
        }
    }
}

/// The designation rule of backlog cases (积案): what the background
/// sweep designates. The defaults are argued at
/// `backlog::rules::DEFAULT_OPEN_DAYS` and `DEFAULT_REPEATS`.
#[derive(Debug, Clone, Args)]
pub struct BacklogConfig {
    /// OPEN_TOO_LONG: a case still with the organizations (registered,
    /// routed, accepted, under review or re-review) more than this many
    /// calendar days after registration; 0 turns the rule off. 90 days are
    /// the whole ordinary procedure without an extension (15 to route, 15
    /// to accept, 60 to reply: 条例 Art.22, 23, 34).
    #[arg(
        global = true,
        long = "backlog-open-days",
        env = "PETITION_BACKLOG_OPEN_DAYS",
        default_value_t = crate::backlog::rules::DEFAULT_OPEN_DAYS,
        value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::backlog::rules::MAX_OPEN_DAYS))
    )]
    pub open_days: u32,

    /// REPEATED: a matter with at least this many linked repeat filings
    /// (重复信访); 0 turns the rule off.
    #[arg(
        global = true,
        long = "backlog-repeats",
        env = "PETITION_BACKLOG_REPEATS",
        default_value_t = crate::backlog::rules::DEFAULT_REPEATS,
        value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::backlog::rules::MAX_REPEATS))
    )]
    pub repeats: u32,

    /// PETITIONS_AFTER_FINAL: a matter final after re-review (Art.36)
    /// petitioned again (a filing declined as concluded after re-review).
    #[arg(
        global = true,
        long = "backlog-after-final",
        env = "PETITION_BACKLOG_AFTER_FINAL",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub after_final: bool,
}

impl BacklogConfig {
    /// The rule's settings.
    pub fn policy(&self) -> crate::backlog::rules::Policy {
        crate::backlog::rules::Policy {
            open_days: self.open_days,
            repeats: self.repeats,
            after_final: self.after_final,
        }
    }
}

impl Default for BacklogConfig {
    fn default() -> Self {
        let policy = crate::backlog::rules::Policy::default();
        BacklogConfig { open_days: policy.open_days, repeats: policy.repeats, after_final: policy.after_final }
    }
}

/// The city's metrics (docs/metrics.md).
#[derive(Debug, Clone, Args)]
pub struct MetricsConfig {
    /// 停访息诉: calendar days after a reply within which a further petition
    /// on the matter (a repeat filing, a review request) means the
    /// petitioner did not cease. No national figure; 90 days matches the
    /// review request's 30 days with two months to spare, as provincial
    /// assessments commonly count a quarter.
    #[arg(
        global = true,
        long,
        env = "PETITION_METRICS_CESSATION_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u32).range(1..=730)
    )]
    pub metrics_cessation_days: u32,
}

/// Supervision and the sweeper that watches every clock (issue 20).
#[derive(Debug, Clone, Args)]
pub struct OversightConfig {
    /// Seconds between the sweeper's passes (one server sweeps at a time).
    #[arg(
        global = true,
        long,
        env = "PETITION_SWEEP_INTERVAL_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub sweep_interval_secs: u64,

    /// The share of its time, in percent, a sweeper pass spends working:
    /// after each transaction it rests in proportion, so that a long pass
    /// (the catch-up after downtime) leaves the cores to callers, as
    /// PostgreSQL's cost-based vacuum delay does.
    #[arg(
        global = true,
        long,
        env = "PETITION_SWEEP_DUTY_PERCENT",
        default_value_t = 50,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub sweep_duty_percent: u32,

    /// Working days before a deadline when the sweeper warns of it (cases'
    /// statutory clocks, supervision items, disputes' and legal-aid
    /// applications' clocks); 0: no warnings.
    #[arg(
        global = true,
        long,
        env = "PETITION_DEADLINE_WARNING_WORKDAYS",
        default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(0..=30)
    )]
    pub deadline_warning_workdays: u32,

    /// Whether the sweeper issues an OVERDUE reminder to the organization
    /// that owes a case's passed clock (in the registering bureau's name).
    #[arg(
        global = true,
        long,
        env = "PETITION_SUPERVISE_OVERDUE",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub supervise_overdue: bool,

    /// Working days to answer each rung: reminder, letter, talks, notice.
    #[arg(
        global = true,
        long,
        env = "PETITION_SUPERVISION_LADDER_WORKDAYS",
        value_delimiter = ',',
        default_value = "3,5,5,10",
        value_parser = clap::value_parser!(u32).range(1..=60)
    )]
    pub supervision_ladder_workdays: Vec<u32>,

    /// Most BOOKED reception-day bookings a citizen may hold at once (the
    /// daily filing limit's spirit for 领导接访).
    #[arg(
        global = true,
        long,
        env = "PETITION_RECEPTION_MAX_OPEN_BOOKINGS",
        default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(1..=50)
    )]
    pub reception_max_open_bookings: u32,

    /// For drills and tests only: a file holding the RFC 3339 instant the
    /// sweeper and supervision take as now (`crate::clock`).
    #[arg(global = true, long, env = "PETITION_CLOCK_FILE", hide = true)]
    pub clock_file: Option<PathBuf>,
}

impl OversightConfig {
    /// The ladder's working days; a list of other than four is refused at
    /// start (`validate`).
    pub fn ladder(&self) -> crate::supervision::rules::Ladder {
        match self.supervision_ladder_workdays.as_slice() {
            [reminder, letter, talks, notice] => crate::supervision::rules::Ladder {
                reminder: *reminder,
                letter: *letter,
                talks: *talks,
                notice: *notice,
            },
            _ => crate::supervision::rules::Ladder::default(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.supervision_ladder_workdays.len() != 4 {
            return Err("--supervision-ladder-workdays takes four numbers: reminder, letter, talks, notice".into());
        }
        Ok(())
    }
}

/// The change feed.
#[derive(Debug, Clone, Args)]
pub struct FeedConfig {
    /// Days of events the change feed serves; resuming from an older
    /// position is CURSOR_EXPIRED (the events stay in each case's timeline).
    #[arg(global = true, long = "feed-retention-days", env = "PETITION_FEED_RETENTION_DAYS", default_value_t = 400)]
    pub retention_days: u32,

    /// How often retention is applied, in seconds.
    #[arg(
        global = true,
        long = "feed-retention-sweep-secs",
        env = "PETITION_FEED_RETENTION_SWEEP_SECS",
        default_value_t = 3600
    )]
    pub retention_sweep_secs: u64,

    /// Longest a watch stays silent, in seconds: a caught-up watch gets a
    /// bookmark (its current position) at least this often.
    #[arg(global = true, long = "feed-bookmark-secs", env = "PETITION_FEED_BOOKMARK_SECS", default_value_t = 5)]
    pub bookmark_secs: u64,

    /// How often a caught-up watch looks for events other servers
    /// committed, in milliseconds (this server's own commits wake it at once).
    #[arg(global = true, long = "feed-poll-ms", env = "PETITION_FEED_POLL_MS", default_value_t = 100)]
    pub poll_ms: u64,

    /// PostgreSQL connections of the change feed's readers, apart from the
    /// pool of the other calls: a watch is not held up behind a queue of
    /// writes, and a catch-up does not hold up the calls.
    #[arg(global = true, long = "feed-db-pool-size", env = "PETITION_FEED_DB_POOL_SIZE", default_value_t = 2)]
    pub db_pool_size: u32,
}

/// Transport limits.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Largest accepted request message, in bytes.
    #[arg(global = true, long, env = "PETITION_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Concurrent HTTP/2 streams per connection.
    #[arg(global = true, long, env = "PETITION_MAX_CONCURRENT_STREAMS", default_value_t = 256)]
    pub max_concurrent_streams: u32,

    /// Largest accepted request header list (HTTP/2 headers, the
    /// `authorization` token among them), in bytes; a larger one fails only
    /// its own call, with RESOURCE_EXHAUSTED.
    #[arg(global = true, long, env = "PETITION_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: u32,

    /// Longest a call may run, in seconds: past it the call answers
    /// DEADLINE_EXCEEDED, and a write that has not started to commit is
    /// rolled back.
    #[arg(global = true, long, env = "PETITION_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// On SIGINT/SIGTERM, how long in-flight calls may finish before the
    /// server stops anyway, in seconds.
    #[arg(global = true, long, env = "PETITION_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
}

/// TLS on the listener. Without a certificate the server speaks plain
/// HTTP/2 (behind a TLS-terminating proxy).
#[derive(Debug, Clone, Args)]
pub struct TlsConfig {
    /// PEM certificate chain (the server's own first) to serve TLS with;
    /// a renewed file is picked up without a restart.
    #[arg(global = true, id = "tls_cert", long = "tls-cert", env = "PETITION_TLS_CERT", requires = "tls_key")]
    pub cert: Option<PathBuf>,

    /// PEM private key of the certificate.
    #[arg(global = true, id = "tls_key", long = "tls-key", env = "PETITION_TLS_KEY", requires = "tls_cert")]
    pub key: Option<PathBuf>,

    /// PEM CA certificate(s): clients must present a certificate issued by
    /// one (mutual TLS, for partner agencies). Read at start.
    #[arg(global = true, long = "tls-client-ca", env = "PETITION_TLS_CLIENT_CA", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,

    /// How often the certificate and key files are checked for a renewal,
    /// in milliseconds.
    #[arg(
        global = true,
        long = "tls-reload-interval-ms",
        env = "PETITION_TLS_RELOAD_INTERVAL_MS",
        default_value_t = 5000
    )]
    pub reload_interval_ms: u64,
}

impl Config {
    /// Defaults for embedding (tests, benchmarks): every flag at its default.
    pub fn from_defaults() -> Self {
        Cli::parse_from(["petition-server"]).config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let cli = Cli::parse_from([
            "petition-server",
            "--database-url",
            "postgres://u:hunter2@db/x",
            "--bootstrap-admin-password",
            "hunter3",
        ]);
        let printed = format!("{cli:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("hunter3"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }

    #[test]
    fn tls_needs_both_the_certificate_and_the_key() {
        let plain = Cli::parse_from(["petition-server"]);
        assert_eq!((plain.config.tls.cert, plain.config.tls.key), (None, None));
        let both = Cli::try_parse_from(["petition-server", "--tls-cert", "c.pem", "--tls-key", "k.pem"]);
        assert!(both.is_ok_and(|cli| cli.config.tls.key == Some(PathBuf::from("k.pem"))));
        assert!(Cli::try_parse_from(["petition-server", "--tls-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["petition-server", "--tls-key", "k.pem"]).is_err());
        assert!(Cli::try_parse_from(["petition-server", "--tls-client-ca", "ca.pem"]).is_err());
    }

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
