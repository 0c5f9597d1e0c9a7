//! Throttling of attempts that reveal or guess something: failed sign-ins
//! (per login name and client address, per login name, per address) and
//! registrations (per address). After `max_failures` counted attempts
//! within a window, further attempts for the key are refused until the
//! lockout ends; each lockout in a row lasts twice the one before, up to a
//! maximum, and a quiet spell as long as that maximum starts over. Counted
//! in the database so every replica agrees. The rules are pure; `store`
//! persists [`ThrottleRow`]s.

use chrono::{DateTime, Duration, Utc};

use super::model::ThrottleRow;

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Counted attempts that lock the key; 0: never locked.
    pub max_failures: u32,
    /// Both the counting window and the first lockout's length.
    pub window: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
}

/// How long the key is still locked out, if it is.
pub fn blocked_for(row: Option<&ThrottleRow>, now: DateTime<Utc>) -> Option<Duration> {
    row.and_then(|row| row.blocked_until).filter(|until| *until > now).map(|until| until - now)
}

/// The length of lockout number `lockouts` (1 for the first) in a row.
fn lockout_length(policy: ThrottlePolicy, lockouts: i32) -> Duration {
    let doublings = u32::try_from(lockouts.saturating_sub(1)).unwrap_or(0).min(30);
    policy.window.checked_mul(1 << doublings).map_or(policy.max_lockout, |length| length.min(policy.max_lockout))
}

/// The row after one more counted attempt at `now`.
pub fn record_failure(row: Option<ThrottleRow>, key: &str, policy: ThrottlePolicy, now: DateTime<Utc>) -> ThrottleRow {
    // Lockouts in a row are remembered until the key has been quiet (no
    // lockout, no counted attempt) for as long as the longest lockout.
    let lockouts = row
        .as_ref()
        .filter(|row| now - row.blocked_until.unwrap_or(row.window_start).max(row.window_start) < policy.max_lockout)
        .map_or(0, |row| row.lockouts);
    let mut row = match row {
        Some(row) if now - row.window_start < policy.window => ThrottleRow { lockouts, ..row },
        _ => ThrottleRow { key: key.to_owned(), failures: 0, window_start: now, blocked_until: None, lockouts },
    };
    row.failures = row.failures.saturating_add(1);
    if policy.max_failures > 0 && row.failures as u32 >= policy.max_failures {
        row.lockouts = row.lockouts.saturating_add(1);
        row.blocked_until = Some(now + lockout_length(policy, row.lockouts));
        // The next failure after the lockout starts a fresh count.
        row.window_start = now;
        row.failures = 0;
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy =
        ThrottlePolicy { max_failures: 3, window: Duration::minutes(5), max_lockout: Duration::minutes(60) };

    fn fail_times(mut row: Option<ThrottleRow>, n: u32, at: DateTime<Utc>) -> ThrottleRow {
        for _ in 0..n {
            row = Some(record_failure(row, "k", POLICY, at));
        }
        row.unwrap_or_else(|| panic!("no failures recorded"))
    }

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
    fn each_lockout_in_a_row_doubles_up_to_the_maximum() {
        let mut at = Utc::now();
        let mut row = None;
        let mut lengths = Vec::new();
        for _ in 0..6 {
            let locked = fail_times(row, 3, at);
            let length = blocked_for(Some(&locked), at).unwrap_or_default();
            lengths.push(length.num_minutes());
            at += length;
            row = Some(locked);
        }
        assert_eq!(lengths, vec![5, 10, 20, 40, 60, 60]);
        // A quiet spell as long as the longest lockout starts over.
        let later = at + Duration::minutes(61);
        let fresh = fail_times(row, 3, later);
        assert_eq!(blocked_for(Some(&fresh), later), Some(Duration::minutes(5)));
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
    fn no_limit_never_locks() {
        let unlimited = ThrottlePolicy { max_failures: 0, ..POLICY };
        let t0 = Utc::now();
        let mut row = None;
        for _ in 0..100 {
            row = Some(record_failure(row, "k", unlimited, t0));
        }
        assert_eq!(blocked_for(row.as_ref(), t0), None);
    }

    #[test]
    fn no_row_is_not_blocked() {
        assert_eq!(blocked_for(None, Utc::now()), None);
    }
}
