//! [`Config`]: the client's settings, from code or from
//! `HOTMETRICS_TELEMETRY_*` environment variables.
#![forbid(unsafe_code)]

use super::auth::Authorization;
use super::breaker::BreakerConfig;
use std::fmt;
use std::time::Duration;

/// The client's settings. Build one with the setters (or through
/// [`ClientBuilder`](super::ClientBuilder)), or read it from the
/// environment with [`Config::from_env`].
///
/// | variable | setting | default |
/// |---|---|---|
/// | `HOTMETRICS_TELEMETRY_ENABLED` | [`enabled`](Self::enabled) (`true`/`false`/`1`/`0`) | `true` |
/// | `HOTMETRICS_TELEMETRY_ENDPOINT` | [`events_endpoint`](Self::events_endpoint) (an `http://` URL, or `https://` with feature `telemetry-tls`) | none |
/// | `HOTMETRICS_TELEMETRY_REMOTE_WRITE_URL` | [`remote_write`](Self::remote_write) | none |
/// | `HOTMETRICS_TELEMETRY_BATCH_SIZE` | [`batch_size`](Self::batch_size) | 64 |
/// | `HOTMETRICS_TELEMETRY_INTERVAL_MS` | [`interval`](Self::interval) | 1000 |
/// | `HOTMETRICS_TELEMETRY_PUSH_INTERVAL_MS` | [`push_interval`](Self::push_interval) | 15000 |
/// | `HOTMETRICS_TELEMETRY_TIMEOUT_MS` | [`timeout`](Self::timeout) | 5000 |
/// | `HOTMETRICS_TELEMETRY_QUEUE_CAPACITY` | [`queue_capacity`](Self::queue_capacity) | 512 |
/// | `HOTMETRICS_TELEMETRY_MAX_RETRIES` | [`max_retries`](Self::max_retries) | 3 |
///
/// ```
/// use hotmetrics::telemetry::{Config, ConfigError};
///
/// let vars = [
///     ("HOTMETRICS_TELEMETRY_ENDPOINT", "http://127.0.0.1:4318/events"),
///     ("HOTMETRICS_TELEMETRY_BATCH_SIZE", "64"),
/// ];
/// let c = Config::from_vars(vars).unwrap();
/// assert_eq!(c.batch_size, 64);
///
/// let err = Config::from_vars([("HOTMETRICS_TELEMETRY_BATCH_SIZE", "lots")]).unwrap_err();
/// assert!(matches!(err, ConfigError::Invalid { .. }));
/// assert_eq!(
///     err.to_string(),
///     "HOTMETRICS_TELEMETRY_BATCH_SIZE=\"lots\": not a whole number"
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Off: emitting is a no-op and no thread starts.
    pub enabled: bool,
    /// Where event batches are POSTed as JSON lines.
    pub events_endpoint: Option<String>,
    /// Where metric snapshots are pushed (Prometheus remote write 1.0).
    pub remote_write: Option<String>,
    /// A batch is sent once this many events are queued (1..=65,536),
    /// and carries that many; when the exporter is behind (half the queue
    /// or more waiting), one request carries up to half the queue.
    pub batch_size: usize,
    /// ...or once the oldest has waited this long.
    pub interval: Duration,
    /// How often a snapshot is pushed.
    pub push_interval: Duration,
    /// The timeout of one HTTP request.
    pub timeout: Duration,
    /// The queue's bound (1..=1,048,576 events, 56 bytes each).
    pub queue_capacity: usize,
    /// Retries of a failed batch before it is dropped (0..=100).
    pub max_retries: u32,
    /// The circuit breaker's settings.
    pub breaker: BreakerConfig,
    /// The `Authorization` header sent with every request (none by
    /// default). Over plain `http://` it travels in clear text.
    pub authorization: Option<Authorization>,
    /// PEM certificates to trust for `https://` endpoints instead of the
    /// built-in Mozilla roots (feature `telemetry-tls`; without it, setting
    /// this is an error).
    pub tls_ca_pem: Option<String>,
    /// Where and how the registry is pushed by OTLP/HTTP (feature `otlp`;
    /// [`Config::from_env`] reads the standard `OTEL_*` variables into it,
    /// see [`OtlpConfig`](super::OtlpConfig)).
    #[cfg(feature = "otlp")]
    pub otlp: Option<super::OtlpConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            events_endpoint: None,
            remote_write: None,
            batch_size: 64,
            interval: Duration::from_secs(1),
            push_interval: Duration::from_secs(15),
            timeout: Duration::from_secs(5),
            queue_capacity: 512,
            max_retries: 3,
            breaker: BreakerConfig::default(),
            authorization: None,
            tls_ca_pem: None,
            #[cfg(feature = "otlp")]
            otlp: None,
        }
    }
}

