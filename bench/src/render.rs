//! Rendering a scrape: the same counters and histograms (1,000
//! observations each, 11 `le` bounds + `+Inf`) in hotmetrics and in each
//! peer exporter, and one call that renders a scrape with any of them (the
//! report's render section and `benches/export.rs`): [`Renderers::scrape`]
//! for what a scrape costs (hotmetrics: collect + render),
//! [`Renderers::render`] for rendering alone.

use hotmetrics::export::{json, openmetrics, prometheus as hm_prom, TextOptions};
use hotmetrics::{Registry, Snapshot, Unit};
use measured::metric::group::Encoding;
use measured::metric::name::MetricName;
use measured::metric::MetricFamilyEncoding;

/// One way of rendering a scrape.
#[derive(Debug, Clone, Copy)]
pub struct Contender {
    /// The name in the report and its plots, with the version measured.
    pub name: &'static str,
    /// The criterion bench id.
    pub id: &'static str,
}

/// The contenders, in the order [`Renderers::render`] takes them: first
/// hotmetrics' two text formats, then the peers.
pub const CONTENDERS: [Contender; 7] = [
    Contender {
        name: "hotmetrics Prometheus text",
        id: "hotmetrics_prometheus",
    },
    Contender {
        name: "hotmetrics OpenMetrics text",
        id: "hotmetrics_openmetrics",
    },
    Contender {
        name: concat!(crate::peer!("prometheus", prometheus), " TextEncoder"),
        id: "prometheus",
    },
    Contender {
        name: crate::peer!("prometheus-client", prometheus_client),
        id: "prometheus_client",
    },
    Contender {
        name: crate::peer!("metrics-exporter-prometheus", metrics_exporter_prometheus),
        id: "metrics_exporter_prometheus",
    },
    Contender {
        name: crate::peer!("fastmetrics", fastmetrics),
        id: "fastmetrics",
    },
    Contender {
        name: crate::peer!("measured", measured),
        id: "measured",
    },
];

/// Prometheus' default buckets, in seconds: the `le` bounds every
/// contender writes (plus `+Inf`).
pub const LE: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The 1,000 observations every histogram holds, in nanoseconds: 100 µs to
/// 2.3 s, log-spread.
pub fn observations() -> Vec<u64> {
    (0..1000)
        .map(|k| (100_000.0 * 1.0101f64.powi(k)) as u64)
        .collect()
}

