//! The wire scanner as the fuzz targets drive it (re-exported by
//! [`__fuzz`](crate::__fuzz)): not part of the API.

use frontdoor_core::proto::framing::Refusal;
use http::Method;

use super::scan::{Event, Fingerprint, Head, Scanner};

/// A request head as the wire scanner saw it.
#[derive(Debug, PartialEq, Eq)]
pub struct ScannedHead {
    /// Its method, when `http` parses it.
    pub method: Option<Method>,
    /// What is wrong with it that only the raw bytes show.
    pub refusal: Option<Refusal>,
    target: Fingerprint,
}

impl ScannedHead {
    /// Whether its request target (up to any `#`) is `target`.
    pub fn target_is(&self, target: &[u8]) -> bool {
        self.target == Fingerprint::of(target)
    }
}

/// What the wire scanner saw, and after how many bytes of the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned {
    /// A complete request head, ending at `at`.
    Head {
        /// The stream offset just past the head.
        at: usize,
        /// The head.
        head: ScannedHead,
    },
    /// The last head's message ended at `at`.
    MessageEnd {
        /// The stream offset just past the message.
        at: usize,
    },
}

/// Scans `stream` with the wire scanner (hyper's default limits), one byte per
/// read so that each event's offset is known; also returns whether the scanner
/// stopped (hyper would refuse the stream from there).
pub fn scan(stream: &[u8]) -> (Vec<Scanned>, bool) {
    let mut scanner = Scanner::default();
    let mut events = Vec::new();
    for (i, byte) in stream.iter().enumerate() {
        let at = i + 1;
        scanner.feed(std::slice::from_ref(byte), &mut |event| {
            events.push(match event {
                Event::Head(Head {
                    method,
                    target,
                    refusal,
                }) => Scanned::Head {
                    at,
                    head: ScannedHead {
                        method,
                        refusal,
                        target,
                    },
                },
                Event::MessageEnd => Scanned::MessageEnd { at },
            });
        });
        if scanner.is_off() {
            break;
        }
    }
    (events, scanner.is_off())
}
