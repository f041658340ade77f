//! Parsing `.bms` scripts: every line checked before anything runs.

use std::fmt;

/// The most arguments a command takes (`___alloc_bootmem_node`'s five).
pub const MAX_ARGUMENTS: usize = 5;

/// One parsed line: a command and its arguments, held inline (a script
/// of a million calls is a million of these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// 1-based line number.
    pub line: usize,
    /// The command.
    pub command: Command,
    /// Its arguments first, zeros after.
    values: [u64; MAX_ARGUMENTS],
}

impl Call {
    /// The numeric arguments, in order (flags as 0 or 1).
    pub fn arguments(&self) -> &[u64] {
        &self.values[..self.command.arguments().len()]
    }

    /// Every argument slot: the arguments first, zeros after. A fixed
    /// array, so that the interpreter's reads of its known positions need
    /// no bounds check.
    pub fn values(&self) -> &[u64; MAX_ARGUMENTS] {
        &self.values
    }
}

/// What an argument position holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Argument {
    Number,
    Flags,
}

use Argument::{Flags, Number};

macro_rules! commands {
    ($($variant:ident = $name:literal [$($argument:expr),*],)*) => {
        /// Every command of the script format.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(non_camel_case_types, missing_docs)]
        pub enum Command { $($variant,)* }

        impl Command {
            /// Every command, in the order of the format's table.
            pub const ALL: &'static [Command] = &[$(Self::$variant,)*];

            /// The command named `name`.
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The command's name as written in scripts.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            fn arguments(self) -> &'static [Argument] {
                match self { $(Self::$variant => &[$($argument),*],)* }
            }
        }
    };
}

commands! {
    page_size = "page_size" [Number],
    smp_cache_bytes = "smp_cache_bytes" [Number],
    max_dma_address = "max_dma_address" [Number],
    arch_low_address_limit = "arch_low_address_limit" [Number],
    max_dma32_pfn = "max_dma32_pfn" [Number],
    init_bootmem_node = "init_bootmem_node" [Number, Number, Number, Number],
    init_bootmem = "init_bootmem" [Number, Number],
    free_bootmem = "free_bootmem" [Number, Number],
    free_bootmem_node = "free_bootmem_node" [Number, Number, Number],
    reserve_bootmem = "reserve_bootmem" [Number, Number, Flags],
    reserve_bootmem_node = "reserve_bootmem_node" [Number, Number, Number, Flags],
    free_all_bootmem = "free_all_bootmem" [],
    free_bootmem_late = "free_bootmem_late" [Number, Number],
    bootmem_bootmap_pages = "bootmem_bootmap_pages" [Number],
    alloc_bootmem = "alloc_bootmem" [Number],
    alloc_bootmem_align = "alloc_bootmem_align" [Number, Number],
    alloc_bootmem_nopanic = "alloc_bootmem_nopanic" [Number],
    alloc_bootmem_pages = "alloc_bootmem_pages" [Number],
    alloc_bootmem_pages_nopanic = "alloc_bootmem_pages_nopanic" [Number],
    alloc_bootmem_node = "alloc_bootmem_node" [Number, Number],
    alloc_bootmem_node_nopanic = "alloc_bootmem_node_nopanic" [Number, Number],
    alloc_bootmem_pages_node = "alloc_bootmem_pages_node" [Number, Number],
    alloc_bootmem_pages_node_nopanic = "alloc_bootmem_pages_node_nopanic" [Number, Number],
    alloc_bootmem_low = "alloc_bootmem_low" [Number],
    alloc_bootmem_low_nopanic = "alloc_bootmem_low_nopanic" [Number],
    alloc_bootmem_low_pages = "alloc_bootmem_low_pages" [Number],
    alloc_bootmem_low_pages_nopanic = "alloc_bootmem_low_pages_nopanic" [Number],
    alloc_bootmem_low_pages_node = "alloc_bootmem_low_pages_node" [Number, Number],
    __alloc_bootmem = "__alloc_bootmem" [Number, Number, Number],
    __alloc_bootmem_nopanic = "__alloc_bootmem_nopanic" [Number, Number, Number],
    ___alloc_bootmem = "___alloc_bootmem" [Number, Number, Number, Number],
    ___alloc_bootmem_nopanic = "___alloc_bootmem_nopanic" [Number, Number, Number, Number],
    __alloc_bootmem_low = "__alloc_bootmem_low" [Number, Number, Number],
    __alloc_bootmem_low_nopanic = "__alloc_bootmem_low_nopanic" [Number, Number, Number],
    __alloc_bootmem_node = "__alloc_bootmem_node" [Number, Number, Number, Number],
    __alloc_bootmem_node_nopanic = "__alloc_bootmem_node_nopanic" [Number, Number, Number, Number],
    ___alloc_bootmem_node = "___alloc_bootmem_node" [Number, Number, Number, Number, Number],
    ___alloc_bootmem_node_nopanic = "___alloc_bootmem_node_nopanic" [Number, Number, Number, Number, Number],
    __alloc_bootmem_node_high = "__alloc_bootmem_node_high" [Number, Number, Number, Number],
    __alloc_bootmem_low_node = "__alloc_bootmem_low_node" [Number, Number, Number, Number],
    is_reserved = "is_reserved" [Number],
    reserved_ranges = "reserved_ranges" [],
    free_pages = "free_pages" [],
}

