//! Physical addresses, page frame numbers, page sizes and ranges of each, with arithmetic that cannot wrap.
//!
//! Every address computation of the allocator goes through these types. Where
//! Linux would silently wrap an unsigned long, these return `None` (or
//! saturate, where the documentation says so), so that no address handed out
//! ever lies past 2^64.

use core::fmt;

mod frame_range;
mod physical_range;

pub use frame_range::FrameRange;
pub use physical_range::PhysicalRange;

/// A physical byte address.
///
/// Any 64-bit value is a valid physical address; the type exists so that
/// bytes and page frame numbers cannot be mixed up.
///
/// ```
/// use bootmem::PhysicalAddress;
/// let address = PhysicalAddress::new(0x1000_0000);
/// assert_eq!(address.as_u64(), 0x1000_0000);
/// assert_eq!(address.checked_add(0x10), Some(PhysicalAddress::new(0x1000_0010)));
/// assert_eq!(PhysicalAddress::new(u64::MAX).checked_add(1), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct PhysicalAddress(u64);

impl PhysicalAddress {
    /// The address zero.
    pub const ZERO: Self = Self(0);

    /// Makes an address from its byte value.
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The byte value of the address.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// `self + bytes`, or `None` when the sum does not fit in 64 bits.
    pub const fn checked_add(self, bytes: u64) -> Option<Self> {
        match self.0.checked_add(bytes) {
            Some(value) => Some(Self(value)),
            None => None,
        }
    }

    /// The exclusive end `self + size` of a range, or `None` when it would
    /// reach 2^64. An exclusive end of exactly 2^64 is also refused, because
    /// it cannot be represented.
    pub const fn end_of_range(self, size: u64) -> Option<Self> {
        self.checked_add(size)
    }

    /// Rounds up to a multiple of `alignment` (a power of two), or `None`
    /// when the result does not fit in 64 bits.
    ///
    /// # Panics
    ///
    /// Panics if `alignment` is not a power of two.
    pub const fn align_up(self, alignment: u64) -> Option<Self> {
        assert!(
            alignment.is_power_of_two(),
            "alignment must be a power of two"
        );
        match self.0.checked_add(alignment - 1) {
            Some(value) => Some(Self(value & !(alignment - 1))),
            None => None,
        }
    }

    /// Rounds down to a multiple of `alignment` (a power of two).
    ///
    /// # Panics
    ///
    /// Panics if `alignment` is not a power of two.
    pub const fn align_down(self, alignment: u64) -> Self {
        assert!(
            alignment.is_power_of_two(),
            "alignment must be a power of two"
        );
        Self(self.0 & !(alignment - 1))
    }

    /// Whether the address is a multiple of `alignment` (a power of two).
    ///
    /// # Panics
    ///
    /// Panics if `alignment` is not a power of two.
    pub const fn is_aligned(self, alignment: u64) -> bool {
        assert!(
            alignment.is_power_of_two(),
            "alignment must be a power of two"
        );
        self.0 & (alignment - 1) == 0
    }
}

impl fmt::Debug for PhysicalAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PhysicalAddress({:#x})", self.0)
    }
}

impl fmt::Display for PhysicalAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:#x}", self.0)
    }
}

impl fmt::LowerHex for PhysicalAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, formatter)
    }
}

impl From<PhysicalAddress> for u64 {
    fn from(address: PhysicalAddress) -> u64 {
        address.0
    }
}

/// A page frame number: a physical address divided by the page size.
///
/// ```
/// use bootmem::{PageFrameNumber, PageSize};
/// let frame = PageFrameNumber::new(0x100);
/// assert_eq!(PageSize::SIZE_4KIB.start_of(frame).unwrap().as_u64(), 0x10_0000);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct PageFrameNumber(u64);

impl PageFrameNumber {
    /// Makes a page frame number from its value.
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// `self + pages`, or `None` on overflow.
    pub const fn checked_add(self, pages: u64) -> Option<Self> {
        match self.0.checked_add(pages) {
            Some(value) => Some(Self(value)),
            None => None,
        }
    }
}

impl fmt::Debug for PageFrameNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PageFrameNumber({:#x})", self.0)
    }
}

impl fmt::Display for PageFrameNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:#x}", self.0)
    }
}

impl fmt::LowerHex for PageFrameNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, formatter)
    }
}

impl From<PageFrameNumber> for u64 {
    fn from(frame: PageFrameNumber) -> u64 {
        frame.0
    }
}

