//! `frontdoor-gor`: a GoReplay middleware that passes traffic through (requests
//! edited as the flags say) and compares each replay with the original response
//! (`frontdoor-gor --help`).

mod args;
mod report;

use std::{
    borrow::Cow,
    io::{self, BufReader, BufWriter, Write},
    process::ExitCode,
};

use frontdoor_gor::{Action, Event, Middleware, RequestEdits};

use crate::args::{Args, Exit};

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(exit) => return early_exit(&exit),
    };
    let mut mw = middleware(&args);
    let stdin = io::stdin();
    let stdout = io::stdout();
    let input = BufReader::with_capacity(1 << 16, stdin.lock());
    let output = BufWriter::with_capacity(1 << 16, stdout.lock());
    match mw.run(input, output, io::stderr()) {
        Ok(stats) => {
            let _ = io::stderr().write_all(report::summary(&stats, !args.pass_through).as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(io::stderr(), "frontdoor-gor: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The middleware the arguments describe.
fn middleware(args: &Args) -> Middleware {
    let mut mw = Middleware::new();
    if let Some(n) = args.max_line {
        mw.max_line(n);
    }
    if !args.edits.is_empty() {
        let edits = RequestEdits::new(args.edits.iter().cloned());
        mw.on(Event::Request, move |_, msg| {
            let edited = match edits.apply(msg.payload()) {
                Ok(Cow::Owned(p)) => Some(p),
                Ok(Cow::Borrowed(_)) => None,
                Err(e) => {
                    let _ = writeln!(
                        io::stderr(),
                        "frontdoor-gor: {}: {e}; message left unchanged",
                        msg.id()
                    );
                    None
                }
            };
            if let Some(p) = edited {
                msg.set_payload(p);
            }
            Action::Pass
        });
    }
    if !args.echo_responses {
        mw.on(Event::Response, |_, _| Action::Drop)
            .on(Event::Replay, |_, _| Action::Drop);
    }
    if !args.pass_through {
        let quiet = args.quiet;
        mw.compare(args.comparators.iter().cloned())
            .exchange_ttl(args.ttl)
            .on_exchange(move |ex| {
                if !quiet && !ex.diffs.is_empty() {
                    let _ = io::stderr().write_all(report::differences(ex).as_bytes());
                }
            });
    }
    mw
}

fn early_exit(exit: &Exit) -> ExitCode {
    match exit {
        Exit::Help => {
            let _ = io::stdout().write_all(args::USAGE.as_bytes());
            ExitCode::SUCCESS
        }
        Exit::Version => {
            let _ = writeln!(io::stdout(), "frontdoor-gor {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Exit::Usage(msg) => {
            let _ = writeln!(io::stderr(), "frontdoor-gor: {msg}\n\n{}", args::USAGE);
            ExitCode::from(2)
        }
    }
}
