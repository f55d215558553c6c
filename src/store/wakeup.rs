//! In-process wake-up for transactions: `/api/handoff/wait` parks on a
//! [`Notify`] keyed by the transaction and the callback rings it. The Redis
//! backend rings it from its pub/sub channel, so a completion on another replica
//! wakes the waiters here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

type Key = [u8; 32];

#[derive(Debug, Default)]
/// Wakes the waiters of a transaction when it completes.
pub struct Wakeups {
    waiting: Mutex<HashMap<Key, Arc<Notify>>>,
}

impl Wakeups {
    /// Wakes every waiter of `key`.
    pub fn ring(&self, key: &Key) {
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(notify) = waiting.get(key) {
            notify.notify_waiters();
        }
    }

    /// Wakes every waiter of every key: after a lost notification channel, each
    /// checks the store again.
    pub fn ring_all(&self) {
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        for notify in waiting.values() {
            notify.notify_waiters();
        }
    }

    /// Registers interest in `key` before the caller checks the store, so a
    /// completion between the check and the wait is not missed.
    pub fn subscribe(self: &Arc<Self>, key: Key) -> Subscription {
        let notify = {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(waiting.entry(key).or_default())
        };
        Subscription {
            wakeups: Arc::clone(self),
            key,
            notify,
        }
    }
}

/// A registered waiter; dropping it forgets the key when nobody else waits.
pub struct Subscription {
    wakeups: Arc<Wakeups>,
    key: Key,
    notify: Arc<Notify>,
}

impl Subscription {
    /// Waits for a ring or the timeout, unless `already` finds the event has
    /// happened. The waiter is registered before `already` runs, so a ring in
    /// between is not lost.
    pub async fn wait_unless<F>(&self, already: F, timeout: Duration)
    where
        F: Future<Output = bool>,
    {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if already.await {
            return;
        }
        let _ = tokio::time::timeout(timeout, notified).await;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut waiting = self
            .wakeups
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Ours and the map's: nobody else is waiting.
        if Arc::strong_count(&self.notify) <= 2 {
            waiting.remove(&self.key);
        }
    }
}