/// A bad setting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable (or setting) has a value that cannot be used.
    Invalid {
        /// The variable or setting.
        name: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The client is enabled but has nowhere to send anything.
    NoEndpoint,
    /// The exporter thread could not be started.
    Spawn(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid {
                name,
                value,
                reason,
            } => write!(f, "{name}={value:?}: {reason}"),
            ConfigError::NoEndpoint => f.write_str(
                "telemetry is enabled but no events endpoint, remote-write URL or OTLP endpoint is set",
            ),
            ConfigError::Spawn(e) => write!(f, "cannot start the telemetry exporter thread: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

const PREFIX: &str = "HOTMETRICS_TELEMETRY_";

impl Config {
    /// Defaults overridden by the `HOTMETRICS_TELEMETRY_*` variables that
    /// are set (see the table above).
    /// With feature `otlp`, the `OTEL_*` variables too (see
    /// [`OtlpConfig`](super::OtlpConfig)).
    pub fn from_env() -> Result<Config, ConfigError> {
        #[allow(unused_mut)]
        let mut c = Config::from_vars(std::env::vars().filter(|(k, _)| k.starts_with(PREFIX)))?;
        #[cfg(feature = "otlp")]
        {
            c.otlp = super::OtlpConfig::from_env()?;
        }
        Ok(c)
    }

    /// As [`from_env`](Self::from_env), from the given pairs (for tests and
    /// other configuration sources). Unknown `HOTMETRICS_TELEMETRY_*`
    /// names are errors, so that a typo is not silently ignored.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut c = Config::default();
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref().trim());
            let Some(short) = k.strip_prefix(PREFIX) else {
                continue;
            };
            let bad = |reason| ConfigError::Invalid {
                name: k.to_string(),
                value: v.to_string(),
                reason,
            };
            let int = |lo: u64, hi: u64| -> Result<u64, ConfigError> {
                let n: u64 = v.parse().map_err(|_| bad("not a whole number"))?;
                if n < lo || n > hi {
                    return Err(bad("out of range"));
                }
                Ok(n)
            };
            match short {
                "ENABLED" => {
                    c.enabled = match v.to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => return Err(bad("expected true or false")),
                    }
                }
                "ENDPOINT" => c.events_endpoint = Some(url(k, v)?),
                "REMOTE_WRITE_URL" => c.remote_write = Some(url(k, v)?),
                "BATCH_SIZE" => c.batch_size = int(1, 65_536)? as usize,
                "INTERVAL_MS" => c.interval = Duration::from_millis(int(1, 3_600_000)?),
                "PUSH_INTERVAL_MS" => c.push_interval = Duration::from_millis(int(1, 3_600_000)?),
                "TIMEOUT_MS" => c.timeout = Duration::from_millis(int(1, 600_000)?),
                "QUEUE_CAPACITY" => c.queue_capacity = int(1, 1 << 20)? as usize,
                "MAX_RETRIES" => c.max_retries = int(0, 100)? as u32,
                _ => return Err(bad("unknown setting")),
            }
        }
        Ok(c)
    }

    /// Checks the settings made in code as `from_vars` checks variables.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |name: &str, value: String, reason| ConfigError::Invalid {
            name: name.to_string(),
            value,
            reason,
        };
        if !(1..=65_536).contains(&self.batch_size) {
            return Err(bad(
                "batch_size",
                self.batch_size.to_string(),
                "out of range",
            ));
        }
        if !(1..=1 << 20).contains(&self.queue_capacity) {
            return Err(bad(
                "queue_capacity",
                self.queue_capacity.to_string(),
                "out of range",
            ));
        }
        for (name, d) in [
            ("interval", self.interval),
            ("push_interval", self.push_interval),
            ("timeout", self.timeout),
        ] {
            if d.is_zero() {
                return Err(bad(name, format!("{d:?}"), "must be positive"));
            }
        }
        if self.max_retries > 100 {
            return Err(bad(
                "max_retries",
                self.max_retries.to_string(),
                "out of range",
            ));
        }
        for (name, u) in [
            ("events_endpoint", &self.events_endpoint),
            ("remote_write", &self.remote_write),
        ] {
            if let Some(u) = u {
                url(name, u)?;
            }
        }
        if self.authorization.as_ref().is_some_and(|a| !a.is_valid()) {
            return Err(bad(
                "authorization",
                "<redacted>".to_string(),
                "not a valid header value (visible ASCII and spaces only)",
            ));
        }
        if let Some(pem) = &self.tls_ca_pem {
            tls_ca(pem).map_err(|reason| bad("tls_ca_pem", pem.clone(), reason))?;
        }
        #[cfg(feature = "otlp")]
        if let Some(o) = &self.otlp {
            o.validate()?;
        }
        #[cfg(feature = "otlp")]
        let otlp = self.otlp.is_some();
        #[cfg(not(feature = "otlp"))]
        let otlp = false;
        if self.enabled && self.events_endpoint.is_none() && self.remote_write.is_none() && !otlp {
            return Err(ConfigError::NoEndpoint);
        }
        Ok(())
    }
}

