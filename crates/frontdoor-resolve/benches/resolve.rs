//! Resolver benches.
//!
//! Run: `cargo bench -p frontdoor-resolve --bench resolve -- --warm-up-time 1 --measurement-time 3`
//!
//! Measures, for each resolver on a typical request (`GET /shop/cart?id=7`,
//! `Host: www.example.com`, plus the forwarding headers a proxy would add):
//!
//! * `resolver/<name>`: `Resolver::resolve` alone on pre-built request parts;
//! * `layer/<name>`: one request through `ResolveLayer` over an in-process
//!   `service_fn` (no sockets), including path canonicalisation and the extension
//!   inserts; the request is rebuilt per iteration (`iter_batched`).

#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use std::{convert::Infallible, hint::black_box};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use frontdoor_core::{ConnInfo, Schemes};
use frontdoor_resolve::{
    ByScheme, DirectResolver, ForwardedResolver, ResolveLayer, Resolver, TrustAllForwardedHeaders,
};
use http::{Request, Response};
use tower::{service_fn, Layer, ServiceExt};

fn request(proxied: bool, rfc7239: bool) -> Request<String> {
    let mut b = Request::get("/shop/cart?id=7").header("host", "www.example.com");
    if proxied {
        if rfc7239 {
            b = b.header(
                "forwarded",
                "for=192.0.2.60;proto=https;host=www.example.com, for=10.0.0.3",
            );
        } else {
            b = b
                .header("x-forwarded-for", "192.0.2.60, 10.0.0.3")
                .header("x-forwarded-host", "www.example.com")
                .header("x-forwarded-proto", "https");
        }
    }
    let mut req = b.body(String::new()).unwrap_or_default();
    let peer = if proxied {
        "10.0.0.1:40000"
    } else {
        "203.0.113.9:40000"
    };
    req.extensions_mut().insert(ConnInfo::new(
        "10.0.0.2:8080"
            .parse()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into()),
        peer.parse().unwrap_or_else(|_| ([0, 0, 0, 0], 0).into()),
    ));
    req
}

fn forwarded() -> ForwardedResolver {
    ForwardedResolver::try_new(["10.0.0.0/8"])
        .and_then(|r| r.try_server_name("srv"))
        .unwrap_or_else(|_| ForwardedResolver::new([]))
}

fn bench_one<R>(c: &mut Criterion, name: &str, resolver: R, proxied: bool, rfc7239: bool)
where
    R: Resolver + Send + Sync + 'static,
{
    let (parts, _) = request(proxied, rfc7239).into_parts();
    c.bench_function(&format!("resolver/{name}"), |b| {
        b.iter(|| black_box(resolver.resolve(black_box(&parts)).is_ok()));
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| unreachable!("tokio runtime: {e}"));
    let svc = ResolveLayer::new(resolver).layer(service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    c.bench_function(&format!("layer/{name}"), |b| {
        b.to_async(&rt).iter_batched(
            || (svc.clone(), request(proxied, rfc7239)),
            |(svc, req)| async move { black_box(svc.oneshot(req).await.map(|r| r.status())) },
            BatchSize::SmallInput,
        );
    });
}

fn benches(c: &mut Criterion) {
    bench_one(c, "direct", DirectResolver::new(), false, false);
    bench_one(c, "forwarded_untrusted_peer", forwarded(), false, false);
    bench_one(c, "forwarded_x_forwarded", forwarded(), true, false);
    bench_one(c, "forwarded_rfc7239", forwarded(), true, true);
    bench_one(
        c,
        "by_scheme_direct",
        ByScheme::new(
            DirectResolver::new(),
            Schemes::new().with("http", [80, 8080]),
        ),
        false,
        false,
    );
    bench_one(
        c,
        "legacy_wfront_default",
        TrustAllForwardedHeaders::wfront_default().server_name("srv"),
        true,
        false,
    );
}

criterion_group!(resolve, benches);
criterion_main!(resolve);
