//! The event API of GoReplay's Node and Python helpers, with their quirks fixed.
//!
//! * `on(event, callback)` for every message, or every message of one kind; a
//!   callback edits the message in place and answers [`Action::Pass`] or
//!   [`Action::Drop`] (explicitly: no "falsy return" accidents, and unlike Python a
//!   message *can* be dropped).
//! * Per-id callbacks (`on_id`, also from inside a callback through [`Context`]) fire
//!   once and expire after a time-to-live, so the table cannot grow without bound.
//! * `on_exchange` receives the request, its response and its replay together, in
//!   any arrival order (see [`crate::correlate`]), with the comparators' findings.
//!
//! Dispatch order is the helpers': `message`, then the kind (`request`,
//! `response`, `replay`), then the kind's per-id callbacks. Every callback runs; the
//! message is written back unless one of them dropped it.

use std::{collections::HashMap, fmt, io, time::Duration};

use frontdoor_mirror::compare::{Comparator, DiffKind};
use tokio::time::Instant;

use crate::{
    correlate::{Correlator, GorExchange, DEFAULT_CAPACITY, DEFAULT_TTL},
    io::{Reader, Writer},
    Kind, Message,
};

/// Which messages an [`Middleware::on`] callback receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// Every message.
    Message,
    /// Requests (type 1).
    Request,
    /// Original responses (type 2).
    Response,
    /// Replayed responses (type 3).
    Replay,
}

impl Event {
    const fn of(kind: Kind) -> Option<Self> {
        match kind {
            Kind::Request => Some(Self::Request),
            Kind::Response => Some(Self::Response),
            Kind::Replay => Some(Self::Replay),
            Kind::Other(_) => None,
        }
    }
}

/// What a callback decides about the message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Write it back (as edited).
    #[default]
    Pass,
    /// Do not write it back: for a request, GoReplay will not replay it.
    Drop,
}

type Callback = Box<dyn FnMut(&mut Context<'_>, &mut Message) -> Action + Send>;
type OnceCallback = Box<dyn FnOnce(&mut Context<'_>, &mut Message) -> Action + Send>;
type ExchangeCallback = Box<dyn FnMut(&GorExchange) + Send>;

/// What a callback can do besides editing the message: register per-id callbacks.
pub struct Context<'a> {
    now: Instant,
    registrations: &'a mut Vec<(Kind, String, OnceCallback)>,
}

impl Context<'_> {
    /// Calls `callback` once, for the next message of `kind` with `id` (unless it
    /// expires first).
    pub fn on_id<F>(&mut self, kind: Kind, id: &str, callback: F)
    where
        F: FnOnce(&mut Context<'_>, &mut Message) -> Action + Send + 'static,
    {
        self.registrations
            .push((kind, id.to_owned(), Box::new(callback)));
    }

    /// The dispatch's clock reading.
    #[must_use]
    pub const fn now(&self) -> Instant {
        self.now
    }
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("now", &self.now)
            .field("registrations", &self.registrations.len())
            .finish()
    }
}

/// Counters of a [`Middleware`]'s work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GorStats {
    /// Messages dispatched, by kind: requests, responses, replays, others.
    pub messages: [u64; 4],
    /// Malformed lines skipped (by [`Middleware::run`]).
    pub malformed: u64,
    /// Messages written back.
    pub written: u64,
    /// Messages dropped by a callback.
    pub dropped: u64,
    /// Per-id callbacks that expired without firing.
    pub expired_callbacks: u64,
    /// Exchanges reported (with `on_exchange`).
    pub exchanges: u64,
    /// Exchanges with both responses and no difference.
    pub matched: u64,
    /// Exchanges with at least one difference.
    pub differing: u64,
    /// Differences by [`DiffKind`] (in [`DiffKind::ALL`] order).
    pub diffs: [u64; 4],
    /// Exchanges reported without one of their three messages.
    pub incomplete: u64,
}

/// A GoReplay middleware. See the [module docs](self) and the
/// [crate example](crate).
pub struct Middleware {
    on: Vec<(Event, Callback)>,
    per_id: HashMap<(Kind, String), Vec<(Instant, OnceCallback)>>,
    id_ttl: Duration,
    last_sweep: Option<Instant>,
    correlator: Correlator,
    on_exchange: Option<ExchangeCallback>,
    comparators: Vec<Comparator>,
    exchange_ttl: Duration,
    exchange_capacity: usize,
    max_line: Option<usize>,
    stats: GorStats,
}

