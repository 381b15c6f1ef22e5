//! [`Mapping`], what a mapper's function returns, and [`WrapTarget`], what runs in
//! front of the chosen target's client.

use frontdoor_core::{
    proto::{normalize_root, strip_root},
    Body,
};
use http::{request::Parts, Extensions, Request, Response, Uri};
use tower_service::Service;

use crate::{ProxyError, Upstream};

// === Mapping ===

/// Where a [`Mapper`](crate::Mapper) sends one request: an upstream base URL, and
/// optionally a prefix of the request path that the target does not see (it becomes
/// part of the [`Mount`](frontdoor_core::Mount)'s script name, as a router's route
/// prefix does, so a relocation layer maps the target's URLs back under it).
///
/// ```
/// use frontdoor_upstream::Mapping;
/// use http::{Request, Uri};
///
/// let head = Request::get("/svn/trunk?x").body(())?.into_parts().0;
/// let svn = Uri::from_static("http://127.0.0.1:8081/svn/morph");
/// let mapping = Mapping::under(&head, "/svn", svn.clone()).expect("under /svn");
/// assert_eq!(mapping.prefix(), Some("/svn")); // the target sees /svn/morph/trunk?x
/// assert!(Mapping::under(&head, "/sv", svn.clone()).is_none()); // segment boundaries
/// let plain = Mapping::from(svn); // the target sees /svn/morph/svn/trunk?x
/// assert_eq!(plain.prefix(), None);
/// # Ok::<_, http::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mapping {
    target: Uri,
    prefix: Option<String>,
    extensions: Extensions,
}

impl Mapping {
    /// The request goes to `target` (`http://host:port/optional/base`), its path
    /// joined to the base path, its query byte for byte.
    #[must_use]
    pub fn to(target: Uri) -> Self {
        Self {
            target,
            prefix: None,
            extensions: Extensions::new(),
        }
    }

    /// The request goes to `target` without `prefix`, when its path lies under
    /// `prefix` on a segment boundary (`/svn` takes `/svn`, `/svn/x`, not `/svnx`);
    /// else `None`. The path is the request's URI path (behind a router, the path
    /// info).
    #[must_use]
    pub fn under(head: &Parts, prefix: &str, target: Uri) -> Option<Self> {
        strip_root(head.uri.path(), prefix)?;
        Some(Self::to(target).strip_prefix(prefix))
    }

    /// The request path's `prefix` is not sent to the target (see [`Mapping::under`],
    /// which checks that the path has it; a mapping whose prefix the path lacks is
    /// refused with a 502).
    #[must_use]
    pub fn strip_prefix(mut self, prefix: &str) -> Self {
        let prefix = normalize_root(prefix);
        self.prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
        self
    }

    /// Attaches a typed value for the [`WrapTarget`] (a relocation layer for this
    /// target, say); a value of the same type is replaced.
    #[must_use]
    pub fn with<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// The target base URL.
    #[must_use]
    pub const fn target(&self) -> &Uri {
        &self.target
    }

    /// The prefix the target does not see, if any (no trailing `/`).
    #[must_use]
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// The values attached with [`Mapping::with`].
    #[must_use]
    pub const fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

impl From<Uri> for Mapping {
    fn from(target: Uri) -> Self {
        Self::to(target)
    }
}

// === WrapTarget ===

/// What serves a request once a [`Mapper`](crate::Mapper) has chosen its target: a
/// service built per request around the target's pooled [`Upstream`] (its base path
/// already the target's). [`Direct`] is the upstream itself; the facade's
/// `frontdoor::RelocatedTargets` puts a relocation layer in front, its remote root
/// the target URL.
pub trait WrapTarget: Clone + Send + Sync + 'static {
    /// The service that answers the request.
    type Service: Service<
            Request<Body>,
            Response = Response<Body>,
            Error = ProxyError,
            Future: Send + 'static,
        > + Send
        + 'static;

    /// The service for `mapping`, around `upstream`.
    ///
    /// # Errors
    ///
    /// A [`ProxyError`] answered in place of the request (nothing is sent).
    fn wrap(&self, mapping: &Mapping, upstream: Upstream) -> Result<Self::Service, ProxyError>;
}

/// The target's [`Upstream`] as it is: no layer in front. The default of a
/// [`Mapper`](crate::Mapper).
#[derive(Clone, Copy, Debug, Default)]
pub struct Direct;

impl WrapTarget for Direct {
    type Service = Upstream;

    fn wrap(&self, _mapping: &Mapping, upstream: Upstream) -> Result<Upstream, ProxyError> {
        Ok(upstream)
    }
}
