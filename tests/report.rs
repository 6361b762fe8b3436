//! Report test.
