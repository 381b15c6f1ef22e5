//! The by-scheme combinator: labels the request's port through a [`Schemes`] table.

use std::{net::SocketAddr, sync::Arc};

use frontdoor_core::{ConnInfo, Error, Schemes};
use http::request::Parts;

use crate::resolver::{Resolution, Resolver, WarnOnce};

/// Which port [`ByScheme`] labels when neither a listener label nor TLS decides (see
/// [`ByScheme`] for the whole order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LabelFrom {
    /// The resolved port: the explicit port of `Host` (or of a trusted forwarded
    /// host), else the scheme's default. WFront's behaviour; the client chooses it.
    #[default]
    Host,
    /// The local port of the connection ([`ConnInfo::local`]): the socket the request
    /// arrived on, which the client cannot choose. A socket port without a label is
    /// labelled with its number, so that no label spec matches it. A request without
    /// [`ConnInfo`] falls back to [`LabelFrom::Host`] (and a warning is logged once
    /// per process).
    Socket,
}

/// Wraps a resolver and sets [`Resolved::label`](frontdoor_core::Resolved::label) from
/// a [`Schemes`] table (WFront's `by_scheme`), so that `Display` shows
/// `host:http:/path`, regex specs see the label, and a router compiled with the same
/// table matches label specs (`host:http:/`) on it.
///
/// One order decides the label:
///
/// 1. the **listener's label**, where one is set for the connection's local address
///    ([`ByScheme::listener`]; needs [`ConnInfo`]);
/// 2. else **`https` on a TLS connection** ([`ConnInfo::tls`]), when the table has an
///    `https` label;
/// 3. else the label of **the port** in the table: by default the resolved port, the
///    one in `Host` ([`LabelFrom::Host`]); with [`LabelFrom::Socket`], the local
///    socket's port.
///
/// With listener labels or [`LabelFrom::Socket`], a request to the public socket
/// cannot reach an admin route by naming the admin port in `Host`, and a request to
/// the admin socket reaches it with any `Host`.
///
/// This is the behaviour WFront 0.4 documented but did not implement (its
/// `by_scheme` computed the label and threw it away, defect W1). The numeric
/// [`Resolved::port`](frontdoor_core::Resolved::port) is kept, so numeric route specs
/// keep matching the port the client asked for. Ports without a label are left
/// unlabelled in the default mode (`Display` shows the number). When two labels claim
/// a port, the first label in name order wins, as [`Schemes::label_of`].
///
/// The port-to-label map is built once here; labelling a request clones an
/// `Arc<str>` and does not allocate (except for an unlabelled socket port).
///
/// ```
/// use frontdoor_core::{ConnInfo, Schemes};
/// use frontdoor_resolve::{ByScheme, DirectResolver, Resolver};
/// use http::Request;
///
/// let schemes = Schemes::new().with("http", [80, 8000, 8001]);
/// let resolver = ByScheme::new(DirectResolver::new(), schemes);
/// let (parts, ()) = Request::get("/x").header("host", "h:8000").body(())?.into_parts();
/// let resolved = resolver.resolve(&parts)?.resolved;
/// assert_eq!(resolved.to_string(), "h:http:/x");
/// assert_eq!(resolved.port, 8000);
/// let (parts, ()) = Request::get("/x").header("host", "h:9000").body(())?.into_parts();
/// assert_eq!(resolver.resolve(&parts)?.resolved.to_string(), "h:9000:/x");
///
/// // An admin listener: its label wins over the port in Host.
/// let resolver = resolver.listener("127.0.0.1:9443".parse()?, "admin");
/// let mut req = Request::get("/x").header("host", "h").body(())?;
/// req.extensions_mut().insert(ConnInfo::new("127.0.0.1:9443".parse()?, "127.0.0.1:5000".parse()?));
/// let (parts, ()) = req.into_parts();
/// assert_eq!(resolver.resolve(&parts)?.resolved.to_string(), "h:admin:/x");
/// assert_eq!(resolver.schemes().ports("admin"), Some(&[][..])); // declared, no ports
/// # Ok::<(), frontdoor_core::BoxError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ByScheme<R> {
    inner: R,
    schemes: Schemes,
    /// Sorted by port, one entry per labelled port.
    by_port: Arc<[(u16, Arc<str>)]>,
    /// Listener labels, in the order they were set.
    listeners: Arc<[(SocketAddr, Arc<str>)]>,
    /// The `https` label, when the table has one.
    https: Option<Arc<str>>,
    from: LabelFrom,
}

