//! Peers side by side: single-thread ns/op of a counter inc and a
//! histogram record, and 2-thread histogram-record throughput, for
//! hotmetrics and each peer.

use super::peer_runs::{self, PEERS};
use super::Ctx;
use crate::model::Section;
use crate::stats::{num, Figure};
use crate::svg::{self, Chart, Series};
use std::time::Duration;

/// One contender's figures (none where it has no such operation).
struct PeerRow {
    name: &'static str,
    counter: Option<Figure>,
    hist: Option<Figure>,
    tput: Figure,
}

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let p = peer_runs::Params {
        batches: if cfg.quick { 100 } else { 1_000 },
        batch: 1000,
        window: Duration::from_millis(if cfg.quick { 100 } else { 400 }),
    };
    let mut s = ctx.section(method(cfg, &p));
    let n = PEERS.len();
    let mut c: Vec<Vec<f64>> = vec![vec![]; n];
    let mut h: Vec<Vec<f64>> = vec![vec![]; n];
    let mut t: Vec<Vec<f64>> = vec![vec![]; n];
    let mut busy = Vec::new();
    for r in 0..cfg.runs {
        ctx.progress(&format!("peers run {}/{}", r + 1, cfg.runs));
        for k in 0..n {
            let x = peer_runs::sample(k, &p);
            if let Some(v) = x.counter_ns {
                c[k].push(v);
            }
            if let Some(v) = x.hist_ns {
                h[k].push(v);
            }
            t[k].push(x.tput2.ops_per_s);
            busy.push(x.tput2.busy);
        }
    }
    let mut rows = Vec::new();
    for (k, name) in PEERS.iter().map(|p| p.name).enumerate() {
        let counter = (!c[k].is_empty())
            .then(|| s.fig(Figure::of(format!("{name}: counter inc"), "ns/op", &c[k])));
        let hist = (!h[k].is_empty()).then(|| {
            s.fig(Figure::of(
                format!("{name}: histogram record"),
                "ns/op",
                &h[k],
            ))
        });
        let tput = s.fig(Figure::of(
            format!("{name}: 2-thread histogram records"),
            "ops/s",
            &t[k],
        ));
        rows.push(PeerRow {
            name,
            counter,
            hist,
            tput,
        });
    }
    s.fig(Figure::of(
        "2-thread windows, all peers: CPU busy (process CPU time / wall time)",
        "cores",
        &busy,
    ));
    s.notes.push(
        "\"CPU busy\" below 2 cores means the two threads did not run in parallel for the \
         whole window (the machine is shared), so they contended less for shared cache lines \
         and locks than on 2 free cores."
            .into(),
    );
    let ours = &rows[0];
    let (oc, oh) = (ours.counter.clone().unwrap(), ours.hist.clone().unwrap());
    let ot = ours.tput.clone();
    for r in &rows[2..] {
        if let Some(f) = &r.counter {
            s.versus("counter", &oc, f, r.name);
        }
        if let Some(f) = &r.hist {
            s.versus("histogram", &oh, f, r.name);
        }
        s.versus("throughput", &ot, &r.tput, r.name);
    }
    s.notes.push(
        "Not measured here: metrics-exporter-prometheus's recorder (its handles are the \
         AtomicStorage ones measured here); fastmetrics' and measured's rendering is in the \
         exposition render section."
            .into(),
    );
    console(&mut s, &rows);
    plot(&mut s, &rows);
    s
}

/// The contenders' medians as a table for the terminal.
fn console(s: &mut Section, rows: &[PeerRow]) {
    s.console
        .push("Peers (median ns/op single thread; 2-thread histogram records/s):".into());
    s.console.push(format!(
        "{:<50} {:>10} {:>10} {:>14}",
        "peer", "counter", "histogram", "2-thread/s"
    ));
    for r in rows {
        let f = |x: &Option<Figure>| x.as_ref().map_or("n/a".into(), |f| num(f.median));
        s.console.push(format!(
            "{:<50} {:>10} {:>10} {:>14}",
            r.name,
            f(&r.counter),
            f(&r.hist),
            num(r.tput.median)
        ));
    }
}

/// ns per operation (log scale, "n/a" where a peer has no counter), and
/// 2-thread records per second.
fn plot(s: &mut Section, rows: &[PeerRow]) {
    let cats: Vec<String> = PEERS.iter().map(|p| p.short.to_string()).collect();
    let ns = [
        Series {
            name: "counter inc".into(),
            values: rows
                .iter()
                .map(|r| r.counter.as_ref().map(Figure::point))
                .collect(),
        },
        Series {
            name: "histogram record".into(),
            values: rows
                .iter()
                .map(|r| r.hist.as_ref().map(Figure::point))
                .collect(),
        },
    ];
    let chart = Chart {
        title: "Single-thread cost per operation",
        y_label: "ns per operation (log scale)",
        caption: "bars: median over runs; whiskers: min–max over runs; n/a: no such metric",
        log: true,
    };
    s.plot("peers_ns.svg", svg::bars(&chart, &cats, &ns, &[]));
    let tput = [Series {
        name: "2-thread records/s".into(),
        values: rows.iter().map(|r| Some(r.tput.point())).collect(),
    }];
    let chart = Chart {
        title: "2 threads recording into one histogram",
        y_label: "records per second",
        caption: "bars: median over runs; whiskers: min–max over runs",
        log: false,
    };
    s.plot("peers_throughput.svg", svg::bars(&chart, &cats, &tput, &[]));
}

/// The section's method in words.
fn method(cfg: &crate::cli::Config, p: &peer_runs::Params) -> String {
    format!(
        "Single thread: median over {} batches of 1,000 operations (after a warm-up) of \
             the ns per operation, per run. 2 threads: histogram records only, each thread \
             looping on one shared histogram for {} ms, ops/s as in the throughput section. \
             Peers get the same values; the f64-based ones record seconds (ns × 1e-9). \
             prometheus: `IntCounter`, `Histogram` with the default buckets (no protobuf \
             feature). prometheus-client: `Counter<u64>`, `Histogram` with the same \
             default buckets. metrics: `metrics::Counter`/`Histogram` handles over \
             `metrics_util::registry::Registry::atomic()` (`AtomicStorage`, as \
             metrics-exporter-prometheus stores them; the recorder itself is not built). \
             fastmetrics: `Counter`, `Histogram` with the same default buckets. \
             opentelemetry_sdk: `u64_counter`, `f64_histogram` with the same boundaries, \
             no attributes, from an `SdkMeterProvider` with a `ManualReader`. \
             hdrhistogram: `Histogram<u64>` with 3 significant digits behind a `Mutex` \
             (no counter). `Mutex<Vec<f64>>`: lock and push, sorted at read time in the \
             replaced design (no counter). The metrics bucket and the Vec are cleared every \
             2^20 operations per thread, as a periodic drain would. Peers are interleaved \
             within each run; {} runs; figures are the median and min–max over runs.",
        num(p.batches as f64),
        p.window.as_millis(),
        cfg.runs
    )
}
