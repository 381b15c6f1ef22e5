//! Content-coding codecs driven a buffer at a time: a [`Decoder`] hands out at most
//! [`STEP`] decoded bytes per call, whatever one compressed buffer expands to, so a
//! small body that decodes to gigabytes never needs more than one step of memory; an
//! [`Encoder`] compresses what the rewriter gives it and flushes on demand.

use std::io;

use async_compression::{
    brotli::EncoderParams as BrotliParams,
    codecs::{
        BrotliDecoder, BrotliEncoder, DecodeV2, EncodeV2, GzipDecoder, GzipEncoder, ZlibDecoder,
        ZlibEncoder, ZstdDecoder, ZstdEncoder,
    },
    core::util::{PartialBuffer, WriteBuffer},
    Level,
};
use bytes::{Bytes, BytesMut};

use crate::coding::Coding;

/// The most decoded (or encoded) bytes produced by one call.
pub(crate) const STEP: usize = 32 * 1024;

/// The levels bodies are encoded again with: cheap enough for a proxy that does it on
/// every relocated answer (gzip and deflate 4 of 9, Brotli 4 of 11, zstd 3 of 22:
/// each codec's fast end, where the ratio is already close to its default's).
const FLATE_LEVEL: i32 = 4;
const BROTLI_LEVEL: i32 = 4;
const ZSTD_LEVEL: i32 = 3;

fn output() -> BytesMut {
    BytesMut::zeroed(STEP)
}

// === impl Decoder ===

/// Decodes one coded body.
pub(crate) struct Decoder {
    codec: Box<dyn DecodeV2 + Send>,
    input: Bytes,
    /// Whether the last call filled its output (the codec may hold more).
    full: bool,
    /// Whether the coded stream has ended (anything after it is ignored).
    done: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("input", &self.input.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    pub(crate) fn new(coding: Coding) -> Self {
        let codec: Box<dyn DecodeV2 + Send> = match coding {
            Coding::Gzip => Box::new(GzipDecoder::new()),
            Coding::Deflate => Box::new(ZlibDecoder::new()),
            Coding::Br => Box::new(BrotliDecoder::new()),
            Coding::Zstd => Box::new(ZstdDecoder::new()),
        };
        Self {
            codec,
            input: Bytes::new(),
            full: false,
            done: false,
        }
    }

    /// Takes the next coded buffer; call [`step`](Self::step) until it returns `None`
    /// before the next one.
    pub(crate) fn push(&mut self, input: Bytes) {
        self.input = input;
    }

    /// Whether [`step`](Self::step) may have more output before the next input.
    pub(crate) fn pending(&self) -> bool {
        !self.done && (!self.input.is_empty() || self.full)
    }

    /// The next decoded bytes (at most [`STEP`]), or `None` when the input so far is
    /// used up.
    pub(crate) fn step(&mut self) -> io::Result<Option<Bytes>> {
        if self.done {
            self.input = Bytes::new();
            return Ok(None);
        }
        let mut out = output();
        let mut written = WriteBuffer::new_initialized(&mut out);
        if self.input.is_empty() && self.full {
            // What the codec still holds from a step that filled its output; decoding
            // (not flushing) so that the end of the stream is seen here too. With
            // nothing held, some codecs call an empty decode an error.
            match self
                .codec
                .decode(&mut PartialBuffer::new(&[][..]), &mut written)
            {
                Ok(true) => self.done = true,
                Ok(false) => {}
                Err(_) if written.written_len() == 0 => {}
                Err(e) => return Err(e),
            }
        }
        while !self.input.is_empty() && !written.has_no_spare_space() {
            let mut input = PartialBuffer::new(&self.input[..]);
            let done = self.codec.decode(&mut input, &mut written)?;
            let used = input.written_len();
            let _ = self.input.split_to(used);
            if done {
                self.done = true;
                self.input = Bytes::new();
            } else if used == 0 && written.written_len() == 0 {
                return Err(io::Error::other("the decoder made no progress"));
            } else {
                continue;
            }
        }
        self.full = written.has_no_spare_space();
        let n = written.written_len();
        out.truncate(n);
        Ok((n > 0).then(|| out.freeze()))
    }

    /// The end of the coded input: what the codec still holds, a step at a time,
    /// then `None`; an error when the coded stream did not end.
    pub(crate) fn finish_step(&mut self) -> io::Result<Option<Bytes>> {
        if let Some(out) = self.step()? {
            return Ok(Some(out));
        }
        if self.done {
            return Ok(None);
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the coded body ends before its coding does",
        ))
    }
}

// === impl Encoder ===

/// Encodes one body again.
pub(crate) struct Encoder {
    codec: Box<dyn EncodeV2 + Send>,
    /// Whether input went in since the last flush.
    dirty: bool,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    pub(crate) fn new(coding: Coding) -> Self {
        let codec: Box<dyn EncodeV2 + Send> = match coding {
            Coding::Gzip => Box::new(GzipEncoder::new(Level::Precise(FLATE_LEVEL).into())),
            Coding::Deflate => Box::new(ZlibEncoder::new(Level::Precise(FLATE_LEVEL).into())),
            Coding::Br => Box::new(BrotliEncoder::new(
                BrotliParams::default()
                    .quality(Level::Precise(BROTLI_LEVEL))
                    .text_mode(),
            )),
            Coding::Zstd => Box::new(ZstdEncoder::new(ZSTD_LEVEL)),
        };
        Self {
            codec,
            dirty: false,
        }
    }

