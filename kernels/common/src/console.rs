//! The kernel's console: `print!`/`println!` over whatever serial port the architecture registered.

use core::fmt::{self, Write};

use spin::{Mutex, Once};

/// What an architecture provides: a way to write bytes and a way to stop the machine.
pub struct Platform {
    /// Writes a string to the serial port, blocking until it is sent.
    pub write: fn(&str),
    /// Stops the machine with a status QEMU turns into its exit code.
    pub exit: fn(crate::Status) -> !,
}

static PLATFORM: Once<Platform> = Once::new();
static CONSOLE_LOCK: Mutex<()> = Mutex::new(());

/// Registers the architecture's serial port and exit device. Call it first
/// thing; a second call is ignored.
pub fn register(platform: Platform) {
    PLATFORM.call_once(|| platform);
}

pub(crate) fn platform() -> Option<&'static Platform> {
    PLATFORM.get()
}

struct Console;

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if let Some(platform) = platform() {
            (platform.write)(text);
        }
        Ok(())
    }
}

/// Formats `arguments` onto the console (the `print!` macro's back end).
pub fn print(arguments: fmt::Arguments<'_>) {
    // A panic while printing would try to print again: never wait for the
    // lock there, print over whatever was being printed.
    let _guard = CONSOLE_LOCK.try_lock();
    let _ = Console.write_fmt(arguments);
}

/// Formats `arguments` onto the console without taking the lock (for the
/// panic and trap handlers, which may interrupt a print).
pub fn print_unlocked(arguments: fmt::Arguments<'_>) {
    let _ = Console.write_fmt(arguments);
}

/// Prints to the serial console.
#[macro_export]
macro_rules! print {
    ($($argument:tt)*) => { $crate::console::print(format_args!($($argument)*)) };
}

/// Prints a line to the serial console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($argument:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($argument)*))) };
}
