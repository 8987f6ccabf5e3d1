//! The Redis of the runtime's own unit tests: `APPC_TEST_REDIS_URL`
//! (`tests/support/start-redis.sh`). Tests that need it are skipped when it is unset, except
//! under `CI`, where a skipped test would hide a failure.

/// The test Redis's url, or `None` (after saying so) when none is configured outside CI.
pub(crate) fn redis_url() -> Option<String> {
    match std::env::var("APPC_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("APPC_TEST_REDIS_URL is not set; start Redis with tests/support/start-redis.sh")
        }
        _ => {
            eprintln!("skipped: set APPC_TEST_REDIS_URL (tests/support/start-redis.sh) to run it");
            None
        }
    }
}
