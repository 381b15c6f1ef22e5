//! Request bodies through the built binary: buffered before the upstream request
//! (`request_buffer`), `Expect: 100-continue` answered by the front door, and slow
//! bodies cut off (`min_body_rate`) with a `408` the client reads.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{echo_origin, exchange, header, json, start, ConfigFile};

const BOUND: Duration = Duration::from_secs(20);

/// Reads from `stream` until the head of an answer has arrived; returns it.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

/// Reads the answer to its close: a 200 with the echo backend's JSON, returned.
async fn ok_json(stream: &mut TcpStream) -> serde_json::Value {
    let mut out = String::new();
    tokio::time::timeout(BOUND, stream.read_to_string(&mut out))
        .await
        .expect("no answer")
        .unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    json(body)
}

#[tokio::test]
async fn trickling_bodies_hold_no_upstream_connection_on_a_capped_route() {
    trickling_bodies_hold_nothing_of_the_route("upstream_max_connections = 10").await;
}

#[tokio::test]
async fn trickling_bodies_hold_no_in_flight_permit() {
    trickling_bodies_hold_nothing_of_the_route("max_in_flight = 10").await;
}

/// Ten clients trickle their bodies on a route limited by `limit` to ten; a normal
/// request is served at once, and the trickled bodies arrive whole.
async fn trickling_bodies_hold_nothing_of_the_route(limit: &str) {
    let origin = echo_origin().await;
    let file = ConfigFile::new(&format!(
        r#"[server]
workers = 1

[default]
upstream = "http://{origin}"
{limit}
timeouts = {{ connect = "2s" }}
"#
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    // Ten clients trickle 300-byte bodies, a byte a second.
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
        stream
            .write_all(b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 300\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for _ in 0..3 {
        tick.tick().await;
        for stream in &mut slow {
            stream.write_all(b"x").await.unwrap();
        }
    }
    // Buffered, they hold none of the route's ten upstream connections or in-flight
    // permits: a normal request is served at once (streamed, each would hold one, and
    // this request would wait for the connect timeout, or be shed, with a 503).
    let served = tokio::time::timeout(
        Duration::from_secs(1),
        exchange(
            &fd.addr,
            "GET /normal HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        ),
    )
    .await
    .expect("a normal request waited behind trickling uploads");
    assert_eq!(served.0, 200, "{limit}: {served:?}");
    // The trickled bodies are forwarded whole once they end, with their length.
    for stream in &mut slow {
        stream.write_all(&[b'x'; 297]).await.unwrap();
    }
    for mut stream in slow {
        let doc = ok_json(&mut stream).await;
        assert_eq!(doc["body_length"], 300);
        assert_eq!(header(&doc, "content-length"), Some("300"));
    }
}

#[tokio::test]
async fn expect_100_continue_is_answered_by_the_front_door() {
    let origin = echo_origin().await;
    let file = ConfigFile::new(&format!(
        "[server]\nworkers = 1\n\n[default]\nupstream = \"http://{origin}\"\n"
    ));
    let fd = start(&["-c", file.0.to_str().unwrap()]);
    let mut stream = TcpStream::connect(&fd.addr).await.unwrap();
    stream
        .write_all(b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // The client waits for the 100 before it sends its body.
    let head = read_head(&mut stream).await;
    assert_eq!(head, "HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hello").await.unwrap();
    let doc = ok_json(&mut stream).await;
    assert_eq!(doc["body_length"], 5);
    assert_eq!(header(&doc, "expect"), None, "the upstream got the Expect");
}

#[tokio::test]
async fn a_body_below_min_body_rate_is_answered_408_and_the_connection_closed() {
    let origin = echo_origin().await;
    // Streamed (request_buffer = 0) and buffered alike.
    for buffer in ["0", "\"64KiB\""] {
        let file = ConfigFile::new(&format!(
            "[server]\nworkers = 1\nbody_timeout = \"300ms\"\nmin_body_rate = \"1KiB/s\"\n\n\
             [default]\nupstream = \"http://{origin}\"\nrequest_buffer = {buffer}\n"
        ));
        let fd = start(&["-c", file.0.to_str().unwrap()]);
        let stream = TcpStream::connect(&fd.addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        write
            .write_all(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n")
            .await
            .unwrap();
        let answer = tokio::spawn(async move {
            let mut got = Vec::new();
            let _ = tokio::time::timeout(BOUND, read.read_to_end(&mut got)).await;
            String::from_utf8(got).unwrap()
        });
        // 50 bytes a second, still sending after the answer.
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut sent = 0;
        while !answer.is_finished() && sent < 500 {
            tick.tick().await;
            if write.write_all(b"a").await.is_err() {
                break;
            }
            sent += 1;
        }
        let answer = answer.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408 "), "{buffer}: {answer:?}");
        assert!(answer.contains("connection: close\r\n"), "{answer:?}");
        assert!(sent < 500, "{buffer}: the client was never cut off");
    }
}
