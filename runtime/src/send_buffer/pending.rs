//! The bytes a connection owes its client, kept as a queue of chunks of at most
//! [`CHUNK_BYTES`] each, so that the memory they take follows their count: a growing buffer is
//! never copied into one twice its size (which a single growable buffer does, holding half as
//! much again at that moment), and a drained chunk is freed at once.

use std::collections::VecDeque;

/// The size of one chunk; a larger single write gets a chunk of its own size.
pub const CHUNK_BYTES: usize = 16 * 1024;

/// Bytes waiting to be written, oldest first.
#[derive(Debug, Default)]
pub struct PendingBytes {
    chunks: VecDeque<Vec<u8>>,
    /// How much of the front chunk has been written already.
    front_written: usize,
    len: usize,
}

impl PendingBytes {
    /// The number of bytes waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes` after what is waiting.
    pub fn extend(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        if let Some(back) = self.chunks.back_mut() {
            let room = back.capacity() - back.len();
            let taken = room.min(bytes.len());
            back.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
        if !bytes.is_empty() {
            let mut chunk = Vec::with_capacity(bytes.len().max(CHUNK_BYTES));
            chunk.extend_from_slice(bytes);
            self.chunks.push_back(chunk);
        }
    }

    /// The oldest bytes not written yet (empty when nothing waits).
    pub fn front(&self) -> &[u8] {
        self.chunks
            .front()
            .map_or(&[][..], |chunk| &chunk[self.front_written..])
    }

    /// Marks `count` bytes of [`front`](Self::front) as written.
    pub fn consume(&mut self, count: usize) {
        self.front_written += count;
        self.len -= count;
        if self
            .chunks
            .front()
            .is_some_and(|chunk| self.front_written >= chunk.len())
        {
            self.chunks.pop_front();
            self.front_written = 0;
        }
    }

    /// Forgets everything waiting and frees its memory.
    pub fn clear(&mut self) {
        *self = PendingBytes::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_across_chunks() {
        let mut pending = PendingBytes::default();
        let written: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for piece in written.chunks(777) {
            pending.extend(piece);
        }
        assert_eq!(pending.len(), written.len());
        let mut read = Vec::new();
        while !pending.is_empty() {
            let front = pending.front();
            let count = front.len().min(1000);
            read.extend_from_slice(&front[..count]);
            pending.consume(count);
        }
        assert_eq!(read, written);
        assert!(pending.front().is_empty());
    }

    #[test]
    fn chunks_are_filled_before_new_ones_are_made() {
        let mut pending = PendingBytes::default();
        for _ in 0..1000 {
            pending.extend(&[7; 30]);
        }
        // 30,000 bytes in 16 KiB chunks: two, not a thousand small ones.
        assert_eq!(pending.chunks.len(), 2);
        pending.extend(&vec![1; 100_000]);
        assert_eq!(pending.len(), 130_000);
        pending.clear();
        assert!(pending.is_empty() && pending.chunks.is_empty());
    }
}
