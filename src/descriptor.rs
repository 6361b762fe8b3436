//! What a metric is: name, help, unit, kind. Shared by the registry, the
//! snapshot and the exporters.
#![forbid(unsafe_code)]

mod classic;

use crate::buckets::Precision;
pub(crate) use classic::{default_bounds, Bound};
pub use classic::{BucketsError, ClassicBuckets};
use std::fmt;
use std::time::Duration;

/// The kind of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// A monotonically increasing `u64`.
    Counter,
    /// An `i64` that can go up and down.
    Gauge,
    /// An `f64` that can go up and down.
    FloatGauge,
    /// A distribution of `u64` observations in log-linear buckets.
    Histogram,
    /// A set of named boolean states (for example a circuit breaker's
    /// closed/open/half-open), exported as an OpenMetrics `stateset`.
    StateSet,
    /// Fixed facts about the program as label values (version, commit),
    /// exported as an OpenMetrics `info` (`build_info{version="1.2.3"} 1`)
    /// and as a gauge in Prometheus text.
    Info,
}

impl MetricKind {
    /// Lower-case name, as used in exposition formats.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge | MetricKind::FloatGauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::StateSet => "stateset",
            MetricKind::Info => "info",
        }
    }
}

impl MetricKind {
    /// The suffix of the kind's one sample name that a registered name may
    /// already end with: `_total` for counters, `_info` for info metrics.
    pub(crate) fn sample_suffix(self) -> Option<&'static str> {
        match self {
            MetricKind::Counter => Some("_total"),
            MetricKind::Info => Some("_info"),
            _ => None,
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetricKind::FloatGauge => "float gauge",
            other => other.as_str(),
        })
    }
}

/// The unit a metric's values are recorded in.
///
/// Histograms record integers, so time is best recorded in a small unit
/// (nanoseconds by default for timers); exporters convert to the base unit
/// (seconds, bytes) where a format asks for it. Any other unit is made
/// with [`Unit::custom`] (`requests`, `celsius`, `ratio`): exported as it
/// is, the name's suffix and OpenMetrics' `# UNIT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// Unitless (a count of things).
    #[default]
    None,
    /// Nanoseconds (base unit: seconds).
    Nanoseconds,
    /// Microseconds (base unit: seconds).
    Microseconds,
    /// Milliseconds (base unit: seconds).
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// Any other unit, made (and validated) by [`Unit::custom`]; values are
    /// exported as recorded.
    Other(CustomUnit),
}

/// The name of a unit made by [`Unit::custom`]: valid as a metric name's
/// suffix (see there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CustomUnit(&'static str);

impl CustomUnit {
    /// The unit's name, as given (`"celsius"`).
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// Why [`Unit::custom`] refused a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitError {
    unit: &'static str,
    reason: &'static str,
}

impl UnitError {
    /// The refused unit.
    pub fn unit(&self) -> &'static str {
        self.unit
    }
    /// What is wrong with it.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid unit {:?}: {}", self.unit, self.reason)
    }
}

impl std::error::Error for UnitError {}

/// What a metric's samples end with: a unit with one of these names would
/// make a name read as another sample's (`x_total` of a gauge in unit
/// `total`). The Prometheus and OpenMetrics suffixes.
const SAMPLE_SUFFIXES: [&str; 8] = [
    "total", "created", "bucket", "count", "sum", "info", "gcount", "gsum",
];

/// What is wrong with `name` as a custom unit (see [`Unit::custom`]).
const fn unit_error(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Some("empty (use `Unit::None` for a count of things)");
    }
    if !b[0].is_ascii_alphabetic() {
        return Some("it must start with a letter, not a digit or underscore");
    }
    if b[b.len() - 1] == b'_' {
        return Some("it must not end with an underscore");
    }
    let mut i = 0;
    while i < b.len() {
        if !(b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            return Some("only ASCII letters, digits and '_' are allowed");
        }
        i += 1;
    }
    let mut k = 0;
    while k < SAMPLE_SUFFIXES.len() {
        if same(name, SAMPLE_SUFFIXES[k]) {
            return Some(
                "a sample suffix (total, created, bucket, count, sum, info, gcount, gsum) is not a unit",
            );
        }
        k += 1;
    }
    None
}

