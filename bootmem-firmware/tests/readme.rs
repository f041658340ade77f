//! The README's "Booting your kernel with bootmem" shows the doc-tested examples of `docs/booting.md`, line for line.

const README: &str = include_str!("../../README.md");
const BOOTING: &str = include_str!("../docs/booting.md");

/// The lines a reader sees of the Rust blocks of `text` (rustdoc's hidden `# ` lines left out).
fn visible_code(text: &str) -> Vec<&str> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            inside = !inside;
            continue;
        }
        if inside && !(line.starts_with("# ") || line == "#") {
            lines.push(line);
        }
    }
    lines
}

#[test]
fn the_readme_section_matches_the_doc_tested_examples() {
    let start = README
        .find("## Booting your kernel with bootmem")
        .expect("the README has the section");
    let rest = &README[start + 3..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let shown = visible_code(section);
    let tested = visible_code(BOOTING);
    assert!(tested.len() > 40, "every protocol has its example");
    assert_eq!(shown, tested);
}
