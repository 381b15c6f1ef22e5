//! How long a rule set takes to rewrite one request, in process (no service call).
//!
//! Run: `cargo bench -p frontdoor-cleanup --bench apply -- --warm-up-time 1 --measurement-time 3`
//!
//! Cases: `apply/empty` (no rules), `apply/headers` (set, set-default, remove on
//! headers), `apply/recipe` (the Apache mod_proxy recipe: scheme, strip_path on three
//! path targets, a template), `apply/template` (a header template with references).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "bench code"
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use frontdoor_cleanup::{Rules, Syntax};
use frontdoor_core::{Mount, OriginalUri, Resolved};
use http::Request;

fn request() -> Request<()> {
    let mut req = Request::builder()
        .uri("/x?a=1")
        .header("host", "host1.domain")
        .header("cookie", "a=b")
        .header("x-forwarded-for", "10.0.0.1")
        .body(())
        .unwrap();
    req.extensions_mut().insert(Mount::new("/-https", "/x"));
    req.extensions_mut()
        .insert(OriginalUri("/-https/x?a=1".parse().unwrap()));
    req.extensions_mut()
        .insert("host1.domain:80:/-https/x".parse::<Resolved>().unwrap());
    req
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("empty", ""),
        ("headers", "HTTP_X_APP: demo\n||=HTTP_HOST: fallback\nHTTP_COOKIE: None"),
        (
            "recipe",
            "wsgi.url_scheme: https\nHTTP_X_FORWARDED_PORT: 443\n||=HTTP_HOST: %(X_SERVER)s\n-/: /-https",
        ),
        ("template", "%HTTP_X_CHAIN: %s, %(HTTP_HOST)s via %(REQUEST_URI)s"),
    ];
    let mut group = c.benchmark_group("apply");
    for (name, text) in cases {
        let rules = Rules::parse(Syntax::Shortcut, text).unwrap();
        group.bench_function(name, |b| {
            b.iter_batched(
                request,
                |mut req| {
                    rules.apply(&mut req);
                    black_box(req)
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