/// Warned once per process: [`LabelFrom::Socket`] without [`ConnInfo`].
static SOCKET_WITHOUT_CONN_INFO: WarnOnce = WarnOnce::new(
    "by-scheme labels taken from the Host port: the request carries no ConnInfo, so its \
     socket is unknown. Serve with frontdoor::serve, or wrap the service in \
     frontdoor::axum::conn_info for axum::serve. Logged once per process.",
);

impl<R> ByScheme<R> {
    /// Labels `inner`'s verdicts through `schemes`, by the port in `Host`
    /// ([`LabelFrom::Host`]), with no listener labels.
    #[must_use]
    pub fn new(inner: R, schemes: Schemes) -> Self {
        let mut this = Self {
            inner,
            schemes,
            by_port: Arc::new([]),
            listeners: Arc::new([]),
            https: None,
            from: LabelFrom::Host,
        };
        this.index();
        this
    }

    /// Builds the port-to-label map and finds the `https` label.
    fn index(&mut self) {
        let mut by_port: Vec<(u16, Arc<str>)> = Vec::new();
        for (label, ports) in self.schemes.iter() {
            let label: Arc<str> = label.into();
            for &port in ports {
                if !by_port.iter().any(|(p, _)| *p == port) {
                    by_port.push((port, Arc::clone(&label)));
                }
            }
        }
        by_port.sort_unstable_by_key(|(p, _)| *p);
        self.by_port = by_port.into();
        self.https = self.schemes.ports("https").map(|_| Arc::from("https"));
    }

    /// Labels requests that arrive on `addr` with `label` (lowercased), before
    /// anything else is considered. An unspecified address (`0.0.0.0:8443`,
    /// `[::]:8443`) covers every local address with that port; an exact address wins
    /// over it. A label the table does not have is declared in it with no ports, so
    /// only this listener reaches its routes. Setting an address again replaces its
    /// label.
    #[must_use]
    pub fn listener(mut self, addr: SocketAddr, label: &str) -> Self {
        let label = label.to_ascii_lowercase();
        if self.schemes.ports(&label).is_none() {
            self.schemes = self.schemes.with(&label, []);
        }
        let mut listeners: Vec<(SocketAddr, Arc<str>)> = self
            .listeners
            .iter()
            .filter(|(a, _)| *a != addr)
            .cloned()
            .collect();
        listeners.push((addr, label.into()));
        self.listeners = listeners.into();
        self.index();
        self
    }

    /// Which port is labelled when no listener label or TLS decides. Default:
    /// [`LabelFrom::Host`].
    #[must_use]
    pub const fn label_from(mut self, from: LabelFrom) -> Self {
        self.from = from;
        self
    }

    /// The label of `port`, if any (the same answer as [`Schemes::label_of`]).
    #[must_use]
    pub fn label_of(&self, port: u16) -> Option<&Arc<str>> {
        self.by_port
            .binary_search_by_key(&port, |(p, _)| *p)
            .ok()
            .and_then(|i| self.by_port.get(i))
            .map(|(_, label)| label)
    }

    /// The label set for the listener on `local`, if any.
    #[must_use]
    pub fn listener_label(&self, local: SocketAddr) -> Option<&Arc<str>> {
        let exact = self.listeners.iter().find(|(a, _)| *a == local);
        exact
            .or_else(|| {
                self.listeners
                    .iter()
                    .find(|(a, _)| a.ip().is_unspecified() && a.port() == local.port())
            })
            .map(|(_, label)| label)
    }

    /// The scheme table, for handing the same one to the router (listener labels
    /// included).
    #[must_use]
    pub const fn schemes(&self) -> &Schemes {
        &self.schemes
    }

    /// The wrapped resolver.
    #[must_use]
    pub const fn inner(&self) -> &R {
        &self.inner
    }

    /// The label of a request resolved to `port`, in the documented order.
    fn label(&self, parts: &Parts, port: u16) -> Option<Arc<str>> {
        let conn = parts.extensions.get::<ConnInfo>();
        if let Some(conn) = conn {
            if let Some(label) = self.listener_label(conn.local) {
                return Some(Arc::clone(label));
            }
            if conn.tls {
                if let Some(https) = &self.https {
                    return Some(Arc::clone(https));
                }
            }
        }
        match (self.from, conn) {
            (LabelFrom::Host, _) => self.label_of(port).cloned(),
            (LabelFrom::Socket, Some(conn)) => {
                let port = conn.local.port();
                Some(
                    self.label_of(port)
                        .cloned()
                        .unwrap_or_else(|| port.to_string().into()),
                )
            }
            (LabelFrom::Socket, None) => {
                SOCKET_WITHOUT_CONN_INFO.warn();
                self.label_of(port).cloned()
            }
        }
    }
}

