//! Correlation of a request (1), its original response (2) and its replay (3) by id,
//! robust to any arrival order, bounded by a time-to-live and a capacity.
//!
//! Unlike the Node and Python helpers' nested per-id registrations (which miss the
//! 1, 3, 2 order), whichever message arrives first is stored and the exchange
//! completes when all three are in; after the time-to-live it is reported with what
//! it has.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use frontdoor_mirror::compare::{compare_all, Comparator, Diff};
use tokio::time::Instant;

use crate::{payload, Kind, Message};

/// Default time-to-live of a pending exchange: 10 s (the Node helper's value).
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);
/// Default bound on pending exchanges; over it the oldest is reported incomplete.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A request with its original response and replay, as far as they arrived, and
/// what the comparators found (empty unless both responses parsed).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GorExchange {
    /// The correlation id.
    pub id: String,
    /// The request (type 1), as written back.
    pub request: Option<Message>,
    /// The original response (type 2).
    pub response: Option<Message>,
    /// The replayed response (type 3).
    pub replay: Option<Message>,
    /// The comparators' findings.
    pub diffs: Vec<Diff>,
}

impl GorExchange {
    /// All three messages arrived.
    #[must_use]
    pub const fn is_complete(&self) -> bool {
        self.request.is_some() && self.response.is_some() && self.replay.is_some()
    }

    /// Both responses arrived and no comparator found a difference.
    #[must_use]
    pub fn is_match(&self) -> bool {
        self.response.is_some() && self.replay.is_some() && self.diffs.is_empty()
    }
}

#[derive(Debug)]
struct Pending {
    since: Instant,
    request: Option<Message>,
    response: Option<Message>,
    replay: Option<Message>,
}

/// The correlation table. See the [module docs](self).
#[derive(Debug)]
pub struct Correlator {
    pending: HashMap<String, Pending>,
    /// Ids in arrival order of their first message, for expiry and eviction.
    order: VecDeque<(Instant, String)>,
    ttl: Duration,
    capacity: usize,
    comparators: Arc<[Comparator]>,
}

impl Correlator {
    /// A table comparing with `comparators`, [`DEFAULT_TTL`], [`DEFAULT_CAPACITY`].
    pub fn new(comparators: impl IntoIterator<Item = Comparator>) -> Self {
        Self {
            pending: HashMap::new(),
            order: VecDeque::new(),
            ttl: DEFAULT_TTL,
            capacity: DEFAULT_CAPACITY,
            comparators: comparators.into_iter().collect(),
        }
    }

    /// How long an exchange waits for its missing messages.
    #[must_use]
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The bound on pending exchanges.
    #[must_use]
    pub const fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How many exchanges are waiting.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Stores `msg`; returns the exchanges this completes, expires or evicts.
    pub fn push(&mut self, msg: Message, now: Instant) -> Vec<GorExchange> {
        let mut out = self.expire(now);
        let id = msg.id().to_owned();
        let entry = self.pending.entry(id.clone()).or_insert_with(|| {
            self.order.push_back((now, id.clone()));
            Pending {
                since: now,
                request: None,
                response: None,
                replay: None,
            }
        });
        match msg.kind() {
            Kind::Request => entry.request = Some(msg),
            Kind::Response => entry.response = Some(msg),
            Kind::Replay => entry.replay = Some(msg),
            Kind::Other(_) => {}
        }
        if entry.request.is_some() && entry.response.is_some() && entry.replay.is_some() {
            out.extend(self.take(&id));
        }
        while self.pending.len() > self.capacity {
            let Some((since, oldest)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&oldest).is_some_and(|p| p.since == since) {
                out.extend(self.take(&oldest));
            }
        }
        out
    }

    /// Forgets `id` without reporting it (its request was dropped: no replay will
    /// come).
    pub fn forget(&mut self, id: &str) {
        self.pending.remove(id);
    }

    /// Reports the exchanges whose time-to-live has passed at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<GorExchange> {
        let mut out = Vec::new();
        while let Some((since, id)) = self.order.front() {
            if now.saturating_duration_since(*since) < self.ttl {
                break;
            }
            let (since, id) = (*since, id.clone());
            self.order.pop_front();
            if self.pending.get(&id).is_some_and(|p| p.since == since) {
                out.extend(self.take(&id));
            }
        }
        out
    }

    /// Reports everything still pending (end of input).
    pub fn drain(&mut self) -> Vec<GorExchange> {
        let ids: Vec<String> = self.order.drain(..).map(|(_, id)| id).collect();
        ids.iter().filter_map(|id| self.take(id)).collect()
    }

    fn take(&mut self, id: &str) -> Option<GorExchange> {
        let p = self.pending.remove(id)?;
        let captured =
            |m: &Option<Message>| m.as_ref().and_then(|m| payload::to_captured(m.payload()));
        let diffs = match (captured(&p.response), captured(&p.replay)) {
            (Some(a), Some(b)) => compare_all(&self.comparators, &a, &b),
            _ => Vec::new(),
        };
        Some(GorExchange {
            id: id.to_owned(),
            request: p.request,
            response: p.response,
            replay: p.replay,
            diffs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: Kind, id: &str, payload: &'static str) -> Message {
        Message::new(kind, id, payload).unwrap()
    }

    const REQ: &str = "GET / HTTP/1.1\r\n\r\n";
    const OK: &str = "HTTP/1.1 200 OK\r\n\r\n";
    const ERR: &str = "HTTP/1.1 500 Internal Server Error\r\n\r\n";

    #[test]
    fn any_order_completes_once() {
        let orders: [[Kind; 3]; 3] = [
            [Kind::Request, Kind::Response, Kind::Replay],
            [Kind::Request, Kind::Replay, Kind::Response],
            [Kind::Replay, Kind::Response, Kind::Request],
        ];
        let now = Instant::now();
        for order in orders {
            let mut c = Correlator::new([Comparator::Status]);
            let mut done = Vec::new();
            for kind in order {
                let payload = match kind {
                    Kind::Request => REQ,
                    Kind::Response => OK,
                    _ => ERR,
                };
                done.extend(c.push(msg(kind, "x", payload), now));
            }
            assert_eq!(done.len(), 1, "{order:?}");
            assert!(done[0].is_complete());
            assert_eq!(
                done[0].diffs[0].to_string(),
                "replay status 500 differs from response status 200"
            );
            assert_eq!(c.pending(), 0);
        }
    }

    #[test]
    fn ttl_and_capacity_report_incomplete_exchanges() {
        let t0 = Instant::now();
        let mut c = Correlator::new([Comparator::Status])
            .ttl(Duration::from_secs(10))
            .capacity(2);
        assert!(c.push(msg(Kind::Request, "a", REQ), t0).is_empty());
        assert!(c.push(msg(Kind::Response, "a", OK), t0).is_empty());
        let expired = c.expire(t0 + Duration::from_secs(10));
        assert_eq!(expired.len(), 1);
        assert!(expired[0].replay.is_none() && expired[0].response.is_some());
        c.push(msg(Kind::Request, "b", REQ), t0);
        c.push(msg(Kind::Request, "c", REQ), t0);
        let evicted = c.push(msg(Kind::Request, "d", REQ), t0);
        assert_eq!(evicted.len(), 1);
        assert_eq!(evicted[0].id, "b");
        c.forget("c");
        let rest = c.drain();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].id, "d");
    }
}
