//! Spec 2.9.2's exchanges through the layer, with the 4.5 fixes asserted.

use frontdoor_core::Body;

use super::*;
use crate::{xml::tests::X12, OverLimit, Profile, RelocateEvent, SkipReason};

fn c(profile: Profile) -> RelocateLayer {
    RelocateLayer::new(profile).remote_root("http://backend.internal:8081/real/".parse().unwrap())
}

fn d() -> RelocateLayer {
    RelocateLayer::new(Profile::WebDav)
        .remote_root("http://files.internal/webdav/".parse().unwrap())
}

fn get_app(path: &str) -> http::request::Builder {
    routed("GET", &format!("localhost:8080:/app{path}"), "/app")
}

/// X1: Location and (fixed) Content-Location and Set-Cookie relocated; the request
/// target is the path info, untouched (the upstream joins its base path); Referer
/// untouched by default, moved when asked.
#[tokio::test(flavor = "current_thread")]
async fn vector_x1() {
    let script = Script::new(302)
        .header("location", "http://backend.internal:8081/real/login")
        .header("content-location", "http://backend.internal:8081/real/cl")
        .header("set-cookie", "a=b; Path=/real");
    let req = || {
        get_app("/page?x=1")
            .header("referer", "http://localhost:8080/app/")
            .body(Body::empty())
            .unwrap()
    };
    let (res, seen) = exchange(c(Profile::Plain), script.clone(), req()).await;
    let seen = seen.unwrap();
    assert_eq!(seen.uri, "/page?x=1");
    assert_eq!(seen.headers["referer"], "http://localhost:8080/app/");
    assert!(!seen.headers.contains_key("accept-encoding"));
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "http://localhost:8080/app/login");
    assert_eq!(
        res.headers()["content-location"],
        "http://localhost:8080/app/cl"
    );
    assert_eq!(res.headers()["set-cookie"], "a=b; Path=/app");
    let (_, seen) = exchange(c(Profile::Plain).map_referer(true), script, req()).await;
    assert_eq!(
        seen.unwrap().headers["referer"],
        "http://backend.internal:8081/real/"
    );
}

