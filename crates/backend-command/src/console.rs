//! A program whose standard input and output are a machine's console (`virsh console`, telnet
//! to a terminal server, socat, `ssh -tt host screen /dev/ttyS1`): its output (standard output
//! and error, as they come) is the console's output, and what is typed goes to its input. The
//! program leads a process group of its own, killed whole when the console is dropped; when it
//! exits, the console reads as closed (and the caller opens it again).

use async_trait::async_trait;
use ipmi_bmc::{BackendError, BackendResult, Console};
use std::process::Stdio;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

/// A running console program.
pub struct ProcessConsole {
    /// The outputs' chunks, and what is left of the last one.
    output: Mutex<(mpsc::Receiver<Vec<u8>>, Vec<u8>)>,
    input: Mutex<Option<ChildStdin>>,
    child: Option<Child>,
    pgid: Option<i32>,
    readers: [JoinHandle<()>; 2],
    program: String,
}

async fn pump<R: AsyncRead + Unpin>(mut r: R, tx: mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 4096];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send(buf[..n].to_vec()).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl ProcessConsole {
    /// Starts `cmd` as a console; `program` names it in errors and logs.
    pub fn spawn(mut cmd: Command, program: &str) -> BackendResult<ProcessConsole> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| BackendError::Failed(format!("{program}: cannot start: {e}")))?;
        // A few chunks in flight: a console that prints faster than it is read waits for it.
        let (tx, rx) = mpsc::channel(8);
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        tracing::info!(program, "console program started");
        Ok(ProcessConsole {
            output: Mutex::new((rx, Vec::new())),
            input: Mutex::new(child.stdin.take()),
            pgid: child.id().and_then(|p| i32::try_from(p).ok()),
            child: Some(child),
            readers: [
                tokio::spawn(pump(out, tx.clone())),
                tokio::spawn(pump(err, tx)),
            ],
            program: program.to_string(),
        })
    }
}

#[async_trait]
impl Console for ProcessConsole {
    async fn read(&self, buf: &mut [u8]) -> BackendResult<usize> {
        let mut out = self.output.lock().await;
        let (rx, left) = &mut *out;
        if left.is_empty() {
            // Both outputs closed: the program is done (0: closed).
            match rx.recv().await {
                Some(chunk) => *left = chunk,
                None => return Ok(0),
            }
        }
        let n = left.len().min(buf.len());
        buf[..n].copy_from_slice(&left[..n]);
        left.drain(..n);
        Ok(n)
    }

    async fn write(&self, data: &[u8]) -> BackendResult<()> {
        let mut input = self.input.lock().await;
        let Some(stdin) = input.as_mut() else {
            return Err(BackendError::Failed(format!(
                "{}: input closed",
                self.program
            )));
        };
        let r = async {
            stdin.write_all(data).await?;
            stdin.flush().await
        }
        .await;
        r.map_err(|e| {
            *input = None;
            BackendError::Failed(format!("{}: cannot type into it: {e}", self.program))
        })
    }
}

impl Drop for ProcessConsole {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            // SAFETY: kill(2) with a negative pid signals the group the program leads; it
            // touches no memory.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        for r in &self.readers {
            r.abort();
        }
        if let Some(mut child) = self.child.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = child.wait().await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_input_and_end() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo ready; echo warn >&2; read line; echo \"got $line\"");
        let c = ProcessConsole::spawn(cmd, "sh").unwrap();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&all).contains("warn") {
            let n = c.read(&mut buf).await.unwrap();
            all.extend_from_slice(&buf[..n]);
        }
        c.write(b"abc\n").await.unwrap();
        loop {
            let n = c.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&all);
        assert!(
            text.contains("ready\n") && text.contains("got abc\n"),
            "{text}"
        );
        assert!(ProcessConsole::spawn(Command::new("/nonexistent/prog"), "x").is_err());
    }
}
