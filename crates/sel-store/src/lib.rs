//! # sel-store
//!
//! The System Event Log of every BMC a process serves, kept in one embedded transactional
//! database ([redb]) per process. Each BMC's log is a [`SelLog`]: records are appended, read
//! by ID or as the first or last, chained by "next record ID", deleted, cleared, and counted
//! against a fixed capacity; its clock offset and its last add and erase times are kept beside
//! them.
//!
//! Every change is committed with [`redb::Durability::Immediate`] before the call returns (the
//! changes asked for by several threads while a commit runs share the next one: a group
//! commit): what a caller has been told is in the log survives a crash of the process
//! (`kill -9`), and with [`Sync::EveryCommit`] (the default: each commit fsync'd) a crash of the
//! machine too; with [`Sync::Written`] the commit is written to the kernel before it returns and
//! fsync'd within a second ([`written`]), for many more changes a second.
//!
//! Records are 16 bytes whose first two are the record ID, least significant byte first (IPMI
//! 2.0 section 32); the store assigns that ID and reads nothing else of the record.
//!
//! The API is synchronous: a commit waits for the disk. Async callers run writes on a blocking
//! thread.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod group;
pub mod written;

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use std::path::Path;
use std::sync::Arc;

/// Records by (BMC name, sequence number): the sequence orders them as they were added.
const RECORDS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("sel_records");
/// The sequence number of each record, by (BMC name, record ID).
const IDS: TableDefinition<(&str, u16), u64> = TableDefinition::new("sel_ids");
/// Per-BMC values, by (BMC name, key); see the `META_*` keys.
const META: TableDefinition<(&str, &str), u64> = TableDefinition::new("sel_meta");

/// The record ID the next append tries first.
const META_NEXT_ID: &str = "next_id";
/// The sequence number of the last record added.
const META_SEQ: &str = "seq";
/// SEL time of the last addition.
const META_LAST_ADD: &str = "last_add";
/// SEL time of the last deletion or clear.
const META_LAST_ERASE: &str = "last_erase";
/// 1 once an append failed for lack of space, until the log is cleared.
const META_OVERFLOW: &str = "overflow";
/// The number of records, kept so that an append need not count them (a scan of up to the
/// capacity); valid only while [`META_COUNT_SEQ`] and [`META_COUNT_ERASE`] hold the sequence
/// number and the last erase time it was taken at, so that a change by a build that does not
/// keep it (an older one) makes it count again.
const META_COUNT: &str = "count";
/// [`META_SEQ`] when [`META_COUNT`] was written.
const META_COUNT_SEQ: &str = "count_seq";
/// [`META_LAST_ERASE`] when [`META_COUNT`] was written.
const META_COUNT_ERASE: &str = "count_erase";
/// The SEL clock's offset from the system clock, in seconds (an i64 stored as its bits).
const META_TIME_OFFSET: &str = "time_offset";

/// The size of a SEL record.
pub const RECORD_LEN: usize = 16;
/// The capacity of a log unless configured otherwise.
pub const DEFAULT_CAPACITY: u16 = 1024;
/// The most records one log can hold: record IDs 0x0000 and 0xFFFF mean "first" and "last".
pub const MAX_CAPACITY: u16 = 0xfffe;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The log holds its capacity of records; the append was refused (and the overflow flag set).
    #[error("the SEL is full")]
    Full,
    /// The database failed (I/O error, corruption, already open by another process).
    #[error("SEL database: {0}")]
    Database(Box<redb::Error>),
    /// The database file is damaged: redb found it corrupt, or failed on it (a panic inside
    /// redb, caught). Opening it again gives the same; only moving it aside helps.
    #[error("the SEL database is damaged: {0}")]
    Damaged(String),
}

impl StoreError {
    /// Whether the error means the file is damaged (rather than, say, held by another process
    /// or unreadable for lack of permission).
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Damaged(_) => true,
            StoreError::Database(e) => match e.as_ref() {
                redb::Error::Corrupted(_) | redb::Error::RepairAborted => true,
                redb::Error::Io(io) => matches!(
                    io.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
                ),
                _ => false,
            },
            StoreError::Full => false,
        }
    }
}

/// Each of redb's error types becomes [`StoreError::Database`] (boxed: it is large).
macro_rules! from_redb {
    ($($t:ty),+) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError {
                StoreError::Database(Box::new(e.into()))
            }
        }
    )+};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Which record a read or delete is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// The oldest record.
    First,
    /// The newest record.
    Last,
    /// The record with this ID.
    Id(u16),
}

/// A record read from the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its record ID.
    pub id: u16,
    /// The whole record, its ID in the first two bytes.
    pub record: [u8; RECORD_LEN],
    /// The ID of the record after it, `None` for the newest.
    pub next: Option<u16>,
}

