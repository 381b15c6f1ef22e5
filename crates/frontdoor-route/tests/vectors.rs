//! The routing vectors of the seed spec (tables M and T of 1.5.4 and 1.9, the
//! compilation table V of 1.4.2), in strict and compat mode, with every vector that
//! flips (spec 4.8) asserted both ways, and the security vectors S2, S3 and S13.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
#![allow(missing_docs, reason = "tests")]

use std::convert::Infallible;

use frontdoor_core::{text_response, Body, ConnInfo, MatchedRoute, Mount, Resolved, Vars};
use frontdoor_route::{
    Filter, Mode, NotFound, RouteErrorKind, RouteSpec, Router, RouterBuilder,
    WFRONT04_NOT_FOUND_BODY,
};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{service_fn, util::MapRequestLayer, ServiceExt};

const STRICT: Mode = Mode::Strict;
const COMPAT: Mode = Mode::Wfront04;

/// An app answering `NAME|SCRIPT_NAME|PATH_INFO` (and `|X=..` when a filter set it).
fn app(
    name: &'static str,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
       + Send
       + Sync
       + 'static {
    service_fn(move |req: Request<Body>| async move {
        let m = Mount::of(&req);
        let mut out = format!("{name}|{}|{}", m.script_name(), m.path_info());
        if let Some(x) = req.extensions().get::<Vars>().and_then(|v| v.get("X")) {
            out.push_str(&format!("|X={x}"));
        }
        let mut res = text_response(StatusCode::OK, out);
        res.headers_mut()
            .insert("x-uri", req.uri().to_string().parse().unwrap());
        if let Some(mr) = req.extensions().get::<MatchedRoute>() {
            res.headers_mut()
                .insert("x-route", mr.index.to_string().parse().unwrap());
        }
        Ok::<_, Infallible>(res)
    })
}

#[derive(Clone, Default)]
struct Req {
    host: Option<&'static str>,
    path: &'static str,
    sn: Option<&'static str>,
    tls: bool,
    resolved: Option<Resolved>,
}

fn req(host: &'static str, path: &'static str) -> Req {
    Req {
        host: Some(host),
        path,
        ..Req::default()
    }
}

impl Req {
    fn sn(mut self, sn: &'static str) -> Self {
        self.sn = Some(sn);
        self
    }
    fn tls(mut self) -> Self {
        self.tls = true;
        self
    }
    fn no_host(mut self) -> Self {
        self.host = None;
        self
    }
    fn resolved(mut self, r: Resolved) -> Self {
        self.resolved = Some(r);
        self
    }
    fn build(&self) -> Request<Body> {
        let uri = if self.path.is_empty() { "/" } else { self.path };
        let mut b = Request::builder().uri(uri);
        if let Some(h) = self.host {
            b = b.header("host", h);
        }
        let mut r = b.body(Body::empty()).unwrap();
        if let Some(sn) = self.sn {
            r.extensions_mut().insert(Mount::new(sn, self.path));
        } else if self.path.is_empty() {
            r.extensions_mut().insert(Mount::new("", ""));
        }
        let info = ConnInfo::new(
            "127.0.0.1:80".parse().unwrap(),
            "127.0.0.1:5000".parse().unwrap(),
        )
        .with_tls(self.tls);
        r.extensions_mut().insert(info);
        if let Some(res) = &self.resolved {
            r.extensions_mut().insert(res.clone());
        }
        r
    }
}

fn spec(s: &str) -> RouteSpec {
    match s.strip_prefix("re:") {
        Some(p) => RouteSpec::regex(p),
        None => RouteSpec::from(s),
    }
}

