//! What one client may hold of the server ([`Limits`]) and how many connections every HTTP
//! server of the process may hold together ([`ConnectionBudget`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The bounds of one HTTP server: every one of them holds whatever a client sends or fails to
/// send, so that no client (with or without credentials) can keep the server's descriptors or
/// memory for itself.
#[derive(Clone, Debug)]
pub struct Limits {
    /// How long a client has to send a request's head, from the moment the connection is open or
    /// has answered its previous request: a connection that sends half a header (Slowloris) is
    /// closed when it passes. It is also the idle keep-alive timeout: hyper starts the same
    /// timer as soon as a kept-alive connection is waiting for its next request.
    pub header_read_timeout: Duration,
    /// How long a request may take from its head to its answer, reading its body included (a
    /// body sent a byte at a time): 408 and the connection closed when it passes.
    pub request_timeout: Duration,
    /// How long a write of the answer may wait for a client that does not read (slow read): the
    /// connection is closed when it passes.
    pub send_timeout: Duration,
    /// The most bytes a request's head may take (request line and headers): 431 beyond. It is
    /// also the size of each connection's read buffer (at least 8 KiB, hyper's minimum), so
    /// that a thousand connections with long partial headers hold a bounded amount of memory.
    pub max_header_bytes: usize,
    /// The most header fields a request may carry: 431 beyond.
    pub max_headers: usize,
    /// The most bytes a request's body may carry: 413 beyond (checked as it is read, whatever
    /// the handler).
    pub max_body_bytes: usize,
    /// The connections this server may hold, shared with the other servers of the process.
    pub budget: ConnectionBudget,
}

/// hyper's smallest read buffer: `max_header_bytes` below it is raised to it.
pub(crate) const MIN_BUFFER: usize = 8192;

impl Limits {
    /// The defaults (10 s for a head and for a stalled send, 30 s for a request, 16 KiB of
    /// head in at most 64 fields, 64 KiB of body), over `budget`.
    pub fn new(budget: ConnectionBudget) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body_bytes: 64 * 1024,
            budget,
        }
    }
}

/// How many connections the process's HTTP servers hold at once, together. Cloned, it is the
/// same budget: the admin server and the Redfish service draw from one. When it is spent, a new
/// connection makes room by closing the connection that has waited longest for a request (one
/// sending half a header, or kept alive with nothing to ask): a client with a whole request to
/// send is served at once, whatever number of slow clients hold the rest. A connection whose
/// request is being handled is never closed for room; if every one is, the new connection
/// waits for one to end, and those behind it wait in the kernel's listen queue (where they hold
/// none of the process's descriptors).
#[derive(Clone, Debug)]
pub struct ConnectionBudget {
    slots: Arc<Semaphore>,
    size: usize,
    waiting: Arc<Mutex<Waiting>>,
}

/// The connections waiting for a request, oldest first.
#[derive(Debug, Default)]
struct Waiting {
    next: u64,
    /// By the order in which they started to wait: each one's signal to close.
    by_age: BTreeMap<u64, Arc<Notify>>,
}

/// The budget [`ConnectionBudget::from_descriptors`] never goes below (a process started with
/// too few descriptors still serves a few clients) nor above (more than enough for an admin
/// API and a Redfish service; each connection costs a descriptor and up to two read buffers).
pub const BUDGET_RANGE: (usize, usize) = (16, 1024);

/// How long a new connection waits for room before it looks again for one to close (when every
/// connection was busy with a request).
const ROOM_RETRY: Duration = Duration::from_millis(100);

impl ConnectionBudget {
    /// A budget of `size` connections (at least one).
    pub fn new(size: usize) -> ConnectionBudget {
        let size = size.max(1);
        ConnectionBudget {
            slots: Arc::new(Semaphore::new(size)),
            size,
            waiting: Arc::default(),
        }
    }

    /// A budget derived from the descriptors the process may open: half of what is left of the
    /// soft `RLIMIT_NOFILE` once the descriptors open now and `reserve` more (what the rest of
    /// the process will need: sockets, logs, a reload) are set aside, within [`BUDGET_RANGE`].
    /// The other half stays free for what the reserve did not foresee. Under the common soft
    /// limit of 1024, with 30 descriptors open and a reserve of 300: 347 connections.
    pub fn from_descriptors(reserve: usize) -> ConnectionBudget {
        ConnectionBudget::new(budget_for(soft_nofile(), open_descriptors(), reserve))
    }

    /// How many connections the budget allows.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many connections are held now.
    pub fn in_use(&self) -> usize {
        self.size - self.slots.available_permits()
    }

