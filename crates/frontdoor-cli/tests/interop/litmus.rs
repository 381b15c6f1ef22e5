//! The `litmus` WebDAV suite: its five programs run one by one, each with a time limit, and
//! their per-test lines parsed.
//!
//! litmus prints each test as ` N. name....` (preceded by a carriage return), then its
//! result, `pass`, `pass (with N warning)`, `FAIL (reason)` or `SKIPPED`; a `WARNING:` line
//! can come between the name and the result, which then follows a line of dots.

use std::{collections::BTreeSet, fmt, path::Path, process::Command, time::Duration};

use super::tools;

/// The suites, in litmus's own order (later suites rely on nothing from earlier ones).
pub(crate) const SUITES: [&str; 5] = ["basic", "copymove", "props", "locks", "http"];

const PROGRAMS: &str = "/usr/libexec/litmus";
const HTDOCS: &str = "/usr/share/litmus/htdocs";
const LIMIT: Duration = Duration::from_secs(30);

/// What the litmus tests need installed.
pub(crate) const NEEDS: [&str; 1] = ["/usr/libexec/litmus/basic"];

/// A test's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail,
    Skipped,
}

/// One test of one suite; `number` tells apart tests of the same name (`locks` has several
/// `unlock`s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Test {
    pub(crate) suite: &'static str,
    pub(crate) number: u32,
    pub(crate) name: String,
    pub(crate) outcome: Outcome,
    /// The result text after the name (the failure reason for a FAIL).
    pub(crate) detail: String,
}

impl Test {
    pub(crate) fn id(&self) -> String {
        format!("{}/{:02}.{}", self.suite, self.number, self.name)
    }
}

/// Every suite's tests, plus what went wrong running a suite (time limit, no output).
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) tests: Vec<Test>,
    pub(crate) problems: Vec<String>,
}

impl Report {
    pub(crate) fn passed(&self) -> BTreeSet<String> {
        self.tests
            .iter()
            .filter(|t| t.outcome == Outcome::Pass)
            .map(Test::id)
            .collect()
    }

    fn count(&self, suite: Option<&str>, outcome: Option<Outcome>) -> usize {
        self.tests
            .iter()
            .filter(|t| suite.is_none_or(|s| t.suite == s))
            .filter(|t| outcome.is_none_or(|o| t.outcome == o))
            .count()
    }

    /// The tests that failed or were skipped, with their reasons.
    pub(crate) fn not_passed(&self) -> Vec<String> {
        self.tests
            .iter()
            .filter(|t| t.outcome != Outcome::Pass)
            .map(|t| format!("{}: {}", t.id(), t.detail))
            .collect()
    }
}

/// `104/104 (16/13/30/41/4)`: passed of run, then passes per suite.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_suite: Vec<String> = SUITES
            .iter()
            .map(|s| self.count(Some(s), Some(Outcome::Pass)).to_string())
            .collect();
        write!(
            f,
            "{}/{} ({})",
            self.count(None, Some(Outcome::Pass)),
            self.count(None, None),
            per_suite.join("/")
        )
    }
}

/// Runs every suite against the collection `url` (with its trailing slash); litmus writes
/// its `debug.log` and `child.log` into `work`.
pub(crate) fn run(url: &str, work: &Path) -> Report {
    let mut report = Report::default();
    for suite in SUITES {
        let ran = tools::run(
            Command::new(format!("{PROGRAMS}/{suite}"))
                .args(["--htdocs", HTDOCS, url])
                .current_dir(work),
            LIMIT,
        );
        let tests = parse(suite, &ran.stdout);
        if ran.timed_out {
            report
                .problems
                .push(format!("{suite}: killed after {}s", LIMIT.as_secs()));
        } else if tests.is_empty() {
            report
                .problems
                .push(format!("{suite}: no test lines ({})", ran.describe()));
        }
        report.tests.extend(tests);
    }
    report
}

/// The tests of one suite's output, in order.
pub(crate) fn parse(suite: &'static str, output: &str) -> Vec<Test> {
    let mut tests: Vec<Test> = Vec::new();
    let mut current: Option<(u32, String)> = None;
    for segment in output.split(['\r', '\n']) {
        let text = segment.trim_start();
        let rest = if let Some((number, name, rest)) = test_header(text) {
            current = Some((number, name));
            rest
        } else if text.starts_with("...") {
            text.trim_start_matches('.').trim_start()
        } else {
            // A failure reason can run on over several lines.
            if let Some(t) = tests.last_mut().filter(|t| t.outcome == Outcome::Fail) {
                if !text.is_empty() && !text.starts_with(['<', '-']) && t.detail.len() < 300 {
                    t.detail.push(' ');
                    t.detail.push_str(text.trim_end());
                }
            }
            continue;
        };
        let Some((number, name)) = &current else {
            continue;
        };
        let outcome = if rest.starts_with("pass") {
            Outcome::Pass
        } else if rest.starts_with("FAIL") {
            Outcome::Fail
        } else if rest.starts_with("SKIPPED") {
            Outcome::Skipped
        } else {
            continue;
        };
        if tests
            .last()
            .is_some_and(|t| t.number == *number && t.name == *name)
        {
            continue;
        }
        tests.push(Test {
            suite,
            number: *number,
            name: name.clone(),
            outcome,
            detail: rest.trim_end().to_owned(),
        });
    }
    tests
}

/// `12. name......... rest` -> (12, "name", "rest").
fn test_header(text: &str) -> Option<(u32, String, &str)> {
    let (number, after) = text.split_once(". ")?;
    let number = number.parse().ok()?;
    let end = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    if end == 0 {
        return None;
    }
    let (name, rest) = after.split_at(end);
    Some((number, name.to_owned(), rest.trim_start_matches('.').trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passes_failures_skips_and_warnings() {
        let output = "-> running `locks':\n\
            \r 0. init.................. \r 0. init.................. pass\n\
            \r18. cond_put_corrupt_token WARNING: PUT failed with 400 not 423\n    \
            ...................... pass (with 1 warning)\n    \
            ...................... \r19. complex_cond_put...... FAIL (PUT failed:\n\
            405 Method Not Allowed)\n\
            \r20. notowner_modify....... SKIPPED\n\
            \r21. unlock................ \r21. unlock................ pass\n\
            <- summary for `locks': of 22 tests run: 20 passed, 1 failed. 95.2%\n";
        let tests = parse("locks", output);
        let got: Vec<(u32, &str, Outcome)> = tests
            .iter()
            .map(|t| (t.number, t.name.as_str(), t.outcome))
            .collect();
        assert_eq!(
            got,
            [
                (0, "init", Outcome::Pass),
                (18, "cond_put_corrupt_token", Outcome::Pass),
                (19, "complex_cond_put", Outcome::Fail),
                (20, "notowner_modify", Outcome::Skipped),
                (21, "unlock", Outcome::Pass),
            ]
        );
        assert_eq!(tests[2].detail, "FAIL (PUT failed: 405 Method Not Allowed)");
        assert_eq!(tests[2].id(), "locks/19.complex_cond_put");
    }
}
