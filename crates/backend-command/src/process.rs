//! Runs a program with a time limit and bounded output: the child is killed (with its process
//! group) when the time is up or the caller gives up on it, and output beyond the limit is read and thrown away, so that a
//! hung or chatty program can neither stall nor exhaust the server.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// What a finished program left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output, at most the limit.
    pub stdout: String,
    /// Standard error, at most the limit.
    pub stderr: String,
    /// Whether output was cut at the limit.
    pub truncated: bool,
}

/// Why a program did not finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// It could not be started.
    Spawn(String),
    /// It ran out of time and was killed.
    Timeout(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "cannot start: {e}"),
            RunError::Timeout(t) => write!(f, "killed after {t:?}"),
        }
    }
}

async fn read_bounded<R: AsyncRead + Unpin>(mut r: R, limit: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return (kept, truncated),
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
}

/// Owns a running program until [`run`] is done with it. If it is dropped while armed (the time
/// is up, or the caller's future was dropped, as a request deadline does) it kills the program's
/// whole process group, not just the program: tokio's `kill_on_drop` alone would leave a shell's
/// children running. It always stops the output readers and sees that the program is reaped.
struct Running {
    child: Option<Child>,
    /// The program's process group (it leads one of its own).
    pgid: Option<i32>,
    readers: [JoinHandle<(Vec<u8>, bool)>; 2],
    armed: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.armed {
            if let Some(pgid) = self.pgid {
                // SAFETY: kill(2) with a negative pid signals the group the program leads; it
                // touches no memory.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
        }
        for r in &self.readers {
            r.abort();
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Killed but not yet dead: wait for it in the background so that no zombie is left.
        // Outside a runtime, dropping it hands it to tokio's orphan reaping (kill_on_drop).
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = child.wait().await;
            });
        }
    }
}

/// Runs `cmd` to the end or until `timeout`, keeping at most `limit` bytes of each output. The
/// program leads a process group of its own; when the time is up, or when the returned future
/// is dropped before the program has finished, the whole group is killed and the program
/// reaped. Background jobs of a program that exited in time are left alone, but their output
/// is no longer read.
pub async fn run(mut cmd: Command, timeout: Duration, limit: usize) -> Result<Finished, RunError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| RunError::Spawn(e.to_string()))?;
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    // The outputs are read by tasks of their own: once the program has exited, a background
    // job it left holding the pipes gets a short grace, not the whole timeout.
    let mut running = Running {
        pgid: child.id().and_then(|p| i32::try_from(p).ok()),
        child: Some(child),
        readers: [
            tokio::spawn(read_bounded(out, limit)),
            tokio::spawn(read_bounded(err, limit)),
        ],
        armed: true,
    };
    let work = async {
        let status = running.child.as_mut().expect("running").wait().await;
        let grace = Duration::from_millis(200);
        let [stdout_task, stderr_task] = &mut running.readers;
        let (stdout, t1) = match tokio::time::timeout(grace, stdout_task).await {
            Ok(Ok(r)) => r,
            _ => (Vec::new(), true),
        };
        let (stderr, t2) = match tokio::time::timeout(grace, stderr_task).await {
            Ok(Ok(r)) => r,
            _ => (Vec::new(), true),
        };
        (stdout, stderr, t1 || t2, status)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok((stdout, stderr, truncated, status)) => {
            // Finished in time: its group is left alone.
            running.armed = false;
            Ok(Finished {
                code: status.ok().and_then(|s| s.code()),
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
                truncated,
            })
        }
        // Dropping `running` kills the whole process group: a shell's children too.
        Err(_) => Err(RunError::Timeout(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[tokio::test]
    async fn output_exit_code_timeout_and_limit() {
        // A background job left holding the pipes does not hold up the answer.
        let t = std::time::Instant::now();
        let bg = run(sh("(sleep 5) & echo started"), Duration::from_secs(5), 100)
            .await
            .unwrap();
        assert_eq!(bg.code, Some(0));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        let f = run(
            sh("echo hi; echo err >&2; exit 3"),
            Duration::from_secs(5),
            100,
        )
        .await
        .unwrap();
        assert_eq!(
            (f.code, f.stdout.as_str(), f.stderr.as_str()),
            (Some(3), "hi\n", "err\n")
        );
        let t = std::time::Instant::now();
        let e = run(sh("sleep 30 & sleep 30"), Duration::from_millis(300), 100).await;
        assert_eq!(e, Err(RunError::Timeout(Duration::from_millis(300))));
        assert!(t.elapsed() < Duration::from_secs(3));
        let big = run(
            sh("head -c 10000000 /dev/zero"),
            Duration::from_secs(10),
            1000,
        )
        .await
        .unwrap();
        assert_eq!(big.stdout.len(), 1000);
        assert!(big.truncated);
        assert_eq!(big.code, Some(0));
    }
}
