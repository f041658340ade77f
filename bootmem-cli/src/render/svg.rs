//! The picture of a simulated boot: the physical address space top to bottom, holes compressed, every region labelled.
//!
//! The address space is cut at every boundary of the map, the nodes, the
//! reservations and the allocations; each piece becomes one band whose
//! height grows with the logarithm of its size, so a 4 KiB page and a
//! 30 GiB range are both readable. Holes (addresses no range names) get a
//! fixed, hatched band. An address axis on the left gives each band's first
//! address, the node column shows which node owns it, and a label on the
//! right says what it is and how big.

use std::fmt::Write as _;

use bootmem::memory_map::RangeKind;

use super::palette;
use super::size::size;
use crate::boot::{RegionKind, Simulation};

const TOP: f64 = 150.0;
const OVERVIEW_X: f64 = 40.0;
const OVERVIEW_WIDTH: f64 = 36.0;
const AXIS_X: f64 = 230.0;
const NODE_X: f64 = 240.0;
const NODE_WIDTH: f64 = 60.0;
const BAR_X: f64 = 310.0;
const BAR_WIDTH: f64 = 260.0;
const LABEL_X: f64 = 580.0;
const WIDTH: f64 = 1120.0;
const HOLE_HEIGHT: f64 = 22.0;
const NODE_COLOURS: [&str; 6] = [
    "#c5cae9", "#ffe0b2", "#b2dfdb", "#f8bbd0", "#dcedc8", "#d1c4e9",
];

/// What covers a piece of the address space, most specific first.
#[derive(Clone, Debug, PartialEq)]
enum Paint {
    /// A region: its kind, purpose and boot-order number.
    Region(RegionKind, String, usize),
    Firmware(RangeKind),
    Free,
    Hole,
}

impl Paint {
    fn colour(&self) -> &'static str {
        match self {
            Self::Region(kind, _, _) => palette::colour(kind.name()),
            Self::Firmware(kind) => firmware_colour(*kind),
            Self::Free => palette::FREE,
            Self::Hole => "url(#hole)",
        }
    }
}

fn firmware_colour(kind: RangeKind) -> &'static str {
    palette::colour(&format!("firmware-{kind}"))
}

/// Escapes text for XML content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

struct Band {
    start: u64,
    end: u64,
    paint: Paint,
    top: f64,
    height: f64,
}

fn band_height(paint: &Paint, bytes: u64) -> f64 {
    if *paint == Paint::Hole {
        return HOLE_HEIGHT;
    }
    let pages = (bytes as f64 / 4096.0).max(1.0);
    (18.0 + 5.0 * pages.log2()).clamp(18.0, 110.0)
}

/// Every placed region with its step number in boot order (from 1).
fn numbered_regions(simulation: &Simulation) -> Vec<(usize, &crate::boot::Region)> {
    simulation
        .steps
        .iter()
        .enumerate()
        .filter_map(|(index, step)| step.region.as_ref().map(|region| (index + 1, region)))
        .filter(|(_, region)| region.end > region.start)
        // A firmware range keeps the map's own kind and colour.
        .filter(|(_, region)| region.kind != RegionKind::Firmware)
        .collect()
}

