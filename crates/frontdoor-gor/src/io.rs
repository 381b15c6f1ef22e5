//! Line I/O: a reader that yields messages and reports malformed lines without
//! stopping, and a writer that flushes every message.

use std::{
    fmt,
    io::{self, BufRead, Write},
};

use crate::{DecodeError, Message};

/// A line that could not be decoded: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// The 1-based line number.
    pub line: u64,
    /// What was wrong (`None`: the line was longer than the reader's limit).
    pub error: Option<DecodeError>,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(e) => write!(f, "line {}: {e}", self.line),
            None => write!(f, "line {}: longer than the line limit", self.line),
        }
    }
}

impl std::error::Error for LineError {}

/// Reads messages, one per line, from GoReplay's stdout (our stdin).
///
/// Lines can be megabytes long: by default there is no limit (see
/// [`Reader::max_line`]). An empty line is ignored; a malformed one is returned as a
/// [`LineError`] and reading goes on with the next line.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    line: u64,
    max_line: Option<usize>,
}

impl<R: BufRead> Reader<R> {
    /// A reader over `inner`.
    pub const fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            line: 0,
            max_line: None,
        }
    }

    /// Lines longer than `bytes` are skipped (reported) without being held in memory.
    /// Default: no limit.
    #[must_use]
    pub const fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = Some(bytes);
        self
    }

    /// The next message or malformed line; `None` at end of input.
    ///
    /// # Errors
    ///
    /// Only I/O errors of the underlying reader.
    pub fn next_message(&mut self) -> io::Result<Option<Result<Message, LineError>>> {
        loop {
            self.buf.clear();
            let complete = self.read_line()?;
            if self.buf.is_empty() && complete.is_none() {
                return Ok(None);
            }
            self.line += 1;
            if complete == Some(false) {
                return Ok(Some(Err(LineError {
                    line: self.line,
                    error: None,
                })));
            }
            let line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
            if line.is_empty() || line == b"\r" {
                continue;
            }
            let decoded = Message::decode_line(line).map_err(|e| LineError {
                line: self.line,
                error: Some(e),
            });
            return Ok(Some(decoded));
        }
    }

    /// Reads one line into `buf`: `None` at EOF with nothing read, `Some(true)` for a
    /// line within the limit, `Some(false)` for one over it (the rest is discarded).
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        let Some(max) = self.max_line else {
            let n = self.inner.read_until(b'\n', &mut self.buf)?;
            return Ok((n > 0).then_some(true));
        };
        let n =
            io::Read::take(self.inner.by_ref(), max as u64 + 1).read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.len() <= max || self.buf.ends_with(b"\n") {
            return Ok(Some(true));
        }
        // Too long: discard up to the end of the line, a buffer at a time.
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                break;
            }
            let (used, done) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            self.inner.consume(used);
            if done {
                break;
            }
        }
        self.buf.clear();
        Ok(Some(false))
    }
}

/// Writes messages back to GoReplay, one line each, flushed per message.
#[derive(Debug)]
pub struct Writer<W> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A writer over `inner`.
    pub const fn new(inner: W) -> Self {
        Self {
            inner,
            buf: Vec::new(),
        }
    }

    /// Writes `msg` as one line and flushes.
    ///
    /// # Errors
    ///
    /// I/O errors of the underlying writer.
    pub fn write(&mut self, msg: &Message) -> io::Result<()> {
        self.buf.clear();
        msg.encode(&mut self.buf);
        self.inner.write_all(&self.buf)?;
        self.inner.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn line(id: &str) -> Vec<u8> {
        Message::new(Kind::Request, id, "GET / HTTP/1.1\r\n\r\n")
            .unwrap()
            .to_line()
    }

    #[test]
    fn malformed_lines_are_reported_and_skipped() {
        let mut input = line("a");
        input.extend_from_slice(b"zz\n\n");
        input.extend_from_slice(&line("b"));
        input.extend_from_slice(&line("c")[..9]); // cut short: odd hex, no newline
        let mut r = Reader::new(&input[..]);
        assert_eq!(r.next_message().unwrap().unwrap().unwrap().id(), "a");
        let err = r.next_message().unwrap().unwrap().unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(r.next_message().unwrap().unwrap().unwrap().id(), "b");
        assert!(r.next_message().unwrap().unwrap().is_err());
        assert!(r.next_message().unwrap().is_none());
    }

    #[test]
    fn overlong_lines_are_skipped_without_losing_the_next() {
        let mut input = vec![b'a'; 10_000];
        input.push(b'\n');
        input.extend_from_slice(&line("b"));
        let mut r = Reader::new(io::BufReader::with_capacity(64, &input[..])).max_line(1000);
        let err = r.next_message().unwrap().unwrap().unwrap_err();
        assert_eq!((err.line, err.error), (1, None));
        assert_eq!(r.next_message().unwrap().unwrap().unwrap().id(), "b");
        assert!(r.next_message().unwrap().is_none());
    }

    #[test]
    fn writer_flushes_each_line() {
        let mut w = Writer::new(Vec::new());
        let msg = Message::decode_line(&line("a")).unwrap();
        w.write(&msg).unwrap();
        assert_eq!(w.into_inner(), line("a"));
    }
}
