//! The built-in shadow transport: hyper-util's pooled HTTP/1 client to one base URL.
//! Every copy goes out as HTTP/1.1, whatever the client spoke: hyper writes the
//! target in origin form and, when the copy has no `Host`, the base URL's authority.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use frontdoor_core::{proto::rebase, Body, BoxError};
use http::{uri::Scheme, Request, Response, Uri, Version};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::{TokioExecutor, TokioTimer},
};
use tower_service::Service;

use crate::MirrorConfigError;

/// Sends each request to `base` (scheme, authority, base path), the request's path
/// and query joined under the base path on a segment boundary.
#[derive(Clone, Debug)]
pub(crate) struct HttpShadow {
    client: Client<HttpConnector, Body>,
    scheme: Scheme,
    authority: http::uri::Authority,
    base_path: Arc<str>,
}

impl HttpShadow {
    pub(crate) fn new(base_url: &str) -> Result<Self, MirrorConfigError> {
        let uri: Uri = base_url.parse().map_err(|e| {
            MirrorConfigError::with_source(format!("invalid shadow url {base_url:?}"), e)
        })?;
        let bad = |why: &str| MirrorConfigError::new(format!("shadow url {base_url:?}: {why}"));
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(bad(
                "only http:// is supported (use with_shadow for others)",
            ));
        }
        let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("userinfo is not allowed"));
        }
        if uri.query().is_some() {
            return Err(bad("a query is not allowed"));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            client,
            scheme: Scheme::HTTP,
            authority,
            base_path: Arc::from(uri.path()),
        })
    }

    fn target(&self, uri: &Uri) -> Result<Uri, BoxError> {
        let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let path = rebase(pq, "/", &self.base_path).ok_or("request target is not a path")?;
        Ok(Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()?)
    }
}

impl Service<Request<Body>> for HttpShadow {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let target = self.target(req.uri());
        let client = self.client.clone();
        Box::pin(async move {
            *req.uri_mut() = target?;
            // The copy of an HTTP/2 request would otherwise ask for an HTTP/2
            // connection, which this client never makes.
            *req.version_mut() = Version::HTTP_11;
            let res = client.request(req).await?;
            Ok(res.map(Body::new))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn targets_join_the_base_path() {
        let s = HttpShadow::new("http://127.0.0.1:9/base/").unwrap();
        let t = |u: &str| s.target(&u.parse().unwrap()).unwrap().to_string();
        assert_eq!(t("/x?y=1"), "http://127.0.0.1:9/base/x?y=1");
        assert_eq!(t("http://other/x"), "http://127.0.0.1:9/base/x");
        let root = HttpShadow::new("http://h").unwrap();
        assert_eq!(root.target(&"/a".parse().unwrap()).unwrap(), "http://h/a");
        for bad in ["https://h/", "h:80", "http://u@h/", "http://h/?q", "::"] {
            assert!(HttpShadow::new(bad).is_err(), "{bad}");
        }
    }
}
