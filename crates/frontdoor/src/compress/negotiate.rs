//! The client's choice of a content coding: `Accept-Encoding` read as tower-http
//! reads it (its q-value grammar, so the coding chosen here is one tower-http accepts
//! too), ties broken by the configured preference order.

use http::{header, HeaderMap};

use super::Algorithm;

/// The accepted algorithm of `algorithms` with the highest q-value, ties going to
/// the one listed first; `None` when the client accepts none of them (absent, or
/// `q=0`), or when it weighs `identity` above every one it accepts. `*` chooses
/// nothing: an answer is compressed only with a coding the client names.
pub(super) fn choose(headers: &HeaderMap, algorithms: &[Algorithm]) -> Option<Algorithm> {
    let mut best: Option<(u16, usize)> = None;
    let mut identity = 0;
    for (coding, q) in accepted(headers) {
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

/// Every `coding;q=value` of every `Accept-Encoding` line, q in thousandths; an
/// entry whose parameter is not a valid q-value is skipped (as tower-http does).
fn accepted(headers: &HeaderMap) -> impl Iterator<Item = (&str, u16)> {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .filter_map(|entry| {
            let mut parts = entry.splitn(2, ';');
            let coding = parts.next()?.trim();
            let q = match parts.next() {
                Some(param) => qvalue(param.trim())?,
                None => 1000,
            };
            Some((coding, q))
        })
}

/// RFC 9110's `q=` weight, `0` to `1` with at most three decimals, in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let rest = text
        .strip_prefix("q=")
        .or_else(|| text.strip_prefix("Q="))?;
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value = whole;
    for (digit, factor) in frac.bytes().zip([100, 10, 1]) {
        value += u16::from(digit - b'0') * factor;
    }
    (value <= 1000).then_some(value)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

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

    #[test]
    fn weights() {
        assert_eq!(qvalue("q=1"), Some(1000));
        assert_eq!(qvalue("q=1.000"), Some(1000));
        assert_eq!(qvalue("q=0.5"), Some(500));
        assert_eq!(qvalue("Q=0.125"), Some(125));
        for bad in ["q=1.001", "q=0.1234", "q=2", "q=", "q=.5", "q=0.a", "x=1"] {
            assert_eq!(qvalue(bad), None, "{bad}");
        }
    }
}
