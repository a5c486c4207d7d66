//! The audit log: one JSON line per state-changing request (the records the BMC model makes, see
//! [`ipmi_bmc::audit`], and the SOL sessions attached to and detached from a console), appended
//! to a file or written to standard output (`[audit]` in the configuration).
//!
//! One thread writes: a request hands its line over a channel and waits for the thread's
//! acknowledgement on a oneshot, so that no runtime worker ever blocks on the disk. The thread
//! writes whatever has queued up in one `write` (the lines are appended whole: the file is
//! opened with `O_APPEND`), then, if any line of the batch asked for it (power actions), syncs
//! the file to disk, then acknowledges the batch. A record acknowledged is therefore in the
//! kernel (it survives `kill -9`) or, for a power action, on disk (it survives a crash), before
//! the client is answered.
//!
//! A batch that cannot be written whole is cut off the file (truncated back to where it began),
//! so that the next record never continues half a line; its records are reported lost to their
//! requests, counted (`ipmi_to_metal_audit_write_failures_total`), and the log is failing until
//! a write succeeds: the BMC model refuses power actions meanwhile (it fails closed), unless
//! `[audit] fail_open = true`. `/healthz` says so.
//!
//! ```json
//! {"time":"2026-11-26T01:02:03.456Z","bmc":"node1","client":"192.0.2.7:52113","user":"admin",
//!  "protocol":"ipmi","privilege":"administrator","command":"Chassis Control","call":"power on","outcome":"done",
//!  "duration_ms":12.5}
//! ```
//!
//! (one line in the file); a request that failed has `"outcome":"failed"`, its completion code
//! (`"ccode":"0xd5"`) and `"error"`; a power action has a record `"outcome":"asked"` before it
//! is carried out (without `duration_ms`), durable before the backend is called.

use crate::config::AuditTarget;
use async_trait::async_trait;
use ipmi_bmc::{AuditOutcome, AuditRecord, AuditSink, Durability};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;

/// A line for the writer thread, and whom to tell once it is as far as asked (or why not).
struct Job {
    line: Vec<u8>,
    sync: bool,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// The audit log's writer: cheap to share; its thread ends when the last clone is dropped.
pub struct AuditLog {
    tx: mpsc::Sender<Job>,
    /// Why the last write failed, while writes fail (shared with the writer thread).
    failing: Arc<Mutex<Option<String>>>,
    /// `[audit] fail_open`: requests go on when their records cannot be written.
    fail_open: bool,
}

/// Where the writer thread writes.
enum Out {
    File { file: File, path: PathBuf },
    Stdout,
}

impl AuditLog {
    /// Opens the audit log (creating the file, private to the user, and its directory), and
    /// starts its writer thread. `None` if the target is off. `fail_open`: the requests whose
    /// records cannot be written are carried out anyway (else refused).
    pub fn open(target: &AuditTarget, fail_open: bool) -> std::io::Result<Option<AuditLog>> {
        let out = match target {
            AuditTarget::Off => return Ok(None),
            AuditTarget::Stdout => Out::Stdout,
            AuditTarget::File(path) => Out::File {
                file: open_append(path).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot open the audit log {}: {e}", path.display()),
                    )
                })?,
                path: path.clone(),
            },
        };
        match &out {
            Out::File { path, .. } => tracing::info!(path = %path.display(), "audit log open"),
            Out::Stdout => tracing::info!("audit log on standard output"),
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let failing = Arc::new(Mutex::new(None));
        let shared = failing.clone();
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_loop(out, rx, &shared))?;
        Ok(Some(AuditLog {
            tx,
            failing,
            fail_open,
        }))
    }

    /// Hands a line to the writer thread and waits until it is written (and synced if `sync`),
    /// or why it could not be.
    pub async fn write_line(&self, line: Vec<u8>, sync: bool) -> Result<(), String> {
        let (done, written) = oneshot::channel();
        let job = Job {
            line,
            sync,
            done: Some(done),
        };
        let stopped = || "the audit log's writer has stopped".to_string();
        if self.tx.send(job).is_err() {
            tracing::error!("{}: record lost", stopped());
            return Err(stopped());
        }
        written.await.unwrap_or_else(|_| Err(stopped()))
    }
}

#[async_trait]
impl AuditSink for AuditLog {
    async fn record(&self, record: AuditRecord, durability: Durability) -> Result<(), String> {
        self.write_line(json_line(&record), durability == Durability::Synced)
            .await
    }

