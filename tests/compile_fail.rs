//! `#[track_latency]` misuse, and a label set of the wrong shape for its
//! family (`wrong_arity.rs`, `wrong_label_struct.rs`, `pair_wrong_arity.rs`,
//! `builder_without_labels.rs`), are compile errors with a clear message.
//!
//! The expected messages are in `tests/ui/*.stderr`; after changing one on
//! purpose, regenerate them with `TRYBUILD=overwrite cargo test --test
//! compile_fail` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