/// Whether `a` and `b` are the same string (usable in a `const fn`).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Unit {
    /// A unit not in the list above, such as `requests`, `celsius` or
    /// `ratio`: exported as the metric name's suffix (appended unless the
    /// name already ends with `_<unit>`) and, in OpenMetrics, as `# UNIT`.
    /// Values are not converted. The name of a built-in unit gives that
    /// unit (`"milliseconds"` is [`Unit::Milliseconds`], still converted to
    /// seconds).
    ///
    /// Refused: an empty name; anything but ASCII letters, digits and `_`;
    /// a name not starting with a letter or ending with `_`; and the
    /// sample suffixes `total`, `created`, `bucket`, `count`, `sum`,
    /// `info`, `gcount`, `gsum` (a name ending so would read as another
    /// sample).
    ///
    /// ```
    /// use hotmetrics::{Options, Registry, Unit};
    /// let reg = Registry::new();
    /// let celsius = Unit::custom("celsius").unwrap();
    /// let t = reg.gauge_with(Options::new("room_temperature", "Temperature").unit(celsius)).unwrap();
    /// t.set(21);
    /// let text = hotmetrics::export::openmetrics::render(&reg.collect());
    /// assert!(text.contains("# UNIT room_temperature_celsius celsius\n"));
    /// assert!(text.contains("\nroom_temperature_celsius 21\n"));
    /// assert!(Unit::custom("req/s").is_err());
    /// ```
    pub const fn custom(name: &'static str) -> Result<Unit, UnitError> {
        if let Some(reason) = unit_error(name) {
            return Err(UnitError { unit: name, reason });
        }
        let known = [
            Unit::Nanoseconds,
            Unit::Microseconds,
            Unit::Milliseconds,
            Unit::Seconds,
            Unit::Bytes,
        ];
        let mut k = 0;
        while k < known.len() {
            if same(name, known[k].as_str()) {
                return Ok(known[k]);
            }
            k += 1;
        }
        Ok(Unit::Other(CustomUnit(name)))
    }

    /// Lower-case plural name (`"nanoseconds"`), empty for [`Unit::None`];
    /// a custom unit's name as given.
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::None => "",
            Unit::Nanoseconds => "nanoseconds",
            Unit::Microseconds => "microseconds",
            Unit::Milliseconds => "milliseconds",
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Other(u) => u.as_str(),
        }
    }

    /// The base unit exporters convert to, and the factor a value in `self`
    /// is multiplied by to get there (`Nanoseconds` → `("seconds", 1e-9)`).
    pub fn base(self) -> (&'static str, f64) {
        match self {
            Unit::Nanoseconds => ("seconds", 1e-9),
            Unit::Microseconds => ("seconds", 1e-6),
            Unit::Milliseconds => ("seconds", 1e-3),
            other => (other.as_str(), 1.0),
        }
    }

    /// Whether this unit measures time.
    pub fn is_time(self) -> bool {
        matches!(
            self,
            Unit::Nanoseconds | Unit::Microseconds | Unit::Milliseconds | Unit::Seconds
        )
    }

    /// `nanos` nanoseconds expressed in this unit (truncating); unchanged
    /// for units that do not measure time.
    #[inline]
    pub fn nanos_to_unit(self, nanos: u64) -> u64 {
        match self {
            Unit::Microseconds => nanos / 1_000,
            Unit::Milliseconds => nanos / 1_000_000,
            Unit::Seconds => nanos / 1_000_000_000,
            _ => nanos,
        }
    }

    /// `d` expressed in this unit, saturating at `u64::MAX`; nanoseconds for
    /// units that do not measure time.
    #[inline]
    pub fn from_duration(self, d: Duration) -> u64 {
        let v = match self {
            Unit::Microseconds => d.as_micros(),
            Unit::Milliseconds => d.as_millis(),
            Unit::Seconds => u128::from(d.as_secs()),
            _ => d.as_nanos(),
        };
        u64::try_from(v).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::None => "none",
            other => other.as_str(),
        })
    }
}

