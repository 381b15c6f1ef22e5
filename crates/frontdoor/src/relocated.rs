//! An upstream and its relocation from one URL: [`relocated_upstream`]; a mapper's
//! targets, each relocated from the URL chosen for it: [`RelocatedTargets`].
//!
//! A hand-built stack otherwise names the upstream's URL twice, once for the client
//! (`Upstream::new(url)`) and once as the relocation's remote root
//! (`RelocateLayer::new(profile).remote_root(url)`), with nothing tying them; the stack
//! plan infers the remote root from the route's first upstream, and this does the same
//! for code.

use frontdoor_core::BoxError;
use frontdoor_relocate::{Profile, Relocate, RelocateLayer, Root};
use frontdoor_upstream::{Mapping, ProxyError, ProxyErrorKind, Upstream, WrapTarget};
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

// === RelocatedTargets ===

/// A [`Mapper`]'s targets behind a relocation layer whose remote root is the URL the
/// mapper chose for each request: the relocation root follows the mapping.
///
/// The layer is the mapping's own when it carries one ([`Mapping::with`]`(layer)`,
/// for a target that needs another profile), else the default given here; its
/// remote root is replaced by the target URL. The local root is, as usual, the
/// resolved public origin and the [`Mount`](crate::core::Mount)'s script name, which
/// holds the prefix a [`Mapping::under`] or [`Mapping::strip_prefix`] took off. The
/// relocation is built per request (the target URL parsed as a root, the layer's
/// settings copied once).
///
/// ```
/// use frontdoor::relocate::{Profile, RelocateLayer};
/// use frontdoor::upstream::{AllowedTargets, Mapper, Mapping};
/// use frontdoor::RelocatedTargets;
/// use http::{request::Parts, Uri};
///
/// # fn main() -> Result<(), frontdoor::BoxError> {
/// let site: Uri = "http://127.0.0.1:8081/".parse()?;
/// let svn: Uri = "http://127.0.0.1:8082/svn/morph".parse()?;
/// let svn_layer = RelocateLayer::new(Profile::Svn);
/// let mapper = Mapper::builder(move |head: &Parts| {
///     Mapping::under(head, "/svn", svn.clone())
///         .map(|m| m.with(svn_layer.clone()))
///         .or_else(|| Mapping::under(head, "/site", site.clone()))
/// })
/// .allow(AllowedTargets::parse(["127.0.0.1"])?)
/// .wrap_targets(RelocatedTargets::new(RelocateLayer::new(Profile::Plain)))
/// .build()?;
/// # drop(mapper);
/// # Ok(())
/// # }
/// ```
///
/// [`Mapper`]: frontdoor_upstream::Mapper
/// [`Mapping::with`]: frontdoor_upstream::Mapping::with
/// [`Mapping::under`]: frontdoor_upstream::Mapping::under
/// [`Mapping::strip_prefix`]: frontdoor_upstream::Mapping::strip_prefix
#[derive(Clone, Debug)]
pub struct RelocatedTargets {
    default: RelocateLayer,
}

impl RelocatedTargets {
    /// Targets relocated with `default` unless their mapping carries a layer.
    #[must_use]
    pub const fn new(default: RelocateLayer) -> Self {
        Self { default }
    }
}

impl WrapTarget for RelocatedTargets {
    type Service = Relocate<Upstream>;

    fn wrap(&self, mapping: &Mapping, upstream: Upstream) -> Result<Self::Service, ProxyError> {
        let root = Root::try_from(mapping.target())
            .map_err(|e| ProxyError::with_source(ProxyErrorKind::TargetRefused, e))?;
        let layer = mapping
            .extensions()
            .get::<RelocateLayer>()
            .unwrap_or(&self.default);
        Ok(layer.clone().remote_root(root).layer(upstream))
    }
}

#[cfg(test)]
mod tests {
    use frontdoor_core::{Body, Resolved};
    use frontdoor_relocate::Profile;
    use frontdoor_upstream::{AllowedTargets, GatewayError, Mapper};
    use http::{request::Parts, Request, Uri};
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };
    use tower::ServiceExt;

    use super::*;

    /// An origin redirecting every request to `location` (formatted with its own
    /// address in place of `{}`).
    async fn redirecting(location: &'static str) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let location = location.replace("{}", &addr.to_string());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let location = location.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if s.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let answer = format!(
                        "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
                    );
                    let _ = s.write_all(answer.as_bytes()).await;
                });
            }
        });
        addr
    }

    #[test]
    fn public_types_are_send_sync_clone() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        send_sync_clone::<RelocatedTargets>();
    }

    #[tokio::test]
    async fn the_relocation_root_follows_the_chosen_target() {
        let a = redirecting("http://{}/base/next?n=1").await;
        let b = redirecting("http://{}/other/z").await;
        let ta: Uri = format!("http://{a}/base").parse().unwrap();
        let tb: Uri = format!("http://{b}/other").parse().unwrap();
        let mapper = Mapper::builder(move |head: &Parts| {
            Mapping::under(head, "/a", ta.clone())
                .or_else(|| Mapping::under(head, "/b", tb.clone()))
        })
        .allow(AllowedTargets::parse(["127.0.0.1"]).unwrap())
        .wrap_targets(RelocatedTargets::new(RelocateLayer::new(Profile::Plain)))
        .build()
        .unwrap();
        let svc = GatewayError::new(mapper);
        let location = |path: &'static str| {
            let svc = svc.clone();
            async move {
                let mut req = Request::get(path).body(Body::empty()).unwrap();
                let resolved: Resolved = format!("public:8080:{path}").parse().unwrap();
                req.extensions_mut().insert(resolved);
                let res = svc.oneshot(req).await.unwrap();
                assert_eq!(res.status(), 302);
                res.headers()["location"].to_str().unwrap().to_owned()
            }
        };
        assert_eq!(location("/a/x").await, "http://public:8080/a/next?n=1");
        assert_eq!(location("/b/y").await, "http://public:8080/b/z");
    }
}
