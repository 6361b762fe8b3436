//! Starting a real Prometheus server on loopback and querying it, for the
//! scrape and remote-write tests. Without the `prometheus` binary a test
//! prints why and passes without checking, except under CI (`CI` set),
//! where it fails.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills and reaps the Prometheus server however the test ends.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `false` (after printing `SKIPPED:`) if the binary is missing; panics
/// instead under CI.
pub fn prometheus_installed() -> bool {
    if Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return true;
    }
    let msg = "SKIPPED: the `prometheus` binary is not installed \
               (apt-get install -y prometheus; scripts/test.sh does it)";
    assert!(
        std::env::var_os("CI").is_none(),
        "{msg}, and CI must run this test"
    );
    eprintln!("{msg}");
    false
}

/// Starts `prometheus` with `config` (YAML) and `extra` flags, storing in
/// `dir`; returns the server and its API base URL.
pub fn start(dir: &TempDir, config: &str, extra: &[&str]) -> (Kill, String) {
    std::fs::create_dir_all(dir.0.join("data")).unwrap();
    let config_path = dir.0.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let web = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
    let prom = Kill(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    (prom, format!("http://{web}"))
}

/// Waits up to a minute for `/-/ready`.
pub fn wait_ready(api: &str, prom: &mut Kill) {
    wait_answering(&format!("{api}/-/ready"), prom, "prometheus");
}

/// Waits up to a minute for `url` to answer with a success, failing
/// early if `server` (named `what`) exits.
pub fn wait_answering(url: &str, server: &mut Kill, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while ureq::get(url).call().is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("{what} exited: {status}");
        }
        assert!(Instant::now() < deadline, "{what} not ready within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The single value of instant query `q`, once it has one.
pub fn query(api: &str, q: &str) -> Option<f64> {
    let mut resp = ureq::get(&format!("{api}/api/v1/query"))
        .query("query", q)
        .call()
        .ok()?;
    let body = resp.body_mut().read_to_string().ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let result = v["data"]["result"].as_array()?;
    if result.len() != 1 {
        return None;
    }
    result[0]["value"][1].as_str()?.parse().ok()
}

/// Polls `q` until it has a value, for up to a minute.
pub fn wait_for(api: &str, q: &str, prom: &mut Kill) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = query(api, q) {
            return v;
        }
        if let Ok(Some(status)) = prom.0.try_wait() {
            panic!("prometheus exited: {status}");
        }
        assert!(Instant::now() < deadline, "no value for {q} within 60 s");
        std::thread::sleep(Duration::from_millis(250));
    }
}
