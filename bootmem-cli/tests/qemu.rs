//! Boots the bare-metal kernels under QEMU: PVH and UEFI on x86_64, riscv64 and aarch64, several memory sizes and NUMA layouts, plus deliberate failures.
//!
//! Each kernel (`kernels/<arch>`, members of the `kernels/` workspace) is
//! built once, in release, for its own target, and every configuration
//! boots it with a wall-clock timeout. A configuration passes only with
//! QEMU's exact pass status *and* a `PASS` line on the serial port (a
//! triple fault, a firmware shutdown, a hang or a trap never reads as a
//! pass) *and* the kernel's own account adding up (see
//! `Boot::check_summary`). Deliberate faults (`bootmem.test=...`) must end
//! in the kernel's named failure. Missing QEMU, OVMF or a rustup target is
//! a failure, never a skip: run `scripts/test-kernels` (or the README's
//! test command, `scripts/test-all`), which installs them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The exit status every kernel's pass produces (see `kernels/common/src/exit.rs`).
const PASS_STATUS: i32 = 33;
/// The exit status every kernel's failure produces.
const FAIL_STATUS: i32 = 35;
/// How long one boot may take, from spawn to exit. Boots take well under a
/// second with TCG; the margin is for a loaded 2-core CI machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);

const HOW_TO_FIX: &str =
    "run scripts/test-kernels (part of scripts/test-all), which installs QEMU, OVMF and the rustup targets";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arch {
    X86_64,
    /// The x86_64 UEFI kernel, loaded by OVMF from a FAT boot volume.
    X86_64Uefi,
    Riscv64,
    Aarch64,
    /// The aarch64 UEFI kernel, loaded by AAVMF from a FAT boot volume.
    Aarch64Uefi,
}

impl Arch {
    fn directory(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::X86_64Uefi => "x86_64-uefi",
            Arch::Riscv64 => "riscv64",
            Arch::Aarch64 => "aarch64",
            Arch::Aarch64Uefi => "aarch64-uefi",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-none",
            Arch::X86_64Uefi => "x86_64-unknown-uefi",
            Arch::Riscv64 => "riscv64gc-unknown-none-elf",
            Arch::Aarch64 => "aarch64-unknown-none",
            Arch::Aarch64Uefi => "aarch64-unknown-uefi",
        }
    }

    fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 | Arch::X86_64Uefi => "qemu-system-x86_64",
            Arch::Riscv64 => "qemu-system-riscv64",
            Arch::Aarch64 | Arch::Aarch64Uefi => "qemu-system-aarch64",
        }
    }

    /// The machine type.
    fn machine(self) -> &'static str {
        match self {
            Arch::X86_64 | Arch::X86_64Uefi => "q35",
            Arch::Riscv64 | Arch::Aarch64 | Arch::Aarch64Uefi => "virt",
        }
    }

    /// The firmware, CPU and exit device.
    fn device_arguments(self) -> Vec<String> {
        let arguments: &[&str] = match self {
            Arch::X86_64 => &["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
            Arch::X86_64Uefi | Arch::Aarch64Uefi => {
                let (code, variables) = uefi_firmware(self);
                let mut arguments = match self {
                    Arch::X86_64Uefi => vec!["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
                    _ => vec!["-cpu", "cortex-a57", "-semihosting"],
                }
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>();
                arguments.extend([
                    // No default NIC, VGA or CD-ROM: nothing for the firmware to probe or boot.
                    "-nodefaults".to_string(),
                    "-drive".to_string(),
                    format!("if=pflash,format=raw,readonly=on,file={}", code.display()),
                    // snapshot=on: the firmware may write its variables; the file stays as installed.
                    "-drive".to_string(),
                    format!(
                        "if=pflash,format=raw,snapshot=on,file={}",
                        variables.display()
                    ),
                ]);
                return arguments;
            }
            Arch::Riscv64 => &["-bios", "default"],
            Arch::Aarch64 => &["-cpu", "cortex-a57", "-semihosting"],
        };
        arguments
            .iter()
            .map(|argument| argument.to_string())
            .collect()
    }

    /// The removable-media boot file of a UEFI kernel (None: QEMU loads the kernel).
    fn uefi_boot_file(self) -> Option<&'static str> {
        match self {
            Arch::X86_64Uefi => Some("BOOTX64.EFI"),
            Arch::Aarch64Uefi => Some("BOOTAA64.EFI"),
            _ => None,
        }
    }

    /// The file name the build leaves in `target/<triple>/release`.
    fn artifact(self) -> String {
        match self {
            Arch::X86_64Uefi | Arch::Aarch64Uefi => {
                format!("bootmem-kernel-{}.efi", self.directory())
            }
            _ => format!("bootmem-kernel-{}", self.directory()),
        }
    }
}

