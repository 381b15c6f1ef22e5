//! `Accept-Encoding`: its entries and their RFC 9110 weights, read one way for every
//! layer that picks a content coding for the client (response compression, and
//! relocation encoding a rewritten body again).

use http::{header, HeaderMap};

/// Every `coding;q=value` entry of every `Accept-Encoding` line of `headers`, as
/// `(coding, weight)`: the weight in thousandths (`1000` without a parameter), or
/// `None` when the parameter is not a valid weight (`q=2`, `q=0.1234`, `level=1`),
/// which a caller that reads weights as tower-http does skips.
///
/// ```
/// use frontdoor_core::proto::accept_encoding;
/// use http::{header::ACCEPT_ENCODING, HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, br;q=0.5, zstd;q=2"));
/// let entries: Vec<_> = accept_encoding(&headers).collect();
/// assert_eq!(entries, [("gzip", Some(1000)), ("br", Some(500)), ("zstd", None)]);
/// ```
pub fn accept_encoding(headers: &HeaderMap) -> impl Iterator<Item = (&str, Option<u16>)> {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .filter_map(|entry| {
            let mut parts = entry.splitn(2, ';');
            let coding = parts.next()?.trim();
            if coding.is_empty() {
                return None;
            }
            let q = match parts.next() {
                Some(param) => qvalue(param.trim()),
                None => Some(1000),
            };
            Some((coding, q))
        })
}

/// RFC 9110's `q=` weight, `0` to `1` with at most three decimals, in thousandths.
#[must_use]
pub fn qvalue(text: &str) -> Option<u16> {
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
    use super::*;

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