/// The certificates of `pem`, or why they cannot be used.
#[cfg(feature = "telemetry-tls")]
pub(crate) fn tls_ca(pem: &str) -> Result<Vec<ureq::tls::Certificate<'static>>, &'static str> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
            certs.push(c);
        } else {
            return Err("not PEM certificates");
        }
    }
    if certs.is_empty() {
        return Err("no CERTIFICATE block");
    }
    Ok(certs)
}

#[cfg(not(feature = "telemetry-tls"))]
fn tls_ca(_pem: &str) -> Result<(), &'static str> {
    Err("needs feature telemetry-tls")
}

/// What a URL setting must start with.
#[cfg(feature = "telemetry-tls")]
const EXPECTED_URL: &str = "expected an http:// or https:// URL";
#[cfg(not(feature = "telemetry-tls"))]
const EXPECTED_URL: &str = "expected an http:// URL";

/// Checks a URL setting as the `*_URL` variables are checked.
#[cfg(feature = "otlp")]
pub(super) fn check_url(name: &str, v: &str) -> Result<(), ConfigError> {
    url(name, v).map(drop)
}

/// An `http://` URL with a host, or `https://` with feature
/// `telemetry-tls`.
fn url(name: &str, v: &str) -> Result<String, ConfigError> {
    let bad = |reason| ConfigError::Invalid {
        name: name.to_string(),
        value: v.to_string(),
        reason,
    };
    #[cfg(feature = "telemetry-tls")]
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"));
    #[cfg(not(feature = "telemetry-tls"))]
    let rest = v.strip_prefix("http://");
    let rest = rest.ok_or_else(|| bad(EXPECTED_URL))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("the URL has no host"));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_parses() {
        let c = Config::from_vars([
            ("HOTMETRICS_TELEMETRY_ENABLED", "false"),
            ("HOTMETRICS_TELEMETRY_ENDPOINT", "http://h:1/e"),
            (
                "HOTMETRICS_TELEMETRY_REMOTE_WRITE_URL",
                "http://h:2/api/v1/write",
            ),
            ("HOTMETRICS_TELEMETRY_BATCH_SIZE", "10"),
            ("HOTMETRICS_TELEMETRY_INTERVAL_MS", "20"),
            ("HOTMETRICS_TELEMETRY_PUSH_INTERVAL_MS", "30"),
            ("HOTMETRICS_TELEMETRY_TIMEOUT_MS", "40"),
            ("HOTMETRICS_TELEMETRY_QUEUE_CAPACITY", "50"),
            ("HOTMETRICS_TELEMETRY_MAX_RETRIES", "0"),
            ("PATH", "ignored"),
        ])
        .unwrap();
        assert!(!c.enabled);
        assert_eq!(c.events_endpoint.as_deref(), Some("http://h:1/e"));
        assert_eq!(c.remote_write.as_deref(), Some("http://h:2/api/v1/write"));
        assert_eq!((c.batch_size, c.queue_capacity, c.max_retries), (10, 50, 0));
        assert_eq!(c.interval, Duration::from_millis(20));
        assert_eq!(c.push_interval, Duration::from_millis(30));
        assert_eq!(c.timeout, Duration::from_millis(40));
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            (
                "HOTMETRICS_TELEMETRY_ENABLED",
                "maybe",
                "expected true or false",
            ),
            ("HOTMETRICS_TELEMETRY_ENDPOINT", "ftp://h/e", EXPECTED_URL),
            (
                "HOTMETRICS_TELEMETRY_ENDPOINT",
                "http:///e",
                "the URL has no host",
            ),
            ("HOTMETRICS_TELEMETRY_BATCH_SIZE", "0", "out of range"),
            (
                "HOTMETRICS_TELEMETRY_BATCH_SIZE",
                "-3",
                "not a whole number",
            ),
            (
                "HOTMETRICS_TELEMETRY_QUEUE_CAPACITY",
                "99999999",
                "out of range",
            ),
            (
                "HOTMETRICS_TELEMETRY_INTERVAL_MS",
                "1.5",
                "not a whole number",
            ),
            ("HOTMETRICS_TELEMETRY_MAX_RETRIES", "101", "out of range"),
            ("HOTMETRICS_TELEMETRY_BATCHSIZE", "10", "unknown setting"),
        ];
        for (k, v, reason) in cases {
            let err = Config::from_vars([(k, v)]).unwrap_err();
            assert_eq!(
                err,
                ConfigError::Invalid {
                    name: k.into(),
                    value: v.into(),
                    reason
                },
                "{k}={v}"
            );
            assert!(err.to_string().starts_with(k));
        }
    }

    #[test]
    fn validate_checks_code_settings() {
        assert_eq!(Config::default().validate(), Err(ConfigError::NoEndpoint));
        let ok = Config {
            events_endpoint: Some("http://127.0.0.1:1/".into()),
            ..Config::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        let zero = Config {
            interval: Duration::ZERO,
            ..ok.clone()
        };
        assert!(matches!(zero.validate(), Err(ConfigError::Invalid { .. })));
        let off = Config {
            enabled: false,
            ..Config::default()
        };
        assert_eq!(off.validate(), Ok(()));
    }
}
