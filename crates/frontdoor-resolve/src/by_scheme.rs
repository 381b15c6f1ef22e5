//! The by-scheme combinator: labels the resolved port through a [`Schemes`] table.

use std::sync::Arc;

use frontdoor_core::{Error, Schemes};
use http::request::Parts;

use crate::resolver::{Resolution, Resolver};

/// Wraps a resolver and sets [`Resolved::label`](frontdoor_core::Resolved::label) from
/// a [`Schemes`] table (WFront's `by_scheme`), so that `Display` shows
/// `host:http:/path` and regex specs written against labels match.
///
/// This is the behaviour WFront 0.4 documented but did not implement (its
/// `by_scheme` computed the label and threw it away, defect W1). The numeric
/// [`Resolved::port`](frontdoor_core::Resolved::port) is kept, so numeric route specs
/// keep working; a router given the same `Schemes` compiles `host:http` into the port
/// set `{80, ...}` and does not need the label at all. Ports without a label are left
/// unlabelled (`Display` shows the number). When two labels claim a port, the first
/// label in name order wins, as [`Schemes::label_of`].
///
/// The port-to-label map is built once here; labelling a request clones an
/// `Arc<str>` and does not allocate.
///
/// ```
/// use frontdoor_core::Schemes;
/// use frontdoor_resolve::{ByScheme, DirectResolver, Resolver};
/// use http::Request;
///
/// let schemes = Schemes::new().with("http", [80, 8000, 8001]);
/// let resolver = ByScheme::new(DirectResolver::new(), schemes);
/// let (parts, ()) = Request::get("/x").header("host", "h:8000").body(())?.into_parts();
/// let resolved = resolver.resolve(&parts)?.resolved;
/// assert_eq!(resolved.to_string(), "h:http:/x");
/// assert_eq!(resolved.port, 8000);
/// let (parts, ()) = Request::get("/x").header("host", "h:9000").body(())?.into_parts();
/// assert_eq!(resolver.resolve(&parts)?.resolved.to_string(), "h:9000:/x");
/// # Ok::<(), frontdoor_core::BoxError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ByScheme<R> {
    inner: R,
    schemes: Schemes,
    /// Sorted by port, one entry per labelled port.
    by_port: Arc<[(u16, Arc<str>)]>,
}

impl<R> ByScheme<R> {
    /// Labels `inner`'s verdicts through `schemes`.
    #[must_use]
    pub fn new(inner: R, schemes: Schemes) -> Self {
        let mut by_port: Vec<(u16, Arc<str>)> = Vec::new();
        for (label, ports) in schemes.iter() {
            let label: Arc<str> = label.into();
            for &port in ports {
                if !by_port.iter().any(|(p, _)| *p == port) {
                    by_port.push((port, Arc::clone(&label)));
                }
            }
        }
        by_port.sort_unstable_by_key(|(p, _)| *p);
        Self {
            inner,
            schemes,
            by_port: by_port.into(),
        }
    }

    /// The label of `port`, if any (the same answer as [`Schemes::label_of`]).
    #[must_use]
    pub fn label_of(&self, port: u16) -> Option<&Arc<str>> {
        self.by_port
            .binary_search_by_key(&port, |(p, _)| *p)
            .ok()
            .and_then(|i| self.by_port.get(i))
            .map(|(_, label)| label)
    }

    /// The scheme table, for handing the same one to the router.
    #[must_use]
    pub const fn schemes(&self) -> &Schemes {
        &self.schemes
    }

    /// The wrapped resolver.
    #[must_use]
    pub const fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: Resolver> Resolver for ByScheme<R> {
    fn resolve(&self, parts: &Parts) -> Result<Resolution, Error> {
        let mut res = self.inner.resolve(parts)?;
        if let Some(label) = self.label_of(res.resolved.port) {
            res.resolved.label = Some(Arc::clone(label));
        }
        Ok(res)
    }
}
