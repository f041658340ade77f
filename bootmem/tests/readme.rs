//! The README's set-up example is the doc-tested example of `set_up`, line for line.

use std::fs;
use std::path::Path;

/// The lines of the first fenced block after `heading` in the README.
fn readme_block(readme: &str, heading: &str) -> Vec<String> {
    let section = &readme[readme.find(heading).expect("the README has the heading")..];
    let body = &section[section.find("```rust\n").expect("a rust block") + 8..];
    let end = body.find("```\n").expect("the block ends");
    body[..end].lines().map(str::to_owned).collect()
}

/// The lines of the doc example that starts with `first_line` in a Rust
/// source file, without the `/// ` prefix and without hidden `# ` lines.
fn doc_example(source: &str, first_line: &str) -> Vec<String> {
    let start = source
        .find(&format!("/// ```\n/// {first_line}"))
        .expect("the doc example exists")
        + "/// ```\n".len();
    source[start..]
        .lines()
        .take_while(|line| line.trim() != "/// ```")
        .map(|line| {
            line.strip_prefix("/// ")
                .unwrap_or(line.trim_start_matches("///"))
        })
        .filter(|line| !line.starts_with("# "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_set_up_example_is_the_doc_tested_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("../README.md")).expect("README.md");
    let source = fs::read_to_string(root.join("src/setup/mod.rs")).expect("setup/mod.rs");
    let shown = readme_block(&readme, "### Setting up from a memory map");
    let tested = doc_example(&source, "use bootmem::linux::Bootmem;");
    assert!(
        shown.len() > 10,
        "the README block is {} lines",
        shown.len()
    );
    assert_eq!(shown, tested);
}
