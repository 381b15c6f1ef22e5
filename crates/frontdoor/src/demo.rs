//! Built-in demo backends: an echo service and a redirecting, cookie-setting one.
//!
//! They back the `frontdoor serve` demo and make handy upstreams in tests and
//! examples. Both accept any request body type and never buffer it: the echo
//! service counts body bytes as they stream by.
//!
//! # Example
//!
//! ```
//! use frontdoor::{demo, Body};
//! use http::Request;
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), frontdoor::BoxError> {
//! let req = Request::post("/hello?x=1").header("x-demo", "1").body(Body::from("abc"))?;
//! let res = demo::echo().oneshot(req).await?;
//! let json: serde_json::Value = serde_json::from_slice(&res.into_body().collect().await?.to_bytes())?;
//! assert_eq!(json["method"], "POST");
//! assert_eq!(json["path"], "/hello");
//! assert_eq!(json["query"], "x=1");
//! assert_eq!(json["headers"][0], serde_json::json!(["x-demo", "1"]));
//! assert_eq!(json["body_length"], 3);
//! # Ok(())
//! # }
//! ```

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::{Body, BoxError, MatchedRoute, Mount, Resolved, TlsInfo, Vars};
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};
use tower_service::Service;

/// A boxed, `Send` response future, as the demo services return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The echo backend: answers `200 application/json` describing exactly what it
/// received.
///
/// Fields: `method`, `uri`, `path`, `query` (null when absent), `version`,
/// `headers` (a list of `[name, value]` pairs in arrival order, duplicates kept),
/// `body_length` (bytes streamed through), and, when present in the extensions,
/// `script_name` and `path_info` ([`Mount`]), `resolved` ([`Resolved`]), `route`
/// ([`MatchedRoute`]), `vars` ([`Vars`]) and `tls` ([`TlsInfo`]: `{"server_name": ..}`).
/// A body that fails mid-stream is answered with its error's status when it is a
/// frontdoor [`Error`](frontdoor_core::Error) (a read timeout's 408, a size cap's
/// 413), else 400.
#[must_use]
pub const fn echo() -> Echo {
    Echo { _priv: () }
}

/// The echo service. See [`echo`].
#[derive(Clone, Copy, Debug)]
pub struct Echo {
    _priv: (),
}

impl<B> Service<Request<B>> for Echo
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let mut doc = describe(&parts);
        Box::pin(async move {
            let mut body = std::pin::pin!(body);
            let mut len: u64 = 0;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(data) = frame.data_ref() {
                            len += bytes::Buf::remaining(data) as u64;
                        }
                    }
                    Err(e) => {
                        let e: BoxError = e.into();
                        tracing_debug(&e);
                        let status = match frontdoor_core::ErrorKind::of(&*e) {
                            frontdoor_core::ErrorKind::Internal => StatusCode::BAD_REQUEST,
                            kind => kind.status(),
                        };
                        return Ok(frontdoor_core::text_response(status, "request body failed"));
                    }
                }
            }
            doc.insert("body_length".into(), len.into());
            Ok(json_response(StatusCode::OK, &Value::Object(doc)))
        })
    }
}

#[cfg(feature = "serve")]
fn tracing_debug(e: &BoxError) {
    tracing::debug!(error = %e, "echo: request body failed");
}

#[cfg(not(feature = "serve"))]
fn tracing_debug(_: &BoxError) {}

fn describe(parts: &http::request::Parts) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("method".into(), parts.method.as_str().into());
    doc.insert("uri".into(), parts.uri.to_string().into());
    doc.insert("path".into(), parts.uri.path().into());
    doc.insert(
        "query".into(),
        parts.uri.query().map_or(Value::Null, Value::from),
    );
    doc.insert("version".into(), format!("{:?}", parts.version).into());
    let headers: Vec<Value> = parts
        .headers
        .iter()
        .map(|(name, value)| json!([name.as_str(), String::from_utf8_lossy(value.as_bytes())]))
        .collect();
    doc.insert("headers".into(), headers.into());
    let ext = &parts.extensions;
    if let Some(mount) = ext.get::<Mount>() {
        doc.insert("script_name".into(), mount.script_name().into());
        doc.insert("path_info".into(), mount.path_info().into());
    }
    if let Some(resolved) = ext.get::<Resolved>() {
        doc.insert("resolved".into(), resolved.to_string().into());
    }
    if let Some(route) = ext.get::<MatchedRoute>() {
        doc.insert(
            "route".into(),
            json!({"index": route.index, "spec": &*route.spec}),
        );
    }
    if let Some(tls) = ext.get::<TlsInfo>() {
        doc.insert(
            "tls".into(),
            json!({"server_name": tls.server_name.as_deref()}),
        );
    }
    if let Some(vars) = ext.get::<Vars>() {
        let vars: Map<String, Value> = vars.iter().map(|(k, v)| (k.into(), v.into())).collect();
        doc.insert("vars".into(), vars.into());
    }
    doc
}

