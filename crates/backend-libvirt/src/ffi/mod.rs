//! libvirt's C API, loaded at the first use (`dlopen` of `libvirt.so.0`), not linked.
//!
//! Why not the `virt` crate: it links libvirt at build time, so every process loaded libvirt
//! and its ~50 libraries (GnuTLS, GLib, libxml2, ICU, Kerberos...) at start and ran their
//! initializers, whether or not a libvirt BMC was configured: 10.7 MB resident of a 10,000-BMC
//! sim fleet's 75 MB (docs/performance.md). Loaded here only when a libvirt BMC or discovery
//! makes its first call, a fleet without libvirt costs nothing of it, and a machine without
//! libvirt runs every other backend (the libvirt backend's calls then fail, saying so).
//!
//! Only the calls this backend makes are bound, with the types of libvirt's public headers
//! (a stable ABI since libvirt 0.x; every call here exists since libvirt 1.2). Each object owns
//! one reference, freed when dropped; `Clone` takes another (`vir*Ref`). libvirt's objects
//! are thread-safe, so the wrappers are `Send` and `Sync`.

mod domain;
mod storage;
mod stream;

pub use domain::{Connect, Domain, DomainState};
pub use storage::{StoragePool, StorageVol};
pub use stream::Stream;

use libloading::Library;
use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void, CStr, CString};
use std::sync::OnceLock;

/// An opaque libvirt object (`virConnectPtr`, `virDomainPtr`, ...).
type Ptr = *mut c_void;

/// The soname of libvirt's client library (Debian's `libvirt0`).
const SONAME: &str = "libvirt.so.0";

// Flags and codes of libvirt's headers that this backend uses.
/// `VIR_DOMAIN_XML_SECURE`: the definition with its secrets.
pub const XML_SECURE: c_uint = 1;
/// `VIR_DOMAIN_XML_INACTIVE`: the persistent definition, not the running one.
pub const XML_INACTIVE: c_uint = 2;
/// `VIR_DOMAIN_CONSOLE_FORCE`: take over a console someone else holds.
pub const CONSOLE_FORCE: c_uint = 1;
/// `VIR_CONNECT_LIST_DOMAINS_PERSISTENT`.
pub const LIST_DOMAINS_PERSISTENT: c_uint = 4;
/// `VIR_DOMAIN_AFFECT_LIVE`: the running domain.
pub const AFFECT_LIVE: c_uint = 1;
/// `VIR_DOMAIN_AFFECT_CONFIG`: the persistent definition.
pub const AFFECT_CONFIG: c_uint = 2;
/// `VIR_DOMAIN_DEVICE_MODIFY_FORCE`: e.g. change a locked tray's medium.
pub const DEVICE_MODIFY_FORCE: c_uint = 4;

/// `virErrorNumber` values this backend tells apart.
pub mod code {
    /// `VIR_ERR_NO_CONNECT`.
    pub const NO_CONNECT: i32 = 5;
    /// `VIR_ERR_INVALID_CONN`.
    pub const INVALID_CONN: i32 = 6;
    /// `VIR_ERR_SYSTEM_ERROR`.
    pub const SYSTEM_ERROR: i32 = 38;
    /// `VIR_ERR_RPC`.
    pub const RPC: i32 = 39;
    /// `VIR_ERR_NO_DOMAIN`.
    pub const NO_DOMAIN: i32 = 42;
    /// `VIR_ERR_OPERATION_INVALID`.
    pub const OPERATION_INVALID: i32 = 55;
    /// Not libvirt's: libvirt itself could not be loaded.
    pub const NOT_LOADED: i32 = -1;
}

/// `VIR_FROM_RPC`: an error of the link to libvirtd.
pub const FROM_RPC: i32 = 7;

/// A libvirt error: its number, where it came from, and its message.
#[derive(Clone, Debug)]
pub struct Error {
    /// `virErrorNumber` (see [`code`]).
    pub code: i32,
    /// `virErrorDomain` (e.g. [`FROM_RPC`]).
    pub domain: i32,
    /// libvirt's message.
    pub message: String,
}

