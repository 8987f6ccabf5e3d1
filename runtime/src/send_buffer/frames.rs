//! A streaming scanner of WebSocket frames that finds Engine.IO heartbeat packets (`2` ping,
//! `3` pong) without buffering or copying payloads: it reads frame headers, skips payload bytes
//! by count and looks only at a message's first payload byte.
//!
//! [`super::BoundedConnection`] scans what the server writes for pings and what the client
//! sends for pongs, so that a pong counts only when the server asked for it: a client that never
//! reads must not stay "alive" by sending pongs on its own.

/// One complete WebSocket data message (text or binary, its fragments joined).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageSummary {
    pub text: bool,
    pub length: u64,
    pub first_byte: Option<u8>,
}

impl MessageSummary {
    /// Engine.IO's ping packet, as the server sends it over a WebSocket.
    pub fn is_engine_io_ping(&self) -> bool {
        self.text && self.length == 1 && self.first_byte == Some(b'2')
    }

    /// Engine.IO's pong packet, as a client answers a ping.
    pub fn is_engine_io_pong(&self) -> bool {
        self.text && self.length == 1 && self.first_byte == Some(b'3')
    }
}

/// Scans a byte stream of WebSocket frames in one direction.
#[derive(Debug, Default)]
pub struct FrameScanner {
    header: [u8; 14],
    header_length: usize,
    /// Payload bytes of the current frame still to skip.
    payload_remaining: u64,
    /// Whether the first payload byte of the current frame is still to come.
    at_payload_start: bool,
    mask: Option<[u8; 4]>,
    /// Whether the current frame is a control frame (its payload is not part of a message).
    control: bool,
    /// Whether the current frame ends its message.
    final_frame: bool,
    message: Option<MessageSummary>,
}

impl FrameScanner {
    /// Feeds the next bytes of the stream; `on_message` is called for every message completed.
    pub fn feed(&mut self, mut bytes: &[u8], mut on_message: impl FnMut(MessageSummary)) {
        while !bytes.is_empty() {
            if self.payload_remaining == 0 {
                let needed = self.header_needed() - self.header_length;
                let taken = needed.min(bytes.len());
                self.header[self.header_length..self.header_length + taken]
                    .copy_from_slice(&bytes[..taken]);
                self.header_length += taken;
                bytes = &bytes[taken..];
                // The first two bytes may say that more header bytes follow.
                if self.header_length == self.header_needed() {
                    self.start_frame();
                    if self.payload_remaining == 0 {
                        self.end_frame(&mut on_message);
                    }
                }
                continue;
            }
            let taken = usize::try_from(self.payload_remaining)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            if self.at_payload_start {
                self.at_payload_start = false;
                if !self.control
                    && let Some(message) = &mut self.message
                    && message.first_byte.is_none()
                {
                    let mask = self.mask.map_or(0, |mask| mask[0]);
                    message.first_byte = Some(bytes[0] ^ mask);
                }
            }
            self.payload_remaining -= taken as u64;
            bytes = &bytes[taken..];
            if self.payload_remaining == 0 {
                self.end_frame(&mut on_message);
            }
        }
    }

    /// How many header bytes the current frame has, as far as the bytes seen so far tell.
    fn header_needed(&self) -> usize {
        if self.header_length < 2 {
            return 2;
        }
        let length_bytes = match self.header[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask_bytes = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        2 + length_bytes + mask_bytes
    }

    fn start_frame(&mut self) {
        let opcode = self.header[0] & 0x0f;
        self.final_frame = self.header[0] & 0x80 != 0;
        let (length, mask_at) = match self.header[1] & 0x7f {
            126 => (
                u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
                4,
            ),
            127 => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(&self.header[2..10]);
                (u64::from_be_bytes(bytes), 10)
            }
            short => (u64::from(short), 2),
        };
        self.mask = (self.header[1] & 0x80 != 0).then(|| {
            [
                self.header[mask_at],
                self.header[mask_at + 1],
                self.header[mask_at + 2],
                self.header[mask_at + 3],
            ]
        });
        self.control = opcode >= 8;
        if !self.control && opcode != 0 {
            // A text (1) or binary (2) frame starts a message; continuation frames (0) extend it.
            self.message = Some(MessageSummary {
                text: opcode == 1,
                length: 0,
                first_byte: None,
            });
        }
        if !self.control
            && let Some(message) = &mut self.message
        {
            message.length += length;
        }
        self.payload_remaining = length;
        self.at_payload_start = true;
    }

    fn end_frame(&mut self, on_message: &mut impl FnMut(MessageSummary)) {
        self.header_length = 0;
        if !self.control
            && self.final_frame
            && let Some(message) = self.message.take()
        {
            on_message(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(final_frame: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut bytes = vec![(if final_frame { 0x80 } else { 0 }) | opcode];
        let mask_bit = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            length @ 0..=125 => bytes.push(mask_bit | length as u8),
            length @ 126..=65535 => {
                bytes.push(mask_bit | 126);
                bytes.extend((length as u16).to_be_bytes());
            }
            length => {
                bytes.push(mask_bit | 127);
                bytes.extend((length as u64).to_be_bytes());
            }
        }
        match mask {
            Some(mask) => {
                bytes.extend(mask);
                bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            }
            None => bytes.extend(payload),
        }
        bytes
    }

    fn scan_in_pieces(stream: &[u8], piece: usize) -> Vec<MessageSummary> {
        let mut scanner = FrameScanner::default();
        let mut messages = Vec::new();
        for chunk in stream.chunks(piece) {
            scanner.feed(chunk, |message| messages.push(message));
        }
        messages
    }

    #[test]
    fn finds_pings_and_pongs_however_the_stream_is_cut() {
        let mask = Some([0x12, 0x34, 0x56, 0x78]);
        let mut stream = frame(true, 1, b"2", None);
        stream.extend(frame(true, 1, b"42[\"chat\",\"hi\"]", mask));
        stream.extend(frame(true, 9, b"", None)); // a WebSocket-level ping, not Engine.IO's
        stream.extend(frame(true, 1, b"3", mask));
        stream.extend(frame(true, 2, &vec![7; 70_000], mask));
        stream.extend(frame(true, 1, b"3probe", mask));
        for piece in [1, 2, 3, 7, 64, 100_000] {
            let messages = scan_in_pieces(&stream, piece);
            assert_eq!(messages.len(), 5, "pieces of {piece}");
            assert!(messages[0].is_engine_io_ping());
            assert!(!messages[1].is_engine_io_pong());
            assert_eq!(messages[1].first_byte, Some(b'4'));
            assert!(messages[2].is_engine_io_pong());
            assert_eq!(messages[3].length, 70_000);
            assert!(!messages[3].text);
            assert!(
                !messages[4].is_engine_io_pong(),
                "`3probe` answers the upgrade probe"
            );
        }
    }

    #[test]
    fn a_fragmented_pong_is_still_a_pong() {
        let mask = Some([1, 2, 3, 4]);
        let mut stream = frame(false, 1, b"3", mask);
        stream.extend(frame(true, 10, b"", mask)); // a control frame between the fragments
        stream.extend(frame(true, 0, b"", mask));
        let messages = scan_in_pieces(&stream, 1);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].is_engine_io_pong());
    }

    #[test]
    fn a_message_of_more_than_one_byte_is_not_a_pong() {
        let mut stream = frame(false, 1, b"3", None);
        stream.extend(frame(true, 0, b"3", None));
        let messages = scan_in_pieces(&stream, 5);
        assert_eq!(messages[0].length, 2);
        assert!(!messages[0].is_engine_io_pong());
    }
}
