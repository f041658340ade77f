//! Page tables built with the `x86_64` crate, every frame (tables, 4 KiB and 2 MiB pages) from bootmem.
//!
//! A kernel passes its `BootAllocator` to `Mapper::map_to` as the frame
//! allocator. Here the "physical memory" is 64 MiB of host memory, reached
//! at a fixed offset (the host address of its first byte), which is exactly
//! how a kernel with a direct map reaches its RAM: `OffsetMapped` zeroes
//! each frame there and `OffsetPageTable` walks the tables there.
//!
//! Run: `cargo run -p bootmem --example x86_64_paging --features x86_64`

use std::alloc::{alloc_zeroed, Layout};

use bootmem::memory::OffsetMapped;
use bootmem::{
    BootAllocator, Configuration, NodeId, PageFrameNumber, PhysicalAddress, ReserveMode,
};
use x86_64::structures::paging::mapper::{MappedFrame, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size2MiB,
    Size4KiB, Translate,
};
use x86_64::{PhysAddr, VirtAddr};

const RAM_BYTES: u64 = 64 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Simulated RAM: physical [0, 64 MiB) lives at host address `offset`.
    let layout = Layout::from_size_align(RAM_BYTES as usize, 1 << 21)?;
    // SAFETY: the layout's size is not zero; the memory is never freed.
    let ram = unsafe { alloc_zeroed(layout) };
    assert!(!ram.is_null(), "no host memory");
    let offset = ram as u64;
    // SAFETY: every physical address of the node below is inside `ram`,
    // which lives (leaked) for the rest of the program.
    let memory = unsafe { OffsetMapped::with_offset(offset) };

    let pages = RAM_BYTES / 4096;
    let mut allocator: BootAllocator<Vec<u64>, OffsetMapped, 1> =
        BootAllocator::new(Configuration::X86_64, memory);
    let storage = vec![0; bootmem::node_storage_words(pages) as usize];
    allocator.register_node(
        NodeId::new(0),
        PageFrameNumber::new(0)..PageFrameNumber::new(pages),
        storage,
        None,
    )?;
    allocator.free(PhysicalAddress::new(0), RAM_BYTES)?;
    allocator.reserve(
        PhysicalAddress::new(0x10_0000),
        0x40_0000,
        ReserveMode::Exclusive,
    )?; // "the kernel"

    // The top-level table, zeroed by the allocator.
    let level_4: PhysFrame<Size4KiB> = allocator.allocate_frame().ok_or("no frame")?;
    // SAFETY: the frame is ours, zeroed, inside `ram`, aligned to 4 KiB
    // (the host buffer is 2 MiB aligned); nothing else refers to it.
    let table = unsafe { &mut *((offset + level_4.start_address().as_u64()) as *mut PageTable) };
    // SAFETY: all of physical memory the tables use is mapped at `offset`.
    let mut mapper = unsafe { OffsetPageTable::new(table, VirtAddr::new(offset)) };
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;

    // A 4 KiB page of the kernel's heap and a 2 MiB page of its direct map.
    let small_page = Page::<Size4KiB>::containing_address(VirtAddr::new(0xffff_c000_0000_0000));
    let small_frame: PhysFrame<Size4KiB> = allocator.allocate_frame().ok_or("no frame")?;
    let huge_page = Page::<Size2MiB>::containing_address(VirtAddr::new(0xffff_8000_0020_0000));
    let huge_frame: PhysFrame<Size2MiB> = allocator.allocate_frame().ok_or("no frame")?;
    // SAFETY: both frames are fresh from bootmem and mapped nowhere else;
    // the page tables are simulated, so nothing needs flushing.
    unsafe {
        mapper
            .map_to(small_page, small_frame, flags, &mut allocator)
            .map_err(|error| format!("{error:?}"))?
            .ignore();
        mapper
            .map_to(huge_page, huge_frame, flags, &mut allocator)
            .map_err(|error| format!("{error:?}"))?
            .ignore();
    }

    let probe = small_page.start_address() + 0x123u64;
    assert_eq!(
        mapper.translate_addr(probe),
        Some(small_frame.start_address() + 0x123u64)
    );
    match mapper.translate(huge_page.start_address()) {
        TranslateResult::Mapped {
            frame: MappedFrame::Size2MiB(frame),
            ..
        } => assert_eq!(frame, huge_frame),
        other => panic!("the 2 MiB page is not mapped as one: {other:?}"),
    }
    assert_eq!(huge_frame.start_address().as_u64() % (2 << 20), 0);
    assert!(
        small_frame.start_address() >= PhysAddr::new(0x100_0000),
        "bootmem's goal keeps ISA DMA memory free"
    );

    println!("level 4 table at {:#x}", level_4.start_address().as_u64());
    println!("{small_page:?} -> {small_frame:?}");
    println!("{huge_page:?} -> {huge_frame:?}");
    // The level 4 table; level 3, 2 and 1 tables for the small page; level 3
    // and 2 tables for the huge one; the pages themselves.
    let used = pages - allocator.free_pages() - 0x400;
    println!("pages used: {used} (6 page tables, one 4 KiB page, one 2 MiB page)");
    assert_eq!(used, 1 + 3 + 1 + 2 + 512);
    Ok(())
}