/// What Get SEL Info reports about a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// Records held.
    pub entries: u16,
    /// Records the log can hold.
    pub capacity: u16,
    /// SEL time of the last addition, if any.
    pub last_add: Option<u32>,
    /// SEL time of the last deletion or clear, if any.
    pub last_erase: Option<u32>,
    /// Whether an append was refused for lack of space since the log was last cleared.
    pub overflow: bool,
}

/// When a committed change reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sync {
    /// Each commit is fsync'd before it returns: it survives a power loss.
    #[default]
    EveryCommit,
    /// Each commit is written to the kernel before it returns (it survives `kill -9` of the
    /// process) and fsync'd by a background thread at most [`written::FLUSH`] later.
    Written,
}

/// The database of a process: one file holding the log of every BMC.
#[derive(Clone)]
pub struct SelStore {
    db: Arc<Database>,
    /// Changes asked for at once share a commit.
    group: Arc<group::Group>,
}

impl SelStore {
    /// Opens (or creates) the database file and checks every page of it (redb's integrity
    /// check, with the checksums). Fails if another process has it open, and with an error
    /// whose [`StoreError::is_damage`] holds if the file is damaged: redb panics on some damage
    /// (a file cut short, pages overwritten), and that panic is caught here and returned as
    /// [`StoreError::Damaged`], so that no damaged file can take the process down.
    pub fn open(path: &Path) -> Result<SelStore, StoreError> {
        SelStore::open_with(path, Sync::EveryCommit)
    }

