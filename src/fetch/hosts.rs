//! A politeness budget per host: at most K requests at once, and starts at
//! least a minimum interval apart (longer when robots.txt asks for a
//! Crawl-delay).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

struct Slot {
    permits: Arc<Semaphore>,
    /// The earliest moment the next request may start.
    next_start: Mutex<Instant>,
    /// A Crawl-delay from robots.txt, when longer than the default.
    crawl_delay: Mutex<Option<Duration>>,
}

/// Budgets for every host seen so far.
pub struct Hosts {
    per_host: usize,
    interval: Duration,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// Held while a request to a host runs.
pub struct Turn {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Hosts {
    pub fn new(per_host: usize, interval: Duration) -> Hosts {
        Hosts {
            per_host: per_host.max(1),
            interval,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, host: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(Slot {
                    permits: Arc::new(Semaphore::new(self.per_host)),
                    next_start: Mutex::new(Instant::now()),
                    crawl_delay: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Remember a host's robots.txt Crawl-delay.
    pub fn set_crawl_delay(&self, host: &str, delay: Option<Duration>) {
        let slot = self.slot(host);
        *slot.crawl_delay.lock().unwrap_or_else(|e| e.into_inner()) = delay;
    }

    /// Wait for this host's turn: a free slot, then the start time after
    /// the previous request's plus the interval.
    pub async fn turn(&self, host: &str) -> Turn {
        let slot = self.slot(host);
        // The semaphore is never closed, so this always holds a permit.
        let permit = slot.permits.clone().acquire_owned().await.ok();
        let interval = slot
            .crawl_delay
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(self.interval, |d| d.max(self.interval));
        let start = {
            let mut next = slot.next_start.lock().unwrap_or_else(|e| e.into_inner());
            let start = (*next).max(Instant::now());
            *next = start + interval;
            start
        };
        tokio::time::sleep_until(start).await;
        Turn { _permit: permit }
    }
}
