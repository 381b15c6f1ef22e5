//! The two ends of a relocation: an optional origin (scheme, host, port) and a path.

use std::{fmt, str::FromStr};

use frontdoor_core::{
    proto::{default_port, normalize_root, parse_host},
    Resolved,
};
use http::{uri::Scheme, Uri};

use crate::url;

// === Origin ===

/// A URL origin: scheme (`http` or `https`), normalised host and port.
///
/// Hosts are compared case-insensitively (they are stored ASCII-lowercase, without a
/// trailing dot, IPv6 in brackets) and the port is always known: a URL without one has
/// its scheme's default, so `http://h/` and `http://h:80/` are the same origin.
///
/// ```
/// use frontdoor_relocate::Origin;
///
/// let a: Origin = "HTTP://Example.COM:80".parse()?;
/// let b: Origin = "http://example.com".parse()?;
/// assert_eq!(a, b);
/// assert_eq!(a.to_string(), "http://example.com");
/// assert_eq!("https://[::1]:8443".parse::<Origin>()?.to_string(), "https://[::1]:8443");
/// # Ok::<(), frontdoor_relocate::ParseRootError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    /// An origin from parts already normalised (as [`Resolved`] holds them).
    ///
    /// Schemes other than `https` are taken as `http`.
    pub fn new(scheme: &Scheme, host: impl Into<String>, port: u16) -> Self {
        Self {
            https: *scheme == Scheme::HTTPS,
            host: host.into(),
            port,
        }
    }

    /// The public origin the resolver stamped on a request.
    #[must_use]
    pub fn from_resolved(resolved: &Resolved) -> Self {
        Self::new(&resolved.scheme, resolved.host.clone(), resolved.port)
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        if self.https {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        }
    }

    /// The scheme as text (`http` or `https`).
    #[must_use]
    pub const fn scheme_str(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }

    /// The normalised host (IPv6 in brackets).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Whether the host is an IP literal (v4 or bracketed v6).
    #[must_use]
    pub fn host_is_ip(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<std::net::Ipv4Addr>().is_ok()
    }

    /// Parses `scheme` and `authority` of a URL; `Ok(None)` for a scheme that is not
    /// http(s) or an authority with userinfo (never treated as ours).
    pub(crate) fn parse_parts(scheme: &str, authority: &str) -> Result<Option<Self>, ()> {
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Ok(None);
        };
        if authority.contains('@') {
            return Ok(None);
        }
        let hp = parse_host(authority).map_err(|_| ())?.ok_or(())?;
        let scheme = if https { Scheme::HTTPS } else { Scheme::HTTP };
        let port = hp.port.unwrap_or_else(|| default_port(&scheme));
        Ok(Some(Self {
            https,
            host: hp.host.into_owned(),
            port,
        }))
    }

    /// Appends `scheme://host[:port]` (the port only when not the default) to `out`.
    pub(crate) fn write_to(&self, out: &mut String) {
        out.push_str(self.scheme_str());
        out.push_str("://");
        out.push_str(&self.host);
        if self.port != default_port(&self.scheme()) {
            out.push(':');
            out.push_str(&self.port.to_string());
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Origin {
    type Err = ParseRootError;

    /// Parses `scheme://host[:port]`, with an optional `/` and nothing after it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let root: Root = s.parse()?;
        match (root.origin, root.path.is_empty()) {
            (Some(origin), true) => Ok(origin),
            _ => Err(ParseRootError::new(s, "an origin is scheme://host[:port]")),
        }
    }
}

// === Root ===

/// One end of a relocation: an optional [`Origin`] and a path prefix.
///
/// Parsed from an absolute `http(s)://host[:port][/path]` URL or from an absolute path
/// (`/dav`). The path is kept as a root for [`rebase`](frontdoor_core::proto::rebase):
/// `/` and the empty path are both the root `""`, and one trailing `/` is dropped
/// (`/webdav/` is `/webdav`). A query, a fragment, userinfo, dot-segments, spaces,
/// control characters and backslashes are refused.
///
/// ```
/// use frontdoor_relocate::Root;
///
/// let root: Root = "http://Files.Internal:80/webdav/".parse()?;
/// assert_eq!(root.origin().unwrap().host(), "files.internal");
/// assert_eq!(root.path(), "/webdav");
/// assert_eq!(root.to_string(), "http://files.internal/webdav");
/// assert!("/dav".parse::<Root>()?.origin().is_none());
/// assert!("http://b/y?q=1".parse::<Root>().is_err());
/// # Ok::<(), frontdoor_relocate::ParseRootError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Root {
    origin: Option<Origin>,
    path: String,
}

impl Root {
    /// A root from an optional origin and a path (normalised as described above).
    ///
    /// # Errors
    ///
    /// When `path` is not empty and not an acceptable absolute path.
    pub fn new(origin: Option<Origin>, path: &str) -> Result<Self, ParseRootError> {
        check_path(path, path)?;
        Ok(Self {
            origin,
            path: normalize_root(path).to_owned(),
        })
    }

    /// A path-only root.
    ///
    /// # Errors
    ///
    /// As [`Root::new`].
    pub fn path_only(path: &str) -> Result<Self, ParseRootError> {
        Self::new(None, path)
    }

    /// The root's origin, if it has one.
    #[must_use]
    pub const fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// The root path: `""` for `/`, otherwise without a trailing `/`.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// This root with `origin` in place of its own.
    #[must_use]
    pub fn with_origin(mut self, origin: Option<Origin>) -> Self {
        self.origin = origin;
        self
    }

