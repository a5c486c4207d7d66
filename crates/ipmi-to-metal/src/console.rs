//! The I/O of a BMC's serial console, in one task per BMC: it reads the backend's console
//! continuously (the console log gets every byte, whether or not a SOL session is attached; a
//! source that drops is opened again with backoff and the gap marked in the log), and carries
//! Serial over LAN between the session layer and the console: console output in, the datagrams
//! and the retransmissions the session layer asks for out, keyboard input to the console.
//!
//! An idle console costs little: the task waits on one pending read of the console (a boxed
//! future holding the read's small buffer) and on the BMC's wake-up, with no channel between a
//! reader and the pump and no timer unless the session layer asked for one; its log is created
//! at the first output, so a console that never printed holds no file. A backend without a
//! console ends the task at once. A console that says it is quiet ([`Console::park`]: the sim's,
//! with nothing due) costs less still: while no SOL instance is attached the task ends, its state
//! kept asleep in the BMC's [`ConsoleLink`], and starts again when the console or the session
//! layer wakes it (no read, buffer or task held meanwhile; the log misses nothing, as a quiet
//! console prints nothing until it wakes its reader).

use crate::config::ConsoleSettings;
use crate::console_log::ConsoleLog;
use ipmi_bmc::{AuditSink, Backend, Bmc, Console, Requester};
use ipmi_proto::session::{Server, SolEvent};
use ipmi_proto::types::Privilege;
use std::future::Future;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tracing::Instrument;

/// The most console output read at once.
const CHUNK: usize = 4096;
/// The most read at once while the console may be idle (see [`ReadBuffer`]).
const IDLE_CHUNK: usize = 256;
/// Backoff between attempts to open a console that failed or closed: from 1 s up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the console task of a BMC shares with its receive loop.
#[derive(Default)]
pub struct ConsoleLink {
    /// The task, or its state while it sleeps, and its wake-up.
    sleeper: Arc<Sleeper>,
    /// The status page's live consoles of this BMC: output to them, the keyboard.
    pub watch: Arc<crate::console_watch::ConsoleWatch>,
}

impl ConsoleLink {
    /// Tells the console task that the session layer has SOL work, starting it if it sleeps.
    pub fn notify(&self) {
        self.sleeper.wake.notify_one();
        self.sleeper.wake_by_ref();
    }
}

/// The console task of a BMC, running or asleep: [`ConsoleTask::abort`] ends it either way.
pub struct ConsoleTask(Arc<Sleeper>);

impl ConsoleTask {
    /// Ends the task (or drops its sleeping state): it does not start again.
    pub fn abort(&self) {
        let old = std::mem::take(&mut *self.0.slot());
        if let Slot::Running { task, .. } = &old {
            task.abort();
        }
    }
}

/// Where a BMC's console task is: running, or asleep with its state until woken.
#[derive(Default)]
struct Sleeper {
    slot: Mutex<Slot>,
    /// Woken when the session layer has SOL work ([`Server::sol_dirty`]): the running task
    /// waits on it (one allocation with the slot: 10,000 idle BMCs each hold one).
    wake: Notify,
}

#[derive(Default)]
enum Slot {
    /// Not started, or stopped for good.
    #[default]
    Stopped,
    /// `woken`: something happened since the task last looked, so it must not sleep now.
    Running {
        task: tokio::task::AbortHandle,
        woken: bool,
    },
    Asleep(Box<Pump>, Box<Source>),
}

impl Sleeper {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the task of `pump` (`slot` locked).
    fn start(self: &Arc<Self>, slot: &mut Slot, pump: Box<Pump>, source: Box<Source>) {
        let runtime = pump.runtime.clone();
        let span = pump.span.clone();
        let task = runtime
            .spawn(pump.run(source, self.clone()).instrument(span))
            .abort_handle();
        *slot = Slot::Running { task, woken: false };
    }

    /// Forgets what woke the task so far: the poll that follows sees it.
    fn clear(&self) {
        if let Slot::Running { woken, .. } = &mut *self.slot() {
            *woken = false;
        }
    }

