//! A connection to libvirtd and its domains.

use super::{
    api, c_string, check, check_ptr, string_of, take_list, take_string, Api, Error, Ptr,
    StoragePool,
};
use std::ffi::c_char;

/// A connection (`virConnectPtr`), closed when its last clone is dropped.
pub struct Connect {
    pub(super) api: &'static Api,
    pub(super) ptr: Ptr,
}

// SAFETY: libvirt's connections may be used from any thread, by several at once.
unsafe impl Send for Connect {}
unsafe impl Sync for Connect {}

impl Connect {
    /// Opens a connection to `uri` (loading libvirt at the process's first).
    pub fn open(uri: &str) -> Result<Connect, Error> {
        let api = api()?;
        let uri = c_string(uri)?;
        // SAFETY: a valid C string; the result is a new reference or NULL.
        let ptr = check_ptr(api, unsafe { (api.virConnectOpen)(uri.as_ptr()) })?;
        Ok(Connect { api, ptr })
    }

    /// Whether the link to libvirtd is still up.
    pub fn is_alive(&self) -> Result<bool, Error> {
        // SAFETY: a live connection.
        check(self.api, unsafe { (self.api.virConnectIsAlive)(self.ptr) }).map(|r| r == 1)
    }

    /// Whether `other` is this same connection (not merely one to the same URI).
    pub fn same(&self, other: &Connect) -> bool {
        self.ptr == other.ptr
    }

    fn domain(&self, ptr: *mut std::ffi::c_void) -> Result<Domain, Error> {
        Ok(Domain {
            api: self.api,
            ptr: check_ptr(self.api, ptr)?,
        })
    }

    /// The domain named `name`.
    pub fn lookup_domain_by_name(&self, name: &str) -> Result<Domain, Error> {
        let name = c_string(name)?;
        // SAFETY: a live connection and a C string.
        self.domain(unsafe { (self.api.virDomainLookupByName)(self.ptr, name.as_ptr()) })
    }

    /// The domain of UUID `uuid` (36 characters).
    pub fn lookup_domain_by_uuid_string(&self, uuid: &str) -> Result<Domain, Error> {
        let uuid = c_string(uuid)?;
        // SAFETY: a live connection and a C string.
        self.domain(unsafe { (self.api.virDomainLookupByUUIDString)(self.ptr, uuid.as_ptr()) })
    }

    /// Defines (or redefines) a persistent domain from its XML.
    pub fn define_domain_xml(&self, xml: &str) -> Result<Domain, Error> {
        let xml = c_string(xml)?;
        // SAFETY: a live connection and a C string.
        self.domain(unsafe { (self.api.virDomainDefineXML)(self.ptr, xml.as_ptr()) })
    }

    /// The domains `flags` select (e.g. [`super::LIST_DOMAINS_PERSISTENT`]).
    pub fn list_all_domains(&self, flags: u32) -> Result<Vec<Domain>, Error> {
        let mut list = std::ptr::null_mut();
        // SAFETY: a live connection; libvirt fills `list` with `n` owned references.
        unsafe {
            let n = check(
                self.api,
                (self.api.virConnectListAllDomains)(self.ptr, &mut list, flags),
            )?;
            let api = self.api;
            Ok(take_list(list, n, |ptr| Domain { api, ptr }))
        }
    }

    /// The storage pool named `name`.
    pub fn lookup_storage_pool_by_name(&self, name: &str) -> Result<StoragePool, Error> {
        let name = c_string(name)?;
        // SAFETY: a live connection and a C string.
        let ptr = unsafe { (self.api.virStoragePoolLookupByName)(self.ptr, name.as_ptr()) };
        Ok(StoragePool {
            api: self.api,
            ptr: check_ptr(self.api, ptr)?,
        })
    }
}

impl Clone for Connect {
    fn clone(&self) -> Self {
        // SAFETY: one more reference to a live connection, released by its own drop.
        unsafe { (self.api.virConnectRef)(self.ptr) };
        Connect {
            api: self.api,
            ptr: self.ptr,
        }
    }
}

impl Drop for Connect {
    fn drop(&mut self) {
        // SAFETY: this value's own reference.
        unsafe { (self.api.virConnectClose)(self.ptr) };
    }
}

/// A domain's state (`virDomainState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    /// `VIR_DOMAIN_NOSTATE`.
    NoState,
    /// `VIR_DOMAIN_RUNNING`.
    Running,
    /// `VIR_DOMAIN_BLOCKED`: blocked on a resource.
    Blocked,
    /// `VIR_DOMAIN_PAUSED`.
    Paused,
    /// `VIR_DOMAIN_SHUTDOWN`: being shut down.
    Shutdown,
    /// `VIR_DOMAIN_SHUTOFF`.
    Shutoff,
    /// `VIR_DOMAIN_CRASHED`.
    Crashed,
    /// `VIR_DOMAIN_PMSUSPENDED`: suspended by the guest's power management.
    PMSuspended,
}

