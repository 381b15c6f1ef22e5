//! Body comparison through the layer when the primary and the shadow answer in
//! different content codings: decoded first, bounded by the capture cap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod support;

use std::{convert::Infallible, io::Write};

use frontdoor_core::Body;
use frontdoor_mirror::{Diff, Exchange, MirrorLayer, TeeBody};
use http::{header, Request, Response};
use http_body_util::BodyExt;
use support::{exchanges, get};
use tower::{service_fn, util::BoxCloneSyncService, Layer, ServiceExt};

const PAGE: &str = "<p>the same content, whichever coding carries it</p>\n";

fn encode(coding: &str, text: &str) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(text.as_bytes()).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            let mut e = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
            e.write_all(text.as_bytes()).unwrap();
            drop(e);
            out
        }
        "zstd" => zstd::stream::encode_all(text.as_bytes(), 3).unwrap(),
        _ => text.as_bytes().to_vec(),
    }
}

fn answer(coding: &str, text: &str) -> Response<Body> {
    let mut res = Response::new(Body::from(encode(coding, text)));
    if !coding.is_empty() {
        res.headers_mut()
            .insert(header::CONTENT_ENCODING, coding.parse().unwrap());
    }
    res
}

/// One mirrored GET: the primary answers `primary` coded as `p`, the shadow `shadow`
/// coded as `s`, compared by body with a capture cap of `cap`.
async fn exchange(
    (p, primary): (&'static str, &'static str),
    (s, shadow): (&'static str, &'static str),
    cap: usize,
) -> Exchange {
    let shadow = BoxCloneSyncService::new(service_fn(move |_req: Request<Body>| async move {
        Ok::<_, Infallible>(answer(s, shadow))
    }));
    let layer = MirrorLayer::new(shadow)
        .compare(["body".parse().unwrap()])
        .capture_body(cap);
    let (layer, mut rx) = exchanges(layer);
    let svc = layer.layer(service_fn(move |_req: Request<TeeBody<Body>>| async move {
        Ok::<_, Infallible>(answer(p, primary))
    }));
    let res = svc.oneshot(get("/")).await.unwrap();
    // The client gets the primary's bytes as they were.
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, encode(p, primary));
    rx.recv().await.unwrap()
}

#[tokio::test]
async fn the_same_content_in_different_codings_is_equal() {
    for (p, s) in [("gzip", "br"), ("zstd", ""), ("", "gzip"), ("br", "zstd")] {
        let ex = exchange((p, PAGE), (s, PAGE), 64 * 1024).await;
        assert_eq!(ex.diffs, [], "{p} vs {s}");
    }
}

#[tokio::test]
async fn different_content_differs_at_its_decoded_offset() {
    let other = "<p>the same content, whichever coding carries IT</p>\n";
    let ex = exchange(("gzip", PAGE), ("br", other), 64 * 1024).await;
    assert_eq!(
        ex.diffs,
        [Diff::Body {
            offset: 46,
            original_len: PAGE.len(),
            replay_len: other.len()
        }]
    );
    // Decoded to the capture cap only: a difference past it is not seen.
    let ex = exchange(("gzip", PAGE), ("br", other), 46).await;
    assert_eq!(ex.diffs, []);
}
