//! Certificates: [`Certificate`] (a chain and its key, loaded and checked),
//! [`CertSet`] (which certificate serves which server name) and [`CertResolver`]
//! (the set in force, swapped atomically).

use std::{collections::HashMap, fmt, net::IpAddr, sync::Arc, time::SystemTime};

use arc_swap::ArcSwap;
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, DnsName, PrivateKeyDer},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
    InconsistentKeys, SignatureScheme,
};

use super::{
    error::{TlsConfigError, TlsConfigErrorKind as Kind},
    x509,
};

// === Certificate ===

/// A certificate chain and its private key, checked to belong together, with what
/// the end-entity certificate says about itself (its DNS names and validity).
///
/// Cheap to clone. See the [module docs](super).
#[derive(Clone)]
pub struct Certificate {
    key: Arc<CertifiedKey>,
    names: Arc<[String]>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl Certificate {
    /// Loads a PEM chain (end-entity certificate first, then intermediates) and a
    /// PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`); RSA, ECDSA (P-256, P-384) or Ed25519.
    ///
    /// # Errors
    ///
    /// [`Certificate`](Kind::Certificate) when the chain holds no certificate or one
    /// that does not parse; [`Key`](Kind::Key) when there is no usable key (encrypted
    /// keys are not supported); [`KeyMismatch`](Kind::KeyMismatch) when the key is
    /// not the certificate's.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Self, TlsConfigError> {
        let chain = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                TlsConfigError::new(
                    Kind::Certificate,
                    format!("not a PEM certificate chain: {e}"),
                )
                .with_source(e)
            })?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsConfigError::new(
                Kind::Key,
                "no private key found (expected a PEM PRIVATE KEY, RSA PRIVATE KEY or \
                 EC PRIVATE KEY block; encrypted keys are not supported)",
            ),
            other => TlsConfigError::new(Kind::Key, format!("not a PEM private key: {other}"))
                .with_source(other),
        })?;
        Self::from_der(chain, key)
    }

    /// As [`from_pem`](Self::from_pem), from DER values.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem).
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsConfigError> {
        let Some(end_entity) = chain.first() else {
            return Err(TlsConfigError::new(
                Kind::Certificate,
                "no certificate found (expected a PEM CERTIFICATE block)",
            ));
        };
        let described = x509::describe(end_entity).map_err(|e| {
            TlsConfigError::new(Kind::Certificate, format!("not an X.509 certificate: {e}"))
        })?;
        let provider = rustls::crypto::ring::default_provider();
        let signing = provider.key_provider.load_private_key(key).map_err(|e| {
            TlsConfigError::new(Kind::Key, format!("unusable private key: {e}")).with_source(e)
        })?;
        let key = CertifiedKey::new(chain, signing);
        match key.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
                return Err(TlsConfigError::new(
                    Kind::KeyMismatch,
                    "the private key does not match the certificate",
                ));
            }
            Err(e) => {
                return Err(TlsConfigError::new(
                    Kind::Certificate,
                    format!("the certificate does not parse: {e}"),
                )
                .with_source(e));
            }
        }
        Ok(Self {
            key: Arc::new(key),
            names: described.dns_names.into(),
            not_before: described.not_before,
            not_after: described.not_after,
        })
    }

    /// The DNS names of the end-entity certificate (its subject alternative names,
    /// lowercased, `*.` wildcards included), in certificate order. The common name is
    /// not read: clients ignore it too.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Start of the end-entity certificate's validity.
    #[must_use]
    pub const fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// End of the end-entity certificate's validity (its expiry).
    #[must_use]
    pub const fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// Whether the certificate's names cover `host` (a DNS name or a `*.` wildcard,
    /// compared without case): listed as is, or, for a name, matched by a `*.`
    /// wildcard of one label (RFC 6125 section 6.4.3).
    #[must_use]
    pub fn covers(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.names.iter().any(|name| {
            *name == host
                || (!host.starts_with("*.")
                    && name.strip_prefix("*.").is_some_and(|parent| {
                        host.split_once('.').is_some_and(|(_, rest)| rest == parent)
                    }))
        })
    }

    /// The chain and signing key, as rustls uses them.
    #[must_use]
    pub fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.key
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("names", &self.names)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("chain_len", &self.key.cert.len())
            .finish_non_exhaustive()
    }
}

