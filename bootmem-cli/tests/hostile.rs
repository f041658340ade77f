//! Hostile files for every reader of the command (`map` in each format, `script`, `replay`): empty, truncated, random bytes, absurd numbers, lying blobs.
//!
//! Whatever the input, the command must end with an answer or an `error:`
//! line, and exit 0, 1 or 2: never with a Rust panic (status 101 and
//! "panicked" on standard error).

mod common;

use std::path::{Path, PathBuf};

use common::{run, SHARED};

/// A scratch file holding `bytes`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let path =
            std::env::temp_dir().join(format!("bootmem-hostile-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        Self(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Deterministic pseudo-random bytes (SplitMix64).
fn random_bytes(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed;
    (0..length)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

/// Runs `bootmem SUBCOMMAND [options] FILE` and checks it did not panic.
fn survives(subcommand: &str, options: &[&str], file: &Scratch, what: &str) {
    let mut arguments: Vec<&str> = options.to_vec();
    arguments.push(file.path());
    let outcome = run(subcommand, &arguments);
    assert!(
        !outcome.stderr.contains("panicked"),
        "bootmem {subcommand} {options:?} panicked on {what}: {}",
        outcome.stderr
    );
    if !outcome.success {
        assert!(
            outcome.stderr.contains("error"),
            "{subcommand} on {what}: no error line: {}",
            outcome.stderr
        );
    }
}

/// The real files every reader is fed truncated: the samples and shared data.
fn samples() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for directory in [
        Path::new(SHARED).to_path_buf(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/map"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/replay"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&directory) {
            files.extend(entries.filter_map(Result::ok).map(|entry| entry.path()));
        }
    }
    files.sort();
    assert!(files.len() > 10, "found only {files:?}");
    files
}

/// Every reader: the map formats, the script runner, the replay.
const READERS: [(&str, &[&str]); 7] = [
    ("map", &[]),
    ("map", &["--format", "dmesg"]),
    ("map", &["--format", "iomem"]),
    ("map", &["--format", "dtb"]),
    ("map", &["--format", "toml"]),
    ("script", &[]),
    ("replay", &[]),
];

#[test]
fn empty_and_random_files_never_panic() {
    let mut inputs = vec![
        ("empty", Vec::new()),
        ("newline", b"\n".to_vec()),
        ("nul bytes", vec![0; 4096]),
        ("invalid utf-8", vec![0xff, 0xfe, 0x80, b'\n', 0xc3]),
    ];
    for seed in 0..4 {
        inputs.push(("random bytes", random_bytes(seed, 64 << seed)));
    }
    for (name, bytes) in &inputs {
        let file = Scratch::new("input", bytes);
        for (subcommand, options) in READERS {
            survives(subcommand, options, &file, name);
        }
    }
}

#[test]
fn truncated_real_files_never_panic() {
    for sample in samples() {
        let bytes = std::fs::read(&sample).unwrap();
        for cut in [
            1,
            7,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len().saturating_sub(1),
        ] {
            let file = Scratch::new("truncated", &bytes[..cut.min(bytes.len())]);
            for (subcommand, options) in READERS {
                survives(
                    subcommand,
                    options,
                    &file,
                    &format!("{} cut at {cut}", sample.display()),
                );
            }
        }
    }
}

#[test]
fn absurd_numbers_never_panic() {
    let lines: [&[u8]; 8] = [
        b"BIOS-e820: [mem 0xffffffffffffffff-0x0000000000000000] usable\n",
        b"BIOS-e820: [mem 0x0000000000000000-0xffffffffffffffff] usable\n",
        b"BIOS-e820: [mem 0x00000000000000000000000000000000001-0x2] usable\n",
        b"ffffffffffffffff-ffffffffffffffff : System RAM\n0-ffffffffffffffff : System RAM\n",
        b"[[ram]]\nstart = 0xffffffffffffffff\nend = 0x10\n",
        b"page_size 0\ninit_bootmem_node 0 0 0 0xffffffffffffffff\nalloc_bootmem 0xffffffffffffffff\n",
        b"init_bootmem_node 4294967296 0 0 16\nfree_bootmem 0xffffffffffffffff 1\nreserve_bootmem 0 99999999999999999999999 0\n",
        b"memblock_reserve: [0xffffffffffffffff-0x0000000000000000] setup_arch+0x1\nmemblock_alloc_try_nid: 18446744073709551615 bytes align=0x0 nid=-1 from=0xffffffffffffffff max_addr=0x0 foo+0x1\n",
    ];
    for (index, line) in lines.iter().enumerate() {
        let file = Scratch::new("numbers", line);
        for (subcommand, options) in READERS {
            survives(subcommand, options, &file, &format!("absurd line {index}"));
        }
    }
}

#[test]
fn lying_device_tree_blobs_never_panic() {
    // A header: magic, total size, structure / strings / reservation offsets, version...
    let header = |magic: u32, size: u32, structure: u32, strings: u32, reservations: u32| {
        let mut blob = Vec::new();
        for word in [
            magic,
            size,
            structure,
            strings,
            reservations,
            17,
            16,
            0,
            0x40,
            0x40,
        ] {
            blob.extend(word.to_be_bytes());
        }
        blob.resize(128, 0);
        blob
    };
    let blobs = [
        ("wrong magic", header(0xdead_beef, 128, 40, 40, 40)),
        ("lying size", header(0xd00d_feed, 0xffff_fff0, 40, 40, 40)),
        (
            "absurd offsets",
            header(0xd00d_feed, 128, 0xffff_fff0, 0xffff_ff00, 0xffff_0000),
        ),
        ("cyclic offsets", header(0xd00d_feed, 128, 0, 0, 0)),
        ("tiny", vec![0xd0, 0x0d, 0xfe, 0xed]),
    ];
    for (name, blob) in &blobs {
        let file = Scratch::new("blob", blob);
        for (subcommand, options) in READERS {
            survives(subcommand, options, &file, name);
        }
    }
}
