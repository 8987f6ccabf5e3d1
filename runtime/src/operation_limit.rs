//! The per-client rate limit of queries, actions and apis ([`OperationLimiter`]): a keyed GCRA
//! rate limiter (governor), keyed by the user when the request carries a valid token and by
//! the client's address otherwise, so that one user's tabs share an allowance and anonymous
//! callers (or callers with a bad token) share their address's. A request over it gets
//! `429 rate_limited` with `Retry-After` before its body is read or the team's function runs.
//!
//! The keys of clients that have recovered their whole allowance are forgotten once a minute,
//! so memory stays bounded by the clients of the last minute or so.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::UserId;
use crate::error::HttpError;
use crate::throttled_log::ThrottledLog;

/// How often keys that have recovered their whole allowance are forgotten.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);

/// Whose allowance a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// The user of a valid token, whatever address they call from.
    User(UserId),
    /// A caller without a valid token, by its address key (an IPv4 address or an IPv6 /64; see
    /// [`crate::connections::client_address_key`]).
    Address(IpAddr),
}

/// The rate limit of queries, actions and apis, shared by every request of the server.
#[derive(Debug)]
pub(crate) struct OperationLimiter {
    limiter: DefaultKeyedRateLimiter<ClientKey>,
    last_cleanup: Mutex<Instant>,
    throttled_log: ThrottledLog,
}

impl OperationLimiter {
    /// `per_second` requests a second sustained, `burst` at once.
    pub(crate) fn new(per_second: NonZeroU32, burst: NonZeroU32) -> OperationLimiter {
        OperationLimiter {
            limiter: RateLimiter::hashmap(Quota::per_second(per_second).allow_burst(burst)),
            last_cleanup: Mutex::new(Instant::now()),
            throttled_log: ThrottledLog::new(Duration::from_secs(10)),
        }
    }

    /// Counts one request of `key`, or refuses it with 429 `rate_limited`.
    pub(crate) fn check(&self, key: ClientKey) -> Result<(), HttpError> {
        self.forget_recovered_keys();
        let Err(not_until) = self.limiter.check_key(&key) else {
            return Ok(());
        };
        if let Some(refused) = self.throttled_log.note() {
            tracing::warn!(
                refused,
                "rate-limited queries, actions and apis (APPC_OPERATIONS_PER_SECOND, APPC_OPERATION_BURST)"
            );
        }
        let wait = not_until.wait_time_from(Instant::now());
        // Whole seconds, rounded up and at least one, so a client that waits that long gets in.
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        Err(HttpError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this client; try again in {seconds} s"),
        )
        .with_retry_after(seconds))
    }

    /// The clients currently remembered, for the test that memory stays bounded.
    #[cfg(test)]
    fn remembered_clients(&self) -> usize {
        self.limiter.len()
    }

    /// Keeps the limiter's memory bounded by the clients seen in the last minute or so.
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
    use super::*;

    fn limit(number: u32) -> NonZeroU32 {
        NonZeroU32::new(number).unwrap()
    }

    #[test]
    fn a_client_gets_its_burst_then_429_rate_limited_with_retry_after() {
        let limiter = OperationLimiter::new(limit(1), limit(3));
        let ada = ClientKey::User(UserId::Int(1));
        for _ in 0..3 {
            limiter.check(ada.clone()).unwrap();
        }
        let refused = limiter.check(ada).unwrap_err();
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!(refused.retry_after(), Some(1));
        // Another user, and an anonymous caller, have their own allowance.
        limiter.check(ClientKey::User(UserId::Int(2))).unwrap();
        limiter
            .check(ClientKey::Address(IpAddr::from([10, 0, 0, 1])))
            .unwrap();
    }

    #[test]
    fn clients_that_recovered_their_allowance_are_forgotten() {
        let limiter = OperationLimiter::new(limit(1_000), limit(1));
        for address in 0..100u8 {
            limiter
                .check(ClientKey::Address(IpAddr::from([10, 0, 0, address])))
                .unwrap();
        }
        assert_eq!(limiter.remembered_clients(), 100);
        std::thread::sleep(Duration::from_millis(20));
        *limiter.last_cleanup.lock().unwrap() = Instant::now() - CLEANUP_INTERVAL;
        limiter.check(ClientKey::User(UserId::Int(1))).unwrap();
        assert_eq!(limiter.remembered_clients(), 1);
    }
}
