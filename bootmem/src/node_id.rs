//! The number that names a NUMA node (Linux's `nid`).

use core::fmt;

/// A NUMA node number, as given when the node's allocator is registered.
///
/// ```
/// use bootmem::NodeId;
/// assert_eq!(NodeId::new(1).as_u32(), 1);
/// assert_eq!(format!("{}", NodeId::new(3)), "3");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
#[repr(transparent)]
pub struct NodeId(u32);

impl NodeId {
    /// Makes a node number.
    pub const fn new(value: u32) -> Self {
        Self(value)
    }

    /// The number.
    pub const fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_number_gives_back_its_value_and_prints_in_decimal() {
        assert_eq!(NodeId::new(0).as_u32(), 0);
        assert_eq!(NodeId::new(17).as_u32(), 17);
        assert_eq!(NodeId::new(u32::MAX).as_u32(), u32::MAX);
        assert_eq!(std::format!("{}", NodeId::new(12)), "12");
        assert_eq!(std::format!("{:>3}", NodeId::new(7)), "  7");
    }
}
