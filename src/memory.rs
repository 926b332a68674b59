//! Process-wide memory settings, applied once when a command starts.
//!
//! hrsync's working set is millions of small records (people, entries, plan rows) that
//! one run builds and drops. Transparent huge pages do not help that shape and cost a
//! great deal where they are on: every 2 MiB page is zeroed on first touch, and on a
//! virtual machine each one is also backed by the host. Planning a million people took
//! 9.3–9.7 s with them and 6.9–7.3 s without, on the same inputs, the extra being
//! system time (BENCHMARKS.md). Databases with the same shape (Redis, MongoDB) ask for
//! them off for the same reason. So hrsync turns them off for its own process, unless
//! `MIMALLOC_ALLOW_THP` says otherwise (mimalloc's own switch, read as it is).

/// Turns transparent huge pages off for this process (Linux), unless the environment
/// sets `MIMALLOC_ALLOW_THP`. Pages already mapped are not affected, and the system's
/// setting is not changed. Failing to set it changes only speed, so it is not an error.
pub fn configure() {
    configure_with(std::env::var_os("MIMALLOC_ALLOW_THP").as_deref());
}

/// [`configure`], with the value of `MIMALLOC_ALLOW_THP` given.
fn configure_with(allow_thp: Option<&std::ffi::OsStr>) {
    #[cfg(target_os = "linux")]
    if allow_thp.is_none()
        && let Err(e) = rustix::thread::disable_transparent_huge_pages(true)
    {
        tracing::debug!(error = %e, "transparent huge pages stay as the system sets them");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = allow_thp;
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn turns_transparent_huge_pages_off() {
        // The flag is the process's: no other unit test reads it.
        crate::memory::configure_with(None);
        assert!(rustix::thread::transparent_huge_pages_are_disabled().unwrap());
    }
}
