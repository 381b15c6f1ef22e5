//! The mirror layers' counters on `/metrics`: one [`MirrorStats`] per target label,
//! kept across reloads, read at each scrape by a Prometheus collector.

use std::{collections::BTreeMap, sync::Arc};

use frontdoor_mirror::{DiffKind, MirrorStats, ShadowErrorKind, SkipReason, StatsSnapshot};
use parking_lot::Mutex;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::counter::ConstCounter,
};

/// The counters of every mirrored target, by its label (its name, `route[N]`, `default`).
#[derive(Clone, Debug, Default)]
pub(crate) struct MirrorCounters {
    by_target: Arc<Mutex<BTreeMap<String, MirrorStats>>>,
}

impl MirrorCounters {
    /// The counters of `label`: the same ones after a reload, so totals keep counting.
    pub(crate) fn stats(&self, label: &str) -> MirrorStats {
        self.by_target
            .lock()
            .entry(label.to_owned())
            .or_default()
            .clone()
    }

    fn snapshots(&self) -> Vec<(String, StatsSnapshot)> {
        self.by_target
            .lock()
            .iter()
            .map(|(label, stats)| (label.clone(), stats.snapshot()))
            .collect()
    }
}

type Labels = Vec<(&'static str, String)>;

/// One counter family: its name, help, and each (labels, value).
fn family(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    let mut metric =
        encoder.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
    for (labels, value) in rows {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

/// The rows of each family, over every target.
#[derive(Default)]
struct Rows {
    sent: Vec<(Labels, u64)>,
    skipped: Vec<(Labels, u64)>,
    failed: Vec<(Labels, u64)>,
    differing: Vec<(Labels, u64)>,
    exchanges: Vec<(Labels, u64)>,
}

impl Rows {
    fn add(&mut self, label: &str, s: &StatsSnapshot) {
        let with = |k: &'static str, v: &str| vec![("route", label.to_owned()), (k, v.to_owned())];
        self.sent
            .push((vec![("route", label.to_owned())], s.mirrored()));
        for reason in SkipReason::ALL {
            self.skipped
                .push((with("reason", reason.as_str()), s.skipped(reason)));
        }
        for kind in ShadowErrorKind::ALL {
            self.failed
                .push((with("kind", kind.as_str()), s.failed(kind)));
        }
        for kind in DiffKind::ALL {
            self.differing
                .push((with("kind", kind.as_str()), s.diffs(kind)));
        }
        for (outcome, n) in [
            ("matched", s.matched()),
            ("differing", s.differing()),
            ("missing_primary", s.missing_primary()),
            ("missing_replay", s.missing_replay()),
        ] {
            self.exchanges.push((with("outcome", outcome), n));
        }
    }
}

impl Collector for MirrorCounters {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut rows = Rows::default();
        for (label, snapshot) in self.snapshots() {
            rows.add(&label, &snapshot);
        }
        family(
            &mut encoder,
            "mirror_requests",
            "Shadow requests sent, by route",
            &rows.sent,
        )?;
        family(
            &mut encoder,
            "mirror_skipped",
            "Requests not mirrored, by route and reason",
            &rows.skipped,
        )?;
        family(
            &mut encoder,
            "mirror_failed",
            "Shadow requests that failed, by route and error kind",
            &rows.failed,
        )?;
        family(
            &mut encoder,
            "mirror_differences",
            "Differences between primary and shadow answers, by route and kind",
            &rows.differing,
        )?;
        family(
            &mut encoder,
            "mirror_exchanges",
            "Compared exchanges, by route and outcome",
            &rows.exchanges,
        )
    }
}
