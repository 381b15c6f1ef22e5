//! The typed errors of the upstream client and of its configuration.

use std::{error::Error as StdError, fmt, io};

use frontdoor_core::{BoxError, ErrorKind};

/// What went wrong while forwarding a request. See [`ProxyError`].
///
/// Each kind maps to one [`ErrorKind`] (and so to one status) through
/// [`ProxyErrorKind::error_kind`]:
///
/// | kind | meaning | status |
/// |---|---|---|
/// | [`Dns`](Self::Dns) | the upstream host name did not resolve | 502 |
/// | [`Connect`](Self::Connect) | refused, unreachable or reset while connecting (TLS handshake included) | 502 |
/// | [`ConnectTimeout`](Self::ConnectTimeout) | the connect timeout elapsed | 504 |
/// | [`HeadTimeout`](Self::HeadTimeout) | no response head within the head timeout | 504 |
/// | [`Closed`](Self::Closed) | the upstream closed or reset the connection before a response head | 502 |
/// | [`Protocol`](Self::Protocol) | the upstream answered something that is not HTTP | 502 |
/// | [`Upgrade`](Self::Upgrade) | a `101` that does not match the requested upgrade, or answers a request not forwarded as one | 502 |
/// | [`Body`](Self::Body) | the upstream body failed after the head (the downstream body is aborted) | 502 |
/// | [`BodyTimeout`](Self::BodyTimeout) | the upstream body was idle for longer than the idle timeout | 504 |
/// | [`RequestBody`](Self::RequestBody) | the client's request body failed while being forwarded | 400 |
/// | [`RequestBodyTooLarge`](Self::RequestBodyTooLarge) | the client's request body crossed its size cap while being forwarded | 413 |
/// | [`InvalidRequest`](Self::InvalidRequest) | the request cannot be expressed towards the upstream | 400 |
/// | [`Unavailable`](Self::Unavailable) | no upstream address is available (all ejected) | 503 |
/// | [`ConnectionLimit`](Self::ConnectionLimit) | the upstream's connection cap was reached and none freed up within the connect timeout | 503 |
/// | [`TargetRefused`](Self::TargetRefused) | a [`Mapper`](crate::Mapper)'s target is outside its [`AllowedTargets`](crate::AllowedTargets), or not an upstream URL | 502 |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyErrorKind {
    /// The upstream host name did not resolve.
    Dns,
    /// The TCP (or TLS) connection could not be established.
    Connect,
    /// The connect timeout elapsed.
    ConnectTimeout,
    /// The response-head timeout elapsed.
    HeadTimeout,
    /// The connection was closed or reset before a complete response head.
    Closed,
    /// The upstream's response is not valid HTTP.
    Protocol,
    /// The upstream switched protocols to something that was not asked for.
    Upgrade,
    /// The upstream response body failed after the head.
    Body,
    /// The upstream response body was idle for too long.
    BodyTimeout,
    /// The downstream request body failed.
    RequestBody,
    /// The downstream request body crossed its size cap (a
    /// [`PayloadTooLarge`](ErrorKind::PayloadTooLarge) error in the body).
    RequestBodyTooLarge,
    /// The request cannot be forwarded (for example its path cannot be joined).
    InvalidRequest,
    /// No upstream address is available.
    Unavailable,
    /// Every connection the cap allows was busy for the whole connect timeout.
    ConnectionLimit,
    /// A [`Mapper`](crate::Mapper)'s target was refused: its host, or every address
    /// its name resolved to, is outside the allow-list, or it is not an upstream URL.
    /// Nothing was sent.
    TargetRefused,
}

