//! Sign-in throttling: after `max_failures` failed attempts within a window,
//! further attempts for the same account key or client address are refused
//! until the lockout ends. Counted in the database so every replica agrees.
//! The rules are pure; `store` persists [`ThrottleRow`]s.

use chrono::{DateTime, Duration, Utc};

use super::model::ThrottleRow;

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_failures: u32,
    /// Both the counting window and the lockout length.
    pub window: Duration,
}

/// How long the key is still locked out, if it is.
pub fn blocked_for(row: Option<&ThrottleRow>, now: DateTime<Utc>) -> Option<Duration> {
    row.and_then(|row| row.blocked_until).filter(|until| *until > now).map(|until| until - now)
}

/// The row after one more failure at `now`.
pub fn record_failure(row: Option<ThrottleRow>, key: &str, policy: ThrottlePolicy, now: DateTime<Utc>) -> ThrottleRow {
    let mut row = match row {
        Some(row) if now - row.window_start < policy.window => row,
        _ => ThrottleRow { key: key.to_owned(), failures: 0, window_start: now, blocked_until: None },
    };
    row.failures = row.failures.saturating_add(1);
    if row.failures as u32 >= policy.max_failures {
        row.blocked_until = Some(now + policy.window);
        // The next failure after the lockout starts a fresh count.
        row.window_start = now;
        row.failures = 0;
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy { max_failures: 3, window: Duration::minutes(5) };

    #[test]
    fn locks_after_max_failures_within_the_window() {
        let t0 = Utc::now();
        let mut row = None;
        for i in 0..2 {
            let next = record_failure(row, "k", POLICY, t0 + Duration::seconds(i));
            assert_eq!(blocked_for(Some(&next), t0 + Duration::seconds(i)), None);
            row = Some(next);
        }
        let locked = record_failure(row, "k", POLICY, t0 + Duration::seconds(2));
        assert_eq!(blocked_for(Some(&locked), t0 + Duration::seconds(2)), Some(Duration::minutes(5)));
        assert_eq!(blocked_for(Some(&locked), t0 + Duration::seconds(62)), Some(Duration::seconds(240)));
        assert_eq!(blocked_for(Some(&locked), t0 + Duration::minutes(6)), None);
    }

    #[test]
    fn failures_outside_the_window_start_over() {
        let t0 = Utc::now();
        let two = record_failure(Some(record_failure(None, "k", POLICY, t0)), "k", POLICY, t0);
        assert_eq!(two.failures, 2);
        let later = record_failure(Some(two), "k", POLICY, t0 + Duration::minutes(10));
        assert_eq!(later.failures, 1);
        assert_eq!(blocked_for(Some(&later), t0 + Duration::minutes(10)), None);
    }

    #[test]
    fn no_row_is_not_blocked() {
        assert_eq!(blocked_for(None, Utc::now()), None);
    }
}
