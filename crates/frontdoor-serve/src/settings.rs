//! [`Settings`]: a server's connection settings as one value, what the `frontdoor`
//! binary's `[server]` table deserialises into (with `serde`), and what
//! [`Server::settings`](crate::Server::settings) and
//! [`Workers::settings`](crate::Workers::settings) take. Each setting is spelled once,
//! in [`with_settings`]: the struct, its keys, the builder setter it reaches and what
//! a reload reports come from that one list.
//!
//! Values follow the settings grammar of [`frontdoor_core::values`]: durations as
//! `"10s"` (positive, at most 7 days; `drain_delay` may also be 0, none), sizes as a
//! number of bytes or `"64KiB"`, rates as `"256B/s"` or 0; an error names what to
//! write instead.
//!
//! ```
//! use std::time::Duration;
//!
//! use frontdoor_serve::{Server, Settings};
//!
//! let settings: Settings = serde_json::from_str(
//!     r#"{"header_timeout": "5s", "max_header_bytes": "16KiB", "min_body_rate": "1KiB/s"}"#,
//! )?;
//! assert_eq!(settings.header_timeout, Some(Duration::from_secs(5)));
//! assert_eq!(settings.max_header_bytes, Some(16 * 1024));
//! let server = Server::from_listeners(Vec::new()).settings(&settings);
//! # drop(server);
//!
//! let settings: Settings = serde_json::from_str(r#"{"drain_delay": 0}"#)?;
//! assert_eq!(settings.drain_delay, Some(Duration::ZERO));
//!
//! let error = serde_json::from_str::<Settings>(r#"{"max_header_bytes": "1KiB"}"#).unwrap_err();
//! assert!(error.to_string().starts_with("must be at least 8KiB, got 1024 bytes"));
//! # Ok::<_, serde_json::Error>(())
//! ```

use std::time::Duration;

use serde::Deserialize;

/// Calls `$callback!` with every setting but `tls_handshake_timeout` (whose setter
/// exists with the `tls` feature only): its key, type, the deserialiser of its value
/// (in [`de`]), the builder setter it reaches, and its docs.
macro_rules! with_settings {
    ($($callback:tt)+) => {
        $($callback)+! {
            /// `header_timeout`: how long a request head may take
            /// ([`header_read_timeout`](crate::Server::header_read_timeout)).
            header_timeout: std::time::Duration = "de::duration" => header_read_timeout,
            /// `body_timeout`: how long a request body may stay idle
            /// ([`body_read_timeout`](crate::Server::body_read_timeout)).
            body_timeout: std::time::Duration = "de::duration" => body_read_timeout,
            /// `drain_timeout`: how long shutdown waits for requests in flight.
            drain_timeout: std::time::Duration = "de::duration" => drain_timeout,
            /// `drain_delay`: how long the listeners keep serving once the shutdown
            /// signal fired, before they close and the drain begins
            /// ([`drain_delay`](crate::Server::drain_delay)); 0 is none.
            drain_delay: std::time::Duration = "de::delay" => drain_delay,
            /// `max_connections`: the connection limit over all workers.
            max_connections: usize = "de::count" => max_connections,
            /// `idle_timeout`: how long a connection with nothing in flight is kept.
            idle_timeout: std::time::Duration = "de::duration" => idle_timeout,
            /// `send_timeout`: how long a client may accept no response bytes.
            send_timeout: std::time::Duration = "de::duration" => send_timeout,
            /// `max_connections_per_ip`: the limit per client address (IPv6: per
            /// /64); 0 is none.
            max_connections_per_ip: usize = "de::limit" => max_connections_per_ip,
            /// `proxy_protocol`: whether connections start with a PROXY header.
            proxy_protocol: bool = "de::plain" => proxy_protocol,
            /// `http1_fast_path`: whether HTTP/1.1 connections take the
            /// proxy-specialised path ([`http1_fast_path`](crate::Server::http1_fast_path)).
            http1_fast_path: bool = "de::plain" => http1_fast_path,
            /// `max_header_bytes`: the request head cap, a size of at least 8 KiB.
            max_header_bytes: usize = "de::header_bytes" => max_header_bytes,
            /// `max_headers`: the cap on request header lines.
            max_headers: usize = "de::count" => max_headers,
            /// `h2_max_concurrent_streams`: the cap on concurrent HTTP/2 streams.
            h2_max_concurrent_streams: u32 = "de::streams" => h2_max_concurrent_streams,
            /// `max_request_body`: the request body cap, a size; 0 is none.
            max_request_body: u64 = "de::size" => max_request_body,
            /// `min_body_rate`: the lowest average request body rate, a size per
            /// second (`"256B/s"`); 0 is none.
            min_body_rate: u64 = "de::rate" => min_body_rate,
        }
    };
}
pub(crate) use with_settings;

