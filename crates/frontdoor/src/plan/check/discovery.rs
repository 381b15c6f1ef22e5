//! `discovery = { dns, refresh }` of a target and `[resolve] dns_servers`, checked
//! into [`DiscoverySettings`] and name server addresses, every error naming its key.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use super::values;
use crate::plan::{
    checked::{DiscoverySettings, DnsRecords, UpstreamAddr},
    description::Discovery,
    error::Errors,
};

/// The default `refresh`.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(10);

/// The settings of the target at `path` whose upstreams are `upstreams`, or `None`
/// with the errors recorded.
pub(super) fn discovery(
    path: &str,
    raw: &Discovery,
    upstreams: &[UpstreamAddr],
    errors: &mut Errors,
) -> Option<DiscoverySettings> {
    let before = errors.count();
    let key = |k: &str| format!("{path}.discovery.{k}");
    let dns = match raw.dns.as_deref() {
        None | Some("a") => DnsRecords::Address,
        Some("srv") => DnsRecords::Srv,
        Some(other) => {
            errors.push(
                key("dns"),
                format!("expected \"a\" or \"srv\", got {other:?}"),
            );
            DnsRecords::Address
        }
    };
    let refresh = raw.refresh.as_deref().map_or(Some(DEFAULT_REFRESH), |r| {
        errors.check(&key("refresh"), values::duration(r))
    });
    for addr in upstreams {
        if let Err(message) = name_of(addr, dns) {
            errors.push(format!("{path}.discovery"), message);
        }
    }
    let refresh = refresh?;
    (errors.count() == before).then_some(DiscoverySettings { dns, refresh })
}

/// An upstream discovery can resolve: a URL whose host is a name (without a port for
/// SRV, whose records give the ports).
fn name_of(addr: &UpstreamAddr, dns: DnsRecords) -> Result<(), String> {
    let UpstreamAddr::Url(uri) = addr else {
        return Err(format!("{addr} has no name to look up"));
    };
    let host = uri.host().unwrap_or_default();
    if host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
    {
        return Err(format!(
            "upstream {uri} has an IP address, not a name to look up"
        ));
    }
    if dns == DnsRecords::Srv && uri.port().is_some() {
        return Err(format!(
            "with dns = \"srv\" the ports come from the SRV records: write upstream {uri} without a port"
        ));
    }
    Ok(())
}

/// `[resolve] dns_servers`: `ip:port` (a bare IP is port 53).
pub(super) fn dns_servers(raw: &[String], errors: &mut Errors) -> Vec<SocketAddr> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let parsed = text
                .parse::<SocketAddr>()
                .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)));
            parsed
                .map_err(|_| {
                    errors.push(
                        format!("resolve.dns_servers[{i}]"),
                        format!("expected an ip:port address, got {text:?}"),
                    );
                })
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::plan::{checked::DnsRecords, Description, Discovery, Route};

    use super::super::key_errors as errors;

    #[test]
    fn errors_name_their_keys() {
        let text = r#"
[resolve]
dns_servers = ["127.0.0.1:5353", "dns.example"]

[[route]]
spec = "::/a"
upstream = ["http://10.0.0.1:80", "builtin:echo"]
discovery = { dns = "aaaa", refresh = "often" }

[[route]]
spec = "::/b"
upstream = "http://web.test:8080"
discovery = { dns = "srv" }
"#;
        assert_eq!(
            errors(text),
            [
                "resolve.dns_servers[1]: expected an ip:port address, got \"dns.example\"",
                "route[0].discovery.dns: expected \"a\" or \"srv\", got \"aaaa\"",
                "route[0].discovery.refresh: not a duration \"often\" (expected number at 0); write e.g. \"2s\" or \"500ms\"",
                "route[0].discovery: upstream http://10.0.0.1:80/ has an IP address, not a name to look up",
                "route[0].discovery: builtin:echo has no name to look up",
                "route[1].discovery: with dns = \"srv\" the ports come from the SRV records: write upstream http://web.test:8080/ without a port",
            ]
        );
    }

    #[test]
    fn defaults_and_given_values() {
        let text = r#"
[resolve]
dns_servers = ["127.0.0.1:5353", "::1"]

[[route]]
spec = "::/"
upstream = "http://_http._tcp.api.shop.svc.cluster.local"
discovery = { dns = "srv", refresh = "30s" }

[default]
upstream = "https://api.internal:8443"
discovery = {}
"#;
        let checked = Description::from_toml(text).unwrap().check().unwrap();
        assert_eq!(
            checked.resolve.dns_servers,
            [
                "127.0.0.1:5353".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        let route = checked.routes[0].target.discovery.unwrap();
        assert_eq!(
            (route.dns, route.refresh),
            (DnsRecords::Srv, std::time::Duration::from_secs(30))
        );
        let default = checked.default.as_ref().unwrap().discovery.unwrap();
        assert_eq!(
            (default.dns, default.refresh),
            (DnsRecords::Address, super::DEFAULT_REFRESH)
        );
        let code = Description::new()
            .route(
                Route::new("::/", "http://_http._tcp.api.shop.svc.cluster.local")
                    .discovery(Discovery::new("srv", "30s")),
            )
            .check()
            .unwrap();
        assert_eq!(code.routes[0].target, checked.routes[0].target);
    }
}
