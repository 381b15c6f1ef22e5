//! The scanner against hand-written streams, each fed whole and split at every byte:
//! the events must not depend on how the stream arrives.

use super::*;

/// What the scanner reports for `stream` fed in one piece, checked against the
/// same stream fed at every split into two reads and byte by byte.
fn events(stream: &[u8]) -> (Vec<Event>, bool) {
    let run = |pieces: &[&[u8]]| {
        let mut scanner = Scanner::default();
        let mut out = Vec::new();
        for piece in pieces {
            scanner.feed(piece, &mut |e| out.push(e));
        }
        (out, scanner.is_off())
    };
    let whole = run(&[stream]);
    for split in 1..stream.len() {
        let (a, b) = stream.split_at(split);
        assert_eq!(run(&[a, b]), whole, "split at {split} of {stream:?}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&bytes), whole, "byte by byte: {stream:?}");
    whole
}

fn head(method: &str, target: &str, refusal: Option<Refusal>) -> Event {
    Event::Head(Head {
        method: Some(Method::from_bytes(method.as_bytes()).unwrap()),
        target: Fingerprint::of(target.as_bytes()),
        refusal,
    })
}

use Event::MessageEnd as End;

#[test]
fn heads_and_message_ends_in_order() {
    let stream = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
        POST /b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
        PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n3 \t\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n\
        OPTIONS * HTTP/1.0\r\n\r\n";
    assert_eq!(
        events(stream),
        (
            vec![
                head("GET", "/a", None),
                End,
                head("POST", "/b?x=1", None),
                End,
                head("PUT", "/c", None),
                End,
                head("OPTIONS", "*", None),
                End,
            ],
            false
        )
    );
}

#[test]
fn a_body_not_yet_complete_has_no_end() {
    let (out, off) =
        events(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    assert_eq!(out, [head("POST", "/", None)]);
    assert!(!off);
    let (out, _) = events(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello");
    assert_eq!(out, [head("POST", "/", None)]);
}

#[test]
fn leading_empty_lines_and_bare_lf_heads_are_what_hyper_accepts() {
    assert_eq!(
        events(b"\r\n\nGET / HTTP/1.1\nHost: h\n\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
        (
            vec![head("GET", "/", None), End, head("GET", "/2", None), End],
            false
        )
    );
    // A CR that is not followed by LF: httparse refuses it.
    assert_eq!(events(b"\rGET / HTTP/1.1\r\n\r\n"), (vec![], true));
}

#[test]
fn content_length_with_transfer_encoding_is_refused_whatever_the_order() {
    let refused = head(
        "POST",
        "/",
        Some(Refusal::CONTENT_LENGTH_WITH_TRANSFER_ENCODING),
    );
    for framing in [
        "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n",
        "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\t\r\nContent-Length: 6\r\n",
        "transfer-encoding: gzip\r\ncontent-length: 6\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: nonsense\r\n",
    ] {
        let stream = format!(
            "POST / HTTP/1.1\r\nHost: h\r\n{framing}\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
        );
        // Nothing after the refused head is scanned: the connection closes.
        assert_eq!(
            events(stream.as_bytes()),
            (vec![refused.clone_event()], true),
            "{framing}"
        );
    }
}

#[test]
fn a_fragment_is_refused_and_not_part_of_the_fingerprint() {
    assert_eq!(
        events(b"DELETE /coll/#frag HTTP/1.1\r\nHost: h\r\n\r\n"),
        (
            vec![head("DELETE", "/coll/", Some(Refusal::FRAGMENT))],
            true
        )
    );
}

#[test]
fn what_hyper_refuses_stops_the_scanner() {
    for stream in [
        // Heads.
        &b"GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
    ] {
        let (out, off) = events(stream);
        assert!(off, "{stream:?}");
        assert!(!out.contains(&End), "{stream:?}");
    }
    // Chunked bodies, after a valid head.
    for body in [
        &b"zz\r\n"[..],
        b"-5\r\n",
        b"fffffffffffffffffffff\r\n",
        b"5\nhello",
        b"5;a\nb\r\n",
        b"5\r\nhelloXX\r\n0\r\n\r\n",
        b"5 x\r\n",
        b"0\r\n\r\x00",
        b"0\r\nX: 1\rY\r\n\r\n",
    ] {
        let mut stream =
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        stream.extend_from_slice(body);
        let (out, off) = events(&stream);
        assert_eq!(out, [head("POST", "/", None)], "{body:?}");
        assert!(off, "{body:?}");
    }
}

#[test]
fn limits_are_hyper_s() {
    let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let run = |body: Vec<u8>| {
        let mut scanner = Scanner::default();
        let mut out = Vec::new();
        scanner.feed(chunked, &mut |e| out.push(e));
        scanner.feed(&body, &mut |e| out.push(e));
        (out.len(), scanner.is_off())
    };
    // Chunk extensions: hyper fails at 16 KiB per message.
    let ext = |n: usize| format!("1;{}\r\na\r\n0\r\n\r\n", "e".repeat(n)).into_bytes();
    assert_eq!(run(ext(16 * 1024 - 1)), (2, false));
    assert_eq!(run(ext(16 * 1024)), (1, true));
    // Trailers: at most 100 lines.
    let trailers = |n: usize| format!("0\r\n{}\r\n", "T: 1\r\n".repeat(n)).into_bytes();
    assert_eq!(run(trailers(100)), (2, false));
    assert_eq!(run(trailers(101)), (1, true));
    // A configured header limit is hyper's too, for heads and trailers.
    let head = |n: usize| format!("GET / HTTP/1.1\r\n{}\r\n", "H: 1\r\n".repeat(n));
    for (limit, lines, off) in [
        (100, 100, false),
        (100, 101, true),
        (150, 150, false),
        (150, 151, true),
        (8, 9, true),
    ] {
        let mut scanner = Scanner::new(limit);
        scanner.feed(head(lines).as_bytes(), &mut |_| {});
        assert_eq!(
            scanner.is_off(),
            off,
            "{lines} lines under a limit of {limit}"
        );
    }
    // A head longer than hyper's buffer.
    let mut scanner = Scanner::default();
    let big = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_PENDING_HEAD));
    scanner.feed(big.as_bytes(), &mut |_| {});
    assert!(scanner.is_off());
}

#[test]
fn fingerprints_tell_targets_apart() {
    assert_eq!(Fingerprint::of(b"/a"), Fingerprint::of(b"/a"));
    assert_ne!(Fingerprint::of(b"/a"), Fingerprint::of(b"/b"));
    assert_ne!(Fingerprint::of(b"/a"), Fingerprint::of(b"/a?"));
}

impl Event {
    fn clone_event(&self) -> Self {
        match self {
            Self::Head(h) => Self::Head(Head {
                method: h.method.clone(),
                target: h.target,
                refusal: h.refusal,
            }),
            Self::MessageEnd => Self::MessageEnd,
        }
    }
}
