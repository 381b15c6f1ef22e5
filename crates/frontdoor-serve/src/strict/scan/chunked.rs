//! The chunked body decoder of the [scanner](super::Scanner): step for step hyper's
//! (`proto::h1::decode`), so the scanner knows where a chunked body ends and stops
//! where hyper's decoder fails.

/// hyper's limit on the chunk-extension bytes of one message.
const CHUNK_EXTENSIONS_LIMIT: u64 = 16 * 1024;
/// hyper's limit on the trailer bytes of one message.
const TRAILERS_LIMIT: usize = 16 * 1024;

/// The chunked decoder's state, step for step hyper's (`proto::h1::decode`).
#[derive(Debug)]
pub(crate) struct Chunked {
    step: Step,
    size: u64,
    extensions: u64,
    trailer_bytes: usize,
    trailers: usize,
    max_trailers: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Start,
    Size,
    SizeLws,
    Extension,
    SizeLf,
    Body,
    BodyCr,
    BodyLf,
    Trailer,
    TrailerLf,
    EndCr,
    EndLf,
}

impl Chunked {
    pub(crate) const fn new(max_trailers: usize) -> Self {
        Self {
            step: Step::Start,
            size: 0,
            extensions: 0,
            trailer_bytes: 0,
            trailers: 0,
            max_trailers,
        }
    }

    /// Walks `bytes`; returns how many were used, and `Some(Ok)` at the end of the
    /// body, `Some(Err)` where hyper's decoder fails.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> (usize, Option<Result<(), ()>>) {
        let mut i = 0;
        while i < bytes.len() {
            if self.step == Step::Body {
                let n = usize::try_from(self.size)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len() - i);
                self.size -= n as u64;
                i += n;
                if self.size == 0 {
                    self.step = Step::BodyCr;
                }
                continue;
            }
            let b = bytes[i];
            i += 1;
            match self.step(b) {
                Ok(true) => return (i, Some(Ok(()))),
                Ok(false) => {}
                Err(()) => return (i, Some(Err(()))),
            }
        }
        (i, None)
    }

    /// Decodes from the start of `bytes`: the framing bytes before the next piece of
    /// chunk data are used up, then that data is handed back (its range in `bytes`),
    /// or the body ends, fails, or needs more bytes. Trailer bytes are reported so
    /// the caller can keep them (they are counted against hyper's limits here).
    pub(crate) fn decode(&mut self, bytes: &[u8]) -> Decoded {
        let mut i = 0;
        let trailer_start = self.in_trailers().then_some(0);
        let mut trailer_start = trailer_start;
        while i < bytes.len() {
            if self.step == Step::Body {
                let n = usize::try_from(self.size)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len() - i);
                self.size -= n as u64;
                if self.size == 0 {
                    self.step = Step::BodyCr;
                }
                return Decoded::Data {
                    start: i,
                    end: i + n,
                };
            }
            let b = bytes[i];
            i += 1;
            let was_trailer = self.in_trailers();
            match self.step(b) {
                Ok(true) => {
                    let trailers = trailer_start.map(|t| (t, i));
                    return Decoded::End { used: i, trailers };
                }
                Ok(false) => {}
                Err(()) => return Decoded::Invalid,
            }
            if !was_trailer && self.in_trailers() {
                trailer_start = Some(i);
            }
        }
        Decoded::More {
            used: i,
            trailers: trailer_start.map(|t| (t, i)),
        }
    }

    /// Whether the decoder is inside the trailer section (after the last chunk's
    /// size line).
    fn in_trailers(&self) -> bool {
        matches!(
            self.step,
            Step::Trailer | Step::TrailerLf | Step::EndCr | Step::EndLf
        )
    }

    /// One byte of a chunk-size line, a CRLF or the trailers; `Ok(true)` at the end.
    fn step(&mut self, b: u8) -> Result<bool, ()> {
        self.step = match self.step {
            Step::Trailer | Step::TrailerLf | Step::EndCr | Step::EndLf => {
                match self.trailer_step(b)? {
                    Some(step) => step,
                    None => return Ok(true),
                }
            }
            _ => self.size_step(b)?,
        };
        Ok(false)
    }

    /// One byte of a chunk-size line (size, extensions, CRLF) or of the CRLF after a
    /// chunk's data: the next step.
    fn size_step(&mut self, b: u8) -> Result<Step, ()> {
        Ok(match (self.step, b) {
            (Step::Start, _) => {
                self.size = hex(b).ok_or(())?;
                Step::Size
            }
            (Step::Size | Step::SizeLws, b'\t' | b' ') => Step::SizeLws,
            (Step::Size | Step::SizeLws, b';') => Step::Extension,
            (Step::Size | Step::SizeLws | Step::Extension, b'\r') => Step::SizeLf,
            (Step::Size, _) => {
                let digit = hex(b).ok_or(())?;
                self.size = self.size.checked_mul(16).ok_or(())?;
                self.size = self.size.checked_add(digit).ok_or(())?;
                Step::Size
            }
            (Step::Extension, b'\n') => return Err(()),
            (Step::Extension, _) => {
                self.extensions += 1;
                if self.extensions >= CHUNK_EXTENSIONS_LIMIT {
                    return Err(());
                }
                Step::Extension
            }
            (Step::SizeLf, b'\n') if self.size == 0 => Step::EndCr,
            (Step::SizeLf, b'\n') => Step::Body,
            (Step::BodyCr, b'\r') => Step::BodyLf,
            (Step::BodyLf, b'\n') => Step::Start,
            _ => return Err(()),
        })
    }

    /// One byte of the trailers or of the final CRLF: the next step, `None` at the
    /// end of the body.
    fn trailer_step(&mut self, b: u8) -> Result<Option<Step>, ()> {
        Ok(Some(match (self.step, b) {
            (Step::Trailer, _) => {
                self.trailer_byte()?;
                if b == b'\r' {
                    Step::TrailerLf
                } else {
                    Step::Trailer
                }
            }
            (Step::TrailerLf, b'\n') => {
                if self.trailers >= self.max_trailers {
                    return Err(());
                }
                self.trailers += 1;
                self.trailer_byte()?;
                Step::EndCr
            }
            (Step::EndCr, b'\r') => {
                if self.trailer_bytes > 0 {
                    self.trailer_byte()?;
                }
                Step::EndLf
            }
            (Step::EndCr, _) => {
                self.trailer_byte()?;
                Step::Trailer
            }
            (Step::EndLf, b'\n') => {
                if self.trailer_bytes > 0 {
                    self.trailer_byte()?;
                }
                return Ok(None);
            }
            _ => return Err(()),
        }))
    }

    /// Counts one trailer byte against hyper's limit.
    fn trailer_byte(&mut self) -> Result<(), ()> {
        if self.trailer_bytes >= TRAILERS_LIMIT {
            return Err(());
        }
        self.trailer_bytes += 1;
        Ok(())
    }
}

/// What [`Chunked::decode`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Chunk data at `start..end` of the bytes given; everything before `end` is
    /// used.
    Data { start: usize, end: usize },
    /// The body ended after `used` bytes; `trailers` is the range of the trailer
    /// section's bytes in them, final empty line included.
    End {
        used: usize,
        trailers: Option<(usize, usize)>,
    },
    /// All `used` bytes were framing (or trailer bytes, at `trailers`): more needed.
    More {
        used: usize,
        trailers: Option<(usize, usize)>,
    },
    /// hyper's decoder would fail here.
    Invalid,
}

fn hex(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}
