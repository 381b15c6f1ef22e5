//! Buffer plumbing shared by the rewriters: splicing replacements into an input
//! buffer, and holding back (capped) the tail of markup a buffer cut.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::error::{RewriteError, RewriteErrorKind};

// === impl Splicer ===

/// Builds the output of one input buffer: the input with some ranges replaced. Until
/// the first replacement nothing is copied, and a buffer with none is passed on as a
/// zero-copy slice.
pub(crate) struct Splicer<'a> {
    input: &'a Bytes,
    from: usize,
    out: Option<BytesMut>,
}

impl<'a> Splicer<'a> {
    pub(crate) const fn new(input: &'a Bytes) -> Self {
        Self {
            input,
            from: 0,
            out: None,
        }
    }

    /// Replaces `range` (at or after everything replaced so far) with `with`.
    pub(crate) fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        let out = self
            .out
            .get_or_insert_with(|| BytesMut::with_capacity(self.input.len() + 64));
        if let Some(kept) = self.input.get(self.from..range.start) {
            out.extend_from_slice(kept);
        }
        out.extend_from_slice(with);
        self.from = range.end.max(self.from);
    }

    /// The output for the input up to `upto`.
    pub(crate) fn finish(self, upto: usize) -> Bytes {
        match self.out {
            None => self.input.slice(self.from.min(upto)..upto),
            Some(mut out) => {
                if let Some(kept) = self.input.get(self.from..upto) {
                    out.extend_from_slice(kept);
                }
                out.freeze()
            }
        }
    }
}

/// Joins `pending` (a held-back tail) and `input` into one buffer; zero-copy when
/// nothing was held back.
pub(crate) fn join(pending: &mut BytesMut, input: Bytes) -> Bytes {
    if pending.is_empty() {
        input
    } else {
        pending.extend_from_slice(&input);
        pending.split().freeze()
    }
}

/// Keeps `data[consumed..]` for the next call, refusing more than `max` bytes.
pub(crate) fn hold(
    pending: &mut BytesMut,
    data: &[u8],
    consumed: usize,
    max: usize,
) -> Result<(), RewriteError> {
    let tail = data.get(consumed..).unwrap_or_default();
    if tail.len() > max {
        return Err(RewriteError::new(
            RewriteErrorKind::TooLarge,
            format!("a token is longer than {max} bytes"),
        ));
    }
    pending.extend_from_slice(tail);
    #[cfg(test)]
    high_water::record(pending.len());
    Ok(())
}

/// Test instrumentation: the largest held-back buffer seen on this thread.
#[cfg(test)]
pub(crate) mod high_water {
    use std::cell::Cell;

    thread_local! {
        static MAX: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn record(n: usize) {
        MAX.with(|m| m.set(m.get().max(n)));
    }

    /// The maximum since the last call, and resets it.
    pub(crate) fn take() -> usize {
        MAX.with(|m| m.replace(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::mapper::keep_padding;

    #[test]
    fn splicer_copies_only_when_it_must() {
        let input = Bytes::from_static(b"0123456789");
        let untouched = Splicer::new(&input).finish(8);
        assert_eq!(&untouched[..], b"01234567");
        let mut s = Splicer::new(&input);
        s.replace(2..4, b"ab");
        s.replace(6..6, b"+");
        s.replace(7..8, b"");
        assert_eq!(&s.finish(10)[..], b"01ab45+689");
        let padded = keep_padding(" /a \n", "/b", char::is_whitespace);
        assert_eq!(padded, " /b \n");
    }

    #[test]
    fn hold_is_capped() {
        let mut pending = BytesMut::new();
        hold(&mut pending, b"abcdef", 2, 4).unwrap();
        assert_eq!(&pending[..], b"cdef");
        let mut pending = BytesMut::new();
        let err = hold(&mut pending, b"abcdef", 0, 4).unwrap_err();
        assert_eq!(err.kind(), RewriteErrorKind::TooLarge);
        assert!(err.is_limit());
        assert_eq!(
            err.to_string(),
            "relocation rewrite failed: markup token too large: a token is longer than 4 bytes"
        );
        let joined = join(&mut BytesMut::from(&b"ab"[..]), Bytes::from_static(b"cd"));
        assert_eq!(&joined[..], b"abcd");
    }
}
