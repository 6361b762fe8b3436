//! The scrape handler mounted in an axum router and in a hyper
//! `service_fn`: the same bytes as `http::serve` for every `Accept` /
//! `Accept-Encoding`, and a real Prometheus scraping the mounted route.
//!
//! The Prometheus part needs the `prometheus` binary (see
//! `tests/common/prom.rs`); without it that test prints why and passes
//! without checking, except under CI.

use axum::Router;
use flate2::read::GzDecoder;
use hotmetrics::export::axum::{metrics_route, route, scrape};
use hotmetrics::export::handler::ScrapeHandler;
use hotmetrics::export::http;
use hotmetrics::export::TextOptions;
use hotmetrics::{Registry, Unit};
use std::io::Read;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

#[path = "common/prom.rs"]
mod prom;
#[path = "common/raw_http.rs"]
mod raw_http;

use raw_http::{get, header, status};

/// An axum app served on loopback from a thread of its own; stops on drop.
struct App {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl App {
    fn serve(router: Router) -> App {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        App {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A registry of every kind, recorded once and then left alone: every
/// collection of it renders the same text.
fn frozen_registry() -> Registry {
    let reg = Registry::new();
    reg.counter("jobs", "Jobs done").unwrap().add(3);
    reg.gauge("queue_depth", "Jobs waiting").unwrap().set(-2);
    let lat = reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap();
    for v in [500_000, 2_000_000, 40_000_000] {
        lat.record(v);
    }
    let hits = reg
        .counter_family("hits", "Cache hits", &["route", "cache"])
        .unwrap();
    hits.inc(&("/search", "hit"));
    hits.add(&("/item/\"x\"", "miss"), 4);
    reg
}

/// What Prometheus 2.42 sends with `--enable-feature=native-histograms`.
const PROTOBUF_ACCEPT: &str = "Accept: application/vnd.google.protobuf;\
     proto=io.prometheus.client.MetricFamily;encoding=delimited,\
     application/openmetrics-text;version=1.0.0;q=0.8,\
     text/plain;version=0.0.4;q=0.2,*/*;q=0.1\r\n";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(body).read_to_end(&mut out).unwrap();
    out
}

/// What Prometheus 2.x sends.
const PROMETHEUS_ACCEPT: &str = "Accept: application/openmetrics-text;version=1.0.0,\
     application/openmetrics-text;version=0.0.1;q=0.75,\
     text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n";

#[test]
fn the_mounted_route_answers_as_the_endpoint_byte_for_byte() {
    let reg = frozen_registry();
    let opts = TextOptions::new().buckets(&[0.001, 0.01, 0.1]);
    let endpoint = http::Server::builder(&reg)
        .options(opts.clone())
        .bind("127.0.0.1:0")
        .unwrap();
    let app = App::serve(
        Router::new()
            .route("/metrics", route(ScrapeHandler::new(&reg).options(opts)))
            .route("/", axum::routing::get(|| async { "the app's own page" })),
    );

    // The app's own route still answers beside the mounted one.
    let (head, body) = get(app.addr, "/", "");
    assert_eq!(status(&head), 200, "{head}");
    assert_eq!(body, b"the app's own page");

    let cases: [(&str, &str, Option<&str>); 8] = [
        ("", "text/plain; version=0.0.4", None),
        ("Accept: text/plain\r\n", "text/plain; version=0.0.4", None),
        (PROMETHEUS_ACCEPT, "application/openmetrics-text", None),
        (
            "Accept-Encoding: gzip\r\n",
            "text/plain; version=0.0.4",
            Some("gzip"),
        ),
        (
            "Accept: application/openmetrics-text\r\nAccept-Encoding: deflate, gzip\r\n",
            "application/openmetrics-text",
            Some("gzip"),
        ),
        (
            "Accept: application/openmetrics-text;q=0, text/plain\r\nAccept-Encoding: gzip;q=0\r\n",
            "text/plain; version=0.0.4",
            None,
        ),
        (PROTOBUF_ACCEPT, "application/vnd.google.protobuf", None),
        (
            "Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
             encoding=delimited\r\nAccept-Encoding: gzip\r\n",
            "application/vnd.google.protobuf",
            Some("gzip"),
        ),
    ];
    let plain = get(endpoint.local_addr(), "/metrics", "").1;
    for (headers, content_type, encoding) in cases {
        let (ehead, ebody) = get(endpoint.local_addr(), "/metrics", headers);
        let (ahead, abody) = get(app.addr, "/metrics", headers);
        assert_eq!(status(&ahead), 200, "{ahead}");
        assert_eq!(status(&ehead), 200, "{ehead}");
        for name in ["content-type", "content-encoding", "vary"] {
            assert_eq!(
                header(&ahead, name),
                header(&ehead, name),
                "{name} for {headers:?}\naxum: {ahead}\nendpoint: {ehead}"
            );
        }
        let ct = header(&ahead, "content-type").unwrap();
        assert!(ct.starts_with(content_type), "{ct} for {headers:?}");
        assert_eq!(header(&ahead, "content-encoding"), encoding, "{headers:?}");
        assert_eq!(header(&ahead, "vary"), Some("Accept, Accept-Encoding"));
        assert!(!abody.is_empty());
        assert!(abody == ebody, "bodies differ for {headers:?}");

        let raw = match encoding {
            Some(_) => gunzip(&abody),
            None => abody,
        };
        if content_type.starts_with("application/vnd.google.protobuf") {
            // Length-delimited `MetricFamily` messages: names travel as
            // plain bytes, text lines do not.
            assert!(contains(&raw, b"hits_total"), "{headers:?}");
            assert!(contains(&raw, b"lat_seconds"), "{headers:?}");
            assert!(!contains(&raw, b"# TYPE"), "{headers:?}");
            continue;
        }
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains("hits_total{route=\"/item/\\\"x\\\"\",cache=\"miss\"} 4\n"));
        assert!(
            text.contains("lat_seconds_bucket{le=\"0.01\"} 2\n"),
            "{text}"
        );
        if content_type.starts_with("text/plain") {
            assert_eq!(text.as_bytes(), &plain[..], "{headers:?}");
        } else {
            assert!(text.ends_with("# EOF\n"), "{text}");
        }
    }
    // Other methods: 405 from both.
    let raw =
        b"POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(status(&raw_http::exchange(app.addr, raw).0), 405);
    assert_eq!(
        status(&raw_http::exchange(endpoint.local_addr(), raw).0),
        405
    );
}

#[test]
fn the_route_collects_on_each_scrape_unless_told_to_serve_the_latest() {
    let reg = Registry::new();
    let jobs = reg.counter("jobs", "Jobs done").unwrap();
    let app = App::serve(Router::new().route("/metrics", metrics_route(&reg)).route(
        "/latest",
        axum::routing::get(scrape).with_state(ScrapeHandler::new(&reg).latest_snapshot()),
    ));
    jobs.add(5);
    let text = |path| String::from_utf8(get(app.addr, path, "").1).unwrap();
    assert!(text("/metrics").ends_with("jobs_total 5\n"));
    jobs.add(1);
    // `/latest` serves the collection `/metrics` made; the next scrape of
    // `/metrics` collects again.
    assert!(text("/latest").ends_with("jobs_total 5\n"));
    assert!(text("/metrics").ends_with("jobs_total 6\n"));
    assert!(text("/latest").ends_with("jobs_total 6\n"));
    let (head, body) = raw_http::exchange(
        app.addr,
        b"HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(status(&head) == 200 && body.is_empty(), "{head}");
}

#[test]
fn prometheus_scrapes_the_mounted_route() {
    if !prom::prometheus_installed() {
        return;
    }
    let reg = Registry::new();
    reg.counter("mounted_scrape_requests", "Requests")
        .unwrap()
        .add(42);
    let lat = reg
        .histogram("mounted_scrape_latency", "Latency", Unit::Nanoseconds)
        .unwrap();
    for _ in 0..10 {
        lat.record(3_000_000);
    }
    let app = App::serve(
        Router::new()
            .route("/internal/metrics", metrics_route(&reg))
            .route("/", axum::routing::get(|| async { "home" })),
    );
    let dir = prom::TempDir(
        std::env::temp_dir().join(format!("hotmetrics-prom-axum-{}", std::process::id())),
    );
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: mounted\n    metrics_path: /internal/metrics\n\
         \x20   static_configs:\n      - targets: ['{}']\n",
        app.addr
    );
    let (mut server, api) = prom::start(&dir, &config, &[]);
    assert_eq!(
        prom::wait_for(&api, "mounted_scrape_requests_total", &mut server),
        42.0
    );
    assert_eq!(
        prom::wait_for(&api, "mounted_scrape_latency_seconds_count", &mut server),
        10.0
    );
    assert_eq!(
        prom::wait_for(&api, "up{job=\"mounted\"}", &mut server),
        1.0
    );
    // Prometheus asked for OpenMetrics and gzip: what it parsed came
    // through both (the unit is OpenMetrics metadata).
    let meta = ureq::get(&format!("{api}/api/v1/targets/metadata"))
        .query("metric", "mounted_scrape_latency_seconds")
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default();
    assert!(meta.contains("\"unit\":\"seconds\""), "{meta}");
    drop(server);
    drop(app);
}

/// A hyper server whose `service_fn` is the hyper adapter, answering
/// `connections` connections, then ending.
fn serve_hyper(handler: ScrapeHandler, connections: usize) -> (SocketAddr, JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let svc = hyper::service::service_fn(hotmetrics::export::hyper::service(handler));
            for _ in 0..connections {
                let (stream, _) = listener.accept().await.unwrap();
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc.clone());
                let _ = conn.await;
            }
        });
    });
    (addr, thread)
}

