//! A stack plan: one way to compose a front door, built once and served by every
//! worker, shared by the `frontdoor` binary and library users.
//!
//! A [`Description`] says what a front door's routes and targets are, as data: a
//! `serde` value whose TOML text form is the binary's config file, or built in code.
//! [`Description::check`] turns it into typed form, reporting every problem with its
//! key path ([`PlanError`]; [`PlanErrors::located`] adds the lines of a TOML text).
//! A [`Plan`] is built once from it and owns what every worker shares (in-flight
//! semaphores, upstream connection caps, rate limiters with their key tables, mirror
//! layers with their shadow pools and counters, the request buffer budget, the
//! balancers' health, and the background tasks of active health checks and DNS
//! discovery: [`SharedState`]); [`Plan::service`] builds a worker's stack over that
//! state, each with its own upstream connection pools. The background tasks need a
//! tokio runtime: they start when the plan is built inside one, else on its first
//! [`Plan::service`] call inside one, and stop when their target's state is dropped.
//!
//! Every route's stack has one order, outermost first, written once in the plan:
//!
//! ```text
//! resolve -> [request ID] -> trace context -> router -> per route:
//!   tag -> [cleanup filter] -> [rate limit] -> [https redirect] -> gateway errors
//!     -> [request buffer] -> [in-flight limit] -> [compression] -> [relocation]
//!       -> [mirror] -> upstream span -> Upstream | Balanced | service
//! ```
//!
//! Request IDs and trace context are server-level ([`crate::telemetry`]), inside the
//! resolver (they read its trust decision) and outside the router; the access log and
//! metrics go around [`Plan::service`], which tags each response with what [`Served`]
//! it.
//!
//! # Reloads
//!
//! [`Plan::reload`] builds a new plan from a new description and the old plan's
//! state, and the caller swaps the services it hands out. A route is identified by
//! its matcher text (its `spec`, or its `regex`), not its index, which an inserted
//! route would shift; the default by being the default. A route whose identity and
//! whole checked description (and the `[server]` forwarding settings) are unchanged
//! keeps its shared state; any other starts fresh. See [`SharedState`].
//!
//! # Upstreams
//!
//! A target's `upstream` is one URL (`http://`, or `https://` with TLS), a list of
//! them (balanced), `builtin:echo` or `builtin:redirect` (the demo backends, at the
//! addresses [`Options::builtin`] gives), or `service:NAME`: a service given in code
//! and registered with [`Options::service`] (a [`Mapper`](crate::upstream::Mapper),
//! say), which ends the route in place of the built-in client, under every per-route
//! layer. A `service:` upstream is the target's only one, and the keys of the built-in
//! client and its balancer (`host`, `timeouts`, `upstream_max_connections`,
//! `connect`, `upgrades`, `tls`, `health_check`, `discovery`) and `relocate` (which needs the upstream's URL; the service relocates per
//! target itself, as with [`RelocatedTargets`](crate::RelocatedTargets)) are errors
//! on its target; `[server]`'s forwarding settings (`via`, `forwarded`) are the
//! built-in client's, so the service writes its own. A name the options do not
//! register fails the build at the target's `upstream` key. The `frontdoor` binary
//! has no way to register a service and refuses `service:` upstreams.
//!
//! ```
//! use frontdoor::plan::{Description, Options, Plan, Route};
//! use frontdoor::Body;
//! use http::{Request, Response};
//!
//! let description = Description::new().route(Route::new("::/geo", "service:geo").max_in_flight(10));
//! let error = Plan::new(&description).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "route[0].upstream: no service \"geo\" was registered in the plan's Options"
//! );
//! let geo = tower::service_fn(|_: Request<Body>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Body::from("geo")))
//! });
//! let plan = Plan::with_options(description.check()?, Options::new().service("geo", geo))?;
//! assert_eq!(plan.rows()[0].upstream, "service:geo");
//! # Ok::<_, frontdoor::plan::PlanErrors>(())
//! ```
//!
//! A route's label in [`Served`] (so in an observer's metrics and access lines) and
//! in the route table is its `name` when it has one, else `route[N]`: a named route's
//! counters follow it when a reload moves it.
//!
//! # Example
//!
//! The same routes from TOML and from code, served by a plan:
//!
//! ```
//! use frontdoor::plan::{Description, Plan, Route};
//!
//! let text = r#"
//! [[route]]
//! spec = "::/api"
//! upstream = "http://127.0.0.1:8081/v1"
//! relocate = "plain"
//! max_in_flight = 100
//! "#;
//! let from_text = Description::from_toml(text)?;
//! let from_code = Description::new()
//!     .route(Route::new("::/api", "http://127.0.0.1:8081/v1").relocate("plain").max_in_flight(100));
//! assert_eq!(from_text, from_code);
//!
//! let plan = Plan::new(&from_code)?;
//! assert_eq!(plan.rows()[0].matcher, "::/api");
//! let service = plan.service(); // one per worker; all share the limit of 100
//! # drop(service);
//!
//! // Every problem, each with its key path (and, from text, its line).
//! let bad = Description::from_toml("[[route]]\nspec = \"::/\"\nupstream = \"ftp://h\"\n")?;
//! let errors = bad.check().unwrap_err().located(&frontdoor::plan::Located::new(
//!     "[[route]]\nspec = \"::/\"\nupstream = \"ftp://h\"\n",
//! ));
//! assert!(errors.to_string().starts_with("line 3: route[0].upstream: scheme `ftp`"));
//! # Ok::<_, frontdoor::plan::PlanErrors>(())
//! ```

