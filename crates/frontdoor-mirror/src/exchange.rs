//! What the hooks see: the shadow request, each side's outcome, the exchange.

use std::time::Duration;

use bytes::Bytes;
use frontdoor_core::Body;
use http::{header, request::Parts, Extensions, HeaderMap, HeaderValue, Method, Request, Uri};

use crate::{
    compare::{CapturedResponse, Diff},
    MirrorId, PrimaryError, ShadowError,
};

// === ShadowRequest ===

/// The copy of a request that goes to the shadow, after the safety edits (credentials
/// stripped, hop-by-hop headers removed, `Host` marked). `on_request` hooks may edit
/// it; `Content-Length` is recomputed from the body when it is sent.
///
/// The URI is the primary's target in origin form (path and query, the client's
/// scheme and authority left behind); the shadow service (an `Upstream`) joins it
/// to the shadow's base URL.
#[derive(Clone, Debug)]
pub struct ShadowRequest {
    id: MirrorId,
    parts: Parts,
    body: Bytes,
}

impl ShadowRequest {
    /// A shadow request from its parts (for tests of hooks, or adapters).
    #[must_use]
    pub fn from_request(id: MirrorId, request: Request<Bytes>) -> Self {
        let (parts, body) = request.into_parts();
        Self { id, parts, body }
    }

    pub(crate) const fn from_parts(id: MirrorId, parts: Parts, body: Bytes) -> Self {
        Self { id, parts, body }
    }

    /// The id keying this request's hooks.
    #[must_use]
    pub const fn id(&self) -> MirrorId {
        self.id
    }

    /// The method.
    #[must_use]
    pub const fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The method, mutably.
    pub fn method_mut(&mut self) -> &mut Method {
        &mut self.parts.method
    }

    /// The request target.
    #[must_use]
    pub const fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request target, mutably.
    pub fn uri_mut(&mut self) -> &mut Uri {
        &mut self.parts.uri
    }

    /// The header fields.
    #[must_use]
    pub const fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The header fields, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.parts.headers
    }

    /// The request's extensions (a copy of the primary's, plus the [`MirrorId`]).
    #[must_use]
    pub const fn extensions(&self) -> &Extensions {
        &self.parts.extensions
    }

    /// The body (complete: only requests whose body fit the cap are mirrored).
    #[must_use]
    pub const fn body(&self) -> &Bytes {
        &self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
    }

    /// The request to send: `Content-Length` set to the body's byte length (kept off a
    /// body-less request that did not have one).
    pub(crate) fn to_request(&self) -> Request<Body> {
        let mut parts = self.parts.clone();
        let had_length = parts.headers.remove(header::CONTENT_LENGTH).is_some();
        if had_length || !self.body.is_empty() {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        }
        Request::from_parts(parts, Body::from(self.body.clone()))
    }
}

// === Side ===

/// One side of an [`Exchange`]: the response, the failure, or nothing within the
/// time-to-live.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Side<E> {
    /// A response (the body as far as it was captured).
    Response(CapturedResponse),
    /// The side failed.
    Failed(E),
    /// The side never reported within the time-to-live, or was abandoned (the client
    /// went away before the primary answered).
    Missing,
}

impl<E> Side<E> {
    /// The response, if this side has one.
    #[must_use]
    pub const fn response(&self) -> Option<&CapturedResponse> {
        match self {
            Self::Response(r) => Some(r),
            Self::Failed(_) | Self::Missing => None,
        }
    }

    /// Whether this side never reported.
    #[must_use]
    pub const fn is_missing(&self) -> bool {
        matches!(self, Self::Missing)
    }
}

// === Exchange ===

/// One mirrored request with both outcomes, reported once to `on_exchange` when both
/// sides are in (in whichever order they finish) or when the time-to-live ends.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Exchange {
    /// The id keying this request's hooks.
    pub id: MirrorId,
    /// The request as sent to the shadow.
    pub request: ShadowRequest,
    /// The primary's response (GoReplay's "response", type 2).
    pub primary: Side<PrimaryError>,
    /// The shadow's response (GoReplay's "replay", type 3).
    pub replay: Side<ShadowError>,
    /// What the configured comparators found (empty unless both sides responded).
    pub diffs: Vec<Diff>,
    /// From the primary request's arrival to the primary's report.
    pub primary_latency: Option<Duration>,
    /// From sending the shadow request to its report.
    pub replay_latency: Option<Duration>,
}

impl Exchange {
    /// Both sides responded and no comparator found a difference.
    #[must_use]
    pub fn is_match(&self) -> bool {
        self.primary.response().is_some()
            && self.replay.response().is_some()
            && self.diffs.is_empty()
    }
}
