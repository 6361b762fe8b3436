//! A real Prometheus server scrapes the `/metrics` endpoint, and its query
//! API returns what was recorded: a counter's value and a
//! `histogram_quantile` over the classic buckets. A second job scrapes the
//! golden OpenMetrics file (every series shape, awkward label values), so
//! Prometheus's own OpenMetrics parser reads it.
//!
//! Needs the `prometheus` binary (`apt-get install -y prometheus`;
//! `scripts/test.sh` installs it). Without it the test prints why and
//! passes without checking, except under CI (`CI` set), where it fails.

use hotmetrics::export::http::Server;
use hotmetrics::export::TextOptions;
use hotmetrics::{Registry, Unit};
#[path = "common/prom.rs"]
mod prom;

use prom::{free_port, prometheus_installed, wait_for, Kill, TempDir};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Serves `body` as OpenMetrics text to every connection, from a thread
/// that lives as long as the test process.
fn serve_file(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; \
                 charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn prometheus_scrapes_the_endpoint() {
    if !prometheus_installed() {
        return;
    }

    let reg = Registry::new();
    reg.counter("scrape_test_requests", "Requests")
        .unwrap()
        .add(42);
    let lat = reg
        .histogram("scrape_test_latency", "Latency", Unit::Nanoseconds)
        .unwrap();
    // 30 observations of 0.5 ms and 70 of 3 ms. The fine buckets of both
    // lie well inside the classic ones (0.5 ms in 499,712..=507,903 ns,
    // 3 ms in 2,981,888..=3,014,655 ns), so the classic counts are exact:
    // le=0.001: 30, le=0.002: 30, le=0.004: 100.
    for _ in 0..30 {
        lat.record(500_000);
    }
    for _ in 0..70 {
        lat.record(3_000_000);
    }
    let server = Server::builder(&reg)
        .options(TextOptions::new().buckets(&[0.001, 0.002, 0.004, 0.008]))
        .bind("127.0.0.1:0")
        .unwrap();
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/every_type.om"
    ))
    .unwrap();
    let golden_port = serve_file(golden);

    let dir = TempDir(std::env::temp_dir().join(format!("hotmetrics-prom-{}", std::process::id())));
    std::fs::create_dir_all(dir.0.join("data")).unwrap();
    let config = dir.0.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: hotmetrics\n    static_configs:\n      - targets: ['{}']\n\
             \x20 - job_name: golden\n    static_configs:\n      - targets: ['127.0.0.1:{golden_port}']\n",
            server.local_addr()
        ),
    )
    .unwrap();
    let web = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
    let mut prom = Kill(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let api = format!("http://{web}");

    assert_eq!(
        wait_for(&api, "scrape_test_requests_total", &mut prom),
        42.0
    );
    // Linear interpolation inside the bucket holding rank 50 of 100:
    // (0.002, 0.004] holds ranks 31..=100, so 0.002 + 0.002 * 20 / 70.
    let p50 = wait_for(
        &api,
        "histogram_quantile(0.5, scrape_test_latency_seconds_bucket)",
        &mut prom,
    );
    assert!(
        (p50 - (0.002 + 0.002 * 20.0 / 70.0)).abs() < 1e-12,
        "p50 = {p50}"
    );
    assert_eq!(
        wait_for(&api, "scrape_test_latency_seconds_count", &mut prom),
        100.0
    );
    assert_eq!(
        wait_for(&api, "scrape_test_latency_seconds_sum", &mut prom),
        0.225
    );

    // The golden file went through Prometheus's OpenMetrics parser whole:
    // the job is up, and the awkward label values came back unescaped.
    assert_eq!(wait_for(&api, "up{job=\"golden\"}", &mut prom), 1.0);
    assert_eq!(
        wait_for(
            &api,
            r#"http_requests_total{path="C:\\dir\\",quote="say \"hi\"",nl="line1\nline2",utf8="Grüße 🌍"}"#,
            &mut prom
        ),
        3.0
    );
    assert_eq!(
        wait_for(
            &api,
            r#"breaker{backend="cache \"eu\"",breaker="open"}"#,
            &mut prom
        ),
        1.0
    );
    assert_eq!(
        wait_for(&api, r#"payload_bytes{quantile="0.5"}"#, &mut prom),
        30.0
    );
    assert_eq!(
        wait_for(
            &api,
            r#"request_duration_seconds_bucket{route="/search",le="0.01"}"#,
            &mut prom
        ),
        3.0
    );
    assert_eq!(wait_for(&api, "up{job=\"hotmetrics\"}", &mut prom), 1.0);
    drop(prom);
    server.shutdown();
}
