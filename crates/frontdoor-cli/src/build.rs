//! Builds the live service stack from a validated [`Config`].
//!
//! ```text
//! Observe (access log, metrics)
//!   -> Resolve (forwarded headers from trusted proxies only; by-scheme labels)
//!     -> Router (first match wins; default; abort404 = [not_found])
//!       -> per route: Tag -> [cleanup filter] -> gateway errors -> Upstream | Balanced
//! ```
//!
//! Building never binds sockets, so `frontdoor check` runs exactly this code.

use std::{collections::BTreeMap, convert::Infallible, net::SocketAddr, sync::Arc};

use frontdoor::{Body, BoxError};
use frontdoor_cleanup::{CleanupLayer, Rules, Syntax};
use frontdoor_core::{text_response, Resolved};
use frontdoor_resolve::{ByScheme, ForwardedResolver, ResolveLayer};
use frontdoor_route::{Filter, Mode, RouteSpec, Router, RouterBuilder};
use frontdoor_upstream::{gateway_response, Balanced, HostPolicy as UpHost, ProxyError, Upstream};
use futures_util::FutureExt;
use http::{Request, Response};
use tower::{util::BoxCloneSyncService, Layer, Service, ServiceBuilder, ServiceExt};

use crate::{
    config::{Builtin, Config, ConfigError, HostPolicy, Matcher, Target, Upstream as UpConf},
    ops::{Metrics, ObserveLayer, Served},
};

/// The erased service type of routes and of the whole stack.
pub(crate) type Svc = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Where the built-in demo backends listen.
pub(crate) type Builtins = BTreeMap<Builtin, SocketAddr>;

/// One row of `frontdoor routes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) index: String,
    pub(crate) matcher: String,
    pub(crate) upstream: String,
    pub(crate) relocate: String,
    pub(crate) filter: String,
}

/// A built stack: the service and its route table.
#[derive(Clone)]
pub(crate) struct Built {
    pub(crate) service: Svc,
    pub(crate) rows: Vec<Row>,
}

impl Built {
    /// The route table as aligned text, in match order.
    pub(crate) fn table(&self) -> String {
        let mut w = [5, 4, 8, 8];
        for r in &self.rows {
            w[0] = w[0].max(r.index.len());
            w[1] = w[1].max(r.matcher.len());
            w[2] = w[2].max(r.upstream.len());
            w[3] = w[3].max(r.relocate.len());
        }
        let mut out = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  filter\n",
            "index",
            "spec",
            "upstream",
            "relocate",
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        );
        for r in &self.rows {
            out.push_str(&format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}\n",
                r.index,
                r.matcher,
                r.upstream,
                r.relocate,
                r.filter,
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3]
            ));
        }
        out.pop();
        out
    }
}

/// The built-ins a config uses.
pub(crate) fn builtins_used(config: &Config) -> Vec<Builtin> {
    let mut used: Vec<Builtin> = config
        .routes
        .iter()
        .map(|r| &r.target)
        .chain(config.default.as_ref())
        .flat_map(|t| &t.upstreams)
        .filter_map(|u| match u {
            UpConf::Builtin(b) => Some(*b),
            UpConf::Url(_) => None,
        })
        .collect();
    used.sort();
    used.dedup();
    used
}

