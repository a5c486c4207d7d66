//! A libvirt stream (`virStreamPtr`): a console's bytes, a volume's upload.

use super::{check, check_ptr, Api, Connect, Error, Ptr};

/// A blocking stream, freed when its last clone is dropped.
pub struct Stream {
    api: &'static Api,
    pub(super) ptr: Ptr,
}

// SAFETY: libvirt's streams may be used from any thread; a send while another thread waits in
// a receive is what `virsh console` does.
unsafe impl Send for Stream {}
unsafe impl Sync for Stream {}

impl Stream {
    /// A new blocking stream on `conn`.
    pub fn new(conn: &Connect) -> Result<Stream, Error> {
        // SAFETY: a live connection; flags 0 makes a blocking stream.
        let ptr = check_ptr(conn.api, unsafe { (conn.api.virStreamNew)(conn.ptr, 0) })?;
        Ok(Stream { api: conn.api, ptr })
    }

    /// Sends some of `data`: how much was taken.
    pub fn send(&self, data: &[u8]) -> Result<usize, Error> {
        // SAFETY: a live stream and a buffer of that length.
        let n = check(self.api, unsafe {
            (self.api.virStreamSend)(self.ptr, data.as_ptr().cast(), data.len())
        })?;
        Ok(n as usize)
    }

    /// Waits for bytes: how many were read into `buf`, 0 at the stream's end.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        // SAFETY: a live stream and a buffer of that length.
        let n = check(self.api, unsafe {
            (self.api.virStreamRecv)(self.ptr, buf.as_mut_ptr().cast(), buf.len())
        })?;
        Ok(n as usize)
    }

    /// Ends the transfer, waiting for the other side to confirm it.
    pub fn finish(&self) -> Result<(), Error> {
        // SAFETY: a live stream.
        check(self.api, unsafe { (self.api.virStreamFinish)(self.ptr) }).map(drop)
    }

    /// Ends the transfer at once (a blocked receive returns).
    pub fn abort(&self) -> Result<(), Error> {
        // SAFETY: a live stream.
        check(self.api, unsafe { (self.api.virStreamAbort)(self.ptr) }).map(drop)
    }
}

impl Clone for Stream {
    fn clone(&self) -> Self {
        // SAFETY: one more reference to a live stream, released by its own drop.
        unsafe { (self.api.virStreamRef)(self.ptr) };
        Stream {
            api: self.api,
            ptr: self.ptr,
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: this value's own reference.
        unsafe { (self.api.virStreamFree)(self.ptr) };
    }
}