/// A registered metric's identity and metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Unit,
    pub(crate) kind: MetricKind,
    pub(crate) precision: Option<Precision>,
    /// The classic bucket bounds set at registration, for histograms.
    pub(crate) buckets: Option<ClassicBuckets>,
    /// A family's own counter (`<family>_overflow`, `<family>_evicted`).
    pub(crate) internal: bool,
    /// What the text exporters write for this descriptor, made on first
    /// use (`export/text.rs`).
    pub(crate) text: TextCache,
}

/// Text the exporters derive from a [`Descriptor`] alone (its exported
/// family name, its header lines per text format), made on the first
/// render and kept with the descriptor, which never changes: a scrape
/// copies it instead of sanitising, escaping and assembling it again for
/// every family. Filled by the export layer; this module only keeps it.
///
/// Not part of a descriptor's value: two descriptors compare equal
/// whatever their caches hold, and a clone starts empty (a clone is how
/// the catalog makes a descriptor with new help text).
#[derive(Default)]
pub(crate) struct TextCache {
    // shim-exempt: written once per descriptor by an exporter, never on a
    // recording path and not part of any synchronisation loom models.
    name: std::sync::OnceLock<Box<str>>,
    headers: [std::sync::OnceLock<Box<str>>; 2],
}

impl TextCache {
    /// The exported family name, made by `make` the first time.
    pub(crate) fn name(&self, make: impl FnOnce() -> String) -> &str {
        self.name.get_or_init(|| make().into_boxed_str())
    }

    /// Header text number `which` (0 or 1: one per text format), made by
    /// `make` the first time.
    pub(crate) fn header(&self, which: usize, make: impl FnOnce() -> String) -> &str {
        self.headers[which].get_or_init(|| make().into_boxed_str())
    }
}

impl Clone for TextCache {
    fn clone(&self) -> TextCache {
        TextCache::default()
    }
}

impl PartialEq for TextCache {
    fn eq(&self, _: &TextCache) -> bool {
        true
    }
}

impl Eq for TextCache {}

impl fmt::Debug for TextCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TextCache")
    }
}

impl Descriptor {
    /// The metric's name, as registered (valid in the Prometheus data model).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The help text.
    pub fn help(&self) -> &str {
        &self.help
    }
    /// The unit values are recorded in.
    pub fn unit(&self) -> Unit {
        self.unit
    }
    /// Counter, gauge or histogram.
    pub fn kind(&self) -> MetricKind {
        self.kind
    }
    /// The bucket precision, for histograms.
    pub fn precision(&self) -> Option<Precision> {
        self.precision
    }
    /// The classic bucket bounds set at registration, for histograms
    /// ([`Options::buckets`](crate::Options::buckets)); `None`: the
    /// exporter's choice, by default [`ClassicBuckets::default_for`] the
    /// unit.
    pub fn classic_buckets(&self) -> Option<&ClassicBuckets> {
        self.buckets.as_ref()
    }
    /// Whether this is a family's own counter (`<family>_overflow`,
    /// `<family>_evicted`) rather than a metric registered by the user.
    /// The exporters write such a counter only once it is non-zero; the
    /// snapshot has it from the family's registration on.
    pub fn is_internal(&self) -> bool {
        self.internal
    }

    /// The family name the text formats write: the registered name without
    /// a trailing `_total` for counters (`_info` for info metrics), with `_<base unit>` appended unless
    /// it already ends so (`request_duration` in nanoseconds →
    /// `request_duration_seconds`).
    pub(crate) fn family_name(&self) -> String {
        let mut name = self.name.as_str();
        if let Some(suffix) = self.kind.sample_suffix() {
            name = name.strip_suffix(suffix).unwrap_or(name);
        }
        let mut out = name.to_owned();
        let (unit, _) = self.unit.base();
        let has_unit = out.len() > unit.len()
            && out.ends_with(unit)
            && out.as_bytes()[out.len() - unit.len() - 1] == b'_';
        if !unit.is_empty() && self.kind != MetricKind::StateSet && !has_unit {
            out.push('_');
            out.push_str(unit);
        }
        out
    }

