//! A request-smuggling and malformed-request corpus, usable against any proxy.
//!
//! Each [`SmuggleCase`] is a complete raw HTTP/1.1 exchange opener (head and,
//! where relevant, a body that hides a second request for `/smuggled`). A
//! conforming front answers with one of [`SmuggleCase::expect`] and never
//! forwards a complete request to any origin.
//!
//! Cases flagged [`SmuggleCase::normalise_ok`] are ones RFC 9112 lets a
//! recipient accept *if it repairs and re-serialises the message*, so that the
//! origin sees a clean message and no framing disagreement is possible:
//!
//! | case | repair RFC 9112 allows | frontdoor |
//! |---|---|---|
//! | `Content-Length` with `Transfer-Encoding` (`cl_then_te`, `te_then_cl`, `te_cl_classic`, `cl_te_zero_length`, `te_tab_then_cl`) | remove the `Content-Length`, decode the chunks (§6.3) | **refused**, 400 and close: §6.3 says such a message "ought to be handled as an error", and it is the classic smuggling shape |
//! | identical duplicate `Content-Length` (`cl_duplicate_identical`) | collapse to one value (RFC 9110 §8.6) | repaired: forwarded with one `Content-Length` |
//! | a `Content-Length` with leading zeros (`cl_leading_zeros`, `010`) | re-serialise the value (an origin reading `010` as octal frames 8 bytes) | repaired: forwarded as `10` |
//! | bare-LF line ends in the head (`bare_lf_head`) | accept LF as a line terminator (§2.2) | repaired: re-serialised with CRLF |
//! | an empty chunk-extension name (`chunk_ext_empty_name`) | ignore unrecognised extensions (§7.1.1) | repaired: the extension is dropped |
//!
//! Everything else in the corpus is refused by a conforming front, and never
//! forwarded:
//!
//! * malformed or conflicting `Content-Length` (not plain digits, lists,
//!   differing duplicates): 400, the body length is unknown;
//! * obfuscated `Transfer-Encoding` (a space before the colon, quotes, a vertical
//!   tab, `chunked` not last or applied twice, `Transfer-Encoding` on HTTP/1.0): 400;
//!   a coding the front does not implement (`gzip, chunked`): 400 or 501
//!   (RFC 9112 §6.1 suggests 501);
//! * header syntax a recipient must not repair (obs-fold, whitespace before the
//!   colon, bare CR, NUL, a missing or repeated `Host`, a `Host` that disagrees
//!   with an absolute-form target): 400;
//! * request-line defects (method, target and version syntax): 400 or 505;
//! * a `#fragment` in the target (`fragment_in_target`): 400 (a client never sends
//!   one, §3.2; a parser that drops it forwards another request: litmus's
//!   `DELETE /coll/#frag` would delete `/coll/`);
//! * `CONNECT` to a reverse proxy (`connect_request`): 400 or 405;
//! * oversized heads: 400 or 431 (414 for the target);
//! * chunked-body defects (`body_level`): the head was valid, so a streaming proxy
//!   may already have sent it upstream; it must then **abort** the upstream message
//!   (close the connection mid-message: no last chunk) and answer 400 or close.
//!
//! ```
//! use frontdoor_deproxy::smuggling;
//!
//! let corpus = smuggling::corpus();
//! assert!(corpus.len() >= 40);
//! let cl_te = corpus.iter().find(|c| c.name == "cl_then_te").unwrap();
//! assert_eq!(cl_te.expect, &[400]);
//! ```
//!
//! Typical use in a proxy's suite (see the workspace's `tests/it/stack/smuggling.rs`):
//! send each case with [`RequestBuilder::raw`](crate::RequestBuilder::raw),
//! then assert the status is in `expect` and [`Deproxy::all_handlings`](crate::Deproxy::all_handlings)
//! did not grow.

use bytes::Bytes;

/// One malformed or ambiguous request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmuggleCase {
    /// A short unique identifier.
    pub name: &'static str,
    /// The exact bytes to send.
    pub bytes: Bytes,
    /// The acceptable answer statuses.
    pub expect: &'static [u16],
    /// Whether RFC 9112 lets a re-serialising proxy forward it repaired instead
    /// (see the module docs for which, and what frontdoor does with each).
    pub normalise_ok: bool,
    /// Whether the defect is in the body framing (after a valid head): a
    /// streaming proxy may already have sent the head upstream and may close
    /// the connection instead of answering.
    pub body_level: bool,
}

const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: example\r\n\r\n";