/// The error of [`PageSize::try_new`]: the value is not a power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSizeNotPowerOfTwo(pub u64);

impl fmt::Display for PageSizeNotPowerOfTwo {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "page size {} is not a power of two", self.0)
    }
}

/// A page size: a power of two number of bytes (Linux's `PAGE_SIZE`).
///
/// The helpers mirror Linux's `PFN_UP`, `PFN_DOWN` and `PFN_PHYS`, without
/// their wrap-around.
///
/// ```
/// use bootmem::{PageSize, PhysicalAddress};
/// let page = PageSize::SIZE_4KIB;
/// assert_eq!(page.bytes(), 4096);
/// assert_eq!(page.shift(), 12);
/// assert_eq!(page.frame_containing(PhysicalAddress::new(0x1fff)).as_u64(), 1);
/// assert_eq!(page.frame_at_or_above(PhysicalAddress::new(0x1001)).as_u64(), 2);
/// assert_eq!(page.pages_for(4097), 2);
/// assert!(PageSize::try_new(3000).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageSize {
    shift: u32,
}

impl PageSize {
    /// 4 KiB, the page of x86-64, RISC-V and most AArch64 kernels.
    pub const SIZE_4KIB: Self = Self { shift: 12 };
    /// 16 KiB.
    pub const SIZE_16KIB: Self = Self { shift: 14 };
    /// 64 KiB.
    pub const SIZE_64KIB: Self = Self { shift: 16 };

    /// Checked constructor: the page size in bytes, which must be a power of two.
    pub const fn try_new(bytes: u64) -> Result<Self, PageSizeNotPowerOfTwo> {
        if bytes.is_power_of_two() {
            Ok(Self {
                shift: bytes.trailing_zeros(),
            })
        } else {
            Err(PageSizeNotPowerOfTwo(bytes))
        }
    }

    /// Panicking constructor.
    ///
    /// # Panics
    ///
    /// Panics if `bytes` is not a power of two.
    pub const fn new(bytes: u64) -> Self {
        match Self::try_new(bytes) {
            Ok(size) => size,
            Err(_) => panic!("page size must be a power of two"),
        }
    }

    /// The page size from its shift (`PAGE_SHIFT`).
    ///
    /// # Panics
    ///
    /// Panics if `shift` is 64 or more.
    pub const fn from_shift(shift: u32) -> Self {
        assert!(shift < 64, "page shift must be below 64");
        Self { shift }
    }

    /// Bytes in a page.
    pub const fn bytes(self) -> u64 {
        1 << self.shift
    }

    /// log2 of the page size (`PAGE_SHIFT`).
    pub const fn shift(self) -> u32 {
        self.shift
    }

    /// The frame holding `address` (`PFN_DOWN`).
    pub const fn frame_containing(self, address: PhysicalAddress) -> PageFrameNumber {
        PageFrameNumber(address.0 >> self.shift)
    }

    /// The first frame that starts at or above `address` (`PFN_UP`), computed
    /// without wrapping.
    pub const fn frame_at_or_above(self, address: PhysicalAddress) -> PageFrameNumber {
        PageFrameNumber(self.pages_for(address.0))
    }

    /// The number of pages needed to hold `bytes` bytes (`PFN_UP` of a size),
    /// computed without wrapping.
    pub const fn pages_for(self, bytes: u64) -> u64 {
        let whole = bytes >> self.shift;
        if bytes & (self.bytes() - 1) != 0 {
            whole + 1
        } else {
            whole
        }
    }

    /// The first byte of `frame` (`PFN_PHYS`), or `None` when it does not fit
    /// in 64 bits.
    pub const fn start_of(self, frame: PageFrameNumber) -> Option<PhysicalAddress> {
        if frame.0 > (u64::MAX >> self.shift) {
            None
        } else {
            Some(PhysicalAddress(frame.0 << self.shift))
        }
    }

    /// The exclusive end address of the frames below `frame`, which is
    /// `frame × page size`, or `None` when it is 2^64 or more.
    pub const fn end_of_frames_below(self, frame: PageFrameNumber) -> Option<PhysicalAddress> {
        self.start_of(frame)
    }
}

