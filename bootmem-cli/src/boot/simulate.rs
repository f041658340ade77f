//! One simulated boot from map to hand-off: the bootloader's placements, set-up, the architecture's sequence, `free_all_bootmem`.

use bootmem::NodeId;

use super::arch::{Architecture, Detection};
use super::cmdline::KernelOptions;
use super::sequence::{hand_off, ram_ranges, Boot, Limit, Region, Simulation, GIB, MIB};
use super::setup::set_up;
use super::{arm, arm64, loader, riscv64, x86_64};
use crate::parse::{CommandMemoryMap, FirmwareMap, FirmwareRange};

/// What the command line of `bootmem boot` sets; `None` takes the architecture's or the kernel command line's value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    /// Where the kernel image lies.
    pub kernel_address: Option<u64>,
    /// The kernel image's size.
    pub kernel_size: Option<u64>,
    /// Where the initrd lies.
    pub initrd_address: Option<u64>,
    /// The initrd's size, 0 for none.
    pub initrd_size: Option<u64>,
    /// CPUs per node.
    pub cpus_per_node: Option<u64>,
    /// Bytes of one per-CPU unit.
    pub percpu_unit: Option<u64>,
    /// Bytes of the log buffer.
    pub log_buffer: Option<u64>,
    /// Bytes of the swiotlb bounce buffer, 0 for none.
    pub bounce_buffer: Option<u64>,
    /// Bytes of the crash kernel's reservation, 0 for none.
    pub crash_kernel: Option<u64>,
    /// Bytes of the CMA area, 0 for none.
    pub cma: Option<u64>,
}

/// An architecture's fixed facts.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// The kernel image's usual size (text to bss) for a defconfig kernel.
    pub kernel_size: u64,
    /// The alignment the boot protocol asks of the image.
    pub kernel_align: u64,
    /// Where the bootloader prefers to put it, when that is RAM.
    pub kernel_preferred: Option<u64>,
    /// How far above the start of RAM the image goes otherwise.
    pub kernel_offset: u64,
    /// The highest end an initrd may have (x86: below 4 GiB), if any.
    pub initrd_ceiling: Option<u64>,
    /// CPUs per node of a typical machine.
    pub cpus_per_node: u64,
    /// A defconfig kernel's per-CPU unit.
    pub percpu_unit: u64,
    /// Whether the kernel reads a device tree (it reserves the blob and unflattens it).
    pub device_tree: bool,
}

/// The machine as the sequences see it.
pub struct Machine<'a> {
    /// The whole machine's map.
    pub map: &'a CommandMemoryMap,
    /// Options found on the kernel command line.
    pub kernel_options: &'a KernelOptions,
    /// The command's options.
    pub layout: &'a Layout,
    /// The architecture's facts.
    pub rules: Rules,
    /// The device tree blob's bytes (0 when the input is no blob).
    pub blob_bytes: u64,
    /// Nodes with memory: node and pages spanned.
    pub nodes: Vec<(NodeId, u64)>,
}

impl Machine<'_> {
    /// CPUs per node: as asked, else the architecture's typical count,
    /// at most one per 64 MiB of the smallest node (a tiny board has few CPUs).
    pub fn cpus_per_node(&self) -> u64 {
        self.layout.cpus_per_node.unwrap_or_else(|| {
            let page = self.map.page_size().bytes();
            let smallest = self
                .nodes
                .iter()
                .map(|(_, pages)| pages * page)
                .min()
                .unwrap_or(0);
            self.rules.cpus_per_node.min(smallest / (64 * MIB)).max(1)
        })
    }

    /// Every possible CPU.
    pub fn cpus(&self) -> u64 {
        self.cpus_per_node() * self.nodes.len().max(1) as u64
    }

    /// The per-CPU unit.
    pub fn percpu_unit(&self) -> u64 {
        self.layout.percpu_unit.unwrap_or(self.rules.percpu_unit)
    }

    /// The crash kernel asked for: bytes and a fixed address.
    pub fn crash_kernel(&self) -> Option<(u64, Option<u64>)> {
        match self.layout.crash_kernel {
            Some(0) => None,
            Some(bytes) => Some((bytes, None)),
            None => self.kernel_options.crash_kernel,
        }
    }

    /// The CMA area asked for (command line), else the default.
    pub fn cma(&self, default: u64) -> u64 {
        self.layout
            .cma
            .or(self.kernel_options.cma)
            .unwrap_or(default)
    }

    /// The log buffer: `--log-buffer`, `log_buf_len=`, else the CPU rule.
    pub fn log_buffer(&self) -> Option<u64> {
        match self.layout.log_buffer.or(self.kernel_options.log_buffer) {
            Some(0) => None,
            Some(bytes) => Some(bytes),
            None => super::sizes::log_buffer_bytes(self.cpus()),
        }
    }

    /// The end of RAM, in bytes.
    pub fn end_of_ram(&self) -> u64 {
        self.map.end_of_ram().as_u64() << self.map.page_size().shift()
    }

    /// The first RAM byte.
    pub fn start_of_ram(&self) -> u64 {
        self.map
            .ram_ranges()
            .next()
            .map_or(0, |range| range.start.as_u64())
    }

    /// Pages of RAM.
    pub fn ram_pages(&self) -> u64 {
        self.map.ram_bytes() >> self.map.page_size().shift()
    }
}

