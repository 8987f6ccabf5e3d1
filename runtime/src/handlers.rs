//! [`RunningHandlers`]: counts the socket functions and event handlers that are running, so
//! that shutdown can let them finish their database writes before it closes the database.
//!
//! A handler counts from the moment its [`SocketContext`](crate::SocketContext) is built until
//! the context's database handle and the tables built on it (and their clones) are dropped,
//! which for generated handlers is when the handler's future completes. The token lives in the
//! database handle rather than in a field of the context because an `async move` block
//! captures only the fields it uses (`ctx.entities`): a token of its own would be dropped
//! before the handler's writes, while the tables it writes through are always kept. A leaf of
//! the runtime's module graph.
//!
//! (tokio-util's `TaskTracker` does the same, but its runtime feature pulls a procedural macro
//! crate into every generated server's build; this is the few lines the server needs.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// The handlers that are running; cheap to clone (the clones share the count).
#[derive(Debug, Clone, Default)]
pub struct RunningHandlers {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    running: AtomicUsize,
    /// Woken whenever the count drops to zero.
    idle: Notify,
}

/// One running handler: it counts until dropped (clones count once each).
#[derive(Debug)]
pub struct HandlerToken {
    shared: Arc<Shared>,
}

impl RunningHandlers {
    /// A token that counts one more running handler until it is dropped.
    pub fn token(&self) -> HandlerToken {
        self.shared.running.fetch_add(1, Ordering::SeqCst);
        HandlerToken {
            shared: self.shared.clone(),
        }
    }

    /// How many handlers are running now.
    pub fn running(&self) -> usize {
        self.shared.running.load(Ordering::SeqCst)
    }

    /// Waits until no handler runs, or `deadline` passes; true when none runs.
    pub async fn wait_until_idle(&self, deadline: Duration) -> bool {
        tokio::time::timeout(deadline, async {
            loop {
                // Registered before the count is read, so a drop to zero in between still
                // wakes this waiter.
                let idle = self.shared.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.running() == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await
        .is_ok()
    }
}

impl Clone for HandlerToken {
    fn clone(&self) -> Self {
        self.shared.running.fetch_add(1, Ordering::SeqCst);
        HandlerToken {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for HandlerToken {
    fn drop(&mut self) {
        if self.shared.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_ends_when_the_last_token_is_dropped_or_at_the_deadline() {
        let handlers = RunningHandlers::default();
        assert!(handlers.wait_until_idle(Duration::ZERO).await);

        let token = handlers.token();
        let clone = token.clone();
        assert_eq!(handlers.running(), 2);
        // A handler that does not finish is waited for up to the deadline only.
        assert!(!handlers.wait_until_idle(Duration::from_millis(20)).await);

        let waiter = tokio::spawn({
            let handlers = handlers.clone();
            async move { handlers.wait_until_idle(Duration::from_secs(10)).await }
        });
        drop(token);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "one clone still runs");
        drop(clone);
        assert!(waiter.await.unwrap());
        assert_eq!(handlers.running(), 0);
    }
}
