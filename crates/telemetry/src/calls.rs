//! Backend calls by backend kind, operation and outcome, with their latency in a histogram, and
//! the serial console's bytes: one block of atomics per backend kind, taken when a backend is
//! built and counted into without a lock (a call costs a bucket search and three relaxed adds).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An operation of the backend trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Reading the power state.
    PowerState,
    /// A power action.
    Power,
    /// Setting or clearing the boot override.
    SetBoot,
    /// Reading the boot override.
    GetBoot,
    /// The identify light.
    Identify,
    /// Reading the sensors.
    Sensors,
    /// Reading the inventory.
    Inventory,
    /// Opening the serial console.
    Console,
    /// Adding a SEL record to the BMC behind.
    AddSelEntry,
    /// Relaying a command to the BMC behind.
    Relay,
    /// Virtual media: insert, eject, netbooting the iPXE endpoint and restoring the boot.
    Media,
}

impl Operation {
    /// Every operation, in label order.
    pub const ALL: [Operation; 11] = [
        Operation::PowerState,
        Operation::Power,
        Operation::SetBoot,
        Operation::GetBoot,
        Operation::Identify,
        Operation::Sensors,
        Operation::Inventory,
        Operation::Console,
        Operation::AddSelEntry,
        Operation::Relay,
        Operation::Media,
    ];

    /// The `operation` label.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::PowerState => "power_state",
            Operation::Power => "power",
            Operation::SetBoot => "set_boot",
            Operation::GetBoot => "get_boot",
            Operation::Identify => "identify",
            Operation::Sensors => "sensors",
            Operation::Inventory => "inventory",
            Operation::Console => "console",
            Operation::AddSelEntry => "add_sel_entry",
            Operation::Relay => "relay",
            Operation::Media => "media",
        }
    }
}

/// How a backend call ended (the backend error kinds, and success).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// Busy or rate-limited.
    Busy,
    /// It timed out.
    Timeout,
    /// Not possible in the machine's present state.
    InvalidState,
    /// The backend does not do this.
    NotSupported,
    /// Any other failure.
    Failed,
    /// The BMC behind answered with an error completion code.
    Completion,
}

impl Outcome {
    /// Every outcome, in label order.
    pub const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::Busy,
        Outcome::Timeout,
        Outcome::InvalidState,
        Outcome::NotSupported,
        Outcome::Failed,
        Outcome::Completion,
    ];

    /// The `outcome` label.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Busy => "busy",
            Outcome::Timeout => "timeout",
            Outcome::InvalidState => "invalid_state",
            Outcome::NotSupported => "not_supported",
            Outcome::Failed => "failed",
            Outcome::Completion => "completion_code",
        }
    }
}

