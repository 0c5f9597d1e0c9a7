//! [`FeedClient`]: the change feed (`petition.v1.ChangeFeedService`), page by
//! page and as a watch that reconnects and resumes by itself.

use std::collections::VecDeque;
use std::time::Duration;

use futures::stream::{self, BoxStream};
use petition_proto::v1::change_feed_service_client::ChangeFeedServiceClient;
use tonic::Code;

use crate::client::{Client, rpc};
use crate::error::{Error, Result};
use crate::pb;
use crate::retry::{Backoff, RetryPolicy};

/// The `ErrorInfo.reason` of a position the feed no longer serves.
pub const CURSOR_EXPIRED: &str = "CURSOR_EXPIRED";

/// What a watch delivers: a change, or a bookmark that moves the reader's
/// position on while nothing it may see happens.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    Change(Box<pb::Change>),
    /// Nothing the reader may see happened up to this position.
    Bookmark(i64),
}

impl FeedItem {
    /// The position to resume after once this item is handled.
    pub fn position(&self) -> i64 {
        match self {
            FeedItem::Change(change) => change.position,
            FeedItem::Bookmark(position) => *position,
        }
    }
}

/// The calls of `ChangeFeedService`. Get one from [`Client::feed`].
///
/// Positions are opaque increasing numbers: store the last one handled and
/// resume after it. Resuming after a position the feed no longer serves
/// fails with [`Error::cursor_expired`] set: list again (`ListCases` gives
/// the position to watch from) and resume from there.
#[derive(Clone, Debug)]
pub struct FeedClient {
    client: Client,
    reconnect: RetryPolicy,
}

/// How a watch reconnects by default: for as long as it takes, waiting up
/// to 10 s between attempts; the budget starts afresh after every message.
fn forever() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(u32::MAX)
        .with_max_elapsed(Duration::MAX)
        .with_max_backoff(Duration::from_secs(10))
}

/// Whether a watch that failed with `code` should reconnect: the server or
/// the connection went away, not the request.
fn reconnects(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Unknown
            | Code::Internal
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
    )
}

impl FeedClient {
    pub(crate) fn new(client: Client) -> Self {
        FeedClient { client, reconnect: forever() }
    }

    /// This client with another reconnection budget for
    /// [`watch`](Self::watch) (by default it reconnects for as long as it
    /// takes, waiting up to 10 s): past it, the watch ends with the last
    /// error. The budget starts afresh after every message.
    #[must_use]
    pub fn with_reconnect(mut self, policy: RetryPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// One page of changes after `request.after_position`; resume from
    /// `next_position` (`caught_up` says whether anything more was readable).
    pub async fn list_changes(&self, request: pb::ListChangesRequest) -> Result<pb::ListChangesResponse> {
        self.client.call(request, rpc!(ChangeFeedServiceClient::list_changes)).await
    }

    /// Every change after `after`, then every change as it commits: a stream
    /// that never ends by itself. It reconnects when the connection or the
    /// server goes away (backing off with jitter) and resumes after
    /// the last item it delivered, so no change is delivered twice or
    /// skipped. It ends with an error only for a request the server refuses:
    /// an expired position ([`Error::cursor_expired`]), a bad filter, or
    /// missing permission.
    pub fn watch(&self, after: i64) -> BoxStream<'static, Result<FeedItem>> {
        self.watch_filtered(after, pb::ChangeFilter::default())
    }

    /// [`watch`](Self::watch) through `filter`.
    pub fn watch_filtered(&self, after: i64, filter: pb::ChangeFilter) -> BoxStream<'static, Result<FeedItem>> {
        let state = Watch {
            client: self.client.clone(),
            backoff: Backoff::new(self.reconnect),
            filter,
            position: after,
            stream: None,
            ready: VecDeque::new(),
            done: false,
        };
        Box::pin(stream::unfold(state, |mut watch| async move {
            let item = watch.next().await?;
            Some((item, watch))
        }))
    }
}

struct Watch {
    client: Client,
    backoff: Backoff,
    filter: pb::ChangeFilter,
    /// The position after the last item delivered.
    position: i64,
    stream: Option<tonic::Streaming<pb::WatchChangesResponse>>,
    /// Items received and not yet delivered.
    ready: VecDeque<FeedItem>,
    done: bool,
}