/// Builds the stack. Errors carry the route's key path and line.
pub(crate) fn build(
    config: &Config,
    builtins: &Builtins,
    metrics: &Metrics,
) -> Result<Built, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mode = if config.compat.wfront04 {
        Mode::Wfront04
    } else {
        Mode::Strict
    };
    let mut router = Router::builder()
        .mode(mode)
        .schemes(config.resolve.schemes.clone());
    let mut rows = Vec::new();

    for route in &config.routes {
        let path = format!("route[{}]", route.index);
        let err = |key: &str, message: String| ConfigError {
            line: Some(route.line),
            path: if key.is_empty() {
                path.clone()
            } else {
                format!("{path}.{key}")
            },
            message,
        };
        let spec = match &route.matcher {
            Matcher::Spec(s) => RouteSpec::from(s.as_str()),
            Matcher::Regex(r) => RouteSpec::regex(r.as_str()),
        };
        // Validate the spec alone, so that every bad spec is reported, not just the first.
        let alone = Router::builder()
            .mode(mode)
            .schemes(config.resolve.schemes.clone())
            .route(spec.clone(), not_found_svc(config))
            .build();
        if let Err(e) = alone {
            let key = match route.matcher {
                Matcher::Spec(_) => "spec",
                Matcher::Regex(_) => "regex",
            };
            errors.push(err(key, format!("{}: {:?}", e.reason(), e.spec())));
            continue;
        }
        let label: Arc<str> = path.clone().into();
        match target_service(&route.target, label, config, builtins, metrics) {
            Ok((svc, filter, upstream)) => {
                rows.push(Row {
                    index: route.index.to_string(),
                    matcher: route.matcher.to_string(),
                    upstream,
                    relocate: route.target.relocate.to_string(),
                    filter: filter_text(&route.target),
                });
                router = match filter {
                    Some(f) => router.route_with_filter(spec, svc, f),
                    None => router.route(spec, svc),
                };
            }
            Err((key, message)) => errors.push(err(key, message)),
        }
    }

    router = match &config.default {
        Some(target) => match target_service(target, "default".into(), config, builtins, metrics) {
            Ok((svc, filter, upstream)) => {
                rows.push(Row {
                    index: "-".into(),
                    matcher: "(default)".into(),
                    upstream,
                    relocate: target.relocate.to_string(),
                    filter: filter_text(target),
                });
                let router = router.fallback(svc);
                match filter {
                    Some(f) => router.fallback_filter(f),
                    None => router,
                }
            }
            Err((key, message)) => {
                errors.push(ConfigError {
                    line: None,
                    path: format!("default.{key}"),
                    message,
                });
                router
            }
        },
        None => {
            rows.push(Row {
                index: "-".into(),
                matcher: "(not found)".into(),
                upstream: format!(
                    "{} {:?}",
                    config.not_found.status.as_u16(),
                    config.not_found.body
                ),
                relocate: "none".into(),
                filter: "-".into(),
            });
            router.fallback(not_found_svc(config))
        }
    };

    let router = finish_router(router, config, &mut errors);
    let resolve = resolve_layer(config).map_err(|message| {
        errors.push(ConfigError {
            line: None,
            path: "server.server_name".into(),
            message,
        });
    });
    match (router, resolve, errors.is_empty()) {
        (Some(router), Ok(resolve), true) => {
            let service = ServiceBuilder::new()
                .layer(ObserveLayer::new(metrics.clone()))
                .map_response(|res: Response<_>| res.map(Body::new))
                .layer(resolve)
                .service(router);
            Ok(Built {
                service: BoxCloneSyncService::new(service),
                rows,
            })
        }
        _ => Err(errors),
    }
}

fn finish_router(
    router: RouterBuilder,
    config: &Config,
    errors: &mut Vec<ConfigError>,
) -> Option<Router> {
    match router.build() {
        Ok(router) => Some(router),
        Err(e) => {
            // The index counts routes added to the builder, which skips invalid ones
            // only when errors were already reported.
            if errors.is_empty() {
                let route = e.index().and_then(|i| config.routes.get(i));
                errors.push(ConfigError {
                    line: route.map(|r| r.line),
                    path: route
                        .map_or_else(|| "route".to_owned(), |r| format!("route[{}]", r.index)),
                    message: format!("{}: {:?}", e.reason(), e.spec()),
                });
            }
            None
        }
    }
}

type Resolver = ByScheme<ForwardedResolver>;