/// Everything `simulate` needs besides the map.
pub struct Inputs<'a> {
    /// The map's name.
    pub name: &'a str,
    /// The architecture and why.
    pub detection: Detection,
    /// The command line's options.
    pub kernel_options: &'a KernelOptions,
    /// The command's options.
    pub layout: &'a Layout,
    /// The device tree blob's size, when the input is one.
    pub blob_bytes: u64,
}

fn rules_of(architecture: Architecture) -> Rules {
    match architecture {
        Architecture::X86_64 => x86_64::RULES,
        Architecture::Arm64 => arm64::RULES,
        Architecture::Riscv64 => riscv64::RULES,
        Architecture::Arm => arm::RULES,
    }
}

/// The map with RAM cut at `limit`: what bootmem manages on a 32-bit
/// machine, and the highmem above it.
fn clip_ram(firmware: &FirmwareMap, limit: u64) -> (FirmwareMap, Vec<(u64, u64)>) {
    let mut clipped = firmware.clone();
    let mut highmem = Vec::new();
    clipped.ranges = firmware
        .ranges
        .iter()
        .filter_map(|entry| {
            let (start, end) = (entry.range.start.as_u64(), entry.range.end.as_u64());
            if !entry.range.kind.is_ram() || end <= limit {
                return Some(*entry);
            }
            highmem.push((start.max(limit), end));
            (start < limit).then(|| {
                let mut range = *entry;
                range.range.end = bootmem::PhysicalAddress::new(limit);
                FirmwareRange { ..range }
            })
        })
        .collect();
    clipped.affinities.iter_mut().for_each(|entry| {
        if entry.affinity.end.as_u64() > limit {
            entry.affinity.end =
                bootmem::PhysicalAddress::new(limit.max(entry.affinity.start.as_u64()));
        }
    });
    (clipped, highmem)
}

fn limits_of(
    architecture: Architecture,
    map: &CommandMemoryMap,
    lowmem_end: Option<u64>,
) -> Vec<Limit> {
    let shift = map.page_size().shift();
    let mut limits = Vec::new();
    let mut push = |address: u64, label: &str| {
        if !limits.iter().any(|limit: &Limit| limit.address == address) {
            limits.push(Limit {
                address,
                label: label.to_string(),
            });
        }
    };
    if architecture == Architecture::X86_64 {
        push(MIB, "1 MiB (real mode)");
        push(16 * MIB, "16 MiB (DMA goal)");
    }
    if architecture != Architecture::Arm {
        push(4 * GIB, "4 GiB (DMA32)");
    }
    if architecture == Architecture::Arm64 {
        push(arm64::dma_phys_limit(map), "end of arm64's DMA zone");
    }
    if let Some(end) = lowmem_end {
        push(end, "end of lowmem");
    }
    for span in map.nodes().iter().filter(|span| !span.is_memoryless()) {
        push(
            span.start.as_u64() << shift,
            &format!("node {} starts", span.node),
        );
    }
    limits.sort_by_key(|limit| limit.address);
    limits
}

/// What a simulation that stopped early still reports.
struct Parts {
    notes: Vec<String>,
    limits: Vec<Limit>,
    highmem: Vec<(u64, u64)>,
    panic: Option<String>,
}

/// The simulation of a machine whose set-up failed: no steps, no hand-off.
fn stopped_in_set_up(
    inputs: &Inputs<'_>,
    firmware: FirmwareMap,
    map: Box<CommandMemoryMap>,
    parts: Parts,
) -> Simulation {
    Simulation {
        name: inputs.name.to_string(),
        architecture: inputs.detection.architecture,
        architecture_because: inputs.detection.because.clone(),
        reservations: Vec::new(),
        allocations: Vec::new(),
        limits: parts.limits,
        firmware,
        map,
        steps: Vec::new(),
        node_use: Vec::new(),
        handoff: super::sequence::HandOffSummary::default(),
        notes: parts.notes,
        highmem: parts.highmem,
        panic: parts.panic,
    }
}

