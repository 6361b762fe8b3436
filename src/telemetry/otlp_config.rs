//! [`OtlpConfig`]: where and how the registry is pushed by OTLP/HTTP, from
//! code or from the standard `OTEL_*` environment variables.
#![forbid(unsafe_code)]

use super::config::ConfigError;
use std::time::Duration;

/// Cumulative (each point from the series' start) or delta (each point
/// since the previous export) sums and histograms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Temporality {
    /// Totals since the series started (the default).
    #[default]
    Cumulative,
    /// What changed since the previous delivered export.
    Delta,
}

/// How histograms are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HistogramAggregation {
    /// `ExponentialHistogram` (the default): base-2 exponential buckets at
    /// the finest scale that fits [`OtlpConfig::max_buckets`].
    #[default]
    Exponential,
    /// Explicit-bucket `Histogram` with the classic bounds of the client's
    /// [`TextOptions`](crate::export::TextOptions) (the `le` bounds a
    /// scrape writes).
    Explicit,
}

/// Request body compression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Uncompressed (the default).
    #[default]
    None,
    /// `Content-Encoding: gzip`.
    Gzip,
}

/// The OTLP/HTTP metrics exporter's settings (feature `otlp`).
///
/// | variable | setting | default |
/// |---|---|---|
/// | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | [`endpoint`](Self::endpoint), used as is | none |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT` | [`endpoint`](Self::endpoint): the base URL, `/v1/metrics` appended | none |
/// | `OTEL_EXPORTER_OTLP_(METRICS_)HEADERS` | [`headers`](Self::headers): `k=v,k2=v2`, values percent-decoded | none |
/// | `OTEL_EXPORTER_OTLP_(METRICS_)TIMEOUT` | [`timeout`](Self::timeout) in ms | the client's timeout |
/// | `OTEL_EXPORTER_OTLP_(METRICS_)COMPRESSION` | [`compression`](Self::compression): `gzip` or `none` | none |
/// | `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` | [`temporality`](Self::temporality): `cumulative`, `delta` or `lowmemory` (delta: hotmetrics counters and histograms are synchronous) | cumulative |
/// | `OTEL_SERVICE_NAME` | the `service.name` resource attribute | `unknown_service` |
/// | `OTEL_RESOURCE_ATTRIBUTES` | [`resource`](Self::resource): `k=v,k2=v2`, percent-decoded | none |
/// | `OTEL_METRIC_EXPORT_INTERVAL` | [`interval`](Self::interval) in ms | 60000 |
///
/// The `METRICS_` forms win over the generic ones.
/// `OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL`, if set, must be
/// `http/protobuf` (gRPC and JSON are not spoken).
///
/// ```
/// use hotmetrics::telemetry::{OtlpConfig, Compression, Temporality};
///
/// let c = OtlpConfig::from_vars([
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
///     ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=a%20b"),
///     ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
///     ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
///     ("OTEL_SERVICE_NAME", "checkout"),
/// ])
/// .unwrap()
/// .unwrap();
/// assert_eq!(c.endpoint, "http://collector:4318/v1/metrics");
/// assert_eq!(c.headers, [("x-tenant".to_string(), "a b".to_string())]);
/// assert_eq!(c.compression, Compression::Gzip);
/// assert_eq!(c.temporality, Temporality::Delta);
/// assert!(c.resource.contains(&("service.name".into(), "checkout".into())));
/// ```
#[derive(Clone, PartialEq)]
pub struct OtlpConfig {
    /// The full URL requests are POSTed to (`.../v1/metrics`).
    pub endpoint: String,
    /// Extra request headers (after `Content-Type` and `Content-Encoding`).
    pub headers: Vec<(String, String)>,
    /// The timeout of one request (`None`: the client's).
    pub timeout: Option<Duration>,
    /// Body compression.
    pub compression: Compression,
    /// Cumulative or delta sums and histograms.
    pub temporality: Temporality,
    /// Exponential or explicit-bucket histograms.
    pub histograms: HistogramAggregation,
    /// The most buckets (positive plus negative) an exponential histogram
    /// point has; the scale is lowered until it fits (default 160, as the
    /// OpenTelemetry SDKs).
    pub max_buckets: usize,
    /// Resource attributes (`service.name` among them).
    pub resource: Vec<(String, String)>,
    /// How often the registry is exported.
    pub interval: Duration,
}

