//! The fuzz targets' properties on stable: `fuzz/src/lib.rs` is compiled here as a
//! module and every target runs over its committed seeds (`fuzz/seeds/<target>/`;
//! `serve`, `stack` and `fast_path` share `fuzz/seeds/http/`, the smuggling corpus
//! plus a few clean exchanges; `h1_head`'s are the same streams behind its three
//! parameter bytes). Nightly runs the same functions under libFuzzer
//! (`fuzz/README.md`).

#[path = "../../fuzz/src/lib.rs"]
#[allow(
    dead_code,
    unreachable_pub,
    reason = "the fuzz crate's module, compiled here as a test"
)]
mod targets;

use std::path::{Path, PathBuf};

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

/// Every seed of `dir`, in name order.
fn seeds(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = std::fs::read_dir(seeds_dir(dir))
        .unwrap_or_else(|e| panic!("fuzz/seeds/{dir}: {e}"))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    all.sort();
    assert!(!all.is_empty(), "no seeds in fuzz/seeds/{dir}");
    all
}

/// The `http` seeds: the smuggling corpus (what fits a seed), clean exchanges, an
/// upgrade and HTTP/2 ones.
fn http_seeds() -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = frontdoor_deproxy::smuggling::corpus()
        .into_iter()
        .filter(|case| case.bytes.len() <= 64 * 1024)
        .map(|case| (format!("smuggling-{}", case.name), case.bytes.to_vec()))
        .collect();
    for (name, bytes) in [
        (
            "clean-pipelined",
            &b"GET /a HTTP/1.1\r\nHost: app.test\r\n\r\nPOST /clean/b HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nX-Path: /c/../d\r\n\r\nhelloPUT /strict/c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"[..],
        ),
        (
            // fast_path's first run: a HEAD (or GET) with a chunked body, forwarded
            // without it while the body turns out invalid.
            "head-chunked-body-invalid",
            b"HEAD / HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: example\r\n\r\n",
        ),
        (
            // fast_path's second run: the router merges the slashes of `//a`.
            "slashes-merged",
            b"GET //a HTTP/1.1\r\nHost: app.test\r\n\r\n",
        ),
        (
            "clean-http10",
            b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\nHost: app.test\r\n\r\nGET /y HTTP/1.0\r\n\r\n",
        ),
        (
            "upgrade",
            b"GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nafter",
        ),
        (
            "clean-expect-continue",
            b"PUT /f HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        ),
        (
            // WebDAV `Destination` paths for the escaped-slash policy: the `::/strict`
            // route refuses the first four, the default route forwards the last.
            "destination-escaped-slashes",
            b"MOVE /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: http://app.test/strict/..%2f..%2fsecret\r\n\r\nCOPY /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: /strict/..%5Csecret\r\n\r\nMOVE /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: /strict/..;/secret\r\n\r\nMOVE /strict/src HTTP/1.1\r\nHost: app.test\r\nDestination: /strict/a\\b\r\n\r\nMOVE /a HTTP/1.1\r\nHost: app.test\r\nDestination: //app.test/a/..%2Fb?x=%5c#..;\r\n\r\n",
        ),
        (
            "h2-preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        ),
    ] {
        all.push((name.to_owned(), bytes.to_vec()));
    }
    all.push(("h2-fragment".to_owned(), h2_fragment()));
    all.sort();
    all
}

/// HTTP/2 with prior knowledge: `DELETE /dav/coll/#frag` (refused), a clean request
/// whose block is split over HEADERS and CONTINUATION and adds its `:path` and
/// `:authority` to the dynamic table, a request sending only their indices, and a
/// fragment again.
fn h2_fragment() -> Vec<u8> {
    fn frame(kind: u8, flags: u8, stream: u8, payload: &[u8]) -> Vec<u8> {
        let len = u8::try_from(payload.len()).unwrap();
        let mut out = vec![0, 0, len, kind, flags, 0, 0, 0, stream];
        out.extend_from_slice(payload);
        out
    }
    fn field(first: u8, name: &str, value: &str) -> Vec<u8> {
        let mut out = vec![first, u8::try_from(name.len()).unwrap()];
        out.extend_from_slice(name.as_bytes());
        out.push(u8::try_from(value.len()).unwrap());
        out.extend_from_slice(value.as_bytes());
        out
    }
    let (headers, continuation, end_stream, end_headers) = (1, 9, 1, 4);
    let mut refused = field(0, ":method", "DELETE");
    refused.extend([0x86]);
    refused.extend(field(0, ":path", "/dav/coll/#frag"));
    refused.extend(field(0, ":authority", "app.test"));
    let mut clean = vec![0x82, 0x86];
    clean.extend(field(0x40, ":path", "/dav/coll/"));
    clean.extend(field(0x40, ":authority", "app.test"));
    let indexed = [0x82, 0x86, 0xbf, 0xbe];
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(4, 0, 0, &[]));
    out.extend(frame(headers, end_headers | end_stream, 1, &refused));
    out.extend(frame(headers, end_stream, 3, &clean[..9]));
    out.extend(frame(continuation, end_headers, 3, &clean[9..]));
    out.extend(frame(headers, end_headers | end_stream, 5, &indexed));
    let mut again = vec![0x82, 0x86];
    again.extend(field(0, ":path", "/x#y"));
    again.push(0xbe);
    out.extend(frame(headers, end_headers | end_stream, 7, &again));
    out
}

