use http::Uri;

use super::*;
use crate::strict::Ledger;

const DATA: u8 = 0x0;

/// A frame: header and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len().to_be_bytes();
    let mut out = vec![len[5], len[6], len[7], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A literal field without indexing, new name, raw strings.
fn literal(name: &str, value: &str) -> Vec<u8> {
    field(0x00, name, value)
}

/// A literal field with incremental indexing, new name, raw strings.
fn indexed_literal(name: &str, value: &str) -> Vec<u8> {
    field(0x40, name, value)
}

fn field(first: u8, name: &str, value: &str) -> Vec<u8> {
    let mut out = vec![first, u8::try_from(name.len()).unwrap()];
    out.extend_from_slice(name.as_bytes());
    out.push(u8::try_from(value.len()).unwrap());
    out.extend_from_slice(value.as_bytes());
    out
}

/// A request's header block: `:method`, `:scheme http`, `:path` (raw literals), and
/// `:authority`.
fn request(method: &str, path: &str) -> Vec<u8> {
    let mut block = literal(":method", method);
    block.push(0x86);
    block.extend(literal(":path", path));
    block.extend(literal(":authority", "app.test"));
    block
}

/// The verdict the guard matches a request with `method` and `target` against.
fn verdict(method: &str, target: &str, refusal: Option<Refusal>) -> StreamHead {
    StreamHead {
        request: Fingerprint::of_request(method.as_bytes(), target.as_bytes()),
        refusal,
    }
}

fn fragment(method: &str, target: &str) -> StreamHead {
    verdict(method, target, Some(Refusal::FRAGMENT))
}

fn clean(method: &str, target: &str) -> StreamHead {
    verdict(method, target, None)
}

/// Scans `bytes` in reads of `chunk` bytes.
fn scan_in(bytes: &[u8], chunk: usize) -> (Vec<StreamHead>, bool) {
    let mut scanner = FrameScanner::new(64 * 1024);
    let mut heads = Vec::new();
    for piece in bytes.chunks(chunk) {
        scanner.feed(piece, &mut |h| heads.push(h));
    }
    (heads, scanner.is_off())
}

fn scan(bytes: &[u8]) -> (Vec<StreamHead>, bool) {
    let whole = scan_in(bytes, bytes.len().max(1));
    assert_eq!(scan_in(bytes, 1), whole, "byte by byte sees the same");
    whole
}

fn settings() -> Vec<u8> {
    frame(0x4, 0, 0, &[])
}

#[test]
fn a_literal_path_with_a_fragment_is_refused() {
    let mut wire = settings();
    wire.extend(frame(
        HEADERS,
        END_HEADERS,
        1,
        &request("DELETE", "/dav/coll/#frag"),
    ));
    wire.extend(frame(
        HEADERS,
        END_HEADERS,
        3,
        &request("GET", "/dav/coll/"),
    ));
    wire.extend(frame(HEADERS, END_HEADERS, 5, &request("GET", "#top")));
    wire.extend(frame(HEADERS, END_HEADERS, 7, &request("GET", "/a?q=1#f")));
    assert_eq!(
        scan(&wire),
        (
            vec![
                fragment("DELETE", "/dav/coll/"),
                clean("GET", "/dav/coll/"),
                fragment("GET", "/"),
                fragment("GET", "/a?q=1"),
            ],
            false
        )
    );
}

#[test]
fn a_huffman_coded_path_with_a_fragment_is_refused() {
    // `:method DELETE` and `:path /dav/coll/#frag`, both Huffman-coded, the method
    // under the static table's name.
    let mut block = vec![0x03, 0x86, 0xbf, 0x83, 0x3e, 0x0d, 0xf8, 0x3f, 0x86];
    block.extend([0x04, 0x8c, 0x62, 0x41, 0xf7, 0x60, 0x87, 0xa2]);
    block.extend([0x86, 0x3f, 0xea, 0x5b, 0x07, 0x37]);
    assert_eq!(
        scan(&frame(HEADERS, END_HEADERS | 0x1, 1, &block)),
        (vec![fragment("DELETE", "/dav/coll/")], false)
    );
}

#[test]
fn a_path_from_the_dynamic_table_is_seen() {
    // The first request adds `:path /dav/coll/#frag` to the table; the second sends
    // only its index (62) and `:method DELETE` from the table too.
    let mut first = indexed_literal(":method", "DELETE");
    first.extend(indexed_literal(":path", "/dav/coll/#frag"));
    let second = vec![0xbf, 0xbe, 0x86];
    let mut wire = frame(HEADERS, END_HEADERS, 1, &first);
    wire.extend(frame(HEADERS, END_HEADERS, 3, &second));
    assert_eq!(
        scan(&wire),
        (
            vec![
                fragment("DELETE", "/dav/coll/"),
                fragment("DELETE", "/dav/coll/")
            ],
            false
        )
    );
}

#[test]
fn a_block_split_over_continuation_frames_is_joined() {
    let block = request("DELETE", "/dav/coll/#frag");
    for cut in 0..=block.len() {
        for second in cut..=block.len() {
            let mut wire = frame(HEADERS, 0, 1, &block[..cut]);
            wire.extend(frame(CONTINUATION, 0, 1, &block[cut..second]));
            wire.extend(frame(CONTINUATION, END_HEADERS, 1, &block[second..]));
            assert_eq!(
                scan_in(&wire, wire.len()),
                (vec![fragment("DELETE", "/dav/coll/")], false),
                "cut at {cut} and {second}"
            );
        }
    }
    // Over reads of every size too.
    let mut wire = frame(HEADERS, 0, 1, &block[..10]);
    wire.extend(frame(CONTINUATION, END_HEADERS, 1, &block[10..]));
    for chunk in 1..wire.len() {
        assert_eq!(
            scan_in(&wire, chunk),
            (vec![fragment("DELETE", "/dav/coll/")], false)
        );
    }
}

#[test]
fn padding_and_priority_are_stripped() {
    let block = request("DELETE", "/dav/coll/#frag");
    // PADDED: a pad length, the block, then padding (which would not decode).
    let mut padded = vec![4];
    padded.extend(&block);
    padded.extend([0xff; 4]);
    // PRIORITY: a dependency on stream 0 and a weight.
    let mut prioritised = vec![0, 0, 0, 0, 16];
    prioritised.extend(&block);
    // Both.
    let mut both = vec![2, 0x80, 0, 0, 1, 200];
    both.extend(&block);
    both.extend([0x23, 0x23]);
    let mut wire = frame(HEADERS, END_HEADERS | PADDED, 1, &padded);
    wire.extend(frame(HEADERS, END_HEADERS | PRIORITY, 3, &prioritised));
    wire.extend(frame(HEADERS, END_HEADERS | PADDED | PRIORITY, 5, &both));
    let want = fragment("DELETE", "/dav/coll/");
    assert_eq!(scan(&wire), (vec![want; 3], false));
}

#[test]
fn trailers_are_not_requests() {
    let mut wire = frame(HEADERS, END_HEADERS, 1, &request("POST", "/up"));
    wire.extend(frame(DATA, 0, 1, b"hello"));
    // Trailers on stream 1, even with a `:path` in them.
    let mut trailers = literal("x-checksum", "1");
    trailers.extend(literal(":path", "/x#y"));
    wire.extend(frame(HEADERS, END_HEADERS | 0x1, 1, &trailers));
    wire.extend(frame(HEADERS, END_HEADERS, 3, &request("GET", "/next")));
    assert_eq!(
        scan(&wire),
        (vec![clean("POST", "/up"), clean("GET", "/next")], false)
    );
}

#[test]
fn a_connect_has_no_path() {
    let mut block = literal(":method", "CONNECT");
    block.extend(literal(":authority", "app.test:443"));
    assert_eq!(
        scan(&frame(HEADERS, END_HEADERS, 1, &block)),
        (vec![clean("CONNECT", "")], false)
    );
}

#[test]
fn a_block_h2_resets_unread_is_skipped() {
    // Stream 1 depends on itself: h2 resets it before decoding its block, so the
    // entry it would add is never in the table, and index 62 of the next block is
    // out of range (h2 fails the connection).
    let mut selfish = vec![0, 0, 0, 1, 16];
    selfish.extend(indexed_literal(":path", "/dav/coll/#frag"));
    let mut wire = frame(HEADERS, END_HEADERS | PRIORITY, 1, &selfish);
    wire.extend(frame(HEADERS, END_HEADERS, 3, &request("GET", "/a")));
    assert_eq!(scan(&wire), (vec![clean("GET", "/a")], false));
    wire.extend(frame(HEADERS, END_HEADERS, 5, &[0x82, 0xbe]));
    assert_eq!(scan(&wire), (vec![clean("GET", "/a")], true));
}

#[test]
fn the_scanner_stops_where_h2_fails_the_connection() {
    let block = request("GET", "/a");
    let stopped = |wire: Vec<u8>| {
        let (_, off) = scan(&wire);
        assert!(off, "{wire:02x?}");
    };
    // A frame over 16 KiB.
    stopped(frame(DATA, 0, 1, &[0; MAX_FRAME_SIZE + 1]));
    // CONTINUATION with no block, or on another stream.
    stopped(frame(CONTINUATION, END_HEADERS, 1, &block));
    let mut wire = frame(HEADERS, 0, 1, &block[..3]);
    wire.extend(frame(CONTINUATION, END_HEADERS, 3, &block[3..]));
    stopped(wire);
    // Another frame inside a block.
    let mut wire = frame(HEADERS, 0, 1, &block[..3]);
    wire.extend(frame(DATA, 0, 1, b"x"));
    stopped(wire);
    // A block ending inside a field.
    stopped(frame(HEADERS, END_HEADERS, 1, &block[..block.len() - 1]));
    // Too much padding; a PADDED or PRIORITY frame too short for its fields.
    stopped(frame(HEADERS, END_HEADERS | PADDED, 1, &[9, 0x82]));
    stopped(frame(HEADERS, END_HEADERS | PADDED, 1, &[]));
    stopped(frame(HEADERS, END_HEADERS | PRIORITY, 1, &[0, 0, 0]));
    // Stream 0, a PUSH_PROMISE, a bad block.
    stopped(frame(HEADERS, END_HEADERS, 0, &block));
    stopped(frame(PUSH_PROMISE, END_HEADERS, 1, &[0, 0, 0, 2, 0x82]));
    stopped(frame(HEADERS, END_HEADERS, 1, &[0x80]));
    // More CONTINUATION frames than h2 takes (five for a 64 KiB header list).
    let mut wire = frame(HEADERS, 0, 1, &[]);
    for _ in 0..5 {
        wire.extend(frame(CONTINUATION, 0, 1, &[]));
    }
    wire.extend(frame(CONTINUATION, END_HEADERS, 1, &block));
    assert_eq!(scan(&wire), (vec![clean("GET", "/a")], false));
    let mut wire = frame(HEADERS, 0, 1, &[]);
    for _ in 0..6 {
        wire.extend(frame(CONTINUATION, 0, 1, &[]));
    }
    stopped(wire);
}

#[test]
fn continuation_limit_follows_h2() {
    assert_eq!(max_continuations(64 * 1024, MAX_FRAME_SIZE), 5);
    assert_eq!(max_continuations(16 * 1024, MAX_FRAME_SIZE), 5);
    assert_eq!(max_continuations(1024 * 1024, MAX_FRAME_SIZE), 80);
}

#[test]
fn verdicts_match_the_requests_hyper_hands_over() {
    // What the guard computes from the request hyper builds (an absolute URI from
    // `:scheme`, `:authority` and `:path`).
    let ledger = Ledger::default();
    let mut wire = frame(HEADERS, END_HEADERS, 1, &request("GET", "/a?q=1"));
    wire.extend(frame(
        HEADERS,
        END_HEADERS,
        3,
        &request("DELETE", "/dav/coll/#frag"),
    ));
    wire.extend(frame(
        HEADERS,
        END_HEADERS,
        5,
        &request("GET", "/refused-by-h2"),
    ));
    wire.extend(frame(HEADERS, END_HEADERS, 7, &request("GET", "/b")));
    let (heads, _) = scan(&wire);
    for head in heads {
        ledger.record_stream(head);
    }
    let check =
        |method: Method, uri: &'static str| ledger.check_stream(&method, &Uri::from_static(uri));
    assert_eq!(check(Method::GET, "http://app.test/a?q=1"), Ok(()));
    assert_eq!(
        check(Method::DELETE, "http://app.test/dav/coll/"),
        Err(Refusal::FRAGMENT)
    );
    // Stream 5 never reaches the guard: its verdict is dropped by the next one's.
    assert_eq!(check(Method::GET, "http://app.test/b"), Ok(()));
    // A request without a verdict is refused.
    assert_eq!(
        check(Method::GET, "http://app.test/b"),
        Err(Refusal::UNVERIFIED_FRAMING)
    );
}

#[test]
fn a_ledger_that_loses_track_refuses_the_rest() {
    let ledger = Ledger::default();
    for _ in 0..=super::super::MAX_PENDING_STREAMS {
        ledger.record_stream(clean("GET", "/a"));
    }
    assert!(ledger.off.load(std::sync::atomic::Ordering::Acquire));
    assert_eq!(
        ledger.check_stream(&Method::GET, &Uri::from_static("/a")),
        Err(Refusal::UNVERIFIED_FRAMING)
    );
}

#[test]
fn the_preface_picks_the_scanner() {
    use crate::strict::{Limits, Wire};

    let limits = Limits {
        max_headers: 100,
        max_header_list_size: 64 * 1024,
    };
    // The preface, then a request, over reads of every size.
    let mut wire = PREFACE.to_vec();
    wire.extend(settings());
    wire.extend(frame(HEADERS, END_HEADERS, 1, &request("GET", "/a#b")));
    for chunk in 1..wire.len() {
        let ledger = Ledger::default();
        let mut scanner = Wire::Preface(0);
        for piece in wire.chunks(chunk) {
            scanner.feed(piece, &ledger, limits);
        }
        assert!(ledger.is_http2());
        assert_eq!(
            ledger.check_stream(&Method::GET, &Uri::from_static("http://app.test/a")),
            Err(Refusal::FRAGMENT)
        );
    }
    // Bytes that start like the preface and turn out HTTP/1: the HTTP/1 scanner sees
    // them all (a `PRI` request is HTTP/1 to hyper).
    let wire = b"PRI /x HTTP/1.1\r\nHost: a\r\n\r\n";
    for chunk in 1..wire.len() {
        let ledger = Ledger::default();
        let mut scanner = Wire::Preface(0);
        for piece in wire.chunks(chunk) {
            scanner.feed(piece, &ledger, limits);
        }
        assert!(!ledger.is_http2());
        assert!(matches!(scanner, Wire::Http1(_)));
        assert_eq!(ledger.heads.lock().len(), 1, "chunks of {chunk}");
    }
}
