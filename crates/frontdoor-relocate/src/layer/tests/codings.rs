//! Coded bodies through the layer: decoded, rewritten, encoded again as the client
//! accepts; capped in decoded size; request bodies in the client's coding.

use frontdoor_core::Body;

use super::*;
use crate::{
    body::{
        codec::{decode_all, encode_all, STEP},
        high_water,
    },
    xml::tests::X12,
    Coding, Profile, RelocateEvent,
};

fn d() -> RelocateLayer {
    RelocateLayer::new(Profile::WebDav)
        .remote_root("http://files.internal/webdav/".parse().unwrap())
}

fn x12_want() -> String {
    X12.replace("<D:href>/webdav/a%20b.txt", "<D:href>/dav/a%20b.txt")
        .replace(
            "http://files.internal/webdav/sub/",
            "http://localhost:8080/dav/sub/",
        )
}

fn propfind(accept: &str) -> Request<Body> {
    routed("PROPFIND", "localhost:8080:/dav/", "/dav")
        .header("accept-encoding", accept)
        .body(Body::empty())
        .unwrap()
}

/// An upstream answer in `coding`, in frames of `frame` bytes.
fn coded_script(coding: Coding, body: &[u8], frame: usize, content_type: &str) -> Script {
    let coded = encode_all(coding, body);
    let chunks: Vec<&[u8]> = coded.chunks(frame).collect();
    Script::new(207)
        .header("content-type", content_type)
        .header("content-encoding", coding.as_str())
        .header("content-length", coded.len().to_string())
        .header("etag", "\"v1\"")
        .header("vary", "Origin")
        .header("accept-ranges", "bytes")
        .chunks(&chunks)
}

/// Each coding: a client that accepts it gets it back (no length, a weak ETag,
/// `Vary: Accept-Encoding` added), one that does not gets identity; the decoded body
/// is relocated either way, whatever the frames and the buffer limit.
#[tokio::test(flavor = "current_thread")]
async fn each_coding_is_decoded_rewritten_and_encoded_again() {
    let want = x12_want();
    for coding in Coding::ALL {
        for (frame, limit) in [(7, 16), (100_000, 64 * 1024)] {
            for accept in [format!("{coding};q=0.5, identity"), "identity".to_owned()] {
                let script = coded_script(coding, X12.as_bytes(), frame, "text/xml");
                let layer = d().buffer_limit(limit);
                let (res, seen) = exchange(layer, script, propfind(&accept)).await;
                let case = format!("{coding}, frames of {frame}, accept {accept:?}");
                assert_eq!(seen.unwrap().headers["accept-encoding"], accept.as_str());
                assert_eq!(res.status(), 207, "{case}");
                let headers = res.headers();
                assert!(!headers.contains_key("content-length"), "{case}");
                assert!(!headers.contains_key("accept-ranges"), "{case}");
                assert_eq!(headers["etag"], "W/\"v1\"", "{case}");
                let vary: Vec<_> = headers.get_all("vary").iter().collect();
                assert_eq!(vary, ["Origin", "accept-encoding"], "{case}");
                let body = res.body().as_ref().unwrap();
                if accept == "identity" {
                    assert!(!headers.contains_key("content-encoding"), "{case}");
                    assert_eq!(std::str::from_utf8(body).unwrap(), want, "{case}");
                } else {
                    assert_eq!(headers["content-encoding"], coding.as_str(), "{case}");
                    let decoded = decode_all(coding, body).unwrap();
                    assert_eq!(String::from_utf8(decoded).unwrap(), want, "{case}");
                }
            }
        }
    }
}

/// An HTML page in gzip, and a client accepting anything (`*`).
#[tokio::test(flavor = "current_thread")]
async fn html_in_gzip() {
    let page = r#"<a href="http://backend.internal:8081/real/x">x</a><img src="/real/i.png">"#;
    let want = r#"<a href="http://localhost:8080/app/x">x</a><img src="/app/i.png">"#;
    let layer = RelocateLayer::new(Profile::Html)
        .remote_root("http://backend.internal:8081/real/".parse().unwrap());
    let script = coded_script(Coding::Gzip, page.as_bytes(), 5, "text/html");
    let req = routed("GET", "localhost:8080:/app/", "/app")
        .header("accept-encoding", "*")
        .body(Body::empty())
        .unwrap();
    let (res, _) = exchange(layer, script, req).await;
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let decoded = decode_all(Coding::Gzip, res.body().as_ref().unwrap()).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), want);
}

