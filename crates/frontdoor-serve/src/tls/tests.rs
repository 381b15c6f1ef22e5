use std::{process::Command, time::UNIX_EPOCH};

use rustls::{
    pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
    SignatureScheme,
};

use super::*;

/// A self-signed certificate for `names` with a fresh key of `alg`: (chain PEM, key
/// PEM).
fn pem_with(names: &[&str], alg: &'static rcgen::SignatureAlgorithm) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let names = names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let cert = rcgen::CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

fn pem(names: &[&str]) -> (String, String) {
    pem_with(names, &rcgen::PKCS_ECDSA_P256_SHA256)
}

fn cert(names: &[&str]) -> Certificate {
    let (chain, key) = pem(names);
    Certificate::from_pem(chain.as_bytes(), key.as_bytes()).unwrap()
}

fn first_name(set: &CertSet, sni: Option<&str>) -> String {
    set.lookup(sni).names()[0].clone()
}

#[test]
fn public_types_are_send_sync_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send_sync<T: Send + Sync>() {}
    send_sync_clone::<Certificate>();
    send_sync_clone::<CertResolver>();
    send_sync_clone::<TlsConfig>();
    send_sync::<CertSet>();
    send_sync::<CertSetBuilder>();
    send_sync::<TlsConfigError>();
}

#[test]
fn a_certificate_knows_its_names_and_validity() {
    let c = cert(&["WWW.example.com", "*.example.com"]);
    assert_eq!(c.names(), ["www.example.com", "*.example.com"]);
    // rcgen's defaults: 1975-01-01 to 4096-01-01.
    assert!(c.not_before() < UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 365 * 6));
    assert!(c.not_after() > std::time::SystemTime::now());
    assert!(c.covers("www.example.com"));
    assert!(c.covers("API.example.com."));
    assert!(c.covers("*.example.com"));
    assert!(!c.covers("a.b.example.com"), "a wildcard covers one label");
    assert!(!c.covers("example.com"));
    assert!(!c.covers("*.www.example.com"));
}

#[test]
fn chain_and_key_errors_say_which_input_is_wrong() {
    let (chain, key) = pem(&["a.example"]);
    let (_, other_key) = pem(&["a.example"]);
    let cases: [(&str, &str, TlsConfigErrorKind, &str); 5] = [
        (
            "",
            &key,
            TlsConfigErrorKind::Certificate,
            "no certificate found",
        ),
        (
            &key,
            &key,
            TlsConfigErrorKind::Certificate,
            "no certificate found",
        ),
        (&chain, "", TlsConfigErrorKind::Key, "no private key found"),
        (
            &chain,
            &chain,
            TlsConfigErrorKind::Key,
            "no private key found",
        ),
        (
            &chain,
            &other_key,
            TlsConfigErrorKind::KeyMismatch,
            "does not match",
        ),
    ];
    for (chain, key, kind, message) in cases {
        let err = Certificate::from_pem(chain.as_bytes(), key.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(err.is_key(), kind != TlsConfigErrorKind::Certificate);
    }
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let err = Certificate::from_pem(garbage.as_bytes(), key.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), TlsConfigErrorKind::Certificate, "{err}");
}

