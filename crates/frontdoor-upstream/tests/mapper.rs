//! The mapper over loopback: targets chosen per request, the fallback, the allow-list
//! (on addresses and on what names resolve to), and the client cap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use frontdoor_core::{Body, Mount};
use frontdoor_upstream::{
    AllowedTargets, Direct, GatewayError, GatewayErrorLayer, Mapper, MapperResponseFuture, Mapping,
    ProxyErrorKind,
};
use http::{request::Parts, Request, Response, StatusCode, Uri};
use http_body_util::StreamBody;
use support::{collect, hyper_upstream, listener};
use tokio::sync::mpsc;
use tower::{service_fn, ServiceBuilder, ServiceExt};

/// An origin answering `NAME <path-and-query>`, counting its connections.
async fn origin(name: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let (l, addr) = listener().await;
    let conns = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&conns);
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let pq = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
                    let body = format!("{name} {pq}");
                    async move { Ok::<_, Infallible>(Response::new(Body::from(body))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    (addr, conns)
}

fn uri(text: &str) -> Uri {
    text.parse().unwrap()
}

fn loopback() -> AllowedTargets {
    AllowedTargets::parse(["127.0.0.1"]).unwrap()
}

async fn get<S>(svc: &S, path: &str) -> (StatusCode, String)
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let res = svc
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = collect(res.into_body()).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    type Map = fn(&Parts) -> Option<Mapping>;
    send_sync_clone::<Mapper<Map>>();
    send_sync_clone::<AllowedTargets>();
    send_sync_clone::<Mapping>();
    send_sync_clone::<Direct>();
    send::<MapperResponseFuture<frontdoor_upstream::Upstream>>();
}

#[tokio::test]
async fn two_origins_chosen_by_the_path() {
    let (a, _) = origin("A").await;
    let (b, _) = origin("B").await;
    let (ta, tb) = (
        uri(&format!("http://{a}/base-a/")),
        uri(&format!("http://{b}")),
    );
    let mapper = Mapper::builder(move |head: &Parts| {
        Mapping::under(head, "/a", ta.clone()).or_else(|| {
            // No prefix taken off: B sees the whole path.
            head.uri
                .path()
                .starts_with("/b/")
                .then(|| Mapping::to(tb.clone()))
        })
    })
    .allow(loopback())
    .build()
    .unwrap();
    let svc = ServiceBuilder::new()
        .layer(GatewayErrorLayer::new())
        .service(mapper.clone());

    assert_eq!(
        get(&svc, "/a/x?q=1").await,
        (StatusCode::OK, "A /base-a/x?q=1".into())
    );
    assert_eq!(get(&svc, "/a").await, (StatusCode::OK, "A /base-a/".into()));
    assert_eq!(get(&svc, "/b/y").await, (StatusCode::OK, "B /b/y".into()));
    // Segment boundaries: /ab is not under /a, and nothing else maps it.
    assert_eq!(
        get(&svc, "/ab").await,
        (StatusCode::NOT_FOUND, "Not Found\n".into())
    );
    assert_eq!(mapper.clients(), 2);
    assert_eq!(mapper.evicted(), 0);
}

#[tokio::test]
async fn the_prefix_moves_to_the_mount() {
    let seen = Arc::new(parking_lot::Mutex::new(None));
    let (a, _) = origin("A").await;
    let ta = uri(&format!("http://{a}/base"));
    let mapper = Mapper::builder(move |head: &Parts| Mapping::under(head, "/app", ta.clone()))
        .allow(loopback())
        .wrap_targets(Recorder(Arc::clone(&seen)))
        .build()
        .unwrap();
    // Behind a router that consumed `/v1`.
    let mut req = Request::get("/app/x?y").body(Body::empty()).unwrap();
    req.extensions_mut().insert(Mount::new("/v1", "/app/x"));
    let res = mapper.oneshot(req).await.unwrap();
    assert_eq!(collect(res.into_body()).await.unwrap(), "A /base/x?y");
    assert_eq!(*seen.lock(), Some(Mount::new("/v1/app", "/x")));
}

/// Records the mount of the request it forwards.
#[derive(Clone)]
struct Recorder(Arc<parking_lot::Mutex<Option<Mount>>>);

impl frontdoor_upstream::WrapTarget for Recorder {
    type Service = tower::util::MapRequest<
        frontdoor_upstream::Upstream,
        Box<dyn Fn(Request<Body>) -> Request<Body> + Send + Sync>,
    >;

