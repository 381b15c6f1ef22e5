//! OTLP/HTTP export of the front door's spans: [`OtlpExporter`] takes finished spans
//! ([`SpanRecord`]) on a bounded queue and POSTs them in batches to
//! `{endpoint}/v1/traces` as OTLP/HTTP protobuf (gzip-compressed), through the
//! upstream client (`https` endpoints with the webpki roots or a CA file). Recording
//! never waits: when the queue is full (a collector down or slow) a span is dropped and
//! counted ([`OtlpExporter::dropped`]); each export has a timeout.

use std::{
    io::Write as _,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use frontdoor_core::Body;
use frontdoor_upstream::{Upstream, UpstreamConfigError};
use http::{header, HeaderName, HeaderValue, Request};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue},
    resource::v1::Resource,
    trace::v1::{span::SpanKind, status::StatusCode, ResourceSpans, ScopeSpans, Span, Status},
};
use parking_lot::Mutex;
use prost::Message as _;
use tokio::sync::mpsc;
use tower::ServiceExt as _;

/// The spans a queue holds before new ones are dropped.
const QUEUE: usize = 4096;
/// The most spans in one export.
const BATCH: usize = 512;
/// How long a span waits for others before its batch is sent.
const LINGER: Duration = Duration::from_secs(1);

/// A span's attribute value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AttrValue {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
}

/// Whether a span served a request (server) or made one (client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The front door's span for a request it received.
    Server,
    /// The front door's span for a call to an upstream.
    Client,
}

/// A finished span, as the layers record it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SpanRecord {
    /// The trace.
    pub trace_id: [u8; 16],
    /// The span.
    pub span_id: [u8; 8],
    /// Its parent, if any.
    pub parent_id: Option<[u8; 8]>,
    /// The span's name (`GET api`).
    pub name: String,
    /// Server or client.
    pub kind: Kind,
    /// When it started and ended.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// Its attributes, with the semantic-convention names.
    pub attributes: Vec<(&'static str, AttrValue)>,
    /// Whether it failed (an error status).
    pub error: bool,
}

/// Where spans are exported and how.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExportConfig {
    /// The collector's base URL (`http://collector:4318`); spans go to
    /// `{endpoint}/v1/traces`, or to the endpoint itself when `full_url`.
    pub endpoint: String,
    /// Whether `endpoint` is the traces URL itself (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub full_url: bool,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Extra request headers (the collector's auth).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// How long one export may take.
    pub timeout: Duration,
    /// A PEM file of CA certificates the collector's `https` certificate is verified
    /// with, instead of the webpki roots (read by whoever builds the client).
    pub ca: Option<std::path::PathBuf>,
}

impl ExportConfig {
    /// Spans to `{endpoint}/v1/traces`, as service `frontdoor`, with a 10 s timeout.
    #[must_use]
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            full_url: false,
            service_name: "frontdoor".to_owned(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            ca: None,
        }
    }
}

impl PartialEq for ExportConfig {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.endpoint,
            self.full_url,
            &self.service_name,
            &self.headers,
            self.timeout,
            &self.ca,
        ) == (
            &other.endpoint,
            other.full_url,
            &other.service_name,
            &other.headers,
            other.timeout,
            &other.ca,
        )
    }
}

/// Exports spans over OTLP/HTTP. Cheap to clone; the export task starts with the
/// first span (on the runtime that records it) and ends when every clone is gone.
#[derive(Clone)]
pub struct OtlpExporter {
    shared: Arc<Shared>,
}

