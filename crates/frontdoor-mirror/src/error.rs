//! The mirror's errors: the shadow's failures, the primary's, and configuration.

use std::{error::Error as StdError, fmt, io, sync::Arc};

use frontdoor_core::{BoxError, ErrorKind};

// === ShadowError ===

/// How a shadow request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShadowErrorKind {
    /// The shadow did not answer (head and captured body) within the mirror's timeout.
    Timeout,
    /// The connection to the shadow could not be made (refused, DNS, unreachable).
    Connect,
    /// The exchange failed after connecting (reset, protocol error, body error).
    Io,
    /// Anything else the shadow service returned.
    Other,
}

impl ShadowErrorKind {
    /// Every kind, in a fixed order (for exporting counters).
    pub const ALL: [Self; 4] = [Self::Timeout, Self::Connect, Self::Io, Self::Other];

    /// A short lowercase label.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Io => "io",
            Self::Other => "other",
        }
    }
}

/// A failed shadow request, as reported to `on_replay` and in an
/// [`Exchange`](crate::Exchange). Cloneable; the cause is kept as the
/// [`source`](StdError::source).
#[derive(Clone, Debug)]
pub struct ShadowError {
    kind: ShadowErrorKind,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl ShadowError {
    /// An error of `kind` with no cause.
    #[must_use]
    pub const fn new(kind: ShadowErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by `source`: what a shadow service that knows its
    /// own failures returns (the facade's `frontdoor::mirror_via` maps an
    /// `Upstream`'s errors to these), so [`classify`](Self::classify) keeps its kind.
    pub fn with_source(kind: ShadowErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    /// Classifies an error returned by a shadow service, walking its source chain:
    ///
    /// - a [`ShadowError`] keeps its kind (a shadow service classifying its own
    ///   failures);
    /// - tokio's `Elapsed` is a timeout;
    /// - an [`io::Error`] is a timeout (`TimedOut`), a connect failure (refused,
    ///   host or network unreachable, address not available) or else an I/O
    ///   failure;
    /// - a frontdoor [`Error`](frontdoor_core::Error) of kind `GatewayTimeout` or
    ///   `RequestTimeout` is a timeout; `ServiceUnavailable` is a connect failure and
    ///   `BadGateway` an I/O failure, unless an `io::Error` below it says more;
    /// - anything else is [`ShadowErrorKind::Other`].
    ///
    /// ```
    /// use frontdoor_mirror::{ShadowError, ShadowErrorKind};
    ///
    /// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// assert!(ShadowError::classify(Box::new(refused)).is_connect());
    /// let own = ShadowError::with_source(ShadowErrorKind::Timeout, "head timed out");
    /// assert!(ShadowError::classify(Box::new(own)).is_timeout());
    /// assert_eq!(ShadowError::classify("boom".into()).kind(), ShadowErrorKind::Other);
    /// ```
    #[must_use]
    pub fn classify(error: BoxError) -> Self {
        match error.downcast::<Self>() {
            Ok(own) => *own,
            Err(error) => Self {
                kind: kind_of(&*error),
                source: Some(Arc::from(error)),
            },
        }
    }

    /// What went wrong.
    #[must_use]
    pub const fn kind(&self) -> ShadowErrorKind {
        self.kind
    }

    /// The shadow timed out.
    #[must_use]
    pub const fn is_timeout(&self) -> bool {
        matches!(self.kind, ShadowErrorKind::Timeout)
    }

    /// The shadow could not be reached.
    #[must_use]
    pub const fn is_connect(&self) -> bool {
        matches!(self.kind, ShadowErrorKind::Connect)
    }
}

/// See [`ShadowError::classify`].
fn kind_of(error: &(dyn StdError + 'static)) -> ShadowErrorKind {
    let mut fallback = ShadowErrorKind::Other;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = cur {
        if let Some(own) = e.downcast_ref::<ShadowError>() {
            return own.kind;
        }
        if e.is::<tokio::time::error::Elapsed>() {
            return ShadowErrorKind::Timeout;
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return io_kind(io.kind());
        }
        if let Some(ours) = e.downcast_ref::<frontdoor_core::Error>() {
            match ours.kind() {
                ErrorKind::GatewayTimeout | ErrorKind::RequestTimeout => {
                    return ShadowErrorKind::Timeout;
                }
                ErrorKind::ServiceUnavailable if fallback == ShadowErrorKind::Other => {
                    fallback = ShadowErrorKind::Connect;
                }
                ErrorKind::BadGateway if fallback == ShadowErrorKind::Other => {
                    fallback = ShadowErrorKind::Io;
                }
                _ => {}
            }
        }
        cur = e.source();
    }
    fallback
}

/// The kind of a failed I/O operation towards the shadow.
fn io_kind(kind: io::ErrorKind) -> ShadowErrorKind {
    match kind {
        io::ErrorKind::TimedOut => ShadowErrorKind::Timeout,
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::AddrNotAvailable => ShadowErrorKind::Connect,
        _ => ShadowErrorKind::Io,
    }
}

impl fmt::Display for ShadowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ShadowErrorKind::Timeout => "shadow request timed out",
            ShadowErrorKind::Connect => "shadow connect failed",
            ShadowErrorKind::Io => "shadow request failed",
            ShadowErrorKind::Other => "shadow service error",
        })
    }
}

