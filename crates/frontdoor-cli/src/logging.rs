//! The binary's log: standard error, `RUST_LOG` filtering, text or JSON lines, and a
//! fast path for the access log's text lines.
//!
//! Every request writes one `frontdoor::access` line, so its cost is per-request
//! cost. tracing-subscriber's default text format writes each field name through
//! nu-ansi-term's styling even with colours off and formats every value twice; that
//! was a fifth of the binary's user-space instructions per proxied request
//! (`benches/load/RESULTS.md`). [`TextFormat`] writes access lines itself, byte for
//! byte what the default format writes without colours, and hands every other event
//! (and access lines when colours are on, or inside a span) to the default format.
//!
//! The binary goes one step further: [`init`] with the text format and no colours
//! sends access lines past `tracing` altogether ([`AccessLine::log`] formats them
//! into a per-thread buffer and writes them with one `write(2)`), the same bytes
//! again, still subject to `RUST_LOG` (`frontdoor::access=off` silences them).
//! The `tracing` event was 5,200 instructions of the 57,100 a proxied request cost.

use std::{
    cell::RefCell,
    fmt,
    fs::File,
    io::Write as _,
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

use http::{Method, Uri};

use tracing::{
    field::{Field, Visit},
    Event, Subscriber,
};
use tracing_subscriber::{
    fmt::{
        format::{Format, Full, Writer},
        time::FormatTime,
        writer::BoxMakeWriter,
        FmtContext, FormatEvent, FormatFields,
    },
    registry::LookupSpan,
    EnvFilter,
};

/// The target of the access log's events.
pub const ACCESS_TARGET: &str = "frontdoor::access";

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (tracing-subscriber's full format).
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber: stderr, `format`, at the level `RUST_LOG` sets
/// (default info).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match format {
        LogFormat::Text => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            if !ansi {
                if let Some(out) = stderr_file() {
                    let _ = DIRECT.set(out);
                }
            }
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(stderr_writer())
                .with_ansi(ansi)
                .event_format(TextFormat::new(UtcTime))
                .init();
        }
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(stderr_writer())
            .init(),
    }
}

/// Standard error for the log: a duplicate of its descriptor, written without
/// `std::io::Stderr`'s process-wide lock.
///
/// The fmt layer formats each event into a buffer of its own and writes it with one
/// `write_all`, so a line is one `write(2)`: whole in a file (the kernel serialises
/// writes to one file) and in a pipe up to `PIPE_BUF` (4096 bytes). Through
/// `std::io::stderr` the workers took turns on its lock for every access-log line;
/// under load the loser slept on a futex and was woken again (0.4 futex calls per
/// request with two workers). Falls back to `std::io::stderr` if the descriptor
/// cannot be duplicated.
#[must_use]
pub fn stderr_writer() -> BoxMakeWriter {
    match stderr_file() {
        Some(file) => BoxMakeWriter::new(Arc::new(file)),
        None => BoxMakeWriter::new(std::io::stderr),
    }
}

/// A duplicate of standard error's descriptor, if it can be made.
fn stderr_file() -> Option<File> {
    use std::os::fd::AsFd as _;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(File::from)
}

/// The time of a log line as tracing-subscriber's default timer writes it
/// (`2026-11-27T14:09:45.123456Z`, UTC, microseconds), with the part up to the second
/// formatted once per second per thread instead of for every line.
#[derive(Clone, Copy, Debug, Default)]
pub struct UtcTime;

thread_local! {
    /// The last second formatted on this thread, and its `YYYY-MM-DDTHH:MM:SS.`.
    static SECOND: std::cell::Cell<(u64, [u8; 20])> = const { std::cell::Cell::new((u64::MAX, [0; 20])) };
}

