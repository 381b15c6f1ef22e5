//! The error taxonomy every frontdoor layer uses, and its HTTP status mapping.

use std::{borrow::Cow, fmt};

use http::{header, HeaderValue, Response, StatusCode};

use crate::{Body, BoxError};

/// What went wrong, as far as the client's answer is concerned.
///
/// Each kind maps to exactly one status ([`ErrorKind::status`]); this table is the
/// one the edge rescue layer applies:
///
/// | kind | status |
/// |---|---|
/// | [`BadRequest`](ErrorKind::BadRequest) | 400 |
/// | [`NotFound`](ErrorKind::NotFound) | 404 |
/// | [`RequestTimeout`](ErrorKind::RequestTimeout) | 408 |
/// | [`PayloadTooLarge`](ErrorKind::PayloadTooLarge) | 413 |
/// | [`BadGateway`](ErrorKind::BadGateway) | 502 |
/// | [`ServiceUnavailable`](ErrorKind::ServiceUnavailable) | 503 |
/// | [`GatewayTimeout`](ErrorKind::GatewayTimeout) | 504 |
/// | [`Internal`](ErrorKind::Internal) | 500 |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed (bad Host, bad path escape, ...).
    BadRequest,
    /// Nothing is configured for this request.
    NotFound,
    /// The client was too slow sending its request body (it stalled for the body
    /// timeout, or its average rate fell below the minimum body rate).
    RequestTimeout,
    /// The request body is larger than a configured cap.
    PayloadTooLarge,
    /// The upstream refused, reset or answered something unparseable.
    BadGateway,
    /// No upstream is available (all ejected, overloaded, load shed).
    ServiceUnavailable,
    /// The upstream did not connect or answer in time.
    GatewayTimeout,
    /// A bug or a misconfiguration on our side.
    Internal,
}

impl ErrorKind {
    /// The HTTP status this kind is answered with.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable, lowercase name for logs and metrics labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::BadGateway => "bad_gateway",
            Self::ServiceUnavailable => "service_unavailable",
            Self::GatewayTimeout => "gateway_timeout",
            Self::Internal => "internal",
        }
    }

    /// Finds the kind of an arbitrary error by walking its [`source`] chain for a
    /// frontdoor [`Error`]; anything else is [`ErrorKind::Internal`].
    ///
    /// [`source`]: std::error::Error::source
    ///
    /// ```
    /// use frontdoor_core::{BoxError, Error, ErrorKind};
    ///
    /// let err: BoxError = Error::new(ErrorKind::GatewayTimeout, "upstream too slow").into();
    /// assert_eq!(ErrorKind::of(&*err), ErrorKind::GatewayTimeout);
    /// let other: BoxError = "boom".into();
    /// assert_eq!(ErrorKind::of(&*other), ErrorKind::Internal);
    /// ```
    #[must_use]
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut cur = Some(err);
        while let Some(e) = cur {
            if let Some(ours) = e.downcast_ref::<Error>() {
                return ours.kind;
            }
            cur = e.source();
        }
        Self::Internal
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of a known [`ErrorKind`], with a short message and an optional cause.
///
/// `Display` prints the message only (lowercase, no trailing period); the cause is
/// reachable through [`std::error::Error::source`].
///
/// ```
/// use frontdoor_core::{Error, ErrorKind};
///
/// let err = Error::bad_request("invalid host header");
/// assert_eq!(err.kind(), ErrorKind::BadRequest);
/// assert_eq!(err.status(), 400);
/// let res = err.into_response();
/// assert_eq!(res.status(), 400);
/// assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A [`ErrorKind::BadRequest`] error.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// A [`ErrorKind::Internal`] error.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind of this error.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status this error is answered with.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The message, without the cause.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The answer for this error: its status and a short `text/plain` body naming the
    /// status. The message itself is not sent (it may hold internal detail); log it.
    #[must_use]
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        text_response(status, status.canonical_reason().unwrap_or("Error"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Builds a `text/plain; charset=utf-8` response with an exact `content-length`.
///
/// A trailing newline is added to the body, as curl users expect.
///
/// ```
/// use frontdoor_core::text_response;
/// use http::StatusCode;
///
/// let res = text_response(StatusCode::NOT_FOUND, "Not Found");
/// assert_eq!(res.status(), 404);
/// assert_eq!(res.headers()["content-length"], "10");
/// ```
pub fn text_response(status: StatusCode, text: impl Into<Cow<'static, str>>) -> Response<Body> {
    let mut text = text.into().into_owned();
    text.push('\n');
    let len = HeaderValue::from(text.len());
    let mut res = Response::new(Body::from(text));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, len);
    res
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[test]
    fn every_kind_has_its_status() {
        let table = [
            (ErrorKind::BadRequest, 400, "bad_request"),
            (ErrorKind::NotFound, 404, "not_found"),
            (ErrorKind::PayloadTooLarge, 413, "payload_too_large"),
            (ErrorKind::BadGateway, 502, "bad_gateway"),
            (ErrorKind::ServiceUnavailable, 503, "service_unavailable"),
            (ErrorKind::GatewayTimeout, 504, "gateway_timeout"),
            (ErrorKind::Internal, 500, "internal"),
        ];
        for (kind, status, name) in table {
            assert_eq!(kind.status().as_u16(), status, "{kind:?}");
            assert_eq!(kind.to_string(), name);
        }
    }

    #[test]
    fn kind_is_found_through_the_source_chain() {
        #[derive(Debug)]
        struct Wrapper(Error);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("wrapper")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Wrapper(Error::new(ErrorKind::BadGateway, "refused"));
        assert_eq!(ErrorKind::of(&err), ErrorKind::BadGateway);
    }

    #[test]
    fn display_is_the_message_and_source_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = Error::new(ErrorKind::BadGateway, "upstream connect failed").with_source(io);
        assert_eq!(err.to_string(), "upstream connect failed");
        assert_eq!(err.message(), "upstream connect failed");
        let src = std::error::Error::source(&err).unwrap();
        assert_eq!(src.to_string(), "refused");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn responses_carry_status_text_and_length() {
        let res = Error::new(ErrorKind::GatewayTimeout, "secret detail").into_response();
        assert_eq!(res.status(), 504);
        assert_eq!(res.headers()["content-length"], "16");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"Gateway Timeout\n");
    }
}
