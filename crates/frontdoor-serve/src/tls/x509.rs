//! Just enough X.509 (RFC 5280) to describe a certificate: its validity period and
//! the DNS names of its subject alternative name extension.
//!
//! This is a reader of the DER a certificate file holds, for display and for the
//! default host names of a certificate; it never decides trust (rustls and webpki
//! parse and check the certificate again for the handshake). It walks the
//! `TBSCertificate` sequence field by field and skips what it does not need.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What [`describe`] reads from a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Described {
    pub(super) not_before: SystemTime,
    pub(super) not_after: SystemTime,
    /// The `dNSName` entries of the subject alternative names, lowercased, in order.
    pub(super) dns_names: Vec<String>,
}

/// DER tags used below.
mod tag {
    pub(super) const BOOLEAN: u8 = 0x01;
    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const OCTET_STRING: u8 = 0x04;
    pub(super) const OID: u8 = 0x06;
    pub(super) const UTC_TIME: u8 = 0x17;
    pub(super) const GENERALIZED_TIME: u8 = 0x18;
    pub(super) const SEQUENCE: u8 = 0x30;
    /// `[0] EXPLICIT Version`.
    pub(super) const VERSION: u8 = 0xa0;
    /// `[1] IMPLICIT UniqueIdentifier` (issuer).
    pub(super) const ISSUER_UID: u8 = 0x81;
    /// `[2] IMPLICIT UniqueIdentifier` (subject).
    pub(super) const SUBJECT_UID: u8 = 0x82;
    /// `[3] EXPLICIT Extensions`.
    pub(super) const EXTENSIONS: u8 = 0xa3;
    /// `GeneralName`'s `dNSName [2] IMPLICIT IA5String`.
    pub(super) const DNS_NAME: u8 = 0x82;
}

/// The DER encoding of OID 2.5.29.17, `id-ce-subjectAltName`.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// Reads the validity and DNS names of the DER certificate `der`.
pub(super) fn describe(der: &[u8]) -> Result<Described, &'static str> {
    let mut outer = Der::new(der);
    let mut cert = Der::new(outer.expect(tag::SEQUENCE)?);
    let mut tbs = Der::new(cert.expect(tag::SEQUENCE)?);
    tbs.skip_if(tag::VERSION)?;
    tbs.expect(tag::INTEGER)?; // serialNumber
    tbs.expect(tag::SEQUENCE)?; // signature
    tbs.expect(tag::SEQUENCE)?; // issuer
    let mut validity = Der::new(tbs.expect(tag::SEQUENCE)?);
    let not_before = validity.time()?;
    let not_after = validity.time()?;
    tbs.expect(tag::SEQUENCE)?; // subject
    tbs.expect(tag::SEQUENCE)?; // subjectPublicKeyInfo
    tbs.skip_if(tag::ISSUER_UID)?;
    tbs.skip_if(tag::SUBJECT_UID)?;
    let mut dns_names = Vec::new();
    if tbs.peek() == Some(tag::EXTENSIONS) {
        let mut explicit = Der::new(tbs.expect(tag::EXTENSIONS)?);
        let mut extensions = Der::new(explicit.expect(tag::SEQUENCE)?);
        while !extensions.is_empty() {
            let mut extension = Der::new(extensions.expect(tag::SEQUENCE)?);
            let id = extension.expect(tag::OID)?;
            extension.skip_if(tag::BOOLEAN)?; // critical
            let value = extension.expect(tag::OCTET_STRING)?;
            if id == SUBJECT_ALT_NAME {
                dns_names = subject_alt_dns_names(value)?;
            }
        }
    }
    Ok(Described {
        not_before,
        not_after,
        dns_names,
    })
}

/// The `dNSName`s of a `SubjectAltName` extension value.
fn subject_alt_dns_names(value: &[u8]) -> Result<Vec<String>, &'static str> {
    let mut outer = Der::new(value);
    let mut names = Der::new(outer.expect(tag::SEQUENCE)?);
    let mut dns = Vec::new();
    while !names.is_empty() {
        let (tag, content) = names.read()?;
        if tag == tag::DNS_NAME {
            let name = std::str::from_utf8(content)
                .ok()
                .filter(|n| n.is_ascii())
                .ok_or("a dNSName is not ASCII")?;
            dns.push(name.to_ascii_lowercase());
        }
    }
    Ok(dns)
}

