//! A captured body decoded from its `Content-Encoding` (gzip, deflate, br, zstd)
//! before the body comparators see it, so two answers with the same content in
//! different codings compare equal. The decoded bytes are bounded like the capture:
//! past the limit a side counts as truncated (only the common prefix is compared).

use std::io::{self, Read};

use bytes::Bytes;
use http::{header, HeaderMap};

use super::{BodyState, CapturedResponse};

/// The largest zstd window accepted (8 MiB, 2^23, as browsers accept): a frame
/// asking for more is not decoded, so a shadow cannot make the comparison allocate
/// a 2 GiB window.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// The content codings decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

impl Coding {
    /// The one coding the headers name (`identity` aside); `None` when there is
    /// none, more than one, or one not decoded here.
    fn of(headers: &HeaderMap) -> Option<Self> {
        let mut codings = headers
            .get_all(header::CONTENT_ENCODING)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("?").split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
        let one = codings.next()?;
        if codings.next().is_some() {
            return None;
        }
        [
            ("gzip", Self::Gzip),
            ("x-gzip", Self::Gzip),
            ("deflate", Self::Deflate),
            ("br", Self::Br),
            ("zstd", Self::Zstd),
        ]
        .into_iter()
        .find_map(|(name, coding)| one.eq_ignore_ascii_case(name).then_some(coding))
    }

    fn reader<'a>(self, data: &'a [u8]) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Self::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
            // `deflate` is the zlib format (RFC 9110); some servers send a raw
            // deflate stream instead, which has no zlib header.
            Self::Deflate if zlib_header(data) => Box::new(flate2::read::ZlibDecoder::new(data)),
            Self::Deflate => Box::new(flate2::read::DeflateDecoder::new(data)),
            Self::Br => Box::new(brotli::Decompressor::new(data, 4096)),
            Self::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(data)?;
                decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Box::new(decoder)
            }
        })
    }
}

/// Whether `data` starts with a zlib header (RFC 1950: deflate, a check sum of the
/// two bytes divisible by 31).
fn zlib_header(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// `side`'s body as the body comparators see it: decoded (at most `limit` bytes)
/// when its `Content-Encoding` is one of gzip, deflate, br or zstd, else as captured.
/// A body in an unknown coding, in several codings, or a complete body that does
/// not decode, is compared as captured. A truncated or incomplete body decodes as far
/// as it goes and stays a prefix.
pub(super) fn content(side: &CapturedResponse, limit: usize) -> (Bytes, BodyState) {
    let raw = (side.body.clone(), side.body_state);
    if side.body_state == BodyState::NotCaptured {
        return raw;
    }
    let Some(coding) = Coding::of(&side.headers) else {
        return raw;
    };
    let mut out = Vec::new();
    let read = coding.reader(&side.body).and_then(|reader| {
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        reader.take(cap).read_to_end(&mut out)
    });
    let state = match (read, side.body_state) {
        (Err(_), BodyState::Complete) => return raw,
        (_, state) if out.len() > limit => {
            out.truncate(limit);
            if state == BodyState::Complete {
                BodyState::Truncated
            } else {
                state
            }
        }
        (_, state) => state,
    };
    (Bytes::from(out), state)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use http::{HeaderValue, StatusCode};

    use super::*;

    fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
        match coding {
            "gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "deflate" => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "raw-deflate" => {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "br" => {
                let mut out = Vec::new();
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
                e.write_all(data).unwrap();
                drop(e);
                out
            }
            "zstd" => zstd::stream::encode_all(data, 3).unwrap(),
            other => panic!("no encoder for {other}"),
        }
    }

    fn side(coding: &str, body: Vec<u8>, state: BodyState) -> CapturedResponse {
        let mut headers = HeaderMap::new();
        if !coding.is_empty() {
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_str(coding).unwrap(),
            );
        }
        CapturedResponse::new(StatusCode::OK, headers).with_body(Bytes::from(body), state)
    }

    #[test]
    fn each_coding_decodes() {
        let text = b"the same content, ".repeat(50);
        for (header, encoder) in [
            ("gzip", "gzip"),
            ("x-gzip", "gzip"),
            ("deflate", "deflate"),
            ("deflate", "raw-deflate"),
            ("br", "br"),
            ("zstd", "zstd"),
            ("identity, ZSTD", "zstd"),
        ] {
            let s = side(header, encode(encoder, &text), BodyState::Complete);
            assert_eq!(
                content(&s, 1 << 20),
                (Bytes::from(text.clone()), BodyState::Complete),
                "{header}"
            );
        }
    }

    #[test]
    fn bounded_and_prefixes() {
        let text = b"0123456789".repeat(100);
        let s = side("gzip", encode("gzip", &text), BodyState::Complete);
        assert_eq!(
            content(&s, 100),
            (Bytes::copy_from_slice(&text[..100]), BodyState::Truncated)
        );
        assert_eq!(
            content(&s, 1000),
            (Bytes::from(text.clone()), BodyState::Complete)
        );
        // A truncated capture decodes as far as it goes.
        let mut cut = encode("gzip", &text);
        cut.truncate(cut.len() - 12);
        let (got, state) = content(&side("gzip", cut, BodyState::Truncated), 1 << 20);
        assert_eq!(state, BodyState::Truncated);
        assert!(text.starts_with(&got), "not a prefix");
    }

    #[test]
    fn raw_when_unknown_stacked_or_broken() {
        for (header, body) in [
            ("", b"plain".to_vec()),
            ("compress", b"lzw?".to_vec()),
            ("gzip, br", encode("gzip", b"x")),
            ("gzip", b"not gzip at all".to_vec()),
        ] {
            let s = side(header, body.clone(), BodyState::Complete);
            assert_eq!(
                content(&s, 1 << 20),
                (Bytes::from(body), BodyState::Complete),
                "{header}"
            );
        }
    }

    #[test]
    fn the_same_content_in_two_codings_compares_equal() {
        use crate::compare::{compare_all_within, Comparator, Diff};

        let comparators = [Comparator::Body, Comparator::Json];
        let doc = br#"{"items":[1,2,3],"name":"same content"}"#;
        let other = br#"{"items":[1,2,4],"name":"same content"}"#;
        let gzip = side("gzip", encode("gzip", doc), BodyState::Complete);
        for coding in ["", "br", "zstd", "deflate"] {
            let body = if coding.is_empty() {
                doc.to_vec()
            } else {
                encode(coding, doc)
            };
            let replay = side(coding, body, BodyState::Complete);
            assert_eq!(
                compare_all_within(&comparators, &gzip, &replay, 1 << 20),
                [],
                "{coding}"
            );
            let changed = side(
                coding,
                if coding.is_empty() {
                    other.to_vec()
                } else {
                    encode(coding, other)
                },
                BodyState::Complete,
            );
            assert_eq!(
                compare_all_within(&comparators, &gzip, &changed, 1 << 20),
                [
                    Diff::Body {
                        offset: 14,
                        original_len: doc.len(),
                        replay_len: other.len()
                    },
                    Diff::Json {
                        path: Some("$.items[2]".to_owned())
                    },
                ],
                "{coding}"
            );
        }
        // Past the limit only the common prefix counts: a difference after it is not seen.
        let cut = compare_all_within(
            &[Comparator::Body],
            &gzip,
            &side("br", encode("br", other), BodyState::Complete),
            14,
        );
        assert_eq!(cut, []);
    }
}
