//! [`RouterBuilder`]: the ordered table, fallback, mode, schemes and macros.

use std::{collections::BTreeMap, fmt, sync::Arc};

use frontdoor_core::Schemes;

use super::{
    boxed, service::Shared, Filter, IntoRouteService, NotFound, RouteLayer, RouteOptions,
    RouteService, Router,
};
use crate::{Mode, RouteError, RouteSpec, Table};

/// Builds a [`Router`] or a [`RouteLayer`]. Created by [`Router::builder`].
///
/// Routes are tried in the order they are added; the first match wins. A request no
/// route matches goes to the **fallback** (the one name for it: WFront's `default`
/// and `abort404` are both a fallback here): the service set with
/// [`fallback`](Self::fallback), or [`NotFound`] when none is set, or, for a
/// [`RouteLayer`], the service it wraps. Specs are only checked by
/// [`RouterBuilder::build`] / [`RouterBuilder::into_layer`], which fail with a
/// [`RouteError`] naming the first bad spec.
#[must_use]
pub struct RouterBuilder {
    mode: Mode,
    schemes: Schemes,
    macros: BTreeMap<String, String>,
    routes: Vec<(RouteSpec, RouteService, RouteOptions)>,
    fallback: Option<RouteService>,
    fallback_filter: Option<Filter>,
}

impl Default for RouterBuilder {
    fn default() -> Self {
        Self {
            mode: Mode::Strict,
            schemes: Schemes::new(),
            macros: BTreeMap::new(),
            routes: Vec::new(),
            fallback: None,
            fallback_filter: None,
        }
    }
}

impl RouterBuilder {
    /// Sets how specs are compiled and matched. Default: [`Mode::Strict`].
    ///
    /// | | `Strict` (default) | `Wfront04` |
    /// |---|---|---|
    /// | host/port `*` | confined to its field | lazy `.*?`, can cross `:` into the path |
    /// | host case | insensitive | sensitive |
    /// | path prefix | segment boundaries | plain string prefix |
    /// | path `*` | one segment, greedy | lazy, crosses `/` |
    /// | `::/` | any path, consumes nothing | consumes the `/` |
    /// | match subject | host, port, the current path info | host, port, script name + path info |
    /// | consumption | the matched prefix of the path info | the matched length, cut from the path info |
    /// | port labels (`host:http`) | the label's port set | literal text (never matches, as in 0.4) |
    /// | empty host | matches no string spec | matches `*` and the empty spec |
    ///
    /// `Wfront04` exists for migrations and the compat test suite only: its wildcards and
    /// prefixes are the routing-confusion vectors S2 and S3 of the spec.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the scheme-label table that port fields such as `host:http:/` are compiled
    /// against (an unknown label is a build error). Default: [`Schemes::new`]
    /// (`http` = {80}, `https` = {443}). The `by_scheme` convenience of the facade
    /// passes the same table to the by-scheme resolver, whose labels regex specs
    /// then see in place of the port.
    ///
    /// A label spec matches a request that carries a by-scheme label
    /// ([`Resolved::label`](frontdoor_core::Resolved::label)) by that label alone, so a
    /// resolver that labels by the socket a request arrived on (a listener label, TLS)
    /// decides, whatever port the `Host` header names; a request without a label
    /// matches when its port is in the label's set. A label may have no ports at all
    /// (`Schemes::new().with("admin", [])`): only a resolver's label then reaches it.
    pub fn schemes(mut self, schemes: Schemes) -> Self {
        self.schemes = schemes;
        self
    }

    /// Defines the macro `{name}` (WFront's `MacroMap`): every `{name}` in a string
    /// spec is replaced by `value` at build time. An unknown macro is a build error;
    /// `{{` and `}}` are literal braces.
    pub fn define(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.macros.insert(name.into(), value.into());
        self
    }

    /// Appends a route; its matched path prefix is consumed.
    pub fn route<S>(self, spec: impl Into<RouteSpec>, svc: S) -> Self
    where
        S: IntoRouteService,
    {
        self.push(spec.into(), boxed(svc), RouteOptions::new())
    }

    /// Appends a route whose service is wrapped in `filter`.
    pub fn route_with_filter<S>(self, spec: impl Into<RouteSpec>, svc: S, filter: Filter) -> Self
    where
        S: IntoRouteService,
    {
        self.push(spec.into(), boxed(svc), RouteOptions::new().filter(filter))
    }

