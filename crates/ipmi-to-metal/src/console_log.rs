//! A BMC's console log: every byte its console prints, appended to a file whether or not a SOL
//! session is attached, rotated by size (`NAME.log` → `NAME.log.1` → ...), optionally with the
//! time each line was read; and the log's end, which a newly activated SOL session may be sent.
//! A BMC's log is created at its console's first output ([`ConsoleLog::at_first_output`]): a
//! console that never printed holds no open file and costs no file creation at start.
//!
//! A log that cannot be opened, reopened after rotation, or written (its directory taken by a
//! file, a full disk, no descriptor left) is tried again at the next output after a backoff (1 s,
//! doubling up to a minute), until it works again, which the log then says with a line of its
//! own: what the console printed meanwhile is lost. Meanwhile the BMC's [`ConsoleLogHealth`]
//! says why (the admin API's `GET /bmcs`), and the metrics count it
//! (`ipmi_to_metal_console_logs_failing`, `ipmi_to_metal_console_log_failures_total`).

use crate::config::ConsoleSettings;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The first wait before a failed log is tried again; it doubles at each failure, up to
/// [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_secs(1);
/// The longest wait before a failed log is tried again.
const RETRY_MAX: Duration = Duration::from_secs(60);

/// Whether a BMC's console log is being written: shared between its console task, which writes
/// it, and the admin API, which shows it.
#[derive(Debug, Default)]
pub struct ConsoleLogHealth(Mutex<Option<(SystemTime, String)>>);

impl ConsoleLogHealth {
    /// Since when and why the log is not written, while it is not.
    pub fn failing(&self) -> Option<(SystemTime, String)> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(SystemTime, String)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a failure; whether the log was writable until now.
    fn set_failing(&self, error: String) -> bool {
        let mut now = self.lock();
        let first = now.is_none();
        let since = now.as_ref().map_or_else(SystemTime::now, |(t, _)| *t);
        *now = Some((since, error));
        first
    }

    /// Records that the log is written again; since when it was not, if it was not.
    fn recovered(&self) -> Option<SystemTime> {
        self.lock().take().map(|(since, _)| since)
    }
}

/// A console log, open or to be opened at its first write.
pub struct ConsoleLog {
    path: PathBuf,
    /// `None` until the first write, and while it cannot be opened.
    file: Option<File>,
    /// When to try again to open a log that failed; `None`: at the next write.
    retry_at: Option<Instant>,
    /// The wait after the next failure.
    backoff: Duration,
    /// What the admin API shows of it.
    health: Arc<ConsoleLogHealth>,
    size: u64,
    max: u64,
    keep: u32,
    timestamps: bool,
    /// The next byte starts a line (for timestamps).
    line_start: bool,
}

/// `path` with `.N` added.
fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

use crate::private_file::open_append;

/// The time now as `2024-11-26T01:02:03.456Z`.
fn utc_now() -> String {
    utc(std::time::SystemTime::now())
}