/// The upper bounds of the latency buckets, in seconds: from the simulator's microseconds to
/// the tens of seconds of an SSH login or a slow API.
pub const BUCKETS: [f64; 15] = [
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// [`BUCKETS`] in nanoseconds, for the search.
const BUCKETS_NS: [u64; 15] = {
    let mut ns = [0u64; 15];
    let mut i = 0;
    while i < 15 {
        ns[i] = (BUCKETS[i] * 1e9) as u64;
        i += 1;
    }
    ns
};

/// One operation's counts.
#[derive(Default)]
struct OpStats {
    /// Calls per bucket (not cumulative); the last is above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
    outcomes: [AtomicU64; Outcome::ALL.len()],
}

/// The counts of one backend kind's calls.
pub struct CallStats {
    backend: &'static str,
    ops: [OpStats; Operation::ALL.len()],
    console_out: AtomicU64,
    console_in: AtomicU64,
}

impl CallStats {
    /// Counts a call of `op` that ended with `outcome` after `took`.
    #[inline]
    pub fn record(&self, op: Operation, outcome: Outcome, took: Duration) {
        let s = &self.ops[op as usize];
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_NS
            .iter()
            .position(|b| ns <= *b)
            .unwrap_or(BUCKETS.len());
        s.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        s.sum_ns.fetch_add(ns, Ordering::Relaxed);
        s.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts console output read from the machine.
    pub fn console_output(&self, bytes: usize) {
        self.console_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts console input sent to the machine.
    pub fn console_input(&self, bytes: usize) {
        self.console_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

static BACKENDS: Mutex<Vec<Arc<CallStats>>> = Mutex::new(Vec::new());

/// The call counts of backend kind `kind`, shared by its backends: take it when a backend is
/// built, not per call (this takes a lock).
pub fn for_backend(kind: &'static str) -> Arc<CallStats> {
    let mut all = BACKENDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = all.iter().find(|s| s.backend == kind) {
        return s.clone();
    }
    let s = Arc::new(CallStats {
        backend: kind,
        ops: Default::default(),
        console_out: AtomicU64::new(0),
        console_in: AtomicU64::new(0),
    });
    all.push(s.clone());
    s
}

/// One operation's histogram as the encoder takes it.
pub(crate) struct Histogram {
    pub(crate) sum: f64,
    pub(crate) count: u64,
    /// (upper bound, calls in that bucket alone).
    pub(crate) buckets: Vec<(f64, u64)>,
}

fn all() -> Vec<Arc<CallStats>> {
    BACKENDS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Every backend kind and operation called at least once: the counts by outcome.
pub(crate) fn each_outcome(mut f: impl FnMut([&str; 3], u64)) {
    for s in all() {
        for (op, o) in Operation::ALL.iter().zip(&s.ops) {
            for (outcome, n) in Outcome::ALL.iter().zip(&o.outcomes) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    f([s.backend, op.name(), outcome.name()], n);
                }
            }
        }
    }
}

/// Every backend kind and operation called at least once: the latency histogram.
pub(crate) fn each_histogram(mut f: impl FnMut([&str; 2], Histogram)) {
    for s in all() {
        for (op, o) in Operation::ALL.iter().zip(&s.ops) {
            let counts: Vec<u64> = o
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect();
            let count: u64 = counts.iter().sum();
            if count == 0 {
                continue;
            }
            let bounds = BUCKETS.iter().copied().chain([f64::INFINITY]);
            f(
                [s.backend, op.name()],
                Histogram {
                    sum: o.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
                    count,
                    buckets: bounds.zip(counts).collect(),
                },
            );
        }
    }
}

/// Every backend kind's console bytes: (kind, from the machine, to it).
pub(crate) fn each_console(mut f: impl FnMut(&str, u64, u64)) {
    for s in all() {
        let (out, inp) = (
            s.console_out.load(Ordering::Relaxed),
            s.console_in.load(Ordering::Relaxed),
        );
        if out > 0 || inp > 0 {
            f(s.backend, out, inp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fall_in_their_buckets_inclusively() {
        let s = for_backend("calls-test");
        s.record(Operation::Power, Outcome::Ok, Duration::from_micros(100));
        s.record(Operation::Power, Outcome::Busy, Duration::from_millis(3));
        s.record(Operation::Power, Outcome::Ok, Duration::from_secs(60));
        let mut seen = None;
        each_histogram(|[backend, op], h| {
            if backend == "calls-test" && op == "power" {
                seen = Some(h);
            }
        });
        let h = seen.unwrap();
        assert_eq!(h.count, 3);
        assert!((h.sum - 60.0031).abs() < 1e-9, "{}", h.sum);
        assert_eq!(h.buckets[0], (0.0001, 1), "the bound is inclusive");
        assert_eq!(h.buckets[3], (0.005, 1));
        assert_eq!(h.buckets[15], (f64::INFINITY, 1));
        let mut outcomes = Vec::new();
        each_outcome(|[backend, op, outcome], n| {
            if backend == "calls-test" {
                outcomes.push((op.to_string(), outcome.to_string(), n));
            }
        });
        assert_eq!(
            outcomes,
            [
                ("power".to_string(), "ok".to_string(), 2),
                ("power".to_string(), "busy".to_string(), 1)
            ]
        );
        assert!(Arc::ptr_eq(&s, &for_backend("calls-test")));
    }
}
