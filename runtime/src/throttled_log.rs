//! Log lines that cannot flood the log: a rejection that a client can cause at will (a refused
//! connection, a throttled login) is logged at most once per interval, with the number of
//! rejections since the last line, instead of once per request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events and says when one line about them may be written: the first event at once,
/// then one line per interval reporting every event since the last line.
#[derive(Debug)]
pub(crate) struct ThrottledLog {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last_line: Option<Instant>,
    unlogged: u64,
}

impl ThrottledLog {
    /// At most one line per `interval`.
    pub(crate) fn new(interval: Duration) -> ThrottledLog {
        ThrottledLog {
            interval,
            state: Mutex::new(State {
                last_line: None,
                unlogged: 0,
            }),
        }
    }

    /// Counts one event. Returns how many events the line should report (this one included)
    /// when a line is due, `None` when the event is only counted.
    pub(crate) fn note(&self) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.unlogged += 1;
        let now = Instant::now();
        let due = state
            .last_line
            .is_none_or(|last_line| now.duration_since(last_line) >= self.interval);
        if !due {
            return None;
        }
        state.last_line = Some(now);
        Some(std::mem::take(&mut state.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_reports_every_event() {
        let log = ThrottledLog::new(Duration::from_millis(50));
        assert_eq!(log.note(), Some(1));
        for _ in 0..99 {
            assert_eq!(log.note(), None);
        }
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(log.note(), Some(100));
        assert_eq!(log.note(), None);
    }
}
