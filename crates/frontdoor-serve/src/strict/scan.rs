//! The pure half of the strict checks: a scanner that follows an HTTP/1 request
//! stream byte for byte, as hyper's parser will, and reports each request head (with
//! what is wrong with it that only the raw bytes show) and each message's end.
//!
//! It mirrors hyper 1's server parser exactly where it matters for staying in step:
//! heads are parsed with the same `httparse` configuration (leading empty lines
//! skipped, at most the server's `max_headers` headers), the body length is decided by hyper's
//! rules (`Transfer-Encoding` whose last coding is `chunked` wins, `Content-Length`
//! otherwise, no body without either), and chunked bodies are walked by the same
//! state machine (chunk-size line, extensions up to hyper's limit, data, CRLF, last
//! chunk, trailers up to hyper's limits). Anything hyper would reject stops the
//! scanner ([`Scanner::is_off`]): hyper closes the connection after it anyway, and
//! the guard refuses any later request it has no verdict for.

use frontdoor_core::proto::framing::Refusal;
use http::Method;

use self::chunked::Chunked;

pub(crate) mod chunked;

/// hyper's default maximum number of headers in a request head (and in trailers):
/// parsed on the stack up to this many.
pub(crate) const DEFAULT_MAX_HEADERS: usize = 100;
/// The longest partial head kept between reads; hyper gives up well before (its read
/// buffer stops at about 400 KiB).
pub(crate) const MAX_PENDING_HEAD: usize = 512 * 1024;

/// What the scanner saw.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// A complete request head.
    Head(Head),
    /// The body of the last head (possibly empty) has been received to its end.
    MessageEnd,
}

/// A request head as the scanner saw it: enough to recognise the request hyper hands
/// to the guard, and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) method: Option<Method>,
    /// The request target up to any `#`, as a fingerprint.
    pub(super) target: Fingerprint,
    pub(super) refusal: Option<Refusal>,
}

/// A cheap fingerprint of a request target (FNV-1a over its bytes, and its length),
/// so the guard can check it got the request the scanner saw without keeping a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fingerprint {
    len: usize,
    hash: u64,
}

impl Fingerprint {
    const SEED: u64 = 0xcbf2_9ce4_8422_2325;

    pub(super) fn of(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len(),
            hash: fnv(Self::SEED, bytes),
        }
    }

    /// The fingerprint of a request's method and target together (an HTTP/2 request
    /// is matched by both).
    pub(super) fn of_request(method: &[u8], target: &[u8]) -> Self {
        let hash = fnv(fnv(fnv(Self::SEED, method), b" "), target);
        Self {
            len: method.len() + 1 + target.len(),
            hash,
        }
    }
}

/// FNV-1a over `bytes`, from `hash`.
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Where the scanner is in the stream.
#[derive(Debug)]
enum State {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Inside a `Content-Length` body: this many bytes to go.
    Length(u64),
    /// Inside a chunked body.
    Chunked(Chunked),
    /// Stopped: hyper will refuse the stream, or it is no longer HTTP/1.
    Off,
}

/// The request stream scanner. See the [module docs](self).
#[derive(Debug)]
pub(super) struct Scanner {
    state: State,
    /// The most header lines in a head (and trailer lines), as hyper is configured.
    max_headers: usize,
    /// A head split across reads (empty otherwise).
    pending: Vec<u8>,
    /// How far `pending` has been searched for the end of the head.
    searched: usize,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_HEADERS)
    }
}

impl Scanner {
    /// A scanner for a server whose hyper accepts `max_headers` header lines.
    pub(super) const fn new(max_headers: usize) -> Self {
        Self {
            state: State::Head,
            max_headers,
            pending: Vec::new(),
            searched: 0,
        }
    }

    /// Whether the scanner has stopped for good.
    pub(super) const fn is_off(&self) -> bool {
        matches!(self.state, State::Off)
    }

    /// Stops the scanner (an upgrade took the connection over).
    pub(super) fn turn_off(&mut self) {
        self.state = State::Off;
        self.pending = Vec::new();
    }