// === Der ===

/// A cursor over DER tag-length-value items.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    const fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    const fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next item, if any.
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next item's tag and content.
    fn read(&mut self) -> Result<(u8, &'a [u8]), &'static str> {
        const TRUNCATED: &str = "truncated DER";
        let (&tag, rest) = self.rest.split_first().ok_or(TRUNCATED)?;
        if tag & 0x1f == 0x1f {
            return Err("multi-byte DER tags are not used in certificates");
        }
        let (&first, mut rest) = rest.split_first().ok_or(TRUNCATED)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err("unsupported DER length");
            }
            let (bytes, after) = rest.split_at_checked(count).ok_or(TRUNCATED)?;
            rest = after;
            bytes
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b))
        };
        let (content, after) = rest.split_at_checked(len).ok_or(TRUNCATED)?;
        self.rest = after;
        Ok((tag, content))
    }

    /// The next item's content, which must have `want` as its tag.
    fn expect(&mut self, want: u8) -> Result<&'a [u8], &'static str> {
        match self.read()? {
            (tag, content) if tag == want => Ok(content),
            _ => Err("unexpected DER item in the certificate"),
        }
    }

    /// Skips the next item if its tag is `optional`.
    fn skip_if(&mut self, optional: u8) -> Result<(), &'static str> {
        if self.peek() == Some(optional) {
            self.read()?;
        }
        Ok(())
    }

    /// The next item as an X.509 `Time` (`UTCTime` or `GeneralizedTime`, in UTC).
    fn time(&mut self) -> Result<SystemTime, &'static str> {
        let (tag, content) = self.read()?;
        let text = std::str::from_utf8(content)
            .ok()
            .filter(|t| t.is_ascii())
            .ok_or("a certificate time is not ASCII")?;
        let full = match (tag, text.len()) {
            // YYMMDDHHMMSSZ: years 50..=99 are 19YY (RFC 5280 section 4.1.2.5.1).
            (tag::UTC_TIME, 13) => {
                let yy: u32 = digits(&text[..2])?;
                let century = if yy >= 50 { "19" } else { "20" };
                format!("{century}{text}")
            }
            (tag::GENERALIZED_TIME, 15) => text.to_owned(),
            _ => return Err("a certificate time is not in RFC 5280 form"),
        };
        if !full.ends_with('Z') {
            return Err("a certificate time is not in UTC");
        }
        let year: i64 = digits(&full[0..4])?;
        let [month, day, hour, minute, second] =
            [4, 6, 8, 10, 12].map(|at| digits::<u32>(&full[at..at + 2]));
        let (month, day, hour, minute, second) = (month?, day?, hour?, minute?, second?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return Err("a certificate time is out of range");
        }
        let seconds = days_from_civil(year, month, day) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second.min(60));
        let since_epoch = Duration::from_secs(seconds.unsigned_abs());
        let time = if seconds >= 0 {
            UNIX_EPOCH.checked_add(since_epoch)
        } else {
            UNIX_EPOCH.checked_sub(since_epoch)
        };
        time.ok_or("a certificate time is out of range")
    }
}

/// Decimal digits only (no sign, no spaces).
fn digits<T: std::str::FromStr>(text: &str) -> Result<T, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a certificate time has a non-digit");
    }
    text.parse()
        .map_err(|_| "a certificate time is out of range")
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Howard Hinnant's algorithm: years start in March, so the leap day is last.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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
    fn civil_days() {
        for (date, days) in [
            ((1970, 1, 1), 0),
            ((1969, 12, 31), -1),
            ((2000, 3, 1), 11_017),
            ((2024, 2, 29), 19_782),
            ((1600, 1, 1), -135_140),
        ] {
            assert_eq!(days_from_civil(date.0, date.1, date.2), days, "{date:?}");
        }
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