/// Cuts the address space into bands.
fn bands(simulation: &Simulation) -> Vec<Band> {
    let map = &simulation.map;
    let regions = numbered_regions(simulation);
    let mut cuts: Vec<u64> = Vec::new();
    for range in map.ranges() {
        cuts.push(range.start.as_u64());
        cuts.push(range.end.as_u64());
    }
    let shift = map.page_size().shift();
    for span in map.nodes().iter().filter(|span| !span.is_memoryless()) {
        cuts.push(span.start.as_u64() << shift);
        cuts.push(span.end.as_u64() << shift);
    }
    for (_, region) in &regions {
        cuts.push(region.start);
        cuts.push(region.end);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut bands: Vec<Band> = Vec::new();
    for pair in cuts.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        // The region drawn on top is the latest that covers the piece.
        let paint = regions
            .iter()
            .rev()
            .find(|(_, region)| region.start <= start && end <= region.end)
            .map(|(number, region)| Paint::Region(region.kind, region.purpose.clone(), *number))
            .or_else(|| {
                map.ranges()
                    .iter()
                    .find(|range| range.start.as_u64() <= start && end <= range.end.as_u64())
                    .map(|range| {
                        if range.kind.is_ram() {
                            Paint::Free
                        } else {
                            Paint::Firmware(range.kind)
                        }
                    })
            })
            .unwrap_or(Paint::Hole);
        match bands.last_mut() {
            Some(last) if last.end == start && last.paint == paint => last.end = end,
            _ => bands.push(Band {
                start,
                end,
                paint,
                top: 0.0,
                height: 0.0,
            }),
        }
    }
    let mut top = TOP;
    for band in &mut bands {
        band.top = top;
        band.height = band_height(&band.paint, band.end - band.start);
        top += band.height;
    }
    bands
}

/// The vertical position of `address` in the picture.
fn position(bands: &[Band], address: u64) -> f64 {
    for band in bands {
        if band.start <= address && address < band.end {
            let fraction = (address - band.start) as f64 / (band.end - band.start) as f64;
            return band.top + fraction * band.height;
        }
    }
    bands
        .iter()
        .rev()
        .find(|band| band.end <= address)
        .map_or(TOP, |band| band.top + band.height)
}

fn label(band: &Band) -> String {
    let size = size(band.end - band.start);
    match &band.paint {
        Paint::Region(_, purpose, number) => format!("{number}. {purpose} \u{2014} {size}"),
        Paint::Firmware(kind) => format!("firmware: {kind} \u{2014} {size}"),
        Paint::Free => format!("free RAM \u{2014} {size}"),
        Paint::Hole => format!("hole (not to scale) \u{2014} {size}"),
    }
}

