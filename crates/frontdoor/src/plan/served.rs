//! [`Served`]: what served a request, tagged on its response by the plan's route
//! services for the access log and metrics around the plan.

use std::{
    any::Any,
    sync::{Arc, OnceLock},
};

use frontdoor_core::Resolved;
use http::Request;

/// What served a request: inserted into the response extensions by every route
/// service of a plan (and its miss answer), read by whatever observes the plan from
/// outside (an access log, metrics).
#[derive(Clone)]
#[non_exhaustive]
pub struct Served {
    /// The route's label: its `name`, else `route[N]`; `default` or `not_found`.
    pub route: Arc<str>,
    /// The upstreams of the route (or `-`).
    pub upstream: Arc<str>,
    /// The route's spec (or `regex ...`), when it has one.
    pub spec: Option<Arc<str>>,
    /// The resolved `host:port:path`, when the resolver stamped one.
    pub resolved: Option<String>,
    /// One value an observer keeps per route (its metric handles), shared by the
    /// tag's clones.
    cache: Arc<OnceLock<Box<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("route", &self.route)
            .field("upstream", &self.upstream)
            .field("resolved", &self.resolved)
            .finish_non_exhaustive()
    }
}

impl Served {
    /// A tag for `route` served by `upstream`.
    #[must_use]
    pub fn new(route: impl Into<Arc<str>>, upstream: impl Into<Arc<str>>) -> Self {
        Self {
            route: route.into(),
            upstream: upstream.into(),
            spec: None,
            resolved: None,
            cache: Arc::default(),
        }
    }

    /// This tag with `req`'s resolved `host:port:path`.
    #[must_use]
    pub fn for_request<B>(&self, req: &Request<B>) -> Self {
        Self {
            resolved: req.extensions().get::<Resolved>().map(resolved_text),
            ..self.clone()
        }
    }

    /// The value an observer keeps for this route (made by `init` on first use, then
    /// shared by every request the route serves), so the per-request path of an
    /// observer looks nothing up. `None` when a value of another type was kept first.
    pub fn cached<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Option<&T> {
        self.cache
            .get_or_init(|| Box::new(init()))
            .downcast_ref::<T>()
    }
}

/// `resolved` as its `Display` writes it, without `core::fmt` (once per request).
fn resolved_text(resolved: &Resolved) -> String {
    let mut port = itoa::Buffer::new();
    let middle = match &resolved.label {
        Some(label) => label,
        None => port.format(resolved.port),
    };
    let mut out =
        String::with_capacity(resolved.host.len() + middle.len() + resolved.path.len() + 2);
    for part in [&resolved.host, ":", middle, ":", &resolved.path] {
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use frontdoor_core::Resolved;

    use super::resolved_text;

    #[test]
    fn resolved_text_is_the_display_form() {
        use frontdoor_core::HostSource;
        let mut resolved = Resolved::new(
            http::uri::Scheme::HTTP,
            "[::1]",
            8080,
            "/a/b%20c",
            HostSource::Host,
        );
        assert_eq!(resolved_text(&resolved), "[::1]:8080:/a/b%20c");
        assert_eq!(resolved_text(&resolved), resolved.to_string());
        resolved.label = Some("https".into());
        resolved.port = 0;
        assert_eq!(resolved_text(&resolved), "[::1]:https:/a/b%20c");
        assert_eq!(resolved_text(&resolved), resolved.to_string());
    }
}
