//! Request framing a proxy cannot forward safely (RFC 9112 sections 6.1 and 6.3):
//! refused with 400 (501 for a transfer coding frontdoor does not implement), the
//! connection closed, nothing forwarded.

use frontdoor_deproxy::Deproxy;

use super::{answers, exchange};
use crate::stack::support::echo_front;

/// A request that would be forwarded if its framing were acceptable: the body
/// `0\r\n\r\n` ends a chunked body at once and hides a second request.
fn post(headers: &str, body: &str) -> String {
    format!("POST /upload HTTP/1.1\r\nHost: app.test\r\n{headers}\r\n{body}")
}

const HIDDEN: &str = "GET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";

/// Sends `raw`, expects exactly one answer `status` with `Connection: close`, the
/// connection closed after it, and no request head at the origin.
async fn refused(raw: &str, status: u16) {
    let d = Deproxy::new();
    let (origin, front) = echo_front(&d).await;
    let out = exchange(front.running.addr(), raw.as_bytes()).await;
    let got = answers(&out);
    assert_eq!(
        got.len(),
        1,
        "{raw:?} -> {:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(got[0].status, status, "{raw:?}");
    assert_eq!(got[0].header("connection"), Some("close"), "{raw:?}");
    assert!(got[0].body.ends_with(b"\n"), "{raw:?}: a short reason");
    assert_eq!(origin.requests_seen(), 0, "{raw:?} reached the origin");
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused_and_never_forwarded() {
    let hidden = format!("0\r\n\r\n{HIDDEN}");
    for headers in [
        "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n",
        "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\t\r\nContent-Length: 6\r\n",
        "Content-Length: 6\r\nTransfer-Encoding: Chunked\r\nContent-Length: 6\r\n",
    ] {
        refused(&post(headers, &hidden), 400).await;
    }
}

#[tokio::test]
async fn a_transfer_coding_frontdoor_does_not_implement_is_501() {
    let body = "5\r\nhello\r\n0\r\n\r\n";
    for headers in [
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: identity, chunked\r\n",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
    ] {
        refused(&post(headers, body), 501).await;
    }
    // Applying chunked twice is malformed, not unimplemented (RFC 9112 6.1).
    refused(&post("Transfer-Encoding: chunked, chunked\r\n", body), 400).await;
}

#[tokio::test]
async fn a_fragment_in_the_request_target_is_400() {
    // litmus basic/delete_fragment: forwarded as `DELETE /coll/`, it deletes the
    // collection; Apache answers 400.
    for target in [
        "/coll/#frag",
        "/coll/#",
        "/a?q=1#f",
        "http://app.test/coll/#frag",
    ] {
        refused(
            &format!("DELETE {target} HTTP/1.1\r\nHost: app.test\r\n\r\n"),
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn a_refused_request_does_not_desynchronise_a_pipelined_connection() {
    // A clean request first, then CL+TE: the first is answered by the origin, the
    // second refused, and the hidden third never parsed.
    let d = Deproxy::new();
    let (origin, front) = echo_front(&d).await;
    let raw = format!(
        "GET /first HTTP/1.1\r\nHost: app.test\r\n\r\n{}",
        post(
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            &format!("0\r\n\r\n{HIDDEN}")
        )
    );
    let out = exchange(front.running.addr(), raw.as_bytes()).await;
    let got = answers(&out);
    let statuses: Vec<u16> = got.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 400], "{:?}", String::from_utf8_lossy(&out));
    assert_eq!(origin.requests_seen(), 1);
    assert!(d
        .all_handlings()
        .iter()
        .all(|h| h.request.uri().path() == "/first"));
}
