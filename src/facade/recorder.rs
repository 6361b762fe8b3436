//! [`FacadeRecorder`]: the `metrics::Recorder` that records into a
//! [`Registry`].
#![forbid(unsafe_code)]

use super::handles::{CounterKind, FacadeKind, GaugeKind, HistogramKind};
use super::key_map::KeyMap;
use super::naming::{self, Kind, Mapping};
use crate::family::{Arity, CounterFamily, Family};
use crate::registry::{Conflict, Options, Registry, RegistryError};
use crate::sync::{lock, Arc, FrozenArc, Mutex};
use metrics::{Key, KeyName, Metadata, SharedString};
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

/// A [`metrics::Recorder`] recording into a hotmetrics [`Registry`]: every
/// `metrics::counter!`, `gauge!` and `histogram!` of the program (and of
/// the crates it uses) lands in the registry's lock-free cells.
///
/// Install it process-wide with [`install`](super::install) or
/// [`install_with`](super::install_with), or for one scope with
/// [`metrics::with_local_recorder`]. How keys, labels, units and
/// descriptions map onto hotmetrics metrics is described in the
/// [module documentation](super).
///
/// ```
/// use hotmetrics::facade::FacadeRecorder;
/// use hotmetrics::Registry;
///
/// let reg = Registry::new();
/// let recorder = FacadeRecorder::new(&reg);
/// metrics::with_local_recorder(&recorder, || {
///     metrics::describe_histogram!("rpc_duration", metrics::Unit::Seconds, "RPC latency");
///     metrics::counter!("rpc_calls", "method" => "get").increment(1);
///     metrics::histogram!("rpc_duration", "method" => "get").record(0.002);
/// });
/// let snap = reg.collect();
/// assert_eq!(snap.counter_with("rpc_calls", &[("method", "get")]), Some(1));
/// let h = snap.histogram_with("rpc_duration", &[("method", "get")]).unwrap();
/// assert_eq!(h.sum(), 2_000_000); // recorded in nanoseconds
/// ```
#[derive(Clone)]
pub struct FacadeRecorder {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    counters: Table<CounterKind>,
    gauges: Table<GaugeKind>,
    histograms: Table<HistogramKind>,
    /// Unit and help text from `describe_*`, by kind and `metrics` name.
    descriptions: Mutex<HashMap<(Kind, String), Description>>,
    /// `hotmetrics_facade_refused{reason}`: registrations answered with a
    /// no-op handle (`None` if the name was taken in the registry).
    refused: Option<CounterFamily<Arity<1>>>,
    /// Hashes metric names and label keys for `Table::shapes` and
    /// `Table::names`.
    hasher: foldhash::fast::RandomState,
}

/// A `describe_*` call's unit and help text.
type Description = (Option<metrics::Unit>, String);

/// One `metrics` kind's caches.
struct Table<K: FacadeKind> {
    /// Every key that got a series of its own, with its handle. Bounded by
    /// the families' series limits: a key past its family's limit is not
    /// added (it records into the overflow series).
    keys: KeyMap<Key, FrozenArc<K::Handle>>,
    /// What each shape (a `metrics` name, as given, and a set of label
    /// keys) registered as. At most `MAX_SHAPES` registered shapes per name
    /// (the registry's bound), plus the refused ones of keys tried.
    shapes: KeyMap<Shape, Entry<K>>,
    /// Each `metrics` name whose first shape was registered: the name it
    /// was registered under and the unit mapping every shape of it uses.
    names: KeyMap<Box<str>, (String, Mapping)>,
}

/// A `metrics` name with a set of label keys (in any order).
struct Shape {
    name: Box<str>,
    label_keys: Box<[Box<str>]>,
}

impl Shape {
    fn of(key: &Key) -> Shape {
        Shape {
            name: key.name().into(),
            label_keys: key.labels().map(|l| l.key().into()).collect(),
        }
    }

