//! One libvirt connection per URI for the whole process, its calls kept off the async runtime
//! (a running domain's open console stream has one of its own: see [`crate::console`]).
//!
//! libvirt's calls block (an RPC to libvirtd, over a local socket or ssh/TLS), so each call runs
//! on tokio's blocking pool and the caller waits at most its deadline: a hung libvirtd makes the
//! client's request end with "timeout" (0xC3), never stalls the server. At most
//! [`MAX_CALLS`] calls per URI run at once (the virtual media jobs, console opens and writes, on
//! connections of their own, included): a call keeps its place until its thread is done, even
//! after its caller stopped waiting, so that a hung libvirtd holds at most that many blocking
//! threads (until its socket closes); the others wait for a place, within their deadline.
//!
//! The connection is opened at the first call and kept. When libvirtd restarts (or the link to
//! it breaks) a call fails with a connection error or finds the connection no longer alive: the
//! connection is dropped and the call tried once more on a new one. Requests while libvirtd is
//! down fail (0xFF, logged) until it answers again.

use crate::ffi::{code, Connect, Error as LibvirtError, FROM_RPC};
use ipmi_bmc::{BackendError, BackendResult};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The most libvirt calls in flight at once on one URI.
pub const MAX_CALLS: usize = 16;

/// A libvirt error, kept with whether it says the connection itself is lost.
#[derive(Debug)]
pub struct CallError {
    /// libvirt's message.
    pub message: String,
    /// What kind of failure it is, for the completion code.
    pub kind: ErrorKind,
}

/// How a libvirt failure maps to a completion code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The link to libvirtd: the call is tried once more on a new connection.
    Connection,
    /// The domain's state does not allow it (not running, already running): 0xD5.
    InvalidState,
    /// No such domain: 0xFF, and discovery takes it as gone.
    NoDomain,
    /// Anything else: 0xFF.
    Other,
}

impl From<LibvirtError> for CallError {
    fn from(e: LibvirtError) -> Self {
        let kind = match e.code {
            code::SYSTEM_ERROR | code::RPC | code::NO_CONNECT | code::INVALID_CONN => {
                ErrorKind::Connection
            }
            _ if e.domain == FROM_RPC => ErrorKind::Connection,
            code::OPERATION_INVALID => ErrorKind::InvalidState,
            code::NO_DOMAIN => ErrorKind::NoDomain,
            _ => ErrorKind::Other,
        };
        CallError {
            message: e.message,
            kind,
        }
    }
}

impl CallError {
    /// A failure of this crate's own making (an unreadable definition, an unknown state).
    pub fn other(message: impl Into<String>) -> Self {
        CallError {
            message: message.into(),
            kind: ErrorKind::Other,
        }
    }

    /// The error the BMC model maps to a completion code.
    pub fn into_backend(self, uri: &str) -> BackendError {
        match self.kind {
            ErrorKind::InvalidState => BackendError::InvalidState(self.message),
            ErrorKind::Connection => {
                BackendError::Failed(format!("libvirt at {uri} unreachable: {}", self.message))
            }
            ErrorKind::NoDomain | ErrorKind::Other => BackendError::Failed(self.message),
        }
    }
}

/// The result of a libvirt call.
pub type CallResult<T> = Result<T, CallError>;

/// A libvirt URI and its one connection.
pub struct Hypervisor {
    uri: String,
    conn: Mutex<Option<Connect>>,
    calls: Arc<Semaphore>,
}

impl Hypervisor {
    /// The hypervisor at `uri` (`qemu:///system`, `qemu+ssh://host/system`...); nothing is
    /// opened (nor libvirt loaded) before the first call.
    pub fn new(uri: &str) -> Hypervisor {
        Hypervisor {
            uri: uri.to_string(),
            conn: Mutex::new(None),
            calls: Arc::new(Semaphore::new(MAX_CALLS)),
        }
    }

    /// Its URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Runs `f` with the connection on a blocking thread; the result, or
    /// [`BackendError::Timeout`] once `deadline` has passed. `f` may run twice (once more on a
    /// new connection if the first failed for want of one): it must not mind.
    pub async fn call<T, F>(self: &Arc<Self>, deadline: Duration, f: F) -> BackendResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connect) -> CallResult<T> + Send + 'static,
    {
        let me = self.clone();
        self.blocking(Instant::now() + deadline, move || me.with_connection(f))
            .await?
            .map_err(|e| e.into_backend(&self.uri))
    }

    /// Runs `job` (blocking libvirt work) on a blocking thread that holds one of this URI's
    /// [`MAX_CALLS`] places until `job` returns, whether or not the caller still waits; its
    /// result, or [`BackendError::Timeout`] at `until` (waiting for a place included).
    pub async fn blocking<T, J>(&self, until: Instant, job: J) -> BackendResult<T>
    where
        T: Send + 'static,
        J: FnOnce() -> T + Send + 'static,
    {
        let waited_from = Instant::now();
        let work = async {
            let place = self
                .calls
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| BackendError::Failed("hypervisor closed".into()))?;
            tokio::task::spawn_blocking(move || {
                let r = job();
                drop(place);
                r
            })
            .await
            .map_err(|e| BackendError::Failed(format!("libvirt call failed: {e}")))
        };
        match tokio::time::timeout_at(until, work).await {
            Ok(r) => r,
            Err(_) => Err(BackendError::Timeout(format!(
                "libvirt at {} did not answer within {:?}",
                self.uri,
                until.saturating_duration_since(waited_from)
            ))),
        }
    }

    /// Blocking: `f` on the kept connection, or on a new one if it is gone or fails for want of
    /// a link.
    fn with_connection<T>(&self, f: impl Fn(&Connect) -> CallResult<T>) -> CallResult<T> {
        let conn = self.connection()?;
        match f(&conn) {
            Err(e) if e.kind == ErrorKind::Connection => {
                tracing::info!(uri = %self.uri, error = ?e.message, "libvirt connection lost: connecting again");
                self.forget(&conn);
                let conn = self.connection()?;
                f(&conn)
            }
            r => r,
        }
    }

    /// The kept connection if it is alive, else a new one (kept).
    fn connection(&self) -> CallResult<Connect> {
        let mut kept = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = kept.as_ref() {
            if c.is_alive().unwrap_or(false) {
                return Ok(c.clone());
            }
            tracing::info!(uri = %self.uri, "libvirt connection no longer alive: connecting again");
            *kept = None;
        }
        let c = Connect::open(&self.uri).map_err(|e| {
            let mut e = CallError::from(e);
            e.kind = ErrorKind::Connection;
            e
        })?;
        tracing::info!(uri = %self.uri, "connected to libvirt");
        *kept = Some(c.clone());
        Ok(c)
    }

    /// Drops the kept connection if it is still `conn`.
    fn forget(&self, conn: &Connect) {
        let mut kept = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let same = kept.as_ref().is_some_and(|k| k.same(conn));
        if same {
            *kept = None;
        }
    }
}
