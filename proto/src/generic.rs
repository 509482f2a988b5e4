//! Arguments of the generic cases: runner/src/spec/cases.rs computes them from
//! spec/, guest-init/src/family_catalogue.rs (generated from that) carries
//! them into the guest, which turns each into a register value.

/// One syscall argument of a generic case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// The register value as is.
    Int(u64),
    /// A fresh context from io_setup(8).
    Ctx,
    /// A context that was created and destroyed.
    DeadCtx,
    /// A zeroed, writable page.
    Buf,
    Null,
    /// A page that was mapped and unmapped again (made last, so no later
    /// mapping fills the hole).
    Unmapped,
    /// A zeroed page mapped PROT_READ.
    ReadOnly,
    /// An iocb (at the start of its own page) of an IOCB_CMD_POLL on an
    /// idle pipe, submitted to the `Ctx` context and still pending: what
    /// io_cancel can cancel.
    PendingPoll,
    /// The same, its page made PROT_READ after io_submit wrote aio_key.
    ReadOnlyPendingPoll,
}