    /// Whether `key` has this name and these label keys, in any order.
    fn matches(&self, key: &Key) -> bool {
        &*self.name == key.name()
            && self.label_keys.len() == key.labels().len()
            && key
                .labels()
                .all(|l| self.label_keys.iter().any(|k| &**k == l.key()))
    }
}

/// What a `metrics` name registered as.
enum Entry<K: FacadeKind> {
    /// Nothing: its keys get no-op handles.
    Refused(Reason),
    /// A plain metric (the first key had no labels).
    Plain {
        name: String,
        handle: FrozenArc<K::Handle>,
    },
    /// A family whose label names are the first key's label keys.
    Family {
        name: String,
        /// The `metrics` label keys (before sanitizing), in family order.
        label_keys: Box<[Box<str>]>,
        family: Family<K::Metric>,
        /// A handle recording into the family's overflow series.
        overflow: FrozenArc<K::Handle>,
        scale: f64,
    },
}

impl<K: FacadeKind> Entry<K> {
    fn registered_name(&self) -> Option<&str> {
        match self {
            Entry::Refused(_) => None,
            Entry::Plain { name, .. } | Entry::Family { name, .. } => Some(name),
        }
    }
}

/// Why a registration got a no-op handle: the value of the `reason` label
/// of `hotmetrics_facade_refused`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    /// The name (or a label key) is empty or collides with another after
    /// sanitizing.
    InvalidName,
    /// The name is registered as another kind, or with another unit or
    /// other label names.
    Conflict,
    /// The name has the most label sets (shapes) it may have, or the
    /// registry has these label names in another order.
    Labels,
    /// The registry is full.
    Full,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidName => "invalid_name",
            Reason::Conflict => "conflict",
            Reason::Labels => "labels",
            Reason::Full => "full",
        }
    }

    fn of(e: &RegistryError) -> Reason {
        match e {
            RegistryError::InvalidName { .. } | RegistryError::InvalidLabel { .. } => {
                Reason::InvalidName
            }
            RegistryError::Full => Reason::Full,
            // Kind, unit and precision agree (the registry checks them
            // first): the name has as many shapes as it may have, or one
            // with these label names in another order.
            RegistryError::Conflict {
                what: Conflict::LabelNames | Conflict::Labeled,
                ..
            } => Reason::Labels,
            _ => Reason::Conflict,
        }
    }
}

/// Whether `stored` (a clone of an earlier key) equals `key`.
///
/// Keys built from literals point at `static` strings, which the compiler
/// usually merges: two call sites of `histogram!("rpc", "method" => "get")`
/// have label arrays of their own but share the strings in them. So each string
/// is compared by address first, which answers for such keys without
/// reading a byte, then by content. Labels are compared pairwise in order,
/// which is how keys from the same code usually come; `Key`'s own
/// comparison (label order ignored) settles the rest.
#[inline(always)]
fn same_key(stored: &Key, key: &Key) -> bool {
    let (a, b) = (stored.labels().as_slice(), key.labels().as_slice());
    (same_str(stored.name(), key.name())
        && a.len() == b.len()
        && (std::ptr::eq(a, b)
            || a.iter()
                .zip(b)
                .all(|(x, y)| same_str(x.key(), y.key()) && same_str(x.value(), y.value()))))
        || stored == key
}

