//! GoReplay middleware in Rust: the stdin/stdout protocol, the helper libraries' API
//! with their quirks fixed, order-robust correlation, and the `frontdoor-gor`
//! comparer binary.
//!
//! GoReplay (`gor --middleware CMD`) writes every message (requests, original
//! responses, replayed responses) to the middleware's stdin, one hex-encoded line
//! each, and replays or records only what the middleware writes back on stdout.
//!
//! * [`codec`]: [`Message`] (META kept verbatim, the payload as bytes), decoding and
//!   encoding of lines; a malformed line is an error value, never a crash.
//! * [`io`]: a [`Reader`] that reports malformed lines and goes on, a [`Writer`]
//!   that flushes per message.
//! * [`payload`]: HTTP/1.x helpers (method, path, query parameters, status, headers,
//!   body, cookies): byte-correct `Content-Length`, case-insensitive header names,
//!   binary bodies kept; a header set on a payload without a head leaves it
//!   unchanged ([`payload::try_set_header`] says why).
//! * [`edit`]: request edits parsed once from flag values (set or remove a header,
//!   rewrite the path with a regex), applied in order, all or nothing, every other
//!   byte kept.
//! * [`middleware`]: `on(event, callback)`, one-shot per-id callbacks with expiry,
//!   `on_exchange` with the comparators of [`frontdoor_mirror::compare`] (the same
//!   code the tower mirror layer runs), and [`Middleware::run`] for the whole loop.
//! * [`correlate`]: the request/response/replay join, in any arrival order, with a
//!   time-to-live and a capacity.
//!
//! The binary, `frontdoor-gor`, is a user of this library: by default it passes
//! every message through and reports on stderr each exchange whose replay status
//! differs from the response status, then a summary (`frontdoor-gor --help`). What
//! GoReplay's `--http-set-header` and `--http-rewrite-url` do inside gor, its
//! `--set-header NAME:VALUE`, `--remove-header NAME` and
//! `--rewrite-path REGEX:REPLACEMENT` do to the requests (type 1), in the order
//! given, without a Rust program:
//!
//! ```text
//! gor --input-raw :80 \
//!     --middleware 'frontdoor-gor --set-header X-Env:shadow --rewrite-path ^/v1/(.*):/v2/$1' \
//!     --output-http http://shadow:8080
//! ```
//!
//! (GoReplay splits the middleware command at spaces, with no shell: give values
//! without spaces there, or call a script that runs `frontdoor-gor`.)
//!
//! An invalid flag value fails at start with a message naming the flag; a request
//! an edit cannot apply to is passed on unchanged and reported on stderr.
//!
//! # Example
//!
//! The seed middleware (compare replay and response statuses), in Rust:
//!
//! ```
//! use frontdoor_gor::{Action, Event, Kind, Message, Middleware};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut mw = Middleware::new();
//! mw.on(Event::Request, |_ctx, msg| {
//!     // Rewrite before replay: the Content-Length is fixed in bytes.
//!     msg.set_payload(frontdoor_gor::payload::set_header(msg.payload(), "X-Replayed", b"1"));
//!     Action::Pass
//! })
//! .on_exchange(|ex| {
//!     for diff in &ex.diffs {
//!         eprintln!("{}: {diff}", ex.id); // stderr is the log; stdout is GoReplay's
//!     }
//! });
//!
//! // Normally `mw.run(stdin.lock(), stdout.lock(), stderr)`; here, a recorded stream.
//! let mut input = Vec::new();
//! for (kind, payload) in [
//!     (Kind::Request, "GET /a HTTP/1.1\r\nHost: example\r\n\r\n"),
//!     (Kind::Replay, "HTTP/1.1 500 Internal Server Error\r\n\r\n"),
//!     (Kind::Response, "HTTP/1.1 200 OK\r\n\r\n"),
//! ] {
//!     Message::new(kind, "8e091765ae902fef8a2b7d9d", payload)?.encode(&mut input);
//! }
//! input.extend_from_slice(b"not hex\n"); // reported on the log, skipped
//! let (mut output, mut log) = (Vec::new(), Vec::new());
//! let stats = mw.run(&input[..], &mut output, &mut log)?;
//!
//! assert_eq!(stats.written, 3);
//! assert_eq!((stats.differing, stats.malformed), (1, 1));
//! let first = Message::decode_line(output.split_inclusive(|&b| b == b'\n').next().unwrap())?;
//! assert_eq!(frontdoor_gor::payload::header_str(first.payload(), "x-replayed"), Some("1"));
//! # Ok(())
//! # }
//! ```
//!
//! # Differences from the Node and Python helpers
//!
//! | | Node `goreplay_middleware` | Python `gor` | here |
//! |---|---|---|---|
//! | dropping a message | any falsy return | impossible | [`Action::Drop`] |
//! | payload | Buffer | UTF-8 `str` (binary lost) | bytes |
//! | header lookup | exact or lowercase name | case-insensitive, into the body | case-insensitive, head only |
//! | `Content-Length` after a body change | bytes | characters | bytes |
//! | per-id callbacks | one-shot, 10 s expiry | kept forever | one-shot, expiry (default 10 s) |
//! | 1, 3, 2 arrival order | missed by nested registration | missed | [`Middleware::on_exchange`] |
//! | cookie setter without `Cookie` | works | `AttributeError` | works |
//!
//! # Feature flags
//!
//! This crate has no optional features.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codec;
pub mod correlate;
pub mod edit;
pub mod io;
pub mod middleware;
pub mod payload;

pub use codec::{DecodeError, Kind, Message};
pub use correlate::{Correlator, GorExchange};
pub use edit::{EditError, EditSpecError, RequestEdit, RequestEdits};
pub use io::{LineError, Reader, Writer};
pub use middleware::{Action, Context, Event, GorStats, Middleware};
