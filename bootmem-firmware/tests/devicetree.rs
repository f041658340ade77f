//! Device trees built with dtoolkit's own types: memory nodes with nodes, reservations with and without no-map, and broken blobs.

use bootmem::memory_map::{MemoryMapBuilder, RangeKind};
use bootmem::{NodeId, PageSize};
use bootmem_firmware::{devicetree, FirmwareError, Location, Policy, Problem};
use dtoolkit::memreserve::MemoryReservation;
use dtoolkit::model::{DeviceTree, DeviceTreeNode, DeviceTreeProperty};

fn property<T: dtoolkit::ToPropertyValue>(name: &str, value: T) -> DeviceTreeProperty {
    DeviceTreeProperty::new(name, value).unwrap()
}

fn node(name: &str, properties: Vec<DeviceTreeProperty>) -> DeviceTreeNode {
    let mut builder = DeviceTreeNode::builder(name).unwrap();
    for property in properties {
        builder = builder.property(property);
    }
    builder.build()
}

fn memory(address: u64, size: u64, numa: Option<u32>) -> DeviceTreeNode {
    let mut properties = vec![
        property("device_type", "memory"),
        property("reg", reg(address, size)),
    ];
    if let Some(id) = numa {
        properties.push(property("numa-node-id", id));
    }
    node(&format!("memory@{address:x}"), properties)
}

fn reg(address: u64, size: u64) -> Vec<u32> {
    vec![
        (address >> 32) as u32,
        address as u32,
        (size >> 32) as u32,
        size as u32,
    ]
}

/// A two-node arm64-like machine: 1 GiB per node, a no-map firmware region,
/// a mapped CMA pool, a dynamic pool, a /memreserve/, a CPU on a memoryless node 2.
fn numa_machine() -> DeviceTree {
    let mut tree = DeviceTree::new();
    tree.root.add_property(property("#address-cells", 2u32));
    tree.root.add_property(property("#size-cells", 2u32));
    tree.root
        .add_child(memory(0x4000_0000, 0x4000_0000, Some(0)));
    tree.root
        .add_child(memory(0x1_0000_0000, 0x4000_0000, Some(1)));
    let mut disabled = memory(0x2_0000_0000, 0x4000_0000, Some(1));
    disabled.add_property(property("status", "disabled"));
    tree.root.add_child(disabled);
    let mut reserved = node(
        "reserved-memory",
        vec![
            property("#address-cells", 2u32),
            property("#size-cells", 2u32),
            property("ranges", [0u8; 0]),
        ],
    );
    let mut firmware = node(
        "firmware@40000000",
        vec![property("reg", reg(0x4000_0000, 0x8_0000))],
    );
    firmware.add_property(property("no-map", [0u8; 0]));
    reserved.add_child(firmware);
    reserved.add_child(node(
        "linux,cma",
        vec![
            property("reg", reg(0x6000_0000, 0x1000_0000)),
            property("reusable", [0u8; 0]),
        ],
    ));
    reserved.add_child(node(
        "pool",
        vec![property("size", reg(0, 0x40_0000)[2..].to_vec())],
    ));
    tree.root.add_child(reserved);
    let mut cpus = node(
        "cpus",
        vec![
            property("#address-cells", 1u32),
            property("#size-cells", 0u32),
        ],
    );
    cpus.add_child(node(
        "cpu@0",
        vec![property("reg", 0u32), property("numa-node-id", 0u32)],
    ));
    cpus.add_child(node(
        "cpu@1",
        vec![property("reg", 1u32), property("numa-node-id", 2u32)],
    ));
    tree.root.add_child(cpus);
    tree.root.add_child(node(
        "chosen",
        vec![property("bootargs", "console=ttyAMA0 memblock=debug")],
    ));
    tree.memory_reservations
        .push(MemoryReservation::new(0x4800_0000, 0x1_0000));
    tree
}

fn two_cell_tree() -> DeviceTree {
    let mut tree = DeviceTree::new();
    tree.root.add_property(property("#address-cells", 2u32));
    tree.root.add_property(property("#size-cells", 2u32));
    tree
}

