//! # backend-libvirt
//!
//! A libvirt domain as the machine behind a BMC, through the libvirt API itself (loaded at the
//! first call: [`ffi`]), one connection per URI for the process ([`hypervisor`]).
//!
//! Power state, from the domain's state:
//!
//! | libvirt state | power |
//! |---|---|
//! | running, blocked, paused, in shutdown, PM-suspended | on (the QEMU process, the "machine", is there) |
//! | shut off, crashed | off |
//! | no state | a failure (0xFF) |
//!
//! Actions: on = create (start), off = destroy, soft = shutdown (ACPI power button), reset =
//! reset (or destroy + create when the boot order changed since the domain started: QEMU fixes
//! the boot order when it starts), cycle = destroy (if running) + create, diag = inject NMI.
//! On when running and off/soft when off do nothing; reset and diag when off are refused
//! (0xD5).
//!
//! Boot device ([`domain_xml`]): written into the persistent definition's boot order, read
//! back from it. A next-boot-only device is undone (the previous order written back) once the
//! domain has started with it. UEFI or BIOS is the domain's own (`<os firmware='efi'>` or a
//! pflash loader): read back, never changed.
//!
//! Virtual media ([`media`]): a CD, its medium downloaded and uploaded into a storage pool's
//! volume that becomes the medium of the domain's CD-ROM drive; the boot device CD/DVD then
//! boots it, as any boot device.
//!
//! FRU 0 and the GUID come from the domain (name, UUID, SMBIOS `<sysinfo>`); the console is the
//! domain's serial console ([`console`]). Sensors: one, the ACPI power state of the domain (S0,
//! S3 or S5), which libvirt knows exactly; its statistics (CPU time, balloon memory, block and
//! network byte counters) are counters with no IPMI sensor type or unit, so none is made of
//! them. Lifecycle changes (started, stopped, crashed) reach the SEL as every backend's do: the
//! BMC records a power state it sees change.

#![warn(missing_docs)]

pub mod cdrom_xml;
pub mod config;
pub mod console;
pub mod discover;
pub mod domain_xml;
pub mod ffi;
pub mod hypervisor;
pub mod media;

use async_trait::async_trait;
use ffi::{Connect, Domain, DomainState};
use hypervisor::{CallError, CallResult, ErrorKind, Hypervisor};
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootOverride, DiscreteKind, Inventory, MediaInsert,
    MediaSlot, PowerAction, PowerState, Requester, SensorReading,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Which domain, where, and how long a call may take.
#[derive(Clone, Debug)]
pub struct LibvirtConfig {
    /// The libvirt URI (`qemu:///system`, `qemu+ssh://user@host/system`, ...).
    pub uri: String,
    /// The domain's name or UUID.
    pub domain: String,
    /// Every operation ends by then (0xC3 otherwise).
    pub deadline: Duration,
    /// Where the images of virtual media go, and their limits.
    pub media: media::MediaConfig,
}

/// A next-boot-only boot device waiting for the domain to start with it.
#[derive(Clone, Debug)]
struct Once {
    /// The order to write back after that boot.
    before: Vec<String>,
    /// The order written for it.
    once: Vec<String>,
    /// The domain's ID when it was set (`None`: not running): a different ID is a new start.
    set_while: Option<u32>,
}

/// The libvirt backend of one BMC.
pub struct LibvirtBackend {
    hv: Arc<Hypervisor>,
    config: LibvirtConfig,
    once: Arc<Mutex<Option<Once>>>,
    /// Wakes the console when this BMC powers the domain on.
    powered: Arc<Notify>,
}

/// The domain named by `id`: a UUID, else a name.
pub fn lookup(conn: &Connect, id: &str) -> CallResult<Domain> {
    let is_uuid = id.len() == 36 && domain_xml::guid_of(id).is_some();
    let found = if is_uuid {
        conn.lookup_domain_by_uuid_string(id)
    } else {
        conn.lookup_domain_by_name(id)
    };
    found.map_err(CallError::from)
}

fn state(dom: &Domain) -> CallResult<DomainState> {
    let s = dom.state().map_err(CallError::from)?;
    DomainState::from_raw(s).ok_or_else(|| CallError::other(format!("unknown domain state {s}")))
}

/// The power state of a libvirt state (see the crate's table).
pub fn power_of(state: DomainState) -> Option<PowerState> {
    match state {
        DomainState::Running
        | DomainState::Blocked
        | DomainState::Paused
        | DomainState::Shutdown
        | DomainState::PMSuspended => Some(PowerState::On),
        DomainState::Shutoff | DomainState::Crashed => Some(PowerState::Off),
        DomainState::NoState => None,
    }
}

