//! The gate: how `close` (or a failure) knows that every send which will return `Ok`
//! has reached the mailbox.
//!
//! crossbeam's channel cannot be closed from the sending side while other senders
//! live, nor closed from the receiving side without discarding what it holds. So the
//! runner keeps its own open/shut flag, and every handle its own *busy* flag:
//!
//! ```text
//! sender                               runner, once the gate is shut
//! busy = true                          (state = Closed|Failed happened before this)
//! fence(SeqCst)                        loop: drain the mailbox;
//! if state != Open → busy = false,           fence(SeqCst)
//!                    refuse the item         if no slot is busy: drain once more, done
//! push into the mailbox
//! busy = false       (Release)
//! ```
//!
//! This is Dekker's pattern with fences: the two `SeqCst` fences are totally ordered,
//! so either the runner's loads come after the sender's flag (it sees the sender busy,
//! and waits for its push, draining meanwhile so that a push blocked on a full mailbox
//! completes), or the sender's load comes after the shutting store (it sees the gate
//! shut and hands its item back). A busy flag seen clear was cleared with `Release`
//! after the push, so the final drain finds that item. No accepted item is left
//! behind; none arrives later. (Fences rather than `SeqCst` accesses because loom
//! models fences exactly but treats `SeqCst` accesses as `AcqRel`.)
//!
//! Each handle owns its slot, padded to its own cache line, so senders on different
//! threads never write to a shared line: per send, one fence, one plain store to set
//! the flag and one to clear it. `tests/loom_gate.rs` model-checks the protocol with a
//! mutex-guarded queue standing in for the channel.
//!
//! The fence pair is asymmetric where Linux offers `membarrier` (private expedited),
//! as in `consumer-process`'s doorbell: the sender, once per send, has only a
//! compiler fence; the runner, once per look at the slots (only while shutting
//! down), makes the kernel run a full barrier on every thread of the process. That
//! gives the guarantee of the two `SeqCst` fences (the runner's barrier orders each
//! sender's flag store before or after its state load) at the price of a syscall per
//! look instead of a locked instruction per send, which waited for the sender's
//! stores to drain and cost a tenth of the per-item rate. Elsewhere, and in the loom
//! model, both sides use `SeqCst` fences.

// `pub` so that loom builds can export the gate to `tests/loom_gate.rs`.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use std::sync::atomic::Ordering as StdOrdering;

use crate::sync::{Arc, AtomicBool, AtomicU8, Mutex, Ordering, model_lock as lock};

/// Where the gate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Sends are accepted.
    Open,
    /// `close` was called: sends are refused as closed.
    Closed,
    /// The consumer failed or panicked: sends are refused with that failure.
    Failed,
}

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

fn decode(s: u8) -> State {
    match s {
        OPEN => State::Open,
        CLOSED => State::Closed,
        _ => State::Failed,
    }
}

/// One handle's busy flag, alone on its cache line with the count of the items its
/// sends have put in the mailbox (written by its handle alone; read by `stats`).
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Slot {
    busy: AtomicBool,
    /// Not part of the protocol: std's atomic even in a loom model.
    accepted: std::sync::atomic::AtomicU64,
}

/// A handle's hold on its slot (loom's `Arc` in a model).
pub(crate) type SlotRef = Arc<Slot>;

/// The open/shut state and the slots of every live handle.
#[derive(Debug)]
pub struct Gate {
    state: AtomicU8,
    slots: Mutex<Vec<Arc<Slot>>>,
    /// Items accepted through the slots already unregistered.
    retired: std::sync::atomic::AtomicU64,
}

/// Proof that a send passed an open gate; dropping it clears the slot's busy flag.
#[derive(Debug)]
#[must_use = "the gate counts the send as in flight until the pass is dropped"]
pub struct Pass<'a> {
    slot: &'a Slot,
}

impl Pass<'_> {
    /// Counts `n` more items accepted through this slot. Only the slot's handle
    /// writes the count, so a load and a store do (no read-modify-write).
    #[inline]
    pub fn accepted(&self, n: u64) {
        let c = &self.slot.accepted;
        c.store(c.load(StdOrdering::Relaxed) + n, StdOrdering::Relaxed);
    }
}