    pub(crate) fn matches_origin(&self, origin: &Origin) -> bool {
        self.origin.as_ref() == Some(origin)
    }
}

impl Default for Root {
    /// The path root `/`, without an origin.
    fn default() -> Self {
        Self {
            origin: None,
            path: String::new(),
        }
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}{}", self.path),
            None if self.path.is_empty() => f.write_str("/"),
            None => f.write_str(&self.path),
        }
    }
}

impl FromStr for Root {
    type Err = ParseRootError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseRootError::new(s, reason);
        if s.is_empty() {
            return Err(err("empty root"));
        }
        match url::classify(s) {
            Some(url::UrlRef::PathAbsolute(path)) => Self::new(None, path),
            Some(url::UrlRef::Absolute {
                scheme,
                authority,
                rest,
            }) => {
                let origin = Origin::parse_parts(scheme, authority)
                    .map_err(|()| err("invalid host or port"))?
                    .ok_or_else(|| err("only http and https roots without userinfo"))?;
                check_path(s, rest)?;
                Ok(Self {
                    origin: Some(origin),
                    path: normalize_root(rest).to_owned(),
                })
            }
            _ => Err(err("a root is an absolute http(s) URL or an absolute path")),
        }
    }
}

impl TryFrom<&str> for Root {
    type Error = ParseRootError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<&Uri> for Root {
    type Error = ParseRootError;

    /// The root of an upstream base URI (`http://origin/webdav`).
    fn try_from(uri: &Uri) -> Result<Self, Self::Error> {
        uri.to_string().parse()
    }
}

/// Refuses what a root path must not hold.
fn check_path(input: &str, path: &str) -> Result<(), ParseRootError> {
    let err = |reason| Err(ParseRootError::new(input, reason));
    if path.is_empty() {
        return Ok(());
    }
    if !path.starts_with('/') || path.starts_with("//") {
        return err("the path must start with a single '/'");
    }
    if path.contains(['?', '#']) {
        return err("a root has no query or fragment");
    }
    if !url::clean(path) {
        return err("spaces, control characters and backslashes are not allowed");
    }
    if url::has_dot_segment(path) {
        return err("dot-segments are not allowed");
    }
    Ok(())
}

// === ParseRootError ===

/// Why a [`Root`] or [`Origin`] could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseRootError {
    input: String,
    reason: &'static str,
}

impl ParseRootError {
    fn new(input: &str, reason: &'static str) -> Self {
        Self {
            input: input.to_owned(),
            reason,
        }
    }
}

impl fmt::Display for ParseRootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid relocation root {:?}: {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for ParseRootError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructor_edge_cases_of_spec_2_9_1() {
        // local http://a/x, remote https://b/y: both fine, the schemes just differ.
        let remote: Root = "https://b/y".parse().unwrap();
        assert_eq!(remote.origin().unwrap().port(), 443);
        let remote: Root = "https://b:8443/y".parse().unwrap();
        assert_eq!(remote.origin().unwrap().port(), 8443);
        // ftp is refused at construction instead of failing per request.
        assert!("ftp://b/y".parse::<Root>().is_err());
        // Case of the host is normalised, the path keeps its case, one slash dropped.
        let remote: Root = "http://B:81/Y/".parse().unwrap();
        assert_eq!(remote.origin().unwrap().host(), "b");
        assert_eq!(remote.path(), "/Y");
        assert_eq!(remote.to_string(), "http://b:81/Y");
        // A query is refused rather than silently kept or dropped.
        assert!("http://b/y?q=1".parse::<Root>().is_err());
        // An empty root is an error, not an index panic.
        assert!("".parse::<Root>().is_err());
    }

    #[test]
    fn roots_normalise_and_refuse() {
        let table: &[(&str, Option<&str>)] = &[
            ("/", Some("/")),
            ("/dav/", Some("/dav")),
            ("http://h", Some("http://h")),
            ("http://h/", Some("http://h")),
            ("HTTP://H:80/a", Some("http://h/a")),
            ("https://h:443/", Some("https://h")),
            ("http://[::1]:8080/x", Some("http://[::1]:8080/x")),
            ("//h/x", None),
            ("dav", None),
            ("http://u@h/x", None),
            ("http://h/a/../b", None),
            ("http://h/a b", None),
            ("http://h/a\\b", None),
            ("http://h#f", None),
            ("http:/h", None),
            ("http://", None),
            ("http://h:99999/", None),
            ("mailto:x@y", None),
        ];
        for (input, want) in table {
            let got = input.parse::<Root>().ok().map(|r| r.to_string());
            assert_eq!(got.as_deref(), *want, "{input:?}");
        }
        let err = "dav".parse::<Root>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid relocation root \"dav\": a root is an absolute http(s) URL or an absolute path"
        );
    }

    #[test]
    fn origins() {
        let o: Origin = "https://EXAMPLE.com.".parse().unwrap();
        assert_eq!(
            (o.scheme_str(), o.host(), o.port()),
            ("https", "example.com", 443)
        );
        assert!("http://h/x".parse::<Origin>().is_err());
        assert!("http://127.0.0.1".parse::<Origin>().unwrap().host_is_ip());
        assert!("http://[::1]".parse::<Origin>().unwrap().host_is_ip());
        assert!(!o.host_is_ip());
        let r: Resolved = "public:8080:/dav/x".parse().unwrap();
        assert_eq!(Origin::from_resolved(&r).to_string(), "http://public:8080");
        let uri: Uri = "http://origin/webdav".parse().unwrap();
        assert_eq!(
            Root::try_from(&uri).unwrap().to_string(),
            "http://origin/webdav"
        );
    }
}
