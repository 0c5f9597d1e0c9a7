//! Wires the server together: database (external or embedded), keys,
//! services, health, reflection, gRPC-Web with CORS, limits, and graceful
//! shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use petition_proto::v1::backlog_service_server::BacklogServiceServer;
use petition_proto::v1::calendar_service_server::CalendarServiceServer;
use petition_proto::v1::case_service_server::CaseServiceServer;
use petition_proto::v1::change_feed_service_server::ChangeFeedServiceServer;
use petition_proto::v1::court_service_server::CourtServiceServer;
use petition_proto::v1::directory_service_server::DirectoryServiceServer;
use petition_proto::v1::identity_service_server::IdentityServiceServer;
use petition_proto::v1::legal_aid_service_server::LegalAidServiceServer;
use petition_proto::v1::mediation_service_server::MediationServiceServer;
use petition_proto::v1::metrics_service_server::MetricsServiceServer;
use petition_proto::v1::rating_service_server::RatingServiceServer;
use petition_proto::v1::reception_service_server::ReceptionServiceServer;
use petition_proto::v1::supervision_service_server::SupervisionServiceServer;
use petition_proto::v1::taxonomy_service_server::TaxonomyServiceServer;
use tokio::net::TcpListener;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::auth::interceptor::{Authenticated, Authenticator};
use crate::auth::passwords::PasswordHasher;
use crate::auth::revocation::{self, Revocations};
use crate::auth::tokens::TokenIssuer;
use crate::backlog::BacklogApi;
use crate::calendar::CalendarApi;
use crate::cases::CaseApi;
use crate::config::Config;
use crate::courts::CourtApi;
use crate::db::Db;
use crate::directory::DirectoryApi;
use crate::embedded_pg::EmbeddedPostgres;
use crate::error::AppError;
use crate::feed::FeedApi;
use crate::identity::IdentityApi;
use crate::identity::bootstrap::{self, Bootstrap};
use crate::legal_aid::LegalAidApi;
use crate::limits::{DeadlineLayer, HeaderLimitLayer, transport_header_limit};
use crate::mediation::MediationApi;
use crate::metrics::MetricsApi;
use crate::pagination::PageTokens;
use crate::pii::Pii;
use crate::ratings::RatingApi;
use crate::reception::ReceptionApi;
use crate::similarity::index::{FOLLOW_EVERY, RELOAD_EVERY};
use crate::similarity::{SimilarityIndex, Versions};
use crate::state::AppState;
use crate::supervision::SupervisionApi;
use crate::taxonomy::TaxonomyApi;
use crate::tls::Tls;

/// A start-up failure, said in words for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

impl From<crate::error::AppError> for StartupError {
    fn from(e: crate::error::AppError) -> Self {
        match e {
            crate::error::AppError::Unavailable { detail } => {
                StartupError(format!("cannot reach the database: {detail}"))
            }
            crate::error::AppError::Internal { detail } => StartupError(detail),
            other => StartupError(other.to_string()),
        }
    }
}

/// A built server, bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
    config: Config,
    bootstrap: Bootstrap,
    /// Where polling for token revocations goes on from (they are loaded).
    revocations_since: chrono::DateTime<chrono::Utc>,
    /// Kept alive while the server runs; stopped when dropped.
    embedded: Option<EmbeddedPostgres>,
    /// TLS on the listener, when configured.
    tls: Option<Tls>,
    /// The database's URL (the sweeper's lease holds a connection of its own).
    database_url: String,
    /// The metrics endpoint's listener, when configured.
    metrics_listener: Option<TcpListener>,
}

