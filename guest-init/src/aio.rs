//! io_setup/io_destroy calls and what the probe observes around them:
//! the common call fields, the ring header and the /proc/self/maps line.

use crate::files;
use crate::json::Obj;
use crate::parse;
use crate::sys::{self, SysRet};
use kmatrix_proto::obs::{self, key};

/// struct aio_ring's header is eight u32 fields (32 bytes).
const RING_HEADER_BYTES: u64 = 32;

/// One io_setup call and the ring header: the observation's own types.
pub use kmatrix_proto::obs::{Call, Ring};

/// io_setup(nr_events, &ctx) with ctx preset to `initial`.
pub fn setup(nr_events: u32, initial: u64) -> Call {
    setup_watched(nr_events, initial).0
}

/// What a 32-bit build puts in the word after its 4-byte aio_context_t:
/// the kernel's compat io_setup stores 32 bits and must leave it alone.
pub const NEXT_WORD_SENTINEL: u32 = 0x5e17_1e15;

/// io_setup(nr_events, &ctx) with ctx preset to `initial` (its low 32
/// bits in a 32-bit build), and, in a 32-bit build, the word after the
/// handle as the call left it (the sentinel, unless the kernel wrote a
/// 64-bit handle there); None in a 64-bit build, whose handle is 8 bytes.
pub fn setup_watched(nr_events: u32, initial: u64) -> (Call, Option<u64>) {
    // The handle and, right after it, the watched word (8 bytes in all in
    // a 32-bit build; the second word is unused in a 64-bit one).
    let mut slot: [sys::AioContext; 2] = [
        initial as sys::AioContext,
        sys::AioContext::from(NEXT_WORD_SENTINEL),
    ];
    // SAFETY: slot is a live, aligned local that no reference aliases; the
    // kernel writes at most one aio_context_t at its start.
    let r = unsafe { sys::io_setup(nr_events, slot.as_mut_ptr()) };
    // SAFETY: slot is live; volatile because the kernel wrote it.
    let [handle, next]: [sys::AioContext; 2] = unsafe { std::ptr::read_volatile(&slot) };
    let call = Call {
        nr_events: nr_events.into(),
        ret: r.into(),
        handle: sys::ctx_value(handle),
    };
    let next = if cfg!(target_pointer_width = "32") {
        Some(sys::ctx_value(next))
    } else {
        None
    };
    (call, next)
}

/// {"ret":…, "errno":…} of a plain syscall result.
pub fn sysret_obj(r: SysRet) -> Obj {
    obs::SysRet::from(r).to_obj()
}

/// Adds `<prefix>_ret` and `<prefix>_errno`.
pub fn put_sysret(o: &mut Obj, prefix: &str, r: SysRet) {
    obs::SysRet::from(r).put_as(o, prefix);
}

/// Reads the ring header at `handle`.
///
/// # Safety
/// `handle` must be 4-byte aligned and the start of at least 32 readable
/// bytes that stay mapped for the duration of the call.
pub unsafe fn read_ring(handle: u64) -> Ring {
    let p = handle as usize as *const u32;
    let mut w = [0u32; 8];
    for (i, slot) in w.iter_mut().enumerate() {
        // Volatile: the kernel may update head/tail behind our back.
        *slot = std::ptr::read_volatile(p.add(i));
    }
    Ring {
        id: w[0],
        nr: w[1],
        head: w[2],
        tail: w[3],
        magic: w[4],
        compat_features: w[5],
        incompat_features: w[6],
        header_length: w[7],
    }
}

/// Reads the ring header of a handle io_setup just returned, relying on the
/// kernel's contract that a successful io_setup stores the address of the
/// new ring mapping. Used where re-reading /proc/self/maps per context
/// would be too slow (table.many); elsewhere use `inspect`.
pub fn ring_of_fresh_handle(c: &Call) -> Option<Ring> {
    if !c.ok() || c.handle == 0 || c.handle & 3 != 0 {
        return None;
    }
    // SAFETY: see above; the context is not destroyed before we return.
    Some(unsafe { read_ring(c.handle) })
}

/// The /proc/self/maps line covering `handle`, if any.
pub fn maps_line(handle: u64) -> Option<String> {
    let maps = files::self_maps();
    parse::maps_covering(&maps, handle).map(|e| e.line.to_string())
}

/// Number of aio ring mappings in /proc/self/maps.
pub fn aio_maps_count() -> u64 {
    parse::maps_count_containing(&files::self_maps(), "[aio]")
}

/// The maps line covering `handle` and, if that mapping is readable and
/// large enough, the ring header read from it. Checking maps first means a
/// surprising handle cannot make us fault.
pub fn inspect(handle: u64) -> (Option<String>, Option<Ring>) {
    let maps = files::self_maps();
    let entry = match parse::maps_covering(&maps, handle) {
        Some(e) => e,
        None => return (None, None),
    };
    let readable = entry.perms.starts_with('r');
    let room = entry.end - handle >= RING_HEADER_BYTES;
    let ring = if readable && room && handle & 3 == 0 {
        // SAFETY: the mapping is readable, covers 32 bytes from the aligned
        // handle, and nothing unmaps it before read_ring returns.
        Some(unsafe { read_ring(handle) })
    } else {
        None
    };
    (Some(entry.line.to_string()), ring)
}

/// For a successful call: ring, maps_line, then io_destroy and
/// destroy_ret, destroy_errno, aio_nr_after_destroy. All null otherwise
/// (nothing to inspect or destroy), so every record has the same keys.
pub fn put_success_details(o: &mut Obj, c: &Call) {
    if c.ok() {
        let (line, ring) = inspect(c.handle);
        o.opt_obj(key::RING, ring.map(Ring::to_obj).as_ref())
            .opt_str(key::MAPS_LINE, line.as_deref());
        let d = sys::io_destroy(c.handle);
        put_sysret(o, key::DESTROY, d);
        o.opt_u64(key::AIO_NR_AFTER_DESTROY, files::aio_nr());
    } else {
        o.null(key::RING).null(key::MAPS_LINE);
        obs::SysRet::put_null_as(o, key::DESTROY);
        o.null(key::AIO_NR_AFTER_DESTROY);
    }
}
