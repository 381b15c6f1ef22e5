//! curl probes of what the clients cannot see: the URLs a relocating proxy must rewrite
//! all name the public path.
//!
//! `Location` on a PUT's 201 and on the collection's trailing-slash redirect, PROPFIND
//! hrefs, an `If:` tagged list naming the public URL (a wrong etag must give 412, the right
//! one must not), COPY and MOVE `Destination`, and the `SVN-*` headers and activity
//! collection of an `OPTIONS` answer.

use std::{process::Command, time::Duration};

use super::{front::Setup, tools, Check};

/// What the probes need installed.
pub(crate) const NEEDS: [&str; 1] = ["curl"];

/// The `SVN-*` headers of an `OPTIONS` answer that carry a path of the repository.
const SVN_PATH_HEADERS: [&str; 8] = [
    "SVN-Repository-Root",
    "SVN-Me-Resource",
    "SVN-Rev-Root-Stub",
    "SVN-Rev-Stub",
    "SVN-Txn-Root-Stub",
    "SVN-Txn-Stub",
    "SVN-VTxn-Root-Stub",
    "SVN-VTxn-Stub",
];

const OPTIONS_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:options xmlns:D="DAV:"><D:activity-collection-set/></D:options>"#;

/// Runs every probe against `setup`'s public URLs.
pub(crate) fn run(setup: &Setup) -> Vec<Check> {
    let p = Probes { setup };
    let mut checks = Vec::new();
    let mut check = |name: &'static str, result: Result<(), String>| {
        checks.push(Check::new(name, result));
    };
    check("PUT: 201 with the public Location", p.put_location());
    check(
        "collection without its slash: 301 to the public URL",
        p.slash_redirect(),
    );
    check("PROPFIND: every href under the public path", p.propfind());
    check("If: tagged list naming the public URL", p.if_tagged_list());
    check("COPY: public Destination", p.copy());
    check("MOVE: public Destination", p.move_());
    check(
        "OPTIONS: SVN-* headers name the public path",
        p.svn_options(),
    );
    checks
}

struct Probes<'a> {
    setup: &'a Setup,
}

impl Probes<'_> {
    /// The public URL of `name` in the DAV collection.
    fn dav(&self, name: &str) -> String {
        format!("{}{name}", self.setup.dav_url())
    }

    fn put_location(&self) -> Result<(), String> {
        let url = self.dav("probe.txt");
        let a = curl("PUT", &url, &[], Some("probe"))?;
        a.expect_status(201)?;
        a.expect_header("Location", &url)
    }

    fn slash_redirect(&self) -> Result<(), String> {
        let url = self.dav("coll/");
        curl("MKCOL", &url, &[], None)?.expect_status(201)?;
        let a = curl("GET", &self.dav("coll"), &[], None)?;
        a.expect_status(301)?;
        a.expect_header("Location", &url)
    }

    fn propfind(&self) -> Result<(), String> {
        curl("PUT", &self.dav("listed.txt"), &[], Some("listed"))?.expect_status(201)?;
        let a = curl("PROPFIND", &self.setup.dav_url(), &["Depth: 1"], None)?;
        a.expect_status(207)?;
        let hrefs = hrefs(&a.body);
        let prefix = self.setup.dav;
        let listed = format!("{prefix}listed.txt");
        if hrefs.is_empty() || !hrefs.iter().all(|h| h.starts_with(prefix)) {
            return Err(format!("hrefs not all under {prefix}: {hrefs:?}"));
        }
        if !hrefs.iter().any(|h| *h == prefix) || !hrefs.contains(&listed) {
            return Err(format!("{prefix} or {listed} not listed: {hrefs:?}"));
        }
        Ok(())
    }

    fn if_tagged_list(&self) -> Result<(), String> {
        let url = self.dav("tagged.txt");
        curl("PUT", &url, &[], Some("v1"))?.expect_status(201)?;
        let wrong = format!(r#"If: <{url}> (["wrong-etag"])"#);
        let a = curl("PUT", &url, &[&wrong], Some("v2"))?;
        a.expect_status(412)
            .map_err(|e| format!("wrong etag in a tagged list: {e}"))?;
        // The control: with the resource's own etag the same list holds.
        let etag = curl("GET", &url, &[], None)?
            .header("ETag")
            .ok_or("GET: no ETag")?
            .to_owned();
        let right = format!("If: <{url}> ([{etag}])");
        let a = curl("PUT", &url, &[&right], Some("v3"))?;
        a.expect_status(204)
            .map_err(|e| format!("right etag in a tagged list: {e}"))
    }

    fn copy(&self) -> Result<(), String> {
        let (from, to) = (self.dav("copy-src.txt"), self.dav("copy-dst.txt"));
        curl("PUT", &from, &[], Some("copied"))?.expect_status(201)?;
        let a = curl("COPY", &from, &[&format!("Destination: {to}")], None)?;
        a.expect_status(201)?;
        a.expect_header("Location", &to)?;
        let a = curl("GET", &to, &[], None)?;
        a.expect_status(200)?;
        if a.body != "copied" {
            return Err(format!("GET {to}: body {:?}", a.body));
        }
        Ok(())
    }

    fn move_(&self) -> Result<(), String> {
        let (from, to) = (self.dav("move-src.txt"), self.dav("move-dst.txt"));
        curl("PUT", &from, &[], Some("moved"))?.expect_status(201)?;
        let a = curl("MOVE", &from, &[&format!("Destination: {to}")], None)?;
        a.expect_status(201)?;
        a.expect_header("Location", &to)?;
        curl("GET", &from, &[], None)?.expect_status(404)?;
        curl("GET", &to, &[], None)?.expect_status(200)
    }

    fn svn_options(&self) -> Result<(), String> {
        let a = curl(
            "OPTIONS",
            &self.setup.svn_url(),
            &["Content-Type: text/xml"],
            Some(OPTIONS_BODY),
        )?;
        a.expect_status(200)?;
        let root = self.setup.svn;
        let under = |v: &str| v == root || v.starts_with(&format!("{root}/"));
        let mut wrong = Vec::new();
        for name in SVN_PATH_HEADERS {
            match a.header(name) {
                Some(v) if under(v) => {}
                other => wrong.push(format!("{name}: {other:?}")),
            }
        }
        let activity = hrefs(&a.body);
        if activity.len() != 1 || !under(&activity[0]) {
            wrong.push(format!("activity collection hrefs {activity:?}"));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!("not under {root}: {}", wrong.join("; ")))
        }
    }
}

