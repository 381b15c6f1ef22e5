//! The HTTP targets: raw bytes through `serve`, and through the full stack, on an
//! in-memory connection served as the server serves a plaintext connection
//! (`__fuzz::serve_on`: `serve_stream` never takes the HTTP/1 fast path).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::Duration,
};

use bytes::Bytes;
use frontdoor::{
    cleanup::{CleanupLayer, Rules, Syntax},
    core::ConnInfo,
    resolve::{DirectResolver, EscapedSlashesLayer, ResolveLayer},
    route::{Filter, Router},
    serve::__fuzz::{serve_on, H1Path},
    upstream::{GatewayErrorLayer, Upstream},
    Body,
};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use parking_lot::Mutex;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    runtime::Runtime,
};
use tower::{util::BoxCloneSyncService, ServiceBuilder};

/// The answer `serve` gives when its wire scanner and hyper disagree about a request.
pub(crate) const UNVERIFIED: &[u8] = b"request framing could not be verified";

// === serve ===

/// What a service saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    /// `Some(true)`: the body ended cleanly; `Some(false)`: it failed; `None`: the
    /// request was dropped before its body was read.
    body_ok: Option<bool>,
}

/// A current-thread runtime with paused time: in-memory exchanges settle instantly,
/// and every timeout fires as soon as nothing else can happen.
fn paused_runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime")
    })
}

/// A current-thread runtime in real time (the full stack talks to a loopback origin).
pub(crate) fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

pub(crate) fn conn_info() -> ConnInfo {
    ConnInfo::new(
        SocketAddr::from(([127, 0, 0, 1], 80)),
        SocketAddr::from(([127, 0, 0, 1], 50000)),
    )
}

/// Raw bytes through `serve` on an in-memory connection, to a service that reads
/// every body to its end: once on the HTTP/1 fast path, once on hyper's.
pub fn serve(data: &[u8]) {
    let data = data.to_vec();
    paused_runtime().block_on(async move {
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let record = Arc::clone(&seen);
        let svc = tower::service_fn(move |req: Request<Body>| {
            let record = Arc::clone(&record);
            async move {
                let at = {
                    let mut seen = record.lock();
                    seen.push(Seen { body_ok: None });
                    seen.len() - 1
                };
                let ok = req.into_body().collect().await.is_ok();
                record.lock()[at].body_ok = Some(ok);
                Ok::<_, Infallible>(Response::new(Body::from("ok")))
            }
        });
        for path in [H1Path::Fast, H1Path::Hyper] {
            let settle = Settle::After(Duration::from_secs(3600));
            let output = exchange_in_memory(data.clone(), svc.clone(), settle, path).await;
            assert!(
                !contains(&output, UNVERIFIED),
                "the scanner and hyper disagreed ({path:?} path): {:?}",
                String::from_utf8_lossy(&output)
            );
        }
        drop(seen);
    });
}

/// When the client of [`exchange_in_memory`] closes its write half.
pub(crate) enum Settle {
    /// This long after the last byte was written (virtual time under a paused
    /// runtime: once nothing else can happen).
    After(Duration),
    /// Once `quiet` says nothing is in flight (checked every millisecond), or `max`
    /// after the last byte was written.
    Quiet {
        quiet: Box<dyn Fn() -> bool + Send>,
        max: Duration,
    },
}

