//! A hard memory budget per evaluation, read off the allocator.
//!
//! Rhai's own limits count operations and the size of values (string bytes, array and
//! map entries), but not everything a script can make the process hold: map keys are not
//! counted, and a single native call can build a huge value before its result is checked
//! (`t.replace("y", s)` on two 40,000-character strings asks for 1.6 GB at once, and the
//! allocation failure aborts the process). Two defences close that:
//!
//! - every native function that can grow a value faster than linearly, or into many
//!   small allocations, is replaced by a bounded twin that refuses before it allocates
//!   ([`super::bounded`]): no single call can allocate more than a small multiple of the
//!   value limit;
//! - this meter: jemalloc (the process's allocator, set in `lib.rs`) keeps per-thread
//!   counters of bytes allocated and freed; an evaluation runs on one thread, so the
//!   difference since it began is what it holds. The progress callback reads it on every
//!   operation (two loads from thread-local counters) and stops the script the moment it
//!   holds more than [`super::Limits::max_memory`].
//!
//! Together they bound what a script holds to the budget plus one bounded call.

use std::cell::Cell;

use tikv_jemalloc_ctl::thread::{allocatedp, deallocatedp, ThreadLocal};

/// The process's allocator. The rule sandbox's memory budget depends on it (the meter
/// reads jemalloc's per-thread counters), so it is set here, for every binary that links
/// the library: the server, the tests, the examples and the fuzz target alike. jemalloc
/// also keeps fragmentation across actix's worker and blocking threads low, where glibc's
/// per-thread arenas hold on to freed batches and tables (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

thread_local! {
    /// This thread's jemalloc counters, looked up once per thread.
    static COUNTERS: Cell<Option<(ThreadLocal<u64>, ThreadLocal<u64>)>> = const { Cell::new(None) };
    /// Bytes held by this thread when the running evaluation began, and its budget.
    static METER: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

fn counters() -> Option<(ThreadLocal<u64>, ThreadLocal<u64>)> {
    if let Some(counters) = COUNTERS.get() {
        return Some(counters);
    }
    let counters = (allocatedp::read().ok()?, deallocatedp::read().ok()?);
    COUNTERS.set(Some(counters));
    Some(counters)
}

/// Bytes this thread holds now (allocated minus freed since it started; wraps if the
/// thread freed memory that others allocated, which the meter takes as zero growth).
fn held() -> Option<u64> {
    let (allocated, deallocated) = counters()?;
    Some(allocated.get().wrapping_sub(deallocated.get()))
}

/// Whether the allocator exposes its counters: checked once when the engine is built,
/// since without them the budget would silently not hold.
pub fn available() -> bool {
    held().is_some()
}

/// Starts metering the evaluation about to run on this thread; the previous meter (an
/// evaluation nested in another, as tests do) comes back when the guard drops.
pub struct Meter {
    previous: Option<(u64, u64)>,
}

impl Meter {
    pub fn start(budget: usize) -> Self {
        let previous = METER.get();
        METER.set(held().map(|now| (now, budget as u64)));
        Self { previous }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        METER.set(self.previous);
    }
}

/// Whether the evaluation running on this thread holds more than its budget.
#[inline]
pub fn over_budget() -> bool {
    match (METER.get(), held()) {
        (Some((start, budget)), Some(now)) => {
            let grown = now.wrapping_sub(start);
            // A wrapped difference is a thread that freed more than it allocated since.
            grown <= u64::MAX / 2 && grown > budget
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_sees_what_this_thread_holds() {
        assert!(available());
        let _meter = Meter::start(1024 * 1024);
        assert!(!over_budget());
        let big = vec![1u8; 4 * 1024 * 1024];
        assert!(over_budget());
        drop(big);
        assert!(!over_budget());
    }
}
