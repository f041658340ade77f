//! The interactive page: one self-contained HTML file (inline style and script, no network) that steps through a boot call by call.
//!
//! The page draws each policy's physical address space twice: to scale
//! (the linear overview) and log-scaled with holes compressed (the detail),
//! with the nodes, the firmware's ranges and the limit lines. Buttons, the
//! arrow keys (Home and End too) and a slider move through the calls; the
//! panel shows the current call's Linux name, arguments, result and the
//! reasons for its placement. Hovering a block shows its range, size,
//! owner and call. Several policies (for `bootmem replay --html`) share the
//! step slider and the detail's scale, side by side.
//!
//! Elements a test can read, for policy `P` (from 0): `#call-P`,
//! `#address-P`, `#explanation-P` (one `li` per line), `#step-P`; the
//! controls are `#first`, `#previous`, `#next`, `#last` and `#slider`.

use super::page::Page;

/// The page for `page`, as one HTML document.
pub fn render(page: &Page) -> String {
    // `</` inside a script element would end it early.
    let data = serde_json::to_string(page)
        .unwrap_or_else(|_| "{}".to_string())
        .replace("</", "<\\/");
    let title = escape(&page.title);
    let subtitle = escape(&page.subtitle);
    TEMPLATE
        .replace("@TITLE@", &title)
        .replace("@SUBTITLE@", &subtitle)
        .replace("@STYLE@", STYLE)
        .replace("@SCRIPT@", SCRIPT)
        .replace("@DATA@", &data)
}