    /// Puts the task to sleep if its console is quiet and nothing woke it since
    /// [`Sleeper::clear`]: None if it sleeps (or was stopped), else the state back to run on.
    fn sleep(
        self: &Arc<Self>,
        pump: Box<Pump>,
        source: Box<Source>,
    ) -> Option<(Box<Pump>, Box<Source>)> {
        let Some(console) = source.console.as_ref() else {
            return Some((pump, source));
        };
        if source.lost.is_some() || source.wait {
            return Some((pump, source));
        }
        if !console.park(&Waker::from(self.clone())) {
            return Some((pump, source));
        }
        let mut slot = self.slot();
        match &*slot {
            Slot::Running { woken: false, .. } => {
                tracing::trace!("console quiet: its task sleeps");
                let mut source = source;
                source.buf = ReadBuffer::default();
                *slot = Slot::Asleep(pump, source);
                None
            }
            Slot::Running { woken: true, .. } => Some((pump, source)),
            // Stopped meanwhile: the task ends.
            _ => None,
        }
    }
}

impl Wake for Sleeper {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut slot = self.slot();
        match std::mem::take(&mut *slot) {
            Slot::Running { task, .. } => *slot = Slot::Running { task, woken: true },
            Slot::Asleep(pump, source) => {
                tracing::trace!("console woken: its task starts again");
                self.start(&mut slot, pump, source);
            }
            Slot::Stopped => {}
        }
    }
}

/// Starts the console task of `bmc` (through its backend; SOL sessions audited where its
/// audit records go); it ends when `server`'s BMC stops (abort the handle), or at once if the
/// backend has no console.
pub fn spawn(
    bmc: &Bmc,
    server: Arc<Mutex<Server>>,
    socket: Arc<UdpSocket>,
    settings: ConsoleSettings,
    log: Option<(PathBuf, Arc<crate::console_log::ConsoleLogHealth>)>,
    link: &ConsoleLink,
) -> ConsoleTask {
    let name = bmc.settings().name.as_str();
    // One copy of the name, shared by the pump and the source (10,000 idle BMCs keep them).
    let bmc_name: Arc<str> = name.into();
    // Nothing on disk yet: the log is created at the console's first output.
    let log = log.map(|(p, health)| ConsoleLog::at_first_output(p, &settings, health));
    let source = Box::new(Source {
        backend: bmc.backend().clone(),
        bmc: bmc_name.clone(),
        console: None,
        backoff: Duration::from_secs(1),
        lost: None,
        wait: false,
        buf: ReadBuffer::default(),
    });
    let pump = Pump {
        server,
        socket,
        console: None,
        log,
        replay_bytes: settings.replay_bytes,
        attached: false,
        replay: Vec::new(),
        audit: bmc.audit_sink().cloned(),
        bmc: bmc_name,
        attached_by: None,
        watch: link.watch.clone(),
        runtime: tokio::runtime::Handle::current(),
        span: tracing::Span::current(),
    };
    let sleeper = link.sleeper.clone();
    sleeper.start(&mut sleeper.slot(), Box::new(pump), source);
    ConsoleTask(sleeper)
}

/// Something from the console source.
enum Read {
    Output(Vec<u8>),
    /// The console is open (`again`: after it was lost or could not be opened).
    Opened {
        console: Arc<dyn Console>,
        again: bool,
    },
    /// The console could not be opened (the first failure of a run of them).
    Unavailable(String),
    /// The open console failed or closed: it is opened again after a backoff.
    Lost(String),
    /// The backend has no console.
    NoConsole,
}

/// The next read of the console source, in flight across the task's other work.
type Reading = Pin<Box<dyn Future<Output = (Box<Source>, Read)> + Send>>;

/// The backend's console, opened and read one step at a time by [`Source::next`]: the console
/// (opened again with backoff when it fails or closes) and what it prints.
struct Source {
    backend: Arc<dyn Backend>,
    /// The BMC whose console it is: the console is opened as user "console" of it (for the
    /// backend's logs and audit).
    bmc: Arc<str>,
    /// The console open now.
    console: Option<Arc<dyn Console>>,
    backoff: Duration,
    /// Why the console was lost or could not be opened, until it is open again.
    lost: Option<String>,
    /// Wait [`Source::backoff`] before opening it again.
    wait: bool,
    buf: ReadBuffer,
}

