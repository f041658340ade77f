//! Stopping the machine with a pass or fail status, and the panic handler that fails.

use core::panic::PanicInfo;

use crate::console::{platform, print_unlocked};

/// How a run ended. Each architecture turns it into a QEMU exit code:
/// [`Status::PASS_CODE`] or [`Status::FAIL_CODE`]. Zero is neither, because
/// a triple fault (x86) or a firmware shutdown (OpenSBI) also exits 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every check held.
    Pass,
    /// A check failed, the kernel panicked or trapped.
    Fail,
}

impl Status {
    /// QEMU's exit code for a pass, on every architecture.
    pub const PASS_CODE: u32 = 33;
    /// QEMU's exit code for a failure, on every architecture.
    pub const FAIL_CODE: u32 = 35;

    /// The exit code QEMU should report.
    pub const fn code(self) -> u32 {
        match self {
            Self::Pass => Self::PASS_CODE,
            Self::Fail => Self::FAIL_CODE,
        }
    }
}

/// Stops the machine with `status`.
pub fn exit(status: Status) -> ! {
    match platform() {
        Some(platform) => (platform.exit)(status),
        // No exit device registered: spin, so that the harness's timeout
        // reports it as a failure (never as a pass).
        None => loop {
            core::hint::spin_loop();
        },
    }
}

/// Prints `FAIL: reason` and stops the machine with a failure.
pub fn fail(reason: core::fmt::Arguments<'_>) -> ! {
    print_unlocked(format_args!("\nFAIL: {reason}\n"));
    exit(Status::Fail)
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    match info.location() {
        Some(location) => fail(format_args!("panic: {} at {location}", info.message())),
        None => fail(format_args!("panic: {}", info.message())),
    }
}
