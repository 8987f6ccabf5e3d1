//! The pub/sub driver that carries socketioxide-redis's messages (`REDIS_URL`): one RESP3
//! connection of the `redis` crate's reconnecting [`ConnectionManager`], plus what keeps a
//! process serving its own sockets while Redis is away.
//!
//! socketioxide-redis publishes a broadcast to Redis *before* it delivers it to the local
//! sockets, and gives up on the local delivery when the publish fails. Its bundled driver holds
//! one plain connection, which a Redis restart breaks for good. This driver instead:
//! - knows whether Redis is reachable ([`RedisHealth`]): while it is not, a publish is skipped
//!   at once (returning `Ok`), so local delivery goes on without waiting for a reconnect, and
//!   the server count is this process alone, so an acknowledged broadcast collects the local
//!   acks only;
//! - logs the outage once when it starts and once when it ends, never per message;
//! - pings Redis every [`HEALTH_CHECK_INTERVAL`] (the ping also makes the manager reconnect), and
//!   the manager subscribes again to every channel once it is back, so messages from the other
//!   processes flow again without a restart.
//!
//! Messages published by other processes while this one was cut off are not replayed: Redis
//! pub/sub keeps nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

/// How often the driver checks that Redis answers, and so how soon after Redis is back the
/// cross-process messages flow again.
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How long one connection attempt, or one command, may take before Redis counts as away.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

type ChannelSenders = HashMap<String, mpsc::Sender<ChanItem>>;

/// The Redis driver of the socket adapter; clones share one connection.
#[derive(Clone)]
pub struct RedisDriver {
    connection: ConnectionManager,
    channels: Arc<RwLock<ChannelSenders>>,
    health: Arc<RedisHealth>,
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RedisDriver")
            .field("reachable", &self.health.is_reachable())
            .finish_non_exhaustive()
    }
}

/// Why the server could not start with `REDIS_URL` set.
#[derive(Debug, thiserror::Error)]
pub enum RedisConnectError {
    /// The url did not parse as a Redis url.
    #[error("REDIS_URL is not a valid Redis url: {0}; it must look like redis://HOST:6379")]
    InvalidUrl(redis::RedisError),
    /// Redis did not answer.
    #[error(
        "cannot reach Redis at REDIS_URL ({url}): {source}; start Redis (7 or newer) there, or unset REDIS_URL to serve from this one process alone"
    )]
    Unreachable {
        /// The url with its password hidden.
        url: String,
        /// What the connection attempt said.
        source: redis::RedisError,
    },
}

impl RedisDriver {
    /// Connects to `url` with RESP3 (which Redis 7 speaks, and pub/sub on a shared connection
    /// needs) and starts the health check. Fails when Redis does not answer now: a server that
    /// started without it would silently be a separate app from its peers.
    pub async fn connect(url: &str, shown_url: &str) -> Result<Self, RedisConnectError> {
        let client = redis::Client::open(with_resp3(url)).map_err(RedisConnectError::InvalidUrl)?;
        let channels: Arc<RwLock<ChannelSenders>> = Arc::default();
        let health = Arc::new(RedisHealth::default());
        let push_channels = channels.clone();
        let push_health = health.clone();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            // One attempt per reconnect: the health check below retries every second, and a
            // publish never waits through a series of backed-off attempts.
            .set_number_of_retries(0)
            .set_push_sender(move |push: PushInfo| {
                if push.kind == PushKind::Disconnection {
                    push_health.lost("the connection was closed");
                } else {
                    deliver(push, &push_channels);
                }
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription();
        let unreachable = |source| RedisConnectError::Unreachable {
            url: shown_url.to_owned(),
            source,
        };
        let mut connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unreachable)?;
        redis::cmd("PING")
            .query_async::<()>(&mut connection)
            .await
            .map_err(unreachable)?;
        let driver = RedisDriver {
            connection,
            channels,
            health,
        };
        tokio::spawn(check_health(
            driver.connection.clone(),
            driver.health.clone(),
        ));
        Ok(driver)
    }

    /// Whether Redis answered the last command or health check.
    pub fn is_reachable(&self) -> bool {
        self.health.is_reachable()
    }
}

/// Adds `protocol=resp3` to a url that does not choose a protocol.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

/// Hands a pub/sub message to the adapter's stream for its channel.
fn deliver(push: PushInfo, channels: &RwLock<ChannelSenders>) {
    if !matches!(push.kind, PushKind::Message) || push.data.len() < 2 {
        return;
    }
    let mut data = push.data.into_iter();
    let (Some(channel), Some(message)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(channel), Ok(message)) = (
        redis::from_redis_value::<String>(channel),
        redis::from_redis_value::<Vec<u8>>(message),
    ) else {
        tracing::debug!("ignored a Redis message that is not a channel and bytes");
        return;
    };
    let channels = channels
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(sender) = channels.get(&channel)
        && let Err(error) = sender.try_send((channel, message))
    {
        // The adapter reads its stream without waiting on sockets, so a full buffer means this
        // process is overloaded; the message is lost for its sockets, as Redis pub/sub would.
        tracing::warn!(%error, "dropped a message from Redis: the adapter's buffer is full");
    }
}

/// Pings Redis every [`HEALTH_CHECK_INTERVAL`] for the life of the runtime: a failed ping marks
/// the outage, a ping that succeeds again ends it (the manager reconnected and subscribed again
/// on the way).
async fn check_health(mut connection: ConnectionManager, health: Arc<RedisHealth>) {
    let mut interval = tokio::time::interval(HEALTH_CHECK_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match redis::cmd("PING").query_async::<()>(&mut connection).await {
            Ok(()) => health.back(),
            Err(error) => health.lost(&error.to_string()),
        }
    }
}

/// Whether Redis is reachable, and since when it is not; each change is logged once.
#[derive(Debug)]
struct RedisHealth {
    reachable: AtomicBool,
    lost_at: std::sync::Mutex<Option<Instant>>,
}

impl Default for RedisHealth {
    fn default() -> Self {
        RedisHealth {
            reachable: AtomicBool::new(true),
            lost_at: std::sync::Mutex::new(None),
        }
    }
}

impl RedisHealth {
    fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Acquire)
    }

    fn lost(&self, reason: &str) {
        if self.reachable.swap(false, Ordering::AcqRel) {
            *self
                .lost_at
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
            tracing::error!(
                reason,
                "lost the connection to Redis: this process keeps serving its own sockets, but its broadcasts do not reach the other processes until Redis is back; reconnecting every second"
            );
        }
    }

    fn back(&self) {
        if !self.reachable.swap(true, Ordering::AcqRel) {
            let lost_at = self
                .lost_at
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            let seconds = lost_at.map_or(0.0, |lost_at| lost_at.elapsed().as_secs_f64());
            tracing::warn!(
                outage_seconds = format!("{seconds:.1}"),
                "reconnected to Redis: broadcasts reach the other processes again"
            );
        }
    }
}

