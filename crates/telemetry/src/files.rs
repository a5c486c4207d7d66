//! The files the process writes and can fail to: the audit log's lost writes, the console logs
//! that cannot be opened or written.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

static AUDIT_WRITE_FAILURES: AtomicU64 = AtomicU64::new(0);
static CONSOLE_LOG_FAILURES: AtomicU64 = AtomicU64::new(0);
static CONSOLE_LOGS_FAILING: AtomicI64 = AtomicI64::new(0);

/// Counts `records` audit records that could not be written.
pub fn audit_write_failed(records: u64) {
    AUDIT_WRITE_FAILURES.fetch_add(records, Ordering::Relaxed);
}

/// Counts a console log file that could not be opened, reopened after rotation, or written.
pub fn console_log_failed() {
    CONSOLE_LOG_FAILURES.fetch_add(1, Ordering::Relaxed);
}

/// One more console log is failing (`true`: its file cannot be opened), or one less (`false`:
/// open again, or its BMC gone).
pub fn console_log_failing(failing: bool) {
    CONSOLE_LOGS_FAILING.fetch_add(if failing { 1 } else { -1 }, Ordering::Relaxed);
}

pub(crate) fn audit_write_failures() -> u64 {
    AUDIT_WRITE_FAILURES.load(Ordering::Relaxed)
}

pub(crate) fn console_log_failures() -> u64 {
    CONSOLE_LOG_FAILURES.load(Ordering::Relaxed)
}

pub(crate) fn console_logs_failing() -> u64 {
    CONSOLE_LOGS_FAILING.load(Ordering::Relaxed).max(0) as u64
}