fn json_response(status: StatusCode, doc: &Value) -> Response<Body> {
    let mut text = doc.to_string();
    text.push('\n');
    let len = HeaderValue::from(text.len());
    let mut res = Response::new(Body::from(Bytes::from(text)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut().insert(header::CONTENT_LENGTH, len);
    res
}

/// The redirect backend, for the relocation demo.
///
/// * a path ending in `/landing` answers `200 text/plain` `you have landed`;
/// * any other path answers `302 Found` with an **absolute** `Location` to
///   `/landing` under the mount's script name, on the host the request named
///   (`Host`, else `localhost`), and sets a cookie
///   `demo=1; Path=<script name or />; HttpOnly`.
///
/// An absolute self-referencing `Location` is exactly what a relocating proxy must
/// rewrite.
#[must_use]
pub const fn redirect() -> Redirect {
    Redirect { _priv: () }
}

/// The redirect service. See [`redirect`].
#[derive(Clone, Copy, Debug)]
pub struct Redirect {
    _priv: (),
}

impl<B> Service<Request<B>> for Redirect {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        std::future::ready(Ok(redirect_response(&req)))
    }
}

fn redirect_response<B>(req: &Request<B>) -> Response<Body> {
    if req.uri().path().ends_with("/landing") {
        return frontdoor_core::text_response(StatusCode::OK, "you have landed");
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let script_name = req
        .extensions()
        .get::<Mount>()
        .map(|m| m.script_name().to_owned())
        .unwrap_or_default();
    let location = format!("http://{host}{script_name}/landing");
    let cookie_path = if script_name.is_empty() {
        "/"
    } else {
        &script_name
    };
    let cookie = format!("demo=1; Path={cookie_path}; HttpOnly");
    let mut res = frontdoor_core::text_response(StatusCode::FOUND, "redirecting");
    // Host and script name came from a valid request; still, never panic on them.
    match (
        HeaderValue::from_str(&location),
        HeaderValue::from_str(&cookie),
    ) {
        (Ok(location), Ok(cookie)) => {
            res.headers_mut().insert(header::LOCATION, location);
            res.headers_mut().insert(header::SET_COOKIE, cookie);
            res
        }
        _ => frontdoor_core::text_response(StatusCode::BAD_REQUEST, "bad host"),
    }
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt;

    use super::*;

    async fn json(res: Response<Body>) -> Value {
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn echo_reports_extensions() {
        let mut req = Request::get("/x").body(Body::empty()).unwrap();
        req.extensions_mut().insert(Mount::new("/app", "/x"));
        req.extensions_mut()
            .insert("h:80:/app/x".parse::<Resolved>().unwrap());
        req.extensions_mut().insert(MatchedRoute::new(2, "::/app"));
        let mut vars = Vars::default();
        vars.set("mode", "wap");
        req.extensions_mut().insert(vars);
        let doc = json(echo().oneshot(req).await.unwrap()).await;
        assert_eq!(doc["script_name"], "/app");
        assert_eq!(doc["path_info"], "/x");
        assert_eq!(doc["resolved"], "h:80:/app/x");
        assert_eq!(doc["route"]["index"], 2);
        assert_eq!(doc["vars"]["mode"], "wap");
        assert_eq!(doc["query"], Value::Null);
        assert_eq!(doc["body_length"], 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn redirect_points_at_landing_with_a_cookie() {
        let mut req = Request::get("/app/go")
            .header("host", "backend:9000")
            .body(())
            .unwrap();
        req.extensions_mut().insert(Mount::new("/app", "/go"));
        let res = redirect().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(res.headers()["location"], "http://backend:9000/app/landing");
        assert_eq!(res.headers()["set-cookie"], "demo=1; Path=/app; HttpOnly");
        let landed = redirect()
            .oneshot(Request::get("/landing").body(()).unwrap())
            .await
            .unwrap();
        assert_eq!(landed.status(), StatusCode::OK);
    }
}
