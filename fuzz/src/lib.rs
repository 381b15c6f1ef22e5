//! The properties frontdoor's fuzz targets check, as plain functions over bytes.
//!
//! Each `fuzz_targets/<name>.rs` binary calls the function of the same name under
//! libFuzzer (nightly, `cargo fuzz run <name>`); the workspace's stable test suite
//! includes this file (`tests/it/fuzz.rs`) and runs every function over the seed
//! corpus, so the targets are type-checked and exercised where nightly is missing.
//! A property that does not hold panics, which libFuzzer reports as a crash.
//!
//! | target | what it feeds | what must hold |
//! |---|---|---|
//! | [`path_route`] | a path, a host and route specs | canonicalisation is idempotent, never leaves a dot segment, an empty segment or (per policy) an escaped slash; the route index agrees with the linear scan |
//! | [`rfc7239`] | a `Forwarded` value | what parses writes back and parses to the same elements |
//! | [`host`] | a `Host` value | a parsed host is normalised and re-parses to itself; the direct resolution never panics |
//! | [`cleanup_rules`] | cleanup rules in both text syntaxes | parsing and applying them never panics; a rule set that parses has a stable `Debug` |
//! | [`config`] | a config file | loading and building it never panics |
//! | [`hpack`] | an HPACK header block, split at a byte the first byte picks | decoding never panics, keeps the dynamic table within its size, and decodes the same fields whole or in two parts |
//! | [`serve`] | raw bytes on an in-memory connection to `serve`, on the fast path and on hyper's | never a panic or hang; the wire scanner and hyper never disagree about a request |
//! | [`stack`] | raw bytes to the full stack (resolve, route, cleanup, upstream to a loopback origin), on the fast path | as `serve`, and the origin never completes a request whose client body failed |
//! | [`h1_head`] | a request stream, arriving in pieces, to the fast path's head parser | never a panic; the same answer whole or in pieces; in step with the wire scanner (requests, refusals, where each body ends) |
//! | [`fast_path`] | raw bytes through the fast path and the proxy stack to a raw loopback origin | never a panic or hang; the origin never receives a request the client did not send in full |

#[path = "fast.rs"]
mod fast_targets;
#[path = "h1.rs"]
mod h1_targets;
#[path = "http.rs"]
mod http_targets;

use frontdoor::{
    cleanup::{Rules, Syntax},
    core::{
        canonicalize_with,
        proto::{direct_resolution, hpack::Decoder, parse_host, rfc7239},
        CanonicalOptions, EncodedSlash, Schemes,
    },
    route::{Mode, RouteSpec, Table, Target},
};
use http::{uri::Scheme, HeaderValue, Request};

pub use self::{
    fast_targets::fast_path,
    h1_targets::h1_head,
    http_targets::{serve, stack},
};

// === path_route ===

/// Path canonicalisation and route matching. The first byte picks the escaped-slash
/// policy (and bit 2 turns off slash merging); the rest is lines: a path, a host, then
/// up to 8 route specs (`~` starts a regex, at most 24 bytes long).
pub fn path_route(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let policy = [
        EncodedSlash::Keep,
        EncodedSlash::Reject,
        EncodedSlash::Decode,
    ][usize::from(first % 3)];
    let merge = first & 4 == 0;
    let opts = CanonicalOptions::new()
        .encoded_slash(policy)
        .merge_slashes(merge);
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let path = lines.next().unwrap_or_default();
    let host = lines.next().unwrap_or_default();
    // Short regexes only: compiling big ones costs milliseconds per input and
    // exercises the regex crate, not the route table.
    let specs: Vec<RouteSpec> = lines
        .take(8)
        .filter_map(|l| match l.strip_prefix('~') {
            Some(re) if re.len() <= 24 => Some(RouteSpec::regex(re)),
            Some(_) => None,
            None => Some(RouteSpec::from(l)),
        })
        .collect();

    let Ok(canonical) = canonicalize_with(path, opts) else {
        return;
    };
    let canonical = canonical.into_owned();
    check_canonical(&canonical, opts, policy, merge);

    let Ok(Some(host)) = parse_host(host) else {
        return;
    };
    let port = host.port.unwrap_or(80);
    for mode in [Mode::Strict, Mode::Wfront04] {
        let Ok(table) = Table::compile(specs.clone(), mode, &Schemes::new()) else {
            continue;
        };
        let target = Target::new(&host.host, port, &canonical);
        assert_eq!(
            table.find(&target),
            table.find_linear(&target),
            "index and linear scan disagree on {target:?} in {mode:?}"
        );
    }
}

