//! `promtool check metrics` on a text exposition. Without the `promtool`
//! binary a test prints why and passes without checking, except under CI
//! (`CI` set), where it fails (`scripts/test.sh` installs it).
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `promtool check metrics` on `text`: `Some(output)` when it passes,
/// a panic with promtool's complaint when it fails, `None` when promtool
/// is missing outside CI.
pub fn check_metrics(text: &str) -> Option<String> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        let msg = "SKIPPED: `promtool` is not installed (apt-get install -y prometheus)";
        assert!(
            std::env::var_os("CI").is_none(),
            "{msg}, and CI must run this test"
        );
        eprintln!("{msg}");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{said}\non:\n{text}"
    );
    Some(said)
}
