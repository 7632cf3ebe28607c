//! What stops a command: any subsystem's error, kept typed (with its exit code) until `main`
//! renders it.

use crate::error::Diagnostic;

/// A command's failure: any subsystem's error, rendered by `main`.
pub type Failure = Box<dyn Diagnostic + Send + Sync>;

impl<E: Diagnostic + Send + Sync + 'static> From<E> for Box<dyn Diagnostic + Send + Sync> {
    fn from(error: E) -> Self {
        Box::new(error)
    }
}
