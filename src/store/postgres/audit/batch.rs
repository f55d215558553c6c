//! Group commit of audit rows: a task takes the rows queued while the last
//! batch was being written and inserts them in one statement (one transaction).
//! Each caller waits for its batch's COMMIT, so an acknowledged row is in the
//! database and a refused or granted request never answers before its row
//! (docs/src/operate/audit.md). The queue is bounded: when the database falls
//! behind, callers wait for room instead of memory growing.

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
        let result = insert(&pool, entries).await.map_err(|e| e.to_string());
        for done in waiting {
            // A caller that went away (its request was cancelled) needs no answer.
            let _ = done.send(result.clone().map_err(StoreError::Unavailable));
        }
    }
}

/// Inserts `entries` in their order, in one statement.
async fn insert(pool: &PgPool, entries: Vec<AuditEntry>) -> Result<(), StoreError> {
    let mut columns = Columns::default();
    for e in entries {
        columns.at.push(unix(e.at));
        columns.actor.push(e.actor);
        columns.action.push(e.action);
        columns.subject.push(e.subject);
        columns.realm.push(e.realm);
        columns.audience.push(e.audience);
        columns.outcome.push(e.outcome.as_str().to_owned());
        columns.reason.push(e.reason);
        columns.source.push(e.source);
        columns.request_id.push(e.request_id);
        columns.token_jti.push(e.token_jti);
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
struct Columns {
    at: Vec<i64>,
    actor: Vec<String>,
    action: Vec<String>,
    subject: Vec<Option<String>>,
    realm: Vec<Option<String>>,
    audience: Vec<Option<String>>,
    outcome: Vec<String>,
    reason: Vec<Option<String>>,
    source: Vec<Option<String>>,
    request_id: Vec<Option<String>>,
    token_jti: Vec<Option<String>>,
    token_expires_at: Vec<Option<i64>>,
}
