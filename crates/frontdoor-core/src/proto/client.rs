//! How per-client limits group client addresses ([`ClientKey`]).

use std::net::IpAddr;

/// The unit a client address is counted in by per-client limits (the server's
/// per-address connection limit, a rate limit per client): IPv4 clients per address,
/// IPv6 clients per /64 (one host usually owns a whole /64, so counting per address
/// would give it 2^64 allowances); IPv4-mapped IPv6 addresses count as IPv4.
///
/// ```
/// use frontdoor_core::proto::ClientKey;
///
/// let key = |ip: &str| ClientKey::of(ip.parse().unwrap());
/// assert_eq!(key("192.0.2.1"), key("::ffff:192.0.2.1"));
/// assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
/// assert_eq!(key("2001:db8:0:1::1"), key("2001:db8:0:1:ffff::2"));
/// assert_ne!(key("2001:db8:0:1::1"), key("2001:db8:0:2::1"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address.
    V4(u32),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
}

impl ClientKey {
    /// The key `ip` is counted under.
    #[must_use]
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(u32::from(v4)),
                None => Self::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}
