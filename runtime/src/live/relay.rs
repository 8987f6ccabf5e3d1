//! Committed changes between processes (`REDIS_URL`): each process publishes the changes its
//! own writes committed on one Redis channel, `<APPC_REDIS_PREFIX>#appc-live#changes`, and
//! refreshes its own groups for the changes the other processes publish there. A change carries
//! table names, a deletion flag and owner ids: no row data crosses Redis.
//!
//! It rides on the socket adapter's [`RedisDriver`], so it shares its connection, its
//! reconnection and its ordered publish queue. Changes published while this process was cut off
//! from Redis are not replayed (Redis pub/sub keeps nothing): once Redis is back, every group of
//! this process is computed again, and pushed where its result changed.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use socketioxide_redis::drivers::Driver;
use tokio::sync::mpsc;

use crate::db::TableChange;
use crate::socket::RedisDriver;

/// How many changes may wait to be published before a commit waits for room.
const QUEUE_CAPACITY: usize = 4096;

/// One process's committed changes as they travel.
#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    /// The publishing process, which ignores its own messages (it applied them already).
    origin: String,
    changes: Vec<TableChange>,
}

/// Publishes this process's committed changes to the others.
#[derive(Debug, Clone)]
pub(crate) struct ChangeRelay {
    queue: mpsc::Sender<Vec<TableChange>>,
}

impl ChangeRelay {
    /// Subscribes to the deployment's channel (under `prefix`), hands every other process's
    /// changes to `apply`, and calls `catch_up` each time Redis is back after an outage (the
    /// changes published meanwhile are lost); returns the publishing side.
    pub(crate) async fn start(
        driver: RedisDriver,
        prefix: &str,
        apply: impl Fn(Vec<TableChange>) + Send + Sync + 'static,
        catch_up: impl Fn() + Send + Sync + 'static,
    ) -> Result<Self, redis::RedisError> {
        let mut reconnections = driver.reconnections();
        tokio::spawn(async move {
            while reconnections.changed().await.is_ok() {
                catch_up();
            }
        });
        let channel = format!("{prefix}#appc-live#changes");
        let origin = uuid::Uuid::new_v4().to_string();
        let mut incoming = driver.subscribe(channel.clone(), QUEUE_CAPACITY).await?;
        let own_origin = origin.clone();
        tokio::spawn(async move {
            while let Some((_, message)) = incoming.next().await {
                match serde_json::from_slice::<Relayed>(&message) {
                    Ok(relayed) if relayed.origin != own_origin => apply(relayed.changes),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "ignored a malformed live-query change from Redis");
                    }
                }
            }
        });
        let (queue, mut outgoing) = mpsc::channel::<Vec<TableChange>>(QUEUE_CAPACITY);
        tokio::spawn(async move {
            while let Some(changes) = outgoing.recv().await {
                let relayed = Relayed {
                    origin: origin.clone(),
                    changes,
                };
                match serde_json::to_vec(&relayed) {
                    Ok(message) => {
                        // The driver never fails a publish: while Redis is away it skips it.
                        let _ = driver.publish(channel.clone(), message).await;
                    }
                    Err(error) => {
                        tracing::error!(%error, "a live-query change could not be encoded")
                    }
                }
            }
        });
        Ok(ChangeRelay { queue })
    }

    /// Queues `changes` for the other processes, in commit order.
    pub(crate) fn publish(&self, changes: Vec<TableChange>) {
        match self.queue.try_send(changes) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(changes)) => {
                // Redis is slower than the commits: wait for room off the committing task
                // rather than lose a change the other processes' clients need.
                let queue = self.queue.clone();
                tokio::spawn(async move {
                    let _ = queue.send(changes).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}
