//! The embedded demo: a front door in front of the built-in backends.

use std::{convert::Infallible, io, net::SocketAddr};

use frontdoor::{demo, Body};
use frontdoor_core::Mount;
use http::{Request, Response};
use tower::{util::BoxCloneSyncService, ServiceExt};

/// One row of the demo's route table.
struct Route {
    /// Path prefix, matched on segment boundaries.
    prefix: &'static str,
    backend: &'static str,
    service: BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
}

/// The demo application: its route table and the service answering it.
pub(crate) struct App {
    routes: Vec<Route>,
    default_backend: &'static str,
    default: BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
}

impl App {
    pub(crate) fn new() -> Self {
        Self {
            routes: vec![Route {
                prefix: "/redirect",
                backend: "builtin:redirect",
                service: BoxCloneSyncService::new(demo::redirect()),
            }],
            default_backend: "builtin:echo",
            default: BoxCloneSyncService::new(demo::echo()),
        }
    }

    /// Prints the listen addresses, the route table and two commands to try.
    pub(crate) fn describe(
        &self,
        addrs: &[SocketAddr],
        out: &mut impl io::Write,
    ) -> io::Result<()> {
        for addr in addrs {
            writeln!(out, "frontdoor listening on http://{addr}")?;
        }
        writeln!(out)?;
        writeln!(out, "routes (first match wins):")?;
        writeln!(out, "  {:<4} {:<16} backend", "#", "spec")?;
        for (i, route) in self.routes.iter().enumerate() {
            writeln!(
                out,
                "  {i:<4} {:<16} {}",
                format!("::{}", route.prefix),
                route.backend
            )?;
        }
        writeln!(
            out,
            "  {:<4} {:<16} {}",
            "-", "(default)", self.default_backend
        )?;
        if let Some(addr) = addrs.first() {
            writeln!(out)?;
            writeln!(out, "try:")?;
            writeln!(out, "  curl -s 'http://{addr}/hello?name=frontdoor'")?;
            writeln!(out, "  curl -si http://{addr}/redirect/somewhere")?;
        }
        Ok(())
    }

    /// The front door service.
    pub(crate) fn service(self) -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
        let routes: std::sync::Arc<[Route]> = self.routes.into();
        let default = self.default;
        BoxCloneSyncService::new(tower::service_fn(move |mut req: Request<Body>| {
            let path = req.uri().path();
            let hit = routes.iter().find(|r| {
                path.strip_prefix(r.prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            });
            let svc = match hit {
                Some(route) => {
                    // Move the matched prefix into the script name, as the router will.
                    let mut mount = Mount::of(&req);
                    if mount.consume(route.prefix) {
                        if let Err(e) = mount.apply(&mut req) {
                            tracing::debug!(error = %e, "demo: cannot consume prefix");
                        }
                    }
                    route.service.clone()
                }
                None => default.clone(),
            };
            svc.oneshot(req)
        }))
    }
}
