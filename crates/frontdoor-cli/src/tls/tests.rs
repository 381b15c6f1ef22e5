#![cfg(feature = "tls")]

use std::{path::Path, time::UNIX_EPOCH};

use frontdoor_tests::pki::{Leaf, Pki};

use super::*;

/// A temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("frontdoor-cli-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.0.join(name), text).unwrap();
        name.to_owned()
    }

    /// Writes `leaf` as `{name}.pem` and `{name}.key`.
    fn leaf(&self, name: &str, leaf: &Leaf) {
        self.write(&format!("{name}.pem"), &leaf.chain_pem);
        self.write(&format!("{name}.key"), &leaf.key_pem);
    }

    /// The config file `text`, loaded (relative paths are relative to this dir).
    fn config(&self, text: &str) -> Config {
        let path = self.0.join("frontdoor.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn messages(errors: &ConfigErrors) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

const LISTEN: &str = "[server]\nlisten_tls = [\"127.0.0.1:0\"]\n";

#[test]
fn certificates_load_with_their_names_and_paths_relative_to_the_config() {
    let dir = Dir::new("load");
    let pki = Pki::new("CA");
    dir.leaf("www", &pki.leaf(&["www.example.com", "*.example.com"]));
    dir.leaf("api", &pki.leaf(&["api.example.org"]));
    let config = dir.config(&format!(
        "{LISTEN}\n[[tls]]\ncert = \"www.pem\"\nkey = \"www.key\"\n\n[[tls]]\ncert = \"api.pem\"\nkey = \"api.key\"\nhosts = [\"API.example.org\"]\n"
    ));
    let certs = load(&config, SystemTime::now()).unwrap().unwrap();
    assert!(certs.warnings.is_empty(), "{:?}", certs.warnings);
    assert_eq!(certs.rows.len(), 2);
    assert_eq!(certs.rows[0].key, "tls[0]");
    assert_eq!(certs.rows[0].names, ["www.example.com", "*.example.com"]);
    assert_eq!(certs.rows[0].file, dir.0.join("www.pem"));
    assert_eq!(certs.rows[1].names, ["api.example.org"]);
    assert_eq!(
        certs.set.lookup(Some("api.example.org")).names(),
        ["api.example.org"]
    );
    assert_eq!(config.files().len(), 4);
}

#[test]
fn every_unusable_file_is_named_with_its_key_path() {
    let dir = Dir::new("errors");
    let pki = Pki::new("CA");
    let one = pki.leaf(&["one.example"]);
    let two = pki.leaf(&["two.example"]);
    dir.leaf("one", &one);
    dir.write("two.key", &two.key_pem);
    dir.write("garbage.pem", "not pem at all\n");
    let config = dir.config(&format!(
        r#"{LISTEN}
[[tls]]
cert = "missing.pem"
key = "one.key"

[[tls]]
cert = "one.pem"
key = "garbage.pem"

[[tls]]
cert = "one.pem"
key = "two.key"

[[tls]]
cert = "garbage.pem"
key = "one.key"
"#
    ));
    let errors = messages(&load(&config, SystemTime::now()).unwrap_err());
    let path = |name: &str| dir.0.join(name).display().to_string();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(
        errors[0].starts_with(&format!(
            "line 5: tls[0].cert: cannot read {}: ",
            path("missing.pem")
        )),
        "{errors:#?}"
    );
    assert_eq!(
        errors[1],
        format!(
            "line 10: tls[1].key: {}: no private key found (expected a PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block; encrypted keys are not supported)",
            path("garbage.pem")
        )
    );
    assert_eq!(
        errors[2],
        format!(
            "line 14: tls[2].key: {}: the private key does not match the certificate in {}",
            path("two.key"),
            path("one.pem")
        )
    );
    assert_eq!(
        errors[3],
        format!(
            "line 17: tls[3].cert: {}: no certificate found (expected a PEM CERTIFICATE block)",
            path("garbage.pem")
        )
    );
}

#[test]
fn expired_and_uncovered_certificates_are_warnings() {
    let dir = Dir::new("warnings");
    let pki = Pki::new("CA");
    dir.leaf(
        "old",
        &pki.leaf_valid(&["old.example"], (2001, 1, 1), (2002, 1, 1)),
    );
    dir.leaf("new", &pki.leaf(&["new.example"]));
    let config = dir.config(&format!(
        "{LISTEN}\n[[tls]]\ncert = \"old.pem\"\nkey = \"old.key\"\n\n[[tls]]\ncert = \"new.pem\"\nkey = \"new.key\"\nhosts = [\"new.example\", \"other.example\"]\n"
    ));
    let certs = load(&config, SystemTime::now()).unwrap().unwrap();
    let warnings = certs
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>();
    let old = dir.0.join("old.pem").display().to_string();
    let new = dir.0.join("new.pem").display().to_string();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].starts_with(&format!(
            "line 5: tls[0].cert: {old}: the certificate expired 2002-01-01T00:00:00Z ("
        )),
        "{warnings:#?}"
    );
    assert!(warnings[0].ends_with(" days ago); clients will refuse it"));
    assert_eq!(
        warnings[1],
        format!("line 11: tls[1].hosts: {new}: the certificate does not cover other.example (it names new.example)")
    );
}

