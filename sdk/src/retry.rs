//! When a failed call is tried again, and how long to wait first:
//! [`RetryPolicy`], the errors worth retrying ([`transient_wait`]) and the
//! delays between attempts ([`Backoff`]).
//!
//! The pieces are separate so that other retry loops (a change-feed watch
//! that reconnects, say) reuse the same budget and delays as unary calls.

use std::time::{Duration, Instant};

use tonic::Code;

use crate::error::Error;

/// How the SDK retries calls that are safe to repeat.
///
/// A call is retried when it fails with `UNAVAILABLE` (the server or the
/// connection is down, or the server's database is, or the server sheds
/// load: a transient state), with `RESOURCE_EXHAUSTED` when the server said
/// how long to wait (a `google.rpc.RetryInfo` detail), or with `ABORTED`
/// `CONCURRENT_UPDATE` (the call collided with a concurrent one and the
/// server rolled it back: nothing changed). Nothing else is retried:
/// `ABORTED` for a stale etag and `FAILED_PRECONDITION` need the caller to
/// read again and decide, and every other code would fail the same way again.
///
/// Before each retry the client waits an exponentially growing delay with
/// full jitter (a random time between zero and `initial_backoff · 2ⁿ`,
/// capped at `max_backoff`), so that many clients failing together do not
/// return together; when the server sent `RetryInfo` the wait is at least
/// that long. A retry that would start after `max_elapsed` since the first
/// attempt is not made, and the last error is returned: a server asking for
/// an hour (the daily filing limit, say) is answered at once.
///
/// The default: at most 5 attempts within 15 seconds, delays from 100 ms
/// up to 5 s. [`RetryPolicy::none`] turns retries off.
///
/// ```
/// use std::time::Duration;
/// use petition_sdk::RetryPolicy;
///
/// let patient = RetryPolicy::default().with_max_attempts(10).with_max_elapsed(Duration::from_secs(60));
/// assert_eq!(patient.max_attempts(), 10);
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// Every call is made once.
    #[must_use]
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// Attempts in all, the first included (at least 1).
    #[must_use]
    pub fn with_max_attempts(self, max_attempts: u32) -> Self {
        RetryPolicy { max_attempts: max_attempts.max(1), ..self }
    }

    /// The cap of the first delay; each later one doubles it.
    #[must_use]
    pub fn with_initial_backoff(self, initial_backoff: Duration) -> Self {
        RetryPolicy { initial_backoff, ..self }
    }

    /// The largest delay the SDK chooses (the server's `RetryInfo` may ask
    /// for more).
    #[must_use]
    pub fn with_max_backoff(self, max_backoff: Duration) -> Self {
        RetryPolicy { max_backoff, ..self }
    }

    /// No retry starts later than this after the first attempt started.
    #[must_use]
    pub fn with_max_elapsed(self, max_elapsed: Duration) -> Self {
        RetryPolicy { max_elapsed, ..self }
    }

    /// Attempts in all, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The cap of the first delay.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest delay the SDK chooses.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The time after which no retry starts.
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// The cap of the delay before retry number `retry` (0 for the first):
    /// `initial_backoff · 2^retry`, at most `max_backoff`.
    pub(crate) fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
        self.initial_backoff.checked_mul(factor).map_or(self.max_backoff, |cap| cap.min(self.max_backoff))
    }
}

/// Whether `error` is transient, and if so the least time the server asked
/// to wait (zero when it did not say): `UNAVAILABLE` (connection failures
/// included, which tonic reports with that code), `RESOURCE_EXHAUSTED`
/// with a `RetryInfo`, and `ABORTED` `CONCURRENT_UPDATE` (rolled back, so
/// only ever asked of calls that are safe to repeat anyway). `None`: do not
/// retry.
pub(crate) fn transient_wait(error: &Error) -> Option<Duration> {
    let retry_after = error.retry_after();
    match error.code() {
        Code::Unavailable => Some(retry_after.unwrap_or_default()),
        Code::ResourceExhausted => retry_after,
        Code::Aborted if error.reason() == Some(CONCURRENT_UPDATE) => Some(retry_after.unwrap_or_default()),
        _ => None,
    }
}

/// The reason of an `ABORTED` the server rolled back for a collision with a
/// concurrent call (a serialization failure or a deadlock), not for an etag.
const CONCURRENT_UPDATE: &str = "CONCURRENT_UPDATE";

/// The delays between the attempts of one call (or one reconnecting
/// stream), within a [`RetryPolicy`]'s budget.
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    started: Instant,
    /// Retries granted so far.
    retries: u32,
}

impl Backoff {
    /// A budget starting now.
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Backoff { policy, started: Instant::now(), retries: 0 }
    }

    /// Starts the budget afresh, for a stream that made progress since its
    /// last failure.
    pub(crate) fn reset(&mut self) {
        self.retries = 0;
        self.started = Instant::now();
    }

    /// How long to wait before the next attempt, at least `floor` (the
    /// server's `RetryInfo`); `None` when the budget does not allow one.
    pub(crate) fn next_delay(&mut self, floor: Duration) -> Option<Duration> {
        let delay = next_delay(&self.policy, self.retries, floor, self.started.elapsed(), fastrand::f64())?;
        self.retries += 1;
        Some(delay)
    }
}

