//! The PROXY protocol header (HAProxy's PROXY protocol, versions 1 and 2): how an L4
//! balancer tells the server behind it the client's real address.
//!
//! A connection from such a balancer starts with one header, before any HTTP:
//!
//! * version 1, text: `PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n` (`TCP6` with
//!   IPv6 addresses; `PROXY UNKNOWN ...\r\n` when the balancer does not know), at
//!   most 107 bytes;
//! * version 2, binary: a 12-byte signature, a version/command byte, an
//!   address-family byte, a 16-bit length, the addresses and optional TLVs (skipped).
//!   The `LOCAL` command (the balancer's own health checks) carries no client.
//!
//! [`parse_proxy_header`] is a pure function over the bytes received so far: it says
//! whether they hold a complete header (and how long it is, so the rest is HTTP), need
//! more bytes, or cannot be a valid header. It never reads past the header.
//!
//! ```
//! use frontdoor_core::proto::{parse_proxy_header, ProxyHeader};
//!
//! let bytes = b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n";
//! let (header, len) = parse_proxy_header(bytes)?.expect("complete");
//! assert_eq!(len, 45);
//! assert_eq!(
//!     header,
//!     ProxyHeader::Proxied {
//!         source: "192.0.2.1:56324".parse()?,
//!         destination: "198.51.100.1:443".parse()?,
//!     }
//! );
//! // A prefix is incomplete, not wrong.
//! assert_eq!(parse_proxy_header(&bytes[..20])?, None);
//! // Anything that does not start like a header is refused at once.
//! assert!(parse_proxy_header(b"GET / HTTP/1.1\r\n").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

/// The version 2 signature: the first 12 bytes of every version 2 header.
pub const PROXY_V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 header, `\r\n` included (the specification's limit).
pub const PROXY_V1_MAX_LEN: usize = 107;

/// The longest version 2 header accepted, TLVs included: the addresses of every
/// family fit with room for the TLVs balancers add (a VPC endpoint id, a TLS
/// summary); anything longer is refused rather than buffered.
pub const PROXY_V2_MAX_LEN: usize = 16 + 2048;

/// What a complete PROXY header says about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeader {
    /// The balancer relays a client: the client's address and the address it
    /// connected to.
    Proxied {
        /// The client's address.
        source: SocketAddr,
        /// The address the client connected to (the balancer's).
        destination: SocketAddr,
    },
    /// No client address: a version 2 `LOCAL` command (the balancer's own connection,
    /// a health check), `PROXY UNKNOWN`, or an address family other than IPv4/IPv6.
    /// The connection's own addresses stand.
    Local,
}

/// Why bytes are not a PROXY header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyHeaderError(&'static str);

impl ProxyHeaderError {
    /// What is wrong, in a few lowercase words.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for ProxyHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid PROXY protocol header: {}", self.0)
    }
}

impl std::error::Error for ProxyHeaderError {}

