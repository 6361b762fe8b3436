//! What hotmetrics' integration tests, benches and validation report share,
//! kept out of the library and free of any dependency on it (the library
//! dev-depends on this crate; a dependency back would give its tests two
//! copies of the library's types).
//!
//! - [`CountingAlloc`]: a global allocator that counts allocations per
//!   thread and process-wide, and live heap bytes with their peak.
//! - [`block_on`]: polls a future to completion on the calling thread.
//! - [`Sink`]: a tiny HTTP receiver for the telemetry client's tests.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod alloc;
mod block_on;
pub mod sink;

pub use alloc::CountingAlloc;
pub use block_on::block_on;
pub use sink::Sink;