fn resolve_layer(config: &Config) -> Result<ResolveLayer<Resolver>, String> {
    let mut resolver = ForwardedResolver::new(config.resolve.trusted_proxies.iter().copied());
    if let Some(name) = &config.server.server_name {
        resolver = resolver.try_server_name(name).map_err(|e| e.to_string())?;
    }
    // Without a [resolve] schemes table, labels are not stamped (regex specs see the
    // numeric port); route specs may still use the default http/https labels.
    let schemes = if config.resolve.by_scheme {
        config.resolve.schemes.clone()
    } else {
        frontdoor_core::Schemes::empty()
    };
    Ok(ResolveLayer::new(ByScheme::new(resolver, schemes)))
}

fn not_found_svc(config: &Config) -> Svc {
    let status = config.not_found.status;
    let body = config.not_found.body.clone();
    let served = Served {
        route: "not_found".into(),
        upstream: "-".into(),
        resolved: None,
    };
    BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
        let mut res = text_response(status, body.clone());
        let mut served = served.clone();
        served.resolved = req.extensions().get::<Resolved>().map(ToString::to_string);
        res.extensions_mut().insert(served);
        std::future::ready(Ok::<_, Infallible>(res))
    }))
}

fn filter_text(target: &Target) -> String {
    if target.cleanup.is_empty() {
        return "-".into();
    }
    target
        .cleanup
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The service for one target, its optional cleanup filter, and its upstream text.
fn target_service(
    target: &Target,
    label: Arc<str>,
    config: &Config,
    builtins: &Builtins,
    metrics: &Metrics,
) -> Result<(Svc, Option<Filter>, String), (&'static str, String)> {
    let filter = if target.cleanup.is_empty() {
        None
    } else {
        let pairs = target
            .cleanup
            .iter()
            .map(|(k, v)| (k.as_str(), (v != "None").then_some(v.as_str())));
        let mut rules = Rules::builder().pairs(Syntax::Shortcut, pairs);
        if config.compat.wfront04 {
            rules = rules.mode(Mode::Wfront04);
        }
        let rules = rules.build().map_err(|e| ("cleanup", e.to_string()))?;
        Some(Filter::new(CleanupLayer::new(rules)))
    };

    let mut upstreams = Vec::with_capacity(target.upstreams.len());
    let mut shown = Vec::with_capacity(target.upstreams.len());
    for up in &target.upstreams {
        let base = match up {
            UpConf::Url(uri) => uri.to_string(),
            UpConf::Builtin(b) => match builtins.get(b) {
                Some(addr) => format!("http://{addr}"),
                // `check` builds without starting backends.
                None => "http://127.0.0.1:9".to_owned(),
            },
        };
        shown.push(up.to_string());
        let host = match &target.host {
            HostPolicy::Upstream => UpHost::UpstreamAuthority,
            HostPolicy::Preserve => UpHost::Preserve,
            HostPolicy::Literal(v) => UpHost::Replace(v.clone()),
        };
        let mut builder = Upstream::builder(base.trim_end_matches('/')).host(host);
        if let Some(t) = target.timeouts.connect {
            builder = builder.connect_timeout(Some(t));
        }
        if let Some(t) = target.timeouts.response {
            builder = builder.head_timeout(Some(t));
        }
        if let Some(t) = target.timeouts.idle {
            builder = builder.body_idle_timeout(Some(t));
        }
        upstreams.push(builder.build().map_err(|e| ("upstream", e.to_string()))?);
    }
    let upstream_text: Arc<str> = shown.join(", ").into();
    let svc = if upstreams.len() == 1 {
        let Some(one) = upstreams.pop() else {
            return Err(("upstream", "missing upstream".into()));
        };
        gateway(one, metrics.clone())
    } else {
        let balanced = Balanced::builder(upstreams)
            .build()
            .map_err(|e| ("upstream", e.to_string()))?;
        gateway(balanced, metrics.clone())
    };
    let svc = TagLayer {
        served: Served {
            route: label,
            upstream: upstream_text.clone(),
            resolved: None,
        },
    }
    .layer(svc);
    Ok((
        BoxCloneSyncService::new(svc),
        filter,
        upstream_text.to_string(),
    ))
}

/// Turns upstream errors into gateway answers, counting them by kind.
fn gateway<S>(upstream: S, metrics: Metrics) -> Svc
where
    S: Service<Request<Body>, Response = Response<Body>, Error = ProxyError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    // Always ready: each call drives a clone through `oneshot` (the upstream services
    // are cheap handles over a shared pool), so a poll_ready error becomes an answer.
    BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
        let upstream = upstream.clone();
        let metrics = metrics.clone();
        async move {
            let res = match upstream.oneshot(req).await {
                Ok(res) => res,
                Err(err) => {
                    metrics.upstream_error(err.kind().as_str());
                    tracing::debug!(error = %err, kind = %err.kind(), "upstream failed");
                    let boxed: BoxError = Box::new(err);
                    gateway_response(&*boxed)
                }
            };
            Ok::<_, Infallible>(res)
        }
    }))
}