/// X2: a path-only Location.
#[tokio::test(flavor = "current_thread")]
async fn vector_x2() {
    let script = Script::new(301).header("location", "/real/other");
    let (res, _) = exchange(
        c(Profile::Plain),
        script,
        get_app("/page").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(res.headers()["location"], "/app/other");
}

/// X3: MOVE's Destination goes to the upstream with the upstream's authority.
#[tokio::test(flavor = "current_thread")]
async fn vector_x3() {
    let req = routed("MOVE", "localhost:8080:/app/a.txt", "/app")
        .header("destination", "http://localhost:8080/app/b.txt")
        .body(Body::empty())
        .unwrap();
    let (res, seen) = exchange(c(Profile::WebDav), Script::new(201), req).await;
    assert_eq!(res.status(), 201);
    let seen = seen.unwrap();
    assert_eq!(seen.method, "MOVE");
    assert_eq!(seen.uri, "/a.txt");
    assert_eq!(
        seen.headers["destination"],
        "http://backend.internal:8081/real/b.txt"
    );
}

/// A Destination outside the mount is never forwarded (RFC 4918: 502).
#[tokio::test(flavor = "current_thread")]
async fn destination_outside_the_mount_is_refused() {
    for (dest, status) in [
        ("http://localhost:8080/other/b", 502),
        ("http://evil.example/app/b", 502),
        ("/app/../other", 502),
        ("/app/a b", 400),
    ] {
        let req = routed("COPY", "localhost:8080:/app/a", "/app")
            .header("destination", dest)
            .body(Body::empty())
            .unwrap();
        let (res, seen) = exchange(c(Profile::WebDav), Script::new(201), req).await;
        assert_eq!(res.status(), status, "{dest}");
        assert!(seen.is_none(), "{dest} reached the upstream");
    }
}

fn propfind() -> Request<Body> {
    routed("PROPFIND", "localhost:8080:/dav/", "/dav")
        .header("depth", "1")
        .header("accept-encoding", "gzip, br")
        .body(Body::empty())
        .unwrap()
}

fn x12_want() -> String {
    X12.replace("<D:href>/webdav/a%20b.txt", "<D:href>/dav/a%20b.txt")
        .replace(
            "http://files.internal/webdav/sub/",
            "http://localhost:8080/dav/sub/",
        )
}

/// X12: the multistatus hrefs move, the rest is byte for byte, Content-Length is the
/// new length in bytes, and the client's `Accept-Encoding` reaches the upstream as it
/// was (a coded answer is decoded for the rewrite).
#[tokio::test(flavor = "current_thread")]
async fn vector_x12() {
    let script = Script::new(207)
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .header("etag", "\"abc\"")
        .body(X12);
    let (res, seen) = exchange(d(), script, propfind()).await;
    let seen = seen.unwrap();
    assert_eq!(seen.uri, "/");
    assert_eq!(seen.headers["accept-encoding"], "gzip, br");
    assert_eq!(res.status(), 207);
    let want = x12_want();
    assert_eq!(text(&res), want);
    assert_eq!(
        res.headers()["content-length"],
        want.len().to_string().as_str()
    );
    assert_eq!(res.headers()["etag"], "W/\"abc\"");
}

/// X13: the content types proxylet missed are rewritten now.
#[tokio::test(flavor = "current_thread")]
async fn vector_x13() {
    for ct in [
        "application/xml",
        "text/xml ; charset=utf-8",
        "TEXT/XML",
        "application/foo+xml",
    ] {
        let script = Script::new(207).header("content-type", ct).body(X12);
        let (res, _) = exchange(d(), script, propfind()).await;
        assert_eq!(text(&res), x12_want(), "{ct}");
    }
}

/// X14: GET is not a DAV method: the body passes untouched (and no Accept-Encoding
/// is forced).
#[tokio::test(flavor = "current_thread")]
async fn vector_x14() {
    let script = Script::new(200)
        .header("content-type", "text/xml")
        .body(X12);
    let req = routed("GET", "localhost:8080:/dav/x.xml", "/dav")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let (res, seen) = exchange(d(), script, req).await;
    assert_eq!(text(&res), X12);
    assert_eq!(
        res.headers()["content-length"],
        X12.len().to_string().as_str()
    );
    assert_eq!(seen.unwrap().headers["accept-encoding"], "gzip");
}

/// X17: a request body is rewritten local to remote with an exact length.
#[tokio::test(flavor = "current_thread")]
async fn vector_x17() {
    let body = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop><D:href>/dav/q</D:href></D:propfind>"#;
    let req = routed("PROPFIND", "localhost:8080:/dav/", "/dav")
        .header("content-type", "text/xml")
        .header("content-length", body.len().to_string())
        .body(Body::from(body))
        .unwrap();
    let (res, seen) = exchange(d(), Script::new(207), req).await;
    assert_eq!(res.status(), 207);
    let seen = seen.unwrap();
    let want = body.replace("/dav/q", "/webdav/q");
    assert_eq!(seen.body, want.as_bytes());
    assert_eq!(
        seen.headers["content-length"],
        want.len().to_string().as_str()
    );
}

/// X18: an empty XML body is nothing to do, not an error.
#[tokio::test(flavor = "current_thread")]
async fn vector_x18() {
    let script = Script::new(201).header("content-type", "text/xml").body("");
    let req = routed("MOVE", "localhost:8080:/dav/a", "/dav")
        .header("destination", "/dav/b")
        .body(Body::empty())
        .unwrap();
    let (res, seen) = exchange(d(), script, req).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["content-length"], "0");
    assert_eq!(text(&res), "");
    assert_eq!(seen.unwrap().headers["destination"], "/webdav/b");
}

/// X19 and X20: a chunked (many-frame) body, non-ASCII, lengths in bytes.
#[tokio::test(flavor = "current_thread")]
async fn vectors_x19_x20() {
    let doc = r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/webdav/café</D:href></D:response></D:multistatus>"#;
    let bytes = doc.as_bytes();
    let script = Script::new(207)
        .header("content-type", "text/xml")
        .chunks(&[&bytes[..40], &bytes[40..50], &bytes[50..]]);
    let (res, _) = exchange(d(), script, propfind()).await;
    let want = doc.replace("/webdav/café", "/dav/café");
    assert_eq!(text(&res), want);
    assert_eq!(
        res.headers()["content-length"],
        want.len().to_string().as_str()
    );
}

