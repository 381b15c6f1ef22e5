//! An upstream and its relocation from one URL: [`relocated_upstream`].
//!
//! A hand-built stack otherwise names the upstream's URL twice, once for the client
//! (`Upstream::new(url)`) and once as the relocation's remote root
//! (`RelocateLayer::new(profile).remote_root(url)`), with nothing tying them; the stack
//! plan infers the remote root from the route's first upstream, and this does the same
//! for code.

use frontdoor_core::BoxError;
use frontdoor_relocate::{Profile, Relocate, RelocateLayer, Root};
use frontdoor_upstream::Upstream;
use tower_layer::Layer;

/// The upstream client at `url`, behind a relocation layer with `profile` whose
/// remote root is that same URL (the local root comes from each request: the
/// resolved host and the prefix the router consumed).
///
/// ```
/// use frontdoor::{relocate::Profile, route::Router, ServiceBuilderExt};
/// use tower::ServiceBuilder;
///
/// # fn main() -> Result<(), frontdoor::BoxError> {
/// let dav = ServiceBuilder::new()
///     .gateway_errors()
///     .service(frontdoor::relocated_upstream(Profile::WebDav, "http://127.0.0.1:8081/webdav")?);
/// let routes = Router::builder().route("::/dav", dav).into_layer()?;
/// # drop(routes);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// When `url` is not an upstream URL (the upstream client's check) or not a root the
/// relocation layer takes.
pub fn relocated_upstream(profile: Profile, url: &str) -> Result<Relocate<Upstream>, BoxError> {
    let upstream = Upstream::new(url)?;
    let root = Root::try_from(url)?;
    Ok(RelocateLayer::new(profile)
        .remote_root(root)
        .layer(upstream))
}
