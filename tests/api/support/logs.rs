//! A capture of every log line the brokers of this test binary write, for the
//! tests that check what is (and is never) logged.

use std::sync::{Arc, Mutex, OnceLock};

/// Every log line the broker writes during this test binary's run.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

pub(super) fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,h2=info,reqwest=debug,rustls=info")
            .with_ansi(false)
            .with_writer(move || CaptureWriter(Arc::clone(&writer)))
            .try_init()
            .ok();
        buffer
    })
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
