//! The GoReplay middleware example, fed a stream on its stdin: the requests come out
//! edited, the responses unchanged, and the differences between original and
//! replayed responses are reported.

use frontdoor::gor::{Kind, Message};

use crate::gor_middleware;

/// A message line with GoReplay's full META (type, id, timestamp, latency).
fn line(kind: Kind, id: &str, payload: &[u8]) -> Vec<u8> {
    Message::new(kind, id, payload.to_vec())
        .unwrap()
        .with_timing(1_594_231_584_873_051_000, 7)
        .to_line()
}

#[test]
fn requests_are_edited_and_replays_compared_with_the_originals() {
    let (a, b, c) = (
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "bbbbbbbbbbbbbbbbbbbbbbbb",
        "cccccccccccccccccccccccc",
    );
    let price = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"price\": 10}";
    let order = b"POST /api/v1/orders HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer real-user\r\nContent-Length: 9\r\n\r\n{\"qty\":2}";
    let created = b"HTTP/1.1 201 Created\r\nContent-Length: 22\r\n\r\n{\"id\": 1, \"total\": 20}";
    let created_differently =
        b"HTTP/1.1 201 Created\r\nContent-Length: 22\r\n\r\n{\"id\": 1, \"total\": 21}";
    let input = [
        // a: the replay matches
        line(
            Kind::Request,
            a,
            b"GET /api/v1/price?sku=7 HTTP/1.1\r\nHost: shop\r\n\r\n",
        ),
        line(Kind::Response, a, price),
        line(Kind::Replay, a, price),
        // b: the replay (before the original response) differs in its JSON
        line(Kind::Request, b, order),
        line(Kind::Replay, b, created_differently),
        line(Kind::Response, b, created),
        // c: the candidate fails; no path rewrite outside /api/v1/
        line(Kind::Request, c, b"GET /about HTTP/1.0\r\n\r\n"),
        line(Kind::Response, c, b"HTTP/1.0 200 OK\r\n\r\n"),
        line(Kind::Replay, c, b"HTTP/1.0 502 Bad Gateway\r\n\r\n"),
        // not a message: reported (by the library's loop) and skipped
        b"zz\n".to_vec(),
    ]
    .concat();

    let mut output = Vec::new();
    let log = SharedBuf::default();
    let stats = gor_middleware::run(&input[..], &mut output, log.clone()).unwrap();

    let expected = [
        line(
            Kind::Request,
            a,
            b"GET /api/v2/price?sku=7 HTTP/1.1\r\nHost: shop\r\nX-Replayed: 1\r\n\r\n",
        ),
        line(Kind::Response, a, price),
        line(Kind::Replay, a, price),
        line(
            Kind::Request,
            b,
            b"POST /api/v2/orders HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer candidate-test-token\r\nContent-Length: 9\r\nX-Replayed: 1\r\n\r\n{\"qty\":2}",
        ),
        line(Kind::Replay, b, created_differently),
        line(Kind::Response, b, created),
        line(Kind::Request, c, b"GET /about HTTP/1.0\r\nX-Replayed: 1\r\n\r\n"),
        line(Kind::Response, c, b"HTTP/1.0 200 OK\r\n\r\n"),
        line(Kind::Replay, c, b"HTTP/1.0 502 Bad Gateway\r\n\r\n"),
    ]
    .concat();
    assert_eq!(
        String::from_utf8(output).unwrap(),
        String::from_utf8(expected).unwrap()
    );
    assert_eq!(
        log.text(),
        "gor_middleware: bbbbbbbbbbbbbbbbbbbbbbbb POST /api/v2/orders: replay body differs from response body as json at $.total\n\
         gor_middleware: cccccccccccccccccccccccc GET /about: replay status 502 differs from response status 200\n\
         frontdoor-gor: line 10: invalid hex digit at byte 0; skipped\n\
         gor_middleware: 3 exchanges: 1 matched, 2 differing, 0 incomplete\n"
    );
    assert_eq!((stats.written, stats.malformed), (9, 1));
}

/// A log the test reads back after the run.
#[derive(Clone, Default)]
struct SharedBuf(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);

impl SharedBuf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().clone()).unwrap()
    }
}

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
