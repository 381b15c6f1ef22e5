//! The connection settings [`Server`](crate::Server) and [`Workers`](crate::Workers)
//! share: their defaults, the clamp every timeout goes through, and the setters both
//! builders write once ([`limit_setters`]).

use std::time::Duration;

/// Default header-read timeout: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default request-body read timeout: 60 seconds.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default minimum average rate of a request body, once it has kept its reader
/// waiting for longer than the body read timeout: 256 bytes a second.
pub const DEFAULT_MIN_BODY_RATE: u64 = 256;
/// Default maximum number of open connections: 10,000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default drain timeout for graceful shutdown: 30 seconds.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Default idle timeout of a connection with nothing in flight: 60 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default send timeout (a client accepting no response bytes): 60 seconds.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on a request head (request line and headers): 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// The smallest head cap hyper accepts (its read buffer's minimum): 8 KiB.
pub const MIN_MAX_HEADER_BYTES: usize = 8 * 1024;
/// Default cap on the number of request header lines: 100.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default cap on concurrent HTTP/2 streams per connection: 100.
pub const DEFAULT_H2_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default TLS handshake timeout: 10 seconds.
#[cfg(feature = "tls")]
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

// === impl Config ===

/// The connection settings shared by [`Server`](crate::Server) and
/// [`Workers`](crate::Workers).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) min_body_rate: u64,
    pub(crate) idle_timeout: Duration,
    pub(crate) send_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_ip: usize,
    pub(crate) proxy_protocol: bool,
    pub(crate) http1_fast_path: bool,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) h2_max_concurrent_streams: u32,
    pub(crate) max_request_body: u64,
    pub(crate) drain_timeout: Duration,
    pub(crate) drain_delay: Duration,
    #[cfg(feature = "tls")]
    pub(crate) tls_handshake_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            min_body_rate: DEFAULT_MIN_BODY_RATE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: 0,
            proxy_protocol: false,
            http1_fast_path: true,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            h2_max_concurrent_streams: DEFAULT_H2_MAX_CONCURRENT_STREAMS,
            max_request_body: 0,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            drain_delay: Duration::ZERO,
            #[cfg(feature = "tls")]
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        }
    }
}

/// The longest timeout the server arms: longer settings are clamped to it, so that a
/// deadline (`now + timeout`) can never overflow.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// `timeout`, at most [`MAX_TIMEOUT`].
pub(crate) fn clamp(timeout: Duration) -> Duration {
    timeout.min(MAX_TIMEOUT)
}

// === setters ===