impl Command {
    /// Whether the command sets a configuration value.
    pub fn is_configuration(self) -> bool {
        matches!(
            self,
            Self::page_size
                | Self::smp_cache_bytes
                | Self::max_dma_address
                | Self::arch_low_address_limit
                | Self::max_dma32_pfn
        )
    }

    /// Whether the command is one of the `alloc_bootmem` family.
    pub fn is_allocation(self) -> bool {
        matches!(
            self,
            Self::alloc_bootmem
                | Self::alloc_bootmem_align
                | Self::alloc_bootmem_nopanic
                | Self::alloc_bootmem_pages
                | Self::alloc_bootmem_pages_nopanic
                | Self::alloc_bootmem_node
                | Self::alloc_bootmem_node_nopanic
                | Self::alloc_bootmem_pages_node
                | Self::alloc_bootmem_pages_node_nopanic
                | Self::alloc_bootmem_low
                | Self::alloc_bootmem_low_nopanic
                | Self::alloc_bootmem_low_pages
                | Self::alloc_bootmem_low_pages_nopanic
                | Self::alloc_bootmem_low_pages_node
                | Self::__alloc_bootmem
                | Self::__alloc_bootmem_nopanic
                | Self::___alloc_bootmem
                | Self::___alloc_bootmem_nopanic
                | Self::__alloc_bootmem_low
                | Self::__alloc_bootmem_low_nopanic
                | Self::__alloc_bootmem_node
                | Self::__alloc_bootmem_node_nopanic
                | Self::___alloc_bootmem_node
                | Self::___alloc_bootmem_node_nopanic
                | Self::__alloc_bootmem_node_high
                | Self::__alloc_bootmem_low_node
        )
    }

    fn registers_a_node(self) -> bool {
        matches!(self, Self::init_bootmem | Self::init_bootmem_node)
    }
}

/// A syntax error: the line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.line, self.message)
    }
}

/// Parses a number: decimal, `0x` hexadecimal, or decimal with a `K`, `M`,
/// `G` or `T` suffix (powers of 1024).
pub fn parse_number(word: &str) -> Result<u64, String> {
    let overflow = || format!("number '{word}' does not fit in 64 bits");
    if let Some(digits) = word.strip_prefix("0x") {
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(format!("'{word}' is not a hexadecimal number"));
        }
        return u64::from_str_radix(digits, 16).map_err(|_| overflow());
    }
    let (digits, shift) = match word.as_bytes().last() {
        Some(b'K') => (&word[..word.len() - 1], 10),
        Some(b'M') => (&word[..word.len() - 1], 20),
        Some(b'G') => (&word[..word.len() - 1], 30),
        Some(b'T') => (&word[..word.len() - 1], 40),
        _ => (word, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("'{word}' is not a number"));
    }
    let value: u64 = digits.parse().map_err(|_| overflow())?;
    value.checked_mul(1 << shift).ok_or_else(overflow)
}

fn parse_flags(word: &str) -> Result<u64, String> {
    match word {
        "0" | "BOOTMEM_DEFAULT" => Ok(0),
        "1" | "BOOTMEM_EXCLUSIVE" => Ok(1),
        _ => Err(format!(
            "flags '{word}' must be 0, 1, BOOTMEM_DEFAULT or BOOTMEM_EXCLUSIVE"
        )),
    }
}

/// Whether `character` separates words: a space, a tab or a carriage
/// return. (A function compiles to three compares; the same set as a
/// `[char; 3]` pattern costs a script's parse about 6 % more instructions.)
fn is_separator(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\r')
}

