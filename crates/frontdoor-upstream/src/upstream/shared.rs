//! The state an [`Upstream`] and its clones share: how requests reach the upstream
//! ([`Transport`]) and the settings the builder fixed ([`Shared`]).

use std::{sync::Arc, time::Duration};

use frontdoor_core::Body;
use http::{
    uri::{Authority, Scheme},
    HeaderValue, Version,
};
use hyper_util::client::legacy::Client;

use super::{
    connect::Connector, direct::pool::DirectPool, host::HostPolicy, pool::Http1Pool,
    upgrade::UpgradeProtocols,
};
use crate::Forwarding;

/// The terminal proxy service. See the [module docs](crate::upstream).
///
/// Always ready (the pool queues internally); cloning is cheap and shares the pool.
/// `Error` is [`ProxyError`](crate::ProxyError); wrap it in [`GatewayErrorLayer`](crate::GatewayErrorLayer)
/// for 502/503/504 answers.
#[derive(Clone)]
pub struct Upstream {
    pub(super) shared: Arc<Shared>,
}

/// How requests reach the upstream. Clones share the pool.
#[derive(Clone)]
pub(super) enum Transport {
    /// Plain `http`, HTTP/1.1: the direct client, and hyper's connections for
    /// upgrades and `CONNECT`.
    Http1(Http1Pools),
    /// `https` or h2c: hyper-util's pooled client.
    Legacy(Box<Client<Connector, Body>>),
}

/// The two pools of a plain-`http` upstream, under one connection cap.
#[derive(Clone)]
pub(super) struct Http1Pools {
    /// Every request but upgrades and `CONNECT` ([`super::direct`]).
    pub(super) direct: Arc<DirectPool>,
    /// Upgrades and `CONNECT`: hyper's connections, which hand the upgraded IO over.
    pub(super) upgrades: Arc<Http1Pool>,
}

#[derive(Clone)]
pub(super) struct Shared {
    pub(super) transport: Transport,
    pub(super) scheme: Scheme,
    pub(super) authority: Authority,
    pub(super) authority_value: HeaderValue,
    pub(super) base_path: String,
    pub(super) host: HostPolicy,
    pub(super) forwarding: Forwarding,
    pub(super) head_timeout: Option<Duration>,
    pub(super) body_idle_timeout: Option<Duration>,
    /// The `Upgrade` protocols proxied (none with `http2_only`).
    pub(super) upgrades: UpgradeProtocols,
    /// Whether `CONNECT` is forwarded (else answered 405).
    pub(super) connect: bool,
    /// Whether response bodies of the direct client are offered for splicing.
    pub(super) splice_bodies: bool,
    pub(super) version: Version,
}

impl Upstream {
    /// This upstream with another base path (`/a/b`, or empty), sharing its pool and
    /// settings: a [`Mapper`](crate::Mapper)'s targets on one authority.
    pub(crate) fn rebased(&self, base_path: &str) -> Self {
        let base_path = base_path.trim_end_matches('/');
        if base_path == self.shared.base_path {
            return self.clone();
        }
        let mut shared = (*self.shared).clone();
        base_path.clone_into(&mut shared.base_path);
        Self {
            shared: Arc::new(shared),
        }
    }
}
