//! What a process serving thousands of BMCs asks of the system: two open files per BMC, its
//! socket and its console log (the soft limit is often 1024), and the memory that reading a
//! large configuration left free handed back once every BMC is up.

/// Open files each BMC may hold: its socket, and its console log once its console has printed
/// (the log is created at the first output; counted from the start, so that output coming
/// later finds room).
const FILES_PER_BMC: u64 = 2;

/// Open files the process needs besides its BMCs' (logs, backends' connections and helper
/// processes, the runtime's own).
const SPARE_FILES: u64 = 256;

/// The open files `bmcs` BMCs need, with the spare for the rest of the process.
pub fn files_needed(bmcs: usize) -> u64 {
    bmcs as u64 * FILES_PER_BMC + SPARE_FILES
}

/// Raises the soft limit on open files to the hard limit if the files of `bmcs` BMCs (plus some
/// spare) would not fit under it, and says so; warns if even the hard limit is too low.
pub fn raise_open_file_limit(bmcs: usize) {
    let needed = files_needed(bmcs);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limits into the struct we pass, nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    if lim.rlim_cur >= needed {
        return;
    }
    let before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the struct; raising the soft limit up to the hard one is allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        tracing::warn!(soft = before, needed, "cannot raise the open-file limit");
        return;
    }
    if lim.rlim_cur < needed {
        tracing::warn!(
            from = before,
            to = lim.rlim_cur,
            needed,
            "open-file limit raised to the hard limit, still too low for every BMC"
        );
    } else {
        tracing::info!(
            from = before,
            to = lim.rlim_cur,
            needed,
            "open-file limit raised"
        );
    }
}

/// Hands the pages left free on the heap back to the system (glibc keeps them otherwise: a
/// configuration of 10,000 BMCs leaves some 16 MB behind once read).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