impl ProxyErrorKind {
    /// The frontdoor [`ErrorKind`] (and so the status) this kind is answered with.
    #[must_use]
    pub const fn error_kind(self) -> ErrorKind {
        match self {
            Self::Dns
            | Self::Connect
            | Self::Closed
            | Self::Protocol
            | Self::Upgrade
            | Self::Body
            | Self::TargetRefused => ErrorKind::BadGateway,
            Self::ConnectTimeout | Self::HeadTimeout | Self::BodyTimeout => {
                ErrorKind::GatewayTimeout
            }
            Self::RequestBody | Self::InvalidRequest => ErrorKind::BadRequest,
            Self::RequestBodyTooLarge => ErrorKind::PayloadTooLarge,
            Self::Unavailable | Self::ConnectionLimit => ErrorKind::ServiceUnavailable,
        }
    }

    /// A short, stable, lowercase name for logs and metric labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::ConnectTimeout => "connect_timeout",
            Self::HeadTimeout => "head_timeout",
            Self::Closed => "closed",
            Self::Protocol => "protocol",
            Self::Upgrade => "upgrade",
            Self::Body => "body",
            Self::BodyTimeout => "body_timeout",
            Self::RequestBody => "request_body",
            Self::RequestBodyTooLarge => "request_body_too_large",
            Self::InvalidRequest => "invalid_request",
            Self::Unavailable => "unavailable",
            Self::ConnectionLimit => "connection_limit",
            Self::TargetRefused => "target_refused",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Self::Dns => "upstream dns lookup failed",
            Self::Connect => "upstream connect failed",
            Self::ConnectTimeout => "upstream connect timed out",
            Self::HeadTimeout => "upstream response head timed out",
            Self::Closed => "upstream closed the connection before responding",
            Self::Protocol => "invalid upstream response",
            Self::Upgrade => "upstream switched to an unrequested protocol",
            Self::Body => "upstream response body failed",
            Self::BodyTimeout => "upstream response body idle timeout",
            Self::RequestBody => "request body failed",
            Self::RequestBodyTooLarge => "request body too large",
            Self::InvalidRequest => "request cannot be forwarded",
            Self::Unavailable => "no upstream available",
            Self::ConnectionLimit => "upstream connection limit reached",
            Self::TargetRefused => "upstream target refused",
        }
    }
}

impl fmt::Display for ProxyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Upstream`](crate::Upstream): what failed, and the underlying cause.
///
/// Opaque on purpose: ask with [`kind`](Self::kind) or the predicates, and walk
/// [`source`](std::error::Error::source) for the cause. `Display` is short and lowercase,
/// and does not repeat the cause.
///
/// ```
/// use frontdoor_upstream::{ProxyError, ProxyErrorKind};
/// use frontdoor_core::ErrorKind;
///
/// let err = ProxyError::new(ProxyErrorKind::ConnectTimeout);
/// assert!(err.is_connect() && err.is_timeout());
/// assert_eq!(err.error_kind(), ErrorKind::GatewayTimeout);
/// assert_eq!(err.to_string(), "upstream connect timed out");
/// ```
pub struct ProxyError {
    kind: ProxyErrorKind,
    source: Option<BoxError>,
}