impl DomainState {
    /// The state of libvirt's number, `None` for one this build does not know.
    pub fn from_raw(n: i32) -> Option<DomainState> {
        use DomainState::*;
        Some(match n {
            0 => NoState,
            1 => Running,
            2 => Blocked,
            3 => Paused,
            4 => Shutdown,
            5 => Shutoff,
            6 => Crashed,
            7 => PMSuspended,
            _ => return None,
        })
    }
}

/// A domain (`virDomainPtr`).
pub struct Domain {
    pub(super) api: &'static Api,
    pub(super) ptr: Ptr,
}

// SAFETY: libvirt's domain objects may be used from any thread.
unsafe impl Send for Domain {}
unsafe impl Sync for Domain {}

impl Drop for Domain {
    fn drop(&mut self) {
        // SAFETY: this value's own reference.
        unsafe { (self.api.virDomainFree)(self.ptr) };
    }
}

impl Domain {
    fn call(&self, f: impl FnOnce(&Api, Ptr) -> i32) -> Result<(), Error> {
        check(self.api, f(self.api, self.ptr)).map(drop)
    }

    /// Its state, as libvirt's number (see [`DomainState::from_raw`]).
    pub fn state(&self) -> Result<i32, Error> {
        let (mut state, mut reason) = (0, 0);
        // SAFETY: a live domain and two ints to fill.
        self.call(|a, p| unsafe { (a.virDomainGetState)(p, &mut state, &mut reason, 0) })?;
        Ok(state)
    }

    /// Whether it runs.
    pub fn is_active(&self) -> Result<bool, Error> {
        // SAFETY: a live domain.
        check(self.api, unsafe { (self.api.virDomainIsActive)(self.ptr) }).map(|r| r == 1)
    }

    /// Its ID while it runs (a new one at each start), `None` when off.
    pub fn id(&self) -> Option<u32> {
        // SAFETY: a live domain; (unsigned)-1 says none.
        let id = unsafe { (self.api.virDomainGetID)(self.ptr) };
        (id != u32::MAX).then_some(id)
    }

    /// Its name.
    pub fn name(&self) -> Result<String, Error> {
        // SAFETY: a live domain; the name is the domain's, copied.
        unsafe { string_of((self.api.virDomainGetName)(self.ptr)) }
            .ok_or_else(|| Error::last(self.api))
    }

    /// Its UUID, in the 36-character form.
    pub fn uuid_string(&self) -> Result<String, Error> {
        let mut buf = [0 as c_char; 37];
        // SAFETY: VIR_UUID_STRING_BUFLEN (37) bytes, NUL-terminated by libvirt on success.
        self.call(|a, p| unsafe { (a.virDomainGetUUIDString)(p, buf.as_mut_ptr()) })?;
        // SAFETY: filled and terminated above.
        Ok(unsafe { string_of(buf.as_ptr()) }.unwrap_or_default())
    }

    /// Starts it.
    pub fn create(&self) -> Result<(), Error> {
        // SAFETY: a live domain.
        self.call(|a, p| unsafe { (a.virDomainCreate)(p) })
    }

    /// Stops it at once (power off).
    pub fn destroy(&self) -> Result<(), Error> {
        // SAFETY: a live domain.
        self.call(|a, p| unsafe { (a.virDomainDestroy)(p) })
    }

    /// Resets it (QEMU kept).
    pub fn reset(&self) -> Result<(), Error> {
        // SAFETY: a live domain.
        self.call(|a, p| unsafe { (a.virDomainReset)(p, 0) })
    }

    /// Asks the guest to shut down (ACPI power button).
    pub fn shutdown(&self) -> Result<(), Error> {
        // SAFETY: a live domain.
        self.call(|a, p| unsafe { (a.virDomainShutdown)(p) })
    }

    /// Sends it a non-maskable interrupt.
    pub fn inject_nmi(&self) -> Result<(), Error> {
        // SAFETY: a live domain.
        self.call(|a, p| unsafe { (a.virDomainInjectNMI)(p, 0) })
    }

    /// Its definition (`flags`: [`super::XML_INACTIVE`], [`super::XML_SECURE`]).
    pub fn xml_desc(&self, flags: u32) -> Result<String, Error> {
        // SAFETY: a live domain; the XML is the caller's to free, which take_string does.
        unsafe { take_string((self.api.virDomainGetXMLDesc)(self.ptr, flags)) }
            .ok_or_else(|| Error::last(self.api))
    }

    /// Changes a device (a CD-ROM's medium) by its XML.
    pub fn update_device_flags(&self, xml: &str, flags: u32) -> Result<(), Error> {
        let xml = c_string(xml)?;
        // SAFETY: a live domain and a C string.
        self.call(|a, p| unsafe { (a.virDomainUpdateDeviceFlags)(p, xml.as_ptr(), flags) })
    }

    /// Connects `stream` to its first console (`flags`: [`super::CONSOLE_FORCE`]).
    pub fn open_console(&self, stream: &super::Stream, flags: u32) -> Result<(), Error> {
        // SAFETY: a live domain and stream; NULL names the first console.
        self.call(|a, p| unsafe {
            (a.virDomainOpenConsole)(p, std::ptr::null(), stream.ptr, flags)
        })
    }
}
