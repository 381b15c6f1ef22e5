//! [`RelocateLayer`]: the validated configuration of a relocation.

use std::{fmt, sync::Arc};

use http::Method;

use crate::{
    body::Limits,
    event::{Hook, OnRelocateEvent},
    html::DEFAULT_ATTRIBUTES,
    Origin, Profile, Root,
};

/// What happens to a body that must be rewritten but is larger than the buffer
/// limit ([`RelocateLayer::buffer_limit`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OverLimit {
    /// Rewrite it as it streams and drop `Content-Length` (hyper frames it with
    /// chunked encoding or the end of an HTTP/2 stream). The default.
    #[default]
    Stream,
    /// Pass it on unrewritten, with its `Content-Length`, and log a warning.
    PassThrough,
}

/// The default DAV methods whose XML bodies are rewritten: proxylet's twelve.
const DAV_METHODS: [&str; 12] = [
    "OPTIONS",
    "PROPFIND",
    "PROPPATCH",
    "REPORT",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "MERGE",
    "CHECKOUT",
    "MKACTIVITY",
];

/// The configuration shared by every clone of a layer and its services.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) profile: Profile,
    pub(crate) local: Option<Root>,
    pub(crate) remote: Root,
    pub(crate) aliases: Vec<Origin>,
    pub(crate) map_referer: bool,
    pub(crate) dav_methods: Vec<Method>,
    pub(crate) html_attributes: Arc<[(String, String)]>,
    pub(crate) buffer_limit: usize,
    pub(crate) over_limit: OverLimit,
    pub(crate) limits: Limits,
    pub(crate) max_decoded_body: u64,
    pub(crate) hook: Hook,
}

/// The default [`RelocateLayer::max_decoded_body`]: 1 GiB.
pub const DEFAULT_MAX_DECODED_BODY: u64 = 1 << 30;

/// Applies [`Relocate`](super::Relocate) to a service. See the [module docs](crate::layer).
#[must_use]
#[derive(Clone)]
pub struct RelocateLayer {
    pub(crate) config: Arc<Config>,
}

