//! The mirror's errors: the shadow's failures, the primary's, and configuration.

use std::{error::Error as StdError, fmt, sync::Arc};

use frontdoor_core::BoxError;
use frontdoor_upstream::ProxyError;

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

    /// Classifies an error returned by a shadow service: hyper-util's client errors
    /// and frontdoor-upstream's [`ProxyError`] are recognised anywhere in the source
    /// chain; an unknown error is [`ShadowErrorKind::Other`].
    #[must_use]
    pub fn classify(error: BoxError) -> Self {
        let kind = kind_of(&*error);
        Self {
            kind,
            source: Some(Arc::from(error)),
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

fn kind_of(error: &(dyn StdError + 'static)) -> ShadowErrorKind {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = cur {
        if let Some(p) = e.downcast_ref::<ProxyError>() {
            return if p.is_timeout() {
                ShadowErrorKind::Timeout
            } else if p.is_connect() {
                ShadowErrorKind::Connect
            } else {
                ShadowErrorKind::Io
            };
        }
        if let Some(c) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            return if c.is_connect() {
                ShadowErrorKind::Connect
            } else {
                ShadowErrorKind::Io
            };
        }
        if e.is::<tokio::time::error::Elapsed>() {
            return ShadowErrorKind::Timeout;
        }
        if e.is::<hyper::Error>() || e.is::<std::io::Error>() {
            return ShadowErrorKind::Io;
        }
        cur = e.source();
    }
    ShadowErrorKind::Other
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

/// A mirror setting that cannot be used (bad shadow URL, sample out of range, bad
/// host mark).
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
    use frontdoor_upstream::ProxyErrorKind;

    use super::*;

    #[test]
    fn classification() {
        let e = ShadowError::classify(Box::new(ProxyError::new(ProxyErrorKind::Connect)));
        assert!(e.is_connect());
        let e = ShadowError::classify(Box::new(ProxyError::new(ProxyErrorKind::HeadTimeout)));
        assert!(e.is_timeout());
        let e = ShadowError::classify(Box::new(std::io::Error::other("x")));
        assert_eq!(e.kind(), ShadowErrorKind::Io);
        let e = ShadowError::classify("boom".into());
        assert_eq!(e.kind(), ShadowErrorKind::Other);
        assert!(e.source().is_some());
        assert_eq!(e.to_string(), "shadow service error");
    }
}
