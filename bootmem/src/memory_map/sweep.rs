//! The boundary sweep of normalisation: which kind wins between each two consecutive range boundaries, in O(n log n).
//!
//! Between two consecutive boundaries (starts and ends of the entries added)
//! the same entries cover every address. Among them the kind of highest
//! precedence wins, and among equals the entry added first. The sweep visits
//! the boundaries in address order with two heaps over the entries that
//! cover the current address: one ordered by what wins, one by where each
//! entry ends. Everything lives in fixed-capacity lists of entry indices.

use crate::list::FixedList;

use super::range::MemoryRange;

/// Entry indices in a fixed-capacity list.
type Indices<const RANGES: usize> = FixedList<usize, RANGES>;

/// Calls `segment` for every maximal stretch of addresses covered by at
/// least one of `entries`, in address order, with the kind that wins there.
/// Adjacent stretches may share a kind; empty entries cover nothing.
pub(super) fn sweep<const RANGES: usize, Error>(
    entries: &[MemoryRange],
    mut segment: impl FnMut(MemoryRange) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut by_start: Indices<RANGES> = FixedList::new(0);
    for (index, entry) in entries.iter().enumerate() {
        if entry.size() > 0 {
            // At most RANGES entries were added.
            let _ = by_start.push(index);
        }
    }
    by_start
        .as_mut_slice()
        .sort_unstable_by_key(|&index| entries[index].start);
    let wins = |first: usize, second: usize| {
        let (a, b) = (entries[first].kind, entries[second].kind);
        (a.precedence(), second) > (b.precedence(), first)
    };
    let ends_first = |first: usize, second: usize| entries[first].end < entries[second].end;
    let mut winners: Indices<RANGES> = FixedList::new(0);
    let mut ends: Indices<RANGES> = FixedList::new(0);
    let mut waiting = by_start.iter().copied().peekable();
    let Some(&first) = by_start.as_slice().first() else {
        return Ok(());
    };
    let mut position = entries[first].start;
    loop {
        while let Some(index) = waiting.next_if(|&index| entries[index].start <= position) {
            heap_push(&mut winners, index, wins);
            heap_push(&mut ends, index, ends_first);
        }
        let expired = |index: &usize| entries[*index].end <= position;
        while heap_top(&ends).is_some_and(expired) {
            heap_pop(&mut ends, ends_first);
        }
        while heap_top(&winners).is_some_and(expired) {
            heap_pop(&mut winners, wins);
        }
        let next_start = waiting.peek().map(|&index| entries[index].start);
        let next_end = heap_top(&ends).map(|&index| entries[index].end);
        let next = match (next_start, next_end) {
            (Some(start), Some(end)) => start.min(end),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => return Ok(()),
        };
        if let Some(&winner) = heap_top(&winners) {
            segment(MemoryRange::new(position, next, entries[winner].kind))?;
        }
        position = next;
    }
}

/// The item at the top of a heap kept by [`heap_push`] and [`heap_pop`].
fn heap_top<const N: usize>(heap: &FixedList<usize, N>) -> Option<&usize> {
    heap.as_slice().first()
}

/// Adds `item` to the binary heap in `heap`, where `above(a, b)` says that
/// `a` belongs nearer the top than `b`.
fn heap_push<const N: usize>(
    heap: &mut FixedList<usize, N>,
    item: usize,
    above: impl Fn(usize, usize) -> bool,
) {
    if heap.push(item).is_err() {
        return;
    }
    let slots = heap.as_mut_slice();
    let mut child = slots.len() - 1;
    while child > 0 {
        let parent = (child - 1) / 2;
        if !above(slots[child], slots[parent]) {
            break;
        }
        slots.swap(child, parent);
        child = parent;
    }
}

/// Removes the top of the binary heap in `heap`.
fn heap_pop<const N: usize>(heap: &mut FixedList<usize, N>, above: impl Fn(usize, usize) -> bool) {
    let Some(last) = heap.pop() else { return };
    let slots = heap.as_mut_slice();
    if slots.is_empty() {
        return;
    }
    slots[0] = last;
    let mut parent = 0;
    loop {
        let mut best = parent;
        for child in [2 * parent + 1, 2 * parent + 2] {
            if child < slots.len() && above(slots[child], slots[best]) {
                best = child;
            }
        }
        if best == parent {
            return;
        }
        slots.swap(parent, best);
        parent = best;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PhysicalAddress;
    use crate::memory_map::RangeKind;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The kind that wins at `position` by the rule above, found by looking at
    /// every entry (the sweep's definition, for tests).
    fn kind_at(entries: &[MemoryRange], position: PhysicalAddress) -> Option<RangeKind> {
        let mut heaviest: Option<RangeKind> = None;
        for entry in entries.iter().filter(|entry| entry.contains(position)) {
            if heaviest.map_or(true, |kind| entry.kind.precedence() > kind.precedence()) {
                heaviest = Some(entry.kind);
            }
        }
        heaviest
    }

    fn kind(number: u8) -> RangeKind {
        match number % 5 {
            0 | 1 => RangeKind::Ram,
            2 => RangeKind::Reserved,
            3 => RangeKind::AcpiNvs,
            _ => RangeKind::Other(u32::from(number)),
        }
    }

    #[test]
    fn a_heap_pops_in_order() {
        let mut heap = FixedList::<usize, 8>::new(0);
        for item in [5, 1, 7, 3, 3, 0, 6] {
            heap_push(&mut heap, item, |a, b| a < b);
        }
        let mut popped = Vec::new();
        while let Some(&top) = heap_top(&heap) {
            popped.push(top);
            heap_pop(&mut heap, |a, b| a < b);
        }
        assert_eq!(popped, [0, 1, 3, 3, 5, 6, 7]);
    }

    proptest! {
        /// Every segment carries the kind that wins at each of its
        /// addresses, segments tile exactly the addresses some entry
        /// covers, and they come in address order.
        #[test]
        fn segments_carry_the_winning_kind(
            raw in prop::collection::vec((0u64..64, 0u64..24, any::<u8>()), 0..24),
        ) {
            let entries: Vec<MemoryRange> = raw
                .iter()
                .map(|&(start, length, number)| {
                    MemoryRange::new(
                        PhysicalAddress::new(start),
                        PhysicalAddress::new(start + length),
                        kind(number),
                    )
                })
                .collect();
            let mut segments = Vec::new();
            sweep::<32, ()>(&entries, |segment| {
                segments.push(segment);
                Ok(())
            })
            .unwrap();
            for pair in segments.windows(2) {
                prop_assert!(pair[0].end <= pair[1].start);
            }
            for address in 0..90 {
                let address = PhysicalAddress::new(address);
                let found = segments.iter().find(|segment| segment.contains(address));
                prop_assert_eq!(found.map(|segment| segment.kind), kind_at(&entries, address));
            }
            prop_assert!(segments.iter().all(|segment| segment.size() > 0));
        }
    }
}
