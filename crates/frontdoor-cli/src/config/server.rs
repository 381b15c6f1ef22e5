//! `[server]`: listeners, timeouts, sizes and counts, each checked naming its key
//! (`server.<key>`), with the plan's value rules ([`values`]). The keys that shape
//! the stack (`via`, `forwarded`, `server_name`, `escaped_slashes`,
//! `request_buffer`, `request_buffer_total`) are the plan's.

use std::{net::SocketAddr, ops::Range};

use frontdoor::plan::check::values;
use toml::Spanned;

use super::{
    error::Errors,
    raw::{OneOrMany, RawServer, Size},
    Server,
};

/// Checks `server.{key}`'s value with `check`, recording its message at the value's
/// line.
fn checked<V, T>(
    key: &str,
    value: Option<Spanned<V>>,
    check: impl FnOnce(&V) -> Result<T, String>,
    errors: &mut Errors<'_>,
) -> Option<T> {
    let value = value?;
    check(value.get_ref())
        .map_err(|message| errors.push(Some(&value.span()), format!("server.{key}"), message))
        .ok()
}

/// `[server]`, checked.
pub(super) fn server(raw: RawServer, errors: &mut Errors<'_>) -> Server {
    let duration = |v: &String| values::duration(v);
    let timeouts = |key, value, errors: &mut Errors<'_>| checked(key, value, duration, errors);
    let addrs = raw
        .listen
        .map_or_else(|| vec![DEFAULT_LISTEN], |l| listen("listen", &l, errors));
    let tls_addrs = raw
        .listen_tls
        .map_or_else(Vec::new, |l| listen("listen_tls", &l, errors));
    Server {
        listen: addrs,
        listen_tls: tls_addrs,
        tls_handshake_timeout: timeouts("tls_handshake_timeout", raw.tls_handshake_timeout, errors),
        admin: checked("admin", raw.admin, |a| socket_addr(a), errors),
        workers: checked("workers", raw.workers, |n| values::count(*n), errors),
        header_timeout: timeouts("header_timeout", raw.header_timeout, errors),
        body_timeout: timeouts("body_timeout", raw.body_timeout, errors),
        drain_timeout: timeouts("drain_timeout", raw.drain_timeout, errors),
        max_connections: checked(
            "max_connections",
            raw.max_connections,
            |n| values::count(*n),
            errors,
        ),
        idle_timeout: timeouts("idle_timeout", raw.idle_timeout, errors),
        send_timeout: timeouts("send_timeout", raw.send_timeout, errors),
        max_connections_per_ip: checked(
            "max_connections_per_ip",
            raw.max_connections_per_ip,
            |n| values::limit(*n),
            errors,
        )
        .unwrap_or(0),
        proxy_protocol: raw.proxy_protocol.unwrap_or(false),
        max_header_bytes: checked(
            "max_header_bytes",
            raw.max_header_bytes,
            max_header_bytes,
            errors,
        ),
        max_headers: checked(
            "max_headers",
            raw.max_headers,
            |n| values::count(*n),
            errors,
        ),
        h2_max_concurrent_streams: checked(
            "h2_max_concurrent_streams",
            raw.h2_max_concurrent_streams,
            |n| values::count(*n),
            errors,
        )
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        max_request_body: checked(
            "max_request_body",
            raw.max_request_body,
            values::size,
            errors,
        )
        .unwrap_or(0),
        min_body_rate: checked("min_body_rate", raw.min_body_rate, values::rate, errors)
            .unwrap_or(frontdoor::serve::DEFAULT_MIN_BODY_RATE),
    }
}

/// The smallest `max_header_bytes`: hyper's minimum read buffer.
const MIN_HEADER_BYTES: u64 = 8 * 1024;

fn max_header_bytes(value: &Size) -> Result<usize, String> {
    let bytes = values::size(value)?;
    if bytes < MIN_HEADER_BYTES {
        return Err(format!("must be at least 8KiB, got {bytes} bytes"));
    }
    Ok(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// The addresses at `server.{key}` (`listen` needs at least one).
fn listen(key: &str, listen: &Spanned<OneOrMany>, errors: &mut Errors<'_>) -> Vec<SocketAddr> {
    let span: Range<usize> = listen.span();
    let Some(addrs) = values::strings(listen.get_ref()) else {
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
            let parsed = socket_addr(a);
            parsed
                .map_err(|message| errors.push(Some(&span), format!("server.{key}[{i}]"), message))
                .ok()
        })
        .collect()
}

fn socket_addr(value: &str) -> Result<SocketAddr, String> {
    value
        .parse::<SocketAddr>()
        .map_err(|_| format!("not an ip:port address: {value:?}"))
}

/// The default listen address.
pub(super) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);