impl Drop for Pass<'_> {
    #[inline]
    fn drop(&mut self) {
        self.slot.busy.store(false, Ordering::Release);
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

impl Gate {
    /// An open gate with no slots.
    pub fn new() -> Gate {
        // Registers with `membarrier` now, before any send relies on it.
        let _ = pair::asymmetric();
        Gate {
            state: AtomicU8::new(OPEN),
            slots: Mutex::new(Vec::new()),
            retired: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Adds a slot for a new handle; returns it and how many slots there are now.
    pub fn register(&self) -> Arc<Slot> {
        let slot = Arc::new(Slot::default());
        lock(&self.slots).push(Arc::clone(&slot));
        slot
    }

    /// Removes a handle's slot; returns how many slots remain.
    pub fn unregister(&self, slot: &Arc<Slot>) -> usize {
        let mut slots = lock(&self.slots);
        if let Some(at) = slots.iter().position(|s| Arc::ptr_eq(s, slot)) {
            let gone = slots.swap_remove(at);
            let n = gone.accepted.load(StdOrdering::Relaxed);
            self.retired.fetch_add(n, StdOrdering::Relaxed);
        }
        slots.len()
    }

    /// Marks `slot` busy and checks the gate: `Ok` while open (push, then drop the
    /// pass), else the state that refuses the send.
    ///
    /// A slot serves one send at a time: its handle is not `Sync`.
    #[inline]
    pub fn enter<'a>(&self, slot: &'a Slot) -> Result<Pass<'a>, State> {
        slot.busy.store(true, Ordering::Relaxed);
        pair::light();
        match self.state.load(Ordering::Acquire) {
            OPEN => Ok(Pass { slot }),
            shut => {
                slot.busy.store(false, Ordering::Release);
                Err(decode(shut))
            }
        }
    }

    /// Shuts an open gate as `Closed`; `false` if it was already shut.
    pub fn close(&self) -> bool {
        self.state
            .compare_exchange(OPEN, CLOSED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Shuts the gate as `Failed`, whatever it was.
    pub fn fail(&self) {
        self.state.store(FAILED, Ordering::SeqCst);
    }

    /// The current state.
    pub fn state(&self) -> State {
        decode(self.state.load(Ordering::SeqCst))
    }

    /// How many items every handle, live or gone, has put in the mailbox.
    pub fn accepted(&self) -> u64 {
        let slots = lock(&self.slots);
        let live: u64 = slots
            .iter()
            .map(|s| s.accepted.load(StdOrdering::Relaxed))
            .sum();
        live + self.retired.load(StdOrdering::Relaxed)
    }

    /// Is no send in flight? Once the gate is shut and this returns `true`, every
    /// accepted item is in the mailbox and no more will come.
    pub fn is_quiet(&self) -> bool {
        let slots = lock(&self.slots);
        pair::heavy();
        slots.iter().all(|s| !s.busy.load(Ordering::Acquire))
    }
}

/// The fence pair of the protocol: on Linux an asymmetric pair (a compiler fence on
/// the sender's side, `membarrier` on the runner's); elsewhere a `SeqCst` fence on
/// each side.
#[cfg(all(target_os = "linux", not(loom)))]
mod pair {
    use std::sync::OnceLock;
    use std::sync::atomic::{Ordering, compiler_fence, fence};

    use rustix::thread::{MembarrierCommand, membarrier};

    /// Whether this process may use `membarrier` (registered once, on first use:
    /// the first runner's creation, before any of its sends).
    #[inline]
    pub(super) fn asymmetric() -> bool {
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        *REGISTERED.get_or_init(|| membarrier(MembarrierCommand::RegisterPrivateExpedited).is_ok())
    }

    /// The sender's side, once per send.
    #[inline(always)]
    pub(super) fn light() {
        if asymmetric() {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The runner's side, once per look at the slots: a full barrier on every thread
    /// of the process (or, without `membarrier`, on this one, the senders fencing
    /// too).
    pub(super) fn heavy() {
        if !asymmetric() || membarrier(MembarrierCommand::PrivateExpedited).is_err() {
            fence(Ordering::SeqCst);
        }
    }
}

/// In the model, and off Linux: a `SeqCst` fence on each side (loom checks fences,
/// not the kernel's `membarrier`).
#[cfg(any(not(target_os = "linux"), loom))]
mod pair {
    use crate::sync::{Ordering, fence};

    pub(super) fn asymmetric() -> bool {
        false
    }

    #[inline(always)]
    pub(super) fn light() {
        fence(Ordering::SeqCst);
    }

    pub(super) fn heavy() {
        fence(Ordering::SeqCst);
    }
}