/// Normalises a server name a certificate is to serve: a DNS name, or `*.` followed
/// by one (a wildcard for exactly one more label), lowercased, without a trailing
/// dot.
///
/// ```
/// use frontdoor_serve::tls::server_name_pattern;
///
/// assert_eq!(server_name_pattern("*.Example.COM.")?, "*.example.com");
/// assert!(server_name_pattern("a.*.example.com").is_err());
/// assert!(server_name_pattern("127.0.0.1").is_err()); // SNI never carries an address
/// # Ok::<(), frontdoor_serve::tls::TlsConfigError>(())
/// ```
///
/// # Errors
///
/// A [`Host`](Kind::Host) error saying what is wrong.
pub fn server_name_pattern(text: &str) -> Result<String, TlsConfigError> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    let name = lower.strip_prefix("*.").unwrap_or(lower);
    let bad = |why: &str| TlsConfigError::new(Kind::Host, format!("{text:?}: {why}"));
    if name.contains('*') {
        return Err(bad(
            "a wildcard is allowed only as the whole first label (`*.`)",
        ));
    }
    if name.parse::<IpAddr>().is_ok() {
        return Err(bad("an IP address is never a TLS server name (SNI)"));
    }
    if name.is_empty() || DnsName::try_from(name).is_err() {
        return Err(bad("not a DNS name"));
    }
    Ok(lower.to_owned())
}

// === CertSet ===

/// Which certificate serves which server name: exact names, `*.` wildcards (one
/// label), and a default certificate for clients that send no name (SNI) or a name no
/// certificate lists.
///
/// A name listed by several certificates is served by the first of them whose key
/// the client can use (so an ECDSA and an RSA certificate can serve the same names:
/// list the ECDSA one first). An exact name wins over a wildcard.
///
/// Built with [`CertSet::builder`]; served through a [`CertResolver`].
#[derive(Debug)]
pub struct CertSet {
    /// Position 0: the default certificate.
    default: Entry,
    /// Positions 1 and on.
    others: Vec<Entry>,
    exact: HashMap<Box<str>, Box<[usize]>>,
    wildcard: HashMap<Box<str>, Box<[usize]>>,
}

#[derive(Debug)]
struct Entry {
    cert: Certificate,
    hosts: Vec<String>,
}

impl CertSet {
    /// An empty builder.
    pub fn builder() -> CertSetBuilder {
        CertSetBuilder::default()
    }

    /// The certificate a client naming `server_name` (SNI) gets, whatever its key
    /// type; `None` (no SNI) gets the default.
    #[must_use]
    pub fn lookup(&self, server_name: Option<&str>) -> &Certificate {
        let index = self.candidates(server_name).first().copied().unwrap_or(0);
        &self.entry(index).cert
    }

    /// The certificates in the order added (the first is the default), each with the
    /// names it serves.
    pub fn iter(&self) -> impl Iterator<Item = (&Certificate, &[String])> {
        std::iter::once(&self.default)
            .chain(&self.others)
            .map(|e| (&e.cert, e.hosts.as_slice()))
    }

    /// The positions of the certificates that serve `server_name`, best first.
    fn candidates(&self, server_name: Option<&str>) -> &[usize] {
        const DEFAULT: &[usize] = &[0];
        let Some(name) = server_name else {
            return DEFAULT;
        };
        // rustls hands over SNI lowercased; be safe for other callers.
        let lowered;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = name.to_ascii_lowercase();
            lowered.as_str()
        } else {
            name
        };
        if let Some(exact) = self.exact.get(name) {
            return exact;
        }
        name.split_once('.')
            .and_then(|(_, parent)| self.wildcard.get(parent))
            .map_or(DEFAULT, |found| found)
    }

    /// The first candidate for `server_name` whose key can sign with one of
    /// `schemes`; the first candidate when none can (the handshake then fails with
    /// rustls's own alert).
    pub(super) fn choose(
        &self,
        server_name: Option<&str>,
        schemes: &[SignatureScheme],
    ) -> &Arc<CertifiedKey> {
        let candidates = self.candidates(server_name);
        let usable = match candidates {
            [one] => *one,
            many => many
                .iter()
                .copied()
                .find(|&i| self.entry(i).cert.key.key.choose_scheme(schemes).is_some())
                .or_else(|| many.first().copied())
                .unwrap_or(0),
        };
        &self.entry(usable).cert.key
    }

    /// The entry at `index` (the builder stores only valid positions; the default
    /// stands in for any other).
    fn entry(&self, index: usize) -> &Entry {
        index
            .checked_sub(1)
            .and_then(|i| self.others.get(i))
            .unwrap_or(&self.default)
    }
}