impl RelocateLayer {
    /// A layer for `profile`, with the remote root `/` (no origin), the local root
    /// derived per request, and every other option at its default.
    pub fn new(profile: Profile) -> Self {
        let dav_methods = DAV_METHODS
            .iter()
            .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
            .collect();
        let html_attributes = DEFAULT_ATTRIBUTES
            .iter()
            .map(|(e, a)| ((*e).to_owned(), (*a).to_owned()))
            .collect();
        Self {
            config: Arc::new(Config {
                profile,
                local: None,
                remote: Root::default(),
                aliases: Vec::new(),
                map_referer: false,
                dav_methods,
                html_attributes,
                buffer_limit: 64 * 1024,
                over_limit: OverLimit::Stream,
                limits: Limits {
                    max_depth: 256,
                    max_token: 1024 * 1024,
                },
                max_decoded_body: DEFAULT_MAX_DECODED_BODY,
                hook: Hook::default(),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// The upstream's root: its base URL (`http://origin/webdav`), or just a path.
    /// With an origin, absolute upstream URLs are recognised in responses and
    /// absolute public URLs are sent to the upstream with this authority. Default:
    /// `/` without an origin.
    pub fn remote_root(self, root: Root) -> Self {
        self.edit(|c| c.remote = root)
    }

    /// The public root, when it is fixed. Default: derived per request from the
    /// [`Resolved`](frontdoor_core::Resolved) extension (scheme, host, port) and the
    /// [`Mount`](frontdoor_core::Mount)'s script name (the prefix the router
    /// consumed). A root without an origin takes the resolved one.
    pub fn local_root(self, root: Root) -> Self {
        self.edit(|c| c.local = Some(root))
    }

    /// Another origin under which the upstream names itself in responses (see
    /// [`Relocation::with_remote_alias`](crate::Relocation::with_remote_alias)).
    /// Default: none.
    pub fn remote_alias(self, origin: Origin) -> Self {
        self.edit(|c| {
            if !c.aliases.contains(&origin) {
                c.aliases.push(origin);
            }
        })
    }

    /// Whether request `Referer` (a public URL under the local root) and `Origin`
    /// (the public origin) are moved to the upstream's, for upstreams that check
    /// them (CSRF guards). Default: `false`.
    pub fn map_referer(self, on: bool) -> Self {
        self.edit(|c| c.map_referer = on)
    }

    /// The methods whose XML request and response bodies are rewritten in the
    /// WebDAV and Subversion profiles, replacing the set. Default: `OPTIONS`,
    /// `PROPFIND`, `PROPPATCH`, `REPORT`, `MKCOL`, `COPY`, `MOVE`, `LOCK`, `UNLOCK`,
    /// `MERGE`, `CHECKOUT`, `MKACTIVITY` (never `GET` or `PUT`: a document's own
    /// content is not relocated).
    pub fn dav_methods(self, methods: impl IntoIterator<Item = Method>) -> Self {
        let methods = methods.into_iter().collect();
        self.edit(|c| c.dav_methods = methods)
    }

    /// Adds one method to the DAV set (`SEARCH`, `ACL`, `VERSION-CONTROL`, ...).
    pub fn add_dav_method(self, method: Method) -> Self {
        self.edit(|c| {
            if !c.dav_methods.contains(&method) {
                c.dav_methods.push(method);
            }
        })
    }

    /// The `(element, attribute)` pairs rewritten in HTML bodies, replacing the set
    /// (names are ASCII case-insensitive). Default: `a[href]`, `form[action]`,
    /// `link[href]`, `img[src]`, `script[src]`. The URL in the `content` of a
    /// `<meta http-equiv="refresh">` is moved whatever the set, as a `Refresh`
    /// header's.
    pub fn html_attributes<E, A>(self, pairs: impl IntoIterator<Item = (E, A)>) -> Self
    where
        E: AsRef<str>,
        A: AsRef<str>,
    {
        let pairs: Arc<[(String, String)]> = pairs
            .into_iter()
            .map(|(e, a)| {
                (
                    e.as_ref().to_ascii_lowercase(),
                    a.as_ref().to_ascii_lowercase(),
                )
            })
            .collect();
        self.edit(|c| c.html_attributes = pairs)
    }

    /// How many bytes of a body to be rewritten are read before its headers are
    /// sent: a body that fits is rewritten whole and gets an exact `Content-Length`
    /// (and a rewrite failure is answered with 502 for a response, 400 for a
    /// request); a longer one is handled as [`over_limit`](Self::over_limit) says.
    /// Default: 64 KiB.
    pub fn buffer_limit(self, bytes: usize) -> Self {
        self.edit(|c| c.buffer_limit = bytes)
    }

    /// What to do with a body over the buffer limit. Default: [`OverLimit::Stream`].
    pub fn over_limit(self, choice: OverLimit) -> Self {
        self.edit(|c| c.over_limit = choice)
    }

    /// The deepest XML element nesting accepted; deeper documents abort the rewrite.
    /// Default: 256.
    pub fn max_depth(self, depth: usize) -> Self {
        self.edit(|c| c.limits.max_depth = depth.min(usize::from(u16::MAX)))
    }

    /// The longest single markup token (a tag, comment or URL text) held back while
    /// its end has not arrived; past it the rewrite aborts. For HTML it sizes
    /// lol_html's memory cap: twice this (markup held back, and lol_html's stack of
    /// open elements, which closes no `<p>` or `<li>` implicitly) plus 4 KiB.
    /// Default: 1 MiB.
    pub fn max_token(self, bytes: usize) -> Self {
        self.edit(|c| c.limits.max_token = bytes.max(16))
    }

    /// The most bytes a coded body (gzip, deflate, br, zstd) to be rewritten may
    /// decode to; past it the body is cut off with an error (the client sees a
    /// truncated message) and [`RelocateEvent::DecodedTooLarge`] is reported. Memory
    /// stays bounded whatever this is: bodies are decoded a step at a time. Default:
    /// 1 GiB.
    ///
    /// [`RelocateEvent::DecodedTooLarge`]: crate::RelocateEvent::DecodedTooLarge
    pub fn max_decoded_body(self, bytes: u64) -> Self {
        self.edit(|c| c.max_decoded_body = bytes)
    }

    /// A hook that sees what the relocation reports beside its answers (bodies passed
    /// on unrewritten, bodies cut off past [`max_decoded_body`](Self::max_decoded_body)),
    /// replacing any earlier one. Default: none (the layer still logs).
    pub fn on_event(self, hook: impl OnRelocateEvent) -> Self {
        let hook = Hook::new(Arc::new(hook));
        self.edit(|c| c.hook = hook)
    }

    /// The profile.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.config.profile
    }

    /// The remote root.
    #[must_use]
    pub fn remote(&self) -> &Root {
        &self.config.remote
    }
}

impl fmt::Debug for RelocateLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelocateLayer")
            .field("profile", &self.config.profile)
            .field("local", &self.config.local)
            .field("remote", &self.config.remote)
            .field("buffer_limit", &self.config.buffer_limit)
            .field("over_limit", &self.config.over_limit)
            .field("max_decoded_body", &self.config.max_decoded_body)
            .field("hook", &self.config.hook)
            .finish_non_exhaustive()
    }
}