impl Settle {
    async fn wait(&self) {
        match self {
            Self::After(d) => tokio::time::sleep(*d).await,
            Self::Quiet { quiet, max } => {
                let deadline = tokio::time::Instant::now() + *max;
                let mut calm = 0;
                while calm < 3 && tokio::time::Instant::now() < deadline {
                    calm = if quiet() { calm + 1 } else { 0 };
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }

    fn bound(&self) -> Duration {
        let waited = match self {
            Self::After(d) => *d,
            Self::Quiet { max, .. } => *max,
        };
        waited + Duration::from_secs(10)
    }
}

/// Writes `data` to a fresh in-memory connection served by `svc` while reading what
/// it answers; once everything is written and `settle` says so, closes the client's
/// write half and reads until the server closes. Returns every byte the server wrote;
/// a panic in the server's task is resumed here, a server that never closes is a
/// panic.
pub(crate) async fn exchange_in_memory<S>(
    data: Vec<u8>,
    svc: S,
    settle: Settle,
    path: H1Path,
) -> Vec<u8>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let (client, server) = tokio::io::duplex(64 * 1024);
    let conn = tokio::spawn(serve_on(server, conn_info(), svc, path));
    let (mut reader, mut writer) = tokio::io::split(client);
    let mut out = Vec::new();
    let talk = async {
        let mut input: &[u8] = &data;
        let mut buf = vec![0u8; 16 * 1024];
        let mut closed = false;
        loop {
            let eof = async {
                if input.is_empty() && !closed {
                    settle.wait().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                biased;
                read = reader.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                },
                written = writer.write(input), if !input.is_empty() => match written {
                    Ok(n) if n > 0 => input = &input[n..],
                    _ => input = &[],
                },
                () = eof => {
                    let _ = writer.shutdown().await;
                    closed = true;
                }
            }
        }
    };
    let bound = settle.bound();
    if tokio::time::timeout(bound, talk).await.is_err() {
        panic!("the server never closed the connection");
    }
    match tokio::time::timeout(bound, conn).await {
        Ok(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Ok(_) => {}
        Err(_) => panic!("the connection task did not end"),
    }
    out
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Exchanges `data` with a proxy stack `svc` on the fast path, the client's write
/// half closed once `quiet` says the stack and its origin are idle (or 30 ms after
/// the last byte); checks that no answer was left unverified, then lets the origin
/// finish what it was sent until `origin_idle` (bounded).
pub(crate) async fn exchange_with_origin<S>(
    data: Vec<u8>,
    svc: S,
    quiet: Box<dyn Fn() -> bool + Send>,
    origin_idle: impl Fn() -> bool,
) where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let settle = Settle::Quiet {
        quiet,
        max: Duration::from_millis(30),
    };
    let output = exchange_in_memory(data, svc, settle, H1Path::Fast).await;
    assert!(
        !contains(&output, UNVERIFIED),
        "the scanner and hyper disagreed: {:?}",
        String::from_utf8_lossy(&output)
    );
    for _ in 0..200 {
        if origin_idle() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// === stack ===

/// What the recording layer knows of each request the stack received, by sequence
/// number (`x-fuzz-seq`).
#[derive(Default)]
struct Ledger {
    next: AtomicU64,
    /// By sequence number: `Some(true)` a clean end, `Some(false)` a failure.
    bodies: Mutex<std::collections::HashMap<u64, Option<bool>>>,
    /// Sequence numbers of the requests the origin received complete.
    completed_at_origin: Mutex<Vec<u64>>,
    origin_in_flight: AtomicU64,
    /// Requests in the stack whose response head has not been produced yet.
    stack_in_flight: AtomicU64,
}

/// The shared origin and ledger of the stack target.
struct Origin {
    addr: SocketAddr,
    ledger: Arc<Ledger>,
}

/// A loopback origin that reads each request body to its end and records the
/// complete ones; started once per process, on the real-time runtime.
fn origin() -> &'static Origin {
    static ORIGIN: OnceLock<Origin> = OnceLock::new();
    ORIGIN.get_or_init(|| {
        let ledger = Arc::new(Ledger::default());
        let listener = runtime()
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback listener");
        let addr = listener.local_addr().expect("an address");
        let recorded = Arc::clone(&ledger);
        runtime().spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let ledger = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let ledger = Arc::clone(&ledger);
                            async move {
                                ledger.origin_in_flight.fetch_add(1, Ordering::SeqCst);
                                let seq = req
                                    .headers()
                                    .get("x-fuzz-seq")
                                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                                let complete = req.into_body().collect().await.is_ok();
                                if let (true, Some(seq)) = (complete, seq) {
                                    ledger.completed_at_origin.lock().push(seq);
                                }
                                ledger.origin_in_flight.fetch_sub(1, Ordering::SeqCst);
                                Ok::<_, Infallible>(Response::new(http_body_util::Full::new(
                                    Bytes::from_static(b"origin"),
                                )))
                            }
                        });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Origin { addr, ledger }
    })
}

/// The full stack in front of `origin`: resolve, a recording layer (sequence number
/// and body outcome), the router (a cleanup route, a route narrowed to reject escaped
/// slashes, everything else), gateway errors, the upstream client.
fn full_stack(origin: &Origin) -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
    let upstream = Upstream::builder(&format!("http://{}", origin.addr))
        .connect_timeout(Some(Duration::from_secs(1)))
        .head_timeout(Some(Duration::from_secs(1)))
        .body_idle_timeout(Some(Duration::from_secs(1)))
        .pool_max_idle_per_host(0)
        .connect_method(true)
        // Chunked answers are offered for splicing, as the binary offers them.
        .splice_bodies(true)
        .build()
        .expect("an upstream");
    let route = BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(upstream),
    );
    let rules = Rules::parse(
        Syntax::Shortcut,
        "HTTP_X_FRONTDOOR: yes\n%PATH_INFO: %(HTTP_X_PATH)s\nHTTP_COOKIE: None",
    )
    .expect("valid rules");
    let router = Router::builder()
        .route_with_filter(
            "::/clean",
            route.clone(),
            Filter::new(CleanupLayer::new(rules)),
        )
        .route_with_filter(
            "::/strict",
            route.clone(),
            Filter::new(EscapedSlashesLayer::reject()),
        )
        .route("*:*:/", route)
        .build()
        .expect("a route table");
    let ledger = Arc::clone(&origin.ledger);
    let counted = Arc::clone(&origin.ledger);
    let in_flight = tower::util::MapFutureLayer::new(move |fut| {
        let guard = InFlight::new(Arc::clone(&counted));
        async move {
            let res: Result<Response<Body>, Infallible> = fut.await;
            drop(guard);
            res
        }
    });
    let record = tower::util::MapRequestLayer::new(move |req: Request<Body>| {
        let seq = ledger.next.fetch_add(1, Ordering::SeqCst);
        let (mut parts, body) = req.into_parts();
        parts.headers.insert("x-fuzz-seq", HeaderValue::from(seq));
        ledger.bodies.lock().insert(seq, None);
        let body = Recorded {
            inner: body,
            ledger: Arc::clone(&ledger),
            seq,
        };
        Request::from_parts(parts, Body::new(body))
    });
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(in_flight)
            .layer(ResolveLayer::new(DirectResolver::new()))
            .layer(record)
            .service(router),
    )
}

