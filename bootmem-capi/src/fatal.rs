//! Linux's `panic()` for the C side: a handler the C code sets, then an abort.

use core::ffi::c_char;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};

/// A function the C side sets to hear of a fatal failure; it receives a
/// NUL-terminated message such as `bootmem alloc of 4096 bytes failed!`.
/// If it returns, the process (or kernel) is aborted.
pub type BootmemPanicHandler = Option<unsafe extern "C" fn(message: *const c_char)>;

static PANIC_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Sets the function the panicking allocations call before aborting, as
/// Linux's `panic()` would run; `NULL` restores a plain abort.
///
/// # Safety
///
/// `handler` must be a valid function (or `NULL`) for as long as it is set.
#[no_mangle]
pub unsafe extern "C" fn bootmem_set_panic_handler(handler: BootmemPanicHandler) {
    PANIC_HANDLER.store(
        handler.map_or(0, |function| function as usize),
        Ordering::Release,
    );
}

/// A message formatted without a heap, truncated to fit, NUL-terminated.
struct Message {
    bytes: [u8; 160],
    length: usize,
}

impl Message {
    fn new(text: &dyn fmt::Display) -> Self {
        let mut message = Self {
            bytes: [0; 160],
            length: 0,
        };
        // Writing never fails: a long message is truncated.
        let _ = write!(message, "{text}");
        message
    }

    /// The NUL-terminated text.
    fn as_ptr(&self) -> *const c_char {
        self.bytes.as_ptr().cast()
    }
}

impl Write for Message {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Keep the last byte for the NUL; never write an interior NUL.
        let room = self.bytes.len() - 1 - self.length;
        for (slot, byte) in self.bytes[self.length..]
            .iter_mut()
            .zip(text.bytes().filter(|byte| *byte != 0).take(room))
        {
            *slot = byte;
            self.length += 1;
        }
        Ok(())
    }
}

/// Calls the C handler with `message`, then aborts.
pub(crate) fn fatal(message: &dyn fmt::Display) -> ! {
    let handler = PANIC_HANDLER.load(Ordering::Acquire);
    if handler != 0 {
        let text = Message::new(message);
        // SAFETY: a non-zero value was stored from a valid function pointer
        // of this type by `bootmem_set_panic_handler`.
        let function =
            unsafe { core::mem::transmute::<usize, unsafe extern "C" fn(*const c_char)>(handler) };
        // SAFETY: the handler's contract; `text` is NUL-terminated and
        // outlives the call.
        unsafe { function(text.as_ptr()) };
    }
    abort()
}

/// Ends the program: `abort()` with the standard library, else a halt
/// loop (a freestanding kernel has nothing to return to).
fn abort() -> ! {
    #[cfg(feature = "std")]
    std::process::abort();
    #[cfg(not(feature = "std"))]
    loop {
        core::hint::spin_loop();
    }
}

/// A Rust panic in the freestanding library (none is expected: every
/// failure is reported through return values) goes to the C handler too.
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn on_panic(_information: &core::panic::PanicInfo<'_>) -> ! {
    fatal(&"bootmem-capi: internal error (Rust panic)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_nul_terminated_and_truncated() {
        let short = Message::new(&format_args!("bootmem alloc of {} bytes failed!", 4096));
        assert_eq!(
            &short.bytes[..short.length],
            b"bootmem alloc of 4096 bytes failed!"
        );
        assert_eq!(short.bytes[short.length], 0);
        let long = Message::new(&"x".repeat(1000));
        assert_eq!(long.length, 159);
        assert_eq!(long.bytes[159], 0);
        let with_nul = Message::new(&"a\0b");
        assert_eq!(&with_nul.bytes[..with_nul.length], b"ab");
    }
}
