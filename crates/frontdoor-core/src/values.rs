//! The grammar of settings values, shared by the server's settings and a plan's
//! description (and so by the binary's config file): sizes, rates, durations and
//! counts. Each check returns the message an error about the value gives; the caller
//! names the key.
//!
//! ```
//! use std::time::Duration;
//!
//! use frontdoor_core::values;
//!
//! assert_eq!(values::parse_size("64KiB"), Some(64 * 1024));
//! assert_eq!(values::parse_rate("1KiB/s"), Some(1024));
//! assert_eq!(values::duration("500ms"), Ok(Duration::from_millis(500)));
//! assert_eq!(values::duration("0s").unwrap_err(), "must be greater than zero");
//! assert_eq!(values::delay("0"), Ok(Duration::ZERO));
//! assert_eq!(values::delay("0s"), Ok(Duration::ZERO));
//! assert_eq!(values::delay("5s"), Ok(Duration::from_secs(5)));
//! assert!(values::delay("5").unwrap_err().ends_with("write e.g. \"5s\", or 0 (none)"));
//! assert_eq!(values::count(0).unwrap_err(), "must be a positive number, got 0");
//! ```

use std::time::Duration;

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

/// The error about a value that is not a size, `shown` as written.
#[must_use]
pub fn size_error(shown: &str) -> String {
    format!("not a size: {shown}; write a number of bytes or e.g. \"64KiB\", \"1MiB\"")
}

/// A size per second (`"256B/s"`, `"1KiB/s"`) in bytes, or `"0"` (off); `None` for
/// anything else.
#[must_use]
pub fn parse_rate(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "0" {
        return Some(0);
    }
    text.strip_suffix("/s")
        .and_then(parse_size)
        .filter(|&n| n > 0)
}

/// The error about a value that is not a rate, `shown` as written.
#[must_use]
pub fn rate_error(shown: &str) -> String {
    format!("not a rate: {shown}; write a size per second, e.g. \"256B/s\", \"1KiB/s\", or 0 (off)")
}

/// The longest duration a setting may give: longer ones are surely typos, and
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

/// A `humantime` duration of at most 7 days where zero (`"0"`, `"0s"`) means none:
/// a wait that may be left out, unlike a timeout.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn delay(value: &str) -> Result<Duration, String> {
    if value.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    match humantime::parse_duration(value) {
        Ok(d) if d > MAX_DURATION => Err(format!("must be at most 7 days, got {value:?}")),
        Ok(d) => Ok(d),
        Err(e) => Err(delay_error(&format!("{value:?} ({e})"))),
    }
}

/// The error about a value that is not a delay, `shown` as written.
#[must_use]
pub fn delay_error(shown: &str) -> String {
    format!("not a duration {shown}; write e.g. \"5s\", or 0 (none)")
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

/// A request rate: `"100/s"`, `"600/m"`, `"3600/h"` as a positive count and its
/// period (one second, minute or hour).
///
/// ```
/// use std::time::Duration;
///
/// use frontdoor_core::values::request_rate;
///
/// assert_eq!(request_rate("100/s"), Ok((100, Duration::from_secs(1))));
/// assert_eq!(request_rate("5/m"), Ok((5, Duration::from_secs(60))));
/// assert_eq!(request_rate("5/h"), Ok((5, Duration::from_secs(3600))));
/// assert_eq!(request_rate("0/s").unwrap_err(), "expected N/s, N/m or N/h with N > 0, got \"0/s\"");
/// ```
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn request_rate(text: &str) -> Result<(u32, Duration), String> {
    let parsed = text.trim().split_once('/').and_then(|(n, unit)| {
        let period = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return None,
        };
        let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        let count = n.parse::<u32>().ok().filter(|_| digits)?;
        Some((count, Duration::from_secs(period)))
    });
    match parsed {
        Some((0, _)) => Err(format!("expected N/s, N/m or N/h with N > 0, got {text:?}")),
        Some(rate) => Ok(rate),
        None => Err(format!("expected N/s, N/m or N/h, got {text:?}")),
    }
}
