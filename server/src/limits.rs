//! Per-call limits enforced in front of the services: the size of a
//! request's headers, and the server's own time limit for a call.
//!
//! Both answer with a gRPC status on the call's own stream. The header
//! limit sits below HTTP/2's own (which, when exceeded, answers HTTP 431 or
//! ends the whole connection, taking every other call on it along).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tonic::Status;
use tower::{Layer, Service};

use crate::error::AppError;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The HTTP/2 header list size the transport accepts: far above the call
/// limit, so that headers between the two get a gRPC status on their own
/// stream instead of a 431 or a GOAWAY for the whole connection (h2 ends
/// the connection for a header block beyond about 1.25 times this).
pub fn transport_header_limit(call_limit: u32) -> u32 {
    call_limit.saturating_mul(4).max(1024 * 1024)
}

/// The size of a request's header list as HTTP/2 counts it (RFC 7540
/// §6.5.2: name, value and 32 octets per field, pseudo-headers included).
fn header_list_size<B>(request: &Request<B>) -> usize {
    let fields: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 32).sum();
    let path = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let authority = request.uri().authority().map_or(0, |a| a.as_str().len());
    fields + ":path".len() + path + ":authority".len() + authority + ":method:scheme".len() + 4 * 32 + 16
}

/// Refuses a call whose headers are larger than the limit, with
/// RESOURCE_EXHAUSTED `HEADERS_TOO_LARGE`, before it reaches a service.
#[derive(Clone, Copy)]
pub struct HeaderLimitLayer {
    limit: usize,
}

impl HeaderLimitLayer {
    pub fn new(limit: u32) -> Self {
        HeaderLimitLayer { limit: limit as usize }
    }
}

impl<S> Layer<S> for HeaderLimitLayer {
    type Service = HeaderLimit<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HeaderLimit { inner, limit: self.limit }
    }
}

#[derive(Clone)]
pub struct HeaderLimit<S> {
    inner: S,
    limit: usize,
}

impl<S, B, R> Service<Request<B>> for HeaderLimit<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let size = header_list_size(&request);
        if size > self.limit {
            tracing::debug!(size, limit = self.limit, path = request.uri().path(), "request headers too large");
            let status = Status::from(AppError::HeadersTooLarge { size, limit: self.limit });
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        Box::pin(self.inner.call(request))
    }
}

tokio::task_local! {
    /// The time limit of the call the current task serves.
    static CALL: Arc<CallLimit>;
}

thread_local! {
    /// The same, on the blocking thread running the call's database work.
    static BLOCKING_CALL: std::cell::RefCell<Option<Arc<CallLimit>>> = const { std::cell::RefCell::new(None) };
}

/// Set when the call is over its time limit (or abandoned); the low bits
/// count commits in progress.
const EXPIRED: u32 = 1 << 31;

/// The state of one call against its time limit, shared by the layer that
/// answers it and the database work that may commit for it: a commit and
/// the expiry exclude each other, so that DEADLINE_EXCEEDED can say whether
/// anything was saved.
#[derive(Debug, Default)]
pub struct CallLimit {
    state: AtomicU32,
    committed: AtomicBool,
}

impl CallLimit {
    /// The limit of the call this task serves, if any.
    pub fn current() -> Option<Arc<CallLimit>> {
        CALL.try_with(Arc::clone).ok()
    }

    /// The limit of the call whose database work this blocking thread runs.
    pub fn current_blocking() -> Option<Arc<CallLimit>> {
        BLOCKING_CALL.with(|call| call.borrow().clone())
    }

    /// Runs blocking `f` on behalf of `call` (so that its commits are checked).
    pub fn run_blocking<T>(call: Option<Arc<CallLimit>>, f: impl FnOnce() -> T) -> T {
        let previous = BLOCKING_CALL.with(|slot| slot.replace(call));
        let result = f();
        BLOCKING_CALL.with(|slot| slot.replace(previous));
        result
    }

    /// Before a COMMIT: `false` when the call is over its limit (roll back).
    pub fn begin_commit(&self) -> bool {
        self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| (s & EXPIRED == 0).then_some(s + 1)).is_ok()
    }

    /// After the COMMIT began by [`begin_commit`](Self::begin_commit).
    pub fn end_commit(&self, committed: bool) {
        if committed {
            self.committed.store(true, Ordering::Release);
        }
        self.state.fetch_sub(1, Ordering::AcqRel);
    }

    /// Marks the call expired; `false` while a commit is in progress.
    fn expire(&self) -> bool {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| (s & !EXPIRED == 0).then_some(s | EXPIRED))
            .is_ok()
    }

    fn committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }
}

/// Expires the call when its future is dropped unfinished (the client went
/// away, or its own deadline passed): its writes roll back, not commit.
struct ExpireOnDrop(Option<Arc<CallLimit>>);

impl Drop for ExpireOnDrop {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            call.expire();
        }
    }
}

/// How long an expired call that is committing may take to finish.
const COMMIT_GRACE: Duration = Duration::from_secs(5);

/// The server's own time limit for a call: past it, the call answers
/// DEADLINE_EXCEEDED `SERVER_TIMEOUT` (logged at WARN with the method), and
/// database work of the call that has not begun to commit rolls back. A
/// call caught committing is given [`COMMIT_GRACE`] to finish and answers
/// with its own result. Streams are limited until their first response.
#[derive(Clone, Copy)]
pub struct DeadlineLayer {
    limit: Duration,
}

impl DeadlineLayer {
    pub fn new(limit: Duration) -> Self {
        DeadlineLayer { limit }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner, limit: self.limit }
    }
}

#[derive(Clone)]
pub struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S, B, R> Service<Request<B>> for Deadline<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let limit = self.limit;
        let method = request.uri().path().to_owned();
        let call = Arc::new(CallLimit::default());
        let inner = CALL.scope(call.clone(), self.inner.call(request));
        Box::pin(async move {
            let mut expiry = ExpireOnDrop(Some(call.clone()));
            tokio::pin!(inner);
            let result = tokio::select! {
                biased;
                result = &mut inner => result,
                () = tokio::time::sleep(limit) => {
                    if call.expire() {
                        let committed = call.committed();
                        tracing::warn!(%method, ?limit, committed, "call stopped at the server's time limit");
                        Ok(Status::from(AppError::Timeout { limit, committed }).into_http())
                    } else {
                        match tokio::time::timeout(COMMIT_GRACE, &mut inner).await {
                            Ok(result) => {
                                tracing::warn!(%method, ?limit, "call finished its commit past the server's time limit");
                                result
                            }
                            Err(_) => {
                                tracing::warn!(%method, ?limit, "call stuck committing past the server's time limit");
                                Ok(Status::from(AppError::Timeout { limit, committed: true }).into_http())
                            }
                        }
                    }
                }
            };
            // Finished: nothing left to roll back.
            expiry.0 = None;
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_and_the_expiry_exclude_each_other() {
        let call = CallLimit::default();
        assert!(call.begin_commit());
        assert!(!call.expire(), "not while committing");
        call.end_commit(true);
        assert!(call.committed());
        assert!(call.expire());
        assert!(!call.begin_commit(), "an expired call rolls back");
    }

    #[test]
    fn the_transport_limit_leaves_room_above_the_call_limit() {
        assert_eq!(transport_header_limit(16 * 1024), 1024 * 1024);
        assert_eq!(transport_header_limit(1024 * 1024), 4 * 1024 * 1024);
        assert_eq!(transport_header_limit(u32::MAX), u32::MAX);
    }
}
