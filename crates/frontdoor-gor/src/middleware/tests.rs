use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use super::*;
use crate::payload;

fn msg(kind: Kind, id: &str, payload: &'static str) -> Message {
    Message::new(kind, id, payload).unwrap()
}

const REQ: &str = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
const ERR: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";

#[test]
fn no_callbacks_pass_everything_unchanged() {
    let mut mw = Middleware::new();
    let m = msg(Kind::Request, "a", REQ);
    assert_eq!(mw.dispatch(m.clone()), Some(m));
}

#[test]
fn order_is_message_kind_then_id_and_edits_carry_over() {
    let mut mw = Middleware::new();
    mw.on(Event::Request, |_, m| {
        let p = payload::set_path(
            m.payload(),
            &format!("{}+kind", payload::path(m.payload()).unwrap()),
        );
        m.set_payload(p);
        Action::Pass
    })
    .on(Event::Message, |_, m| {
        m.set_payload(payload::set_path(m.payload(), "/msg"));
        Action::Pass
    })
    .on_id(Kind::Request, "a", |_, m| {
        let p = payload::set_path(
            m.payload(),
            &format!("{}+id", payload::path(m.payload()).unwrap()),
        );
        m.set_payload(p);
        Action::Pass
    });
    let out = mw.dispatch(msg(Kind::Request, "a", REQ)).unwrap();
    assert_eq!(payload::path(out.payload()), Some("/msg+kind+id"));
    // The per-id callback was one-shot.
    let out = mw.dispatch(msg(Kind::Request, "a", REQ)).unwrap();
    assert_eq!(payload::path(out.payload()), Some("/msg+kind"));
    assert_eq!(out.meta(), "1 a", "meta is kept");
}

#[test]
fn one_drop_drops_but_every_callback_runs() {
    let runs = Arc::new(AtomicUsize::new(0));
    let (r1, r2) = (Arc::clone(&runs), Arc::clone(&runs));
    let mut mw = Middleware::new();
    mw.on(Event::Message, move |_, _| {
        r1.fetch_add(1, Ordering::SeqCst);
        Action::Drop
    })
    .on(Event::Request, move |_, _| {
        r2.fetch_add(1, Ordering::SeqCst);
        Action::Pass
    });
    assert_eq!(mw.dispatch(msg(Kind::Request, "a", REQ)), None);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(mw.stats().dropped, 1);
}

#[test]
fn nested_per_id_registration_and_expiry() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    let mut mw = Middleware::new();
    mw.on(Event::Request, move |ctx, m| {
        let s = Arc::clone(&s);
        ctx.on_id(Kind::Response, m.id(), move |_, _| {
            s.fetch_add(1, Ordering::SeqCst);
            Action::Pass
        });
        Action::Pass
    });
    let t0 = Instant::now();
    mw.dispatch_at(msg(Kind::Request, "a", REQ), t0);
    mw.dispatch_at(msg(Kind::Response, "a", OK), t0 + Duration::from_secs(1));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    // Registered, then expired after the TTL: never fires, counted.
    mw.dispatch_at(msg(Kind::Request, "b", REQ), t0);
    mw.dispatch_at(msg(Kind::Response, "b", OK), t0 + Duration::from_secs(11));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(mw.stats().expired_callbacks, 1);
}

#[test]
fn exchanges_in_the_1_3_2_order_and_missing_replays() {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut mw = Middleware::new();
    mw.on_exchange(move |ex| tx.send(ex.clone()).unwrap());
    let t0 = Instant::now();
    mw.dispatch_at(msg(Kind::Request, "a", REQ), t0);
    mw.dispatch_at(msg(Kind::Replay, "a", ERR), t0);
    mw.dispatch_at(msg(Kind::Response, "a", OK), t0);
    mw.dispatch_at(msg(Kind::Request, "b", REQ), t0);
    mw.dispatch_at(msg(Kind::Response, "b", OK), t0);
    // A dropped request is forgotten: never reported.
    mw.on(Event::Request, |_, m| {
        if m.id() == "c" {
            Action::Drop
        } else {
            Action::Pass
        }
    });
    mw.dispatch_at(msg(Kind::Request, "c", REQ), t0);
    mw.finish();
    let got: Vec<_> = rx.try_iter().collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, "a");
    assert_eq!(
        got[0].diffs[0].to_string(),
        "replay status 503 differs from response status 200"
    );
    assert_eq!(got[1].id, "b");
    assert!(got[1].replay.is_none());
    let s = mw.stats();
    assert_eq!(
        (s.exchanges, s.differing, s.incomplete, s.diffs[0]),
        (2, 1, 1, 1)
    );
}

#[test]
fn public_types_are_send() {
    fn send<T: Send>() {}
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send::<Middleware>();
    send::<crate::Correlator>();
    send_sync_clone::<Message>();
    send_sync_clone::<crate::GorExchange>();
}
