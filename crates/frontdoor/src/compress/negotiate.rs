//! The client's choice of a content coding: `Accept-Encoding` read as tower-http
//! reads it (its q-value grammar, so the coding chosen here is one tower-http accepts
//! too), ties broken by the configured preference order.

use frontdoor_core::proto::accept_encoding;
use http::HeaderMap;

use super::Algorithm;

/// The accepted algorithm of `algorithms` with the highest q-value, ties going to
/// the one listed first; `None` when the client accepts none of them (absent, or
/// `q=0`), or when it weighs `identity` above every one it accepts. `*` chooses
/// nothing: an answer is compressed only with a coding the client names.
pub(super) fn choose(headers: &HeaderMap, algorithms: &[Algorithm]) -> Option<Algorithm> {
    let mut best: Option<(u16, usize)> = None;
    let mut identity = 0;
    // An entry with an invalid weight is skipped, as tower-http skips it.
    for (coding, q) in accept_encoding(headers).filter_map(|(c, q)| Some((c, q?))) {
        if coding.eq_ignore_ascii_case("identity") {
            identity = identity.max(q);
            continue;
        }
        let Some(rank) = algorithms.iter().position(|a| a.is_named(coding)) else {
            continue;
        };
        let better = match best {
            None => q > 0,
            Some((best_q, best_rank)) => q > best_q || (q == best_q && rank < best_rank),
        };
        if better {
            best = Some((q, rank));
        }
    }
    best.filter(|&(q, _)| q >= identity)
        .map(|(_, rank)| algorithms[rank])
}

#[cfg(test)]
mod tests {
    use http::{header, HeaderValue};

    use super::*;
    use Algorithm::{Br, Gzip, Zstd};

    fn choice(accept: &[&str], algorithms: &[Algorithm]) -> Option<Algorithm> {
        let mut headers = HeaderMap::new();
        for line in accept {
            headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(line).unwrap(),
            );
        }
        choose(&headers, algorithms)
    }

    #[test]
    fn q_values_then_preference_order() {
        let all = [Zstd, Br, Gzip];
        let cases: [(&[&str], Option<Algorithm>); 16] = [
            (&["identity, gzip;q=0.5"], None),
            (&["identity;q=0.5, gzip;q=0.5"], Some(Gzip)),
            (&[], None),
            (&["identity"], None),
            (&["*"], None),
            (&["gzip"], Some(Gzip)),
            (&["x-gzip"], Some(Gzip)),
            (&["GZIP, Br"], Some(Br)),
            (&["gzip, deflate, br, zstd"], Some(Zstd)),
            (&["gzip;q=1, br;q=0.5"], Some(Gzip)),
            (&["zstd;q=0.001, gzip;q=0.002"], Some(Gzip)),
            (&["gzip;q=0"], None),
            (&["br;q=0, gzip"], Some(Gzip)),
            (&["gzip;q=0.5", "br;q=0.8"], Some(Br)),
            // An invalid weight drops its entry, as tower-http drops it.
            (&["br;q=2, gzip;q=0.1"], Some(Gzip)),
            (&["br;level=1, gzip;q=0.1"], Some(Gzip)),
        ];
        for (accept, expected) in cases {
            assert_eq!(choice(accept, &all), expected, "{accept:?}");
        }
        // Ties go to the configured order; unconfigured codings are never chosen.
        assert_eq!(choice(&["zstd, br, gzip"], &[Gzip, Br]), Some(Gzip));
        assert_eq!(choice(&["zstd;q=0.9, br"], &[Gzip, Zstd]), Some(Zstd));
        assert_eq!(choice(&["br"], &[Gzip, Zstd]), None);
    }
}
