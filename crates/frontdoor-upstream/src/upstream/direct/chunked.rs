//! The chunked coding's framing (RFC 9112 §7.1), parsed from the read buffer: chunk
//! size lines (hex size, optional whitespace and extensions, CRLF) and the trailer
//! section. Pure, I/O-free.

use bytes::{Buf as _, BytesMut};
use frontdoor_core::BoxError;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::read::{MAX_HEAD, MAX_HEADERS};

/// The longest chunk size line, extensions included.
const MAX_LINE: usize = 4 * 1024;

/// A chunk size line at the start of `buf`: the bytes it takes and the size; `None`
/// while incomplete.
pub(super) fn size_line(buf: &[u8]) -> Result<Option<(usize, u64)>, BoxError> {
    let window = &buf[..buf.len().min(MAX_LINE)];
    let Some(lf) = window.iter().position(|b| *b == b'\n') else {
        if buf.len() >= MAX_LINE {
            return Err("chunk size line too long".into());
        }
        return Ok(None);
    };
    let Some(line) = window[..lf].strip_suffix(b"\r") else {
        return Err("chunk size line not ended by CRLF".into());
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err("chunk size missing".into());
    }
    if digits > 16 {
        return Err("chunk size too large".into());
    }
    let mut size = 0u64;
    for b in &line[..digits] {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        size = (size << 4) | u64::from(d);
    }
    let rest = &line[digits..];
    let rest = &rest[rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()..];
    let valid = match rest.split_first() {
        None => true,
        Some((b';', ext)) => ext
            .iter()
            .all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f)),
        Some(_) => false,
    };
    if !valid {
        return Err("invalid chunk size line".into());
    }
    Ok(Some((lf + 1, size)))
}

/// The trailer section at the start of `buf` (after the last chunk), removed from
/// it; `None` while incomplete.
pub(super) fn trailers(buf: &mut BytesMut) -> Result<Option<HeaderMap>, BoxError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let (len, fields) = match httparse::parse_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(done)) => done,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) => return Err("upstream trailers too large".into()),
        Err(e) => return Err(e.into()),
    };
    let mut map = HeaderMap::with_capacity(fields.len());
    for f in fields {
        map.append(
            HeaderName::from_bytes(f.name.as_bytes())?,
            HeaderValue::from_bytes(f.value)?,
        );
    }
    buf.advance(len);
    Ok(Some(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_lines() {
        assert_eq!(size_line(b"a\r\nxyz").unwrap(), Some((3, 10)));
        assert_eq!(size_line(b"1F;name=v\r\n").unwrap(), Some((11, 31)));
        assert_eq!(size_line(b"0  \r\n").unwrap(), Some((5, 0)));
        assert_eq!(size_line(b"10").unwrap(), None);
        for bad in [
            &b"\r\n"[..],
            b"x\r\n",
            b"5\n",
            b"5 x\r\n",
            b"11111111111111111\r\n",
        ] {
            assert!(size_line(bad).is_err(), "{bad:?}");
        }
        assert!(size_line(&[b'1'; MAX_LINE]).is_err());
    }

    #[test]
    fn trailer_sections() {
        let mut buf = BytesMut::from(&b"\r\nnext"[..]);
        assert!(trailers(&mut buf).unwrap().unwrap().is_empty());
        assert_eq!(&buf[..], b"next");
        let mut buf = BytesMut::from(&b"x-t: 1\r\n\r\n"[..]);
        assert_eq!(trailers(&mut buf).unwrap().unwrap()["x-t"], "1");
        assert!(buf.is_empty());
        let mut buf = BytesMut::from(&b"x-t: 1\r\n"[..]);
        assert!(trailers(&mut buf).unwrap().is_none());
    }
}