pub mod check;
pub mod checked;
pub mod description;
mod discovery;
mod error;
mod health;
mod served;
mod stack;
pub mod state;
mod text;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::telemetry::OtlpExporter;

pub use self::{
    checked::Checked,
    description::{Description, Discovery, HealthCheck, Mirror, RateLimit, Route},
    error::{PlanError, PlanErrors},
    health::{render_health, HealthRow},
    served::Served,
    stack::{Observer, Options, RouteService as PlanService, Row},
    state::SharedState,
    text::Located,
};

/// `rows` as aligned text under a header line (the route table), without a final
/// newline.
#[must_use]
pub fn render_rows(rows: &[Row]) -> String {
    stack::render(rows)
}

/// A plan: a checked description, the state every worker's stack shares, and how
/// to build a worker's stack. See the [module docs](self).
pub struct Plan {
    checked: Arc<Checked>,
    state: SharedState,
    options: Options,
    /// The stack built to check the plan, handed to the first [`Plan::service`].
    first: Mutex<Option<stack::Stack>>,
    rows: Vec<Row>,
    /// A stack to fall back on should a later build fail (they do not: the first
    /// one checked every target).
    spare: PlanService,
    /// The span exporter, when `[tracing] otlp_endpoint` is set (kept by a reload
    /// that does not change its settings).
    exporter: Option<OtlpExporter>,
}

