//! The outbound side of one client connection: a send buffer between the server and the kernel,
//! bounded in bytes, so a client that does not read cannot make the server hold more than a set
//! amount for it.
//!
//! Engine.IO (under Socket.IO) queues packets per socket, and its WebSocket writer stops taking
//! packets from that queue as soon as the kernel's send buffer is full. A client that never reads
//! therefore made the server hold everything broadcast to it, until the queue was full and later
//! packets were dropped while the socket stayed connected. [`BoundedConnection`] wraps the TCP
//! stream instead: every write is taken at once, what the kernel accepts goes out directly, and
//! the rest waits in this connection's buffer, which a small task drains as the client reads.
//! - Before the connection is upgraded to a WebSocket (plain HTTP, long-polling), the buffer
//!   applies ordinary backpressure: writes wait while it holds [`HTTP_WRITE_WATERMARK`] bytes, so
//!   responses behave exactly as on a bare socket.
//! - Once the server has written `101 Switching Protocols`, writes never wait, so the Engine.IO
//!   queue is always drained and the bytes owed to the client are all counted here. A write that
//!   would take the buffer over the cap fails with [`SLOW_CLIENT_MESSAGE`] and the TCP socket is
//!   shut down in both directions, so the reading side ends at once too: the WebSocket ends,
//!   Socket.IO reports the socket disconnected (the client reconnects and re-syncs), and one line
//!   is logged for the connection. Nothing is silently skipped: a socket either gets every message
//!   in order or is disconnected.
//!
//!
//! What one slow client can make the server hold is the cap plus the kernel's own send buffer.
//!
//! On an upgraded connection the Engine.IO heartbeat is checked too ([`frames`]): a client that
//! sends more pongs than the server sent pings (one spare, for a ping sent over long-polling just
//! before the upgrade) is answering pings it never read, so the connection is ended; otherwise
//! such a client would stay connected while reading nothing.

mod frames;
mod pending;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::client_address::ConnectionClient;
use frames::FrameScanner;
use pending::PendingBytes;

/// While a connection is plain HTTP, writes wait once this many bytes are buffered.
pub const HTTP_WRITE_WATERMARK: usize = 64 * 1024;

/// The error message of a write refused because the client does not keep up.
pub const SLOW_CLIENT_MESSAGE: &str = "the client is not reading what the server sends";

/// The error message of a read refused because the client answers pings it was not sent.
pub const UNASKED_PONG_MESSAGE: &str =
    "the client sends heartbeat answers the server did not ask for";

/// A client TCP connection whose outbound bytes are buffered with a cap (see the module docs).
pub struct BoundedConnection {
    shared: Arc<Shared>,
    /// Whatever must live exactly as long as the connection (its place in the connection
    /// limits): an upgraded connection outlives hyper's task, so the task cannot hold it.
    _held_while_open: Option<Box<dyn Send + Sync>>,
    /// The client's WebSocket frames, scanned for Engine.IO pongs once upgraded.
    incoming_frames: FrameScanner,
    pongs_received: u64,
}

struct Shared {
    stream: TcpStream,
    peer: Option<SocketAddr>,
    /// The forwarded client, when the peer is a trusted proxy: log lines name it instead.
    forwarded_client: Option<Arc<ConnectionClient>>,
    send_buffer_limit: usize,
    /// Counts the connections closed because their client did not keep up.
    slow_clients: Arc<AtomicU64>,
    outbound: Mutex<Outbound>,
}

#[derive(Default)]
struct Outbound {
    /// Bytes written by the server that the kernel has not taken yet, oldest first.
    pending: PendingBytes,
    /// Set once the server wrote a `101 Switching Protocols` response on this connection.
    upgraded: bool,
    /// Whether a drain task is running for `pending`.
    draining: bool,
    /// Why the connection can no longer be written to; later writes fail with the same kind.
    failed: Option<io::ErrorKind>,
    /// The server's task waiting for room in the buffer (HTTP) or for it to empty (flush,
    /// shutdown).
    waiting_writer: Option<Waker>,
    /// The server's WebSocket frames, scanned for Engine.IO pings once upgraded.
    outgoing_frames: FrameScanner,
    pings_sent: u64,
}

