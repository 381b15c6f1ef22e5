//! [`Mount`]: the script name / path info split a router leaves in the extensions.

use http::{Request, Uri};

use crate::Error;

/// The script-name / path-info split (WSGI's `SCRIPT_NAME` and `PATH_INFO`).
///
/// The router moves the prefix it matched from the path info to the script name; the
/// inner service sees the path info as `uri().path()`. Join rules:
///
/// * the full path is `script_name + path_info`, concatenated as is;
/// * the script name never ends with `/` after a strict router consumed a prefix, and
///   the path info is empty or starts with `/`;
/// * `http::Uri` cannot hold an empty path, so an empty path info is sent as `/`
///   ([`Mount::uri_path`]); the exact remainder stays readable here;
/// * the query is carried byte for byte by [`Mount::rebuild_uri`].
///
/// Absent from the extensions means "nothing consumed": script name `""`, path info
/// = the URI's path ([`Mount::of`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mount {
    script_name: String,
    path_info: String,
}

impl Mount {
    /// A split from explicit parts.
    pub fn new(script_name: impl Into<String>, path_info: impl Into<String>) -> Self {
        Self {
            script_name: script_name.into(),
            path_info: path_info.into(),
        }
    }

    /// Nothing consumed yet: the whole path is path info.
    pub fn from_path(path: impl Into<String>) -> Self {
        Self::new(String::new(), path)
    }

    /// The request's mount: its `Mount` extension, or else its URI path unconsumed.
    pub fn of<B>(req: &Request<B>) -> Self {
        req.extensions()
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self::from_path(req.uri().path()))
    }

    /// The prefix consumed so far (`SCRIPT_NAME`).
    #[must_use]
    pub fn script_name(&self) -> &str {
        &self.script_name
    }

    /// The remaining path (`PATH_INFO`), possibly empty.
    #[must_use]
    pub fn path_info(&self) -> &str {
        &self.path_info
    }

    /// Replaces the script name.
    pub fn set_script_name(&mut self, script_name: impl Into<String>) {
        self.script_name = script_name.into();
    }

    /// Replaces the path info.
    pub fn set_path_info(&mut self, path_info: impl Into<String>) {
        self.path_info = path_info.into();
    }

    /// `script_name + path_info`.
    #[must_use]
    pub fn full_path(&self) -> String {
        let mut s = String::with_capacity(self.script_name.len() + self.path_info.len());
        s.push_str(&self.script_name);
        s.push_str(&self.path_info);
        s
    }

    /// The path to put in the URI: the path info, or `/` when it is empty.
    #[must_use]
    pub fn uri_path(&self) -> &str {
        if self.path_info.is_empty() {
            "/"
        } else {
            &self.path_info
        }
    }

    /// Moves `prefix` from the front of the path info to the end of the script name.
    ///
    /// Returns `false` and changes nothing when the path info does not start with
    /// exactly `prefix`. Segment boundaries are the caller's business (the router
    /// checks them when matching).
    pub fn consume(&mut self, prefix: &str) -> bool {
        match self.path_info.strip_prefix(prefix) {
            Some(rest) => {
                let rest = rest.to_owned();
                self.script_name.push_str(prefix);
                self.path_info = rest;
                true
            }
            None => false,
        }
    }

    /// `uri` with its path replaced by [`Mount::uri_path`]; scheme, authority and the
    /// query (byte for byte) are kept.
    ///
    /// # Errors
    ///
    /// A bad-request [`Error`] when the path info is not valid in a URI.
    pub fn rebuild_uri(&self, uri: &Uri) -> Result<Uri, Error> {
        crate::proto::with_path(uri, self.uri_path())
    }

    /// Rewrites the request's URI to this split and stores the split as an extension.
    ///
    /// # Errors
    ///
    /// As [`Mount::rebuild_uri`]; the request is unchanged on error.
    pub fn apply<B>(self, req: &mut Request<B>) -> Result<(), Error> {
        let uri = self.rebuild_uri(req.uri())?;
        *req.uri_mut() = uri;
        req.extensions_mut().insert(self);
        Ok(())
    }
}
