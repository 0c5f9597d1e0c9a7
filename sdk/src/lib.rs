//! Rust client for the petition (信访) gRPC API, `petition.v1`.
//!
//! A [`Client`] holds one connection and the sign-in state. Sign in with
//! [`Client::login`] (citizens and staff) or
//! [`Client::login_with_client_credentials`] (partner service accounts); the
//! client then sends the access token with every call and renews it before
//! it expires, so callers never handle tokens unless they want to
//! ([`Client::set_tokens`], [`Client::with_access_token`]).
//!
//! The services are reached through:
//!
//! * [`Client::identity`] ([`IdentityClient`]): accounts, sign-in and tokens;
//! * [`Client::directory`] ([`DirectoryClient`]): regions, organizations and
//!   staff;
//! * [`Client::calendar`] ([`CalendarClient`]): the workday calendar and
//!   deadlines;
//! * [`Client::taxonomy`] ([`TaxonomyClient`]): case categories and routing
//!   rules;
//! * [`Client::cases`] ([`CaseClient`]): filing cases (信访事项), their
//!   timeline and every lifecycle step, with [`new_request_id`] for the
//!   idempotency keys those calls take;
//! * [`Client::feed`] ([`FeedClient`]): the change feed, for keeping a copy
//!   in step: [`FeedClient::watch`] reconnects and resumes by itself.
//!
//! Their methods take the generated request messages (re-exported as
//! [`pb`]) and return the resource inside the response; list calls come
//! both page by page and as a [`Stream`](futures::Stream) of every item.
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use petition_sdk::{Client, pb};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), petition_sdk::Error> {
//!     let client = Client::connect("http://127.0.0.1:50051").await?;
//!
//!     let account = client.login("13800138000", "correct horse battery staple").await?;
//!     println!("signed in as {} ({})", account.display_name, account.id);
//!
//!     let me = client.identity().get_me().await?;
//!     assert_eq!(me.id, account.id);
//!
//!     // Every county under 南京市, page after page.
//!     let filter = pb::ListRegionsRequest {
//!         parent_code: "320100".into(),
//!         level: pb::RegionLevel::County.into(),
//!         ..Default::default()
//!     };
//!     let mut regions = client.directory().regions(filter);
//!     while let Some(region) = regions.try_next().await? {
//!         println!("{} {}", region.code, region.name);
//!     }
//!
//!     client.logout().await?;
//!     Ok(())
//! }
//! ```
//!
//! # Connecting
//!
//! [`Client::connect`] takes `http://` (plain, as behind a TLS-terminating
//! proxy) and `https://` (TLS, checked against the system's trusted roots).
//! [`ClientBuilder`] adds a private CA, a client certificate for servers that
//! require one (mutual TLS), the connect timeout and the [`RetryPolicy`].
//!
//! # Retries
//!
//! A call that fails with `UNAVAILABLE` (the server restarting, a refused
//! connection, the server's database away) or with `RESOURCE_EXHAUSTED` and
//! a `RetryInfo` is tried again within the client's [`RetryPolicy`]
//! (exponential backoff with full jitter, at least the server's `RetryInfo`;
//! by default at most 5 attempts within 15 s), but only if repeating it is
//! safe:
//!
//! | calls | retried |
//! |---|---|
//! | reads: `Get*`, `List*`, `ComputeDeadline`, `FindSimilarCases` | yes |
//! | every `CaseService` write (`SubmitCase`, `AcceptCase`, …) | yes: each carries a `request_id`, filled by the SDK when empty ([`new_request_id`], a UUIDv7) and the same on every retry, so the server acts once and replays its first answer |
//! | `SetCalendarYear`, `SetAccountDisabled`, `SetRoutingRule`, `UpdateCategory`, `Logout` | yes: they set a state, so doing them twice is doing them once |
//! | `UpdateOrganization` | only without an `etag` (with one, a retry after a lost answer is `ABORTED` on the caller's own change) |
//! | `Login`, `ExchangeClientCredentials` | yes: a repeat at most leaves an unused sign-in that expires |
//! | `Create*`, `RegisterCitizen`, `DeleteRoutingRule` | no: without a request id, a repeat after a lost answer acts again or reports the caller's own success as an error |
//! | `RefreshToken` | no: presenting a rotated refresh token again revokes the sign-in |
//!
//! `ABORTED`, `FAILED_PRECONDITION` and every other code are never retried.
//! Renewing a rejected access token (see [`Client`]) happens within each
//! attempt.
//!
//! # Errors
//!
//! Every call returns [`Error`], which exposes the gRPC [`code`](Error::code)
//! and the standard details the server attaches:
//!
//! ```no_run
//! # use petition_sdk::{Client, pb, tonic::Code};
//! # async fn register(client: &Client, request: pb::RegisterCitizenRequest) {
//! match client.identity().register_citizen(request).await {
//!     Ok(account) => println!("registered {}", account.id),
//!     Err(e) if e.code() == Code::InvalidArgument => {
//!         for violation in e.field_violations() {
//!             eprintln!("{}: {}", violation.field, violation.description);
//!         }
//!     }
//!     Err(e) if e.code() == Code::AlreadyExists => eprintln!("already registered"),
//!     Err(e) if e.retry_after().is_some() => eprintln!("slow down: {e}"),
//!     Err(e) => eprintln!("failed ({:?}): {e}", e.reason()),
//! }
//! # }
//! ```

pub use petition_proto::v1 as pb;
pub use {tonic, tonic_types};

mod auth;
mod backlog;
mod builder;
mod calendar;
mod cases;
mod client;
mod courts;
mod directory;
mod error;
mod feed;
mod idempotency;
mod identity;
mod legal_aid;
mod mediation;
mod metrics;
mod paging;
mod ratings;
mod reception;
mod retry;
mod supervision;
mod taxonomy;

pub use backlog::BacklogClient;
pub use builder::ClientBuilder;
pub use calendar::CalendarClient;
pub use cases::CaseClient;
pub use client::{CONNECT_TIMEOUT, Client};
pub use courts::CourtClient;
pub use directory::DirectoryClient;
pub use error::{Error, ErrorKind, FieldViolation, PreconditionViolation, Result};
pub use feed::{CURSOR_EXPIRED, FeedClient, FeedItem};
pub use idempotency::new_request_id;
pub use identity::IdentityClient;
pub use legal_aid::LegalAidClient;
pub use mediation::MediationClient;
pub use metrics::{MetricsClient, figure};
pub use ratings::RatingClient;
pub use reception::ReceptionClient;
pub use retry::RetryPolicy;
pub use supervision::SupervisionClient;
pub use taxonomy::TaxonomyClient;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>(_: &T) {}

    #[test]
    fn client_and_futures_are_send_and_sync() {
        // Lazy channels need a runtime to spawn their worker on; nothing
        // connects.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let _entered = runtime.enter();
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        let client = Client::from_channel(channel);
        assert_send_sync(&client);
        assert_send_sync(&client.identity());
        assert_send_sync(&client.directory());
        assert_send_sync(&client.calendar());
        assert_send_sync(&client.taxonomy());
        assert_send_sync(&client.cases());

        fn assert_send<T: Send>(_: T) {}
        assert_send(client.login("a", "b"));
        assert_send(client.login_with_client_credentials("id", "secret", [pb::Scope::CasesRead]));
        assert_send(client.logout());
        let identity = client.identity();
        assert_send(identity.get_me());
        assert_send(identity.set_account_disabled("id", true));
        let directory = client.directory();
        assert_send(directory.get_region("320100"));
        assert_send(directory.regions(pb::ListRegionsRequest::default()));
        assert_send(directory.staff(pb::ListStaffRequest::default()));
        assert_send(client.calendar().list_calendar_days(2025));
        assert_send(client.taxonomy().list_categories(false));
        assert_send(client.taxonomy().delete_routing_rule("id"));
        let cases = client.cases();
        assert_send(cases.get_case("360702-2026-000001"));
        assert_send(cases.submit_case(pb::SubmitCaseRequest::default()));
        assert_send(cases.add_follow_up(pb::AddFollowUpRequest::default()));
        assert_send(cases.cases(pb::ListCasesRequest::default()));
        assert_send(cases.case_events("id"));
    }

    #[test]
    fn token_management_without_a_server() -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let _entered = runtime.enter();
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        let client = Client::from_channel(channel);
        assert_eq!(client.tokens(), None);

        let pair = pb::TokenPair {
            access_token: "access-1".into(),
            access_token_expire_time: Some((std::time::SystemTime::now() + std::time::Duration::from_secs(900)).into()),
            refresh_token: "refresh-1".into(),
            refresh_token_expire_time: None,
        };
        client.set_tokens(pair.clone())?;
        let clone = client.clone();
        assert_eq!(clone.tokens(), Some(pair));
        assert!(format!("{client:?}").contains("renews_tokens: true"));
        assert!(!format!("{client:?}").contains("access-1"));

        // A separate session on the same channel.
        let other = client.with_access_token("static-token")?;
        assert_eq!(other.access_token().as_deref(), Some("static-token"));
        assert_eq!(client.access_token().as_deref(), Some("access-1"));
        assert_eq!(client.new_session().tokens(), None);
        assert_eq!(client.with_access_token("").map(|_| ()).map_err(|e| e.kind()), Err(ErrorKind::InvalidInput));

        clone.clear_tokens();
        assert_eq!(client.tokens(), None);
        assert!(other.tokens().is_some());
        Ok(())
    }

    #[test]
    fn connect_reports_unreachable_servers() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        // Port 1 on loopback: nothing listens there, so the connection is refused.
        let error = runtime.block_on(Client::connect("127.0.0.1:1")).map(|_| ()).err();
        let error = error.expect("connecting to a closed port fails");
        assert_eq!(error.kind(), ErrorKind::Connect);
        assert_eq!(error.code(), tonic::Code::Unavailable);
        assert!(error.to_string().starts_with("cannot connect to http://127.0.0.1:1: "), "{error}");

        let invalid = runtime.block_on(Client::connect("http://exa mple")).map(|_| ()).err();
        assert_eq!(invalid.map(|e| e.kind()), Some(ErrorKind::Connect));
    }
}
