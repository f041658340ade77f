//! What a reserved or allocated region is: one kind per owner, with its name and legend text.

/// What a region of the picture and the report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegionKind {
    /// Memory the kernel keeps from the start (low memory, BIOS areas).
    LowMemory,
    /// A firmware range inside a node, never handed out.
    Firmware,
    /// The kernel image.
    Kernel,
    /// The initial RAM disk.
    Initrd,
    /// The flattened device tree blob.
    DeviceTreeBlob,
    /// A node's bootmem bitmap.
    Bitmap,
    /// Early page tables.
    PageTables,
    /// The real-mode trampoline.
    Trampoline,
    /// The crash kernel's reservation.
    CrashKernel,
    /// The contiguous memory allocator's area.
    Cma,
    /// A node's `pglist_data`.
    NodeData,
    /// The NUMA distance table.
    NumaDistance,
    /// Page-block flags (usemaps).
    Usemap,
    /// A `struct page` array (or vmemmap buffer).
    StructPages,
    /// The unflattened device tree.
    DeviceTree,
    /// Exception vectors and the zero page (32-bit ARM).
    Vectors,
    /// `struct resource`s of the memory regions.
    Resource,
    /// Per-CPU areas.
    PerCpu,
    /// The kernel log buffer.
    LogBuffer,
    /// A large system hash table.
    HashTable,
    /// The swiotlb bounce buffer and its tables.
    BounceBuffer,
}

impl RegionKind {
    /// The name used in JSON and in the picture's classes.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LowMemory => "low-memory",
            Self::Firmware => "firmware",
            Self::Kernel => "kernel",
            Self::Initrd => "initrd",
            Self::DeviceTreeBlob => "device-tree-blob",
            Self::Bitmap => "bitmap",
            Self::PageTables => "page-tables",
            Self::Trampoline => "trampoline",
            Self::CrashKernel => "crash-kernel",
            Self::Cma => "cma",
            Self::NodeData => "node-data",
            Self::NumaDistance => "numa-distance",
            Self::Usemap => "usemap",
            Self::StructPages => "struct-pages",
            Self::DeviceTree => "device-tree",
            Self::Vectors => "vectors",
            Self::Resource => "resource",
            Self::PerCpu => "per-cpu",
            Self::LogBuffer => "log-buffer",
            Self::HashTable => "hash-table",
            Self::BounceBuffer => "bounce-buffer",
        }
    }

    /// A short description for the legend.
    pub const fn description(self) -> &'static str {
        match self {
            Self::LowMemory => "low memory kept",
            Self::Firmware => "firmware range in a node",
            Self::Kernel => "kernel image",
            Self::Initrd => "initrd",
            Self::DeviceTreeBlob => "device tree blob",
            Self::Bitmap => "bootmem bitmap",
            Self::PageTables => "early page tables",
            Self::Trampoline => "real-mode trampoline",
            Self::CrashKernel => "crash kernel",
            Self::Cma => "CMA area",
            Self::NodeData => "pglist_data",
            Self::NumaDistance => "NUMA distance table",
            Self::Usemap => "page-block flags (usemap)",
            Self::StructPages => "struct page array",
            Self::DeviceTree => "unflattened device tree",
            Self::Vectors => "vectors, zero page",
            Self::Resource => "struct resource",
            Self::PerCpu => "per-CPU areas",
            Self::LogBuffer => "log buffer",
            Self::HashTable => "hash tables",
            Self::BounceBuffer => "swiotlb bounce buffer",
        }
    }
}