/// The UEFI firmware's code and variable store for `arch`: `OVMF_CODE` and
/// `OVMF_VARS` (x86_64) or `AAVMF_CODE` and `AAVMF_VARS` (aarch64) when
/// set, else the first pair a distribution installs (Debian's `ovmf` and
/// `qemu-efi-aarch64` packages first).
fn uefi_firmware(arch: Arch) -> (PathBuf, PathBuf) {
    let (variables_names, pairs, package): (_, &[(&str, &str)], _) = match arch {
        Arch::Aarch64Uefi => (
            ("AAVMF_CODE", "AAVMF_VARS"),
            &[
                (
                    "/usr/share/AAVMF/AAVMF_CODE.fd",
                    "/usr/share/AAVMF/AAVMF_VARS.fd",
                ),
                (
                    "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
                    "/usr/share/edk2/aarch64/vars-template-pflash.raw",
                ),
            ],
            "AAVMF (qemu-efi-aarch64)",
        ),
        _ => (
            ("OVMF_CODE", "OVMF_VARS"),
            &[
                (
                    "/usr/share/OVMF/OVMF_CODE_4M.fd",
                    "/usr/share/OVMF/OVMF_VARS_4M.fd",
                ),
                (
                    "/usr/share/OVMF/OVMF_CODE.fd",
                    "/usr/share/OVMF/OVMF_VARS.fd",
                ),
                (
                    "/usr/share/edk2/ovmf/OVMF_CODE.fd",
                    "/usr/share/edk2/ovmf/OVMF_VARS.fd",
                ),
                (
                    "/usr/share/edk2/x64/OVMF_CODE.4m.fd",
                    "/usr/share/edk2/x64/OVMF_VARS.4m.fd",
                ),
            ],
            "OVMF (ovmf)",
        ),
    };
    if let (Some(code), Some(variables)) = (
        std::env::var_os(variables_names.0),
        std::env::var_os(variables_names.1),
    ) {
        return (code.into(), variables.into());
    }
    pairs
        .iter()
        .map(|&(code, variables)| (PathBuf::from(code), PathBuf::from(variables)))
        .find(|(code, variables)| code.is_file() && variables.is_file())
        .unwrap_or_else(|| {
            panic!("{package}, UEFI firmware for QEMU, is not installed: {HOW_TO_FIX}")
        })
}

/// A FAT boot volume for one UEFI boot: the kernel as the removable-media
/// boot file (`EFI/BOOT/BOOTX64.EFI`, `BOOTAA64.EFI`), and the command line (QEMU's `-append`
/// reaches only kernels QEMU loads itself) in `EFI/BOOT/CMDLINE.TXT`.
/// Removed when dropped.
struct BootVolume {
    directory: PathBuf,
}

