//! Time for the wait: [`Clock`] is "now" and "sleep", so a test clock can make a 30-minute
//! timeout pass instantly.

use std::future::Future;
use std::time::{Duration, Instant};

/// A source of time the wait can sleep on.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Sleeps for `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock: `Instant::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// A clock whose `sleep` returns at once and moves its time forward, for tests.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct FakeClock {
    now: std::sync::Mutex<Instant>,
    slept: std::sync::Mutex<Vec<Duration>>,
}

#[cfg(test)]
impl FakeClock {
    pub(crate) fn new() -> Self {
        Self {
            now: std::sync::Mutex::new(Instant::now()),
            slept: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Every sleep asked for, in order.
    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        *self.now.lock().unwrap() += duration;
        self.slept.lock().unwrap().push(duration);
        std::future::ready(())
    }
}
