//! The table of `benches/load/stack.sh`: reads the runs the script recorded and
//! prints a markdown table of medians with ratios to nginx in the same round, then
//! the performance issue's targets.
//!
//! `stack-report RUNS.tsv`: one run per line, tab-separated:
//! `case_id case_label round target_id target_label is_ref wrk_output_file cpu_us
//! rss_kib accepts`, where `is_ref` is 1 for the reference (nginx) of the case, the
//! last three are `-` when not measured, `cpu_us` is the CPU time (user + system)
//! the proxy used during the run and `rss_kib` its peak resident set.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a by-hand benchmark binary"
)]

use std::fmt::Write as _;

use frontdoor_benches::wrk::{self, Sample};

/// One measured run.
struct Run {
    case: String,
    case_label: String,
    round: String,
    target: String,
    target_label: String,
    is_ref: bool,
    wrk: Sample,
    cpu_us: Option<f64>,
    rss_kib: Option<f64>,
    accepts: Option<f64>,
}

/// The measures of the table, in its column order.
#[derive(Clone, Copy)]
enum Metric {
    Rps,
    P50,
    P99,
    MbS,
    CpuPerReq,
    RssMib,
    Accepts,
}

const COLUMNS: [(Metric, &str); 7] = [
    (Metric::Rps, "req/s"),
    (Metric::P50, "p50 ms"),
    (Metric::P99, "p99 ms"),
    (Metric::MbS, "MB/s"),
    (Metric::CpuPerReq, "proxy CPU us/req"),
    (Metric::RssMib, "peak RSS MiB"),
    (Metric::Accepts, "upstream connects"),
];

impl Run {
    fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split('\t').collect();
        let [case, case_label, round, target, target_label, is_ref, file, cpu, rss, acc] =
            f.as_slice()
        else {
            return None;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let num = |s: &str| s.parse::<f64>().ok();
        Some(Self {
            case: (*case).to_owned(),
            case_label: (*case_label).to_owned(),
            round: (*round).to_owned(),
            target: (*target).to_owned(),
            target_label: (*target_label).to_owned(),
            is_ref: *is_ref == "1",
            wrk: wrk::parse(&text),
            cpu_us: num(cpu),
            rss_kib: num(rss),
            accepts: num(acc),
        })
    }

    fn get(&self, m: Metric) -> Option<f64> {
        let w = &self.wrk;
        let v = match m {
            Metric::Rps => Some(w.rps),
            Metric::P50 => Some(w.p50_ms),
            Metric::P99 => Some(w.p99_ms),
            Metric::MbS => Some(w.mb_s),
            Metric::CpuPerReq => self
                .cpu_us
                .filter(|_| w.requests > 0)
                .map(|us| us / w.requests as f64),
            Metric::RssMib => self.rss_kib.map(|k| k / 1024.0),
            Metric::Accepts => self.accepts,
        };
        v.filter(|v| v.is_finite())
    }
}

/// The median (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// All runs of `target` in `case`.
fn runs_of<'a>(runs: &'a [Run], case: &'a str, target: &'a str) -> impl Iterator<Item = &'a Run> {
    runs.iter()
        .filter(move |r| r.case == case && r.target == target)
}

/// The median over rounds of `m` of `target` divided by `m` of `base` in the same round.
fn ratio(runs: &[Run], case: &str, target: &str, base: &str, m: Metric) -> Option<f64> {
    let per_round = runs_of(runs, case, target).filter_map(|r| {
        let b = runs_of(runs, case, base).find(|b| b.round == r.round)?;
        Some(r.get(m)? / b.get(m)?).filter(|q| q.is_finite())
    });
    median(per_round.collect())
}

fn format_value(m: Metric, v: f64) -> String {
    match m {
        Metric::Rps | Metric::Accepts => format!("{v:.0}"),
        Metric::P50 | Metric::P99 => format!("{v:.2}"),
        Metric::MbS | Metric::CpuPerReq | Metric::RssMib => format!("{v:.1}"),
    }
}

/// Rows of the table: (case, label, target, label, reference of the case), in the
/// order the runs were recorded.
fn rows(runs: &[Run]) -> Vec<(&str, &str, &str, &str, Option<&str>)> {
    let mut rows: Vec<(&str, &str, &str, &str, Option<&str>)> = Vec::new();
    for r in runs {
        if !rows.iter().any(|x| x.0 == r.case && x.2 == r.target) {
            let reference = runs
                .iter()
                .find(|x| x.case == r.case && x.is_ref)
                .map(|x| x.target.as_str());
            rows.push((
                &r.case,
                &r.case_label,
                &r.target,
                &r.target_label,
                reference,
            ));
        }
    }
    rows
}