/// `a == b`, by address first.
#[inline(always)]
fn same_str(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// Label values of one key in family order, on the stack for up to 8.
const INLINE_LABELS: usize = 8;

impl FacadeRecorder {
    /// A recorder recording into `registry` (which it keeps a handle to).
    pub fn new(registry: &Registry) -> FacadeRecorder {
        let refused = registry
            .counter_family(
                "hotmetrics_facade_refused",
                "`metrics` registrations answered with a no-op handle, by reason",
                &["reason"],
            )
            .ok();
        FacadeRecorder {
            inner: Arc::new(Inner {
                registry: registry.clone(),
                counters: Table::new(),
                gauges: Table::new(),
                histograms: Table::new(),
                descriptions: Mutex::new(HashMap::new()),
                refused,
                hasher: foldhash::fast::RandomState::default(),
            }),
        }
    }

    /// The registry this recorder records into.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Number of keys whose handles are cached (keys with a series of
    /// their own; bounded by the families' series limits).
    pub fn cached_keys(&self) -> usize {
        let i = &self.inner;
        i.counters.keys.len() + i.gauges.keys.len() + i.histograms.keys.len()
    }

    fn describe(
        &self,
        kind: Kind,
        kind_of: crate::MetricKind,
        key: KeyName,
        unit: Option<metrics::Unit>,
        help: SharedString,
        entry_name: impl Fn(&Inner, &str) -> Option<String>,
    ) {
        let inner = &*self.inner;
        let mut d = lock(&inner.descriptions);
        d.insert((kind, key.as_str().to_owned()), (unit, help.to_string()));
        // Under the descriptions lock, so that a first use racing this call
        // either sees the description or is seen here (see `miss`).
        if let Some(name) = entry_name(inner, key.as_str()) {
            inner.registry.set_help(&name, kind_of, &help);
        }
    }
}

impl<K: FacadeKind> Table<K> {
    fn new() -> Table<K> {
        Table {
            keys: KeyMap::new(),
            shapes: KeyMap::new(),
            names: KeyMap::new(),
        }
    }

    fn registered_name(&self, hasher: &foldhash::fast::RandomState, name: &str) -> Option<String> {
        let (registered, _) = self.names.find(hasher.hash_one(name), |n| &**n == name)?;
        Some(registered.clone())
    }
}

impl Inner {
    /// The handle of `key` in `table`; `None`: refused (a no-op handle).
    #[inline]
    fn handle<K: FacadeKind>(&self, table: &Table<K>, key: &Key) -> Option<FrozenArc<K::Handle>> {
        match table.keys.find(key.get_hash(), |k| same_key(k, key)) {
            Some(h) => Some(h.clone()),
            None => self.miss(table, key),
        }
    }

    /// The hash of `key`'s shape: its name and label keys, in any order.
    fn shape_hash(&self, key: &Key) -> u64 {
        let keys = key
            .labels()
            .fold(0u64, |h, l| h.wrapping_add(self.hasher.hash_one(l.key())));
        self.hasher.hash_one(key.name()) ^ keys.rotate_left(29)
    }

    /// A key not in the cache: its shape's entry (registered on first
    /// use), then its series.
    #[cold]
    #[inline(never)]
    fn miss<K: FacadeKind>(&self, table: &Table<K>, key: &Key) -> Option<FrozenArc<K::Handle>> {
        let shape_hash = self.shape_hash(key);
        let entry = match table.shapes.find(shape_hash, |s| s.matches(key)) {
            Some(e) => e,
            None => {
                let mut created = false;
                let entry = table.shapes.get_or_insert(
                    shape_hash,
                    |s| s.matches(key),
                    || {
                        created = true;
                        Some((Shape::of(key), self.register::<K>(table, key)))
                    },
                )?;
                if created {
                    self.late_description(entry, key);
                }
                entry
            }
        };
        let cache = |handle: &FrozenArc<K::Handle>| {
            table
                .keys
                .get_or_insert(
                    key.get_hash(),
                    |k| k == key,
                    || Some((key.clone(), handle.clone())),
                )
                .cloned()
        };
        match entry {
            Entry::Refused(reason) => self.refuse(*reason),
            Entry::Plain { handle, .. } => cache(handle),
            Entry::Family {
                label_keys,
                family,
                overflow,
                scale,
                ..
            } => {
                let n = label_keys.len();
                if key.labels().len() != n {
                    return self.refuse(Reason::Labels);
                }
                let mut inline = [""; INLINE_LABELS];
                let mut heap = Vec::new();
                let values: &mut [&str] = if n <= INLINE_LABELS {
                    &mut inline[..n]
                } else {
                    heap.resize(n, "");
                    &mut heap
                };
                if !label_values(key, label_keys, values) {
                    return self.refuse(Reason::Labels);
                }
                match family.with_or_none(&*values) {
                    Some(metric) => {
                        let made = FrozenArc::new(K::handle(metric, *scale));
                        cache(&made)
                    }
                    // Past the series limit: the overflow series, and the
                    // key is not cached (memory stays bounded).
                    None => Some(overflow.clone()),
                }
            }
        }
    }

    /// Applies a description given while `key`'s name was registered
    /// (after `register` read the descriptions, before the entry was
    /// visible to `describe`).
    fn late_description<K: FacadeKind>(&self, entry: &Entry<K>, key: &Key) {
        if let Some(name) = entry.registered_name() {
            let d = lock(&self.descriptions);
            if let Some((_, help)) = d.get(&(K::KIND, key.name().to_owned())) {
                self.registry.set_help(name, K::METRIC_KIND, help);
            }
        }
    }

    /// Registers the shape of `key` (its name and label keys), as a plain
    /// metric or a family after its labels, with the description given so
    /// far; a name's later shapes take the unit of its first.
    fn register<K: FacadeKind>(&self, table: &Table<K>, key: &Key) -> Entry<K> {
        let Some(name) = naming::metric_name(key.name()) else {
            return Entry::Refused(Reason::InvalidName);
        };
        let name = name.into_owned();
        let (unit, help) = lock(&self.descriptions)
            .get(&(K::KIND, key.name().to_owned()))
            .cloned()
            .unwrap_or_default();
        let name_hash = self.hasher.hash_one(key.name());
        let first = table.names.find(name_hash, |n| &**n == key.name());
        let mapping = first.map_or_else(|| naming::mapping(K::KIND, unit, &name), |f| f.1);
        let options = Options::new(name.clone(), help).unit(mapping.unit);
        let entry = self.register_shape::<K>(key, name, mapping, options);
        if let Some(registered) = entry.registered_name().filter(|_| first.is_none()) {
            let made = || Some((key.name().into(), (registered.to_owned(), mapping)));
            table
                .names
                .get_or_insert(name_hash, |n| &**n == key.name(), made);
        }
        entry
    }

    /// [`register`](Self::register) once the name and unit are known.
    fn register_shape<K: FacadeKind>(
        &self,
        key: &Key,
        name: String,
        mapping: Mapping,
        options: Options,
    ) -> Entry<K> {
        if key.labels().len() == 0 {
            return match K::plain(&self.registry, options) {
                Ok(metric) => Entry::Plain {
                    name,
                    handle: FrozenArc::new(K::handle(metric, mapping.scale)),
                },
                Err(e) => Entry::Refused(Reason::of(&e)),
            };
        }
        let histogram = K::KIND == Kind::Histogram;
        let mut label_names = Vec::with_capacity(key.labels().len());
        for l in key.labels() {
            match naming::label_name(l.key(), histogram) {
                Some(n) => label_names.push(n),
                None => return Entry::Refused(Reason::InvalidName),
            }
        }
        match K::family(&self.registry, options.labels(&label_names)) {
            Ok(family) => Entry::Family {
                name,
                label_keys: key.labels().map(|l| l.key().into()).collect(),
                overflow: FrozenArc::new(K::handle(family.overflow().clone(), mapping.scale)),
                family,
                scale: mapping.scale,
            },
            Err(e) => Entry::Refused(Reason::of(&e)),
        }
    }

    /// Counts a refused registration; `None` (a no-op handle).
    fn refuse<H>(&self, reason: Reason) -> Option<H> {
        if let Some(r) = &self.refused {
            r.inc(&[reason.as_str()]);
        }
        None
    }
}

impl metrics::Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<metrics::Unit>, help: SharedString) {
        self.describe(
            Kind::Counter,
            crate::MetricKind::Counter,
            key,
            unit,
            help,
            |i, n| i.counters.registered_name(&i.hasher, n),
        );
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<metrics::Unit>, help: SharedString) {
        self.describe(
            Kind::Gauge,
            crate::MetricKind::FloatGauge,
            key,
            unit,
            help,
            |i, n| i.gauges.registered_name(&i.hasher, n),
        );
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<metrics::Unit>, help: SharedString) {
        self.describe(
            Kind::Histogram,
            crate::MetricKind::Histogram,
            key,
            unit,
            help,
            |i, n| i.histograms.registered_name(&i.hasher, n),
        );
    }

    #[inline]
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        match self.inner.handle(&self.inner.counters, key) {
            Some(h) => metrics::Counter::from_arc(h),
            None => metrics::Counter::noop(),
        }
    }

    #[inline]
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        match self.inner.handle(&self.inner.gauges, key) {
            Some(h) => metrics::Gauge::from_arc(h),
            None => metrics::Gauge::noop(),
        }
    }

    #[inline]
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        match self.inner.handle(&self.inner.histograms, key) {
            Some(h) => metrics::Histogram::from_arc(h),
            None => metrics::Histogram::noop(),
        }
    }
}