/// Declares [`Settings`] from the list.
macro_rules! declare {
    ($( $(#[$doc:meta])* $key:ident: $ty:ty = $de:literal => $setter:ident, )*) => {
        /// A server's connection settings as one value, what the `frontdoor` binary's
        /// `[server]` table deserialises into and what
        /// [`Server::settings`](crate::Server::settings) and
        /// [`Workers::settings`](crate::Workers::settings) take; `None` keeps the
        /// builder's default. Values follow [`frontdoor_core::values`]: durations as
        /// `"10s"`, sizes as bytes or `"64KiB"`, rates as `"256B/s"` or 0.
        ///
        /// ```
        /// use std::time::Duration;
        ///
        /// let settings: frontdoor_serve::Settings =
        ///     serde_json::from_str(r#"{"header_timeout": "5s", "max_header_bytes": "16KiB"}"#)?;
        /// assert_eq!(settings.header_timeout, Some(Duration::from_secs(5)));
        /// assert_eq!(settings.max_header_bytes, Some(16 * 1024));
        /// # Ok::<_, serde_json::Error>(())
        /// ```
        #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
        #[non_exhaustive]
        pub struct Settings {
            /// `tls_handshake_timeout`: how long a TLS client may take to complete its
            /// handshake (applied with the `tls` feature).
            #[serde(default, deserialize_with = "de::duration")]
            pub tls_handshake_timeout: Option<Duration>,
            $( $(#[$doc])* #[serde(default, deserialize_with = $de)] pub $key: Option<$ty>, )*
        }

        impl Settings {
            /// The keys whose value differs in `new` (`tls_handshake_timeout`,
            /// `header_timeout`, ...): what running listeners cannot take on.
            #[must_use]
            pub fn changed_keys(&self, new: &Self) -> Vec<&'static str> {
                let mut keys = Vec::new();
                if self.tls_handshake_timeout != new.tls_handshake_timeout {
                    keys.push("tls_handshake_timeout");
                }
                $( if self.$key != new.$key {
                    keys.push(stringify!($key));
                } )*
                keys
            }
        }
    };
}
with_settings!(declare);

/// The `settings` method of [`Server`](crate::Server) and
/// [`Workers`](crate::Workers), from the list (inside `limit_setters!`).
macro_rules! settings_method {
    ($( $(#[$doc:meta])* $key:ident: $ty:ty = $de:literal => $setter:ident, )*) => {
        /// Every setting `settings` gives, through its setter (a `None` keeps what
        /// was set before). See [`Settings`](crate::Settings).
        pub fn settings(mut self, settings: &$crate::Settings) -> Self {
            #[cfg(feature = "tls")]
            if let Some(timeout) = settings.tls_handshake_timeout {
                self = self.tls_handshake_timeout(timeout);
            }
            $( if let Some(value) = settings.$key {
                self = self.$setter(value);
            } )*
            self
        }
    };
}
pub(crate) use settings_method;

/// The deserialisers of setting values: each error is the message of the settings
/// grammar ([`frontdoor_core::values`]).
mod de {
    use std::{fmt, time::Duration};

    use frontdoor_core::values;
    use serde::{de::Error, Deserialize, Deserializer};

    pub(super) fn plain<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Option::<T>::deserialize(d)
    }

    pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        values::duration(&text).map(Some).map_err(D::Error::custom)
    }

    pub(super) fn delay<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Text::deserialize(d)? {
            Text::Number(0) => Ok(Some(Duration::ZERO)),
            Text::Number(n) => Err(D::Error::custom(values::delay_error(&n.to_string()))),
            Text::String(s) => values::delay(&s).map(Some).map_err(D::Error::custom),
        }
    }

    pub(super) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        values::count(i64::deserialize(d)?)
            .map(Some)
            .map_err(D::Error::custom)
    }

    pub(super) fn limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        values::limit(i64::deserialize(d)?)
            .map(Some)
            .map_err(D::Error::custom)
    }

    pub(super) fn streams<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        count(d).map(|n| n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    pub(super) fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let value = Text::deserialize(d)?;
        let parsed = match &value {
            Text::Number(n) => u64::try_from(*n).ok(),
            Text::String(s) => values::parse_size(s),
        };
        parsed
            .map(Some)
            .ok_or_else(|| D::Error::custom(values::size_error(&value.to_string())))
    }

    pub(super) fn header_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        let bytes = size(d)?.unwrap_or_default();
        let min = crate::MIN_MAX_HEADER_BYTES as u64;
        if bytes < min {
            return Err(D::Error::custom(format!(
                "must be at least 8KiB, got {bytes} bytes"
            )));
        }
        Ok(Some(usize::try_from(bytes).unwrap_or(usize::MAX)))
    }

    pub(super) fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let value = Text::deserialize(d)?;
        let parsed = match &value {
            Text::Number(0) => Some(0),
            Text::Number(_) => None,
            Text::String(s) => values::parse_rate(s),
        };
        parsed
            .map(Some)
            .ok_or_else(|| D::Error::custom(values::rate_error(&value.to_string())))
    }

    /// A number or a string, shown as written in errors.
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a number or a string")]
    enum Text {
        Number(i64),
        String(String),
    }

    impl fmt::Display for Text {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Number(n) => write!(f, "{n}"),
                Self::String(s) => write!(f, "{s:?}"),
            }
        }
    }
}