/// The delay before retry number `retry` (0 for the first) with `elapsed`
/// spent since the first attempt: `jitter` (uniform in `[0, 1)`) of the
/// backoff cap, at least `floor`; `None` past the attempts or time budget.
pub(crate) fn next_delay(
    policy: &RetryPolicy,
    retry: u32,
    floor: Duration,
    elapsed: Duration,
    jitter: f64,
) -> Option<Duration> {
    if retry.saturating_add(1) >= policy.max_attempts {
        return None;
    }
    let delay = policy.backoff_cap(retry).mul_f64(jitter.clamp(0.0, 1.0)).max(floor);
    (elapsed.saturating_add(delay) <= policy.max_elapsed).then_some(delay)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic_types::{ErrorDetails, StatusExt};

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(6)
            .with_initial_backoff(100 * MS)
            .with_max_backoff(1000 * MS)
            .with_max_elapsed(Duration::from_secs(10))
    }

    #[test]
    fn caps_double_up_to_the_maximum() {
        let caps: Vec<Duration> = (0..6).map(|retry| policy().backoff_cap(retry)).collect();
        assert_eq!(caps, [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]);
        // No overflow however many retries a stream makes.
        assert_eq!(policy().backoff_cap(u32::MAX), 1000 * MS);
        let huge = policy().with_initial_backoff(Duration::MAX).with_max_backoff(Duration::MAX);
        assert_eq!(huge.backoff_cap(40), Duration::MAX);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_cap() {
        let p = policy();
        assert_eq!(next_delay(&p, 2, Duration::ZERO, Duration::ZERO, 0.0), Some(Duration::ZERO));
        assert_eq!(next_delay(&p, 2, Duration::ZERO, Duration::ZERO, 0.5), Some(200 * MS));
        assert!(next_delay(&p, 2, Duration::ZERO, Duration::ZERO, 0.999_999).is_some_and(|d| d < 400 * MS));
        // Out-of-range jitter is clamped, never beyond the cap.
        assert_eq!(next_delay(&p, 2, Duration::ZERO, Duration::ZERO, 7.0), Some(400 * MS));
    }

    #[test]
    fn retry_info_is_a_floor() {
        let p = policy();
        assert_eq!(next_delay(&p, 0, 1500 * MS, Duration::ZERO, 0.3), Some(1500 * MS));
        // A jittered delay above the floor stands.
        assert_eq!(next_delay(&p, 3, 100 * MS, Duration::ZERO, 0.5), Some(400 * MS));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = policy();
        // Six attempts: five retries (0..=4), none after.
        assert!(next_delay(&p, 4, Duration::ZERO, Duration::ZERO, 0.5).is_some());
        assert_eq!(next_delay(&p, 5, Duration::ZERO, Duration::ZERO, 0.5), None);
        assert_eq!(next_delay(&RetryPolicy::none(), 0, Duration::ZERO, Duration::ZERO, 0.5), None);
        assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts(), 1);
    }

    #[test]
    fn no_retry_starts_after_the_time_budget() {
        let p = policy();
        assert_eq!(next_delay(&p, 0, Duration::ZERO, Duration::from_secs(9), 0.5), Some(50 * MS));
        assert_eq!(next_delay(&p, 0, Duration::ZERO, Duration::from_secs(10), 0.5), None);
        // The server asks for longer than is left: give up now, not later.
        assert_eq!(next_delay(&p, 0, Duration::from_secs(3600), Duration::ZERO, 0.5), None);
        assert_eq!(
            next_delay(&p, 0, Duration::from_secs(2), Duration::from_secs(8), 0.5),
            Some(Duration::from_secs(2))
        );
        assert_eq!(next_delay(&p, 0, Duration::MAX, Duration::MAX, 0.5), None);
    }

    #[test]
    fn backoff_counts_retries_and_resets() {
        let mut backoff = Backoff::new(policy().with_max_attempts(3));
        assert!(backoff.next_delay(Duration::ZERO).is_some_and(|d| d < 100 * MS));
        assert!(backoff.next_delay(Duration::ZERO).is_some_and(|d| d < 200 * MS));
        assert_eq!(backoff.next_delay(Duration::ZERO), None);
        backoff.reset();
        assert!(backoff.next_delay(5 * MS).is_some_and(|d| d >= 5 * MS && d < 100 * MS));
    }

    fn error(code: Code, retry_after: Option<Duration>) -> Error {
        let mut details = ErrorDetails::with_error_info("X", "petition.v1", HashMap::new());
        details.set_retry_info(retry_after);
        Error::from(tonic::Status::with_error_details(code, "x", details))
    }

    #[test]
    fn only_unavailable_paced_exhaustion_and_collisions_are_transient() {
        assert_eq!(transient_wait(&error(Code::Unavailable, None)), Some(Duration::ZERO));
        assert_eq!(transient_wait(&error(Code::Unavailable, Some(1000 * MS))), Some(1000 * MS));
        assert_eq!(
            transient_wait(&Error::from(tonic::Status::unavailable("connection refused"))),
            Some(Duration::ZERO)
        );
        assert_eq!(transient_wait(&error(Code::ResourceExhausted, Some(30 * MS))), Some(30 * MS));
        assert_eq!(transient_wait(&error(Code::ResourceExhausted, None)), None);
        let collided = ErrorDetails::with_error_info("CONCURRENT_UPDATE", "petition.v1", HashMap::new());
        let collided = Error::from(tonic::Status::with_error_details(Code::Aborted, "x", collided));
        assert_eq!(transient_wait(&collided), Some(Duration::ZERO), "rolled back: nothing changed");
        for code in [
            Code::Aborted,
            Code::FailedPrecondition,
            Code::Unknown,
            Code::Internal,
            Code::DeadlineExceeded,
            Code::Cancelled,
            Code::Unauthenticated,
            Code::InvalidArgument,
            Code::AlreadyExists,
            Code::NotFound,
        ] {
            assert_eq!(transient_wait(&error(code, Some(MS))), None, "{code:?}");
        }
        assert_eq!(transient_wait(&Error::invalid_response("missing field")), None);
    }
}
