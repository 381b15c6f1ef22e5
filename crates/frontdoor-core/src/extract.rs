//! The typed extensions as axum extractors.
//!
//! Each extension type is its own extractor, as axum's `MatchedPath` and
//! `OriginalUri` are: a handler takes `resolved: Resolved` or `mount: Mount` as an
//! argument. Where an extension may legitimately be absent, `Option<T>` extracts it
//! without rejecting ([`MatchedRoute`] on a request served by the fallback,
//! [`PeerTrust`] without a [`ConnInfo`]).
//!
//! | extractor | present when | when absent |
//! |---|---|---|
//! | [`Resolved`] | the resolver layer ran | 500 ([`MissingExtension`]) |
//! | [`PeerTrust`] | the resolver layer ran on a request with [`ConnInfo`] | 500 |
//! | [`MatchedRoute`] | a route of frontdoor's router matched | 500 |
//! | [`ConnInfo`] | the server inserted it (`frontdoor::serve`, `frontdoor::axum::conn_info`) | 500 |
//! | [`Mount`] | always: absent means nothing was consumed (script name `""`) | never rejects |
//!
//! A missing extension is a server misconfiguration (a layer is not where it should
//! be), not a client error, hence 500; the rejection's text names the layer to add.
//!
//! ```
//! use axum_core::extract::FromRequestParts;
//! use frontdoor_core::{MissingExtension, Mount, Resolved};
//! use http::Request;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (mut parts, ()) = Request::get("/a/b").body(()).unwrap().into_parts();
//! let missing: MissingExtension = Resolved::from_request_parts(&mut parts, &()).await.unwrap_err();
//! assert_eq!(missing.name(), "Resolved");
//!
//! parts.extensions.insert("h:80:/a/b".parse::<Resolved>().unwrap());
//! let resolved = Resolved::from_request_parts(&mut parts, &()).await.unwrap();
//! assert_eq!(resolved.to_string(), "h:80:/a/b");
//!
//! // No router consumed anything: the whole path is path info.
//! let mount = Mount::from_request_parts(&mut parts, &()).await.unwrap();
//! assert_eq!((mount.script_name(), mount.path_info()), ("", "/a/b"));
//! # }
//! ```

use std::{
    convert::Infallible,
    fmt,
    future::{ready, Future},
};

use axum_core::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    response::{IntoResponse, Response},
};
use http::{request::Parts, StatusCode};

use crate::{text_response, ConnInfo, MatchedRoute, Mount, PeerTrust, Resolved};

// === MissingExtension ===

/// The rejection of an extractor whose extension is not on the request: answered with
/// 500, with a text naming the layer that inserts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingExtension {
    name: &'static str,
    hint: &'static str,
}

impl MissingExtension {
    /// The name of the missing extension type (`Resolved`, `PeerTrust`, ...).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Display for MissingExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} extension is missing: {}", self.name, self.hint)
    }
}

impl std::error::Error for MissingExtension {}

impl IntoResponse for MissingExtension {
    fn into_response(self) -> Response {
        text_response(StatusCode::INTERNAL_SERVER_ERROR, self.to_string())
    }
}

/// An extension every extractor of this module reads the same way.
trait Stamped: Clone + Send + Sync + 'static {
    const MISSING: MissingExtension;
}

impl Stamped for Resolved {
    const MISSING: MissingExtension = MissingExtension {
        name: "Resolved",
        hint: "wrap the app in frontdoor's ResolveLayer (outside axum's Router, so that \
               it runs before axum routes)",
    };
}

impl Stamped for PeerTrust {
    const MISSING: MissingExtension = MissingExtension {
        name: "PeerTrust",
        hint: "wrap the app in frontdoor's ResolveLayer, and serve it with ConnInfo \
               (frontdoor::serve, or frontdoor::axum::conn_info under axum::serve)",
    };
}

impl Stamped for MatchedRoute {
    const MISSING: MissingExtension = MissingExtension {
        name: "MatchedRoute",
        hint: "the request matched no route of a frontdoor Router (a miss served by the \
               fallback carries none); extract Option<MatchedRoute> there",
    };
}

