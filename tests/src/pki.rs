//! Test certificates, generated per run with rcgen: a private CA and leaf
//! certificates it signs, as PEM text and DER. Never committed keys.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SignatureAlgorithm,
    PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::CertificateDer;

/// A certificate and its key.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// The certificate chain as PEM (the leaf, then the CA for CA-signed leaves).
    pub chain_pem: String,
    /// The private key as PKCS#8 PEM.
    pub key_pem: String,
    /// The leaf certificate as DER.
    pub der: CertificateDer<'static>,
}

/// A private certificate authority.
pub struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

impl Pki {
    /// A fresh CA with common name `name`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        Self { ca, ca_key }
    }

    /// The CA certificate as PEM.
    #[must_use]
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA certificate as DER.
    #[must_use]
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A leaf for `names` (DNS names, or IP addresses as IP SANs), valid now.
    #[must_use]
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_with(names, params(names), &PKCS_ECDSA_P256_SHA256)
    }

    /// A leaf for `names` valid from `from` to `to` (year, month, day).
    #[must_use]
    pub fn leaf_valid(&self, names: &[&str], from: (i32, u8, u8), to: (i32, u8, u8)) -> Leaf {
        let mut p = params(names);
        p.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        p.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        self.leaf_with(names, p, &PKCS_ECDSA_P256_SHA256)
    }

    fn leaf_with(
        &self,
        names: &[&str],
        mut params: CertificateParams,
        alg: &'static SignatureAlgorithm,
    ) -> Leaf {
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        let key = KeyPair::generate_for(alg).unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        Leaf {
            chain_pem: format!("{}{}", cert.pem(), self.ca.pem()),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }
}

/// A self-signed certificate for `names`.
#[must_use]
pub fn self_signed(names: &[&str]) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let cert = params(names).self_signed(&key).unwrap();
    Leaf {
        chain_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
    }
}

fn params(names: &[&str]) -> CertificateParams {
    CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap()
}
