//! What a several-process test stands on: a fresh PostgreSQL database and a Redis of its own.
//! Included next to `databases.rs` and `redis.rs`, whose helpers it combines.

use crate::databases;
use crate::redis::ThrowawayRedis;

/// A fresh PostgreSQL database for the test and a throwaway Redis of its own (a Redis shared with
/// tests running at the same time would carry their broadcasts too), or `None` (after saying so)
/// when PostgreSQL is not configured; panics in CI, where a skipped test would pass by checking
/// nothing.
pub fn postgres_and_redis(
    runtime: &tokio::runtime::Runtime,
    label: &str,
) -> Option<(String, ThrowawayRedis)> {
    if !std::env::var("APPC_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
        let message = "this test needs APPC_TEST_POSTGRES_URL \
                       (tests/support/start-postgres.sh prints it; scripts/test.sh sets it)";
        assert!(!in_ci, "{message}, and CI is set");
        eprintln!("\n==========\nSKIPPED: {message}\n==========\n");
        return None;
    }
    let database_url = databases::fresh_postgres_url(runtime, label)?;
    Some((database_url, ThrowawayRedis::start()))
}
