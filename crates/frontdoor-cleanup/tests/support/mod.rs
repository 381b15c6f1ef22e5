//! An echo service that records what it received, in WSGI environ terms, so the spec's
//! vectors (given as environ dicts) read the same here.

#![allow(dead_code, unreachable_pub, reason = "shared by several test binaries")]

use std::{collections::BTreeMap, convert::Infallible};

use frontdoor_cleanup::{CleanupLayer, Rules, Target};
use frontdoor_core::{Body, Mount, OriginalUri, Resolved, Vars};
use http::{Request, Response};
use tower::{Layer, ServiceExt};

/// What the echo service saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The request as an environ: `HTTP_*` headers, vars, and `SCRIPT_NAME`/`PATH_INFO`
    /// (when a `Mount` is present), `REQUEST_URI` (when an `OriginalUri` is present),
    /// `wsgi.url_scheme` (when a `Resolved` is present).
    pub env: BTreeMap<String, String>,
    /// `uri()` as the inner service saw it.
    pub uri: String,
}

/// Builds a request from an environ. `SCRIPT_NAME`/`PATH_INFO` make a `Mount` and set
/// the URI path (`QUERY_STRING` is appended); `REQUEST_URI` an `OriginalUri`;
/// `HTTP_*` headers; `RESOLVED` (`host:port:path`) a `Resolved`, whose scheme
/// `wsgi.url_scheme` overrides; anything else a var.
pub fn request(env: &[(&str, &str)]) -> Request<Body> {
    let get = |k: &str| env.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let mut req = Request::new(Body::empty());
    let sn = get("SCRIPT_NAME");
    let pi = get("PATH_INFO");
    if sn.is_some() || pi.is_some() {
        let mount = Mount::new(sn.unwrap_or(""), pi.unwrap_or(""));
        let mut uri = mount.uri_path().to_owned();
        if let Some(q) = get("QUERY_STRING") {
            uri = format!("{uri}?{q}");
        }
        *req.uri_mut() = uri.parse().unwrap();
        req.extensions_mut().insert(mount);
    }
    if let Some(ru) = get("REQUEST_URI") {
        req.extensions_mut()
            .insert(OriginalUri(ru.parse().unwrap()));
    }
    if let Some(r) = get("RESOLVED") {
        let mut resolved: Resolved = r.parse().unwrap();
        if let Some(s) = get("wsgi.url_scheme") {
            resolved.scheme = s.parse().unwrap();
        }
        req.extensions_mut().insert(resolved);
    }
    let mut vars = Vars::default();
    for (k, v) in env {
        match *k {
            "SCRIPT_NAME" | "PATH_INFO" | "QUERY_STRING" | "REQUEST_URI" | "RESOLVED"
            | "wsgi.url_scheme" => {}
            _ => match Target::from_cgi_key(k).unwrap() {
                Target::Header(name) => {
                    req.headers_mut().append(name, v.parse().unwrap());
                }
                Target::Var(name) => {
                    vars.set(&*name, *v);
                }
                other => panic!("no test mapping for {other}"),
            },
        }
    }
    if !vars.is_empty() {
        req.extensions_mut().insert(vars);
    }
    req
}

/// The environ view of a request.
pub fn seen<B>(req: &Request<B>) -> Seen {
    let mut env = BTreeMap::new();
    for (name, value) in req.headers() {
        let key = format!(
            "HTTP_{}",
            name.as_str().to_ascii_uppercase().replace('-', "_")
        );
        env.insert(key, String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    if let Some(vars) = req.extensions().get::<Vars>() {
        for (k, v) in vars.iter() {
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    if let Some(m) = req.extensions().get::<Mount>() {
        env.insert("SCRIPT_NAME".to_owned(), m.script_name().to_owned());
        env.insert("PATH_INFO".to_owned(), m.path_info().to_owned());
    }
    if let Some(u) = req.extensions().get::<OriginalUri>() {
        env.insert("REQUEST_URI".to_owned(), u.0.to_string());
    }
    if let Some(r) = req.extensions().get::<Resolved>() {
        env.insert("wsgi.url_scheme".to_owned(), r.scheme.to_string());
    }
    Seen {
        env,
        uri: req.uri().to_string(),
    }
}

/// Runs `req` through `CleanupLayer::new(rules)` over the echo service.
pub async fn run(rules: &Rules, req: Request<Body>) -> Seen {
    let echo = tower::service_fn(|req: Request<Body>| async move {
        let mut res = Response::new(Body::empty());
        res.extensions_mut().insert(seen(&req));
        Ok::<_, Infallible>(res)
    });
    let svc = CleanupLayer::new(rules.clone()).layer(echo);
    let res = svc.oneshot(req).await.unwrap();
    res.extensions().get::<Seen>().unwrap().clone()
}

/// An environ literal.
pub fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