impl fmt::Debug for PageSize {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PageSize({})", self.bytes())
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::SIZE_4KIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_rounding_matches_linux_macros() {
        let page = PageSize::SIZE_4KIB;
        assert_eq!(page.frame_at_or_above(PhysicalAddress::new(0)).as_u64(), 0);
        assert_eq!(page.frame_at_or_above(PhysicalAddress::new(1)).as_u64(), 1);
        assert_eq!(
            page.frame_at_or_above(PhysicalAddress::new(4096)).as_u64(),
            1
        );
        assert_eq!(
            page.frame_containing(PhysicalAddress::new(4095)).as_u64(),
            0
        );
    }

    #[test]
    fn rounding_up_never_wraps() {
        let page = PageSize::SIZE_4KIB;
        assert_eq!(page.pages_for(u64::MAX), 1 << 52);
        assert_eq!(PhysicalAddress::new(u64::MAX).align_up(4096), None);
        assert_eq!(page.start_of(PageFrameNumber::new(1 << 52)), None);
        assert_eq!(
            page.start_of(PageFrameNumber::new((1 << 52) - 1)),
            Some(PhysicalAddress::new(u64::MAX - 4095))
        );
    }

    #[test]
    fn page_size_validation() {
        assert_eq!(PageSize::try_new(0), Err(PageSizeNotPowerOfTwo(0)));
        assert_eq!(PageSize::try_new(65536).unwrap(), PageSize::SIZE_64KIB);
        assert_eq!(PageSize::try_new(1).unwrap().shift(), 0);
    }

    #[test]
    fn an_address_is_aligned_only_to_the_powers_of_two_dividing_it() {
        let address = PhysicalAddress::new(0x3000);
        assert!(address.is_aligned(1));
        assert!(address.is_aligned(0x1000));
        assert!(!address.is_aligned(0x2000));
        assert!(!PhysicalAddress::new(0x1001).is_aligned(0x1000));
        assert!(!PhysicalAddress::new(u64::MAX).is_aligned(2));
        assert!(PhysicalAddress::ZERO.is_aligned(1 << 63));
    }

    #[test]
    fn an_address_prints_in_hex_and_its_debug_form_names_the_type() {
        let address = PhysicalAddress::new(0x10_0000);
        assert_eq!(std::format!("{address}"), "0x100000");
        assert_eq!(std::format!("{address:?}"), "PhysicalAddress(0x100000)");
        assert_eq!(std::format!("{address:x}"), "100000");
    }

    #[test]
    fn an_address_converts_to_its_byte_value() {
        assert_eq!(u64::from(PhysicalAddress::new(0x1234_5678)), 0x1234_5678);
        assert_eq!(u64::from(PhysicalAddress::new(u64::MAX)), u64::MAX);
        assert_eq!(u64::from(PhysicalAddress::ZERO), 0);
    }

    #[test]
    fn a_frame_number_adds_pages_until_it_would_overflow() {
        let frame = PageFrameNumber::new(0x100);
        assert_eq!(frame.checked_add(0), Some(frame));
        assert_eq!(frame.checked_add(0x20), Some(PageFrameNumber::new(0x120)));
        assert_eq!(
            PageFrameNumber::new(u64::MAX - 1).checked_add(1),
            Some(PageFrameNumber::new(u64::MAX))
        );
        assert_eq!(PageFrameNumber::new(u64::MAX).checked_add(1), None);
    }

    #[test]
    fn a_frame_number_prints_in_hex_and_its_debug_form_names_the_type() {
        let frame = PageFrameNumber::new(0x8000);
        assert_eq!(std::format!("{frame}"), "0x8000");
        assert_eq!(std::format!("{frame:?}"), "PageFrameNumber(0x8000)");
        assert_eq!(std::format!("{frame:x}"), "8000");
    }

    #[test]
    fn a_frame_number_converts_to_its_value() {
        assert_eq!(u64::from(PageFrameNumber::new(0xabcd)), 0xabcd);
        assert_eq!(u64::from(PageFrameNumber::new(u64::MAX)), u64::MAX);
        assert_eq!(u64::from(PageFrameNumber::new(0)), 0);
    }

    #[test]
    fn a_page_size_that_is_not_a_power_of_two_is_named_in_the_error() {
        let error = PageSize::try_new(3000).unwrap_err();
        assert_eq!(
            std::format!("{error}"),
            "page size 3000 is not a power of two"
        );
    }

    #[test]
    fn a_page_size_debugs_as_its_bytes() {
        assert_eq!(std::format!("{:?}", PageSize::SIZE_4KIB), "PageSize(4096)");
        assert_eq!(
            std::format!("{:?}", PageSize::SIZE_64KIB),
            "PageSize(65536)"
        );
    }
}
