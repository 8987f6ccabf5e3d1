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
//! A publish does not wait for Redis's answer: it joins one ordered queue that one task sends
//! to Redis as pipelines, so a broadcast reaches the local sockets after a queue push instead of
//! a Redis round trip, and the messages of one process still reach the other processes in the
//! order they were broadcast. The queue holds at most [`PUBLISH_QUEUE_CAPACITY`] messages; when
//! Redis is slower than the broadcasts, a publish waits for room (backpressure) rather than drop:
//! a dropped message would be lost for every other process's sockets while Redis is still up
//! (a live query's invalidation, say), whereas waiting only slows this process to Redis's pace.
//! A Redis that stops answering is noticed within [`REDIS_TIMEOUT`], and from then on publishes
//! are skipped again, so the wait is bounded too. Acknowledged broadcasts are not affected:
//! socketioxide-redis counts the processes that will answer with `num_serv` (`PUBSUB NUMSUB`)
//! and registers its response handler before it publishes, and uses nothing of a publish's
//! result but the error, which this driver never returns.
//!
//! Messages published by other processes while this one was cut off are not replayed: Redis
//! pub/sub keeps nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

/// How often the driver checks that Redis answers, and so how soon after Redis is back the
/// cross-process messages flow again.
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How long one connection attempt, or one command, may take before Redis counts as away.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// How many published messages may wait for Redis before a publish waits for room.
const PUBLISH_QUEUE_CAPACITY: usize = 4096;

/// At most this many queued messages go to Redis in one pipeline (one round trip).
const PUBLISH_BATCH: usize = 256;

/// A message for Redis: its channel and its bytes.
type Publish = (String, Vec<u8>);

type ChannelSenders = HashMap<String, mpsc::Sender<ChanItem>>;

