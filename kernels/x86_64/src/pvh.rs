//! The PVH boot information (`hvm_start_info`): the e820-style memory map (read by `bootmem-firmware`), the command line and the RSDP.

use bootmem_firmware::{e820, Policy};
use kernel_common::{println, FirmwareMap, KernelRegions, Region};

/// `hvm_start_info.magic`.
const START_INFO_MAGIC: u32 = 0x336e_c578;

/// `struct hvm_start_info` (version 1), as the PVH ABI lays it out.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    module_count: u32,
    module_list: u64,
    command_line: u64,
    rsdp: u64,
    memory_map: u64,
    memory_map_entries: u32,
    reserved: u32,
}

/// `struct hvm_memmap_table_entry`.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct MemoryMapEntry {
    address: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// `struct hvm_modlist_entry`.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct ModuleEntry {
    address: u64,
    size: u64,
    command_line: u64,
    reserved: u64,
}

/// What the kernel takes from the boot information.
pub struct BootInfo {
    /// The RSDP's physical address, 0 if none.
    pub rsdp: u64,
    /// The command line (QEMU's `-append`), empty if none.
    pub command_line: &'static str,
}

/// Reads `value` from physical memory.
///
/// # Safety
///
/// `address` must hold a `T` in identity-mapped memory.
unsafe fn read_physical<T: Copy>(address: u64) -> T {
    // SAFETY: the caller vouches for the address; the PVH structures may be unaligned.
    unsafe { core::ptr::read_unaligned(address as *const T) }
}

/// The length of the NUL-terminated string at `address`, at most `limit`.
///
/// # Safety
///
/// `address` must be identity-mapped and readable up to its NUL or `limit`.
unsafe fn string_length(address: u64, limit: u64) -> u64 {
    let mut length = 0;
    // SAFETY: forwarded from the caller, one byte at a time.
    while length < limit && unsafe { read_physical::<u8>(address + length) } != 0 {
        length += 1;
    }
    length
}

/// Reads the boot information at `start_info`: its memory map into
/// `firmware`, and its own location (the structure, the map, the command
/// line, the modules) into `regions`, because the map leaves all of them
/// inside RAM.
pub fn read(start_info: u64, firmware: &mut FirmwareMap, regions: &mut KernelRegions) -> BootInfo {
    // SAFETY: QEMU's PVH loader passes the address of a `hvm_start_info` in
    // %ebx; boot.rs identity-maps the low 128 GiB, and the magic is checked next.
    let info: StartInfo = unsafe { read_physical(start_info) };
    if info.magic != START_INFO_MAGIC {
        kernel_common::exit::fail(format_args!(
            "hvm_start_info at {start_info:#x} has magic {:#x}, not {START_INFO_MAGIC:#x}",
            { info.magic }
        ));
    }
    println!(
        "hvm_start_info @ {start_info:#x}: version {} memmap @ {:#x} ({} entries) cmdline @ {:#x} rsdp @ {:#x}",
        info.version, info.memory_map, info.memory_map_entries, info.command_line, info.rsdp
    );
    // Read (copied into `info`) before the set-up: boot information.
    regions.push(Region::boot_information(
        "hvm_start_info",
        start_info,
        start_info + core::mem::size_of::<StartInfo>() as u64,
    ));
    if info.version < 1 || info.memory_map == 0 || info.memory_map_entries == 0 {
        kernel_common::exit::fail(format_args!(
            "the boot information has no memory map (version {})",
            info.version
        ));
    }
    let entry_size = core::mem::size_of::<MemoryMapEntry>() as u64;
    let table_bytes = u64::from(info.memory_map_entries) * entry_size;
    regions.push(Region::new(
        "PVH memory map",
        info.memory_map,
        info.memory_map + table_bytes,
    ));
    // SAFETY: the table holds `memory_map_entries` entries at `memory_map`,
    // identity-mapped, and the kernel reserves it: it stays as it is.
    let table =
        unsafe { core::slice::from_raw_parts(info.memory_map as *const u8, table_bytes as usize) };
    kernel_common::firmware::added(
        "PVH memory map",
        e820::add_entries(table, entry_size as usize, firmware, Policy::Strict),
    );
    let mut command_line = "";
    if info.command_line != 0 {
        // SAFETY: the PVH ABI gives a NUL-terminated string at `cmdline_paddr`.
        let length = unsafe { string_length(info.command_line, 4096) };
        regions.push(Region::new(
            "command line",
            info.command_line,
            info.command_line + length + 1,
        ));
        // SAFETY: `length` bytes at `cmdline_paddr` were just read; the kernel
        // reserves them, so they stay as they are for the whole run.
        let bytes =
            unsafe { core::slice::from_raw_parts(info.command_line as *const u8, length as usize) };
        command_line = core::str::from_utf8(bytes).unwrap_or("");
    }
    if info.module_count != 0 && info.module_list != 0 {
        let module_size = core::mem::size_of::<ModuleEntry>() as u64;
        regions.push(Region::new(
            "module list",
            info.module_list,
            info.module_list + u64::from(info.module_count) * module_size,
        ));
        for index in 0..u64::from(info.module_count) {
            // SAFETY: the list holds `nr_modules` entries at `modlist_paddr`.
            let module: ModuleEntry =
                unsafe { read_physical(info.module_list + index * module_size) };
            regions.push(Region::new(
                "module",
                module.address,
                module.address.saturating_add(module.size),
            ));
        }
    }
    BootInfo {
        rsdp: info.rsdp,
        command_line,
    }
}
