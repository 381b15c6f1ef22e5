//! The harness's request-smuggling corpus through the real stack: every case answered
//! with an acceptable status and never forwarded (or, for the cases RFC 9112 lets a
//! recipient repair and the stack does, forwarded once and repaired). A body-level
//! defect may reach the origin as a head, but never as a complete request.

use frontdoor_deproxy::{smuggling, ClientError, Deproxy};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};

use super::support::{echo_front, CLIENT_BOUND};

/// The cases the stack forwards repaired (all flagged `normalise_ok` by the corpus,
/// and allowed as repairs by RFC 9112): hyper collapses identical duplicate
/// `Content-Length` values (RFC 9110 §8.6) and accepts bare-LF heads and an empty
/// chunk-extension name, and the origin then gets a single, clean framing header and
/// never the hidden request. The corpus's other repairable cases, `Content-Length`
/// with `Transfer-Encoding`, are refused by `serve` on the wire (400 and close):
/// RFC 9112 §6.3 says such a message "ought to be handled as an error".
const REPAIRED: &[&str] = &[
    "cl_duplicate_identical",
    "cl_leading_zeros",
    "bare_lf_head",
    "chunk_ext_empty_name",
];

#[tokio::test]
async fn smuggling_corpus_is_refused_and_never_forwarded() {
    let d = Deproxy::new();
    let (origin, front) = echo_front(&d).await;

    // sanity: the stack forwards a clean request
    let ok = d.make_request(front.at("/")).send().await;
    assert_eq!(ok.status(), Some(200), "{ok:#?}");
    assert_eq!(ok.handlings.len(), 1);

    let corpus = smuggling::corpus();
    assert!(corpus.len() >= 40);
    let mut failures = Vec::new();
    let mut repaired = Vec::new();
    for case in corpus {
        let handlings_before = d.all_handlings().len();
        let heads_before = origin.requests_seen();
        let mc = d
            .make_request(&front.url)
            .raw(case.bytes.clone())
            .timeout(CLIENT_BOUND)
            .send()
            .await;
        let forwarded = d.all_handlings().len() - handlings_before;
        let heads = origin.requests_seen() - heads_before;
        let status = mc.status();
        // Refused: an acceptable status, and not even the head reached the origin.
        let refused = status.is_some_and(|s| case.expect.contains(&s)) && heads == 0;
        // Body-level defects arrive after a valid head: the stack may already have
        // streamed the head upstream and can then only close the connection (or
        // answer), but no complete request may reach the origin.
        let closed_ok = case.body_level
            && forwarded == 0
            && mc.client_error != Some(ClientError::Timeout)
            && (status.is_none() || status.is_some_and(|s| case.expect.contains(&s)));
        // Forwarding is acceptable only for cases RFC 9112 lets a recipient repair,
        // and only once repaired: one framing header, no smuggled request.
        let normalised_ok = case.normalise_ok
            && status == Some(200)
            && forwarded == 1
            && d.all_handlings().last().is_some_and(|h| {
                let hs = h.request.headers();
                hs.get_all(CONTENT_LENGTH).iter().count() <= 1
                    && !(hs.contains_key(CONTENT_LENGTH) && hs.contains_key(TRANSFER_ENCODING))
                    // Re-serialised: a length is forwarded as canonical decimal.
                    && hs
                        .get(CONTENT_LENGTH)
                        .is_none_or(|v| v.len() == 1 || !v.as_bytes().starts_with(b"0"))
            });
        if normalised_ok {
            repaired.push(case.name);
        }
        if !(refused || closed_ok || normalised_ok) {
            failures.push(format!(
                "{}: status {status:?}, heads {heads}, forwarded {forwarded}, error {:?}",
                case.name, mc.client_error
            ));
        }
        assert!(
            mc.elapsed < CLIENT_BOUND,
            "{}: hung for {:?}",
            case.name,
            mc.elapsed
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        !d.all_handlings()
            .iter()
            .any(|h| h.request.uri().path() == "/smuggled"),
        "a smuggled request reached the origin"
    );
    // Pinned so a change in what the stack forwards after repair is noticed.
    assert_eq!(
        repaired, REPAIRED,
        "the repaired-and-forwarded cases changed"
    );
}
