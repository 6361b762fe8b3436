//! Runs the validation report (`examples/validate`) in `--quick` mode, with
//! the `telemetry` feature as the README's command does, into a temporary
//! directory and checks what it writes: every file present,
//! `report.json` parses and has every section with finite figures,
//! `report.md` mentions every section, the plots are SVG. Also checks that
//! a bad flag exits with code 2 without panicking.
//!
//! The example is built and run in release through `cargo run`, so the first
//! run of this test pays for a release build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECTIONS: [&str; 10] = [
    "overhead",
    "memory",
    "latency",
    "throughput",
    "integrity",
    "export",
    "render",
    "peers",
    "labeled",
    "telemetry",
];
const PLOTS: [&str; 4] = [
    "latency.svg",
    "throughput.svg",
    "peers_ns.svg",
    "peers_throughput.svg",
];

fn validate(args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--quiet",
            "--release",
            "--example",
            "validate",
            "--features",
            "telemetry",
            "--",
        ])
        .args(args)
        .output()
        .expect("cargo runs")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "hotmetrics-report-test-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn quick_report_is_complete() {
    let dir = temp_dir("quick");
    let out = validate(&["--quick", "--out", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "validate failed: {stderr}");
    // One progress line per section, counted against the section list.
    let n = SECTIONS.len();
    for step in 1..=n {
        let line = format!("[{step}/{n}]");
        assert!(stderr.contains(&line), "no progress line {line}: {stderr}");
    }
    assert!(
        !stderr.contains(&format!("[{}/", n + 1)) && !stderr.contains(&format!("/{}]", n - 1)),
        "a progress line counts other than {n} sections: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("section"), "no summary table: {stdout}");

    let json: serde_json::Value = serde_json::from_str(&read(&dir, "report.json")).unwrap();
    for key in ["date_utc", "cpu", "cores", "profile", "command", "runs"] {
        assert!(!json["meta"][key].is_null(), "meta.{key} missing");
    }
    assert_eq!(json["meta"]["profile"], "release");
    let md = read(&dir, "report.md");
    for key in SECTIONS {
        let s = &json["sections"][key];
        assert!(s.is_object(), "section {key} missing");
        assert!(s["pass"].is_boolean(), "{key}: no pass/fail");
        for field in ["title", "requirement", "method"] {
            assert!(
                s[field].as_str().is_some_and(|t| !t.is_empty()),
                "{key}.{field}"
            );
        }
        assert!(s["skipped"].is_null(), "{key} skipped: {}", s["skipped"]);
        let figures = s["figures"].as_array().expect("figures");
        assert!(!figures.is_empty(), "{key}: no figures");
        for f in figures {
            for v in ["median", "min", "max"] {
                let x = f[v].as_f64();
                assert!(x.is_some_and(f64::is_finite), "{key}: {f} {v} not finite");
            }
            assert!(f["median"].as_f64() >= f["min"].as_f64(), "{key}: {f}");
            assert!(f["median"].as_f64() <= f["max"].as_f64(), "{key}: {f}");
        }
        let title = s["title"].as_str().unwrap();
        assert!(md.contains(title), "report.md does not mention {title}");
    }
    for word in [
        "Machine",
        "Build profile",
        "Command",
        "Runs per measurement",
    ] {
        assert!(md.contains(word), "report.md has no {word}");
    }
    for plot in PLOTS {
        let svg = read(&dir, plot);
        assert!(svg.starts_with("<svg"), "{plot} is not SVG");
        assert!(svg.trim_end().ends_with("</svg>"), "{plot} is cut short");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--threads", "1,x"],
        &["--threads", "0"],
        &["--duration", "-1"],
        &["--duration"],
    ] {
        let out = validate(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error:"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