/// A small gzip that decodes to far more than the cap is cut off with an error past
/// it (reported once), decoding a step at a time: memory never holds more than a
/// step, whatever the expansion.
#[tokio::test(flavor = "current_thread")]
async fn decoded_size_is_capped_in_bounded_memory() {
    let mut doc = b"<D:multistatus xmlns:D=\"DAV:\"><D:href>/webdav/a</D:href>".to_vec();
    doc.resize(16 << 20, b' ');
    let events = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let layer = d()
        .max_decoded_body(1 << 20)
        .on_event(move |e: &RelocateEvent| seen.lock().push(*e));
    let script = coded_script(Coding::Gzip, &doc, 1024, "text/xml");
    assert!(script.chunks.len() < 32, "a small body");
    high_water::take();
    let (res, _) = exchange(layer, script, propfind("gzip")).await;
    let err = res.body().as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        "relocation rewrite failed: decoded body too large: the body decodes to more than 1048576 bytes"
    );
    assert!(high_water::take() <= STEP + 64 * 1024);
    assert_eq!(
        *events.lock(),
        [RelocateEvent::DecodedTooLarge { limit: 1 << 20 }]
    );
}

/// A corrupt or truncated coded body ends the stream with an error, never a
/// silently short document.
#[tokio::test(flavor = "current_thread")]
async fn corrupt_and_truncated_bodies_abort() {
    for coding in Coding::ALL {
        let coded = encode_all(coding, X12.as_bytes());
        for body in [&coded[..coded.len() - 4], b"not coded at all"] {
            let script = Script::new(207)
                .header("content-type", "text/xml")
                .header("content-encoding", coding.as_str())
                .chunks(&[body]);
            let (res, _) = exchange(d(), script, propfind(coding.as_str())).await;
            let err = res.body().as_ref().unwrap_err().to_string();
            assert!(
                err.starts_with("relocation rewrite failed: bad content coding: "),
                "{coding}: {err}"
            );
        }
    }
}

/// A coded request body on a DAV route: decoded, relocated, encoded again in the
/// client's coding for the upstream.
#[tokio::test(flavor = "current_thread")]
async fn request_bodies_keep_their_coding() {
    let body =
        r#"<D:propfind xmlns:D="DAV:"><D:href>http://localhost:8080/dav/a</D:href></D:propfind>"#;
    let want = r#"<D:propfind xmlns:D="DAV:"><D:href>http://files.internal/webdav/a</D:href></D:propfind>"#;
    for coding in Coding::ALL {
        let coded = encode_all(coding, body.as_bytes());
        let req = routed("PROPFIND", "localhost:8080:/dav/", "/dav")
            .header("content-type", "text/xml")
            .header("content-encoding", coding.as_str())
            .header("content-length", coded.len().to_string())
            .body(Body::from(coded))
            .unwrap();
        let (res, seen) = exchange(d(), Script::new(207), req).await;
        assert_eq!(res.status(), 207);
        let seen = seen.unwrap();
        assert_eq!(seen.headers["content-encoding"], coding.as_str());
        assert!(!seen.headers.contains_key("content-length"));
        let decoded = decode_all(coding, &seen.body).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), want, "{coding}");
    }
}

/// A body that sends its frames, then stalls for ever.
struct Stalls(VecDeque<Bytes>);

impl http_body::Body for Stalls {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.0.pop_front() {
            Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
            None => Poll::Pending,
        }
    }
}

/// While the upstream stalls, what the encoder holds is flushed: the client can
/// decode everything sent so far (and the coded body streams without a prefetch).
#[tokio::test(flavor = "current_thread")]
async fn a_stalled_upstream_gets_its_output_flushed() {
    let page = r#"<p><a href="/real/x">x</a></p>"#;
    let coded = encode_all(Coding::Gzip, page.as_bytes());
    // All but the trailer: the page is complete, the gzip stream is not.
    let part = Bytes::copy_from_slice(&coded[..coded.len() - 8]);
    let layer = RelocateLayer::new(Profile::Html)
        .remote_root("http://backend.internal:8081/real/".parse().unwrap());
    let svc = layer.layer(service_fn(move |_req: Request<Body>| {
        let body = Body::new(Stalls(VecDeque::from([part.clone()])));
        async move {
            let mut res = Response::new(body);
            res.headers_mut()
                .insert("content-type", "text/html".parse().unwrap());
            res.headers_mut()
                .insert("content-encoding", "gzip".parse().unwrap());
            Ok::<_, Infallible>(res)
        }
    }));
    let req = routed("GET", "localhost:8080:/app/", "/app")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let mut body = svc.oneshot(req).await.unwrap().into_body();
    let mut out = Vec::new();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    while let Poll::Ready(Some(frame)) = http_body::Body::poll_frame(Pin::new(&mut body), &mut cx) {
        out.extend_from_slice(&frame.unwrap().into_data().unwrap());
    }
    let mut decoder = crate::body::codec::Decoder::new(Coding::Gzip);
    decoder.push(Bytes::from(out));
    let mut decoded = Vec::new();
    while let Some(b) = decoder.step().unwrap() {
        decoded.extend_from_slice(&b);
    }
    assert_eq!(decoded, br#"<p><a href="/app/x">x</a></p>"#);
}
