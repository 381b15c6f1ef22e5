//! The wire format: one message per line, `hex(META "\n" PAYLOAD) "\n"`.
//!
//! META is ASCII, space-separated: the type (`1` request, `2` original response, `3`
//! replayed response), the id, the timestamp and the latency (nanoseconds). Fields
//! after the id are optional and every field, known or not, is kept verbatim.
//!
//! ```
//! use frontdoor_gor::{Kind, Message};
//!
//! let msg = Message::new(Kind::Request, "8e091765ae902fef8a2b7d9d", "GET /a HTTP/1.1\r\n\r\n")?
//!     .with_timing(1_439_818_823_587_396_305, 0);
//! let line = msg.to_line();
//! assert!(line.starts_with(b"3120386530") && line.ends_with(b"0d0a0d0a\n"));
//! let back = Message::decode_line(&line)?;
//! assert_eq!(back, msg);
//! assert_eq!(back.timestamp_ns(), Some(1_439_818_823_587_396_305));
//! # Ok::<(), frontdoor_gor::DecodeError>(())
//! ```

use std::fmt;

use bytes::Bytes;

// === Kind ===

/// A message's type, the first META field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `1`: a request (captured or read from a file).
    Request,
    /// `2`: the original response, as captured.
    Response,
    /// `3`: the response of the replay target.
    Replay,
    /// Any other type byte, passed through untouched.
    Other(u8),
}

impl Kind {
    /// The type byte on the wire.
    #[must_use]
    pub const fn as_byte(self) -> u8 {
        match self {
            Self::Request => b'1',
            Self::Response => b'2',
            Self::Replay => b'3',
            Self::Other(b) => b,
        }
    }

    const fn from_byte(b: u8) -> Self {
        match b {
            b'1' => Self::Request,
            b'2' => Self::Response,
            b'3' => Self::Replay,
            other => Self::Other(other),
        }
    }

    /// The event name used by GoReplay's helper libraries.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Response => "response",
            Self::Replay => "replay",
            Self::Other(_) => "other",
        }
    }
}

// === DecodeError ===

/// Why a line is not a message. The reader reports it on stderr and skips the line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// An odd number of hex digits.
    OddLength,
    /// A byte that is not a hex digit, at this offset in the line.
    InvalidHex(usize),
    /// No `\n` between META and payload.
    NoSeparator,
    /// META is not ASCII, or has no type and id.
    BadMeta,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OddLength => f.write_str("odd number of hex digits"),
            Self::InvalidHex(at) => write!(f, "invalid hex digit at byte {at}"),
            Self::NoSeparator => f.write_str("no newline between meta and payload"),
            Self::BadMeta => f.write_str("meta is not an ascii type and id"),
        }
    }
}

impl std::error::Error for DecodeError {}

// === Message ===

/// One GoReplay message: META (kept verbatim) and the payload bytes (an HTTP/1.x
/// message; binary-safe). See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    meta: String,
    payload: Bytes,
}