fn case(name: &'static str, bytes: impl Into<Vec<u8>>, expect: &'static [u16]) -> SmuggleCase {
    SmuggleCase {
        name,
        bytes: Bytes::from(bytes.into()),
        expect,
        normalise_ok: false,
        body_level: false,
    }
}

/// A case RFC 9112 lets a recipient repair before forwarding: with both
/// `Transfer-Encoding` and `Content-Length`, an intermediary "MUST first
/// remove the received Content-Length field and process the
/// Transfer-Encoding" (RFC 9112 §6.3), and identical duplicate
/// `Content-Length` values may be collapsed into one (RFC 9110 §8.6). hyper
/// does both before a service sees the request, so a front that wants to refuse
/// them must look at the raw bytes (frontdoor's `serve` does, for
/// `Content-Length` with `Transfer-Encoding`); refusing with 400 is preferred.
fn repairable(c: SmuggleCase) -> SmuggleCase {
    SmuggleCase {
        normalise_ok: true,
        ..c
    }
}

/// A case whose defect is in the body framing, after a valid head.
fn body_level(c: SmuggleCase) -> SmuggleCase {
    SmuggleCase {
        body_level: true,
        ..c
    }
}

fn post(headers: &str, body: &str) -> String {
    format!("POST / HTTP/1.1\r\nHost: example\r\n{headers}\r\n{body}")
}

const BAD: &[u16] = &[400];
const BAD_OR_NOT_IMPL: &[u16] = &[400, 501];
const BAD_OR_VERSION: &[u16] = &[400, 505];
const BAD_OR_NOT_ALLOWED: &[u16] = &[400, 405];
const TOO_LARGE: &[u16] = &[400, 431];
const URI_TOO_LONG: &[u16] = &[400, 414, 431];

