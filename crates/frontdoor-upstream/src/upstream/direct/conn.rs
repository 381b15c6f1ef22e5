//! One upstream connection of the direct client: the TCP stream, kept as the raw
//! `tokio::net::TcpStream` (never boxed), and its two reused buffers.

use std::{
    io,
    task::{ready, Context, Poll},
};

use bytes::{BufMut as _, BytesMut};
use tokio::{net::TcpStream, sync::OwnedSemaphorePermit, time::Instant};

/// The first read reserves this much; each read that fills its space doubles the
/// next one, up to [`MAX_READ`].
const MIN_READ: usize = 8 * 1024;
/// The largest single read.
const MAX_READ: usize = 256 * 1024;
/// Buffers that grew past this are released when the connection is parked.
const KEEP_CAPACITY: usize = 64 * 1024;

// === Conn ===

/// An open connection to the upstream. See the [module docs](self).
pub(crate) struct Conn {
    /// The socket.
    pub(super) io: TcpStream,
    /// Bytes read and not yet handed out (response heads and bodies).
    pub(super) read: BytesMut,
    /// The request head and small body frames, written from here.
    pub(super) write: BytesMut,
    /// Its place under the connection cap, released when the connection closes.
    _permit: Option<OwnedSemaphorePermit>,
    /// When it was parked idle.
    pub(super) since: Instant,
    /// The size of the next read.
    next_read: usize,
}

impl Conn {
    pub(super) fn new(io: TcpStream, permit: Option<OwnedSemaphorePermit>) -> Self {
        Self {
            io,
            read: BytesMut::new(),
            write: BytesMut::new(),
            _permit: permit,
            since: Instant::now(),
            next_read: MIN_READ,
        }
    }

    /// Reads what the socket has into `read`, at most `limit` bytes (a message's
    /// remaining length, so a read never crosses the end of a message); `Ok(0)` at
    /// the end of the stream.
    pub(super) fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        limit: u64,
    ) -> Poll<io::Result<usize>> {
        let want = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .clamp(1, self.next_read);
        loop {
            ready!(self.io.poll_read_ready(cx))?;
            self.read.reserve(want);
            // `try_read_buf` reads into the spare capacity, which `reserve` may have
            // made larger than `want`: cap it with `limit`.
            let mut limited = (&mut self.read).limit(want);
            match self.io.try_read_buf(&mut limited) {
                Ok(n) => {
                    if n == want && self.next_read < MAX_READ {
                        self.next_read *= 2;
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Whether a parked connection can no longer carry a request: the upstream
    /// closed it, reset it or sent bytes nobody asked for. Costs no system call when
    /// the runtime has seen no readiness on the socket since its last read.
    pub(super) fn is_stale(&self) -> bool {
        let mut probe = [0u8; 1];
        match self.io.try_read(&mut probe) {
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            Ok(_) => true,
        }
    }

    /// Makes the connection ready to be parked: empty buffers, large ones released.
    pub(super) fn reset(&mut self) {
        if self.read.capacity() > KEEP_CAPACITY {
            self.read = BytesMut::new();
        }
        self.write.clear();
        if self.write.capacity() > KEEP_CAPACITY {
            self.write = BytesMut::new();
        }
        self.next_read = MIN_READ;
        self.since = Instant::now();
    }
}
