//! Normalising firmware memory maps into node ranges (being written).
