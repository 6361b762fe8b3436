//! Starting a real VictoriaMetrics single-node server (Debian's
//! `victoria-metrics` package) on loopback, for the remote-write test.
//! Without the binary a test prints why and passes without checking,
//! except under CI (`CI` set), where it fails. Queries go through its
//! Prometheus-compatible API (`prom::query`).
#![allow(dead_code)]

use super::prom::{free_port, wait_answering, Kill, TempDir};
use std::process::{Command, Stdio};

pub const BINARY: &str = "victoria-metrics";

/// `false` (after printing `SKIPPED:`) if the binary is missing; panics
/// instead under CI.
pub fn installed() -> bool {
    if Command::new(BINARY)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return true;
    }
    let msg = "SKIPPED: the `victoria-metrics` binary is not installed \
               (apt-get install -y victoria-metrics; scripts/test.sh does it)";
    assert!(
        std::env::var_os("CI").is_none(),
        "{msg}, and CI must run this test"
    );
    eprintln!("{msg}");
    false
}

/// Starts the server storing in `dir`, with data visible to queries a
/// second after it arrives (the default waits 30 s); returns it and its
/// base URL once `/health` answers.
pub fn start(dir: &TempDir) -> (Kill, String) {
    std::fs::create_dir_all(&dir.0).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.0.join("victoria-metrics.log")).unwrap();
    let mut vm = Kill(
        Command::new(BINARY)
            .arg(format!("-httpListenAddr={addr}"))
            .arg(format!("-storageDataPath={}", dir.0.join("data").display()))
            .arg("-search.latencyOffset=1s")
            .arg("-search.disableCache")
            .arg("-loggerLevel=WARN")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let api = format!("http://{addr}");
    wait_answering(&format!("{api}/health"), &mut vm, BINARY);
    (vm, api)
}

/// Makes what was ingested searchable now (instead of within a second).
pub fn flush(api: &str) {
    let _ = ureq::get(&format!("{api}/internal/force_flush")).call();
}
