//! The in-process ephemeral store, the default of a single node: state marks,
//! outcomes waiting for redemption and token buckets in maps behind one mutex
//! each, with expiry by the injected clock's `now`. Lost on restart, by design: a
//! result lives 120 s, and the pending logins it would finish live in the browser.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::wakeup::Wakeups;
use super::{
    CompletedLogin, ConfirmOutcome, LoginStore, OneTime, Redemption, SlotClaim, StoreError,
};
use crate::crypto;
use crate::domain::login::MAX_VERIFIER_FAILURES;
use crate::domain::{ClientId, Confirmation, LoginOutcome, TxnChallenge, TxnId, TxnVerifier};

mod rates;
pub use rates::MemoryRates;

/// A key as the store keeps it: its SHA-256.
pub type Key = [u8; 32];
/// When sessions ended, and until when the mark is kept.
type EndMark = (DateTime<Utc>, DateTime<Utc>);
/// A one-time value (`None` once taken) and its end.
type Once = (Option<Vec<u8>>, DateTime<Utc>);

/// An outcome waiting for its redemption, or the tombstone of one.
struct Entry {
    client: ClientId,
    challenge: TxnChallenge,
    /// `None` once redeemed or burnt (the tombstone).
    outcome: Option<LoginOutcome>,
    confirmation: [u8; 32],
    confirmed: bool,
    failures: u32,
    expires_at: DateTime<Utc>,
}

impl Entry {
    /// Counts a wrong verifier or confirmation; whether that burnt the entry.
    fn wrong_try(&mut self) -> bool {
        self.failures += 1;
        let burned = self.failures >= MAX_VERIFIER_FAILURES;
        if burned {
            self.outcome = None;
        }
        burned
    }
}

/// Ephemeral login state in this process.
#[derive(Default)]
pub struct MemoryLogins {
    states: Mutex<HashMap<Key, DateTime<Utc>>>,
    txns: Mutex<HashMap<Key, Entry>>,
    /// Session end marks: when, and until when the mark is kept.
    ended: Mutex<HashMap<Key, EndMark>>,
    /// One-time values (`None` once taken) and until when they are kept.
    once: Mutex<HashMap<Key, Once>>,
    /// Slots: their holder and until when.
    slots: Mutex<HashMap<Key, (String, DateTime<Utc>)>>,
    wakeups: Arc<Wakeups>,
}

/// A mark that must outlive a restart, its key already hashed (what
/// [`super::kept_marks`] writes through to the durable store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A used state, `jti` or nonce, until when it is kept.
    Used {
        /// The SHA-256 of its key.
        key: Key,
        /// Until when it is kept.
        until: DateTime<Utc>,
    },
    /// Ended sessions: when, and until when the mark is kept.
    Ended {
        /// The SHA-256 of its key.
        key: Key,
        /// When they ended.
        at: DateTime<Utc>,
        /// Until when it is kept.
        until: DateTime<Utc>,
    },
}

impl MemoryLogins {
    /// Takes back marks kept before a restart.
    pub fn restore(&self, marks: impl IntoIterator<Item = Mark>) {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        for mark in marks {
            match mark {
                Mark::Used { key, until } => {
                    let kept = states.entry(key).or_insert(until);
                    *kept = (*kept).max(until);
                }
                Mark::Ended { key, at, until } => {
                    let kept = ended.entry(key).or_insert((at, until));
                    *kept = (kept.0.max(at), kept.1.max(until));
                }
            }
        }
    }

    fn ended_at(&self, key: &str) -> Option<DateTime<Utc>> {
        let ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        ended.get(&crypto::sha256(key)).map(|(at, _)| *at)
    }

    fn is_over(&self, keys: &super::SessionKeys, started: DateTime<Utc>) -> bool {
        self.ended_at(&keys.session).is_some()
            || self.ended_at(&keys.user).is_some_and(|at| at >= started)
    }

    fn txns(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.txns.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl LoginStore for MemoryLogins {
    fn in_flight(&self) -> Option<u64> {
        let txns = self.txns.lock().unwrap_or_else(PoisonError::into_inner);
        u64::try_from(txns.len()).ok()
    }

    async fn use_state(&self, state: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(states.insert(crypto::sha256(state), until).is_none())
    }

    async fn was_used(&self, state: &str) -> Result<bool, StoreError> {
        let states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(states.contains_key(&crypto::sha256(state)))
    }

    async fn complete_txn(
        &self,
        txn: &TxnId,
        login: &CompletedLogin<'_>,
    ) -> Result<bool, StoreError> {
        let key = txn.storage_key();
        let stored = match self.txns().entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(Entry {
                    client: login.client_id.clone(),
                    challenge: login.txn_challenge.clone(),
                    outcome: Some(login.outcome.clone()),
                    confirmation: login.confirmation.hash(),
                    confirmed: false,
                    failures: 0,
                    expires_at: login.expires_at,
                });
                true
            }
        };
        if stored {
            self.wakeups.ring(&key);
        }
        Ok(stored)
    }

