//! The text the load generator sends: a fixed-width stamp (sender, sequence number, send time)
//! padded to a chosen size, so that a receiver can find its send time in the delivered frame
//! without decoding the frame, whatever the server's JSON key order or encoding.

/// The stamp's prefix in a chat message; the uppercase app returns it as `BENCH:`.
pub const MARKER: &[u8] = b"bench:";
/// The stamp's prefix after the uppercase app has upper-cased it.
pub const UPPERCASE_MARKER: &[u8] = b"BENCH:";

const SENDER_DIGITS: usize = 6;
const SEQUENCE_DIGITS: usize = 9;
const TIME_DIGITS: usize = 16;
const STAMP_LENGTH: usize = 6 + SENDER_DIGITS + 1 + SEQUENCE_DIGITS + 1 + TIME_DIGITS + 1;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub sender: u64,
    pub sequence: u64,
    /// Nanoseconds since the start of the run, on the load generator's monotonic clock.
    pub sent_at_nanos: u64,
}

/// A message text of at least the stamp's length, padded with `x` to `size` bytes.
pub fn stamped_text(stamp: Stamp, size: usize) -> String {
    let mut text = format!(
        "bench:{:0sw$}:{:0qw$}:{:0tw$}:",
        stamp.sender,
        stamp.sequence,
        stamp.sent_at_nanos,
        sw = SENDER_DIGITS,
        qw = SEQUENCE_DIGITS,
        tw = TIME_DIGITS
    );
    while text.len() < size {
        text.push('x');
    }
    text
}

/// Finds the stamp after `marker` in a frame's bytes.
pub fn find_stamp(frame: &[u8], marker: &[u8]) -> Option<Stamp> {
    // memmem's vectorised search keeps this cheap: it runs once per delivered message.
    let start = memchr::memmem::find(frame, marker)?;
    let stamp = frame.get(start..start + STAMP_LENGTH)?;
    let mut fields = stamp[marker.len()..].split(|byte| *byte == b':');
    let sender = parse_digits(fields.next()?)?;
    let sequence = parse_digits(fields.next()?)?;
    let sent_at_nanos = parse_digits(fields.next()?)?;
    Some(Stamp {
        sender,
        sequence,
        sent_at_nanos,
    })
}

fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, digit| {
        digit
            .is_ascii_digit()
            .then(|| value * 10 + u64::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_found_inside_a_delivered_frame() {
        let stamp = Stamp {
            sender: 3,
            sequence: 1234,
            sent_at_nanos: 987_654_321,
        };
        let text = stamped_text(stamp, 96);
        assert_eq!(text.len(), 96);
        let frame =
            format!(r#"42["chatMessage",{{"id":"x","username":"user-1","text":"{text}"}}]"#);
        assert_eq!(find_stamp(frame.as_bytes(), MARKER), Some(stamp));
        let shouted = frame.to_uppercase();
        assert_eq!(
            find_stamp(shouted.as_bytes(), UPPERCASE_MARKER),
            Some(stamp)
        );
        assert_eq!(
            find_stamp(b"42[\"chatMessage\",\"bench:12\"]", MARKER),
            None
        );
    }
}
