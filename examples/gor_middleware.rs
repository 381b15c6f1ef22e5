//! A GoReplay middleware written with `frontdoor::gor`: it edits each request before
//! GoReplay replays it against a candidate version of the service, and compares each
//! replayed response (type 3) with the original response (type 2), by status and by
//! JSON body.
//!
//! - Every request gets `X-Replayed: 1`, and `/api/v1/...` becomes `/api/v2/...` (the
//!   candidate's routes): the same edits as `frontdoor-gor --set-header X-Replayed:1
//!   --rewrite-path '^/api/v1/:/api/v2/'`, here through the library.
//! - A request carrying `Authorization` gets the candidate's test credentials
//!   instead (a callback with the payload helpers).
//! - Responses and replays pass through unchanged; each difference between the two
//!   is one line on stderr, `gor_middleware: <id> <method> <path>: <difference>`,
//!   and a summary follows at the end of input.
//!
//! GoReplay writes every message to the middleware's stdin and replays only what it
//! writes back on stdout:
//!
//! ```text
//! cargo build -p frontdoor-examples --example gor_middleware
//! gor --input-raw :8080 --input-raw-track-response \
//!     --middleware target/debug/examples/gor_middleware \
//!     --output-http http://candidate:8080 --output-http-track-response
//! ```
//!
//! Or feed it a recorded stream:
//!
//! ```text
//! cargo run -p frontdoor-examples --example gor_middleware \
//!     < crates/frontdoor-gor/tests/fixtures/recorded.gor > /dev/null
//! ```

use std::{
    io::{self, BufRead, Write},
    process::ExitCode,
    sync::Arc,
};

use frontdoor::gor::{
    payload, Action, EditSpecError, Event, GorExchange, GorStats, Middleware, RequestEdit,
    RequestEdits,
};
use frontdoor::mirror::Comparator;
use parking_lot::Mutex;

/// The credentials the candidate accepts for replayed traffic.
pub(crate) const CANDIDATE_AUTHORIZATION: &[u8] = b"Bearer candidate-test-token";

fn main() -> ExitCode {
    let stdin = io::stdin();
    let stdout = io::stdout();
    match run(stdin.lock(), stdout.lock(), io::stderr()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "gor_middleware: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the middleware over `input` until its end, writing the messages to pass on
/// to `output` and the differences, the malformed lines and the summary to `log`.
///
/// # Errors
/// I/O errors of `input`, `output` or `log`.
pub(crate) fn run<R, W, L>(
    input: R,
    output: W,
    log: L,
) -> Result<GorStats, Box<dyn std::error::Error>>
where
    R: BufRead,
    W: Write,
    L: Write + Send + 'static,
{
    let mut log = SharedLog(Arc::new(Mutex::new(log)));
    let mut mw = middleware(log.clone())?;
    let stats = mw.run(input, output, log.clone())?;
    writeln!(
        log,
        "gor_middleware: {} exchanges: {} matched, {} differing, {} incomplete",
        stats.exchanges, stats.matched, stats.differing, stats.incomplete
    )?;
    Ok(stats)
}

/// The middleware: the request edits, then the comparison reported on `log`.
fn middleware<L: Write + Send + 'static>(log: SharedLog<L>) -> Result<Middleware, EditSpecError> {
    // Parsed once, as the binary parses its flags.
    let edits = RequestEdits::new([
        RequestEdit::set_header("X-Replayed: 1")?,
        RequestEdit::rewrite_path("^/api/v1/:/api/v2/")?,
    ]);
    let mut mw = Middleware::new();
    let mut edit_log = log.clone();
    mw.on(Event::Request, move |_ctx, msg| {
        // All or nothing: a request an edit cannot apply to goes on unchanged.
        let edited = match edits.apply(msg.payload()) {
            Ok(p) => Some(p.into_owned()),
            Err(e) => {
                let _ = writeln!(edit_log, "gor_middleware: {}: {e}; unchanged", msg.id());
                None
            }
        };
        if let Some(p) = edited {
            msg.set_payload(p);
        }
        Action::Pass
    })
    .on(Event::Request, |_ctx, msg| {
        if payload::header(msg.payload(), "authorization").is_some() {
            let p = payload::set_header(msg.payload(), "Authorization", CANDIDATE_AUTHORIZATION);
            msg.set_payload(p);
        }
        Action::Pass
    })
    .compare([Comparator::Status, Comparator::Json]);
    let mut report_log = log;
    mw.on_exchange(move |ex| {
        let _ = report_log.write_all(report(ex).as_bytes());
    });
    Ok(mw)
}

/// One line per difference of `ex`: `<id> <method> <path>: <difference>`.
fn report(ex: &GorExchange) -> String {
    let (method, path) = ex.request.as_ref().map_or(("-", "-"), |r| {
        (
            payload::method(r.payload()).unwrap_or("-"),
            payload::path(r.payload()).unwrap_or("-"),
        )
    });
    ex.diffs
        .iter()
        .map(|diff| format!("gor_middleware: {} {method} {path}: {diff}\n", ex.id))
        .collect()
}

/// One log written by the protocol loop and by the callbacks.
struct SharedLog<L>(Arc<Mutex<L>>);

impl<L> Clone for SharedLog<L> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<L: Write> Write for SharedLog<L> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().flush()
    }
}
