//! A keyed GCRA rate limiter (governor) that forgets, at most once a minute, the keys that have
//! recovered their whole allowance ([`ForgetfulKeyedLimiter`]), so its memory stays bounded by
//! the keys of the last minute or so. The operations' limit and the login throttle are built
//! on it; what a refusal means is theirs to say.

use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How often keys that have recovered their whole allowance are forgotten.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);

/// One allowance per key, with the keys that no longer need remembering dropped now and then.
#[derive(Debug)]
pub(crate) struct ForgetfulKeyedLimiter<Key: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<Key>,
    last_cleanup: Mutex<Instant>,
}

impl<Key: Hash + Eq + Clone> ForgetfulKeyedLimiter<Key> {
    /// Each key gets `quota`.
    pub(crate) fn new(quota: Quota) -> ForgetfulKeyedLimiter<Key> {
        ForgetfulKeyedLimiter {
            limiter: RateLimiter::hashmap(quota),
            last_cleanup: Mutex::new(Instant::now()),
        }
    }

    /// Counts one request of `key`, or refuses it with the whole seconds to wait before it would
    /// be let in: rounded up and at least one, so a client that waits that long gets in.
    pub(crate) fn check(&self, key: &Key) -> Result<(), u64> {
        self.forget_recovered_keys();
        let Err(not_until) = self.limiter.check_key(key) else {
            return Ok(());
        };
        let wait = not_until.wait_time_from(Instant::now());
        Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
    }

    /// The keys currently remembered, for the test that memory stays bounded.
    #[cfg(test)]
    fn remembered_keys(&self) -> usize {
        self.limiter.len()
    }

    /// Keeps the limiter's memory bounded by the keys seen in the last minute or so.
    fn forget_recovered_keys(&self) {
        let mut last_cleanup = self
            .last_cleanup
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last_cleanup.elapsed() < CLEANUP_INTERVAL {
            return;
        }
        *last_cleanup = Instant::now();
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limit(number: u32) -> NonZeroU32 {
        NonZeroU32::new(number).unwrap()
    }

    #[test]
    fn a_key_gets_its_burst_then_the_whole_seconds_to_wait() {
        let limiter = ForgetfulKeyedLimiter::new(Quota::per_minute(limit(3)));
        for _ in 0..3 {
            limiter.check(&"ada").unwrap();
        }
        // One attempt every 20 s: just under 20 s left, rounded up.
        assert_eq!(limiter.check(&"ada"), Err(20));
        limiter.check(&"bob").unwrap();
    }

    #[test]
    fn a_wait_under_a_second_is_one_second() {
        let limiter =
            ForgetfulKeyedLimiter::new(Quota::per_second(limit(100)).allow_burst(limit(1)));
        limiter.check(&1).unwrap();
        assert_eq!(limiter.check(&1), Err(1));
    }

    #[test]
    fn keys_that_recovered_their_allowance_are_forgotten() {
        let limiter = ForgetfulKeyedLimiter::new(Quota::per_second(limit(1_000)));
        for key in 0..100 {
            limiter.check(&key).unwrap();
        }
        assert_eq!(limiter.remembered_keys(), 100);
        std::thread::sleep(Duration::from_millis(20));
        *limiter.last_cleanup.lock().unwrap() = Instant::now() - CLEANUP_INTERVAL;
        limiter.check(&1_000).unwrap();
        assert_eq!(limiter.remembered_keys(), 1);
    }
}
