//! The one Socket.IO adapter type of every server: [`AppAdapter`], socketioxide's in-memory
//! adapter for one process, or socketioxide-redis's adapter when `REDIS_URL` is set, chosen at
//! start-up.
//!
//! socketioxide makes the adapter a type parameter of everything (`SocketIo<A>`,
//! `SocketRef<A>`, ...). Were the two adapters two types, every socket type the generated code
//! and the team write would carry the parameter, or be generated twice. Instead the choice is a
//! value: [`AppAdapter`] is an enum over both, implementing socketioxide's adapter trait by
//! delegating each call to the chosen one (one branch per broadcast on the one-process path,
//! which still goes straight to socketioxide's in-memory rooms). So the runtime, the generated
//! code and the team see one concrete [`SocketRef`] and [`SocketIo`], the same with one process
//! as with many.
//!
//! With Redis, each namespace's adapter publishes every broadcast, room change and
//! acknowledged broadcast to the other processes through `redis_driver.rs`, and applies theirs
//! to its local sockets (see socketioxide-redis for the protocol), on channels that start with
//! the deployment's `APPC_REDIS_PREFIX` (`<prefix>-request#<namespace>#`, ...): pub/sub channels
//! are global to a Redis server, so without the prefix every app on it would hear the others.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use socketioxide::adapter::Emitter as NamespaceSockets;
use socketioxide_core::adapter::errors::{AdapterError, BroadcastError};
use socketioxide_core::adapter::{
    BroadcastOptions, CoreAdapter, CoreLocalAdapter, DefinedAdapter, RemoteSocketData, Room,
    RoomParam, Spawnable,
};
use socketioxide_core::packet::Packet;
use socketioxide_redis::{CustomRedisAdapter, InitRes, RedisAdapterConfig, RedisAdapterCtr};

use super::redis_driver::RedisDriver;

/// A connected socket, as handlers and the generated `Socket` hold it.
pub type SocketRef = socketioxide::extract::SocketRef<AppAdapter>;

/// The Socket.IO server handle (namespaces, broadcasts from anywhere).
pub type SocketIo = socketioxide::SocketIo<AppAdapter>;

type RedisAdapter = CustomRedisAdapter<NamespaceSockets, RedisDriver>;

/// The adapter of one namespace: in memory, or shared with the other processes through Redis.
#[allow(
    clippy::large_enum_variant,
    reason = "one per namespace, behind socketioxide's Arc; boxing the in-memory adapter would add a pointer chase to every one-process broadcast"
)]
pub enum AppAdapter {
    /// One process: rooms and broadcasts in memory (socketioxide's `LocalAdapter`).
    Local(CoreLocalAdapter<NamespaceSockets>),
    /// Several processes: socketioxide-redis over [`RedisDriver`].
    Redis(Arc<RedisAdapter>),
}

/// What every namespace's adapter is built from: Redis's driver when `REDIS_URL` is set.
#[derive(Debug, Default)]
pub struct AdapterState {
    redis: Option<RedisAdapterCtr<RedisDriver>>,
}

impl AdapterState {
    /// Every namespace in memory, for one process.
    pub fn local() -> Self {
        AdapterState { redis: None }
    }

    /// Every namespace shared through Redis, on the channels that start with `prefix`
    /// (`APPC_REDIS_PREFIX`), so other apps on the same Redis neither hear nor reach them.
    pub fn redis(driver: RedisDriver, prefix: &str) -> Self {
        AdapterState {
            redis: Some(RedisAdapterCtr::new_with_driver(
                driver,
                RedisAdapterConfig::default().with_prefix(prefix.to_owned()),
            )),
        }
    }
}

/// The adapter's start: nothing to wait for in memory; Redis's subscriptions otherwise.
#[must_use = "with Redis the namespace exists only once this is awaited (`ready`) or spawned"]
pub enum AdapterInit {
    /// The in-memory adapter is ready as soon as it exists.
    Ready,
    /// The Redis adapter's subscriptions to its channels.
    Redis(InitRes<RedisDriver>),
}

impl AdapterInit {
    /// Waits until the namespace's adapter is ready; Redis's subscriptions may fail.
    pub async fn ready(self) -> Result<(), AdapterError> {
        match self {
            AdapterInit::Ready => Ok(()),
            AdapterInit::Redis(init) => init
                .await
                .map_err(|error| AdapterError::from(Box::new(error) as Box<_>)),
        }
    }
}

impl Spawnable for AdapterInit {
    fn spawn(self) {
        if let AdapterInit::Redis(init) = self {
            init.spawn();
        }
    }
}

type AckStream = <RedisAdapter as CoreAdapter<NamespaceSockets>>::AckStream;

impl DefinedAdapter for AppAdapter {}

impl CoreAdapter<NamespaceSockets> for AppAdapter {
    type Error = AdapterError;
    type State = AdapterState;
    // The Redis adapter's stream is already "local acks, or local and remote ones".
    type AckStream = AckStream;
    type InitRes = AdapterInit;

    fn new(state: &AdapterState, local: CoreLocalAdapter<NamespaceSockets>) -> Self {
        match &state.redis {
            None => AppAdapter::Local(local),
            Some(redis) => AppAdapter::Redis(Arc::new(RedisAdapter::new(redis, local))),
        }
    }

    fn init(self: Arc<Self>, on_success: impl FnOnce() + Send + 'static) -> AdapterInit {
        match &*self {
            AppAdapter::Local(_) => {
                on_success();
                AdapterInit::Ready
            }
            AppAdapter::Redis(redis) => AdapterInit::Redis(redis.clone().init(on_success)),
        }
    }

