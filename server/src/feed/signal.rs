//! How this server's watchers learn that events committed here, without
//! polling: the newest transaction that wrote events, on the feed's scale.
//! Commits of other servers are found by polling (`FeedConfig::poll_ms`).

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone)]
pub struct FeedSignal {
    newest: Arc<watch::Sender<i64>>,
}

impl Default for FeedSignal {
    fn default() -> Self {
        FeedSignal { newest: Arc::new(watch::Sender::new(0)) }
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
}
