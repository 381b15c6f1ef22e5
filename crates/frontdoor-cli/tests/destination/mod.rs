//! `escaped_slashes` on WebDAV's `Destination` through the built binary: a
//! `relocate = "webdav"` route, narrowed to `reject` or not, under each server policy.

use std::{convert::Infallible, net::SocketAddr};

use frontdoor::{serve::Server, Body};
use http::{Request, Response};
use tokio::sync::mpsc;

use super::{exchange, start, ConfigFile};

/// What the origin was sent: method, path and `Destination`.
type Seen = (String, String, Option<String>);

/// An origin that reports every request it gets and answers 201.
async fn recording_origin() -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = server.local_addrs().unwrap()[0];
    tokio::spawn(server.serve(tower::service_fn(move |req: Request<Body>| {
        let destination = req
            .headers()
            .get("destination")
            .map(|v| v.to_str().unwrap().to_owned());
        let _ = tx.send((req.method().to_string(), req.uri().to_string(), destination));
        async {
            let mut res = Response::new(Body::from("moved"));
            *res.status_mut() = http::StatusCode::CREATED;
            Ok::<_, Infallible>(res)
        }
    })));
    (addr, rx)
}

/// `MOVE /davr/src` on `Host: localhost` with `destination`; the status.
async fn move_to(addr: &str, destination: &str) -> u16 {
    exchange(
        addr,
        &format!(
            "MOVE /davr/src HTTP/1.1\r\nHost: localhost\r\nDestination: {destination}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
    .0
}

/// A clean `MOVE` is forwarded, relocated, and is the first request the origin got
/// since the last call: nothing refused before it reached the origin.
async fn clean_move_is_next(
    addr: &str,
    origin: SocketAddr,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    what: &str,
) {
    assert_eq!(
        move_to(addr, "http://localhost/davr/dst").await,
        201,
        "{what}"
    );
    assert_eq!(
        seen.try_recv().unwrap(),
        (
            "MOVE".to_owned(),
            "/webdav/src".to_owned(),
            Some(format!("http://{origin}/webdav/dst"))
        ),
        "{what}"
    );
    assert!(seen.try_recv().is_err(), "{what}");
}

fn config(origin: SocketAddr, server: &str, route: &str) -> ConfigFile {
    ConfigFile::new(&format!(
        "[server]\n{server}\n\
         [[route]]\nspec = \"::/davr\"\nupstream = \"http://{origin}/webdav\"\n\
         relocate = \"webdav\"\n{route}\n"
    ))
}

#[tokio::test]
async fn escaped_slashes_covers_the_destination_path() {
    let (origin, mut seen) = recording_origin().await;
    let escaping = [
        "http://localhost/davr/..%2f..%2fsecret",
        "http://localhost/davr/..%2F..%2Fsecret",
        "http://localhost/davr/..%5c..%5csecret",
        "http://localhost/davr/..;/..;/secret",
        "/davr/..%2f..%2fsecret",
    ];

    // keep (the default): the path is forwarded as it came, relocated.
    let file = config(origin, "", "");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    assert_eq!(move_to(&fd.addr, escaping[0]).await, 201);
    assert_eq!(
        seen.try_recv().unwrap().2.as_deref(),
        Some(format!("http://{origin}/webdav/..%2f..%2fsecret").as_str())
    );
    drop(fd);

    // A route narrowed to reject: 400, and the origin sees none of them.
    let file = config(origin, "", "escaped_slashes = \"reject\"");
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    for destination in escaping {
        assert_eq!(move_to(&fd.addr, destination).await, 400, "{destination}");
    }
    clean_move_is_next(&fd.addr, origin, &mut seen, "route reject").await;
    drop(fd);

    // Server decode, with and without the route's reject: the decoded `..` is the
    // relocation layer's to refuse (502, RFC 4918 section 9.8.5); `%2F` inside the
    // root is forwarded decoded.
    for route in ["", "escaped_slashes = \"reject\""] {
        let file = config(origin, "escaped_slashes = \"decode\"", route);
        let fd = start(&["-c", file.0.to_str().unwrap()]);
        for destination in [escaping[0], escaping[1], escaping[4]] {
            assert_eq!(
                move_to(&fd.addr, destination).await,
                502,
                "{route} {destination}"
            );
        }
        // `%5C` decodes to a `\`: refused by the route's reject, or by the relocation
        // layer as an unparseable URL.
        assert_eq!(move_to(&fd.addr, escaping[2]).await, 400, "{route}");
        clean_move_is_next(&fd.addr, origin, &mut seen, route).await;
        assert_eq!(
            move_to(&fd.addr, "http://localhost/davr/sub%2fdst").await,
            201
        );
        assert_eq!(
            seen.try_recv().unwrap().2.as_deref(),
            Some(format!("http://{origin}/webdav/sub/dst").as_str()),
            "{route}"
        );
    }
}
