//! The `svn` client scenario: twelve steps against a fresh repository, each checked by its
//! exit status and a key piece of its output.
//!
//! checkout, add, commit, copy URL->URL, update, copy in the working copy, move, commit,
//! log -v, diff -c, ls -R, info. Every step runs even when an earlier one failed, so a report
//! shows each step's own error.

use std::{fs, path::Path, process::Command, time::Duration};

use super::{tools, Check};

/// What the svn tests need installed.
pub(crate) const NEEDS: [&str; 1] = ["svn"];

const LIMIT: Duration = Duration::from_secs(30);

/// The client, isolated from the machine: no prompts, no cached credentials, a private
/// config directory; `cwd` is the directory the command runs in.
struct Client<'a> {
    config_dir: &'a Path,
    cwd: &'a Path,
    steps: Vec<Check>,
}

impl Client<'_> {
    /// Runs `svn ARGS` in `in_dir` (relative to the work dir); the step passes when svn
    /// exits 0 and its stdout contains every one of `expect`.
    fn step(&mut self, name: &'static str, in_dir: &str, args: &[&str], expect: &[&str]) {
        let ran = tools::run(
            Command::new("svn")
                .args(["--non-interactive", "--no-auth-cache", "--config-dir"])
                .arg(self.config_dir)
                .args(args)
                .current_dir(self.cwd.join(in_dir)),
            LIMIT,
        );
        let missing: Vec<&str> = expect
            .iter()
            .copied()
            .filter(|e| !ran.stdout.contains(e))
            .collect();
        let result = if !ran.success() {
            Err(format!("svn {}: {}", args.join(" "), ran.describe()))
        } else if !missing.is_empty() {
            Err(format!(
                "svn {}: output lacks {missing:?}:\n{}",
                args.join(" "),
                ran.stdout
            ))
        } else {
            Ok(())
        };
        self.steps.push(Check::new(name, result));
    }
}

/// Runs the scenario against the repository at `url` (no trailing slash), in `work`.
pub(crate) fn scenario(url: &str, work: &Path) -> Vec<Check> {
    let config_dir = work.join("config");
    fs::create_dir_all(&config_dir).unwrap();
    let mut svn = Client {
        config_dir: &config_dir,
        cwd: work,
        steps: Vec::new(),
    };
    let wc = work.join("wc");
    let trunk = format!("{url}/trunk");
    let tag = format!("{url}/tag1");
    let root = format!("Repository Root: {url}\n");
    let url_line = format!("URL: {url}\n");

    svn.step(
        "checkout",
        ".",
        &["checkout", url, "wc"],
        &["Checked out revision 0."],
    );
    // The working copy may be missing when checkout failed; the files are made anyway
    // so that later steps report their own errors.
    fs::create_dir_all(wc.join("trunk")).unwrap();
    fs::write(wc.join("trunk/hello.txt"), "hello\n").unwrap();
    fs::write(wc.join("trunk/notes.txt"), "notes\n").unwrap();
    svn.step(
        "add",
        "wc",
        &["add", "trunk"],
        &["trunk/hello.txt", "trunk/notes.txt"],
    );
    svn.step(
        "commit",
        "wc",
        &["commit", "-m", "add trunk"],
        &["Committed revision 1."],
    );
    svn.step(
        "copy URL->URL",
        "wc",
        &["copy", &trunk, &tag, "-m", "tag trunk"],
        &["Committed revision 2."],
    );
    svn.step(
        "update",
        "wc",
        &["update"],
        &["tag1/hello.txt", "Updated to revision 2."],
    );
    svn.step(
        "copy in the working copy",
        "wc",
        &["copy", "trunk/hello.txt", "trunk/copy.txt"],
        &["trunk/copy.txt"],
    );
    svn.step(
        "move",
        "wc",
        &["move", "trunk/hello.txt", "trunk/moved.txt"],
        &["trunk/moved.txt", "trunk/hello.txt"],
    );
    fs::write(wc.join("trunk/notes.txt"), "notes\nsecond line\n").unwrap();
    svn.step(
        "commit copy, move and edit",
        "wc",
        &["commit", "-m", "copy, move, edit"],
        &["Committed revision 3."],
    );
    svn.step(
        "log -v",
        "wc",
        &["log", "-v", url],
        &[
            "A /trunk/moved.txt (from /trunk/hello.txt:2)",
            "A /tag1 (from /trunk:1)",
            "copy, move, edit",
        ],
    );
    svn.step(
        "diff -c",
        "wc",
        &["diff", "-c", "3", url],
        &["Index: trunk/notes.txt", "+second line"],
    );
    svn.step(
        "ls -R",
        "wc",
        &["ls", "-R", url],
        &["trunk/moved.txt", "trunk/copy.txt", "tag1/hello.txt"],
    );
    svn.step(
        "info",
        "wc",
        &["info", url],
        &[&url_line, &root, "Revision: 3"],
    );
    svn.steps
}
