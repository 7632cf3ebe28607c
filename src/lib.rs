//! `fleet-images` builds the container images of an agent fleet through the Docker Engine API,
//! skips every image whose inputs did not change, pushes to Amazon ECR (or any OCI registry) and
//! rolls the new images out to Amazon ECS.
//!
//! The pipeline is observe, plan, execute: the manifest is loaded, each image's inputs are hashed
//! into a key, the engine, registry and ECS are observed read-only, a pure planner decides what to
//! do, and an executor carries the plan out while a reporter shows progress.

// Errors carry the locations and hints their messages need; they are built once per failure, never
// on a hot path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod check;
pub mod cli;
pub mod commands;
pub mod deploy;
pub mod docker;
pub mod error;
pub mod execute;
pub mod hash;
pub mod imagetest;
pub mod input_file;
pub mod manifest;
pub mod names;
pub mod observe;
pub mod plan;
pub mod registry;
pub mod report;
pub mod secret;
pub mod state;
