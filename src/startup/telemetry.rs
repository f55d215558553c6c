//! Logging and tracing for `serve`: text or JSON lines on stdout (`[log]`), and
//! OpenTelemetry spans over OTLP/HTTP when `[tracing] otlp_endpoint` is set.
//! Without a collector nothing is exported and nothing waits for one; with
//! one, a caller's `traceparent` is continued and passed on to the realms.

use std::sync::Arc;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::domain::{LogFormat, LogSettings, TracingSettings};

/// What must live as long as the process: the span exporter, flushed on drop.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Sends the exporter's requests with the service's reqwest client, on the
/// service's runtime (the exporter's own thread has none).
#[derive(Debug)]
struct OtlpHttp {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpHttp {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request.map(reqwest::Body::from))?;
            let response = client.execute(request).await?;
            let status = response.status();
            let body = response.bytes().await?;
            let mut answer = http::Response::new(body);
            *answer.status_mut() = status;
            Ok::<_, reqwest::Error>(answer)
        });
        Ok(sent.await??)
    }
}

fn tracer_provider(settings: &TracingSettings) -> Result<SdkTracerProvider, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(OtlpHttp {
            client,
            runtime: tokio::runtime::Handle::current(),
        })
        .with_endpoint(settings.otlp_endpoint.as_str())
        .build()
        .map_err(|e| format!("tracing.otlp_endpoint: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio,
        ))))
        .with_resource(resource)
        .build())
}

/// Installs the global subscriber: the level filter (`RUST_LOG` wins over
/// `log.level`), text or JSON lines on stdout, and the OpenTelemetry layer.
pub fn init(log: &LogSettings, tracing: Option<&TracingSettings>) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .map_err(|e| format!("log.level: {e}"))?;
    let provider = tracing.map(tracer_provider).transpose()?;
    let otel = provider.as_ref().map(|provider| {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer().with_tracer(provider.tracer("authproxy"))
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (text, json) = match log.format {
        LogFormat::Text => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(ansi),
            ),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_target(false)
                    .with_current_span(true)
                    .with_span_list(false)
                    .flatten_event(true),
            ),
        ),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(otel)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(Telemetry { provider })
}

/// The handle kept by `serve`.
pub type SharedTelemetry = Arc<Telemetry>;