fn xml(dom: &Domain, flags: u32) -> CallResult<String> {
    dom.xml_desc(flags).map_err(CallError::from)
}

const INACTIVE: u32 = ffi::XML_INACTIVE;
/// The persistent definition with its secrets (passwords of graphics consoles...), which
/// writing it back must keep.
pub(crate) const INACTIVE_SECURE: u32 = ffi::XML_INACTIVE | ffi::XML_SECURE;

/// Writes the boot order `devs` into the persistent definition.
fn define_boot_order(conn: &Connect, dom: &Domain, devs: &[String]) -> CallResult<()> {
    let def = xml(dom, INACTIVE_SECURE)?;
    let new = domain_xml::with_boot_order(&def, devs).map_err(CallError::other)?;
    conn.define_domain_xml(&new).map_err(CallError::from)?;
    Ok(())
}

/// Writes back the order a next-boot-only device replaced if the domain has started since it
/// was set (and the order is still the one written for it).
fn settle_once(conn: &Connect, dom: &Domain, once: &Mutex<Option<Once>>) -> CallResult<()> {
    settle(conn, dom, once, false)
}

/// [`settle_once`]; `reset`: the domain has just been reset (QEMU kept, so its ID too) with
/// the order it runs with, which is the next-boot-only one: that boot used it.
fn settle(conn: &Connect, dom: &Domain, once: &Mutex<Option<Once>>, reset: bool) -> CallResult<()> {
    let pending = once.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(p) = pending else { return Ok(()) };
    let started = dom.is_active().map_err(CallError::from)? && (reset || dom.id() != p.set_while);
    if !started {
        return Ok(());
    }
    let now = domain_xml::boot_order(&xml(dom, INACTIVE)?).map_err(CallError::other)?;
    if now == p.once {
        define_boot_order(conn, dom, &p.before)?;
        tracing::info!(domain = ?dom.name().unwrap_or_default(), order = ?p.before, "booted once with the boot device asked for: boot order restored");
    } else {
        tracing::info!(domain = ?dom.name().unwrap_or_default(), order = ?now, "boot order changed by someone else since the next-boot-only device was set: left as it is");
    }
    *once.lock().unwrap_or_else(|e| e.into_inner()) = None;
    Ok(())
}

/// Ignores "already in that state" for actions that are idempotent on a real machine.
fn tolerate_state(r: CallResult<()>) -> CallResult<()> {
    match r {
        Err(e) if e.kind == ErrorKind::InvalidState => Ok(()),
        r => r,
    }
}

fn inject_nmi(dom: &Domain) -> CallResult<()> {
    dom.inject_nmi().map_err(CallError::from)
}

impl LibvirtBackend {
    /// The backend of one domain, over the hypervisor of its URI.
    pub fn new(hv: Arc<Hypervisor>, config: LibvirtConfig) -> Self {
        LibvirtBackend {
            hv,
            config,
            once: Arc::new(Mutex::new(None)),
            powered: Arc::new(Notify::new()),
        }
    }

    /// Runs `f` on the domain, on a blocking thread, within the deadline.
    fn on_domain<T, F>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = BackendResult<T>> + Send + 'static
    where
        T: Send + 'static,
        F: Fn(&Connect, &Domain, &Mutex<Option<Once>>) -> CallResult<T> + Send + 'static,
    {
        let id = self.config.domain.clone();
        let once = self.once.clone();
        let hv = self.hv.clone();
        let deadline = self.config.deadline;
        async move {
            hv.call(deadline, move |conn| {
                let dom = lookup(conn, &id)?;
                f(conn, &dom, &once)
            })
            .await
        }
    }
}

/// Sets its flag when dropped.
struct AbandonOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The result of a blocking media job run with one of the hypervisor's places, or a timeout at
/// `until` (plus a moment for the job's own check of it); a job still running then ends by
/// itself (its work undone where it can be).
async fn blocking_within(
    hv: &Hypervisor,
    job: impl FnOnce() -> CallResult<()> + Send + 'static,
    until: tokio::time::Instant,
    c: &LibvirtConfig,
) -> BackendResult<()> {
    match hv.blocking(until + Duration::from_millis(500), job).await {
        Ok(r) => r.map_err(|e| e.into_backend(&c.uri)),
        Err(BackendError::Timeout(_)) => Err(BackendError::Timeout(format!(
            "libvirt at {} did not finish the virtual media change in time",
            c.uri
        ))),
        Err(e) => Err(e),
    }
}

/// How long a power action may take before the client is told it was accepted (it goes on, and
/// its outcome is logged): a start or a destroy + create can take seconds on a busy host, longer
/// than clients wait for an answer to Chassis Control.
pub const ACCEPT_WAIT: Duration = Duration::from_millis(1500);

