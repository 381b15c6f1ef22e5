//! A private Apache origin on a loopback port: a `mod_dav_fs` collection at `/webdav/` and
//! an `svnadmin create`d repository served by `mod_dav_svn` at `/repos/proj`.
//!
//! Everything (config, pid file, logs, mutexes, lock database, documents, repository) lives
//! in a scratch directory; the server runs in the foreground as this test's child and is
//! stopped by its pid (SIGTERM, then SIGKILL) when the [`Origin`] is dropped, panics included.
//!
//! [`Origin::start_gzipping`] starts one that gzips every WebDAV answer but a `GET`'s
//! whatever the request's `Accept-Encoding` (`mod_deflate`'s `SetOutputFilter DEFLATE`
//! with `force-gzip`), as an upstream behind compression middleware does.

use std::{
    fmt::Write as _,
    fs::{self, File},
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::Duration,
};

use super::tools::{self, Scratch};

/// The Apache binary (Debian's path; not on a non-root user's `PATH`).
pub(crate) const APACHE: &str = "/usr/sbin/apache2";
/// The Subversion module, from `libapache2-mod-svn`.
pub(crate) const MOD_DAV_SVN: &str = "/usr/lib/apache2/modules/mod_dav_svn.so";
/// The origin's WebDAV collection.
pub(crate) const DAV_PATH: &str = "/webdav/";
/// The origin's repository.
pub(crate) const SVN_PATH: &str = "/repos/proj";

const MODULES: [(&str, &str); 11] = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("dav_module", "mod_dav.so"),
    ("dav_fs_module", "mod_dav_fs.so"),
    ("dav_svn_module", "mod_dav_svn.so"),
    ("filter_module", "mod_filter.so"),
    ("deflate_module", "mod_deflate.so"),
    ("env_module", "mod_env.so"),
    ("setenvif_module", "mod_setenvif.so"),
];

/// What the gzipping origin adds to the WebDAV collection: every answer gzipped,
/// asked for or not, except a `GET`'s (a document's own bytes, which clients compare
/// and the relocation leaves alone).
const GZIP_DAV: &str = r#"    SetOutputFilter DEFLATE
    SetEnv force-gzip 1
    SetEnvIf Request_Method "^GET$" no-gzip
"#;

/// What the origin needs installed.
pub(crate) const NEEDS: [&str; 3] = [APACHE, MOD_DAV_SVN, "svnadmin"];

/// A running Apache; stopped on drop.
#[derive(Debug)]
pub(crate) struct Origin {
    child: Child,
    port: u16,
    dir: Scratch,
}

impl Origin {
    /// Starts a fresh origin (new documents, new repository) and waits until it answers.
    pub(crate) fn start() -> Self {
        Self::start_with(false)
    }

    /// [`start`](Self::start), with every WebDAV answer but a `GET`'s gzipped.
    pub(crate) fn start_gzipping() -> Self {
        Self::start_with(true)
    }

    fn start_with(gzip: bool) -> Self {
        let dir = Scratch::new("origin");
        let svnadmin = tools::run(
            Command::new("svnadmin")
                .arg("create")
                .arg(dir.path().join("repo")),
            Duration::from_secs(30),
        );
        assert!(
            svnadmin.success(),
            "svnadmin create: {}",
            svnadmin.describe()
        );
        for sub in ["htdocs/webdav", "lock", "run", "logs"] {
            dir.dir(sub);
        }
        if tools::is_root() {
            // httpd refuses to serve as root: its children run as www-data and write
            // the collection, the lock database and the repository.
            let chown = tools::run(
                Command::new("chown")
                    .args(["-R", "www-data:www-data"])
                    .arg(dir.path()),
                Duration::from_secs(30),
            );
            assert!(chown.success(), "chown www-data: {}", chown.describe());
        }
        // The port was free a moment ago; another test may take it first, so a start
        // that loses the race is retried on a new port.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::spawn(dir.path(), tools::free_port(), gzip) {
                Ok((child, port)) => return Self { child, port, dir },
                Err(log) => failures.push(log),
            }
        }
        panic!("apache did not start:\n{}", failures.join("\n---\n"));
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(root: &Path, port: u16, gzip: bool) -> Result<(Child, u16), String> {
        let conf = root.join("httpd.conf");
        fs::write(&conf, config(root, port, gzip)).unwrap();
        let startup = File::create(root.join("logs/startup.log")).unwrap();
        let mut child = Command::new(APACHE)
            .arg("-f")
            .arg(&conf)
            .arg("-DFOREGROUND")
            .stdin(Stdio::null())
            .stdout(startup.try_clone().unwrap())
            .stderr(startup)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {APACHE}: {e}"));
        // Bounded readiness poll: until Apache itself answers on the port (not just any
        // listener that may have taken the port since it was picked).
        for _ in 0..200 {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("apache exited ({status}):\n{}", logs(root)));
            }
            if answers_as_apache(port) {
                return Ok((child, port));
            }
            thread::sleep(Duration::from_millis(50));
        }
        stop(&mut child);
        Err(format!("apache did not answer within 10s:\n{}", logs(root)))
    }

    /// The error log so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        logs(self.dir.path())
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// SIGTERM by pid (Apache stops its children; the shell's `kill` builtin, so no procps),
/// a bounded wait, then SIGKILL.
fn stop(child: &mut Child) {
    let _ = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    for _ in 0..200 {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn logs(root: &Path) -> String {
    let read = |name: &str| fs::read_to_string(root.join("logs").join(name)).unwrap_or_default();
    format!("{}{}", read("startup.log"), read("error.log"))
}

fn answers_as_apache(port: u16) -> bool {
    let addr = ([127, 0, 0, 1], port).into();
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let probe = format!("OPTIONS {DAV_PATH} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(probe.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") && answer.contains("Server: Apache")
}

fn config(root: &Path, port: u16, gzip: bool) -> String {
    let root = root.display();
    let mut conf = format!(
        r#"ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/run/httpd.pid"
DefaultRuntimeDir "{root}/run"
Mutex file:{root}/run default
ErrorLog "{root}/logs/error.log"
LogLevel warn
"#
    );
    if tools::is_root() {
        conf.push_str("User www-data\nGroup www-data\n");
    }
    for (name, file) in MODULES {
        writeln!(conf, "LoadModule {name} /usr/lib/apache2/modules/{file}").unwrap();
    }
    let gzip_dav = if gzip { GZIP_DAV } else { "" };
    write!(
        conf,
        r#"StartServers 1
ThreadsPerChild 25
MinSpareThreads 1
MaxSpareThreads 50
MaxRequestWorkers 50
TypesConfig /etc/mime.types
DocumentRoot "{root}/htdocs"
DavLockDB "{root}/lock/DavLock"
<Directory "{root}/htdocs/webdav">
    Dav On
    Require all granted
{gzip_dav}</Directory>
<Location {SVN_PATH}>
    DAV svn
    SVNPath "{root}/repo"
    Require all granted
</Location>
"#
    )
    .unwrap();
    conf
}
