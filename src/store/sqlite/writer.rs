//! The store's one writer: a thread that owns a connection and commits the
//! queued writes in batches (group commit). Writes run in arrival order, each in
//! its own savepoint, so a failing write is undone alone; each is acknowledged
//! only after its batch's COMMIT, so an acknowledged write is in the database.
//! One commit per batch instead of per write is what keeps a burst of logins
//! from queueing behind SQLite's file locks and WAL appends. The writer never
//! checkpoints the WAL itself: a thread of its own does, passively, every second,
//! so no batch waits for the copy and its `fsync`
//! (docs/src/operate/performance.md).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::crypto::Sealer;
use crate::store::StoreError;
use crate::store::rows::unavailable;

/// Most writes committed together.
const MAX_BATCH: usize = 256;
/// How often the write-ahead log is copied into the database, off the writer's
/// path (a checkpoint on the writer's path stalls every write queued behind it).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// A write waiting for its turn.
trait Write: Send {
    /// Runs the write; whether it succeeded (and its changes are kept).
    fn run(&mut self, conn: &rusqlite::Connection, sealer: &Sealer) -> bool;
    /// Answers the caller: the write's result once its batch committed, or why
    /// the batch did not (`failure`).
    fn finish(self: Box<Self>, failure: Option<&StoreError>);
}

struct Queued<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, StoreError>>,
    done: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Write for Queued<T, F>
where
    T: Send,
    F: FnOnce(&rusqlite::Connection, &Sealer) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &rusqlite::Connection, sealer: &Sealer) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn, sealer)))
            .unwrap_or_else(|_| Err(StoreError::Unavailable("a write panicked".into())));
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, failure: Option<&StoreError>) {
        let result = match (failure, self.outcome) {
            (None, Some(outcome)) => outcome,
            (None, None) => Err(StoreError::Unavailable("the write did not run".into())),
            (Some(err), _) => Err(StoreError::Unavailable(err.to_string())),
        };
        // The caller may have gone (its request was cancelled): nothing to tell.
        let _ = self.done.send(result);
    }
}

/// The handle to the writer thread; clones share it. The thread ends when the
/// last handle is dropped, after the writes already queued.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn Write>>,
    /// Dropped with the last handle, which ends the checkpoint thread.
    _checkpoints: mpsc::Sender<()>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the store's writer has stopped".into())
}

impl Writer {
    /// Starts the writer on `conn`, and the checkpoints on `checkpointer` (a
    /// connection of its own to the same file).
    pub(super) fn start(
        conn: rusqlite::Connection,
        checkpointer: rusqlite::Connection,
        sealer: Sealer,
    ) -> Result<Self, StoreError> {
        // The writer never checkpoints itself: the thread below does.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(unavailable)?;
        let (queue, writes) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || commit_in_batches(&conn, &sealer, &writes))
            .map_err(unavailable)?;
        let (checkpoints, stop) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_until_stopped(&checkpointer, &stop))
            .map_err(unavailable)?;
        Ok(Self {
            queue,
            _checkpoints: checkpoints,
        })
    }

    /// Queues `work` now (writes run in the order of these calls); the future
    /// gives its result once its batch is committed.
    pub(super) fn write<T, F>(
        &self,
        work: F,
    ) -> impl Future<Output = Result<T, StoreError>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection, &Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let queued = Queued {
            work: Some(work),
            outcome: None,
            done,
        };
        let sent = self.queue.send(Box::new(queued));
        async move {
            sent.map_err(|_| stopped())?;
            result.await.map_err(|_| stopped())?
        }
    }
}

/// Copies the write-ahead log into the database every [`CHECKPOINT_EVERY`]
/// (passive: it waits for no reader or writer), once more when stopped.
fn checkpoint_until_stopped(conn: &rusqlite::Connection, stop: &mpsc::Receiver<()>) {
    loop {
        let stopped = matches!(
            stop.recv_timeout(CHECKPOINT_EVERY),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %err, "could not checkpoint the database's write-ahead log");
        }
        if stopped {
            return;
        }
    }
}

fn commit_in_batches(
    conn: &rusqlite::Connection,
    sealer: &Sealer,
    writes: &mpsc::Receiver<Box<dyn Write>>,
) {
    while let Ok(first) = writes.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let committed = commit(conn, sealer, &mut batch);
        if let Err(err) = &committed {
            tracing::error!(error = %err, writes = batch.len(), "a batch of writes was not committed");
        }
        for write in batch {
            write.finish(committed.as_ref().err());
        }
    }
}

fn commit(
    conn: &rusqlite::Connection,
    sealer: &Sealer,
    batch: &mut [Box<dyn Write>],
) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(unavailable)?;
    // Every write takes the first two statements: prepared once per connection.
    let ran = batch.iter_mut().try_for_each(|write| {
        conn.prepare_cached("SAVEPOINT write")?.execute([])?;
        if write.run(conn, sealer) {
            conn.prepare_cached("RELEASE write")?
                .execute([])
                .map(|_| ())
        } else {
            conn.execute_batch("ROLLBACK TO write; RELEASE write")
        }
    });
    match ran.and_then(|()| conn.execute_batch("COMMIT")) {
        Ok(()) => Ok(()),
        Err(err) => {
            // Undo whatever is left of the batch; the connection stays usable.
            let _ = conn.execute_batch("ROLLBACK");
            Err(unavailable(err))
        }
    }
}

#[cfg(test)]
mod tests;
