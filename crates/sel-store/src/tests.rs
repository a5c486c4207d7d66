use super::*;

fn record(tag: u8) -> [u8; RECORD_LEN] {
    let mut r = [tag; RECORD_LEN];
    r[2] = 0x02;
    r
}

#[test]
fn appends_chain_in_order_and_read_by_position() {
    let log = SelStore::in_memory().unwrap().log("node1", 16);
    assert_eq!(log.get(Position::First).unwrap(), None);
    assert_eq!(log.get(Position::Last).unwrap(), None);
    for (i, tag) in [0xa1, 0xa2, 0xa3].into_iter().enumerate() {
        assert_eq!(
            log.append(record(tag), 100 + i as u32).unwrap(),
            i as u16 + 1
        );
    }
    let first = log.get(Position::First).unwrap().unwrap();
    assert_eq!((first.id, first.next), (1, Some(2)));
    assert_eq!(
        first.record[..2],
        [1, 0],
        "the ID is written into the record"
    );
    assert_eq!(first.record[2..], record(0xa1)[2..]);
    let second = log.get(Position::Id(2)).unwrap().unwrap();
    assert_eq!(second.next, Some(3));
    let last = log.get(Position::Last).unwrap().unwrap();
    assert_eq!((last.id, last.next), (3, None));
    assert_eq!(log.get(Position::Id(9)).unwrap(), None);
    let all: Vec<u16> = log.entries().unwrap().iter().map(|e| e.id).collect();
    assert_eq!(all, [1, 2, 3]);
    let info = log.info().unwrap();
    assert_eq!(info.entries, 3);
    assert_eq!(info.last_add, Some(102));
    assert_eq!(info.last_erase, None);
    assert!(!info.overflow);
}

#[test]
fn delete_unlinks_and_stamps_the_erase_time() {
    let log = SelStore::in_memory().unwrap().log("node1", 16);
    for tag in 1..=4 {
        log.append(record(tag), 10).unwrap();
    }
    assert_eq!(log.delete(Position::Id(2), 20).unwrap(), Some(2));
    assert_eq!(log.delete(Position::Id(2), 21).unwrap(), None);
    assert_eq!(log.get(Position::Id(1)).unwrap().unwrap().next, Some(3));
    assert_eq!(log.delete(Position::First, 22).unwrap(), Some(1));
    assert_eq!(log.delete(Position::Last, 23).unwrap(), Some(4));
    let all: Vec<u16> = log.entries().unwrap().iter().map(|e| e.id).collect();
    assert_eq!(all, [3]);
    assert_eq!(log.info().unwrap().last_erase, Some(23));
    // A deleted ID is not given again while younger ones exist: IDs keep counting up.
    assert_eq!(log.append(record(5), 30).unwrap(), 5);
}

#[test]
fn a_full_log_refuses_appends_and_sets_overflow_until_cleared() {
    let log = SelStore::in_memory().unwrap().log("node1", 3);
    for tag in 1..=3 {
        log.append(record(tag), 1).unwrap();
    }
    assert!(matches!(log.append(record(4), 2), Err(StoreError::Full)));
    let info = log.info().unwrap();
    assert_eq!((info.entries, info.capacity, info.overflow), (3, 3, true));
    assert_eq!(info.last_add, Some(1), "a refused append adds nothing");
    // Deleting makes room but the flag says events were dropped, until the log is cleared.
    log.delete(Position::First, 3).unwrap();
    assert_eq!(log.append(record(5), 4).unwrap(), 4);
    assert!(log.info().unwrap().overflow);
    log.clear(5).unwrap();
    let info = log.info().unwrap();
    assert_eq!(
        (info.entries, info.overflow, info.last_erase),
        (0, false, Some(5))
    );
    assert_eq!(
        log.append(record(6), 6).unwrap(),
        1,
        "IDs start again after a clear"
    );
}

#[test]
fn record_ids_wrap_past_0xfffe_skipping_reserved_and_used_ones() {
    let store = SelStore::in_memory().unwrap();
    let log = store.log("node1", 8);
    assert_eq!(log.append(record(1), 1).unwrap(), 1);
    store
        .write(|txn| {
            txn.open_table(META)?
                .insert(("node1", META_NEXT_ID), 0xfffe)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(log.append(record(2), 1).unwrap(), 0xfffe);
    // 0xFFFF and 0x0000 are reserved and 1 is taken.
    assert_eq!(log.append(record(3), 1).unwrap(), 2);
    // Order is the order of addition, not of IDs.
    let all: Vec<u16> = log.entries().unwrap().iter().map(|e| e.id).collect();
    assert_eq!(all, [1, 0xfffe, 2]);
    assert_eq!(log.get(Position::Last).unwrap().unwrap().id, 2);
}

#[test]
fn bmcs_have_separate_logs_in_one_store() {
    let store = SelStore::in_memory().unwrap();
    let a = store.log("a", 4);
    let ab = store.log("ab", 4);
    a.append(record(1), 1).unwrap();
    a.append(record(2), 1).unwrap();
    ab.append(record(3), 1).unwrap();
    a.set_time_offset(-50).unwrap();
    assert_eq!(a.info().unwrap().entries, 2);
    assert_eq!(ab.info().unwrap().entries, 1);
    assert_eq!(ab.get(Position::First).unwrap().unwrap().id, 1);
    ab.clear(9).unwrap();
    assert_eq!(a.info().unwrap().entries, 2);
    assert_eq!(
        (a.time_offset().unwrap(), ab.time_offset().unwrap()),
        (-50, 0)
    );
}

#[test]
fn everything_is_found_again_after_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sel.redb");
    {
        let store = SelStore::open(&path).unwrap();
        // One process, one database: a second open of the same file is refused.
        assert!(SelStore::open(&path).is_err());
        let log = store.log("node1", 4);
        for tag in 1..=4 {
            log.append(record(tag), 7).unwrap();
        }
        assert!(matches!(log.append(record(5), 8), Err(StoreError::Full)));
        log.delete(Position::Id(1), 9).unwrap();
        log.set_time_offset(3600).unwrap();
    }
    let log = SelStore::open(&path).unwrap().log("node1", 4);
    let all: Vec<u16> = log.entries().unwrap().iter().map(|e| e.id).collect();
    assert_eq!(all, [2, 3, 4]);
    let info = log.info().unwrap();
    assert_eq!(
        (info.last_add, info.last_erase, info.overflow),
        (Some(7), Some(9), true)
    );
    assert_eq!(log.time_offset().unwrap(), 3600);
    assert_eq!(log.append(record(6), 10).unwrap(), 5);
}

/// A database of two BMCs' logs in `dir`, closed: its path.
fn written_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("sel.redb");
    let store = SelStore::open(&path).unwrap();
    for bmc in ["node1", "node2"] {
        let log = store.log(bmc, 512);
        for i in 0..300u32 {
            log.append(record(i as u8), i).unwrap();
        }
    }
    drop(store);
    path
}