#[test]
fn the_table_shows_names_and_expiry() {
    let at = UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    let rows = [
        CertRow {
            key: "tls[0]".into(),
            names: vec!["www.example.com".into(), "*.example.com".into()],
            not_after: at,
            file: "/etc/frontdoor/www.pem".into(),
        },
        CertRow {
            key: "tls[1]".into(),
            names: vec![],
            not_after: at,
            file: "/etc/frontdoor/ip.pem".into(),
        },
    ];
    let now = at - Duration::from_secs(89 * 86_400 + 60);
    let text = render(&rows, now);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "certificates (the first is the default):");
    assert!(lines[1].starts_with("tls     names"), "{text}");
    assert!(
        lines[2].starts_with("tls[0]  www.example.com, *.example.com"),
        "{text}"
    );
    assert!(
        lines[2].contains("2026-01-01T00:00:00Z (in 89 days)  /etc/frontdoor/www.pem"),
        "{text}"
    );
    assert!(
        lines[3].contains("(no names: clients without SNI"),
        "{text}"
    );
    assert_eq!(relative(at, at + Duration::from_secs(7200)), "2 hours ago");
    assert_eq!(seconds_until(at, now), 89 * 86_400 + 60);
    assert_eq!(seconds_until(now, at), -(89 * 86_400 + 60));
}

#[test]
fn client_configurations_read_the_ca_and_the_client_certificate() {
    let dir = Dir::new("client");
    let pki = Pki::new("CA");
    dir.write("ca.pem", &pki.ca_pem());
    dir.leaf("client", &pki.leaf(&["client.example"]));
    let plan = |extra: &str| {
        let config = dir.config(&format!(
            "[default]\nupstream = \"https://127.0.0.1:1\"\ntls = {{ {extra} }}\n"
        ));
        let metrics = crate::ops::Metrics::new();
        crate::stack::plan(&config, &crate::stack::Builtins::new(), &metrics, None)
    };
    let error = |extra: &str| {
        let errors = plan(extra).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors}");
        let e = errors.iter().next().unwrap();
        (e.path().to_owned(), e.message().to_owned())
    };
    assert!(plan("server_name = \"a.example\"").is_ok());
    assert!(plan("ca = \"ca.pem\"").is_ok());
    assert!(plan("ca = \"ca.pem\", cert = \"client.pem\", key = \"client.key\"").is_ok());

    let (key, message) = error("ca = \"nope.pem\"");
    assert_eq!(key, "default.tls.ca");
    assert!(
        message.starts_with(&format!(
            "cannot read {}: ",
            dir.0.join("nope.pem").display()
        )),
        "{message}"
    );
    let (key, message) = error("ca = \"client.key\"");
    assert_eq!(key, "default.tls.ca");
    assert!(message.ends_with("no certificate found"), "{message}");
    let (key, _) = error("cert = \"client.pem\", key = \"ca.pem\"");
    assert_eq!(key, "default.tls.key");
}

#[test]
fn the_files_of_a_config_are_stamped() {
    let dir = Dir::new("stamps");
    let pki = Pki::new("CA");
    dir.leaf("www", &pki.leaf(&["www.example.com"]));
    let config = dir.config(&format!(
        "{LISTEN}\n[[tls]]\ncert = \"www.pem\"\nkey = \"www.key\"\n"
    ));
    let before = file_stamps(&config);
    assert!(before.iter().all(Option::is_some));
    std::fs::write(
        dir.0.join("www.pem"),
        "renewed, and longer than before......",
    )
    .unwrap();
    assert_ne!(file_stamps(&config), before);
    assert!(Path::new(&config.tls[0].key.path).is_absolute());
}