/// Escapes text for HTML content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>@STYLE@</style>
</head>
<body>
<header>
<h1>@TITLE@</h1>
<p class="subtitle">@SUBTITLE@</p>
<nav class="controls" aria-label="boot steps">
<button id="first" title="first call (Home)">first</button>
<button id="previous" title="previous call (left arrow)">&#x25C0; previous</button>
<input id="slider" type="range" min="0" max="0" value="0" aria-label="call">
<button id="next" title="next call (right arrow)">next &#x25B6;</button>
<button id="last" title="last call (End)">last</button>
<span id="position"></span>
</nav>
<p class="hint">Left or right arrow keys step through the calls. Left of each picture: the whole address space to scale; right: the same, log-scaled, holes compressed. Hover a block for its range, size, owner and call.</p>
</header>
<main id="policies"></main>
<div id="tooltip" role="tooltip" hidden></div>
<script id="data" type="application/json">@DATA@</script>
<script>@SCRIPT@</script>
</body>
</html>
"#;

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fafafa; }
header { position: sticky; top: 0; background: #ffffffee; border-bottom: 1px solid #ccc; padding: 8px 16px; z-index: 2; }
h1 { font-size: 18px; margin: 0; }
.subtitle, .hint { margin: 2px 0; color: #555; font-size: 13px; }
.controls { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
.controls button { font-size: 14px; padding: 3px 10px; }
#slider { flex: 1; max-width: 600px; }
#position { font-variant-numeric: tabular-nums; font-weight: bold; }
main { display: flex; gap: 16px; padding: 12px 16px; align-items: flex-start; }
.policy { flex: 1; min-width: 1080px; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
.policy h2 { font-size: 16px; margin: 0 0 6px; }
.body { display: flex; gap: 12px; align-items: flex-start; }
.side { position: sticky; top: 118px; width: 420px; flex: none; }
.panel { border: 1px solid #bbb; border-radius: 4px; padding: 8px; margin-bottom: 8px; background: #f6f8ff; min-height: 260px; }
.panel .step { font-weight: bold; }
.panel code { font-size: 15px; }
.panel .source { color: #555; font-size: 12px; }
.panel table { border-collapse: collapse; margin: 4px 0; font-size: 13px; }
.panel td { padding: 1px 8px 1px 0; }
.panel td:first-child { color: #555; }
.panel .address { font-family: ui-monospace, monospace; }
.panel ul { margin: 4px 0; padding-left: 18px; font-size: 13px; }
.outcome-panicked, .outcome-skipped { color: #b00000; font-weight: bold; }
svg { display: block; }
svg text { font-size: 10px; }
.block { stroke: #ffffff; stroke-width: 0.5; }
.block.later { display: none; }
.block.current { stroke: #000000; stroke-width: 2.5; }
.marker { fill: #000; }
.limit line { stroke: #d00000; stroke-dasharray: 6 3; stroke-width: 1.3; }
.limit text { fill: #d00000; }
#tooltip { position: fixed; pointer-events: none; background: #222; color: #fff; padding: 6px 8px; border-radius: 4px; font-size: 12px; max-width: 420px; z-index: 3; white-space: pre-line; }
ol.log { font-size: 12px; max-height: 220px; overflow: auto; margin: 6px 0 0; padding-left: 36px; }
ol.log li { cursor: pointer; }
ol.log li.current { background: #ffe9a8; font-weight: bold; }
ol.log li.later { color: #999; }
"#;

const SCRIPT: &str = r##"
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const SVG = "http://www.w3.org/2000/svg";

// The project's size format: a whole number is exact, two truncated decimals are not.
function sizeText(bytes) {
  let unit = 0;
  while (unit + 1 < UNITS.length && bytes >= (1n << BigInt(10 * (unit + 1)))) unit++;
  const scale = 1n << BigInt(10 * unit);
  const whole = bytes / scale, rest = bytes % scale;
  if (rest === 0n) return whole + " " + UNITS[unit];
  const hundredths = (rest * 100n) / scale;
  return whole + "." + String(hundredths).padStart(2, "0") + " " + UNITS[unit];
}
const hex = (value) => "0x" + value.toString(16);
const big = (text) => BigInt(text);
const colours = new Map(DATA.colours);
const colourOf = (kind) => colours.get(kind) || (kind.startsWith("firmware-") ? colours.get("firmware-other") : "#909090");

function element(tag, attributes, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}
function html(tag, attributes, parent, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

// Cut the address space at every boundary any policy uses; the pieces are shared.
const cuts = new Set();
const addCut = (value) => cuts.add(value.toString());
for (const range of DATA.ranges) { addCut(big(range.start)); addCut(big(range.end)); }
for (const node of DATA.nodes) { addCut(big(node.start)); addCut(big(node.end)); }
for (const policy of DATA.policies) for (const step of policy.steps) {
  if (step.start !== null) { addCut(big(step.start)); addCut(big(step.start) + big(step.size)); }
}
const points = [...cuts].map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const TOP = 24, HOLE = 14;
function rangeAt(start, end) {
  return DATA.ranges.find((range) => big(range.start) <= start && end <= big(range.end));
}
const pieces = [];
let y = TOP;
for (let index = 0; index + 1 < points.length; index++) {
  const start = points[index], end = points[index + 1];
  const range = rangeAt(start, end);
  const pages = Number((end - start) / 4096n) || 1;
  const height = range ? Math.min(70, Math.max(12, 12 + 3.2 * Math.log2(pages))) : HOLE;
  pieces.push({ start, end, range, top: y, height });
  y += height;
}
const BOTTOM = y;
const SPACE_END = points.length ? points[points.length - 1] : 1n;
function detailY(address) {
  for (const piece of pieces) {
    if (piece.start <= address && address <= piece.end) {
      const span = Number(piece.end - piece.start) || 1;
      return piece.top + (Number(address - piece.start) / span) * piece.height;
    }
  }
  return address <= (points[0] || 0n) ? TOP : BOTTOM;
}
const overviewY = (address) => TOP + (Number(address) / Number(SPACE_END || 1n)) * (BOTTOM - TOP);

const tooltip = document.getElementById("tooltip");
function hover(target, text) {
  target.addEventListener("mousemove", (event) => {
    tooltip.hidden = false;
    tooltip.textContent = text();
    tooltip.style.left = event.clientX + 14 + "px";
    tooltip.style.top = event.clientY + 14 + "px";
  });
  target.addEventListener("mouseleave", () => { tooltip.hidden = true; });
}

const X = { overview: 8, overviewWidth: 34, axis: 170, node: 176, nodeWidth: 46, bar: 228, barWidth: 200, label: 436, width: 640 };
const views = [];
let current = 0;
const longest = Math.max(1, ...DATA.policies.map((policy) => policy.steps.length));

function describeStep(step, number) {
  const start = step.start === null ? null : big(step.start);
  const where = start === null ? "nowhere (" + step.outcome + ")" :
    "[" + hex(start) + ", " + hex(start + big(step.size)) + ")" + (step.node === null ? "" : " on node " + step.node);
  return "#" + number + " " + step.call + "\n" + step.owner + "\n" + where + "\n" + sizeText(big(step.size));
}

function buildPolicy(policy, index, parent) {
  const section = html("section", { class: "policy", id: "policy-" + index }, parent);
  html("h2", {}, section, policy.name);
  const body = html("div", { class: "body" }, section);
  const side = html("div", { class: "side" }, body);
  const panel = html("div", { class: "panel", id: "panel-" + index }, side);
  const stepLine = html("div", { class: "step", id: "step-" + index }, panel);
  const callLine = html("div", {}, panel);
  const call = html("code", { id: "call-" + index }, callLine);
  const source = html("span", { class: "source", id: "source-" + index }, callLine);
  const table = html("table", { id: "arguments-" + index }, panel);
  const result = html("div", {}, panel);
  html("span", {}, result, "landed: ");
  const address = html("span", { class: "address", id: "address-" + index }, result);
  const why = html("ul", { id: "explanation-" + index }, panel);

  const svg = element("svg", { width: X.width, height: BOTTOM + 16, viewBox: "0 0 " + X.width + " " + (BOTTOM + 16), id: "picture-" + index });
  body.insertBefore(svg, side);
  const defs = element("defs", {}, svg);
  const pattern = element("pattern", { id: "hole-" + index, width: 8, height: 8, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
  element("rect", { width: 8, height: 8, fill: "#f2f2f2" }, pattern);
  element("line", { x1: 0, y1: 0, x2: 0, y2: 8, stroke: "#cccccc", "stroke-width": 3 }, pattern);
  element("text", { x: X.overview, y: 14, "font-weight": "bold" }, svg).textContent = "to scale";
  element("text", { x: X.bar, y: 14, "font-weight": "bold" }, svg).textContent = "log-scaled detail";
  element("rect", { x: X.overview, y: TOP, width: X.overviewWidth, height: BOTTOM - TOP, fill: "url(#hole-" + index + ")" }, svg);
  // Background: RAM, firmware ranges, holes.
  let lastLabel = -100;
  for (const piece of pieces) {
    const kind = piece.range ? (piece.range.kind === "ram" ? "free" : piece.range.kind) : "hole";
    const fill = kind === "hole" ? "url(#hole-" + index + ")" : colourOf(kind);
    const rect = element("rect", { class: "piece " + kind, x: X.bar, y: piece.top, width: X.barWidth, height: piece.height, fill, stroke: "#ffffff", "stroke-width": 0.5 }, svg);
    const what = { free: "free RAM", hole: "hole (no range; not to scale)", highmem: "highmem: RAM bootmem never manages" };
    hover(rect, () => (what[kind] || kind) + "\n[" + hex(piece.start) + ", " + hex(piece.end) + ")\n" + sizeText(piece.end - piece.start));
    if (piece.top - lastLabel >= 12) {
      lastLabel = piece.top;
      element("text", { x: X.axis - 4, y: piece.top + 4, "text-anchor": "end", "font-family": "monospace" }, svg).textContent = hex(piece.start);
    }
  }
  for (const range of DATA.ranges) {
    const top = overviewY(big(range.start));
    const kind = range.kind === "ram" ? "free" : range.kind;
    element("rect", { x: X.overview, y: top, width: X.overviewWidth, height: Math.max(1, overviewY(big(range.end)) - top), fill: colourOf(kind) }, svg);
  }
  DATA.nodes.forEach((node, position) => {
    const top = detailY(big(node.start)), bottom = detailY(big(node.end));
    element("rect", { x: X.node, y: top, width: X.nodeWidth, height: Math.max(1, bottom - top), fill: ["#c5cae9", "#ffe0b2", "#b2dfdb", "#f8bbd0", "#dcedc8", "#d1c4e9"][position % 6], stroke: "#333", "stroke-width": 0.5 }, svg);
    element("text", { x: X.node + X.nodeWidth / 2, y: top + 12, "text-anchor": "middle", "font-weight": "bold" }, svg).textContent = "node " + node.node;
  });
  // Every placed step: a block in the detail and in the overview.
  const blocks = policy.steps.map((step, number) => {
    if (step.start === null) return null;
    const start = big(step.start), end = start + big(step.size);
    if (end <= start) return null;
    const top = detailY(start), height = Math.max(2, detailY(end) - top);
    const detail = element("rect", { class: "block " + step.kind, x: X.bar + 22, y: top, width: X.barWidth - 22, height, fill: colourOf(step.kind) }, svg);
    const overviewTop = overviewY(start);
    const overview = element("rect", { class: "block " + step.kind, x: X.overview, y: overviewTop, width: X.overviewWidth, height: Math.max(2, overviewY(end) - overviewTop), fill: colourOf(step.kind) }, svg);
    const label = element("text", { x: X.bar + 3, y: top + Math.min(height, 12) - 2, class: "block" }, svg);
    label.textContent = String(number + 1);
    for (const target of [detail, overview]) {
      hover(target, () => describeStep(step, number + 1));
      target.addEventListener("click", () => show(number));
    }
    return { detail, overview, label, top };
  });
  const marker = element("path", { class: "marker", d: "" }, svg);
  const callout = element("text", { x: X.label, y: 0, "font-weight": "bold" }, svg);
  for (const limit of DATA.limits) {
    const address = big(limit.address);
    if (address > SPACE_END) continue;
    const group = element("g", { class: "limit" }, svg);
    const at = detailY(address), overviewAt = overviewY(address);
    element("line", { x1: X.node, y1: at, x2: X.width - 4, y2: at }, group);
    element("text", { x: X.width - 4, y: at - 3, "text-anchor": "end" }, group).textContent = limit.label;
    element("line", { x1: X.overview - 4, y1: overviewAt, x2: X.overview + X.overviewWidth + 4, y2: overviewAt }, group);
  }
  const log = html("ol", { class: "log", id: "log-" + index }, side);
  const items = policy.steps.map((step, number) => {
    const item = html("li", {}, log, step.call + ": " + step.owner);
    item.addEventListener("click", () => show(number));
    return item;
  });
  views.push({ policy, stepLine, call, source, table, address, why, blocks, marker, callout, items });
}

function render(view) {
  const steps = view.policy.steps;
  if (!steps.length) { view.stepLine.textContent = "no calls"; return; }
  const index = Math.min(current, steps.length - 1);
  const step = steps[index];
  view.stepLine.textContent = "Call " + (index + 1) + " of " + steps.length;
  view.call.textContent = step.call;
  view.source.textContent = step.source ? "  from " + step.source : "";
  view.table.replaceChildren();
  for (const argument of step.arguments) {
    const row = html("tr", {}, view.table);
    html("td", {}, row, argument.name);
    html("td", {}, row, argument.value);
  }
  if (step.start === null) {
    view.address.textContent = "nowhere: " + step.outcome;
    view.address.className = "address outcome-" + step.outcome;
  } else {
    const start = big(step.start), end = start + big(step.size);
    view.address.textContent = "[" + hex(start) + ", " + hex(end) + ")" + (step.node === null ? "" : " on node " + step.node) + ", " + sizeText(big(step.size)) + " (" + step.outcome + ")";
    view.address.className = "address";
  }
  view.why.replaceChildren();
  for (const line of step.explanation) html("li", {}, view.why, line);
  view.blocks.forEach((block, number) => {
    if (!block) return;
    const state = number < index ? "" : number === index ? " current" : " later";
    for (const part of [block.detail, block.overview, block.label]) {
      part.setAttribute("class", "block " + steps[number].kind + state);
    }
  });
  view.items.forEach((item, number) => { item.className = number < index ? "" : number === index ? "current" : "later"; });
  const block = view.blocks[index];
  if (block) {
    const at = block.top + 6;
    view.marker.setAttribute("d", "M " + (X.label - 2) + " " + at + " l -8 -5 v 10 z");
    view.callout.setAttribute("y", at + 4);
    view.callout.setAttribute("x", X.label + 2);
    view.callout.textContent = (index + 1) + ". " + step.owner;
    if (view === views[0] && scrollToCurrent) {
      // Bring the current block into view when it is off screen.
      const box = block.detail.getBoundingClientRect();
      if (box.top < 150 || box.bottom > window.innerHeight) window.scrollBy(0, box.top - window.innerHeight / 2);
    }
  } else {
    view.marker.setAttribute("d", "");
    view.callout.textContent = "";
  }
  // Scroll the call list only, never the page.
  const item = view.items[index], list = item.parentElement;
  list.scrollTop = Math.max(0, item.offsetTop - list.offsetTop - list.clientHeight / 2);
}

let scrollToCurrent = false;
function show(index) {
  current = Math.max(0, Math.min(longest - 1, index));
  slider.value = String(current);
  document.getElementById("position").textContent = "call " + (current + 1) + " / " + longest;
  views.forEach(render);
}

const slider = document.getElementById("slider");
slider.max = String(longest - 1);
const main = document.getElementById("policies");
DATA.policies.forEach((policy, index) => buildPolicy(policy, index, main));
document.getElementById("first").addEventListener("click", () => show(0));
document.getElementById("previous").addEventListener("click", () => show(current - 1));
document.getElementById("next").addEventListener("click", () => show(current + 1));
document.getElementById("last").addEventListener("click", () => show(longest - 1));
slider.addEventListener("input", () => show(Number(slider.value)));
document.addEventListener("keydown", (event) => {
  if (event.target === slider) return;
  const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (event.key in moves) { show(current + moves[event.key]); event.preventDefault(); }
  else if (event.key === "Home") { show(0); event.preventDefault(); }
  else if (event.key === "End") { show(longest - 1); event.preventDefault(); }
});
show(0);
scrollToCurrent = true;
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::page::{Page, Policy};

    #[test]
    fn the_page_is_self_contained_and_carries_its_data_safely() {
        let page = Page {
            title: "a <machine>".to_string(),
            subtitle: String::new(),
            nodes: Vec::new(),
            ranges: Vec::new(),
            limits: Vec::new(),
            policies: vec![Policy {
                name: "x</script><b>".to_string(),
                steps: Vec::new(),
            }],
            colours: Vec::new(),
        };
        let text = render(&page);
        assert!(text.contains("<title>a &lt;machine&gt;</title>"));
        assert!(
            !text.contains("x</script>"),
            "the data cannot close its script element"
        );
        // The only URL is the SVG namespace's name, which is never fetched.
        assert_eq!(text.matches("http").count(), 1);
        assert!(!text.contains("src=\""), "no external scripts or images");
        assert!(!text.contains("<link"), "no external style sheets");
    }
}
