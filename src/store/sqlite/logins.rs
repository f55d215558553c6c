//! Logins in flight and their outcomes in SQLite.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension as _, params};

use super::{SqliteStore, corrupt, unavailable, unix};
use crate::crypto;
use crate::domain::login::MAX_VERIFIER_FAILURES;
use crate::domain::{
    ClientId, Confirmation, LoginOutcome, PendingLogin, TxnChallenge, TxnId, TxnVerifier,
};
use crate::store::{ConfirmOutcome, LoginStore, Redemption, StoreError};

/// Closes a transaction: its outcome is gone, a later attempt finds it closed.
const CLOSE: &str = "UPDATE transactions SET closed = 1, outcome = NULL WHERE txn_hash = ?1";

/// Counts a wrong verifier or confirmation against the one allowance both share;
/// the one that uses it up closes the transaction. Whether it did.
fn count_wrong_try(
    conn: &rusqlite::Connection,
    key: &[u8; 32],
    failures: u32,
) -> Result<bool, StoreError> {
    let burned = failures + 1 >= MAX_VERIFIER_FAILURES;
    let sql = if burned {
        CLOSE
    } else {
        "UPDATE transactions SET failures = failures + 1 WHERE txn_hash = ?1"
    };
    conn.execute(sql, params![key.as_slice()])
        .map_err(unavailable)?;
    Ok(burned)
}

