//! The value rules of a description, on TOML values: sizes, rates, durations and
//! limits, each an `Err` with the message an error about the value gives (the caller
//! names the key). The grammar is core's ([`frontdoor_core::values`]), shared with
//! the server's settings.

use toml::Value;

pub use frontdoor_core::values::{count, duration, limit, parse_size, MAX_DURATION};
use frontdoor_core::values::{parse_rate, rate_error, size_error};

/// A size: a number of bytes, or a string of digits with an optional unit (`B`,
/// `KiB`, `MiB`, `GiB`; a space before it is allowed).
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn size(value: &Value) -> Result<u64, String> {
    let parsed = match value {
        Value::Integer(n) => u64::try_from(*n).ok(),
        Value::String(text) => parse_size(text),
        _ => None,
    };
    parsed.ok_or_else(|| size_error(&value.to_string()))
}

/// A size per second (`"256B/s"`, `"1KiB/s"`), or 0 (off).
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn rate(value: &Value) -> Result<u64, String> {
    let parsed = match value {
        Value::Integer(0) => Some(0),
        Value::String(text) => parse_rate(text),
        _ => None,
    };
    parsed.ok_or_else(|| rate_error(&value.to_string()))
}

/// The strings of a string-or-list value, or `None` when it is neither.
#[must_use]
pub fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}
