//! The integration tests: the real `fleet-images` binary against a real Docker engine, real
//! registries and the AWS emulator, all on 127.0.0.1 (`scripts/test-env up` starts them).

mod build;
mod buildkit;
mod cdk;
mod cdk_replica;
mod check;
mod deploy;
mod engines;
mod fault_proxy;
mod faults;
mod fleet;
mod hash;
mod hostile;
mod imagetest;
mod lessons;
mod push;
mod registry;
mod release;
mod runners;
mod shell;
mod support;
