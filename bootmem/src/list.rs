//! A list of at most `N` items in an array: no heap, no `unsafe`.
//!
//! The crate keeps every collection (registered nodes, memory ranges, NUMA
//! affinities, the set-up's plan and summary) in one of these. The array
//! always holds `N` values; the slots past the length hold the filler the
//! list was made with and are never shown.

use core::fmt;

/// At most `N` values of `T`, in order.
#[derive(Clone)]
pub(crate) struct FixedList<T, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> FixedList<T, N> {
    /// An empty list whose unused slots hold `filler`.
    pub(crate) const fn new(filler: T) -> Self {
        Self {
            items: [filler; N],
            len: 0,
        }
    }

    /// Removes and returns the last item.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let last = self.as_slice().last().copied()?;
        self.len -= 1;
        Some(last)
    }
}

impl<T, const N: usize> FixedList<T, N> {
    /// An empty list over slots already filled (for items that are not
    /// `Copy`, such as `[const { None }; N]`).
    pub(crate) const fn from_slots(slots: [T; N]) -> Self {
        Self {
            items: slots,
            len: 0,
        }
    }

    /// How many items it holds.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds `N`.
    pub(crate) const fn is_full(&self) -> bool {
        self.len == N
    }

    /// Appends `item`, or gives it back when the list is full.
    pub(crate) fn push(&mut self, item: T) -> Result<(), T> {
        self.insert(self.len, item)
    }

    /// Inserts `item` at `index` (at most the length), shifting the later
    /// items up, or gives it back when the list is full or `index` is past
    /// the end.
    pub(crate) fn insert(&mut self, index: usize, item: T) -> Result<(), T> {
        if self.len == N || index > self.len {
            return Err(item);
        }
        // The slot at `len` is unused: put the item there, then rotate it
        // down into place.
        self.items[self.len] = item;
        self.items[index..=self.len].rotate_right(1);
        self.len += 1;
        Ok(())
    }

    /// The items, in order.
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }

    /// The items, in order, mutably.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }

    /// The items, in order.
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    /// The items, in order, mutably.
    pub(crate) fn iter_mut(&mut self) -> core::slice::IterMut<'_, T> {
        self.as_mut_slice().iter_mut()
    }

    /// The item at `index`, if the list holds one there.
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.as_slice().get(index)
    }

    /// The item at `index`, mutably, if the list holds one there.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.as_mut_slice().get_mut(index)
    }

    /// The last item, mutably.
    pub(crate) fn last_mut(&mut self) -> Option<&mut T> {
        self.as_mut_slice().last_mut()
    }

    /// The whole array: the items first, then the unused slots.
    pub(crate) fn into_slots(self) -> [T; N] {
        self.items
    }

    /// Empties the list and lends out the items it held, still in their
    /// slots. Whoever takes them puts the filler back (the list's slots
    /// past its length are then filler again).
    pub(crate) fn detach(&mut self) -> &mut [T] {
        let len = core::mem::take(&mut self.len);
        &mut self.items[..len]
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for FixedList<T, N> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_until_full_then_give_the_item_back() {
        let mut list = FixedList::<u32, 2>::new(0);
        assert_eq!(list.len(), 0);
        assert_eq!(list.push(1), Ok(()));
        assert_eq!(list.push(2), Ok(()));
        assert!(list.is_full());
        assert_eq!(list.push(3), Err(3));
        assert_eq!(list.as_slice(), [1, 2]);
        assert_eq!(list.pop(), Some(2));
        assert_eq!(list.push(4), Ok(()));
        assert_eq!(list.as_slice(), [1, 4]);
    }

    #[test]
    fn insert_keeps_the_order() {
        let mut list = FixedList::<u32, 4>::new(0);
        for item in [10, 30] {
            list.push(item).unwrap();
        }
        list.insert(1, 20).unwrap();
        list.insert(0, 5).unwrap();
        assert_eq!(list.as_slice(), [5, 10, 20, 30]);
        assert_eq!(list.insert(0, 1), Err(1));
        *list.last_mut().unwrap() = 31;
        assert_eq!(list.iter().copied().sum::<u32>(), 66);
        let mut shorter = FixedList::<u32, 4>::new(0);
        assert_eq!(shorter.insert(1, 99), Err(99));
        shorter.push(1).unwrap();
        *shorter.get_mut(0).unwrap() += 1;
        assert_eq!(shorter.get(0), Some(&2));
        assert_eq!(shorter.get(1), None);
    }

    #[test]
    fn items_that_are_not_copy() {
        let mut list = FixedList::<Option<std::string::String>, 3>::from_slots([const { None }; 3]);
        list.push(Some("b".into())).unwrap();
        list.insert(0, Some("a".into())).unwrap();
        let names: std::vec::Vec<_> = list
            .iter()
            .flatten()
            .map(std::string::String::as_str)
            .collect();
        assert_eq!(names, ["a", "b"]);
        let slots = list.into_slots();
        assert!(slots[2].is_none());
        assert_eq!(std::format!("{:?}", FixedList::<u8, 3>::new(7)), "[]");
    }
}