impl Driver for RedisDriver {
    type Error = redis::RedisError;

    async fn publish(&self, channel: String, message: Vec<u8>) -> Result<(), Self::Error> {
        if !self.health.is_reachable() {
            // Logged once when the outage began; the local sockets still get the broadcast.
            return Ok(());
        }
        let mut connection = self.connection.clone();
        if let Err(error) = connection
            .publish::<_, _, redis::Value>(channel, message)
            .await
        {
            self.health.lost(&error.to_string());
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        channel: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (sender, receiver) = mpsc::channel(size);
        // Registered first: Redis may deliver a message before SUBSCRIBE's reply arrives.
        self.channels
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(channel.clone(), sender);
        self.connection.clone().subscribe(channel.as_str()).await?;
        Ok(MessageStream::new(receiver))
    }

    async fn unsubscribe(&self, channel: String) -> Result<(), Self::Error> {
        self.channels
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&channel);
        if self.health.is_reachable() {
            self.connection.clone().unsubscribe(channel).await?;
        }
        Ok(())
    }

    async fn num_serv(&self, channel: &str) -> Result<u16, Self::Error> {
        if !self.health.is_reachable() {
            return Ok(1);
        }
        let mut connection = self.connection.clone();
        let counted: Result<(String, u16), _> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut connection)
            .await;
        match counted {
            Ok((_, count)) => Ok(count),
            Err(error) => {
                self.health.lost(&error.to_string());
                Ok(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp3_is_asked_for_unless_the_url_chooses_a_protocol() {
        assert_eq!(
            with_resp3("redis://cache:6379"),
            "redis://cache:6379?protocol=resp3"
        );
        assert_eq!(
            with_resp3("redis://cache:6379/0?db=1"),
            "redis://cache:6379/0?db=1&protocol=resp3"
        );
        assert_eq!(
            with_resp3("redis://cache:6379?protocol=resp3"),
            "redis://cache:6379?protocol=resp3"
        );
    }

    #[test]
    fn messages_reach_the_stream_of_their_channel_only() {
        let channels = RwLock::new(ChannelSenders::new());
        let (sender, mut receiver) = mpsc::channel(1);
        channels
            .write()
            .unwrap()
            .insert("socket.io-request#/#".to_owned(), sender);
        let message = |channel: &str| PushInfo {
            kind: PushKind::Message,
            data: vec![
                redis::Value::BulkString(channel.as_bytes().to_vec()),
                redis::Value::BulkString(b"payload".to_vec()),
            ],
        };
        deliver(message("another-channel"), &channels);
        deliver(message("socket.io-request#/#"), &channels);
        let (channel, payload) = receiver.try_recv().unwrap();
        assert_eq!(channel, "socket.io-request#/#");
        assert_eq!(payload, b"payload");
        assert!(receiver.try_recv().is_err());
    }

    #[test]
    fn an_outage_is_noted_once_and_ends_once() {
        let health = RedisHealth::default();
        assert!(health.is_reachable());
        health.lost("connection refused");
        let first = *health.lost_at.lock().unwrap();
        health.lost("connection refused");
        assert!(!health.is_reachable());
        assert_eq!(*health.lost_at.lock().unwrap(), first);
        health.back();
        assert!(health.is_reachable());
        assert_eq!(*health.lost_at.lock().unwrap(), None);
    }
}