impl UtcTime {
    /// `since_epoch` (time since 1970-01-01 UTC) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`;
    /// `None` past the year 9999.
    fn stamp(since_epoch: Duration) -> Option<[u8; 27]> {
        let secs = since_epoch.as_secs();
        let (cached, mut prefix) = SECOND.get();
        if cached != secs {
            prefix = second_prefix(secs)?;
            SECOND.set((secs, prefix));
        }
        let mut out = [0; 27];
        out[..20].copy_from_slice(&prefix);
        out[26] = b'Z';
        let mut micros = since_epoch.subsec_micros();
        for digit in out[20..26].iter_mut().rev() {
            *digit = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        Some(out)
    }

    /// Writes `since_epoch` (time since 1970-01-01 UTC).
    fn write(w: &mut Writer<'_>, since_epoch: Duration) -> fmt::Result {
        // ASCII by construction.
        let stamp = Self::stamp(since_epoch).ok_or(fmt::Error)?;
        w.write_str(std::str::from_utf8(&stamp).map_err(|_| fmt::Error)?)
    }

    /// The time since the epoch now.
    fn now() -> Option<Duration> {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
    }
}

impl FormatTime for UtcTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        Self::write(w, Self::now().ok_or(fmt::Error)?)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.` of `secs` since the epoch: humantime's RFC 3339 to the
/// second with its `Z` turned into the decimal point. `None` past the year 9999,
/// which humantime does not format.
fn second_prefix(secs: u64) -> Option<[u8; 20]> {
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))?;
    // Through `fmt::Write`: `io::Write` would panic on humantime's `fmt::Error`.
    let mut text = String::with_capacity(20);
    fmt::Write::write_fmt(
        &mut text,
        format_args!("{}", humantime::format_rfc3339_seconds(at)),
    )
    .ok()?;
    let mut out: [u8; 20] = text.as_bytes().try_into().ok()?;
    out[19] = b'.';
    Some(out)
}

/// The text format: tracing-subscriber's full format, with access lines written
/// directly. See the [module docs](self).
#[derive(Debug)]
pub struct TextFormat<T> {
    timer: T,
    full: Format<Full, T>,
}

impl<T: FormatTime + Clone> TextFormat<T> {
    /// The full format with `timer`, and the access-line fast path.
    pub fn new(timer: T) -> Self {
        Self {
            full: Format::default().with_timer(timer.clone()),
            timer,
        }
    }
}

impl<S, N, T> FormatEvent<S, N> for TextFormat<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if meta.target() != ACCESS_TARGET
            || writer.has_ansi_escapes()
            || ctx.event_scope().is_some()
        {
            return self.full.format_event(ctx, writer, event);
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        write!(writer, " {:>5} {}: ", meta.level().as_str(), meta.target())?;
        let mut fields = Fields {
            writer: &mut writer,
            result: Ok(()),
            empty: true,
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes an event's fields as tracing-subscriber's default visitor does without
/// colours: the message, then ` name=value` with values in their `Debug` form.
struct Fields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
    empty: bool,
}

impl Fields<'_, '_> {
    /// Writes `name=` (after a space unless first), or nothing for the message.
    fn name(&mut self, field: &Field) -> fmt::Result {
        if self.empty {
            self.empty = false;
        } else {
            self.writer.write_char(' ')?;
        }
        match field.name() {
            "message" => Ok(()),
            name => {
                self.writer
                    .write_str(name.strip_prefix("r#").unwrap_or(name))?;
                self.writer.write_char('=')
            }
        }
    }
}

impl Visit for Fields<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_ok() {
            self.result = self
                .name(field)
                .and_then(|()| write!(self.writer, "{value:?}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if self.result.is_ok() {
                self.result = self.name(field).and_then(|()| self.writer.write_str(value));
            }
        } else {
            self.record_debug(field, &value);
        }
    }
}

// === access lines past `tracing` ===

/// Where [`AccessLine::log`] writes when [`init`] chose the direct path (text format,
/// no colours): a duplicate of standard error's descriptor.
static DIRECT: OnceLock<File> = OnceLock::new();

thread_local! {
    /// The line being written on this thread, kept between lines.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
}

/// A line's buffer above this capacity (a long request target) is shrunk back after
/// the line, so one long target does not hold memory on the thread.
const LINE_KEEP: usize = 4096;

/// One access-log line: the `frontdoor::access` event of a request.
///
/// [`log`](Self::log) writes it: past `tracing` when the binary's [`init`] set up the
/// text format without colours, else as a `tracing` event with these fields (every
/// other subscriber, the JSON format, tests). Both write the same text:
///
/// ```text
/// 2026-11-27T12:00:00.000000Z  INFO frontdoor::access: request method=GET target=/app/x resolved=h:80:/app/x route=route[0] upstream=http://127.0.0.1:1/ status=200 bytes=13 duration_ms=0.123
/// ```
///
/// `duration_ms` is milliseconds with three decimals, to the microsecond ([`Millis`];
/// a string in the JSON format).
#[derive(Clone, Copy, Debug)]
pub struct AccessLine<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The request target as the client sent it.
    pub target: &'a Uri,
    /// The resolved `host:port:path`, or `-`.
    pub resolved: &'a str,
    /// The route that answered, or `none`.
    pub route: &'a str,
    /// The upstream the request went to, or `-`.
    pub upstream: &'a str,
    /// The request's ID, or `-`.
    pub request_id: &'a str,
    /// The request's trace ID (32 hex digits), or `-`.
    pub trace_id: &'a str,
    /// The response status (499 for a request cancelled before its response head).
    pub status: u16,
    /// The response body's length when known, else -1.
    pub bytes: i64,
    /// From arrival to response head (written as `duration_ms`, [`Millis`]).
    pub duration: Duration,
    /// Dropped before its response head: adds `cancelled=true`.
    pub cancelled: bool,
}