/// X21: a PUT body is not buffered nor touched: frame by frame, same lengths.
#[tokio::test(flavor = "current_thread")]
async fn vector_x21() {
    let script = Script::new(201).header("location", "http://files.internal/webdav/new.txt");
    let req = routed("PUT", "localhost:8080:/dav/new.txt", "/dav")
        .header("content-length", "4")
        .header("content-type", "text/xml")
        .body(Body::new(Frames::data(&[b"<a>", b"/"])))
        .unwrap();
    let (res, seen) = exchange(d(), script, req).await;
    assert_eq!(
        res.headers()["location"],
        "http://localhost:8080/dav/new.txt"
    );
    let seen = seen.unwrap();
    assert_eq!(seen.body, "<a>/");
    assert_eq!(seen.headers["content-length"], "4");
}

/// X22: two Locations are a 502, not a crash.
#[tokio::test(flavor = "current_thread")]
async fn vector_x22() {
    let script = Script::new(302)
        .header("location", "/webdav/a")
        .header("location", "/webdav/b");
    let req = routed("GET", "localhost:8080:/dav/", "/dav")
        .body(Body::empty())
        .unwrap();
    let (res, _) = exchange(d(), script, req).await;
    assert_eq!(res.status(), 502);
    let script = Script::new(302).header("location", "/webdav/a b");
    let req = routed("GET", "localhost:8080:/dav/", "/dav")
        .body(Body::empty())
        .unwrap();
    let (res, _) = exchange(d(), script, req).await;
    assert_eq!(res.status(), 502);
}

/// X23: Subversion's update REPORT, both bodies, plus its OPTIONS headers.
#[tokio::test(flavor = "current_thread")]
async fn vector_x23() {
    let layer = RelocateLayer::new(Profile::Svn)
        .remote_root("http://svn.example.com/repos/morph".parse().unwrap());
    let request = r#"<S:update-report xmlns:S="svn:"><S:src-path>http://www.example.com/svn/trunk</S:src-path><S:entry rev="5" start-empty="true"/></S:update-report>"#;
    let response = r#"<S:update-report xmlns:S="svn:" xmlns:D="DAV:"><D:checked-in><D:href>/repos/morph/!svn/ver/5/trunk</D:href></D:checked-in><S:add-directory name="sub" bc-url="/repos/morph/!svn/bc/5/trunk/sub"/></S:update-report>"#;
    let script = Script::new(200)
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .body(response);
    let req = routed("REPORT", "www.example.com:80:/svn/!svn/vcc/default", "/svn")
        .header("content-type", "text/xml")
        .body(Body::from(request))
        .unwrap();
    let (res, seen) = exchange(layer.clone(), script, req).await;
    let seen = seen.unwrap();
    assert_eq!(seen.uri, "/!svn/vcc/default");
    let sent = request.replace(
        "http://www.example.com/svn/trunk",
        "http://svn.example.com/repos/morph/trunk",
    );
    assert_eq!(seen.body, sent.as_bytes());
    assert_eq!(
        seen.headers["content-length"],
        sent.len().to_string().as_str()
    );
    let want = response
        .replace(
            "<D:href>/repos/morph/!svn/ver/5/trunk",
            "<D:href>/svn/!svn/ver/5/trunk",
        )
        .replace(
            "bc-url=\"/repos/morph/!svn/bc/5/trunk/sub\"",
            "bc-url=\"/svn/!svn/bc/5/trunk/sub\"",
        );
    assert_eq!(text(&res), want);

    // OPTIONS: the HTTPv2 headers and the activity-collection href.
    let options = r#"<D:options-response xmlns:D="DAV:"><D:activity-collection-set><D:href>/repos/morph/!svn/act/</D:href></D:activity-collection-set></D:options-response>"#;
    let script = Script::new(200)
        .header("content-type", "text/xml")
        .header("svn-repository-root", "/repos/morph")
        .header("svn-me-resource", "/repos/morph/!svn/me")
        .header("svn-rev-root-stub", "/repos/morph/!svn/rvr")
        .header("svn-txn-stub", "/repos/morph/!svn/txn")
        .header("svn-youngest-rev", "5")
        .body(options);
    let req = routed("OPTIONS", "www.example.com:80:/svn", "/svn")
        .body(Body::empty())
        .unwrap();
    let (res, seen) = exchange(layer, script, req).await;
    assert_eq!(seen.unwrap().uri, "/");
    assert_eq!(res.headers()["svn-repository-root"], "/svn");
    assert_eq!(res.headers()["svn-me-resource"], "/svn/!svn/me");
    assert_eq!(res.headers()["svn-rev-root-stub"], "/svn/!svn/rvr");
    assert_eq!(res.headers()["svn-txn-stub"], "/svn/!svn/txn");
    assert_eq!(res.headers()["svn-youngest-rev"], "5");
    assert!(text(&res).contains("<D:href>/svn/!svn/act/</D:href>"));
}