/// Issue 19, defect 5: a file cut to its first 4 KiB or to half, or with bytes flipped in its
/// pages, is an error that says "damaged" (redb's own panics caught), never a panic.
#[test]
fn damaged_files_are_errors_not_panics() {
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 3] = [
        ("cut to 4 KiB", |b| b.truncate(4096)),
        ("cut to half", |b| b.truncate(b.len() / 2)),
        ("bytes flipped in every page", |b| {
            for page in (4096..b.len()).step_by(4096) {
                for i in (page..(page + 4096).min(b.len())).step_by(61) {
                    b[i] ^= 0x5a;
                }
            }
        }),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        let path = written_file(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        damage(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        let opened = std::panic::catch_unwind(|| SelStore::open(&path));
        let err = match opened {
            Ok(Ok(_)) => panic!("{what}: the damaged file opened"),
            Ok(Err(e)) => e,
            Err(_) => panic!("{what}: the panic was not caught"),
        };
        assert!(err.is_damage(), "{what}: {err}");
    }
}

#[test]
fn written_commits_are_read_back_after_a_reopen_and_the_file_stays_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sel.redb");
    let store = SelStore::open_with(&path, Sync::Written).unwrap();
    let log = store.log("node1", 16);
    let id = log.append([0x55; RECORD_LEN], 1000).unwrap();
    // One process per file, as with redb's own file backend.
    assert!(SelStore::open_with(&path, Sync::Written).is_err());
    drop((log, store));
    let store = SelStore::open_with(&path, Sync::EveryCommit).unwrap();
    let entries = store.log("node1", 16).entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, id);
    assert_eq!(entries[0].record[2..], [0x55; RECORD_LEN][2..]);
}

#[test]
fn the_kept_count_follows_appends_deletes_clears_and_a_change_that_did_not_keep_it() {
    let store = SelStore::in_memory().unwrap();
    let log = store.log("node1", 4);
    for tag in 1..=3 {
        log.append(record(tag), 100).unwrap();
    }
    assert_eq!(log.info().unwrap().entries, 3);
    log.delete(Position::First, 101).unwrap();
    assert_eq!(log.info().unwrap().entries, 2);
    log.append(record(4), 102).unwrap();
    log.append(record(5), 102).unwrap();
    assert!(matches!(log.append(record(6), 102), Err(StoreError::Full)));
    assert_eq!(log.info().unwrap().entries, 4);
    log.clear(103).unwrap();
    assert_eq!(log.info().unwrap().entries, 0);
    // A record added the way a build that keeps no count adds it: the count is taken again.
    log.append(record(7), 104).unwrap();
    store
        .write(|txn| {
            let mut records = txn.open_table(RECORDS)?;
            let mut meta = txn.open_table(META)?;
            records.insert(("node1", 100), &record(8)[..])?;
            meta.insert(("node1", META_SEQ), 100)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(log.info().unwrap().entries, 2);
    log.append(record(9), 105).unwrap();
    assert_eq!(log.info().unwrap().entries, 3);
    assert_eq!(log.entries().unwrap().len(), 3);
}

#[test]
fn changes_asked_at_once_from_many_threads_are_each_committed_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SelStore::open(&dir.path().join("sel.redb")).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = store.log(&format!("node{}", t % 2), 1000);
            std::thread::spawn(move || {
                (0..40)
                    .map(|i| log.append(record(i as u8), 100).unwrap())
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let mut ids: Vec<Vec<u16>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for node in 0..2 {
        // The IDs the appends of one log returned: 160 different ones, as its entries hold.
        let mut mine: Vec<u16> = ids
            .iter_mut()
            .enumerate()
            .filter(|(t, _)| t % 2 == node)
            .flat_map(|(_, v)| v.drain(..))
            .collect();
        mine.sort_unstable();
        mine.dedup();
        assert_eq!(mine.len(), 160);
        let log = store.log(&format!("node{node}"), 1000);
        let mut held: Vec<u16> = log.entries().unwrap().iter().map(|e| e.id).collect();
        held.sort_unstable();
        assert_eq!(held, mine);
        assert_eq!(log.info().unwrap().entries, 160);
    }
}
