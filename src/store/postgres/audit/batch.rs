//! Group commit of audit rows: a task takes the rows queued while the last
//! batch was being written and inserts them in one statement (one transaction).
//! Each caller waits for its batch's COMMIT, so an acknowledged row is in the
//! database and a refused or granted request never answers before its row
//! (docs/src/operate/audit.md). The queue is bounded: when the database falls
//! behind, callers wait for room instead of memory growing. A row the database
//! refuses fails alone: its batch is then written row by row.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::store::rows::{unavailable, unix};
use crate::store::{AuditEntry, StoreError};

/// Most rows written by one statement.
const MAX_BATCH: usize = 512;
/// Rows waiting for a batch at most; past it, callers wait for room.
const QUEUE: usize = 4096;

type Queued = (AuditEntry, oneshot::Sender<Result<(), StoreError>>);

/// The queue of rows to write; clones share it. The writing task ends when the
/// last handle is dropped, after the rows already queued.
#[derive(Clone)]
pub(in crate::store::postgres) struct AuditBatcher {
    queue: mpsc::Sender<Queued>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the audit trail's writer has stopped".into())
}

impl AuditBatcher {
    /// Starts the task that writes rows to `pool`.
    pub(in crate::store::postgres) fn start(pool: PgPool) -> Self {
        let (queue, rows) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(pool, rows));
        Self { queue }
    }

    /// Appends `entry`: returns once its batch is committed, or why it was not.
    pub(in crate::store::postgres) async fn append(
        &self,
        entry: AuditEntry,
    ) -> Result<(), StoreError> {
        let (done, written) = oneshot::channel();
        self.queue
            .send((entry, done))
            .await
            .map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?
    }
}

async fn write_batches(pool: PgPool, mut rows: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rows.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (entries, waiting): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let together = insert(&pool, &entries).await;
        if together.is_err() && entries.len() > 1 {
            // One row the database refuses must not fail the others of its
            // batch: each is tried alone, and answered for itself.
            for (entry, done) in entries.iter().zip(waiting) {
                let _ = done.send(insert(&pool, std::slice::from_ref(entry)).await);
            }
            continue;
        }
        let together = together.map_err(|e| e.to_string());
        for done in waiting {
            // A caller that went away (its request was cancelled) needs no answer.
            let _ = done.send(together.clone().map_err(StoreError::Unavailable));
        }
    }
}

/// Inserts `entries` in their order, in one statement.
async fn insert(pool: &PgPool, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let mut columns = Columns::default();
    for e in entries {
        columns.at.push(unix(e.at));
        columns.actor.push(e.actor.as_str());
        columns.action.push(e.action.as_str());
        columns.subject.push(e.subject.as_deref());
        columns.realm.push(e.realm.as_deref());
        columns.audience.push(e.audience.as_deref());
        columns.outcome.push(e.outcome.as_str());
        columns.reason.push(e.reason.as_deref());
        columns.source.push(e.source.as_deref());
        columns.request_id.push(e.request_id.as_deref());
        columns.token_jti.push(e.token_jti.as_deref());
        columns.token_expires_at.push(e.token_expires_at.map(unix));
    }
    sqlx::query(
        "INSERT INTO audit (at, actor, action, subject, realm, audience, outcome, reason, source, request_id, token_jti, token_expires_at)
         SELECT at, actor, action, subject, realm, audience, outcome, reason, source, request_id, token_jti, token_expires_at
         FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[],
                     $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::BIGINT[])
              WITH ORDINALITY AS row (at, actor, action, subject, realm, audience, outcome, reason, source, request_id,
                                      token_jti, token_expires_at, position)
         ORDER BY position",
    )
    .bind(columns.at)
    .bind(columns.actor)
    .bind(columns.action)
    .bind(columns.subject)
    .bind(columns.realm)
    .bind(columns.audience)
    .bind(columns.outcome)
    .bind(columns.reason)
    .bind(columns.source)
    .bind(columns.request_id)
    .bind(columns.token_jti)
    .bind(columns.token_expires_at)
    .execute(pool)
    .await
    .map(|_| ())
    .map_err(unavailable)
}

/// A batch's rows, column by column (what `UNNEST` takes).
#[derive(Default)]
struct Columns<'a> {
    at: Vec<i64>,
    actor: Vec<&'a str>,
    action: Vec<&'a str>,
    subject: Vec<Option<&'a str>>,
    realm: Vec<Option<&'a str>>,
    audience: Vec<Option<&'a str>>,
    outcome: Vec<&'a str>,
    reason: Vec<Option<&'a str>>,
    source: Vec<Option<&'a str>>,
    request_id: Vec<Option<&'a str>>,
    token_jti: Vec<Option<&'a str>>,
    token_expires_at: Vec<Option<i64>>,
}
