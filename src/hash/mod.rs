//! Reading and hashing what each image's build can see: `.dockerignore` and Dockerfile rules,
//! one walk over the context, the content cache, the key, and the deterministic tar that sends
//! exactly the hashed entries.

pub mod cache;
mod dir;
pub mod dockerfile;
pub mod dockerignore;
mod entry;
mod error;
#[cfg(test)]
mod fuzz_tests;
pub mod inputs;
pub mod key;
pub mod tarball;
mod walk;

pub use cache::ContentCache;
pub use entry::{Entry, EntryJson, EntryKind};
pub use error::HashError;
pub use inputs::{Base, ImageInputs};