impl<R: Resolver> Resolver for ByScheme<R> {
    fn resolve(&self, parts: &Parts) -> Result<Resolution, Error> {
        let mut res = self.inner.resolve(parts)?;
        if let Some(label) = self.label(parts, res.resolved.port) {
            res.resolved.label = Some(label);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;
    use crate::DirectResolver;

    /// The label of a request with `host`, on the connection `conn` (if any).
    fn label(resolver: &ByScheme<DirectResolver>, host: &str, conn: Option<ConnInfo>) -> String {
        let mut req = Request::get("/").header("host", host).body(()).unwrap();
        if let Some(conn) = conn {
            req.extensions_mut().insert(conn);
        }
        let (parts, ()) = req.into_parts();
        let resolved = resolver.resolve(&parts).unwrap().resolved;
        resolved.label.as_deref().unwrap_or("-").to_owned()
    }

    fn conn(local: &str) -> Option<ConnInfo> {
        Some(ConnInfo::new(
            local.parse().unwrap(),
            "127.0.0.1:40000".parse().unwrap(),
        ))
    }

    #[test]
    fn one_order_decides_the_label() {
        let schemes = Schemes::new()
            .with("http", [80, 8080])
            .with("admin", [9443]);
        let host = ByScheme::new(DirectResolver::new(), schemes);
        let socket = host.clone().label_from(LabelFrom::Socket);
        let listeners = host
            .clone()
            .listener("127.0.0.1:9443".parse().unwrap(), "Admin")
            .listener("0.0.0.0:8080".parse().unwrap(), "public");
        let tls = conn("127.0.0.1:8443").map(|c| c.with_tls(true));
        #[rustfmt::skip]
        let table: [(&ByScheme<DirectResolver>, &str, Option<ConnInfo>, &str); 14] = [
            // Host mode (the default): the port in Host, as WFront.
            (&host, "h:9443", conn("127.0.0.1:8080"), "admin"),
            (&host, "h", conn("127.0.0.1:9443"), "http"),
            (&host, "h:7", None, "-"),
            // TLS comes before the port.
            (&host, "h:8080", tls, "https"),
            // Socket mode: the local port; an unlabelled one is its number.
            (&socket, "h:9443", conn("127.0.0.1:8080"), "http"),
            (&socket, "h", conn("127.0.0.1:9443"), "admin"),
            (&socket, "h:9443", conn("127.0.0.1:7000"), "7000"),
            (&socket, "h:9443", None, "admin"),
            (&socket, "h", tls, "https"),
            // Listener labels first: exact address, then an unspecified one.
            (&listeners, "h:8080", conn("127.0.0.1:9443"), "admin"),
            (&listeners, "h:9443", conn("10.1.2.3:8080"), "public"),
            (&listeners, "h:9443", conn("127.0.0.2:9443"), "admin"),
            (&listeners, "h:9443", conn("127.0.0.1:9443").map(|c| c.with_tls(true)), "admin"),
            (&listeners, "h", conn("127.0.0.2:7000"), "http"),
        ];
        for (i, (resolver, host, conn, want)) in table.into_iter().enumerate() {
            assert_eq!(label(resolver, host, conn), want, "row {i}");
        }
        // A listener label is declared in the table, with no ports.
        assert_eq!(listeners.schemes().ports("public"), Some(&[][..]));
        assert_eq!(listeners.schemes().ports("admin"), Some(&[9443][..]));
    }

    #[test]
    fn tls_without_an_https_label_falls_through_to_the_port() {
        let resolver = ByScheme::new(DirectResolver::new(), Schemes::empty().with("web", [443]));
        let tls = conn("127.0.0.1:443").map(|c| c.with_tls(true));
        // The scheme is https, so a bare Host defaults to 443.
        assert_eq!(label(&resolver, "h", tls), "web");
        assert_eq!(label(&resolver, "h:8443", tls), "-");
    }

    #[test]
    fn setting_a_listener_again_replaces_its_label() {
        let addr = "127.0.0.1:9443".parse().unwrap();
        let resolver = ByScheme::new(DirectResolver::new(), Schemes::new())
            .listener(addr, "a")
            .listener(addr, "b");
        assert_eq!(resolver.listener_label(addr).map(|l| &**l), Some("b"));
    }
}