impl ProxyError {
    /// An error of `kind` with no cause.
    #[must_use]
    pub const fn new(kind: ProxyErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by `source`.
    pub fn with_source(kind: ProxyErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What went wrong.
    #[must_use]
    pub const fn kind(&self) -> ProxyErrorKind {
        self.kind
    }

    /// The frontdoor [`ErrorKind`] this error is answered with (see [`ProxyErrorKind`]).
    /// A failed request body is answered as its own cause says when that is a
    /// frontdoor [`Error`](frontdoor_core::Error) (a body-size cap's 413, a read
    /// timeout's 400), else 400.
    #[must_use]
    pub fn error_kind(&self) -> ErrorKind {
        if self.kind == ProxyErrorKind::RequestBody {
            if let Some(cause) = self
                .source
                .as_deref()
                .and_then(|s| find::<frontdoor_core::Error>(s))
            {
                return cause.kind();
            }
        }
        self.kind.error_kind()
    }

    /// The connection to the upstream could not be made (DNS, refused, connect timeout).
    /// Nothing of the request was sent, so it may be retried elsewhere.
    #[must_use]
    pub const fn is_connect(&self) -> bool {
        matches!(
            self.kind,
            ProxyErrorKind::Dns | ProxyErrorKind::Connect | ProxyErrorKind::ConnectTimeout
        )
    }

    /// A timeout elapsed (connect, response head or body idle).
    #[must_use]
    pub const fn is_timeout(&self) -> bool {
        matches!(
            self.kind,
            ProxyErrorKind::ConnectTimeout
                | ProxyErrorKind::HeadTimeout
                | ProxyErrorKind::BodyTimeout
        )
    }

    /// The upstream host name did not resolve.
    #[must_use]
    pub const fn is_dns(&self) -> bool {
        matches!(self.kind, ProxyErrorKind::Dns)
    }

    /// The failure happened in a body after the response head.
    #[must_use]
    pub const fn is_body(&self) -> bool {
        matches!(
            self.kind,
            ProxyErrorKind::Body | ProxyErrorKind::BodyTimeout
        )
    }

    /// No upstream address was available.
    #[must_use]
    pub const fn is_unavailable(&self) -> bool {
        matches!(self.kind, ProxyErrorKind::Unavailable)
    }

    /// Classifies an error of hyper-util's pooled client.
    pub(crate) fn from_client(err: hyper_util::client::legacy::Error) -> Self {
        let kind = classify(&err, err.is_connect());
        Self::with_source(kind, err)
    }

    /// Classifies an error of establishing a connection (resolver, TCP, TLS).
    pub(crate) fn from_connect(err: BoxError) -> Self {
        let kind = classify(&*err, true);
        Self {
            kind,
            source: Some(err),
        }
    }

    /// Classifies an error of a request sent on an established HTTP/1 connection.
    pub(crate) fn from_hyper(err: hyper::Error) -> Self {
        let kind = classify(&err, false);
        Self::with_source(kind, err)
    }
}

/// The kind of a client failure; `connect` says it happened while connecting.
fn classify(err: &(dyn StdError + 'static), connect: bool) -> ProxyErrorKind {
    if find::<RefusedTarget>(err).is_some() {
        ProxyErrorKind::TargetRefused
    } else if connect {
        if find::<DnsError>(err).is_some() {
            ProxyErrorKind::Dns
        } else if find::<io::Error>(err).is_some_and(|e| e.kind() == io::ErrorKind::TimedOut) {
            ProxyErrorKind::ConnectTimeout
        } else {
            ProxyErrorKind::Connect
        }
    } else if let Some(h) = find::<hyper::Error>(err) {
        if h.is_parse() || h.is_parse_status() {
            ProxyErrorKind::Protocol
        } else if h.is_user() {
            let too_large = find::<frontdoor_core::Error>(err)
                .is_some_and(|e| e.kind() == ErrorKind::PayloadTooLarge);
            if too_large {
                ProxyErrorKind::RequestBodyTooLarge
            } else {
                ProxyErrorKind::RequestBody
            }
        } else if h.is_incomplete_message()
            || h.is_canceled()
            || h.is_closed()
            || find::<io::Error>(err).is_some()
        {
            ProxyErrorKind::Closed
        } else {
            ProxyErrorKind::Protocol
        }
    } else if find::<io::Error>(err).is_some() {
        ProxyErrorKind::Closed
    } else {
        ProxyErrorKind::Protocol
    }
}

/// Finds an error of type `T` in `err`'s source chain (including `err` itself).
pub(crate) fn find<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

impl fmt::Debug for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ProxyError");
        d.field("kind", &self.kind);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.message())
    }
}

impl StdError for ProxyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<ProxyError> for frontdoor_core::Error {
    /// Wraps the error in a frontdoor [`Error`](frontdoor_core::Error) of the matching
    /// kind, so [`ErrorKind::of`] finds it at the edge.
    fn from(err: ProxyError) -> Self {
        Self::new(err.error_kind(), err.kind.message()).with_source(err)
    }
}

/// A DNS lookup failure, marking connect errors that came from the resolver.
#[derive(Debug)]
pub(crate) struct DnsError(pub(crate) io::Error);

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dns lookup failed")
    }
}

