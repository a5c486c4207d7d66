//! The BMCs served and their session layers' counts, read at scrape time from whoever serves
//! them (the runtime's fleet): the session layer keeps plain counts behind its own lock, so
//! nothing is counted here on the path of a packet, and a scrape sums them.

use std::sync::{Mutex, Weak};

/// What the BMCs of one class have done, summed (a class is a backend kind, or `routed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassTotals {
    /// BMCs served now.
    pub bmcs: u64,
    /// Sessions open now.
    pub sessions_open: u64,
    /// Sessions opened, by protocol (`rmcp+`, `ipmi15`).
    pub opened: Vec<(&'static str, u64)>,
    /// Sessions closed, by reason (`request`, `idle`).
    pub closed: Vec<(&'static str, u64)>,
    /// Failed logins, by reason.
    pub logins_failed: Vec<(&'static str, u64)>,
    /// Lockouts begun.
    pub lockouts: u64,
    /// Logins in progress dropped, by reason (`evicted`, `expired`).
    pub handshakes_dropped: Vec<(&'static str, u64)>,
}

/// Whoever serves BMCs: it reports each class's totals at scrape time, counting in the BMCs it
/// no longer serves (so that counters never go back).
pub trait FleetSource: Send + Sync {
    /// Calls `f` once per class with its totals.
    fn totals(&self, f: &mut dyn FnMut(&'static str, &ClassTotals));
}

static SOURCES: Mutex<Vec<Weak<dyn FleetSource>>> = Mutex::new(Vec::new());

/// Reads `source` at every scrape while it lives.
pub fn watch_fleet(source: Weak<dyn FleetSource>) {
    let mut sources = SOURCES.lock().unwrap_or_else(|e| e.into_inner());
    sources.retain(|s| s.strong_count() > 0);
    sources.push(source);
}

/// The totals of every class, over every live source (classes in order).
pub(crate) fn totals() -> Vec<(&'static str, ClassTotals)> {
    let sources: Vec<_> = SOURCES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut out: Vec<(&'static str, ClassTotals)> = Vec::new();
    for s in sources {
        s.totals(
            &mut |class, t| match out.iter_mut().find(|(c, _)| *c == class) {
                Some((_, sum)) => add(sum, t),
                None => out.push((class, t.clone())),
            },
        );
    }
    out.sort_by_key(|(c, _)| *c);
    out
}

fn add(sum: &mut ClassTotals, t: &ClassTotals) {
    sum.bmcs += t.bmcs;
    sum.sessions_open += t.sessions_open;
    sum.lockouts += t.lockouts;
    for (into, from) in [
        (&mut sum.opened, &t.opened),
        (&mut sum.closed, &t.closed),
        (&mut sum.logins_failed, &t.logins_failed),
        (&mut sum.handshakes_dropped, &t.handshakes_dropped),
    ] {
        for (k, n) in from {
            match into.iter_mut().find(|(j, _)| j == k) {
                Some((_, m)) => *m += n,
                None => into.push((k, *n)),
            }
        }
    }
}