/// X24 to X27 through the HTML profile (the Drupal relocator's successor).
#[tokio::test(flavor = "current_thread")]
async fn vectors_x24_to_x27() {
    let page = r#"<form action="/node/add" method="post"><a href="/about"><form action="http://www.sphericalmatrix.com/z">"#;
    let want = r#"<form action="/sm/node/add" method="post"><a href="/sm/about"><form action="http://localhost:8080/sm/z">"#;
    let layer = RelocateLayer::new(Profile::Html)
        .remote_root("http://www.sphericalmatrix.com/".parse().unwrap());
    for ct in ["text/html; charset=utf-8", "TEXT/HTML"] {
        let script = Script::new(200).header("content-type", ct).body(page);
        let req = routed("GET", "localhost:8080:/sm/", "/sm")
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap();
        let (res, seen) = exchange(layer.clone(), script, req).await;
        let seen = seen.unwrap();
        // X24: the upstream gets `/`, never `//` (the upstream joins `/` to `/`).
        assert_eq!(seen.uri, "/");
        assert_eq!(seen.headers["accept-encoding"], "gzip");
        assert_eq!(text(&res), want, "{ct}");
    }
}

/// Profile none: nothing at all is touched.
#[tokio::test(flavor = "current_thread")]
async fn profile_none_passes_everything() {
    let script = Script::new(302)
        .header("location", "http://backend.internal:8081/real/login")
        .header("content-type", "text/xml")
        .body(X12);
    let req = routed("PROPFIND", "localhost:8080:/app/x", "/app")
        .header("destination", "http://localhost:8080/app/y")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let (res, seen) = exchange(c(Profile::None), script, req).await;
    let seen = seen.unwrap();
    assert_eq!(seen.headers["destination"], "http://localhost:8080/app/y");
    assert_eq!(seen.headers["accept-encoding"], "gzip");
    assert_eq!(
        res.headers()["location"],
        "http://backend.internal:8081/real/login"
    );
    assert_eq!(text(&res), X12);
}

/// Without `Resolved` (no public origin known), absolute upstream URLs come out as
/// public paths; with an explicit local root, as given.
#[tokio::test(flavor = "current_thread")]
async fn local_root_sources() {
    let script = Script::new(302).header("location", "http://backend.internal:8081/real/x");
    let req = Request::builder()
        .uri("/x")
        .extension(Mount::new("/app", "/x"))
        .body(Body::empty())
        .unwrap();
    let (res, _) = exchange(c(Profile::Plain), script.clone(), req).await;
    assert_eq!(res.headers()["location"], "/app/x");
    let layer = c(Profile::Plain).local_root("https://www.example.com/pub".parse().unwrap());
    let (res, _) = exchange(layer, script, get_app("/x").body(Body::empty()).unwrap()).await;
    assert_eq!(res.headers()["location"], "https://www.example.com/pub/x");
}