    /// Compresses `data`: what the codec lets out now (often nothing).
    pub(crate) fn encode(&mut self, data: &[u8]) -> io::Result<Bytes> {
        let mut all = BytesMut::new();
        let mut input = PartialBuffer::new(data);
        while !input.unwritten().is_empty() {
            let mut out = output();
            let mut written = WriteBuffer::new_initialized(&mut out);
            let before = input.written_len();
            self.codec.encode(&mut input, &mut written)?;
            let n = written.written_len();
            if n == 0 && input.written_len() == before {
                return Err(io::Error::other("the encoder made no progress"));
            }
            all.extend_from_slice(&out[..n]);
        }
        self.dirty |= !data.is_empty();
        Ok(all.freeze())
    }

    /// Whether input went in since the last flush.
    pub(crate) const fn dirty(&self) -> bool {
        self.dirty
    }

    /// Everything the codec holds, so that the client can decode all input so far
    /// (a sync flush: the stream goes on).
    pub(crate) fn flush(&mut self) -> io::Result<Bytes> {
        self.dirty = false;
        self.drain(|codec, written| codec.flush(written))
    }

    /// The end of the coded stream.
    pub(crate) fn finish(&mut self) -> io::Result<Bytes> {
        self.dirty = false;
        self.drain(|codec, written| codec.finish(written))
    }

    fn drain(
        &mut self,
        mut f: impl FnMut(&mut dyn EncodeV2, &mut WriteBuffer<'_>) -> io::Result<bool>,
    ) -> io::Result<Bytes> {
        let mut all = BytesMut::new();
        loop {
            let mut out = output();
            let mut written = WriteBuffer::new_initialized(&mut out);
            let done = f(&mut *self.codec, &mut written)?;
            let n = written.written_len();
            all.extend_from_slice(&out[..n]);
            if done {
                return Ok(all.freeze());
            }
            if n == 0 {
                return Err(io::Error::other("the encoder made no progress"));
            }
        }
    }
}

/// `data` encoded whole with `coding` (tests and benches).
#[cfg(test)]
pub(crate) fn encode_all(coding: Coding, data: &[u8]) -> Bytes {
    let mut encoder = Encoder::new(coding);
    let mut out = BytesMut::new();
    out.extend_from_slice(&encoder.encode(data).unwrap());
    out.extend_from_slice(&encoder.finish().unwrap());
    out.freeze()
}

/// `data` decoded whole with `coding` (tests).
#[cfg(test)]
pub(crate) fn decode_all(coding: Coding, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut decoder = Decoder::new(coding);
    let mut out = Vec::new();
    decoder.push(Bytes::copy_from_slice(data));
    while let Some(b) = decoder.step()? {
        out.extend_from_slice(&b);
    }
    while let Some(b) = decoder.finish_step()? {
        out.extend_from_slice(&b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| format!("<a href=\"/x/{}\">{i}</a>\n", i % 97).into_bytes())
            .collect()
    }

    #[test]
    fn each_coding_round_trips_in_bounded_steps() {
        let data = sample();
        for coding in Coding::ALL {
            let coded = encode_all(coding, &data);
            assert!(coded.len() < data.len() / 4, "{coding}: {}", coded.len());
            // Fed in 1000-byte buffers, no step is larger than STEP.
            let mut decoder = Decoder::new(coding);
            let mut out = Vec::new();
            for chunk in coded.chunks(1000) {
                decoder.push(Bytes::copy_from_slice(chunk));
                while let Some(b) = decoder.step().unwrap() {
                    assert!(b.len() <= STEP);
                    out.extend_from_slice(&b);
                }
            }
            while let Some(b) = decoder.finish_step().unwrap() {
                out.extend_from_slice(&b);
            }
            assert!(out == data, "{coding}");
        }
    }

    /// Input that expands a thousandfold, fed a byte at a time: steps often fill
    /// their output just as the input runs out, and the end is still found.
    #[test]
    fn highly_compressible_bodies_fed_byte_by_byte() {
        let mut data = vec![b'a'; 1 << 20];
        data.extend_from_slice(b"<a href=\"/x\">end</a>");
        for coding in Coding::ALL {
            let coded = encode_all(coding, &data);
            let mut decoder = Decoder::new(coding);
            let mut out = Vec::new();
            for byte in coded.iter() {
                decoder.push(Bytes::copy_from_slice(&[*byte]));
                while decoder.pending() {
                    if let Some(b) = decoder.step().unwrap() {
                        out.extend_from_slice(&b);
                    }
                }
            }
            while let Some(b) = decoder.finish_step().unwrap() {
                out.extend_from_slice(&b);
            }
            assert!(
                out == data,
                "{coding}: {} of {} bytes",
                out.len(),
                data.len()
            );
        }
    }

    #[test]
    fn a_truncated_body_is_an_error() {
        let data = sample();
        for coding in Coding::ALL {
            let coded = encode_all(coding, &data);
            let err = decode_all(coding, &coded[..coded.len() / 2]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{coding}: {err}");
            assert!(decode_all(coding, b"not coded at all").is_err(), "{coding}");
        }
    }

    #[test]
    fn a_flush_lets_the_client_decode_everything_so_far() {
        for coding in Coding::ALL {
            let mut encoder = Encoder::new(coding);
            let mut coded = BytesMut::new();
            coded.extend_from_slice(&encoder.encode(b"<a href=\"/x\">").unwrap());
            assert!(encoder.dirty());
            coded.extend_from_slice(&encoder.flush().unwrap());
            assert!(!encoder.dirty());
            let mut decoder = Decoder::new(coding);
            decoder.push(coded.freeze());
            let mut out = Vec::new();
            while let Some(b) = decoder.step().unwrap() {
                out.extend_from_slice(&b);
            }
            assert_eq!(out, b"<a href=\"/x\">", "{coding}");
        }
    }
}