impl Watch {
    async fn next(&mut self) -> Option<Result<FeedItem>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                self.position = self.position.max(item.position());
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            let Some(stream) = self.stream.as_mut() else {
                let request =
                    pb::WatchChangesRequest { after_position: self.position, filter: Some(self.filter.clone()) };
                match self.client.call(request, rpc!(ChangeFeedServiceClient::watch_changes)).await {
                    Ok(stream) => self.stream = Some(stream),
                    Err(error) => {
                        if let Some(error) = self.failed(error).await {
                            return Some(Err(error));
                        }
                    }
                }
                continue;
            };
            match stream.message().await {
                Ok(Some(response)) => {
                    self.backoff.reset();
                    self.receive(response);
                }
                // The server ended the watch (it is shutting down): resume elsewhere.
                Ok(None) => {
                    self.stream = None;
                    if let Some(error) = self.failed(Error::from(tonic::Status::unavailable("watch ended"))).await {
                        return Some(Err(error));
                    }
                }
                Err(status) => {
                    self.stream = None;
                    if let Some(error) = self.failed(Error::from(status)).await {
                        return Some(Err(error));
                    }
                }
            }
        }
    }

    fn receive(&mut self, response: pb::WatchChangesResponse) {
        queue(&mut self.ready, self.position, response);
    }

    /// After a failure: waits and returns `None` to reconnect, or returns
    /// the error that ends the watch.
    async fn failed(&mut self, error: Error) -> Option<Error> {
        let delay = if reconnects(error.code()) {
            self.backoff.next_delay(error.retry_after().unwrap_or_default())
        } else {
            None
        };
        let Some(delay) = delay else {
            self.done = true;
            return Some(error);
        };
        tokio::time::sleep(delay).await;
        None
    }
}

/// Queues a message's changes after `position`, and a bookmark for any
/// position past them (events this reader may not see, or none at all).
fn queue(ready: &mut VecDeque<FeedItem>, position: i64, response: pb::WatchChangesResponse) {
    let mut last = ready.back().map_or(position, FeedItem::position);
    for change in response.changes {
        if change.position > last {
            last = change.position;
            ready.push_back(FeedItem::Change(Box::new(change)));
        }
    }
    if response.position > last {
        ready.push_back(FeedItem::Bookmark(response.position));
    }
}

impl Error {
    /// For an expired change-feed position (`FAILED_PRECONDITION`,
    /// `CURSOR_EXPIRED`): the oldest position the feed still resumes after.
    /// List again, then resume from the position the list gives.
    pub fn cursor_expired(&self) -> Option<i64> {
        (self.kind() == crate::ErrorKind::CursorExpired)
            .then(|| self.error_metadata("earliest_position").and_then(|p| p.parse().ok()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_of_the_connection_or_server_reconnect() {
        for code in [Code::Unavailable, Code::Unknown, Code::Internal, Code::Cancelled, Code::DeadlineExceeded] {
            assert!(reconnects(code), "{code:?}");
        }
        for code in [
            Code::FailedPrecondition,
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::Unauthenticated,
            Code::NotFound,
            Code::Unimplemented,
        ] {
            assert!(!reconnects(code), "{code:?}");
        }
    }

    #[test]
    fn bookmarks_follow_changes_only_when_the_position_moved_past_them() {
        let mut ready = VecDeque::new();
        let change = |position| pb::Change { position, ..Default::default() };
        // A replayed change at or below the position is not delivered again.
        queue(
            &mut ready,
            10,
            pb::WatchChangesResponse { changes: vec![change(9), change(11), change(12)], position: 12 },
        );
        queue(&mut ready, 10, pb::WatchChangesResponse { changes: vec![change(15)], position: 20 });
        queue(&mut ready, 10, pb::WatchChangesResponse { changes: vec![], position: 20 });
        queue(&mut ready, 10, pb::WatchChangesResponse { changes: vec![], position: 25 });
        let positions: Vec<(bool, i64)> =
            ready.iter().map(|item| (matches!(item, FeedItem::Change(_)), item.position())).collect();
        assert_eq!(positions, vec![(true, 11), (true, 12), (true, 15), (false, 20), (false, 25)]);
    }
}
