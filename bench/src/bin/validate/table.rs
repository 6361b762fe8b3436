//! The report's table of contents: every section in run order, with its
//! requirement and thresholds as data. A threshold is stated here once: the
//! requirement printed in the report and the check made on the figures are
//! both written from it, and the sections are numbered from this order.

use crate::model::Section;
use crate::sections::{
    export, integrity, labeled, latency, memory, overhead, peers, render, telemetry, throughput,
    Ctx,
};
use crate::stats::num;

/// How a figure compares with a bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cmp {
    /// Below.
    Lt,
    /// At most.
    Le,
    /// At least.
    Ge,
}

impl Cmp {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Ge => a >= b,
        }
    }

    pub fn sign(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "≤",
            Cmp::Ge => "≥",
        }
    }
}

/// Which figure of the runs a fixed bound applies to.
#[derive(Clone, Copy, Debug)]
pub enum Stat {
    /// The median over runs.
    Median,
    /// The largest run (a bound that every run must meet).
    Max,
}

impl Stat {
    pub fn name(self) -> &'static str {
        match self {
            Stat::Median => "median",
            Stat::Max => "every run",
        }
    }
}

/// What a check requires.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// A figure against a fixed bound, in the figure's unit.
    Bound {
        stat: Stat,
        cmp: Cmp,
        value: f64,
        unit: &'static str,
    },
    /// Ours against another contender measured in the same run:
    /// ours `cmp` theirs × `factor` + `slack`. Where the two min–max ranges
    /// overlap the check is "within noise", neither pass nor fail.
    Versus {
        cmp: Cmp,
        factor: f64,
        slack: f64,
        unit: &'static str,
        theirs: &'static str,
    },
    /// A property that holds exactly or not (counts equal, output parses).
    Exact,
}

/// One requirement of a section.
#[derive(Debug)]
pub struct Threshold {
    /// How the section's code refers to it.
    pub id: &'static str,
    /// What is measured, e.g. "counter inc (shared) p99".
    pub what: &'static str,
    pub rule: Rule,
}