#[async_trait]
impl LoginStore for SqliteStore {
    async fn begin_login(&self, state: &str, login: &PendingLogin) -> Result<bool, StoreError> {
        let state_key = crypto::sha256(state);
        let txn_key = login.txn.storage_key();
        let client = login.client_id.clone();
        let challenge = login.txn_challenge.clone();
        let expires_at = unix(login.expires_at);
        let json = serde_json::to_vec(login).map_err(corrupt)?;
        self.write(move |conn, sealer| {
            let existing: Option<(String, String, bool)> = conn
                .prepare_cached(
                    "SELECT client_id, challenge, outcome IS NOT NULL OR closed FROM transactions WHERE txn_hash = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![txn_key.as_slice()], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            match existing {
                // A reloaded popup repeats its /login: same client, same challenge.
                Some((c, ch, done)) => {
                    if c != client.as_str() || ch != challenge.as_str() || done {
                        return Ok(false);
                    }
                }
                None => {
                    conn.prepare_cached(
                        "INSERT INTO transactions (txn_hash, client_id, challenge, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![txn_key.as_slice(), client.as_str(), challenge.as_str(), expires_at])
                    })
                    .map_err(unavailable)?;
                }
            }
            let sealed = sealer.seal(&state_key, &json).map_err(corrupt)?;
            conn.prepare_cached(
                "INSERT INTO pending_logins (state_hash, sealed, expires_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut stmt| stmt.execute(params![state_key.as_slice(), sealed, expires_at]))
            .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn take_pending(&self, state: &str) -> Result<Option<PendingLogin>, StoreError> {
        let key = crypto::sha256(state);
        self.write(move |conn, sealer| {
            let sealed: Option<Vec<u8>> = conn
                .prepare_cached("DELETE FROM pending_logins WHERE state_hash = ?1 RETURNING sealed")
                .and_then(|mut stmt| {
                    stmt.query_row(params![key.as_slice()], |row| row.get(0))
                        .optional()
                })
                .map_err(unavailable)?;
            sealed
                .map(|sealed| {
                    let json = sealer.open(&key, &sealed).map_err(corrupt)?;
                    serde_json::from_slice(&json).map_err(corrupt)
                })
                .transpose()
        })
        .await
    }

    async fn complete_txn(
        &self,
        txn: &TxnId,
        outcome: &LoginOutcome,
        confirmation: &Confirmation,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = txn.storage_key();
        let json = serde_json::to_vec(outcome).map_err(corrupt)?;
        let confirmation = confirmation.hash();
        self.write(move |conn, sealer| {
            let sealed = sealer.seal(&key, &json).map_err(corrupt)?;
            conn.execute(
                "UPDATE transactions SET outcome = ?2, expires_at = ?3, confirmation_hash = ?4, confirmed = 0 \
                 WHERE txn_hash = ?1 AND outcome IS NULL AND NOT closed",
                params![key.as_slice(), sealed, unix(expires_at), confirmation.as_slice()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await?;
        self.wakeups.ring(&key);
        Ok(())
    }

    async fn confirm(
        &self,
        txn: &TxnId,
        confirmation: &Confirmation,
        now: DateTime<Utc>,
    ) -> Result<ConfirmOutcome, StoreError> {
        let key = txn.storage_key();
        let confirmation = confirmation.clone();
        let outcome = self
            .write(move |conn, _| {
                let row: Option<(Vec<u8>, u32)> = conn
                    .query_row(
                        "SELECT confirmation_hash, failures FROM transactions \
                         WHERE txn_hash = ?1 AND expires_at > ?2 AND outcome IS NOT NULL \
                         AND confirmation_hash IS NOT NULL AND NOT closed",
                        params![key.as_slice(), unix(now)],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(unavailable)?;
                let Some((stored, failures)) = row else {
                    return Ok(ConfirmOutcome::Unknown);
                };
                if confirmation.matches(&stored) {
                    conn.execute(
                        "UPDATE transactions SET confirmed = 1 WHERE txn_hash = ?1",
                        params![key.as_slice()],
                    )
                    .map_err(unavailable)?;
                    return Ok(ConfirmOutcome::Confirmed);
                }
                let burned = count_wrong_try(conn, &key, failures)?;
                Ok(ConfirmOutcome::Wrong { burned })
            })
            .await?;
        if outcome != (ConfirmOutcome::Wrong { burned: false }) {
            self.wakeups.ring(&key);
        }
        Ok(outcome)
    }

    async fn txn_client(
        &self,
        txn: &TxnId,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientId>, StoreError> {
        let key = txn.storage_key();
        self.blocking(move |conn, _| {
            let client: Option<String> = conn
                .prepare_cached(
                    "SELECT client_id FROM transactions WHERE txn_hash = ?1 AND expires_at > ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![key.as_slice(), unix(now)], |row| row.get(0))
                        .optional()
                })
                .map_err(unavailable)?;
            client
                .map(|c| ClientId::parse(&c).map_err(corrupt))
                .transpose()
        })
        .await
    }

    async fn redeem(
        &self,
        txn: &TxnId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError> {
        let key = txn.storage_key();
        let verifier = verifier.clone();
        self.write(move |conn, sealer| {
            let row: Option<(String, Option<Vec<u8>>, u32, bool, bool)> = conn
                .query_row(
                    "SELECT challenge, outcome, failures, closed, confirmed FROM transactions WHERE txn_hash = ?1 AND expires_at > ?2",
                    params![key.as_slice(), unix(now)],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let Some((challenge, outcome, failures, closed, confirmed)) = row else {
                return Ok(Redemption::Unknown);
            };
            if closed {
                return Ok(Redemption::Closed);
            }
            let challenge = TxnChallenge::parse(&challenge).map_err(corrupt)?;
            let redemption = if !challenge.is_answered_by(&verifier) {
                let burned = count_wrong_try(conn, &key, failures)?;
                Redemption::WrongVerifier { burned }
            } else if outcome.is_some() && !confirmed {
                Redemption::Unconfirmed
            } else if let Some(sealed) = outcome {
                conn.execute(CLOSE, params![key.as_slice()])
                    .map_err(unavailable)?;
                let json = sealer.open(&key, &sealed).map_err(corrupt)?;
                Redemption::Redeemed(serde_json::from_slice(&json).map_err(corrupt)?)
            } else {
                Redemption::Pending
            };
            Ok(redemption)
        })
        .await
    }

    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError> {
        let key = txn.storage_key();
        let subscription = self.wakeups.subscribe(key);
        // Checked after subscribing, so a completion in between is not missed.
        let mut failure = None;
        let already = async {
            let done = self
                .blocking(move |conn, _| {
                    conn.query_row(
                        "SELECT (outcome IS NOT NULL AND confirmed) OR closed FROM transactions WHERE txn_hash = ?1",
                        params![key.as_slice()],
                        |row| row.get::<_, bool>(0),
                    )
                    .optional()
                    .map_err(unavailable)
                })
                .await;
            match done {
                // Not started yet (None): wait for it too.
                Ok(done) => done.unwrap_or(false),
                Err(err) => {
                    failure = Some(err);
                    true
                }
            }
        };
        subscription.wait_unless(already, timeout).await;
        failure.map_or(Ok(()), Err)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.write(move |conn, _| {
            let logins = conn
                .execute(
                    "DELETE FROM pending_logins WHERE expires_at <= ?1",
                    params![unix(now)],
                )
                .map_err(unavailable)?;
            let txns = conn
                .execute(
                    "DELETE FROM transactions WHERE expires_at <= ?1",
                    params![unix(now)],
                )
                .map_err(unavailable)?;
            Ok((logins + txns) as u64)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|conn, _| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(unavailable)
        })
        .await
    }
}
