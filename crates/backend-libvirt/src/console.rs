//! The domain's serial console through libvirt's console stream (`virDomainOpenConsole` on a
//! `virStream`, what `virsh console` uses), as the BMC's Serial over LAN and console log.
//!
//! A console exists only while the domain runs, but the BMC's console is opened once and kept:
//! [`LibvirtConsole`] attaches to the domain's console whenever the domain runs (at once when
//! this BMC powers it on or a power status read finds it on, within [`ATTACH_POLL`] otherwise) and reads it on a
//! thread of its own (a blocking stream read); when the domain stops, the stream ends and it
//! waits to attach again. Keys typed while the domain is off are dropped, as a serial line
//! with nothing on it would.

use crate::ffi::{Connect, Stream, CONSOLE_FORCE};
use crate::hypervisor::{CallError, ErrorKind, Hypervisor};
use crate::lookup;
use async_trait::async_trait;
use ipmi_bmc::{BackendError, BackendResult, Console};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// How often a console waiting for its domain to run looks again (one libvirt call per shut-off
/// domain each time). It looks at once when this BMC powers the domain on or reads it on.
pub const ATTACH_POLL: Duration = Duration::from_secs(10);

/// The console of one domain.
pub struct LibvirtConsole {
    hv: Arc<Hypervisor>,
    domain: String,
    deadline: Duration,
    /// Woken by the backend when it powers the domain on.
    powered: Arc<Notify>,
    /// The stream open now and the reader of its output (held by the read waiting on it).
    open: tokio::sync::Mutex<Option<Attached>>,
    /// The stream open now, for writes (which must not wait for the read).
    writer: Mutex<Option<SharedStream>>,
    /// What is left of the last chunk read.
    rest: Mutex<Vec<u8>>,
}

/// A stream that writers share, taken out (and aborted) when the console detaches.
type SharedStream = Arc<Mutex<Option<Stream>>>;

struct Attached {
    stream: SharedStream,
    output: mpsc::Receiver<Vec<u8>>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        // Ends the reader thread's blocking read; an abort may wait on libvirtd, so off the
        // async runtime's threads.
        if let Some(s) = self.stream.lock().unwrap_or_else(|e| e.into_inner()).take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn_blocking(move || {
                        let _ = s.abort();
                    });
                }
                Err(_) => {
                    let _ = s.abort();
                }
            }
        }
    }
}

impl LibvirtConsole {
    /// The console of `domain` (name or UUID); nothing is opened before the first read.
    pub fn new(
        hv: Arc<Hypervisor>,
        domain: String,
        deadline: Duration,
        powered: Arc<Notify>,
    ) -> Self {
        LibvirtConsole {
            hv,
            domain,
            deadline,
            powered,
            open: tokio::sync::Mutex::new(None),
            writer: Mutex::new(None),
            rest: Mutex::new(Vec::new()),
        }
    }

    /// Opens the domain's console stream if the domain runs; `Ok(None)` if it does not.
    async fn attach(&self) -> BackendResult<Option<Attached>> {
        let domain = self.domain.clone();
        let running = self
            .hv
            .call(self.deadline, move |conn| {
                lookup(conn, &domain)?.is_active().map_err(CallError::from)
            })
            .await?;
        if !running {
            return Ok(None);
        }
        // The stream gets a connection of its own: a blocking read of a stream on the shared
        // connection was seen to hold up other calls on it (libvirt's client passes the one
        // socket between the threads waiting on it) while the guest printed.
        let (uri, domain) = (self.hv.uri().to_string(), self.domain.clone());
        let open = move || -> Result<(Connect, Stream), CallError> {
            let conn = Connect::open(&uri).map_err(CallError::from)?;
            let dom = lookup(&conn, &domain)?;
            let stream = Stream::new(&conn).map_err(CallError::from)?;
            // FORCE: a console left open by an earlier attach of ours (or a virsh console) is
            // taken over, not refused.
            dom.open_console(&stream, CONSOLE_FORCE)
                .map_err(CallError::from)?;
            Ok((conn, stream))
        };
        let until = tokio::time::Instant::now() + self.deadline;
        let (conn, stream) = match self.hv.blocking(until, open).await? {
            Ok(opened) => opened,
            // The domain stopped between the look and the open (a reset's destroy and create):
            // as if it were off, so that the console is opened again as soon as this BMC powers
            // it on, not after the caller's backoff (output printed meanwhile was missed).
            Err(e) if e.kind == ErrorKind::InvalidState => return Ok(None),
            Err(e) => return Err(e.into_backend(self.hv.uri())),
        };
        let reader = stream.clone();
        let (tx, output) = mpsc::channel(8);
        let name = self.domain.clone();
        std::thread::Builder::new()
            .name("libvirt-console".into())
            .spawn(move || read_stream(conn, reader, tx, &name))
            .map_err(|e| BackendError::Failed(format!("console reader thread: {e}")))?;
        Ok(Some(Attached {
            stream: Arc::new(Mutex::new(Some(stream))),
            output,
        }))
    }
}

