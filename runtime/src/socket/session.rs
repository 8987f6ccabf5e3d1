//! Auth on long-lived sockets: a socket that connected with a token is disconnected when that
//! token expires, and (every [`SocketLimits::user_check_interval`]) when its user no longer
//! exists, just as HTTP would refuse the token from then on.
//!
//! Before the disconnect the client gets an `error` event `{ "error": { "code", "message" } }`
//! with the code `token_expired` or `user_deleted`, so it knows to log in again (the web
//! client logs out as `logout` does and keeps the reason in `useAuth().sessionEnd`).
//!
//! One task per authenticated socket sleeps until the next deadline. It holds no reference to
//! the socket while it sleeps (it finds the socket again by id), and it ends as soon as the
//! socket is gone: the socket's extensions hold the sending half of a channel whose receiving
//! half the task watches.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::limits::SocketLimits;
use crate::auth::{Auth, TokenRejection, TokenVerificationError};

/// Dropped with the socket's extensions, which ends the socket's watch.
#[derive(Clone)]
struct WatchStop(#[expect(dead_code, reason = "held only to be dropped")] Arc<oneshot::Sender<()>>);

/// About a hundred years: tokens living longer are watched as if they expired then.
const LONGEST_WATCH_SECONDS: u64 = 100 * 365 * 24 * 60 * 60;

/// The claim the watch needs; the token was verified before this is read.
#[derive(serde::Deserialize)]
struct Expiry {
    exp: i64,
}

/// Starts watching a socket that was authenticated with `token`.
pub(crate) fn watch_session<A: Adapter>(
    socket: &SocketRef<A>,
    io: SocketIo<A>,
    auth: Auth,
    token: String,
    limits: &SocketLimits,
) {
    let Ok(Expiry { exp }) = jsonwebtoken::dangerous::insecure_decode_claims::<Expiry>(&token)
    else {
        return;
    };
    let seconds_left = exp.saturating_sub(chrono::Utc::now().timestamp());
    // Capped, so that no configured lifetime overflows the clock.
    let seconds_left = u64::try_from(seconds_left)
        .unwrap_or(0)
        .min(LONGEST_WATCH_SECONDS);
    let expires_at = Instant::now() + Duration::from_secs(seconds_left);
    let (stop, stopped) = oneshot::channel();
    socket.extensions.insert(WatchStop(Arc::new(stop)));
    let watch = SessionWatch {
        io,
        namespace: socket.ns().to_owned(),
        socket_id: socket.id,
        auth,
        token,
        expires_at,
        user_check_interval: limits.user_check_interval,
    };
    tokio::spawn(watch.run(stopped));
}

struct SessionWatch<A: Adapter> {
    io: SocketIo<A>,
    namespace: String,
    socket_id: Sid,
    auth: Auth,
    token: String,
    expires_at: Instant,
    user_check_interval: Option<Duration>,
}

/// Why a watched socket is ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionEnd {
    TokenExpired,
    UserDeleted,
}

impl<A: Adapter> SessionWatch<A> {
    async fn run(self, mut stopped: oneshot::Receiver<()>) {
        loop {
            let wake = match self.user_check_interval {
                Some(interval) => (Instant::now() + interval).min(self.expires_at),
                None => self.expires_at,
            };
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep_until(wake) => {}
            }
            let Some(socket) = self.socket() else {
                return;
            };
            let end = if Instant::now() >= self.expires_at {
                Some(SessionEnd::TokenExpired)
            } else {
                self.check_user().await
            };
            if let Some(end) = end {
                end_session(socket, end);
                return;
            }
        }
    }

    fn socket(&self) -> Option<SocketRef<A>> {
        self.io.of(&self.namespace)?.get_socket(self.socket_id)
    }

    /// Looks the token's user up again; a database error keeps the socket until the next check.
    async fn check_user(&self) -> Option<SessionEnd> {
        match self.auth.user_from_token(&self.token).await {
            Ok(_) => None,
            Err(TokenVerificationError::Rejected(TokenRejection::Expired)) => {
                Some(SessionEnd::TokenExpired)
            }
            Err(TokenVerificationError::Rejected(_)) => Some(SessionEnd::UserDeleted),
            Err(TokenVerificationError::Database(error)) => {
                tracing::debug!(%error, "could not check a socket's user; checking again later");
                None
            }
        }
    }
}

fn end_session<A: Adapter>(socket: SocketRef<A>, end: SessionEnd) {
    let (code, message) = match end {
        SessionEnd::TokenExpired => (
            "token_expired",
            "the token has expired; log in again and reconnect with the new token",
        ),
        SessionEnd::UserDeleted => (
            "user_deleted",
            "the token's user no longer exists; sign up or log in again",
        ),
    };
    tracing::info!(socket = %socket.id, namespace = socket.ns(), code, "disconnected an authenticated socket");
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    if let Err(error) = socket.emit("error", &body) {
        tracing::debug!(%error, "could not tell the client why its socket ends");
    }
    let _ = socket.disconnect();
}
