//! `[server]`: listeners, timeouts, sizes and counts, each checked naming its key.

use std::{net::SocketAddr, time::Duration};

use frontdoor_core::EncodedSlash;
use frontdoor_upstream::Forwarding;
use http::HeaderValue;
use toml::Spanned;

use super::{
    error::Errors,
    raw::{strings, OneOrMany, RawServer, Size},
    Server,
};

/// `[server]`, checked.
pub(super) fn server(raw: RawServer, errors: &mut Errors<'_>) -> Server {
    let request_buffer_total = raw
        .request_buffer_total
        .and_then(|v| size("server.request_buffer_total", &v, errors))
        .unwrap_or(DEFAULT_REQUEST_BUFFER_TOTAL);
    Server {
        listen: raw
            .listen
            .map_or_else(|| vec![DEFAULT_LISTEN], |l| listen("listen", &l, errors)),
        listen_tls: raw
            .listen_tls
            .map_or_else(Vec::new, |l| listen("listen_tls", &l, errors)),
        tls_handshake_timeout: duration(
            "server.tls_handshake_timeout",
            raw.tls_handshake_timeout,
            errors,
        ),
        forwarded: raw.forwarded.unwrap_or(false),
        server_name: raw.server_name.and_then(|n| server_name(&n, errors)),
        admin: raw
            .admin
            .and_then(|a| socket_addr("server.admin", &a, errors)),
        workers: count("workers", raw.workers, errors),
        header_timeout: duration("server.header_timeout", raw.header_timeout, errors),
        body_timeout: duration("server.body_timeout", raw.body_timeout, errors),
        drain_timeout: duration("server.drain_timeout", raw.drain_timeout, errors),
        max_connections: count("max_connections", raw.max_connections, errors),
        idle_timeout: duration("server.idle_timeout", raw.idle_timeout, errors),
        send_timeout: duration("server.send_timeout", raw.send_timeout, errors),
        max_connections_per_ip: limit(
            "server.max_connections_per_ip",
            raw.max_connections_per_ip,
            errors,
        ),
        proxy_protocol: raw.proxy_protocol.unwrap_or(false),
        max_header_bytes: raw
            .max_header_bytes
            .and_then(|v| max_header_bytes(&v, errors)),
        max_headers: count("max_headers", raw.max_headers, errors),
        h2_max_concurrent_streams: count(
            "h2_max_concurrent_streams",
            raw.h2_max_concurrent_streams,
            errors,
        )
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        max_request_body: raw
            .max_request_body
            .and_then(|v| size("server.max_request_body", &v, errors))
            .unwrap_or(0),
        request_buffer: raw
            .request_buffer
            .and_then(|v| size("server.request_buffer", &v, errors))
            .unwrap_or(DEFAULT_REQUEST_BUFFER),
        request_buffer_total,
        min_body_rate: raw
            .min_body_rate
            .and_then(|v| rate("server.min_body_rate", &v, errors))
            .unwrap_or(frontdoor::serve::DEFAULT_MIN_BODY_RATE),
        via: via(raw.via, errors),
        via_responses: raw.via_responses.unwrap_or(false),
        escaped_slashes: raw.escaped_slashes.map_or(EncodedSlash::Keep, |e| {
            escaped_slashes("server", &e, errors)
        }),
    }
}

/// The default `request_buffer`: bodies up to 64 KiB are read before the upstream
/// request starts.
pub(super) const DEFAULT_REQUEST_BUFFER: u64 = 64 * 1024;
/// The default `request_buffer_total`: what all buffered bodies may hold at once.
const DEFAULT_REQUEST_BUFFER_TOTAL: u64 = 64 * 1024 * 1024;

