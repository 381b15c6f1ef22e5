//! Scratch directories, free ports, installed programs, and commands run with a time limit.

use std::{
    fs,
    io::Read,
    net::TcpListener,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A directory under the system temp dir, removed (with everything in it) on drop.
#[derive(Debug)]
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    /// A fresh, empty directory whose name carries `label`. Mode 0755, whatever the umask:
    /// Apache's children (`www-data` when the tests run as root) must traverse it.
    pub(crate) fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "frontdoor-interop-{}-{}-{label}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// A subdirectory (created, mode 0755).
    pub(crate) fn dir(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::create_dir_all(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// Whether this process runs as root (then Apache must be told to serve as `www-data`).
pub(crate) fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program` as given when it is a path, or found on `PATH`.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The programs (or files) of `needed` that are not installed, for a skip message.
pub(crate) fn missing(needed: &[&str]) -> Vec<String> {
    needed
        .iter()
        .filter(|p| find_program(p).is_none())
        .map(|p| (*p).to_owned())
        .collect()
}

/// What a command did: exit status (`None` when it was killed at its time limit) and output.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) timed_out: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Ran {
    pub(crate) fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// One line for a failure report: how it ended and the first lines of stderr.
    pub(crate) fn describe(&self) -> String {
        let how = if self.timed_out {
            "timed out".to_owned()
        } else {
            self.status
                .map_or_else(|| "no status".to_owned(), |s| s.to_string())
        };
        let err: Vec<&str> = self.stderr.lines().take(4).collect();
        format!("{how}; stderr: {}", err.join(" | "))
    }
}

/// Runs `cmd` to completion, stdin closed, output captured; killed after `limit`.
pub(crate) fn run(cmd: &mut Command, limit: Duration) -> Ran {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let mut timed_out = false;
    let mut collect = |rx: mpsc::Receiver<String>| match rx.recv_timeout(limit) {
        Ok(text) => text,
        Err(_) => {
            timed_out = true;
            let _ = child.kill();
            rx.recv().unwrap_or_default()
        }
    };
    let stdout = collect(out);
    let stderr = collect(err);
    let status = child.wait().ok();
    Ran {
        status,
        timed_out,
        stdout,
        stderr,
    }
}

/// Reads `pipe` to its end on a thread; the text arrives on the receiver.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}