impl Default for Middleware {
    fn default() -> Self {
        Self::new()
    }
}

impl Middleware {
    /// A middleware that passes every message through.
    #[must_use]
    pub fn new() -> Self {
        Self {
            on: Vec::new(),
            per_id: HashMap::new(),
            id_ttl: DEFAULT_TTL,
            last_sweep: None,
            correlator: Correlator::new([Comparator::Status]),
            on_exchange: None,
            comparators: vec![Comparator::Status],
            exchange_ttl: DEFAULT_TTL,
            exchange_capacity: DEFAULT_CAPACITY,
            max_line: None,
            stats: GorStats::default(),
        }
    }

    /// Calls `callback` for every message of `event`.
    pub fn on<F>(&mut self, event: Event, callback: F) -> &mut Self
    where
        F: FnMut(&mut Context<'_>, &mut Message) -> Action + Send + 'static,
    {
        self.on.push((event, Box::new(callback)));
        self
    }

    /// Calls `callback` once, for the next message of `kind` with `id`, unless it
    /// expires first (see [`Middleware::id_ttl`]).
    pub fn on_id<F>(&mut self, kind: Kind, id: &str, callback: F) -> &mut Self
    where
        F: FnOnce(&mut Context<'_>, &mut Message) -> Action + Send + 'static,
    {
        let now = Instant::now();
        self.register(kind, id.to_owned(), Box::new(callback), now);
        self
    }

    /// How long a per-id callback waits before it expires. Default 10 s.
    pub fn id_ttl(&mut self, ttl: Duration) -> &mut Self {
        self.id_ttl = ttl;
        self
    }

    /// The comparators run on each exchange. Default: status only.
    pub fn compare(&mut self, comparators: impl IntoIterator<Item = Comparator>) -> &mut Self {
        self.comparators = comparators.into_iter().collect();
        self.rebuild_correlator()
    }

    /// How long an exchange waits for its missing messages. Default 10 s.
    pub fn exchange_ttl(&mut self, ttl: Duration) -> &mut Self {
        self.exchange_ttl = ttl;
        self.rebuild_correlator()
    }

    /// The bound on exchanges waiting for messages; over it the oldest is reported
    /// incomplete. Default [`DEFAULT_CAPACITY`].
    pub fn exchange_capacity(&mut self, capacity: usize) -> &mut Self {
        self.exchange_capacity = capacity;
        self.rebuild_correlator()
    }

    /// Settings changed: a fresh table with them (settings are made before traffic).
    fn rebuild_correlator(&mut self) -> &mut Self {
        self.correlator = Correlator::new(self.comparators.iter().cloned())
            .ttl(self.exchange_ttl)
            .capacity(self.exchange_capacity);
        self
    }

    /// Calls `callback` once per id with the request, response and replay (or what
    /// of them arrived within the exchange time-to-live, or by end of input).
    pub fn on_exchange<F>(&mut self, callback: F) -> &mut Self
    where
        F: FnMut(&GorExchange) + Send + 'static,
    {
        self.on_exchange = Some(Box::new(callback));
        self
    }

    /// [`run`](Self::run) skips (and reports) lines longer than `bytes`. Default: no
    /// limit.
    pub fn max_line(&mut self, bytes: usize) -> &mut Self {
        self.max_line = Some(bytes);
        self
    }

    /// The counters so far.
    #[must_use]
    pub const fn stats(&self) -> GorStats {
        self.stats
    }

    fn register(&mut self, kind: Kind, id: String, cb: OnceCallback, now: Instant) {
        self.per_id.entry((kind, id)).or_default().push((now, cb));
    }

    /// Dispatches `msg` now; returns it (as edited) unless a callback dropped it.
    pub fn dispatch(&mut self, msg: Message) -> Option<Message> {
        self.dispatch_at(msg, Instant::now())
    }

    /// As [`Middleware::dispatch`], with an explicit clock reading.
    pub fn dispatch_at(&mut self, mut msg: Message, now: Instant) -> Option<Message> {
        self.sweep(now);
        let kind = msg.kind();
        self.stats.messages[kind_index(kind)] += 1;
        let action = self.run_callbacks(&mut msg, now);
        let keep = action == Action::Pass;
        if keep {
            self.stats.written += 1;
        } else {
            self.stats.dropped += 1;
        }
        self.correlate(&msg, keep, now);
        keep.then_some(msg)
    }

    fn run_callbacks(&mut self, msg: &mut Message, now: Instant) -> Action {
        let mut registrations = Vec::new();
        let mut ctx = Context {
            now,
            registrations: &mut registrations,
        };
        let mut action = Action::Pass;
        let mut merge = |a: Action| {
            if a == Action::Drop {
                action = Action::Drop;
            }
        };
        let event = Event::of(msg.kind());
        for (e, cb) in &mut self.on {
            if *e == Event::Message {
                merge(cb(&mut ctx, msg));
            }
        }
        for (e, cb) in &mut self.on {
            if Some(*e) == event {
                merge(cb(&mut ctx, msg));
            }
        }
        let key = (msg.kind(), msg.id().to_owned());
        for (_, cb) in self.per_id.remove(&key).unwrap_or_default() {
            merge(cb(&mut ctx, msg));
        }
        for (kind, id, cb) in registrations {
            self.register(kind, id, cb, now);
        }
        action
    }

    /// Drops per-id callbacks older than the time-to-live (at most once a second).
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_sweep = Some(now);
        let ttl = self.id_ttl;
        let mut expired = 0;
        self.per_id.retain(|_, cbs| {
            let before = cbs.len();
            cbs.retain(|(at, _)| now.saturating_duration_since(*at) < ttl);
            expired += before - cbs.len();
            !cbs.is_empty()
        });
        self.stats.expired_callbacks += expired as u64;
    }

    fn correlate(&mut self, msg: &Message, keep: bool, now: Instant) {
        if self.on_exchange.is_none() {
            return;
        }
        let correlator = &mut self.correlator;
        let done = match (msg.kind(), keep) {
            (Kind::Request, false) => {
                correlator.forget(msg.id());
                correlator.expire(now)
            }
            (Kind::Other(_), _) => correlator.expire(now),
            _ => correlator.push(msg.clone(), now),
        };
        self.report(done);
    }

    fn report(&mut self, done: Vec<GorExchange>) {
        let Some(callback) = &mut self.on_exchange else {
            return;
        };
        for ex in done {
            let s = &mut self.stats;
            s.exchanges += 1;
            if !ex.is_complete() {
                s.incomplete += 1;
            }
            if ex.is_match() {
                s.matched += 1;
            }
            if !ex.diffs.is_empty() {
                s.differing += 1;
            }
            for d in &ex.diffs {
                s.diffs[diff_index(d.kind())] += 1;
            }
            callback(&ex);
        }
    }

    /// Reports every exchange still pending (call at end of input; [`run`](Self::run)
    /// does).
    pub fn finish(&mut self) {
        if self.on_exchange.is_some() {
            let done = self.correlator.drain();
            self.report(done);
        }
    }

    /// Runs the protocol: reads lines from `input` until EOF, dispatches them, writes
    /// the kept messages to `output` (flushed per message), reports malformed lines
    /// on `log` and skips them, then [`finish`](Self::finish)es.
    ///
    /// # Errors
    ///
    /// I/O errors of `input` or `output` (a broken pipe: GoReplay went away).
    pub fn run<R, W, L>(&mut self, input: R, output: W, mut log: L) -> io::Result<GorStats>
    where
        R: io::BufRead,
        W: io::Write,
        L: io::Write,
    {
        let mut reader = match self.max_line {
            Some(n) => Reader::new(input).max_line(n),
            None => Reader::new(input),
        };
        let mut writer = Writer::new(output);
        while let Some(item) = reader.next_message()? {
            match item {
                Ok(msg) => {
                    if let Some(out) = self.dispatch(msg) {
                        writer.write(&out)?;
                    }
                }
                Err(e) => {
                    self.stats.malformed += 1;
                    let _ = writeln!(log, "frontdoor-gor: {e}; skipped");
                }
            }
        }
        self.finish();
        Ok(self.stats)
    }
}

impl fmt::Debug for Middleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Middleware")
            .field("callbacks", &self.on.len())
            .field("per_id", &self.per_id.len())
            .field("correlating", &self.on_exchange.is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

const fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Request => 0,
        Kind::Response => 1,
        Kind::Replay => 2,
        Kind::Other(_) => 3,
    }
}

fn diff_index(kind: DiffKind) -> usize {
    DiffKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

#[cfg(test)]
mod tests;