impl Source {
    /// Reads on until the next thing to tell; gives itself back with it. The source stays in
    /// its box (held once by the read in flight, not copied into it: an idle BMC waits in it).
    fn next(self: Box<Self>) -> Reading {
        Box::pin(self.step())
    }

    async fn step(mut self: Box<Self>) -> (Box<Source>, Read) {
        loop {
            if let Some(console) = self.console.clone() {
                let why = match console.read(self.buf.space()).await {
                    Ok(0) => "the console closed".to_string(),
                    Ok(n) => {
                        self.backoff = Duration::from_secs(1);
                        let data = self.buf.take(n);
                        return (self, Read::Output(data));
                    }
                    Err(e) => e.to_string(),
                };
                self.console = None;
                tracing::warn!(why = %why, "console lost: opening it again");
                self.lost = Some(why.clone());
                self.wait = true;
                return (self, Read::Lost(why));
            }
            if std::mem::take(&mut self.wait) {
                tokio::time::sleep(self.backoff).await;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
            let who = Requester {
                user: "console".into(),
                peer: "0.0.0.0:0".parse().expect("an address"),
                bmc: self.bmc.to_string(),
            };
            match self.backend.console(&who).await {
                Ok(c) => {
                    let console: Arc<dyn Console> = Arc::from(c);
                    self.console = Some(console.clone());
                    let again = self.lost.take().is_some();
                    if again {
                        tracing::info!("console open again");
                    }
                    return (self, Read::Opened { console, again });
                }
                Err(ipmi_bmc::BackendError::NotSupported) => {
                    tracing::debug!("the backend has no console");
                    return (self, Read::NoConsole);
                }
                Err(e) => {
                    let first = self.lost.is_none();
                    self.lost = Some(e.to_string());
                    self.wait = true;
                    if first {
                        tracing::warn!(error = %e, "console cannot be opened: trying again");
                        return (self, Read::Unavailable(e.to_string()));
                    }
                }
            }
        }
    }
}

/// What the console is read into. A console is mostly idle, and a read waiting for output holds
/// its buffer all the while: a small one then (10,000 BMCs each waiting with [`CHUNK`] bytes held
/// 40 MB), a large one only while output keeps coming, as a read that fills the small one says.
/// The bytes and their order are the same either way.
/// Neither is allocated until the first read (a sleeping console holds none).
#[derive(Default)]
struct ReadBuffer {
    /// Empty, or [`IDLE_CHUNK`] bytes.
    small: Vec<u8>,
    /// Empty, or [`CHUNK`] bytes.
    large: Vec<u8>,
}

impl ReadBuffer {
    /// Where the next read goes.
    fn space(&mut self) -> &mut [u8] {
        if self.large.is_empty() {
            if self.small.is_empty() {
                self.small = vec![0; IDLE_CHUNK];
            }
            &mut self.small
        } else {
            &mut self.large
        }
    }

    /// The `n` bytes just read into [`ReadBuffer::space`]. The next read gets the large buffer
    /// if they filled the small one (more is waiting), the small one again once a read leaves
    /// the large one unfilled (the output is drained).
    fn take(&mut self, n: usize) -> Vec<u8> {
        let data = self.space()[..n].to_vec();
        if self.large.is_empty() {
            if n == IDLE_CHUNK {
                self.large = vec![0; CHUNK];
            }
        } else if n < CHUNK {
            self.large = Vec::new();
        }
        data
    }
}

/// Waits until `at`, for ever without a time: no timer is held unless the session layer asked to
/// be polled at a time, and the one held is boxed (an idle task keeps no room for it).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => {
            Box::pin(tokio::time::sleep(
                t.saturating_duration_since(Instant::now()),
            ))
            .await
        }
        None => std::future::pending().await,
    }
}