impl StdError for ShadowError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

// === PrimaryError ===

/// The primary service returned an error instead of a response (its error value
/// stays with the client's answer; the mirror only records that it happened).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrimaryError(());

impl PrimaryError {
    pub(crate) const fn new() -> Self {
        Self(())
    }
}

impl fmt::Display for PrimaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("primary service failed")
    }
}

impl StdError for PrimaryError {}

// === MirrorConfigError ===

/// A mirror setting that cannot be used (sample out of range, bad host mark).
#[derive(Debug)]
pub struct MirrorConfigError {
    message: String,
    source: Option<BoxError>,
}

impl MirrorConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for MirrorConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for MirrorConfigError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use frontdoor_core::Error;

    use super::*;

    /// A wrapper whose source is `0`, as client errors wrap their causes.
    #[derive(Debug)]
    struct Wrapped(BoxError);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    fn kind(error: impl Into<BoxError>) -> ShadowErrorKind {
        ShadowError::classify(error.into()).kind()
    }

    #[test]
    fn classification() {
        use ShadowErrorKind::{Connect, Io, Other, Timeout};
        let io = |k: io::ErrorKind| io::Error::from(k);
        assert_eq!(kind(io(io::ErrorKind::ConnectionRefused)), Connect);
        assert_eq!(
            kind(Wrapped(io(io::ErrorKind::HostUnreachable).into())),
            Connect
        );
        assert_eq!(kind(io(io::ErrorKind::TimedOut)), Timeout);
        assert_eq!(kind(io(io::ErrorKind::ConnectionReset)), Io);
        assert_eq!(kind(std::io::Error::other("x")), Io);
        // A frontdoor error: its kind, unless an io::Error below it says more.
        assert_eq!(kind(Error::new(ErrorKind::GatewayTimeout, "t")), Timeout);
        assert_eq!(
            kind(Error::new(ErrorKind::ServiceUnavailable, "u")),
            Connect
        );
        assert_eq!(kind(Error::new(ErrorKind::BadGateway, "b")), Io);
        let refused = Error::new(ErrorKind::BadGateway, "b")
            .with_source(Wrapped(io(io::ErrorKind::ConnectionRefused).into()));
        assert_eq!(kind(refused), Connect);
        assert_eq!(kind(Error::new(ErrorKind::Internal, "i")), Other);
        // A shadow service's own classification wins, wrapped or not.
        let own = ShadowError::with_source(Connect, "dns lookup failed");
        let e = ShadowError::classify(Box::new(own));
        assert!(e.is_connect());
        assert_eq!(e.source().unwrap().to_string(), "dns lookup failed");
        let nested = Wrapped(Box::new(ShadowError::new(Timeout)));
        assert_eq!(kind(nested), Timeout);
        let e = ShadowError::classify("boom".into());
        assert_eq!(e.kind(), Other);
        assert!(e.source().is_some());
        assert_eq!(e.to_string(), "shadow service error");
    }
}
