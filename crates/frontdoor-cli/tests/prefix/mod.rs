//! `strip_prefix = false` through the built binary: the upstream sees the whole path,
//! and `relocate = "plain"` still maps the upstream's absolute URLs to public ones.

use std::{convert::Infallible, net::SocketAddr};

use frontdoor::{serve::Server, Body};
use http::{header, Request, Response, StatusCode};

use super::{get, json, start, ConfigFile};

#[tokio::test]
async fn a_kept_prefix_reaches_the_upstream() {
    let file = ConfigFile::new(
        r#"[[route]]
spec = "::/api"
upstream = "builtin:echo"
strip_prefix = false

[[route]]
spec = "::/v1"
upstream = "builtin:echo"
"#,
    );
    let fd = start(&["-c", file.0.to_str().unwrap()]);

    let (status, _, body) = get(&fd.addr, "/api/users?page=2", "h", "").await;
    assert_eq!(status, 200, "{body}");
    let doc = json(&body);
    assert_eq!(doc["path"], "/api/users");
    assert_eq!(doc["query"], "page=2");

    let (status, _, body) = get(&fd.addr, "/v1/users", "h", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["path"], "/users");
}

/// An origin whose every answer is a `302` to `http://{Host}{path}/next`: an absolute
/// URL a relocating proxy must rewrite; `x-seen-path` names the path it saw.
async fn redirecting_origin() -> SocketAddr {
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    let svc = tower::service_fn(|req: Request<Body>| async move {
        let host = req.headers()[header::HOST].to_str().unwrap().to_owned();
        let location = format!("http://{host}{}/next", req.uri().path());
        let res = Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, location)
            .header("x-seen-path", req.uri().path())
            .body(Body::empty())
            .unwrap();
        Ok::<_, Infallible>(res)
    });
    tokio::spawn(server.serve(svc));
    addr
}

/// The value of the response header `name` (lower case) in `head`.
fn field<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

#[tokio::test]
async fn plain_relocation_lines_up_with_a_kept_prefix() {
    let origin = redirecting_origin().await;
    let file = ConfigFile::new(&format!(
        r#"[[route]]
spec = "::/api"
upstream = "http://{origin}"
strip_prefix = false
relocate = "plain"

[[route]]
spec = "::/app"
upstream = "http://{origin}/base"
strip_prefix = false
relocate = "plain"

[[route]]
spec = "::/v1"
upstream = "http://{origin}"
relocate = "plain"
"#
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let cases = [
        // Kept: the upstream's root is the public root.
        (
            "/api/users",
            "/api/users",
            "http://front.example/api/users/next",
        ),
        // Kept under a base path: the upstream's /base is the public root.
        ("/app/x", "/base/app/x", "http://front.example/app/x/next"),
        // Stripped (the default): the upstream's root is the public /v1.
        ("/v1/users", "/users", "http://front.example/v1/users/next"),
    ];
    for (path, seen, public) in cases {
        let (status, head, _) = get(&fd.addr, path, "front.example", "").await;
        assert_eq!(status, 302, "{path}: {head}");
        assert_eq!(field(&head, "x-seen-path"), seen, "{path}: {head}");
        assert_eq!(field(&head, "location"), public, "{path}: {head}");
    }
}
