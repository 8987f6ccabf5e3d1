//! Opening benchmark connections: a TCP connection from a chosen 127.0.0.x source address (many
//! source addresses lift the ~28,000 ephemeral ports one address has), the WebSocket upgrade, and
//! for Socket.IO servers the Engine.IO open packet and the authenticated namespace connect.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::protocol::{self, Encoding, Incoming};

/// A benchmark connection.
pub type WebSocket = WebSocketStream<TcpStream>;

/// What a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerProtocol {
    /// Socket.IO v5 over Engine.IO v4, WebSocket transport only.
    SocketIo(Encoding),
    /// Plain WebSocket frames at `/`, no handshake and no auth (the limit server), carrying the
    /// Socket.IO event packets of the given parser, so that frames match the other servers'.
    RawWebSocket(Encoding),
}

/// A server to load: where it listens and what it speaks.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub address: SocketAddr,
    pub protocol: ServerProtocol,
}

impl Target {
    /// Parses `http://127.0.0.1:3000` or `ws://127.0.0.1:3000` (a path is ignored); only
    /// loopback addresses are accepted, because the benchmarks never load another machine.
    pub fn from_url(url: &str, protocol: ServerProtocol) -> anyhow::Result<Target> {
        let without_scheme = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("ws://"))
            .unwrap_or(url);
        let host_and_port = without_scheme.split('/').next().unwrap_or_default();
        let host_and_port = host_and_port.replace("localhost", "127.0.0.1");
        let address: SocketAddr = host_and_port.parse().with_context(|| {
            format!(
                "`{url}` is not a URL like http://127.0.0.1:3000: give an IP address and a port"
            )
        })?;
        if !address.ip().is_loopback() {
            bail!(
                "`{url}` is not a loopback address: the benchmarks only load servers on 127.0.0.0/8"
            );
        }
        Ok(Target { address, protocol })
    }
}

/// The source addresses connections are spread over, round-robin.
#[derive(Debug, Clone)]
pub struct SourceAddresses {
    addresses: Vec<Ipv4Addr>,
}

impl SourceAddresses {
    /// `count` addresses 127.0.0.2, 127.0.0.3, ... (127.0.0.1 is left to the server).
    pub fn loopback(count: u8) -> SourceAddresses {
        let count = count.clamp(1, 250);
        SourceAddresses {
            addresses: (0..count)
                .map(|index| Ipv4Addr::new(127, 0, 0, 2 + index))
                .collect(),
        }
    }

    /// The source address of the `index`-th connection.
    pub fn for_connection(&self, index: usize) -> Ipv4Addr {
        self.addresses[index % self.addresses.len()]
    }
}

/// Opens one connection and, for Socket.IO, connects it to namespace `/` with `token`.
/// The whole exchange must finish within `timeout`.
pub async fn open(
    target: Target,
    source: Ipv4Addr,
    token: &str,
    timeout: Duration,
) -> anyhow::Result<WebSocket> {
    tokio::time::timeout(timeout, open_unbounded(target, source, token))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the connection did not open within {} ms",
                timeout.as_millis()
            )
        })?
}

async fn open_unbounded(
    target: Target,
    source: Ipv4Addr,
    token: &str,
) -> anyhow::Result<WebSocket> {
    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))
        .with_context(|| format!("could not bind a source port on {source}"))?;
    let stream = socket.connect(target.address).await?;
    stream.set_nodelay(true)?;
    let url = match target.protocol {
        ServerProtocol::SocketIo(_) => {
            format!("ws://{}{}", target.address, protocol::SOCKET_IO_PATH)
        }
        ServerProtocol::RawWebSocket(_) => format!("ws://{}/", target.address),
    };
    // A 4 KiB read buffer instead of tungstenite's 128 KiB keeps tens of thousands of idle
    // connections cheap, and tungstenite zeroes the free part of it before every read, so a
    // large one costs time on every delivery; 4 KiB still holds dozens of queued frames.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut websocket, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    let ServerProtocol::SocketIo(encoding) = target.protocol else {
        return Ok(websocket);
    };
    expect_frame(&mut websocket, "the Engine.IO open packet", |incoming| {
        matches!(incoming, Incoming::Open)
    })
    .await?;
    websocket.send(protocol::connect(encoding, token)).await?;
    expect_frame(&mut websocket, "the namespace connect", |incoming| {
        matches!(incoming, Incoming::Connected)
    })
    .await?;
    Ok(websocket)
}

/// Reads frames until one satisfies `wanted`, answering pings on the way; a connect error or a
/// closed connection fails with the server's reason.
pub async fn expect_frame(
    websocket: &mut WebSocket,
    what: &str,
    wanted: impl Fn(&Incoming) -> bool,
) -> anyhow::Result<Incoming> {
    while let Some(frame) = websocket.next().await {
        let frame = frame?;
        let incoming = protocol::decode(&frame);
        if wanted(&incoming) {
            return Ok(incoming);
        }
        match incoming {
            Incoming::Ping => websocket.send(protocol::pong()).await?,
            Incoming::ConnectError(reason) => bail!("the server refused the connection: {reason}"),
            Incoming::Close | Incoming::Disconnected => {
                bail!("the server closed the connection while waiting for {what}")
            }
            _ => {}
        }
    }
    bail!("the connection ended while waiting for {what}")
}
