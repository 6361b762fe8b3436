//! The crate's layering, read from its source: every top-level module
//! imports only the modules below it in `LAYERS` (crate-root re-exports
//! are resolved to the module they come from), and the allowed graph has
//! no cycle. A new module, or a new kind of import, has to be added here
//! on purpose.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

#[path = "support/source_files.rs"]
mod source_files;
use source_files::{rust_files, src};

/// Each top-level module of `src/` and what it may import, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    ("sync", &[]),
    ("names", &[]),
    ("buckets", &[]),
    ("clock", &[]),
    ("descriptor", &["buckets"]),
    ("storage", &["sync", "buckets"]),
    ("snapshot", &["sync", "buckets", "descriptor"]),
    (
        "handle",
        &["sync", "buckets", "clock", "descriptor", "storage"],
    ),
    (
        "family",
        &[
            "sync",
            "names",
            "buckets",
            "descriptor",
            "storage",
            "snapshot",
            "handle",
        ],
    ),
    (
        "registry",
        &[
            "sync",
            "names",
            "buckets",
            "clock",
            "descriptor",
            "storage",
            "snapshot",
            "handle",
            "family",
        ],
    ),
    (
        "tracker",
        &["sync", "descriptor", "handle", "family", "registry"],
    ),
    // The HTTP endpoint collects a registry on each scrape; the writers
    // see only snapshot types.
    (
        "export",
        &[
            "sync",
            "names",
            "buckets",
            "descriptor",
            "snapshot",
            "registry",
        ],
    ),
    (
        "facade",
        &[
            "sync",
            "names",
            "buckets",
            "descriptor",
            "handle",
            "family",
            "registry",
            "snapshot",
        ],
    ),
    (
        "telemetry",
        &[
            "sync",
            "names",
            "clock",
            "descriptor",
            "handle",
            "family",
            "registry",
            "snapshot",
            "export",
        ],
    ),
    // What the `#[track_latency]` expansion calls.
    (
        "private",
        &[
            "sync",
            "clock",
            "descriptor",
            "handle",
            "family",
            "registry",
        ],
    ),
];

/// The top-level module a file of `src/` belongs to (`None` for lib.rs).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(stem) => Some(stem.to_owned()),
        None => Some(first),
    }
}

/// Code lines only: comments and doc comments (whose examples use the
/// public API) are not imports.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// Names re-exported at the crate root, mapped to their module:
/// `pub use registry::{Options, Registry};` gives Options → registry.
fn root_exports() -> BTreeMap<String, String> {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let joined: String = code_lines(&lib).collect::<Vec<_>>().join(" ");
    let mut map = BTreeMap::new();
    for stmt in joined.split(';') {
        // (after any attributes, such as a `#[cfg(..)]`)
        let Some(at) = stmt.find("pub use ") else {
            continue;
        };
        let rest = &stmt[at + "pub use ".len()..];
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if !name.is_empty() {
                map.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    map
}

/// Every `crate::x` a file's code names, with `x` a module or a root
/// re-export (resolved), including inside `use crate::{a, b::c}` groups.
fn imports(text: &str, exports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut resolve = |name: &str| {
        let module = exports
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned());
        found.insert(module);
    };
    for line in code_lines(text) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let head = item.trim().split("::").next().unwrap_or("");
                    if !head.is_empty() {
                        resolve(head);
                    }
                }
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                resolve(&rest[..end]);
            }
        }
    }
    found
}

#[test]
fn modules_import_only_lower_layers() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let exports = root_exports();
    let files = rust_files(&src());
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "{}: module `{module}` is not in LAYERS",
                file.display()
            ));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for import in imports(&text, &exports) {
            if import != module && !may.contains(&import.as_str()) {
                wrong.push(format!(
                    "{}: `{module}` imports `{import}`",
                    file.strip_prefix(src()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn layers_form_no_cycle() {
    // Each module may only import modules listed before it.
    let mut seen = BTreeSet::new();
    for (module, may) in LAYERS {
        for m in *may {
            assert!(
                seen.contains(m),
                "`{module}` may import `{m}`, listed after it"
            );
        }
        seen.insert(*module);
    }
}

#[test]
fn the_checker_sees_imports() {
    let exports = root_exports();
    assert_eq!(
        exports.get("Registry").map(String::as_str),
        Some("registry")
    );
    let text =
        "use crate::family::Family;\nuse crate::{Registry, export::json};\n// crate::storage\n";
    let found = imports(text, &exports);
    let expected: BTreeSet<String> = ["family", "registry", "export"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, expected);
}
