//! The fast path's request-head parser (`h1_head`): split-invariant, and in step with
//! the wire scanner over a whole request stream.

use bytes::BytesMut;
use frontdoor::serve::__fuzz::{
    decode_body, parse_head, scan, BodyEnd, BodyKind, ParsedHead, Scanned,
};
use http::Uri;

/// A request stream through the fast path's head parser. The first byte's low bit
/// says whether the connection may still open with the HTTP/2 preface; the next two
/// are the lengths of the pieces the stream arrives in (cycled; 0 counts as 1); the
/// rest is the stream.
///
/// Each head is parsed as the connection loop does, from the whole buffer and again
/// piece by piece (parsing after each piece): the first answer that is not
/// `Partial` must be the whole buffer's. A request must be a head the wire scanner
/// reports at the same offset, with the same method and target and no refusal, and
/// its body (decoded by the fast path's decoder) must end where the scanner says the
/// message ends; a refusal must be the scanner's. The walk goes on with the next head
/// after each body, and stops at anything else (a handoff is hyper's to answer).
pub fn h1_head(data: &[u8]) {
    let [flags, a, b, stream @ ..] = data else {
        return;
    };
    let detect_h2 = flags & 1 == 1;
    let split = [usize::from(*a), usize::from(*b)];
    let (events, _) = scan(stream);
    let mut events = events.into_iter();
    let mut pos = 0;
    while pos < stream.len() {
        let rest = &stream[pos..];
        let mut buf = BytesMut::from(rest);
        let whole = parse_head(&mut buf, detect_h2);
        let consumed = rest.len() - buf.len();
        check_split(rest, &whole, consumed, &split, detect_h2);
        let head = match whole {
            ParsedHead::Partial | ParsedHead::Handoff(_) => return,
            ParsedHead::Refused(refusal) => {
                match events.next() {
                    Some(Scanned::Head { head, .. }) => assert_eq!(
                        head.refusal,
                        Some(refusal),
                        "the scanner does not refuse what the fast path refuses"
                    ),
                    other => panic!("refused {refusal:?}, the scanner saw {other:?}"),
                }
                return;
            }
            ParsedHead::Request(head) => head,
        };
        let head_end = pos + consumed;
        let target = raw_target(&stream[pos..head_end]);
        match events.next() {
            Some(Scanned::Head { at, head: seen }) => {
                assert_eq!(at, head_end, "the head ends elsewhere for the scanner");
                assert_eq!(seen.method.as_ref(), Some(&head.method), "method");
                assert_eq!(seen.refusal, None, "the scanner refuses a served request");
                assert!(seen.target_is(target.as_bytes()), "target {target:?}");
            }
            other => panic!("a request the scanner did not see as one: {other:?}"),
        }
        assert_eq!(
            Uri::try_from(target.as_str()).ok().as_ref(),
            Some(&head.uri),
            "the request's URI is not its target"
        );
        match decode_body(head.body, &stream[head_end..], &split) {
            BodyEnd::Complete { len, .. } => {
                let end = head_end + len;
                match events.next() {
                    Some(Scanned::MessageEnd { at }) => assert_eq!(
                        at, end,
                        "the body of a {:?} request ends elsewhere for the scanner",
                        head.body
                    ),
                    other => panic!("a body end the scanner did not see: {other:?}"),
                }
                if head.body == BodyKind::None {
                    assert_eq!(len, 0);
                }
                pos = end;
            }
            BodyEnd::Incomplete | BodyEnd::Invalid => {
                assert_eq!(
                    events.next(),
                    None,
                    "the scanner ended a body the fast path's decoder did not"
                );
                return;
            }
        }
    }
}

/// Parses `rest` again in the pieces `split` gives, after each piece as the
/// connection loop does, and checks the first answer that is not `Partial` is
/// `whole` (which used `consumed` bytes of `rest`).
fn check_split(rest: &[u8], whole: &ParsedHead, consumed: usize, split: &[usize], detect_h2: bool) {
    let mut buf = BytesMut::new();
    let mut appended = 0;
    let mut pieces = split.iter().copied().cycle();
    let piecewise = loop {
        let piece = pieces.next().unwrap_or(1).max(1);
        let to = (appended + piece).min(rest.len());
        buf.extend_from_slice(&rest[appended..to]);
        appended = to;
        let parsed = parse_head(&mut buf, detect_h2);
        if !matches!(parsed, ParsedHead::Partial) || appended == rest.len() {
            break parsed;
        }
    };
    match (whole, &piecewise) {
        (ParsedHead::Partial, ParsedHead::Partial) => {}
        (ParsedHead::Refused(a), ParsedHead::Refused(b)) => assert_eq!(a, b),
        (ParsedHead::Handoff(all), ParsedHead::Handoff(part)) => assert!(
            all.starts_with(part),
            "handed off bytes that are not the stream's"
        ),
        (ParsedHead::Request(a), ParsedHead::Request(b)) => {
            assert_eq!(a.method, b.method);
            assert_eq!(a.uri, b.uri);
            assert_eq!(a.version, b.version);
            assert_eq!(a.headers, b.headers);
            assert_eq!(a.body, b.body);
            assert_eq!(a.keep_alive, b.keep_alive);
            assert_eq!(appended - buf.len(), consumed, "the head's length");
        }
        _ => panic!("parsed whole: {whole:?}; in pieces {split:?}: {piecewise:?}"),
    }
}

/// The request target of a complete head, as `httparse` reads it.
fn raw_target(head: &[u8]) -> String {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => req.path.unwrap_or_default().to_owned(),
        other => panic!("a served head httparse does not parse: {other:?}"),
    }
}
