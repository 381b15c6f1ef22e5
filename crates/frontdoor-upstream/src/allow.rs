//! [`AllowedTargets`]: the networks and host names a [`Mapper`](crate::Mapper) may
//! send requests to, checked on the target's host and again on every address a name
//! resolves to.

use std::{fmt, net::IpAddr, str::FromStr, sync::Arc};

use frontdoor_core::proto::parse_host;
use ipnet::IpNet;

use crate::UpstreamConfigError;

/// The targets a [`Mapper`](crate::Mapper) may reach: networks (CIDR) and host names.
///
/// A mapper can send a request anywhere its function says, so a function that builds
/// the target from the request (its `Host`, a path segment, a query parameter) turns
/// the front door into an open proxy: any client could reach the metadata service at
/// `169.254.169.254`, an admin port on `127.0.0.1`, or any host of the internal
/// network (server-side request forgery, SSRF). The allow-list bounds that. **An empty
/// list refuses every target**, and there is no "allow everything" value short of
/// listing `0.0.0.0/0` and `::/0`.
///
/// What is checked, per request:
///
/// * a target whose host is an **IP address** is allowed when a listed network holds
///   it (IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry);
/// * a target whose host is a **listed name** is allowed, whatever it resolves to:
///   the name was vouched for. Entries are exact names (`api.internal`, compared
///   ASCII case-insensitively, a trailing dot ignored) or `*.example.com`, any name
///   below `example.com` (not `example.com` itself);
/// * a target whose host is **another name** is allowed only towards listed networks:
///   the connector resolves it and keeps only the addresses a listed network holds,
///   and connects to those. The check is made on the very addresses it then dials,
///   so a name that resolves into a forbidden network (DNS rebinding: a first answer
///   passing a check, a second one used for the connection) is refused. With no
///   network listed, such a name is refused before any lookup.
///
/// Refusals are logged at `warn` and answered as a [`ProxyError`](crate::ProxyError)
/// of kind [`TargetRefused`](crate::ProxyErrorKind::TargetRefused) (502, not 403: the
/// client asked for a resource of the front door, and a refused target is the front
/// door's configuration failing to reach it; it also tells a probing client nothing
/// a connect failure would not).
///
/// Not checked: what a listed name resolves to, redirects the upstream answers (they
/// go back to the client, which the relocation layer may rewrite but never follows),
/// and HTTP proxies (the mapper never uses one).
///
/// ```
/// use frontdoor_upstream::AllowedTargets;
///
/// let allow = AllowedTargets::parse(["10.0.0.0/8", "127.0.0.1", "*.svc.internal"])?;
/// assert!(allow.allows_host("10.1.2.3"));
/// assert!(allow.allows_host("api.svc.internal"));
/// assert!(!allow.allows_host("169.254.169.254"));
/// // Another name: allowed to resolve, and to connect only into 10/8 or 127.0.0.1.
/// assert!(allow.allows_host("example.com"));
/// assert!(!AllowedTargets::none().allows_host("127.0.0.1"));
/// # Ok::<_, frontdoor_upstream::UpstreamConfigError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AllowedTargets {
    inner: Arc<Lists>,
}

#[derive(Clone, Default, PartialEq, Eq)]
struct Lists {
    networks: Vec<IpNet>,
    /// Exact names, normalised.
    names: Vec<String>,
    /// `*.suffix` entries, stored as `.suffix`.
    suffixes: Vec<String>,
}

/// How a target's host stands against the list, before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostCheck {
    /// Refused.
    Refused,
    /// An IP address in a listed network, or a listed name: connect.
    Allowed,
    /// An unlisted name: connect only to resolved addresses in a listed network.
    ByAddress,
}

impl AllowedTargets {
    /// The empty list: every target is refused.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// A list from entries: a network (`10.0.0.0/8`, `fd00::/8`), an address
    /// (`127.0.0.1`, `::1`: a network of one), a host name (`api.internal`) or a
    /// wildcard below a domain (`*.svc.internal`).
    ///
    /// # Errors
    ///
    /// An [`UpstreamConfigError`] with key `allow`, naming the entry, when an entry is
    /// none of these (`*` alone, a name with a port, a bad CIDR).
    pub fn parse<I>(entries: I) -> Result<Self, UpstreamConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut lists = Lists::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let bad = |what: &str| UpstreamConfigError::new("allow", format!("`{entry}` {what}"));
            if let Ok(net) = entry.parse::<IpNet>() {
                lists.networks.push(canonical_net(net));
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                lists.networks.push(IpNet::from(ip.to_canonical()));
            } else if let Some(domain) = entry.strip_prefix("*.") {
                let name = name(domain).ok_or_else(|| bad("is not `*.` and a host name"))?;
                lists.suffixes.push(format!(".{name}"));
            } else {
                let name = name(entry)
                    .ok_or_else(|| bad("is not a network, an address or a host name"))?;
                lists.names.push(name);
            }
        }
        Ok(Self {
            inner: Arc::new(lists),
        })
    }

    /// Adds a network.
    #[must_use]
    pub fn network(mut self, net: IpNet) -> Self {
        Arc::make_mut(&mut self.inner)
            .networks
            .push(canonical_net(net));
        self
    }

    /// Whether the list is empty (and so refuses everything).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        let l = &self.inner;
        l.networks.is_empty() && l.names.is_empty() && l.suffixes.is_empty()
    }

    /// Whether a target on `host` (a name, an IPv4 address or a bracketed IPv6
    /// address, as in a URL) may be tried. For a name that is not listed, `true` only
    /// says that the addresses it resolves to will be checked at connect time.
    #[must_use]
    pub fn allows_host(&self, host: &str) -> bool {
        self.check_host(host) != HostCheck::Refused
    }

    /// Whether `addr` lies in a listed network.
    #[must_use]
    pub fn allows_address(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.inner.networks.iter().any(|n| n.contains(&addr))
    }

    pub(crate) fn check_host(&self, host: &str) -> HostCheck {
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            return if self.allows_address(ip) {
                HostCheck::Allowed
            } else {
                HostCheck::Refused
            };
        }
        let Some(name) = name(host) else {
            return HostCheck::Refused;
        };
        if self.names_host(&name) {
            HostCheck::Allowed
        } else if self.inner.networks.is_empty() {
            HostCheck::Refused
        } else {
            HostCheck::ByAddress
        }
    }

    /// Whether the connector may dial `addr`, found by resolving `host`.
    pub(crate) fn allows_resolved(&self, host: &str, addr: IpAddr) -> bool {
        name(host).is_some_and(|n| self.names_host(&n)) || self.allows_address(addr)
    }

    fn names_host(&self, name: &str) -> bool {
        let l = &self.inner;
        l.names.iter().any(|n| n == name) || l.suffixes.iter().any(|s| name.ends_with(s.as_str()))
    }
}

