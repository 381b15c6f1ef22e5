//! Which XML elements and attributes hold URLs, by namespace.

/// The WebDAV namespace (RFC 4918).
pub(crate) const DAV: &[u8] = b"DAV:";
/// Subversion's protocol namespace (mod_dav_svn's `S:` prefix).
pub(crate) const SVN: &[u8] = b"svn:";

/// The URL-bearing names of a profile: elements whose whole text is a URL, and
/// unprefixed attributes (of elements in a namespace) whose value is one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct XmlRules {
    elements: &'static [(&'static [u8], &'static [u8])],
    attributes: &'static [(&'static [u8], &'static [u8])],
}

impl XmlRules {
    /// `{DAV:}href` anywhere (multistatus, lock discovery, MERGE `D:source`, CHECKOUT
    /// activity sets, OPTIONS activity collections).
    pub(crate) const WEBDAV: Self = Self {
        elements: &[(DAV, b"href")],
        attributes: &[],
    };

    /// WebDAV plus Subversion: update-report `src-path` and `dst-path` (absolute
    /// URLs in requests) and the `bc-url` attribute of update-report elements
    /// (`add-directory`, `open-directory`) in responses (spec 2.8).
    pub(crate) const SVN: Self = Self {
        elements: &[(DAV, b"href"), (SVN, b"src-path"), (SVN, b"dst-path")],
        attributes: &[(SVN, b"bc-url")],
    };

    /// Whether some URL element has this local name (a cheap test before resolving
    /// the namespace).
    pub(crate) fn has_local(&self, local: &[u8]) -> bool {
        self.elements.iter().any(|(_, l)| *l == local)
    }

    /// Whether any element may carry URL attributes.
    pub(crate) fn any_attributes(&self) -> bool {
        !self.attributes.is_empty()
    }

    /// Whether the text of `{ns}local` is a URL.
    pub(crate) fn is_url_element(&self, ns: Option<&[u8]>, local: &[u8]) -> bool {
        ns.is_some_and(|ns| self.elements.iter().any(|(n, l)| *n == ns && *l == local))
    }

    /// Whether elements in `ns` may carry URL attributes.
    pub(crate) fn has_attributes(&self, ns: Option<&[u8]>) -> bool {
        ns.is_some_and(|ns| self.attributes.iter().any(|(n, _)| *n == ns))
    }

    /// Whether the unprefixed attribute `local` of an element in `ns` is a URL.
    pub(crate) fn is_url_attribute(&self, ns: Option<&[u8]>, local: &[u8]) -> bool {
        ns.is_some_and(|ns| self.attributes.iter().any(|(n, l)| *n == ns && *l == local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let r = &XmlRules::SVN;
        assert!(r.is_url_element(Some(DAV), b"href"));
        assert!(r.is_url_element(Some(SVN), b"src-path"));
        assert!(!r.is_url_element(None, b"href"));
        assert!(!XmlRules::WEBDAV.is_url_element(Some(SVN), b"src-path"));
        assert!(r.has_attributes(Some(SVN)) && !r.has_attributes(Some(DAV)));
        assert!(r.is_url_attribute(Some(SVN), b"bc-url"));
        assert!(!r.is_url_attribute(Some(SVN), b"name"));
    }
}
