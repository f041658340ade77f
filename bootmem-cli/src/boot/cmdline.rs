//! The kernel command line found in the input, and the options of it that change early allocations.
//!
//! A boot log carries it on its `Kernel command line:` line, a device tree
//! in `/chosen/bootargs`. `crashkernel=`, `cma=` and `log_buf_len=` each
//! add or resize an early allocation; `bootmem boot`'s own options
//! override them.

use super::parse_size;

/// The options of a kernel command line that the boot sequences honour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelOptions {
    /// The command line as found.
    pub text: Option<String>,
    /// `crashkernel=SIZE[@OFFSET]`: bytes, and a fixed address when given.
    pub crash_kernel: Option<(u64, Option<u64>)>,
    /// `cma=SIZE`.
    pub cma: Option<u64>,
    /// `log_buf_len=SIZE`.
    pub log_buffer: Option<u64>,
    /// The device tree declares a `linux,cma` reserved-memory node.
    pub device_tree_cma: bool,
}

/// The command line of a boot log (its last `Kernel command line:` line)
/// or of a blob (the printable text after `bootargs`' value is not framed
/// in the blob, so the words holding `=` around `crashkernel=`, `cma=` or
/// `log_buf_len=` are read).
pub fn find(bytes: &[u8], is_blob: bool) -> KernelOptions {
    let text = if is_blob {
        blob_words(bytes)
    } else {
        String::from_utf8_lossy(bytes)
            .lines()
            .rev()
            .find_map(|line| {
                line.split_once("Kernel command line:")
                    .map(|(_, rest)| rest.trim().to_string())
            })
    };
    let mut options = text.map_or_else(KernelOptions::default, |text| parse(&text));
    options.device_tree_cma = bytes.windows(9).any(|window| window == b"linux,cma");
    options
}

/// The NUL-separated printable strings of a blob that hold an `=`.
fn blob_words(bytes: &[u8]) -> Option<String> {
    let words: Vec<String> = bytes
        .split(|&byte| byte == 0)
        .filter(|piece| !piece.is_empty() && piece.iter().all(|&byte| (0x20..0x7f).contains(&byte)))
        .map(|piece| String::from_utf8_lossy(piece).into_owned())
        .filter(|piece| {
            ["crashkernel=", "cma=", "log_buf_len=", "console="]
                .iter()
                .any(|option| piece.contains(option))
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Reads the options out of a command line; malformed values are ignored, as the kernel ignores them.
pub fn parse(text: &str) -> KernelOptions {
    let mut options = KernelOptions {
        text: Some(text.to_string()),
        ..KernelOptions::default()
    };
    for word in text.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        match key {
            "crashkernel" => {
                let (size, offset) = match value.split_once('@') {
                    Some((size, offset)) => (size, parse_size(offset).ok()),
                    None => (value, None),
                };
                // `crashkernel=512M,high` and ranges `1G-4G:256M` keep their last size.
                let size = size.split(',').next().unwrap_or(size);
                let size = size.rsplit(':').next().unwrap_or(size);
                if let Ok(bytes) = parse_size(size) {
                    options.crash_kernel = (bytes > 0).then_some((bytes, offset));
                }
            }
            "cma" => options.cma = parse_size(value.split('@').next().unwrap_or(value)).ok(),
            "log_buf_len" => options.log_buffer = parse_size(value).ok(),
            _ => {}
        }
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_from_the_log_line() {
        let log =
            b"[0.0] Kernel command line: ro crashkernel=256M@16M cma=64M log_buf_len=4M quiet\n";
        let options = find(log, false);
        assert_eq!(options.crash_kernel, Some((256 << 20, Some(16 << 20))));
        assert_eq!(options.cma, Some(64 << 20));
        assert_eq!(options.log_buffer, Some(4 << 20));
        assert_eq!(
            find(b"no command line here\n", false),
            KernelOptions::default()
        );
    }

    #[test]
    fn range_forms_keep_their_size_and_bad_values_are_ignored() {
        assert_eq!(
            parse("crashkernel=1G-4G:192M").crash_kernel,
            Some((192 << 20, None))
        );
        assert_eq!(
            parse("crashkernel=512M,high").crash_kernel,
            Some((512 << 20, None))
        );
        assert_eq!(parse("crashkernel=lots cma=").crash_kernel, None);
        assert_eq!(find(b"\0console=ttyS0 cma=32M\0", true).cma, Some(32 << 20));
    }
}
