//! A real Prometheus server scrapes the endpoint over TLS with basic and
//! bearer credentials (as configured in `scrape_configs`), and a job with
//! a wrong password is refused (`up` is 0).
//!
//! Needs the `prometheus` binary (see `tests/common/prom.rs`).

use hotmetrics::export::http::Server;
use hotmetrics::Registry;
#[path = "common/prom.rs"]
mod prom;

use prom::{prometheus_installed, start, wait_for, wait_ready, TempDir};

#[test]
fn prometheus_scrapes_over_tls_with_credentials() {
    if !prometheus_installed() {
        return;
    }
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let reg = Registry::new();
    reg.counter("tls_scrape_test", "Requests").unwrap().add(42);
    let server = Server::builder(&reg)
        .tls_pem(
            ck.cert.pem().as_bytes(),
            ck.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap()
        .basic_auth("prometheus", "s3cret")
        .bearer_token("b3arer-t0ken")
        .bind("127.0.0.1:0")
        .unwrap();

    let dir =
        TempDir(std::env::temp_dir().join(format!("hotmetrics-prom-tls-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let ca = dir.0.join("endpoint.pem");
    std::fs::write(&ca, ck.cert.pem()).unwrap();
    let job = |name: &str, auth: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    \
             tls_config:\n      ca_file: {}\n      server_name: localhost\n{auth}    \
             static_configs:\n      - targets: ['{}']\n",
            ca.display(),
            server.local_addr()
        )
    };
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
        job(
            "basic",
            "    basic_auth:\n      username: prometheus\n      password: s3cret\n"
        ),
        job(
            "bearer",
            "    authorization:\n      type: Bearer\n      credentials: b3arer-t0ken\n"
        ),
        job(
            "wrong",
            "    basic_auth:\n      username: prometheus\n      password: wrong\n"
        ),
    );
    let (mut prom, api) = start(&dir, &config, &[]);
    wait_ready(&api, &mut prom);

    for job in ["basic", "bearer"] {
        let q = format!("tls_scrape_test_total{{job=\"{job}\"}}");
        assert_eq!(wait_for(&api, &q, &mut prom), 42.0, "{job}");
        assert_eq!(
            wait_for(&api, &format!("up{{job=\"{job}\"}}"), &mut prom),
            1.0
        );
    }
    assert_eq!(wait_for(&api, "up{job=\"wrong\"}", &mut prom), 0.0);
    assert_eq!(
        prom::query(&api, "count(tls_scrape_test_total{job=\"wrong\"})"),
        None
    );
}
