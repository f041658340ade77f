//! A C ABI for bootmem.
