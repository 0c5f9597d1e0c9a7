//! The one path every write RPC takes (ARCHITECTURE §2): the request parsed
//! into a validated command, then one transaction that claims the request
//! id, locks the aggregate, asks the policy, checks the etag, decides,
//! stores the projections, the events and the idempotency record; then the
//! answer. After the commit, this server's change-feed watchers are woken.
//!
//! A feature adds an [`Aggregate`] (how its rows are locked, versioned,
//! authorized and saved) and one [`Command`] per transition (its policy
//! line and its rule); its handlers call [`write`] and [`transition`].

use diesel::PgConnection;
use prost::Message;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::idempotency::{self, Claim};
use crate::state::AppState;

/// What every write RPC carries besides its command: who calls, which
/// method, the idempotency key and the request's fingerprint.
pub struct Envelope {
    pub principal: Principal,
    method: &'static str,
    request_id: String,
    fingerprint: Vec<u8>,
}

impl Envelope {
    /// Checks the request id's shape and fingerprints `request`.
    pub fn new<M: Message>(
        principal: Principal,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Envelope, AppError> {
        idempotency::check_request_id(request_id)?;
        Ok(Envelope {
            principal,
            method,
            request_id: request_id.to_owned(),
            fingerprint: idempotency::fingerprint(method, &request.encode_to_vec()),
        })
    }
}

/// Runs `work` in one transaction, once per (caller, request id): a replay
/// answers with the stored response and does nothing. The events `work`
/// records are written with the response's idempotency record.
pub async fn write<R, F>(state: &AppState, envelope: Envelope, work: F) -> Result<R, AppError>
where
    R: Message + Default + Send + 'static,
    F: FnOnce(&mut PgConnection, &mut Journal, &Principal) -> Result<R, AppError> + Send + 'static,
{
    write_after(state, envelope, |_, _| Ok(()), move |conn, journal, principal, ()| work(conn, journal, principal))
        .await
}

/// [`write`], with `prelude` run first outside the transaction (each of its
/// statements commits on its own), for what must exist before the
/// transaction and must not be undone with it (a region's sequence of case
/// numbers, created on first use).
pub async fn write_after<R, P, B, F>(state: &AppState, envelope: Envelope, prelude: B, work: F) -> Result<R, AppError>
where
    R: Message + Default + Send + 'static,
    P: Send + 'static,
    B: FnOnce(&mut PgConnection, &Principal) -> Result<P, AppError> + Send + 'static,
    F: FnOnce(&mut PgConnection, &mut Journal, &Principal, P) -> Result<R, AppError> + Send + 'static,
{
    let (response, committed_xid) = state
        .db
        .run_without_transaction(move |conn| {
            let Envelope { principal, method, request_id, fingerprint } = envelope;
            let account = principal.account_id;
            let claimed = !request_id.is_empty();
            let replay = |conn: &mut PgConnection| -> Result<Option<R>, AppError> {
                match idempotency::check(conn, account, &request_id, method, &fingerprint)? {
                    Claim::Replay(bytes) => Ok(Some(R::decode(bytes.as_slice()).map_err(AppError::internal)?)),
                    Claim::New => Ok(None),
                }
            };
            let before = prelude(conn, &principal)?;
            let ran = crate::db::transaction(conn, |conn| {
                if claimed && let Some(response) = replay(conn)? {
                    return Ok((response, None));
                }
                let mut journal = Journal::default();
                let response = work(conn, &mut journal, &principal, before)?;
                journal.flush(conn)?;
                if claimed
                    && !idempotency::record(
                        conn,
                        account,
                        &request_id,
                        method,
                        &fingerprint,
                        &response.encode_to_vec(),
                    )?
                {
                    return Err(AppError::ConcurrentUpdate { detail: "a concurrent request with the same id".into() });
                }
                Ok((response, journal.xid()))
            });
            match ran {
                // Rolled back: a request with the same id (or another
                // collision) committed first; if it stored an answer, that
                // is this call's answer too.
                Err(AppError::ConcurrentUpdate { detail }) if claimed => match replay(conn)? {
                    Some(response) => Ok((response, None)),
                    None => Err(AppError::ConcurrentUpdate { detail }),
                },
                ran => ran,
            }
        })
        .await?;
    if let Some(xid) = committed_xid {
        state.feed.committed(xid);
    }
    Ok(response)
}

/// An aggregate that commands transition: rows locked while a command is
/// decided, a version for etags, a policy, and a way to store its events.
pub trait Aggregate: Sized {
    /// Its name in errors ("case").
    const RESOURCE: &'static str;
    /// What the policy is asked about it.
    type Action: Copy;
    /// What its rules decide.
    type Event;

    /// Loads it under a row lock; NOT_FOUND when it does not exist.
    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Self, AppError>;

    /// The etag a caller sends back to detect concurrent changes.
    fn etag(&self) -> String;

    /// NOT_FOUND when `principal` may not see it, PERMISSION_DENIED when they
    /// may not do `action`. May read what the policy needs to know of the
    /// principal (a mediator's teams), never decide in SQL.
    fn authorize(&self, conn: &mut PgConnection, principal: &Principal, action: Self::Action) -> Result<(), AppError>;

    /// Applies `events`, stores the new state and records the events in the
    /// transaction's journal; returns the stored aggregate.
    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Self::Event],
    ) -> Result<Self, AppError>;
}

/// A transition of an aggregate: its policy line and its rule.
pub trait Command<A: Aggregate> {
    /// What the policy is asked (it may depend on the aggregate's state).
    fn action(&self, aggregate: &A) -> A::Action;

    /// Reads the facts the rule needs besides the aggregate (some depend on
    /// who acts), then asks the (pure) rule for the events.
    fn decide(self, conn: &mut PgConnection, aggregate: &A, principal: &Principal) -> Result<Vec<A::Event>, AppError>;
}

/// Locks aggregate `id`, asks the policy, checks `etag` (empty: no check),
/// decides `command` and stores the outcome. Returns the stored aggregate
/// and the events it recorded.
pub fn transition<A, C>(
    conn: &mut PgConnection,
    journal: &mut Journal,
    principal: &Principal,
    id: Uuid,
    etag: &str,
    command: C,
) -> Result<(A, Vec<A::Event>), AppError>
where
    A: Aggregate,
    C: Command<A>,
{
    let aggregate = A::lock(conn, id)?;
    aggregate.authorize(conn, principal, command.action(&aggregate))?;
    if !etag.is_empty() && etag != aggregate.etag() {
        return Err(AppError::Aborted { resource: A::RESOURCE });
    }
    let events = command.decide(conn, &aggregate, principal)?;
    let saved = aggregate.save(conn, journal, Some(principal.account_id), &events)?;
    Ok((saved, events))
}
