//! Storage pools and their volumes: where virtual media's images are uploaded.

use super::{check, check_ptr, string_of, take_list, take_string, Api, Error, Ptr, Stream};

/// A storage pool (`virStoragePoolPtr`).
pub struct StoragePool {
    pub(super) api: &'static Api,
    pub(super) ptr: Ptr,
}

/// A volume of a pool (`virStorageVolPtr`).
pub struct StorageVol {
    api: &'static Api,
    ptr: Ptr,
}

// SAFETY: libvirt's storage objects may be used from any thread.
unsafe impl Send for StoragePool {}
unsafe impl Sync for StoragePool {}
unsafe impl Send for StorageVol {}
unsafe impl Sync for StorageVol {}

impl StoragePool {
    /// Whether the pool is started.
    pub fn is_active(&self) -> Result<bool, Error> {
        // SAFETY: a live pool.
        check(self.api, unsafe {
            (self.api.virStoragePoolIsActive)(self.ptr)
        })
        .map(|r| r == 1)
    }

    /// Creates a volume from its XML.
    pub fn create_volume(&self, xml: &str) -> Result<StorageVol, Error> {
        let xml = super::c_string(xml)?;
        // SAFETY: a live pool and a C string.
        let ptr = unsafe { (self.api.virStorageVolCreateXML)(self.ptr, xml.as_ptr(), 0) };
        Ok(StorageVol {
            api: self.api,
            ptr: check_ptr(self.api, ptr)?,
        })
    }

    /// Its volumes.
    pub fn volumes(&self) -> Result<Vec<StorageVol>, Error> {
        let mut list = std::ptr::null_mut();
        // SAFETY: a live pool; libvirt fills `list` with `n` owned references.
        unsafe {
            let n = check(
                self.api,
                (self.api.virStoragePoolListAllVolumes)(self.ptr, &mut list, 0),
            )?;
            let api = self.api;
            Ok(take_list(list, n, |ptr| StorageVol { api, ptr }))
        }
    }
}

impl Drop for StoragePool {
    fn drop(&mut self) {
        // SAFETY: this value's own reference.
        unsafe { (self.api.virStoragePoolFree)(self.ptr) };
    }
}

impl StorageVol {
    /// Its name in the pool.
    pub fn name(&self) -> Result<String, Error> {
        // SAFETY: a live volume; the name is the volume's, copied.
        unsafe { string_of((self.api.virStorageVolGetName)(self.ptr)) }
            .ok_or_else(|| Error::last(self.api))
    }

    /// Its path on the hypervisor's host (what a domain's disk names).
    pub fn path(&self) -> Result<String, Error> {
        // SAFETY: a live volume; the path is the caller's to free, which take_string does.
        unsafe { take_string((self.api.virStorageVolGetPath)(self.ptr)) }
            .ok_or_else(|| Error::last(self.api))
    }

    /// Makes `stream` write `length` bytes into the volume from `offset`.
    pub fn upload(&self, stream: &Stream, offset: u64, length: u64) -> Result<(), Error> {
        // SAFETY: a live volume and stream.
        check(self.api, unsafe {
            (self.api.virStorageVolUpload)(self.ptr, stream.ptr, offset, length, 0)
        })
        .map(drop)
    }

    /// Deletes the volume (its file).
    pub fn delete(&self) -> Result<(), Error> {
        // SAFETY: a live volume.
        check(self.api, unsafe {
            (self.api.virStorageVolDelete)(self.ptr, 0)
        })
        .map(drop)
    }
}

impl Drop for StorageVol {
    fn drop(&mut self) {
        // SAFETY: this value's own reference.
        unsafe { (self.api.virStorageVolFree)(self.ptr) };
    }
}