/// The setters of the connection settings, written once for [`Server`](crate::Server)
/// and [`Workers`](crate::Workers) (both hold a `config: Config`).
macro_rules! limit_setters {
    () => {
        /// How long a client may take to send a complete request head: the first one
        /// counted from accept, each later one on a kept-alive HTTP/1 connection from
        /// its first byte (between requests the [idle timeout](Self::idle_timeout)
        /// applies). With [`proxy_protocol`](Self::proxy_protocol), the PROXY header
        /// must arrive within it too. Default
        /// [`DEFAULT_HEADER_READ_TIMEOUT`](crate::DEFAULT_HEADER_READ_TIMEOUT).
        pub fn header_read_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.header_read_timeout = $crate::config::clamp(timeout);
            self
        }

        /// How long a request body may go without delivering a byte (nginx's
        /// `client_body_timeout`). Past it the body fails with a
        /// [`RequestTimeout`](frontdoor_core::ErrorKind::RequestTimeout) error, so a
        /// proxied request is abandoned (answered `408` if no response has started,
        /// and the connection closed as [`min_body_rate`](Self::min_body_rate) says)
        /// instead of holding an upstream connection. Default
        /// [`DEFAULT_BODY_READ_TIMEOUT`](crate::DEFAULT_BODY_READ_TIMEOUT).
        pub fn body_read_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.body_read_timeout = $crate::config::clamp(timeout);
            self
        }

        /// The most connections open at once, over all listeners (and, for
        /// [`Workers`](crate::Workers), all workers together); at least 1. Default
        /// [`DEFAULT_MAX_CONNECTIONS`](crate::DEFAULT_MAX_CONNECTIONS).
        pub fn max_connections(mut self, max: usize) -> Self {
            self.config.max_connections = max.max(1);
            self
        }

        /// How long a TLS client may take from connecting to the end of its
        /// handshake; past it the connection is closed. The header-read timeout
        /// starts after the handshake. Default
        /// [`DEFAULT_TLS_HANDSHAKE_TIMEOUT`](crate::DEFAULT_TLS_HANDSHAKE_TIMEOUT).
        #[cfg(feature = "tls")]
        #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
        pub fn tls_handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.tls_handshake_timeout = $crate::config::clamp(timeout);
            self
        }

        /// How long graceful shutdown waits for in-flight requests. Default
        /// [`DEFAULT_DRAIN_TIMEOUT`](crate::DEFAULT_DRAIN_TIMEOUT).
        pub fn drain_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.drain_timeout = $crate::config::clamp(timeout);
            self
        }

        /// How long the listeners keep accepting and serving once the shutdown
        /// signal has fired, before they close and the [drain](Self::drain_timeout)
        /// begins: time for balancers to take the instance out (Traefik's
        /// `requestAcceptGraceTimeout`, Envoy's drain time). A health check tells
        /// them from the moment the signal fires: see
        /// [`Drain`](crate::Drain). Default zero: the listeners close at once.
        pub fn drain_delay(mut self, delay: std::time::Duration) -> Self {
            self.config.drain_delay = $crate::config::clamp(delay);
            self
        }

        /// How long a connection with nothing in flight is kept: HTTP/1 keep-alive
        /// between requests, HTTP/2 with no open stream (closed with a GOAWAY), an
        /// upgraded connection (WebSocket) with no byte either way. It is also the
        /// interval of HTTP/2 keep-alive pings. Default
        /// [`DEFAULT_IDLE_TIMEOUT`](crate::DEFAULT_IDLE_TIMEOUT).
        pub fn idle_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.idle_timeout = $crate::config::clamp(timeout);
            self
        }

        /// How long writes to a client may make no progress (it reads nothing)
        /// before the connection is dropped, releasing whatever its requests hold
        /// upstream; also how long an HTTP/2 keep-alive ping may go unanswered.
        /// Default [`DEFAULT_SEND_TIMEOUT`](crate::DEFAULT_SEND_TIMEOUT).
        pub fn send_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.send_timeout = $crate::config::clamp(timeout);
            self
        }

        /// The most connections one client address may hold at once, over all
        /// listeners (IPv6 clients are counted per /64); past it a new connection is
        /// closed at once. With [`proxy_protocol`](Self::proxy_protocol), the address
        /// is the one the PROXY header names. Default 0: no limit.
        pub fn max_connections_per_ip(mut self, max: usize) -> Self {
            self.config.max_connections_per_ip = max;
            self
        }

        /// Whether every connection starts with a PROXY protocol header (version 1
        /// or 2, as an L4 balancer sends): its source address becomes the
        /// connection's [`ConnInfo::remote`](frontdoor_core::ConnInfo::remote), so
        /// resolvers, `X-Forwarded-For` and the per-address limit see the real
        /// client. A connection without a valid header within the header timeout is
        /// closed, nothing of it served. Default off.
        pub fn proxy_protocol(mut self, on: bool) -> Self {
            self.config.proxy_protocol = on;
            self
        }

        /// Whether HTTP/1.1 connections are served by the proxy-specialised HTTP/1
        /// path (one parse per head, one task per connection, no hyper server;
        /// see the crate docs for which requests take which path). Off, every
        /// connection is served by hyper's server with the wire scanner in front.
        /// The two answer alike. Default on.
        ///
        /// On Linux, the fast path also splices response bodies: an answer whose
        /// extensions carry a [`SpliceOffer`](frontdoor_core::splice::SpliceOffer)
        /// (an upstream built with `splice_bodies`), framed by length or chunked,
        /// on a plain TCP (not TLS) client connection, has its body's data moved from
        /// the upstream's socket to the client's with `splice(2)`
        /// ([`spliced_bytes`](crate::spliced_bytes) counts them).
        pub fn http1_fast_path(mut self, on: bool) -> Self {
            self.config.http1_fast_path = on;
            self
        }

        /// The most bytes of a request head (request line and headers; HTTP/2:
        /// the header list); over it HTTP/1 is answered `431` and the request never
        /// reaches the service. At least
        /// [`MIN_MAX_HEADER_BYTES`](crate::MIN_MAX_HEADER_BYTES) (hyper's minimum
        /// read buffer); smaller values are raised to it. Default
        /// [`DEFAULT_MAX_HEADER_BYTES`](crate::DEFAULT_MAX_HEADER_BYTES).
        pub fn max_header_bytes(mut self, max: usize) -> Self {
            self.config.max_header_bytes = max.max($crate::config::MIN_MAX_HEADER_BYTES);
            self
        }

        /// The most header lines of an HTTP/1 request (`431` over it). Default
        /// [`DEFAULT_MAX_HEADERS`](crate::DEFAULT_MAX_HEADERS).
        pub fn max_headers(mut self, max: usize) -> Self {
            self.config.max_headers = max;
            self
        }

        /// The most concurrent streams of one HTTP/2 connection. Default
        /// [`DEFAULT_H2_MAX_CONCURRENT_STREAMS`](crate::DEFAULT_H2_MAX_CONCURRENT_STREAMS).
        pub fn h2_max_concurrent_streams(mut self, max: u32) -> Self {
            self.config.h2_max_concurrent_streams = max;
            self
        }

        /// The lowest average rate, in bytes a second, a request body (HTTP/1 body or
        /// HTTP/2 stream) may arrive at once it has kept its reader waiting for longer
        /// than the body read timeout in all (only the waiting counts: a reader slow
        /// to take the body is not the client's fault): a client sending one byte a
        /// second is cut off instead of holding what its request holds.
        /// Below it the body fails with a
        /// [`RequestTimeout`](frontdoor_core::ErrorKind::RequestTimeout) error (`408`
        /// when nothing was answered yet, as for the body read timeout), the upstream
        /// request it feeds is aborted, and an HTTP/1 connection is closed after the
        /// answer, lingering: its write half is shut down and what the client still
        /// sends is discarded for up to two seconds and 1 MiB, so the client reads the `408`
        /// rather than a reset (an HTTP/2 stream is reset; the connection stays).
        /// Default [`DEFAULT_MIN_BODY_RATE`](crate::DEFAULT_MIN_BODY_RATE); 0 turns it
        /// off.
        pub fn min_body_rate(mut self, bytes_per_second: u64) -> Self {
            self.config.min_body_rate = bytes_per_second;
            self
        }

        /// The most bytes a request body may have (nginx's `client_max_body_size`):
        /// an announced `Content-Length` over it is answered `413` before the
        /// service sees the request; a chunked body that crosses it fails with a
        /// [`PayloadTooLarge`](frontdoor_core::ErrorKind::PayloadTooLarge) error
        /// (`413` when nothing was answered yet). Default 0: no cap.
        pub fn max_request_body(mut self, max: u64) -> Self {
            self.config.max_request_body = max;
            self
        }

        $crate::settings::with_settings!($crate::settings::settings_method);
    };
}
pub(crate) use limit_setters;
