//! The virt machine's PL011 UART at 0x0900_0000, and the semihosting exit.

const UART: usize = 0x0900_0000;
const DATA: usize = UART;
const FLAGS: usize = UART + 0x18;
const TRANSMIT_FULL: u32 = 1 << 5;

fn write_byte(byte: u8) {
    // SAFETY: the PL011's data and flag registers on QEMU virt, mapped as device memory.
    unsafe {
        while core::ptr::read_volatile(FLAGS as *const u32) & TRANSMIT_FULL != 0 {
            core::hint::spin_loop();
        }
        core::ptr::write_volatile(DATA as *mut u32, u32::from(byte));
    }
}

/// Writes `text`, turning `\n` into `\r\n`. QEMU's PL011 needs no set-up.
pub fn write(text: &str) {
    for byte in text.bytes() {
        if byte == b'\n' {
            write_byte(b'\r');
        }
        write_byte(byte);
    }
}

/// `SYS_EXIT`'s reason for a normal application exit, with a status.
const APPLICATION_EXIT: u64 = 0x2_0026;
/// The semihosting operation number of `SYS_EXIT`.
const SYS_EXIT: u64 = 0x18;

/// Stops QEMU through semihosting `SYS_EXIT` (QEMU needs `-semihosting`),
/// which exits with the status's code.
pub fn exit(status: crate::Status) -> ! {
    let block = [APPLICATION_EXIT, u64::from(status.code())];
    // SAFETY: the semihosting call reads the two-word block and stops QEMU;
    // without -semihosting the instruction traps into our vectors (FAIL).
    unsafe {
        core::arch::asm!(
            "hlt #0xf000",
            in("x0") SYS_EXIT,
            in("x1") block.as_ptr(),
            options(nostack)
        );
    }
    loop {
        core::hint::spin_loop();
    }
}