#[tokio::test(flavor = "current_thread")]
async fn if_header_and_aliases() {
    let layer = d().remote_alias("http://localhost:8080".parse().unwrap());
    let script = Script::new(302).header("location", "http://localhost:8080/webdav/x");
    let req = routed("LOCK", "localhost:8080:/dav/a", "/dav")
        .header("if", "<http://localhost:8080/dav/a> (<opaquelocktoken:x>)")
        .body(Body::empty())
        .unwrap();
    let (res, seen) = exchange(layer, script, req).await;
    assert_eq!(
        seen.unwrap().headers["if"],
        "<http://files.internal/webdav/a> (<opaquelocktoken:x>)"
    );
    assert_eq!(res.headers()["location"], "http://localhost:8080/dav/x");
}

/// Bodies that cannot carry a rewrite are not read: HEAD, 204, 304, 206, and those
/// in a coding the relocation cannot decode, which pass byte for byte with their
/// length (and are reported).
#[tokio::test(flavor = "current_thread")]
async fn bodies_left_alone() {
    for (method, status) in [("PROPFIND", 206), ("PROPFIND", 304), ("HEAD", 200)] {
        let script = Script::new(status)
            .header("content-type", "text/xml")
            .body(X12);
        let req = routed(method, "localhost:8080:/dav/", "/dav")
            .body(Body::empty())
            .unwrap();
        let (res, _) = exchange(d().add_dav_method(http::Method::HEAD), script, req).await;
        assert_eq!(text(&res), X12, "{method} {status}");
    }
    // An unknown or stacked coding: not decoded, not rewritten, not even parsed.
    let coded = b"\x1f\x9d\x90garbage<D:href>/webdav/x";
    for (coding, reason) in [
        ("compress", SkipReason::UnknownCoding),
        ("gzip, br", SkipReason::StackedCodings),
    ] {
        let events = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let seen_events = Arc::clone(&events);
        let layer = d().on_event(move |e: &RelocateEvent| seen_events.lock().push(*e));
        let mut script = Script::new(207)
            .header("content-type", "text/xml")
            .header("content-encoding", coding)
            .header("content-length", coded.len().to_string());
        script = script.chunks(&[&coded[..10], &coded[10..]]);
        let (res, _) = exchange(layer, script, propfind()).await;
        assert_eq!(res.body().as_ref().unwrap(), &coded[..]);
        assert_eq!(
            res.headers()["content-length"],
            coded.len().to_string().as_str()
        );
        assert_eq!(res.headers()["content-encoding"], coding);
        assert_eq!(*events.lock(), [RelocateEvent::Skipped(reason)]);
    }
    // A request body to be rewritten in an unknown coding: 415, never forwarded.
    let req = routed("PROPFIND", "localhost:8080:/dav/", "/dav")
        .header("content-type", "text/xml")
        .header("content-encoding", "compress")
        .body(Body::from(&coded[..]))
        .unwrap();
    let (res, seen) = exchange(d(), Script::new(207), req).await;
    assert_eq!(res.status(), 415);
    assert_eq!(res.headers()["accept-encoding"], "gzip, deflate, br, zstd");
    assert!(seen.is_none());
}

/// Malformed XML that fits the buffer: 502 for a response, 400 for a request (and
/// the upstream never sees it).
#[tokio::test(flavor = "current_thread")]
async fn malformed_bodies_within_the_buffer() {
    let bad = r#"<D:multistatus xmlns:D="DAV:"><D:href>/webdav/a</D:multistatus>"#;
    let script = Script::new(207)
        .header("content-type", "text/xml")
        .body(bad);
    let (res, _) = exchange(d(), script, propfind()).await;
    assert_eq!(res.status(), 502);
    let req = routed("PROPFIND", "localhost:8080:/dav/", "/dav")
        .header("content-type", "text/xml")
        .body(Body::from(bad))
        .unwrap();
    let (res, seen) = exchange(d(), Script::new(207), req).await;
    assert_eq!(res.status(), 400);
    assert!(seen.is_none());
}

/// Over the buffer limit with the pass-through choice: untouched, length kept.
#[tokio::test(flavor = "current_thread")]
async fn over_limit_pass_through() {
    let script = Script::new(207)
        .header("content-type", "text/xml")
        .body(X12);
    let layer = d().buffer_limit(16).over_limit(OverLimit::PassThrough);
    let (res, _) = exchange(layer, script, propfind()).await;
    assert_eq!(text(&res), X12);
    assert_eq!(
        res.headers()["content-length"],
        X12.len().to_string().as_str()
    );
}