impl OtlpConfig {
    /// Defaults, pushing to `endpoint` (the full `.../v1/metrics` URL).
    pub fn new(endpoint: impl Into<String>) -> OtlpConfig {
        OtlpConfig {
            endpoint: endpoint.into(),
            headers: Vec::new(),
            timeout: None,
            compression: Compression::None,
            temporality: Temporality::Cumulative,
            histograms: HistogramAggregation::Exponential,
            max_buckets: crate::export::native::DEFAULT_MAX_BUCKETS,
            resource: vec![("service.name".into(), "unknown_service".into())],
            interval: Duration::from_secs(60),
        }
    }

    /// [`from_vars`](Self::from_vars) over the process environment.
    pub fn from_env() -> Result<Option<OtlpConfig>, ConfigError> {
        OtlpConfig::from_vars(std::env::vars().filter(|(k, _)| k.starts_with("OTEL_")))
    }

    /// The settings the `OTEL_*` variables among `vars` make (see the
    /// table); `Ok(None)` when neither endpoint variable is set.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Option<OtlpConfig>, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().trim().to_string()))
            .collect();
        let get = |name: &str| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(k, v)| (k.as_str(), v.as_str()))
        };
        let either =
            |generic: &str| get(&generic.replace("OTLP_", "OTLP_METRICS_")).or(get(generic));
        let endpoint = match (
            get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some((_, v)), _) => v.to_string(),
            (None, Some((_, v))) => format!("{}/v1/metrics", v.trim_end_matches('/')),
            (None, None) => return Ok(None),
        };
        // Only OTLP/HTTP with protobuf is spoken here: another protocol
        // asked for is an error, not a silent switch.
        if let Some((k, v)) = either("OTEL_EXPORTER_OTLP_PROTOCOL") {
            if !v.is_empty() && v != "http/protobuf" {
                return Err(invalid(k, v, "only http/protobuf is supported"));
            }
        }
        let mut c = OtlpConfig::new(endpoint);
        if let Some((k, v)) = either("OTEL_EXPORTER_OTLP_HEADERS") {
            c.headers = pairs(k, v)?;
        }
        if let Some((k, v)) = either("OTEL_EXPORTER_OTLP_TIMEOUT") {
            c.timeout = Some(Duration::from_millis(millis(k, v)?));
        }
        if let Some((k, v)) = either("OTEL_EXPORTER_OTLP_COMPRESSION") {
            c.compression = match v.to_ascii_lowercase().as_str() {
                "gzip" => Compression::Gzip,
                "none" | "" => Compression::None,
                _ => return Err(invalid(k, v, "expected gzip or none")),
            };
        }
        if let Some((k, v)) = get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE") {
            c.temporality = match v.to_ascii_lowercase().as_str() {
                "cumulative" => Temporality::Cumulative,
                "delta" | "lowmemory" => Temporality::Delta,
                _ => return Err(invalid(k, v, "expected cumulative, delta or lowmemory")),
            };
        }
        if let Some((k, v)) = get("OTEL_RESOURCE_ATTRIBUTES") {
            for (key, value) in pairs(k, v)? {
                c.set_resource(key, value);
            }
        }
        if let Some((_, v)) = get("OTEL_SERVICE_NAME").filter(|(_, v)| !v.is_empty()) {
            c.set_resource("service.name".into(), v.to_string());
        }
        if let Some((k, v)) = get("OTEL_METRIC_EXPORT_INTERVAL") {
            c.interval = Duration::from_millis(millis(k, v)?);
        }
        c.validate()?;
        Ok(Some(c))
    }

    /// Sets resource attribute `key` (replacing an earlier value).
    pub fn set_resource(&mut self, key: String, value: String) {
        match self.resource.iter_mut().find(|(k, _)| *k == key) {
            Some(kv) => kv.1 = value,
            None => self.resource.push((key, value)),
        }
    }

    /// Checks the settings made in code as `from_vars` checks variables.
    pub fn validate(&self) -> Result<(), ConfigError> {
        super::config::check_url("otlp.endpoint", &self.endpoint)?;
        if self.max_buckets < 2 {
            return Err(invalid(
                "otlp.max_buckets",
                &self.max_buckets.to_string(),
                "at least 2",
            ));
        }
        for (name, d) in [
            ("otlp.interval", Some(self.interval)),
            ("otlp.timeout", self.timeout),
        ] {
            if d.is_some_and(|d| d.is_zero()) {
                return Err(invalid(name, &format!("{d:?}"), "must be positive"));
            }
        }
        for (k, v) in &self.headers {
            let ok_name = !k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic() && b != b':');
            let ok_value = v
                .bytes()
                .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic());
            if !ok_name || !ok_value {
                return Err(invalid("otlp.headers", k, "not a valid header"));
            }
        }
        Ok(())
    }
}

