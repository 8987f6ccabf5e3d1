//! Password hashing with bounded memory: argon2id runs on the blocking threads, at most
//! `APPC_HASH_CONCURRENCY` hashes at once, each in a working memory taken from a small pool that
//! is reused instead of allocated per hash.
//!
//! One argon2id hash needs 19 MiB. Allocated per call, 64 concurrent logins took 1.2 GB that the
//! allocator kept after they finished; with the cap and the pool the server holds at most
//! `concurrency x 19 MiB` for hashing, for good. A request that finds every slot taken waits up
//! to `APPC_HASH_WAIT_SECS` and then gets 503 with `Retry-After`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::http::StatusCode;
use tokio::sync::Semaphore;

use crate::error::HttpError;
use crate::throttled_log::ThrottledLog;

/// The hashing slots and the working memories they use.
#[derive(Debug)]
pub(crate) struct PasswordHashing {
    slots: Arc<Semaphore>,
    memories: Arc<Mutex<Vec<Vec<Block>>>>,
    wait: Duration,
    busy_log: ThrottledLog,
}

impl PasswordHashing {
    /// At most `concurrency` hashes at once; a request waits up to `wait` for a slot.
    pub(crate) fn new(concurrency: usize, wait: Duration) -> PasswordHashing {
        PasswordHashing {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            memories: Arc::new(Mutex::new(Vec::new())),
            wait,
            busy_log: ThrottledLog::new(Duration::from_secs(10)),
        }
    }

    /// Hashes a password with argon2id (m = 19 MiB, t = 2, p = 1) and a fresh random salt, in
    /// the PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub(crate) async fn hash(&self, password: String) -> Result<String, HttpError> {
        self.run(move |memory| hash_with_memory(password.as_bytes(), memory))
            .await?
    }

    /// Verifies a password against a stored hash. Without a stored hash it verifies against a
    /// dummy one and fails, so that an unknown username costs the same time as a wrong password.
    pub(crate) async fn verify(
        &self,
        password: String,
        stored_hash: Option<String>,
    ) -> Result<bool, HttpError> {
        self.run(move |memory| match stored_hash {
            Some(stored_hash) => verify_with_memory(password.as_bytes(), &stored_hash, memory),
            None => {
                let dummy = dummy_hash(memory);
                let _ = verify_with_memory(password.as_bytes(), dummy, memory);
                false
            }
        })
        .await
    }

    /// Runs `work` on a blocking thread once a slot is free, with a working memory of the pool.
    async fn run<Work, Output>(&self, work: Work) -> Result<Output, HttpError>
    where
        Work: FnOnce(&mut Vec<Block>) -> Output + Send + 'static,
        Output: Send + 'static,
    {
        let slot = match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            // The semaphore is never closed; a timeout means every slot stayed busy.
            Ok(Err(_)) | Err(_) => {
                if let Some(refused) = self.busy_log.note() {
                    tracing::warn!(
                        refused,
                        "password hashing is at its limit (APPC_HASH_CONCURRENCY); refused signups and logins with 503"
                    );
                }
                return Err(busy(self.wait));
            }
        };
        let memories = self.memories.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = lock(&memories).pop().unwrap_or_default();
            let output = work(&mut memory);
            lock(&memories).push(memory);
            drop(slot);
            output
        })
        .await
        .map_err(HttpError::internal)
    }
}

fn lock(memories: &Mutex<Vec<Vec<Block>>>) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
    // A panic while the lock is held cannot leave the list of buffers inconsistent.
    memories
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn busy(wait: Duration) -> HttpError {
    let retry_after = wait.as_secs().max(1);
    HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_busy",
        format!("the server is busy checking other passwords; try again in {retry_after} s"),
    )
    .with_retry_after(retry_after)
}

/// The parameters every new hash uses: argon2id, version 0x13, m = 19 MiB, t = 2, p = 1, the
/// OWASP-recommended minimum.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Grows `memory` to what `argon2` needs; it keeps that size for the next hash.
fn memory_for<'memory>(params: &Params, memory: &'memory mut Vec<Block>) -> &'memory mut [Block] {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

fn hash_with_memory(password: &[u8], memory: &mut Vec<Block>) -> Result<String, HttpError> {
    let internal = |error: &dyn std::fmt::Display| HttpError::internal(error);
    let mut salt_bytes = [0_u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|error| internal(&error))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|error| internal(&error))?;
    let params = Params::default();
    let argon2 = argon2();
    let mut output = [0_u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(
            password,
            &salt_bytes,
            &mut output,
            memory_for(&params, memory),
        )
        .map_err(|error| internal(&error))?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|error| internal(&error))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|error| internal(&error))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches `stored_hash` (any argon2 PHC string); the comparison of the
/// outputs takes constant time.
fn verify_with_memory(password: &[u8], stored_hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored_hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_buffer = [0_u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut output = vec![0_u8; expected.len()];
    let computed = argon2.hash_password_into_with_memory(
        password,
        salt_bytes,
        &mut output,
        memory_for(&params, memory),
    );
    computed.is_ok() && Output::new(&output).is_ok_and(|output| output == expected)
}

/// A valid hash of a random password, verified against when a username does not exist.
fn dummy_hash(memory: &mut Vec<Block>) -> &'static str {
    static DUMMY_HASH: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY_HASH.get() {
        return hash;
    }
    let mut random = [0_u8; 16];
    let _ = getrandom::fill(&mut random);
    let hash = hash_with_memory(&random, memory).unwrap_or_default();
    DUMMY_HASH.get_or_init(|| hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[test]
    fn hashes_are_standard_argon2id_strings_that_verify() {
        let mut memory = Vec::new();
        let hash = hash_with_memory(b"correct horse", &mut memory).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        // The argon2 crate's own verifier agrees, so existing and new hashes are interchangeable.
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(verify_with_memory(b"correct horse", &hash, &mut memory));
        assert!(!verify_with_memory(b"wrong horse", &hash, &mut memory));
        assert!(!verify_with_memory(
            b"correct horse",
            "not a hash",
            &mut memory
        ));
        assert_eq!(memory.len(), Params::default().block_count());
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_verify() {
        use argon2::PasswordHasher;
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let hash = Argon2::default()
            .hash_password(b"an older password", &salt)
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(verify_with_memory(b"an older password", &hash, &mut memory));
        assert!(!verify_with_memory(b"another password", &hash, &mut memory));
    }

    #[tokio::test]
    async fn excess_hashes_wait_then_get_503_with_retry_after() {
        let hashing = PasswordHashing::new(1, Duration::ZERO);
        let held = hashing.slots.clone().acquire_owned().await.unwrap();
        let error = hashing.hash("long enough".to_owned()).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.code(), "server_busy");
        assert_eq!(error.retry_after(), Some(1));
        drop(held);
        let hash = hashing.hash("long enough".to_owned()).await.unwrap();
        assert!(
            hashing
                .verify("long enough".to_owned(), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("long enough".to_owned(), None)
                .await
                .unwrap()
        );
    }
}