impl Application {
    /// Connects (starting the embedded database if no URL is configured),
    /// migrates, loads keys, creates the bootstrap admin and binds the port.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        config.oversight.validate().map_err(StartupError)?;
        let (database_url, embedded) = match &config.database_url {
            Some(url) => (url.expose().to_owned(), None),
            None => {
                let data_dir = config.data_dir.clone();
                let embedded = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&data_dir))
                    .await
                    .map_err(|e| StartupError(e.to_string()))?
                    .map_err(|e| StartupError(e.to_string()))?;
                (embedded.database_url(), Some(embedded))
            }
        };
        let db = Db::new(&database_url, &config.database);
        db.migrate().await?;
        if let Some(raised) = db.run(crate::feed::store::keep_positions_increasing).await? {
            tracing::warn!(
                raised,
                "change feed: the stored events are ahead of this database's transaction counter (a restore?); positions continue above them"
            );
        }

        let keys = crate::keys::load(&config.auth, &config.data_dir).map_err(StartupError)?;
        let tokens = TokenIssuer::new(
            &keys.jwt,
            config.auth.jwt_issuer.clone(),
            config.auth.jwt_audience.clone(),
            Duration::from_secs(config.auth.access_token_ttl_secs),
        )
        .map_err(StartupError)?;
        let hasher = PasswordHasher::new(config.auth.hashing_concurrency)?;
        let similarity = if config.intake.duplicate_detection {
            // The statistics only: the band index (13 s at a million cases)
            // is built in the background once the port is open.
            Some(Arc::new(db.read(SimilarityIndex::load_statistics).await?))
        } else {
            None
        };
        let state = Arc::new(AppState {
            db,
            tokens: Arc::new(tokens),
            revocations: Arc::new(Revocations::default()),
            accounts: Default::default(),
            hasher,
            pii: Pii::new(&keys.pii_encryption, &keys.pii_index),
            pages: PageTokens::new(*keys.page_tokens.as_bytes()),
            auth: config.auth.clone(),
            intake: config.intake.clone(),
            mediation: config.mediation.clone(),
            legal_aid: config.legal_aid.clone(),
            ratings: config.ratings.clone(),
            metrics: config.metrics.clone(),
            oversight: config.oversight.clone(),
            backlog: config.backlog.clone(),
            clock: crate::clock::Clock::from_file(config.oversight.clock_file.clone()),
            similarity,
            feed_config: config.feed.clone(),
            feed_db: Db::new(
                &database_url,
                &crate::config::DatabaseConfig {
                    pool_size: config.feed.db_pool_size.max(1),
                    // Feed readers never write.
                    write_reserved: Some(0),
                    ..config.database.clone()
                },
            ),
            feed: crate::feed::FeedSignal::default(),
            calendar_years: crate::calendar::LoadedYears::default(),
            organization_kinds: Default::default(),
            case_numbering: Default::default(),
        });
        state.calendar_years.refresh(&state.db).await.map_err(|e| StartupError(e.to_string()))?;
        // Before the port is bound, so no revoked token is let through.
        let revocations_since =
            revocation::watch::load(&state.db, &state.revocations, revocation_horizons(&config)).await?;
        let bootstrap = bootstrap::ensure_admin(&state).await?;
        let tls = Tls::load(&config.tls).map_err(StartupError)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartupError(format!("cannot listen on {}: {e}", config.listen)))?;
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(|e| StartupError(format!("cannot listen for metrics on {address}: {e}")))?,
            ),
            None => None,
        };
        Ok(Application {
            listener,
            state,
            config,
            bootstrap,
            revocations_since,
            embedded,
            tls,
            database_url,
            metrics_listener,
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, StartupError> {
        self.listener.local_addr().map_err(|e| StartupError(e.to_string()))
    }

    /// Where `GET /metrics` answers, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// What happened to the bootstrap admin on this start.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Serves until `shutdown` completes, then reports NOT_SERVING, lets
    /// in-flight calls finish (at most the configured grace period) and stops.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
        let Application {
            listener,
            state,
            config,
            embedded,
            tls,
            revocations_since,
            database_url,
            metrics_listener,
            ..
        } = self;
        let telemetry = Arc::new(crate::telemetry::Telemetry::new());
        let health_reporter = HealthReporter::new();
        set_serving(&health_reporter, true).await;
        let (closing, closing_rx) = tokio::sync::watch::channel(false);
        let health_service = HealthServer::new(HealthEndingAtShutdown {
            inner: HealthService::from_health_reporter(health_reporter.clone()),
            closing: closing_rx,
        });

        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(petition_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| StartupError(e.to_string()))?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(petition_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()
            .map_err(|e| StartupError(e.to_string()))?;

        let limits = &config.limits;
        let auth = Arc::new(Authenticator {
            tokens: state.tokens.clone(),
            revocations: state.revocations.clone(),
            accounts: state.accounts.clone(),
            db: state.db.clone(),
        });
        // Every service gets the same message limits and authentication.
        macro_rules! guarded {
            ($server:expr) => {
                Authenticated::new(
                    $server
                        .max_decoding_message_size(limits.max_message_bytes)
                        .max_encoding_message_size(limits.max_message_bytes),
                    auth.clone(),
                )
            };
        }

        let router = tonic::transport::Server::builder()
            .accept_http1(true)
            .max_concurrent_streams(Some(limits.max_concurrent_streams))
            // HTTP/2's own header limit, far above the call's: between the
            // two, only the call fails (HeaderLimitLayer); past h2's, h2
            // answers 431 or ends the connection with every call on it.
            .http2_max_header_list_size(transport_header_limit(limits.max_header_bytes))
            // One span per call (method path only: headers carry tokens);
            // every log line of the call, including Db::run's, sits in it.
            // Failures are logged once, at the level their cause deserves.
            .layer(
                TraceLayer::new(crate::outcome::GrpcOutcome)
                    .make_span_with(
                        |request: &http::Request<_>| tracing::info_span!("rpc", path = %request.uri().path()),
                    )
                    .on_failure(crate::outcome::log_failure),
            )
            .layer(tower::util::option_layer(cors_layer(&config.cors_allowed_origins)))
            .layer(tonic_web::GrpcWebLayer::new())
            // Inside gRPC-Web's: a browser's call counts as the call it is.
            .layer(telemetry.layer())
            .layer(HeaderLimitLayer::new(limits.max_header_bytes))
            // The server's own time limit (tonic's would answer CANCELLED,
            // log nothing and let a write commit after the answer).
            .layer(DeadlineLayer::new(Duration::from_secs(limits.request_timeout_secs)))
            .layer(tower::util::MapResponseLayer::new(crate::undecodable::as_invalid_argument))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(guarded!(IdentityServiceServer::new(IdentityApi::new(state.clone()))))
            .add_service(guarded!(DirectoryServiceServer::new(DirectoryApi::new(state.clone()))))
            .add_service(guarded!(CalendarServiceServer::new(CalendarApi::new(
                state.clone(),
                Arc::new(crate::cases::recompute::CaseDeadlines)
            ))))
            .add_service(guarded!(TaxonomyServiceServer::new(TaxonomyApi::new(state.clone()))))
            .add_service(guarded!(BacklogServiceServer::new(BacklogApi::new(state.clone()))))
            .add_service(guarded!(CaseServiceServer::new(CaseApi::new(state.clone()))))
            .add_service(guarded!(MediationServiceServer::new(MediationApi::new(state.clone()))))
            .add_service(guarded!(LegalAidServiceServer::new(LegalAidApi::new(state.clone()))))
            .add_service(guarded!(MetricsServiceServer::new(MetricsApi::new(state.clone()))))
            .add_service(guarded!(CourtServiceServer::new(CourtApi::new(state.clone()))))
            .add_service(guarded!(RatingServiceServer::new(RatingApi::new(state.clone()))))
            .add_service(guarded!(SupervisionServiceServer::new(SupervisionApi::new(state.clone()))))
            .add_service(guarded!(ReceptionServiceServer::new(ReceptionApi::new(state.clone()))))
            .add_service(guarded!(ChangeFeedServiceServer::new(FeedApi::new(state.clone()))));

        let address = listener.local_addr().map_err(|e| StartupError(e.to_string()))?;
        let client_certificates = tls.as_ref().map(Tls::requires_client_certificates);
        tracing::info!(%address, tls = tls.is_some(), ?client_certificates, "serving gRPC and gRPC-Web");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stopped = async {
            let _ = stop_rx.await;
        };
        // Replies go out at once: without TCP_NODELAY a response written in
        // more than one piece waits out the peer's delayed ACK (~40 ms).
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let tls_reloader = tls.as_ref().map(Tls::spawn_reloader);
        let mut server = match &tls {
            Some(tls) => tokio::spawn(router.serve_with_incoming_shutdown(tls.incoming(incoming), stopped)),
            None => tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped)),
        };
        let reloader = state.similarity.clone().map(|index| tokio::spawn(follow_similarity(state.db.clone(), index)));
        let retention = tokio::spawn(crate::feed::retention::run(state.db.clone(), config.feed.clone()));
        let metrics = tokio::spawn(crate::metrics::projection::run(
            state.db.clone(),
            state.feed.clone(),
            i32::try_from(config.metrics.metrics_cessation_days).unwrap_or(i32::MAX),
        ));
        let calendar_years = tokio::spawn(crate::calendar::watch::run(state.db.clone(), state.calendar_years.clone()));
        let sweeper = tokio::spawn(crate::jobs::sweeper::run(state.clone(), database_url.clone()));
        let metrics_endpoint = metrics_listener.map(|listener| {
            if let Ok(address) = listener.local_addr() {
                tracing::info!(%address, "serving metrics at /metrics");
            }
            tokio::spawn(crate::telemetry::endpoint::serve(listener, telemetry.clone(), state.clone()))
        });
        let revocations = tokio::spawn(revocation::watch::run(
            state.db.clone(),
            state.revocations.clone(),
            revocations_since,
            revocation_horizons(&config),
        ));

        tokio::select! {
            result = &mut server => {
                return result.map_err(|e| StartupError(e.to_string()))?.map_err(|e| StartupError(e.to_string()));
            }
            () = shutdown => {}
        }
        if let Some(reloader) = reloader {
            reloader.abort();
        }
        retention.abort();
        metrics.abort();
        calendar_years.abort();
        sweeper.abort();
        revocations.abort();
        if let Some(endpoint) = metrics_endpoint {
            endpoint.abort();
        }
        if let Some(reloader) = tls_reloader {
            reloader.abort();
        }
        tracing::info!("shutting down: NOT_SERVING, draining in-flight calls");
        set_serving(&health_reporter, false).await;
        // Health watches and change-feed watches end (after NOT_SERVING):
        // the drain waits only for calls that finish.
        closing.send_replace(true);
        state.feed.close();
        let _ = stop_tx.send(());
        let grace = Duration::from_secs(limits.shutdown_grace_secs);
        match tokio::time::timeout(grace, &mut server).await {
            Ok(result) => result.map_err(|e| StartupError(e.to_string()))?.map_err(|e| StartupError(e.to_string()))?,
            Err(_) => {
                tracing::warn!(?grace, "calls still running after the grace period; stopping anyway");
                server.abort();
            }
        }
        if let Some(mut embedded) = embedded {
            tokio::task::spawn_blocking(move || embedded.stop()).await.map_err(|e| StartupError(e.to_string()))?;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// How long token revocations matter, and how late one may commit.
fn revocation_horizons(config: &Config) -> revocation::watch::Horizons {
    let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000).min(i64::MAX / 1000));
    revocation::watch::Horizons {
        relevant: secs(config.auth.access_token_ttl_secs) + secs(crate::auth::tokens::LEEWAY_SECS),
        commit_lag: secs(config.limits.request_timeout_secs) + chrono::Duration::seconds(30),
    }
}