/// Tags responses with what served them, for the access log and metrics.
#[derive(Clone)]
struct TagLayer {
    served: Served,
}

impl Layer<Svc> for TagLayer {
    type Service = Svc;

    fn layer(&self, inner: Svc) -> Svc {
        let served = self.served.clone();
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
            let mut served = served.clone();
            served.resolved = req.extensions().get::<Resolved>().map(ToString::to_string);
            inner.clone().oneshot(req).map(move |result| {
                result.map(|mut res| {
                    res.extensions_mut().insert(served);
                    res
                })
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn built(src: &str) -> Result<Built, Vec<String>> {
        let config =
            parse(src).map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        build(&config, &Builtins::new(), &Metrics::new())
            .map_err(|e| e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn bad_specs_are_all_reported_with_lines() {
        let src = r#"
[[route]]
spec = "bad host::/"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/ok"
upstream = "http://127.0.0.1:1"

[[route]]
regex = "(unclosed"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "h:nolabel:/"
upstream = "http://127.0.0.1:1"
"#;
        let errors = built(src).err().unwrap();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("line 3: route[0].spec: "),
            "{errors:#?}"
        );
        assert!(errors[0].contains("bad host"), "{errors:#?}");
        assert!(
            errors[1].starts_with("line 11: route[2].regex: "),
            "{errors:#?}"
        );
        assert!(
            errors[2].starts_with("line 15: route[3].spec: "),
            "{errors:#?}"
        );
    }

    #[test]
    fn duplicates_and_bad_cleanup_are_reported() {
        let src = "[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\n\n[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\n";
        let errors = built(src).err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("line 6: route[1]: "), "{errors:?}");
        let src = "[[route]]\nspec = \"::/a\"\nupstream = \"http://h:1\"\ncleanup = { \"wfront.bogus.X\" = \"1\" }\n";
        let errors = built(src).err().unwrap();
        assert!(
            errors[0].starts_with("line 2: route[0].cleanup: "),
            "{errors:?}"
        );
    }

    #[test]
    fn the_table_lists_routes_in_match_order() {
        let src = r#"
[[route]]
spec = "www.example.com:http:/svn"
upstream = "http://127.0.0.1:8081/repos"
cleanup = { "HTTP_X_DEBUG" = "None" }

[[route]]
regex = '^[^:]+:[0-9]+:(?P<pathinfo>/api)'
upstream = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]

[default]
upstream = "builtin:echo"
"#;
        let b = built(src).unwrap();
        let t = b.table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].starts_with("index"), "{t}");
        assert!(lines[1].starts_with("0 "), "{t}");
        assert!(lines[1].contains("www.example.com:http:/svn"), "{t}");
        assert!(lines[1].contains("http://127.0.0.1:8081/repos"), "{t}");
        assert!(lines[1].ends_with("HTTP_X_DEBUG=None"), "{t}");
        assert!(
            lines[2].contains("regex ^[^:]+:[0-9]+:(?P<pathinfo>/api)"),
            "{t}"
        );
        assert!(
            lines[2].contains("http://127.0.0.1:9001/, http://127.0.0.1:9002/"),
            "{t}"
        );
        assert!(
            lines[3].contains("(default)") && lines[3].contains("builtin:echo"),
            "{t}"
        );
    }
}