impl Outbound {
    /// Counts the pings in bytes the server has handed over for the client.
    fn scan_outgoing(&mut self, bytes: &[u8]) {
        let mut pings = 0;
        self.outgoing_frames.feed(bytes, |message| {
            if message.is_engine_io_ping() {
                pings += 1;
            }
        });
        self.pings_sent += pings;
    }
}

impl BoundedConnection {
    /// Wraps an accepted stream; `send_buffer_limit` caps what a WebSocket may owe its client,
    /// and `slow_clients` counts the connections closed for not keeping up.
    pub fn new(stream: TcpStream, send_buffer_limit: usize, slow_clients: Arc<AtomicU64>) -> Self {
        let peer = stream.peer_addr().ok();
        BoundedConnection {
            shared: Arc::new(Shared {
                stream,
                peer,
                forwarded_client: None,
                send_buffer_limit,
                slow_clients,
                outbound: Mutex::new(Outbound::default()),
            }),
            incoming_frames: FrameScanner::default(),
            pongs_received: 0,
            _held_while_open: None,
        }
    }

    /// Keeps `value` until the connection is dropped, whether hyper serves it to the end or
    /// hands it over as an upgraded WebSocket.
    pub fn holding(mut self, value: impl Send + Sync + 'static) -> Self {
        self._held_while_open = Some(Box::new(value));
        self
    }

