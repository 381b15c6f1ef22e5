//! What goes to stderr: one line per difference, and the summary.

use std::fmt::Write as _;

use frontdoor_gor::{payload, GorExchange, GorStats};
use frontdoor_mirror::compare::DiffKind;

/// One line per difference of `ex`: `<id> <method> <path>: <difference>`.
pub(crate) fn differences(ex: &GorExchange) -> String {
    let (method, path) = ex.request.as_ref().map_or(("-", "-"), |r| {
        (
            payload::method(r.payload()).unwrap_or("-"),
            payload::path(r.payload()).unwrap_or("-"),
        )
    });
    let mut out = String::new();
    for diff in &ex.diffs {
        let _ = writeln!(out, "frontdoor-gor: {} {method} {path}: {diff}", ex.id);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The end-of-input summary.
pub(crate) fn summary(s: &GorStats, compared: bool) -> String {
    let total: u64 = s.messages.iter().sum();
    let mut out = format!(
        "frontdoor-gor: {} ({} requests, {} responses, {} replays), {} skipped, {} written, {} dropped\n",
        plural(total, "message", "messages"),
        s.messages[0],
        s.messages[1],
        s.messages[2],
        plural(s.malformed, "malformed line", "malformed lines"),
        s.written,
        s.dropped,
    );
    if compared {
        let kinds: Vec<String> = DiffKind::ALL
            .iter()
            .zip(s.diffs)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        let kinds = if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        };
        let _ = writeln!(
            out,
            "frontdoor-gor: {}: {} matched, {} differing{kinds}, {} incomplete",
            plural(s.exchanges, "exchange", "exchanges"),
            s.matched,
            s.differing,
            s.incomplete,
        );
    }
    out
}
