//! Which architecture's boot to simulate: read from the map's own words, or given with `--arch`.
//!
//! An e820 table only exists on x86. A device tree names its CPUs
//! (`riscv`, `arm,cortex-a53`, `arm,armv8` ...); a boot log names its
//! architecture in many places (`BIOS-e820`, `riscv:`, `SBI specification`,
//! `AArch64`, `ARMv7 Processor`, a `HighMem` zone ...); the shared sample
//! files say it in a `# arch:` comment. The first clear sign wins; a map
//! with no sign at all is taken for x86-64, the machine `bootmem map`'s
//! inputs most often come from.

use std::fmt;

/// An architecture whose v4.19 boot `bootmem boot` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Architecture {
    /// 64-bit x86 (e820 maps).
    #[value(name = "x86_64", alias = "x86-64", alias = "amd64")]
    X86_64,
    /// 64-bit ARM.
    #[value(name = "arm64", alias = "aarch64")]
    Arm64,
    /// 64-bit RISC-V.
    #[value(name = "riscv64", alias = "riscv")]
    Riscv64,
    /// 32-bit ARM (with highmem above 768 MiB of RAM).
    #[value(name = "arm", alias = "arm32", alias = "armv7")]
    Arm,
}

impl Architecture {
    /// The name used in reports and in JSON's `"arch"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
            Self::Riscv64 => "riscv64",
            Self::Arm => "arm",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The architecture chosen and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The architecture.
    pub architecture: Architecture,
    /// Why, in words (`"--arch"`, `"the e820 table"` ...).
    pub because: String,
}

/// Signs in a boot log, most specific first: (text, architecture, what it is).
const LOG_SIGNS: [(&str, Architecture, &str); 16] = [
    ("BIOS-e820:", Architecture::X86_64, "the e820 table"),
    ("e820: ", Architecture::X86_64, "the e820 table"),
    ("x86/fpu", Architecture::X86_64, "an x86 FPU line"),
    ("riscv: ", Architecture::Riscv64, "a riscv: line"),
    ("SBI specification", Architecture::Riscv64, "the RISC-V SBI"),
    ("riscv,isa", Architecture::Riscv64, "a RISC-V ISA string"),
    ("RISC-V", Architecture::Riscv64, "a RISC-V line"),
    ("AArch64", Architecture::Arm64, "an AArch64 line"),
    ("aarch64", Architecture::Arm64, "an aarch64 line"),
    ("arm64", Architecture::Arm64, "an arm64 line"),
    ("CPU features: ", Architecture::Arm64, "arm64 CPU features"),
    ("ARMv8", Architecture::Arm64, "an ARMv8 CPU"),
    ("ARMv7 Processor", Architecture::Arm, "an ARMv7 CPU"),
    ("ARMv6", Architecture::Arm, "an ARMv6 CPU"),
    ("HighMem ", Architecture::Arm, "a HighMem zone (32-bit)"),
    (
        "Memory policy: ",
        Architecture::Arm,
        "a 32-bit ARM memory policy line",
    ),
];

/// Compatible strings of 64-bit ARM cores (a blob may only name its cores).
const ARM64_CORES: [&str; 12] = [
    "arm,armv8",
    "arm,cortex-a34",
    "arm,cortex-a35",
    "arm,cortex-a53",
    "arm,cortex-a55",
    "arm,cortex-a57",
    "arm,cortex-a65",
    "arm,cortex-a72",
    "arm,cortex-a73",
    "arm,cortex-a76",
    "arm,neoverse",
    "apple,",
];

/// Compatible strings of 32-bit-only ARM cores.
const ARM_CORES: [&str; 9] = [
    "arm,cortex-a5\0",
    "arm,cortex-a7\0",
    "arm,cortex-a8",
    "arm,cortex-a9",
    "arm,cortex-a15",
    "arm,cortex-a17",
    "arm,arm11",
    "arm,arm926",
    "marvell,pj4",
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// The architecture a `# arch: NAME` comment names.
fn from_comment(text: &str) -> Option<Architecture> {
    text.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix('#')?
            .trim()
            .strip_prefix("arch:")?;
        let word = rest.trim().split([' ', ',', '(']).next()?;
        match word {
            "x86_64" | "x86-64" | "amd64" => Some(Architecture::X86_64),
            "arm64" | "aarch64" => Some(Architecture::Arm64),
            "riscv64" | "riscv" => Some(Architecture::Riscv64),
            "arm" | "arm32" | "armv7" | "armhf" => Some(Architecture::Arm),
            _ => None,
        }
    })
}