    async fn confirm(
        &self,
        txn: &TxnId,
        client: &ClientId,
        confirmation: &Confirmation,
        now: DateTime<Utc>,
    ) -> Result<ConfirmOutcome, StoreError> {
        let key = txn.storage_key();
        let outcome = {
            let mut txns = self.txns();
            match txns.get_mut(&key) {
                Some(entry)
                    if entry.expires_at > now
                        && entry.outcome.is_some()
                        && entry.client == *client =>
                {
                    if confirmation.matches(&entry.confirmation) {
                        entry.confirmed = true;
                        ConfirmOutcome::Confirmed
                    } else {
                        ConfirmOutcome::Wrong {
                            burned: entry.wrong_try(),
                        }
                    }
                }
                _ => ConfirmOutcome::Unknown,
            }
        };
        if outcome != (ConfirmOutcome::Wrong { burned: false }) {
            self.wakeups.ring(&key);
        }
        Ok(outcome)
    }

    async fn redeem(
        &self,
        txn: &TxnId,
        client: &ClientId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError> {
        let key = txn.storage_key();
        let mut txns = self.txns();
        let Some(entry) = txns
            .get_mut(&key)
            .filter(|e| e.expires_at > now && e.client == *client)
        else {
            return Ok(Redemption::Unknown);
        };
        Ok(if entry.outcome.is_none() {
            Redemption::Closed
        } else if !entry.challenge.is_answered_by(verifier) {
            Redemption::WrongVerifier {
                burned: entry.wrong_try(),
            }
        } else if !entry.confirmed {
            Redemption::Unconfirmed
        } else {
            entry
                .outcome
                .take()
                .map_or(Redemption::Closed, Redemption::Redeemed)
        })
    }

    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError> {
        let key = txn.storage_key();
        let subscription = self.wakeups.subscribe(key);
        let done = async {
            self.txns()
                .get(&key)
                .is_some_and(|e| e.outcome.is_none() || e.confirmed)
        };
        subscription.wait_unless(done, timeout).await;
        Ok(())
    }

    async fn end_sessions(
        &self,
        key: &str,
        user: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        {
            let mut ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = ended.entry(crypto::sha256(key)).or_insert((at, until));
            *entry = (entry.0.max(at), entry.1.max(until));
        }
        self.wakeups.ring(&crypto::sha256(user));
        Ok(())
    }

    async fn ring_sessions(&self, user: &str) -> Result<(), StoreError> {
        self.wakeups.ring(&crypto::sha256(user));
        Ok(())
    }

    async fn session_ended(
        &self,
        keys: &super::SessionKeys,
        started: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.is_over(keys, started))
    }

    async fn wait_for_session_end(
        &self,
        keys: &super::SessionKeys,
        started: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let subscription = self.wakeups.subscribe(crypto::sha256(&keys.user));
        subscription
            .wait_unless(async { self.is_over(keys, started) }, timeout)
            .await;
        Ok(())
    }

    async fn put_once(
        &self,
        key: &str,
        value: &[u8],
        until: DateTime<Utc>,
        _now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut once = self.once.lock().unwrap_or_else(PoisonError::into_inner);
        match once.entry(crypto::sha256(key)) {
            std::collections::hash_map::Entry::Occupied(_) => Ok(false),
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert((Some(value.to_vec()), until));
                Ok(true)
            }
        }
    }

    async fn take_once(&self, key: &str, now: DateTime<Utc>) -> Result<OneTime, StoreError> {
        let mut once = self.once.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match once.get_mut(&crypto::sha256(key)) {
            None => OneTime::Unknown,
            Some((None, _)) => OneTime::Used,
            Some((_, until)) if *until <= now => OneTime::Expired,
            Some((value, _)) => value.take().map_or(OneTime::Used, OneTime::Taken),
        })
    }

    async fn peek_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let once = self.once.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match once.get(&crypto::sha256(key)) {
            Some((Some(value), until)) if *until > now => Some(value.clone()),
            _ => None,
        })
    }

    async fn claim_slot(
        &self,
        slot: &str,
        holder: &str,
        replace: bool,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<SlotClaim, StoreError> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let key = crypto::sha256(slot);
        let current = slots
            .get(&key)
            .filter(|(_, held_until)| *held_until > now)
            .map(|(h, _)| h.clone());
        let displaced = match current {
            Some(h) if h == holder => None,
            Some(_) if !replace => return Ok(SlotClaim::Held),
            other => other,
        };
        slots.insert(key, (holder.to_owned(), until));
        Ok(SlotClaim::Claimed { displaced })
    }

    async fn slot_holder(
        &self,
        slot: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(slots
            .get(&crypto::sha256(slot))
            .filter(|(_, until)| *until > now)
            .map(|(h, _)| h.clone()))
    }

    async fn release_slot(&self, slot: &str, holder: &str) -> Result<bool, StoreError> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let key = crypto::sha256(slot);
        if slots.get(&key).is_some_and(|(h, _)| h == holder) {
            slots.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut purged = 0;
        {
            let mut once = self.once.lock().unwrap_or_else(PoisonError::into_inner);
            let before = once.len();
            // Kept a while past their end, so a late use is told "expired".
            once.retain(|_, (_, until)| *until + super::ONE_TIME_KEPT > now);
            purged += before - once.len();
        }
        {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let before = slots.len();
            slots.retain(|_, (_, until)| *until > now);
            purged += before - slots.len();
        }
        {
            let mut ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
            let before = ended.len();
            ended.retain(|_, (_, until)| *until > now);
            purged += before - ended.len();
        }
        {
            let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
            let before = states.len();
            states.retain(|_, until| *until > now);
            purged += before - states.len();
        }
        let mut txns = self.txns();
        let before = txns.len();
        txns.retain(|_, entry| entry.expires_at > now);
        purged += before - txns.len();
        Ok(purged as u64)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
