//! `Registry::register_process_metrics`: the standard `process_*` metrics
//! of the Prometheus client guidelines, read from `/proc` at each
//! collection, pass `promtool check metrics` and agree with what this test
//! reads from `/proc/self/stat` and `/proc/self/status` itself.
#![cfg(target_os = "linux")]

use hotmetrics::export::prometheus;
use hotmetrics::Registry;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

#[path = "common/promtool.rs"]
mod promtool;

/// The fields of `/proc/self/stat` after the command name, numbered as in
/// proc(5) (the state is field 3).
fn stat_field(n: usize) -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(n - 3).unwrap().parse().unwrap()
}

fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn getconf(var: &str) -> u64 {
    let out = Command::new("getconf").arg(var).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn near(got: i64, want: u64, slack: u64, what: &str) {
    let diff = (got - want as i64).unsigned_abs();
    assert!(
        diff <= slack,
        "{what}: got {got}, /proc says {want} (slack {slack})"
    );
}

#[test]
fn process_metrics_agree_with_proc_and_pass_promtool() {
    let reg = Registry::new();
    assert!(reg.register_process_metrics().unwrap());
    // Burn some CPU so the counter is not trivially zero.
    let mut x = 0u64;
    for i in 0..30_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    assert_ne!(x, 1);

    let hz = getconf("CLK_TCK");
    let page = getconf("PAGESIZE");
    let ticks_before = stat_field(14) + stat_field(15);
    let snap = reg.collect();
    let ticks_after = stat_field(14) + stat_field(15);
    let vsize = stat_field(23);
    let rss_pages = stat_field(24);
    let vm_rss = status_kb("VmRSS:") * 1024;
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;

    // Counted in milliseconds, exported in seconds.
    let cpu_ms = snap.counter("process_cpu_seconds_total").unwrap();
    assert!(
        ticks_before * 1000 / hz <= cpu_ms && cpu_ms <= ticks_after * 1000 / hz,
        "cpu {cpu_ms} ms, /proc says {ticks_before}..{ticks_after} ticks at {hz} Hz"
    );
    assert!(cpu_ms > 0);
    let mib = 1 << 20;
    let rss = snap.gauge("process_resident_memory_bytes").unwrap();
    near(rss, vm_rss, 8 * mib, "resident memory vs VmRSS");
    near(
        rss,
        rss_pages * page,
        8 * mib,
        "resident memory vs stat rss",
    );
    let virt = snap.gauge("process_virtual_memory_bytes").unwrap();
    near(virt, vsize, 64 * mib, "virtual memory vs stat vsize");
    near(snap.gauge("process_open_fds").unwrap(), fds, 3, "open fds");

    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let soft: u64 = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(snap.gauge("process_max_fds"), Some(soft as i64));

    let btime: u64 = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let start = btime as f64 + stat_field(22) as f64 / hz as f64;
    let got = snap.float_gauge("process_start_time_seconds").unwrap();
    assert!(
        (got - start).abs() < 0.02,
        "start {got}, /proc says {start}"
    );
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(got <= now.as_secs_f64() && got > now.as_secs_f64() - 3600.0);

    let text = prometheus::render(&snap);
    for line in [
        "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ",
        "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes ",
        "# TYPE process_open_fds gauge\nprocess_open_fds ",
        "# TYPE process_max_fds gauge\nprocess_max_fds ",
        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    let cpu_line = text
        .lines()
        .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
        .unwrap();
    let cpu_s: f64 = cpu_line.parse().unwrap();
    assert!((cpu_s - cpu_ms as f64 / 1000.0).abs() < 1e-9, "{cpu_line}");
    promtool::check_metrics(&text);

    // The values move between collections; registering twice is refused.
    assert!(reg.register_process_metrics().is_err());
}