impl Stamped for ConnInfo {
    const MISSING: MissingExtension = MissingExtension {
        name: "ConnInfo",
        hint: "serve with frontdoor::serve, or wrap the service in \
               frontdoor::axum::conn_info for axum::serve",
    };
}

fn required<T: Stamped>(parts: &Parts) -> Result<T, MissingExtension> {
    parts.extensions.get::<T>().cloned().ok_or(T::MISSING)
}

// One `FromRequestParts` and one `OptionalFromRequestParts` impl per extension type:
// the answer is known synchronously, so the future is `Ready` and the state needs no
// bounds.
macro_rules! extractor {
    ($($ty:ty),+) => {$(
        impl<S> FromRequestParts<S> for $ty {
            type Rejection = MissingExtension;

            fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
                ready(required::<Self>(parts))
            }
        }

        impl<S> OptionalFromRequestParts<S> for $ty {
            type Rejection = Infallible;

            fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> impl Future<Output = Result<Option<Self>, Self::Rejection>> + Send {
                ready(Ok(parts.extensions.get::<Self>().cloned()))
            }
        }
    )+};
}

extractor!(Resolved, PeerTrust, MatchedRoute, ConnInfo);

impl<S> FromRequestParts<S> for Mount {
    type Rejection = Infallible;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        ready(Ok(parts
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self::from_path(parts.uri.path()))))
    }
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn parts(path: &str) -> Parts {
        Request::get(path).body(()).unwrap().into_parts().0
    }

    #[tokio::test(flavor = "current_thread")]
    async fn present_extensions_are_extracted() {
        let mut p = parts("/x");
        p.extensions.insert(MatchedRoute::new(2, "::/svn"));
        p.extensions
            .insert(PeerTrust::new(true, [10, 0, 0, 1].into()));
        p.extensions.insert(Mount::new("/svn", "/x"));
        let conn = ConnInfo::new(([127, 0, 0, 1], 80).into(), ([127, 0, 0, 1], 5).into());
        p.extensions.insert(conn);
        let route = <MatchedRoute as FromRequestParts<()>>::from_request_parts(&mut p, &())
            .await
            .unwrap();
        assert_eq!(route.index, 2);
        let trust = <PeerTrust as FromRequestParts<()>>::from_request_parts(&mut p, &())
            .await
            .unwrap();
        assert!(trust.peer_trusted);
        let info = <ConnInfo as FromRequestParts<()>>::from_request_parts(&mut p, &())
            .await
            .unwrap();
        assert_eq!(info, conn);
        let mount = Mount::from_request_parts(&mut p, &()).await.unwrap();
        assert_eq!(mount.script_name(), "/svn");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn absent_extensions_reject_with_500_or_extract_none() {
        let mut p = parts("/x");
        for (missing, name) in [
            (
                <Resolved as FromRequestParts<()>>::from_request_parts(&mut p, &())
                    .await
                    .unwrap_err(),
                "Resolved",
            ),
            (
                <PeerTrust as FromRequestParts<()>>::from_request_parts(&mut p, &())
                    .await
                    .unwrap_err(),
                "PeerTrust",
            ),
            (
                <MatchedRoute as FromRequestParts<()>>::from_request_parts(&mut p, &())
                    .await
                    .unwrap_err(),
                "MatchedRoute",
            ),
            (
                <ConnInfo as FromRequestParts<()>>::from_request_parts(&mut p, &())
                    .await
                    .unwrap_err(),
                "ConnInfo",
            ),
        ] {
            assert_eq!(missing.name(), name);
            assert!(missing
                .to_string()
                .starts_with(&format!("the {name} extension is missing: ")));
            let res = missing.into_response();
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
        let none = <MatchedRoute as OptionalFromRequestParts<()>>::from_request_parts(&mut p, &())
            .await
            .unwrap();
        assert_eq!(none, None);
    }
}
