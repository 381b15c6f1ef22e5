//! The response future of a layer that either calls its inner service or answers the
//! request itself.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

use crate::{Body, BoxError};

pin_project! {
    /// Either the inner service's response, its body erased into [`Body`], or an answer
    /// the layer gave itself (a refusal), ready at once.
    ///
    /// The `ResponseFuture` of layers that refuse some requests before their inner
    /// service sees them (`frontdoor::ingress`, the resolver and its escaped-slash
    /// check).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use frontdoor_core::{text_response, Body, InnerOrAnswer};
    /// use http::{Response, StatusCode};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let refused: InnerOrAnswer<std::future::Ready<Result<Response<Body>, Infallible>>> =
    ///     InnerOrAnswer::answer(text_response(StatusCode::BAD_REQUEST, "no"));
    /// assert_eq!(refused.await.unwrap().status(), StatusCode::BAD_REQUEST);
    /// # });
    /// ```
    #[derive(Debug)]
    pub struct InnerOrAnswer<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Inner { #[pin] fut: F },
        Answer { res: Option<Response<Body>> },
    }
}

impl<F> InnerOrAnswer<F> {
    /// The inner service's response future.
    pub const fn inner(fut: F) -> Self {
        Self {
            state: State::Inner { fut },
        }
    }

    /// The layer's own answer.
    pub const fn answer(res: Response<Body>) -> Self {
        Self {
            state: State::Answer { res: Some(res) },
        }
    }
}

impl<F, B, E> Future for InnerOrAnswer<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { fut } => fut.poll(cx).map_ok(|res| res.map(Body::new)),
            StateProj::Answer { res } => match res.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => Poll::Pending,
            },
        }
    }
}