    /// Appends a route with `options`: a [`Filter`], and whether the matched path
    /// prefix is consumed or kept ([`Prefix`](super::Prefix); see [`RouteOptions`]
    /// for an example).
    pub fn route_with_options<S>(
        self,
        spec: impl Into<RouteSpec>,
        svc: S,
        options: RouteOptions,
    ) -> Self
    where
        S: IntoRouteService,
    {
        self.push(spec.into(), boxed(svc), options)
    }

    /// Appends a path-only route (WFront's `PathMap`): the spec `*:*:{path}`.
    pub fn path<S>(self, path: &str, svc: S) -> Self
    where
        S: IntoRouteService,
    {
        self.push(
            RouteSpec::Spec(format!("*:*:{path}")),
            boxed(svc),
            RouteOptions::new(),
        )
    }

    /// Appends a path-only route wrapped in `filter`.
    pub fn path_with_filter<S>(self, path: &str, svc: S, filter: Filter) -> Self
    where
        S: IntoRouteService,
    {
        self.push(
            RouteSpec::Spec(format!("*:*:{path}")),
            boxed(svc),
            RouteOptions::new().filter(filter),
        )
    }

    fn push(mut self, spec: RouteSpec, svc: RouteService, options: RouteOptions) -> Self {
        self.routes.push((spec, svc, options));
        self
    }

    /// Sets the fallback: the service called (through the fallback filter, nothing
    /// consumed) when no route matches. Default: [`NotFound::new`]. Use
    /// [`NotFound::wfront04`] to reproduce WFront 0.4's `abort404` answer.
    ///
    /// [`into_layer`](Self::into_layer) makes the wrapped service the fallback, so
    /// setting one here too is an error there, never silently ignored.
    pub fn fallback<S>(mut self, svc: S) -> Self
    where
        S: IntoRouteService,
    {
        self.fallback = Some(boxed(svc));
        self
    }

    /// Sets the filter of the fallback (also applied to a [`RouteLayer`]'s inner
    /// service). It does not wrap the built-in [`NotFound`].
    pub fn fallback_filter(mut self, filter: Filter) -> Self {
        self.fallback_filter = Some(filter);
        self
    }

    fn compile(self) -> Result<(Shared, Option<RouteService>, Option<Filter>), RouteError> {
        let mut specs = Vec::with_capacity(self.routes.len());
        let mut services = Vec::with_capacity(self.routes.len());
        let mut prefixes = Vec::with_capacity(self.routes.len());
        for (spec, svc, options) in self.routes {
            specs.push(spec);
            prefixes.push(options.prefix);
            services.push(match options.filter {
                Some(f) => f.apply(svc),
                None => svc,
            });
        }
        let table = Table::compile_with_macros(specs, self.mode, &self.schemes, &self.macros)?;
        let shared = Shared {
            table,
            services: services.into_boxed_slice(),
            prefixes: prefixes.into_boxed_slice(),
        };
        Ok((shared, self.fallback, self.fallback_filter))
    }

    /// Compiles the table into a [`Router`].
    ///
    /// # Errors
    ///
    /// A [`RouteError`] for the first invalid or duplicate spec.
    pub fn build(self) -> Result<Router, RouteError> {
        let (shared, fallback, filter) = self.compile()?;
        let fallback = match (fallback, filter) {
            (Some(d), Some(f)) => f.apply(d),
            (Some(d), None) => d,
            (None, _) => boxed(NotFound::new()),
        };
        Ok(Router::from_parts(Arc::new(shared), fallback))
    }

    /// Compiles the table into a [`RouteLayer`], whose inner service becomes the
    /// fallback (through the fallback filter, if one is set).
    ///
    /// # Errors
    ///
    /// A [`RouteError`] for the first invalid or duplicate spec, and one of kind
    /// [`FallbackConflict`](crate::RouteErrorKind::FallbackConflict) when a fallback
    /// was set on this builder (the layer's inner service is the fallback; the
    /// builder's would never be called).
    pub fn into_layer(self) -> Result<RouteLayer, RouteError> {
        if self.fallback.is_some() {
            return Err(RouteError::fallback_conflict());
        }
        let (shared, _, filter) = self.compile()?;
        Ok(RouteLayer::from_parts(Arc::new(shared), filter))
    }
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("mode", &self.mode)
            .field("schemes", &self.schemes)
            .field("macros", &self.macros)
            .field(
                "routes",
                &self.routes.iter().map(|(s, _, _)| s).collect::<Vec<_>>(),
            )
            .field("fallback", &self.fallback.is_some())
            .field("fallback_filter", &self.fallback_filter)
            .finish()
    }
}