/// Draws `simulation` as a standalone SVG document.
pub fn render(simulation: &Simulation) -> String {
    let bands = bands(simulation);
    let bottom = bands.last().map_or(TOP, |band| band.top + band.height);
    let height = bottom + 40.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">
<title>bootmem boot: {}</title>
<defs><pattern id="hole" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#f5f5f5"/><line x1="0" y1="0" x2="0" y2="8" stroke="#cccccc" stroke-width="3"/></pattern></defs>
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">Physical memory after bootmem's boot sequence: {}</text>
<text x="10" y="40" fill="#555555">Left: the whole address space to scale. Right: low addresses at the top, band heights growing with the logarithm of the size, holes compressed; numbers give the boot order.</text>"##,
        escape(&simulation.name),
        escape(&simulation.name)
    );

    // Legend: what is present, in a fixed order.
    let mut legend: Vec<(&str, String)> = vec![(palette::FREE, "free RAM".to_string())];
    let mut kinds: Vec<RegionKind> = numbered_regions(simulation)
        .iter()
        .map(|(_, region)| region.kind)
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        legend.push((palette::colour(kind.name()), kind.description().to_string()));
    }
    let mut firmware_kinds: Vec<RangeKind> = simulation
        .map
        .ranges()
        .iter()
        .map(|range| range.kind)
        .filter(|kind| !kind.is_ram())
        .collect();
    firmware_kinds.dedup();
    let mut seen = Vec::new();
    for kind in firmware_kinds {
        let colour = firmware_colour(kind);
        if !seen.contains(&colour) {
            seen.push(colour);
            let name = match kind {
                RangeKind::Reserved | RangeKind::AcpiData | RangeKind::AcpiNvs => {
                    format!("firmware {kind}")
                }
                _ => "other firmware ranges".to_string(),
            };
            legend.push((colour, name));
        }
    }
    legend.push(("url(#hole)", "hole (no range)".to_string()));
    for (index, (colour, name)) in legend.iter().enumerate() {
        let x = 10.0 + (index % 6) as f64 * 182.0;
        let y = 50.0 + (index / 6) as f64 * 19.0;
        let _ = writeln!(
            out,
            r##"<g class="legend"><rect x="{x}" y="{y}" width="14" height="14" fill="{colour}" stroke="#333333" stroke-width="0.5"/><text x="{:.0}" y="{:.0}">{}</text></g>"##,
            x + 20.0,
            y + 11.0,
            escape(name)
        );
    }

    // Nodes.
    let shift = simulation.map.page_size().shift();
    for (index, span) in simulation
        .map
        .nodes()
        .iter()
        .filter(|span| !span.is_memoryless())
        .enumerate()
    {
        let top = position(&bands, span.start.as_u64() << shift);
        let end = position(&bands, span.end.as_u64() << shift);
        let colour = NODE_COLOURS[index % NODE_COLOURS.len()];
        let _ = writeln!(
            out,
            r##"<g class="node"><rect x="{NODE_X}" y="{top:.1}" width="{NODE_WIDTH}" height="{:.1}" fill="{colour}" stroke="#333333" stroke-width="0.5"/><text x="{:.0}" y="{:.1}" text-anchor="middle" font-weight="bold">node {}</text><text x="{:.0}" y="{:.1}" text-anchor="middle">{}</text></g>"##,
            end - top,
            NODE_X + NODE_WIDTH / 2.0,
            top + 14.0,
            span.node,
            NODE_X + NODE_WIDTH / 2.0,
            top + 27.0,
            size(span.ram_bytes)
        );
    }

    // Bands, their addresses and labels.
    let _ = writeln!(
        out,
        r##"<line x1="{AXIS_X}" y1="{TOP}" x2="{AXIS_X}" y2="{bottom:.1}" stroke="#333333"/>"##
    );
    let mut last_address_label = f64::NEG_INFINITY;
    for band in &bands {
        let class = match &band.paint {
            Paint::Region(kind, _, _) => kind.name().to_string(),
            Paint::Firmware(kind) => format!("firmware-{kind}"),
            Paint::Free => "free".to_string(),
            Paint::Hole => "hole".to_string(),
        };
        let _ = writeln!(
            out,
            r##"<rect class="{class}" x="{BAR_X}" y="{:.1}" width="{BAR_WIDTH}" height="{:.1}" fill="{}" stroke="#ffffff" stroke-width="0.5"><title>{:#x}-{:#x}</title></rect>"##,
            band.top,
            band.height,
            band.paint.colour(),
            band.start,
            band.end
        );
        let _ = writeln!(
            out,
            r##"<text x="{LABEL_X}" y="{:.1}" dominant-baseline="middle">{}</text>"##,
            band.top + band.height / 2.0,
            escape(&label(band))
        );
        out.push_str(&band_number(band));
        if band.top - last_address_label >= 12.0 {
            last_address_label = band.top;
            let _ = writeln!(
                out,
                r##"<line x1="{:.0}" y1="{:.1}" x2="{AXIS_X}" y2="{:.1}" stroke="#333333"/><text x="{:.0}" y="{:.1}" text-anchor="end" font-family="monospace" font-size="10">{:#014x}</text>"##,
                AXIS_X - 5.0,
                band.top,
                band.top,
                AXIS_X - 8.0,
                band.top + 4.0,
                band.start
            );
        }
    }
    if let Some(last) = bands.last() {
        let _ = writeln!(
            out,
            r##"<text x="{:.0}" y="{:.1}" text-anchor="end" font-family="monospace" font-size="10">{:#014x}</text>"##,
            AXIS_X - 8.0,
            bottom + 12.0,
            last.end
        );
    }
    out.push_str(&limit_lines(simulation, &bands));
    out.push_str(&overview(simulation, &bands, bottom));
    out.push_str("</svg>\n");
    out
}

