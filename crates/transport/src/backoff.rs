use std::time::Duration;

/// How long to wait before the next attempt, for every loop that retries: the consumers' and the
/// poller's transient failures, the outbox relay, the launcher's restarts, a stranded member's
/// rejoin checks. Starts at `first`, doubles on every failure, never exceeds `max`; `reset` after a
/// success starts over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    failures: u32,
}

impl Backoff {
    /// `first` for the first retry, then twice the previous delay, up to `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            next: first,
            failures: 0,
        }
    }

    /// The delay before the next attempt; counts a failure.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next.min(self.max);
        self.next = self.next.saturating_mul(2).min(self.max);
        self.failures += 1;
        delay
    }

    /// The delay the next failure would get, without counting one.
    pub fn peek(&self) -> Duration {
        self.next.min(self.max)
    }

    /// Failures since the last success (or since the start).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// After a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.next = self.first;
        self.failures = 0;
    }

    /// A lower ceiling from now on (the poller's interval, which settings may make short).
    pub fn with_max(mut self, max: Duration) -> Self {
        self.max = max;
        self.next = self.next.min(max);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_up_to_the_ceiling() {
        let mut backoff = Backoff::new(100 * MS, 1000 * MS);
        let delays: Vec<_> = (0..6).map(|_| backoff.next_delay()).collect();
        assert_eq!(
            delays,
            [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]
        );
        assert_eq!(backoff.failures(), 6);
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::new(100 * MS, 1000 * MS);
        backoff.next_delay();
        backoff.next_delay();
        backoff.reset();
        assert_eq!(backoff.next_delay(), 100 * MS);
        assert_eq!(backoff.failures(), 1);
    }

    #[test]
    fn a_ceiling_below_the_start_wins() {
        let mut backoff = Backoff::new(100 * MS, 10_000 * MS).with_max(50 * MS);
        assert_eq!(backoff.next_delay(), 50 * MS);
        assert_eq!(backoff.next_delay(), 50 * MS);
    }

    #[test]
    fn never_overflows() {
        let mut backoff = Backoff::new(Duration::MAX / 2, Duration::MAX);
        for _ in 0..4 {
            backoff.next_delay();
        }
        assert_eq!(backoff.next_delay(), Duration::MAX);
    }
}