impl Message {
    /// A message of `kind` with `id` (no spaces) and no timing fields.
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadMeta`] when `id` is empty or not printable ASCII without
    /// spaces.
    pub fn new(kind: Kind, id: &str, payload: impl Into<Bytes>) -> Result<Self, DecodeError> {
        if id.contains(' ') {
            return Err(DecodeError::BadMeta);
        }
        let mut meta = String::with_capacity(2 + id.len());
        meta.push(char::from(kind.as_byte()));
        meta.push(' ');
        meta.push_str(id);
        Self::from_parts(meta, payload.into())
    }

    /// A message from a META line (without its `\n`) and a payload.
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadMeta`] when META is not printable ASCII with a one-byte type
    /// and an id.
    pub fn from_parts(meta: String, payload: Bytes) -> Result<Self, DecodeError> {
        let ascii = meta.bytes().all(|b| (0x20..0x7f).contains(&b));
        let mut fields = meta.split(' ');
        let type_ok = fields.next().is_some_and(|t| t.len() == 1);
        let id_ok = fields.next().is_some_and(|id| !id.is_empty());
        if !(ascii && type_ok && id_ok) {
            return Err(DecodeError::BadMeta);
        }
        Ok(Self { meta, payload })
    }

    /// Appends the timestamp and latency fields (nanoseconds).
    #[must_use]
    pub fn with_timing(mut self, timestamp_ns: i64, latency_ns: i64) -> Self {
        use fmt::Write;
        let _ = write!(self.meta, " {timestamp_ns} {latency_ns}");
        self
    }

    /// Decodes one line (with or without its trailing `\n`; a `\r` before it and
    /// upper-case hex are tolerated).
    ///
    /// # Errors
    ///
    /// See [`DecodeError`].
    pub fn decode_line(line: &[u8]) -> Result<Self, DecodeError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let raw = hex_decode(line)?;
        let sep = raw
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(DecodeError::NoSeparator)?;
        let meta = String::from_utf8(raw[..sep].to_vec()).map_err(|_| DecodeError::BadMeta)?;
        let payload = Bytes::from(raw).slice(sep + 1..);
        Self::from_parts(meta, payload)
    }

    /// Encodes the message as one line: lowercase hex, one `\n`, appended to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve((self.meta.len() + 1 + self.payload.len()) * 2 + 1);
        hex_encode(self.meta.as_bytes(), out);
        hex_encode(b"\n", out);
        hex_encode(&self.payload, out);
        out.push(b'\n');
    }

    /// The encoded line (see [`Message::encode`]).
    #[must_use]
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The message's type.
    #[must_use]
    pub fn kind(&self) -> Kind {
        // `from_parts` guarantees a one-byte type.
        self.meta
            .bytes()
            .next()
            .map_or(Kind::Other(0), Kind::from_byte)
    }

    /// The correlation id (the same for a request, its response and its replay).
    #[must_use]
    pub fn id(&self) -> &str {
        self.meta.split(' ').nth(1).unwrap_or_default()
    }

    /// META as received, without its `\n`.
    #[must_use]
    pub fn meta(&self) -> &str {
        &self.meta
    }

    /// META's fields, including any unknown extra ones.
    pub fn meta_fields(&self) -> impl Iterator<Item = &str> {
        self.meta.split(' ')
    }

    /// The third field: Unix time in nanoseconds, when present and numeric.
    #[must_use]
    pub fn timestamp_ns(&self) -> Option<i64> {
        self.meta_fields().nth(2)?.parse().ok()
    }

    /// The fourth field: latency in nanoseconds, when present and numeric.
    #[must_use]
    pub fn latency_ns(&self) -> Option<i64> {
        self.meta_fields().nth(3)?.parse().ok()
    }

    /// The payload: an HTTP/1.x message (see [`crate::payload`] for its helpers).
    #[must_use]
    pub const fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// Replaces the payload (META is kept as is).
    pub fn set_payload(&mut self, payload: impl Into<Bytes>) {
        self.payload = payload.into();
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_encode(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
}

fn hex_decode(hex: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if hex.len() % 2 != 0 {
        return Err(DecodeError::OddLength);
    }
    let digit = |at: usize| -> Result<u8, DecodeError> {
        let c = hex[at];
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(DecodeError::InvalidHex(at)),
        }
    };
    (0..hex.len() / 2)
        .map(|i| Ok(digit(2 * i)? << 4 | digit(2 * i + 1)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The spec's worked example (part B.3), as one line.
    const EXAMPLE: &str = concat!(
        "3120386530393137363561653930326665663861326237643964203134333938",
        "313838323335383733393633303520300a474554202f6120485454502f312e31",
        "0d0a486f73743a203132372e302e302e310d0a0d0a\n",
    );

    #[test]
    fn worked_example_round_trips_byte_for_byte() {
        assert_eq!(EXAMPLE.len(), 171);
        let msg = Message::decode_line(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(msg.kind(), Kind::Request);
        assert_eq!(msg.id(), "8e091765ae902fef8a2b7d9d");
        assert_eq!(
            msg.meta(),
            "1 8e091765ae902fef8a2b7d9d 1439818823587396305 0"
        );
        assert_eq!(msg.timestamp_ns(), Some(1_439_818_823_587_396_305));
        assert_eq!(msg.latency_ns(), Some(0));
        assert_eq!(msg.payload(), "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        assert_eq!(msg.to_line(), EXAMPLE.as_bytes());
    }

    #[test]
    fn worked_example_replay_encodes_as_the_spec_shows() {
        let msg = Message::from_parts(
            "3 8e091765ae902fef8a2b7d9d 1439818823592000000 2782013".to_owned(),
            Bytes::from_static(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        )
        .unwrap();
        let line = String::from_utf8(msg.to_line()).unwrap();
        assert!(line.starts_with("3320386530"));
        assert!(line.ends_with(
            "0a485454502f312e3120323030204f4b0d0a436f6e74656e742d4c656e6774683a20320d0a0d0a6f6b\n"
        ));
        assert_eq!(msg.kind(), Kind::Replay);
    }

    #[test]
    fn tolerant_input_strict_output() {
        let upper = EXAMPLE.trim_end().to_uppercase() + "\r\n";
        let msg = Message::decode_line(upper.as_bytes()).unwrap();
        assert_eq!(msg.to_line(), EXAMPLE.as_bytes());
        // Extra META fields survive.
        let m = Message::from_parts("2 abc 1 2 extra".to_owned(), Bytes::new()).unwrap();
        let back = Message::decode_line(&m.to_line()).unwrap();
        assert_eq!(back.meta_fields().last(), Some("extra"));
        assert_eq!(
            Message::decode_line(b"3120610a").unwrap().kind(),
            Kind::Request
        );
        assert_eq!(
            Message::decode_line(b"3920610a").unwrap().kind(),
            Kind::Other(b'9')
        );
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(Message::decode_line(b"312"), Err(DecodeError::OddLength));
        assert_eq!(
            Message::decode_line(b"31zz"),
            Err(DecodeError::InvalidHex(2))
        );
        assert_eq!(Message::decode_line(b"3120"), Err(DecodeError::NoSeparator));
        assert_eq!(Message::decode_line(b"310a"), Err(DecodeError::BadMeta));
        assert_eq!(Message::decode_line(b"0a"), Err(DecodeError::BadMeta));
        assert_eq!(Message::decode_line(b"31200a"), Err(DecodeError::BadMeta));
        assert!(Message::new(Kind::Request, "a b", "").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_payloads_encode_and_decode(
            kind in prop::sample::select(vec![Kind::Request, Kind::Response, Kind::Replay]),
            id in "[0-9a-f]{24}",
            ts in any::<i64>(),
            lat in any::<i64>(),
            payload in prop::collection::vec(any::<u8>(), 0..4096),
        ) {
            let msg = Message::new(kind, &id, payload.clone()).unwrap().with_timing(ts, lat);
            let line = msg.to_line();
            prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            prop_assert!(line[..line.len() - 1].iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            let back = Message::decode_line(&line).unwrap();
            prop_assert_eq!(back.payload().as_ref(), payload.as_slice());
            prop_assert_eq!(back.kind(), kind);
            prop_assert_eq!(back.id(), id.as_str());
            prop_assert_eq!((back.timestamp_ns(), back.latency_ns()), (Some(ts), Some(lat)));
            prop_assert_eq!(back.to_line(), line);
        }
    }
}
