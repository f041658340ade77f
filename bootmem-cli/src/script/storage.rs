//! The words a script's nodes keep their bitmaps in: fresh vectors, or vectors lent by a pool that takes them back.
//!
//! `bootmem script` gives each registered node a fresh zeroed vector,
//! which the host maps on first touch and unmaps when the machine is torn
//! down. `bootmem bench --script` times the library, not the host's memory
//! management: it lends every node a vector made (and every page of it
//! touched) before the timed run, and the pool takes it back when the
//! machine drops it, for the next round. A reused vector holds the last
//! round's words; the library needs nothing of a node's storage but its
//! length (registering a node writes the summary it reads, and a leaf word
//! is read only once the summary says it was written).

use std::cell::RefCell;
use std::rc::Rc;

/// One node's storage.
#[derive(Debug)]
pub struct NodeStorage {
    words: Vec<u64>,
    /// Where the words go back when the node is dropped; `None`: freed.
    home: Option<Rc<StoragePool>>,
}

impl NodeStorage {
    /// `count` zeroed words of its own.
    pub fn fresh(count: usize) -> Self {
        Self {
            words: vec![0; count],
            home: None,
        }
    }
}

impl AsRef<[u64]> for NodeStorage {
    fn as_ref(&self) -> &[u64] {
        &self.words
    }
}

impl AsMut<[u64]> for NodeStorage {
    fn as_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }
}

impl Drop for NodeStorage {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            home.free.borrow_mut().push(std::mem::take(&mut self.words));
        }
    }
}

/// Vectors made ahead of time, lent to nodes and taken back.
#[derive(Debug)]
pub struct StoragePool {
    free: RefCell<Vec<Vec<u64>>>,
    /// Makes a vector of the given length when none of it is free.
    make: fn(usize) -> Vec<u64>,
}

impl StoragePool {
    /// A pool that makes its vectors with `make`, holding one of each of
    /// `lengths` already.
    pub fn new(make: fn(usize) -> Vec<u64>, lengths: impl IntoIterator<Item = usize>) -> Rc<Self> {
        let free = lengths.into_iter().map(make).collect();
        Rc::new(Self {
            free: RefCell::new(free),
            make,
        })
    }

    /// A vector of `count` words: a free one of that length, or a new one.
    pub fn lend(self: &Rc<Self>, count: usize) -> NodeStorage {
        let found = {
            let mut free = self.free.borrow_mut();
            free.iter()
                .position(|words| words.len() == count)
                .map(|index| free.swap_remove(index))
        };
        NodeStorage {
            words: found.unwrap_or_else(|| (self.make)(count)),
            home: Some(Rc::clone(self)),
        }
    }

    /// Vectors not lent out.
    pub fn free_count(&self) -> usize {
        self.free.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lent_vectors_come_back_when_dropped() {
        let pool = StoragePool::new(|count| vec![7; count], [4, 8]);
        assert_eq!(pool.free_count(), 2);
        let mut first = pool.lend(8);
        assert_eq!(first.as_ref(), [7; 8]);
        first.as_mut()[0] = 1;
        assert_eq!(pool.free_count(), 1);
        // No free vector of 5 words: a new one is made.
        let second = pool.lend(5);
        assert_eq!(second.as_ref().len(), 5);
        drop(first);
        drop(second);
        assert_eq!(pool.free_count(), 3);
        // The vector comes back as it was left.
        assert_eq!(pool.lend(8).as_ref()[0], 1);
    }

    #[test]
    fn fresh_storage_is_zeroed_and_belongs_to_no_pool() {
        let storage = NodeStorage::fresh(3);
        assert_eq!(storage.as_ref(), [0; 3]);
        assert!(storage.home.is_none());
    }
}