/// Carries SOL between the session layer and the console.
struct Pump {
    server: Arc<Mutex<Server>>,
    socket: Arc<UdpSocket>,
    /// The console open now, for keys typed and breaks.
    console: Option<Arc<dyn Console>>,
    log: Option<ConsoleLog>,
    replay_bytes: usize,
    /// A SOL instance is active: output goes to it.
    attached: bool,
    /// The log's end, still to be sent to a newly activated instance before new output.
    replay: Vec<u8>,
    /// Where SOL activations and deactivations are audited, if anywhere.
    audit: Option<Arc<dyn AuditSink>>,
    /// The BMC's name, for the audit.
    bmc: Arc<str>,
    /// Who activated the instance attached now, and at which privilege, for the audit of its
    /// end.
    attached_by: Option<Box<(Requester, Privilege)>>,
    /// The live consoles in browsers: output, and the console for their keyboard.
    watch: Arc<crate::console_watch::ConsoleWatch>,
    /// Where the task runs again after sleeping, and in which span.
    runtime: tokio::runtime::Handle,
    span: tracing::Span,
}

impl Pump {
    fn server(&self) -> std::sync::MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs until the BMC stops. The pump stays in its box: the task holds it once, not
    /// copied into its future.
    /// Between two reads of a quiet console with no SOL instance attached, the task may end,
    /// its state asleep in `sleeper` (see [`Sleeper::sleep`]).
    async fn run(mut self: Box<Self>, source: Box<Source>, sleeper: Arc<Sleeper>) {
        let wake = &sleeper.wake;
        let mut reading = source.next();
        let mut next: Option<Instant> = None;
        loop {
            self.feed_replay();
            // While the remote console lags, leave the output in the console (flow control):
            // the read in flight is not polled, and keeps its place.
            let take =
                !self.attached || (self.replay.is_empty() && self.server().sol_room() >= CHUNK);
            let mut between_reads = None;
            tokio::select! {
                (source, read) = &mut reading, if take => {
                    if !self.read(read) {
                        return;
                    }
                    between_reads = Some(source);
                }
                _ = wake.notified() => {}
                _ = sleep_until(next) => {}
            }
            if between_reads.is_some() {
                // What wakes the task from now on stops it sleeping; the poll sees the rest.
                sleeper.clear();
            }
            // Boxed: the task waits without room for the work it does only when woken.
            next = Box::pin(self.poll()).await;
            if let Some(mut source) = between_reads {
                if next.is_none() && !self.attached && self.replay.is_empty() {
                    match sleeper.sleep(self, source) {
                        None => return,
                        Some((pump, back)) => {
                            self = pump;
                            source = back;
                        }
                    }
                }
                reading = source.next();
            }
        }
    }

    /// Takes what the source told; false if there is no console to read.
    fn read(&mut self, read: Read) -> bool {
        match read {
            Read::Output(data) => self.output(&data),
            Read::Opened { console, again } => {
                self.watch.set_console(Some(console.clone()));
                self.console = Some(console);
                if again {
                    self.mark("console open again");
                }
            }
            Read::Unavailable(why) => self.mark(&format!("console unavailable: {why}")),
            Read::Lost(why) => {
                self.console = None;
                self.watch.set_console(None);
                self.mark(&format!("console lost: {why}"));
            }
            Read::NoConsole => return false,
        }
        true
    }

    fn mark(&mut self, what: &str) {
        if let Some(l) = self.log.as_mut() {
            l.mark(what);
        }
    }

    fn output(&mut self, data: &[u8]) {
        if let Some(l) = self.log.as_mut() {
            l.append(data);
        }
        self.watch.output(data);
        if self.attached {
            let taken = self.server().sol_output(Instant::now(), data);
            if taken < data.len() {
                tracing::debug!(lost = data.len() - taken, "SOL output buffer full");
            }
        }
    }

    fn feed_replay(&mut self) {
        if self.replay.is_empty() {
            return;
        }
        let taken = self.server().sol_output(Instant::now(), &self.replay);
        self.replay.drain(..taken);
    }

    /// Audits a SOL instance attached to the console (`activated`) or detached from it, by
    /// `who` at `privilege`.
    async fn audit_sol(
        &self,
        (who, privilege): (Requester, Privilege),
        activated: bool,
        why: Option<&str>,
    ) {
        if let Some(sink) = &self.audit {
            let record = crate::audit::sol_record(who, privilege, activated, why);
            // A failure is the sink's to log; SOL goes on (the session layer carries it out).
            let _ = sink.record(record, ipmi_bmc::Durability::Written).await;
        }
    }