/// The corpus, in a stable order.
#[must_use]
pub fn corpus() -> Vec<SmuggleCase> {
    [
        cl_and_te(),
        content_length(),
        transfer_encoding(),
        header_syntax(),
        request_line(),
        sizes(),
        chunked_framing(),
        lenient_by_rfc(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A chunked body that ends at once and hides a request for `/smuggled`.
fn chunked_smuggle() -> String {
    format!("0\r\n\r\n{SMUGGLED}")
}

/// `Content-Length` and `Transfer-Encoding` together.
fn cl_and_te() -> Vec<SmuggleCase> {
    let chunked_smuggle = chunked_smuggle();
    vec![
        repairable(case(
            "cl_then_te",
            post(
                "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
                &chunked_smuggle,
            ),
            BAD,
        )),
        repairable(case(
            "te_then_cl",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n",
                &chunked_smuggle,
            ),
            BAD,
        )),
        repairable(case(
            "te_cl_classic",
            post(
                "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                &format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len()),
            ),
            BAD,
        )),
        repairable(case(
            "cl_te_zero_length",
            post(
                "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
                "0\r\n\r\n",
            ),
            BAD,
        )),
        // A tab after `chunked` (sozu#726): trimmed as whitespace by conforming
        // parsers, so still both headers.
        repairable(case(
            "te_tab_then_cl",
            post(
                "Transfer-Encoding: chunked\t\r\nContent-Length: 6\r\n",
                &chunked_smuggle,
            ),
            BAD,
        )),
    ]
}

/// Duplicate and malformed `Content-Length`.
fn content_length() -> Vec<SmuggleCase> {
    vec![
        case(
            "cl_duplicate_conflicting",
            post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
            BAD,
        ),
        repairable(case(
            "cl_duplicate_identical",
            post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
            BAD,
        )),
        // Leading zeros are valid digits (RFC 9110 §8.6), but an origin reading them
        // as octal frames `010` as 8 bytes: forward the canonical `10`, or refuse.
        repairable(case(
            "cl_leading_zeros",
            post("Content-Length: 010\r\n", "0123456789"),
            BAD,
        )),
        case("cl_list", post("Content-Length: 5, 5\r\n", "hello"), BAD),
        case(
            "cl_list_conflicting",
            post("Content-Length: 5, 6\r\n", "hello!"),
            BAD,
        ),
        case("cl_negative", post("Content-Length: -1\r\n", "x"), BAD),
        case("cl_plus_sign", post("Content-Length: +5\r\n", "hello"), BAD),
        case("cl_hex", post("Content-Length: 0x5\r\n", "hello"), BAD),
        case(
            "cl_inner_space",
            post("Content-Length: 1 2\r\n", "hello"),
            BAD,
        ),
        case(
            "cl_trailing_garbage",
            post("Content-Length: 5abc\r\n", "hello"),
            BAD,
        ),
        case("cl_empty", post("Content-Length: \r\n", "hello"), BAD),
        case(
            "cl_overflow",
            post("Content-Length: 99999999999999999999999\r\n", "hello"),
            BAD,
        ),
        case(
            "cl_space_before_colon",
            post("Content-Length : 5\r\n", "hello"),
            BAD,
        ),
    ]
}

/// Obfuscated `Transfer-Encoding`.
fn transfer_encoding() -> Vec<SmuggleCase> {
    let chunked_smuggle = chunked_smuggle();
    let mut cases = vec![
        case(
            "te_space_before_colon",
            post("Transfer-Encoding : chunked\r\n", &chunked_smuggle),
            BAD,
        ),
        case(
            "te_not_last_chunked",
            post("Transfer-Encoding: chunked, identity\r\n", &chunked_smuggle),
            BAD_OR_NOT_IMPL,
        ),
        case(
            "te_unknown_coding",
            post("Transfer-Encoding: xchunked\r\n", &chunked_smuggle),
            BAD_OR_NOT_IMPL,
        ),
        case(
            "te_gzip_then_chunked",
            post(
                "Transfer-Encoding: gzip, chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            BAD_OR_NOT_IMPL,
        ),
        case(
            "te_gzip_only",
            post("Transfer-Encoding: gzip\r\n", &chunked_smuggle),
            BAD_OR_NOT_IMPL,
        ),
    ];
    cases.extend(transfer_encoding_more());
    cases
}

/// The rest of [`transfer_encoding`]'s cases.
fn transfer_encoding_more() -> Vec<SmuggleCase> {
    let chunked_smuggle = chunked_smuggle();
    vec![
    case(
        "te_quoted",
        post("Transfer-Encoding: \"chunked\"\r\n", &chunked_smuggle),
        BAD_OR_NOT_IMPL,
    ),
    case(
        "te_chunked_twice_list",
        post("Transfer-Encoding: chunked, chunked\r\n", &chunked_smuggle),
        BAD,
    ),
    case(
        "te_chunked_twice_lines",
        post(
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            &chunked_smuggle,
        ),
        BAD,
    ),
    case(
        "te_vertical_tab",
        post("Transfer-Encoding: chunked\x0b\r\n", &chunked_smuggle),
        BAD,
    ),
    case(
        "te_obs_fold",
        post("Transfer-Encoding: identity\r\n chunked\r\n", &chunked_smuggle),
        BAD,
    ),
    case(
        "http10_with_te",
        format!(
            "POST / HTTP/1.0\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n{chunked_smuggle}"
        ),
        BAD,
    ),
    ]
}

/// Other header syntax.
fn header_syntax() -> Vec<SmuggleCase> {
    vec![
        case(
            "obs_fold_header",
            "GET / HTTP/1.1\r\nHost: example\r\nX-Folded: a\r\n b\r\n\r\n",
            BAD,
        ),
        case(
            "whitespace_before_colon",
            "GET / HTTP/1.1\r\nHost: example\r\nX-Space : a\r\n\r\n",
            BAD,
        ),
        case(
            "header_without_colon",
            "GET / HTTP/1.1\r\nHost: example\r\nNoColon\r\n\r\n",
            BAD,
        ),
        case(
            "header_empty_name",
            "GET / HTTP/1.1\r\nHost: example\r\n: value\r\n\r\n",
            BAD,
        ),
        case(
            "header_nul_in_value",
            "GET / HTTP/1.1\r\nHost: example\r\nX-Nul: a\0b\r\n\r\n",
            BAD,
        ),
        case(
            "header_bare_cr",
            "GET / HTTP/1.1\r\nHost: example\r\nX-Cr: a\rX-Injected: b\r\n\r\n",
            BAD,
        ),
        case(
            "header_space_before_first",
            "GET / HTTP/1.1\r\n Host: example\r\n\r\n",
            BAD,
        ),
        case("missing_host", "GET / HTTP/1.1\r\n\r\n", BAD),
        case(
            "duplicate_host",
            "GET / HTTP/1.1\r\nHost: example\r\nHost: other.example\r\n\r\n",
            BAD,
        ),
        case(
            "host_invalid_chars",
            "GET / HTTP/1.1\r\nHost: exa mple\r\n\r\n",
            BAD,
        ),
        case(
            "absolute_form_host_mismatch",
            "GET http://other.example/ HTTP/1.1\r\nHost: example\r\n\r\n",
            BAD,
        ),
    ]
}

/// The request line's cases: name, bytes, the statuses that pass.
#[rustfmt::skip]
const REQUEST_LINE: &[(&str, &str, &[u16])] = &[
    ("method_invalid_char", "GE(T / HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("method_with_space", "G ET / HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("method_empty", " / HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("nul_in_target", "GET /a\0b HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("space_in_target", "GET /a b HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("del_in_target", "GET /a\x7fb HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("tab_separators", "GET\t/\tHTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("double_space_separator", "GET  / HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
    ("version_1_2", "GET / HTTP/1.2\r\nHost: example\r\n\r\n", BAD_OR_VERSION),
    ("version_2_0_text", "GET / HTTP/2.0\r\nHost: example\r\n\r\n", BAD_OR_VERSION),
    ("version_lowercase", "GET / http/1.1\r\nHost: example\r\n\r\n", BAD_OR_VERSION),
    ("http09_request", "GET /\r\n\r\n", BAD_OR_VERSION),
    ("fragment_in_target", "DELETE /coll/#frag HTTP/1.1\r\nHost: example\r\n\r\n", BAD),
];

/// The request line.
fn request_line() -> Vec<SmuggleCase> {
    let mut cases: Vec<SmuggleCase> = REQUEST_LINE
        .iter()
        .map(|&(name, bytes, expect)| case(name, bytes, expect))
        .collect();
    cases.push(case(
        "connect_request",
        format!("CONNECT example:443 HTTP/1.1\r\nHost: example:443\r\n\r\n{SMUGGLED}"),
        BAD_OR_NOT_ALLOWED,
    ));
    cases
}

/// Oversized heads.
fn sizes() -> Vec<SmuggleCase> {
    vec![
        case(
            "oversized_header",
            format!(
                "GET / HTTP/1.1\r\nHost: example\r\nX-Big: {}\r\n\r\n",
                "a".repeat(512 * 1024)
            ),
            TOO_LARGE,
        ),
        case(
            "too_many_headers",
            format!(
                "GET / HTTP/1.1\r\nHost: example\r\n{}\r\n",
                (0..300)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            ),
            TOO_LARGE,
        ),
        case(
            "oversized_target",
            format!(
                "GET /{} HTTP/1.1\r\nHost: example\r\n\r\n",
                "a".repeat(512 * 1024)
            ),
            URI_TOO_LONG,
        ),
    ]
}

/// Chunked body framing (the head is valid).
fn chunked_framing() -> Vec<SmuggleCase> {
    let chunked_smuggle = chunked_smuggle();
    let body_cases: [(&'static str, String); 7] = [
        (
            "chunk_size_not_hex",
            format!("zz\r\nhello\r\n{chunked_smuggle}"),
        ),
        (
            "chunk_size_negative",
            format!("-5\r\nhello\r\n{chunked_smuggle}"),
        ),
        (
            "chunk_size_overflow",
            format!("fffffffffffffffffffff\r\nhello\r\n{chunked_smuggle}"),
        ),
        (
            "chunk_size_0x_prefix",
            format!("0x5\r\nhello\r\n{chunked_smuggle}"),
        ),
        (
            "chunk_data_longer_than_size",
            format!("3\r\nhello\r\n{chunked_smuggle}"),
        ),
        (
            "chunk_ext_with_bare_lf",
            format!("5;a\nb\r\nhello\r\n{chunked_smuggle}"),
        ),
        (
            "chunk_ext_oversized",
            format!("5;{}\r\nhello\r\n{chunked_smuggle}", "e".repeat(64 * 1024)),
        ),
    ];
    body_cases
        .into_iter()
        .map(|(name, body)| {
            body_level(case(
                name,
                post("Transfer-Encoding: chunked\r\n", &body),
                BAD,
            ))
        })
        .collect()
}

/// Lenient-by-RFC cases: reject, or accept only when re-serialising.
fn lenient_by_rfc() -> Vec<SmuggleCase> {
    let chunked_smuggle = chunked_smuggle();
    vec![
        repairable(case(
            "bare_lf_head",
            "GET / HTTP/1.1\nHost: example\n\n",
            BAD,
        )),
        repairable(body_level(case(
            "chunk_size_bare_lf",
            post(
                "Transfer-Encoding: chunked\r\n",
                &format!("5\nhello\n0\n\n{SMUGGLED}"),
            ),
            BAD,
        ))),
        repairable(body_level(case(
            "chunk_ext_empty_name",
            post(
                "Transfer-Encoding: chunked\r\n",
                &format!("5;\r\nhello\r\n{chunked_smuggle}"),
            ),
            BAD,
        ))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_corpus_is_large() {
        let c = corpus();
        assert!(c.len() >= 40, "{}", c.len());
        let mut names: Vec<_> = c.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), c.len());
        assert!(c.iter().all(|c| !c.expect.is_empty()));
    }
}
