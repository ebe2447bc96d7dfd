//! Client-side rate limiter: N requests per window, a daily budget and a minimum spacing.
//!
//! Alpha Vantage counts requests when *it* receives them, and network latency moves that moment
//! anywhere between our send and our receipt of the answer. So a request occupies its slot from
//! the moment it is sent until its answer arrives, and the window and the spacing are measured
//! from that *completion*: the next request may start only `window` after the N-th latest one
//! completed (and `min_interval` after the latest one completed). Whatever the latency, the
//! vendor can then never see more than N arrivals inside any window, nor two arrivals closer than
//! `min_interval`.
//!
//! One limiter is shared by all concurrent calls (and may be shared by several providers using
//! the same key). Waiters are served in FIFO order; the per-day budget never sleeps: when it is
//! spent, [`RateLimiter::acquire`] fails at once with
//! [`AlphaVantageError::DailyQuotaExhausted`].

use super::errors::AlphaVantageError;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Limits enforced by a [`RateLimiter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Requests per `window` (at least 1).
    pub per_window: u32,
    /// The short window `per_window` applies to, measured from request completions.
    pub window: Duration,
    /// Requests per `day_window`; `None` for no daily budget.
    pub per_day: Option<u32>,
    /// The rolling window of the daily budget.
    pub day_window: Duration,
    /// Spacing between the previous completion and the next start.
    pub min_interval: Duration,
}

/// The limiter's counters, for the `/ready` endpoint and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSnapshot {
    /// Requests started within the rolling day window (in-flight ones included).
    pub used_today: u32,
    /// `None` when there is no daily budget.
    pub remaining_today: Option<u32>,
    /// The daily budget; `None` when there is none.
    pub daily_limit: Option<u32>,
    /// Requests counted against the short window right now.
    pub used_in_window: u32,
    /// Requests allowed per short window.
    pub window_limit: u32,
    /// Requests sent and not yet completed (their permits still alive).
    pub in_flight: u32,
}

#[derive(Debug)]
struct Slot {
    id: u64,
    /// `None` while the request is in flight.
    done: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    slots: VecDeque<Slot>,
    next_id: u64,
}

enum Decision {
    Go(u64),
    /// Sleep this long, or until an in-flight request completes (`None`: only the latter).
    Wait(Option<Duration>),
}

/// A shared, async-safe limiter (see the module docs).
#[derive(Debug)]
pub struct RateLimiter {
    config: LimiterConfig,
    state: Mutex<State>,
    /// Serialises waiters so they are served first come, first served.
    queue: tokio::sync::Mutex<()>,
    /// Signalled whenever a request completes.
    released: Notify,
}

/// Proof that a request may be sent. Dropping it marks the request completed, so keep it alive
/// until the whole answer has been read.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
    id: u64,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.complete(self.id);
    }
}

impl RateLimiter {
    /// A limiter with no request counted yet; a `per_window` of 0 is raised to 1.
    pub fn new(config: LimiterConfig) -> Self {
        RateLimiter {
            config: LimiterConfig {
                per_window: config.per_window.max(1),
                ..config
            },
            state: Mutex::new(State::default()),
            queue: tokio::sync::Mutex::new(()),
            released: Notify::new(),
        }
    }

    /// The limits in force (after the `per_window` floor of 1).
    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// The state is only touched in short non-async sections; a poisoned lock (a panic inside
    /// one) leaves consistent data, so it is safe to keep using it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request may be sent and reserves its slot.
    pub async fn acquire(&self) -> Result<Permit<'_>, AlphaVantageError> {
        let _turn = self.queue.lock().await;
        loop {
            // Registered before checking, so a completion between the check and the wait is
            // not missed.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            match self.decide(Instant::now())? {
                Decision::Go(id) => {
                    return Ok(Permit { limiter: self, id });
                }
                Decision::Wait(Some(d)) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = &mut released => {}
                    }
                }
                Decision::Wait(None) => released.await,
            }
        }
    }

    fn complete(&self, id: u64) {
        let now = Instant::now();
        {
            let mut st = self.lock();
            if let Some(slot) = st.slots.iter_mut().find(|s| s.id == id) {
                slot.done = Some(now);
            }
        }
        self.released.notify_waiters();
    }

    fn prune(&self, st: &mut State, now: Instant) {
        let keep = self.config.window.max(self.config.min_interval).max(
            if self.config.per_day.is_some() {
                self.config.day_window
            } else {
                Duration::ZERO
            },
        );
        st.slots.retain(|s| {
            s.done
                .is_none_or(|d| now.saturating_duration_since(d) < keep)
        });
    }

    fn decide(&self, now: Instant) -> Result<Decision, AlphaVantageError> {
        let c = &self.config;
        let mut st = self.lock();
        self.prune(&mut st, now);
        let within =
            |s: &Slot, w: Duration| s.done.is_none_or(|d| now.saturating_duration_since(d) < w);

        if let Some(limit) = c.per_day {
            let used = st.slots.iter().filter(|s| within(s, c.day_window)).count();
            if used >= limit as usize {
                let retry_after = st
                    .slots
                    .iter()
                    .filter_map(|s| s.done)
                    .min()
                    .map(|d| (d + c.day_window).saturating_duration_since(now))
                    .unwrap_or(c.day_window);
                return Err(AlphaVantageError::DailyQuotaExhausted {
                    used: u32::try_from(used).unwrap_or(u32::MAX),
                    limit,
                    window: c.day_window,
                    retry_after,
                });
            }
        }

        let mut wait = Duration::ZERO;
        let mut blocked_by_in_flight = false;

        // Window: with `count` slots inside it, the oldest `count - per_window + 1` must expire.
        let mut in_window: Vec<Option<Instant>> = st
            .slots
            .iter()
            .filter(|s| within(s, c.window))
            .map(|s| s.done)
            .collect();
        if in_window.len() >= c.per_window as usize {
            // `None` (in flight) sorts first; put completed ones first, oldest first.
            in_window.sort_by_key(|d| (d.is_none(), *d));
            let k = in_window.len() - c.per_window as usize;
            match in_window.get(k).copied().flatten() {
                Some(done) => wait = wait.max((done + c.window).saturating_duration_since(now)),
                None => blocked_by_in_flight = true,
            }
        }

        if !c.min_interval.is_zero() {
            if st.slots.iter().any(|s| s.done.is_none()) {
                blocked_by_in_flight = true;
            } else if let Some(last) = st.slots.iter().filter_map(|s| s.done).max() {
                wait = wait.max((last + c.min_interval).saturating_duration_since(now));
            }
        }

        if blocked_by_in_flight {
            return Ok(Decision::Wait((!wait.is_zero()).then_some(wait)));
        }
        if !wait.is_zero() {
            return Ok(Decision::Wait(Some(wait)));
        }
        let id = st.next_id;
        st.next_id += 1;
        st.slots.push_back(Slot { id, done: None });
        Ok(Decision::Go(id))
    }

    /// Current counters (see [`QuotaSnapshot`]).
    pub fn snapshot(&self) -> QuotaSnapshot {
        let now = Instant::now();
        let c = &self.config;
        let mut st = self.lock();
        self.prune(&mut st, now);
        let count = |w: Duration| {
            let n = st
                .slots
                .iter()
                .filter(|s| s.done.is_none_or(|d| now.saturating_duration_since(d) < w))
                .count();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        let used_today = count(c.day_window);
        QuotaSnapshot {
            used_today,
            remaining_today: c.per_day.map(|l| l.saturating_sub(used_today)),
            daily_limit: c.per_day,
            used_in_window: count(c.window),
            window_limit: c.per_window,
            in_flight: u32::try_from(st.slots.iter().filter(|s| s.done.is_none()).count())
                .unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn limiter(per_window: u32, window_ms: u64, per_day: Option<u32>, gap_ms: u64) -> RateLimiter {
        RateLimiter::new(LimiterConfig {
            per_window,
            window: Duration::from_millis(window_ms),
            per_day,
            day_window: Duration::from_secs(86_400),
            min_interval: Duration::from_millis(gap_ms),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn window_counts_from_completion() {
        let l = limiter(2, 1000, None, 0);
        let t0 = Instant::now();
        let a = l.acquire().await.expect("a");
        let b = l.acquire().await.expect("b");
        assert_eq!(Instant::now(), t0, "two fit at once");
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(a); // completes at 300 ms
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(b); // completes at 500 ms
        let _c = l.acquire().await.expect("c");
        assert_eq!(Instant::now() - t0, Duration::from_millis(1300));
        assert_eq!(l.snapshot().used_in_window, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_requests_block_until_they_complete() {
        let l = Arc::new(limiter(1, 100, None, 0));
        let t0 = Instant::now();
        let first = l.acquire().await.expect("first");
        let l2 = l.clone();
        let waiter = tokio::spawn(async move {
            let _p = l2.acquire().await.expect("second");
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(5000)).await;
        assert!(
            !waiter.is_finished(),
            "must wait while the first is in flight"
        );
        drop(first);
        let started = waiter.await.expect("join");
        assert_eq!(started - t0, Duration::from_millis(5100));
    }

    #[tokio::test(start_paused = true)]
    async fn min_interval_spaces_requests() {
        let l = limiter(100, 1000, None, 250);
        let t0 = Instant::now();
        drop(l.acquire().await.expect("1"));
        drop(l.acquire().await.expect("2"));
        drop(l.acquire().await.expect("3"));
        assert_eq!(Instant::now() - t0, Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn daily_budget_fails_fast_and_reports_quota() {
        let l = limiter(100, 10, Some(3), 0);
        for _ in 0..3 {
            drop(l.acquire().await.expect("within budget"));
        }
        let snap = l.snapshot();
        assert_eq!((snap.used_today, snap.remaining_today), (3, Some(0)));
        let t0 = Instant::now();
        let err = l.acquire().await.expect_err("budget spent");
        assert_eq!(Instant::now(), t0, "no sleeping for a day");
        assert!(matches!(
            err,
            AlphaVantageError::DailyQuotaExhausted {
                used: 3,
                limit: 3,
                ..
            }
        ));
        tokio::time::sleep(Duration::from_secs(86_400)).await;
        assert!(l.acquire().await.is_ok(), "the rolling day moved on");
    }
}
