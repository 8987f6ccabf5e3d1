//! The accept loop the server runs: it admits a connection only while its client address and
//! the server as a whole are under their connection limits (a trusted proxy's connections carry
//! many clients and count in the total only), tells every request who its client is
//! (`client_address`), serves it with hyper's HTTP/1
//! connection (with upgrades, for Socket.IO's WebSocket) under a header read timeout, and on
//! shutdown stops accepting, asks every connection to finish, and waits for them up to a
//! deadline.
//!
//! `axum::serve` sets no timer on hyper, so a client that sent half a request's headers kept its
//! connection (and a task) forever; here hyper's timer closes it after `APPC_HEADER_TIMEOUT_SECS`.
//! hyper starts the same timer when a kept-alive connection waits for its next request, so that
//! timeout is also the idle keep-alive timeout. Upgraded connections (WebSocket) leave hyper
//! and are kept alive by Engine.IO's own heartbeat.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::client_address::{self, ClientAddress, ConnectionClient};
use crate::config::Limits;
use crate::send_buffer::BoundedConnection;
use crate::throttled_log::ThrottledLog;

/// The key connections and login attempts are counted under: an IPv4 address, or the /64
/// network of an IPv6 address (one subscriber usually holds a whole /64, so counting single
/// IPv6 addresses would let one client open as many slots as it likes).
pub(crate) fn client_address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1_u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// Counters of the server's connections, for logs and tests.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    accepted: AtomicU64,
    refused: AtomicU64,
    open: AtomicU64,
    /// Shared with every connection's send buffer, which counts the slow clients it closes.
    slow_clients: Arc<AtomicU64>,
}

impl ConnectionStats {
    fn slow_clients_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.slow_clients)
    }

    /// Connections admitted since the start.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed at once because a connection limit was reached.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections open now (HTTP and upgraded WebSocket ones still served by hyper's task).
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// WebSocket connections closed because their client did not read what it was sent
    /// (`APPC_SOCKET_SEND_BUFFER_BYTES`) or answered pings it was never sent.
    pub fn slow_clients(&self) -> u64 {
        self.slow_clients.load(Ordering::Relaxed)
    }
}

/// Open connections per address key and in total.
#[derive(Debug)]
struct ConnectionCounter {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<OpenConnections>,
}

#[derive(Debug, Default)]
struct OpenConnections {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// One admitted connection's place in the counts, given back when it is dropped.
#[derive(Debug)]
struct ConnectionSlot {
    counter: Arc<ConnectionCounter>,
    stats: Arc<ConnectionStats>,
    /// The address key it counts under; `None` for a trusted proxy, which carries many clients.
    address: Option<IpAddr>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Total,
    PerAddress,
}

impl ConnectionCounter {
    fn lock(&self) -> std::sync::MutexGuard<'_, OpenConnections> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a connection from `address`, counted per address unless `address` is `None` (a
    /// trusted proxy's connection, which counts in the total only).
    fn admit(
        self: &Arc<Self>,
        address: Option<IpAddr>,
        stats: &Arc<ConnectionStats>,
    ) -> Result<ConnectionSlot, Refusal> {
        let address = address.map(client_address_key);
        let mut open = self.lock();
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        if let Some(address) = address {
            let from_address = open.per_address.entry(address).or_default();
            if *from_address >= self.max_per_address {
                return Err(Refusal::PerAddress);
            }
            *from_address += 1;
        }
        open.total += 1;
        stats.open.fetch_add(1, Ordering::Relaxed);
        Ok(ConnectionSlot {
            counter: self.clone(),
            stats: stats.clone(),
            address,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.counter.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(address) = self.address
            && let Some(from_address) = open.per_address.get_mut(&address)
        {
            *from_address = from_address.saturating_sub(1);
            if *from_address == 0 {
                open.per_address.remove(&address);
            }
        }
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains (see the module docs).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let counter = Arc::new(ConnectionCounter {
        max_total: limits.max_connections,
        max_per_address: limits.max_connections_per_address,
        open: Mutex::new(OpenConnections::default()),
    });
    let trusted_proxies = Arc::new(limits.trusted_proxies.clone());
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let refused_log = ThrottledLog::new(Duration::from_secs(10));
    // Connections watch `stop` to start their graceful shutdown; each holds a `drained`
    // receiver, so the sender's `closed()` completes once the last one is gone.
    let (stop, stop_received) = watch::channel(false);
    let (drained, drained_receiver) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote_address) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        // A trusted proxy's connections carry many clients: they count in the total, and each
        // request counts against its forwarded client (see `client_address`).
        let peer = remote_address.ip().to_canonical();
        let from_trusted_proxy = trusted_proxies.contains(peer);
        let slot = match counter.admit((!from_trusted_proxy).then_some(peer), &stats) {
            Ok(slot) => slot,
            Err(refusal) => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                if let Some(refused) = refused_log.note() {
                    let (limit, variable) = match refusal {
                        Refusal::Total => (counter.max_total, "APPC_MAX_CONNECTIONS"),
                        Refusal::PerAddress => {
                            (counter.max_per_address, "APPC_MAX_CONNECTIONS_PER_IP")
                        }
                    };
                    tracing::warn!(
                        refused,
                        limit,
                        "refused connections over the limit of {variable} (last from {})",
                        remote_address.ip()
                    );
                }
                refuse(stream);
                continue;
            }
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        // Socket.IO frames are small and latency-bound: without TCP_NODELAY they wait for the
        // peer's delayed ACK (Nagle), which added up to 40 ms to p99 at light load.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!("could not set TCP_NODELAY on an accepted socket: {error}");
        }
        // Once upgraded to a WebSocket, what the client does not read is held in this
        // connection's capped buffer instead of Engine.IO's queue (see `send_buffer`). The
        // connection keeps its slot: an upgraded WebSocket outlives hyper's task below, and
        // must still count against the connection limits.
        let mut stream = BoundedConnection::new(
            stream,
            limits.socket_send_buffer,
            stats.slow_clients_counter(),
        )
        .holding(slot);
        // Through a proxy, the connection's log lines name the client of its latest request.
        let connection_client = from_trusted_proxy.then(|| Arc::new(ConnectionClient::new(peer)));
        if let Some(connection_client) = &connection_client {
            stream = stream.naming_client(connection_client.clone());
        }
        let trusted_proxies = trusted_proxies.clone();
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::http::Request<Incoming>| {
                let client = client_address::resolve(peer, request.headers(), &trusted_proxies);
                if let Some(connection_client) = &connection_client {
                    connection_client.set(client);
                }
                let extensions = request.extensions_mut();
                extensions.insert(ConnectInfo(remote_address));
                extensions.insert(ClientAddress(client));
                request
            },
        ));
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stop_received = stop_received.clone();
        let drained_receiver = drained_receiver.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = async {
                    // The guard `wait_for` returns must not live across the await below.
                    let _ = stop_received.wait_for(|stopping| *stopping).await;
                } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!("connection from {remote_address} ended: {error}");
            }
            drop(drained_receiver);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(drained_receiver);
    if tokio::time::timeout(limits.shutdown_timeout, drained.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = stats.open(),
            "connections still open after APPC_SHUTDOWN_TIMEOUT_SECS ({} s); closing them",
            limits.shutdown_timeout.as_secs()
        );
    }
}

