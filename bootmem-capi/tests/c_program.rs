//! Compiles tests/c/boot.c with the system C compiler, links it against the static library and runs it.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Builds the static library and the C program once; returns the program.
fn program() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        // The test binary sits in target/<profile>/deps; the library's
        // build puts libbootmem_capi.a in target/<profile>.
        let profile_directory = std::env::current_exe()
            .expect("the test's path")
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "bootmem-capi", "--lib"]);
        if profile_directory.ends_with("release") {
            build.arg("--release");
        }
        let built = build.status().expect("cargo runs");
        assert!(built.success(), "cargo build -p bootmem-capi failed");
        let library = profile_directory.join("libbootmem_capi.a");
        assert!(library.exists(), "no {}", library.display());

        let executable = profile_directory.join("bootmem-capi-boot");
        let compiled = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
            .arg(manifest.join("include"))
            .arg(manifest.join("tests/c/boot.c"))
            .arg(&library)
            .args(["-lpthread", "-ldl", "-lm", "-o"])
            .arg(&executable)
            .status()
            .expect("the system C compiler (cc) runs");
        assert!(compiled.success(), "cc could not build tests/c/boot.c");
        executable
    })
}

fn run(argument: Option<&str>) -> Output {
    let mut command = Command::new(program());
    command.args(argument);
    command.output().expect("the C program runs")
}

#[test]
fn c_boot_sequence_passes_every_check() {
    let output = run(None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "boot.c failed: {stdout}");
    let checks: u32 = stdout
        .trim()
        .strip_prefix("boot: ok, ")
        .and_then(|rest| rest.strip_suffix(" checks"))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output: {stdout}"));
    // Every CHECK in the file runs exactly once (the macro's definition aside).
    let source = include_str!("c/boot.c");
    let written = source.matches("CHECK(").count() as u32 - 1;
    assert_eq!(checks, written, "some checks did not run");
}

#[test]
fn running_out_calls_the_c_panic_handler() {
    let output = run(Some("panic"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(42), "{stdout}");
    assert_eq!(
        stdout.trim(),
        "panic handler: bootmem alloc of 1073741824 bytes failed!"
    );
}

#[test]
fn running_out_without_a_handler_aborts() {
    let output = run(Some("abort"));
    assert_eq!(
        output.status.signal(),
        Some(6),
        "not SIGABRT: {:?}",
        output.status
    );
    assert!(output.stdout.is_empty());
}