#[test]
fn sec1_and_ed25519_keys_load() {
    // SEC1 (`EC PRIVATE KEY`): the ECPrivateKey inside rcgen's PKCS#8 document.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let chain = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let pkcs8 = key.serialize_der();
    let sec1 = pkcs8_inner_key(&pkcs8);
    let loaded = Certificate::from_der(
        vec![chain.der().clone()],
        PrivateKeyDer::Sec1(sec1.to_vec().into()),
    )
    .unwrap();
    assert_eq!(loaded.names(), ["a.example"]);
    let loaded = Certificate::from_der(
        vec![chain.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)),
    );
    assert!(loaded.is_ok());

    let (chain, key) = pem_with(&["b.example"], &rcgen::PKCS_ED25519);
    assert!(Certificate::from_pem(chain.as_bytes(), key.as_bytes()).is_ok());
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo`:
/// SEQUENCE { INTEGER 0, SEQUENCE { algorithm }, OCTET STRING { key } }.
fn pkcs8_inner_key(der: &[u8]) -> &[u8] {
    /// One DER item: (tag, content, rest).
    fn item(der: &[u8]) -> (u8, &[u8], &[u8]) {
        let (len, at) = match der[1] {
            short @ 0..=0x7f => (usize::from(short), 2),
            0x81 => (usize::from(der[2]), 3),
            0x82 => (usize::from(der[2]) << 8 | usize::from(der[3]), 4),
            other => panic!("length form {other:#x}"),
        };
        (der[0], &der[at..at + len], &der[at + len..])
    }
    let (_, info, _) = item(der);
    let (_, _, rest) = item(info); // version
    let (_, _, rest) = item(rest); // algorithm
    let (tag, key, _) = item(rest);
    assert_eq!(tag, 0x04);
    key
}

#[test]
fn pkcs1_and_sec1_pem_files_from_openssl_load() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: openssl is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("frontdoor-tls-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (alg, args) in [
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..],
        ),
        (
            "ec",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
        ),
    ] {
        let pkcs8 = dir.join(format!("{alg}.pkcs8.pem"));
        let traditional = dir.join(format!("{alg}.traditional.pem"));
        let ok = Command::new("openssl")
            .arg("genpkey")
            .args(args)
            .arg("-out")
            .arg(&pkcs8)
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl genpkey {alg}");
        let ok = Command::new("openssl")
            .args(["pkey", "-traditional", "-in"])
            .arg(&pkcs8)
            .arg("-out")
            .arg(&traditional)
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl pkey -traditional {alg}");
        let key_pem = std::fs::read_to_string(&pkcs8).unwrap();
        let key = rcgen::KeyPair::from_pem(&key_pem).unwrap();
        let chain = rcgen::CertificateParams::new(vec![format!("{alg}.example")])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem();
        let traditional = std::fs::read_to_string(&traditional).unwrap();
        let label = if alg == "rsa" {
            "RSA PRIVATE KEY"
        } else {
            "EC PRIVATE KEY"
        };
        assert!(traditional.contains(label), "{traditional}");
        for key in [key_pem.as_str(), traditional.as_str()] {
            let loaded = Certificate::from_pem(chain.as_bytes(), key.as_bytes()).unwrap();
            assert_eq!(loaded.names(), [format!("{alg}.example")]);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lookup_by_exact_name_wildcard_and_default() {
    let set = CertSet::builder()
        .cert(cert(&["www.example.com"]))
        .cert(cert(&["api.example.com", "*.api.example.com"]))
        .cert(cert(&["*.example.org", "special.example.org"]))
        .build()
        .unwrap();
    let table = [
        (None, "www.example.com"),
        (Some("www.example.com"), "www.example.com"),
        (Some("WWW.Example.com"), "www.example.com"),
        (Some("api.example.com"), "api.example.com"),
        (Some("v1.api.example.com"), "api.example.com"),
        (Some("a.v1.api.example.com"), "www.example.com"),
        (Some("x.example.org"), "*.example.org"),
        (Some("special.example.org"), "*.example.org"),
        (Some("example.org"), "www.example.com"),
        (Some("unknown.test"), "www.example.com"),
    ];
    for (sni, want) in table {
        assert_eq!(first_name(&set, sni), want, "{sni:?}");
    }
    let served: Vec<Vec<String>> = set.iter().map(|(_, hosts)| hosts.to_vec()).collect();
    assert_eq!(served[1], ["api.example.com", "*.api.example.com"]);
}

#[test]
fn an_exact_name_beats_a_wildcard_and_the_first_listed_wins() {
    let set = CertSet::builder()
        .cert(cert(&["default.test"]))
        .cert_for(cert(&["wild.test"]), ["*.example.com"])
        .cert_for(cert(&["exact.test"]), ["www.example.com"])
        .cert_for(cert(&["second.test"]), ["www.example.com", "*.example.com"])
        .build()
        .unwrap();
    assert_eq!(first_name(&set, Some("www.example.com")), "exact.test");
    assert_eq!(first_name(&set, Some("a.example.com")), "wild.test");
}

#[test]
fn several_certificates_for_one_name_are_chosen_by_key_type() {
    let ecdsa = cert(&["www.example.com"]);
    let (chain, key) = pem_with(&["www.example.com"], &rcgen::PKCS_ED25519);
    let ed25519 = Certificate::from_pem(chain.as_bytes(), key.as_bytes()).unwrap();
    let ed25519_key = Arc::clone(ed25519.certified_key());
    let ecdsa_key = Arc::clone(ecdsa.certified_key());
    let set = CertSet::builder()
        .cert(ecdsa)
        .cert(ed25519)
        .build()
        .unwrap();
    let name = Some("www.example.com");
    let both = [
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureScheme::ED25519,
    ];
    assert!(Arc::ptr_eq(set.choose(name, &both), &ecdsa_key));
    assert!(Arc::ptr_eq(
        set.choose(name, &[SignatureScheme::ED25519]),
        &ed25519_key
    ));
    // Nothing usable: the first, and rustls refuses the handshake itself.
    assert!(Arc::ptr_eq(
        set.choose(name, &[SignatureScheme::RSA_PSS_SHA256]),
        &ecdsa_key
    ));
}

#[test]
fn bad_host_names_are_refused_with_the_certificate_index() {
    for (hosts, message) in [
        (&["a.*.example.com"][..], "wildcard"),
        (&["*"][..], "wildcard"),
        (&["10.0.0.1"][..], "IP address"),
        (&["bad host"][..], "not a DNS name"),
    ] {
        let err = CertSet::builder()
            .cert(cert(&["default.test"]))
            .cert_for(cert(&["x.test"]), hosts)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), TlsConfigErrorKind::Host, "{hosts:?}");
        assert_eq!(err.index(), Some(1));
        assert!(err.to_string().contains(message), "{err}");
    }
    let err = CertSet::builder()
        .cert(cert(&["default.test"]))
        .cert(cert(&[]))
        .build()
        .unwrap_err();
    assert_eq!(err.index(), Some(1));
    assert!(err.to_string().contains("names no DNS host"), "{err}");
    // The default may have no name: it serves every client without SNI.
    assert!(CertSet::builder().cert(cert(&[])).build().is_ok());
    let err = CertSet::builder().build().unwrap_err();
    assert_eq!(err.kind(), TlsConfigErrorKind::Certificate);
}

#[test]
fn server_name_patterns_are_normalised() {
    assert_eq!(
        server_name_pattern(" Example.COM. ").unwrap(),
        "example.com"
    );
    assert_eq!(server_name_pattern("*.a.example").unwrap(), "*.a.example");
    assert!(server_name_pattern("*.").is_err());
    assert!(server_name_pattern("").is_err());
    assert!(server_name_pattern("::1").is_err());
}

#[test]
fn the_resolver_swaps_sets() {
    let resolver = CertResolver::new(
        CertSet::builder()
            .cert(cert(&["old.test"]))
            .build()
            .unwrap(),
    );
    let clone = resolver.clone();
    clone.store(
        CertSet::builder()
            .cert(cert(&["new.test"]))
            .build()
            .unwrap(),
    );
    assert_eq!(first_name(&resolver.load(), None), "new.test");
    assert!(format!("{resolver:?}").contains("new.test"));
    let tls = TlsConfig::new(resolver).unwrap();
    assert_eq!(
        tls.rustls().alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}
