//! What `test` is asked to do: the images to test ([`TestTarget`]) and how ([`TestOptions`]).

use tokio_util::sync::CancellationToken;

use crate::manifest::TestSpec;
use crate::names::ImageName;

/// One image to test.
#[derive(Debug, Clone)]
pub struct TestTarget<'a> {
    /// The image's name in the manifest.
    pub image: ImageName,
    /// The local image to run: an id (`sha256:…`) or a reference the engine has.
    pub reference: String,
    /// Its `[images.<name>.test]` section.
    pub spec: &'a TestSpec,
    /// The local image of each of `spec.services`, in order: for `image = "<fleet image>"` the
    /// id of that image built with its current key, for `reference` the reference itself.
    pub services: Vec<String>,
}

/// How to run the tests.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// `--keep`: leave each container in place (its id is in the outcome). Default false.
    pub keep: bool,
    /// `--jobs`: images tested at once. Default 4; 0 counts as 1.
    pub jobs: usize,
    /// Cancelled on Ctrl+C: tests end, their containers are removed, and the outcomes say
    /// `interrupted`. Images not started yet are not started. Default: never cancelled.
    pub cancel: CancellationToken,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            keep: false,
            jobs: 4,
            cancel: CancellationToken::new(),
        }
    }
}