impl BootVolume {
    fn new(kernel: &Path, boot_file: &str, command_line: Option<&str>) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let directory = kernels_directory()
            .join("target")
            .join("boot-volumes")
            .join(format!(
                "{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
        let boot = directory.join("EFI").join("BOOT");
        std::fs::create_dir_all(&boot)
            .unwrap_or_else(|error| panic!("creating {}: {error}", boot.display()));
        std::fs::copy(kernel, boot.join(boot_file))
            .unwrap_or_else(|error| panic!("copying {}: {error}", kernel.display()));
        if let Some(command_line) = command_line {
            std::fs::write(boot.join("CMDLINE.TXT"), command_line)
                .unwrap_or_else(|error| panic!("writing the command line: {error}"));
        }
        Self { directory }
    }
}

impl Drop for BootVolume {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

fn kernels_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("kernels")
}

/// The outcome of building one kernel: its ELF path, or why it failed.
type Built = OnceLock<Result<PathBuf, String>>;

/// Builds the kernel of `arch` once per test process and returns its ELF path.
fn kernel(arch: Arch) -> PathBuf {
    static X86_64: Built = OnceLock::new();
    static RISCV64: Built = OnceLock::new();
    static AARCH64: Built = OnceLock::new();
    static X86_64_UEFI: Built = OnceLock::new();
    static AARCH64_UEFI: Built = OnceLock::new();
    let slot = match arch {
        Arch::Aarch64Uefi => &AARCH64_UEFI,
        Arch::X86_64 => &X86_64,
        Arch::X86_64Uefi => &X86_64_UEFI,
        Arch::Riscv64 => &RISCV64,
        Arch::Aarch64 => &AARCH64,
    };
    match slot.get_or_init(|| build(arch)) {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

fn build(arch: Arch) -> Result<PathBuf, String> {
    let directory = kernels_directory();
    let target_directory = directory.join("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--target")
        .arg(arch.target())
        .arg("--manifest-path")
        .arg(directory.join("Cargo.toml"))
        .arg("--package")
        .arg(format!("bootmem-kernel-{}", arch.directory()))
        .arg("--target-dir")
        .arg(&target_directory)
        .current_dir(&directory)
        .stdin(Stdio::null());
    // The outer `cargo test` sets variables meant for this test crate (and
    // CI may set RUSTFLAGS for the host): none of them may reach the
    // kernel's build. Registry, network and home settings stay.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let keep = matches!(name.as_str(), "CARGO_HOME" | "CARGO_TERM_COLOR")
            || name.starts_with("CARGO_NET_")
            || name.starts_with("CARGO_HTTP_")
            || name.starts_with("CARGO_REGISTRIES_")
            || name.starts_with("CARGO_REGISTRY_");
        let drop = (name.starts_with("CARGO_") && !keep)
            || matches!(
                name.as_str(),
                "RUSTFLAGS" | "RUSTDOCFLAGS" | "RUSTC_WRAPPER" | "RUSTC_WORKSPACE_WRAPPER"
            );
        if drop {
            command.env_remove(&name);
        }
    }
    let output = command
        .output()
        .map_err(|error| format!("cannot run {cargo}: {error}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            format!(
                "\nthe rustup target {} is missing: {HOW_TO_FIX}",
                arch.target()
            )
        } else {
            String::new()
        };
        return Err(format!(
            "building the {} kernel failed ({}):\n{stderr}{hint}",
            arch.directory(),
            output.status
        ));
    }
    let elf = target_directory
        .join(arch.target())
        .join("release")
        .join(arch.artifact());
    if !elf.is_file() {
        return Err(format!("the build left no kernel at {}", elf.display()));
    }
    Ok(elf)
}

/// One QEMU run and what it must end with.
struct Boot {
    arch: Arch,
    /// Memory and NUMA arguments.
    memory: Vec<String>,
    /// The id of a `memory-backend-*` object among `memory` to use as the
    /// machine's RAM (`-machine ...,memory-backend=ID`).
    memory_backend: Option<&'static str>,
    /// The kernel command line (the kernels read `bootmem.test=...`).
    command_line: Option<&'static str>,
    /// The exit status QEMU must report.
    status: i32,
    /// Lines (or line fragments) the serial log must contain.
    expect: Vec<String>,
    /// How long QEMU may run before it counts as hung and is killed.
    timeout: Duration,
    /// The bootmem nodes (with RAM) a passing boot must register.
    nodes: usize,
}

/// How one boot ended.
struct Outcome {
    /// QEMU's exit code (None if killed by a signal).
    code: Option<i32>,
    /// Whether QEMU had to be killed at the timeout.
    timed_out: bool,
    /// The serial log, `\r` removed.
    log: String,
    /// The command line, log and QEMU's stderr, for failure messages.
    description: String,
}

impl Outcome {
    fn lines(&self) -> impl Iterator<Item = &str> {
        self.log.lines().map(str::trim_end)
    }

    /// Whether QEMU had to be killed before the UEFI firmware said it was
    /// starting a boot option (OVMF and AAVMF print `BdsDxe: starting`
    /// just before they jump to the kernel). Only meaningful for a UEFI boot.
    fn hung_before_boot_option(&self) -> bool {
        self.timed_out && !self.log.contains("BdsDxe: starting")
    }