struct Shared {
    tx: mpsc::Sender<SpanRecord>,
    /// The queue's receiving end until the export task takes it.
    rx: Mutex<Option<mpsc::Receiver<SpanRecord>>>,
    /// Whether the export task runs (a fast check before taking the lock).
    started: AtomicBool,
    dropped: AtomicU64,
    on_drop: Option<Box<dyn Fn(u64) + Send + Sync>>,
    client: Upstream,
    path: String,
    config: ExportConfig,
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// An exporter for `config`, its client built by `client` from the collector's
    /// base URL (so the caller sets TLS); `on_drop` is told of every dropped span.
    ///
    /// # Errors
    ///
    /// When the endpoint is not a URL the upstream client takes, and why.
    pub fn new(
        config: ExportConfig,
        client: impl FnOnce(frontdoor_upstream::UpstreamBuilder) -> frontdoor_upstream::UpstreamBuilder,
        on_drop: Option<Box<dyn Fn(u64) + Send + Sync>>,
    ) -> Result<Self, String> {
        let uri: http::Uri = config
            .endpoint
            .parse()
            .map_err(|e| format!("not a URL: {e}"))?;
        let base = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or("http"),
            uri.authority().map_or("", http::uri::Authority::as_str)
        );
        let own = uri.path().trim_end_matches('/');
        let path = if config.full_url {
            own.to_owned()
        } else {
            format!("{own}/v1/traces")
        };
        let builder = Upstream::builder(&base)
            .no_upgrades()
            .connect_timeout(Some(config.timeout))
            .head_timeout(Some(config.timeout))
            .body_idle_timeout(Some(config.timeout));
        let client = client(builder)
            .build()
            .map_err(|e: UpstreamConfigError| e.message().to_owned())?;
        let (tx, rx) = mpsc::channel(QUEUE);
        Ok(Self {
            shared: Arc::new(Shared {
                tx,
                rx: Mutex::new(Some(rx)),
                started: AtomicBool::new(false),
                dropped: AtomicU64::new(0),
                on_drop,
                client,
                path,
                config,
            }),
        })
    }

    /// Queues `span` for export, or drops (and counts) it when the queue is full.
    pub fn record(&self, span: SpanRecord) {
        self.start();
        if self.shared.tx.try_send(span).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            if let Some(on_drop) = &self.shared.on_drop {
                on_drop(1);
            }
        }
    }

    /// How many spans were dropped so far.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Starts the export task on the current runtime, once (not before a span is
    /// recorded on a runtime: until then the queue holds the spans).
    fn start(&self) {
        if self.shared.started.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Some(rx) = self.shared.rx.lock().take() {
            let exporter = Arc::downgrade(&self.shared);
            handle.spawn(export_loop(rx, exporter));
            self.shared.started.store(true, Ordering::Release);
        }
    }
}

/// Sends batches until every sender is gone.
async fn export_loop(mut rx: mpsc::Receiver<SpanRecord>, shared: std::sync::Weak<Shared>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(span)) => batch.push(span),
                _ => break,
            }
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let request = encode(&shared.config, batch);
        let timeout = shared.config.timeout;
        if let Err(reason) = tokio::time::timeout(timeout, send(&shared, request))
            .await
            .map_err(|_| "timed out".to_owned())
            .and_then(|r| r)
        {
            tracing::debug!(%reason, "span export failed");
        }
    }
}

async fn send(shared: &Shared, body: Vec<u8>) -> Result<(), String> {
    let mut req = Request::post(shared.path.as_str())
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    for (name, value) in &shared.config.headers {
        req.headers_mut().insert(name.clone(), value.clone());
    }
    let res = shared
        .client
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("collector answered {}", res.status()))
    }
}

/// A batch as a gzip-compressed OTLP `ExportTraceServiceRequest`.
fn encode(config: &ExportConfig, batch: Vec<SpanRecord>) -> Vec<u8> {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    AttrValue::Str(config.service_name.clone()),
                )],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "frontdoor".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans: batch.into_iter().map(span).collect(),
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    let plain = request.encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain)
        .and_then(|()| gz.finish())
        .unwrap_or_default()
}

fn span(record: SpanRecord) -> Span {
    let nanos = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    };
    Span {
        trace_id: record.trace_id.to_vec(),
        span_id: record.span_id.to_vec(),
        parent_span_id: record.parent_id.map(|p| p.to_vec()).unwrap_or_default(),
        name: record.name,
        kind: match record.kind {
            Kind::Server => SpanKind::Server,
            Kind::Client => SpanKind::Client,
        } as i32,
        start_time_unix_nano: nanos(record.start),
        end_time_unix_nano: nanos(record.end),
        attributes: record
            .attributes
            .into_iter()
            .map(|(k, v)| kv(k, v))
            .collect(),
        status: record.error.then(|| Status {
            code: StatusCode::Error as i32,
            ..Status::default()
        }),
        ..Span::default()
    }
}

fn kv(key: &str, value: AttrValue) -> KeyValue {
    let value = match value {
        AttrValue::Str(s) => any_value::Value::StringValue(s),
        AttrValue::Int(i) => any_value::Value::IntValue(i),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}
