//! Files and functions stay small enough to read: no file of `src/` over
//! `MAX_FILE_LINES` lines and no function over `MAX_FN_LINES`, unless the
//! file says why (a `// long-file: <reason>` line, or a
//! `// long-fn: <reason>` line right above the function). Relies on
//! rustfmt's layout: a function ends at the first `}` at its indentation.

use std::fs;

#[path = "support/source_files.rs"]
mod source_files;
use source_files::{rust_files, src};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

/// Whether `line` starts a function item (not a `fn` pointer type).
fn starts_fn(line: &str) -> bool {
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "unsafe ",
        "async ",
        "extern \"C\" ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.starts_with("fn ") && !line.trim_end().ends_with(';')
}

/// (first line, length) of every function in `text` longer than `max`
/// lines and not marked `// long-fn:` on the line above.
fn long_fns(text: &str, max: usize) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !starts_fn(line) {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let close = format!("{}}}", &line[..indent]);
        let Some(len) = lines[i..].iter().position(|l| l.trim_end() == close) else {
            continue;
        };
        let marked = i > 0 && lines[i - 1].trim_start().starts_with("// long-fn:");
        if len + 1 > max && !marked {
            found.push((i + 1, len + 1));
        }
    }
    found
}

#[test]
fn files_and_functions_are_small() {
    let src = src();
    let files = rust_files(&src);
    let mut wrong = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(&src).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES && !text.contains("// long-file:") {
            wrong.push(format!("src/{name}: {lines} lines"));
        }
        for (at, len) in long_fns(&text, MAX_FN_LINES) {
            wrong.push(format!("src/{name}:{at}: a function of {len} lines"));
        }
    }
    assert!(
        wrong.is_empty(),
        "too long, with no reason given:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_measures_functions() {
    let body = "    x();\n".repeat(3);
    let text =
        format!("impl A {{\n    pub fn f() {{\n{body}    }}\n\n    fn g(f: fn(u8) -> u8);\n}}\n");
    assert_eq!(long_fns(&text, 4), vec![(2, 5)]);
    assert!(long_fns(&text, 5).is_empty());
    let marked = text.replace("    pub fn f", "    // long-fn: a table\n    pub fn f");
    assert!(long_fns(&marked, 4).is_empty());
}
