//! Names every peer with the version this crate measures: reads the version
//! requirements of `Cargo.toml`'s `[dependencies]` and sets
//! `PEER_VERSION_<crate>` (dashes as underscores, e.g.
//! `PEER_VERSION_prometheus_client=0.22`) for `env!` in the sources, so
//! that a version is stated once, in the manifest.

use std::fs;

fn main() {
    println!("cargo:rerun-if-changed=Cargo.toml");
    let manifest = fs::read_to_string("Cargo.toml").expect("bench/Cargo.toml");
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps || line.starts_with('#') {
            continue;
        }
        let Some((name, spec)) = line.split_once('=') else {
            continue;
        };
        if let Some(version) = requirement(spec.trim()) {
            let var = name.trim().replace('-', "_");
            println!("cargo:rustc-env=PEER_VERSION_{var}={version}");
        }
    }
}

/// The version requirement of a dependency line's right-hand side: `"0.13"`
/// or `{ version = "0.19", ... }` (none for path-only dependencies).
fn requirement(spec: &str) -> Option<String> {
    let quoted = match spec.strip_prefix('{') {
        Some(table) => table.split_once("version")?.1.split_once('=')?.1.trim(),
        None => spec,
    };
    let v = quoted.strip_prefix('"')?.split('"').next()?;
    Some(v.trim_start_matches(['^', '=', '~']).to_string())
}