/// Tells a refused client why with a short 503, when the socket can take it right away, and
/// closes the connection; it never waits on the client.
fn refuse(stream: TcpStream) {
    const RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 32\r\n\r\ntoo many connections; try later\n";
    let _ = stream.try_write(RESPONSE);
}

/// After a failed accept: connection errors concern one client and are skipped; running out of
/// file descriptors or memory is waited out for a moment instead of spinning.
async fn wait_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("could not accept a connection: {error}; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_their_64_bit_network() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_address_key(one), client_address_key(other));
        assert_ne!(client_address_key(one), client_address_key(elsewhere));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_address_key(mapped), IpAddr::from([10, 0, 0, 1]));
    }

    #[test]
    fn connections_are_counted_per_address_and_in_total() {
        let counter = Arc::new(ConnectionCounter {
            max_total: 3,
            max_per_address: 2,
            open: Mutex::new(OpenConnections::default()),
        });
        let stats = Arc::new(ConnectionStats::default());
        let one = IpAddr::from([10, 0, 0, 1]);
        let two = IpAddr::from([10, 0, 0, 2]);
        let first = counter.admit(Some(one), &stats).unwrap();
        let _second = counter.admit(Some(one), &stats).unwrap();
        assert_eq!(
            counter.admit(Some(one), &stats).unwrap_err(),
            Refusal::PerAddress
        );
        let _third = counter.admit(Some(two), &stats).unwrap();
        assert_eq!(
            counter.admit(Some(two), &stats).unwrap_err(),
            Refusal::Total
        );
        assert_eq!(stats.open(), 3);
        drop(first);
        assert_eq!(stats.open(), 2);
        let _again = counter.admit(Some(one), &stats).unwrap();
    }

    #[test]
    fn a_trusted_proxy_counts_in_the_total_only() {
        let counter = Arc::new(ConnectionCounter {
            max_total: 3,
            max_per_address: 1,
            open: Mutex::new(OpenConnections::default()),
        });
        let stats = Arc::new(ConnectionStats::default());
        let proxied: Vec<_> = (0..3)
            .map(|_| counter.admit(None, &stats).unwrap())
            .collect();
        assert_eq!(
            counter
                .admit(Some(IpAddr::from([10, 0, 0, 1])), &stats)
                .unwrap_err(),
            Refusal::Total
        );
        drop(proxied);
        assert_eq!(stats.open(), 0);
        assert!(counter.lock().per_address.is_empty());
    }
}