    /// Does what the session layer asks; returns when to come back.
    async fn poll(&mut self) -> Option<Instant> {
        let poll = self.server().sol_poll(Instant::now());
        for (peer, bytes) in &poll.send {
            if let Err(e) = crate::udp_send::send(&self.socket, bytes, *peer).await {
                tracing::debug!(%peer, error = %e, "SOL send failed");
            }
        }
        for e in &poll.events {
            match e {
                SolEvent::Activated {
                    user,
                    peer,
                    privilege,
                } => {
                    tracing::info!(?user, %peer, %privilege, "SOL session attached to the console");
                    let who = Requester {
                        user: user.clone(),
                        peer: *peer,
                        bmc: self.bmc.to_string(),
                    };
                    self.audit_sol((who.clone(), *privilege), true, None).await;
                    self.attached_by = Some(Box::new((who, *privilege)));
                    self.attached = true;
                    self.replay = match (&self.log, self.replay_bytes) {
                        (Some(l), n) if n > 0 => l.tail(n),
                        _ => Vec::new(),
                    };
                }
                SolEvent::Deactivated { why, by } => {
                    tracing::info!(why, "SOL session detached from the console");
                    if let Some(owner) = self.attached_by.take() {
                        let (owner, owner_privilege) = *owner;
                        match by {
                            // Another session ended it: the record is that session's act, and
                            // names whose session it ended.
                            Some(b) => {
                                let why = format!(
                                    "{why}; the SOL session of user {:?} from {} at {} privilege ended",
                                    owner.user, owner.peer, owner_privilege
                                );
                                let who = Requester {
                                    user: b.user.clone(),
                                    peer: b.peer,
                                    bmc: self.bmc.to_string(),
                                };
                                self.audit_sol((who, b.privilege), false, Some(&why)).await;
                            }
                            None => {
                                self.audit_sol((owner, owner_privilege), false, Some(why))
                                    .await
                            }
                        }
                    }
                    self.attached = false;
                    self.replay.clear();
                }
                SolEvent::Break => {
                    if let Some(c) = self.console.clone() {
                        let _ = c.send_break().await;
                    }
                }
            }
        }
        if !poll.input.is_empty() {
            match self.console.clone() {
                Some(c) => {
                    if let Err(e) = c.write(&poll.input).await {
                        tracing::warn!(error = %e, "typing into the console failed");
                    }
                }
                None => tracing::debug!("keys typed while the console is away: dropped"),
            }
        }
        if !self.replay.is_empty() {
            // Come back at once to send more of it.
            return Some(Instant::now() + Duration::from_millis(5));
        }
        poll.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_buffer_is_small_while_idle_and_large_while_output_keeps_coming() {
        let mut b = ReadBuffer::default();
        let read = |b: &mut ReadBuffer, available: &mut Vec<u8>| {
            let space = b.space();
            let n = space.len().min(available.len());
            space[..n].copy_from_slice(&available[..n]);
            available.drain(..n);
            b.take(n)
        };
        assert_eq!(b.space().len(), IDLE_CHUNK);
        assert_eq!(b.large.capacity(), 0, "nothing on the heap while idle");
        // A short read: still small.
        let mut waiting = b"login: ".to_vec();
        assert_eq!(read(&mut b, &mut waiting), b"login: ");
        assert_eq!(b.space().len(), IDLE_CHUNK);
        // A burst: the small buffer fills, then the large one takes the rest, in order.
        let burst: Vec<u8> = (0..6000u32).map(|i| i as u8).collect();
        let mut waiting = burst.clone();
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while !waiting.is_empty() {
            let chunk = read(&mut b, &mut waiting);
            sizes.push(chunk.len());
            got.extend(chunk);
        }
        assert_eq!(got, burst);
        assert_eq!(sizes, [IDLE_CHUNK, CHUNK, 6000 - IDLE_CHUNK - CHUNK]);
        // Drained: small again, the large buffer given back.
        assert_eq!(b.space().len(), IDLE_CHUNK);
        assert_eq!(b.large.capacity(), 0);
    }
}
