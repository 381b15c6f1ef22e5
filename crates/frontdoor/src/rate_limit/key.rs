//! What a limit counts ([`Rate`]) and what it counts per ([`Key`]), parsed from their
//! text forms, and the per-request bucket a key picks ([`BucketKey`]).

use std::{fmt, net::IpAddr, num::NonZeroU32, str::FromStr, time::Duration};

use frontdoor_core::{proto::ClientKey, ConnInfo, PeerTrust};
use http::{HeaderName, HeaderValue, Request};

// === RateLimitConfigError ===

/// A rate or key that cannot be parsed: its message says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfigError {
    message: String,
}

impl RateLimitConfigError {
    /// What is wrong, and what to write instead.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RateLimitConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RateLimitConfigError {}

// === Rate ===

/// A sustained request rate: `count` requests per second, minute or hour (`"100/s"`,
/// `"600/m"`, `"1000/h"`, the grammar of [`frontdoor_core::values::request_rate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    count: NonZeroU32,
    period: Duration,
}

impl Rate {
    /// `count` requests per second.
    #[must_use]
    pub const fn per_second(count: NonZeroU32) -> Self {
        Self {
            count,
            period: Duration::from_secs(1),
        }
    }

    /// `count` requests per minute.
    #[must_use]
    pub const fn per_minute(count: NonZeroU32) -> Self {
        Self {
            count,
            period: Duration::from_secs(60),
        }
    }

    /// `count` requests per hour.
    #[must_use]
    pub const fn per_hour(count: NonZeroU32) -> Self {
        Self {
            count,
            period: Duration::from_secs(3600),
        }
    }

    /// The requests allowed per period.
    #[must_use]
    pub const fn count(self) -> NonZeroU32 {
        self.count
    }

    /// The period: one second, minute or hour.
    #[must_use]
    pub const fn period(self) -> Duration {
        self.period
    }

    /// The time one request's allowance takes to come back (`period / count`).
    pub(super) fn interval(self) -> Duration {
        self.period / self.count.get()
    }
}

impl FromStr for Rate {
    type Err = RateLimitConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (count, period) = frontdoor_core::values::request_rate(text)
            .map_err(|message| RateLimitConfigError { message })?;
        let count = NonZeroU32::new(count).ok_or_else(|| RateLimitConfigError {
            message: format!("expected N/s, N/m or N/h with N > 0, got {text:?}"),
        })?;
        Ok(Self { count, period })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s",
            60 => "m",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

// === Key ===

/// What a limit counts requests per.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Key {
    /// `client` (the default): the client address the resolver decided
    /// ([`PeerTrust::client`], so a trusted proxy's `X-Forwarded-For` counts; else the
    /// connection's peer), IPv4 per address and IPv6 per /64 ([`ClientKey`]).
    /// Requests with no address at all share one bucket.
    #[default]
    Client,
    /// `route`: one bucket for every request through the layer.
    Route,
    /// `header:NAME`: the first value of the header as the client sent it; requests
    /// without it share one bucket.
    Header(HeaderName),
}

impl FromStr for Key {
    type Err = RateLimitConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "client" => Ok(Self::Client),
            "route" => Ok(Self::Route),
            _ => text
                .strip_prefix("header:")
                .and_then(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
                .map(Self::Header)
                .ok_or_else(|| RateLimitConfigError {
                    message: format!(
                        "expected \"client\", \"route\" or \"header:NAME\", got {text:?}"
                    ),
                }),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Client => f.write_str("client"),
            Self::Route => f.write_str("route"),
            Self::Header(name) => write!(f, "header:{name}"),
        }
    }
}

// === BucketKey ===

/// The bucket one request counts in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum BucketKey {
    /// [`Key::Route`].
    Route,
    /// [`Key::Client`], with an address.
    Client(ClientKey),
    /// [`Key::Client`], without one.
    NoClient,
    /// [`Key::Header`], with a value.
    Header(HeaderValue),
    /// [`Key::Header`], without one.
    NoHeader,
}

impl BucketKey {
    /// This key as the key table keeps it: a header value copied out of the request's
    /// buffer (which it would otherwise keep alive).
    pub(super) fn detached(&self) -> Self {
        match self {
            Self::Header(value) => {
                HeaderValue::from_bytes(value.as_bytes()).map_or(Self::NoHeader, |mut copy| {
                    copy.set_sensitive(value.is_sensitive());
                    Self::Header(copy)
                })
            }
            other => other.clone(),
        }
    }
}

/// The header value [`CaptureKey`](super::CaptureKey) took before later layers could
/// change the header: its one producer is `CaptureKey`, its one reader the limiter.
#[derive(Clone, Debug)]
pub(super) struct CapturedHeader(pub(super) Option<HeaderValue>);

/// The client address the resolver decided, else the connection's peer.
pub(super) fn client_ip<B>(req: &Request<B>) -> Option<IpAddr> {
    let ext = req.extensions();
    ext.get::<PeerTrust>()
        .map(|t| t.client)
        .or_else(|| ext.get::<ConnInfo>().map(|c| c.remote.ip()))
        .map(|ip| ip.to_canonical())
}

/// The bucket of `req` under `key`; `client` is [`client_ip`]'s answer.
pub(super) fn bucket<B>(key: &Key, req: &Request<B>, client: Option<IpAddr>) -> BucketKey {
    match key {
        Key::Route => BucketKey::Route,
        Key::Client => client.map_or(BucketKey::NoClient, |ip| {
            BucketKey::Client(ClientKey::of(ip))
        }),
        Key::Header(name) => {
            let value = match req.extensions().get::<CapturedHeader>() {
                Some(captured) => captured.0.clone(),
                None => req.headers().get(name).cloned(),
            };
            value.map_or(BucketKey::NoHeader, BucketKey::Header)
        }
    }
}
