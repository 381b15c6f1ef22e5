//! Content codings: which one a message's `Content-Encoding` names, and which ones a
//! client's `Accept-Encoding` accepts (RFC 9110 sections 8.4 and 12.5.3).

use std::fmt;

use frontdoor_core::proto::accept_encoding;
use http::{header::CONTENT_ENCODING, HeaderMap, HeaderValue};

use crate::event::SkipReason;

/// A content coding the relocation decodes and encodes again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Coding {
    /// `gzip` (and its alias `x-gzip`).
    Gzip,
    /// `deflate`: the zlib format (RFC 1950).
    Deflate,
    /// `br`: Brotli.
    Br,
    /// `zstd`: Zstandard.
    Zstd,
}

impl Coding {
    /// The four, in no order of preference.
    pub(crate) const ALL: [Self; 4] = [Self::Gzip, Self::Deflate, Self::Br, Self::Zstd];

    /// The coding's token, as `Content-Encoding` names it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Br => "br",
            Self::Zstd => "zstd",
        }
    }

    fn from_token(token: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| token.eq_ignore_ascii_case(c.as_str()))
            .or_else(|| token.eq_ignore_ascii_case("x-gzip").then_some(Self::Gzip))
    }

    pub(crate) const fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }
}

impl fmt::Display for Coding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The coding of a message body, from its `Content-Encoding` (`identity` entries
/// ignored): `Ok(None)` for none, or why it cannot be decoded.
pub(crate) fn content_coding(headers: &HeaderMap) -> Result<Option<Coding>, SkipReason> {
    let mut found = None;
    for value in headers.get_all(CONTENT_ENCODING) {
        let value = value.to_str().map_err(|_| SkipReason::UnknownCoding)?;
        for token in value.split(',').map(str::trim) {
            if token.is_empty() || token.eq_ignore_ascii_case("identity") {
                continue;
            }
            let coding = Coding::from_token(token).ok_or(SkipReason::UnknownCoding)?;
            if found.replace(coding).is_some() {
                return Err(SkipReason::StackedCodings);
            }
        }
    }
    Ok(found)
}

/// The codings a client's `Accept-Encoding` accepts with a q-value above 0, named or
/// through `*`. Without the header only identity is used: a client that sent none
/// (curl without `--compressed`, many scripts) may not decode anything else.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Indexed as [`Coding::ALL`].
    codings: [bool; 4],
}

impl Accepted {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut named = [None::<bool>; 4];
        let mut star = None::<bool>;
        for (token, q) in accept_encoding(headers) {
            // Only an explicit zero weight refuses a coding.
            let accepted = q != Some(0);
            if token == "*" {
                star = Some(accepted);
            } else if let Some(coding) = Coding::from_token(token) {
                if let Some(i) = Coding::ALL.iter().position(|c| *c == coding) {
                    named[i] = Some(accepted);
                }
            }
        }
        let mut codings = [false; 4];
        for (slot, name) in codings.iter_mut().zip(named) {
            *slot = name.or(star).unwrap_or(false);
        }
        Self { codings }
    }

    /// Whether `coding` may be sent to this client.
    pub(crate) fn accepts(self, coding: Coding) -> bool {
        Coding::ALL
            .iter()
            .position(|c| *c == coding)
            .and_then(|i| self.codings.get(i).copied())
            .unwrap_or(false)
    }
}

/// The `Accept-Encoding` of a 415 for a request body in a coding that cannot be
/// decoded (RFC 9110 section 15.5.16).
pub(crate) const SUPPORTED: HeaderValue = HeaderValue::from_static("gzip, deflate, br, zstd");

#[cfg(test)]
mod tests {
    use http::HeaderName;

    use super::*;

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn content_codings() {
        let table: [(&[&str], Result<Option<Coding>, SkipReason>); 10] = [
            (&[], Ok(None)),
            (&["identity"], Ok(None)),
            (&["gzip"], Ok(Some(Coding::Gzip))),
            (&["X-GZIP"], Ok(Some(Coding::Gzip))),
            (&["deflate"], Ok(Some(Coding::Deflate))),
            (&["identity, br"], Ok(Some(Coding::Br))),
            (&["zstd"], Ok(Some(Coding::Zstd))),
            (&["compress"], Err(SkipReason::UnknownCoding)),
            (&["gzip, br"], Err(SkipReason::StackedCodings)),
            (&["gzip", "gzip"], Err(SkipReason::StackedCodings)),
        ];
        for (values, want) in table {
            assert_eq!(
                content_coding(&headers("content-encoding", values)),
                want,
                "{values:?}"
            );
        }
    }

    #[test]
    fn accept_encoding_q_values() {
        let table: [(&[&str], [bool; 4]); 8] = [
            (&[], [false; 4]),
            (&["identity"], [false; 4]),
            (&["gzip, deflate, br, zstd"], [true; 4]),
            (&["gzip;q=0.5", "br; Q=0"], [true, false, false, false]),
            (&["*"], [true; 4]),
            (&["*;q=0.1, gzip;q=0"], [false, true, true, true]),
            (&["br;q=0.000, *;q=0"], [false; 4]),
            (&["x-gzip"], [true, false, false, false]),
        ];
        for (values, want) in table {
            let accepted = Accepted::from_headers(&headers("accept-encoding", values));
            let got = Coding::ALL.map(|c| accepted.accepts(c));
            assert_eq!(got, want, "{values:?}");
        }
    }
}