/// Counts a request in the stack until dropped (answered, or abandoned).
struct InFlight(Arc<Ledger>);

impl InFlight {
    fn new(ledger: Arc<Ledger>) -> Self {
        ledger.stack_in_flight.fetch_add(1, Ordering::SeqCst);
        Self(ledger)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.stack_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request body that records how it ended in the ledger.
struct Recorded {
    inner: Body,
    ledger: Arc<Ledger>,
    seq: u64,
}

impl http_body::Body for Recorded {
    type Data = Bytes;
    type Error = frontdoor::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        let outcome = match &polled {
            std::task::Poll::Ready(None) => Some(true),
            std::task::Poll::Ready(Some(Err(_))) => Some(false),
            _ => None,
        };
        if let Some(ok) = outcome {
            if let Some(slot) = self.ledger.bodies.lock().get_mut(&self.seq) {
                *slot = Some(ok);
            }
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Raw bytes through the full stack on an in-memory connection (on the HTTP/1 fast
/// path), the upstream a loopback origin. Besides what [`serve`] checks: every request the origin received
/// complete had a client body that ended cleanly (or none).
pub fn stack(data: &[u8]) {
    let origin = origin();
    let data = data.to_vec();
    runtime().block_on(async move {
        let first_seq = origin.ledger.next.load(Ordering::SeqCst);
        let svc = full_stack(origin);
        let ledger = Arc::clone(&origin.ledger);
        let quiet = Box::new(move || {
            ledger.stack_in_flight.load(Ordering::SeqCst) == 0
                && ledger.origin_in_flight.load(Ordering::SeqCst) == 0
        });
        exchange_with_origin(data, svc, quiet, || {
            origin.ledger.origin_in_flight.load(Ordering::SeqCst) == 0
        })
        .await;
        let completed = std::mem::take(&mut *origin.ledger.completed_at_origin.lock());
        let mut bodies = origin.ledger.bodies.lock();
        for seq in completed {
            assert_ne!(
                bodies.get(&seq).copied(),
                Some(Some(false)),
                "the origin completed request {seq}, whose client body failed"
            );
        }
        // What an earlier input left in flight cannot be told apart any more.
        bodies.retain(|seq, _| *seq >= first_seq);
    });
}