/// Reads the architecture from the input's bytes; `is_blob` for a device
/// tree; `ram_below_1mib` tells a PC (whose RAM starts at 0) from a board
/// whose RAM starts higher when the text names no architecture.
pub fn detect(
    bytes: &[u8],
    is_blob: bool,
    any_ram_above_4gib: bool,
    ram_below_1mib: bool,
) -> Detection {
    let found = |architecture, because: &str| Detection {
        architecture,
        because: because.to_string(),
    };
    if is_blob {
        if contains(bytes, b"riscv") {
            return found(Architecture::Riscv64, "the device tree's RISC-V CPUs");
        }
        if ARM64_CORES
            .iter()
            .any(|core| contains(bytes, core.as_bytes()))
        {
            return found(Architecture::Arm64, "the device tree's 64-bit ARM CPUs");
        }
        if ARM_CORES
            .iter()
            .any(|core| contains(bytes, core.as_bytes()))
            && !any_ram_above_4gib
        {
            return found(Architecture::Arm, "the device tree's 32-bit ARM CPUs");
        }
        return found(
            Architecture::Arm64,
            "a device tree naming no known CPU (taken for arm64)",
        );
    }
    let text = String::from_utf8_lossy(bytes);
    if let Some(architecture) = from_comment(&text) {
        return found(architecture, "the file's `# arch:` line");
    }
    for (sign, architecture, because) in LOG_SIGNS {
        if text.contains(sign) {
            return found(architecture, because);
        }
    }
    if text.contains("OF: ") || text.contains("Machine model:") {
        return found(
            Architecture::Arm64,
            "a device-tree boot log (taken for arm64)",
        );
    }
    if !ram_below_1mib {
        return found(
            Architecture::Arm64,
            "no architecture named and no RAM below 1 MiB, as on ARM servers and boards (taken for arm64)",
        );
    }
    found(Architecture::X86_64, "no sign of another architecture")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_name_their_architecture() {
        let x86 = detect(
            b"[ 0.0] BIOS-e820: [mem 0x0-0x9ffff] usable\n",
            false,
            false,
            true,
        );
        assert_eq!(x86.architecture, Architecture::X86_64);
        let riscv = detect(
            b"# arch: riscv64 (device tree)\n[0.0] x\n",
            false,
            false,
            false,
        );
        assert_eq!(riscv.architecture, Architecture::Riscv64);
        let arm64 = detect(
            b"[0.0] CPU features: detected: GIC system register\n",
            false,
            true,
            true,
        );
        assert_eq!(arm64.architecture, Architecture::Arm64);
        let arm = detect(
            b"[0.0] CPU: ARMv7 Processor [410fc075] revision 5\n",
            false,
            false,
            false,
        );
        assert_eq!(arm.architecture, Architecture::Arm);
        let unknown = detect(b"System RAM\n", false, false, true);
        assert_eq!(unknown.architecture, Architecture::X86_64);
        let board = detect(b"System RAM\n", false, false, false);
        assert_eq!(board.architecture, Architecture::Arm64);
    }

    #[test]
    fn blobs_name_their_cpus() {
        let riscv = detect(
            b"\xd0\x0d\xfe\xed....riscv,isa\0rv64imafdc\0",
            true,
            false,
            false,
        );
        assert_eq!(riscv.architecture, Architecture::Riscv64);
        let arm = detect(b"\xd0\x0d\xfe\xed....arm,cortex-a7\0", true, false, false);
        assert_eq!(arm.architecture, Architecture::Arm);
        let arm64 = detect(b"\xd0\x0d\xfe\xed....arm,cortex-a72\0", true, true, false);
        assert_eq!(arm64.architecture, Architecture::Arm64);
    }
}
