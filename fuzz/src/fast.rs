//! The fast path end to end (`fast_path`): raw client bytes through the fast path and
//! the proxy stack to a raw loopback origin that must never receive a request the
//! client did not send in full.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::Duration,
};

use frontdoor::{
    core::{canonicalize_with, CanonicalOptions},
    resolve::{DirectResolver, ResolveLayer},
    route::Router,
    serve::__fuzz::{body_kind, decode_body, BodyEnd, BodyKind},
    upstream::{GatewayErrorLayer, Upstream},
    Body,
};
use http::{uri::PathAndQuery, HeaderValue, Request, Response};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{util::BoxCloneSyncService, ServiceBuilder};

use super::http_targets::{exchange_with_origin, runtime};

/// The header the stack stamps each request with: the input it came from.
const RUN: &str = "x-fuzz-run";

/// A request as sent in full: method, target, body content.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    method: String,
    target: String,
    body: Vec<u8>,
}

/// The raw origin: what it received in full, by input, and how many connections it
/// has open.
struct RawOrigin {
    addr: SocketAddr,
    next_run: AtomicU64,
    received: Mutex<HashMap<u64, Vec<Sent>>>,
    open: AtomicU64,
    /// Requests in the stack whose answer has not been produced yet.
    in_stack: AtomicU64,
}

/// A loopback origin that parses what it receives with `httparse` and the wire
/// scanner's framing rules, records each request received in full and answers it
/// with a small fixed response; started once per process.
fn raw_origin() -> &'static Arc<RawOrigin> {
    static ORIGIN: OnceLock<Arc<RawOrigin>> = OnceLock::new();
    ORIGIN.get_or_init(|| {
        let listener = runtime()
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback listener");
        let origin = Arc::new(RawOrigin {
            addr: listener.local_addr().expect("an address"),
            next_run: AtomicU64::new(0),
            received: Mutex::new(HashMap::new()),
            open: AtomicU64::new(0),
            in_stack: AtomicU64::new(0),
        });
        let shared = Arc::clone(&origin);
        runtime().spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.open.fetch_add(1, Ordering::SeqCst);
                let origin = Arc::clone(&shared);
                tokio::spawn(async move {
                    origin_conn(stream, &origin).await;
                    origin.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        origin
    })
}

/// One origin connection: requests parsed as they complete, each answered.
async fn origin_conn(mut stream: tokio::net::TcpStream, origin: &RawOrigin) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match parse_one(&buf) {
            Parse::Complete {
                used,
                run,
                sent,
                head,
            } => {
                buf.drain(..used);
                if let Some(run) = run {
                    origin.received.lock().entry(run).or_default().push(sent);
                }
                // A `HEAD` gets a length; anything else a chunked body whose data
                // comes in a second write, so that the proxy splices it when it is not
                // read with the head.
                let answer: [&[u8]; 2] = if head {
                    [b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n", b""]
                } else {
                    [
                        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\n",
                        b"origin\r\n0\r\n\r\n",
                    ]
                };
                for piece in answer {
                    if stream.write_all(piece).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            Parse::Invalid => return,
            Parse::More => {}
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// What [`parse_one`] found at the start of a buffer.
enum Parse {
    Complete {
        used: usize,
        run: Option<u64>,
        sent: Sent,
        head: bool,
    },
    More,
    Invalid,
}

/// Parses the request at the start of `buf` with `httparse` and the wire scanner's
/// framing rules; its body is decoded to the end of its framing.
fn parse_one(buf: &[u8]) -> Parse {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parse::More,
        Err(_) => return Parse::Invalid,
    };
    let Some(kind) = body_kind(req.version == Some(1), req.headers) else {
        return Parse::Invalid;
    };
    let (used, body) = match decode_body(kind, &buf[len..], &[usize::MAX]) {
        BodyEnd::Complete { len: n, data } => (len + n, data),
        BodyEnd::Incomplete => return Parse::More,
        BodyEnd::Invalid => return Parse::Invalid,
    };
    let run = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(RUN))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok());
    let method = req.method.unwrap_or_default().to_owned();
    Parse::Complete {
        used,
        run,
        head: method == "HEAD",
        sent: Sent {
            method,
            target: req.path.unwrap_or_default().to_owned(),
            body,
        },
    }
}

/// Every request of `data` sent in full, parsed as the origin parses (the target
/// as the upstream client writes it in origin form); the walk stops at the
/// first head or body that is not complete or does not parse.
fn sent_in_full(mut data: &[u8]) -> Vec<Sent> {
    let mut all = Vec::new();
    loop {
        let Parse::Complete { used, mut sent, .. } = parse_one(data) else {
            return all;
        };
        // Sent in full, body included: the upstream client may forward it without
        // the body (see `get_with_chunked_body`).
        if let Some(bodiless) = get_with_chunked_body(data) {
            all.push(bodiless);
        }
        sent.target = origin_form(&sent.target);
        all.push(sent);
        data = &data[used..];
    }
}

/// A target as the upstream client writes it: its path and query when that starts
/// with `/`, else `/`.
fn origin_form(target: &str) -> String {
    match target.parse::<http::Uri>() {
        Ok(uri) => uri
            .path_and_query()
            .map(PathAndQuery::as_str)
            .filter(|pq| pq.starts_with('/'))
            .unwrap_or("/")
            .to_owned(),
        Err(_) => target.to_owned(),
    }
}

/// A target with its path canonicalised as the router does (slashes merged, dot
/// segments resolved), for comparing what the origin received with what was sent.
fn canonical(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let Ok(path) = canonicalize_with(path, CanonicalOptions::new()) else {
        return target.to_owned();
    };
    match query {
        Some(query) => format!("{path}?{query}"),
        None => path.into_owned(),
    }
}

/// A `GET` or `HEAD` head with a chunked body at the start of `data`, as the
/// upstream client forwards it: without its body (a body of unknown length on those
/// methods is not sent, as hyper's client does not send it), once the client's body
/// has been read to its end; a body that fails stops the request.
fn get_with_chunked_body(data: &[u8]) -> Option<Sent> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = req.parse(data) else {
        return None;
    };
    let method = req.method?;
    let target = req.path?;
    let chunked = body_kind(req.version == Some(1), req.headers) == Some(BodyKind::Chunked);
    (chunked && matches!(method, "GET" | "HEAD")).then(|| Sent {
        method: method.to_owned(),
        target: origin_form(target),
        body: Vec::new(),
    })
}

/// The proxy stack in front of the raw origin: resolve, the stamp of the input's
/// run, the router (one route for everything: a mount would rewrite the path),
/// gateway errors, the upstream client.
fn proxy(
    origin: &Arc<RawOrigin>,
    run: u64,
) -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
    let upstream = Upstream::builder(&format!("http://{}", origin.addr))
        .connect_timeout(Some(Duration::from_secs(1)))
        .head_timeout(Some(Duration::from_secs(1)))
        .body_idle_timeout(Some(Duration::from_secs(1)))
        .pool_max_idle_per_host(0)
        // Chunked answers are offered for splicing, as the binary offers them.
        .splice_bodies(true)
        .build()
        .expect("an upstream");
    let route = BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(upstream),
    );
    let router = Router::builder()
        .route("*:*:/", route)
        .build()
        .expect("a route table");
    let counted = Arc::clone(origin);
    let in_flight = tower::util::MapFutureLayer::new(move |fut| {
        let origin = Arc::clone(&counted);
        origin.in_stack.fetch_add(1, Ordering::SeqCst);
        async move {
            let res: Result<Response<Body>, Infallible> = fut.await;
            origin.in_stack.fetch_sub(1, Ordering::SeqCst);
            res
        }
    });
    let stamp = tower::util::MapRequestLayer::new(move |mut req: Request<Body>| {
        req.headers_mut().insert(RUN, HeaderValue::from(run));
        req
    });
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(in_flight)
            .layer(ResolveLayer::new(DirectResolver::new()))
            .layer(stamp)
            .service(router),
    )
}