/// Parses a whole script, stopping at its first syntax error.
pub fn parse_script(text: &str) -> Result<Vec<Call>, SyntaxError> {
    let mut calls = Vec::new();
    let mut seen_node = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let error = |message: String| SyntaxError { line, message };
        // Everything before a `#`, split at spaces, tabs and carriage
        // returns (all ASCII, so the byte search below cuts at character
        // boundaries).
        let content = match raw.bytes().position(|byte| byte == b'#') {
            Some(comment) => &raw[..comment],
            None => raw,
        };
        let mut words = content.split(is_separator).filter(|word| !word.is_empty());
        let Some(name) = words.next() else {
            continue;
        };
        let command =
            Command::from_name(name).ok_or_else(|| error(format!("unknown command '{name}'")))?;
        // The count is checked before any argument is read.
        let mut given = [""; MAX_ARGUMENTS];
        let mut count = 0;
        for word in words {
            if let Some(slot) = given.get_mut(count) {
                *slot = word;
            }
            count += 1;
        }
        let expected = command.arguments();
        if count != expected.len() {
            return Err(error(format!(
                "{name} takes {} argument{}, got {count}",
                expected.len(),
                if expected.len() == 1 { "" } else { "s" },
            )));
        }
        let mut values = [0; MAX_ARGUMENTS];
        for ((value, word), kind) in values.iter_mut().zip(given).zip(expected) {
            *value = match kind {
                Number => parse_number(word),
                Flags => parse_flags(word),
            }
            .map_err(error)?;
        }
        if command.is_configuration() && seen_node {
            return Err(error(format!(
                "{name} is configuration and must come before the first node"
            )));
        }
        seen_node |= command.registers_a_node();
        calls.push(Call {
            line,
            command,
            values,
        });
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_form() {
        assert_eq!(parse_number("4096"), Ok(4096));
        assert_eq!(parse_number("0x1000"), Ok(4096));
        assert_eq!(parse_number("0xFFff"), Ok(0xffff));
        assert_eq!(parse_number("16M"), Ok(16 << 20));
        assert_eq!(parse_number("1T"), Ok(1 << 40));
        assert_eq!(parse_number("0xffffffffffffffff"), Ok(u64::MAX));
        assert!(parse_number("0x10000000000000000").is_err());
        assert!(parse_number("18446744073709551616").is_err());
        assert!(parse_number("16777216T").is_err());
        for bad in [
            "0X10", "0x", "0x10K", "16k", "K", "-1", "+1", "1.5", "0b1", "12a",
        ] {
            assert!(parse_number(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn comments_blank_lines_and_tabs() {
        let calls = parse_script("# header\n\n  alloc_bootmem\t64 # trailing\n").unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].line, 3);
        assert_eq!(calls[0].arguments(), [64]);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let error = parse_script("free_pages\nfoo 1\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("unknown command"));
        assert_eq!(parse_script("alloc_bootmem\n").unwrap_err().line, 1);
        assert!(parse_script("reserve_bootmem 0 1 2\n").is_err());
        assert!(parse_script("reserve_bootmem 0 1 0x1\n").is_err());
        assert!(parse_script("reserve_bootmem 0 1 BOOTMEM_EXCLUSIVE\n").is_ok());
    }

    #[test]
    fn the_allocations_are_exactly_the_alloc_bootmem_family() {
        let allocations = Command::ALL
            .iter()
            .filter(|command| command.is_allocation());
        assert_eq!(allocations.count(), 26);
        for &command in Command::ALL {
            assert_eq!(
                command.is_allocation(),
                command.name().contains("alloc_bootmem"),
                "{}",
                command.name()
            );
        }
    }

    #[test]
    fn every_command_parses_with_its_arguments_and_keeps_them_in_order() {
        for &command in Command::ALL {
            let count = command.arguments().len();
            assert!(count <= MAX_ARGUMENTS, "{}", command.name());
            let words: Vec<String> = (0..count)
                .map(|index| match command.arguments()[index] {
                    Flags => "1".to_owned(),
                    Number => format!("{:#x}", 0x1000 + index),
                })
                .collect();
            let line = format!("{} {}", command.name(), words.join(" "));
            let calls = parse_script(&line).unwrap();
            assert_eq!(calls[0].command, command);
            let expected: Vec<u64> = (0..count)
                .map(|index| match command.arguments()[index] {
                    Flags => 1,
                    Number => 0x1000 + index as u64,
                })
                .collect();
            assert_eq!(calls[0].arguments(), expected, "{line}");
            let one_more = format!("{line} 7");
            let error = parse_script(&one_more).unwrap_err();
            assert!(
                error.message.contains(&format!("got {}", count + 1)),
                "{error}"
            );
        }
        // Too many arguments is reported before a bad one.
        let error = parse_script("alloc_bootmem zz 1 2 3 4 5 6").unwrap_err();
        assert!(error.message.contains("got 7"), "{error}");
    }

    #[test]
    fn configuration_only_before_the_first_node() {
        assert!(parse_script("page_size 8192\ninit_bootmem 0 100\n").is_ok());
        let error = parse_script("init_bootmem 0 0\npage_size 8192\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(parse_script("alloc_bootmem 1\nsmp_cache_bytes 128\n").is_ok());
    }
}