// === CertSetBuilder ===

/// Builds a [`CertSet`]. The first certificate added is the default.
#[derive(Debug, Default)]
#[must_use]
pub struct CertSetBuilder {
    entries: Vec<(Certificate, Option<Vec<String>>)>,
}

impl CertSetBuilder {
    /// Adds `cert`, serving the DNS names it lists ([`Certificate::names`]).
    pub fn cert(mut self, cert: Certificate) -> Self {
        self.entries.push((cert, None));
        self
    }

    /// Adds `cert`, serving `hosts` (DNS names and `*.` wildcards) instead of the
    /// names it lists. Names the certificate does not cover are served anyway (the
    /// client will refuse them); the binary warns about them.
    pub fn cert_for<I>(mut self, cert: Certificate, hosts: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let hosts = hosts.into_iter().map(|h| h.as_ref().to_owned()).collect();
        self.entries.push((cert, Some(hosts)));
        self
    }

    /// Checks the host names and builds the set.
    ///
    /// # Errors
    ///
    /// A [`Host`](Kind::Host) error, with the [`index`](TlsConfigError::index) of the
    /// certificate concerned, when a host is not a valid pattern
    /// ([`server_name_pattern`]) or when a certificate other than the first (the
    /// default) serves no name; a [`Certificate`](Kind::Certificate) error when no
    /// certificate was added.
    pub fn build(self) -> Result<CertSet, TlsConfigError> {
        let mut exact: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        let mut wildcard: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        let mut entries = Vec::with_capacity(self.entries.len());
        for (index, (cert, hosts)) in self.entries.into_iter().enumerate() {
            let mut patterns = Vec::new();
            for host in hosts.as_deref().unwrap_or(cert.names()) {
                let pattern = server_name_pattern(host).map_err(|e| e.at(index))?;
                if !patterns.contains(&pattern) {
                    patterns.push(pattern);
                }
            }
            if patterns.is_empty() && index > 0 {
                return Err(TlsConfigError::new(
                    Kind::Host,
                    "the certificate names no DNS host and is not the default: give its hosts",
                )
                .at(index));
            }
            for pattern in &patterns {
                let (map, key) = match pattern.strip_prefix("*.") {
                    Some(parent) => (&mut wildcard, parent),
                    None => (&mut exact, pattern.as_str()),
                };
                map.entry(key.into()).or_default().push(index);
            }
            entries.push(Entry {
                cert,
                hosts: patterns,
            });
        }
        let mut entries = entries.into_iter();
        let Some(default) = entries.next() else {
            return Err(TlsConfigError::new(
                Kind::Certificate,
                "no certificate: a TLS listener needs at least one",
            ));
        };
        let freeze = |map: HashMap<Box<str>, Vec<usize>>| {
            map.into_iter()
                .map(|(name, at)| (name, at.into_boxed_slice()))
                .collect()
        };
        Ok(CertSet {
            default,
            others: entries.collect(),
            exact: freeze(exact),
            wildcard: freeze(wildcard),
        })
    }
}

// === CertResolver ===

/// The [`CertSet`] in force, behind an atomic pointer: [`store`](Self::store) a new
/// set and the next handshakes use it, while connections already established keep
/// theirs. Clones share the set. It is the rustls certificate resolver of
/// [`TlsConfig::new`](super::TlsConfig::new).
#[derive(Clone)]
pub struct CertResolver {
    current: Arc<ArcSwap<CertSet>>,
}

impl CertResolver {
    /// A resolver serving `set`.
    #[must_use]
    pub fn new(set: CertSet) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(set)),
        }
    }

    /// Replaces the set for the handshakes that start from now on.
    pub fn store(&self, set: CertSet) {
        self.current.store(Arc::new(set));
    }

    /// The set in force.
    #[must_use]
    pub fn load(&self) -> Arc<CertSet> {
        self.current.load_full()
    }
}

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver")
            .field("current", &self.current.load())
            .finish()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let set = self.current.load();
        Some(Arc::clone(set.choose(
            client_hello.server_name(),
            client_hello.signature_schemes(),
        )))
    }
}