/// A time as `2024-11-26T01:02:03.456Z`.
pub(crate) fn utc(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let (secs, ms) = (d.as_secs(), d.subsec_millis());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

impl ConsoleLog {
    /// Opens the log at `path` with the rotation settings of `s`, creating its directory.
    #[cfg(test)]
    pub fn open(path: PathBuf, s: &ConsoleSettings) -> std::io::Result<ConsoleLog> {
        let mut log = ConsoleLog::at_first_output(path, s, Arc::default());
        log.open_now()?;
        Ok(log)
    }

    /// The log at `path` with the rotation settings of `s`, opened (its directory and file
    /// created) only at the first write; if that fails, tried again at a later one (see the
    /// module's documentation), while `health` says why.
    pub fn at_first_output(
        path: PathBuf,
        s: &ConsoleSettings,
        health: Arc<ConsoleLogHealth>,
    ) -> ConsoleLog {
        ConsoleLog {
            path,
            file: None,
            retry_at: None,
            backoff: RETRY_MIN,
            health,
            size: 0,
            max: s.log_max_bytes.max(1),
            keep: s.log_keep,
            timestamps: s.timestamps,
            line_start: true,
        }
    }

    /// Creates the directory and opens the file for appending.
    fn open_now(&mut self) -> std::io::Result<()> {
        crate::private_file::create_parent(&self.path)?;
        let file = open_append(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    /// Appends console output.
    pub fn append(&mut self, data: &[u8]) {
        let mut out = Vec::with_capacity(data.len() + 32);
        for &b in data {
            if self.timestamps && self.line_start {
                out.extend_from_slice(format!("[{}] ", utc_now()).as_bytes());
            }
            out.push(b);
            self.line_start = b == b'\n';
        }
        self.write(&out);
    }

    /// Marks something that is not console output (the source lost and found again).
    pub fn mark(&mut self, what: &str) {
        let sep = if self.line_start { "" } else { "\n" };
        let line = format!("{sep}[ipmi-to-metal {}: {what}]\n", utc_now());
        self.line_start = true;
        self.write(line.as_bytes());
    }

    /// Writes `out` whole into the current file, rotating first if it would not fit (a chunk is
    /// never split across two files); dropped while the log cannot be opened.
    fn write(&mut self, out: &[u8]) {
        if !self.ensure_open() {
            return;
        }
        if self.size > 0 && self.size + out.len() as u64 > self.max {
            self.rotate();
        }
        let Some(f) = self.file.as_mut() else { return };
        if let Err(e) = f.write_all(out) {
            self.failed("written", &e);
            return;
        }
        self.size += out.len() as u64;
        self.backoff = RETRY_MIN;
    }

    /// Whether the file is open, opening it if it is not and its time to try has come; once it
    /// opens again after failing, the log says what it missed.
    fn ensure_open(&mut self) -> bool {
        if self.file.is_some() {
            return true;
        }
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return false;
        }
        if let Err(e) = self.open_now() {
            self.failed("opened", &e);
            return false;
        }
        self.retry_at = None;
        if let Some(since) = self.health.recovered() {
            telemetry::console_log_failing(false);
            tracing::info!(path = %self.path.display(), "console log written again");
            let line = format!(
                "{}[ipmi-to-metal {}: console output since {} lost: the log could not be written]\n",
                if self.line_start { "" } else { "\n" },
                utc_now(),
                utc(since)
            );
            self.line_start = true;
            if let Some(f) = self.file.as_mut() {
                if f.write_all(line.as_bytes()).is_ok() {
                    self.size += line.len() as u64;
                }
            }
        }
        true
    }

    /// The file could not be `what` (opened, written): closed, to be opened again after the
    /// backoff; said once per failure (then at debug level), counted.
    fn failed(&mut self, what: &str, e: &std::io::Error) {
        self.file = None;
        self.retry_at = Some(Instant::now() + self.backoff);
        let retry = self.backoff;
        self.backoff = (self.backoff * 2).min(RETRY_MAX);
        telemetry::console_log_failed();
        if self.health.set_failing(format!("cannot be {what}: {e}")) {
            telemetry::console_log_failing(true);
            tracing::warn!(path = %self.path.display(), error = %e, ?retry, "console log cannot be {what}: console output is not kept until it can (tried again at the next output)");
        } else {
            tracing::debug!(path = %self.path.display(), error = %e, ?retry, "console log still cannot be {what}");
        }
    }

    /// `NAME.log` becomes `NAME.log.1`, the older ones move up, the oldest beyond `keep` goes.
    fn rotate(&mut self) {
        self.file = None;
        if self.keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(numbered(&self.path, self.keep));
            for n in (1..self.keep).rev() {
                let _ = std::fs::rename(numbered(&self.path, n), numbered(&self.path, n + 1));
            }
            let _ = std::fs::rename(&self.path, numbered(&self.path, 1));
        }
        self.size = 0;
        match open_append(&self.path) {
            Ok(f) => self.file = Some(f),
            Err(e) => self.failed("reopened", &e),
        }
    }

    /// The last `n` bytes of the log (from the newest rotated file too when needed).
    pub fn tail(&self, n: usize) -> Vec<u8> {
        tail_at(&self.path, self.keep, n)
    }
}

impl Drop for ConsoleLog {
    fn drop(&mut self) {
        // Its BMC stops: one failing log less.
        if self.health.failing().is_some() {
            telemetry::console_log_failing(false);
        }
    }
}

/// The last `n` bytes of the log at `path` which keeps `keep` rotated files (from the newest
/// of them too when needed), as [`ConsoleLog::tail`] reads its own, for a reader that does not
/// write it (the admin API).
pub fn tail_at(path: &Path, keep: u32, n: usize) -> Vec<u8> {
    let mut out = tail_of(path, n);
    if out.len() < n && keep > 0 {
        let mut older = tail_of(&numbered(path, 1), n - out.len());
        older.extend_from_slice(&out);
        out = older;
    }
    out
}

fn tail_of(path: &Path, n: usize) -> Vec<u8> {
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(n as u64);
    let mut out = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_ok() {
        let _ = f.take(n as u64).read_to_end(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_keeps_n_and_tails_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console/node1.log");
        let s = ConsoleSettings {
            log_max_bytes: 10,
            log_keep: 2,
            ..ConsoleSettings::default()
        };
        let mut log = ConsoleLog::open(path.clone(), &s).unwrap();
        log.append(b"01234");
        log.append(b"56789");
        log.append(b"abcdefghij");
        log.append(b"KLMNO");
        assert_eq!(std::fs::read(&path).unwrap(), b"KLMNO");
        assert_eq!(std::fs::read(numbered(&path, 1)).unwrap(), b"abcdefghij");
        assert_eq!(std::fs::read(numbered(&path, 2)).unwrap(), b"0123456789");
        assert_eq!(log.tail(8), b"hijKLMNO");
        log.append(b"pqrstuvwxyz");
        assert!(!numbered(&path, 3).exists(), "only two kept");
        assert_eq!(std::fs::read(numbered(&path, 2)).unwrap(), b"abcdefghij");
        // Reopened, it appends.
        drop(log);
        let mut log = ConsoleLog::open(path.clone(), &s).unwrap();
        log.mark("source lost");
        assert!(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains("source lost"));
    }

    #[test]
    fn a_log_is_created_at_the_first_output_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console/node1.log");
        let mut log =
            ConsoleLog::at_first_output(path.clone(), &ConsoleSettings::default(), Arc::default());
        assert!(!dir.path().join("console").exists(), "nothing on disk yet");
        assert!(log.file.is_none(), "no open file");
        assert_eq!(log.tail(8), b"");
        log.append(b"boot");
        assert_eq!(std::fs::read(&path).unwrap(), b"boot");
        assert!(log.file.is_some());
        // An existing log is appended to, its size counted for rotation.
        drop(log);
        let mut log =
            ConsoleLog::at_first_output(path.clone(), &ConsoleSettings::default(), Arc::default());
        log.append(b"ed");
        assert_eq!(std::fs::read(&path).unwrap(), b"booted");
        assert_eq!(log.size, 6);
    }

    #[test]
    fn a_log_that_cannot_be_created_is_tried_again_until_it_can() {
        let dir = tempfile::tempdir().unwrap();
        // Its directory's place is taken by a file.
        let blocker = dir.path().join("console");
        std::fs::write(&blocker, b"").unwrap();
        let path = blocker.join("node1.log");
        let health = Arc::new(ConsoleLogHealth::default());
        let mut log =
            ConsoleLog::at_first_output(path.clone(), &ConsoleSettings::default(), health.clone());
        log.append(b"lost");
        let (_, why) = health.failing().expect("failing");
        assert!(why.starts_with("cannot be opened: "), "{why}");
        assert_eq!(log.tail(8), b"");
        // Not tried again before the backoff.
        std::fs::remove_file(&blocker).unwrap();
        log.append(b"lost too");
        assert!(health.failing().is_some());
        assert!(!path.exists());
        log.retry_at = Some(Instant::now());
        log.append(b"kept\n");
        assert!(health.failing().is_none());
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        assert!(
            text.contains("lost: the log could not be written]\nkept\n"),
            "{text}"
        );
        assert!(!text.contains("lost too"), "{text}");
    }

    #[test]
    fn a_rotation_that_cannot_reopen_is_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let path = logs.join("node1.log");
        let s = ConsoleSettings {
            log_max_bytes: 10,
            log_keep: 1,
            ..ConsoleSettings::default()
        };
        let health = Arc::new(ConsoleLogHealth::default());
        let mut log = ConsoleLog::at_first_output(path.clone(), &s, health.clone());
        log.append(b"0123456789");
        // The directory moved away and a file in its place: the rotation cannot reopen.
        std::fs::rename(&logs, dir.path().join("logs.old")).unwrap();
        std::fs::write(&logs, b"").unwrap();
        log.append(b"abc");
        let (_, why) = health.failing().expect("failing");
        assert!(why.starts_with("cannot be reopened: "), "{why}");
        std::fs::remove_file(&logs).unwrap();
        log.retry_at = Some(Instant::now());
        log.append(b"def");
        assert!(health.failing().is_none());
        assert!(String::from_utf8(std::fs::read(&path).unwrap())
            .unwrap()
            .ends_with("def"));
    }

    #[test]
    fn timestamps_start_each_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let s = ConsoleSettings {
            timestamps: true,
            ..ConsoleSettings::default()
        };
        let mut log = ConsoleLog::open(path.clone(), &s).unwrap();
        log.append(b"one\ntw");
        log.append(b"o\n");
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with("[20") && lines[0].ends_with("Z] one"),
            "{text}"
        );
        assert!(lines[1].ends_with("Z] two"), "{text}");
    }
}
