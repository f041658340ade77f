//! A closed output pipe ends the command quietly, as it ends `cat` or `seq`.
//!
//! Rust programs start with `SIGPIPE` ignored, so a write to a pipe whose
//! reader has gone (`bootmem bench | head -3`) returns an error, and
//! `println!` panics on it. The command prints its reports through
//! `println!`; restoring the default action makes the kernel end the
//! process at that write instead, with no message, which is what a user
//! piping a report into `head` expects.

/// Restores the default action of `SIGPIPE` (on Linux; elsewhere nothing).
pub fn end_quietly_on_closed_pipe() {
    #[cfg(target_os = "linux")]
    // SAFETY: setting a signal's action to `SIG_DFL` installs no handler
    // and touches no memory of this process; it is done once, at the
    // start of `main`, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