fn read(
    blob: &[u8],
) -> Result<(MemoryMapBuilder<32, 4>, devicetree::DeviceTreeSummary<'_>), FirmwareError> {
    let mut builder = MemoryMapBuilder::new();
    let summary = devicetree::add(blob, &mut builder, Policy::Strict)?;
    Ok((builder, summary))
}

#[test]
fn memory_nodes_numa_ids_and_every_kind_of_reservation() {
    let blob = numa_machine().to_dtb();
    let (builder, summary) = read(&blob).unwrap();
    assert_eq!(summary.lowest_ram, Some(0x4000_0000));
    assert_eq!(
        summary.added.ram_bytes,
        2 << 30,
        "the disabled node is left out"
    );
    assert_eq!(
        (
            summary.no_map_ranges,
            summary.mapped_reserved_ranges,
            summary.dynamic_pools
        ),
        (1, 1, 1)
    );
    assert_eq!(summary.memreserve_ranges, 1);
    assert_eq!(summary.command_line, "console=ttyAMA0 memblock=debug");
    assert_eq!(summary.size, blob.len());
    let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    let node0 = map.node(NodeId::new(0)).unwrap();
    assert_eq!(
        node0.ram_bytes,
        (1 << 30) - 0x8_0000 - 0x1000_0000 - 0x1_0000
    );
    assert_eq!(map.node(NodeId::new(1)).unwrap().ram_bytes, 1 << 30);
    assert!(
        map.node(NodeId::new(2)).unwrap().is_memoryless(),
        "the CPU's node exists"
    );
    assert!(map
        .ranges()
        .iter()
        .any(|range| range.kind == RangeKind::Reserved && range.start.as_u64() == 0x6000_0000));
}

#[test]
fn a_crash_kernels_usable_memory_wins_over_reg() {
    let mut tree = DeviceTree::new();
    tree.root.add_property(property("#address-cells", 2u32));
    tree.root.add_property(property("#size-cells", 2u32));
    let mut node = memory(0x4000_0000, 0x4000_0000, None);
    node.add_property(property(
        "linux,usable-memory",
        reg(0x5000_0000, 0x1000_0000),
    ));
    tree.root.add_child(node);
    let blob = tree.to_dtb();
    let (_, summary) = read(&blob).unwrap();
    assert_eq!(
        (summary.lowest_ram, summary.added.ram_bytes),
        (Some(0x5000_0000), 0x1000_0000)
    );
}

#[test]
fn one_cell_addresses_and_a_name_without_device_type() {
    let mut tree = DeviceTree::new();
    tree.root.add_property(property("#address-cells", 1u32));
    tree.root.add_property(property("#size-cells", 1u32));
    tree.root.add_child(node(
        "memory@0",
        vec![property(
            "reg",
            [0u32, 0x2000_0000, 0x8000_0000, 0x1000_0000],
        )],
    ));
    let blob = tree.to_dtb();
    let (_, summary) = read(&blob).unwrap();
    assert_eq!(summary.added.ram_bytes, 0x3000_0000);
    assert_eq!(summary.added.ranges, 2);
}

fn error_of(blob: &[u8]) -> FirmwareError {
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    let error = devicetree::add(blob, &mut builder, Policy::Strict).unwrap_err();
    assert!(
        builder.added_ranges().is_empty(),
        "nothing half added: {error}"
    );
    error
}

#[test]
fn broken_blobs_are_named_by_offset() {
    let blob = numa_machine().to_dtb();
    let mut wrong_magic = blob.clone();
    wrong_magic[0] = 0;
    assert_eq!(
        error_of(&wrong_magic),
        FirmwareError::new(Location::Offset(0), Problem::BadMagic)
    );

    let truncated = &blob[..blob.len() - 9];
    assert!(matches!(
        error_of(truncated).problem,
        Problem::Truncated { .. }
    ));
    assert!(matches!(
        error_of(&blob[..20]).problem,
        Problem::Truncated {
            needed: 40,
            available: 20
        }
    ));

    let mut lying = blob.clone();
    lying[4..8].copy_from_slice(&(blob.len() as u32 + 64).to_be_bytes());
    assert!(matches!(
        error_of(&lying).problem,
        Problem::Truncated { .. }
    ));

    for field in [8usize, 12, 16] {
        let mut absurd = blob.clone();
        absurd[field..field + 4].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        let error = error_of(&absurd);
        assert_eq!(error.location, Location::Offset(field), "{error}");
    }

    let mut bad_token = blob.clone();
    let structure = u32::from_be_bytes(blob[8..12].try_into().unwrap()) as usize;
    bad_token[structure..structure + 4].copy_from_slice(&7u32.to_be_bytes());
    let error = error_of(&bad_token);
    assert_eq!(error.location, Location::Offset(structure));
    assert!(
        error.to_string().contains("unknown structure token"),
        "{error}"
    );
}