    /// The only verdict that counts as a pass: QEMU exited by itself with
    /// the pass status, the kernel printed `PASS` and no `FAIL`.
    fn is_pass(&self) -> bool {
        !self.timed_out
            && self.code == Some(PASS_STATUS)
            && self.lines().any(|line| line == "PASS")
            && !self.lines().any(|line| line.starts_with("FAIL"))
    }
}

impl Boot {
    fn passing(arch: Arch, memory: &[&str], nodes: usize) -> Self {
        Self {
            arch,
            memory: memory.iter().map(|argument| argument.to_string()).collect(),
            memory_backend: None,
            command_line: None,
            status: PASS_STATUS,
            expect: vec!["summary: ".to_string(), format!("bootmem nodes: {nodes}")],
            timeout: BOOT_TIMEOUT,
            nodes,
        }
    }

    fn failing(arch: Arch, command_line: &'static str, message: &str) -> Self {
        Self {
            arch,
            memory: vec!["-m".to_string(), "512M".to_string()],
            memory_backend: None,
            command_line: Some(command_line),
            status: FAIL_STATUS,
            expect: vec![format!("FAIL: {message}")],
            timeout: BOOT_TIMEOUT,
            nodes: 1,
        }
    }

    /// Also requires a line containing `fragment`.
    fn with_expected(mut self, fragment: &str) -> Self {
        self.expect.push(fragment.to_string());
        self
    }

    /// QEMU's arguments; `volume` is the UEFI kernel's boot volume.
    fn arguments(&self, kernel: &Path, volume: Option<&BootVolume>) -> Vec<String> {
        let machine = match self.memory_backend {
            Some(backend) => format!("{},memory-backend={backend}", self.arch.machine()),
            None => self.arch.machine().to_string(),
        };
        let mut arguments = vec!["-machine".to_string(), machine];
        arguments.extend(self.arch.device_arguments());
        arguments.extend(self.memory.iter().cloned());
        arguments.extend(
            [
                "-no-reboot",
                "-display",
                "none",
                "-serial",
                "stdio",
                "-monitor",
                "none",
            ]
            .map(String::from),
        );
        match volume {
            Some(volume) => {
                // A FAT view of the directory; snapshot=on lets the emulated
                // disk take the firmware's writes without the directory.
                let drive = format!(
                    "format=raw,snapshot=on,file=fat:{}",
                    volume.directory.display()
                );
                if self.arch == Arch::X86_64Uefi {
                    // q35's AHCI controller takes it.
                    arguments.extend(["-drive".to_string(), drive]);
                } else {
                    // virt has no disk controller of its own.
                    arguments.extend([
                        "-drive".to_string(),
                        format!("if=none,id=boot-volume,{drive}"),
                        "-device".to_string(),
                        "virtio-blk-pci,drive=boot-volume".to_string(),
                    ]);
                }
            }
            None => {
                arguments.push("-kernel".to_string());
                arguments.push(kernel.display().to_string());
                if let Some(command_line) = self.command_line {
                    arguments.push("-append".to_string());
                    arguments.push(command_line.to_string());
                }
            }
        }
        arguments
    }