/// Header values are redacted: they often hold credentials.
impl std::fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, _)| (k.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("OtlpConfig")
            .field("endpoint", &self.endpoint)
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("temporality", &self.temporality)
            .field("histograms", &self.histograms)
            .field("max_buckets", &self.max_buckets)
            .field("resource", &self.resource)
            .field("interval", &self.interval)
            .finish()
    }
}

fn invalid(name: &str, value: &str, reason: &'static str) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_string(),
        value: value.to_string(),
        reason,
    }
}

fn millis(k: &str, v: &str) -> Result<u64, ConfigError> {
    match v.parse::<u64>() {
        Ok(n) if (1..=3_600_000).contains(&n) => Ok(n),
        Ok(_) => Err(invalid(k, v, "out of range")),
        Err(_) => Err(invalid(k, v, "not a whole number")),
    }
}

/// `k=v,k2=v2` (W3C baggage-like), keys and values trimmed and
/// percent-decoded; empty members are skipped.
fn pairs(k: &str, v: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for member in v.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let (key, value) = member
            .split_once('=')
            .ok_or_else(|| invalid(k, v, "expected key=value pairs"))?;
        let key = decode(key.trim()).ok_or_else(|| invalid(k, v, "bad percent-encoding"))?;
        let value = decode(value.trim()).ok_or_else(|| invalid(k, v, "bad percent-encoding"))?;
        if key.is_empty() {
            return Err(invalid(k, v, "empty key"));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Percent-decodes `s`; `None` on a malformed escape or invalid UTF-8.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_variables_win_and_values_decode() {
        let c = OtlpConfig::from_vars([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318/"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://b:9/custom"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x=1"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "api-key=s%3Dcret , y = 2",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "250"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "LowMemory",
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=x,deployment.environment=prod%2Feu",
            ),
            ("OTEL_SERVICE_NAME", "api"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.endpoint, "http://b:9/custom");
        assert_eq!(
            c.headers,
            [
                ("api-key".into(), "s=cret".into()),
                ("y".into(), "2".into())
            ]
        );
        assert_eq!(c.timeout, Some(Duration::from_millis(250)));
        assert_eq!(c.temporality, Temporality::Delta);
        assert_eq!(
            c.resource,
            [
                ("service.name".to_string(), "api".to_string()),
                ("deployment.environment".into(), "prod/eu".into())
            ]
        );
        assert_eq!(c.interval, Duration::from_secs(5));
        let shown = format!("{c:?}");
        assert!(
            shown.contains("api-key") && !shown.contains("s=cret"),
            "{shown}"
        );
        let base = OtlpConfig::from_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318/")]);
        assert_eq!(base.unwrap().unwrap().endpoint, "http://a:4318/v1/metrics");
        assert_eq!(
            OtlpConfig::from_vars([("OTEL_SERVICE_NAME", "x")]),
            Ok(None)
        );
    }

    #[test]
    fn bad_values_are_named() {
        let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1");
        for (k, v) in [
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "sometimes",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ] {
            let err = OtlpConfig::from_vars([ep, (k, v)]).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { name, .. } if name == k),
                "{k}: {err}"
            );
        }
        let err = OtlpConfig::from_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }));
    }
}
