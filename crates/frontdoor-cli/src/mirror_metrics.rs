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

/// The counters of every mirrored target, by its label (`route[N]`, `default`).
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

impl Collector for MirrorCounters {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let snaps = self.snapshots();
        let route = |l: &str| ("route", l.to_owned());
        let mut sent = Vec::new();
        let mut skipped = Vec::new();
        let mut failed = Vec::new();
        let mut differing = Vec::new();
        let mut exchanges = Vec::new();
        for (label, s) in &snaps {
            sent.push((vec![route(label)], s.mirrored()));
            for reason in SkipReason::ALL {
                skipped.push((
                    vec![route(label), ("reason", reason.as_str().to_owned())],
                    s.skipped(reason),
                ));
            }
            for kind in ShadowErrorKind::ALL {
                failed.push((
                    vec![route(label), ("kind", kind.as_str().to_owned())],
                    s.failed(kind),
                ));
            }
            for kind in DiffKind::ALL {
                differing.push((
                    vec![route(label), ("kind", kind.as_str().to_owned())],
                    s.diffs(kind),
                ));
            }
            for (outcome, n) in [
                ("matched", s.matched()),
                ("differing", s.differing()),
                ("missing_primary", s.missing_primary()),
                ("missing_replay", s.missing_replay()),
            ] {
                exchanges.push((vec![route(label), ("outcome", outcome.to_owned())], n));
            }
        }
        family(
            &mut encoder,
            "mirror_requests",
            "Shadow requests sent, by route",
            &sent,
        )?;
        family(
            &mut encoder,
            "mirror_skipped",
            "Requests not mirrored, by route and reason",
            &skipped,
        )?;
        family(
            &mut encoder,
            "mirror_failed",
            "Shadow requests that failed, by route and error kind",
            &failed,
        )?;
        family(
            &mut encoder,
            "mirror_differences",
            "Differences between primary and shadow answers, by route and kind",
            &differing,
        )?;
        family(
            &mut encoder,
            "mirror_exchanges",
            "Compared exchanges, by route and outcome",
            &exchanges,
        )?;
        Ok(())
    }
}
