//! Runs the validation report (`src/bin/validate`) in `--quick` mode, as the
//! README's command does (default features: telemetry on), into a temporary
//! directory and checks what it writes: every section of the report's own
//! list (`--list-sections`) present in `report.json` with finite figures
//! and a result, `report.md` mentions every section, every plot a section
//! names is SVG, and the exit status says whether a section failed. Also
//! checks that a bad flag exits with code 2 without panicking.
//!
//! The binary is built and run in release through `cargo run`, so the first
//! run of this test pays for a release build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn validate(args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "hotmetrics-bench",
            "--bin",
            "validate",
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

/// The section keys, from the report's own table.
fn sections() -> Vec<String> {
    let out = validate(&["--list-sections"]);
    assert!(out.status.success(), "--list-sections failed");
    let list: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert!(list.len() >= 10, "too few sections: {list:?}");
    list
}

#[test]
fn quick_report_is_complete() {
    let sections = sections();
    let dir = temp_dir("quick");
    let out = validate(&["--quick", "--out", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 0: every section passed; 1: a section failed (checked against
    // report.json below); anything else is a crash or a write error.
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "validate failed: {stderr}");
    // One progress line per section, counted against the section list.
    let n = sections.len();
    for step in 1..=n {
        let line = format!("[{step}/{n}]");
        assert!(stderr.contains(&line), "no progress line {line}: {stderr}");
    }
    assert!(
        !stderr.contains(&format!("[{}/", n + 1)) && !stderr.contains(&format!("/{}]", n - 1)),
        "a progress line counts other than {n} sections: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("hotmetrics validation (") && stdout.contains(&format!("\n{n}. ")),
        "no summary of the {n} sections: {stdout}"
    );

    let json: serde_json::Value = serde_json::from_str(&read(&dir, "report.json")).unwrap();
    for key in ["date_utc", "cpu", "cores", "profile", "command", "runs"] {
        assert!(!json["meta"][key].is_null(), "meta.{key} missing");
    }
    assert_eq!(json["meta"]["profile"], "release");
    let order: Vec<&str> = json["section_order"]
        .as_array()
        .expect("section_order")
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(order, sections, "report.json's order is not the table's");
    let md = read(&dir, "report.md");
    let mut plots = Vec::new();
    let mut failed = 0;
    for (i, key) in sections.iter().enumerate() {
        let s = &json["sections"][key];
        check_section(key, s, &md, i + 1);
        failed += usize::from(s["result"] == "fail");
        plots.extend(
            s["plots"]
                .as_array()
                .expect("plots")
                .iter()
                .map(|p| p.as_str().unwrap().to_string()),
        );
    }
    assert_eq!(
        code == Some(1),
        failed > 0,
        "exit status {code:?} but {failed} failed sections: {stderr}"
    );
    for word in [
        "Machine",
        "Build profile",
        "Command",
        "Runs per measurement",
    ] {
        assert!(md.contains(word), "report.md has no {word}");
    }
    assert!(plots.len() >= 5, "too few plots: {plots:?}");
    for plot in &plots {
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

/// Section `key` of report.json, numbered `number` in report.md: a result,
/// words for its title, requirement and method, checks that say what they
/// compared, finite figures.
fn check_section(key: &str, s: &serde_json::Value, md: &str, number: usize) {
    assert!(s.is_object(), "section {key} missing");
    assert!(s["pass"].is_boolean(), "{key}: no pass/fail");
    assert_eq!(s["pass"].as_bool(), Some(s["result"] != "fail"), "{key}");
    for c in s["checks"].as_array().expect("checks") {
        let r = c["result"].as_str().unwrap_or_default();
        assert!(
            ["pass", "fail", "within noise"].contains(&r),
            "{key}: check result {r:?}"
        );
        assert!(
            c["compared"].as_str().is_some_and(|t| !t.is_empty()),
            "{key}: {c}"
        );
    }
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
    let heading = format!("## {number}. {title}");
    assert!(md.contains(&heading), "report.md has no {heading:?}");
}
