//! Shared helpers: build requests the way the WFront vectors describe them and run
//! them through the real layer.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "tests")]
#![allow(unreachable_pub, reason = "shared test helpers")]

use std::{convert::Infallible, net::SocketAddr};

use frontdoor_core::{ConnInfo, OriginalUri, PeerTrust, Resolved};
use frontdoor_resolve::{ResolveLayer, Resolver};
use http::{HeaderMap, Request, Response};
use tower::{service_fn, Layer, ServiceExt};

/// The untrusted client address used in the vectors.
pub const UNTRUSTED: &str = "203.0.113.9:40000";
/// A peer inside the trusted `10.0.0.0/8`.
pub const TRUSTED: &str = "10.0.0.1:40000";

/// What the inner service saw.
#[derive(Debug)]
pub struct Seen {
    pub resolved: Resolved,
    pub trust: Option<PeerTrust>,
    pub original: Option<OriginalUri>,
    pub uri: http::Uri,
    pub headers: HeaderMap,
}

/// A request description.
#[derive(Clone, Debug)]
pub struct Req {
    pub uri: &'static str,
    pub host: Option<&'static str>,
    pub headers: Vec<(&'static str, &'static str)>,
    pub tls: bool,
    pub peer: Option<&'static str>,
}

impl Req {
    /// `GET uri` over plaintext from the untrusted peer, local port 8000 (WFront's
    /// base environ: `SERVER_PORT=8000`).
    pub fn new(uri: &'static str) -> Self {
        Self {
            uri,
            host: None,
            headers: Vec::new(),
            tls: false,
            peer: Some(UNTRUSTED),
        }
    }

    pub fn host(mut self, host: &'static str) -> Self {
        self.host = Some(host);
        self
    }

    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    pub fn peer(mut self, peer: &'static str) -> Self {
        self.peer = Some(peer);
        self
    }

    pub fn no_conn_info(mut self) -> Self {
        self.peer = None;
        self
    }

    pub fn build(&self) -> Request<String> {
        let mut b = Request::get(self.uri);
        if let Some(h) = self.host {
            b = b.header("host", h);
        }
        for (n, v) in &self.headers {
            b = b.header(*n, *v);
        }
        let mut req = b.body(String::new()).unwrap();
        if let Some(peer) = self.peer {
            let local: SocketAddr = "10.0.0.2:8000".parse().unwrap();
            let info = ConnInfo::new(local, peer.parse().unwrap()).with_tls(self.tls);
            req.extensions_mut().insert(info);
        }
        req
    }
}

/// Runs `req` through `layer` over an echo service; `Err(status)` when the layer
/// answered itself.
pub async fn run<R>(layer: &ResolveLayer<R>, req: Request<String>) -> Result<Seen, u16>
where
    R: Resolver + Send + Sync + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let svc = layer.layer(service_fn(move |req: Request<String>| {
        let tx = tx.clone();
        async move {
            let seen = Seen {
                resolved: req.extensions().get::<Resolved>().cloned().unwrap(),
                trust: req.extensions().get::<PeerTrust>().copied(),
                original: req.extensions().get::<OriginalUri>().cloned(),
                uri: req.uri().clone(),
                headers: req.headers().clone(),
            };
            tx.send(seen).unwrap();
            Ok::<_, Infallible>(Response::new(String::new()))
        }
    }));
    let res = svc.oneshot(req).await.unwrap();
    if res.status() != 200 {
        return Err(res.status().as_u16());
    }
    Ok(rx.recv().unwrap())
}

/// The `Display` of the resolution, or `"400"`-style status text.
pub async fn resolve<R>(layer: &ResolveLayer<R>, req: &Req) -> String
where
    R: Resolver + Send + Sync + 'static,
{
    match run(layer, req.build()).await {
        Ok(seen) => seen.resolved.to_string(),
        Err(status) => status.to_string(),
    }
}