    /// Names `client` in this connection's log lines instead of the peer (a trusted proxy).
    /// Only before the connection is shared.
    pub(crate) fn naming_client(mut self, client: Arc<ConnectionClient>) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.forwarded_client = Some(client);
        }
        self
    }

    /// The bytes buffered for the client right now.
    #[cfg(test)]
    fn buffered_bytes(&self) -> usize {
        self.shared.lock().pending.len()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Outbound> {
        // A panic while holding this lock cannot leave `Outbound` half-updated in a way that
        // matters more than losing the connection, so a poisoned lock is used as it is.
        self.outbound
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the task that writes `pending` out as the client reads, unless one runs.
    fn start_draining(self: &Arc<Self>, outbound: &mut Outbound) {
        if !outbound.draining {
            outbound.draining = true;
            tokio::spawn(drain(Arc::clone(self)));
        }
    }

    /// The client's address for log lines: the forwarded client behind a trusted proxy.
    fn peer_ip(&self) -> String {
        if let Some(client) = &self.forwarded_client {
            return client.get().to_string();
        }
        self.peer
            .map_or_else(|| "unknown".to_owned(), |peer| peer.ip().to_string())
    }

    /// Ends the connection in both directions: a pending read returns end-of-stream at once, so
    /// Engine.IO closes the session now instead of when its heartbeat gives up (while it would
    /// keep queueing packets for a client that gets none of them).
    fn shut_down(&self) {
        if let Err(error) = socket2::SockRef::from(&self.stream).shutdown(std::net::Shutdown::Both)
        {
            tracing::debug!("could not shut a refused connection down: {error}");
        }
    }

    fn refuse_slow_client(&self, outbound: &mut Outbound, attempted: usize) -> io::Error {
        let owed = outbound.pending.len() + attempted;
        outbound.failed = Some(io::ErrorKind::WriteZero);
        // Free what was held at once: the connection is going away.
        outbound.pending.clear();
        self.slow_clients.fetch_add(1, Ordering::Relaxed);
        self.shut_down();
        tracing::warn!(
            client = %self.peer_ip(),
            owed_bytes = owed,
            limit_bytes = self.send_buffer_limit,
            "closing a WebSocket connection: {SLOW_CLIENT_MESSAGE} (it would owe more than \
             APPC_SOCKET_SEND_BUFFER_BYTES); it may reconnect and load what it missed"
        );
        io::Error::new(io::ErrorKind::WriteZero, SLOW_CLIENT_MESSAGE)
    }
}

/// Writes the buffered bytes out as the kernel takes them; ends when the buffer is empty or the
/// connection failed, waking the server's writer if it waits.
async fn drain(shared: Arc<Shared>) {
    loop {
        {
            let mut outbound = shared.lock();
            loop {
                if outbound.failed.is_some() || outbound.pending.is_empty() {
                    outbound.draining = false;
                    // An emptied buffer gives its memory back: idle connections hold none.
                    outbound.pending.clear();
                    wake(&mut outbound.waiting_writer);
                    return;
                }
                match shared.stream.try_write(outbound.pending.front()) {
                    Ok(written) => {
                        outbound.pending.consume(written);
                        if outbound.pending.len() < HTTP_WRITE_WATERMARK {
                            wake(&mut outbound.waiting_writer);
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) => {
                        outbound.failed = Some(error.kind());
                        outbound.pending.clear();
                        outbound.draining = false;
                        wake(&mut outbound.waiting_writer);
                        return;
                    }
                }
            }
        }
        if let Err(error) = shared.stream.writable().await {
            let mut outbound = shared.lock();
            outbound.failed = Some(error.kind());
            outbound.pending.clear();
            outbound.draining = false;
            wake(&mut outbound.waiting_writer);
            return;
        }
    }
}

fn wake(waker: &mut Option<Waker>) {
    if let Some(waker) = waker.take() {
        waker.wake();
    }
}

fn failure(kind: io::ErrorKind) -> io::Error {
    if kind == io::ErrorKind::WriteZero {
        io::Error::new(kind, SLOW_CLIENT_MESSAGE)
    } else {
        io::Error::from(kind)
    }
}

impl AsyncRead for BoundedConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let read = loop {
            std::task::ready!(this.shared.stream.poll_read_ready(cx))?;
            match this.shared.stream.try_read(buf.initialize_unfilled()) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        };
        let filled = buf.filled().len();
        buf.advance(read);
        let pings_sent = {
            let outbound = this.shared.lock();
            outbound.upgraded.then_some(outbound.pings_sent)
        };
        if let Some(pings_sent) = pings_sent {
            let mut pongs = 0;
            this.incoming_frames
                .feed(&buf.filled()[filled..], |message| {
                    if message.is_engine_io_pong() {
                        pongs += 1;
                    }
                });
            this.pongs_received += pongs;
            if this.pongs_received > pings_sent + 1 {
                this.shared.slow_clients.fetch_add(1, Ordering::Relaxed);
                this.shared.lock().failed = Some(io::ErrorKind::InvalidData);
                this.shared.shut_down();
                tracing::warn!(
                    client = %this.shared.peer_ip(),
                    pings_sent,
                    pongs_received = this.pongs_received,
                    "closing a WebSocket connection: {UNASKED_PONG_MESSAGE}"
                );
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    UNASKED_PONG_MESSAGE,
                )));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for BoundedConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &self.shared;
        let mut outbound = shared.lock();
        if let Some(kind) = outbound.failed {
            return Poll::Ready(Err(failure(kind)));
        }
        // Frames follow the `101` head, in later writes; they are scanned once accepted below.
        let scan_frames = outbound.upgraded;
        if !outbound.upgraded && is_switching_protocols(buf) {
            outbound.upgraded = true;
        }

        // The fast path: nothing is waiting, so the kernel may take the bytes right away.
        let mut written = 0;
        if outbound.pending.is_empty() {
            match shared.stream.try_write(buf) {
                Ok(count) if count == buf.len() => {
                    if scan_frames {
                        outbound.scan_outgoing(buf);
                    }
                    return Poll::Ready(Ok(count));
                }
                Ok(count) => written = count,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => {
                    outbound.failed = Some(error.kind());
                    return Poll::Ready(Err(error));
                }
            }
        }
        let rest = &buf[written..];

        if outbound.upgraded {
            if outbound.pending.len() + rest.len() > shared.send_buffer_limit {
                return Poll::Ready(Err(shared.refuse_slow_client(&mut outbound, rest.len())));
            }
            outbound.pending.extend(rest);
            if scan_frames {
                outbound.scan_outgoing(buf);
            }
            shared.start_draining(&mut outbound);
            return Poll::Ready(Ok(buf.len()));
        }

        // Plain HTTP: take what fits under the watermark, and wait when nothing does.
        let room = HTTP_WRITE_WATERMARK.saturating_sub(outbound.pending.len());
        let taken = rest.len().min(room);
        outbound.pending.extend(&rest[..taken]);
        if !outbound.pending.is_empty() {
            shared.start_draining(&mut outbound);
        }
        if written + taken == 0 {
            outbound.waiting_writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(Ok(written + taken))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut outbound = self.shared.lock();
        if let Some(kind) = outbound.failed {
            return Poll::Ready(Err(failure(kind)));
        }
        // A WebSocket never waits for its client: the drain task delivers what is buffered.
        if outbound.upgraded || outbound.pending.is_empty() {
            return Poll::Ready(Ok(()));
        }
        outbound.waiting_writer = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut outbound = self.shared.lock();
        if outbound.failed.is_some() || outbound.pending.is_empty() {
            // The socket closes when the connection is dropped; a FIN sent here would race
            // with a drain task that still holds the stream.
            return Poll::Ready(Ok(()));
        }
        outbound.waiting_writer = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Whether a write is the head of a `101 Switching Protocols` response (hyper writes the whole
/// head in one call).
fn is_switching_protocols(buf: &[u8]) -> bool {
    buf.starts_with(b"HTTP/1.1 101") || buf.starts_with(b"HTTP/1.0 101")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A connected pair: the server side wrapped, the client side bare, with small kernel
    /// buffers so a client that does not read is felt quickly.
    async fn pair(limit: usize) -> (BoundedConnection, TcpStream) {
        pair_counting(limit, Arc::default()).await
    }

    async fn pair_counting(
        limit: usize,
        slow_clients: Arc<AtomicU64>,
    ) -> (BoundedConnection, TcpStream) {
        // Accepted sockets inherit the listener's send buffer size.
        let listening = tokio::net::TcpSocket::new_v4().unwrap();
        listening.set_send_buffer_size(4096).unwrap();
        listening.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = listening.listen(16).unwrap();
        let address = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            socket.connect(address).await.unwrap()
        });
        let (server, _) = listener.accept().await.unwrap();
        (
            BoundedConnection::new(server, limit, slow_clients),
            client.await.unwrap(),
        )
    }

    const UPGRADE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";

    #[tokio::test]
    async fn a_websocket_whose_client_does_not_read_is_refused_at_the_cap() {
        let slow_clients = Arc::new(AtomicU64::new(0));
        let (mut server, _client) = pair_counting(256 * 1024, slow_clients.clone()).await;
        server.write_all(UPGRADE).await.unwrap();
        let chunk = vec![b'x'; 16 * 1024];
        let mut accepted = 0usize;
        let error = loop {
            // Writes never wait once upgraded: each one either is taken or fails.
            let result = tokio::time::timeout(Duration::from_secs(5), server.write(&chunk))
                .await
                .expect("a write to an upgraded connection never waits");
            match result {
                Ok(count) => accepted += count,
                Err(error) => break error,
            }
            assert!(accepted < 64 * 1024 * 1024, "the cap was never applied");
        };
        assert_eq!(error.to_string(), SLOW_CLIENT_MESSAGE);
        assert!(server.buffered_bytes() == 0, "the buffer is freed at once");
        assert_eq!(slow_clients.load(Ordering::Relaxed), 1);
        // Later writes fail the same way, and the reading side ends at once (the socket is shut
        // down), so Engine.IO closes the session without waiting for its heartbeat.
        assert!(server.write(b"more").await.is_err());
        let mut buf = [0; 16];
        let read = tokio::time::timeout(Duration::from_secs(2), server.read(&mut buf))
            .await
            .expect("the read side ends at once");
        assert!(matches!(read, Ok(0) | Err(_)), "got {read:?}");
    }

    #[tokio::test]
    async fn a_websocket_whose_client_reads_gets_every_byte_in_order() {
        let (mut server, mut client) = pair(64 * 1024).await;
        server.write_all(UPGRADE).await.unwrap();
        let total = 4 * 1024 * 1024;
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            let mut buf = vec![0; 8192];
            while received.len() < UPGRADE.len() + total {
                let read = client.read(&mut buf).await.unwrap();
                assert!(read > 0, "the connection closed early");
                received.extend_from_slice(&buf[..read]);
            }
            received
        });
        // Bursts that stay under the cap, each followed by a pause that lets the client catch up.
        let mut sent = 0;
        while sent < total {
            let chunk: Vec<u8> = (0..8192).map(|i| ((sent + i) % 251) as u8).collect();
            server.write_all(&chunk).await.unwrap();
            sent += chunk.len();
            while server.buffered_bytes() > 32 * 1024 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let received = tokio::time::timeout(Duration::from_secs(20), reader)
            .await
            .expect("the client got everything")
            .unwrap();
        assert_eq!(&received[..UPGRADE.len()], UPGRADE);
        for (index, byte) in received[UPGRADE.len()..].iter().enumerate() {
            assert_eq!(*byte, (index % 251) as u8, "byte {index} out of order");
        }
    }

    #[tokio::test]
    async fn plain_http_waits_for_a_slow_client_instead_of_failing() {
        let (mut server, mut client) = pair(16 * 1024).await;
        let length = 2 * 1024 * 1024;
        // Far more than the cap: before an upgrade the cap does not apply, the write waits.
        let writer = tokio::spawn(async move {
            server.write_all(&vec![b'y'; length]).await.unwrap();
            server.flush().await.unwrap();
            server
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !writer.is_finished(),
            "the write should wait for the client"
        );
        // Once the client reads, everything arrives and the write completes.
        let mut received = 0;
        let mut buf = vec![0; 65536];
        while received < length {
            let read = tokio::time::timeout(Duration::from_secs(20), client.read(&mut buf))
                .await
                .expect("the body keeps coming")
                .unwrap();
            assert!(read > 0, "the connection closed early");
            assert!(buf[..read].iter().all(|byte| *byte == b'y'));
            received += read;
        }
        assert_eq!(received, length);
        let server = tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the write completed")
            .unwrap();
        assert_eq!(server.buffered_bytes(), 0);
    }

    /// A masked client text frame, as browsers send them.
    fn client_text_frame(payload: &[u8]) -> Vec<u8> {
        let mask = [9, 8, 7, 6];
        let mut frame = vec![0x81, 0x80 | payload.len() as u8];
        frame.extend(mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    async fn read_some(server: &mut BoundedConnection) -> io::Result<usize> {
        let mut buf = [0; 64];
        tokio::time::timeout(Duration::from_secs(5), server.read(&mut buf))
            .await
            .expect("the client's bytes arrive")
    }

    #[tokio::test]
    async fn pongs_count_only_when_the_server_sent_a_ping() {
        let (mut server, mut client) = pair(64 * 1024).await;
        server.write_all(UPGRADE).await.unwrap();
        // The server pings once (an unmasked text frame `2`); the client answers once: fine.
        server.write_all(&[0x81, 1, b'2']).await.unwrap();
        client.write_all(&client_text_frame(b"3")).await.unwrap();
        assert!(read_some(&mut server).await.is_ok());
        // Messages and one spare pong (a ping sent over long-polling before the upgrade) pass.
        client
            .write_all(&client_text_frame(b"42[\"chat\",\"hi\"]"))
            .await
            .unwrap();
        assert!(read_some(&mut server).await.is_ok());
        client.write_all(&client_text_frame(b"3")).await.unwrap();
        assert!(read_some(&mut server).await.is_ok());
        // A pong nobody asked for ends the connection.
        client.write_all(&client_text_frame(b"3")).await.unwrap();
        let error = read_some(&mut server).await.unwrap_err();
        assert_eq!(error.to_string(), UNASKED_PONG_MESSAGE);
    }

    #[tokio::test]
    async fn pongs_before_an_upgrade_are_not_counted() {
        let (mut server, mut client) = pair(64 * 1024).await;
        // Plain HTTP bytes that happen to look like frames are never scanned.
        for _ in 0..5 {
            client.write_all(&client_text_frame(b"3")).await.unwrap();
            assert!(read_some(&mut server).await.is_ok());
        }
    }
}
