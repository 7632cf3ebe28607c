//! Reading and hashing what each image's build can see: `.dockerignore` and Dockerfile rules,
//! one walk over the context (through the content cache in [`crate::state`]), the key, and the deterministic tar that sends
//! exactly the hashed entries.

mod dir;
pub mod dockerfile;
pub mod dockerignore;
mod entry;
mod error;
#[cfg(test)]
mod fuzz_tests;
pub mod inputs;
pub mod key;
mod recorded;
pub mod tarball;
mod walk;

/// The content cache the walk reads through; it is kept with the rest of the state in
/// [`crate::state`].
pub use crate::state::ContentCache;
pub use entry::{Entry, EntryJson, EntryKind};
pub use error::HashError;
pub use inputs::{Base, ImageInputs};