    /// Boots once and reports how it ended.
    fn boot(&self) -> Outcome {
        let kernel = kernel(self.arch);
        let volume = self
            .arch
            .uefi_boot_file()
            .map(|boot_file| BootVolume::new(&kernel, boot_file, self.command_line));
        let arguments = self.arguments(&kernel, volume.as_ref());
        let started = Instant::now();
        let mut child = match Command::new(self.arch.qemu())
            .args(&arguments)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                panic!("{} is not installed: {HOW_TO_FIX}", self.arch.qemu())
            }
            Err(error) => panic!("cannot start {}: {error}", self.arch.qemu()),
        };
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let serial = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let errors = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        let mut timed_out = false;
        let status = loop {
            match child.try_wait().expect("wait for QEMU") {
                Some(status) => break status,
                None if started.elapsed() > self.timeout => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().expect("wait for the killed QEMU");
                }
                None => thread::sleep(Duration::from_millis(20)),
            }
        };
        let elapsed = started.elapsed();
        let log = String::from_utf8_lossy(&serial.join().unwrap_or_default()).replace('\r', "");
        let errors = String::from_utf8_lossy(&errors.join().unwrap_or_default()).into_owned();
        let description = format!(
            "{} {}\n--- serial log ---\n{log}\n--- QEMU stderr ---\n{errors}\n({}, {elapsed:.2?})",
            self.arch.qemu(),
            arguments.join(" "),
            if timed_out {
                format!("killed after {:?}", self.timeout)
            } else {
                status.to_string()
            }
        );
        // Shown by cargo when the test fails (or with --nocapture).
        eprintln!("{description}");
        Outcome {
            code: status.code(),
            timed_out,
            log,
            description,
        }
    }

    /// Boots once more if a UEFI boot hung in the firmware, before it
    /// started our kernel ([`Outcome::hung_before_boot_option`]): that code is
    /// not the project's. It hung so once in CI (AAVMF, two NUMA nodes,
    /// the machine busy), before the boot manager had loaded anything, and
    /// not in a dozen reruns. A second hang, or any hang after the firmware
    /// started the kernel, is reported as one.
    fn boot_past_firmware(&self) -> Outcome {
        let outcome = self.boot();
        let uefi = self.arch.uefi_boot_file().is_some();
        if !(uefi && outcome.hung_before_boot_option()) {
            return outcome;
        }
        eprintln!("the firmware hung before starting the kernel; booting once more");
        self.boot()
    }

    /// Boots and checks the exit status and the log; panics with the log otherwise.
    fn run(&self) {
        let outcome = self.boot_past_firmware();
        let describe = &outcome.description;
        assert!(
            !outcome.timed_out,
            "QEMU did not exit within {:?} (a hang):\n{describe}",
            self.timeout
        );
        assert_eq!(
            outcome.code,
            Some(self.status),
            "QEMU exited with {:?}, expected {}:\n{describe}",
            outcome.code,
            self.status
        );
        if self.status == PASS_STATUS {
            assert!(outcome.is_pass(), "not a pass:\n{describe}");
        } else {
            assert!(
                !outcome.lines().any(|line| line == "PASS"),
                "a PASS line from a run that must fail:\n{describe}"
            );
        }
        for expected in &self.expect {
            assert!(
                outcome.lines().any(|line| line.contains(expected.as_str())),
                "the serial log lacks {expected:?}:\n{describe}"
            );
        }
        if self.status == PASS_STATUS {
            self.check_summary(&outcome);
        }
    }

    /// The machine's memory in MiB, from `-m`.
    fn memory_mib(&self) -> u64 {
        let value = self
            .memory
            .windows(2)
            .find(|pair| pair[0] == "-m")
            .map(|pair| pair[1].as_str())
            .expect("every boot gives -m");
        let (number, unit) = value.split_at(value.len() - 1);
        let number: u64 = number.parse().expect("-m NUMBER[MG]");
        match unit {
            "G" => number << 10,
            "M" => number,
            _ => panic!("-m {value}: give M or G"),
        }
    }

    /// Checks the kernel's own account, not only its verdict: every
    /// self-test step reported; the hand-off's pages per node equal that
    /// node's RAM minus what the kernel reserved and allocated, and add up
    /// to the total, which equals the pages expected; the RAM found is the
    /// machine's memory less at most a sixteenth (firmware and holes).
    fn check_summary(&self, outcome: &Outcome) {
        let describe = &outcome.description;
        let nodes = self.nodes;
        let count = |prefix: &str| {
            outcome
                .lines()
                .filter(|line| line.starts_with(prefix))
                .count()
        };
        for step in SELF_TEST_STEPS {
            assert_eq!(
                count(step),
                1,
                "the self-test did not report {step:?}:\n{describe}"
            );
        }
        assert_eq!(
            count("selftest: alloc_bootmem_pages_node("),
            nodes,
            "one node page per node:\n{describe}"
        );
        let summary = outcome
            .lines()
            .find_map(|line| line.strip_prefix("summary: "))
            .unwrap_or_else(|| panic!("no summary line:\n{describe}"));
        let fields: Vec<&str> = summary.split(" | ").collect();
        let number_before = |suffix: &str| -> u64 {
            fields
                .iter()
                .find_map(|field| field.strip_suffix(suffix))
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("the summary has no NUMBER{suffix:?}:\n{describe}"))
        };
        let ram_mib = number_before(" MiB RAM");
        let memory_mib = self.memory_mib();
        assert!(
            ram_mib <= memory_mib && ram_mib >= memory_mib - memory_mib / 16,
            "the kernel found {ram_mib} MiB of RAM in a {memory_mib} MiB machine:\n{describe}"
        );
        let handed_field = fields
            .iter()
            .find_map(|field| {
                field
                    .strip_suffix(")")?
                    .split_once(" pages handed to the page allocator (expected ")
            })
            .unwrap_or_else(|| panic!("the summary has no hand-off count:\n{describe}"));
        let handed: u64 = handed_field.0.parse().expect("a page count");
        let expected: u64 = handed_field.1.parse().expect("a page count");
        assert_eq!(
            handed, expected,
            "pages handed over != pages expected:\n{describe}"
        );
        // Most of the RAM goes to the page allocator: the test keeps ~7 MiB.
        assert!(
            handed << 12 >= (ram_mib << 20) / 2,
            "only {handed} pages of {ram_mib} MiB handed over:\n{describe}"
        );
        let mut node_total = 0;
        let mut node_lines = 0;
        for line in outcome
            .lines()
            .filter(|line| line.starts_with("hand-off node "))
        {
            let numbers: Vec<u64> = line
                .split(|c: char| !c.is_ascii_digit())
                .filter(|word| !word.is_empty())
                .map(|word| word.parse().expect("digits"))
                .collect();
            // hand-off node ID: HANDED pages (MIB MiB) = RAM R - reserved/allocated C; ...
            let [_, node_handed, _, ram, claimed, ..] = numbers[..] else {
                panic!("unreadable hand-off line {line:?}:\n{describe}");
            };
            assert_eq!(node_handed, ram - claimed, "{line}:\n{describe}");
            node_total += node_handed;
            node_lines += 1;
        }
        assert!(
            node_lines >= nodes,
            "{node_lines} hand-off lines for {nodes} nodes:\n{describe}"
        );
        assert_eq!(
            node_total, handed,
            "the nodes' pages do not add up:\n{describe}"
        );
    }
}