impl StdError for DnsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

/// A target a [`Mapper`](crate::Mapper) may not reach, or cannot use: the cause of a
/// [`TargetRefused`](ProxyErrorKind::TargetRefused) error.
#[derive(Debug)]
pub(crate) struct RefusedTarget {
    target: String,
    why: &'static str,
}

impl RefusedTarget {
    pub(crate) fn new(target: impl Into<String>, why: &'static str) -> Self {
        Self {
            target: target.into(),
            why,
        }
    }
}

impl fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "target `{}` {}", self.target, self.why)
    }
}

impl StdError for RefusedTarget {}

/// An invalid upstream configuration, naming the offending key.
///
/// ```
/// use frontdoor_upstream::Upstream;
///
/// let err = Upstream::builder("ftp://example.com").build().unwrap_err();
/// assert_eq!(err.key(), "uri");
/// assert!(err.to_string().starts_with("invalid upstream config `uri`"));
/// assert!(err.message().starts_with("scheme `ftp` is not supported"));
/// ```
#[derive(Debug)]
pub struct UpstreamConfigError {
    key: &'static str,
    message: String,
    source: Option<BoxError>,
}

impl UpstreamConfigError {
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The configuration key that is wrong.
    #[must_use]
    pub const fn key(&self) -> &'static str {
        self.key
    }

    /// What is wrong with it, without the key (`Display` adds the key).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for UpstreamConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid upstream config `{}`: {}",
            self.key, self.message
        )
    }
}

impl StdError for UpstreamConfigError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_one_status() {
        let table = [
            (ProxyErrorKind::Dns, 502),
            (ProxyErrorKind::Connect, 502),
            (ProxyErrorKind::ConnectTimeout, 504),
            (ProxyErrorKind::HeadTimeout, 504),
            (ProxyErrorKind::Closed, 502),
            (ProxyErrorKind::Protocol, 502),
            (ProxyErrorKind::Upgrade, 502),
            (ProxyErrorKind::Body, 502),
            (ProxyErrorKind::BodyTimeout, 504),
            (ProxyErrorKind::RequestBody, 400),
            (ProxyErrorKind::RequestBodyTooLarge, 413),
            (ProxyErrorKind::InvalidRequest, 400),
            (ProxyErrorKind::Unavailable, 503),
            (ProxyErrorKind::ConnectionLimit, 503),
            (ProxyErrorKind::TargetRefused, 502),
        ];
        for (kind, status) in table {
            assert_eq!(kind.error_kind().status(), status, "{kind}");
            let msg = ProxyError::new(kind).to_string();
            assert!(!msg.ends_with('.') && msg == msg.to_lowercase(), "{msg}");
        }
    }

    #[test]
    fn source_chains_and_core_conversion() {
        let io = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        let err = ProxyError::with_source(ProxyErrorKind::Connect, io);
        assert_eq!(err.source().unwrap().to_string(), "refused");
        let core: frontdoor_core::Error = err.into();
        assert_eq!(ErrorKind::of(&core), ErrorKind::BadGateway);
        assert!(find::<ProxyError>(&core).is_some());
    }

    #[test]
    fn a_failed_request_body_is_answered_as_its_cause_says() {
        let cap = frontdoor_core::Error::new(ErrorKind::PayloadTooLarge, "over the cap");
        let err = ProxyError::with_source(ProxyErrorKind::RequestBody, cap);
        assert_eq!(err.error_kind(), ErrorKind::PayloadTooLarge);
        let other = ProxyError::with_source(ProxyErrorKind::RequestBody, "reset");
        assert_eq!(other.error_kind(), ErrorKind::BadRequest);
        // Only request-body failures look at the cause.
        let cap = frontdoor_core::Error::new(ErrorKind::PayloadTooLarge, "over the cap");
        let err = ProxyError::with_source(ProxyErrorKind::Connect, cap);
        assert_eq!(err.error_kind(), ErrorKind::BadGateway);
    }
}