/// One answer: status, headers in order, body.
#[derive(Debug)]
struct Answer {
    what: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn expect_status(&self, status: u16) -> Result<(), String> {
        if self.status == status {
            Ok(())
        } else {
            Err(format!(
                "{}: status {} (expected {status}); body: {}",
                self.what,
                self.status,
                self.body.chars().take(300).collect::<String>()
            ))
        }
    }

    fn expect_header(&self, name: &str, value: &str) -> Result<(), String> {
        match self.header(name) {
            Some(v) if v == value => Ok(()),
            other => Err(format!(
                "{}: {name} {other:?} (expected {value:?})",
                self.what
            )),
        }
    }
}

/// One request with curl over HTTP/1.1 (no `Expect: 100-continue`).
fn curl(method: &str, url: &str, headers: &[&str], body: Option<&str>) -> Result<Answer, String> {
    let what = format!("{method} {url}");
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-i",
        "--http1.1",
        "--max-time",
        "20",
        "-H",
        "Expect:",
    ])
    .args(["-X", method]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(body) = body {
        cmd.args(["--data-binary", body]);
    }
    let ran = tools::run(cmd.arg(url), Duration::from_secs(30));
    if !ran.success() {
        return Err(format!("{what}: curl {}", ran.describe()));
    }
    let mut rest = ran.stdout.as_str();
    loop {
        let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{what}: no status line in {:?}", ran.stdout))?;
        if (100..200).contains(&status) {
            rest = body;
            continue;
        }
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        return Ok(Answer {
            what,
            status,
            headers,
            body: body.to_owned(),
        });
    }
}

/// The text of every element whose local name is `href`, whatever its prefix.
fn hrefs(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        let local = tag.rsplit(':').next().unwrap_or(tag);
        rest = &rest[end + 1..];
        if local == "href" && !tag.starts_with('/') {
            let text = rest.find('<').map_or(rest, |close| &rest[..close]);
            out.push(text.trim().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::hrefs;

    #[test]
    fn hrefs_under_any_prefix() {
        let xml = r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/</D:href></D:response><response xmlns="DAV:"><href>/dav/a</href></response><lp1:href-like>x</lp1:href-like></D:multistatus>"#;
        assert_eq!(hrefs(xml), ["/dav/", "/dav/a"]);
    }
}