    fn wrap(
        &self,
        _mapping: &Mapping,
        upstream: frontdoor_upstream::Upstream,
    ) -> Result<Self::Service, frontdoor_upstream::ProxyError> {
        let seen = Arc::clone(&self.0);
        Ok(upstream.map_request(Box::new(move |req: Request<Body>| {
            *seen.lock() = req.extensions().get::<Mount>().cloned();
            req
        })))
    }
}

#[tokio::test]
async fn none_is_the_fallback() {
    let mapper = Mapper::builder(|_: &Parts| None)
        .allow(loopback())
        .build()
        .unwrap();
    let svc = GatewayError::new(mapper.clone());
    assert_eq!(
        get(&svc, "/x").await,
        (StatusCode::NOT_FOUND, "Not Found\n".into())
    );

    let teapot = service_fn(|req: Request<Body>| async move {
        let mut res = Response::new(Body::from(format!("no map for {}", req.uri())));
        *res.status_mut() = StatusCode::IM_A_TEAPOT;
        Ok::<_, Infallible>(res)
    });
    let mapper = Mapper::builder(|_: &Parts| None)
        .allow(loopback())
        .fallback(teapot)
        .build()
        .unwrap();
    let svc = GatewayError::new(mapper.clone());
    assert_eq!(
        get(&svc, "/y?z").await,
        (StatusCode::IM_A_TEAPOT, "no map for /y?z".into())
    );
    assert_eq!(mapper.clients(), 0);
}

