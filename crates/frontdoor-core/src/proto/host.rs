//! Host normalisation: the one place where `Host`-like text becomes a typed host,
//! and the scheme's default port.

use std::{borrow::Cow, fmt, net::Ipv6Addr};

use http::uri::Scheme;

/// The longest host (without port) accepted, in bytes. DNS names stop at 253.
pub const MAX_HOST_LEN: usize = 255;

/// A normalised host with its optional explicit port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort<'a> {
    /// ASCII lowercase, one trailing dot dropped, IPv6 in brackets (in `Ipv6Addr`
    /// display form).
    pub host: Cow<'a, str>,
    /// The explicit port, if the text had a non-empty one.
    pub port: Option<u16>,
}

/// Why a host could not be normalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// A character outside the accepted host grammar.
    BadChar,
    /// An empty label (`a..b`, `.a`) or an empty host before a port.
    EmptyLabel,
    /// Longer than 255 bytes.
    TooLong,
    /// `[` without a valid IPv6 address and `]`.
    BadIpv6,
    /// A port that is not 1 to 5 digits fitting in `u16`.
    BadPort,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadChar => "invalid character in host",
            Self::EmptyLabel => "empty label in host",
            Self::TooLong => "host is too long",
            Self::BadIpv6 => "invalid ipv6 literal in host",
            Self::BadPort => "invalid port in host",
        })
    }
}

impl std::error::Error for HostError {}

/// Parses and normalises `host[:port]` as found in `Host`, an absolute-form authority
/// (userinfo already removed), `Forwarded: host=` or `X-Forwarded-Host`.
///
/// Returns `Ok(None)` for an empty string (an empty Host is treated as missing, S13).
///
/// The accepted grammar is the DNS-safe subset of RFC 3986 `host`: a reg-name or
/// IPv4 address made of ASCII letters, digits, `-`, `.`, `_` and `~` with no empty
/// label, or an IPv6 literal in brackets. Percent-encoding, sub-delims (including
/// `,`), whitespace and a `:` outside brackets are refused. The port, when present,
/// is 1 to 5 digits; an empty port (`host:`) means "no explicit port" (RFC 3986).
///
/// ```
/// use frontdoor_core::proto::parse_host;
///
/// let hp = parse_host("Example.COM.:8080")?.unwrap();
/// assert_eq!((&*hp.host, hp.port), ("example.com", Some(8080)));
/// assert!(parse_host("evil.com/x").is_err());
/// assert!(parse_host("")?.is_none());
/// # Ok::<(), frontdoor_core::proto::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError`] naming what is wrong with the text.
pub fn parse_host(text: &str) -> Result<Option<HostPort<'_>>, HostError> {
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or(HostError::BadIpv6)?;
        let addr: Ipv6Addr = inner.parse().map_err(|_| HostError::BadIpv6)?;
        let port = match after {
            "" => None,
            _ => parse_port(after.strip_prefix(':').ok_or(HostError::BadIpv6)?)?,
        };
        return Ok(Some(HostPort {
            host: Cow::Owned(format!("[{addr}]")),
            port,
        }));
    }
    let (name, port) = match text.split_once(':') {
        Some((name, port)) => (name, parse_port(port)?),
        None => (text, None),
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() > MAX_HOST_LEN {
        return Err(HostError::TooLong);
    }
    let mut prev_dot = true;
    let mut upper = false;
    for b in name.bytes() {
        match b {
            b'.' if prev_dot => return Err(HostError::EmptyLabel),
            b'.' => prev_dot = true,
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => prev_dot = false,
            b'A'..=b'Z' => {
                upper = true;
                prev_dot = false;
            }
            _ => return Err(HostError::BadChar),
        }
    }
    if prev_dot {
        // Empty name, or a name that still ends with a dot after dropping one.
        return Err(HostError::EmptyLabel);
    }
    let host = if upper {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    Ok(Some(HostPort { host, port }))
}

/// The default port of `scheme`: 443 for https, else 80.
#[must_use]
pub fn default_port(scheme: &Scheme) -> u16 {
    if *scheme == Scheme::HTTPS {
        443
    } else {
        80
    }
}

/// Parses a port: empty is "none", otherwise 1 to 5 ASCII digits that fit in `u16`.
fn parse_port(text: &str) -> Result<Option<u16>, HostError> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostError::BadPort);
    }
    text.parse().map(Some).map_err(|_| HostError::BadPort)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ok(s: &str) -> (String, Option<u16>) {
        let hp = parse_host(s).unwrap().unwrap();
        (hp.host.into_owned(), hp.port)
    }

    #[test]
    fn normalises() {
        let table: &[(&str, &str, Option<u16>)] = &[
            ("example.com", "example.com", None),
            ("Example.COM", "example.com", None),
            ("example.com.", "example.com", None),
            ("EXAMPLE.com.:8080", "example.com", Some(8080)),
            ("example.com:", "example.com", None),
            ("127.0.0.1:80", "127.0.0.1", Some(80)),
            ("[::1]", "[::1]", None),
            ("[::1]:8080", "[::1]", Some(8080)),
            ("[0:0:0:0:0:0:0:1]", "[::1]", None),
            ("[2001:DB8::1]:443", "[2001:db8::1]", Some(443)),
            ("my_host-1~x", "my_host-1~x", None),
            ("h:0", "h", Some(0)),
            ("h:65535", "h", Some(65535)),
        ];
        for (input, host, port) in table {
            assert_eq!(ok(input), ((*host).to_owned(), *port), "{input:?}");
        }
        assert_eq!(parse_host(""), Ok(None));
        assert!(matches!(
            parse_host("example.com").unwrap().unwrap().host,
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn rejects() {
        let table: &[(&str, HostError)] = &[
            ("a.com, b.com", HostError::BadChar),
            ("a b", HostError::BadChar),
            ("evil.com/x", HostError::BadChar),
            ("user@h", HostError::BadChar),
            ("h%41", HostError::BadChar),
            ("*.example.com", HostError::BadChar),
            ("a:b:c", HostError::BadPort),
            ("::1", HostError::BadPort),
            ("h:65536", HostError::BadPort),
            ("h:123456", HostError::BadPort),
            ("h:-1", HostError::BadPort),
            ("h:+1", HostError::BadPort),
            (":80", HostError::EmptyLabel),
            (".", HostError::EmptyLabel),
            ("a..b", HostError::EmptyLabel),
            ("example.com..", HostError::EmptyLabel),
            (".a", HostError::EmptyLabel),
            ("[::1", HostError::BadIpv6),
            ("[::1]x", HostError::BadIpv6),
            ("[1.2.3.4]", HostError::BadIpv6),
            ("[v1.x]", HostError::BadIpv6),
            ("[::1]:x", HostError::BadPort),
            ("h\u{e9}", HostError::BadChar),
        ];
        for (input, err) in table {
            assert_eq!(parse_host(input), Err(*err), "{input:?}");
        }
        assert_eq!(parse_host(&"a".repeat(256)), Err(HostError::TooLong));
        assert!(parse_host(&"a".repeat(255)).is_ok());
    }

    proptest! {
        #[test]
        fn never_panics_and_output_is_clean(s in "\\PC{0,40}") {
            if let Ok(Some(hp)) = parse_host(&s) {
                prop_assert!(!hp.host.is_empty());
                prop_assert!(!hp.host.bytes().any(|b| b.is_ascii_uppercase() || b == b','));
                prop_assert!(!hp.host.ends_with('.'));
                // Normalisation is idempotent.
                let again = parse_host(&hp.host).unwrap().unwrap();
                prop_assert_eq!(again.host, hp.host.clone());
            }
        }
    }
}