impl FromStr for AllowedTargets {
    type Err = UpstreamConfigError;

    /// Comma- or whitespace-separated entries, as [`AllowedTargets::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(
            s.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|e| !e.is_empty()),
        )
    }
}

impl fmt::Debug for AllowedTargets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.inner;
        let suffixes: Vec<String> = l.suffixes.iter().map(|s| format!("*{s}")).collect();
        f.debug_struct("AllowedTargets")
            .field("networks", &l.networks)
            .field("names", &l.names)
            .field("wildcards", &suffixes)
            .finish()
    }
}

/// A host name, normalised (lowercase, no trailing dot), when `text` is one (not an
/// address, no port).
fn name(text: &str) -> Option<String> {
    let hp = parse_host(text).ok()??;
    (hp.port.is_none() && !hp.host.starts_with('[') && hp.host.parse::<IpAddr>().is_err())
        .then(|| hp.host.into_owned())
}

/// An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) as the IPv4 one it carries.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4)
            }
            _ => net,
        },
        IpNet::V4(_) => net,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_against_the_list() {
        let allow =
            AllowedTargets::parse(["10.0.0.0/8", "::1", "api.internal", "*.svc.local"]).unwrap();
        let table = [
            ("10.0.0.1", HostCheck::Allowed),
            ("11.0.0.1", HostCheck::Refused),
            ("[::1]", HostCheck::Allowed),
            ("[::2]", HostCheck::Refused),
            ("[::ffff:10.1.1.1]", HostCheck::Allowed),
            ("[::ffff:127.0.0.1]", HostCheck::Refused),
            ("API.Internal.", HostCheck::Allowed),
            ("a.b.svc.local", HostCheck::Allowed),
            ("svc.local", HostCheck::ByAddress),
            ("evil.example", HostCheck::ByAddress),
            ("bad host", HostCheck::Refused),
        ];
        for (host, want) in table {
            assert_eq!(allow.check_host(host), want, "{host}");
        }
        let names_only = AllowedTargets::parse(["api.internal"]).unwrap();
        assert_eq!(names_only.check_host("other"), HostCheck::Refused);
        assert_eq!(names_only.check_host("127.0.0.1"), HostCheck::Refused);
    }

    #[test]
    fn the_empty_list_refuses_everything() {
        let none = AllowedTargets::none();
        assert!(none.is_empty());
        for host in ["127.0.0.1", "[::1]", "localhost", "example.com"] {
            assert_eq!(none.check_host(host), HostCheck::Refused, "{host}");
        }
        assert!(!none.allows_resolved("localhost", "127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn resolved_addresses_of_unlisted_names_must_be_in_a_network() {
        let allow = AllowedTargets::parse(["10.0.0.0/8", "trusted.example"]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(allow.allows_resolved("any.example", ip("10.9.9.9")));
        assert!(!allow.allows_resolved("any.example", ip("127.0.0.1")));
        assert!(!allow.allows_resolved("any.example", ip("::ffff:127.0.0.1")));
        assert!(allow.allows_resolved("trusted.example", ip("127.0.0.1")));
    }

    #[test]
    fn bad_entries_name_the_key_and_the_entry() {
        for entry in ["*", "*.", "host:80", "10.0.0.0/33", "a b", "[::1]"] {
            let err = AllowedTargets::parse([entry]).unwrap_err();
            assert_eq!(err.key(), "allow", "{entry}");
            assert!(err.message().contains(entry), "{entry}: {}", err.message());
        }
        let parsed: AllowedTargets = "10.0.0.0/8, api.internal *.x.y".parse().unwrap();
        assert_eq!(
            parsed,
            AllowedTargets::parse(["10.0.0.0/8", "api.internal", "*.x.y"]).unwrap()
        );
    }
}