fn table(runs: &[Run]) -> String {
    let mut out = String::from("| case | target |");
    for (_, name) in COLUMNS {
        let _ = write!(out, " {name} |");
    }
    out.push_str(" errors |\n|---|---|");
    out.push_str(&"---|".repeat(COLUMNS.len() + 1));
    out.push('\n');
    for (case, case_label, target, target_label, reference) in rows(runs) {
        let _ = write!(out, "| {case_label} | {target_label} |");
        for (m, _) in COLUMNS {
            let values = runs_of(runs, case, target)
                .filter_map(|r| r.get(m))
                .collect();
            let cell = match (median(values), reference.filter(|&b| b != target)) {
                (None, _) => "–".to_owned(),
                (Some(v), None) => format_value(m, v),
                (Some(v), Some(b)) => match ratio(runs, case, target, b, m) {
                    Some(q) => format!("{} ({q:.2}x)", format_value(m, v)),
                    None => format_value(m, v),
                },
            };
            let _ = write!(out, " {cell} |");
        }
        let errors: u64 = runs_of(runs, case, target).map(|r| r.wrk.errors).sum();
        let _ = writeln!(out, " {errors} |");
    }
    out
}

/// The targets of the performance issue, each with its figure from this run.
fn targets(runs: &[Run]) -> String {
    // (case, target, base, metric, what, at least (true) or at most, bound)
    let checks = [
        (
            "small",
            "full",
            "nginx",
            Metric::Rps,
            "13 B, 1,000 routes: req/s vs nginx",
            true,
            1.1,
        ),
        (
            "small",
            "full",
            "nginx",
            Metric::CpuPerReq,
            "13 B, 1,000 routes: proxy CPU per request vs nginx",
            false,
            1.0,
        ),
        (
            "small",
            "full",
            "nginx",
            Metric::P99,
            "13 B, 1,000 routes: p99 vs nginx",
            false,
            1.0,
        ),
        (
            "big",
            "full",
            "nginx",
            Metric::MbS,
            "1 MiB, 1,000 routes: MB/s vs nginx",
            true,
            2.0,
        ),
        (
            "small",
            "full",
            "nginx",
            Metric::Accepts,
            "13 B, 1,000 routes: upstream connects vs nginx",
            false,
            2.0,
        ),
        (
            "small",
            "one",
            "nginx",
            Metric::RssMib,
            "13 B, one route: peak RSS vs nginx",
            false,
            2.0,
        ),
        (
            "small",
            "full",
            "nginx",
            Metric::RssMib,
            "13 B, 1,000 routes: peak RSS vs nginx",
            false,
            2.0,
        ),
        (
            "big",
            "full",
            "nginx",
            Metric::RssMib,
            "1 MiB, 1,000 routes: peak RSS vs nginx",
            false,
            2.0,
        ),
        (
            "small",
            "full",
            "one",
            Metric::Rps,
            "13 B: 1,000 routes vs one route, req/s",
            true,
            0.95,
        ),
        (
            "big",
            "reloc-plain",
            "reloc-none",
            Metric::MbS,
            "1 MiB: relocate = \"plain\" vs \"none\", MB/s",
            true,
            0.90,
        ),
    ];
    let mut out =
        String::from("Targets (issue 32, after issue 16; relocation from issue 13), same run:\n\n");
    for (case, target, base, m, what, at_least, bound) in checks {
        let Some(q) = ratio(runs, case, target, base, m) else {
            continue;
        };
        let met = if at_least { q >= bound } else { q <= bound };
        let _ = writeln!(
            out,
            "- {what}: {q:.2}x (target {} {bound:.2}x): {}",
            if at_least { "at least" } else { "at most" },
            if met { "met" } else { "not met" }
        );
    }
    out
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: stack-report RUNS.tsv");
    let text = std::fs::read_to_string(&path).expect("the runs file is readable");
    let runs: Vec<Run> = text.lines().filter_map(Run::parse).collect();
    println!("{}", table(&runs));
    print!("{}", targets(&runs));
}