#[tokio::test]
async fn targets_outside_the_allow_list_are_refused_unsent() {
    let (a, conns) = origin("A").await;
    let target = uri(&format!("http://{a}/"));
    let name = uri(&format!("http://localhost:{}/", a.port()));
    let map = move |head: &Parts| match head.uri.path() {
        "/ip" => Some(Mapping::to(target.clone())),
        "/name" => Some(Mapping::to(name.clone())),
        "/ftp" => Some(Mapping::to(uri("ftp://127.0.0.1/"))),
        _ => None,
    };
    let refused = |allow: AllowedTargets| {
        let map = map.clone();
        async move {
            let mapper = Mapper::builder(map).allow(allow).build().unwrap();
            let mut kinds = Vec::new();
            for path in ["/ip", "/name", "/ftp"] {
                let req = Request::get(path).body(Body::empty()).unwrap();
                kinds.push(match mapper.clone().oneshot(req).await {
                    Ok(res) => Err(res.status()),
                    Err(e) => Ok(e.kind()),
                });
            }
            (kinds, mapper.clients())
        }
    };
    let refusal = Ok(ProxyErrorKind::TargetRefused);
    // The empty list refuses everything, before any client is built.
    assert_eq!(refused(AllowedTargets::none()).await, (vec![refusal; 3], 0));
    // Another network: the address is refused at once; the name resolves to
    // loopback, outside 10/8, and is refused by the connector (DNS rebinding cannot
    // slip a loopback address past a check made on the name).
    let ten = AllowedTargets::parse(["10.0.0.0/8"]).unwrap();
    assert_eq!(refused(ten).await, (vec![refusal; 3], 1));
    assert_eq!(
        conns.load(Ordering::SeqCst),
        0,
        "nothing reached the origin"
    );

    // The name's loopback address is allowed by network, or the name by name.
    for allow in [["127.0.0.0/8"], ["localhost"]] {
        let mapper = Mapper::builder(map.clone())
            .allow(AllowedTargets::parse(allow).unwrap())
            .build()
            .unwrap();
        let svc = GatewayError::new(mapper);
        assert_eq!(
            get(&svc, "/name").await,
            (StatusCode::OK, "A /name".into()),
            "{allow:?}"
        );
    }
    // Refusals are 502 at the edge.
    let mapper = Mapper::builder(map).build().unwrap();
    let svc = GatewayError::new(mapper);
    assert_eq!(get(&svc, "/ip").await.0, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn least_recently_used_clients_are_evicted_at_the_cap() {
    let (a, _) = origin("A").await;
    let (b, _) = origin("B").await;
    // A's answer streams until the test says so.
    let (tx, rx) = mpsc::unbounded_channel::<Result<http_body::Frame<Bytes>, Infallible>>();
    let rx = Arc::new(parking_lot::Mutex::new(Some(rx)));
    let slow = hyper_upstream(move |_req| {
        let body = match rx.lock().take() {
            Some(rx) => Body::new(StreamBody::new(stream_from(rx))),
            None => Body::from("slow again"),
        };
        async move { Response::new(body) }
    })
    .await;
    let targets = [a, b, slow].map(|addr| uri(&format!("http://{addr}")));
    let mapper = Mapper::builder(move |head: &Parts| {
        let i = match head.uri.path() {
            "/a" => 0,
            "/b" => 1,
            "/slow" => 2,
            _ => return None,
        };
        Some(Mapping::to(targets[i].clone()))
    })
    .allow(loopback())
    .max_clients(2)
    .build()
    .unwrap();
    let svc = GatewayError::new(mapper.clone());

    // The slow answer's head arrives; its body is still streaming.
    let res = svc
        .clone()
        .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(get(&svc, "/a").await.1, "A /a");
    assert_eq!((mapper.clients(), mapper.evicted()), (2, 0));
    // B evicts the least recently used client: the slow one, still in flight.
    assert_eq!(get(&svc, "/b").await.1, "B /b");
    assert_eq!((mapper.clients(), mapper.evicted()), (2, 1));
    // A was used more recently than the slow one, so it was kept.
    assert_eq!(get(&svc, "/a").await.1, "A /a");
    assert_eq!((mapper.clients(), mapper.evicted()), (2, 1));
    // The evicted client's request in flight finishes on it.
    tx.send(Ok(http_body::Frame::data(Bytes::from_static(
        b"still here",
    ))))
    .unwrap();
    drop(tx);
    assert_eq!(collect(res.into_body()).await.unwrap(), "still here");
    // The slow target again: a new client, evicting B (A was used later).
    assert_eq!(get(&svc, "/slow").await.1, "slow again");
    assert_eq!((mapper.clients(), mapper.evicted()), (2, 2));
    assert_eq!(get(&svc, "/a").await.1, "A /a");
    assert_eq!((mapper.clients(), mapper.evicted()), (2, 2));
}

/// A stream of frames from a channel.
fn stream_from<T: Send + 'static>(
    mut rx: mpsc::UnboundedReceiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test(start_paused = true)]
async fn idle_clients_are_dropped_when_a_client_is_added() {
    // Nothing listens on these ports: each request builds its client, then fails.
    let mapper = Mapper::builder(|head: &Parts| {
        let port = head.uri.path().trim_start_matches('/');
        Some(Mapping::to(uri(&format!("http://127.0.0.1:{port}"))))
    })
    .allow(loopback())
    .client_idle_timeout(Some(Duration::from_secs(10)))
    .build()
    .unwrap();
    let call = |port: u16| {
        let mapper = mapper.clone();
        async move {
            let req = Request::get(format!("/{port}"))
                .body(Body::empty())
                .unwrap();
            mapper.oneshot(req).await.unwrap_err().kind()
        }
    };
    assert!(matches!(
        call(9).await,
        ProxyErrorKind::Connect | ProxyErrorKind::ConnectTimeout
    ));
    call(7).await;
    assert_eq!((mapper.clients(), mapper.evicted()), (2, 0));
    tokio::time::advance(Duration::from_secs(11)).await;
    call(7).await; // a hit: kept, and no longer idle
    call(13).await; // a new client: 9 has been idle for 11 s and goes
    assert_eq!((mapper.clients(), mapper.evicted()), (2, 1));
}

#[tokio::test]
async fn a_prefix_the_path_lacks_is_refused() {
    let (a, conns) = origin("A").await;
    let target = uri(&format!("http://{a}"));
    let mapper =
        Mapper::builder(move |_: &Parts| Some(Mapping::to(target.clone()).strip_prefix("/app")))
            .allow(loopback())
            .build()
            .unwrap();
    for path in ["/other", "/application"] {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let err = mapper.clone().oneshot(req).await.unwrap_err();
        assert_eq!(err.kind(), ProxyErrorKind::TargetRefused, "{path}");
    }
    assert_eq!(conns.load(Ordering::SeqCst), 0);
}

#[test]
fn bad_settings_fail_the_build() {
    let err = Mapper::builder(|_: &Parts| None)
        .max_clients(0)
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "max_clients");
    let err = Mapper::builder(|_: &Parts| None)
        .upstream(|b| b.upgrades(["h2c"]))
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "upgrades");
}