    /// Scans `bytes`, the next bytes of the stream, reporting what it sees to `out`.
    pub(super) fn feed(&mut self, mut bytes: &[u8], out: &mut impl FnMut(Event)) {
        while !bytes.is_empty() {
            let used = match &mut self.state {
                State::Off => return,
                State::Head => self.head(bytes, out),
                State::Length(left) => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = State::Head;
                        out(Event::MessageEnd);
                    }
                    n
                }
                State::Chunked(chunked) => {
                    let (used, result) = chunked.feed(bytes);
                    match result {
                        Some(Ok(())) => {
                            self.state = State::Head;
                            out(Event::MessageEnd);
                        }
                        Some(Err(())) => self.turn_off(),
                        None => {}
                    }
                    used
                }
            };
            bytes = &bytes[used..];
        }
    }

    /// Head state: finds the end of the head in `pending` + `bytes` and handles it.
    /// Returns how much of `bytes` was used.
    fn head(&mut self, bytes: &[u8], out: &mut impl FnMut(Event)) -> usize {
        if self.pending.is_empty() {
            let skip = match empty_lines(bytes) {
                Lines::Skip(n) => n,
                Lines::Partial => return self.keep(bytes),
                Lines::Invalid => {
                    self.turn_off();
                    return bytes.len();
                }
            };
            let rest = &bytes[skip..];
            // The common case: the whole head in one read, parsed in place.
            return match head_end(rest, 0) {
                Some(end) => skip + self.parse(&rest[..end], out),
                None => skip + self.keep(rest),
            };
        }
        // A head split across reads: join, then look from where the last search
        // stopped (a line end may straddle the two reads).
        self.pending.extend_from_slice(bytes);
        match empty_lines(&self.pending) {
            Lines::Skip(0) => {}
            Lines::Skip(n) => {
                self.pending.drain(..n);
                self.searched = 0;
            }
            Lines::Partial => {
                return self.overflow_or_wait(bytes.len());
            }
            Lines::Invalid => {
                self.turn_off();
                return bytes.len();
            }
        }
        match head_end(&self.pending, self.searched.saturating_sub(2)) {
            Some(end) => {
                // What follows the head came with this read (the earlier reads held no
                // complete head): hand it back.
                let pending = std::mem::take(&mut self.pending);
                self.searched = 0;
                self.parse(&pending[..end], out);
                bytes.len().saturating_sub(pending.len() - end)
            }
            None => self.overflow_or_wait(bytes.len()),
        }
    }

    /// No complete head yet: wait for more, unless the partial head is already longer
    /// than hyper accepts.
    fn overflow_or_wait(&mut self, used: usize) -> usize {
        if self.pending.len() > MAX_PENDING_HEAD {
            self.turn_off();
        } else {
            self.searched = self.pending.len();
        }
        used
    }

    /// Keeps a partial head for the next read.
    fn keep(&mut self, bytes: &[u8]) -> usize {
        if bytes.len() > MAX_PENDING_HEAD {
            self.turn_off();
        } else {
            self.pending.extend_from_slice(bytes);
            self.searched = self.pending.len();
        }
        bytes.len()
    }

    /// Parses a complete head (`head` ends with its empty line) and decides the body;
    /// returns `head.len()`.
    fn parse(&mut self, head: &[u8], out: &mut impl FnMut(Event)) -> usize {
        // On the stack for hyper's default limit, as hyper does; a larger configured
        // limit allocates, as hyper's does.
        let mut stack = [httparse::EMPTY_HEADER; DEFAULT_MAX_HEADERS];
        let mut heap;
        let headers: &mut [httparse::Header<'_>] = if self.max_headers <= DEFAULT_MAX_HEADERS {
            &mut stack[..self.max_headers]
        } else {
            heap = vec![httparse::EMPTY_HEADER; self.max_headers];
            &mut heap
        };
        let mut req = httparse::Request::new(headers);
        let Ok(httparse::Status::Complete(len)) = req.parse(head) else {
            // hyper answers a malformed head itself (400, 431, 505) and closes.
            self.turn_off();
            return head.len();
        };
        debug_assert_eq!(len, head.len(), "the head ends at its first empty line");
        let target = req.path.unwrap_or_default().as_bytes();
        let (target, fragment) = match target.iter().position(|&b| b == b'#') {
            Some(i) => (&target[..i], true),
            None => (target, false),
        };
        let framing = framing(req.version == Some(1), req.headers);
        let refusal = match framing {
            _ if fragment => Some(Refusal::FRAGMENT),
            Framing::Ambiguous(_) => Some(Refusal::CONTENT_LENGTH_WITH_TRANSFER_ENCODING),
            _ => None,
        };
        out(Event::Head(Head {
            method: req
                .method
                .and_then(|m| Method::from_bytes(m.as_bytes()).ok()),
            target: Fingerprint::of(target),
            refusal,
        }));
        if refusal.is_some() {
            // The guard refuses it and hyper closes the connection after the answer.
            self.turn_off();
            return head.len();
        }
        match framing {
            Framing::None | Framing::Length(0) => out(Event::MessageEnd),
            Framing::Length(n) => self.state = State::Length(n),
            Framing::Chunked | Framing::Ambiguous(true) => {
                self.state = State::Chunked(Chunked::new(self.max_headers));
            }
            Framing::Invalid | Framing::Ambiguous(false) => self.turn_off(),
        }
        head.len()
    }
}

