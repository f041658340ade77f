//! The kernel command line: the file `\EFI\BOOT\CMDLINE.TXT` on the boot volume, else the image's load options when they are text.
//!
//! QEMU's `-append` reaches only kernels it loads itself; a UEFI
//! application gets its arguments as load options from a boot entry or a
//! shell. The removable-media boot the tests use has no arguments (OVMF
//! puts a binary GUID there), so the tests write the command line into a
//! file next to the kernel.

use spin::Once;
use uefi::boot;
use uefi::proto::loaded_image::LoadedImage;
use uefi::proto::media::file::{File, FileAttribute, FileMode};
use uefi::{cstr16, CStr16};

/// The longest command line kept.
const CAPACITY: usize = 512;

/// The file holding the command line, on the volume the kernel came from.
const FILE: &CStr16 = cstr16!("\\EFI\\BOOT\\CMDLINE.TXT");

struct Text {
    bytes: [u8; CAPACITY],
    length: usize,
}

static COMMAND_LINE: Once<Text> = Once::new();

/// The command line as printable ASCII, read once (before `ExitBootServices`).
pub fn read() -> &'static str {
    let text = COMMAND_LINE.call_once(|| {
        let mut text = Text {
            bytes: [0; CAPACITY],
            length: 0,
        };
        if !from_file(&mut text) {
            from_load_options(&mut text);
        }
        text
    });
    core::str::from_utf8(&text.bytes[..text.length]).unwrap_or("")
}

/// Appends `byte` if it is printable ASCII (a newline becomes a space).
fn push(text: &mut Text, byte: u8) -> bool {
    let byte = match byte {
        b'\n' | b'\r' | b'\t' => b' ',
        0x20..=0x7e => byte,
        _ => return false,
    };
    match text.bytes.get_mut(text.length) {
        Some(slot) => {
            *slot = byte;
            text.length += 1;
            true
        }
        None => false,
    }
}

fn from_file(text: &mut Text) -> bool {
    let Ok(mut volume) = boot::get_image_file_system(boot::image_handle()) else {
        return false;
    };
    let Ok(mut root) = volume.open_volume() else {
        return false;
    };
    let Ok(handle) = root.open(FILE, FileMode::Read, FileAttribute::empty()) else {
        return false;
    };
    let Some(mut file) = handle.into_regular_file() else {
        return false;
    };
    let mut buffer = [0u8; CAPACITY];
    let Ok(length) = file.read(&mut buffer) else {
        return false;
    };
    for &byte in &buffer[..length] {
        if !push(text, byte) {
            break;
        }
    }
    true
}

/// Load options count only when they are UCS-2 printable text up to a NUL.
fn from_load_options(text: &mut Text) {
    let Ok(loaded) = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle()) else {
        return;
    };
    let Some(bytes) = loaded.load_options_as_bytes() else {
        return;
    };
    for unit in bytes.chunks_exact(2) {
        let unit = u16::from_le_bytes([unit[0], unit[1]]);
        if unit == 0 {
            break;
        }
        let printable = u8::try_from(unit)
            .ok()
            .filter(|byte| (0x20..=0x7e).contains(byte));
        match printable {
            Some(byte) if push(text, byte) => {}
            _ => {
                // Binary data (or too long): not a command line.
                text.length = 0;
                return;
            }
        }
    }
}