    async fn close(&self) -> Result<(), AdapterError> {
        match self {
            AppAdapter::Local(_) => Ok(()),
            AppAdapter::Redis(redis) => redis.close().await.map_err(AdapterError::from),
        }
    }

    async fn server_count(&self) -> Result<u16, AdapterError> {
        match self {
            AppAdapter::Local(_) => Ok(1),
            AppAdapter::Redis(redis) => redis.server_count().await.map_err(AdapterError::from),
        }
    }

    async fn broadcast(
        &self,
        packet: Packet,
        options: BroadcastOptions,
    ) -> Result<(), BroadcastError> {
        match self {
            AppAdapter::Local(local) => local
                .broadcast(packet, options)
                .map_err(BroadcastError::from),
            AppAdapter::Redis(redis) => redis.broadcast(packet, options).await,
        }
    }

    async fn broadcast_with_ack(
        &self,
        packet: Packet,
        options: BroadcastOptions,
        timeout: Option<Duration>,
    ) -> Result<AckStream, AdapterError> {
        match self {
            AppAdapter::Local(local) => Ok(Either::Left(
                local.broadcast_with_ack(packet, options, timeout).0,
            )),
            AppAdapter::Redis(redis) => redis
                .broadcast_with_ack(packet, options, timeout)
                .await
                .map_err(AdapterError::from),
        }
    }

    async fn add_sockets(
        &self,
        options: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), AdapterError> {
        match self {
            AppAdapter::Local(local) => {
                local.add_sockets(options, rooms);
                Ok(())
            }
            AppAdapter::Redis(redis) => redis
                .add_sockets(options, rooms)
                .await
                .map_err(AdapterError::from),
        }
    }

    async fn del_sockets(
        &self,
        options: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), AdapterError> {
        match self {
            AppAdapter::Local(local) => {
                local.del_sockets(options, rooms);
                Ok(())
            }
            AppAdapter::Redis(redis) => redis
                .del_sockets(options, rooms)
                .await
                .map_err(AdapterError::from),
        }
    }

    async fn disconnect_socket(&self, options: BroadcastOptions) -> Result<(), BroadcastError> {
        match self {
            AppAdapter::Local(local) => local
                .disconnect_socket(options)
                .map_err(BroadcastError::Socket),
            AppAdapter::Redis(redis) => redis.disconnect_socket(options).await,
        }
    }

    async fn rooms(&self, options: BroadcastOptions) -> Result<Vec<Room>, AdapterError> {
        match self {
            AppAdapter::Local(local) => Ok(local.rooms(options).into_iter().collect()),
            AppAdapter::Redis(redis) => redis.rooms(options).await.map_err(AdapterError::from),
        }
    }

    async fn fetch_sockets(
        &self,
        options: BroadcastOptions,
    ) -> Result<Vec<RemoteSocketData>, AdapterError> {
        match self {
            AppAdapter::Local(local) => Ok(local.fetch_sockets(options)),
            AppAdapter::Redis(redis) => redis
                .fetch_sockets(options)
                .await
                .map_err(AdapterError::from),
        }
    }

    fn get_local(&self) -> &CoreLocalAdapter<NamespaceSockets> {
        match self {
            AppAdapter::Local(local) => local,
            AppAdapter::Redis(redis) => redis.get_local(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Against a real redis-server at `APPC_TEST_REDIS_URL` (`tests/support/start-redis.sh`);
    //! skipped when it is unset, except under `CI`, where a skipped test would hide a failure.

    use futures_util::StreamExt;

    use super::*;
    use crate::test_redis::redis_url;

    /// A Socket.IO server with the namespace `/` on Redis under `prefix`, ready.
    async fn server_on_redis(url: &str, prefix: &str) -> SocketIo {
        let driver = RedisDriver::connect(url, url).await.unwrap();
        let (_layer, io) = socketioxide::SocketIo::builder()
            .with_adapter::<AppAdapter>(AdapterState::redis(driver, prefix))
            .build_layer();
        io.ns("/", async |_: SocketRef| {}).ready().await.unwrap();
        io
    }

    async fn subscribers(connection: &mut redis::aio::MultiplexedConnection, channel: &str) -> u64 {
        let counts: Vec<(String, u64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(connection)
            .await
            .unwrap();
        counts[0].1
    }

    #[tokio::test]
    async fn apps_with_different_redis_prefixes_do_not_hear_each_others_broadcasts() {
        let Some(url) = redis_url() else { return };
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (shop_prefix, blog_prefix) = (format!("test:{run}:shop"), format!("test:{run}:blog"));
        // Two processes of the shop and one of the blog on one Redis.
        let shop = server_on_redis(&url, &shop_prefix).await;
        let _shop_peer = server_on_redis(&url, &shop_prefix).await;
        let _blog = server_on_redis(&url, &blog_prefix).await;

        let client = redis::Client::open(url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        // Each app's processes listen on the channel of their own prefix only.
        let shop_channel = format!("{shop_prefix}-request#/#");
        let blog_channel = format!("{blog_prefix}-request#/#");
        assert_eq!(subscribers(&mut connection, &shop_channel).await, 2);
        assert_eq!(subscribers(&mut connection, &blog_channel).await, 1);

        // A shop broadcast is published on the shop's channel, never on the blog's.
        let mut watcher = client.get_async_pubsub().await.unwrap();
        watcher.psubscribe(format!("test:{run}:*")).await.unwrap();
        shop.emit("news", "sale").await.unwrap();
        let message = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            watcher.on_message().next(),
        )
        .await
        .expect("the broadcast is published within 5 s")
        .unwrap();
        assert_eq!(message.get_channel_name(), shop_channel);
        let another = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            watcher.on_message().next(),
        )
        .await;
        assert!(another.is_err(), "one broadcast, one message: {another:?}");
    }
}
