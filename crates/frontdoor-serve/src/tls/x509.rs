//! A certificate's validity period and the DNS names of its subject alternative name
//! extension, read with `x509-parser`.
//!
//! This describes the DER a certificate file holds, for display and for the default
//! host names of a certificate; it never decides trust (rustls and webpki parse and
//! check the certificate again for the handshake).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::{
    certificate::X509Certificate, extensions::GeneralName, prelude::FromDer, time::ASN1Time,
};

/// What [`describe`] reads from a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Described {
    pub(super) not_before: SystemTime,
    pub(super) not_after: SystemTime,
    /// The `dNSName` entries of the subject alternative names, lowercased, in order.
    pub(super) dns_names: Vec<String>,
}

/// Reads the validity and DNS names of the DER certificate `der`.
pub(super) fn describe(der: &[u8]) -> Result<Described, &'static str> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| "not a DER X.509 certificate")?;
    let validity = cert.validity();
    let dns_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(_) => return Err("invalid subject alternative name extension"),
    };
    Ok(Described {
        not_before: system_time(&validity.not_before),
        not_after: system_time(&validity.not_after),
        dns_names,
    })
}

/// `time` as a `SystemTime` (before the epoch too).
fn system_time(time: &ASN1Time) -> SystemTime {
    let seconds = time.timestamp();
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    let time = if seconds >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    time.unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(names: &[&str], from: (i32, u8, u8), to: (i32, u8, u8)) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn unix(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn reads_validity_and_dns_names() {
        // rcgen writes UTCTime before 2050 and GeneralizedTime from 2050 on.
        let der = generated(
            &["WWW.example.com", "*.example.com", "127.0.0.1"],
            (2024, 2, 29),
            (2051, 1, 1),
        );
        let described = describe(&der).unwrap();
        assert_eq!(described.not_before, unix(1_709_164_800));
        assert_eq!(described.not_after, unix(2_556_144_000));
        // The IP address SAN is not a DNS name.
        assert_eq!(described.dns_names, ["www.example.com", "*.example.com"]);
    }

    #[test]
    fn a_certificate_without_names_has_none() {
        let der = generated(&[], (1999, 12, 31), (2000, 3, 1));
        let described = describe(&der).unwrap();
        assert!(described.dns_names.is_empty());
        assert_eq!(described.not_before, unix(946_598_400));
        assert_eq!(described.not_after, unix(951_868_800));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let der = generated(&["a.example"], (2024, 1, 1), (2025, 1, 1));
        for cut in 0..der.len() {
            let _ = describe(&der[..cut]);
        }
        assert!(describe(&[]).is_err());
        assert!(describe(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(describe(b"-----BEGIN CERTIFICATE-----").is_err());
    }
}
