//! 100 MiB streamed through the proxy in both directions while the process's peak
//! memory stays flat. Its own test binary, so nothing else inflates the peak.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use frontdoor_core::Body;
use frontdoor_upstream::{GatewayErrorLayer, Upstream};
use http::{Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use tower::ServiceBuilder;

const CHUNK: usize = 64 * 1024;
const TOTAL: u64 = 100 * 1024 * 1024;
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// Generates `remaining` bytes in 64 KiB chunks that borrow one static buffer, so the
/// generator itself allocates nothing.
struct Generated {
    remaining: u64,
}

impl http_body::Body for Generated {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(CHUNK as u64) as usize;
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&ZEROS[..n])))))
    }
}

/// Peak resident set size of this process, in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_mib_each_way_with_flat_memory() {
    // The upstream counts what it receives and streams 100 MiB back.
    let up = support::hyper_upstream(|req: Request<hyper::body::Incoming>| async move {
        let mut body = req.into_body();
        let mut received = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                received += data.len() as u64;
            }
        }
        assert_eq!(received, TOTAL);
        Response::builder()
            .header("content-length", TOTAL)
            .body(Body::new(Generated { remaining: TOTAL }))
            .unwrap()
    })
    .await;
    let front = support::serve(
        ServiceBuilder::new()
            .layer(GatewayErrorLayer::new())
            .service(Upstream::new(&format!("http://{up}")).unwrap()),
    )
    .await;

    // Warm up the whole path once with a small body, then measure the peak.
    let client = support::client();
    let small = Request::post(format!("http://{front}/"))
        .body(Body::from("x"))
        .unwrap();
    let _ = client.request(small).await.unwrap();
    let before = peak_rss();

    let req = Request::post(format!("http://{front}/"))
        .body(Body::new(Generated { remaining: TOTAL }))
        .unwrap();
    let res = client.request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let mut got = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            got += data.len() as u64;
        }
    }
    assert_eq!(got, TOTAL);
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 16 * 1024 * 1024,
        "peak RSS grew by {} KiB while streaming 2 x 100 MiB",
        grown / 1024
    );
}