/// A rate at `key`: a size per second (`"256B/s"`, `"1KiB/s"`), or 0 (off).
fn rate(key: &str, value: &Spanned<Size>, errors: &mut Errors<'_>) -> Option<u64> {
    let parsed = match value.get_ref() {
        toml::Value::Integer(0) => Some(0),
        toml::Value::String(text) if text.trim() == "0" => Some(0),
        toml::Value::String(text) => text
            .trim()
            .strip_suffix("/s")
            .and_then(parse_size)
            .filter(|&n| n > 0),
        _ => None,
    };
    reported(
        key,
        value,
        parsed,
        "a rate",
        "a size per second, e.g. \"256B/s\", \"1KiB/s\", or 0 (off)",
        errors,
    )
}

/// The default `Via` pseudonym.
const DEFAULT_VIA: &str = "frontdoor";

/// `via = true | false | "pseudonym"`: the pseudonym, `frontdoor` by default, `None`
/// when off.
fn via(raw: Option<Spanned<toml::Value>>, errors: &mut Errors<'_>) -> Option<String> {
    let Some(raw) = raw else {
        return Some(DEFAULT_VIA.to_owned());
    };
    match raw.get_ref() {
        toml::Value::Boolean(true) => Some(DEFAULT_VIA.to_owned()),
        toml::Value::Boolean(false) => None,
        toml::Value::String(name) => {
            let valid = !name.is_empty()
                && !name.contains([',', ' '])
                && Forwarding::default().via(name).is_ok();
            if valid {
                Some(name.clone())
            } else {
                errors.push(
                    Some(&raw.span()),
                    "server.via",
                    format!("not a pseudonym (a token without spaces or commas): {name:?}"),
                );
                None
            }
        }
        other => {
            errors.push(
                Some(&raw.span()),
                "server.via",
                format!(
                    "expected true, false or a pseudonym string, got {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// An `escaped_slashes` policy at `{path}.escaped_slashes`.
pub(super) fn escaped_slashes(
    path: &str,
    raw: &Spanned<String>,
    errors: &mut Errors<'_>,
) -> EncodedSlash {
    raw.get_ref().parse().unwrap_or_else(|message: String| {
        errors.push(
            Some(&raw.span()),
            format!("{path}.escaped_slashes"),
            message,
        );
        EncodedSlash::Keep
    })
}

/// The smallest `max_header_bytes`: hyper's minimum read buffer.
pub(super) const MIN_HEADER_BYTES: u64 = 8 * 1024;

pub(super) fn max_header_bytes(value: &Spanned<Size>, errors: &mut Errors<'_>) -> Option<usize> {
    let key = "server.max_header_bytes";
    let bytes = size(key, value, errors)?;
    if bytes < MIN_HEADER_BYTES {
        errors.push(
            Some(&value.span()),
            key,
            format!("must be at least 8KiB, got {bytes} bytes"),
        );
        return None;
    }
    Some(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// A size at `key`: a number of bytes, or a string of digits with an optional unit
/// (`B`, `KiB`, `MiB`, `GiB`; a space before it is allowed).
pub(super) fn size(key: &str, value: &Spanned<Size>, errors: &mut Errors<'_>) -> Option<u64> {
    let parsed = match value.get_ref() {
        toml::Value::Integer(n) => u64::try_from(*n).ok(),
        toml::Value::String(text) => parse_size(text),
        _ => None,
    };
    reported(
        key,
        value,
        parsed,
        "a size",
        "a number of bytes or e.g. \"64KiB\", \"1MiB\"",
        errors,
    )
}

/// `parsed`, or, when `value` did not parse as `what`, an error at `key` saying what
/// to write instead.
fn reported(
    key: &str,
    value: &Spanned<Size>,
    parsed: Option<u64>,
    what: &str,
    hint: &str,
    errors: &mut Errors<'_>,
) -> Option<u64> {
    if parsed.is_none() {
        errors.push(
            Some(&value.span()),
            key,
            format!("not {what}: {}; write {hint}", value.get_ref()),
        );
    }
    parsed
}

/// `"64KiB"`, `"1 MiB"`, `"512"`, `"512B"` in bytes; `None` for anything else or an
/// overflow.
pub(super) fn parse_size(text: &str) -> Option<u64> {
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

/// A count at `key` where 0 means "no limit" (the default when absent).
pub(super) fn limit(key: &str, value: Option<Spanned<i64>>, errors: &mut Errors<'_>) -> usize {
    let Some(value) = value else {
        return 0;
    };
    usize::try_from(*value.get_ref()).unwrap_or_else(|_| {
        errors.push(
            Some(&value.span()),
            key,
            format!(
                "must be 0 (no limit) or a positive number, got {}",
                value.get_ref()
            ),
        );
        0
    })
}

/// The addresses at `server.{key}` (`listen` needs at least one).
pub(super) fn listen(
    key: &str,
    listen: &Spanned<OneOrMany>,
    errors: &mut Errors<'_>,
) -> Vec<SocketAddr> {
    let span = listen.span();
    let Some(addrs) = strings(listen.get_ref()) else {
        errors.push(
            Some(&span),
            format!("server.{key}"),
            "expected an address or a list of addresses",
        );
        return Vec::new();
    };
    if addrs.is_empty() && key == "listen" {
        errors.push(Some(&span), "server.listen", "needs at least one address");
    }
    addrs
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            a.parse::<SocketAddr>()
                .map_err(|_| {
                    errors.push(
                        Some(&span),
                        format!("server.{key}[{i}]"),
                        format!("not an ip:port address: {a:?}"),
                    );
                })
                .ok()
        })
        .collect()
}

pub(super) fn server_name(name: &Spanned<String>, errors: &mut Errors<'_>) -> Option<String> {
    let lower = name.get_ref().trim().to_ascii_lowercase();
    if lower.is_empty() || HeaderValue::from_str(&lower).is_err() || lower.contains(['/', ' ']) {
        errors.push(
            Some(&name.span()),
            "server.server_name",
            format!("not a host name: {:?}", name.get_ref()),
        );
        return None;
    }
    Some(lower)
}

pub(super) fn socket_addr(
    key: &str,
    value: &Spanned<String>,
    errors: &mut Errors<'_>,
) -> Option<SocketAddr> {
    let parsed = value.get_ref().parse::<SocketAddr>();
    if parsed.is_err() {
        errors.push(
            Some(&value.span()),
            key,
            format!("not an ip:port address: {:?}", value.get_ref()),
        );
    }
    parsed.ok()
}

/// A positive count at `server.{key}`.
pub(super) fn count(
    key: &str,
    value: Option<Spanned<i64>>,
    errors: &mut Errors<'_>,
) -> Option<usize> {
    let value = value?;
    match usize::try_from(*value.get_ref()) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errors.push(
                Some(&value.span()),
                format!("server.{key}"),
                format!("must be a positive number, got {}", value.get_ref()),
            );
            None
        }
    }
}

/// The longest duration a config may give: longer ones are surely typos, and
/// deadlines far in the future overflow.
pub(super) const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A positive `humantime` duration (`"2s"`, `"500ms"`) of at most 7 days, or an
/// error at `key`.
pub(super) fn duration(
    key: &str,
    value: Option<Spanned<String>>,
    errors: &mut Errors<'_>,
) -> Option<Duration> {
    let value = value?;
    match humantime::parse_duration(value.get_ref()) {
        Ok(d) if d.is_zero() => {
            errors.push(Some(&value.span()), key, "must be greater than zero");
            None
        }
        Ok(d) if d > MAX_DURATION => {
            errors.push(
                Some(&value.span()),
                key,
                format!("must be at most 7 days, got {:?}", value.get_ref()),
            );
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(
                Some(&value.span()),
                key,
                format!(
                    "not a duration {:?} ({e}); write e.g. \"2s\" or \"500ms\"",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

/// The default listen address.
pub(super) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);