#[test]
fn the_hyper_adapter_answers_as_the_endpoint_byte_for_byte() {
    let reg = frozen_registry();
    let endpoint = http::serve(&reg, "127.0.0.1:0").unwrap();
    let cases = [
        "",
        PROMETHEUS_ACCEPT,
        "Accept-Encoding: gzip\r\n",
        "Accept: application/openmetrics-text\r\nAccept-Encoding: gzip\r\n",
    ];
    let (addr, thread) = serve_hyper(ScrapeHandler::new(&reg), cases.len() + 1);
    for headers in cases {
        let (ehead, ebody) = get(endpoint.local_addr(), "/metrics", headers);
        let (hhead, hbody) = get(addr, "/metrics", headers);
        assert_eq!(status(&hhead), 200, "{hhead}");
        for name in ["content-type", "content-encoding", "vary"] {
            assert_eq!(
                header(&hhead, name),
                header(&ehead, name),
                "{name}: {hhead}"
            );
        }
        assert!(hbody == ebody, "bodies differ for {headers:?}");
    }
    let raw = b"DELETE /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let (head, _) = raw_http::exchange(addr, raw);
    assert_eq!(status(&head), 405, "{head}");
    assert_eq!(header(&head, "allow"), Some("GET, HEAD"));
    thread.join().unwrap();
}
