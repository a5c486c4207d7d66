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
//! ```json
//! {"time":"2026-11-26T01:02:03.456Z","bmc":"node1","client":"192.0.2.7:52113","user":"admin",
//!  "privilege":"administrator","command":"Chassis Control","call":"power on","outcome":"done",
//!  "duration_ms":12.5}
//! ```
//!
//! (one line in the file); a request that failed has `"outcome":"failed"`, its completion code
//! (`"ccode":"0xd5"`) and `"error"`.

use crate::config::AuditTarget;
use async_trait::async_trait;
use ipmi_bmc::{AuditOutcome, AuditRecord, AuditSink, Durability};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// A line for the writer thread, and whom to tell once it is as far as asked.
struct Job {
    line: Vec<u8>,
    sync: bool,
    done: Option<oneshot::Sender<()>>,
}

/// The audit log's writer: cheap to share; its thread ends when the last clone is dropped.
pub struct AuditLog {
    tx: mpsc::Sender<Job>,
}

/// Where the writer thread writes.
enum Out {
    File { file: File, path: PathBuf },
    Stdout,
}

impl AuditLog {
    /// Opens the audit log (creating the file, private to the user, and its directory), and
    /// starts its writer thread. `None` if the target is off.
    pub fn open(target: &AuditTarget) -> std::io::Result<Option<AuditLog>> {
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
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_loop(out, rx))?;
        Ok(Some(AuditLog { tx }))
    }

    /// Hands a line to the writer thread and waits until it is written (and synced if `sync`).
    pub async fn write_line(&self, line: Vec<u8>, sync: bool) {
        let (done, written) = oneshot::channel();
        let job = Job {
            line,
            sync,
            done: Some(done),
        };
        if self.tx.send(job).is_err() {
            tracing::error!("the audit log's writer has stopped: record lost");
            return;
        }
        let _ = written.await;
    }
}

#[async_trait]
impl AuditSink for AuditLog {
    async fn record(&self, record: AuditRecord, durability: Durability) {
        self.write_line(json_line(&record), durability == Durability::Synced)
            .await
    }
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
        "privilege": r.privilege.map(|p| p.name()),
        "command": r.command,
        "call": r.call,
        "outcome": if r.outcome.is_done() { "done" } else { "failed" },
        "duration_ms": (r.duration.as_secs_f64() * 1e6).round() / 1e3,
    });
    if let AuditOutcome::Failed { ccode, error } = &r.outcome {
        v["ccode"] = format!("0x{:02x}", ccode.0).into();
        v["error"] = error.clone().into();
    }
    v
}

/// Opens `path` for appending, creating it (mode 0600) and its directory (0700).
fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// The writer thread: writes each batch of queued lines at once, syncs if one asks, then
/// acknowledges them. Ends when every sender is gone.
fn write_loop(mut out: Out, rx: mpsc::Receiver<Job>) {
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
        if let Err(e) = out.write(&buf, sync) {
            tracing::error!(error = %e, records = batch.len(), "audit log write failed");
        }
        for j in batch.drain(..) {
            if let Some(done) = j.done {
                let _ = done.send(());
            }
        }
    }
}

impl Out {
    fn write(&mut self, buf: &[u8], sync: bool) -> std::io::Result<()> {
        match self {
            Out::File { file, path } => {
                file.write_all(buf)?;
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

/// The record of a SOL session attached to (`activated`) or detached from a BMC's console: the
/// session layer carries SOL out, so the console task records it.
pub fn sol_record(
    who: ipmi_bmc::Requester,
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
    done_record(who, command, call)
}

/// The record of something carried out beside the BMC model, at once (no duration): a SOL
/// session attached or detached, a browser taking a console's keyboard or giving it back.
pub fn done_record(
    who: ipmi_bmc::Requester,
    command: &'static str,
    call: String,
) -> ipmi_bmc::AuditRecord {
    AuditRecord {
        time: std::time::SystemTime::now(),
        who,
        privilege: None,
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
                "user": "admin", "privilege": "administrator", "command": "Chassis Control",
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
        let log = AuditLog::open(&AuditTarget::File(path.clone()))
            .unwrap()
            .unwrap();
        log.record(record(AuditOutcome::Done), Durability::Synced)
            .await;
        log.record(record(AuditOutcome::Done), Durability::Written)
            .await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private to the user: {mode:o}");
        assert!(AuditLog::open(&AuditTarget::Off).unwrap().is_none());
    }
}
