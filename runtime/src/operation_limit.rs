//! The per-client rate limit of queries, actions and apis ([`OperationLimiter`]): a keyed GCRA
//! rate limiter (governor), keyed by the user when the request carries a valid token and by
//! the client's address otherwise, so that one user's tabs share an allowance and anonymous
//! callers (or callers with a bad token) share their address's. A request over it gets
//! `429 rate_limited` with `Retry-After` before its body is read or the team's function runs.
//!
//! The keys of clients that have recovered their whole allowance are forgotten once a minute
//! ([`ForgetfulKeyedLimiter`]), so memory stays bounded by the clients of the last minute or so.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;

use crate::auth::UserId;
use crate::error::HttpError;
use crate::keyed_limiter::ForgetfulKeyedLimiter;
use crate::throttled_log::ThrottledLog;

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
    limiter: ForgetfulKeyedLimiter<ClientKey>,
    throttled_log: ThrottledLog,
}

impl OperationLimiter {
    /// `per_second` requests a second sustained, `burst` at once.
    pub(crate) fn new(per_second: NonZeroU32, burst: NonZeroU32) -> OperationLimiter {
        OperationLimiter {
            limiter: ForgetfulKeyedLimiter::new(Quota::per_second(per_second).allow_burst(burst)),
            throttled_log: ThrottledLog::new(Duration::from_secs(10)),
        }
    }

    /// Counts one request of `key`, or refuses it with 429 `rate_limited`.
    pub(crate) fn check(&self, key: ClientKey) -> Result<(), HttpError> {
        let Err(seconds) = self.limiter.check(&key) else {
            return Ok(());
        };
        if let Some(refused) = self.throttled_log.note() {
            tracing::warn!(
                refused,
                "rate-limited queries, actions and apis (APPC_OPERATIONS_PER_SECOND, APPC_OPERATION_BURST)"
            );
        }
        Err(HttpError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this client; try again in {seconds} s"),
        )
        .with_retry_after(seconds))
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
}
