//! The docs build every feature: each published crate's docs.rs metadata, and the
//! README's `cargo doc` command (default features would leave out `frontdoor::axum`,
//! `serve::tls` and the plan, which the README and the Concepts page point to).

const CRATES: &[&str] = &[
    "frontdoor",
    "frontdoor-core",
    "frontdoor-resolve",
    "frontdoor-route",
    "frontdoor-cleanup",
    "frontdoor-relocate",
    "frontdoor-upstream",
    "frontdoor-mirror",
    "frontdoor-gor",
    "frontdoor-deproxy",
    "frontdoor-serve",
    "frontdoor-cli",
];

#[test]
fn every_crate_documents_every_feature() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for name in CRATES {
        let manifest = std::fs::read_to_string(format!("{root}/crates/{name}/Cargo.toml")).unwrap();
        let table: toml::Table = manifest.parse().unwrap();
        let docs_rs = &table["package"]["metadata"]["docs"]["rs"];
        assert_eq!(docs_rs["all-features"].as_bool(), Some(true), "{name}");
    }
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let commands: Vec<&str> = readme
        .match_indices("cargo doc -p frontdoor")
        .map(|(at, _)| readme[at..].lines().next().unwrap())
        .collect();
    assert!(!commands.is_empty());
    for command in commands {
        assert!(command.contains("--all-features"), "{command}");
    }
}
