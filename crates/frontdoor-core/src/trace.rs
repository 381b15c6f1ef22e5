//! The request's identity across systems: [`RequestId`] (an `X-Request-Id`-style
//! header value) and [`TraceContext`] (W3C Trace Context: `traceparent` and
//! `tracestate`), inserted by the front door's server-level layers and read by the
//! access log, the upstream's attempt layer and span export.
//!
//! ```
//! use frontdoor_core::TraceContext;
//!
//! let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
//! let (trace_id, parent_id, flags) = TraceContext::parse_traceparent(parent.as_bytes()).unwrap();
//! let cx = TraceContext::continued(trace_id, parent_id, flags, [1; 8], None);
//! assert!(cx.sampled());
//! assert_eq!(cx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!(
//!     cx.traceparent([2; 8]),
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-0202020202020202-01"
//! );
//! assert!(TraceContext::parse_traceparent(b"00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
//! ```

use http::HeaderValue;

/// The request's ID, as the front door's request-ID layer decided it (kept from a
/// trusted proxy, or generated); it is also in the request's ID header towards the
/// upstream and on the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    /// Whether `value` is a request ID worth keeping: 1 to 128 bytes, printable ASCII
    /// without spaces.
    #[must_use]
    pub fn is_sane(value: &HeaderValue) -> bool {
        let bytes = value.as_bytes();
        !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(|b| b.is_ascii_graphic())
    }
}

/// A request's place in a W3C trace: its trace, the front door's server span, the
/// caller's span when the trace was continued, the sampled flag and a trusted
/// caller's `tracestate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_id: Option<[u8; 8]>,
    flags: u8,
    state: Option<HeaderValue>,
}

impl TraceContext {
    /// A new trace: `trace_id` (not all zero), the server span `span_id`, sampled or
    /// not.
    #[must_use]
    pub const fn started(trace_id: [u8; 16], span_id: [u8; 8], sampled: bool) -> Self {
        Self {
            trace_id,
            span_id,
            parent_id: None,
            flags: if sampled { 1 } else { 0 },
            state: None,
        }
    }

    /// A trace continued from a caller's `traceparent` (its trace ID, span ID and
    /// flags) and `tracestate`, with the server span `span_id`.
    #[must_use]
    pub const fn continued(
        trace_id: [u8; 16],
        parent_id: [u8; 8],
        flags: u8,
        span_id: [u8; 8],
        state: Option<HeaderValue>,
    ) -> Self {
        Self {
            trace_id,
            span_id,
            parent_id: Some(parent_id),
            flags,
            state,
        }
    }

    /// The trace ID.
    #[must_use]
    pub const fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The front door's server span ID.
    #[must_use]
    pub const fn span_id(&self) -> [u8; 8] {
        self.span_id
    }

    /// The caller's span ID, when the trace was continued.
    #[must_use]
    pub const fn parent_id(&self) -> Option<[u8; 8]> {
        self.parent_id
    }

    /// Whether the trace is sampled (recorded and exported).
    #[must_use]
    pub const fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// A trusted caller's `tracestate`, passed on as it came.
    #[must_use]
    pub const fn state(&self) -> Option<&HeaderValue> {
        self.state.as_ref()
    }

    /// The trace ID as 32 lowercase hex digits.
    #[must_use]
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The `traceparent` a request sent on behalf of span `span_id` carries.
    #[must_use]
    pub fn traceparent(&self, span_id: [u8; 8]) -> HeaderValue {
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
        hex_into(&self.trace_id, &mut out[3..35]);
        hex_into(&span_id, &mut out[36..52]);
        hex_into(&[self.flags], &mut out[53..55]);
        HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The trace ID, parent span ID and flags of a `traceparent` value, or `None` when
    /// it is not one (W3C Trace Context level 1: version `00` exactly, later versions
    /// by their first four fields; all-zero IDs and version `ff` are invalid).
    #[must_use]
    pub fn parse_traceparent(value: &[u8]) -> Option<([u8; 16], [u8; 8], u8)> {
        if value.len() < 55 || (value.len() > 55 && value[55] != b'-') {
            return None;
        }
        let version = unhex::<1>(&value[0..2])?[0];
        if version == 0xff || (version == 0 && value.len() != 55) {
            return None;
        }
        if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let trace_id = unhex::<16>(&value[3..35])?;
        let parent_id = unhex::<8>(&value[36..52])?;
        let flags = unhex::<1>(&value[53..55])?[0];
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some((trace_id, parent_id, flags))
    }
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    hex_into(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `bytes` as lowercase hex into `out` (twice as long).
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
}

/// `N` bytes from `2 * N` lowercase hex digits.
fn unhex<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_values_are_checked_as_the_spec_says() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(TraceContext::parse_traceparent(ok.as_bytes()).is_some());
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
        assert!(TraceContext::parse_traceparent(future.as_bytes()).is_some());
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "",
        ] {
            assert!(
                TraceContext::parse_traceparent(bad.as_bytes()).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn request_ids_are_sane_when_short_and_printable() {
        assert!(RequestId::is_sane(&HeaderValue::from_static("abc-123")));
        assert!(!RequestId::is_sane(&HeaderValue::from_static("a b")));
        assert!(!RequestId::is_sane(&HeaderValue::from_static("")));
        let long = HeaderValue::try_from("x".repeat(129)).unwrap();
        assert!(!RequestId::is_sane(&long));
    }
}