impl fmt::Debug for FacadeRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FacadeRecorder")
            .field("registry", &self.inner.registry)
            .field("cached_keys", &self.cached_keys())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::same_key;
    use metrics::{Key, Label};

    static GET_A: [Label; 2] = [
        Label::from_static_parts("method", "get"),
        Label::from_static_parts("peer", "a"),
    ];
    static GET_A_AGAIN: [Label; 2] = [
        Label::from_static_parts("method", "get"),
        Label::from_static_parts("peer", "a"),
    ];

    fn owned(name: &str, labels: &[(&str, &str)]) -> Key {
        let labels: Vec<Label> = labels
            .iter()
            .map(|&(k, v)| Label::new(k.to_owned(), v.to_owned()))
            .collect();
        Key::from_parts(name.to_owned(), labels)
    }

    #[test]
    fn same_key_by_address_by_content_and_in_any_order() {
        let site_1 = Key::from_static_parts("rpc", &GET_A);
        let site_2 = Key::from_static_parts("rpc", &GET_A_AGAIN);
        let copy = owned("rpc", &[("method", "get"), ("peer", "a")]);
        let reordered = owned("rpc", &[("peer", "a"), ("method", "get")]);
        for (a, b) in [
            (&site_1, &site_1.clone()),
            (&site_1, &site_2),
            (&site_1, &copy),
            (&copy, &site_2),
            (&site_1, &reordered),
        ] {
            assert!(same_key(a, b), "{a:?} == {b:?}");
        }
        for other in [
            owned("rpc", &[("method", "got"), ("peer", "a")]),
            owned("rpc", &[("method", "get"), ("peer", "b")]),
            owned("rpc", &[("method", "get"), ("host", "a")]),
            owned("rpc", &[("method", "get")]),
            owned("rpc", &[("method", "get"), ("peer", "a"), ("zone", "x")]),
            owned("rpd", &[("method", "get"), ("peer", "a")]),
        ] {
            assert!(!same_key(&site_1, &other), "{site_1:?} != {other:?}");
            assert!(!same_key(&other, &site_2), "{other:?} != {site_2:?}");
        }
    }
}

/// Fills `values` with `key`'s label values in the order of `label_keys`;
/// `false` if a label is missing.
fn label_values<'k>(key: &'k Key, label_keys: &[Box<str>], values: &mut [&'k str]) -> bool {
    for (i, want) in label_keys.iter().enumerate() {
        // Usually in the same order as the first key.
        let found = key
            .labels()
            .nth(i)
            .filter(|l| l.key() == &**want)
            .or_else(|| key.labels().find(|l| l.key() == &**want));
        match found {
            Some(l) => values[i] = l.value(),
            None => return false,
        }
    }
    true
}