/// The self-test steps every passing boot reports once (the kernel's
/// `selftest.rs`).
const SELF_TEST_STEPS: [&str; 7] = [
    "selftest: alloc_bootmem_low(100) = ",
    "selftest: __alloc_bootmem(0x600000, 0x200000, ",
    "selftest: 300 alloc_bootmem calls, ",
    "selftest: free_bootmem(",
    "selftest: reserve_bootmem(.., BOOTMEM_EXCLUSIVE) on used ranges = -EBUSY, rolled back",
    "selftest: aimed at the kernel's reservations: ",
    "selftest: live allocations: ",
];

fn args(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

const TWO_NODES_6G: &str = "-m 6G -smp 2 \
    -object memory-backend-ram,id=m0,size=3G -object memory-backend-ram,id=m1,size=3G \
    -numa node,nodeid=0,memdev=m0,cpus=0 -numa node,nodeid=1,memdev=m1,cpus=1";

const FOUR_UNEQUAL_NODES: &str = "-m 4G -smp 4 \
    -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G \
    -object memory-backend-ram,id=m2,size=512M -object memory-backend-ram,id=m3,size=1536M \
    -numa node,nodeid=0,memdev=m0,cpus=0 -numa node,nodeid=1,memdev=m1,cpus=1 \
    -numa node,nodeid=2,memdev=m2,cpus=2 -numa node,nodeid=3,memdev=m3,cpus=3";

// --- x86_64: PVH on q35 ---

#[test]
fn only_a_hang_before_the_boot_option_counts_as_the_firmware_s() {
    let outcome = |timed_out, log: &str| Outcome {
        code: None,
        timed_out,
        log: log.to_string(),
        description: String::new(),
    };
    let firmware = "UEFI firmware (version  built at 13:10:49 on Nov  5 2024)\n";
    let started = "BdsDxe: starting Boot0001 \"UEFI Misc Device\"\nbootmem aarch64 kernel (UEFI)\n";
    assert!(outcome(true, firmware).hung_before_boot_option());
    assert!(outcome(true, "").hung_before_boot_option());
    assert!(!outcome(true, &format!("{firmware}{started}")).hung_before_boot_option());
    assert!(!outcome(false, firmware).hung_before_boot_option());
}

#[test]
fn x86_64_512m() {
    Boot::passing(Arch::X86_64, &args("-m 512M"), 1).run();
}

#[test]
fn x86_64_6g() {
    Boot::passing(Arch::X86_64, &args("-m 6G"), 1).run();
}

#[test]
fn x86_64_6g_two_numa_nodes() {
    Boot::passing(Arch::X86_64, &args(TWO_NODES_6G), 2).run();
}

#[test]
fn x86_64_64g_unreserved() {
    // reserve=off: the host never backs the 64 GiB, the guest touches only what it tests.
    let mut boot = Boot::passing(
        Arch::X86_64,
        &args("-object memory-backend-ram,id=ram0,size=64G,reserve=off -m 64G"),
        1,
    );
    boot.memory_backend = Some("ram0");
    boot.run();
}

// --- x86_64 UEFI: OVMF on q35, removable-media boot from a FAT volume ---

#[test]
fn x86_64_uefi_512m() {
    Boot::passing(Arch::X86_64Uefi, &args("-m 512M"), 1).run();
}

#[test]
fn x86_64_uefi_6g() {
    Boot::passing(Arch::X86_64Uefi, &args("-m 6G"), 1).run();
}

#[test]
fn x86_64_uefi_6g_two_numa_nodes() {
    // NUMA from the SRAT the firmware's configuration table leads to.
    Boot::passing(Arch::X86_64Uefi, &args(TWO_NODES_6G), 2).run();
}

// --- riscv64: virt behind OpenSBI ---

#[test]
fn riscv64_512m() {
    Boot::passing(Arch::Riscv64, &args("-m 512M"), 1).run();
}

#[test]
fn riscv64_6g() {
    Boot::passing(Arch::Riscv64, &args("-m 6G"), 1).run();
}

#[test]
fn riscv64_6g_two_numa_nodes() {
    Boot::passing(Arch::Riscv64, &args(TWO_NODES_6G), 2).run();
}

// --- aarch64: virt at EL1 ---

#[test]
fn aarch64_512m() {
    Boot::passing(Arch::Aarch64, &args("-m 512M"), 1).run();
}

#[test]
fn aarch64_6g() {
    Boot::passing(Arch::Aarch64, &args("-m 6G"), 1).run();
}

#[test]
fn aarch64_uefi_512m() {
    Boot::passing(Arch::Aarch64Uefi, &args("-m 512M"), 1).run();
}

#[test]
fn aarch64_uefi_6g() {
    Boot::passing(Arch::Aarch64Uefi, &args("-m 6G"), 1).run();
}

#[test]
fn aarch64_uefi_6g_two_numa_nodes() {
    Boot::passing(Arch::Aarch64Uefi, &args(TWO_NODES_6G), 2).run();
}

#[test]
fn aarch64_four_unequal_numa_nodes() {
    Boot::passing(Arch::Aarch64, &args(FOUR_UNEQUAL_NODES), 4).run();
}

// --- Failures must read as failures ---

#[test]
fn x86_64_fault_fails() {
    Boot::failing(
        Arch::X86_64,
        "bootmem.test=fault",
        "exception 14 (page fault)",
    )
    .run();
}

#[test]
fn x86_64_uefi_fault_fails() {
    Boot::failing(
        Arch::X86_64Uefi,
        "bootmem.test=fault",
        "exception 14 (page fault)",
    )
    .run();
}

#[test]
fn riscv64_fault_fails() {
    Boot::failing(Arch::Riscv64, "bootmem.test=fault", "trap scause=0x5").run();
}

#[test]
fn aarch64_fault_fails() {
    Boot::failing(Arch::Aarch64, "bootmem.test=fault", "exception vector 4").run();
}

#[test]
fn x86_64_out_of_memory_fails() {
    Boot::failing(Arch::X86_64, "bootmem.test=oom", "panic: bootmem alloc of").run();
}

#[test]
fn riscv64_out_of_memory_fails() {
    Boot::failing(Arch::Riscv64, "bootmem.test=oom", "panic: bootmem alloc of").run();
}

#[test]
fn aarch64_out_of_memory_fails() {
    Boot::failing(Arch::Aarch64, "bootmem.test=oom", "panic: bootmem alloc of").run();
}

// --- The kernel's own checks catch a broken allocator ---

/// bootmem is not told of the boot information (hvm_start_info, the UEFI
/// memory map, the device tree): the next allocation that lands there must
/// be caught by the kernel's ledger, before anything is written over it.
fn forgotten_reservation_fails(arch: Arch) {
    Boot::failing(arch, "bootmem.test=forget-reservation", "allocation ")
        .with_expected("lands on the reservation")
        .run();
}

#[test]
fn x86_64_forgotten_reservation_fails() {
    forgotten_reservation_fails(Arch::X86_64);
}

#[test]
fn x86_64_uefi_forgotten_reservation_fails() {
    forgotten_reservation_fails(Arch::X86_64Uefi);
}

#[test]
fn riscv64_forgotten_reservation_fails() {
    forgotten_reservation_fails(Arch::Riscv64);
}

#[test]
fn aarch64_forgotten_reservation_fails() {
    forgotten_reservation_fails(Arch::Aarch64);
}

/// The hand-off gives one block twice: the kernel's hand-off check must fail the boot.
fn double_hand_off_fails(arch: Arch) {
    Boot::failing(arch, "bootmem.test=double-hand-off", "node 0: pfn ")
        .with_expected("handed over twice")
        .run();
}

#[test]
fn x86_64_double_hand_off_fails() {
    double_hand_off_fails(Arch::X86_64);
}

#[test]
fn riscv64_double_hand_off_fails() {
    double_hand_off_fails(Arch::Riscv64);
}

#[test]
fn aarch64_double_hand_off_fails() {
    double_hand_off_fails(Arch::Aarch64);
}

// --- A PASS line alone is not a pass ---

/// The kernel prints `PASS` and then faults: the exit status decides.
fn pass_then_fault(arch: Arch) {
    let mut boot = Boot::failing(arch, "bootmem.test=pass-then-fault", "");
    boot.expect.clear();
    let outcome = boot.boot_past_firmware();
    assert!(
        outcome.lines().any(|line| line == "PASS"),
        "the kernel did not print its PASS line:\n{}",
        outcome.description
    );
    assert_eq!(outcome.code, Some(FAIL_STATUS), "{}", outcome.description);
    assert!(
        !outcome.is_pass(),
        "read as a pass:\n{}",
        outcome.description
    );
}

#[test]
fn x86_64_pass_then_fault_is_no_pass() {
    pass_then_fault(Arch::X86_64);
}

#[test]
fn riscv64_pass_then_fault_is_no_pass() {
    pass_then_fault(Arch::Riscv64);
}

#[test]
fn aarch64_pass_then_fault_is_no_pass() {
    pass_then_fault(Arch::Aarch64);
}

#[test]
fn pass_then_hang_is_no_pass() {
    // The kernel prints PASS and spins: QEMU must be killed, and that is no pass.
    let mut boot = Boot::failing(Arch::X86_64, "bootmem.test=pass-then-hang", "");
    boot.timeout = Duration::from_secs(3);
    let outcome = boot.boot_past_firmware();
    assert!(
        outcome.lines().any(|line| line == "PASS"),
        "the kernel did not print its PASS line:\n{}",
        outcome.description
    );
    assert!(
        outcome.timed_out,
        "QEMU exited by itself:\n{}",
        outcome.description
    );
    assert!(
        !outcome.is_pass(),
        "read as a pass:\n{}",
        outcome.description
    );
}

// --- The summary check itself: a log whose account does not add up fails ---

/// Runs `check_summary` on `outcome` with `edit` applied to its log, and
/// reports whether the check rejected it.
fn summary_rejected(boot: &Boot, outcome: &Outcome, edit: impl Fn(&str) -> String) -> bool {
    let edited = Outcome {
        code: outcome.code,
        timed_out: outcome.timed_out,
        log: edit(&outcome.log),
        description: String::from("(edited log)"),
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| boot.check_summary(&edited))).is_err()
}