    /// [`SelStore::open`], its commits reaching the disk as `sync` says.
    pub fn open_with(path: &Path, sync: Sync) -> Result<SelStore, StoreError> {
        let opened = std::panic::catch_unwind(|| -> Result<SelStore, StoreError> {
            let mut db = match sync {
                Sync::EveryCommit => Database::create(path)?,
                Sync::Written => {
                    let file = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(path)
                        .map_err(redb::StorageError::Io)?;
                    Database::builder().create_with_backend(written::Written::new(file)?)?
                }
            };
            // Ok(false): damage redb repaired (a crash mid-commit); Err: beyond repair.
            db.check_integrity()?;
            SelStore::init(db)
        });
        opened.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "redb failed on it".into());
            Err(StoreError::Damaged(what))
        })
    }

    /// A database in memory only, for tests and for BMCs given no state directory: nothing
    /// survives the process.
    pub fn in_memory() -> Result<SelStore, StoreError> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        SelStore::init(db)
    }

    /// Creates the tables, so that readers always find them.
    fn init(db: Database) -> Result<SelStore, StoreError> {
        let store = SelStore {
            db: Arc::new(db),
            group: Arc::default(),
        };
        store.write(|txn| {
            txn.open_table(RECORDS)?;
            txn.open_table(IDS)?;
            txn.open_table(META)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The log of the BMC named `bmc`, holding at most `capacity` records (1 to
    /// [`MAX_CAPACITY`]). A BMC's records are found again under the same name after a restart.
    pub fn log(&self, bmc: &str, capacity: u16) -> SelLog {
        SelLog {
            store: self.clone(),
            bmc: bmc.to_string(),
            capacity: capacity.clamp(1, MAX_CAPACITY),
        }
    }

    /// Runs `f` in a write transaction and commits it ([`redb::Durability::Immediate`]) before
    /// returning; changes asked for by other threads meanwhile share the commit ([`group`]), so
    /// `f` may run twice (once with its group, again alone if another change of the group
    /// failed): it must only change the database.
    fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let change: group::Change =
            Box::new(move |txn| f(txn).map(|v| Box::new(v) as Box<dyn std::any::Any + Send>));
        let out = self.group.write(&self.db, change)?;
        Ok(*out
            .downcast::<T>()
            .expect("a change's result is of the type it returned"))
    }
}

/// The System Event Log of one BMC.
#[derive(Clone)]
pub struct SelLog {
    store: SelStore,
    bmc: String,
    capacity: u16,
}

impl SelLog {
    /// The capacity in records.
    pub fn capacity(&self) -> u16 {
        self.capacity
    }

    /// Appends a record at SEL time `now`, giving it the next free record ID (written into its
    /// first two bytes), and returns that ID once committed. A full log refuses it with
    /// [`StoreError::Full`] and sets the overflow flag.
    pub fn append(&self, record: [u8; RECORD_LEN], now: u32) -> Result<u16, StoreError> {
        let (bmc, capacity) = (self.bmc.clone(), self.capacity);
        let added = self.store.write(move |txn| {
            let mut record = record;
            let bmc = bmc.as_str();
            let mut records = txn.open_table(RECORDS)?;
            let mut ids = txn.open_table(IDS)?;
            let mut meta = txn.open_table(META)?;
            let count = count(&records, &meta, bmc)?;
            if count >= u64::from(capacity) {
                meta.insert((bmc, META_OVERFLOW), 1)?;
                return Ok(None);
            }
            // The next ID not in use, skipping 0x0000 and 0xFFFF; fewer records than IDs exist.
            let mut id = get(&meta, bmc, META_NEXT_ID)?.map_or(1, |v| v as u16);
            while id == 0 || id == 0xffff || ids.get((bmc, id))?.is_some() {
                id = id.wrapping_add(1);
            }
            let seq = get(&meta, bmc, META_SEQ)?.unwrap_or(0) + 1;
            record[..2].copy_from_slice(&id.to_le_bytes());
            records.insert((bmc, seq), &record[..])?;
            ids.insert((bmc, id), seq)?;
            meta.insert((bmc, META_SEQ), seq)?;
            meta.insert((bmc, META_NEXT_ID), u64::from(id.wrapping_add(1)))?;
            meta.insert((bmc, META_LAST_ADD), u64::from(now))?;
            set_count(&mut meta, bmc, count + 1)?;
            Ok(Some(id))
        })?;
        added.ok_or(StoreError::Full)
    }

    /// The record at `at` and the ID of the one after it; `None` if there is no such record.
    pub fn get(&self, at: Position) -> Result<Option<Entry>, StoreError> {
        let bmc = self.bmc.as_str();
        let read = || -> Result<Option<Entry>, StoreError> {
            let txn = self.store.db.begin_read()?;
            let records = txn.open_table(RECORDS)?;
            let ids = txn.open_table(IDS)?;
            let Some(seq) = locate(&records, &ids, bmc, at)? else {
                return Ok(None);
            };
            let mut from = records.range((bmc, seq)..=(bmc, u64::MAX))?;
            let Some(found) = from.next() else {
                return Ok(None);
            };
            let record = to_record(found?.1.value());
            let next = match from.next() {
                Some(n) => Some(id_of(&to_record(n?.1.value()))),
                None => None,
            };
            Ok(Some(Entry {
                id: id_of(&record),
                record,
                next,
            }))
        };
        read()
    }

    /// Every record, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let bmc = self.bmc.as_str();
        let read = || -> Result<Vec<Entry>, StoreError> {
            let txn = self.store.db.begin_read()?;
            let records = txn.open_table(RECORDS)?;
            let mut all: Vec<Entry> = Vec::new();
            for r in records.range((bmc, 0)..=(bmc, u64::MAX))? {
                let record = to_record(r?.1.value());
                let id = id_of(&record);
                if let Some(prev) = all.last_mut() {
                    prev.next = Some(id);
                }
                all.push(Entry {
                    id,
                    record,
                    next: None,
                });
            }
            Ok(all)
        };
        read()
    }

    /// Deletes the record at `at` at SEL time `now`; returns its ID, or `None` if there is no
    /// such record.
    pub fn delete(&self, at: Position, now: u32) -> Result<Option<u16>, StoreError> {
        let bmc = self.bmc.clone();
        self.store.write(move |txn| {
            let bmc = bmc.as_str();
            let mut records = txn.open_table(RECORDS)?;
            let mut ids = txn.open_table(IDS)?;
            let mut meta = txn.open_table(META)?;
            let Some(seq) = locate(&records, &ids, bmc, at)? else {
                return Ok(None);
            };
            let before = count(&records, &meta, bmc)?;
            let Some(gone) = records.remove((bmc, seq))? else {
                return Ok(None);
            };
            let id = id_of(&to_record(gone.value()));
            drop(gone);
            ids.remove((bmc, id))?;
            meta.insert((bmc, META_LAST_ERASE), u64::from(now))?;
            set_count(&mut meta, bmc, before.saturating_sub(1))?;
            Ok(Some(id))
        })
    }

    /// Erases every record at SEL time `now` and clears the overflow flag; record IDs start
    /// again from 1.
    pub fn clear(&self, now: u32) -> Result<(), StoreError> {
        let bmc = self.bmc.clone();
        self.store.write(move |txn| {
            let bmc = bmc.as_str();
            let mut records = txn.open_table(RECORDS)?;
            let mut ids = txn.open_table(IDS)?;
            let mut meta = txn.open_table(META)?;
            records.retain_in((bmc, 0)..=(bmc, u64::MAX), |_, _| false)?;
            ids.retain_in((bmc, 0)..=(bmc, u16::MAX), |_, _| false)?;
            meta.insert((bmc, META_NEXT_ID), 1)?;
            meta.insert((bmc, META_OVERFLOW), 0)?;
            meta.insert((bmc, META_LAST_ERASE), u64::from(now))?;
            set_count(&mut meta, bmc, 0)?;
            Ok(())
        })
    }

    /// The entry count, capacity, last add and erase times, and overflow flag.
    pub fn info(&self) -> Result<Info, StoreError> {
        let bmc = self.bmc.as_str();
        let read = || -> Result<Info, StoreError> {
            let txn = self.store.db.begin_read()?;
            let records = txn.open_table(RECORDS)?;
            let meta = txn.open_table(META)?;
            let count = count(&records, &meta, bmc)?;
            Ok(Info {
                entries: u16::try_from(count).unwrap_or(u16::MAX),
                capacity: self.capacity,
                last_add: get(&meta, bmc, META_LAST_ADD)?.map(|v| v as u32),
                last_erase: get(&meta, bmc, META_LAST_ERASE)?.map(|v| v as u32),
                overflow: get(&meta, bmc, META_OVERFLOW)? == Some(1),
            })
        };
        read()
    }

    /// The SEL clock's offset from the system clock, in seconds (0 until set).
    pub fn time_offset(&self) -> Result<i64, StoreError> {
        let bmc = self.bmc.as_str();
        let read = || -> Result<i64, StoreError> {
            let txn = self.store.db.begin_read()?;
            let meta = txn.open_table(META)?;
            Ok(get(&meta, bmc, META_TIME_OFFSET)?.map_or(0, |v| v as i64))
        };
        read()
    }

    /// Sets the SEL clock's offset from the system clock, in seconds.
    pub fn set_time_offset(&self, seconds: i64) -> Result<(), StoreError> {
        let bmc = self.bmc.clone();
        self.store.write(move |txn| {
            let bmc = bmc.as_str();
            txn.open_table(META)?
                .insert((bmc, META_TIME_OFFSET), seconds as u64)?;
            Ok(())
        })
    }
}

/// A per-BMC value.
/// The number of records of `bmc`: [`META_COUNT`] if it is valid, else counted.
fn count(
    records: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    meta: &impl ReadableTable<(&'static str, &'static str), u64>,
    bmc: &str,
) -> Result<u64, StoreError> {
    let kept = get(meta, bmc, META_COUNT)?;
    let valid = get(meta, bmc, META_COUNT_SEQ)? == get(meta, bmc, META_SEQ)?
        && get(meta, bmc, META_COUNT_ERASE)? == get(meta, bmc, META_LAST_ERASE)?;
    match kept {
        Some(n) if valid => Ok(n),
        _ => Ok(records.range((bmc, 0)..=(bmc, u64::MAX))?.count() as u64),
    }
}

/// Keeps `n` as the number of records of `bmc`, valid for the sequence number and erase time
/// written in this transaction (so written after them).
fn set_count(
    meta: &mut redb::Table<(&'static str, &'static str), u64>,
    bmc: &str,
    n: u64,
) -> Result<(), StoreError> {
    let seq = get(meta, bmc, META_SEQ)?;
    let erase = get(meta, bmc, META_LAST_ERASE)?;
    meta.insert((bmc, META_COUNT), n)?;
    match seq {
        Some(s) => drop(meta.insert((bmc, META_COUNT_SEQ), s)?),
        None => drop(meta.remove((bmc, META_COUNT_SEQ))?),
    }
    match erase {
        Some(e) => drop(meta.insert((bmc, META_COUNT_ERASE), e)?),
        None => drop(meta.remove((bmc, META_COUNT_ERASE))?),
    }
    Ok(())
}

fn get(
    meta: &impl ReadableTable<(&'static str, &'static str), u64>,
    bmc: &str,
    key: &str,
) -> Result<Option<u64>, StoreError> {
    Ok(meta.get((bmc, key))?.map(|v| v.value()))
}

/// The sequence number of the record at `at`.
fn locate(
    records: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    ids: &impl ReadableTable<(&'static str, u16), u64>,
    bmc: &str,
    at: Position,
) -> Result<Option<u64>, StoreError> {
    let mut all = records.range((bmc, 0)..=(bmc, u64::MAX))?;
    let found = match at {
        Position::First => all.next(),
        Position::Last => all.next_back(),
        Position::Id(id) => return Ok(ids.get((bmc, id))?.map(|s| s.value())),
    };
    Ok(match found {
        Some(r) => Some(r?.0.value().1),
        None => None,
    })
}

/// A stored record as its 16 bytes (shorter or longer values, which this crate never writes,
/// are cut or padded with zeros).
fn to_record(bytes: &[u8]) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    let n = bytes.len().min(RECORD_LEN);
    r[..n].copy_from_slice(&bytes[..n]);
    r
}

/// The record ID in a record's first two bytes.
fn id_of(record: &[u8; RECORD_LEN]) -> u16 {
    u16::from_le_bytes([record[0], record[1]])
}

#[cfg(test)]
mod tests;
