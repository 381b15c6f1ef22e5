//! Route lookup cost against table size.
//!
//! Tables of 10, 1,000 and 10,000 routes mixing exact hosts, wildcard hosts, path
//! prefixes, host+port routes and three regex specs. Each iteration looks up four
//! targets that hit (or miss) routes at the *end* of the table, the worst case for a
//! linear scan: `indexed/N` is [`Table::find`], `linear/10000` is the naive
//! first-match scan [`Table::find_linear`] on the same table. `pathonly/*` compares
//! the index with `matchit` on the path-only subset (prefix routes `/pN/x`).
//!
//! Run briefly: `cargo bench -p frontdoor-route -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, reason = "criterion generates the harness")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "bench setup")]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use frontdoor_core::Schemes;
use frontdoor_route::{Mode, RouteSpec, Table, Target};

const REGEXES: [&str; 3] = [
    r"api\.internal:[0-9]+:(?P<pathinfo>/v[0-9]+)",
    r"[^:]+:9[0-9]{3}:/metrics",
    r"(?:staging|qa)\.[^:]+:",
];

fn specs(n: usize) -> Vec<RouteSpec> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n - REGEXES.len() {
        out.push(RouteSpec::from(match i % 4 {
            0 => format!("h{i}.example.com::/app{i}"),
            1 => format!("*.w{i}.example.org"),
            2 => format!("::/p{i}/x"),
            _ => format!("h{i}.example.com:443"),
        }));
    }
    // A few regexes spread through the table.
    for (k, re) in REGEXES.iter().enumerate() {
        out.insert((n * (k + 1)) / 4, RouteSpec::regex(*re));
    }
    out
}

/// Owned request data: hits near the end of the table and one miss.
fn targets(n: usize) -> Vec<(String, u16, String)> {
    let last = |r: usize| (0..n - REGEXES.len()).rev().find(|i| i % 4 == r).unwrap();
    vec![
        (
            format!("h{}.example.com", last(0)),
            80,
            format!("/app{}/z", last(0)),
        ),
        (format!("a.w{}.example.org", last(1)), 80, "/any".to_owned()),
        (
            "cdn.example.net".to_owned(),
            80,
            format!("/p{}/x/y", last(2)),
        ),
        (
            "nohost.example.net".to_owned(),
            8080,
            "/nothing/here".to_owned(),
        ),
    ]
}

fn run(table: &Table, targets: &[(String, u16, String)], linear: bool) -> usize {
    let mut hits = 0;
    for (h, p, path) in targets {
        let t = Target::new(h, *p, path);
        let m = if linear {
            table.find_linear(black_box(&t))
        } else {
            table.find(black_box(&t))
        };
        hits += m.map_or(0, |m| m.index);
    }
    hits
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("route");
    for n in [10, 1_000, 10_000] {
        let table = Table::compile(specs(n), Mode::Strict, &Schemes::new()).unwrap();
        let targets = targets(n);
        // The index and the scan agree (a cheap guard against benchmarking a bug).
        assert_eq!(run(&table, &targets, false), run(&table, &targets, true));
        g.bench_with_input(BenchmarkId::new("indexed", n), &n, |b, _| {
            b.iter(|| run(&table, &targets, false));
        });
        if n == 10_000 {
            g.bench_with_input(BenchmarkId::new("linear", n), &n, |b, _| {
                b.iter(|| run(&table, &targets, true));
            });
        }
    }

    // Path-only subset: our index versus matchit.
    let n = 10_000;
    let paths: Vec<String> = (0..n).map(|i| format!("/p{i}/x")).collect();
    let table = Table::compile(
        paths.iter().map(|p| RouteSpec::from(format!("::{p}"))),
        Mode::Strict,
        &Schemes::new(),
    )
    .unwrap();
    let mut matchit = matchit::Router::new();
    for (i, p) in paths.iter().enumerate() {
        matchit.insert(p.as_str(), i).unwrap();
        matchit.insert(format!("{p}/{{*rest}}"), i).unwrap();
    }
    let probe = format!("/p{}/x/y", n - 7);
    assert_eq!(
        table.find(&Target::new("h", 80, &probe)).map(|m| m.index),
        matchit.at(&probe).ok().map(|m| *m.value)
    );
    g.bench_function(BenchmarkId::new("pathonly-indexed", n), |b| {
        b.iter(|| table.find(black_box(&Target::new("h", 80, &probe))));
    });
    g.bench_function(BenchmarkId::new("pathonly-matchit", n), |b| {
        b.iter(|| matchit.at(black_box(probe.as_str())).ok().map(|m| *m.value));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