    fn fails_closed(&self) -> bool {
        !self.fail_open
    }

    fn failing(&self) -> Option<String> {
        lock(&self.failing).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The JSON line of a record (with its newline).
pub fn json_line(r: &AuditRecord) -> Vec<u8> {
    let mut line = serde_json::to_vec(&json(r)).expect("a JSON value serializes");
    line.push(b'\n');
    line
}

/// A record as JSON (the audit log's line, the admin API's last action).
pub fn json(r: &AuditRecord) -> serde_json::Value {
    let mut v = serde_json::json!({
        "time": crate::console_log::utc(r.time),
        "bmc": r.who.bmc,
        "client": r.who.peer.to_string(),
        "user": r.who.user,
        "protocol": r.protocol.name(),
        "privilege": r.privilege.map(|p| p.name()),
        "command": r.command,
        "call": r.call,
        "outcome": match r.outcome {
            AuditOutcome::Asked => "asked",
            AuditOutcome::Done => "done",
            AuditOutcome::Failed { .. } => "failed",
        },
        "duration_ms": (r.duration.as_secs_f64() * 1e6).round() / 1e3,
    });
    match &r.outcome {
        AuditOutcome::Failed { ccode, error } => {
            v["ccode"] = format!("0x{:02x}", ccode.0).into();
            v["error"] = error.clone().into();
        }
        // Not carried out yet: no duration.
        AuditOutcome::Asked => drop(v.as_object_mut().map(|o| o.remove("duration_ms"))),
        AuditOutcome::Done => {}
    }
    v
}

/// Opens `path` for appending, creating it (mode 0600) and its directory (0700); never
/// through a symbolic link (see [`crate::private_file`]).
fn open_append(path: &Path) -> std::io::Result<File> {
    crate::private_file::create_parent(path)?;
    crate::private_file::open_append(path)
}

/// The writer thread: writes each batch of queued lines at once, syncs if one asks, then
/// acknowledges them (or tells them why not, and keeps it in `failing` until a write
/// succeeds). Ends when every sender is gone.
fn write_loop(mut out: Out, rx: mpsc::Receiver<Job>, failing: &Mutex<Option<String>>) {
    let mut batch: Vec<Job> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        batch.extend(rx.try_iter().take(1023));
        buf.clear();
        for j in &batch {
            buf.extend_from_slice(&j.line);
        }
        let sync = batch.iter().any(|j| j.sync);
        let result = out.write(&buf, sync).map_err(|e| e.to_string());
        let mut now = lock(failing);
        match &result {
            Err(e) => {
                telemetry::audit_write_failed(batch.len() as u64);
                // Every record's content is in the error line: not in the file, not lost.
                for j in &batch {
                    tracing::error!(
                        error = %e,
                        record = ?String::from_utf8_lossy(j.line.trim_ascii_end()),
                        "audit log write failed: record not in the audit log"
                    );
                }
                *now = Some(e.clone());
            }
            Ok(()) if now.is_some() => {
                tracing::warn!("the audit log is written again");
                *now = None;
            }
            Ok(()) => {}
        }
        drop(now);
        for j in batch.drain(..) {
            if let Some(done) = j.done {
                let _ = done.send(result.clone());
            }
        }
    }
}

impl Out {
    fn write(&mut self, buf: &[u8], sync: bool) -> std::io::Result<()> {
        match self {
            Out::File { file, path } => {
                append_whole(file, buf)?;
                if sync {
                    file.sync_data().map_err(|e| {
                        std::io::Error::new(e.kind(), format!("sync {}: {e}", path.display()))
                    })?;
                }
                Ok(())
            }
            Out::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(buf)?;
                o.flush()?;
                if sync {
                    // Synced when standard output is a file; a pipe or terminal cannot be.
                    // SAFETY: fsync on a descriptor number only reads its argument.
                    unsafe { libc::fsync(1) };
                }
                Ok(())
            }
        }
    }
}

/// Appends `buf` to `file` whole or not at all: a write cut short (a full disk) is cut off
/// again, so that the next record starts a line of its own.
fn append_whole(file: &mut File, buf: &[u8]) -> std::io::Result<()> {
    let before = file.metadata()?.len();
    file.write_all(buf).inspect_err(|_| {
        // Nothing to cut where the file has no length (a device such as /dev/full).
        if file.metadata().is_ok_and(|m| m.len() > before) {
            if let Err(e) = file.set_len(before) {
                tracing::error!(error = %e, "cannot cut a partial audit record off the file");
            }
        }
    })
}

