//! The database file for [`crate::Sync::Written`]: redb's own file backend, whose `fsync` at
//! each commit is left to a background thread that syncs the file at most [`FLUSH`] after a
//! write. A commit still writes every page it changed, and the header that makes it the current
//! one, into the kernel (`pwrite`) before it returns: a process killed right after (`kill -9`,
//! a panic, the OOM killer) leaves the file as the kernel has it, with the commit in it. Only a
//! crash of the machine (power loss, kernel panic) within [`FLUSH`] of a commit may lose it;
//! redb's checksums then find the torn commit at the next open and go back to the one before.

use redb::backends::FileBackend;
use redb::StorageBackend;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long written pages may wait for their `fsync`.
pub const FLUSH: Duration = Duration::from_secs(1);

/// redb's file backend without the `fsync` at each commit.
#[derive(Debug)]
pub(crate) struct Written {
    file: Arc<FileBackend>,
    /// Written since the last `fsync`.
    dirty: Arc<AtomicBool>,
}

impl Written {
    /// The backend of `file` (locked against a second process, as redb's own), and its
    /// flusher thread, which ends once the backend is dropped.
    pub(crate) fn new(file: std::fs::File) -> Result<Written, redb::DatabaseError> {
        let file = Arc::new(FileBackend::new(file)?);
        let dirty = Arc::new(AtomicBool::new(false));
        let (weak, flag) = (Arc::downgrade(&file), dirty.clone());
        std::thread::Builder::new()
            .name("sel-flush".into())
            .spawn(move || flush_loop(&weak, &flag))
            .map_err(|e| redb::DatabaseError::Storage(redb::StorageError::Io(e)))?;
        Ok(Written { file, dirty })
    }
}

/// Syncs the file every [`FLUSH`] while it was written to, until it is dropped.
fn flush_loop(file: &Weak<FileBackend>, dirty: &AtomicBool) {
    loop {
        std::thread::sleep(FLUSH);
        let Some(file) = file.upgrade() else { return };
        if dirty.swap(false, Ordering::AcqRel) && file.sync_data(false).is_err() {
            // Tried again at the next turn; the commits themselves are in the kernel already.
            dirty.store(true, Ordering::Release);
        }
    }
}

impl StorageBackend for Written {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }

    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, std::io::Error> {
        self.file.read(offset, len)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.dirty.store(true, Ordering::Release);
        self.file.set_len(len)
    }

    fn sync_data(&self, _eventual: bool) -> Result<(), std::io::Error> {
        // The pages are in the kernel already (written by `write`): the flusher syncs them.
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.dirty.store(true, Ordering::Release);
        self.file.write(offset, data)
    }
}

impl Drop for Written {
    /// A clean close syncs what is left.
    fn drop(&mut self) {
        if self.dirty.load(Ordering::Acquire) {
            let _ = self.file.sync_data(false);
        }
    }
}