/// The boot-order number inside a region's band, when the band is tall enough.
fn band_number(band: &Band) -> String {
    match &band.paint {
        Paint::Region(_, _, number) if band.height >= 12.0 => {
            let ink = if palette::wants_white_text(band.paint.colour()) {
                "#ffffff"
            } else {
                "#000000"
            };
            format!(
                r##"<text class="order" x="{:.0}" y="{:.1}" dominant-baseline="middle" font-weight="bold" fill="{ink}">{number}</text>"##,
                BAR_X + 6.0,
                band.top + band.height / 2.0
            )
        }
        _ => String::new(),
    }
}

/// Dashed lines across the detail at each limit that explains placement.
fn limit_lines(simulation: &Simulation, bands: &[Band]) -> String {
    let mut out = String::new();
    let end = bands.last().map_or(0, |band| band.end);
    for limit in simulation.limits.iter().filter(|limit| limit.address < end) {
        let y = position(bands, limit.address);
        let _ = writeln!(
            out,
            r##"<g class="limit"><line x1="{:.0}" y1="{y:.1}" x2="{:.0}" y2="{y:.1}" stroke="#d00000" stroke-width="1.5" stroke-dasharray="6 3"/><text x="{:.0}" y="{:.1}" fill="#d00000" font-size="10" text-anchor="end">{}</text></g>"##,
            NODE_X,
            WIDTH - 10.0,
            WIDTH - 10.0,
            y - 3.0,
            escape(&limit.label)
        );
    }
    out
}

/// The whole address space to scale, beside the detail: ranges, regions and limits.
fn overview(simulation: &Simulation, bands: &[Band], bottom: f64) -> String {
    let mut out = String::new();
    let end = bands.last().map_or(1, |band| band.end).max(1) as f64;
    let scale = (bottom - TOP) / end;
    let y = |address: u64| TOP + address as f64 * scale;
    let _ = writeln!(
        out,
        r##"<g class="overview"><text x="{:.0}" y="{:.0}" text-anchor="middle" font-weight="bold">to scale</text><rect x="{OVERVIEW_X}" y="{TOP}" width="{OVERVIEW_WIDTH}" height="{:.1}" fill="url(#hole)" stroke="#333333" stroke-width="0.5"/>"##,
        OVERVIEW_X + OVERVIEW_WIDTH / 2.0,
        TOP - 6.0,
        bottom - TOP
    );
    let mut draw = |start: u64, stop: u64, colour: &str, class: &str| {
        let top = y(start);
        let height = (y(stop) - top).max(1.0);
        let _ = writeln!(
            out,
            r##"<rect class="{class}" x="{OVERVIEW_X}" y="{top:.2}" width="{OVERVIEW_WIDTH}" height="{height:.2}" fill="{colour}"><title>{start:#x}-{stop:#x} {}</title></rect>"##,
            size(stop - start)
        );
    };
    for range in simulation.map.ranges() {
        let colour = if range.kind.is_ram() {
            palette::FREE
        } else {
            firmware_colour(range.kind)
        };
        draw(
            range.start.as_u64(),
            range.end.as_u64(),
            colour,
            "overview-range",
        );
    }
    for (_, region) in numbered_regions(simulation) {
        draw(
            region.start,
            region.end,
            palette::colour(region.kind.name()),
            "overview-region",
        );
    }
    let mut last_label = f64::NEG_INFINITY;
    for limit in &simulation.limits {
        let at = y(limit.address);
        let _ = writeln!(
            out,
            r##"<line x1="{:.0}" y1="{at:.1}" x2="{:.0}" y2="{at:.1}" stroke="#d00000" stroke-dasharray="3 2"/>"##,
            OVERVIEW_X - 4.0,
            OVERVIEW_X + OVERVIEW_WIDTH + 4.0,
        );
        // Labels that would overlap the one above are left to the detail.
        if at - last_label >= 11.0 {
            last_label = at;
            let _ = writeln!(
                out,
                r##"<text x="{:.0}" y="{:.1}" font-size="9" fill="#d00000">{}</text>"##,
                OVERVIEW_X + OVERVIEW_WIDTH + 6.0,
                at + 3.0,
                escape(&limit.label)
            );
        }
    }
    out.push_str("</g>\n");
    out
}