impl Error {
    /// libvirt's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The calling thread's last libvirt error (libvirt keeps one per thread), then reset.
    fn last(api: &Api) -> Error {
        // SAFETY: virGetLastError returns the thread's own error or NULL; read before the
        // reset that frees it.
        unsafe {
            let e = (api.virGetLastError)();
            let out = if e.is_null() {
                Error::new(0, "an unknown libvirt error occurred")
            } else {
                let e = &*e;
                Error {
                    code: e.code,
                    domain: e.domain,
                    message: string_of(e.message).unwrap_or_default(),
                }
            };
            (api.virResetLastError)();
            out
        }
    }

    fn new(code: i32, message: impl Into<String>) -> Error {
        Error {
            code,
            domain: 0,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The head of libvirt's `virError` (the fields after `message` are not read).
#[repr(C)]
struct RawError {
    code: c_int,
    domain: c_int,
    message: *const c_char,
}

/// A copy of a C string libvirt keeps (`None` for NULL).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn string_of(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

/// A copy of a C string libvirt gave the caller to free, then freed.
///
/// # Safety
/// `p` is NULL or a string from libvirt's allocator that nothing else frees.
unsafe fn take_string(p: *mut c_char) -> Option<String> {
    let s = string_of(p);
    libc::free(p.cast());
    s
}

/// A C string for libvirt (XML, names, URIs); one with a NUL inside is refused.
fn c_string(s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::new(0, "a string with a NUL byte"))
}

/// Declares [`Api`]: the functions of libvirt this backend calls, looked up by name.
macro_rules! api {
    ($($name:ident: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// libvirt's functions, resolved once; the library stays loaded for the process.
        #[allow(non_snake_case)]
        pub(crate) struct Api {
            _lib: Library,
            $($name: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        impl Api {
            #[allow(non_snake_case)]
            fn load(lib: Library) -> Result<Api, String> {
                // SAFETY: each symbol is given the type of its declaration in libvirt's
                // headers, and kept no longer than the library (held in the same value).
                unsafe {
                    $(let $name = *lib
                        .get::<unsafe extern "C" fn($($arg),*) $(-> $ret)?>(
                            concat!(stringify!($name), "\0").as_bytes(),
                        )
                        .map_err(|e| format!("{SONAME} has no {}: {e}", stringify!($name)))?;)*
                    Ok(Api { _lib: lib, $($name,)* })
                }
            }
        }
    };
}

api! {
    virGetLastError: fn() -> *const RawError;
    virResetLastError: fn();
    virSetErrorFunc: fn(Ptr, Option<unsafe extern "C" fn(Ptr, *const RawError)>);
    virConnectOpen: fn(*const c_char) -> Ptr;
    virConnectClose: fn(Ptr) -> c_int;
    virConnectRef: fn(Ptr) -> c_int;
    virConnectIsAlive: fn(Ptr) -> c_int;
    virConnectListAllDomains: fn(Ptr, *mut *mut Ptr, c_uint) -> c_int;
    virDomainLookupByName: fn(Ptr, *const c_char) -> Ptr;
    virDomainLookupByUUIDString: fn(Ptr, *const c_char) -> Ptr;
    virDomainDefineXML: fn(Ptr, *const c_char) -> Ptr;
    virDomainFree: fn(Ptr) -> c_int;
    virDomainGetState: fn(Ptr, *mut c_int, *mut c_int, c_uint) -> c_int;
    virDomainIsActive: fn(Ptr) -> c_int;
    virDomainGetID: fn(Ptr) -> c_uint;
    virDomainGetName: fn(Ptr) -> *const c_char;
    virDomainGetUUIDString: fn(Ptr, *mut c_char) -> c_int;
    virDomainCreate: fn(Ptr) -> c_int;
    virDomainDestroy: fn(Ptr) -> c_int;
    virDomainReset: fn(Ptr, c_uint) -> c_int;
    virDomainShutdown: fn(Ptr) -> c_int;
    virDomainInjectNMI: fn(Ptr, c_uint) -> c_int;
    virDomainGetXMLDesc: fn(Ptr, c_uint) -> *mut c_char;
    virDomainUpdateDeviceFlags: fn(Ptr, *const c_char, c_uint) -> c_int;
    virDomainOpenConsole: fn(Ptr, *const c_char, Ptr, c_uint) -> c_int;
    virStreamNew: fn(Ptr, c_uint) -> Ptr;
    virStreamRef: fn(Ptr) -> c_int;
    virStreamFree: fn(Ptr) -> c_int;
    virStreamSend: fn(Ptr, *const c_char, usize) -> c_int;
    virStreamRecv: fn(Ptr, *mut c_char, usize) -> c_int;
    virStreamFinish: fn(Ptr) -> c_int;
    virStreamAbort: fn(Ptr) -> c_int;
    virStoragePoolLookupByName: fn(Ptr, *const c_char) -> Ptr;
    virStoragePoolIsActive: fn(Ptr) -> c_int;
    virStoragePoolListAllVolumes: fn(Ptr, *mut *mut Ptr, c_uint) -> c_int;
    virStoragePoolFree: fn(Ptr) -> c_int;
    virStorageVolCreateXML: fn(Ptr, *const c_char, c_uint) -> Ptr;
    virStorageVolGetName: fn(Ptr) -> *const c_char;
    virStorageVolGetPath: fn(Ptr) -> *mut c_char;
    virStorageVolUpload: fn(Ptr, Ptr, c_ulonglong, c_ulonglong, c_uint) -> c_int;
    virStorageVolDelete: fn(Ptr, c_uint) -> c_int;
    virStorageVolFree: fn(Ptr) -> c_int;
}

/// libvirt's default error handler prints every error on standard error; errors are returned
/// to the caller and logged there instead.
unsafe extern "C" fn ignore_error(_: Ptr, _: *const RawError) {}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// libvirt, loaded at the first call of the process.
fn api() -> Result<&'static Api, Error> {
    API.get_or_init(|| {
        // SAFETY: loading libvirt runs its initializers, which are safe to run on any thread.
        let lib = unsafe { Library::new(SONAME) }.map_err(|e| {
            format!("libvirt is not installed ({e}): the libvirt backend needs Debian's libvirt0")
        })?;
        let api = Api::load(lib)?;
        // SAFETY: a handler that does nothing, for the life of the process.
        unsafe { (api.virSetErrorFunc)(std::ptr::null_mut(), Some(ignore_error)) };
        tracing::info!(library = SONAME, "libvirt loaded");
        Ok(api)
    })
    .as_ref()
    .map_err(|e| Error::new(code::NOT_LOADED, e.clone()))
}

/// `Ok` of a call's non-negative result, else the thread's libvirt error.
fn check(api: &Api, rc: c_int) -> Result<c_int, Error> {
    if rc < 0 {
        Err(Error::last(api))
    } else {
        Ok(rc)
    }
}

/// `Ok` of a call's non-NULL pointer, else the thread's libvirt error.
fn check_ptr<T>(api: &Api, p: *mut T) -> Result<*mut T, Error> {
    if p.is_null() {
        Err(Error::last(api))
    } else {
        Ok(p)
    }
}

/// The objects of a libvirt list (`virConnectListAllDomains`...), each made an owner of its
/// reference, the array itself freed.
///
/// # Safety
/// `list` holds `n` objects from libvirt's allocator, each one reference the caller owns.
unsafe fn take_list<T>(list: *mut Ptr, n: c_int, wrap: impl Fn(Ptr) -> T) -> Vec<T> {
    let out = (0..n as usize).map(|i| wrap(*list.add(i))).collect();
    libc::free(list.cast());
    out
}
