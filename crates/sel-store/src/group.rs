//! Group commit: the changes asked for while a commit is under way are committed together by
//! the next one, in one write transaction and one `fsync`, each caller still returning only once
//! its change is committed. redb runs one write transaction at a time; without this, every
//! change waits for the disk in turn, and changes of many BMCs at once (a fleet's power actions)
//! are as many `fsync`s in a row.
//!
//! Whoever asks while no commit runs leads: it takes every change queued (its own among them),
//! runs them in order in one transaction and commits it, then hands the results out. The others
//! wait for theirs, or lead the next group if theirs is still queued when the leader is done. If
//! a change of the group fails, the transaction is dropped (nothing of it is written) and each
//! change of the group is committed alone, so that one change's error is its own.

use crate::StoreError;
use redb::{Database, Durability, WriteTransaction};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

/// A change, run in the transaction given; its result boxed.
pub(crate) type Change =
    Box<dyn Fn(&WriteTransaction) -> Result<Box<dyn Any + Send>, StoreError> + Send>;

/// A change's result, boxed.
pub(crate) type Outcome = Result<Box<dyn Any + Send>, StoreError>;

/// The changes waiting and the results not yet taken.
#[derive(Default)]
struct Queue {
    waiting: Vec<(u64, Change)>,
    leading: bool,
    next: u64,
    done: HashMap<u64, Outcome>,
}

/// The group commit of one database.
#[derive(Default)]
pub(crate) struct Group {
    queue: Mutex<Queue>,
    turn: Condvar,
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits `change` in `db` (with others asked meanwhile) and returns its result.
    pub(crate) fn write(&self, db: &Database, change: Change) -> Outcome {
        let ticket = {
            let mut q = self.lock();
            let t = q.next;
            q.next += 1;
            q.waiting.push((t, change));
            t
        };
        let mut q = self.lock();
        loop {
            if let Some(r) = q.done.remove(&ticket) {
                return r;
            }
            // Not done and no leader: it is still queued (a group being committed has one).
            if !q.leading && !q.waiting.is_empty() {
                q.leading = true;
                let group = std::mem::take(&mut q.waiting);
                drop(q);
                // The lead is handed back even if a change panics (redb on a damaged file).
                let mut lead = Lead {
                    group: self,
                    tickets: group.iter().map(|(t, _)| *t).collect(),
                    results: None,
                };
                lead.results = Some(commit(db, &group));
                drop(lead);
                q = self.lock();
                continue;
            }
            q = self.turn.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The lead of a group, given back when dropped with the group's results: after the commit,
/// or by a panic (then each change of the group fails, and the panic goes up the leader's call).
struct Lead<'a> {
    group: &'a Group,
    tickets: Vec<u64>,
    results: Option<Vec<(u64, Outcome)>>,
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut q = self.group.lock();
        match self.results.take() {
            Some(results) => q.done.extend(results),
            None => {
                for t in &self.tickets {
                    let failed = StoreError::Damaged("the commit of its group failed".into());
                    q.done.insert(*t, Err(failed));
                }
            }
        }
        q.leading = false;
        self.group.turn.notify_all();
    }
}

/// Commits `group` in one transaction, or each change alone if one of them fails.
fn commit(db: &Database, group: &[(u64, Change)]) -> Vec<(u64, Outcome)> {
    if group.len() > 1 {
        type Together = Result<Option<Vec<(u64, Box<dyn Any + Send>)>>, StoreError>;
        let together = || -> Together {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::Immediate);
            let mut out = Vec::with_capacity(group.len());
            for (t, change) in group {
                match change(&txn) {
                    Ok(v) => out.push((*t, v)),
                    // Dropped uncommitted: nothing of the group is written.
                    Err(_) => return Ok(None),
                }
            }
            txn.commit()?;
            Ok(Some(out))
        };
        if let Ok(Some(out)) = together() {
            return out.into_iter().map(|(t, v)| (t, Ok(v))).collect();
        }
    }
    group
        .iter()
        .map(|(t, change)| (*t, alone(db, change)))
        .collect()
}

/// Commits one change in a transaction of its own.
fn alone(db: &Database, change: &Change) -> Outcome {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate);
    let out = change(&txn)?;
    txn.commit()?;
    Ok(out)
}
