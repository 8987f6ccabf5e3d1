//! Login and signup throttling: a keyed GCRA rate limiter (governor) per client address and one
//! per username, so that neither one address guessing many passwords nor many addresses
//! guessing one user's password get more than a few attempts a minute. Excess attempts get 429
//! with `Retry-After` before any database lookup or password hash.
//!
//! Throttling per username also lets an attacker slow a known user's logins for as long as the
//! attack lasts; the allowance (`APPC_LOGIN_ATTEMPTS_PER_MINUTE`) keeps that a delay, not a
//! lock-out.
//!
//! Keys that have recovered their whole allowance are forgotten once a minute
//! ([`ForgetfulKeyedLimiter`]), so memory stays bounded by the keys of the last minute or so.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;

use crate::error::HttpError;
use crate::keyed_limiter::ForgetfulKeyedLimiter;
use crate::throttled_log::ThrottledLog;

/// Usernames longer than this are throttled by their first characters (no real username is
/// longer), so a key never holds more than this.
const USERNAME_KEY_CHARS: usize = 64;

#[derive(Debug)]
pub(crate) struct LoginThrottle {
    per_address: ForgetfulKeyedLimiter<IpAddr>,
    per_username: ForgetfulKeyedLimiter<String>,
    throttled_log: ThrottledLog,
}

impl LoginThrottle {
    pub(crate) fn new(per_username: NonZeroU32, per_address: NonZeroU32) -> LoginThrottle {
        LoginThrottle {
            per_address: ForgetfulKeyedLimiter::new(Quota::per_minute(per_address)),
            per_username: ForgetfulKeyedLimiter::new(Quota::per_minute(per_username)),
            throttled_log: ThrottledLog::new(Duration::from_secs(10)),
        }
    }

    /// Counts one attempt from `address` (the client's address key; `None` when the request did
    /// not come through the server's listener) for `username`, or refuses it with 429.
    pub(crate) fn check(&self, address: Option<IpAddr>, username: &str) -> Result<(), HttpError> {
        if let Some(address) = address
            && let Err(seconds) = self.per_address.check(&address)
        {
            return Err(self.refuse(seconds, "address"));
        }
        let username: String = username
            .chars()
            .take(USERNAME_KEY_CHARS)
            .flat_map(char::to_lowercase)
            .collect();
        if let Err(seconds) = self.per_username.check(&username) {
            return Err(self.refuse(seconds, "username"));
        }
        Ok(())
    }

    fn refuse(&self, seconds: u64, key: &str) -> HttpError {
        if let Some(refused) = self.throttled_log.note() {
            tracing::warn!(
                refused,
                "throttled login and signup attempts (too many for one {key}; APPC_LOGIN_ATTEMPTS_PER_MINUTE)"
            );
        }
        HttpError::too_many_requests(
            format!("too many login attempts; try again in {seconds} s"),
            seconds,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(number: u32) -> NonZeroU32 {
        NonZeroU32::new(number).unwrap()
    }

    #[test]
    fn a_username_gets_its_allowance_then_429_with_retry_after() {
        let throttle = LoginThrottle::new(limit(3), limit(100));
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            throttle.check(address, "Alice").unwrap();
        }
        let refused = throttle.check(address, "alice").unwrap_err();
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(refused.code(), "too_many_requests");
        assert_eq!(refused.retry_after(), Some(20));
        throttle.check(address, "bob").unwrap();
    }

    #[test]
    fn an_address_gets_its_allowance_across_usernames() {
        let throttle = LoginThrottle::new(limit(100), limit(2));
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        throttle.check(address, "a1").unwrap();
        throttle.check(address, "a2").unwrap();
        assert!(throttle.check(address, "a3").is_err());
        throttle
            .check(Some(IpAddr::from([10, 0, 0, 2])), "a3")
            .unwrap();
    }
}