/// The record of a SOL session attached to (`activated`) or detached from a BMC's console, by
/// `who` in a session at `privilege`: the session layer carries SOL out, so the console task
/// records it.
pub fn sol_record(
    who: ipmi_bmc::Requester,
    privilege: ipmi_proto::types::Privilege,
    activated: bool,
    why: Option<&str>,
) -> ipmi_bmc::AuditRecord {
    let (command, call) = if activated {
        (
            "Activate Payload",
            "SOL attached to the console".to_string(),
        )
    } else {
        (
            "Deactivate Payload",
            format!(
                "SOL detached from the console ({})",
                why.unwrap_or("deactivated")
            ),
        )
    };
    done_record(
        who,
        ipmi_bmc::Protocol::Ipmi,
        Some(privilege),
        command,
        call,
    )
}

/// The record of something carried out beside the BMC model, at once (no duration): a SOL
/// session attached or detached (at the SOL session's privilege), a browser taking a console's
/// keyboard or giving it back (no IPMI privilege: the admin token's holder).
pub fn done_record(
    who: ipmi_bmc::Requester,
    protocol: ipmi_bmc::Protocol,
    privilege: Option<ipmi_proto::types::Privilege>,
    command: &'static str,
    call: String,
) -> ipmi_bmc::AuditRecord {
    AuditRecord {
        time: std::time::SystemTime::now(),
        who,
        protocol,
        privilege,
        command: command.into(),
        call,
        outcome: AuditOutcome::Done,
        duration: std::time::Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipmi_proto::types::{CompletionCode, Privilege};

    fn record(outcome: AuditOutcome) -> AuditRecord {
        AuditRecord {
            time: std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_764_118_923_456),
            who: ipmi_bmc::Requester {
                user: "admin".into(),
                peer: "192.0.2.7:52113".parse().unwrap(),
                bmc: "node1".into(),
            },
            protocol: ipmi_bmc::Protocol::Ipmi,
            privilege: Some(Privilege::Administrator),
            command: "Chassis Control".into(),
            call: "power on".into(),
            outcome,
            duration: std::time::Duration::from_micros(12_500),
        }
    }

    #[test]
    fn one_json_line_per_record() {
        let line = json_line(&record(AuditOutcome::Done));
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "time": "2025-11-26T01:02:03.456Z", "bmc": "node1", "client": "192.0.2.7:52113",
                "user": "admin", "protocol": "ipmi", "privilege": "administrator",
                "command": "Chassis Control",
                "call": "power on", "outcome": "done", "duration_ms": 12.5
            })
        );
        let failed = AuditOutcome::Failed {
            ccode: CompletionCode::INVALID_STATE,
            error: "needs the machine on\nsecond line".into(),
        };
        let line = json_line(&record(failed));
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["outcome"], "failed");
        assert_eq!(v["ccode"], "0xd5");
    }

    #[tokio::test]
    async fn written_before_the_acknowledgement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.jsonl");
        let log = AuditLog::open(&AuditTarget::File(path.clone()), false)
            .unwrap()
            .unwrap();
        log.record(record(AuditOutcome::Done), Durability::Synced)
            .await
            .unwrap();
        log.record(record(AuditOutcome::Done), Durability::Written)
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private to the user: {mode:o}");
        assert!(AuditLog::open(&AuditTarget::Off, false).unwrap().is_none());
    }

    #[tokio::test]
    async fn a_log_that_cannot_be_written_says_so_until_it_can() {
        let log = AuditLog::open(&AuditTarget::File("/dev/full".into()), false)
            .unwrap()
            .unwrap();
        assert!(log.fails_closed());
        assert_eq!(log.failing(), None);
        let e = log
            .record(record(AuditOutcome::Done), Durability::Synced)
            .await
            .unwrap_err();
        assert!(e.contains("No space left on device"), "{e}");
        assert_eq!(log.failing(), Some(e));
        let open = AuditLog::open(&AuditTarget::File("/dev/null".into()), true)
            .unwrap()
            .unwrap();
        assert!(!open.fails_closed());
        open.record(record(AuditOutcome::Done), Durability::Written)
            .await
            .unwrap();
        assert_eq!(open.failing(), None);
    }

    #[test]
    fn an_asked_record_has_no_duration() {
        let v = json(&record(AuditOutcome::Asked));
        assert_eq!(v["outcome"], "asked");
        assert!(v.get("duration_ms").is_none(), "{v}");
    }
}