impl AccessLine<'_> {
    /// Writes the line if `RUST_LOG` enables `frontdoor::access` at info.
    pub fn log(&self) {
        if !tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) {
            return;
        }
        match DIRECT.get() {
            Some(out) => self.write_direct(out),
            None => self.event(),
        }
    }

    /// The line through `tracing`.
    fn event(&self) {
        tracing::info!(
            target: "frontdoor::access",
            method = %self.method,
            target = %self.target,
            resolved = %self.resolved,
            route = %self.route,
            upstream = %self.upstream,
            request_id = %self.request_id,
            trace_id = %self.trace_id,
            status = self.status,
            bytes = self.bytes,
            duration_ms = %Millis(self.duration),
            // Recorded only for a cancelled request (`None` writes no field).
            cancelled = self.cancelled.then_some(true),
            "request"
        );
    }

    /// The line, formatted in this thread's buffer and written with one `write(2)`
    /// (a failed write is dropped, as tracing-subscriber drops it).
    fn write_direct(&self, mut out: &File) {
        let stamp = UtcTime::stamp(UtcTime::now().unwrap_or_default());
        // As the default format writes a time its timer cannot format.
        let stamp = stamp.as_ref().map_or(&b"<unknown time>"[..], |s| &s[..]);
        LINE.with(|line| {
            let Ok(mut buf) = line.try_borrow_mut() else {
                return;
            };
            buf.clear();
            self.format(&mut buf, stamp);
            let _ = out.write_all(&buf);
            if buf.capacity() > LINE_KEEP {
                buf.clear();
                buf.shrink_to(LINE_KEEP);
            }
        });
    }

    /// Appends the line, time `stamp` first, as the default text format writes the
    /// event (see [`Fields`]).
    fn format(&self, buf: &mut Vec<u8>, stamp: &[u8]) {
        let mut int = itoa::Buffer::new();
        buf.extend_from_slice(stamp);
        buf.extend_from_slice(b"  INFO frontdoor::access: request method=");
        buf.extend_from_slice(self.method.as_str().as_bytes());
        buf.extend_from_slice(b" target=");
        // What `Uri`'s `Display` writes.
        if let Some(scheme) = self.target.scheme_str() {
            buf.extend_from_slice(scheme.as_bytes());
            buf.extend_from_slice(b"://");
        }
        if let Some(authority) = self.target.authority() {
            buf.extend_from_slice(authority.as_str().as_bytes());
        }
        buf.extend_from_slice(self.target.path().as_bytes());
        if let Some(query) = self.target.query() {
            buf.push(b'?');
            buf.extend_from_slice(query.as_bytes());
        }
        for (name, value) in [
            (&b" resolved="[..], self.resolved),
            (b" route=", self.route),
            (b" upstream=", self.upstream),
            (b" request_id=", self.request_id),
            (b" trace_id=", self.trace_id),
        ] {
            buf.extend_from_slice(name);
            buf.extend_from_slice(value.as_bytes());
        }
        buf.extend_from_slice(b" status=");
        buf.extend_from_slice(int.format(self.status).as_bytes());
        buf.extend_from_slice(b" bytes=");
        buf.extend_from_slice(int.format(self.bytes).as_bytes());
        buf.extend_from_slice(b" duration_ms=");
        Millis(self.duration).write(buf);
        if self.cancelled {
            buf.extend_from_slice(b" cancelled=true");
        }
        buf.push(b'\n');
    }
}

