//! Mirror layer benches: what the layer costs the primary's request path.
//!
//! Run: `cargo bench -p frontdoor-mirror --bench mirror -- --warm-up-time 1 --measurement-time 3`
//!
//! Every case sends `GET /api/items?page=2` (`Host`, `Authorization`, `Cookie`) through
//! an in-process `service_fn` primary (no sockets) and drains the response body:
//!
//! * `path/no_mirror`: the primary alone, the baseline;
//! * `path/skipped_method`: the layer, request not eligible (POST-only mirror);
//! * `path/skipped_sample`: the layer, sampled out (`sample = 0.0`);
//! * `path/mirrored`: the layer mirroring every request to an in-process shadow,
//!   waiting for its exchange to be reported, so the copy, id, spawn, shadow call,
//!   capture and comparison are all in the measured time (on a server they run on
//!   another task, off the primary's latency).

#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "bench code")]

use std::{convert::Infallible, hint::black_box};

use criterion::{criterion_group, criterion_main, Criterion};
use frontdoor_core::Body;
use frontdoor_mirror::MirrorLayer;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use tower::{service_fn, Layer, Service, ServiceExt};

fn request() -> Request<Body> {
    Request::get("/api/items?page=2")
        .header("host", "www.example.com")
        .header("authorization", "Bearer abc")
        .header("cookie", "sid=1")
        .body(Body::empty())
        .unwrap()
}

fn shadow() -> MirrorLayer {
    MirrorLayer::new(service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::from("shadow")))
    }))
    .max_in_flight(100_000)
}

async fn drive<S, B>(svc: S)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let res = svc.oneshot(request()).await.unwrap();
    black_box(res.into_body().collect().await.unwrap());
}

fn path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("path");
    let primary = service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::from("primary")))
    });
    let teed = service_fn(|_req: Request<frontdoor_mirror::TeeBody<Body>>| async {
        Ok::<_, Infallible>(Response::new(Body::from("primary")))
    });
    g.bench_function("no_mirror", |b| b.to_async(&rt).iter(|| drive(primary)));
    let post_only = shadow().methods([Method::POST]).layer(teed);
    g.bench_function("skipped_method", |b| {
        b.to_async(&rt).iter(|| drive(post_only.clone()));
    });
    let sampled_out = shadow().sample(0.0).unwrap().layer(teed);
    g.bench_function("skipped_sample", |b| {
        b.to_async(&rt).iter(|| drive(sampled_out.clone()));
    });
    let layer = shadow();
    let stats = layer.stats_handle();
    let mirrored = layer.layer(teed);
    g.bench_function("mirrored", |b| {
        b.to_async(&rt).iter(|| async {
            let before = stats.snapshot().exchanges();
            drive(mirrored.clone()).await;
            // Let the shadow's task finish inside the measured time.
            while stats.snapshot().exchanges() == before {
                tokio::task::yield_now().await;
            }
        });
    });
    g.finish();
}

criterion_group!(benches, path);
criterion_main!(benches);
