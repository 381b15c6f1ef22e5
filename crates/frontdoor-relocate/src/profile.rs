//! What a relocation rewrites: the profiles.

use std::{fmt, str::FromStr};

/// What the relocation layer rewrites. Parsed from `"none"`, `"plain"`, `"webdav"`,
/// `"svn"` or `"html"` (ASCII case-insensitive), as the binary's `relocate = ...`.
///
/// | profile | request | response |
/// |---|---|---|
/// | `None` | nothing | nothing |
/// | `Plain` | `Referer`/`Origin` (when [enabled](crate::RelocateLayer::map_referer)) | `Location`, `Content-Location`, `Refresh`, `Link`, `Set-Cookie` `Path`/`Domain` |
/// | `WebDav` | plain + `Destination`, `If` tagged lists, `{DAV:}href` in XML bodies of DAV methods | plain + `{DAV:}href` in XML bodies of DAV methods |
/// | `Svn` | webdav + `{svn:}src-path`, `{svn:}dst-path` | webdav + `SVN-Repository-Root`, `SVN-Me-Resource`, `SVN-*-Stub`, `bc-url` attributes |
/// | `Html` | plain | plain + URL attributes of `text/html` bodies and `<meta http-equiv="refresh">` URLs |
///
/// ```
/// use frontdoor_relocate::Profile;
///
/// assert_eq!("WebDAV".parse::<Profile>()?, Profile::WebDav);
/// assert_eq!(Profile::Svn.to_string(), "svn");
/// assert!("ftp".parse::<Profile>().is_err());
/// # Ok::<(), frontdoor_relocate::ParseProfileError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// Nothing is rewritten: the layer passes requests and responses through.
    #[default]
    None,
    /// Headers only.
    Plain,
    /// Headers, `Destination`, `If` and DAV XML bodies.
    WebDav,
    /// WebDAV plus Subversion's HTTP protocol (headers and body elements).
    Svn,
    /// Headers plus URL attributes of HTML bodies.
    Html,
}

impl Profile {
    /// Every profile, in increasing order of what they rewrite (`Html` last).
    pub const ALL: [Self; 5] = [Self::None, Self::Plain, Self::WebDav, Self::Svn, Self::Html];

    /// The configuration name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Plain => "plain",
            Self::WebDav => "webdav",
            Self::Svn => "svn",
            Self::Html => "html",
        }
    }

    /// Whether anything is rewritten.
    #[must_use]
    pub const fn is_active(self) -> bool {
        !matches!(self, Self::None)
    }

    /// Whether WebDAV headers and bodies are rewritten (`WebDav` and `Svn`).
    #[must_use]
    pub const fn is_dav(self) -> bool {
        matches!(self, Self::WebDav | Self::Svn)
    }

    /// Whether Subversion's headers and elements are rewritten.
    #[must_use]
    pub const fn is_svn(self) -> bool {
        matches!(self, Self::Svn)
    }

    /// Whether HTML bodies are rewritten.
    #[must_use]
    pub const fn is_html(self) -> bool {
        matches!(self, Self::Html)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = ParseProfileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseProfileError(s.to_owned()))
    }
}

/// The error of parsing a [`Profile`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseProfileError(String);

impl fmt::Display for ParseProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown relocation profile {:?} (expected none, plain, webdav, svn or html)",
            self.0
        )
    }
}

impl std::error::Error for ParseProfileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_flags() {
        for p in Profile::ALL {
            assert_eq!(p.as_str().parse::<Profile>().unwrap(), p);
        }
        assert!(!Profile::None.is_active());
        assert!(Profile::Svn.is_dav() && Profile::Svn.is_svn());
        assert!(Profile::WebDav.is_dav() && !Profile::WebDav.is_svn());
        assert!(Profile::Html.is_html() && !Profile::Html.is_dav());
        assert_eq!(
            "x".parse::<Profile>().unwrap_err().to_string(),
            "unknown relocation profile \"x\" (expected none, plain, webdav, svn or html)"
        );
    }
}