/// Builds the band index in the background, follows the fingerprints
/// other servers store, and picks up statistics versions that
/// `reindex-similarity` stores (rebuilding in the background again).
/// Filings go on meanwhile, against the index as it is.
async fn follow_similarity(db: Db, index: Arc<SimilarityIndex>) {
    let mut every = tokio::time::interval(FOLLOW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_reload = Instant::now();
    let mut failing = false;
    let mut build_failing = false;
    let mut build = Some(tokio::spawn(build_bands(db.clone(), index.clone(), None)));
    loop {
        every.tick().await;
        if let Some(done) = build.take_if(|b| b.is_finished()) {
            let failed = match done.await {
                Ok(result) => result.err().map(|e| e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            // A first build is tried again every second, a rebuild when
            // the statistics are next looked at; logged once per outage.
            match failed {
                Some(error) if !build_failing => {
                    tracing::warn!(%error, complete = index.bands_complete(), "band index build failed; retrying");
                    build_failing = true;
                }
                Some(error) => tracing::debug!(%error, "band index build failed"),
                None => build_failing = false,
            }
        }
        if build.is_none() && !index.bands_complete() {
            build = Some(tokio::spawn(build_bands(db.clone(), index.clone(), None)));
        }
        let reload = build.is_none() && last_reload.elapsed() >= RELOAD_EVERY;
        if reload {
            last_reload = Instant::now();
            let versions = {
                let index = index.clone();
                db.read(move |conn| index.changed_versions(conn)).await
            };
            match versions {
                Ok(Some(versions)) => {
                    build = Some(tokio::spawn(build_bands(db.clone(), index.clone(), Some(versions))))
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "could not look for new similarity statistics"),
            }
        }
        let result = {
            let index = index.clone();
            db.read(move |conn| index.follow(conn)).await
        };
        // Once per outage, not every second while the database is away.
        match result {
            Err(e) if !failing => {
                tracing::warn!(error = %e, "could not follow the stored fingerprints; retrying every second");
                failing = true;
            }
            Err(e) => tracing::debug!(error = %e, "could not follow the stored fingerprints"),
            Ok(_) if failing => {
                tracing::info!("following the stored fingerprints again");
                failing = false;
            }
            Ok(_) => {}
        }
    }
}

/// Builds the band index anew (on one pooled connection, for as long as it
/// takes), then puts `versions` in use when given.
async fn build_bands(db: Db, index: Arc<SimilarityIndex>, versions: Option<Versions>) -> Result<(), AppError> {
    index.build_allowed().await;
    db.read(move |conn| match versions {
        Some(versions) => index.rebuild_for(conn, versions),
        None => index.rebuild_bands(conn).map(drop),
    })
    .await
}

/// `grpc.health.v1.Health` whose Watch streams end once the server shuts
/// down, after the NOT_SERVING they were sent: clients' health checking
/// keeps a Watch open, which would otherwise hold every graceful stop for
/// the whole grace period.
struct HealthEndingAtShutdown {
    inner: HealthService,
    closing: tokio::sync::watch::Receiver<bool>,
}

#[tonic::async_trait]
impl Health for HealthEndingAtShutdown {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = EndsAtShutdown<<HealthService as Health>::WatchStream>;

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let statuses = self.inner.watch(request).await?.into_inner();
        let mut closing = self.closing.clone();
        let closing = Box::pin(async move {
            let _ = closing.wait_for(|closing| *closing).await;
        });
        Ok(Response::new(EndsAtShutdown { inner: statuses, closing, ended: false }))
    }
}

/// A stream that ends at shutdown, once it has nothing ready to send (so
/// the NOT_SERVING set before the shutdown signal still goes out).
pub struct EndsAtShutdown<S> {
    inner: S,
    closing: Pin<Box<dyn Future<Output = ()> + Send + Sync>>,
    ended: bool,
}

impl<S: Stream + Unpin> Stream for EndsAtShutdown<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.closing.as_mut().poll(cx).is_ready() {
            self.ended = true;
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

/// Names whose health is reported ("" is the server as a whole).
const SERVICES: [&str; 7] = [
    "",
    "petition.v1.IdentityService",
    "petition.v1.DirectoryService",
    "petition.v1.CalendarService",
    "petition.v1.TaxonomyService",
    "petition.v1.CaseService",
    "petition.v1.ChangeFeedService",
];

async fn set_serving(reporter: &HealthReporter, serving: bool) {
    let status = if serving { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
    for service in SERVICES {
        reporter.set_service_status(service, status).await;
    }
}

/// CORS for browsers calling through gRPC-Web; none when no origin is allowed.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<&str> = origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let request_headers = ["authorization", "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout"];
    let exposed = ["grpc-status", "grpc-message", "grpc-status-details-bin"];
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([http::Method::POST, http::Method::OPTIONS])
            .allow_headers(request_headers.map(HeaderName::from_static))
            .expose_headers(exposed.map(HeaderName::from_static))
            .max_age(Duration::from_secs(24 * 3600)),
    )
}
