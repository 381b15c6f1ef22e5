//! The IDs of requests, traces and spans, and the headers that carry them.

use http::{header::HeaderName, HeaderValue};

/// The `traceparent` header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The `tracestate` header.
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
/// The default request ID header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// 16 random bytes from a fast thread-local generator seeded by the OS (fastrand's
/// wyrand): IDs must be unique and unpredictable enough to never collide, not secret,
/// and a system call per ID would cost more than the rest of the layer.
pub(super) fn random16() -> [u8; 16] {
    fastrand::u128(..).to_le_bytes()
}

/// 8 random bytes, never all zero.
pub(super) fn random8() -> [u8; 8] {
    let n = fastrand::u64(1..);
    n.to_le_bytes()
}

/// A random UUID v4, as text (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
pub(super) fn uuid_v4() -> HeaderValue {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut b = random16();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = DIGITS[usize::from(byte >> 4)];
        out[at + 1] = DIGITS[usize::from(byte & 15)];
        at += 2;
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("-"))
}
