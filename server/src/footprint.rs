//! Gives the kernel back memory the server at rest does not need: the pages of our own binary
//! that only start-up ran ([`release_startup_code`]), and the freed heap of a thread that is
//! about to end ([`release_thread_heap`]).
//!
//! The release binary carries ~100 MB of machine code (SurrealDB, wasmtime and Cranelift are
//! most of it). Start-up runs code from all over it: opening the datastore, defining the
//! schema, compiling or loading every extension. The kernel maps each page it reads in with
//! its neighbours (fault-around, 64 KiB), so after start-up ~60 MB of the binary is resident
//! although a server at rest runs a small part of it. `bench/run.sh` (step 6) measured the
//! idle RSS at ~82 MiB on a restart, three quarters of it those pages.
//!
//! [`release_startup_code`] asks the kernel to page out the binary's read-only mappings once
//! the server is up (`MADV_PAGEOUT`, Linux 5.4+). They are clean pages of a file, so this costs
//! nothing but a fault when a page is needed again: whatever the server runs afterwards comes
//! back (from the page cache while it holds it), and the resident set is the code the server
//! really uses. Elsewhere, or where the kernel refuses, it does nothing.
//!
//! Requests fault code back in the same way: one login, one key and one tool call brought back
//! ~45 MB. So [`release_code_when_idle`] pages the code out again whenever the server has gone
//! [`IDLE_AFTER`] without a request. The first request after such a pause pays the page faults
//! of what it runs (from the page cache: a few ms once); a busy server is never touched.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Requests seen so far; the HTTP layer counts each one ([`note_request`]).
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// How long the server goes without a request before its code is paged out again.
pub const IDLE_AFTER: Duration = Duration::from_secs(10);

/// Counts a request (one relaxed atomic add).
pub fn note_request() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// Pages out the binary's code now (start-up is over) and again after each pause of
/// [`IDLE_AFTER`] without a request. Runs until dropped.
pub async fn release_code_when_idle() {
    let mut seen = REQUESTS.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    let mut released = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    release_in_background("start-up").await;
    loop {
        tick.tick().await;
        let now = REQUESTS.load(Ordering::Relaxed);
        if now != seen {
            (seen, quiet_since, released) = (now, Instant::now(), false);
        } else if !released && quiet_since.elapsed() >= IDLE_AFTER {
            released = true;
            release_in_background("idle").await;
        }
    }
}

async fn release_in_background(why: &'static str) {
    let outcome = tokio::task::spawn_blocking(release_startup_code).await;
    match outcome {
        Ok(Ok(released)) => tracing::debug!(
            why,
            mappings = released.mappings,
            bytes = released.bytes,
            "code paged out"
        ),
        Ok(Err(err)) => tracing::debug!(why, error = %err, "code not paged out"),
        Err(err) => tracing::debug!(why, error = %err, "paging out the code failed"),
    }
}

/// What [`release_startup_code`] did: the mappings advised and their size.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub mappings: usize,
    pub bytes: usize,
}

/// Pages out the read-only mappings of the running executable (see the module docs).
pub fn release_startup_code() -> std::io::Result<Released> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut released = Released::default();
    for (start, len) in readonly_mappings_of(&maps, &exe) {
        page_out(start, len)?;
        released.mappings += 1;
        released.bytes += len;
    }
    Ok(released)
}

/// The `(start, length)` of every mapping of `exe` in a `/proc/<pid>/maps` text that is
/// readable and neither writable nor shared: the binary's code and read-only data.
fn readonly_mappings_of(maps: &str, exe: &Path) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            // address perms offset dev inode pathname (the path may hold spaces)
            let mut fields = line.splitn(6, ' ');
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3)?.trim_start();
            if Path::new(path) != exe || !matches!(perms, "r--p" | "r-xp") {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            (end > start).then_some((start, end - start))
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn page_out(start: usize, len: usize) -> std::io::Result<()> {
    use rustix::mm::{Advice, madvise};
    // SAFETY: `start..start + len` is a whole mapping that /proc/self/maps lists for our own
    // executable, mapped private and read-only. MADV_PAGEOUT only drops pages from the
    // resident set; it never changes what the memory holds (a clean file page is read back from
    // the executable, which the kernel keeps from being written while it runs; a private page
    // is kept or swapped, never discarded), so no reference into the mapping is invalidated.
    unsafe { madvise(start as *mut core::ffi::c_void, len, Advice::LinuxPageOut) }
        .map_err(std::io::Error::from)
}

/// Returns the memory this thread's allocator heap holds free to the OS. mimalloc gives freed
/// memory back lazily, during later allocations of the same thread; a thread that allocated
/// much and is about to end (a component's compilation: tens of MB) makes no later
/// allocations, so without this its freed memory stays resident (~20 MiB of the idle RSS
/// after compiling the builtins, `bench/run.sh` step 6).
#[allow(unsafe_code)]
pub fn release_thread_heap() {
    // SAFETY: `mi_collect` takes no pointer and has no precondition: it walks the calling
    // thread's own heap (mimalloc is the global allocator, `lib.rs`) and decommits its free
    // pages; memory in use is untouched.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(not(target_os = "linux"))]
fn page_out(_start: usize, _len: usize) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0c0000000-55d0c2000000 r--p 00000000 08:01 123 /opt/chat ai/chatai
55d0c2000000-55d0c8000000 r-xp 02000000 08:01 123 /opt/chat ai/chatai
55d0c8000000-55d0c8200000 rw-p 08000000 08:01 123 /opt/chat ai/chatai
55d0c8200000-55d0c8300000 r--s 08200000 08:01 123 /opt/chat ai/chatai
7f0000000000-7f0000100000 r-xp 00000000 08:01 456 /usr/lib/libc.so.6
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn only_the_private_read_only_mappings_of_the_executable_are_chosen() {
        let found = readonly_mappings_of(MAPS, Path::new("/opt/chat ai/chatai"));
        assert_eq!(
            found,
            vec![(0x55d0c0000000, 0x2000000), (0x55d0c2000000, 0x6000000)]
        );
        assert!(readonly_mappings_of(MAPS, Path::new("/opt/other")).is_empty());
    }

    #[test]
    fn the_running_test_binary_has_code_to_release() {
        let released = release_startup_code().expect("madvise(MADV_PAGEOUT) on our own code");
        assert!(released.mappings >= 1, "{released:?}");
        assert!(released.bytes > 1 << 20, "{released:?}");
    }
}