/// Raw bytes through the fast path and the proxy stack to a raw loopback origin:
/// never a panic or hang, and every request the origin receives in full is one the
/// client sent in full (method, target with its path canonicalised as the router
/// does, body content), parsed from the input with
/// `httparse` and the same framing rules; a `GET` or `HEAD` with a chunked body also
/// counts as sent in full without it, once its head is, as hyper's client forwards
/// it without the body. (An input that opens with the HTTP/2
/// preface is only checked for panics and hangs.)
pub fn fast_path(data: &[u8]) {
    let origin = raw_origin();
    let run = origin.next_run.fetch_add(1, Ordering::SeqCst);
    let sent = sent_in_full(data);
    let input = data.to_vec();
    runtime().block_on(async move {
        let svc = proxy(origin, run);
        let watched = Arc::clone(origin);
        let quiet = Box::new(move || {
            watched.in_stack.load(Ordering::SeqCst) == 0 && watched.open.load(Ordering::SeqCst) == 0
        });
        exchange_with_origin(input, svc, quiet, || {
            origin.open.load(Ordering::SeqCst) == 0
        })
        .await;
    });
    let received = origin.received.lock().remove(&run).unwrap_or_default();
    // HTTP/2 requests are not HTTP/1 bytes to compare with: only no panic or hang.
    let http2 = data.starts_with(b"PRI * HTTP/2.0");
    let sent: Vec<Sent> = sent
        .into_iter()
        .map(|s| Sent {
            target: canonical(&s.target),
            ..s
        })
        .collect();
    for mut got in received.into_iter().filter(|_| !http2) {
        got.target = canonical(&got.target);
        assert!(
            sent.contains(&got),
            "the origin received a request the client did not send in full: {got:?}; sent: {sent:?}"
        );
    }
    // What an earlier input left in flight cannot be checked any more.
    origin.received.lock().retain(|r, _| *r > run);
}
