//! Command-line arguments, parsed by hand (a few flags do not need a parser crate).

use std::time::Duration;

use frontdoor_gor::RequestEdit;
use frontdoor_mirror::compare::Comparator;

pub(crate) const USAGE: &str = "\
usage: frontdoor-gor [OPTIONS]

GoReplay middleware: reads GoReplay's messages on stdin, writes the kept ones on
stdout (flushed per message), reports on stderr.

By default every message is passed through unchanged (requests as edited by
the flags below) and each exchange
(request, original response, replay) is compared: a difference is reported as
  frontdoor-gor: <id> <method> <path>: replay status 500 differs from response status 200
and a summary is printed at end of input.

options:
  --pass-through         echo every message (requests as edited); compare nothing
  --set-header NAME:VALUE
                         set header NAME of each request to VALUE (replaced where
                         it stands, later ones removed, or added at the end)
  --remove-header NAME   remove every NAME header of each request
  --rewrite-path REGEX:REPLACEMENT
                         replace matches of REGEX in each request's path and
                         query; $1 or ${name} insert a group; write \\: for a
                         colon inside REGEX
                         (the three edit flags are repeatable and apply to
                         requests, type 1, in the order given; every other byte
                         is kept, Content-Length included, as the body is never
                         changed; a request an edit cannot apply to, such as a
                         header set on a payload without a head, is passed on
                         unchanged and reported)
  --compare C            a comparator: status, body, json or headers:name1,name2
                         (repeatable; default: status)
  --ttl DURATION         how long an exchange waits for its messages (default 10s;
                         forms: 10s, 500ms, 2m)
  --no-echo-responses    do not write original and replayed responses back
  --max-line BYTES       skip (and report) longer lines (default: no limit)
  --quiet                no per-exchange lines, only the summary
  -h, --help             this text
  -V, --version          the version

usage with GoReplay:
  gor --input-raw :80 --input-raw-track-response \\
      --middleware \"frontdoor-gor\" \\
      --output-http http://shadow:8080 --output-http-track-response
";

/// What the command line asks for.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) pass_through: bool,
    pub(crate) comparators: Vec<Comparator>,
    pub(crate) ttl: Duration,
    pub(crate) echo_responses: bool,
    pub(crate) max_line: Option<usize>,
    pub(crate) quiet: bool,
    /// The request edits, in the order given.
    pub(crate) edits: Vec<RequestEdit>,
}

/// What to do instead of running.
#[derive(Debug)]
pub(crate) enum Exit {
    Help,
    Version,
    Usage(String),
}

pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, Exit> {
    let mut out = Args {
        pass_through: false,
        comparators: Vec::new(),
        ttl: Duration::from_secs(10),
        echo_responses: true,
        max_line: None,
        quiet: false,
        edits: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| Exit::Usage(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Err(Exit::Help),
            "-V" | "--version" => return Err(Exit::Version),
            "--pass-through" => out.pass_through = true,
            "--no-echo-responses" => out.echo_responses = false,
            "--quiet" => out.quiet = true,
            "--compare" => {
                let c = value()?;
                let c = c
                    .parse()
                    .map_err(|e| Exit::Usage(format!("--compare: {e}")))?;
                out.comparators.push(c);
            }
            "--ttl" => out.ttl = duration(&value()?)?,
            "--set-header" => out.edits.push(edit(RequestEdit::set_header(&value()?))?),
            "--remove-header" => out.edits.push(edit(RequestEdit::remove_header(&value()?))?),
            "--rewrite-path" => out.edits.push(edit(RequestEdit::rewrite_path(&value()?))?),
            "--max-line" => {
                let v = value()?;
                let n = v
                    .parse()
                    .map_err(|_| Exit::Usage(format!("--max-line: {v:?} is not a number")))?;
                out.max_line = Some(n);
            }
            other => return Err(Exit::Usage(format!("unknown argument {other:?}"))),
        }
    }
    if out.comparators.is_empty() {
        out.comparators.push(Comparator::Status);
    }
    Ok(out)
}

/// An edit flag's value, or the usage error naming the flag.
fn edit(parsed: Result<RequestEdit, frontdoor_gor::EditSpecError>) -> Result<RequestEdit, Exit> {
    parsed.map_err(|e| Exit::Usage(e.to_string()))
}

/// `10s`, `500ms`, `2m`, or a bare number of seconds.
fn duration(text: &str) -> Result<Duration, Exit> {
    let bad = || {
        Exit::Usage(format!(
            "--ttl: {text:?} is not a duration (10s, 500ms, 2m)"
        ))
    };
    let (digits, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let n: u64 = digits.parse().map_err(|_| bad())?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> Args {
        match parse(args.iter().map(|s| (*s).to_owned())) {
            Ok(a) => a,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let a = parse_ok(&[]);
        assert!(!a.pass_through && a.echo_responses && !a.quiet);
        assert_eq!(a.comparators, [Comparator::Status]);
        assert_eq!(a.ttl, Duration::from_secs(10));
        let a = parse_ok(&[
            "--pass-through",
            "--compare",
            "json",
            "--compare=headers:etag,content-type",
            "--ttl=500ms",
            "--no-echo-responses",
            "--max-line",
            "1000",
            "--quiet",
        ]);
        assert!(a.pass_through && !a.echo_responses && a.quiet);
        assert_eq!(a.comparators.len(), 2);
        assert_eq!(a.ttl, Duration::from_millis(500));
        assert_eq!(a.max_line, Some(1000));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["--nope"][..],
            &["--ttl"],
            &["--ttl", "3h"],
            &["--compare", "x"],
            &["--max-line", "-1"],
        ] {
            assert!(
                matches!(
                    parse(bad.iter().map(|s| (*s).to_owned())),
                    Err(Exit::Usage(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(parse(["-h".to_owned()]), Err(Exit::Help)));
    }

    #[test]
    fn edit_flags_keep_their_order_and_name_themselves_when_invalid() {
        let a = parse_ok(&[
            "--rewrite-path",
            "^/a:/b",
            "--set-header=X-A:1",
            "--remove-header",
            "cookie",
            "--set-header",
            "X-B: 2",
        ]);
        let edits: Vec<String> = a.edits.iter().map(ToString::to_string).collect();
        assert_eq!(
            edits,
            [
                "--rewrite-path ^/a:/b",
                "--set-header X-A:1",
                "--remove-header cookie",
                "--set-header X-B: 2"
            ]
        );
        for (args, message) in [
            (
                &["--set-header", "X-A"][..],
                "--set-header \"X-A\": expected NAME:VALUE",
            ),
            (
                &["--rewrite-path", "("],
                "--rewrite-path \"(\": expected REGEX:REPLACEMENT",
            ),
            (
                &["--remove-header", "a b"],
                "--remove-header \"a b\": \"a b\" is not a header name",
            ),
            (&["--set-header"], "--set-header needs a value"),
        ] {
            match parse(args.iter().map(|s| (*s).to_owned())) {
                Err(Exit::Usage(m)) => assert_eq!(m, message),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }
}
