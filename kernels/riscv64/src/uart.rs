//! The virt machine's NS16550A UART at 0x1000_0000 and its SiFive test device (the exit) at 0x10_0000.

const UART: usize = 0x1000_0000;
const TRANSMIT: usize = UART;
const LINE_STATUS: usize = UART + 5;
const TRANSMIT_EMPTY: u8 = 1 << 5;
const TEST_DEVICE: usize = 0x10_0000;
/// The SiFive test device's "fail with code" command: QEMU exits with the code in the upper 16 bits.
const TEST_FAIL: u32 = 0x3333;

fn write_byte(byte: u8) {
    // SAFETY: the UART's registers on QEMU virt; MMIO reads and writes of one byte.
    unsafe {
        while core::ptr::read_volatile(LINE_STATUS as *const u8) & TRANSMIT_EMPTY == 0 {
            core::hint::spin_loop();
        }
        core::ptr::write_volatile(TRANSMIT as *mut u8, byte);
    }
}

/// Writes `text`, turning `\n` into `\r\n`. OpenSBI has set the UART up.
pub fn write(text: &str) {
    for byte in text.bytes() {
        if byte == b'\n' {
            write_byte(b'\r');
        }
        write_byte(byte);
    }
}

/// Stops QEMU with the status's exit code. The test device's "pass" command
/// (0x5555) exits 0, which OpenSBI's own shutdown also produces, so a pass
/// uses the "fail with code" command with code 33 instead.
pub fn exit(status: kernel_common::Status) -> ! {
    // SAFETY: one 32-bit MMIO write to the SiFive test device on QEMU virt.
    unsafe {
        core::ptr::write_volatile(TEST_DEVICE as *mut u32, (status.code() << 16) | TEST_FAIL)
    };
    loop {
        // SAFETY: waiting for an interrupt only stops this hart (they are off).
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}
