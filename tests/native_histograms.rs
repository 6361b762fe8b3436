//! Native histograms reach a real Prometheus (2.42 with
//! `--enable-feature=native-histograms`) two ways: it scrapes the endpoint
//! over the protobuf format, and it receives a remote-write push of
//! native histogram series. For data recorded from known distributions,
//! `histogram_count` and `histogram_sum` equal what was recorded and
//! `histogram_quantile(q, …)` for q = 0.5, 0.9, 0.99 lies within the
//! exported bucket width plus the re-binning bound of `export::native`
//! (half a recorded bucket) of the exact quantile of the recorded values.
//!
//! Needs the `prometheus` binary (see `tests/common/prom.rs`).

use hotmetrics::export::http::Server;
use hotmetrics::export::native::native_histogram_scaled;
use hotmetrics::export::TextOptions;
use hotmetrics::telemetry::{remote_write, Client};
use hotmetrics::{Registry, Snapshot, Unit};
#[path = "common/prom.rs"]
mod prom;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Recorded values (ns) of two distributions, with what they are named.
struct Recorded {
    reg: Registry,
    /// (exported name, values in ns)
    series: Vec<(&'static str, Vec<u64>)>,
}

/// A deterministic pseudo-random sequence in [0, 1) (a 64-bit LCG).
fn uniform(n: usize, mut state: u64) -> impl Iterator<Item = f64> {
    (0..n).map(move |_| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    })
}

fn record() -> Recorded {
    let reg = Registry::new();
    // Log-uniform over 10 µs .. 100 ms, and uniform over 1 .. 5 ms.
    let log_uniform: Vec<u64> = uniform(5_000, 1)
        .map(|u| (1e4 * 1e4f64.powf(u)) as u64)
        .collect();
    let flat: Vec<u64> = uniform(5_000, 2)
        .map(|u| 1_000_000 + (u * 4e6) as u64)
        .collect();
    let mut series = Vec::new();
    for (name, values) in [("nh_wide", log_uniform), ("nh_flat", flat)] {
        let h = reg.histogram(name, "Latency", Unit::Nanoseconds).unwrap();
        for &v in &values {
            h.record(v);
        }
        series.push((name, values));
    }
    Recorded { reg, series }
}

/// Checks count, sum and quantiles of every series as Prometheus answers
/// them, against the recorded values.
fn check(api: &str, server: &mut prom::Kill, rec: &Recorded, snap: &Snapshot) {
    for (name, values) in &rec.series {
        let exported = format!("{name}_seconds");
        let count = prom::wait_for(api, &format!("histogram_count({exported})"), server);
        assert_eq!(count, values.len() as f64, "{exported}");
        let sum = prom::query(api, &format!("histogram_sum({exported})")).unwrap();
        let want: f64 = values.iter().sum::<u64>() as f64 / 1e9;
        assert!(
            (sum - want).abs() <= want * 1e-12,
            "{exported}: sum {sum} vs {want}"
        );
        let h = snap.histogram(name).unwrap();
        let native = native_histogram_scaled(h, 1e9, 160);
        let e = h.precision().relative_error();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        for q in [0.5, 0.9, 0.99] {
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let exact = sorted[rank - 1] as f64 / 1e9;
            let got = prom::query(api, &format!("histogram_quantile({q}, {exported})")).unwrap();
            let bound = exact * ((1.0 + e) * native.relative_width() + e);
            assert!(
                (got - exact).abs() <= bound,
                "{exported} q={q}: {got} vs exact {exact} (bound {bound}, schema {})",
                native.schema
            );
            eprintln!(
                "{exported} q={q}: Prometheus {got:.6e}, exact {exact:.6e}, \
                 error {:.3} % (bound {:.3} %, schema {})",
                (got - exact).abs() / exact * 100.0,
                bound / exact * 100.0,
                native.schema
            );
        }
        // Ingested as a native histogram only: no classic series.
        assert_eq!(prom::query(api, &format!("{exported}_count")), None);
    }
}

#[test]
fn prometheus_scrapes_native_histograms_over_protobuf() {
    if !prom::prometheus_installed() {
        return;
    }
    let rec = record();
    let server = Server::builder(&rec.reg)
        .options(TextOptions::new())
        .bind("127.0.0.1:0")
        .unwrap();
    let dir = prom::TempDir(
        std::env::temp_dir().join(format!("hotmetrics-prom-nh-{}", std::process::id())),
    );
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: hotmetrics\n    static_configs:\n      - targets: ['{}']\n",
        server.local_addr()
    );
    let (mut prom, api) = prom::start(&dir, &config, &["--enable-feature=native-histograms"]);
    prom::wait_ready(&api, &mut prom);
    let snap = rec.reg.collect();
    check(&api, &mut prom, &rec, &snap);
}

#[test]
fn prometheus_receives_native_histograms_by_remote_write() {
    if !prom::prometheus_installed() {
        return;
    }
    let rec = record();
    let dir = prom::TempDir(
        std::env::temp_dir().join(format!("hotmetrics-prom-nhrw-{}", std::process::id())),
    );
    let (mut prom, api) = prom::start(
        &dir,
        "global:\n  scrape_interval: 1m\n",
        &[
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
        ],
    );
    prom::wait_ready(&api, &mut prom);
    let snap = rec.reg.collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let body = remote_write::encode_native(&snap, &TextOptions::new(), now.as_millis() as i64);
    let mut req = ureq::post(&format!("{api}/api/v1/write"));
    for (k, v) in remote_write::HEADERS {
        req = req.header(k, v);
    }
    let resp = req
        .config()
        .http_status_as_error(false)
        .build()
        .send(&body[..])
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    assert_eq!(status, 204, "remote write refused: {text}");
    std::thread::sleep(Duration::from_millis(200));
    check(&api, &mut prom, &rec, &snap);

    // The client's option pushes the same way.
    let reg = Registry::new();
    let h = reg.histogram("nh_client", "L", Unit::Nanoseconds).unwrap();
    for v in [0, 2_000, 3_000_000, 3_000_000] {
        h.record(v);
    }
    let client = Client::builder()
        .remote_write(format!("{api}/api/v1/write"))
        .registry(&reg)
        .remote_write_native_histograms(true)
        .push_interval(Duration::from_millis(200))
        .start()
        .unwrap();
    let q = "histogram_count(nh_client_seconds)";
    assert_eq!(prom::wait_for(&api, q, &mut prom), 4.0);
    let sum = prom::query(&api, "histogram_sum(nh_client_seconds)").unwrap();
    assert!((sum - 0.006002).abs() < 1e-12, "{sum}");
    drop(client);
}
