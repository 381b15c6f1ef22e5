//! [`UpstreamSpanLayer`]: each call to the upstream client a span of the request's
//! trace.

use std::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
    time::SystemTime,
};

use frontdoor_core::TraceContext;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{
    export::{AttrValue, Kind, OtlpExporter, SpanRecord},
    ids::{random8, TRACEPARENT},
};

// === UpstreamSpanLayer ===

/// Makes each call to the upstream client a new span of the request's trace: the
/// upstream's `traceparent` names it as the parent, and with an exporter the span is
/// recorded (kind client) when the response head arrives or the call fails.
/// Requests without a [`TraceContext`] pass as they are.
#[derive(Clone, Debug, Default)]
pub struct UpstreamSpanLayer {
    exporter: Option<OtlpExporter>,
}

impl UpstreamSpanLayer {
    /// Records the sampled calls' spans to `exporter`.
    #[must_use]
    pub const fn new(exporter: Option<OtlpExporter>) -> Self {
        Self { exporter }
    }
}

impl<S> Layer<S> for UpstreamSpanLayer {
    type Service = UpstreamSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        UpstreamSpan {
            inner,
            exporter: self.exporter.clone(),
        }
    }
}

/// The service of [`UpstreamSpanLayer`].
#[derive(Clone, Debug)]
pub struct UpstreamSpan<S> {
    inner: S,
    exporter: Option<OtlpExporter>,
}

impl<S, B, ResB> Service<Request<B>> for UpstreamSpan<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = UpstreamSpanFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let mut span = None;
        if let Some(cx) = req.extensions().get::<TraceContext>() {
            let span_id = random8();
            let traceparent = cx.traceparent(span_id);
            let exporter = self.exporter.clone().filter(|_| cx.sampled());
            span = exporter.map(|exporter| {
                let method = req.method().to_string();
                let record = SpanRecord {
                    trace_id: cx.trace_id(),
                    span_id,
                    parent_id: Some(cx.span_id()),
                    name: method.clone(),
                    kind: Kind::Client,
                    start: SystemTime::now(),
                    end: SystemTime::now(),
                    attributes: vec![
                        ("http.request.method", AttrValue::Str(method)),
                        ("url.path", AttrValue::Str(req.uri().path().to_owned())),
                    ],
                    error: false,
                };
                (record, exporter)
            });
            req.headers_mut().insert(TRACEPARENT, traceparent);
        }
        UpstreamSpanFuture {
            inner: self.inner.call(req),
            span,
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`UpstreamSpan`].
    pub struct UpstreamSpanFuture<F> {
        #[pin]
        inner: F,
        span: Option<(SpanRecord, OtlpExporter)>,
    }
}

impl<F, ResB, E> Future for UpstreamSpanFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Some((mut record, exporter)) = this.span.take() {
            record.end = SystemTime::now();
            match &result {
                Ok(res) => {
                    let status = res.status().as_u16();
                    record.attributes.push((
                        "http.response.status_code",
                        AttrValue::Int(i64::from(status)),
                    ));
                    record.error = status >= 500;
                }
                Err(_) => record.error = true,
            }
            exporter.record(record);
        }
        Poll::Ready(result)
    }
}
