//! The words a script's nodes keep their bitmaps in: fresh vectors, or vectors lent by a pool that takes them back.
//!
//! `bootmem script` gives each registered node a fresh zeroed vector,
//! which the host maps on first touch and unmaps when the machine is torn
//! down. `bootmem bench --script` times the library, not the host's memory
//! management: it lends every node a vector made (and every page of it
//! touched) in an untimed run before the timed ones, and the pool takes it
//! back when the machine drops it, for the next run. A reused vector holds
//! the last run's words; the library needs nothing of a node's storage but
//! its length (registering a node writes the summary it reads, and a leaf
//! word is read only once the summary says it was written).
//!
//! The pool holds no more vectors than the script has nodes alive at once,
//! plus one that a failed registration gave back. Past a budget of words it
//! makes fresh zeroed vectors instead, which the host maps only where they
//! are touched: a script of many huge nodes costs what it costs
//! `bootmem script`, not every page of every bitmap.

use std::cell::{Cell, RefCell};
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

/// Vectors lent to nodes and taken back.
#[derive(Debug)]
pub struct StoragePool {
    free: RefCell<Vec<Vec<u64>>>,
    /// Makes a vector of the given length when none of it is free.
    make: fn(usize) -> Vec<u64>,
    /// Words `make` may still make; past them, fresh zeroed vectors.
    budget: Cell<usize>,
}

impl StoragePool {
    /// An empty pool that makes vectors with `make` for up to `budget`
    /// words in all.
    pub fn new(make: fn(usize) -> Vec<u64>, budget: usize) -> Rc<Self> {
        Rc::new(Self {
            free: RefCell::new(Vec::new()),
            make,
            budget: Cell::new(budget),
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
        let words = found.unwrap_or_else(|| match self.budget.get().checked_sub(count) {
            Some(left) => {
                self.budget.set(left);
                (self.make)(count)
            }
            None => vec![0; count],
        });
        NodeStorage {
            words,
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
        let pool = StoragePool::new(|count| vec![7; count], 100);
        assert_eq!(pool.free_count(), 0);
        let mut first = pool.lend(8);
        assert_eq!(first.as_ref(), [7; 8]);
        first.as_mut()[0] = 1;
        let second = pool.lend(5);
        assert_eq!(second.as_ref(), [7; 5]);
        drop(first);
        drop(second);
        assert_eq!(pool.free_count(), 2);
        // The vector comes back as it was left, and is lent again.
        assert_eq!(pool.lend(8).as_ref()[0], 1);
        assert_eq!(pool.free_count(), 2);
    }

    #[test]
    fn past_its_budget_the_pool_lends_fresh_zeroed_vectors() {
        let pool = StoragePool::new(|count| vec![7; count], 10);
        let made = pool.lend(6);
        // 6 of 10 words made: 5 more would pass the budget.
        let fresh = pool.lend(5);
        assert_eq!(made.as_ref(), [7; 6]);
        assert_eq!(fresh.as_ref(), [0; 5]);
        let made_again = pool.lend(4);
        assert_eq!(made_again.as_ref(), [7; 4]);
        drop((made, fresh, made_again));
        // Every one comes back to be lent again.
        assert_eq!(pool.free_count(), 3);
    }

    #[test]
    fn fresh_storage_is_zeroed_and_belongs_to_no_pool() {
        let storage = NodeStorage::fresh(3);
        assert_eq!(storage.as_ref(), [0; 3]);
        assert!(storage.home.is_none());
    }
}