/// The same counters and histograms in hotmetrics and in every peer, and
/// the buffers they render into (reused across scrapes where an API allows).
#[allow(missing_debug_implementations)]
pub struct Renderers {
    reg: Registry,
    /// hotmetrics' histograms, for [`scrape_changed`](Self::scrape_changed).
    hists: Vec<hotmetrics::Histogram>,
    /// [`observations`], and the one `scrape_changed` records next.
    obs: Vec<u64>,
    next: usize,
    snap: std::sync::Arc<Snapshot>,
    opts: TextOptions,
    prom: prometheus::Registry,
    pc: prometheus_client::registry::Registry,
    mep: metrics_exporter_prometheus::PrometheusHandle,
    fm: fastmetrics::registry::Registry,
    m_counters: Vec<(&'static MetricName, measured::Counter)>,
    m_hists: Vec<(&'static MetricName, measured::Histogram<11>)>,
    m_enc: measured::text::BufferedTextEncoder,
    buf: String,
    bytes: Vec<u8>,
}

impl Renderers {
    /// `counters` counters (values `7 i + 1`) and `histograms` histograms
    /// holding [`observations`] each, in every contender.
    pub fn new(counters: usize, histograms: usize) -> Renderers {
        let obs = observations();
        let d = Data {
            counters,
            histograms,
            secs: obs.iter().map(|&v| v as f64 * 1e-9).collect(),
            obs,
        };
        let reg = hotmetrics(&d);
        let hists = (0..histograms)
            .map(|i| {
                reg.histogram(&d.hname(i), "A latency", Unit::Nanoseconds)
                    .unwrap()
            })
            .collect();
        let (m_counters, m_hists) = measured(&d);
        Renderers {
            snap: reg.collect(),
            reg,
            hists,
            obs: d.obs.clone(),
            next: 0,
            opts: TextOptions::new().buckets(&LE),
            prom: prometheus(&d),
            pc: prometheus_client(&d),
            mep: metrics_exporter_prometheus(&d),
            fm: fastmetrics(&d),
            m_counters,
            m_hists,
            m_enc: measured::text::BufferedTextEncoder::new(),
            buf: String::new(),
            bytes: Vec::new(),
        }
    }

    /// Renders one scrape with contender `k` (an index into
    /// [`CONTENDERS`]); returns its size in bytes. hotmetrics renders the
    /// snapshot collected at construction.
    pub fn render(&mut self, k: usize) -> usize {
        let buf = &mut self.buf;
        buf.clear();
        match k {
            0 => hm_prom::render_into(&self.snap, buf, &self.opts),
            1 => openmetrics::render_into(&self.snap, buf, &self.opts),
            2 => prometheus::TextEncoder::new()
                .encode_utf8(&self.prom.gather(), buf)
                .unwrap(),
            3 => prometheus_client::encoding::text::encode(buf, &self.pc).unwrap(),
            4 => return self.mep.render().len(),
            5 => fastmetrics::format::text::encode(
                buf,
                &self.fm,
                fastmetrics::format::text::TextProfile::PrometheusV0_0_4,
            )
            .unwrap(),
            _ => {
                for (name, c) in &self.m_counters {
                    self.m_enc.write_help(*name, "A counter").unwrap();
                    c.collect_family_into(*name, &mut self.m_enc).unwrap();
                }
                for (name, h) in &self.m_hists {
                    self.m_enc.write_help(*name, "A latency").unwrap();
                    h.collect_family_into(*name, &mut self.m_enc).unwrap();
                }
                return self.m_enc.finish().len();
            }
        }
        buf.len()
    }

    /// One scrape as a `/metrics` endpoint serves it, with contender `k`:
    /// hotmetrics collects (`Registry::collect`, which its endpoint does on
    /// every scrape unless configured to collect on a timer), then renders;
    /// a peer encodes (reading its atomics as it goes, so that is its whole
    /// scrape). Returns the size in bytes.
    ///
    /// The last scrape's snapshot is let go first, as an endpoint's
    /// response lets it go once sent (its drop is part of the scrape either way).
    pub fn scrape(&mut self, k: usize) -> usize {
        if k < 2 {
            self.snap = std::sync::Arc::default();
            self.snap = self.reg.collect();
        }
        self.render(k)
    }

    /// A hotmetrics scrape in the Prometheus text format (as
    /// `scrape(0)`) after one more observation in every histogram (the
    /// next of [`observations`], in turn): what a busy service's scrape
    /// pays, where every histogram changed since the last one. A peer's
    /// encode costs the same whether or not anything was recorded.
    pub fn scrape_changed(&mut self) -> usize {
        let v = self.obs[self.next % self.obs.len()];
        self.next += 1;
        self.hists.iter().for_each(|h| h.record(v));
        self.scrape(0)
    }

    /// hotmetrics' JSON summary of the snapshot collected at construction;
    /// returns the size in bytes.
    pub fn json(&mut self) -> usize {
        self.bytes.clear();
        json::to_writer(&mut self.bytes, &self.snap).expect("writing into a Vec");
        self.bytes.len()
    }
}

/// What every contender holds.
struct Data {
    counters: usize,
    histograms: usize,
    /// [`observations`], in nanoseconds and in seconds.
    obs: Vec<u64>,
    secs: Vec<f64>,
}

impl Data {
    fn value(&self, i: usize) -> u64 {
        i as u64 * 7 + 1
    }

    fn cname(&self, i: usize) -> String {
        format!("render_counter_{i}")
    }

    fn hname(&self, i: usize) -> String {
        format!("render_latency_{i}")
    }
}

fn hotmetrics(d: &Data) -> Registry {
    let reg = Registry::new();
    for i in 0..d.counters {
        reg.counter(&d.cname(i), "A counter")
            .unwrap()
            .add(d.value(i));
    }
    for i in 0..d.histograms {
        let h = reg
            .histogram(&d.hname(i), "A latency", Unit::Nanoseconds)
            .unwrap();
        d.obs.iter().for_each(|&v| h.record(v));
    }
    reg
}

fn prometheus(d: &Data) -> prometheus::Registry {
    let prom = prometheus::Registry::new();
    for i in 0..d.counters {
        let c = prometheus::IntCounter::new(d.cname(i) + "_total", "A counter").unwrap();
        c.inc_by(d.value(i));
        prom.register(Box::new(c)).unwrap();
    }
    for i in 0..d.histograms {
        let h = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(d.hname(i) + "_seconds", "A latency")
                .buckets(LE.to_vec()),
        )
        .unwrap();
        d.secs.iter().for_each(|&v| h.observe(v));
        prom.register(Box::new(h)).unwrap();
    }
    prom
}

fn prometheus_client(d: &Data) -> prometheus_client::registry::Registry {
    let mut pc = prometheus_client::registry::Registry::default();
    for i in 0..d.counters {
        let c: prometheus_client::metrics::counter::Counter = Default::default();
        c.inc_by(d.value(i));
        pc.register(d.cname(i), "A counter", c);
    }
    for i in 0..d.histograms {
        let h = prometheus_client::metrics::histogram::Histogram::new(LE.iter().copied());
        d.secs.iter().for_each(|&v| h.observe(v));
        pc.register(d.hname(i) + "_seconds", "A latency", h);
    }
    pc
}

fn metrics_exporter_prometheus(d: &Data) -> metrics_exporter_prometheus::PrometheusHandle {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&LE)
        .unwrap()
        .build_recorder();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..d.counters {
            metrics::describe_counter!(d.cname(i) + "_total", "A counter");
            metrics::counter!(d.cname(i) + "_total").increment(d.value(i));
        }
        for i in 0..d.histograms {
            metrics::describe_histogram!(d.hname(i) + "_seconds", "A latency");
            let h = metrics::histogram!(d.hname(i) + "_seconds");
            d.secs.iter().for_each(|&v| h.record(v));
        }
    });
    recorder.handle()
}

