//! Unit tests of `writer`.

use super::*;

fn writer_on(dir: &tempfile::TempDir) -> (Writer, rusqlite::Connection) {
    let path = dir.path().join("w.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER PRIMARY KEY);")
        .unwrap();
    let sealer = Sealer::from_base64(&Sealer::generate_key().unwrap()).unwrap();
    let open = || rusqlite::Connection::open(&path).unwrap();
    let writer = Writer::start(open(), open(), sealer).unwrap();
    (writer, conn)
}

fn insert(writer: &Writer, v: i64) -> impl Future<Output = Result<(), StoreError>> + use<> {
    writer.write(move |conn, _| {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
            .map(|_| ())
            .map_err(unavailable)
    })
}

#[tokio::test]
async fn a_failing_write_is_undone_alone_and_the_others_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, reader) = writer_on(&dir);
    // Queued at once, in this order, so they share batches.
    let inserts: Vec<_> = (0..100).map(|v| insert(&writer, v)).collect();
    let half_done = writer.write(|conn, _| {
        conn.execute("INSERT INTO t (v) VALUES (1000)", [])
            .map_err(unavailable)?;
        Err::<(), _>(StoreError::Unavailable("refused halfway".into()))
    });
    let duplicate = insert(&writer, 5);
    let (results, half_done, duplicate) =
        tokio::join!(futures_join_all(inserts), half_done, duplicate);
    assert!(results.iter().all(Result::is_ok));
    assert!(half_done.is_err());
    assert!(duplicate.is_err(), "the primary key refuses the second 5");
    let count: i64 = reader
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 100, "the 100 good writes, not the half-done one");
}

/// Awaits every future, in order (the writer runs them in the order queued).
async fn futures_join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs = Vec::with_capacity(futures.len());
    for future in futures {
        outputs.push(future.await);
    }
    outputs
}

/// The writer never stops to checkpoint; the checkpoint thread copies what it
/// committed from the write-ahead log into the database file by itself.
#[tokio::test]
async fn committed_writes_reach_the_database_file_without_the_writer_checkpointing() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _reader) = writer_on(&dir);
    for v in 0..50 {
        insert(&writer, v).await.unwrap();
    }
    // `immutable=1` reads the database file alone, never the write-ahead log.
    let file = format!("file:{}?immutable=1", dir.path().join("w.db").display());
    let in_file = || {
        rusqlite::Connection::open_with_flags(
            &file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .and_then(|conn| conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)))
        .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while in_file() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the rows never reached the database file"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