    /// A slot, at once if one is free.
    pub(crate) fn try_take(&self) -> Option<Slot> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        Some(self.slot(permit))
    }

    /// A slot: the oldest connection waiting for a request is closed to make room, or (if none
    /// is) the next one to end gives its slot.
    pub(crate) async fn take(&self) -> Slot {
        loop {
            if let Some(slot) = self.try_take() {
                return slot;
            }
            self.make_room();
            let free = self.slots.clone().acquire_owned();
            if let Ok(Ok(permit)) = tokio::time::timeout(ROOM_RETRY, free).await {
                return self.slot(permit);
            }
        }
    }

    /// Asks the connection that has waited longest for a request to close.
    fn make_room(&self) {
        let oldest = lock(&self.waiting).by_age.pop_first();
        if let Some((_, close)) = oldest {
            close.notify_one();
        }
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot {
        let slot = Slot {
            _permit: permit,
            waiting: self.waiting.clone(),
            close: Arc::new(Notify::new()),
            key: Mutex::new(None),
        };
        // A new connection waits for its first request.
        slot.waiting();
        slot
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connection's share of the budget, given back when it is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    waiting: Arc<Mutex<Waiting>>,
    /// Notified when the connection is to close to make room.
    close: Arc<Notify>,
    /// Its place among the connections waiting for a request, while it waits.
    key: Mutex<Option<u64>>,
}

impl Slot {
    /// The connection waits for a request: it may be closed to make room.
    pub(crate) fn waiting(&self) {
        let mut key = lock(&self.key);
        let mut waiting = lock(&self.waiting);
        if let Some(old) = key.take() {
            waiting.by_age.remove(&old);
        }
        let k = waiting.next;
        waiting.next += 1;
        waiting.by_age.insert(k, self.close.clone());
        *key = Some(k);
    }

    /// The connection's request is being handled: it is not closed to make room.
    pub(crate) fn busy(&self) {
        if let Some(k) = lock(&self.key).take() {
            lock(&self.waiting).by_age.remove(&k);
        }
    }

    /// Completes when the connection is to close to make room for another.
    pub(crate) async fn closing(&self) {
        self.close.notified().await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.busy();
    }
}

/// The budget's size for a soft limit, the descriptors open and the reserve.
fn budget_for(soft_limit: u64, open: usize, reserve: usize) -> usize {
    let soft = usize::try_from(soft_limit).unwrap_or(usize::MAX);
    let left = soft.saturating_sub(open).saturating_sub(reserve);
    (left / 2).clamp(BUDGET_RANGE.0, BUDGET_RANGE.1)
}

/// The soft `RLIMIT_NOFILE` (1024 if it cannot be read).
pub fn soft_nofile() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given, which lives on the stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        1024
    }
}

/// How many descriptors the process has open (0 if /proc cannot be read).
pub fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_the_reserve_and_half_the_rest() {
        assert_eq!(budget_for(1024, 30, 300), 347);
        // Within the range whatever the limit.
        assert_eq!(budget_for(256, 30, 300), BUDGET_RANGE.0);
        assert_eq!(budget_for(1 << 20, 30, 300), BUDGET_RANGE.1);
        assert_eq!(budget_for(u64::MAX, 0, 0), BUDGET_RANGE.1);
    }

    #[tokio::test]
    async fn clones_share_one_budget() {
        let a = ConnectionBudget::new(2);
        let b = a.clone();
        let one = a.try_take().unwrap();
        let _two = b.try_take().unwrap();
        assert!(a.try_take().is_none());
        assert_eq!(b.in_use(), 2);
        drop(one);
        assert_eq!(a.in_use(), 1);
        let _three = b.take().await;
    }

    #[tokio::test]
    async fn room_is_made_by_closing_the_oldest_waiting_connection() {
        let budget = ConnectionBudget::new(3);
        let busy = budget.try_take().unwrap();
        busy.busy();
        let older = Arc::new(budget.try_take().unwrap());
        let newer = Arc::new(budget.try_take().unwrap());
        // The older one has finished a request and waits again: now the newer is the oldest.
        older.busy();
        older.waiting();
        let (o, n) = (older.clone(), newer.clone());
        let closed = tokio::spawn(async move {
            tokio::select! {
                () = o.closing() => "older",
                () = n.closing() => "newer",
            }
        });
        let take = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.take().await })
        };
        assert_eq!(closed.await.unwrap(), "newer");
        assert!(!take.is_finished());
        drop(newer);
        let _slot = take.await.unwrap();
        assert_eq!(budget.in_use(), 3);
        // The busy one is never chosen: with the older one busy too, nothing is closed.
        older.busy();
        let wait = tokio::time::timeout(Duration::from_millis(300), budget.take()).await;
        assert!(wait.is_err());
    }
}