#[async_trait]
impl Backend for LibvirtBackend {
    fn kind(&self) -> &'static str {
        "libvirt"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let s = self
            .on_domain(|conn, dom, once| {
                settle_once(conn, dom, once)?;
                state(dom)
            })
            .await?;
        let power =
            power_of(s).ok_or_else(|| BackendError::Failed("the domain has no state".into()))?;
        if power == PowerState::On {
            // Started by someone else, perhaps: the console attaches now rather than at its
            // next look.
            self.powered.notify_waiters();
        }
        Ok(power)
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let work = self.on_domain(move |conn, dom, once| {
            let active = dom.is_active().map_err(CallError::from)?;
            let start = |dom: &Domain| -> CallResult<()> {
                if state(dom)? == DomainState::Crashed && dom.is_active().unwrap_or(false) {
                    tolerate_state(dom.destroy().map_err(CallError::from))?;
                }
                tolerate_state(dom.create().map_err(CallError::from))?;
                settle_once(conn, dom, once)
            };
            match action {
                PowerAction::On => start(dom),
                PowerAction::Off if active => {
                    tolerate_state(dom.destroy().map_err(CallError::from))
                }
                PowerAction::Soft if active => {
                    tolerate_state(dom.shutdown().map_err(CallError::from))
                }
                PowerAction::Off | PowerAction::Soft => Ok(()),
                PowerAction::Cycle => {
                    if active {
                        tolerate_state(dom.destroy().map_err(CallError::from))?;
                    }
                    start(dom)
                }
                PowerAction::Reset | PowerAction::Diag if !active => Err(CallError {
                    message: "the domain is not running".into(),
                    kind: ErrorKind::InvalidState,
                }),
                PowerAction::Reset => {
                    let (live, next) = (xml(dom, 0)?, xml(dom, INACTIVE)?);
                    let order = |x: &str| domain_xml::boot_order(x).map_err(CallError::other);
                    let cds = |x: &str| cdrom_xml::cdroms(x).map_err(CallError::other);
                    if order(&live)? != order(&next)? || cds(&live)? != cds(&next)? {
                        // QEMU keeps the boot order it started with across a reset, and a
                        // CD-ROM drive added to the definition comes with a new start only.
                        tolerate_state(dom.destroy().map_err(CallError::from))?;
                        start(dom)
                    } else {
                        // The order it runs with is the definition's: a next-boot-only device
                        // written there is used by this boot.
                        dom.reset().map_err(CallError::from)?;
                        settle(conn, dom, once, true)
                    }
                }
                PowerAction::Diag => inject_nmi(dom),
            }
        });
        let (domain, uri) = (self.config.domain.clone(), self.config.uri.clone());
        let (who, powered) = (who.to_string(), self.powered.clone());
        let mut task = tokio::spawn(async move {
            let r = work.await;
            match &r {
                Ok(()) => {
                    tracing::info!(?domain, ?uri, %action, %who, "power action through libvirt done")
                }
                Err(e) => {
                    tracing::warn!(?domain, ?uri, %action, %who, error = %e, "power action through libvirt failed")
                }
            }
            let starts = matches!(
                action,
                PowerAction::On | PowerAction::Cycle | PowerAction::Reset
            );
            if r.is_ok() && starts {
                powered.notify_waiters();
                // And a permit for a console that is about to wait: one whose open failed while
                // the reset had the domain down may not be waiting yet.
                powered.notify_one();
            }
            r
        });
        match tokio::time::timeout(ACCEPT_WAIT, &mut task).await {
            Ok(joined) => joined.map_err(|e| BackendError::Failed(format!("power action: {e}")))?,
            // Still under way (it ends by its deadline): accepted.
            Err(_) => {
                tracing::info!(domain = ?self.config.domain, %action, "power action still under way: accepted");
                Ok(())
            }
        }
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let Some(b) = boot else {
            // "No override": the order stays as it is; a next-boot-only one pending is undone.
            let r = self
                .on_domain(|conn, dom, once| {
                    let pending = once.lock().unwrap_or_else(|e| e.into_inner()).take();
                    match pending {
                        Some(p) => define_boot_order(conn, dom, &p.before),
                        None => Ok(()),
                    }
                })
                .await;
            tracing::info!(domain = ?self.config.domain, %who, ok = r.is_ok(), "boot override cleared");
            return r;
        };
        let dev = domain_xml::dev_of(b.device).ok_or(BackendError::NotSupported)?;
        let r = self
            .on_domain(move |conn, dom, once| {
                let def = xml(dom, INACTIVE)?;
                if domain_xml::is_efi(&def).map_err(CallError::other)? != b.efi {
                    tracing::info!(
                        efi = b.efi,
                        "boot type asked for is not the domain's firmware, which is kept"
                    );
                }
                let pending = once.lock().unwrap_or_else(|e| e.into_inner()).take();
                // The order to come back to is the one before any next-boot-only device.
                let before = match pending {
                    Some(p) => p.before,
                    None => domain_xml::boot_order(&def).map_err(CallError::other)?,
                };
                let order = domain_xml::first(&before, dev);
                define_boot_order(conn, dom, &order)?;
                if !b.persistent {
                    *once.lock().unwrap_or_else(|e| e.into_inner()) = Some(Once {
                        before,
                        once: order,
                        set_while: dom.id(),
                    });
                }
                Ok(())
            })
            .await;
        tracing::info!(domain = ?self.config.domain, device = b.device.name(), persistent = b.persistent, %who, ok = r.is_ok(), "boot device set in the domain's boot order");
        r
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        self.on_domain(|conn, dom, once| {
            settle_once(conn, dom, once)?;
            let def = xml(dom, INACTIVE)?;
            let order = domain_xml::boot_order(&def).map_err(CallError::other)?;
            let persistent = once.lock().unwrap_or_else(|e| e.into_inner()).is_none();
            let efi = domain_xml::is_efi(&def).map_err(CallError::other)?;
            Ok(order
                .first()
                .and_then(|d| domain_xml::device_of(d))
                .map(|device| BootOverride {
                    device,
                    persistent,
                    efi,
                }))
        })
        .await
    }

    fn boot_read_back(&self) -> bool {
        true
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        self.on_domain(|_, dom, _| {
            domain_xml::inventory(&xml(dom, INACTIVE)?).map_err(CallError::other)
        })
        .await
    }

    async fn sensors(&self) -> BackendResult<Vec<SensorReading>> {
        let s = self.on_domain(|_, dom, _| state(dom)).await?;
        let offset = match s {
            DomainState::Running
            | DomainState::Blocked
            | DomainState::Paused
            | DomainState::Shutdown => DiscreteKind::S0_WORKING,
            DomainState::PMSuspended => 3,
            DomainState::Shutoff => DiscreteKind::S5_SOFT_OFF,
            DomainState::Crashed | DomainState::NoState => DiscreteKind::ACPI_UNKNOWN,
        };
        Ok(vec![SensorReading::discrete(
            "ACPI State",
            DiscreteKind::AcpiPowerState,
            Some(1 << offset),
        )])
    }

    fn media_slots(&self) -> &'static [MediaSlot] {
        &[MediaSlot::Cd]
    }

    async fn insert_media(
        &self,
        _slot: MediaSlot,
        media: &MediaInsert,
        _ipxe_url: Option<&str>,
        who: &Requester,
    ) -> BackendResult<()> {
        let c = self.config.clone();
        let until = tokio::time::Instant::now() + c.media.timeout;
        let spool = c.media.spool.as_deref();
        let (file, size) = media::download(&media.image, c.media.max_bytes, spool, until)
            .await
            .map_err(|e| {
                tracing::warn!(domain = ?c.domain, error = %e, "virtual media image not downloaded");
                BackendError::Failed(e)
            })?;
        let (uri, domain, pool) = (c.uri.clone(), c.domain.clone(), c.media.pool.clone());
        let until_std =
            std::time::Instant::now() + until.duration_since(tokio::time::Instant::now());
        // Set when this future ends or is dropped (its client stopped waiting, or the time is
        // up): a job still running then stops before it changes the drive, rather than put in
        // a medium the BMC's state would not know of.
        let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _abandon = AbandonOnDrop(abandoned.clone());
        let job = move || media::insert(&uri, &domain, &pool, file, size, until_std, &abandoned);
        let r = blocking_within(&self.hv, job, until, &c).await;
        tracing::info!(domain = ?c.domain, pool = ?c.media.pool, size, %who, ok = r.is_ok(), "virtual media inserted into the domain's CD-ROM");
        r
    }

    async fn eject_media(&self, _slot: MediaSlot, who: &Requester) -> BackendResult<()> {
        let c = self.config.clone();
        let (uri, domain, pool) = (c.uri.clone(), c.domain.clone(), c.media.pool.clone());
        let job = move || media::eject(&uri, &domain, &pool);
        let r = blocking_within(&self.hv, job, tokio::time::Instant::now() + c.deadline, &c).await;
        tracing::info!(domain = ?c.domain, %who, ok = r.is_ok(), "virtual media ejected from the domain's CD-ROM");
        r
    }

    async fn console(&self, _who: &Requester) -> BackendResult<Box<dyn ipmi_bmc::Console>> {
        Ok(Box::new(console::LibvirtConsole::new(
            self.hv.clone(),
            self.config.domain.clone(),
            self.config.deadline,
            self.powered.clone(),
        )))
    }
}