/// Leading empty lines, as `httparse` skips them before a request line.
pub(crate) enum Lines {
    /// This many bytes of empty lines (possibly none) precede the request line.
    Skip(usize),
    /// The bytes end inside the empty lines: wait for more.
    Partial,
    /// A CR not followed by LF: `httparse` refuses it.
    Invalid,
}

pub(crate) fn empty_lines(bytes: &[u8]) -> Lines {
    let mut i = 0;
    loop {
        match bytes.get(i) {
            Some(b'\n') => i += 1,
            Some(b'\r') => match bytes.get(i + 1) {
                Some(b'\n') => i += 2,
                Some(_) => return Lines::Invalid,
                None => return Lines::Partial,
            },
            Some(_) => return Lines::Skip(i),
            None => return Lines::Partial,
        }
    }
}

/// The length of the head at the start of `bytes` (through its empty line: `\n\n` or
/// `\n\r\n`), searching from `from`.
pub(crate) fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(pos) = bytes.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + pos;
        match bytes.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            Some([b'\r']) | Some([]) | None => return None,
            Some(_) => i = nl + 1,
        }
    }
    None
}

/// How hyper frames a request body, from its headers in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
    /// hyper refuses the head (bad `Content-Length`, `Transfer-Encoding` on HTTP/1.0
    /// or not ending in `chunked`).
    Invalid,
    /// `Content-Length` and `Transfer-Encoding` together; `true` when hyper would
    /// decode it as chunked (and drop the `Content-Length`).
    Ambiguous(bool),
}

/// hyper's body-length rules (`proto::h1::role::Server::parse`), in header order.
pub(crate) fn framing(http11: bool, headers: &[httparse::Header<'_>]) -> Framing {
    let mut te = false;
    let mut te_chunked = false;
    let mut cl = false;
    let mut length: Option<u64> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if !http11 {
                return Framing::Invalid;
            }
            te = true;
            te_chunked = last_coding_is_chunked(h.value);
        } else if h.name.eq_ignore_ascii_case("content-length") {
            cl = true;
            if te {
                // hyper skips a Content-Length after a Transfer-Encoding unparsed.
                continue;
            }
            let Some(n) = digits(h.value) else {
                return Framing::Invalid;
            };
            match length {
                Some(prev) if prev != n => return Framing::Invalid,
                _ => length = Some(n),
            }
        }
    }
    match (te, cl) {
        (true, true) => Framing::Ambiguous(te_chunked),
        (true, false) if te_chunked => Framing::Chunked,
        (true, false) => Framing::Invalid,
        // hyper refuses lengths over `u64::MAX - 2`.
        (false, _) => match length {
            Some(n) if n > u64::MAX - 2 => Framing::Invalid,
            Some(n) => Framing::Length(n),
            None => Framing::None,
        },
    }
}

/// hyper's `is_chunked_`: the value is UTF-8 and its last comma-separated coding is
/// `chunked`.
pub(crate) fn last_coding_is_chunked(value: &[u8]) -> bool {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.rsplit(',').next())
        .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
}

/// hyper's `from_digits`: ASCII digits only, no sign, no overflow.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests;