/// The Redis driver of the socket adapter; clones share one connection.
#[derive(Clone)]
pub struct RedisDriver {
    connection: ConnectionManager,
    channels: Arc<RwLock<ChannelSenders>>,
    health: Arc<RedisHealth>,
    /// The ordered queue that [`send_publishes`] drains.
    publishes: mpsc::Sender<Publish>,
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
        Self::connect_with_queue(url, shown_url, PUBLISH_QUEUE_CAPACITY).await
    }

    /// [`RedisDriver::connect`] with a publish queue of `queue_capacity` messages.
    async fn connect_with_queue(
        url: &str,
        shown_url: &str,
        queue_capacity: usize,
    ) -> Result<Self, RedisConnectError> {
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
        let (publishes, queue) = mpsc::channel(queue_capacity);
        tokio::spawn(send_publishes(connection.clone(), health.clone(), queue));
        let driver = RedisDriver {
            connection,
            channels,
            health,
            publishes,
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

    /// Changes each time Redis is back after an outage (the messages of the other processes
    /// published meanwhile are lost).
    pub(crate) fn reconnections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.health.reconnections.subscribe()
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

/// Sends the queued publishes to Redis in queue order, each batch as one pipeline, until every
/// clone of the driver is dropped. Only one batch is in flight, so a batch that fails cannot be
/// overtaken by a later one; its messages are lost for the other processes (as a publish during
/// an outage is), and the outage is noted. While Redis is away the queue is emptied unsent.
async fn send_publishes(
    mut connection: ConnectionManager,
    health: Arc<RedisHealth>,
    mut queue: mpsc::Receiver<Publish>,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        if health.is_reachable() {
            let mut pipeline = redis::pipe();
            for (channel, message) in &batch {
                pipeline.publish(channel, message).ignore();
            }
            if let Err(error) = pipeline.query_async::<()>(&mut connection).await {
                health.lost(&error.to_string());
            }
        }
        batch.clear();
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
    /// How many times Redis came back after an outage, for what must catch up then (live
    /// queries recompute what the other processes' lost messages may have changed).
    reconnections: tokio::sync::watch::Sender<u64>,
}

impl Default for RedisHealth {
    fn default() -> Self {
        RedisHealth {
            reachable: AtomicBool::new(true),
            lost_at: std::sync::Mutex::new(None),
            reconnections: tokio::sync::watch::Sender::new(0),
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
            self.reconnections.send_modify(|count| *count += 1);
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
        // Waits only while the queue is full; the sending task lives as long as any clone of
        // the driver, so the send cannot fail.
        let _ = self.publishes.send((channel, message)).await;
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
    use crate::test_redis::redis_url;

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

    /// A publishing driver with a queue of `queue_capacity`, a second driver (another process)
    /// subscribed to a channel of the test's own, and that channel.
    async fn publisher_and_subscriber(
        url: &str,
        queue_capacity: usize,
    ) -> (RedisDriver, MessageStream<ChanItem>, String) {
        let channel = format!("test-publish#{}", uuid::Uuid::new_v4().simple());
        let publisher = RedisDriver::connect_with_queue(url, url, queue_capacity)
            .await
            .unwrap();
        let subscriber = RedisDriver::connect(url, url).await.unwrap();
        // The stream outlives `subscriber`: its connection's tasks hold the channel map.
        let stream = subscriber.subscribe(channel.clone(), 4096).await.unwrap();
        (publisher, stream, channel)
    }

    /// Reads `count` messages from `stream` (failing after 10 seconds) as strings.
    async fn received(stream: &mut MessageStream<ChanItem>, count: usize) -> Vec<String> {
        use futures_util::StreamExt;
        let mut messages = Vec::new();
        while messages.len() < count {
            let (_, message) = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("the published messages arrive within 10 seconds")
                .expect("the stream stays open");
            messages.push(String::from_utf8(message).unwrap());
        }
        messages
    }

    /// Held by each test that pauses Redis, so that one test's pause does not add to another's
    /// and outlast the driver's timeout.
    static PAUSING_REDIS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    /// How long a test pauses Redis: well under [`REDIS_TIMEOUT`], so it is no outage, also for
    /// the presence tests that share this Redis.
    const PAUSE: Duration = Duration::from_millis(800);

    /// Pauses every client of the Redis at `url` for [`PAUSE`].
    async fn pause_redis(url: &str) {
        let client = redis::Client::open(url).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(PAUSE.as_millis() as u64)
            .arg("ALL")
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn publishes_reach_the_other_processes_in_the_order_they_were_made() {
        let Some(url) = redis_url() else { return };
        let (publisher, mut stream, channel) = publisher_and_subscriber(&url, 64).await;
        // More than the queue holds and several pipelines' worth, so batches follow each other.
        let sent: Vec<String> = (0..2000).map(|index| format!("message {index}")).collect();
        for message in &sent {
            publisher
                .publish(channel.clone(), message.clone().into_bytes())
                .await
                .unwrap();
        }
        assert_eq!(received(&mut stream, sent.len()).await, sent);
    }

    #[tokio::test]
    async fn a_publish_returns_without_waiting_for_a_paused_redis() {
        let Some(url) = redis_url() else { return };
        let _pausing = PAUSING_REDIS.lock().await;
        let (publisher, mut stream, channel) = publisher_and_subscriber(&url, 64).await;
        pause_redis(&url).await;
        let started = Instant::now();
        let sent: Vec<String> = (0..10).map(|index| format!("message {index}")).collect();
        for message in &sent {
            publisher
                .publish(channel.clone(), message.clone().into_bytes())
                .await
                .unwrap();
        }
        let publishing = started.elapsed();
        assert!(
            publishing < PAUSE / 2,
            "publishing took {publishing:?} while Redis was paused for {PAUSE:?}"
        );
        assert_eq!(received(&mut stream, sent.len()).await, sent);
        assert!(
            publisher.is_reachable(),
            "a pause shorter than the timeout is no outage"
        );
    }

    #[tokio::test]
    async fn a_full_publish_queue_makes_a_publish_wait_until_redis_takes_it() {
        let Some(url) = redis_url() else { return };
        let _pausing = PAUSING_REDIS.lock().await;
        let (publisher, mut stream, channel) = publisher_and_subscriber(&url, 2).await;
        let publish =
            |message: &str| publisher.publish(channel.clone(), message.as_bytes().to_vec());
        pause_redis(&url).await;
        let paused_at = Instant::now();
        // The first message leaves the queue at once and waits in its pipeline for Redis...
        publish("first").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // ...the next two fill the queue without waiting...
        let quick = Duration::from_millis(100);
        tokio::time::timeout(quick, publish("second"))
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(quick, publish("third"))
            .await
            .unwrap()
            .unwrap();
        // ...and the one after waits for room (this attempt is given up, so it sends nothing).
        assert!(
            tokio::time::timeout(quick, publish("dropped"))
                .await
                .is_err(),
            "a publish into a full queue waits"
        );
        publish("fourth").await.unwrap();
        assert!(
            paused_at.elapsed() >= PAUSE - Duration::from_millis(100),
            "the fourth publish waited for Redis to come back from its pause"
        );
        assert_eq!(
            received(&mut stream, 4).await,
            ["first", "second", "third", "fourth"]
        );
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
        let reconnections = health.reconnections.subscribe();
        health.back();
        assert!(health.is_reachable());
        assert_eq!(*health.lost_at.lock().unwrap(), None);
        // Counted once per outage, for what must catch up.
        health.back();
        assert_eq!(*reconnections.borrow(), 1);
    }
}