fn fastmetrics(d: &Data) -> fastmetrics::registry::Registry {
    let mut fm = fastmetrics::registry::Registry::default();
    for i in 0..d.counters {
        let c = <fastmetrics::metrics::counter::Counter>::default();
        c.inc_by(d.value(i));
        fm.register(d.cname(i), "A counter", c).unwrap();
    }
    for i in 0..d.histograms {
        let h = fastmetrics::metrics::histogram::Histogram::new(LE);
        d.secs.iter().for_each(|&v| h.observe(v));
        fm.register(d.hname(i) + "_seconds", "A latency", h)
            .unwrap();
    }
    fm
}

/// measured's counters and histograms, with their names.
type Measured = (
    Vec<(&'static MetricName, measured::Counter)>,
    Vec<(&'static MetricName, measured::Histogram<11>)>,
);

fn measured(d: &Data) -> Measured {
    // measured names are 'static; these live as long as the process.
    let leak =
        |s: String| -> &'static MetricName { MetricName::from_str(Box::leak(s.into_boxed_str())) };
    let m_counters = (0..d.counters)
        .map(|i| {
            let c = measured::Counter::new();
            c.inc_by(d.value(i));
            (leak(d.cname(i)), c)
        })
        .collect();
    let m_hists = (0..d.histograms)
        .map(|i| {
            let h = measured::Histogram::with_metadata(
                measured::metric::histogram::Thresholds::with_buckets(LE),
            );
            d.secs.iter().for_each(|&v| h.observe(v));
            (leak(d.hname(i) + "_seconds"), h)
        })
        .collect();
    (m_counters, m_hists)
}
