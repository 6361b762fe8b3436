//! `promtool check metrics` and the OpenMetrics parser of the Python
//! `prometheus_client` package, for tests that check an exposition with
//! real parsers. Where a tool is missing, the check prints why and passes,
//! except under CI (`CI` set), where it fails.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `cmd args` with `input` on stdin: (success, stdout + stderr), or
/// `None` if the program cannot be started.
fn run(cmd: &str, args: &[&str], input: &str) -> Option<(bool, String)> {
    run_code(cmd, args, input).map(|(code, text)| (code == Some(0), text))
}

/// As [`run`], with the exit code (`None` if killed by a signal).
fn run_code(cmd: &str, args: &[&str], input: &str) -> Option<(Option<i32>, String)> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.code(), text))
}

fn missing(what: &str) {
    let msg = format!("SKIPPED: {what} (scripts/test.sh installs it)");
    assert!(
        std::env::var_os("CI").is_none(),
        "{msg}, and CI must run this test"
    );
    eprintln!("{msg}");
}

/// Panics with promtool's output unless `promtool check metrics` accepts
/// the Prometheus text `text`.
pub fn assert_promtool_accepts(text: &str) {
    match run("promtool", &["check", "metrics"], text) {
        Some((ok, out)) => assert!(ok, "promtool refused:\n{out}\n--- input ---\n{text}"),
        None => missing("`promtool` is not installed (apt-get install -y prometheus)"),
    }
}

/// `promtool check metrics` exits with 3 when the text parses but has lint
/// findings (names in camelCase or with `:`, a counter without `_total`),
/// and with 1 when it does not parse.
const PROMTOOL_LINT_ONLY: i32 = 3;

/// Panics with promtool's output unless `promtool check metrics` parses the
/// Prometheus text `text`; lint findings (style of the names chosen by the
/// user) are allowed, parse errors are not.
pub fn assert_promtool_parses(text: &str) {
    match run_code("promtool", &["check", "metrics"], text) {
        Some((code, out)) => assert!(
            (code == Some(0) || code == Some(PROMTOOL_LINT_ONLY)) && !out.contains("parsing error"),
            "promtool could not parse (exit {code:?}):\n{out}\n--- input ---\n{text}"
        ),
        None => missing("`promtool` is not installed (apt-get install -y prometheus)"),
    }
}

/// Parses OpenMetrics text and prints one line per family: name, type and
/// the label names of every sample.
const PY_PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    print(f.name, f.type, len(f.samples))
"#;

/// The Python OpenMetrics parser's summary of `text` (one line per family:
/// name, type, number of samples); panics with its output if it refuses
/// the text. `None` if the parser is not installed.
pub fn openmetrics_families(text: &str) -> Option<String> {
    for py in ["/usr/bin/python3", "python3"] {
        let Some((ok, _)) = run(py, &["-c", "import prometheus_client"], "") else {
            continue;
        };
        if ok {
            let (ok, out) = run(py, &["-c", PY_PARSE], text)?;
            assert!(
                ok,
                "the OpenMetrics parser refused:\n{out}\n--- input ---\n{text}"
            );
            return Some(out);
        }
    }
    missing(
        "python3 with prometheus_client is not installed \
         (apt-get install -y python3-prometheus-client)",
    );
    None
}