/// A duration as milliseconds with three decimals, to the microsecond (truncated):
/// `1.147`, `12.000`, `0.000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Millis(pub Duration);

impl Millis {
    /// Appends the text `Display` writes, without `core::fmt` (once per request).
    fn write(self, buf: &mut Vec<u8>) {
        let micros = self.0.as_micros();
        let mut int = itoa::Buffer::new();
        buf.extend_from_slice(int.format(micros / 1000).as_bytes());
        let fraction = micros % 1000;
        buf.extend_from_slice(&[
            b'.',
            b'0' + (fraction / 100) as u8,
            b'0' + (fraction / 10 % 10) as u8,
            b'0' + (fraction % 10) as u8,
        ]);
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_micros();
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// A fixed timestamp, so lines compare equal.
    #[derive(Clone)]
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            w.write_str("2026-11-27T12:00:00.000000Z")
        }
    }

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// Emits the access events of `ops` (answered, cancelled) and a few others.
    fn emit() {
        let method = http::Method::GET;
        let target = "/app/x?q=\"1\"".to_owned();
        tracing::info!(
            target: "frontdoor::access",
            method = %method,
            target = %target,
            resolved = %"h:80:/app/x",
            route = %"route[0]",
            upstream = %"http://127.0.0.1:1/",
            status = 200_u16,
            bytes = 13_i64,
            duration_ms = %Millis(Duration::from_nanos(123_456)),
            "request"
        );
        tracing::info!(
            target: "frontdoor::access",
            method = %method,
            status = 499_u16,
            bytes = -1_i64,
            duration_ms = 12.0_f64,
            cancelled = true,
            quoted = "a \"str\"",
            r#type = 1_u64,
            "request"
        );
        tracing::warn!(target: "frontdoor::access", error = %"x", "odd");
        tracing::info!(target: "frontdoor::other", n = 1, "not an access line");
        let span = tracing::info_span!("conn", peer = 1);
        span.in_scope(|| {
            tracing::info!(target: "frontdoor::access", status = 200_u16, "request");
        });
    }

    fn capture(
        format: impl FormatEvent<
                tracing_subscriber::Registry,
                tracing_subscriber::fmt::format::DefaultFields,
            > + Send
            + Sync
            + 'static,
    ) -> String {
        capture_of(format, emit)
    }

    /// What the subscriber with `format` writes while `events` runs.
    fn capture_of(
        format: impl FormatEvent<
                tracing_subscriber::Registry,
                tracing_subscriber::fmt::format::DefaultFields,
            > + Send
            + Sync
            + 'static,
        events: impl FnOnce(),
    ) -> String {
        let sink = Sink::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(sink.clone())
            .with_ansi(false)
            .event_format(format)
            .finish();
        tracing::subscriber::with_default(subscriber, events);
        let bytes = sink.0.lock().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn utc(since_epoch: std::time::Duration) -> String {
        let mut out = String::new();
        UtcTime::write(&mut Writer::new(&mut out), since_epoch).unwrap();
        out
    }

    #[test]
    fn utc_time_writes_known_instants() {
        use std::time::Duration;
        assert_eq!(utc(Duration::ZERO), "1970-01-01T00:00:00.000000Z");
        // As `date -u -d @951782400` (a leap day), `@4107542399` and `@1795783785` say.
        assert_eq!(
            utc(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            utc(Duration::new(4_107_542_399, 42_000)),
            "2100-02-28T23:59:59.000042Z"
        );
        assert_eq!(
            utc(Duration::new(1_795_783_785, 123_456_789)),
            "2026-11-27T12:49:45.123456Z"
        );
        // The cached second is per thread: the next second is formatted afresh.
        assert_eq!(
            utc(Duration::new(1_795_783_786, 0)),
            "2026-11-27T12:49:46.000000Z"
        );
    }

    #[test]
    fn utc_time_stops_at_the_year_9999() {
        use std::time::Duration;
        assert_eq!(
            utc(Duration::new(253_402_300_799, 999_999_000)),
            "9999-12-31T23:59:59.999999Z"
        );
        assert_eq!(UtcTime::stamp(Duration::from_secs(253_402_300_800)), None);
    }

    #[test]
    fn utc_time_agrees_with_the_default_timer() {
        use tracing_subscriber::fmt::time::SystemTime;
        loop {
            let mut default = String::new();
            SystemTime
                .format_time(&mut Writer::new(&mut default))
                .unwrap();
            let mut ours = String::new();
            UtcTime.format_time(&mut Writer::new(&mut ours)).unwrap();
            assert_eq!(ours.len(), default.len(), "{ours} vs {default}");
            if ours[..20] == default[..20] {
                break; // else a second ended between the two: again
            }
        }
    }

    #[test]
    fn access_lines_are_byte_for_byte_the_default_format() {
        let fast = capture(TextFormat::new(Fixed));
        let default = capture(Format::default().with_timer(Fixed));
        assert_eq!(fast, default);
        assert!(
            fast.starts_with(
                "2026-11-27T12:00:00.000000Z  INFO frontdoor::access: request method=GET \
                 target=/app/x?q=\"1\" resolved=h:80:/app/x route=route[0] \
                 upstream=http://127.0.0.1:1/ status=200 bytes=13 duration_ms=0.123\n"
            ),
            "{fast}"
        );
        assert!(
            fast.contains(" quoted=\"a \\\"str\\\"\" type=1\n"),
            "{fast}"
        );
        assert_eq!(fast.lines().count(), 5, "{fast}");
    }

    #[test]
    fn direct_access_lines_are_the_event_lines() {
        let targets = [
            "/app/x?q=%22&b=",
            "/",
            "*",
            "http://example.com:8080/p?q",
            "https://example.com",
            "example.com:443",
        ];
        let methods = [Method::GET, Method::from_bytes(b"PROPFIND").unwrap()];
        for (i, target) in targets.iter().enumerate() {
            let target: Uri = target.parse().unwrap();
            for cancelled in [false, true] {
                let line = AccessLine {
                    method: &methods[i % 2],
                    target: &target,
                    resolved: "example.com:80:/app/x",
                    route: if cancelled { "none" } else { "route[990]" },
                    upstream: "http://127.0.0.1:9/",
                    request_id: if cancelled { "-" } else { "0b7c6a52-1e2f" },
                    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
                    status: if cancelled { 499 } else { 200 + i as u16 },
                    bytes: if cancelled { -1 } else { 1 << (10 * i) },
                    duration: [
                        Duration::from_nanos(123_456),
                        Duration::from_millis(12),
                        Duration::from_nanos(100),
                        Duration::from_micros(1_234_500),
                        Duration::ZERO,
                        Duration::MAX,
                    ][i],
                    cancelled,
                };
                let mut direct = Vec::new();
                line.format(&mut direct, b"2026-11-27T12:00:00.000000Z");
                let direct = String::from_utf8(direct).unwrap();
                let event = capture_of(Format::default().with_timer(Fixed), || line.event());
                assert_eq!(direct, event);
                let fast = capture_of(TextFormat::new(Fixed), || line.event());
                assert_eq!(direct, fast);
            }
        }
    }

    #[test]
    fn durations_are_milliseconds_to_the_microsecond() {
        for (duration, text) in [
            (Duration::from_nanos(1_147_177), "1.147"),
            (Duration::from_nanos(1_147_999), "1.147"),
            (Duration::from_millis(12), "12.000"),
            (Duration::from_nanos(999), "0.000"),
            (Duration::from_micros(1), "0.001"),
            (Duration::from_micros(90), "0.090"),
            (Duration::from_micros(1_234_567), "1234.567"),
            (Duration::ZERO, "0.000"),
            (Duration::MAX, "18446744073709551615999.999"),
        ] {
            assert_eq!(Millis(duration).to_string(), text);
            let mut direct = Vec::new();
            Millis(duration).write(&mut direct);
            assert_eq!(String::from_utf8(direct).unwrap(), text);
        }
    }

    #[test]
    fn a_long_target_does_not_keep_its_buffer() {
        let long = format!("/{}", "a".repeat(3 * LINE_KEEP));
        let target: Uri = long.parse().unwrap();
        let line = AccessLine {
            method: &Method::GET,
            target: &target,
            resolved: "-",
            route: "none",
            upstream: "-",
            request_id: "-",
            trace_id: "-",
            status: 404,
            bytes: 0,
            duration: Duration::from_millis(1),
            cancelled: false,
        };
        let out = File::create("/dev/null").unwrap();
        line.write_direct(&out);
        LINE.with(|buf| assert!(buf.borrow().capacity() <= LINE_KEEP));
    }
}
