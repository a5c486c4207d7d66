//! Resource limits set in the server process the tests start (between fork and exec).

/// Soft resource limits for the server process, as a shell's `ulimit -Sn` and `ulimit -f` set
/// them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rlimits {
    /// `RLIMIT_NOFILE`: how many descriptors it may open.
    pub nofile: Option<u64>,
    /// `RLIMIT_FSIZE`: how large a file it may write, in bytes (`SIGXFSZ` ignored: a write
    /// beyond is cut short, then fails with `EFBIG`, as on a full disk).
    pub fsize: Option<u64>,
}

impl Rlimits {
    /// Sets the limits in the calling process (between fork and exec).
    pub(super) fn apply(self) -> std::io::Result<()> {
        let set = |resource, soft: Option<u64>| -> std::io::Result<()> {
            let Some(soft) = soft else {
                return Ok(());
            };
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit and setrlimit read and write one struct on the stack.
            unsafe {
                if libc::getrlimit(resource, &mut limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                limit.rlim_cur = soft.min(limit.rlim_max);
                if libc::setrlimit(resource, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        };
        set(libc::RLIMIT_NOFILE, self.nofile)?;
        if self.fsize.is_some() {
            // SAFETY: an ignored signal stays ignored across exec.
            unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        }
        set(libc::RLIMIT_FSIZE, self.fsize)
    }
}