    /// Every name the metric takes in an exposition: its family name and
    /// the name of each kind of sample it writes (`_total`, `_created`,
    /// `_bucket`, `_count`, `_sum`; for a histogram also the family of its
    /// invalid observations, `_invalid` with `_total` and `_created`). Two metrics whose sets meet would write
    /// one family twice, or samples into another's family: the registry
    /// refuses the second.
    pub(crate) fn exported_names(&self) -> Vec<String> {
        let family = self.family_name();
        let suffixes: &[&str] = match self.kind {
            MetricKind::Counter => &["_total", "_created"],
            MetricKind::Histogram => &[
                "_bucket",
                "_count",
                "_sum",
                "_created",
                // The family of its rejected observations (export's
                // `samples.rs`, written once any were rejected).
                "_invalid",
                "_invalid_total",
                "_invalid_created",
            ],
            MetricKind::Info => &["_info"],
            MetricKind::Gauge | MetricKind::FloatGauge | MetricKind::StateSet => &[],
        };
        let mut names = vec![family.clone()];
        names.extend(suffixes.iter().map(|s| format!("{family}{s}")));
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_convert_and_saturate() {
        let d = Duration::new(3, 500_000_123);
        assert_eq!(Unit::Nanoseconds.from_duration(d), 3_500_000_123);
        assert_eq!(Unit::Microseconds.from_duration(d), 3_500_000);
        assert_eq!(Unit::Milliseconds.from_duration(d), 3_500);
        assert_eq!(Unit::Seconds.from_duration(d), 3);
        assert_eq!(Unit::Bytes.from_duration(d), 3_500_000_123);
        assert_eq!(Unit::Nanoseconds.from_duration(Duration::MAX), u64::MAX);
        assert_eq!(Unit::Milliseconds.nanos_to_unit(3_500_000_123), 3_500);
        assert_eq!(Unit::Bytes.nanos_to_unit(7), 7);
        assert_eq!(Unit::Nanoseconds.base(), ("seconds", 1e-9));
        assert_eq!(Unit::Bytes.base(), ("bytes", 1.0));
        assert!(Unit::Seconds.is_time() && !Unit::Bytes.is_time());
    }

    #[test]
    fn custom_units_name_families_and_do_not_convert() {
        const CELSIUS: Unit = match Unit::custom("celsius") {
            Ok(u) => u,
            Err(_) => panic!("a valid unit"),
        };
        assert_eq!(CELSIUS.base(), ("celsius", 1.0));
        assert!(!CELSIUS.is_time());
        assert_eq!(CELSIUS.nanos_to_unit(7), 7);
        assert_eq!(CELSIUS.to_string(), "celsius");
        assert_eq!(Unit::custom("bytes"), Ok(Unit::Bytes));
        let d = |name: &str, kind| Descriptor {
            name: name.into(),
            help: String::new(),
            unit: CELSIUS,
            kind,
            precision: None,
            buckets: None,
            internal: false,
            text: Default::default(),
        };
        assert_eq!(d("temp", MetricKind::Gauge).family_name(), "temp_celsius");
        assert_eq!(
            d("temp_celsius", MetricKind::Gauge).family_name(),
            "temp_celsius"
        );
        assert_eq!(
            d("heat_total", MetricKind::Counter).exported_names(),
            ["heat_celsius", "heat_celsius_total", "heat_celsius_created"]
        );
        let err = Unit::custom("x-y").unwrap_err();
        assert_eq!(
            (err.unit(), err.reason()),
            ("x-y", "only ASCII letters, digits and '_' are allowed")
        );
    }
}