impl Threshold {
    /// The bound of a fixed-bound rule, for drawing it.
    pub fn bound_value(&self) -> Option<f64> {
        match self.rule {
            Rule::Bound { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The requirement in words, e.g. "histogram record p99: median < 100 ns".
    pub fn text(&self) -> String {
        match self.rule {
            Rule::Bound {
                stat,
                cmp,
                value,
                unit,
            } => format!(
                "{}: {} {} {} {unit}",
                self.what,
                stat.name(),
                cmp.sign(),
                num(value)
            ),
            Rule::Versus {
                cmp,
                factor,
                slack,
                unit,
                theirs,
            } => {
                let mut t = format!("{} {} {theirs}", self.what, cmp.sign());
                if factor != 1.0 {
                    t.push_str(&format!(" × {}", num(factor)));
                }
                if slack != 0.0 {
                    t.push_str(&format!(" + {} {unit}", num(slack)));
                }
                t
            }
            Rule::Exact => self.what.to_string(),
        }
    }
}

/// One section of the report.
#[derive(Debug)]
pub struct Spec {
    /// The key in `report.json`.
    pub key: &'static str,
    pub title: &'static str,
    /// What the section requires, before its thresholds.
    pub requirement: &'static str,
    pub thresholds: &'static [Threshold],
    pub run: fn(&Ctx<'_>) -> Section,
}

impl Spec {
    /// The threshold called `id`; a typo in a section's code is a bug, so
    /// it panics.
    pub fn threshold(&self, id: &str) -> &'static Threshold {
        self.thresholds
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("section {}: no threshold {id:?}", self.key))
    }

    /// The requirement in words: the lead sentence, then every threshold.
    pub fn requirement_text(&self) -> String {
        let list: Vec<String> = self.thresholds.iter().map(Threshold::text).collect();
        format!("{}: {}.", self.requirement, list.join("; "))
    }
}

const fn below(id: &'static str, what: &'static str, value: f64, unit: &'static str) -> Threshold {
    bound(id, what, Stat::Median, Cmp::Lt, value, unit)
}

const fn bound(
    id: &'static str,
    what: &'static str,
    stat: Stat,
    cmp: Cmp,
    value: f64,
    unit: &'static str,
) -> Threshold {
    Threshold {
        id,
        what,
        rule: Rule::Bound {
            stat,
            cmp,
            value,
            unit,
        },
    }
}

const fn versus(id: &'static str, what: &'static str, cmp: Cmp, theirs: &'static str) -> Threshold {
    Threshold {
        id,
        what,
        rule: Rule::Versus {
            cmp,
            factor: 1.0,
            slack: 0.0,
            unit: "",
            theirs,
        },
    }
}

const fn exact(id: &'static str, what: &'static str) -> Threshold {
    Threshold {
        id,
        what,
        rule: Rule::Exact,
    }
}

/// Every section, in run order.
pub static SECTIONS: [Spec; 10] = [
    Spec {
        key: "overhead",
        title: "Timer overhead on a ~1 ms function",
        requirement: "timing a ~1 ms function adds little to its duration (the replaced \
                      system added 1.32 %)",
        thresholds: &[
            below("time", "Histogram::time overhead", 1.0, "%"),
            below("macro", "#[track_latency] overhead", 1.0, "%"),
        ],
        run: overhead::run,
    },
    Spec {
        key: "memory",
        title: "Memory",
        requirement: "heap for recorded operations and for series, in a fresh registry \
                      (the 16-thread bound is set for this report)",
        thresholds: &[
            bound(
                "ops",
                "1,500 ops in one histogram, heap",
                Stat::Max,
                Cmp::Le,
                64.0,
                "KiB",
            ),
            bound(
                "counters",
                "1,500 counters, 1 thread, heap",
                Stat::Max,
                Cmp::Le,
                4096.0,
                "KiB",
            ),
            bound(
                "histograms",
                "1,500 histograms, 1 thread, heap",
                Stat::Max,
                Cmp::Le,
                4096.0,
                "KiB",
            ),
            bound(
                "threads",
                "1,500 counters + 1,500 histograms × 16 threads, cells",
                Stat::Max,
                Cmp::Le,
                65_536.0,
                "KiB",
            ),
        ],
        run: memory::run,
    },
    Spec {
        key: "latency",
        title: "Per-operation latency",
        requirement: "p99 per operation (thresholds set for this report)",
        thresholds: &[
            below(
                "record",
                "counter inc and histogram record p99",
                100.0,
                "ns",
            ),
            below("timer", "timer start+stop p99", 1_000.0, "ns"),
            below(
                "snapshot",
                "snapshot (collect + summary of 16 metrics) p99",
                1e6,
                "ns",
            ),
        ],
        run: latency::run,
    },
    Spec {
        key: "throughput",
        title: "Sustained throughput",
        requirement: "one counter inc and one histogram record per operation, at every \
                      thread count (threshold set for this report)",
        thresholds: &[
            bound(
                "ops",
                "operations per second",
                Stat::Median,
                Cmp::Ge,
                1e6,
                "ops/s",
            ),
            exact("exact", "the counter total equals the histogram count"),
        ],
        run: throughput::run,
    },
    Spec {
        key: "integrity",
        title: "Thread-safety integrity",
        requirement: "exact totals in every run",
        thresholds: &[exact(
            "exact",
            "counter total and histogram count equal threads × operations, and the \
             histogram sum equals the sum of the recorded values",
        )],
        run: integrity::run,
    },
    Spec {
        key: "export",
        title: "Summary export latency and size",
        requirement: "collect + JSON summary of 1,500 metrics (threshold set for this report)",
        thresholds: &[
            exact(
                "schema",
                "the output parses, with the schema version and all 1,500 series",
            ),
            below("p99", "export p99", 50.0, "ms"),
        ],
        run: export::run,
    },
    Spec {
        key: "render",
        title: "Exposition render",
        requirement: "a scrape of 1,000 counters + 100 histograms as Prometheus text \
                      (hotmetrics: collect + render, what its endpoint pays per scrape by \
                      default), every contender measured in this run (threshold set for \
                      this report)",
        thresholds: &[
            versus(
                "peer",
                "hotmetrics' Prometheus text scrape (collect + render) time",
                Cmp::Le,
                "every peer's",
            ),
            versus(
                "peer, every histogram changed",
                "the same after one more observation in every histogram",
                Cmp::Le,
                "every peer's",
            ),
        ],
        run: render::run,
    },
    Spec {
        key: "peers",
        title: "Peers side by side",
        requirement: "hotmetrics (shared handle) against every peer for the same operation, \
                      all measured in this run (thresholds set for this report)",
        thresholds: &[
            versus(
                "counter",
                "single-thread counter inc ns/op",
                Cmp::Le,
                "every peer's",
            ),
            versus(
                "histogram",
                "single-thread histogram record ns/op",
                Cmp::Le,
                "every peer's",
            ),
            versus(
                "throughput",
                "2-thread histogram records/s",
                Cmp::Ge,
                "every peer's",
            ),
        ],
        run: peers::run,
    },
    Spec {
        key: "labeled",
        title: "Labeled series",
        requirement: "labeled recording, single thread, all measured in this run \
                      (thresholds set for this report)",
        thresholds: &[
            Threshold {
                id: "prebound",
                what: "pre-bound labeled counter inc",
                rule: Rule::Versus {
                    cmp: Cmp::Le,
                    factor: 1.25,
                    slack: 0.5,
                    unit: "ns",
                    theirs: "plain counter inc",
                },
            },
            versus(
                "prometheus",
                "dynamic 3-label lookup + inc over 64 label sets",
                Cmp::Le,
                "prometheus' with_label_values",
            ),
            versus(
                "metrics",
                "dynamic 3-label lookup + inc over 64 label sets",
                Cmp::Le,
                "metrics' counter! with labels",
            ),
        ],
        run: labeled::run,
    },
    Spec {
        key: "telemetry",
        title: "Telemetry client",
        requirement: "the telemetry client against the replaced design (`Mutex<VecDeque>` + \
                      `Condvar::notify_one`), the host never blocked with the endpoint down, \
                      memory over 10 client cycles (open, 5 queries, close; the replaced \
                      client peaked at ~586 KB) and exact accounting against an endpoint \
                      failing every 3rd request (emit thresholds set for this report; the \
                      memory and accounting ones are the issue's)",
        thresholds: &[
            bound(
                "p50",
                "emit p50, 1 thread",
                Stat::Median,
                Cmp::Le,
                50.0,
                "ns",
            ),
            versus(
                "replaced",
                "emit p50",
                Cmp::Lt,
                "the replaced design's, on 1 and 2 threads",
            ),
            below(
                "p99",
                "emit p99 on 1 and 2 threads and with the endpoint down",
                1_000.0,
                "ns",
            ),
            exact(
                "delivered",
                "every event of the emit runs delivered at shutdown",
            ),
            exact(
                "breaker",
                "endpoint down: the breaker opened and stayed open (or probing) while measured",
            ),
            exact(
                "down",
                "endpoint down: nothing delivered, accepted = dropped after shutdown",
            ),
            bound(
                "peak",
                "10 client cycles: peak heap beyond the queue's bound",
                Stat::Max,
                Cmp::Lt,
                100_000.0,
                "B",
            ),
            exact(
                "cycles",
                "10 client cycles: every cycle delivered its 7 events",
            ),
            bound(
                "leak",
                "10 client cycles: live after cycle 10 − live after cycle 1",
                Stat::Max,
                Cmp::Le,
                256.0,
                "B",
            ),
            exact(
                "identity",
                "accounting: accepted = delivered + dropped + pending, pending 0, every run",
            ),
            exact(
                "lines",
                "accounting: delivered = lines the receiver acknowledged, every run",
            ),
            exact(
                "rejected",
                "accounting: the failed requests were counted as rejected, every run",
            ),
        ],
        run: telemetry::run,
    },
];