/// What a canonical path must look like.
fn check_canonical(canonical: &str, opts: CanonicalOptions, policy: EncodedSlash, merge: bool) {
    assert!(canonical.starts_with('/'), "{canonical:?}");
    let again = canonicalize_with(canonical, opts).expect("a canonical path canonicalises");
    assert_eq!(again, canonical, "not idempotent");
    for seg in canonical.split('/').skip(1) {
        assert!(seg != "." && seg != "..", "dot segment in {canonical:?}");
    }
    if merge {
        assert!(!canonical.contains("//"), "empty segment in {canonical:?}");
    }
    let upper = canonical.to_ascii_uppercase();
    let escaped = upper.contains("%2F") || upper.contains("%5C");
    match policy {
        EncodedSlash::Reject => {
            assert!(!escaped && !canonical.contains('\\'), "{canonical:?}");
            assert!(
                !canonical.split('/').any(|s| s.starts_with("..;")),
                "{canonical:?}"
            );
        }
        EncodedSlash::Decode => assert!(!escaped, "{canonical:?}"),
        _ => {}
    }
}

// === rfc7239 ===

/// RFC 7239 `Forwarded`: parse, write, parse again.
pub fn rfc7239(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed: Vec<_> = rfc7239::elements(&text)
        .take_while(Result::is_ok)
        .flatten()
        .collect();
    for el in &parsed {
        let written = el.to_string();
        let again: Vec<_> = rfc7239::elements(&written)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{written:?} does not parse: {e}"));
        assert_eq!(again.as_slice(), std::slice::from_ref(el), "{written:?}");
    }
    let joined = parsed
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let again: Vec<_> = rfc7239::elements(&joined)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{joined:?} does not parse: {e}"));
    assert_eq!(again, parsed, "{joined:?}");
}

// === hpack ===

/// The HPACK decoder the HTTP/2 scanner runs beside hyper: the first byte picks where
/// the block is split (a block arrives over several frames and reads); decoding it in
/// two parts gives what decoding it whole gives, or fails where that fails.
pub fn hpack(data: &[u8]) {
    let Some((&split, block)) = data.split_first() else {
        return;
    };
    let decode_all = |parts: &[&[u8]]| {
        let mut decoder = Decoder::new(4096);
        let mut fields = Vec::new();
        let mut pending = Vec::new();
        for part in parts {
            pending.extend_from_slice(part);
            let used = decoder
                .decode(&pending, |n, v| fields.push((n.to_vec(), v.to_vec())))
                .ok()?;
            pending.drain(..used);
        }
        Some((fields, pending.is_empty()))
    };
    let whole = decode_all(&[block]);
    let at = usize::from(split).min(block.len());
    let parts = decode_all(&[&block[..at], &block[at..]]);
    // A split inside a size update's place (before the first field) may be refused
    // in one and not the other; where both decode, they agree.
    if let (Some(whole), Some(parts)) = (&whole, &parts) {
        assert_eq!(whole, parts, "split at {at}");
    }
}

// === host ===

/// Host and authority parsing, and the direct resolution built on it.
pub fn host(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(Some(hp)) = parse_host(&text) {
        let host = hp.host.as_ref();
        assert!(!host.is_empty(), "{text:?}");
        assert!(!host.ends_with('.'), "{text:?}");
        assert_eq!(host, host.to_ascii_lowercase(), "{text:?}");
        let rewritten = match hp.port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let again = parse_host(&rewritten)
            .unwrap_or_else(|e| panic!("{rewritten:?}: {e}"))
            .expect("a host");
        assert_eq!(again, hp, "{text:?}");
    }
    // As a Host header, alone and against an absolute-form authority.
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    for uri in ["/p", "http://example.com/p", "http://[::1]:8080/p"] {
        let mut req = Request::get(uri).body(()).expect("a request");
        req.headers_mut().insert(http::header::HOST, value.clone());
        for scheme in [Scheme::HTTP, Scheme::HTTPS] {
            let _ = direct_resolution(&req, scheme);
        }
    }
}

// === cleanup_rules ===

/// Cleanup rules in both text syntaxes (the first byte picks), applied to a request.
pub fn cleanup_rules(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let syntax = if which % 2 == 0 {
        Syntax::Shortcut
    } else {
        Syntax::Verbose
    };
    let text = String::from_utf8_lossy(rest);
    let Ok(rules) = Rules::parse(syntax, &text) else {
        return;
    };
    let again = Rules::parse(syntax, &text).expect("parses twice");
    assert_eq!(format!("{rules:?}"), format!("{again:?}"));
    let mut req = Request::get("/app/page?x=1")
        .header("host", "example.com")
        .header("cookie", "a=1")
        .header("x-path", "/a/../b")
        .body(())
        .expect("a request");
    rules.apply(&mut req);
    rules.apply(&mut req);
}

// === config ===

/// The CLI's config loader, then the stack it describes.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match text.parse::<frontdoor_cli::Config>() {
        Ok(config) => {
            let _guard = http_targets::runtime().enter();
            let metrics = frontdoor_cli::ops::Metrics::new();
            let builtins = frontdoor_cli::stack::Builtins::new();
            match frontdoor_cli::stack::plan(&config, &builtins, &metrics, None) {
                Ok(plan) => {
                    let _ = frontdoor_cli::stack::Built::new(&plan, &metrics).table();
                }
                Err(errors) => {
                    let _ = errors.to_string();
                }
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
}