fn builder(mode: Mode, routes: &[(&str, &'static str)]) -> RouterBuilder {
    routes
        .iter()
        .fold(Router::builder().mode(mode), |b, (s, name)| {
            b.route(spec(s), app(name))
        })
}

/// `NAME|SN|PI` for a 200, `404` for a not found, `STATUS` otherwise.
async fn call(router: &Router, r: &Req) -> String {
    let res = router.clone().oneshot(r.build()).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    if status == StatusCode::OK {
        String::from_utf8(body.to_vec())
            .unwrap()
            .trim_end()
            .to_owned()
    } else {
        status.as_str().to_owned()
    }
}

async fn route(mode: Mode, routes: &[(&str, &'static str)], r: Req) -> String {
    let router = builder(mode, routes).build().unwrap();
    call(&router, &r).await
}

/// Asserts one vector in both modes: `(strict, compat)` expected outputs.
async fn both(id: &str, routes: &[(&str, &'static str)], r: Req, strict: &str, compat: &str) {
    assert_eq!(
        route(STRICT, routes, r.clone()).await,
        strict,
        "{id} strict"
    );
    assert_eq!(route(COMPAT, routes, r).await, compat, "{id} compat");
}

async fn same(id: &str, routes: &[(&str, &'static str)], r: Req, want: &str) {
    both(id, routes, r, want, want).await;
}

// === T vectors (spec 1.9) ===

#[tokio::test]
async fn tm1_to_tm6_glob_default_abort404() {
    same("TM1", &[("*", "A")], req("localhost", "/"), "A||/").await;
    for mode in [STRICT, COMPAT] {
        let with = |routes: &[(&str, &'static str)], d: bool, x: bool| {
            // WFront's `default` wins over its `abort404`: both are one fallback here,
            // and a migration sets the one WFront would have called.
            let mut b = builder(mode, routes);
            if d {
                b = b.fallback(app("D"));
            } else if x {
                b = b.fallback(app("X"));
            }
            b.build().unwrap()
        };
        let r = req("localhost", "/");
        assert_eq!(
            call(&with(&[("localhost", "M")], true, false), &r).await,
            "M||/",
            "TM2"
        );
        assert_eq!(
            call(&with(&[("snaggletooth", "M")], true, false), &r).await,
            "D||/",
            "TM3"
        );
        assert_eq!(
            call(&with(&[("*", "M")], false, true), &r).await,
            "M||/",
            "TM4"
        );
        assert_eq!(
            call(&with(&[("snaggletooth", "M")], false, true), &r).await,
            "X||/",
            "TM5"
        );
        assert_eq!(
            call(&with(&[("snaggletooth", "M")], true, true), &r).await,
            "D||/",
            "TM6"
        );
    }
}

#[tokio::test]
async fn tm7_to_tm18_ports() {
    for s in [":80", "*:80", "*:80:", "*:80:*"] {
        same(
            &format!("TM7-10 {s}"),
            &[(s, "A")],
            req("localhost", "/"),
            "A||/",
        )
        .await;
    }
    for s in [":443", "*:443", ":443:", ":443:*"] {
        // TM11-14 (force_ssl) and TM15-18 (HTTPS=on): both are a TLS connection here.
        same(
            &format!("TM11-18 {s}"),
            &[(s, "A")],
            req("localhost", "/").tls(),
            "A||/",
        )
        .await;
        same(
            &format!("443 on plain {s}"),
            &[(s, "A")],
            req("localhost", "/"),
            "404",
        )
        .await;
    }
}

#[tokio::test]
async fn tm19_to_tm25_pathinfo() {
    for s in [":80", ":80:", ":80:*"] {
        same(
            &format!("TM19-21 {s}"),
            &[(s, "A")],
            req("localhost", "/"),
            "A||/",
        )
        .await;
    }
    let r = || req("localhost", "/pok:pok");
    both("TM22", &[("::/", "A")], r(), "A||/pok:pok", "A|/|pok:pok").await;
    both("TM23", &[("::/pok", "A")], r(), "404", "A|/pok|:pok").await;
    both("TM24", &[("::/pok:", "A")], r(), "404", "A|/pok:|pok").await;
    same("TM25", &[("::/pok:pok", "A")], r(), "A|/pok:pok|").await;
}

// === M vectors (spec 1.5.4) ===

#[tokio::test]
async fn m5_m33_m34_segment_boundaries() {
    // S3: no prefix without a boundary in strict mode.
    both(
        "M5",
        &[("::/pok", "A")],
        req("localhost", "/pokemon"),
        "404",
        "A|/pok|emon",
    )
    .await;
    both(
        "M33",
        &[("::/pok/", "A")],
        req("localhost", "/pok"),
        "A|/pok|",
        "404",
    )
    .await;
    same(
        "M34",
        &[("::/pok", "A")],
        req("localhost", "/pok/x"),
        "A|/pok|/x",
    )
    .await;
    same(
        "M34 exact",
        &[("::/pok", "A")],
        req("localhost", "/pok"),
        "A|/pok|",
    )
    .await;
}

#[tokio::test]
async fn m6_m7_mounted() {
    let r = || req("localhost", "/foo/bar").sn("/app");
    both("M6", &[("::/app/foo", "A")], r(), "404", "A|/app/app/foo|").await;
    both("M7", &[("::/foo", "A")], r(), "A|/app/foo|/bar", "404").await;
}

#[tokio::test]
async fn m8_query_kept_m9_percent_encoding() {
    for mode in [STRICT, COMPAT] {
        let router = builder(mode, &[("::/foo", "A")]).build().unwrap();
        let res = router
            .oneshot(req("localhost", "/foo/bar?x=1").build())
            .await
            .unwrap();
        assert_eq!(res.headers()["x-uri"], "/bar?x=1", "M8 {mode:?}");
        assert_eq!(res.headers()["x-route"], "0");
    }
    // M9: consumption on the matched string. Compat does not emulate the WSGI
    // decoded-PATH_INFO desync (there is no decoded path in `http`), so both agree.
    same(
        "M9",
        &[("::/caf%C3%A9", "A")],
        req("localhost", "/caf%C3%A9/x"),
        "A|/caf%C3%A9|/x",
    )
    .await;
    // Strict canonicalises spec and request alike (hex case, unreserved escapes).
    assert_eq!(
        route(
            STRICT,
            &[("::/caf%c3%a9/%7euser", "A")],
            req("localhost", "/caf%C3%a9/~user/x")
        )
        .await,
        "A|/caf%C3%A9/~user|/x"
    );
}

#[tokio::test]
async fn m10_m27_wildcards_confined_s2() {
    both(
        "M10",
        &[("*.example.com", "A")],
        req("evil.com", "/.example.com:80:/x"),
        "404",
        "A||/.example.com:80:/x",
    )
    .await;
    let pm = |mode| {
        Router::builder()
            .mode(mode)
            .path("/public", app("A"))
            .path("/foo", app("B"))
            .build()
            .unwrap()
    };
    for (path, compat) in [
        ("/admin:x:/public", "A|/public|x:/public"),
        ("/x:y:/foo", "B|/foo|:/foo"),
    ] {
        let r = req("localhost", path);
        assert_eq!(call(&pm(STRICT), &r).await, "404", "M27 strict {path}");
        assert_eq!(call(&pm(COMPAT), &r).await, compat, "M27 compat {path}");
    }
}

#[tokio::test]
async fn m11_m12_m13_hosts_and_ports() {
    let w = &[("*.example.com", "A")];
    same("M11 www", w, req("www.example.com", "/"), "A||/").await;
    same("M11 a.b", w, req("a.b.example.com", "/"), "A||/").await;
    same("M11 apex", w, req("example.com", "/"), "404").await;
    same("M11 suffix", w, req("www.example.com.evil.org", "/"), "404").await;
    let e = &[("example.com", "A")];
    same("M12 suffix", e, req("example.com.evil.org", "/"), "404").await;
    both("M12 case", e, req("Example.com", "/"), "A||/", "404").await;
    both("M12 dot", e, req("example.com.", "/"), "A||/", "404").await;
    for s in ["example.com:80", "example.com:8"] {
        same("M13", &[(s, "A")], req("example.com:8080", "/"), "404").await;
    }
}

#[tokio::test]
async fn m14_empty_host_s13() {
    let r = || req("", "/");
    same("M14 :80", &[(":80", "A")], r(), "404").await;
    both("M14 *", &[("*", "A")], r(), "404", "A||/").await;
    both("M14 ''", &[("", "A")], r(), "404", "A||/").await;
    // No Host header at all behaves the same.
    both("M14 none", &[("*", "A")], r().no_host(), "404", "A||/").await;
}

#[tokio::test]
async fn m15_m16_m17_first_match_and_default() {
    same(
        "M15",
        &[("localhost", "A"), ("localhost::/x", "B")],
        req("localhost", "/x"),
        "A||/x",
    )
    .await;
    same(
        "M16",
        &[("localhost::/x", "B"), ("localhost", "A")],
        req("localhost", "/x/y"),
        "B|/x|/y",
    )
    .await;
    for mode in [STRICT, COMPAT] {
        let router = builder(mode, &[("nohost", "A")])
            .fallback(app("D"))
            .build()
            .unwrap();
        assert_eq!(call(&router, &req("localhost", "/")).await, "D||/", "M17");
    }
}

#[tokio::test]
async fn m18_m19_by_scheme_labels() {
    let r = || req("www.example.com", "/");
    both("M18", &[("www.example.com:http", "A")], r(), "A||/", "404").await;
    same("M19", &[("www.example.com:80", "A")], r(), "A||/").await;
    // A custom table: `http` covers 8000 too, and the label is case-insensitive.
    let router = Router::builder()
        .schemes(frontdoor_core::Schemes::new().with("http", [80, 8000]))
        .route("www.example.com:HTTP", app("A"))
        .build()
        .unwrap();
    assert_eq!(
        call(&router, &req("www.example.com:8000", "/")).await,
        "A||/"
    );
    assert_eq!(
        call(&router, &req("www.example.com:8001", "/")).await,
        "404"
    );
}

#[tokio::test]
async fn m20_to_m22_regex() {
    same(
        "M20",
        &[("re:^(?P<host>[^:]+):80:(?P<pathinfo>/api)", "A")],
        req("localhost", "/api/v1"),
        "A|/api|/v1",
    )
    .await;
    // M21: WFront raised TypeError; both modes match without consumption.
    same(
        "M21",
        &[("re:^[^:]+:80:(?P<pathinfo>/api)?", "A")],
        req("localhost", "/other"),
        "A||/other",
    )
    .await;
    same(
        "M22 host",
        &[("re:localhost", "A")],
        req("localhost", "/other"),
        "A||/other",
    )
    .await;
    same(
        "M22 80",
        &[("re:80", "A")],
        req("localhost", "/other"),
        "404",
    )
    .await;
    // A pathinfo group that does not start at the path is not consumed in strict
    // mode; WFront 0.4 cut its length from the path info regardless.
    both(
        "pathinfo elsewhere",
        &[("re:(?P<pathinfo>local)host", "A")],
        req("localhost", "/x"),
        "A||/x",
        "A|local|",
    )
    .await;
}

#[tokio::test]
async fn m23_to_m26_paths() {
    both(
        "M23",
        &[("::/", "A")],
        req("localhost", "/foo"),
        "A||/foo",
        "A|/|foo",
    )
    .await;
    same("M24", &[("::/x", "A")], req("localhost", "/X"), "404").await;
    both(
        "M25 /foo*",
        &[("::/foo*", "A")],
        req("localhost", "/foobar/baz"),
        "A|/foobar|/baz",
        "A|/foo|bar/baz",
    )
    .await;
    both(
        "M25 /foo/*/bar",
        &[("::/foo/*/bar", "A")],
        req("localhost", "/foo/x/y/bar/z"),
        "404",
        "A|/foo/x/y/bar|/z",
    )
    .await;
    same(
        "strict one-segment glob",
        &[("::/foo/*/bar", "A")],
        req("localhost", "/foo/x/bar/z"),
        "A|/foo/x/bar|/z",
    )
    .await;
    let pm = |mode| {
        Router::builder()
            .mode(mode)
            .path("/foo", app("A"))
            .path("/", app("B"))
            .build()
            .unwrap()
    };
    for (path, strict, compat) in [
        ("/foo/bar", "A|/foo|/bar", "A|/foo|/bar"),
        ("/bar", "B||/bar", "B|/|bar"),
        // M26: PI '' (after an exact consumption). Strict matches the URI path `/`.
        ("", "B||", "404"),
    ] {
        let r = req("localhost", path);
        assert_eq!(call(&pm(STRICT), &r).await, strict, "M26 strict {path:?}");
        assert_eq!(call(&pm(COMPAT), &r).await, compat, "M26 compat {path:?}");
    }
}

#[tokio::test]
async fn m29_default_filter_and_route_filter() {
    let set_x = || {
        Filter::new(MapRequestLayer::new(|mut req: Request<Body>| {
            req.extensions_mut()
                .get_or_insert_with(Vars::default)
                .set("X", "1");
            req
        }))
    };
    for mode in [STRICT, COMPAT] {
        let router = builder(mode, &[("zzz", "A")])
            .fallback(app("D"))
            .fallback_filter(set_x())
            .build()
            .unwrap();
        assert_eq!(
            call(&router, &req("localhost", "/")).await,
            "D||/|X=1",
            "M29"
        );
        // Consumption happens before the filter, which sees the mount (F21).
        let router = Router::builder()
            .mode(mode)
            .route_with_filter("::/a", app("A"), set_x())
            .build()
            .unwrap();
        assert_eq!(call(&router, &req("h", "/a/b")).await, "A|/a|/b|X=1");
    }
}

#[tokio::test]
async fn m30_m31_mod_proxy_recipe_order_s3() {
    // Routing part of the recipe: `/-https` must not be taken by `/-http`.
    let routes = [("::/-https", "S"), ("::/-http", "P")];
    let swapped = [("::/-http", "P"), ("::/-https", "S")];
    let r = || req("host1.domain", "/-https/x");
    same("M30", &routes, r(), "S|/-https|/x").await;
    both("M31", &swapped, r(), "S|/-https|/x", "P|/-http|s/x").await;
}

#[tokio::test]
async fn m32_abort404_bodies() {
    let router = builder(STRICT, &[("zzz", "A")]).build().unwrap();
    let res = router.oneshot(req("localhost", "/").build()).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(res.headers()["content-length"], "10");
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "Not Found\n"
    );

    let router = builder(COMPAT, &[("zzz", "A")])
        .fallback(NotFound::wfront04())
        .build()
        .unwrap();
    let res = router.oneshot(req("localhost", "/").build()).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "text/plain");
    assert_eq!(
        res.headers()["content-length"],
        WFRONT04_NOT_FOUND_BODY.len().to_string()
    );
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        WFRONT04_NOT_FOUND_BODY
    );
}

// === V vectors (spec 1.4.2): compilation ===

#[test]
fn v_compat_patterns_are_wfront_byte_for_byte() {
    let table = [
        ("", "^"),
        ("*", r"^.*?:[^:]+:.*"),
        ("localhost", r"^localhost:[^:]+:.*"),
        ("www.example.com:80", r"^www\.example\.com:80:.*"),
        (
            "www.example.com:80:/some/path",
            r"^www\.example\.com:80:(?P<pathinfo>\/some\/path)",
        ),
        (
            "*.example.com::/some/path",
            r"^.*?\.example\.com:[^:]+:(?P<pathinfo>\/some\/path)",
        ),
        (":80", r"^[^:]+:80:.*"),
        ("::/some/path", r"^[^:]+:[^:]+:(?P<pathinfo>\/some\/path)"),
        ("::/", r"^[^:]+:[^:]+:(?P<pathinfo>\/)"),
        ("::*", r"^[^:]+:[^:]+:.*"),
        (":", r"^[^:]+:[^:]+:.*"),
        ("::", r"^[^:]+:[^:]+:.*"),
        ("host::", r"^host:[^:]+:.*"),
        ("*:80:", r"^.*?:80:.*"),
        ("*:80:*", r"^.*?:80:.*"),
        ("::/pok:pok", r"^[^:]+:[^:]+:(?P<pathinfo>\/pok\:pok)"),
        ("a:b:c:d", r"^a:b:(?P<pathinfo>c\:d)"),
        ("host:http", r"^host:http:.*"),
        ("*.*", r"^.*?\..*?:[^:]+:.*"),
        (r"foo\*bar", r"^foo\*bar:[^:]+:.*"),
        ("::/foo*", r"^[^:]+:[^:]+:(?P<pathinfo>\/foo.*?)"),
        (
            "::/foo/*/bar",
            r"^[^:]+:[^:]+:(?P<pathinfo>\/foo\/.*?\/bar)",
        ),
        ("[::1]:80", r"^\[:[^:]+:(?P<pathinfo>1\]\:80)"),
        ("::/a+b?(c)", r"^[^:]+:[^:]+:(?P<pathinfo>\/a\+b\?\(c\))"),
        ("*:*:/foo", r"^.*?:.*?:(?P<pathinfo>\/foo)"),
        ("re:^x", "^x"),
    ];
    for (s, want) in table {
        let router = Router::builder()
            .mode(COMPAT)
            .route(spec(s), app("A"))
            .build()
            .unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(router.dump_mappings(), [want], "{s:?}");
    }
    // `foo\*bar` matches a literal star.
    let t =
        frontdoor_route::Table::compile([spec(r"foo\*bar")], COMPAT, &Default::default()).unwrap();
    let target = frontdoor_route::Target::new("foo*bar", 80, "/");
    assert!(t.find(&target).is_some());
    assert!(t
        .find(&frontdoor_route::Target::new("fooxbar", 80, "/"))
        .is_none());
}

#[test]
fn v_strict_normal_forms() {
    let table = [
        ("", "*:*:*"),
        ("*", "*:*:*"),
        ("localhost", "localhost:*:*"),
        ("Example.COM.", "example.com:*:*"),
        (
            "www.example.com:80:/some/path",
            "www.example.com:80:/some/path",
        ),
        ("*.example.com::/some/path", "*.example.com:*:/some/path"),
        ("::/", "*:*:*"),
        ("::/pok/", "*:*:/pok"),
        ("::/pok:pok", "*:*:/pok:pok"),
        ("host:http", "host:http:*"),
        ("host:HTTPS", "host:https:*"),
        ("*.*", "*.*:*:*"),
        ("::/foo*", "*:*:/foo*"),
        (r"::/a\*b", r"*:*:/a\*b"),
        ("::/caf%c3%a9", "*:*:/caf%C3%A9"),
        ("::/a/./b/../c//d", "*:*:/a/c/d"),
        ("::/%7euser", "*:*:/~user"),
        (":0080", "*:80:*"),
        ("re:^x", "^x"),
    ];
    for (s, want) in table {
        let router = Router::builder()
            .route(spec(s), app("A"))
            .build()
            .unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(router.dump_mappings(), [want], "{s:?}");
    }
}

#[test]
fn v_strict_build_errors_name_the_spec() {
    let table = [
        ("a:b:c:d", "route 0 \"a:b:c:d\": port \"b\" is neither a number, '*' nor a scheme label (known labels: http, https)"),
        ("[::1]:80", "route 0 \"[::1]:80\": an IPv6 host cannot be written in a host:port:path spec; use a regex spec"),
        (r"foo\*bar", "route 0 \"foo\\\\*bar\": invalid character '\\\\' in host (allowed: letters, digits, '-', '.', '_', '~' and '*')"),
        ("::/a+b?(c)", "route 0 \"::/a+b?(c)\": invalid character '?' in path (percent-encode it; a path never holds the query)"),
        ("::x", "route 0 \"::x\": path must start with '/'"),
        ("h:99999", "route 0 \"h:99999\": port 99999 is out of range"),
        ("h:gopher", "route 0 \"h:gopher\": port \"gopher\" is neither a number, '*' nor a scheme label (known labels: http, https)"),
        ("::/a%zz", "route 0 \"::/a%zz\": path is not valid: malformed percent-escape in path"),
        ("::/a\\b", "route 0 \"::/a\\\\b\": a backslash is only allowed before '*'"),
        ("a..b", "route 0 \"a..b\": empty label in host"),
        ("re:(", ""),
        ("{nope}.com", "route 0 \"{nope}.com\": unknown macro {nope}"),
    ];
    for (s, want) in table {
        let err = Router::builder()
            .route(spec(s), app("A"))
            .build()
            .expect_err(s);
        assert_eq!(err.kind(), RouteErrorKind::InvalidSpec, "{s}");
        assert_eq!(err.index(), Some(0));
        if !want.is_empty() {
            assert_eq!(err.to_string(), want, "{s}");
        } else {
            assert!(err.reason().starts_with("invalid regex"), "{err}");
        }
    }
}

#[test]
fn duplicates_are_dead_routes() {
    for (mode, a, b) in [
        (STRICT, "localhost", "localhost::/"),
        (STRICT, ":80", "*:80:*"),
        (STRICT, "::/pok/", "::/pok"),
        (STRICT, "re:^x", "re:^x"),
        (COMPAT, ":", "::*"),
    ] {
        let err = Router::builder()
            .mode(mode)
            .route(spec("other"), app("O"))
            .route(spec(a), app("A"))
            .route(spec(b), app("B"))
            .build()
            .expect_err(b);
        assert_eq!(err.kind(), RouteErrorKind::Duplicate);
        assert_eq!(err.index(), Some(2));
        assert!(err.to_string().contains("duplicates route 1"), "{err}");
    }
}

#[tokio::test]
async fn macros_expand_at_build_time() {
    let router = Router::builder()
        .define("domain", "example.com")
        .route("www.{domain}:http", app("A"))
        .build()
        .unwrap();
    assert_eq!(router.dump_mappings(), ["www.example.com:http:*"]);
    assert_eq!(call(&router, &req("www.example.com", "/")).await, "A||/");
}

// === Resolved, nesting, 400s ===

#[tokio::test]
async fn resolved_extension_wins_over_host_header() {
    let resolved: Resolved = "www.example.com:443:/ignored".parse().unwrap();
    let r = req("other.org", "/svn/x").resolved(resolved.clone());
    assert_eq!(
        route(STRICT, &[("www.example.com:https:/svn", "A")], r.clone()).await,
        "A|/svn|/x"
    );
    // A by-scheme label is what regex specs see in place of the port.
    let r = req("other.org", "/svn/x").resolved(resolved.with_label("https"));
    assert_eq!(
        route(
            STRICT,
            &[("re:www\\.example\\.com:https:(?P<pathinfo>/svn)", "A")],
            r
        )
        .await,
        "A|/svn|/x"
    );
}

/// A resolver's label (from the socket a request arrived on) decides label specs; the
/// port in `Host` decides them only for unlabelled requests. Numeric specs always match
/// the port.
#[tokio::test]
async fn a_stamped_label_decides_label_specs() {
    let router = Router::builder()
        .schemes(
            frontdoor_core::Schemes::new()
                .with("admin", [])
                .with("http", [80, 9000]),
        )
        .route("*:admin", app("ADMIN"))
        .route("*:9000", app("NINE"))
        .route("*:http", app("HTTP"))
        .build()
        .unwrap();
    let at = |port: u16, label: Option<&str>| {
        let mut r: Resolved = format!("h:{port}:/").parse().unwrap();
        if let Some(label) = label {
            r = r.with_label(label);
        }
        req("h", "/").resolved(r)
    };
    // Labelled `admin` by the resolver: the admin route, whatever the port.
    assert_eq!(call(&router, &at(80, Some("admin"))).await, "ADMIN||/");
    // Labelled `http` on port 9000: the numeric spec comes first and matches the port.
    assert_eq!(call(&router, &at(9000, Some("http"))).await, "NINE||/");
    // Labelled `http` on port 80: not admin (no label), http by label.
    assert_eq!(call(&router, &at(80, Some("http"))).await, "HTTP||/");
    // A label of another table (a socket port's number) matches no label spec.
    assert_eq!(call(&router, &at(80, Some("8080"))).await, "404");
    // Unlabelled: the port decides, and `admin` has no ports.
    assert_eq!(call(&router, &at(80, None)).await, "HTTP||/");
    assert_eq!(
        router.dump_mappings(),
        ["*:admin:*", "*:9000:*", "*:http:*"]
    );
}

#[tokio::test]
async fn nested_routers_compose() {
    let inner = Router::builder()
        .route("::/trunk", app("T"))
        .build()
        .unwrap();
    let outer = Router::builder().route("::/svn", inner).build().unwrap();
    let res = outer
        .clone()
        .oneshot(req("h", "/svn/trunk/a?r=1").build())
        .await
        .unwrap();
    assert_eq!(res.headers()["x-uri"], "/a?r=1");
    assert_eq!(res.headers()["x-route"], "0");
    assert_eq!(
        call(&outer, &req("h", "/svn/trunk/a")).await,
        "T|/svn/trunk|/a"
    );
    assert_eq!(call(&outer, &req("h", "/svn/branches")).await, "404");
}

#[tokio::test]
async fn route_layer_falls_through_to_inner() {
    let layer = Router::builder()
        .route("::/api", app("API"))
        .into_layer()
        .unwrap();
    assert_eq!(layer.dump_mappings(), ["*:*:/api"]);
    let svc = tower::Layer::layer(&layer, app("SITE"));
    assert_eq!(call(&svc, &req("h", "/api/v1")).await, "API|/api|/v1");
    assert_eq!(call(&svc, &req("h", "/apix")).await, "SITE||/apix");
}

#[tokio::test]
async fn a_fallback_set_with_into_layer_is_an_error_not_ignored() {
    let err = Router::builder()
        .route("::/api", app("API"))
        .fallback(app("D"))
        .into_layer()
        .unwrap_err();
    assert_eq!(err.kind(), RouteErrorKind::FallbackConflict);
    assert!(err.to_string().contains("fallback"), "{err}");
}

#[tokio::test]
async fn bad_requests_get_400() {
    let router = builder(STRICT, &[("*", "A")]).build().unwrap();
    for (host, path) in [
        ("h", "/a%zz"),
        ("h", "/a%00"),
        ("a b", "/"),
        ("h:x", "/"),
        ("h,i", "/"),
    ] {
        assert_eq!(
            call(&router, &req(host, path)).await,
            "400",
            "{host} {path}"
        );
    }
    // Dot segments are removed before matching (one canonical string).
    let router = builder(STRICT, &[("::/public", "A")]).build().unwrap();
    assert_eq!(call(&router, &req("h", "/public/../admin")).await, "404");
    assert_eq!(
        call(&router, &req("h", "/x/../public/a")).await,
        "A|/public|/a"
    );
    // The matched (canonical) string is what the route sees, consumed or not.
    let router = builder(STRICT, &[("*", "A")]).build().unwrap();
    let res = router
        .oneshot(req("h", "/a/./b/%7e?q=%2e").build())
        .await
        .unwrap();
    assert_eq!(res.headers()["x-uri"], "/a/b/~?q=%2e");
}

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<Router>();
    send_sync_clone::<frontdoor_route::RouteLayer>();
    send_sync_clone::<Filter>();
    send_sync_clone::<NotFound>();
    send::<frontdoor_route::ResponseFuture>();
}
