//! The value rules of a description, shared with the server's settings: sizes,
//! rates, durations and limits, each an `Err` with the message an error about the
//! value gives (the caller names the key).

use std::time::Duration;

use toml::Value;

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
    parsed.ok_or_else(|| {
        format!("not a size: {value}; write a number of bytes or e.g. \"64KiB\", \"1MiB\"")
    })
}

/// A size per second (`"256B/s"`, `"1KiB/s"`), or 0 (off).
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn rate(value: &Value) -> Result<u64, String> {
    let parsed = match value {
        Value::Integer(0) => Some(0),
        Value::String(text) if text.trim() == "0" => Some(0),
        Value::String(text) => text
            .trim()
            .strip_suffix("/s")
            .and_then(parse_size)
            .filter(|&n| n > 0),
        _ => None,
    };
    parsed.ok_or_else(|| {
        format!(
            "not a rate: {value}; write a size per second, e.g. \"256B/s\", \"1KiB/s\", or 0 (off)"
        )
    })
}

/// `"64KiB"`, `"1 MiB"`, `"512"`, `"512B"` in bytes; `None` for anything else or an
/// overflow.
#[must_use]
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return None;
    }
    let unit = match unit.trim_start() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// A count where 0 means "no limit".
///
/// # Errors
///
/// A negative count.
pub fn limit(value: i64) -> Result<usize, String> {
    usize::try_from(value)
        .map_err(|_| format!("must be 0 (no limit) or a positive number, got {value}"))
}

/// A positive count.
///
/// # Errors
///
/// Zero or a negative count.
pub fn count(value: i64) -> Result<usize, String> {
    match usize::try_from(value) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("must be a positive number, got {value}")),
    }
}

/// The longest duration a description may give: longer ones are surely typos, and
/// deadlines far in the future overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A positive `humantime` duration (`"2s"`, `"500ms"`) of at most 7 days.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn duration(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(d) if d.is_zero() => Err("must be greater than zero".to_owned()),
        Ok(d) if d > MAX_DURATION => Err(format!("must be at most 7 days, got {value:?}")),
        Ok(d) => Ok(d),
        Err(e) => Err(format!(
            "not a duration {value:?} ({e}); write e.g. \"2s\" or \"500ms\""
        )),
    }
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
