//! A throwaway Redis per test (`tests/support/start-redis.sh` on a free port, stopped when
//! dropped). Redis pub/sub channels are global to a Redis server, so tests that run at the same
//! time on one shared Redis would hear each other's broadcasts; each multi-process test starts
//! its own instead.

#![allow(
    dead_code,
    reason = "each test binary that includes these helpers uses a different part of them"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A throwaway Redis on a free port, stopped when dropped.
pub struct ThrowawayRedis {
    pub url: String,
}

impl ThrowawayRedis {
    /// Starts one; panics (with the script's output) when redis-server cannot be started.
    pub fn start() -> ThrowawayRedis {
        let output = Command::new("bash")
            .arg(repository_root().join("tests/support/start-redis.sh"))
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "tests/support/start-redis.sh failed (the multi-process tests need Debian's redis-server):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        ThrowawayRedis {
            url: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        }
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repository_root().join("tests/support/stop-redis.sh"))
            .arg(&self.url)
            .status();
    }
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate is inside the workspace")
        .to_path_buf()
}