#[test]
fn overlapping_memory_nodes_and_bad_cells_are_errors() {
    let mut tree = DeviceTree::new();
    tree.root.add_property(property("#address-cells", 2u32));
    tree.root.add_property(property("#size-cells", 2u32));
    tree.root.add_child(memory(0x4000_0000, 0x4000_0000, None));
    tree.root.add_child(memory(0x6000_0000, 0x4000_0000, None));
    let error = error_of(&tree.to_dtb());
    assert!(
        matches!(
            error.problem,
            Problem::Overlaps {
                other: Location::Offset(_)
            }
        ),
        "{error}"
    );
    // The sanitising policy keeps both and merges them.
    let mut builder = MemoryMapBuilder::<32, 4>::new();
    devicetree::add(&tree.to_dtb(), &mut builder, Policy::Sanitise).unwrap();
    let map = bootmem_firmware::build(&builder, PageSize::SIZE_4KIB).unwrap();
    assert_eq!(map.ram_bytes(), 0x6000_0000);

    let mut wide = DeviceTree::new();
    wide.root.add_property(property("#address-cells", 3u32));
    wide.root.add_child(memory(0, 0x1000, None));
    assert!(error_of(&wide.to_dtb()).to_string().contains("above 2"));

    let mut ragged = DeviceTree::new();
    ragged.root.add_child(node(
        "memory@0",
        vec![
            property("device_type", "memory"),
            property("reg", [0u32, 0, 0x1000, 7]),
        ],
    ));
    assert!(error_of(&ragged.to_dtb())
        .to_string()
        .contains("whole number"));

    let mut bad_numa = two_cell_tree();
    let mut memory_node = memory(0, 0x1000_0000, None);
    memory_node.add_property(property("numa-node-id", 1u64));
    bad_numa.root.add_child(memory_node);
    assert!(error_of(&bad_numa.to_dtb())
        .to_string()
        .contains("numa-node-id"));

    let mut wrapping = two_cell_tree();
    wrapping
        .root
        .add_child(memory(u64::MAX - 0xfff, 0x2000, None));
    assert!(matches!(
        error_of(&wrapping.to_dtb()).problem,
        Problem::Wraps { .. }
    ));
}

#[test]
fn every_prefix_of_a_blob_is_an_error_never_a_panic() {
    let blob = numa_machine().to_dtb();
    for length in 0..blob.len() {
        let mut builder = MemoryMapBuilder::<32, 4>::new();
        assert!(devicetree::add(&blob[..length], &mut builder, Policy::Strict).is_err());
    }
}

#[test]
fn a_blob_found_in_memory_is_bounded_by_what_is_readable() {
    let blob = numa_machine().to_dtb();
    // SAFETY: the blob is `blob.len()` readable bytes that outlive the slice's use here.
    let found = unsafe { devicetree::blob_at(blob.as_ptr() as usize, blob.len()) }.unwrap();
    assert_eq!(found.len(), blob.len());
    // SAFETY: as above; the reader refuses before reading past the limit.
    let error = unsafe { devicetree::blob_at(blob.as_ptr() as usize, blob.len() - 1) }.unwrap_err();
    assert!(matches!(error.problem, Problem::Truncated { .. }));
    let not_a_blob = [0u8; 64];
    // SAFETY: 64 readable bytes.
    let error = unsafe { devicetree::blob_at(not_a_blob.as_ptr() as usize, 64) }.unwrap_err();
    assert_eq!(error.problem, Problem::BadMagic);
}