/// Reads the stream until it ends (the domain stopped, or the console was taken or closed);
/// then closes it and its connection.
fn read_stream(conn: Connect, stream: Stream, tx: mpsc::Sender<Vec<u8>>, domain: &str) {
    let mut buf = vec![0u8; 4096];
    loop {
        match stream.recv(&mut buf) {
            Ok(n) if n > 0 => {
                if tx.blocking_send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
            Ok(_) => break,
            Err(e) => {
                tracing::debug!(domain = %domain, error = ?e.message(), "console stream ended");
                break;
            }
        }
    }
    let _ = stream.abort();
    drop(conn);
}

#[async_trait]
impl Console for LibvirtConsole {
    async fn read(&self, buf: &mut [u8]) -> BackendResult<usize> {
        {
            let mut rest = self.rest.lock().unwrap_or_else(|e| e.into_inner());
            if !rest.is_empty() {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                rest.drain(..n);
                return Ok(n);
            }
        }
        let mut open = self.open.lock().await;
        loop {
            if let Some(attached) = open.as_mut() {
                match attached.output.recv().await {
                    Some(chunk) => {
                        let n = chunk.len().min(buf.len());
                        buf[..n].copy_from_slice(&chunk[..n]);
                        self.rest
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .extend_from_slice(&chunk[n..]);
                        return Ok(n);
                    }
                    None => {
                        *self.writer.lock().unwrap_or_else(|e| e.into_inner()) = None;
                        *open = None;
                    }
                }
            }
            match self.attach().await {
                Ok(Some(a)) => {
                    *self.writer.lock().unwrap_or_else(|e| e.into_inner()) = Some(a.stream.clone());
                    *open = Some(a);
                }
                Ok(None) => {
                    let _ = tokio::time::timeout(ATTACH_POLL, self.powered.notified()).await;
                }
                // libvirtd away: the caller opens the console again, with its backoff.
                Err(e) => return Err(e),
            }
        }
    }

    async fn write(&self, data: &[u8]) -> BackendResult<()> {
        let stream = self
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match stream {
            Some(s) => send(&self.hv, s, data.to_vec(), self.deadline).await,
            None => Ok(()),
        }
    }
}

/// Writes `data` to the console stream on a blocking thread holding one of the URI's places
/// (a stream that never takes it holds that one thread, not one more per key).
async fn send(
    hv: &Hypervisor,
    stream: SharedStream,
    data: Vec<u8>,
    deadline: Duration,
) -> BackendResult<()> {
    let work = move || {
        let held = stream.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = held.as_ref() else {
            return Ok(());
        };
        let mut at = 0;
        while at < data.len() {
            match s.send(&data[at..]) {
                Ok(n) if n > 0 => at += n,
                Ok(_) => return Err("console stream closed".to_string()),
                Err(e) => return Err(e.message().to_string()),
            }
        }
        Ok(())
    };
    match hv
        .blocking(tokio::time::Instant::now() + deadline, work)
        .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(BackendError::Failed(format!("console write: {e}"))),
        Err(BackendError::Timeout(_)) => Err(BackendError::Timeout("console write".into())),
        Err(e) => Err(e),
    }
}