/// Parses the PROXY header at the start of `buf` (the bytes received so far).
///
/// * `Ok(Some((header, len)))`: a complete header of `len` bytes; what follows is
///   the connection's payload;
/// * `Ok(None)`: `buf` is a proper prefix of a header: read more;
/// * `Err(_)`: `buf` does not start with a valid header (no signature, a bad field,
///   or longer than [`PROXY_V1_MAX_LEN`] / [`PROXY_V2_MAX_LEN`]).
///
/// # Errors
///
/// See above.
pub fn parse_proxy_header(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyHeaderError> {
    const V1: &[u8] = b"PROXY ";
    let prefix_of = |sig: &[u8]| buf.len() < sig.len() && sig.starts_with(buf);
    if buf.starts_with(&PROXY_V2_SIGNATURE) {
        v2(buf)
    } else if buf.starts_with(V1) {
        v1(buf)
    } else if prefix_of(&PROXY_V2_SIGNATURE) || prefix_of(V1) {
        Ok(None)
    } else {
        Err(ProxyHeaderError("no PROXY protocol signature"))
    }
}

// === version 1 ===

fn v1(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyHeaderError> {
    let window = &buf[..buf.len().min(PROXY_V1_MAX_LEN)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        return if buf.len() >= PROXY_V1_MAX_LEN {
            Err(ProxyHeaderError("version 1 header longer than 107 bytes"))
        } else {
            Ok(None)
        };
    };
    match buf.get(cr + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(ProxyHeaderError("version 1 header not ended by CRLF")),
    }
    let line = std::str::from_utf8(&buf[6..cr])
        .map_err(|_| ProxyHeaderError("version 1 header is not ASCII"))?;
    Ok(Some((v1_fields(line)?, cr + 2)))
}

/// The fields after `PROXY `: `TCP4|TCP6 src dst sport dport`, or `UNKNOWN ...`.
fn v1_fields(line: &str) -> Result<ProxyHeader, ProxyHeaderError> {
    if line == "UNKNOWN" || line.starts_with("UNKNOWN ") {
        return Ok(ProxyHeader::Local);
    }
    let mut fields = line.split(' ');
    let mut next = || {
        fields
            .next()
            .filter(|f| !f.is_empty())
            .ok_or(ProxyHeaderError("version 1 header has too few fields"))
    };
    let family = next()?;
    let (src, dst, sport, dport) = (next()?, next()?, next()?, next()?);
    if fields.next().is_some() {
        return Err(ProxyHeaderError("version 1 header has too many fields"));
    }
    let ip = |text: &str| -> Result<IpAddr, ProxyHeaderError> {
        match family {
            "TCP4" => text.parse::<Ipv4Addr>().map(IpAddr::V4),
            "TCP6" => text.parse::<Ipv6Addr>().map(IpAddr::V6),
            _ => {
                return Err(ProxyHeaderError(
                    "version 1 family is not TCP4, TCP6 or UNKNOWN",
                ))
            }
        }
        .map_err(|_| ProxyHeaderError("version 1 address is not an address of its family"))
    };
    Ok(ProxyHeader::Proxied {
        source: SocketAddr::new(ip(src)?, v1_port(sport)?),
        destination: SocketAddr::new(ip(dst)?, v1_port(dport)?),
    })
}

/// A decimal port: 1 to 5 digits, no sign, no leading zero (except `0` itself).
fn v1_port(text: &str) -> Result<u16, ProxyHeaderError> {
    let bad = ProxyHeaderError("version 1 port is not a number in 0..=65535");
    let digits = text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return Err(bad);
    }
    text.parse().map_err(|_| bad)
}

// === version 2 ===

fn v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyHeaderError> {
    let Some(fixed) = buf.get(..16) else {
        return Ok(None);
    };
    let (version, command) = (fixed[12] >> 4, fixed[12] & 0x0f);
    if version != 2 {
        return Err(ProxyHeaderError("version 2 signature with another version"));
    }
    let len = 16 + usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    if len > PROXY_V2_MAX_LEN {
        return Err(ProxyHeaderError("version 2 header longer than accepted"));
    }
    let Some(body) = buf.get(16..len) else {
        return Ok(None);
    };
    let header = match command {
        0 => ProxyHeader::Local,
        1 => v2_addresses(fixed[13], body)?,
        _ => return Err(ProxyHeaderError("version 2 command is not LOCAL or PROXY")),
    };
    Ok(Some((header, len)))
}

/// The addresses of a version 2 `PROXY` command, by family (`fam` byte).
fn v2_addresses(fam: u8, body: &[u8]) -> Result<ProxyHeader, ProxyHeaderError> {
    let short = ProxyHeaderError("version 2 addresses shorter than their family needs");
    let port = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    match fam >> 4 {
        // AF_INET
        1 => {
            let a = body.get(..12).ok_or(short)?;
            let ip = |b: &[u8]| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
            Ok(ProxyHeader::Proxied {
                source: SocketAddr::new(ip(&a[0..4]), port(&a[8..10])),
                destination: SocketAddr::new(ip(&a[4..8]), port(&a[10..12])),
            })
        }
        // AF_INET6
        2 => {
            let a = body.get(..36).ok_or(short)?;
            let ip = |b: &[u8]| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(b);
                IpAddr::V6(Ipv6Addr::from(octets))
            };
            Ok(ProxyHeader::Proxied {
                source: SocketAddr::new(ip(&a[0..16]), port(&a[32..34])),
                destination: SocketAddr::new(ip(&a[16..32]), port(&a[34..36])),
            })
        }
        // AF_UNSPEC, AF_UNIX: nothing an IP connection can use.
        0 | 3 => Ok(ProxyHeader::Local),
        _ => Err(ProxyHeaderError("version 2 address family is unknown")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn v2_bytes(command: u8, fam: u8, addrs: &[u8], tlvs: &[u8]) -> Vec<u8> {
        let mut out = PROXY_V2_SIGNATURE.to_vec();
        out.push(0x20 | command);
        out.push(fam);
        let len = u16::try_from(addrs.len() + tlvs.len()).unwrap();
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(addrs);
        out.extend_from_slice(tlvs);
        out
    }

    fn encode_v2(source: SocketAddr, destination: SocketAddr, tlvs: &[u8]) -> Vec<u8> {
        let mut addrs = Vec::new();
        let fam = match (source.ip(), destination.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                addrs.extend_from_slice(&s.octets());
                addrs.extend_from_slice(&d.octets());
                0x11
            }
            (s, d) => {
                let v6 = |ip: IpAddr| match ip {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    IpAddr::V6(v6) => v6,
                };
                addrs.extend_from_slice(&v6(s).octets());
                addrs.extend_from_slice(&v6(d).octets());
                0x21
            }
        };
        addrs.extend_from_slice(&source.port().to_be_bytes());
        addrs.extend_from_slice(&destination.port().to_be_bytes());
        v2_bytes(1, fam, &addrs, tlvs)
    }

    #[test]
    fn version_1_vectors() {
        let ok = |text: &str, src: &str, dst: &str| {
            let (h, len) = parse_proxy_header(text.as_bytes()).unwrap().unwrap();
            assert_eq!(len, text.len(), "{text:?}");
            assert_eq!(
                h,
                ProxyHeader::Proxied {
                    source: src.parse().unwrap(),
                    destination: dst.parse().unwrap()
                },
                "{text:?}"
            );
        };
        ok(
            "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n",
            "192.0.2.1:56324",
            "198.51.100.1:443",
        );
        ok(
            "PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n",
            "[2001:db8::1]:0",
            "[2001:db8::2]:65535",
        );
        for unknown in ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:: ffff:: 1 2\r\n"] {
            assert_eq!(
                parse_proxy_header(unknown.as_bytes()).unwrap(),
                Some((ProxyHeader::Local, unknown.len()))
            );
        }
        let bad = [
            "PROXY TCP4 192.0.2.1 198.51.100.1 56324\r\n",
            "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443 9\r\n",
            "PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n",
            "PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",
            "PROXY TCP5 192.0.2.1 198.51.100.1 1 2\r\n",
            "PROXY TCP4 192.0.2.1 198.51.100.1 65536 2\r\n",
            "PROXY TCP4 192.0.2.1 198.51.100.1 01 2\r\n",
            "PROXY TCP4 192.0.2.1 198.51.100.1 +1 2\r\n",
            "PROXY TCP4  192.0.2.1 198.51.100.1 1 2\r\n",
            "PROXY TCP4 192.0.2.1 198.51.100.1 1 2\rX",
            "GET / HTTP/1.1\r\n",
            "proxy TCP4 192.0.2.1 198.51.100.1 1 2\r\n",
        ];
        for text in bad {
            assert!(parse_proxy_header(text.as_bytes()).is_err(), "{text:?}");
        }
        let long = format!("PROXY UNKNOWN {}\r\n", "x".repeat(100));
        assert!(parse_proxy_header(long.as_bytes()).is_err());
    }

    #[test]
    fn version_2_vectors() {
        let v4 = encode_v2(
            "192.0.2.1:56324".parse().unwrap(),
            "198.51.100.1:443".parse().unwrap(),
            &[],
        );
        assert_eq!(v4.len(), 28);
        let (h, len) = parse_proxy_header(&v4).unwrap().unwrap();
        assert_eq!(len, 28);
        assert!(matches!(h, ProxyHeader::Proxied { source, .. } if source.port() == 56324));

        // LOCAL (a health check), with and without addresses.
        let local = v2_bytes(0, 0x00, &[], &[]);
        assert_eq!(
            parse_proxy_header(&local).unwrap(),
            Some((ProxyHeader::Local, 16))
        );
        let local = v2_bytes(0, 0x11, &[0; 12], &[]);
        assert_eq!(
            parse_proxy_header(&local).unwrap(),
            Some((ProxyHeader::Local, 28))
        );
        // AF_UNIX: no IP client.
        let unix = v2_bytes(1, 0x31, &[0; 216], &[]);
        assert_eq!(
            parse_proxy_header(&unix).unwrap(),
            Some((ProxyHeader::Local, 232))
        );
        let bad = [
            v2_bytes(1, 0x11, &[0; 11], &[]), // short addresses
            v2_bytes(1, 0x21, &[0; 35], &[]), // short addresses
            v2_bytes(2, 0x11, &[0; 12], &[]), // unknown command
            v2_bytes(1, 0x41, &[0; 12], &[]), // unknown family
            {
                let mut v = v2_bytes(1, 0x11, &[0; 12], &[]);
                v[12] = 0x11; // version 1 in a version 2 header
                v
            },
        ];
        for bytes in bad {
            assert!(parse_proxy_header(&bytes).is_err(), "{bytes:?}");
        }
        let mut huge = PROXY_V2_SIGNATURE.to_vec();
        huge.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert!(parse_proxy_header(&huge).is_err());
    }

    fn socket_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
        ]
    }

    fn family_pair() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
        (socket_addr(), socket_addr())
            .prop_filter("one family", |(s, d)| s.is_ipv4() == d.is_ipv4())
    }

    fn encode_v1(source: SocketAddr, destination: SocketAddr) -> String {
        let family = if source.is_ipv4() { "TCP4" } else { "TCP6" };
        format!(
            "PROXY {family} {} {} {} {}\r\n",
            source.ip(),
            destination.ip(),
            source.port(),
            destination.port()
        )
    }

    proptest! {
        #[test]
        fn version_1_round_trips_and_every_prefix_is_incomplete(
            (source, destination) in family_pair(),
            rest in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let text = encode_v1(source, destination);
            let mut bytes = text.clone().into_bytes();
            bytes.extend_from_slice(&rest);
            let want = ProxyHeader::Proxied { source, destination };
            prop_assert_eq!(parse_proxy_header(&bytes), Ok(Some((want, text.len()))));
            for cut in 0..text.len() {
                prop_assert_eq!(parse_proxy_header(&bytes[..cut]), Ok(None));
            }
        }

        #[test]
        fn version_2_round_trips_and_every_prefix_is_incomplete(
            (source, destination) in family_pair(),
            tlvs in proptest::collection::vec(any::<u8>(), 0..64),
            rest in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let header = encode_v2(source, destination, &tlvs);
            let mut bytes = header.clone();
            bytes.extend_from_slice(&rest);
            let want = ProxyHeader::Proxied { source, destination };
            prop_assert_eq!(parse_proxy_header(&bytes), Ok(Some((want, header.len()))));
            for cut in 0..header.len() {
                prop_assert_eq!(parse_proxy_header(&bytes[..cut]), Ok(None));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_lengths_stay_in_bounds(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            v2_start in any::<bool>(),
        ) {
            let mut input = if v2_start { PROXY_V2_SIGNATURE.to_vec() } else { b"PROXY ".to_vec() };
            input.extend_from_slice(&bytes);
            for buf in [&bytes[..], &input[..]] {
                if let Ok(Some((_, len))) = parse_proxy_header(buf) {
                    prop_assert!(len <= buf.len());
                    prop_assert!(len <= PROXY_V2_MAX_LEN);
                }
            }
        }
    }
}
