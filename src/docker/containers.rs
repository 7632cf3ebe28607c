//! Containers for checks and tests: created (for reading files), or run with a published port.
