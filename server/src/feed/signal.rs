//! How this server's watchers learn that events committed here, without
//! polling: the newest transaction that wrote events, on the feed's scale.
//! Commits of other servers are found by polling (`FeedConfig::poll_ms`).

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone)]
pub struct FeedSignal {
    newest: Arc<watch::Sender<i64>>,
    /// Set when the server shuts down: watches end, so that the drain does
    /// not wait for streams that never end (their clients resume elsewhere).
    closing: Arc<watch::Sender<bool>>,
}

impl Default for FeedSignal {
    fn default() -> Self {
        FeedSignal { newest: Arc::new(watch::Sender::new(0)), closing: Arc::new(watch::Sender::new(false)) }
    }
}

impl FeedSignal {
    /// Transaction `xid` committed events.
    pub fn committed(&self, xid: i64) {
        self.newest.send_if_modified(|newest| {
            let newer = xid > *newest;
            if newer {
                *newest = xid;
            }
            newer
        });
    }

    /// A receiver that wakes on every newer commit.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.newest.subscribe()
    }

    /// Ends every watch of this server.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once the server shuts down.
    pub fn closing(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closing| *closing).await;
        }
    }
}