#[test]
fn summary_check_rejects_a_wrong_account() {
    let boot = Boot::passing(Arch::X86_64, &args("-m 512M"), 1);
    let outcome = boot.boot_past_firmware();
    assert!(outcome.is_pass(), "{}", outcome.description);
    assert!(
        !summary_rejected(&boot, &outcome, str::to_string),
        "the true log was rejected:\n{}",
        outcome.description
    );
    // The hand-off total no longer equals the pages expected.
    assert!(summary_rejected(&boot, &outcome, |log| {
        log.replace(
            " pages handed to the page allocator (expected ",
            " pages handed to the page allocator (expected 1",
        )
    }));
    // A node's pages no longer equal its RAM minus what was claimed.
    assert!(summary_rejected(&boot, &outcome, |log| {
        log.replace("= RAM ", "= RAM 9")
    }));
    // A self-test step is missing.
    assert!(summary_rejected(&boot, &outcome, |log| {
        log.lines()
            .filter(|line| !line.starts_with("selftest: free_bootmem("))
            .collect::<Vec<_>>()
            .join("\n")
    }));
    // The kernel found far less RAM than the machine has (q35 512M: 511 MiB).
    assert!(summary_rejected(&boot, &outcome, |log| {
        log.replace("| 511 MiB RAM |", "| 100 MiB RAM |")
    }));
}