/// Runs the whole boot of `inputs.detection.architecture` on `firmware`.
///
/// # Errors
///
/// A map that does not normalise or leaves a node no room for its bitmap,
/// a kernel or initrd placed outside RAM. A machine too small for the
/// sequence is not an error: the simulation stops where Linux would panic.
pub fn simulate(inputs: &Inputs<'_>, firmware: FirmwareMap) -> Result<Simulation, String> {
    let name = inputs.name;
    let architecture = inputs.detection.architecture;
    let rules = rules_of(architecture);
    let page_size = bootmem::PageSize::SIZE_4KIB;
    let page = page_size.bytes();
    let map = firmware
        .normalise(page_size)
        .map_err(|error| error.in_named_file(name).to_string())?;
    let ram = ram_ranges(&map, None);
    let mut notes = Vec::new();
    // 32-bit ARM: bootmem manages lowmem only (arch/arm/mm/mmu.c adjust_lowmem_bounds),
    // and the kernel and initrd must lie in it.
    let lowmem_end = (architecture == Architecture::Arm).then(|| arm::lowmem_end(&map));
    let rules = Rules {
        initrd_ceiling: lowmem_end.or(rules.initrd_ceiling),
        ..rules
    };
    let kernel = loader::place_kernel(name, &ram, &rules, inputs.layout, page)?;
    let initrd = loader::place_initrd(name, &ram, &rules, inputs.layout, kernel, page, &mut notes)?;
    let (bootmem_map, highmem) = match lowmem_end {
        Some(end) if map.end_of_ram().as_u64() << page_size.shift() > end => {
            let (clipped, highmem) = clip_ram(&firmware, end);
            let clipped = clipped
                .normalise(page_size)
                .map_err(|error| error.in_named_file(name).to_string())?;
            notes.push(format!(
                "32-bit ARM: RAM above {end:#x} is highmem ({} bytes): bootmem never manages it; free_highpages hands it to the page allocator after the hand-off",
                highmem.iter().map(|(start, end)| end - start).sum::<u64>()
            ));
            (clipped, highmem)
        }
        _ => (map.clone(), Vec::new()),
    };
    let (in_use, blob_bytes) = loader::in_use(
        architecture,
        &map,
        &bootmem_map,
        &rules,
        inputs.blob_bytes,
        kernel,
        initrd,
    );
    let configuration = match architecture {
        Architecture::X86_64 => x86_64::configuration(),
        Architecture::Arm64 => arm64::configuration(&map),
        Architecture::Riscv64 => riscv64::configuration(&map),
        Architecture::Arm => arm::configuration(&map),
    };
    let nodes = bootmem_map
        .nodes()
        .iter()
        .filter(|span| !span.is_memoryless())
        .map(|span| (span.node, span.pages()))
        .collect();
    let limits = limits_of(architecture, &map, lowmem_end);
    let mut boot: Boot = match set_up(name, bootmem_map.clone(), configuration, &in_use) {
        Ok(boot) => boot,
        Err(message) => {
            // A machine too small for bootmem's own bitmaps: Linux would not get this far.
            notes.push(format!(
                "the boot stops in set-up, as Linux would panic: {message}"
            ));
            let parts = Parts {
                notes,
                limits,
                highmem,
                panic: Some(message),
            };
            return Ok(stopped_in_set_up(inputs, firmware, map, parts));
        }
    };
    boot.notes.append(&mut notes);
    let machine = Machine {
        map: &map,
        kernel_options: inputs.kernel_options,
        layout: inputs.layout,
        rules,
        blob_bytes,
        nodes,
    };
    let outcome = match architecture {
        Architecture::X86_64 => x86_64::sequence(&mut boot, &machine),
        Architecture::Arm64 => arm64::sequence(&mut boot, &machine),
        Architecture::Riscv64 => riscv64::sequence(&mut boot, &machine),
        Architecture::Arm => arm::sequence(&mut boot, &machine),
    };
    let panic = outcome.err().map(|panicked| panicked.0);
    if let Some(message) = &panic {
        boot.note(format!("the boot stops here, as Linux panics: {message}"));
    }
    let (node_use, handoff, steps, notes) = hand_off(boot);
    let regions = |outcome: super::sequence::Outcome| -> Vec<Region> {
        steps
            .iter()
            .filter(|step| step.outcome == outcome)
            .filter_map(|step| step.region.clone())
            .collect()
    };
    Ok(Simulation {
        name: name.to_string(),
        architecture,
        architecture_because: inputs.detection.because.clone(),
        reservations: regions(super::sequence::Outcome::Reserved),
        allocations: regions(super::sequence::Outcome::Allocated),
        limits,
        firmware,
        map,
        steps,
        node_use,
        handoff,
        notes,
        highmem,
        panic,
    })
}