/// The exporter of `checked`'s `[tracing]`: `previous`'s when its settings are the
/// same, else a new one reporting drops to the observer.
fn exporter(
    checked: &Checked,
    options: &Options,
    previous: Option<&Plan>,
) -> Result<Option<OtlpExporter>, PlanErrors> {
    let Some(config) = &checked.settings.export else {
        return Ok(None);
    };
    if let Some(kept) = previous.and_then(|p| {
        let same = p.checked.settings.export.as_ref() == Some(config);
        p.exporter.clone().filter(|_| same)
    }) {
        return Ok(Some(kept));
    }
    let observer = options.observer.clone();
    let on_drop = observer.map(|o| Box::new(move |n| o.spans_dropped(n)) as Box<_>);
    let tls = config.ca.clone().map(|ca| checked::UpstreamTls {
        ca: Some(ca),
        server_name: None,
        verify: true,
        cert: None,
        key: None,
    });
    let client = match &tls {
        Some(tls) => stack::tls_config(tls)
            .map_err(|(_, message)| PlanError::new(None, "tracing.ca", message))?,
        None => None,
    };
    OtlpExporter::new(
        config.clone(),
        |builder| match client {
            #[cfg(feature = "upstream-tls")]
            Some(client) => builder.tls_config(client),
            #[cfg(not(feature = "upstream-tls"))]
            Some(never) => match never {},
            None => builder,
        },
        on_drop,
    )
    .map(Some)
    .map_err(|message| PlanError::new(None, "tracing.otlp_endpoint", message).into())
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("rows", &self.rows)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Plan {
    /// Checks `description` and builds its plan with the default [`Options`].
    ///
    /// # Errors
    ///
    /// Every problem, each with its key path.
    pub fn new(description: &Description) -> Result<Self, PlanErrors> {
        Self::build(description.check()?, Options::new(), None)
    }

    /// The plan of `checked`, with `options`.
    ///
    /// # Errors
    ///
    /// Every problem found building the stack (route specs, upstream TLS files), each
    /// with its key path.
    pub fn with_options(checked: Checked, options: Options) -> Result<Self, PlanErrors> {
        Self::build(checked, options, None)
    }

    /// The plan of `checked` (a reload of this plan's description), with `options`:
    /// routes that did not change keep this plan's shared state (see the
    /// [module docs](self#reloads)).
    ///
    /// # Errors
    ///
    /// As [`Plan::with_options`].
    pub fn reload(&self, checked: Checked, options: Options) -> Result<Self, PlanErrors> {
        Self::build(checked, options, Some(self))
    }

    fn build(
        mut checked: Checked,
        options: Options,
        previous: Option<&Self>,
    ) -> Result<Self, PlanErrors> {
        checked.resolve.schemes =
            check::label_tls_ports(checked.resolve.schemes, &options.tls_ports);
        let state = match previous {
            Some(previous) => SharedState::reload(&checked, &previous.state)?,
            None => SharedState::new(&checked)?,
        };
        let exporter = exporter(&checked, &options, previous)?;
        let first = stack::build(&checked, &state, &options, exporter.as_ref())?;
        health::start(&checked, &state, &options);
        discovery::start(&checked, &state, &options);
        Ok(Self {
            rows: first.rows.clone(),
            spare: first.service.clone(),
            first: Mutex::new(Some(first)),
            checked: Arc::new(checked),
            state,
            options,
            exporter,
        })
    }

    /// A worker's stack: the resolver and the router over every route's service,
    /// with its own upstream connection pools and the plan's shared state. Cheap
    /// enough to call once per worker; each call builds a new stack.
    ///
    /// Called inside a tokio runtime, it starts the plan's health checks and DNS
    /// discovery if they are not running yet (a plan built inside a runtime started
    /// them when built).
    #[must_use]
    pub fn service(&self) -> PlanService {
        health::start(&self.checked, &self.state, &self.options);
        discovery::start(&self.checked, &self.state, &self.options);
        if let Some(first) = self.first.lock().take() {
            return first.service;
        }
        match stack::build(
            &self.checked,
            &self.state,
            &self.options,
            self.exporter.as_ref(),
        ) {
            Ok(stack) => stack.service,
            Err(_) => self.spare.clone(),
        }
    }

    /// The route table in match order, then the default (or the miss answer).
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The route table as aligned text, as `frontdoor routes` prints it.
    #[must_use]
    pub fn table(&self) -> String {
        render_rows(&self.rows)
    }

    /// The checked description.
    #[must_use]
    pub fn checked(&self) -> &Checked {
        &self.checked
    }

    /// The health of every address whose target has a `health_check`: routes in
    /// order, then the default's.
    #[must_use]
    pub fn upstream_health(&self) -> Vec<HealthRow> {
        health::rows(&self.checked, &self.state)
    }

    /// The state every worker's stack shares.
    #[must_use]
    pub const fn state(&self) -> &SharedState {
        &self.state
    }

    /// What the plan was built with.
    #[must_use]
    pub const fn options(&self) -> &Options {
        &self.options
    }
}