#[test]
fn the_http_seeds_are_the_smuggling_corpus() {
    // FRONTDOOR_WRITE_SEEDS=1 rewrites them after the corpus changed.
    let dir = seeds_dir("http");
    let want = http_seeds();
    if std::env::var_os("FRONTDOOR_WRITE_SEEDS").is_some() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, bytes) in &want {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    assert_eq!(
        seeds("http"),
        want,
        "fuzz/seeds/http is stale: run with FRONTDOOR_WRITE_SEEDS=1"
    );
}

/// The `h1_head` seeds: each `http` seed behind the target's parameter bytes (the
/// HTTP/2 preface detected; pieces of 7 and 64 bytes).
fn h1_head_seeds() -> Vec<(String, Vec<u8>)> {
    http_seeds()
        .into_iter()
        .map(|(name, bytes)| {
            let mut seed = vec![1, 7, 64];
            seed.extend_from_slice(&bytes);
            (name, seed)
        })
        .collect()
}

/// Rewrites `fuzz/seeds/<dir>` with `want` under `FRONTDOOR_WRITE_SEEDS=1` (after
/// the corpus changed), then checks the files are `want`.
fn check_generated_seeds(dir: &str, want: &[(String, Vec<u8>)]) {
    let path = seeds_dir(dir);
    if std::env::var_os("FRONTDOOR_WRITE_SEEDS").is_some() {
        std::fs::create_dir_all(&path).unwrap();
        for entry in std::fs::read_dir(&path).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, bytes) in want {
            std::fs::write(path.join(name), bytes).unwrap();
        }
    }
    assert_eq!(
        seeds(dir),
        want,
        "fuzz/seeds/{dir} is stale: run with FRONTDOOR_WRITE_SEEDS=1"
    );
}

#[test]
fn the_h1_head_seeds_are_the_http_seeds() {
    check_generated_seeds("h1_head", &h1_head_seeds());
}

#[test]
fn h1_head_holds_on_its_seeds() {
    for (name, bytes) in seeds("h1_head") {
        eprintln!("h1_head {name}");
        targets::h1_head(&bytes);
    }
}

#[test]
fn fast_path_holds_on_the_http_seeds() {
    for (name, bytes) in http_seeds() {
        eprintln!("fast_path {name}");
        targets::fast_path(&bytes);
    }
}

#[test]
fn pure_targets_hold_on_their_seeds() {
    for (name, bytes) in seeds("path_route") {
        eprintln!("path_route {name}");
        targets::path_route(&bytes);
    }
    for (_, bytes) in seeds("rfc7239") {
        targets::rfc7239(&bytes);
    }
    for (_, bytes) in seeds("hpack") {
        targets::hpack(&bytes);
    }
    for (_, bytes) in seeds("host") {
        targets::host(&bytes);
    }
    for (_, bytes) in seeds("cleanup_rules") {
        targets::cleanup_rules(&bytes);
    }
    for (_, bytes) in seeds("config") {
        targets::config(&bytes);
    }
}

#[test]
fn serve_and_stack_hold_on_the_http_seeds() {
    // The targets own their runtimes, so this test is a plain (non-async) test.
    for (name, bytes) in http_seeds() {
        eprintln!("serve {name}");
        targets::serve(&bytes);
        eprintln!("stack {name}");
        targets::stack(&bytes);
    }
}
